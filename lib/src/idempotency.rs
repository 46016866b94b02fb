//! Idempotency keys (beyond the reference): a client that sends `Idempotency-Key` with a POST
//! (create, upsert, partial update) gets, for 24 hours, the first response to that key again
//! instead of the work being done twice. The same key with another request is refused (422); a
//! duplicate sent while the first is still running is refused (409). Keys are per organization.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::model::{Organization, StoreError};

/// How long a key's response is kept and replayed, in seconds.
pub const WINDOW_SECONDS: u64 = 24 * 3600;
/// After how many seconds a claim whose request never answered (its function timed out or
/// crashed: functions time out after 10 s) may be taken by a new request with the key.
pub const STALE_CLAIM_SECONDS: u64 = 60;

/// An `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Reads the header; anything else is `400 invalid_header`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let valid = (1..=255).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        valid
            .then(|| IdempotencyKey(text.to_owned()))
            .ok_or(ApiError::InvalidHeader("Idempotency-Key"))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies a request for its key: a SHA-256 of its method, path, query, content type
/// and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a request.
    pub fn of(method: &str, path: &str, query: &str, content_type: &str, body: &[u8]) -> Self {
        let mut hash = Sha256::new();
        for part in [
            method.as_bytes(),
            path.as_bytes(),
            query.as_bytes(),
            content_type.as_bytes(),
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.update(body);
        Fingerprint(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A response kept for its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// Its status.
    pub status: u16,
    /// Its JSON body.
    pub body: String,
    /// Its `ETag`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// What a store keeps for a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The request that claimed the key.
    pub fingerprint: Fingerprint,
    /// When it claimed it (seconds since the epoch).
    pub started: u64,
    /// When the key is forgotten (seconds since the epoch).
    pub expires: u64,
    /// The response, once the request answered (no attribute until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<StoredResponse>,
}

/// What a request with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: do the work, then record the response.
    Claimed,
    /// The key answered this request already: replay that answer.
    Replay(StoredResponse),
    /// The key's first request is still running.
    InFlight,
    /// The key was used with another request.
    Mismatch,
}

impl Entry {
    /// A claim by a request with `fingerprint` at `now`.
    pub fn claim(fingerprint: &Fingerprint, now: u64) -> Self {
        Entry {
            fingerprint: fingerprint.clone(),
            started: now,
            expires: now + WINDOW_SECONDS,
            response: None,
        }
    }

    /// What a request with `fingerprint` at `now` may do, given what is kept (`None`: nothing);
    /// `Claimed` means the request may write its own claim over this entry.
    pub fn decide(existing: Option<&Entry>, fingerprint: &Fingerprint, now: u64) -> Claim {
        let Some(entry) = existing.filter(|entry| entry.expires > now) else {
            return Claim::Claimed;
        };
        match &entry.response {
            _ if entry.fingerprint != *fingerprint && entry.response.is_some() => Claim::Mismatch,
            Some(response) => Claim::Replay(response.clone()),
            None if entry.started + STALE_CLAIM_SECONDS <= now => Claim::Claimed,
            None if entry.fingerprint != *fingerprint => Claim::Mismatch,
            None => Claim::InFlight,
        }
    }
}

/// Where keys are kept, with their responses.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` of `org` for a request with `fingerprint` at `now`, atomically.
    async fn claim(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<Claim, StoreError>;

    /// Records the response of the request that claimed `key`.
    async fn complete(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;

    /// Forgets `key` (its request failed in a way worth sending again).
    async fn release(&self, org: &Organization, key: &IdempotencyKey) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(body: &str) -> Fingerprint {
        Fingerprint::of(
            "POST",
            "/api/v1.0/customers",
            "",
            "application/json",
            body.as_bytes(),
        )
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42_α").is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert_eq!(
            IdempotencyKey::parse("order-42").map(|k| k.as_str().to_owned()),
            Ok("order-42".into())
        );
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert_ne!(
            Fingerprint::of("POST", "/a", "b", "", b""),
            Fingerprint::of("POST", "/ab", "", "", b""),
            "parts are delimited"
        );
    }

    #[test]
    fn what_a_request_may_do() {
        let (first, other) = (fingerprint("a"), fingerprint("b"));
        let claimed = Entry::claim(&first, 1000);
        let answered = Entry {
            response: Some(StoredResponse {
                status: 201,
                body: "{}".into(),
                etag: None,
            }),
            ..claimed.clone()
        };
        assert_eq!(Entry::decide(None, &first, 1000), Claim::Claimed);
        assert_eq!(Entry::decide(Some(&claimed), &first, 1001), Claim::InFlight);
        assert_eq!(Entry::decide(Some(&claimed), &other, 1001), Claim::Mismatch);
        assert_eq!(
            Entry::decide(Some(&claimed), &first, 1000 + STALE_CLAIM_SECONDS),
            Claim::Claimed,
            "a claim whose request died is taken over"
        );
        assert!(matches!(Entry::decide(Some(&answered), &first, 2000), Claim::Replay(r) if r.status == 201));
        assert_eq!(Entry::decide(Some(&answered), &other, 2000), Claim::Mismatch);
        assert_eq!(
            Entry::decide(Some(&answered), &other, 1000 + WINDOW_SECONDS),
            Claim::Claimed,
            "an expired key is free"
        );
    }
}
