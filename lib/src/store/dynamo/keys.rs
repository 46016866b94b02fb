//! The table's key layout: which item of the one table holds what.
//!
//! | item | `pk` | `sk` |
//! | --- | --- | --- |
//! | record | `<org>#<kind>#<id>` | `record` |
//! | reference guard | `<org>#<kind>#ref#<reference>` | `guard` |
//! | id counter | `<org>#<kind>#next-id` | `counter` |
//! | record count, in shards | `<org>#<kind>#count` | `counter` (shard 0), `counter#1` … `counter#7` |
//! | a group's dependents count, shards 1–7 (shard 0 is the record's `dependents`) | `<org>#group#<id>#dependents` | `shard#1` … `shard#7` |
//! | reference data | `<org>#reference-data` | `reference-data` |
//! | an idempotency key (TTL attribute `expires`) | `<org>#idempotency#<key>` | `idempotency` |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::{Kind, Organization};

/// A DynamoDB item, or a key.
pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const RECORD_SK: &str = "record";
pub(super) const GUARD_SK: &str = "guard";
pub(super) const COUNTER_SK: &str = "counter";
const REFERENCE_DATA_SK: &str = "reference-data";

/// The index ordering a scope's records by creation (`scope`, `createdKey`).
pub(super) const BY_DATE_CREATED: &str = "byDateCreated";
/// The index ordering a scope's records by lower-cased reference (`scope`, `referenceKey`).
pub(super) const BY_REFERENCE: &str = "byReference";
/// The index ordering a scope's records by last update (`scope`, `updatedKey`).
pub(super) const BY_LAST_UPDATED: &str = "byLastUpdated";
/// The index ordering a scope's records by name (`scope`, `nameKey`).
pub(super) const BY_NAME: &str = "byName";
/// The index ordering a scope's active, and its inactive, records by creation (`activeScope` =
/// `<scope>#active=<bool>`, `createdKey`); records without `isActive` are not in it.
pub(super) const BY_ACTIVE: &str = "byActive";

/// The index ordering the customers of each group by creation (`categoryScope` =
/// `<scope>#category=<group id>`, `createdKey`); customers without a group are not in it.
pub(super) const BY_CATEGORY: &str = "byCategory";

/// The indexes projecting keys only (the table's key, the index's key; `byName` also the
/// `referenceKey`): a page read there is fetched from the table by key, and counting their
/// ranges reads keys, not whole items.
pub(super) const KEYS_ONLY: [&str; 4] = [BY_LAST_UPDATED, BY_NAME, BY_ACTIVE, BY_CATEGORY];

/// Whether `index` projects keys only.
pub(super) fn keys_only(index: &str) -> bool {
    KEYS_ONLY.contains(&index)
}

/// A string attribute.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key `{pk, sk}`.
pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// The key of record `id` of the scope `scope_key` (`<org>#<kind>`).
pub(super) fn record_key(scope_key: &str, id: u64) -> Item {
    key(format!("{scope_key}#{id}"), RECORD_SK)
}

/// The key of the guard holding `reference` in the scope.
pub(super) fn guard_key(scope_key: &str, reference: &str) -> Item {
    key(format!("{scope_key}#ref#{reference}"), GUARD_SK)
}

/// The key of the scope's id counter.
pub(super) fn id_counter_key(scope_key: &str) -> Item {
    key(format!("{scope_key}#next-id"), COUNTER_SK)
}

/// How many items the scope's record count is spread over. Every create and delete of the scope
/// adds to one of them at random, so a burst of creates does not queue on one item (DynamoDB
/// cancels concurrent transactions that touch the same item); `total` is their sum, read with
/// one query of their shared partition.
pub(super) const COUNT_SHARDS: u32 = 8;

/// The partition holding the scope's count shards.
pub(super) fn count_partition(scope_key: &str) -> String {
    format!("{scope_key}#count")
}

/// The key of count shard `shard` (shard 0 is the item a single count used to be).
pub(super) fn count_key(scope_key: &str, shard: u32) -> Item {
    let sk = if shard == 0 {
        COUNTER_SK.to_owned()
    } else {
        format!("{COUNTER_SK}#{shard}")
    };
    let mut item = key(count_partition(scope_key), COUNTER_SK);
    item.insert("sk".to_owned(), s(sk));
    item
}

/// Over how many places a record's dependents are counted: a group's over its record (shard 0,
/// the `dependents` attribute) and seven shard items written with it, so that many customers
/// joining one group at once do not queue on one item; a customer (as a parent) on its record.
pub(super) fn dependent_shards(kind: Kind) -> u32 {
    match kind {
        Kind::Group => 8,
        Kind::Customer => 1,
    }
}

/// The partition of record `id`'s dependents shards.
pub(super) fn dependents_partition(scope_key: &str, id: u64) -> String {
    format!("{scope_key}#{id}#dependents")
}

/// The key of dependents shard `shard` (1 or more) of record `id`.
pub(super) fn dependents_key(scope_key: &str, id: u64, shard: u32) -> Item {
    key(dependents_partition(scope_key, id), &format!("shard#{shard}"))
}

/// The key of the organization's idempotency key `name`.
pub(super) fn idempotency_key(org: &Organization, name: &str) -> Item {
    key(format!("{}#idempotency#{name}", org.as_str()), "idempotency")
}

/// The key of the organization's reference data.
pub(super) fn reference_data_key(org: &Organization) -> Item {
    key(format!("{}#reference-data", org.as_str()), REFERENCE_DATA_SK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(item: &Item, name: &str) -> String {
        item[name].as_s().cloned().unwrap_or_default()
    }

    #[test]
    fn every_key_starts_with_the_organization() {
        let org = Organization::parse("entity1").expect("org");
        let keys = [
            record_key("entity1#customer", 7),
            guard_key("entity1#customer", "NC-3"),
            count_key("entity1#group", 3),
            reference_data_key(&org),
        ];
        let pks: Vec<String> = keys.iter().map(|k| text(k, "pk")).collect();
        assert_eq!(
            pks,
            [
                "entity1#customer#7",
                "entity1#customer#ref#NC-3",
                "entity1#group#count",
                "entity1#reference-data"
            ]
        );
        let sks: Vec<String> = keys.iter().map(|k| text(k, "sk")).collect();
        assert_eq!(sks, ["record", "guard", "counter#3", "reference-data"]);
        assert_eq!(text(&count_key("entity1#group", 0), "sk"), "counter");
        assert_eq!(
            text(&id_counter_key("entity1#group"), "pk"),
            "entity1#group#next-id"
        );
    }
}
