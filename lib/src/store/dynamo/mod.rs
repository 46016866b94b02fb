//! The DynamoDB store: one table, keys and indexes as defined in `infra/table.json`.
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | record | `<org>#<kind>#<id>` | `record` | `scope`, `createdKey`, `referenceKey` (GSI keys), `id`, `reference`, `dateCreated`, `lastUpdated`, the resource's fields |
//! | reference guard | `<org>#<kind>#ref#<reference>` | `guard` | `id` |
//! | id counter | `<org>#<kind>#next-id` | `counter` | `value` (last id reserved) |
//! | record count | `<org>#<kind>#count` | `counter` | `value` (records in the scope) |
//!
//! GSIs `byDateCreated` (`scope`, `createdKey` = `<dateCreated>#<id:020>`) and `byReference`
//! (`scope`, `referenceKey` = `<lower(reference)>#<id:020>`) both partition by `<org>#<kind>`, so
//! the organization is in every partition key. Create, rename and delete are single transactions
//! over the record, its guard(s) and the count, so uniqueness and the count are never wrong.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, Select, TransactWriteItem,
    Update, WriteRequest,
};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::{
    Draft, Link, ListPage, Patch, Record, RecordStore, Scope, StoreError, link_changes, normalize_links,
    reference_key,
};
use crate::list::{ListQuery, Order};
use crate::reference_data::{ReferenceData, ReferenceDataStore};
use crate::store::Organization;

mod table;

pub use table::{TableDefinition, ensure_table};

const RECORD_SK: &str = "record";
const GUARD_SK: &str = "guard";
const COUNTER_SK: &str = "counter";
const BY_DATE_CREATED: &str = "byDateCreated";
const BY_REFERENCE: &str = "byReference";
/// Attributes the store manages; a resource field may not use these names.
const SYSTEM_ATTRIBUTES: [&str; 11] = [
    "pk",
    "sk",
    "scope",
    "createdKey",
    "referenceKey",
    "id",
    "reference",
    "dateCreated",
    "lastUpdated",
    "links",
    "dependents",
];
/// How often a write that lost a race (transaction conflict, concurrent rename) is retried.
const ATTEMPTS: u32 = 6;

/// The DynamoDB store.
pub struct DynamoStore {
    client: Client,
    table: String,
    id_block: u64,
    reserved_ids: Mutex<HashMap<String, Range<u64>>>,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn backend<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(DisplayErrorContext(error).to_string())
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn record_pk(scope: &Scope, id: u64) -> String {
    format!("{}#{id}", scope.key())
}

fn guard_pk(scope: &Scope, reference: &str) -> String {
    format!("{}#ref#{reference}", scope.key())
}

fn counter_pk(scope: &Scope, name: &str) -> String {
    format!("{}#{name}", scope.key())
}

/// What one action of a transaction is for, to tell which condition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The record itself.
    Record,
    /// Taking a reference (its guard must not exist).
    NewGuard,
    /// Releasing a reference.
    OldGuard,
    /// The scope's record count.
    Count,
    /// Counting a new dependent on a linked record (which must exist).
    Link(Link),
    /// Releasing a linked record.
    Unlink,
}

/// What a cancelled transaction says about each of its actions.
enum Outcome {
    Done,
    /// The action with this role failed its condition.
    ConditionFailed(Role),
    /// Another transaction touched the same items: worth retrying.
    Conflict,
}

fn transaction_outcome(
    roles: &[Role],
    result: Result<(), SdkError<TransactWriteItemsError, impl std::fmt::Debug>>,
) -> Result<Outcome, StoreError> {
    let Err(error) = result else {
        return Ok(Outcome::Done);
    };
    if let SdkError::ServiceError(service) = &error {
        if let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() {
            let reasons = cancelled.cancellation_reasons();
            if let Some(at) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                let role = roles.get(at).copied().unwrap_or(Role::Record);
                return Ok(Outcome::ConditionFailed(role));
            }
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                return Ok(Outcome::Conflict);
            }
        }
        if let TransactWriteItemsError::TransactionInProgressException(_) = service.err() {
            return Ok(Outcome::Conflict);
        }
    }
    Err(StoreError::Backend(DisplayErrorContext(error).to_string()))
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(5 << attempt.min(6))).await;
}

