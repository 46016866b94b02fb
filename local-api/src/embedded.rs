//! The embedded store: in-process and persistent in a data directory (a `redb` database), the
//! default of `local-api`. Every write is one serializable transaction, so uniqueness, id
//! allocation, renames and link counts are atomic exactly as on DynamoDB. It passes the same
//! contract suite as the DynamoDB adapter; no Lambda compiles it.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use customer_api::idempotency::{
    Claim, Entry, Fingerprint, IdempotencyKey, IdempotencyStore, StoredResponse,
};
use customer_api::list::ListQuery;
use customer_api::model::{
    Check, Draft, Fields, FieldsPatch, Link, Organization, Patch, Record, Scope, StoreError, link_changes,
    scope_key,
};
use customer_api::reference_data::{ReferenceData, ReferenceDataStore};
use customer_api::store::{ListPage, RecordStore};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `(scope key, id)` → the record, as [`StoredRecord`] lays it out.
const RECORDS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("records");
/// `(scope key, reference)` → id: the uniqueness guard and the lookup by reference.
const REFERENCES: TableDefinition<(&str, &str), u64> = TableDefinition::new("references");
/// scope key → the last id handed out.
const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences");
/// organization → its reference data as JSON.
const REFERENCE_DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("reference_data");
/// `(organization, idempotency key)` → its entry as JSON.
const IDEMPOTENCY: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("idempotency");
/// `(expires, organization, idempotency key)`: when each key is forgotten, oldest first.
const EXPIRIES: TableDefinition<(u64, &str, &str), ()> = TableDefinition::new("idempotency_expiries");

/// The embedded store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    durable: bool,
    latency: Option<std::time::Duration>,
}

fn backend(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(error.into().to_string())
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored value: {error}"))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(corrupt)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(corrupt)
}

/// A record's stored value: the byte [`StoredRecord::LAYOUT`], its dependents count and its
/// version (8 bytes each, little-endian), then the record as JSON. Counting a dependent rewrites
/// the count alone, never the JSON; checking a record's version reads the header alone. Values
/// written before the header existed are the JSON alone (`{...}`, the count inside), and are
/// read as such.
struct StoredRecord;

/// The counters a value of the previous layout kept inside its JSON.
#[derive(serde::Deserialize)]
struct Legacy {
    #[serde(default)]
    dependents: u64,
    #[serde(default)]
    version: u64,
}

impl StoredRecord {
    const LAYOUT: u8 = 1;
    const HEADER: usize = 17;

    fn encode<F: Fields>(record: &Record<F>, dependents: u64) -> Result<Vec<u8>, StoreError> {
        let mut bytes = Vec::with_capacity(1024);
        bytes.push(Self::LAYOUT);
        bytes.extend_from_slice(&dependents.to_le_bytes());
        bytes.extend_from_slice(&record.version.to_le_bytes());
        serde_json::to_writer(&mut bytes, record).map_err(corrupt)?;
        Ok(bytes)
    }

    fn is_current(bytes: &[u8]) -> bool {
        bytes.first() == Some(&Self::LAYOUT) && bytes.len() >= Self::HEADER
    }

    fn decode<F: Fields>(bytes: &[u8]) -> Result<Record<F>, StoreError> {
        if Self::is_current(bytes) {
            let mut record: Record<F> = decode(&bytes[Self::HEADER..])?;
            record.version = Self::header(bytes, 9)?;
            Ok(record)
        } else {
            decode(bytes)
        }
    }

    fn header(bytes: &[u8], at: usize) -> Result<u64, StoreError> {
        bytes
            .get(at..at + 8)
            .and_then(|number| number.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| corrupt("a truncated record"))
    }

    fn count(bytes: &[u8]) -> Result<u64, StoreError> {
        if Self::is_current(bytes) {
            Self::header(bytes, 1)
        } else {
            Ok(decode::<Legacy>(bytes)?.dependents)
        }
    }

    fn version(bytes: &[u8]) -> Result<u64, StoreError> {
        if Self::is_current(bytes) {
            Self::header(bytes, 9)
        } else {
            Ok(decode::<Legacy>(bytes)?.version)
        }
    }

