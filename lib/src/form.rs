//! Request bodies as named values: `application/x-www-form-urlencoded`, `multipart/form-data`
//! (parsed from bytes: API Gateway base64-encodes both) and, for convenience, a JSON object.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;
use crate::input::{MAX_JSON_BODY, NameCheck};
use crate::values::Sent;

/// Lambda's synchronous invocation payload limit, in bytes: the whole event must fit.
pub const MAX_EVENT: usize = 6 * 1024 * 1024;

/// The largest form or multipart body accepted, in bytes: API Gateway base64-encodes these
/// bodies into the event (4 bytes per 3), beside at most 64 KiB of request line, headers and
/// event fields (its 10,240-byte head, copied a few times).
pub const MAX_FORM_BODY: usize = (MAX_EVENT - 64 * 1024) / 4 * 3;

/// A file part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePart {
    /// Field name.
    pub name: String,
    /// File name as the client sent it.
    pub file_name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A named value of a body (borrowed from the body where no decoding was needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormValue<'a> {
    /// Name.
    pub name: Cow<'a, str>,
    /// The text (a JSON value other than a string: its JSON; `null`: empty).
    pub text: Cow<'a, str>,
    /// How it was sent.
    pub sent: Sent,
}

impl<'a> FormValue<'a> {
    /// A value sent as text.
    pub fn text(name: impl Into<Cow<'a, str>>, text: impl Into<Cow<'a, str>>) -> Self {
        FormValue {
            name: name.into(),
            text: text.into(),
            sent: Sent::Text,
        }
    }
}

/// A body's values, in order, with its file parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormData<'a> {
    /// Values, in order.
    pub values: Vec<FormValue<'a>>,
    /// File parts.
    pub files: Vec<FilePart>,
}

impl<'a> FormData<'a> {
    /// Parses `body` by its content type (urlencoded when absent), keeping the values of the
    /// names `known` accepts: unknown names are `invalid_param`, a repeated one
    /// `invalid_param_type` (see [`NameCheck`]). Over [`MAX_FORM_BODY`] (JSON:
    /// [`MAX_JSON_BODY`]) is `request_too_large`. Linear in the body.
    pub async fn parse(
        content_type: Option<&str>,
        body: &'a [u8],
        known: impl Fn(&str) -> bool,
    ) -> Result<Self, ApiError> {
        let content_type = content_type.unwrap_or("application/x-www-form-urlencoded");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let limit = if mime == "application/json" {
            MAX_JSON_BODY
        } else {
            MAX_FORM_BODY
        };
        if body.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        let mut names = NameCheck::new(known);
        let form = match mime.as_str() {
            "multipart/form-data" => multipart(content_type, body, &mut names).await,
            "application/json" => json(body, &mut names),
            _ => urlencoded(body, &mut names),
        }?;
        names.finish()?;
        Ok(form)
    }
}

/// Decodes `a=1&b=x+y` strictly: a name or value that is not UTF-8 once decoded is refused
/// (`invalid_param_type`) rather than mangled.
fn urlencoded<'a>(
    body: &'a [u8],
    names: &mut NameCheck<impl Fn(&str) -> bool>,
) -> Result<FormData<'a>, ApiError> {
    let mut values = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let name = decode(name).map_err(|()| bad_body())?;
        if names.admit(&name) {
            let value = decode(value).map_err(|()| ApiError::bad_type(&name))?;
            values.push(FormValue::text(name, value));
        }
    }
    Ok(FormData {
        values,
        files: Vec::new(),
    })
}

/// One urlencoded name or value, decoded; borrowed when it has nothing to decode.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ()> {
    if !bytes.iter().any(|b| matches!(b, b'+' | b'%')) {
        return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| ());
    }
    let spaced: Vec<u8> = bytes.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    let decoded = String::from_utf8(percent_encoding::percent_decode(&spaced).collect());
    decoded.map(Cow::Owned).map_err(|_| ())
}

fn bad_body() -> ApiError {
    ApiError::bad_type("body")
}

async fn multipart<'a>(
    content_type: &str,
    body: &[u8],
    names: &mut NameCheck<impl Fn(&str) -> bool>,
) -> Result<FormData<'a>, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| bad_body())?;
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(
        Bytes::copy_from_slice(body),
    )));
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut form = FormData::default();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(form),
            Err(_) => return Err(bad_body()),
        };
        let name = field.name().unwrap_or("").to_owned();
        if !names.admit(&name) {
            continue;
        }
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|_| bad_body())?;
        match file_name {
            Some(file_name) => form.files.push(FilePart {
                name,
                file_name,
                bytes: bytes.to_vec(),
            }),
            None => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::bad_type(&name))?;
                form.values.push(FormValue::text(name, text));
            }
        }
    }
}