fn to_attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn record_item(scope: &Scope, record: &Record) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item = key(record_pk(scope, record.id), RECORD_SK);
    item.insert("scope".into(), s(scope.key()));
    item.insert("createdKey".into(), s(record.created_key()));
    item.insert("referenceKey".into(), s(record.reference_key()));
    item.insert("id".into(), n(record.id));
    item.insert("reference".into(), s(&record.reference));
    item.insert("dateCreated".into(), s(record.date_created.to_string()));
    item.insert("lastUpdated".into(), s(record.last_updated.to_string()));
    item.insert("links".into(), links_attribute(&record.links));
    for (name, value) in &record.fields {
        debug_assert!(
            !SYSTEM_ATTRIBUTES.contains(&name.as_str()),
            "field {name} is reserved"
        );
        item.insert(name.clone(), to_attribute(value)?);
    }
    Ok(item)
}

fn links_attribute(links: &[Link]) -> AttributeValue {
    AttributeValue::L(links.iter().map(|l| s(l.to_string())).collect())
}

fn parse_record(mut item: HashMap<String, AttributeValue>) -> Result<Record, StoreError> {
    let corrupt = |what: &str| StoreError::Backend(format!("stored record has a bad {what}"));
    let text = |item: &mut HashMap<String, AttributeValue>, name: &str| match item.remove(name) {
        Some(AttributeValue::S(text)) => Ok(text),
        _ => Err(corrupt(name)),
    };
    let id = match item.remove("id") {
        Some(AttributeValue::N(id)) => id.parse().map_err(|_| corrupt("id"))?,
        _ => return Err(corrupt("id")),
    };
    let reference = text(&mut item, "reference")?;
    let date_created = text(&mut item, "dateCreated")?
        .parse()
        .map_err(|_| corrupt("dateCreated"))?;
    let last_updated = text(&mut item, "lastUpdated")?
        .parse()
        .map_err(|_| corrupt("lastUpdated"))?;
    let links = match item.remove("links") {
        Some(AttributeValue::L(links)) => links
            .iter()
            .map(|l| l.as_s().map_err(|_| corrupt("links")).and_then(|l| l.parse()))
            .collect::<Result<Vec<Link>, _>>()?,
        _ => Vec::new(),
    };
    let dependents = match item.remove("dependents") {
        Some(AttributeValue::N(count)) => count.parse::<i64>().unwrap_or(0).max(0) as u64,
        _ => 0,
    };
    let mut fields = Map::new();
    for (name, value) in item {
        if !SYSTEM_ATTRIBUTES.contains(&name.as_str()) {
            let value: Value =
                serde_dynamo::from_attribute_value(value).map_err(|e| StoreError::Backend(e.to_string()))?;
            fields.insert(name, value);
        }
    }
    Ok(Record {
        id,
        reference,
        date_created,
        last_updated,
        fields,
        links,
        dependents,
    })
}

/// A key range of one index, inside one scope.
#[derive(Debug, Clone)]
struct IndexRange {
    index: &'static str,
    sort_key: &'static str,
    bounds: Bounds,
}

#[derive(Debug, Clone)]
enum Bounds {
    All,
    From(String),
    To(String),
    Between(String, String),
    Prefix(String),
}

/// How a list query is answered.
enum Plan {
    /// The index range holds exactly the matching records in the requested order: skip the
    /// offset with a count-only read and read just the page.
    Stream(IndexRange),
    /// Read the narrowest range, then filter, sort and page in memory.
    Collect(IndexRange),
}

