//! The DynamoDB store: one table, keys and indexes as defined in `infra/table.json`.
//!
//! Keys are in [`keys`], the item of a record in [`item`], what a cancelled transaction means in
//! [`transact`], and which index range answers a list query in [`plan`].
//!
//! GSIs `byDateCreated` (`scope`, `createdKey` = `<dateCreated>#<id:020>`) and `byReference`
//! (`scope`, `referenceKey` = `<lower(reference)>\0\0<id:020>`, see [`reference_key`]) both partition by `<org>#<kind>`, so
//! the organization is in every partition key. Create, rename and delete are single transactions
//! over the record, its guard(s) and the count, so uniqueness and the count are never wrong.

mod item;
mod keys;
mod plan;
mod table;
mod transact;

use std::collections::HashMap;
use std::ops::Range;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, Select, TransactWriteItem,
    Update, WriteRequest,
};
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;

pub use item::SYSTEM_ATTRIBUTES;
use item::{links_attribute, number, parse_record, patch_attributes, record_item};
use keys::{
    BY_DATE_CREATED, BY_LAST_UPDATED, BY_NAME, COUNT_SHARDS, Item, count_key, count_partition,
    dependent_shards, dependents_key, dependents_partition, guard_key, id_counter_key, idempotency_key,
    keys_only, n, record_key, reference_data_key, s,
};
use plan::{Bounds, IndexRange, Plan, active_scope, category_scope, whole};
pub use table::{TableDefinition, ensure_table};
use transact::{Outcome, Role, outcome};

use super::{ListPage, RecordStore};
use crate::idempotency::{
    Claim, Entry, Fingerprint, IdempotencyKey, IdempotencyStore, STALE_CLAIM_SECONDS, StoredResponse,
};
use crate::list::{ListQuery, Order, Pattern, Sort};
use crate::model::{
    Check, Draft, Fields, FieldsPatch, Kind, Link, Organization, Patch, REFERENCE_KEY_BYTES, Record, Scope,
    StoreError, link_changes, name_key, reference_key, scope_key, time_key,
};
use crate::reference_data::{ReferenceData, ReferenceDataStore};
use crate::retry::{Retries, WRITE_BUDGET};
use crate::time::Timestamp;
use crate::values::{NAME_KEY_PART_BYTES, Reference, key_part_text};

/// The DynamoDB store.
pub struct DynamoStore {
    client: Client,
    table: String,
    id_block: u64,
    reserved_ids: Mutex<HashMap<String, Range<u64>>>,
}

fn backend<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(DisplayErrorContext(error).to_string())
}

