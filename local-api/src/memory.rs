//! The in-memory store: every table in process memory behind one lock, gone with the process
//! (`local-api --in-memory`, fast throwaway runs, the handler benchmark). A write holds the
//! lock from its first read to its last change and checks everything before it changes
//! anything, so it is serializable and a refused write leaves nothing behind. Records are kept
//! typed: reading one is a clone, not a decode. It passes the same contract suite as the
//! embedded and DynamoDB adapters; no Lambda compiles it.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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

/// The in-memory store. Cheap to clone; clones share the data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    latency: Option<Duration>,
}

/// Every table.
#[derive(Default)]
struct State {
    /// Scope key → the scope's records, a [`Table`] of its resource's fields.
    tables: HashMap<String, Box<dyn Any + Send>>,
    /// `(scope key, id)` → the version and dependents count of every record of every scope:
    /// what links and checks read, whatever the linked record's type.
    counts: HashMap<(String, u64), Counts>,
    /// Organization → its reference data.
    reference_data: HashMap<String, ReferenceData>,
    /// `(organization, key)` → its idempotency entry.
    idempotency: HashMap<(String, String), Entry>,
    /// `(expires, organization, key)`: when each key is forgotten, oldest first.
    expiries: BTreeSet<(u64, String, String)>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    version: u64,
    dependents: u64,
}

/// One scope's records.
struct Table<F> {
    records: BTreeMap<u64, Record<F>>,
    references: HashMap<String, u64>,
    last_id: u64,
}

impl<F> Default for Table<F> {
    fn default() -> Self {
        Table {
            records: BTreeMap::new(),
            references: HashMap::new(),
            last_id: 0,
        }
    }
}

fn mismatch() -> StoreError {
    StoreError::Backend("a scope holds another resource's records".to_owned())
}

impl State {
    fn table<F: Fields>(&self, key: &str) -> Result<Option<&Table<F>>, StoreError> {
        match self.tables.get(key) {
            None => Ok(None),
            Some(table) => table.downcast_ref().map(Some).ok_or_else(mismatch),
        }
    }

    fn table_mut<F: Fields>(&mut self, key: &str) -> Result<&mut Table<F>, StoreError> {
        self.tables
            .entry(key.to_owned())
            .or_insert_with(|| Box::new(Table::<F>::default()))
            .downcast_mut()
            .ok_or_else(mismatch)
    }

    fn record<F: Fields>(&self, key: &str, id: u64) -> Result<Option<&Record<F>>, StoreError> {
        Ok(self.table::<F>(key)?.and_then(|table| table.records.get(&id)))
    }

    /// `MissingLink` unless every linked record exists.
    fn linkable(&self, org: &Organization, links: &[Link]) -> Result<(), StoreError> {
        match links
            .iter()
            .find(|link| !self.counts.contains_key(&(scope_key(org, link.kind), link.id)))
        {
            Some(link) => Err(StoreError::MissingLink(*link)),
            None => Ok(()),
        }
    }

