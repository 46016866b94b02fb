//! Storage behind one small trait, with the DynamoDB adapter and the embedded adapter side by side.
//!
//! A store keeps *records*: a numeric id unique per organization and kind, a reference unique per
//! organization and kind, the two timestamps, and the resource's own fields. The domain modules
//! (`groups`, ...) turn records into resources and own every business rule; stores own
//! atomicity, uniqueness, id allocation and ordering, identically on both adapters (one contract
//! test suite checks both).

use std::cmp::Ordering;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::list::ListQuery;
use crate::time::Timestamp;

pub mod dynamo;
pub mod embedded;

pub use dynamo::DynamoStore;
pub use embedded::EmbeddedStore;

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

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// One organization's records of one kind: every store operation is confined to a scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    org: String,
    kind: Kind,
}

impl Scope {
    /// The scope of `kind` records in organization `org`.
    pub fn new(org: &Organization, kind: Kind) -> Self {
        Scope {
            org: org.as_str().to_owned(),
            kind,
        }
    }

    /// The organization.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The kind of record.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// `"<org>#<kind>"`: the prefix of every storage key of this scope.
    pub fn key(&self) -> String {
        format!("{}#{}", self.org, self.kind.as_str())
    }

    /// The scope of the same organization's records of `kind`.
    pub fn with_kind(&self, kind: Kind) -> Scope {
        Scope {
            org: self.org.clone(),
            kind,
        }
    }
}

/// A tenant's identifier, as authentication gave it. Never taken from a request body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// A stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Numeric id, unique per scope, never reused.
    pub id: u64,
    /// External id, unique per scope.
    pub reference: String,
    /// When the record was created; never changes.
    pub date_created: Timestamp,
    /// When the record last changed.
    pub last_updated: Timestamp,
    /// The resource's own fields (`name`, `description`, ...); `null` means no value.
    pub fields: Map<String, Value>,
    /// The records this one uses, sorted.
    #[serde(default)]
    pub links: Vec<Link>,
    /// How many records use this one.
    #[serde(default)]
    pub dependents: u64,
}

impl Record {
    /// The key that orders records by reference: lower-cased reference, then id.
    ///
    /// Both stores order by this exact string (the DynamoDB index sorts on it), so the order is
    /// total and identical everywhere.
    pub fn reference_key(&self) -> String {
        reference_key(&self.reference, self.id)
    }

    /// The key that orders records by creation: timestamp, then id.
    pub fn created_key(&self) -> String {
        created_key(self.date_created, self.id)
    }

    /// A field's value (`Null` when absent).
    pub fn field(&self, name: &str) -> &Value {
        self.fields.get(name).unwrap_or(&Value::Null)
    }
}

/// The most bytes a lower-cased reference may take: it is part of an index sort key, which
/// DynamoDB caps at 1,024 bytes.
pub const MAX_REFERENCE_KEY_BYTES: usize = 1000;

/// Whether `reference` fits the storage keys (every adapter enforces the same limit).
pub fn reference_fits(reference: &str, max_chars: usize) -> bool {
    reference.chars().count() <= max_chars && reference.to_lowercase().len() <= MAX_REFERENCE_KEY_BYTES
}

/// See [`Record::reference_key`].
pub fn reference_key(reference: &str, id: u64) -> String {
    format!("{}#{id:020}", reference.to_lowercase())
}

/// See [`Record::created_key`].
pub fn created_key(date_created: Timestamp, id: u64) -> String {
    format!("{date_created}#{id:020}")
}

/// Sorted, de-duplicated links.
pub fn normalize_links(mut links: Vec<Link>) -> Vec<Link> {
    links.sort();
    links.dedup();
    links
}

/// Links in `from` but not in `to`, and in `to` but not in `from`.
pub(crate) fn link_changes(from: &[Link], to: &[Link]) -> (Vec<Link>, Vec<Link>) {
    let removed = from.iter().filter(|l| !to.contains(l)).copied().collect();
    let added = to.iter().filter(|l| !from.contains(l)).copied().collect();
    (removed, added)
}

/// A record to create: the store assigns the id.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The reference, which must be free in the scope.
    pub reference: String,
    /// The resource's fields.
    pub fields: Map<String, Value>,
    /// Creation time (also the first `lastUpdated`).
    pub now: Timestamp,
    /// Records the new record uses; each must exist.
    pub links: Vec<Link>,
}

/// A partial update: only what is named here is written.
#[derive(Debug, Clone)]
pub struct Patch {
    /// A new reference (renaming frees the old one atomically), or `None` to keep it.
    pub reference: Option<String>,
    /// Fields to set; `null` clears a field. Fields not named are left as they are.
    pub fields: Map<String, Value>,
    /// The new `lastUpdated`.
    pub now: Timestamp,
    /// The records the record uses from now on, or `None` to keep them.
    pub links: Option<Vec<Link>>,
}

/// One page of a list query.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// How many records match the query in all.
    pub total: u64,
    /// The requested page, in the requested order.
    pub records: Vec<Record>,
    /// How many stored items the store read to answer (the cost of the request).
    pub items_read: u64,
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
    /// The backend failed; the text is for logs only.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// The storage contract both adapters fulfil.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Creates a record with a fresh id; fails with `NotUnique` if the reference is taken.
    async fn create(&self, scope: &Scope, draft: Draft) -> Result<Record, StoreError>;

    /// The record with this id, if any (strongly consistent).
    async fn get(&self, scope: &Scope, id: u64) -> Result<Option<Record>, StoreError>;

    /// The records with these ids that exist, in no particular order (strongly consistent).
    async fn get_many(&self, scope: &Scope, ids: &[u64]) -> Result<Vec<Record>, StoreError>;

    /// The record with this exact reference, if any (strongly consistent).
    async fn find_by_reference(&self, scope: &Scope, reference: &str) -> Result<Option<Record>, StoreError>;

    /// Applies a partial update and returns the record as stored.
    async fn update(&self, scope: &Scope, id: u64, patch: Patch) -> Result<Record, StoreError>;

    /// Deletes the record and frees its reference; `InUse` while other records use it.
    async fn delete(&self, scope: &Scope, id: u64) -> Result<(), StoreError>;

    /// One page of the records matching `query`, in its order.
    async fn list(&self, scope: &Scope, query: &ListQuery) -> Result<ListPage, StoreError>;
}

/// Everything a process stores: records and reference data, on one backend.
pub trait Store: RecordStore + crate::reference_data::ReferenceDataStore {}

impl<T: RecordStore + crate::reference_data::ReferenceDataStore> Store for T {}

/// Compares JSON values for sorting: null, then booleans, numbers, strings (case-insensitive).
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        (Value::String(x), Value::String(y)) => {
            x.to_lowercase().cmp(&y.to_lowercase()).then_with(|| x.cmp(y))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}