fn building(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

impl DynamoStore {
    /// A store on `table`, reserving ids `id_block` at a time (1 = no reservation).
    pub fn new(client: Client, table: impl Into<String>, id_block: u64) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            id_block: id_block.max(1),
            reserved_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Gives every record item written before the `byLastUpdated`, `byName`, `byActive` and
    /// `byCategory` indexes their keys (`updatedKey`, `nameKey`, `activeScope`,
    /// `categoryScope`), so the indexes hold it: a migration, run once after
    /// deploying the indexes. Each write is conditioned on the version scanned, so it is safe to
    /// run while the API serves (an item updated meanwhile already has its keys) and to rerun.
    /// Returns how many items it wrote.
    pub async fn backfill_index_keys(&self) -> Result<u64, StoreError> {
        let mut written = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "attribute_exists(createdKey) AND (attribute_not_exists(updatedKey) OR attribute_not_exists(nameKey) \
                     OR (attribute_exists(isActive) AND attribute_not_exists(activeScope)) \
                     OR (attribute_type(categoryId, :number) AND attribute_not_exists(categoryScope)))",
                )
                .expression_attribute_values(":number", s("N"))
                .projection_expression("pk, sk, #scope, id, lastUpdated, #name, isActive, categoryId, #ver")
                .expression_attribute_names("#scope", "scope")
                .expression_attribute_names("#name", "name")
                .expression_attribute_names("#ver", "version")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in out.items.unwrap_or_default() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(text)) => Some(text.as_str()),
                    _ => None,
                };
                let damaged =
                    || StoreError::Backend(format!("a record item without lastUpdated or id: {item:?}"));
                let id: u64 = match item.get("id") {
                    Some(AttributeValue::N(id)) => id.parse().map_err(|_| damaged())?,
                    _ => return Err(damaged()),
                };
                let updated: Timestamp = text("lastUpdated")
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(damaged)?;
                let condition = match item.contains_key("version") {
                    true => "#ver = :ver",
                    false => "attribute_not_exists(#ver)",
                };
                let key: Item = item
                    .iter()
                    .filter(|(name, _)| *name == "pk" || *name == "sk")
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                let mut sets = "SET updatedKey = :uk, nameKey = :nk".to_owned();
                let active = match (item.get("isActive"), text("scope")) {
                    (Some(AttributeValue::Bool(active)), Some(scope_key)) => {
                        sets.push_str(", activeScope = :as");
                        Some(active_scope(scope_key, *active))
                    }
                    _ => None,
                };
                let category = match (item.get("categoryId"), text("scope")) {
                    (Some(AttributeValue::N(group)), Some(scope_key)) => {
                        group.parse().ok().map(|group| category_scope(scope_key, group))
                    }
                    _ => None,
                };
                if category.is_some() {
                    sets.push_str(", categoryScope = :cs");
                }
                let mut update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .update_expression(sets)
                    .condition_expression(condition)
                    .expression_attribute_names("#ver", "version")
                    .expression_attribute_values(":uk", s(time_key(updated, id)))
                    .expression_attribute_values(":nk", s(name_key(text("name"), id)));
                if let Some(version) = item.get("version") {
                    update = update.expression_attribute_values(":ver", version.clone());
                }
                if let Some(active) = active {
                    update = update.expression_attribute_values(":as", s(active));
                }
                if let Some(category) = category {
                    update = update.expression_attribute_values(":cs", s(category));
                }
                match update.send().await {
                    Ok(_) => written += 1,
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                    Err(error) => return Err(backend(error)),
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(written);
            }
        }
    }

    /// Loads records into an empty scope with batch writes instead of transactions: records,
    /// reference guards, the count and the id counter. For migrations and benchmark data; it
    /// checks neither uniqueness nor links, so the input must be consistent.
    pub async fn import<F: Fields>(&self, scope: &Scope<F>, records: &[Record<F>]) -> Result<(), StoreError> {
        let mut requests = Vec::new();
        for record in records {
            let mut guard = guard_key(&scope.key(), record.reference.as_str());
            guard.insert("id".into(), n(record.id));
            for item in [record_item(scope, record)?, guard] {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(building)?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut retries = Retries::default();
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if !retries.again().await {
                    return Err(StoreError::Backend("import kept being throttled".into()));
                }
            }
        }
        let last_id = records.iter().map(|r| r.id).max().unwrap_or(0);
        for (mut item, value) in [
            (count_key(&scope.key(), 0), records.len() as u64),
            (id_counter_key(&scope.key()), last_id),
        ] {
            item.insert("value".into(), n(value));
            self.put_item(item).await?;
        }
        Ok(())
    }

    /// An unconditional `PutItem`.
    async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// The client, for table management.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The next id of the scope: from this instance's reserved block, else a new block taken
    /// from the scope's atomic counter (`ADD value :block`). Unused ids become gaps.
    async fn next_id(&self, scope_key: &str) -> Result<u64, StoreError> {
        let mut reserved = self.reserved_ids.lock().await;
        let block = reserved.entry(scope_key.to_owned()).or_insert(0..0);
        if let Some(id) = block.next() {
            return Ok(id);
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_counter_key(scope_key)))
            .update_expression("ADD #v :block")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":block", n(self.id_block))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(backend)?;
        let last: u64 = match out.attributes().and_then(|a| a.get("value")) {
            Some(AttributeValue::N(value)) => value
                .parse()
                .map_err(|_| StoreError::Backend("id counter is not a number".into()))?,
            _ => return Err(StoreError::Backend("id counter returned nothing".into())),
        };
        *block = (last + 1 - self.id_block)..(last + 1);
        block
            .next()
            .ok_or_else(|| StoreError::Backend("empty id block".into()))
    }

    /// `ADD value :delta` on one of the scope's count shards, at random.
    fn count_update(&self, scope_key: &str, delta: i64) -> Result<(Role, TransactWriteItem), StoreError> {
        let shard = u32::try_from(crate::retry::random_below(u64::from(COUNT_SHARDS))).unwrap_or(0);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(count_key(scope_key, shard)))
            .update_expression("ADD #v :delta")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(building)?;
        Ok((Role::Count, TransactWriteItem::builder().update(update).build()))
    }

    fn guard_put(
        &self,
        scope_key: &str,
        reference: &str,
        id: u64,
    ) -> Result<(Role, TransactWriteItem), StoreError> {
        let mut item = guard_key(scope_key, reference);
        item.insert("id".into(), n(id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(building)?;
        Ok((Role::NewGuard, TransactWriteItem::builder().put(put).build()))
    }

    fn guard_delete(
        &self,
        scope_key: &str,
        reference: &str,
        id: u64,
    ) -> Result<(Role, TransactWriteItem), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(guard_key(scope_key, reference)))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":id", n(id))
            .build()
            .map_err(building)?;
        Ok((
            Role::OldGuard,
            TransactWriteItem::builder().delete(delete).build(),
        ))
    }

    /// `ADD :delta` to the dependents count of each linked record, which must exist (and, for a
    /// record the write was decided on, be at the version read: a transaction may name an item
    /// only once). A group's count goes to one of its shards at random; `pinned` links go to the
    /// record itself (shard 0), for groups written before they had shard items.
    fn link_updates(
        &self,
        org: &Organization,
        links: &[Link],
        delta: i64,
        checks: &[Check],
        pinned: &[Link],
    ) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
        links
            .iter()
            .map(|link| {
                let scope_key = scope_key(org, link.kind);
                let shards = dependent_shards(link.kind);
                let shard = if pinned.contains(link) {
                    0
                } else {
                    u32::try_from(crate::retry::random_below(u64::from(shards))).unwrap_or(0)
                };
                let role = if delta > 0 {
                    Role::Link(*link, shard)
                } else {
                    Role::Unlink(*link, shard)
                };
                let update = if shard > 0 {
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(dependents_key(&scope_key, link.id, shard)))
                        .update_expression("ADD #v :delta")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_names("#v", "value")
                        .expression_attribute_values(":delta", n(delta))
                } else {
                    let check = checks.iter().find(|c| c.link == *link);
                    let mut update = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(record_key(&scope_key, link.id)))
                        .update_expression("ADD #d :delta")
                        .condition_expression(check.map_or_else(
                            || "attribute_exists(pk)".to_owned(),
                            |c| version_condition(c.version),
                        ))
                        .expression_attribute_names("#d", "dependents")
                        .expression_attribute_values(":delta", n(delta));
                    if let Some(check) = check {
                        update = update.expression_attribute_names("#ver", "version");
                        update = update.expression_attribute_values(":ver", n(check.version));
                    }
                    update
                };
                Ok((
                    role,
                    TransactWriteItem::builder()
                        .update(update.build().map_err(building)?)
                        .build(),
                ))
            })
            .collect()
    }

    /// The dependents shards (1 and up) of a new record of `kind`, each at 0.
    fn new_shards(
        &self,
        scope_key: &str,
        kind: Kind,
        id: u64,
    ) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
        (1..dependent_shards(kind))
            .map(|shard| {
                let mut item = dependents_key(scope_key, id, shard);
                item.insert("value".into(), n(0));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .map_err(building)?;
                Ok((Role::Shard, TransactWriteItem::builder().put(put).build()))
            })
            .collect()
    }

    /// Commits the transaction `build` makes, again with a link pinned to its record's own count
    /// when its shard item does not exist (a group written before shards existed).
    async fn commit_linked(
        &self,
        build: impl Fn(&[Link]) -> Result<Vec<(Role, TransactWriteItem)>, StoreError>,
    ) -> Result<Outcome, StoreError> {
        let mut pinned = Vec::new();
        loop {
            match self.commit(build(&pinned)?).await? {
                Outcome::ConditionFailed(Role::Link(link, shard) | Role::Unlink(link, shard))
                    if shard > 0 && !pinned.contains(&link) =>
                {
                    pinned.push(link);
                }
                outcome => return Ok(outcome),
            }
        }
    }

    /// The dependents shard items of record `id` (shard 1 and up): their keys and counts.
    async fn shard_counts(&self, scope_key: &str, id: u64) -> Result<Vec<(Item, i64)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(dependents_partition(scope_key, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .items()
            .iter()
            .map(|item| {
                let key: Item = item
                    .iter()
                    .filter(|(name, _)| *name == "pk" || *name == "sk")
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                (key, number(item, "value").unwrap_or(0))
            })
            .collect())
    }

    async fn transact(&self, actions: Vec<(Role, TransactWriteItem)>) -> Result<Outcome, StoreError> {
        let (roles, items): (Vec<Role>, Vec<TransactWriteItem>) = actions.into_iter().unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Outcome::Done),
            Err(error) => match error.as_service_error().and_then(|e| outcome(&roles, e)) {
                Some(outcome) => Ok(outcome),
                None => Err(backend(error)),
            },
        }
    }

    fn query(&self, scope_key: &str, range: &IndexRange, order: Order) -> QueryFluentBuilder {
        let mut condition = "#scope = :scope".to_owned();
        let mut builder = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(range.index)
            .expression_attribute_names("#scope", range.partition.attribute())
            .expression_attribute_values(":scope", s(range.partition.key(scope_key)))
            .scan_index_forward(order == Order::Asc);
        let bound = |builder: QueryFluentBuilder, name: &str, value: &str| {
            builder.expression_attribute_values(name, s(value))
        };
        match &range.bounds {
            Bounds::All => {}
            Bounds::From(from) => {
                condition.push_str(" AND #k >= :from");
                builder = bound(builder, ":from", from);
            }
            Bounds::To(to) => {
                condition.push_str(" AND #k <= :to");
                builder = bound(builder, ":to", to);
            }
            Bounds::Between(from, to) => {
                condition.push_str(" AND #k BETWEEN :from AND :to");
                builder = bound(bound(builder, ":from", from), ":to", to);
            }
            Bounds::Prefix(prefix) => {
                condition.push_str(" AND begins_with(#k, :prefix)");
                builder = bound(builder, ":prefix", prefix);
            }
        }
        if !matches!(range.bounds, Bounds::All) {
            builder = builder.expression_attribute_names("#k", range.sort_key);
        }
        builder.key_condition_expression(condition)
    }

    /// The records with these ids that exist, in no particular order: `BatchGetItem`s of 100
    /// keys, up to [`BATCH_READS_AT_ONCE`] in flight, unprocessed keys retried with jitter.
    async fn batch_records<F: Fields>(
        &self,
        scope_key: &str,
        ids: &[u64],
        consistent: bool,
    ) -> Result<Vec<Record<F>>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let chunks: Vec<Vec<u64>> = ids.chunks(100).map(<[u64]>::to_vec).collect();
        let batches: Vec<Vec<Record<F>>> = futures_util::stream::iter(chunks)
            .map(|chunk| self.batch_of(scope_key, chunk, consistent))
            .buffer_unordered(BATCH_READS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(batches.into_iter().flatten().collect())
    }

    /// One `BatchGetItem` of at most 100 records, retried while keys come back unprocessed.
    async fn batch_of<F: Fields>(
        &self,
        scope_key: &str,
        chunk: Vec<u64>,
        consistent: bool,
    ) -> Result<Vec<Record<F>>, StoreError> {
        let keys = chunk.iter().map(|id| record_key(scope_key, *id)).collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(consistent)
                .build()
                .map_err(building)?,
        );
        let mut found = Vec::new();
        let mut retries = Retries::default();
        while let Some(keys) = request.take() {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(backend)?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.push(parse_record(item)?);
            }
            request = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
            if request.is_some() && !retries.again().await {
                return Err(StoreError::Backend("batch read kept being throttled".into()));
            }
        }
        Ok(found)
    }

    /// The records of one response of a query on `index`, and where the next one starts:
    /// parsed from an all-attribute index's items, fetched by key for a keys-only index's; the
    /// items (and keys) read are added to the tallies.
    async fn records_of<F: Fields>(
        &self,
        scope_key: &str,
        index: &str,
        out: QueryOutput,
        (items_read, keys_read): (&mut u64, &mut u64),
    ) -> Result<(Vec<Record<F>>, Option<Item>), StoreError> {
        let scanned = u64::try_from(out.scanned_count()).unwrap_or(0);
        let next = out.last_evaluated_key;
        let items = out.items.unwrap_or_default();
        let records = if keys_only(index) {
            *keys_read += scanned;
            let fetched = self.fetch_page(scope_key, items).await?;
            *items_read += fetched.len() as u64;
            fetched
        } else {
            *items_read += scanned;
            items.into_iter().map(parse_record).collect::<Result<_, _>>()?
        };
        Ok((records, next))
    }

    /// The records of a page read from a keys-only index (`keys`: its items, in index order),
    /// fetched from the table in that order; one deleted since is left out.
    async fn fetch_page<F: Fields>(
        &self,
        scope_key: &str,
        keys: Vec<Item>,
    ) -> Result<Vec<Record<F>>, StoreError> {
        let ids: Vec<u64> = keys.iter().filter_map(item_id).collect();
        let mut found: HashMap<u64, Record<F>> = self
            .batch_records(scope_key, &ids, false)
            .await?
            .into_iter()
            .map(|record| (record.id, record))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Counts up to `limit` items of the range from `start` (all of them when `None`), reading
    /// keys only. Returns how many were counted, the items read, and where the count stopped.
    async fn count(
        &self,
        scope_key: &str,
        range: &IndexRange,
        order: Order,
        mut start: Option<Item>,
        limit: Option<u64>,
    ) -> Result<(u64, u64, Option<Item>), StoreError> {
        let mut counted = 0u64;
        let mut read = 0u64;
        loop {
            let mut request = self
                .query(scope_key, range, order)
                .select(Select::Count)
                .set_exclusive_start_key(start);
            if let Some(limit) = limit {
                request = request.limit(i32::try_from(limit - counted).unwrap_or(i32::MAX));
            }
            let out = request.send().await.map_err(backend)?;
            counted += u64::try_from(out.count()).unwrap_or(0);
            read += u64::try_from(out.scanned_count()).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|limit| counted >= limit) {
                return Ok((counted, read, start));
            }
        }
    }

    /// The scope's record count: the sum of its shards, read with one query (a few bytes: half a
    /// read unit, eventually consistent).
    async fn stored_count(&self, scope_key: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(count_partition(scope_key)))
            .send()
            .await
            .map_err(backend)?;
        let total: i64 = out
            .items()
            .iter()
            .filter_map(|item| match item.get("value") {
                Some(AttributeValue::N(value)) => value.parse::<i64>().ok(),
                _ => None,
            })
            .sum();
        Ok(u64::try_from(total).unwrap_or(0))
    }

    async fn stream<F: Fields>(
        &self,
        scope: &Scope<F>,
        query: &ListQuery<F>,
        range: &IndexRange,
    ) -> Result<ListPage<F>, StoreError> {
        let scope_key = scope.key();
        let (mut items_read, mut keys_read) = (0, 0);
        // A cursor-paged read needs no total: it reads the page (and one more record) only.
        let cursor_paged = query.cursor.is_some();
        let known_total = if query.has_filters() || cursor_paged {
            None
        } else {
            items_read += 1;
            Some(self.stored_count(&scope_key).await?)
        };
        if known_total.is_some_and(|total| query.offset >= total) || query.max == 0 && known_total.is_some() {
            return Ok(ListPage {
                total: known_total.unwrap_or(0),
                records: Vec::new(),
                items_read,
                keys_read,
                held: 0,
            });
        }

        let mut start = query
            .after
            .as_ref()
            .map(|after| start_key(&scope_key, range, &after.key));
        let mut skipped = 0;
        if query.offset > 0 {
            let (counted, read, next) = self
                .count(&scope_key, range, query.order, None, Some(query.offset))
                .await?;
            skipped = counted;
            *counted_in(range, &mut items_read, &mut keys_read) += read;
            start = next;
        }
        let mut records = Vec::new();
        let mut exhausted = skipped < query.offset || (query.offset > 0 && start.is_none());
        while !exhausted && (records.len() as u64) < query.max {
            let wanted = query.max - records.len() as u64;
            let out = self
                .query(&scope_key, range, query.order)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(backend)?;
            let (page, next) = self
                .records_of(&scope_key, range.index, out, (&mut items_read, &mut keys_read))
                .await?;
            records.extend(page);
            start = next;
            exhausted = start.is_none();
        }
        let total = match known_total {
            Some(total) => total,
            None if exhausted || cursor_paged => skipped + records.len() as u64,
            None => {
                let (rest, read, _) = self.count(&scope_key, range, query.order, start, None).await?;
                *counted_in(range, &mut items_read, &mut keys_read) += read;
                query.offset + records.len() as u64 + rest
            }
        };
        Ok(ListPage {
            total,
            held: records.len() as u64,
            records,
            items_read,
            keys_read,
        })
    }

    async fn collect<F: Fields>(
        &self,
        scope: &Scope<F>,
        query: &ListQuery<F>,
        ranges: &[IndexRange],
    ) -> Result<ListPage<F>, StoreError> {
        let scope_key = scope.key();
        let (mut items_read, mut keys_read) = (0, 0);
        let mut selection = query.selection();
        for range in ranges {
            let mut start = None;
            loop {
                let out = self
                    .query(&scope_key, range, Order::Asc)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(backend)?;
                let (records, next) = self
                    .records_of(&scope_key, range.index, out, (&mut items_read, &mut keys_read))
                    .await?;
                records.into_iter().for_each(|record| selection.offer(record));
                start = next;
                if start.is_none() {
                    break;
                }
            }
        }
        let (total, records, held) = selection.finish();
        Ok(ListPage {
            total,
            records,
            items_read,
            keys_read,
            held: held as u64,
        })
    }

    /// [`Plan::Merge`]: the first `offset + max` keys of each keys-only range in the query's
    /// order (from a cursor's position, if any), merged by their sort key; the page is fetched by
    /// key and the rest of each range counted for `total` (keys only).
    async fn merge<F: Fields>(
        &self,
        scope: &Scope<F>,
        query: &ListQuery<F>,
        ranges: &[IndexRange],
    ) -> Result<ListPage<F>, StoreError> {
        let scope_key = scope.key();
        let (mut items_read, mut keys_read, mut total) = (0u64, 0u64, 0u64);
        let need = query.offset.saturating_add(query.max);
        let mut keys: Vec<(String, Item)> = Vec::new();
        for range in ranges {
            let mut start = query
                .after
                .as_ref()
                .map(|after| start_key(&scope_key, range, &after.key));
            let (mut taken, mut done) = (0u64, false);
            while taken < need && !done {
                let out = self
                    .query(&scope_key, range, query.order)
                    .set_exclusive_start_key(start.take())
                    .limit(i32::try_from(need - taken).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(backend)?;
                keys_read += u64::try_from(out.scanned_count()).unwrap_or(0);
                for item in out.items.unwrap_or_default() {
                    taken += 1;
                    let key = match item.get(range.sort_key) {
                        Some(AttributeValue::S(key)) => key.clone(),
                        _ => String::new(),
                    };
                    keys.push((key, item));
                }
                start = out.last_evaluated_key;
                done = start.is_none();
            }
            total += taken;
            if !done && query.cursor.is_none() {
                let (rest, read, _) = self.count(&scope_key, range, query.order, start, None).await?;
                keys_read += read;
                total += rest;
            }
        }
        keys.sort_unstable_by(|a, b| match query.order {
            Order::Asc => a.0.cmp(&b.0),
            Order::Desc => b.0.cmp(&a.0),
        });
        let page: Vec<Item> = keys
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(query.max).unwrap_or(usize::MAX))
            .map(|(_, item)| item)
            .collect();
        let records = self.fetch_page(&scope_key, page).await?;
        items_read += records.len() as u64;
        Ok(ListPage {
            total,
            held: records.len() as u64,
            records,
            items_read,
            keys_read,
        })
    }

    /// [`Plan::Narrow`]: reads the scope's `byName` entries (its keys, the name and the
    /// lower-cased reference: a few hundred bytes each), matches the wildcards on them, then
    /// reads only what the page needs: the page itself when the order is in the entries (name,
    /// reference, id); else the matches, or the order's index until the page is full, whichever
    /// reads fewer items (at most √(need × scope) items, need = offset + max).
    async fn narrow<F: Fields>(
        &self,
        scope: &Scope<F>,
        query: &ListQuery<F>,
    ) -> Result<ListPage<F>, StoreError> {
        let scope_key = scope.key();
        let (mut items_read, mut keys_read) = (0u64, 0u64);
        let entries = whole(BY_NAME, "nameKey");
        let need = query.offset.saturating_add(query.max);
        // By name, reference or id: the first `need` matches' keys (a bounded selection); else
        // every match's id, fetched if there are few.
        let mut matches = NarrowMatches::new(query, need);
        let mut undecided: Vec<u64> = Vec::new();
        let mut scanned = 0u64;
        // With the order in the entries, a cursor's position is too.
        let in_entries = matches!(query.sort, Sort::Id | Sort::Reference) || is_name_sort(query);
        let mut start = None;
        loop {
            let out = self
                .query(&scope_key, &entries, Order::Asc)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            keys_read += u64::try_from(out.scanned_count()).unwrap_or(0);
            for item in out.items.unwrap_or_default() {
                scanned += 1;
                let Some(entry) = NarrowEntry::read(&item) else {
                    continue;
                };
                // The sort key, when the entries hold the order (a cursor's position is then one).
                let key = in_entries.then(|| entry.key(query));
                let after = match (&key, &query.after) {
                    (Some(key), Some(after)) => match query.order {
                        Order::Asc => *key > after.key,
                        Order::Desc => *key < after.key,
                    },
                    _ => true,
                };
                match entry.matches(query) {
                    _ if !after => {}
                    Some(false) => {}
                    Some(true) => matches.offer(key.unwrap_or_default(), entry.id),
                    None => undecided.push(entry.id),
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        // Entries that hold only the start of a long name or reference are decided on the record.
        for record in self.batch_records::<F>(&scope_key, &undecided, false).await? {
            items_read += 1;
            let after = query
                .after
                .as_ref()
                .is_none_or(|a| !in_entries || a.admits(&record, query.order));
            if query.matches(&record) && after {
                matches.offer(narrow_key(query, &record), record.id);
            }
        }
        let total = matches.total;
        let matches = matches.finish();
        let (records, held) = if query.max == 0 {
            (Vec::new(), 0)
        } else if in_entries {
            let page: Vec<u64> = matches
                .iter()
                .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
                .take(usize::try_from(query.max).unwrap_or(usize::MAX))
                .map(|(_, id)| *id)
                .collect();
            let mut found: HashMap<u64, Record<F>> = self
                .batch_records(&scope_key, &page, false)
                .await?
                .into_iter()
                .map(|record| (record.id, record))
                .collect();
            items_read += found.len() as u64;
            let records: Vec<Record<F>> = page.iter().filter_map(|id| found.remove(id)).collect();
            let held = records.len();
            (records, held)
        } else if total.saturating_mul(total) <= need.saturating_mul(scanned)
            || !matches!(query.sort, Sort::DateCreated | Sort::LastUpdated)
        {
            let ids: Vec<u64> = matches.iter().map(|(_, id)| *id).collect();
            let mut selection = query.selection();
            for chunk in ids.chunks(100) {
                let records = self.batch_records::<F>(&scope_key, chunk, false).await?;
                items_read += records.len() as u64;
                records.into_iter().for_each(|record| selection.offer(record));
            }
            let (_, records, held) = selection.finish();
            (records, held)
        } else {
            let order = match query.sort {
                Sort::LastUpdated => whole(BY_LAST_UPDATED, "updatedKey"),
                _ => whole(BY_DATE_CREATED, "createdKey"),
            };
            let (mut skipped, mut records) = (0u64, Vec::new());
            // About one match in `scanned / total` records: ask for what the rest of the page needs.
            let spread = scanned.div_ceil(total.max(1)).max(1);
            let mut start = query
                .after
                .as_ref()
                .map(|after| start_key(&scope_key, &order, &after.key));
            'pages: loop {
                let wanted = need
                    .saturating_sub(skipped + records.len() as u64)
                    .saturating_mul(spread);
                let out = self
                    .query(&scope_key, &order, query.order)
                    .set_exclusive_start_key(start)
                    .limit(i32::try_from(wanted.clamp(1, 1000)).unwrap_or(1000))
                    .send()
                    .await
                    .map_err(backend)?;
                let (batch, next) = self
                    .records_of(&scope_key, order.index, out, (&mut items_read, &mut keys_read))
                    .await?;
                for record in batch {
                    if !query.matches(&record)
                        || query
                            .after
                            .as_ref()
                            .is_some_and(|a| !a.admits(&record, query.order))
                    {
                        continue;
                    }
                    if skipped < query.offset {
                        skipped += 1;
                    } else {
                        records.push(record);
                    }
                    if records.len() as u64 >= query.max {
                        break 'pages;
                    }
                }
                start = next;
                if start.is_none() {
                    break;
                }
            }
            let held = records.len();
            (records, held)
        };
        Ok(ListPage {
            total,
            records,
            items_read,
            keys_read,
            held: held as u64,
        })
    }

    /// The partial update of `id` without a transaction: no rename, no relink, nothing to check
    /// but the record's own version (when `set` is conditioned on one).
    async fn update_in_place<F: Fields>(
        &self,
        scope: &Scope<F>,
        id: u64,
        set: &Assignments,
    ) -> Result<Record<F>, StoreError> {
        let mut retries = Retries::within(WRITE_BUDGET);
        loop {
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(record_key(&scope.key(), id)))
                .update_expression(set.expression())
                .condition_expression(set.condition())
                .set_expression_attribute_names(Some(set.names.clone()))
                .set_expression_attribute_values(Some(set.values.clone()))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match out {
                Ok(out) => return parse_record(out.attributes.unwrap_or_default()),
                Err(error) => match error.as_service_error() {
                    Some(e) if e.is_conditional_check_failed_exception() => {
                        return Err(self.lost_condition(scope, id).await);
                    }
                    Some(e) if e.is_transaction_conflict_exception() => {
                        if !retries.again().await {
                            return Err(StoreError::Conflict);
                        }
                    }
                    _ => return Err(backend(error)),
                },
            }
        }
    }

    /// Whether the linked record exists.
    async fn exists(&self, org: &Organization, link: Link) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope_key(org, link.kind), link.id)))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item.is_some())
    }

    /// Why a write conditioned on the record (and its version) failed: gone, or changed.
    async fn lost_condition<F: Fields>(&self, scope: &Scope<F>, id: u64) -> StoreError {
        match self.get(scope, id).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(_)) => StoreError::Conflict,
            Err(error) => error,
        }
    }

    /// `ConditionCheck`s that the records a write was decided on are unchanged.
    fn checks(
        &self,
        org: &Organization,
        checks: &[Check],
    ) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
        checks
            .iter()
            .map(|check| {
                let condition = aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(record_key(&scope_key(org, check.link.kind), check.link.id)))
                    .condition_expression(version_condition(check.version))
                    .expression_attribute_names("#ver", "version")
                    .set_expression_attribute_values(Some(HashMap::from([(
                        ":ver".to_owned(),
                        n(check.version),
                    )])))
                    .build()
                    .map_err(building)?;
                Ok((
                    Role::Check,
                    TransactWriteItem::builder().condition_check(condition).build(),
                ))
            })
            .collect()
    }

    /// Runs a transaction until it commits or fails a condition; conflicts with transactions in
    /// flight on the same items are retried with jittered backoff (nothing the write was decided
    /// on is known to have changed).
    /// When the budget is spent, the caller reads again and decides anew (`Conflict`).
    async fn commit(&self, actions: Vec<(Role, TransactWriteItem)>) -> Result<Outcome, StoreError> {
        let mut retries = Retries::within(WRITE_BUDGET);
        loop {
            match self.transact(actions.clone()).await? {
                Outcome::Conflict if retries.again().await => {}
                Outcome::Conflict => return Err(StoreError::Conflict),
                outcome => return Ok(outcome),
            }
        }
    }
}

