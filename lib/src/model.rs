//! The shared vocabulary of the domain and its stores: tenants, records and their links, and
//! what a store can fail with. Every other module may use this one; it uses none of them but
//! the leaf value types.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;
use crate::values::{NAME_KEY_PART_BYTES, Reference, key_part, name_order};

/// A tenant's identifier, as authentication gave it. Never taken from a request body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Organization(String);

impl Organization {
    /// Accepts 1 to 128 printable characters without `#` (the storage key separator).
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.chars().count() <= 128
            && !text
                .chars()
                .any(|c| c == '#' || c.is_control() || c.is_whitespace());
        valid.then(|| Organization(text.to_owned()))
    }

    /// The organization identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of resource a record is; each kind has its own ids and references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Customer groups (customer categories).
    Group,
    /// Customers.
    Customer,
}

impl Kind {
    /// Stable name used in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Customer => "customer",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "group" => Some(Kind::Group),
            "customer" => Some(Kind::Customer),
            _ => None,
        }
    }
}

/// `"<org>#<kind>"`: the prefix of every storage key of one organization's records of one kind.
pub fn scope_key(org: &Organization, kind: Kind) -> String {
    format!("{}#{}", org.as_str(), kind.as_str())
}

/// One organization's records of one resource type: every store operation is confined to a
/// scope, and the scope's type says which records it holds.
pub struct Scope<F> {
    org: Organization,
    fields: PhantomData<fn() -> F>,
}

impl<F> Clone for Scope<F> {
    fn clone(&self) -> Self {
        Scope {
            org: self.org.clone(),
            fields: PhantomData,
        }
    }
}

impl<F: Fields> fmt::Debug for Scope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl<F: Fields> Scope<F> {
    /// The `F` records of `org`.
    pub fn new(org: &Organization) -> Self {
        Scope {
            org: org.clone(),
            fields: PhantomData,
        }
    }

    /// The organization.
    pub fn org(&self) -> &Organization {
        &self.org
    }

    /// `"<org>#<kind>"`: the prefix of every storage key of this scope.
    pub fn key(&self) -> String {
        scope_key(&self.org, F::KIND)
    }
}

/// A use of another record of the same organization (a customer's group, its parent).
///
/// The used record counts its dependents; a record with dependents cannot be deleted, and a link
/// to a record that does not exist cannot be written. Both hold atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    /// Kind of the used record.
    pub kind: Kind,
    /// Its id.
    pub id: u64,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.kind.as_str(), self.id)
    }
}

impl std::str::FromStr for Link {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::Backend(format!("bad link {text}"));
        let (kind, id) = text.split_once('#').ok_or_else(bad)?;
        Ok(Link {
            kind: Kind::parse(kind).ok_or_else(bad)?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for Link {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A resource's own fields, typed: what a record stores beside its id, reference and dates.
/// Serialised, each field is a storage attribute of the same name.
pub trait Fields:
    Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The kind of record these fields belong to.
    const KIND: Kind;
    /// A partial update of these fields.
    type Patch: FieldsPatch<Self>;

    /// The records these fields use, sorted and de-duplicated.
    fn links(&self) -> Vec<Link>;

    /// The record's name, which the `byName` index orders by.
    fn name(&self) -> Option<&str>;

    /// Whether the record is active, which partitions the `byActive` index (`None`: in neither).
    fn active(&self) -> Option<bool> {
        None
    }

    /// The group the record is in, which partitions the `byCategory` index (`None`: in none).
    fn category(&self) -> Option<u64> {
        None
    }
}

/// A partial update of `F`. Serialised, it names exactly the attributes it writes (`null`
/// clears one).
pub trait FieldsPatch<F>: Clone + fmt::Debug + Default + Serialize + Send + Sync + 'static {
    /// Writes what the patch names into `fields`.
    fn apply(&self, fields: &mut F);

    /// Whether applying the patch may change the record's links.
    fn touches_links(&self) -> bool;

    /// The name the patch writes: `None` if it leaves it, `Some(None)` if it clears it.
    fn name(&self) -> Option<Option<&str>>;

    /// The `isActive` the patch writes: `None` if it leaves it, `Some(None)` if it clears it.
    fn active(&self) -> Option<Option<bool>> {
        None
    }

    /// The group the patch moves the record to: `None` if it leaves it, `Some(None)` if it
    /// clears it.
    fn category(&self) -> Option<Option<u64>> {
        None
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "F: DeserializeOwned"))]
pub struct Record<F> {
    /// Numeric id, unique per scope, never reused.
    pub id: u64,
    /// External id, unique per scope.
    pub reference: Reference,
    /// When the record was created; never changes.
    pub date_created: Timestamp,
    /// When the record last changed.
    pub last_updated: Timestamp,
    /// The resource's own fields.
    pub fields: F,
    /// The records this one uses, sorted (derived from the fields when written).
    #[serde(default)]
    pub links: Vec<Link>,
    /// Bumped by every write: a write conditioned on the version it read fails if another
    /// write came first (records written before versions existed are at 0).
    #[serde(default)]
    pub version: u64,
}

impl<F> Record<F> {
    /// The key that orders records by reference: lower-cased reference, then id.
    ///
    /// Both stores order by this exact string (the DynamoDB index sorts on it), so the order is
    /// total and identical everywhere.
    pub fn reference_key(&self) -> String {
        reference_key(self.reference.as_str(), self.id)
    }

