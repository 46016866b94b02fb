//! Cursor paging (beyond the reference): opaque, tamper-proof positions in a list's order.
//!
//! A cursor seals the query it continues (sort, order, filters), the direction and the sort key
//! of the record it starts after, with an HMAC-SHA256 over the organization and the resource, so
//! a client can neither edit it nor use it for another tenant or resource.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::Organization;

/// The longest cursor accepted, in characters: API Gateway's limit on a request line, so every
/// cursor a link can carry opens (one sealing long wildcard filters and a 1 KB name key takes a
/// few KB).
pub const MAX_CURSOR: usize = 10_240;
/// Bytes of the MAC a cursor carries (128 bits).
const TAG_BYTES: usize = 16;

/// A position in a list: the page after (or before) the record whose sort key is `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The query it continues, as a query string (`sort`, `order`, then the filters).
    #[serde(rename = "q")]
    pub query: String,
    /// Whether it reads the page before `key` (a `previous` link) rather than after it.
    #[serde(rename = "b")]
    pub backward: bool,
    /// The sort key of the record the page starts after (in the direction read).
    #[serde(rename = "k")]
    pub key: String,
}

/// The secret cursors are sealed with; one per deployment, shared by every list function.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// A key from a configured secret.
    pub fn new(secret: &[u8]) -> Self {
        CursorKey(secret.to_vec())
    }

    /// A key of this process alone (its cursors fail in any other process): for tests and for
    /// a `local-api` given no secret.
    pub fn random() -> Self {
        let mut bytes = Vec::with_capacity(32);
        while bytes.len() < 32 {
            bytes.extend_from_slice(&crate::retry::random_below(u64::MAX).to_le_bytes());
        }
        CursorKey(bytes)
    }

    fn mac(&self, org: &Organization, resource: &str, payload: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).ok()?;
        for part in [
            org.as_str().as_bytes(),
            b"\n",
            resource.as_bytes(),
            b"\n",
            payload,
        ] {
            mac.update(part);
        }
        Some(mac)
    }

    /// The cursor as an opaque token for `org`'s `resource`.
    pub fn seal(&self, org: &Organization, resource: &str, cursor: &Cursor) -> String {
        let payload = serde_json::to_vec(cursor).unwrap_or_default();
        let tag = self
            .mac(org, resource, &payload)
            .map(|mac| mac.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.get(..TAG_BYTES).unwrap_or_default())
        )
    }

    /// The cursor in `token`, if this key sealed it for `org`'s `resource`.
    pub fn open(&self, org: &Organization, resource: &str, token: &str) -> Option<Cursor> {
        if token.len() > MAX_CURSOR {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .ok()
            .filter(|t| t.len() == TAG_BYTES)?;
        self.mac(org, resource, &payload)?
            .verify_truncated_left(&tag)
            .ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// A key, with the organization and the resource its cursors are for.
#[derive(Debug, Clone, Copy)]
pub struct Sealer<'a> {
    /// The deployment's key.
    pub key: &'a CursorKey,
    /// The caller's organization.
    pub org: &'a Organization,
    /// The resource listed (`customers`, `customerGroups`).
    pub resource: &'static str,
}

impl Sealer<'_> {
    /// See [`CursorKey::seal`].
    pub fn seal(&self, cursor: &Cursor) -> String {
        self.key.seal(self.org, self.resource, cursor)
    }

    /// See [`CursorKey::open`].
    pub fn open(&self, token: &str) -> Option<Cursor> {
        self.key.open(self.org, self.resource, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str) -> Organization {
        Organization::parse(name).expect("organization")
    }

    #[test]
    fn a_sealed_cursor_opens_only_where_it_was_sealed() {
        let key = CursorKey::new(b"a secret of the deployment");
        let cursor = Cursor {
            query: "sort=name&order=asc&name=Ma*".into(),
            backward: false,
            key: format!("ma\0\0Ma\0\0{:020}", 42),
        };
        let token = key.seal(&org("entity1"), "customers", &cursor);
        assert!(token.len() < 200, "{token}");
        assert_eq!(
            key.open(&org("entity1"), "customers", &token),
            Some(cursor.clone())
        );
        assert_eq!(
            key.open(&org("entity2"), "customers", &token),
            None,
            "another tenant"
        );
        assert_eq!(
            key.open(&org("entity1"), "customerGroups", &token),
            None,
            "another resource"
        );
        let other = CursorKey::new(b"another deployment's secret");
        assert_eq!(
            other.open(&org("entity1"), "customers", &token),
            None,
            "another key"
        );
    }

    #[test]
    fn a_cursor_sealing_long_filters_still_opens() {
        let key = CursorKey::random();
        let long = "%C3%A9".repeat(500);
        let cursor = Cursor {
            query: format!(
                "sort=name&order=asc&name=*{long}*&reference=*{}*",
                "x".repeat(250)
            ),
            backward: false,
            key: format!("{}\0\0{}\0\0{:020}", "é".repeat(250), "É".repeat(250), 7),
        };
        let token = key.seal(&org("entity1"), "customers", &cursor);
        assert!(token.len() <= MAX_CURSOR, "{} characters", token.len());
        assert_eq!(key.open(&org("entity1"), "customers", &token), Some(cursor));
    }

    #[test]
    fn an_edited_or_malformed_cursor_does_not_open() {
        let key = CursorKey::random();
        let org = org("entity1");
        let cursor = Cursor {
            query: "sort=dateCreated&order=desc".into(),
            backward: true,
            key: "2020-01-01T00:00:00Z#00000000000000000007".into(),
        };
        let token = key.seal(&org, "customers", &cursor);
        let (payload, tag) = token.split_once('.').expect("two parts");
        let mut edited = cursor.clone();
        edited.key = "2020-01-01T00:00:00Z#00000000000000000001".into();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&edited).expect("json"))
        );
        let short_tag = format!("{payload}.{}", &tag[..4]);
        for bad in [
            forged.as_str(),
            short_tag.as_str(),
            payload,
            "",
            ".",
            "%%%.%%%",
            &"A".repeat(MAX_CURSOR + 1),
        ] {
            assert_eq!(key.open(&org, "customers", bad), None, "{bad:.40}");
        }
    }
}