/// The record exists at `version = :ver` (for 0, also with no version at all: records written
/// before versions existed). Its users set `#ver` and `:ver`.
/// A `byName` entry: what [`Plan::Narrow`] matches wildcards on.
struct NarrowEntry {
    id: u64,
    name_key: String,
    /// The name as written, and whether the key holds only its start.
    name: (String, bool),
    reference_key: String,
    /// The lower-cased reference, and whether the key holds only its start.
    reference: (String, bool),
}

impl NarrowEntry {
    fn read(item: &Item) -> Option<Self> {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(text)) => Some(text.clone()),
            _ => None,
        };
        let (name_key, reference_key) = (text("nameKey")?, text("referenceKey")?);
        let mut name_parts = name_key.split("\0\0");
        let exact = name_parts.nth(1)?;
        let reference = reference_key.split("\0\0").next()?;
        Some(NarrowEntry {
            id: item_id(item)?,
            name: key_part_text(exact, NAME_KEY_PART_BYTES),
            reference: key_part_text(reference, REFERENCE_KEY_BYTES),
            name_key,
            reference_key,
        })
    }

    /// Whether the record matches the query's wildcards (`None`: the entry cannot tell).
    fn matches<F>(&self, query: &ListQuery<F>) -> Option<bool> {
        let decide = |(text, cut): &(String, bool), pattern: &Pattern| match pattern.matches(text) {
            true => Some(true),
            false if *cut => None,
            false => Some(false),
        };
        let mut verdict = Some(true);
        if let Some(pattern) = &query.reference {
            verdict = and(verdict, decide(&self.reference, pattern));
        }
        for (_, pattern) in &query.text {
            verdict = and(verdict, decide(&self.name, pattern));
        }
        // A wildcard matching a cut text may fail on the rest of it.
        if verdict == Some(true) && (self.name.1 || self.reference.1) {
            return None;
        }
        verdict
    }

    /// The record's sort key in the query's order, for the sorts the entry holds.
    fn key<F>(&self, query: &ListQuery<F>) -> String {
        match query.sort {
            Sort::Reference => self.reference_key.clone(),
            Sort::Id => format!("{:020}", self.id),
            _ => self.name_key.clone(),
        }
    }
}