impl Plan {
    fn choose(query: &ListQuery) -> Plan {
        let filters = query.text.len()
            + query.flags.len()
            + query.id_sets.len()
            + usize::from(!query.date_created.is_unbounded())
            + usize::from(!query.last_updated.is_unbounded());
        let by_date = (!query.date_created.is_unbounded()).then(|| {
            let from = query.date_created.from.map(|ts| format!("{ts}#"));
            let to = query.date_created.to.map(|ts| format!("{ts}$"));
            let bounds = match (from, to) {
                (Some(from), Some(to)) => Bounds::Between(from, to),
                (Some(from), None) => Bounds::From(from),
                (None, Some(to)) => Bounds::To(to),
                (None, None) => Bounds::All,
            };
            IndexRange {
                index: BY_DATE_CREATED,
                sort_key: "createdKey",
                bounds,
            }
        });
        let reference = query.text_filter("reference");
        let by_reference = reference.filter(|p| !p.prefix().is_empty()).map(|p| {
            let prefix = if p.is_exact() {
                format!("{}#", p.prefix())
            } else {
                p.prefix().to_owned()
            };
            IndexRange {
                index: BY_REFERENCE,
                sort_key: "referenceKey",
                bounds: Bounds::Prefix(prefix),
            }
        });
        let whole = |index, sort_key| IndexRange {
            index,
            sort_key,
            bounds: Bounds::All,
        };

        match (query.sort, by_date, by_reference) {
            ("dateCreated", None, None) if filters == 0 => Plan::Stream(whole(BY_DATE_CREATED, "createdKey")),
            ("reference", None, None) if filters == 0 => Plan::Stream(whole(BY_REFERENCE, "referenceKey")),
            ("dateCreated", Some(range), _) if filters == 1 => Plan::Stream(range),
            ("reference", _, Some(range))
                if filters == 1 && reference.is_some_and(|p| p.is_pure_prefix()) =>
            {
                Plan::Stream(range)
            }
            (_, _, Some(range)) | (_, Some(range), None) => Plan::Collect(range),
            (_, None, None) => Plan::Collect(whole(BY_DATE_CREATED, "createdKey")),
        }
    }
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

