//! Records as DynamoDB items: the system attributes the store manages, beside one attribute per
//! resource field (named as the field serialises).

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{Item, n, record_key, s};
use super::plan::{active_scope, category_scope};
use crate::model::{Fields, Link, Record, Scope, StoreError};
use crate::time::Timestamp;
use crate::values::Reference;

/// Attributes the store manages; a resource field may not use these names.
pub const SYSTEM_ATTRIBUTES: [&str; 16] = [
    "pk",
    "sk",
    "scope",
    "createdKey",
    "referenceKey",
    "updatedKey",
    "nameKey",
    "activeScope",
    "categoryScope",
    "id",
    "reference",
    "dateCreated",
    "lastUpdated",
    "links",
    "dependents",
    "version",
];

fn mapping(error: serde_dynamo::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// The item of `record`: its key, the index keys, the system attributes and its fields.
pub(super) fn record_item<F: Fields>(scope: &Scope<F>, record: &Record<F>) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(&record.fields).map_err(mapping)?;
    debug_assert!(
        item.keys()
            .all(|name| !SYSTEM_ATTRIBUTES.contains(&name.as_str())),
        "a field uses a reserved attribute name"
    );
    item.extend(record_key(&scope.key(), record.id));
    item.insert("scope".into(), s(scope.key()));
    item.insert("createdKey".into(), s(record.created_key()));
    item.insert("referenceKey".into(), s(record.reference_key()));
    item.insert("updatedKey".into(), s(record.updated_key()));
    item.insert("nameKey".into(), s(record.name_key()));
    if let Some(active) = record.fields.active() {
        item.insert("activeScope".into(), s(active_scope(&scope.key(), active)));
    }
    if let Some(group) = record.fields.category() {
        item.insert("categoryScope".into(), s(category_scope(&scope.key(), group)));
    }
    item.insert("id".into(), n(record.id));
    item.insert("reference".into(), s(record.reference.as_str()));
    item.insert("dateCreated".into(), s(record.date_created.to_string()));
    item.insert("lastUpdated".into(), s(record.last_updated.to_string()));
    item.insert("links".into(), links_attribute(&record.links));
    item.insert("version".into(), n(record.version));
    Ok(item)
}

/// The `links` attribute: a list of `<kind>#<id>` strings.
pub(super) fn links_attribute(links: &[Link]) -> AttributeValue {
    AttributeValue::L(links.iter().map(|l| s(l.to_string())).collect())
}

/// The attributes a patch writes (`NULL` clears one).
pub(super) fn patch_attributes<F: Fields>(patch: &F::Patch) -> Result<Item, StoreError> {
    serde_dynamo::to_item(patch).map_err(mapping)
}

/// The record an item holds.
pub(super) fn parse_record<F: Fields>(mut item: Item) -> Result<Record<F>, StoreError> {
    let corrupt = |what: &str| StoreError::Backend(format!("stored record has a bad {what}"));
    let mut text = |name: &str| match item.remove(name) {
        Some(AttributeValue::S(text)) => Ok(text),
        _ => Err(corrupt(name)),
    };
    let reference = text("reference")?;
    let date_created: Timestamp = text("dateCreated")?.parse().map_err(|_| corrupt("dateCreated"))?;
    let last_updated: Timestamp = text("lastUpdated")?.parse().map_err(|_| corrupt("lastUpdated"))?;
    let id = match item.remove("id") {
        Some(AttributeValue::N(id)) => id.parse().map_err(|_| corrupt("id"))?,
        _ => return Err(corrupt("id")),
    };
    let links = match item.remove("links") {
        Some(AttributeValue::L(links)) => links
            .iter()
            .map(|l| l.as_s().map_err(|_| corrupt("links")).and_then(|l| l.parse()))
            .collect::<Result<Vec<Link>, _>>()?,
        _ => Vec::new(),
    };
    let version = number(&item, "version").unwrap_or(0);
    let version = u64::try_from(version).map_err(|_| corrupt("version"))?;
    item.retain(|name, _| !SYSTEM_ATTRIBUTES.contains(&name.as_str()));
    Ok(Record {
        id,
        reference: Reference::stored(reference),
        date_created,
        last_updated,
        fields: serde_dynamo::from_item(item).map_err(mapping)?,
        links,
        version,
    })
}

/// A number attribute of `item`, if it has one.
pub(super) fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{GroupFields, GroupPatch};
    use crate::model::{Kind, Organization};
    use crate::values::{LongText, Name};

    fn group() -> Record<GroupFields> {
        Record {
            id: 12,
            reference: Reference::parse("Ref-01").expect("reference"),
            date_created: "2016-08-15T14:52:48Z".parse().expect("timestamp"),
            last_updated: "2017-01-01T00:00:00Z".parse().expect("timestamp"),
            fields: GroupFields {
                name: Name::parse("Magasins").expect("name"),
                description: LongText::new("desc").expect("fits"),
            },
            links: vec![Link {
                kind: Kind::Customer,
                id: 3,
            }],
            version: 4,
        }
    }

    #[test]
    fn records_round_trip_with_their_keys() {
        let scope = Scope::<GroupFields>::new(&Organization::parse("entity1").expect("org"));
        let record = group();
        let mut item = record_item(&scope, &record).expect("item");
        assert_eq!(item["pk"], s("entity1#group#12"));
        assert_eq!(item["scope"], s("entity1#group"));
        assert_eq!(item["createdKey"], s("2016-08-15T14:52:48Z#00000000000000000012"));
        assert_eq!(item["referenceKey"], s(format!("ref-01\0\0{:020}", 12)));
        assert_eq!(item["name"], s("Magasins"));
        item.insert("dependents".into(), n(2));
        let read: Record<GroupFields> = parse_record(item).expect("parses");
        assert_eq!(
            read, record,
            "the dependents count is the store's, not the record's"
        );
    }

    #[test]
    fn absent_fields_are_no_attributes_and_a_patch_names_what_it_writes() {
        let scope = Scope::<GroupFields>::new(&Organization::parse("entity1").expect("org"));
        let mut record = group();
        record.fields.description = None;
        let item = record_item(&scope, &record).expect("item");
        assert!(!item.contains_key("description"));
        let patch = GroupPatch {
            name: None,
            description: Some(None),
        };
        let attributes = patch_attributes::<GroupFields>(&patch).expect("attributes");
        assert_eq!(attributes.len(), 1);
        assert_eq!(attributes["description"], AttributeValue::Null(true));
    }

    #[test]
    fn a_damaged_item_is_a_backend_failure_not_a_panic() {
        let scope = Scope::<GroupFields>::new(&Organization::parse("entity1").expect("org"));
        let item = record_item(&scope, &group()).expect("item");
        for (name, value) in [
            ("id", s("x")),
            ("dateCreated", s("yesterday")),
            ("name", AttributeValue::L(Vec::new())),
        ] {
            let mut damaged = item.clone();
            damaged.insert(name.into(), value);
            assert!(
                matches!(parse_record::<GroupFields>(damaged), Err(StoreError::Backend(_))),
                "{name}"
            );
        }
    }
}