/// The matches of a narrow read: every one counted; by name, reference or id the first `need`
/// in the query's order kept (at most twice that at any moment), else every id.
struct NarrowMatches {
    order: Order,
    need: usize,
    bounded: bool,
    kept: Vec<(String, u64)>,
    total: u64,
}

impl NarrowMatches {
    fn new<F>(query: &ListQuery<F>, need: u64) -> Self {
        NarrowMatches {
            order: query.order,
            need: usize::try_from(need).unwrap_or(usize::MAX),
            bounded: matches!(query.sort, Sort::Id | Sort::Reference) || is_name_sort(query),
            kept: Vec::new(),
            total: 0,
        }
    }

    fn offer(&mut self, key: String, id: u64) {
        self.total += 1;
        self.kept.push((key, id));
        if self.bounded && self.kept.len() >= self.need.saturating_mul(2).max(64) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let order = self.order;
        let compare = move |a: &(String, u64), b: &(String, u64)| match order {
            Order::Asc => a.cmp(b),
            Order::Desc => b.cmp(a),
        };
        if self.kept.len() > self.need && self.need > 0 {
            self.kept.select_nth_unstable_by(self.need - 1, compare);
        }
        self.kept.truncate(self.need);
        self.kept.sort_unstable_by(compare);
    }