    /// The key that orders records by creation: timestamp, then id.
    pub fn created_key(&self) -> String {
        time_key(self.date_created, self.id)
    }

    /// The `byLastUpdated` index's sort key: `<lastUpdated>#<id:020>`.
    pub fn updated_key(&self) -> String {
        time_key(self.last_updated, self.id)
    }
}

impl<F: Fields> Record<F> {
    /// The `byName` index's sort key: see [`name_key`].
    pub fn name_key(&self) -> String {
        name_key(self.fields.name(), self.id)
    }
}

/// The most bytes of a lower-cased reference a reference key holds: DynamoDB caps an index
/// sort key at 1,024 bytes, and the key adds a 2-byte end mark and a 20-digit id. (255
/// characters of four bytes are 1,020 bytes: the longest references are cut, at a character
/// boundary; records whose references share those first 1,000 bytes then order by id.)
pub const REFERENCE_KEY_BYTES: usize = 1000;

/// See [`Record::reference_key`]: the lower-cased reference with each NUL written `\0\u{1}`,
/// then the end mark `\0\0`, then the id. The end mark sorts below anything a reference can
/// continue with, so keys order as references do (`m` before `m#`), and a prefix never runs
/// into the id part.
pub fn reference_key(reference: &str, id: u64) -> String {
    let (part, _) = reference_key_prefix(&reference.to_lowercase());
    format!("{part}\0\0{id:020}")
}

/// The start of the reference keys of references beginning with `lower` (a lower-cased
/// prefix), and whether all of it fits in a key (else the keys hold only its start).
pub fn reference_key_prefix(lower: &str) -> (String, bool) {
    key_part(lower, REFERENCE_KEY_BYTES)
}

/// See [`Record::name_key`]: [`name_order`]'s two forms, each followed by the end mark `\0\0`,
/// then the id; a record without a name has two empty forms, so it sorts first.
pub fn name_key(name: Option<&str>, id: u64) -> String {
    let (lower, exact) = name.map(name_order).unwrap_or_default();
    format!("{lower}\0\0{exact}\0\0{id:020}")
}

/// The start of the name keys of names whose lower-cased form begins with `lower`, and whether
/// all of it fits in a key.
pub fn name_key_prefix(lower: &str) -> (String, bool) {
    key_part(lower, NAME_KEY_PART_BYTES)
}

/// The reference key prefix of exactly the reference `lower` (lower-cased), if it fits whole.
pub fn exact_reference_key(lower: &str) -> Option<String> {
    match reference_key_prefix(lower) {
        (part, true) => Some(format!("{part}\0\0")),
        (_, false) => None,
    }
}

/// A time index's sort key, `<time>#<id:020>`: see [`Record::created_key`] and
/// [`Record::updated_key`].
pub fn time_key(time: Timestamp, id: u64) -> String {
    format!("{time}#{id:020}")
}

/// A record to create: the store assigns the id.
#[derive(Debug, Clone)]
pub struct Draft<F> {
    /// The reference, which must be free in the scope.
    pub reference: Reference,
    /// The resource's fields; the records they link to must exist.
    pub fields: F,
    /// Creation time (also the first `lastUpdated`).
    pub now: Timestamp,
}

/// A partial update: only what is named here is written.
#[derive(Debug, Clone)]
pub struct Patch<F: Fields> {
    /// A new reference (renaming frees the old one atomically), or `None` to keep it.
    pub reference: Option<Reference>,
    /// The fields to write; fields it does not name are left as they are.
    pub fields: F::Patch,
    /// The new `lastUpdated`.
    pub now: Timestamp,
    /// The version the patch was computed from: the write fails with
    /// [`StoreError::Conflict`] if the record has moved on. `None` for a patch that holds
    /// whatever the record's other fields are (it names plain fields only).
    pub expected: Option<u64>,
    /// Other records the patch was decided on (a new parent's ancestors), which must still be at
    /// the versions read when it commits.
    pub checks: Vec<Check>,
}

/// A record read to decide a write, which must be unchanged when the write commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// The record.
    pub link: Link,
    /// The version read.
    pub version: u64,
}

