//! Reading request input: path targets and JSON bodies, with the documented errors.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::{ApiError, MAX_LISTED, echo};

/// The largest JSON body accepted, in bytes.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// A record addressed by numeric id or by reference (`/.../{id}` or `/.../reference/{reference}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// By numeric id.
    Id(u64),
    /// By reference (external id).
    Reference(String),
}

impl Target {
    /// Reads an `{id}` path segment: a whole number (0 is well formed and names no record),
    /// else `invalid_param_type`.
    pub fn id(text: &str) -> Result<Self, ApiError> {
        text.parse::<u64>()
            .ok()
            .filter(|_| !text.starts_with('+'))
            .map(Target::Id)
            .ok_or_else(|| ApiError::bad_type("id"))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Id(id) => write!(f, "{id}"),
            Target::Reference(reference) => f.write_str(reference),
        }
    }
}

/// An `If-Match` header: the write goes ahead only if the record is at one of these versions
/// (entity tags `"<version>"`, as the `ETag` header gives them), or exists at all (`*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `*`: any current version.
    Exists,
    /// The versions named; tags that are not ours (or weak ones, which `If-Match` never matches)
    /// match nothing.
    Versions(Vec<u64>),
}

impl Precondition {
    /// Reads an `If-Match` value: `*`, or a comma-separated list of entity tags.
    pub fn parse(header: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::InvalidHeader("If-Match");
        let header = header.trim();
        if header == "*" {
            return Ok(Precondition::Exists);
        }
        let mut versions = Vec::new();
        for tag in header.split(',').map(str::trim) {
            let (weak, quoted) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let opaque = quoted
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| !t.contains('"'))
                .ok_or_else(bad)?;
            if let (false, Ok(version)) = (weak, opaque.parse::<u64>()) {
                versions.push(version);
            }
        }
        Ok(Precondition::Versions(versions))
    }

    /// Whether a record at `version` satisfies it.
    pub fn admits(&self, version: u64) -> bool {
        match self {
            Precondition::Exists => true,
            Precondition::Versions(versions) => versions.contains(&version),
        }
    }
}

/// The `ETag` of a record at `version`.
pub fn entity_tag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Checks parameter names as a request is read, in one pass and bounded memory: unknown names
/// are `invalid_param` (the first [`MAX_LISTED`] distinct ones in order, then `...`), and when
/// none is unknown, a repeated name is `invalid_param_type`.
pub struct NameCheck<K> {
    known: K,
    listed: Vec<String>,
    more: bool,
    seen: HashSet<String>,
    repeated: Option<String>,
}

impl<K: Fn(&str) -> bool> NameCheck<K> {
    /// A check of the names `known` accepts.
    pub fn new(known: K) -> Self {
        NameCheck {
            known,
            listed: Vec::new(),
            more: false,
            seen: HashSet::new(),
            repeated: None,
        }
    }

    /// Notes `name`; whether its value is to be kept (a known name, the first time).
    pub fn admit(&mut self, name: &str) -> bool {
        if !(self.known)(name) {
            let quoted = echo(name);
            if !self.listed.iter().any(|l| *l == quoted) {
                if self.listed.len() < MAX_LISTED {
                    self.listed.push(quoted.into_owned());
                } else {
                    self.more = true;
                }
            }
            return false;
        }
        if self.seen.contains(name) {
            self.repeated.get_or_insert_with(|| name.to_owned());
            return false;
        }
        self.seen.insert(name.to_owned());
        true
    }

    /// The verdict on every name noted.
    pub fn finish(self) -> Result<(), ApiError> {
        if !self.listed.is_empty() {
            let mut listed = self.listed;
            if self.more {
                listed.push("...".to_owned());
            }
            return Err(ApiError::InvalidParam(listed));
        }
        match self.repeated {
            Some(name) => Err(ApiError::bad_type(&name)),
            None => Ok(()),
        }
    }
}

/// Checks a request's parameter names at once (see [`NameCheck`]).
pub fn check_names<'a>(
    names: impl Iterator<Item = &'a str>,
    known: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    let mut check = NameCheck::new(known);
    for name in names {
        check.admit(name);
    }
    check.finish()
}

/// A JSON object body, checked against the keys an operation accepts.
#[derive(Debug)]
pub struct JsonInput {
    object: Map<String, Value>,
}

impl JsonInput {
    /// Parses `body` (empty = `{}`). Keys outside `writable` and `ignored` are `invalid_param`.
    pub fn parse(body: &[u8], writable: &[&str], ignored: &[&str]) -> Result<Self, ApiError> {
        if body.len() > MAX_JSON_BODY {
            return Err(ApiError::PayloadTooLarge);
        }
        let object = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(object)) => object,
                _ => return Err(ApiError::bad_type("body")),
            }
        };
        check_names(object.keys().map(String::as_str), |k| {
            writable.contains(&k) || ignored.contains(&k)
        })?;
        Ok(JsonInput { object })
    }

    /// A string field: `None` if absent, `Some(None)` if `null`, else the text.
    pub fn string(&mut self, name: &str) -> Result<Option<Option<String>>, ApiError> {
        match self.object.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text))),
            Some(_) => Err(ApiError::bad_type(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(Target::id("42"), Ok(Target::Id(42)));
        assert_eq!(Target::id("0"), Ok(Target::Id(0)));
        for bad in ["-1", "+1", "abc", "1.5", "99999999999999999999999", ""] {
            assert_eq!(Target::id(bad), Err(ApiError::bad_type("id")), "{bad}");
        }
    }

    #[test]
    fn if_match_headers() {
        assert_eq!(Precondition::parse("*"), Ok(Precondition::Exists));
        assert_eq!(
            Precondition::parse(r#""3", W/"4", "x", "5""#),
            Ok(Precondition::Versions(vec![3, 5]))
        );
        assert!(Precondition::parse(r#""7""#).is_ok_and(|p| p.admits(7) && !p.admits(8)));
        for bad in ["3", r#""3"#, r#"W/3"#, "", r#""3"x"#, r#""3", 4"#] {
            assert_eq!(
                Precondition::parse(bad),
                Err(ApiError::InvalidHeader("If-Match")),
                "{bad}"
            );
        }
        assert_eq!(entity_tag(12), r#""12""#);
    }

    #[test]
    fn json_bodies() {
        let mut input = JsonInput::parse(
            br#"{"name":"x","description":null,"id":3}"#,
            &["name", "description"],
            &["id"],
        )
        .expect("valid");
        assert_eq!(input.string("name"), Ok(Some(Some("x".into()))));
        assert_eq!(input.string("description"), Ok(Some(None)));
        assert_eq!(input.string("reference"), Ok(None));
        assert!(JsonInput::parse(b"  ", &[], &[]).is_ok());
        assert_eq!(
            JsonInput::parse(b"{", &[], &[]).err(),
            Some(ApiError::bad_type("body"))
        );
        assert_eq!(
            JsonInput::parse(b"[1]", &[], &[]).err(),
            Some(ApiError::bad_type("body"))
        );
        assert_eq!(
            JsonInput::parse(br#"{"foo":1,"bar":2}"#, &[], &[]).err(),
            Some(ApiError::InvalidParam(vec!["foo".into(), "bar".into()]))
        );
        let mut input = JsonInput::parse(br#"{"name":5}"#, &["name"], &[]).expect("valid");
        assert_eq!(input.string("name"), Err(ApiError::bad_type("name")));
    }
}