    /// The kept matches, in the query's order when bounded.
    fn finish(mut self) -> Vec<(String, u64)> {
        if self.bounded {
            self.trim();
        }
        self.kept
    }
}

/// Both verdicts: false if either is, unknown if either is and neither is false.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// What [`NarrowEntry::key`] gives, from the record.
fn narrow_key<F: Fields>(query: &ListQuery<F>, record: &Record<F>) -> String {
    match query.sort {
        Sort::Reference => record.reference_key(),
        Sort::Id => format!("{:020}", record.id),
        _ => record.name_key(),
    }
}

fn is_name_sort<F>(query: &ListQuery<F>) -> bool {
    matches!(query.sort, Sort::Field(field) if field.name == "name")
}

/// How many `BatchGetItem`s one list request keeps in flight (a keys-only range of 7,000 keys,
/// one 1 MB page, is 70 of them).
const BATCH_READS_AT_ONCE: usize = 8;

/// Where reads counted on `range` are tallied: keys on a keys-only index, else items.
fn counted_in<'a>(range: &IndexRange, items: &'a mut u64, keys: &'a mut u64) -> &'a mut u64 {
    if keys_only(range.index) { keys } else { items }
}

/// The record id of an item's key (`pk` = `<scope>#<id>`).
fn item_id(item: &Item) -> Option<u64> {
    match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.rsplit('#').next()?.parse().ok(),
        _ => None,
    }
}