fn json<'a>(body: &[u8], names: &mut NameCheck<impl Fn(&str) -> bool>) -> Result<FormData<'a>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(FormData::default());
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad_body());
    };
    let values = object
        .into_iter()
        .filter(|(name, _)| names.admit(name))
        .map(|(name, value)| {
            let (text, sent) = match value {
                Value::Null => (String::new(), Sent::Null),
                Value::String(text) => (text, Sent::Text),
                Value::Bool(flag) => (flag.to_string(), Sent::Bool),
                Value::Number(number) => (number.to_string(), Sent::Number),
                Value::Array(_) => (value.to_string(), Sent::Array),
                Value::Object(_) => (value.to_string(), Sent::Object),
            };
            FormValue {
                name: Cow::Owned(name),
                text: Cow::Owned(text),
                sent,
            }
        })
        .collect();
    Ok(FormData {
        values,
        files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &str) -> bool {
        true
    }

    #[tokio::test]
    async fn urlencoded_bytes() {
        let body = b"name=Marie%27s+Jewelry&a=&&c&d=%2B%C3%A9";
        let form = FormData::parse(Some("application/x-www-form-urlencoded"), body, any)
            .await
            .expect("parses");
        let expected = [("name", "Marie's Jewelry"), ("a", ""), ("c", ""), ("d", "+é")];
        let expected: Vec<FormValue> = expected.iter().map(|(n, v)| FormValue::text(*n, *v)).collect();
        assert_eq!(form.values, expected);
        let bad = FormData::parse(None, b"name=ok&city=%FF%FE", any).await;
        assert_eq!(bad, Err(ApiError::bad_type("city")));
    }

    #[tokio::test]
    async fn multipart_values_and_files() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMarie\r\n--XyZ\r\nContent-Disposition: form-data; name=\"imageFile\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x01\x02\r\n--XyZ--\r\n";
        let form = FormData::parse(Some("multipart/form-data; boundary=XyZ"), body.as_bytes(), any)
            .await
            .expect("parses");
        assert_eq!(form.values, vec![FormValue::text("name", "Marie")]);
        assert_eq!(form.files[0].file_name, "a.png");
        assert_eq!(form.files[0].bytes, vec![1, 2]);
        let broken = FormData::parse(
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\ngarbage",
            any,
        )
        .await;
        assert_eq!(broken, Err(ApiError::bad_type("body")));
        let no_boundary = FormData::parse(Some("multipart/form-data"), b"", any).await;
        assert_eq!(no_boundary, Err(ApiError::bad_type("body")));
    }

    #[tokio::test]
    async fn json_values_keep_their_type() {
        let form = FormData::parse(
            Some("application/json"),
            br#"{"isActive":false,"creditLimit":5000,"paymentTypes":[{"id":7}],"email":null,"city":{"$ne":1},"name":"x"}"#,
            any,
        )
        .await
        .expect("parses");
        let sent = |name: &'static str, text: &'static str, sent| FormValue {
            name: name.into(),
            text: text.into(),
            sent,
        };
        assert_eq!(
            form.values,
            vec![
                sent("isActive", "false", Sent::Bool),
                sent("creditLimit", "5000", Sent::Number),
                sent("paymentTypes", r#"[{"id":7}]"#, Sent::Array),
                sent("email", "", Sent::Null),
                sent("city", r#"{"$ne":1}"#, Sent::Object),
                sent("name", "x", Sent::Text),
            ]
        );
    }

    #[tokio::test]
    async fn only_known_names_are_kept_and_every_name_is_checked() {
        let known = |name: &str| name == "name" || name == "imageFile";
        let form = FormData::parse(None, b"name=a", known).await.expect("valid");
        assert_eq!(form.values, vec![FormValue::text("name", "a")]);
        for body in [&b"name=a&x=%FF&y=1&x=2"[..], b"{\"x\":1,\"name\":\"a\",\"y\":[]}"] {
            let json = body.starts_with(b"{").then_some("application/json");
            assert_eq!(
                FormData::parse(json, body, known).await,
                Err(ApiError::InvalidParam(vec!["x".into(), "y".into()])),
            );
        }
        assert_eq!(
            FormData::parse(None, b"name=a&name=b", known).await,
            Err(ApiError::bad_type("name"))
        );
        let many: String = (0..1000).map(|i| format!("u{i}=1&")).collect();
        let Err(ApiError::InvalidParam(listed)) = FormData::parse(None, many.as_bytes(), known).await else {
            panic!("invalid_param");
        };
        assert_eq!(listed.len(), crate::error::MAX_LISTED + 1);
        assert_eq!(
            (listed[0].as_str(), listed[crate::error::MAX_LISTED].as_str()),
            ("u0", "...")
        );
        let body =
            "--b\r\nContent-Disposition: form-data; name=\"u\"; filename=\"a.png\"\r\n\r\nxx\r\n--b--\r\n";
        assert_eq!(
            FormData::parse(Some("multipart/form-data; boundary=b"), body.as_bytes(), known).await,
            Err(ApiError::InvalidParam(vec!["u".into()]))
        );
    }
}