    /// The same value with another dependents count.
    fn recount(bytes: &[u8], count: u64) -> Result<Vec<u8>, StoreError> {
        let mut value = if Self::is_current(bytes) {
            bytes.to_vec()
        } else {
            let version = decode::<Legacy>(bytes)?.version;
            let mut value = vec![Self::LAYOUT];
            value.extend_from_slice(&0u64.to_le_bytes());
            value.extend_from_slice(&version.to_le_bytes());
            value.extend_from_slice(bytes);
            value
        };
        value[1..9].copy_from_slice(&count.to_le_bytes());
        Ok(value)
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`; every commit is on disk when it returns.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, true)
    }

    /// Opens (or creates) the store in `dir` without syncing commits to disk: they are atomic
    /// and isolated as ever, but a crash may lose the latest. For tests and benchmarks, whose
    /// data is thrown away.
    pub fn open_without_fsync(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, durable: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let db = Database::create(dir.join("store.redb")).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(RECORDS).map_err(backend)?;
        txn.open_table(REFERENCES).map_err(backend)?;
        txn.open_table(SEQUENCES).map_err(backend)?;
        txn.open_table(REFERENCE_DATA).map_err(backend)?;
        txn.open_table(IDEMPOTENCY).map_err(backend)?;
        txn.open_table(EXPIRIES).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            durable,
            latency: None,
        })
    }

    /// Loads records into an empty scope in one transaction: records, references and the id
    /// sequence (links are counted). For benchmark data; it checks no uniqueness, so the input
    /// must be consistent.
    pub async fn import<F: Fields>(
        &self,
        scope: &Scope<F>,
        records: Vec<Record<F>>,
    ) -> Result<(), StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let mut references = txn.open_table(REFERENCES).map_err(backend)?;
            let mut last = 0;
            for record in &records {
                references
                    .insert((key.as_str(), record.reference.as_str()), record.id)
                    .map_err(backend)?;
                count_dependents(txn, &org, &record.links, 1)?;
                save(txn, &key, record, 0)?;
                last = last.max(record.id);
            }
            let mut sequences = txn.open_table(SEQUENCES).map_err(backend)?;
            sequences.insert(key.as_str(), last).map_err(backend)?;
            Ok(())
        })
        .await
    }

    /// Every write first waits `latency`, as a request to a remote store is in flight for a
    /// while: concurrent requests then interleave between their reads and their writes, as they
    /// do in production. For concurrency tests.
    pub fn with_write_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Runs a write transaction; commits only if `work` succeeds. A durable commit waits for
    /// the disk, so it runs on a blocking thread; one that does not wait runs in place.
    async fn write<T, W>(&self, work: W) -> Result<T, StoreError>
    where
        T: Send + 'static,
        W: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        let (db, durable) = (Arc::clone(&self.db), self.durable);
        let transaction = move || {
            let mut txn = db.begin_write().map_err(backend)?;
            if !durable {
                txn.set_durability(Durability::None).map_err(corrupt)?;
            }
            let value = work(&txn)?;
            txn.commit().map_err(backend)?;
            Ok(value)
        };
        if durable {
            tokio::task::spawn_blocking(transaction)
                .await
                .map_err(|e| StoreError::Backend(e.to_string()))?
        } else {
            transaction()
        }
    }

    /// Runs a read in place: a read transaction never waits for a writer (redb keeps the
    /// committed pages it reads), and reading pages the OS has cached takes microseconds, less
    /// than handing the work to a blocking thread and back.
    async fn read<T, R>(&self, work: R) -> Result<T, StoreError>
    where
        R: FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    {
        work(&self.db.begin_read().map_err(backend)?)
    }
}

fn read_record<F: Fields>(
    records: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    scope: &str,
    id: u64,
) -> Result<Option<Record<F>>, StoreError> {
    records
        .get((scope, id))
        .map_err(backend)?
        .map(|bytes| StoredRecord::decode(bytes.value()))
        .transpose()
}

/// Record `id` of `scope` and its dependents count; `NotFound` if there is none.
fn read_counted<F: Fields>(
    records: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    scope: &str,
    id: u64,
) -> Result<(Record<F>, u64), StoreError> {
    let bytes = records
        .get((scope, id))
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    Ok((
        StoredRecord::decode(bytes.value())?,
        StoredRecord::count(bytes.value())?,
    ))
}

/// Writes `record`, used by `dependents` others.
fn save<F: Fields>(
    txn: &WriteTransaction,
    scope: &str,
    record: &Record<F>,
    dependents: u64,
) -> Result<(), StoreError> {
    let mut records = txn.open_table(RECORDS).map_err(backend)?;
    records
        .insert(
            (scope, record.id),
            StoredRecord::encode(record, dependents)?.as_slice(),
        )
        .map_err(backend)?;
    Ok(())
}

/// Fails with `Conflict` unless every checked record is still at the version read.
fn verify(txn: &WriteTransaction, org: &Organization, checks: &[Check]) -> Result<(), StoreError> {
    let records = txn.open_table(RECORDS).map_err(backend)?;
    for check in checks {
        let key = scope_key(org, check.link.kind);
        let unchanged = match records.get((key.as_str(), check.link.id)).map_err(backend)? {
            Some(bytes) => StoredRecord::version(bytes.value())? == check.version,
            None => false,
        };
        if !unchanged {
            return Err(StoreError::Conflict);
        }
    }
    Ok(())
}

/// Adds `delta` to the dependents of each linked record; a missing one fails the transaction.
fn count_dependents(
    txn: &WriteTransaction,
    org: &Organization,
    links: &[Link],
    delta: i64,
) -> Result<(), StoreError> {
    let mut records = txn.open_table(RECORDS).map_err(backend)?;
    for link in links {
        let key = scope_key(org, link.kind);
        let recounted = {
            let bytes = records
                .get((key.as_str(), link.id))
                .map_err(backend)?
                .ok_or(StoreError::MissingLink(*link))?;
            let count = StoredRecord::count(bytes.value())?.saturating_add_signed(delta);
            StoredRecord::recount(bytes.value(), count)?
        };
        records
            .insert((key.as_str(), link.id), recounted.as_slice())
            .map_err(backend)?;
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
                version: 1,
            };
            count_dependents(txn, &org, &record.links, 1)?;
            save(txn, &key, &record, 0)?;
            Ok(record)
        })
        .await
    }

    async fn get(&self, scope: &Scope<F>, id: u64) -> Result<Option<Record<F>>, StoreError> {
        let key = scope.key();
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(backend)?;
            read_record(&records, &key, id)
        })
        .await
    }

    async fn dependents(&self, scope: &Scope<F>, id: u64) -> Result<Option<u64>, StoreError> {
        let key = scope.key();
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(backend)?;
            let found = records.get((key.as_str(), id)).map_err(backend)?;
            found.map(|bytes| StoredRecord::count(bytes.value())).transpose()
        })
        .await
    }

    async fn get_many(&self, scope: &Scope<F>, ids: &[u64]) -> Result<Vec<Record<F>>, StoreError> {
        let key = scope.key();
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(backend)?;
            let mut found = Vec::new();
            for id in ids {
                found.extend(read_record(&records, &key, *id)?);
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
        self.read(|txn| {
            let references = txn.open_table(REFERENCES).map_err(backend)?;
            let Some(id) = references.get((key.as_str(), reference)).map_err(backend)? else {
                return Ok(None);
            };
            let records = txn.open_table(RECORDS).map_err(backend)?;
            read_record(&records, &key, id.value())
        })
        .await
    }

    async fn update(&self, scope: &Scope<F>, id: u64, patch: Patch<F>) -> Result<Record<F>, StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let (mut record, dependents): (Record<F>, u64) =
                read_counted(&txn.open_table(RECORDS).map_err(backend)?, &key, id)?;
            if patch.expected.is_some_and(|version| version != record.version) {
                return Err(StoreError::Conflict);
            }
            verify(txn, &org, &patch.checks)?;
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
            record.version += 1;
            save(txn, &key, &record, dependents)?;
            Ok(record)
        })
        .await
    }

    async fn delete(&self, scope: &Scope<F>, id: u64, expected: Option<u64>) -> Result<(), StoreError> {
        let key = scope.key();
        let org = scope.org().clone();
        self.write(move |txn| {
            let record: Record<F> = {
                let mut records = txn.open_table(RECORDS).map_err(backend)?;
                let (record, dependents): (Record<F>, u64) = read_counted(&records, &key, id)?;
                if expected.is_some_and(|version| version != record.version) {
                    return Err(StoreError::Conflict);
                }
                if dependents > 0 {
                    return Err(StoreError::InUse);
                }
                records.remove((key.as_str(), id)).map_err(backend)?;
                record
            };
            count_dependents(txn, &org, &record.links, -1)?;
            let mut references = txn.open_table(REFERENCES).map_err(backend)?;
            references
                .remove((key.as_str(), record.reference.as_str()))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn list(&self, scope: &Scope<F>, query: &ListQuery<F>) -> Result<ListPage<F>, StoreError> {
        let key = scope.key();
        self.read(|txn| {
            let table = txn.open_table(RECORDS).map_err(backend)?;
            let records = table
                .range((key.as_str(), 0)..=(key.as_str(), u64::MAX))
                .map_err(backend)?
                .map(|entry| {
                    let (_, bytes) = entry.map_err(backend)?;
                    StoredRecord::decode::<F>(bytes.value())
                });
            ListPage::select(query, records)
        })
        .await
    }
}

#[async_trait]
impl ReferenceDataStore for EmbeddedStore {
    async fn reference_data(&self, org: &Organization) -> Result<Option<ReferenceData>, StoreError> {
        self.read(|txn| {
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

/// Forgets the idempotency keys that expired before `now`.
fn expire(txn: &WriteTransaction, now: u64) -> Result<(), StoreError> {
    let mut expiries = txn.open_table(EXPIRIES).map_err(backend)?;
    let mut entries = txn.open_table(IDEMPOTENCY).map_err(backend)?;
    let expired: Vec<(u64, String, String)> = expiries
        .range((0, "", "")..(now, "", ""))
        .map_err(backend)?
        .map(|entry| {
            entry.map(|(key, _)| {
                let (at, org, name) = key.value();
                (at, org.to_owned(), name.to_owned())
            })
        })
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    for (at, org, name) in expired {
        expiries
            .remove((at, org.as_str(), name.as_str()))
            .map_err(backend)?;
        let stale = match entries.get((org.as_str(), name.as_str())).map_err(backend)? {
            Some(bytes) => decode::<Entry>(bytes.value())?.expires <= now,
            None => false,
        };
        if stale {
            entries.remove((org.as_str(), name.as_str())).map_err(backend)?;
        }
    }
    Ok(())
}

/// Idempotency keys in their own table, each claim one transaction; expired keys are removed as
/// later claims come.
#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn claim(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<Claim, StoreError> {
        let (org, name, fingerprint) = (
            org.as_str().to_owned(),
            key.as_str().to_owned(),
            fingerprint.clone(),
        );
        self.write(move |txn| {
            expire(txn, now)?;
            let mut entries = txn.open_table(IDEMPOTENCY).map_err(backend)?;
            let existing: Option<Entry> = entries
                .get((org.as_str(), name.as_str()))
                .map_err(backend)?
                .map(|bytes| decode(bytes.value()))
                .transpose()?;
            let claim = Entry::decide(existing.as_ref(), &fingerprint, now);
            if claim == Claim::Claimed {
                let entry = Entry::claim(&fingerprint, now);
                entries
                    .insert((org.as_str(), name.as_str()), encode(&entry)?.as_slice())
                    .map_err(backend)?;
                let mut expiries = txn.open_table(EXPIRIES).map_err(backend)?;
                expiries
                    .insert((entry.expires, org.as_str(), name.as_str()), ())
                    .map_err(backend)?;
            }
            Ok(claim)
        })
        .await
    }

    async fn complete(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let (org, name, response) = (org.as_str().to_owned(), key.as_str().to_owned(), response.clone());
        self.write(move |txn| {
            let mut entries = txn.open_table(IDEMPOTENCY).map_err(backend)?;
            let entry: Option<Entry> = entries
                .get((org.as_str(), name.as_str()))
                .map_err(backend)?
                .map(|bytes| decode(bytes.value()))
                .transpose()?;
            if let Some(mut entry) = entry {
                entry.response = Some(response);
                entries
                    .insert((org.as_str(), name.as_str()), encode(&entry)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn release(&self, org: &Organization, key: &IdempotencyKey) -> Result<(), StoreError> {
        let (org, name) = (org.as_str().to_owned(), key.as_str().to_owned());
        self.write(move |txn| {
            let mut entries = txn.open_table(IDEMPOTENCY).map_err(backend)?;
            entries.remove((org.as_str(), name.as_str())).map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use customer_api::groups::GroupFields;
    use customer_api::values::{Name, Reference};

    use super::*;

    fn group() -> Record<GroupFields> {
        Record {
            id: 3,
            reference: Reference::parse("G").expect("reference"),
            date_created: "2020-01-01T00:00:00Z".parse().expect("time"),
            last_updated: "2020-01-01T00:00:00Z".parse().expect("time"),
            fields: GroupFields {
                name: Name::parse("Group").expect("name"),
                description: None,
            },
            links: Vec::new(),
            version: 7,
        }
    }

    #[test]
    fn the_count_is_rewritten_without_the_json() {
        let stored = StoredRecord::encode(&group(), 2).expect("encode");
        assert_eq!(StoredRecord::count(&stored), Ok(2));
        assert_eq!(StoredRecord::version(&stored), Ok(7));
        let recounted = StoredRecord::recount(&stored, 5).expect("recount");
        assert_eq!(recounted[StoredRecord::HEADER..], stored[StoredRecord::HEADER..]);
        assert_eq!(StoredRecord::count(&recounted), Ok(5));
        assert_eq!(StoredRecord::decode::<GroupFields>(&recounted), Ok(group()));
    }

    #[test]
    fn values_of_the_previous_layout_are_read_and_recounted() {
        let legacy = br#"{"id":3,"reference":"G","dateCreated":"2020-01-01T00:00:00Z","lastUpdated":"2020-01-01T00:00:00Z","fields":{"name":"Group"},"links":[],"dependents":2}"#;
        let mut expected = group();
        expected.version = 0;
        assert_eq!(StoredRecord::decode::<GroupFields>(legacy), Ok(expected.clone()));
        assert_eq!(StoredRecord::count(legacy), Ok(2));
        let recounted = StoredRecord::recount(legacy, 1).expect("recount");
        assert_eq!(StoredRecord::count(&recounted), Ok(1));
        assert_eq!(StoredRecord::decode::<GroupFields>(&recounted), Ok(expected));
        assert!(StoredRecord::decode::<GroupFields>(&[1, 0, 0]).is_err());
    }
}