/// The `ExclusiveStartKey` that resumes a read of `range` after the record whose sort key is
/// `key` (every index sort key ends with the record's 20-digit id).
fn start_key(scope_key: &str, range: &IndexRange, key: &str) -> Item {
    let id = key
        .get(key.len().saturating_sub(20)..)
        .and_then(|digits| digits.parse::<u64>().ok())
        .unwrap_or(0);
    let mut item = record_key(scope_key, id);
    item.insert(
        range.partition.attribute().to_owned(),
        s(range.partition.key(scope_key)),
    );
    item.insert(range.sort_key.to_owned(), s(key));
    item
}

fn version_condition(version: u64) -> String {
    if version == 0 {
        "attribute_exists(pk) AND (attribute_not_exists(#ver) OR #ver = :ver)".to_owned()
    } else {
        "attribute_exists(pk) AND #ver = :ver".to_owned()
    }
}

/// The clauses of an update (`SET` the fields and `lastUpdated`, `ADD` one to the version), with
/// their attribute names and values, and its condition.
#[derive(Clone)]
struct Assignments {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    sets: Vec<String>,
    removes: Vec<String>,
    condition: String,
}

impl Assignments {
    /// `lastUpdated` (and its index key), the version and every attribute the patch writes to
    /// record `id`, conditioned on the record existing (at version `expected`, when given).
    fn new<F: Fields>(
        patch: &Patch<F>,
        scope_key: &str,
        id: u64,
        expected: Option<u64>,
    ) -> Result<Self, StoreError> {
        let mut set = Assignments {
            names: HashMap::from([
                ("#lu".to_owned(), "lastUpdated".to_owned()),
                ("#uk".to_owned(), "updatedKey".to_owned()),
                ("#ver".to_owned(), "version".to_owned()),
            ]),
            values: HashMap::from([
                (":lu".to_owned(), s(patch.now.to_string())),
                (":uk".to_owned(), s(time_key(patch.now, id))),
                (":one".to_owned(), n(1)),
            ]),
            sets: vec!["#lu = :lu".to_owned(), "#uk = :uk".to_owned()],
            removes: Vec::new(),
            condition: "attribute_exists(pk)".to_owned(),
        };
        if let Some(version) = expected {
            set.condition = version_condition(version);
            set.values.insert(":ver".into(), n(version));
        }
        if let Some(name) = patch.fields.name() {
            set.assign("nk", "nameKey".to_owned(), s(name_key(name, id)));
        }
        match patch.fields.active() {
            Some(Some(active)) => {
                set.assign("as", "activeScope".to_owned(), s(active_scope(scope_key, active)));
            }
            Some(None) => {
                set.names.insert("#as".into(), "activeScope".into());
                set.removes.push("#as".into());
            }
            None => {}
        }
        match patch.fields.category() {
            Some(Some(group)) => {
                set.assign(
                    "cs",
                    "categoryScope".to_owned(),
                    s(category_scope(scope_key, group)),
                );
            }
            Some(None) => {
                set.names.insert("#cs".into(), "categoryScope".into());
                set.removes.push("#cs".into());
            }
            None => {}
        }
        for (i, (name, value)) in patch_attributes::<F>(&patch.fields)?.into_iter().enumerate() {
            set.assign(&format!("f{i}"), name, value);
        }
        Ok(set)
    }

