//! The embedded store: in-process and persistent in a data directory (a `redb` database), the
//! default of `local-api`. Every write is one serializable transaction, so uniqueness, id
//! allocation, renames and link counts are atomic exactly as on DynamoDB. It passes the same
//! contract suite as the DynamoDB adapter; no Lambda compiles it.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use customer_api::list::ListQuery;
use customer_api::model::{
    Draft, Fields, FieldsPatch, Link, Organization, Patch, Record, Scope, StoreError, link_changes, scope_key,
};
use customer_api::reference_data::{ReferenceData, ReferenceDataStore};
use customer_api::store::{ListPage, RecordStore};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `(scope key, id)` → the record as JSON.
const RECORDS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("records");
/// `(scope key, reference)` → id: the uniqueness guard and the lookup by reference.
const REFERENCES: TableDefinition<(&str, &str), u64> = TableDefinition::new("references");
/// scope key → the last id handed out.
const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences");
/// organization → its reference data as JSON.
const REFERENCE_DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("reference_data");

/// The embedded store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

fn backend(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(error.into().to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Backend(e.to_string()))
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let db = Database::create(dir.join("store.redb")).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(RECORDS).map_err(backend)?;
        txn.open_table(REFERENCES).map_err(backend)?;
        txn.open_table(SEQUENCES).map_err(backend)?;
        txn.open_table(REFERENCE_DATA).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(EmbeddedStore { db: Arc::new(db) })
    }

    /// Runs a write transaction on a blocking thread; commits only if `work` succeeds.
    async fn write<T, W>(&self, work: W) -> Result<T, StoreError>
    where
        T: Send + 'static,
        W: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(backend)?;
            let value = work(&txn)?;
            txn.commit().map_err(backend)?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// Runs a read on a blocking thread.
    async fn read<T, R>(&self, work: R) -> Result<T, StoreError>
    where
        T: Send + 'static,
        R: FnOnce(&redb::ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db.begin_read().map_err(backend)?))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