    /// Loads records into an empty scope with batch writes instead of transactions: records,
    /// reference guards, the count and the id counter. For migrations and benchmark data; it
    /// checks neither uniqueness nor links, so the input must be consistent.
    pub async fn import(&self, scope: &Scope, records: &[Record]) -> Result<(), StoreError> {
        let mut requests = Vec::new();
        for record in records {
            let mut guard = key(guard_pk(scope, &record.reference), GUARD_SK);
            guard.insert("id".into(), n(record.id));
            for item in [record_item(scope, record)?, guard] {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..ATTEMPTS * 2 {
                if pending.is_empty() {
                    break;
                }
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
                if !pending.is_empty() {
                    backoff(attempt).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Backend("import kept being throttled".into()));
            }
        }
        let last_id = records.iter().map(|r| r.id).max().unwrap_or(0);
        for (name, value) in [("count", records.len() as u64), ("next-id", last_id)] {
            let mut item = key(counter_pk(scope, name), COUNTER_SK);
            item.insert("value".into(), n(value));
            self.put_item(item).await?;
        }
        Ok(())
    }

    /// An unconditional `PutItem`.
    async fn put_item(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
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
    async fn next_id(&self, scope: &Scope) -> Result<u64, StoreError> {
        let mut reserved = self.reserved_ids.lock().await;
        let block = reserved.entry(scope.key()).or_insert(0..0);
        if let Some(id) = block.next() {
            return Ok(id);
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(counter_pk(scope, "next-id"), COUNTER_SK)))
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

    fn count_update(&self, scope: &Scope, delta: i64) -> Result<(Role, TransactWriteItem), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(counter_pk(scope, "count"), COUNTER_SK)))
            .update_expression("ADD #v :delta")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok((Role::Count, TransactWriteItem::builder().update(update).build()))
    }

    fn guard_put(
        &self,
        scope: &Scope,
        reference: &str,
        id: u64,
    ) -> Result<(Role, TransactWriteItem), StoreError> {
        let mut item = key(guard_pk(scope, reference), GUARD_SK);
        item.insert("id".into(), n(id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok((Role::NewGuard, TransactWriteItem::builder().put(put).build()))
    }

    fn guard_delete(
        &self,
        scope: &Scope,
        reference: &str,
        id: u64,
    ) -> Result<(Role, TransactWriteItem), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(guard_pk(scope, reference), GUARD_SK)))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":id", n(id))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok((
            Role::OldGuard,
            TransactWriteItem::builder().delete(delete).build(),
        ))
    }

    /// `ADD dependents :delta` on each linked record, which must exist.
    fn link_updates(
        &self,
        scope: &Scope,
        links: &[Link],
        delta: i64,
    ) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
        links
            .iter()
            .map(|link| {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        record_pk(&scope.with_kind(link.kind), link.id),
                        RECORD_SK,
                    )))
                    .update_expression("ADD #d :delta")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#d", "dependents")
                    .expression_attribute_values(":delta", n(delta))
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                let role = if delta > 0 {
                    Role::Link(*link)
                } else {
                    Role::Unlink
                };
                Ok((role, TransactWriteItem::builder().update(update).build()))
            })
            .collect()
    }

    async fn transact(&self, actions: Vec<(Role, TransactWriteItem)>) -> Result<Outcome, StoreError> {
        let (roles, items): (Vec<Role>, Vec<TransactWriteItem>) = actions.into_iter().unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ());
        transaction_outcome(&roles, result)
    }

    fn query(&self, scope: &Scope, range: &IndexRange, order: Order) -> QueryFluentBuilder {
        let mut condition = "#scope = :scope".to_owned();
        let mut builder = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(range.index)
            .expression_attribute_names("#scope", "scope")
            .expression_attribute_values(":scope", s(scope.key()))
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

    /// Counts up to `limit` items of the range from `start` (all of them when `None`), reading
    /// keys only. Returns how many were counted, the items read, and where the count stopped.
    async fn count(
        &self,
        scope: &Scope,
        range: &IndexRange,
        order: Order,
        mut start: Option<HashMap<String, AttributeValue>>,
        limit: Option<u64>,
    ) -> Result<(u64, u64, Option<HashMap<String, AttributeValue>>), StoreError> {
        let mut counted = 0u64;
        let mut read = 0u64;
        loop {
            let mut request = self
                .query(scope, range, order)
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

    async fn stored_count(&self, scope: &Scope) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(counter_pk(scope, "count"), COUNTER_SK)))
            .send()
            .await
            .map_err(backend)?;
        match out.item().and_then(|item| item.get("value")) {
            Some(AttributeValue::N(value)) => Ok(value.parse::<i64>().unwrap_or(0).max(0) as u64),
            _ => Ok(0),
        }
    }

    async fn stream(
        &self,
        scope: &Scope,
        query: &ListQuery,
        range: &IndexRange,
    ) -> Result<ListPage, StoreError> {
        let mut items_read = 0;
        let known_total = if query.has_filters() {
            None
        } else {
            items_read += 1;
            Some(self.stored_count(scope).await?)
        };
        if known_total.is_some_and(|total| query.offset >= total) || query.max == 0 && known_total.is_some() {
            return Ok(ListPage {
                total: known_total.unwrap_or(0),
                records: Vec::new(),
                items_read,
            });
        }

        let mut start = None;
        let mut skipped = 0;
        if query.offset > 0 {
            let (counted, read, next) = self
                .count(scope, range, query.order, None, Some(query.offset))
                .await?;
            skipped = counted;
            items_read += read;
            start = next;
        }
        let mut records = Vec::new();
        let mut exhausted = skipped < query.offset || (query.offset > 0 && start.is_none());
        while !exhausted && (records.len() as u64) < query.max {
            let wanted = query.max - records.len() as u64;
            let out = self
                .query(scope, range, query.order)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(backend)?;
            items_read += u64::try_from(out.scanned_count()).unwrap_or(0);
            for item in out.items.unwrap_or_default() {
                records.push(parse_record(item)?);
            }
            start = out.last_evaluated_key;
            exhausted = start.is_none();
        }
        let total = match known_total {
            Some(total) => total,
            None if exhausted => skipped + records.len() as u64,
            None => {
                let (rest, read, _) = self.count(scope, range, query.order, start, None).await?;
                items_read += read;
                query.offset + records.len() as u64 + rest
            }
        };
        Ok(ListPage {
            total,
            records,
            items_read,
        })
    }

    async fn collect(
        &self,
        scope: &Scope,
        query: &ListQuery,
        range: &IndexRange,
    ) -> Result<ListPage, StoreError> {
        let mut items_read = 0;
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .query(scope, range, Order::Asc)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            items_read += u64::try_from(out.scanned_count()).unwrap_or(0);
            for item in out.items.unwrap_or_default() {
                records.push(parse_record(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let (total, records) = query.select(records);
        Ok(ListPage {
            total,
            records,
            items_read,
        })
    }
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn create(&self, scope: &Scope, draft: Draft) -> Result<Record, StoreError> {
        let links = normalize_links(draft.links);
        for attempt in 0..ATTEMPTS {
            let record = Record {
                id: self.next_id(scope).await?,
                reference: draft.reference.clone(),
                date_created: draft.now,
                last_updated: draft.now,
                fields: draft.fields.clone(),
                links: links.clone(),
                dependents: 0,
            };
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record_item(scope, &record)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut actions = vec![
                (Role::Record, TransactWriteItem::builder().put(put).build()),
                self.guard_put(scope, &record.reference, record.id)?,
                self.count_update(scope, 1)?,
            ];
            actions.extend(self.link_updates(scope, &links, 1)?);
            match self.transact(actions).await? {
                Outcome::Done => return Ok(record),
                Outcome::ConditionFailed(Role::NewGuard) => return Err(StoreError::NotUnique),
                Outcome::ConditionFailed(Role::Link(link)) => return Err(StoreError::MissingLink(link)),
                Outcome::ConditionFailed(_) => {
                    return Err(StoreError::Backend(format!("id {} is already taken", record.id)));
                }
                Outcome::Conflict => backoff(attempt).await,
            }
        }
        Err(StoreError::Backend("create kept conflicting".into()))
    }

    async fn get(&self, scope: &Scope, id: u64) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(record_pk(scope, id), RECORD_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item.map(parse_record).transpose()
    }

    async fn find_by_reference(&self, scope: &Scope, reference: &str) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(guard_pk(scope, reference), GUARD_SK)))
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

    async fn get_many(&self, scope: &Scope, ids: &[u64]) -> Result<Vec<Record>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let keys = chunk
                .iter()
                .map(|id| key(record_pk(scope, *id), RECORD_SK))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            );
            for attempt in 0..ATTEMPTS * 2 {
                let Some(keys) = request.take() else { break };
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
                if request.is_some() {
                    backoff(attempt).await;
                }
            }
            if request.is_some() {
                return Err(StoreError::Backend("batch read kept being throttled".into()));
            }
        }
        Ok(found)
    }

    async fn update(&self, scope: &Scope, id: u64, patch: Patch) -> Result<Record, StoreError> {
        let mut names = HashMap::from([("#lu".to_owned(), "lastUpdated".to_owned())]);
        let mut values = HashMap::from([(":lu".to_owned(), s(patch.now.to_string()))]);
        let mut sets = vec!["#lu = :lu".to_owned()];
        for (i, (name, value)) in patch.fields.iter().enumerate() {
            debug_assert!(
                !SYSTEM_ATTRIBUTES.contains(&name.as_str()),
                "field {name} is reserved"
            );
            names.insert(format!("#f{i}"), name.clone());
            values.insert(format!(":f{i}"), to_attribute(value)?);
            sets.push(format!("#f{i} = :f{i}"));
        }
        let new_links = patch.links.map(normalize_links);

        for attempt in 0..ATTEMPTS {
            let current = if patch.reference.is_some() || new_links.is_some() {
                Some(self.get(scope, id).await?.ok_or(StoreError::NotFound)?)
            } else {
                None
            };
            let rename = current
                .as_ref()
                .zip(patch.reference.as_ref())
                .filter(|(current, new)| current.reference != **new)
                .map(|(current, new)| (current.reference.clone(), new.clone()));
            let relink = current
                .as_ref()
                .zip(new_links.as_ref())
                .filter(|(current, links)| current.links != **links)
                .map(|(current, links)| (current.links.clone(), links.clone()));

            let Some(current) = current.filter(|_| rename.is_some() || relink.is_some()) else {
                let out = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(record_pk(scope, id), RECORD_SK)))
                    .update_expression(format!("SET {}", sets.join(", ")))
                    .condition_expression("attribute_exists(pk)")
                    .set_expression_attribute_names(Some(names.clone()))
                    .set_expression_attribute_values(Some(values.clone()))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await;
                return match out {
                    Ok(out) => parse_record(out.attributes.unwrap_or_default()),
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                    {
                        Err(StoreError::NotFound)
                    }
                    Err(error) => Err(backend(error)),
                };
            };

            // The record's reference and links as read are the condition: a concurrent rename or
            // relink makes this transaction fail and the loop starts again from a fresh read.
            let mut names = names.clone();
            let mut values = values.clone();
            let mut sets = sets.clone();
            names.insert("#ref".into(), "reference".into());
            names.insert("#links".into(), "links".into());
            values.insert(":old".into(), s(&current.reference));
            values.insert(":oldLinks".into(), links_attribute(&current.links));
            let mut guards = Vec::new();
            if let Some((old, new)) = &rename {
                names.insert("#refKey".into(), "referenceKey".into());
                values.insert(":ref".into(), s(new));
                values.insert(":refKey".into(), s(reference_key(new, id)));
                sets.push("#ref = :ref".into());
                sets.push("#refKey = :refKey".into());
                guards.push(self.guard_delete(scope, old, id)?);
                guards.push(self.guard_put(scope, new, id)?);
            }
            let mut link_actions = Vec::new();
            if let Some((old, new)) = &relink {
                values.insert(":links".into(), links_attribute(new));
                sets.push("#links = :links".into());
                let (removed, added) = link_changes(old, new);
                link_actions.extend(self.link_updates(scope, &removed, -1)?);
                link_actions.extend(self.link_updates(scope, &added, 1)?);
            }
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(record_pk(scope, id), RECORD_SK)))
                .update_expression(format!("SET {}", sets.join(", ")))
                .condition_expression("attribute_exists(pk) AND #ref = :old AND #links = :oldLinks")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut actions = vec![(Role::Record, TransactWriteItem::builder().update(update).build())];
            actions.extend(guards);
            actions.extend(link_actions);
            match self.transact(actions).await? {
                Outcome::Done => return self.get(scope, id).await?.ok_or(StoreError::NotFound),
                Outcome::ConditionFailed(Role::NewGuard) => return Err(StoreError::NotUnique),
                Outcome::ConditionFailed(Role::Link(link)) => return Err(StoreError::MissingLink(link)),
                Outcome::ConditionFailed(_) | Outcome::Conflict => backoff(attempt).await,
            }
        }
        Err(StoreError::Backend("update kept conflicting".into()))
    }

    async fn delete(&self, scope: &Scope, id: u64) -> Result<(), StoreError> {
        for attempt in 0..ATTEMPTS {
            let current = self.get(scope, id).await?.ok_or(StoreError::NotFound)?;
            if current.dependents > 0 {
                return Err(StoreError::InUse);
            }
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(record_pk(scope, id), RECORD_SK)))
                .condition_expression(
                    "attribute_exists(pk) AND #ref = :ref AND (attribute_not_exists(#d) OR #d = :zero)",
                )
                .expression_attribute_names("#ref", "reference")
                .expression_attribute_names("#d", "dependents")
                .expression_attribute_values(":ref", s(&current.reference))
                .expression_attribute_values(":zero", n(0))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut actions = vec![
                (Role::Record, TransactWriteItem::builder().delete(delete).build()),
                self.guard_delete(scope, &current.reference, id)?,
                self.count_update(scope, -1)?,
            ];
            actions.extend(self.link_updates(scope, &current.links, -1)?);
            match self.transact(actions).await? {
                Outcome::Done => return Ok(()),
                Outcome::ConditionFailed(_) | Outcome::Conflict => backoff(attempt).await,
            }
        }
        Err(StoreError::Backend("delete kept conflicting".into()))
    }

    async fn list(&self, scope: &Scope, query: &ListQuery) -> Result<ListPage, StoreError> {
        if query.date_created.is_empty() || query.last_updated.is_empty() {
            return Ok(ListPage {
                total: 0,
                records: Vec::new(),
                items_read: 0,
            });
        }
        match Plan::choose(query) {
            Plan::Stream(range) => self.stream(scope, query, &range).await,
            Plan::Collect(range) => self.collect(scope, query, &range).await,
        }
    }
}

const REFERENCE_DATA_SK: &str = "reference-data";

fn reference_data_key(org: &Organization) -> HashMap<String, AttributeValue> {
    key(format!("{}#reference-data", org.as_str()), REFERENCE_DATA_SK)
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
                .map_err(|e| StoreError::Backend(e.to_string())),
            None => Ok(None),
        }
    }

    async fn put_reference_data(&self, org: &Organization, data: &ReferenceData) -> Result<(), StoreError> {
        let mut item = reference_data_key(org);
        item.insert(
            "data".into(),
            serde_dynamo::to_attribute_value(data).map_err(|e| StoreError::Backend(e.to_string()))?,
        );
        self.put_item(item).await
    }
}