    fn assign(&mut self, slot: &str, name: String, value: AttributeValue) {
        self.names.insert(format!("#{slot}"), name);
        self.values.insert(format!(":{slot}"), value);
        self.sets.push(format!("#{slot} = :{slot}"));
    }

    fn expression(&self) -> String {
        let removes = match self.removes.is_empty() {
            true => String::new(),
            false => format!(" REMOVE {}", self.removes.join(", ")),
        };
        format!("SET {}{removes} ADD #ver :one", self.sets.join(", "))
    }

    fn condition(&self) -> String {
        self.condition.clone()
    }
}

#[async_trait]
impl<F: Fields> RecordStore<F> for DynamoStore {
    async fn create(&self, scope: &Scope<F>, draft: Draft<F>) -> Result<Record<F>, StoreError> {
        let scope_key = scope.key();
        let links = draft.fields.links();
        let record = Record {
            id: self.next_id(&scope_key).await?,
            reference: draft.reference,
            date_created: draft.now,
            last_updated: draft.now,
            fields: draft.fields,
            links,
            version: 1,
        };
        let item = record_item(scope, &record)?;
        let outcome = self
            .commit_linked(|pinned| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(building)?;
                let mut actions = vec![
                    (Role::Record, TransactWriteItem::builder().put(put).build()),
                    self.guard_put(&scope_key, record.reference.as_str(), record.id)?,
                    self.count_update(&scope_key, 1)?,
                ];
                actions.extend(self.new_shards(&scope_key, F::KIND, record.id)?);
                actions.extend(self.link_updates(scope.org(), &record.links, 1, &[], pinned)?);
                Ok(actions)
            })
            .await?;
        match outcome {
            Outcome::Done => Ok(record),
            Outcome::ConditionFailed(Role::NewGuard) => Err(StoreError::NotUnique),
            Outcome::ConditionFailed(Role::Link(link, _)) => Err(StoreError::MissingLink(link)),
            Outcome::ConditionFailed(_) | Outcome::Conflict => {
                Err(StoreError::Backend(format!("id {} is already taken", record.id)))
            }
        }
    }

    async fn dependents(&self, scope: &Scope<F>, id: u64) -> Result<Option<u64>, StoreError> {
        let scope_key = scope.key();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope_key, id)))
            .projection_expression("pk, dependents")
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let mut total = number(&item, "dependents").unwrap_or(0);
        if dependent_shards(F::KIND) > 1 {
            total += self
                .shard_counts(&scope_key, id)
                .await?
                .iter()
                .map(|(_, count)| count)
                .sum::<i64>();
        }
        Ok(Some(u64::try_from(total).unwrap_or(0)))
    }

    async fn get(&self, scope: &Scope<F>, id: u64) -> Result<Option<Record<F>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope.key(), id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item.map(parse_record).transpose()
    }

    async fn find_by_reference(
        &self,
        scope: &Scope<F>,
        reference: &str,
    ) -> Result<Option<Record<F>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(guard_key(&scope.key(), reference)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let id = match out.item().and_then(|item| item.get("id")) {
            Some(AttributeValue::N(id)) => id
                .parse()
                .map_err(|_| StoreError::Backend("guard id is not a number".into()))?,
            _ => return Ok(None),
        };
        self.get(scope, id).await
    }

    async fn get_many(&self, scope: &Scope<F>, ids: &[u64]) -> Result<Vec<Record<F>>, StoreError> {
        self.batch_records(&scope.key(), ids, true).await
    }

    async fn update(&self, scope: &Scope<F>, id: u64, patch: Patch<F>) -> Result<Record<F>, StoreError> {
        let scope_key = scope.key();
        let relinks = patch.fields.touches_links();
        let current = if patch.reference.is_some() || relinks {
            Some(self.get(scope, id).await?.ok_or(StoreError::NotFound)?)
        } else {
            None
        };
        if let (Some(current), Some(expected)) = (&current, patch.expected) {
            if current.version != expected {
                return Err(StoreError::Conflict);
            }
        }
        let rename: Option<(Reference, Reference)> = current
            .as_ref()
            .zip(patch.reference.as_ref())
            .filter(|(current, new)| current.reference != **new)
            .map(|(current, new)| (current.reference.clone(), new.clone()));
        let relink = current
            .as_ref()
            .filter(|_| relinks)
            .map(|current| {
                let mut fields = current.fields.clone();
                patch.fields.apply(&mut fields);
                (current.links.clone(), fields.links())
            })
            .filter(|(old, new)| old != new);
        // What the write was decided on: the version the caller read, else the one read here
        // (so the reference and links read are still the record's when it commits).
        let basis = patch.expected.or(current.as_ref().map(|c| c.version));
        let mut set = Assignments::new(&patch, &scope.key(), id, basis)?;
        if rename.is_none() && relink.is_none() && patch.checks.is_empty() {
            return self.update_in_place(scope, id, &set).await;
        }

        let mut guards = Vec::new();
        if let Some((old, new)) = &rename {
            set.assign("ref", "reference".into(), s(new.as_str()));
            set.assign(
                "refKey",
                "referenceKey".into(),
                s(reference_key(new.as_str(), id)),
            );
            guards.push(self.guard_delete(&scope_key, old.as_str(), id)?);
            guards.push(self.guard_put(&scope_key, new.as_str(), id)?);
        }
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        if let Some((old, new)) = &relink {
            set.assign("links", "links".into(), links_attribute(new));
            (removed, added) = link_changes(old, new);
        }
        let checks: Vec<Check> = patch
            .checks
            .iter()
            .filter(|c| !removed.contains(&c.link) && !added.contains(&c.link))
            .copied()
            .collect();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope_key, id)))
            .update_expression(set.expression())
            .condition_expression(set.condition())
            .set_expression_attribute_names(Some(set.names))
            .set_expression_attribute_values(Some(set.values))
            .build()
            .map_err(building)?;
        let outcome = self
            .commit_linked(|pinned| {
                let mut actions = vec![(
                    Role::Record,
                    TransactWriteItem::builder().update(update.clone()).build(),
                )];
                actions.extend(guards.iter().cloned());
                actions.extend(self.link_updates(scope.org(), &removed, -1, &patch.checks, pinned)?);
                actions.extend(self.link_updates(scope.org(), &added, 1, &patch.checks, pinned)?);
                actions.extend(self.checks(scope.org(), &checks)?);
                Ok(actions)
            })
            .await?;
        match outcome {
            Outcome::Done => self.get(scope, id).await?.ok_or(StoreError::NotFound),
            Outcome::ConditionFailed(Role::NewGuard) => Err(StoreError::NotUnique),
            Outcome::ConditionFailed(Role::Link(link, _)) if patch.checks.iter().any(|c| c.link == link) => {
                let exists = self.exists(scope.org(), link).await?;
                Err(if exists {
                    StoreError::Conflict
                } else {
                    StoreError::MissingLink(link)
                })
            }
            Outcome::ConditionFailed(Role::Link(link, _)) => Err(StoreError::MissingLink(link)),
            Outcome::ConditionFailed(Role::Record) => Err(self.lost_condition(scope, id).await),
            Outcome::ConditionFailed(_) | Outcome::Conflict => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, scope: &Scope<F>, id: u64, expected: Option<u64>) -> Result<(), StoreError> {
        let scope_key = scope.key();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope_key, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let item = out.item.ok_or(StoreError::NotFound)?;
        let own_count = number(&item, "dependents");
        let current: Record<F> = parse_record(item)?;
        if expected.is_some_and(|version| version != current.version) {
            return Err(StoreError::Conflict);
        }
        let shards = if dependent_shards(F::KIND) > 1 {
            self.shard_counts(&scope_key, id).await?
        } else {
            Vec::new()
        };
        if own_count.unwrap_or(0) + shards.iter().map(|(_, count)| count).sum::<i64>() > 0 {
            return Err(StoreError::InUse);
        }
        // Every count read must be unchanged when the delete commits: a customer joining
        // meanwhile makes it fail, and the group is then in use.
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(record_key(&scope_key, id)))
            .expression_attribute_names("#ver", "version")
            .expression_attribute_names("#d", "dependents");
        let counted = match own_count {
            Some(count) => {
                delete = delete.expression_attribute_values(":d", n(count));
                "#d = :d"
            }
            None => "attribute_not_exists(#d)",
        };
        delete = delete.condition_expression(format!("{} AND {counted}", version_condition(current.version)));
        delete = delete.expression_attribute_values(":ver", n(current.version));
        let mut actions = vec![
            (
                Role::Record,
                TransactWriteItem::builder()
                    .delete(delete.build().map_err(building)?)
                    .build(),
            ),
            self.guard_delete(&scope_key, current.reference.as_str(), id)?,
            self.count_update(&scope_key, -1)?,
        ];
        for (key, count) in &shards {
            let shard = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "value")
                .expression_attribute_values(":v", n(*count))
                .build()
                .map_err(building)?;
            actions.push((Role::Shard, TransactWriteItem::builder().delete(shard).build()));
        }
        let outcome = self
            .commit_linked(|pinned| {
                let mut all = actions.clone();
                all.extend(self.link_updates(scope.org(), &current.links, -1, &[], pinned)?);
                Ok(all)
            })
            .await?;
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::ConditionFailed(Role::Record | Role::Shard) => match self.dependents(scope, id).await? {
                None => Err(StoreError::NotFound),
                Some(count) if count > 0 => Err(StoreError::InUse),
                Some(_) => Err(StoreError::Conflict),
            },
            Outcome::ConditionFailed(_) | Outcome::Conflict => Err(StoreError::Conflict),
        }
    }

    async fn list(&self, scope: &Scope<F>, query: &ListQuery<F>) -> Result<ListPage<F>, StoreError> {
        if query.date_created.is_empty() || query.last_updated.is_empty() {
            return Ok(ListPage {
                total: 0,
                records: Vec::new(),
                items_read: 0,
                keys_read: 0,
                held: 0,
            });
        }
        match Plan::choose(query) {
            Plan::Stream(range) => self.stream(scope, query, &range).await,
            Plan::Collect(ranges) => self.collect(scope, query, &ranges).await,
            Plan::Narrow => self.narrow(scope, query).await,
            Plan::Merge(ranges) => self.merge(scope, query, &ranges).await,
        }
    }
}

