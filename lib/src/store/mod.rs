//! Storage behind one small trait. The DynamoDB adapter is here; the embedded adapter, which
//! only `local-api` and the tests use, lives in the `local-api` crate so no Lambda compiles it.
//! Both pass one contract suite (`tests/src/contract.rs`).
//!
//! A store keeps *records* (see [`crate::model::Record`]): a numeric id unique per organization
//! and kind, a reference unique per organization and kind, the two timestamps, and the
//! resource's typed fields. The domain modules (`groups`, `customers`) own every business
//! rule; stores own atomicity, uniqueness, id allocation, link counts and ordering.

use async_trait::async_trait;

use crate::list::ListQuery;
use crate::model::{Draft, Fields, Patch, Record, Scope, StoreError};

pub mod dynamo;

pub use dynamo::DynamoStore;

/// One page of a list query.
#[derive(Debug, Clone)]
pub struct ListPage<F> {
    /// How many records match the query in all.
    pub total: u64,
    /// The requested page, in the requested order.
    pub records: Vec<Record<F>>,
    /// How many stored items the store read to answer (the cost of the request).
    pub items_read: u64,
    /// How many index keys it read without their items (counting matches, or finding a page on
    /// a keys-only index): a few hundred bytes each, not whole items.
    pub keys_read: u64,
    /// The most records the store held in memory at once to answer (its memory, in records).
    pub held: u64,
}

impl<F: Fields> ListPage<F> {
    /// The page `query` selects from every record of a scope, read in any order (how the local
    /// stores list: one pass, holding at most the page).
    pub fn select(
        query: &ListQuery<F>,
        records: impl IntoIterator<Item = Result<Record<F>, StoreError>>,
    ) -> Result<Self, StoreError> {
        let mut selection = query.selection();
        let mut items_read = 0;
        for record in records {
            selection.offer(record?);
            items_read += 1;
        }
        let (total, records, held) = selection.finish();
        Ok(ListPage {
            total,
            records,
            items_read,
            keys_read: 0,
            held: held as u64,
        })
    }
}

/// The storage contract every adapter fulfils, for each resource type `F`.
#[async_trait]
pub trait RecordStore<F: Fields>: Send + Sync {
    /// Creates a record with a fresh id; fails with `NotUnique` if the reference is taken and
    /// with `MissingLink` if a record its fields link to does not exist.
    async fn create(&self, scope: &Scope<F>, draft: Draft<F>) -> Result<Record<F>, StoreError>;

    /// The record with this id, if any (strongly consistent).
    async fn get(&self, scope: &Scope<F>, id: u64) -> Result<Option<Record<F>>, StoreError>;

    /// How many records use record `id` (`None` if there is no such record). Counts are the
    /// store's, not the record's: kept exact in the same transaction as every link change.
    async fn dependents(&self, scope: &Scope<F>, id: u64) -> Result<Option<u64>, StoreError>;

    /// The records with these ids that exist, in no particular order (strongly consistent).
    async fn get_many(&self, scope: &Scope<F>, ids: &[u64]) -> Result<Vec<Record<F>>, StoreError>;

    /// The record with this exact reference, if any (strongly consistent).
    async fn find_by_reference(
        &self,
        scope: &Scope<F>,
        reference: &str,
    ) -> Result<Option<Record<F>>, StoreError>;

    /// Applies a partial update, bumps the version and returns the record as stored; `Conflict`
    /// when the record is no longer at `patch.expected` or a checked record has changed.
    async fn update(&self, scope: &Scope<F>, id: u64, patch: Patch<F>) -> Result<Record<F>, StoreError>;

    /// Deletes the record at version `expected` (any version when `None`) and frees its
    /// reference, releasing what it links to; `InUse` while other records use it, `Conflict` if
    /// it changed since `expected` was read.
    async fn delete(&self, scope: &Scope<F>, id: u64, expected: Option<u64>) -> Result<(), StoreError>;

    /// One page of the records matching `query`, in its order.
    async fn list(&self, scope: &Scope<F>, query: &ListQuery<F>) -> Result<ListPage<F>, StoreError>;
}