/// Links in `from` but not in `to`, and in `to` but not in `from`.
pub fn link_changes(from: &[Link], to: &[Link]) -> (Vec<Link>, Vec<Link>) {
    let removed = from.iter().filter(|l| !to.contains(l)).copied().collect();
    let added = to.iter().filter(|l| !from.contains(l)).copied().collect();
    (removed, added)
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The reference is already used by another record of the scope.
    #[error("reference already used")]
    NotUnique,
    /// No record with that id in the scope.
    #[error("record not found")]
    NotFound,
    /// A linked record does not exist in the organization.
    #[error("linked record {0} not found")]
    MissingLink(Link),
    /// Other records still use this one.
    #[error("record is in use")]
    InUse,
    /// Another write changed what this one was decided on (the record's version, a checked
    /// record) or was in flight on the same items: read again and retry.
    #[error("a concurrent write came first")]
    Conflict,
    /// The backend failed; the text is for logs only.
    #[error("storage failure: {0}")]
    Backend(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_keys_order_as_references_and_fit_dynamodb() {
        let mut references = ["m#", "M", "m\0", "m\0a", "mx", "m#1", "l\u{1F600}"];
        let mut keys: Vec<(String, &str)> = references
            .iter()
            .enumerate()
            .map(|(i, r)| (reference_key(r, i as u64), *r))
            .collect();
        keys.sort();
        references.sort_by_key(|r| r.to_lowercase());
        assert_eq!(keys.iter().map(|(_, r)| *r).collect::<Vec<_>>(), references);
        let (prefix, whole) = reference_key_prefix("m#");
        assert!(whole);
        let matching: Vec<&str> = keys
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| *r)
            .collect();
        assert_eq!(matching, ["m#", "m#1"]);
        let exact = exact_reference_key("m").expect("fits");
        assert_eq!(keys.iter().filter(|(k, _)| k.starts_with(&exact)).count(), 1);
        for (long, fits) in [
            ("\u{1F600}".repeat(255), false),
            ("\u{10400}".repeat(255), false),
            ("\0".repeat(255), true),
            ("\u{130}".repeat(255), true),
        ] {
            let key = reference_key(&long, u64::MAX);
            assert!(key.len() <= 1024, "{} bytes", key.len());
            let (start, whole) = reference_key_prefix(&long.to_lowercase());
            assert_eq!(whole, fits);
            assert!(key.starts_with(&start));
        }
    }

    #[test]
    fn links_round_trip_through_text() {
        let link = Link {
            kind: Kind::Customer,
            id: 42,
        };
        assert_eq!(link.to_string(), "customer#42");
        assert_eq!("customer#42".parse::<Link>(), Ok(link));
        assert!("person#1".parse::<Link>().is_err());
        assert!("group#x".parse::<Link>().is_err());
    }

    #[test]
    fn organizations_exclude_the_key_separator() {
        assert!(Organization::parse("entity1").is_some());
        for bad in ["", "a#b", "a b", "a\nb", &"o".repeat(129)] {
            assert!(Organization::parse(bad).is_none(), "{bad:?}");
        }
    }
}