    /// `Conflict` unless every checked record is still at the version read.
    fn verify(&self, org: &Organization, checks: &[Check]) -> Result<(), StoreError> {
        let unchanged = |check: &Check| {
            self.counts
                .get(&(scope_key(org, check.link.kind), check.link.id))
                .is_some_and(|counts| counts.version == check.version)
        };
        if checks.iter().all(unchanged) {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    /// Adds `delta` to the dependents of each linked record (checked to exist).
    fn count(&mut self, org: &Organization, links: &[Link], delta: i64) {
        for link in links {
            if let Some(counts) = self.counts.get_mut(&(scope_key(org, link.kind), link.id)) {
                counts.dependents = counts.dependents.saturating_add_signed(delta);
            }
        }
    }

    /// Forgets the idempotency keys that expired before `now`.
    fn expire(&mut self, now: u64) {
        while let Some(first) = self.expiries.first().filter(|(at, ..)| *at < now).cloned() {
            self.expiries.remove(&first);
            let (_, org, name) = first;
            let key = (org, name);
            if self
                .idempotency
                .get(&key)
                .is_some_and(|entry| entry.expires <= now)
            {
                self.idempotency.remove(&key);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every write first waits `latency`, as a request to a remote store is in flight for a
    /// while: concurrent requests then interleave between their reads and their writes. For
    /// concurrency tests.
    pub fn with_write_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    fn read(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("a writer panicked".to_owned()))
    }

    async fn write(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        self.read()
    }
}

#[async_trait]
impl<F: Fields> RecordStore<F> for MemoryStore {
    async fn create(&self, scope: &Scope<F>, draft: Draft<F>) -> Result<Record<F>, StoreError> {
        let key = scope.key();
        let mut state = self.write().await?;
        let table = state.table_mut::<F>(&key)?;
        if table.references.contains_key(draft.reference.as_str()) {
            return Err(StoreError::NotUnique);
        }
        let links = draft.fields.links();
        state.linkable(scope.org(), &links)?;
        let table = state.table_mut::<F>(&key)?;
        table.last_id += 1;
        let record = Record {
            id: table.last_id,
            links,
            reference: draft.reference,
            date_created: draft.now,
            last_updated: draft.now,
            fields: draft.fields,
            version: 1,
        };
        table
            .references
            .insert(record.reference.as_str().to_owned(), record.id);
        table.records.insert(record.id, record.clone());
        state.counts.insert(
            (key, record.id),
            Counts {
                version: record.version,
                dependents: 0,
            },
        );
        state.count(scope.org(), &record.links, 1);
        Ok(record)
    }

    async fn get(&self, scope: &Scope<F>, id: u64) -> Result<Option<Record<F>>, StoreError> {
        Ok(self.read()?.record::<F>(&scope.key(), id)?.cloned())
    }

    async fn dependents(&self, scope: &Scope<F>, id: u64) -> Result<Option<u64>, StoreError> {
        let state = self.read()?;
        let key = scope.key();
        if state.record::<F>(&key, id)?.is_none() {
            return Ok(None);
        }
        Ok(state.counts.get(&(key, id)).map(|counts| counts.dependents))
    }

    async fn get_many(&self, scope: &Scope<F>, ids: &[u64]) -> Result<Vec<Record<F>>, StoreError> {
        let state = self.read()?;
        let Some(table) = state.table::<F>(&scope.key())? else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| table.records.get(id))
            .cloned()
            .collect())
    }

    async fn find_by_reference(
        &self,
        scope: &Scope<F>,
        reference: &str,
    ) -> Result<Option<Record<F>>, StoreError> {
        let state = self.read()?;
        let Some(table) = state.table::<F>(&scope.key())? else {
            return Ok(None);
        };
        Ok(table
            .references
            .get(reference)
            .and_then(|id| table.records.get(id))
            .cloned())
    }

    async fn update(&self, scope: &Scope<F>, id: u64, patch: Patch<F>) -> Result<Record<F>, StoreError> {
        let key = scope.key();
        let org = scope.org();
        let mut state = self.write().await?;
        let mut record = state.record::<F>(&key, id)?.ok_or(StoreError::NotFound)?.clone();
        if patch.expected.is_some_and(|version| version != record.version) {
            return Err(StoreError::Conflict);
        }
        state.verify(org, &patch.checks)?;
        let old_reference = record.reference.clone();
        if let Some(reference) = patch.reference.filter(|r| *r != record.reference) {
            let table = state.table_mut::<F>(&key)?;
            if table.references.contains_key(reference.as_str()) {
                return Err(StoreError::NotUnique);
            }
            record.reference = reference;
        }
        patch.fields.apply(&mut record.fields);
        let (removed, added) = if patch.fields.touches_links() {
            let links = record.fields.links();
            let changes = link_changes(&record.links, &links);
            state.linkable(org, &changes.1)?;
            record.links = links;
            changes
        } else {
            (Vec::new(), Vec::new())
        };
        record.last_updated = patch.now;
        record.version += 1;
        state.count(org, &removed, -1);
        state.count(org, &added, 1);
        if let Some(counts) = state.counts.get_mut(&(key.clone(), id)) {
            counts.version = record.version;
        }
        let table = state.table_mut::<F>(&key)?;
        if record.reference != old_reference {
            table.references.remove(old_reference.as_str());
            table.references.insert(record.reference.as_str().to_owned(), id);
        }
        table.records.insert(id, record.clone());
        Ok(record)
    }

    async fn delete(&self, scope: &Scope<F>, id: u64, expected: Option<u64>) -> Result<(), StoreError> {
        let key = scope.key();
        let mut state = self.write().await?;
        let record = state.record::<F>(&key, id)?.ok_or(StoreError::NotFound)?;
        if expected.is_some_and(|version| version != record.version) {
            return Err(StoreError::Conflict);
        }
        let (reference, links) = (record.reference.as_str().to_owned(), record.links.clone());
        let counts_key = (key.clone(), id);
        if state
            .counts
            .get(&counts_key)
            .is_some_and(|counts| counts.dependents > 0)
        {
            return Err(StoreError::InUse);
        }
        state.counts.remove(&counts_key);
        state.count(scope.org(), &links, -1);
        let table = state.table_mut::<F>(&key)?;
        table.records.remove(&id);
        table.references.remove(&reference);
        Ok(())
    }

    async fn list(&self, scope: &Scope<F>, query: &ListQuery<F>) -> Result<ListPage<F>, StoreError> {
        let state = self.read()?;
        let records = state
            .table::<F>(&scope.key())?
            .into_iter()
            .flat_map(|table| table.records.values());
        ListPage::select(query, records.cloned().map(Ok))
    }
}

#[async_trait]
impl ReferenceDataStore for MemoryStore {
    async fn reference_data(&self, org: &Organization) -> Result<Option<ReferenceData>, StoreError> {
        Ok(self.read()?.reference_data.get(org.as_str()).cloned())
    }

    async fn put_reference_data(&self, org: &Organization, data: &ReferenceData) -> Result<(), StoreError> {
        let mut state = self.write().await?;
        state.reference_data.insert(org.as_str().to_owned(), data.clone());
        Ok(())
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<Claim, StoreError> {
        let mut state = self.write().await?;
        state.expire(now);
        let name = (org.as_str().to_owned(), key.as_str().to_owned());
        let claim = Entry::decide(state.idempotency.get(&name), fingerprint, now);
        if claim == Claim::Claimed {
            let entry = Entry::claim(fingerprint, now);
            state
                .expiries
                .insert((entry.expires, name.0.clone(), name.1.clone()));
            state.idempotency.insert(name, entry);
        }
        Ok(claim)
    }

    async fn complete(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let mut state = self.write().await?;
        let name = (org.as_str().to_owned(), key.as_str().to_owned());
        if let Some(entry) = state.idempotency.get_mut(&name) {
            entry.response = Some(response.clone());
        }
        Ok(())
    }

    async fn release(&self, org: &Organization, key: &IdempotencyKey) -> Result<(), StoreError> {
        let mut state = self.write().await?;
        state
            .idempotency
            .remove(&(org.as_str().to_owned(), key.as_str().to_owned()));
        Ok(())
    }
}