/// Reference data is one item per organization (`<org>#reference-data`): one read loads it all.
#[async_trait]
impl ReferenceDataStore for DynamoStore {
    async fn reference_data(&self, org: &Organization) -> Result<Option<ReferenceData>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(reference_data_key(org)))
            .send()
            .await
            .map_err(backend)?;
        match out.item.and_then(|mut item| item.remove("data")) {
            Some(data) => serde_dynamo::from_attribute_value(data)
                .map(Some)
                .map_err(building),
            None => Ok(None),
        }
    }

    async fn put_reference_data(&self, org: &Organization, data: &ReferenceData) -> Result<(), StoreError> {
        let mut item = reference_data_key(org);
        item.insert(
            "data".into(),
            serde_dynamo::to_attribute_value(data).map_err(building)?,
        );
        self.put_item(item).await
    }
}

/// An idempotency key is one item (`<org>#idempotency#<key>`) holding its entry; DynamoDB's TTL
/// on `expires` deletes it a while after it expires, and until then it reads as expired.
#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<Claim, StoreError> {
        for _ in 0..4 {
            let mut item: Item = serde_dynamo::to_item(Entry::claim(fingerprint, now)).map_err(building)?;
            item.extend(idempotency_key(org, key.as_str()));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR #expires <= :now OR (attribute_not_exists(#response) AND #started <= :stale)",
                )
                .expression_attribute_names("#expires", "expires")
                .expression_attribute_names("#response", "response")
                .expression_attribute_names("#started", "started")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":stale", n(now.saturating_sub(STALE_CLAIM_SECONDS)))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(error) => return Err(backend(error)),
            }
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(idempotency_key(org, key.as_str())))
                .consistent_read(true)
                .send()
                .await
                .map_err(backend)?;
            let existing: Option<Entry> = out
                .item
                .map(|item| serde_dynamo::from_item(item).map_err(building))
                .transpose()?;
            match Entry::decide(existing.as_ref(), fingerprint, now) {
                Claim::Claimed => continue,
                claim => return Ok(claim),
            }
        }
        Err(StoreError::Backend("the idempotency key kept changing".into()))
    }

    async fn complete(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(org, key.as_str())))
            .update_expression("SET #response = :response")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(
                ":response",
                serde_dynamo::to_attribute_value(response).map_err(building)?,
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn release(&self, org: &Organization, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(org, key.as_str())))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