fn load<T: DeserializeOwned>(txn: &WriteTransaction, scope: &str, id: u64) -> Result<Option<T>, StoreError> {
    let records = txn.open_table(RECORDS).map_err(backend)?;
    let found = records.get((scope, id)).map_err(backend)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

fn save<T: Serialize>(txn: &WriteTransaction, scope: &str, id: u64, record: &T) -> Result<(), StoreError> {
    let mut records = txn.open_table(RECORDS).map_err(backend)?;
    records
        .insert((scope, id), encode(record)?.as_slice())
        .map_err(backend)?;
    Ok(())
}

/// Adds `delta` to the dependents of each linked record; a missing one fails the transaction.
/// Linked records may be of another type, so they are read with untyped fields.
fn count_dependents(
    txn: &WriteTransaction,
    org: &Organization,
    links: &[Link],
    delta: i64,
) -> Result<(), StoreError> {
    for link in links {
        let key = scope_key(org, link.kind);
        let mut used: Record<serde_json::Value> =
            load(txn, &key, link.id)?.ok_or(StoreError::MissingLink(*link))?;
        used.dependents = used.dependents.saturating_add_signed(delta);
        save(txn, &key, link.id, &used)?;
    }
    Ok(())
}

#[async_trait]
impl<F: Fields> RecordStore<F> for EmbeddedStore {
    async fn create(&self, scope: &Scope<F>, draft: Draft<F>) -> Result<Record<F>, StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let mut references = txn.open_table(REFERENCES).map_err(backend)?;
            if references
                .get((key.as_str(), draft.reference.as_str()))
                .map_err(backend)?
                .is_some()
            {
                return Err(StoreError::NotUnique);
            }
            let mut sequences = txn.open_table(SEQUENCES).map_err(backend)?;
            let last = sequences
                .get(key.as_str())
                .map_err(backend)?
                .map_or(0, |v| v.value());
            let id = last + 1;
            sequences.insert(key.as_str(), id).map_err(backend)?;
            references
                .insert((key.as_str(), draft.reference.as_str()), id)
                .map_err(backend)?;
            let record = Record {
                id,
                links: draft.fields.links(),
                reference: draft.reference,
                date_created: draft.now,
                last_updated: draft.now,
                fields: draft.fields,
                dependents: 0,
            };
            count_dependents(txn, &org, &record.links, 1)?;
            save(txn, &key, id, &record)?;
            Ok(record)
        })
        .await
    }

    async fn get(&self, scope: &Scope<F>, id: u64) -> Result<Option<Record<F>>, StoreError> {
        let key = scope.key();
        self.read(move |txn| {
            let records = txn.open_table(RECORDS).map_err(backend)?;
            let found = records.get((key.as_str(), id)).map_err(backend)?;
            found.map(|bytes| decode(bytes.value())).transpose()
        })
        .await
    }

    async fn get_many(&self, scope: &Scope<F>, ids: &[u64]) -> Result<Vec<Record<F>>, StoreError> {
        let key = scope.key();
        let ids = ids.to_vec();
        self.read(move |txn| {
            let records = txn.open_table(RECORDS).map_err(backend)?;
            let mut found = Vec::new();
            for id in ids {
                if let Some(bytes) = records.get((key.as_str(), id)).map_err(backend)? {
                    found.push(decode(bytes.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn find_by_reference(
        &self,
        scope: &Scope<F>,
        reference: &str,
    ) -> Result<Option<Record<F>>, StoreError> {
        let key = scope.key();
        let reference = reference.to_owned();
        self.read(move |txn| {
            let references = txn.open_table(REFERENCES).map_err(backend)?;
            let Some(id) = references
                .get((key.as_str(), reference.as_str()))
                .map_err(backend)?
            else {
                return Ok(None);
            };
            let records = txn.open_table(RECORDS).map_err(backend)?;
            let found = records.get((key.as_str(), id.value())).map_err(backend)?;
            found.map(|bytes| decode(bytes.value())).transpose()
        })
        .await
    }

    async fn update(&self, scope: &Scope<F>, id: u64, patch: Patch<F>) -> Result<Record<F>, StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let mut record: Record<F> = load(txn, &key, id)?.ok_or(StoreError::NotFound)?;
            if let Some(reference) = patch.reference.filter(|r| *r != record.reference) {
                let mut references = txn.open_table(REFERENCES).map_err(backend)?;
                if references
                    .get((key.as_str(), reference.as_str()))
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::NotUnique);
                }
                references
                    .remove((key.as_str(), record.reference.as_str()))
                    .map_err(backend)?;
                references
                    .insert((key.as_str(), reference.as_str()), id)
                    .map_err(backend)?;
                record.reference = reference;
            }
            patch.fields.apply(&mut record.fields);
            if patch.fields.touches_links() {
                let links = record.fields.links();
                let (removed, added) = link_changes(&record.links, &links);
                count_dependents(txn, &org, &removed, -1)?;
                count_dependents(txn, &org, &added, 1)?;
                record.links = links;
            }
            record.last_updated = patch.now;
            save(txn, &key, id, &record)?;
            Ok(record)
        })
        .await
    }

    async fn delete(&self, scope: &Scope<F>, id: u64) -> Result<(), StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let record: Record<F> = load(txn, &key, id)?.ok_or(StoreError::NotFound)?;
            if record.dependents > 0 {
                return Err(StoreError::InUse);
            }
            count_dependents(txn, &org, &record.links, -1)?;
            let mut references = txn.open_table(REFERENCES).map_err(backend)?;
            references
                .remove((key.as_str(), record.reference.as_str()))
                .map_err(backend)?;
            let mut records = txn.open_table(RECORDS).map_err(backend)?;
            records.remove((key.as_str(), id)).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn list(&self, scope: &Scope<F>, query: &ListQuery<F>) -> Result<ListPage<F>, StoreError> {
        let key = scope.key();
        let query = query.clone();
        self.read(move |txn| {
            let table = txn.open_table(RECORDS).map_err(backend)?;
            let mut records = Vec::new();
            for entry in table
                .range((key.as_str(), 0)..=(key.as_str(), u64::MAX))
                .map_err(backend)?
            {
                let (_, bytes) = entry.map_err(backend)?;
                records.push(decode(bytes.value())?);
            }
            let items_read = records.len() as u64;
            let (total, records) = query.select(records);
            Ok(ListPage {
                total,
                records,
                items_read,
            })
        })
        .await
    }
}

#[async_trait]
impl ReferenceDataStore for EmbeddedStore {
    async fn reference_data(&self, org: &Organization) -> Result<Option<ReferenceData>, StoreError> {
        let org = org.as_str().to_owned();
        self.read(move |txn| {
            let table = txn.open_table(REFERENCE_DATA).map_err(backend)?;
            let found = table.get(org.as_str()).map_err(backend)?;
            found.map(|bytes| decode(bytes.value())).transpose()
        })
        .await
    }

    async fn put_reference_data(&self, org: &Organization, data: &ReferenceData) -> Result<(), StoreError> {
        let org = org.as_str().to_owned();
        let bytes = encode(data)?;
        self.write(move |txn| {
            let mut table = txn.open_table(REFERENCE_DATA).map_err(backend)?;
            table.insert(org.as_str(), bytes.as_slice()).map_err(backend)?;
            Ok(())
        })
        .await
    }
}
