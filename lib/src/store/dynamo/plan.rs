//! Query plans: which index range answers a list query, and whether the range holds exactly the
//! matching records in order (read just the page) or must be filtered and sorted in memory.

use super::keys::{BY_ACTIVE, BY_CATEGORY, BY_DATE_CREATED, BY_LAST_UPDATED, BY_NAME, BY_REFERENCE};
use crate::list::{DateRange, ListQuery, Sort};
use crate::model::{exact_reference_key, name_key_prefix, reference_key_prefix};

/// A key range of one index, inside one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IndexRange {
    /// The index.
    pub index: &'static str,
    /// Which of the scope's partitions of the index.
    pub partition: Partition,
    /// Its sort key attribute.
    pub sort_key: &'static str,
    /// The range of sort keys.
    pub bounds: Bounds,
}

/// A partition of an index, inside one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Partition {
    /// The scope's records (`scope`).
    Scope,
    /// The scope's records whose `isActive` is this (`activeScope`; records without it are in
    /// none).
    Active(bool),
    /// The scope's records in this group (`categoryScope`).
    Category(u64),
}

impl Partition {
    /// The index's partition key attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Partition::Scope => "scope",
            Partition::Active(_) => "activeScope",
            Partition::Category(_) => "categoryScope",
        }
    }

    /// The partition key of `scope_key`'s records.
    pub fn key(self, scope_key: &str) -> String {
        match self {
            Partition::Scope => scope_key.to_owned(),
            Partition::Active(active) => active_scope(scope_key, active),
            Partition::Category(group) => category_scope(scope_key, group),
        }
    }
}

/// The `byActive` index's partition key: `<scope>#active=<true|false>`.
pub(super) fn active_scope(scope_key: &str, active: bool) -> String {
    format!("{scope_key}#active={active}")
}

/// The `byCategory` index's partition key: `<scope>#category=<group id>`.
pub(super) fn category_scope(scope_key: &str, group: u64) -> String {
    format!("{scope_key}#category={group}")
}

/// The most groups a `categoryReference` filter is read through their `byCategory` partitions
/// for; one matching more reads the organization's records.
pub(super) const MAX_CATEGORY_PARTITIONS: usize = 16;

/// A range of sort keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bounds {
    All,
    From(String),
    To(String),
    Between(String, String),
    Prefix(String),
}

/// How a list query is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// The index range holds exactly the matching records in the requested order: skip the
    /// offset with a count-only read and read just the page.
    Stream(IndexRange),
    /// The ranges (a few partitions of one index) hold exactly the matching records, each in the
    /// requested order: read the first `offset + max` keys of each, merge them, fetch the page.
    Merge(Vec<IndexRange>),
    /// Read the narrowest ranges (one, or a few partitions of one index), then filter, sort and
    /// page in memory; no range at all when nothing can match.
    Collect(Vec<IndexRange>),
    /// The only filters are name or reference wildcards no range serves (`*ab*`), or none with
    /// `sort=id`: match them on the scope's narrow `byName` entries (keys, name, lower-cased
    /// reference), then read only what the page needs.
    Narrow,
}

pub(super) fn whole(index: &'static str, sort_key: &'static str) -> IndexRange {
    IndexRange {
        index,
        partition: Partition::Scope,
        sort_key,
        bounds: Bounds::All,
    }
}

impl Plan {
    /// The cheapest plan for `query`.
    pub fn choose<F>(query: &ListQuery<F>) -> Plan {
        let filters = query.filter_count();
        let by_date = time_range(&query.date_created, BY_DATE_CREATED, "createdKey");
        let by_update = time_range(&query.last_updated, BY_LAST_UPDATED, "updatedKey");
        let reference = query.reference.as_ref();
        let by_reference = reference.filter(|p| !p.prefix().is_empty()).map(|p| {
            let (start, whole) = reference_key_prefix(p.prefix());
            let prefix = match p.is_exact() {
                true => exact_reference_key(p.prefix()).unwrap_or(start),
                false => start,
            };
            let range = IndexRange {
                index: BY_REFERENCE,
                partition: Partition::Scope,
                sort_key: "referenceKey",
                bounds: Bounds::Prefix(prefix),
            };
            (range, whole)
        });
        // The range holds exactly the matches of `literal*` when the whole literal is in the keys.
        let exact_range = reference.is_some_and(|p| p.is_pure_prefix())
            && by_reference.as_ref().is_some_and(|(_, whole)| *whole);
        let by_reference = by_reference.map(|(range, _)| range);
        let name = query
            .text
            .iter()
            .find(|(field, _)| field.name == "name")
            .map(|(_, pattern)| pattern);
        let by_name = name.filter(|p| !p.prefix().is_empty()).map(|p| {
            let (start, whole) = name_key_prefix(p.prefix());
            let prefix = match p.is_exact() && whole {
                true => format!("{start}\0\0"),
                false => start,
            };
            let range = IndexRange {
                index: BY_NAME,
                partition: Partition::Scope,
                sort_key: "nameKey",
                bounds: Bounds::Prefix(prefix),
            };
            (range, whole)
        });
        let exact_name_range =
            name.is_some_and(|p| p.is_pure_prefix()) && by_name.as_ref().is_some_and(|(_, whole)| *whole);
        let by_name = by_name.map(|(range, _)| range);
        let by_name_order = matches!(query.sort, Sort::Field(field) if field.name == "name");
        let by_category: Option<Vec<IndexRange>> = query
            .id_sets
            .iter()
            .find(|set| set.name == "categoryReference")
            .filter(|set| set.ids.len() <= MAX_CATEGORY_PARTITIONS)
            .map(|set| {
                let mut groups = set.ids.clone();
                groups.sort_unstable();
                groups.dedup();
                groups
                    .into_iter()
                    .map(|group| IndexRange {
                        index: BY_CATEGORY,
                        partition: Partition::Category(group),
                        sort_key: "createdKey",
                        bounds: Bounds::All,
                    })
                    .collect()
            });
        let one_category = by_category
            .as_ref()
            .filter(|ranges| ranges.len() == 1)
            .and_then(|ranges| ranges.first().cloned());
        let by_active = query
            .flags
            .iter()
            .find(|(field, _)| field.name == "isActive")
            .map(|(_, wanted)| IndexRange {
                index: BY_ACTIVE,
                partition: Partition::Active(*wanted),
                sort_key: "createdKey",
                bounds: Bounds::All,
            });

        let streamed = match (query.sort, filters) {
            (_, 0) if by_name_order => Some(whole(BY_NAME, "nameKey")),
            (_, 1) if by_name_order && exact_name_range => by_name.clone(),
            (Sort::DateCreated, 0) => Some(whole(BY_DATE_CREATED, "createdKey")),
            (Sort::LastUpdated, 0) => Some(whole(BY_LAST_UPDATED, "updatedKey")),
            (Sort::Reference, 0) => Some(whole(BY_REFERENCE, "referenceKey")),
            (Sort::DateCreated, 1) => by_date
                .clone()
                .or_else(|| by_active.clone())
                .or_else(|| one_category.clone()),
            (Sort::LastUpdated, 1) => by_update.clone(),
            (Sort::Reference, 1) if exact_range => by_reference.clone(),
            _ => None,
        };
        let only_wildcards = query.flags.is_empty()
            && query.id_sets.is_empty()
            && query.linked.is_empty()
            && query.date_created.is_unbounded()
            && query.last_updated.is_unbounded()
            && query.text.iter().all(|(field, _)| field.name == "name")
            && (query.reference.is_some() || !query.text.is_empty() || query.sort == Sort::Id);
        let no_range = by_reference.is_none() && by_name.is_none() && by_category.is_none();
        let merged = match (query.sort, filters, &by_category) {
            (Sort::DateCreated, 1, Some(partitions)) if partitions.len() > 1 => Some(partitions.clone()),
            _ => None,
        };
        match (streamed, merged) {
            (Some(range), _) => Plan::Stream(range),
            (None, Some(partitions)) => Plan::Merge(partitions),
            (None, None) if only_wildcards && no_range => Plan::Narrow,
            (None, None) => Plan::Collect(match (by_reference.or(by_name), by_category) {
                (Some(range), _) => vec![range],
                (None, Some(partitions)) => partitions,
                (None, None) => vec![
                    by_date
                        .or(by_update)
                        .or(by_active)
                        .unwrap_or_else(|| whole(BY_DATE_CREATED, "createdKey")),
                ],
            }),
        }
    }
}

/// The range of a time index (`<time>#<id>` keys) that holds `range`, if it is bounded.
fn time_range(range: &DateRange, index: &'static str, sort_key: &'static str) -> Option<IndexRange> {
    if range.is_unbounded() {
        return None;
    }
    let from = range.from.map(|ts| format!("{ts}#"));
    let to = range.to.map(|ts| format!("{ts}$"));
    let bounds = match (from, to) {
        (Some(from), Some(to)) => Bounds::Between(from, to),
        (Some(from), None) => Bounds::From(from),
        (None, Some(to)) => Bounds::To(to),
        (None, None) => Bounds::All,
    };
    Some(IndexRange {
        index,
        partition: Partition::Scope,
        sort_key,
        bounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{GroupFields, LIST_SPEC};

    fn plan(text: &str) -> Plan {
        Plan::choose(&ListQuery::<GroupFields>::parse(&LIST_SPEC, text).expect("valid query"))
    }

    fn range(index: &'static str, sort_key: &'static str, bounds: Bounds) -> IndexRange {
        IndexRange {
            index,
            partition: Partition::Scope,
            sort_key,
            bounds,
        }
    }

    #[test]
    fn the_index_order_streams_just_the_page() {
        assert_eq!(
            plan("max=10&offset=30"),
            Plan::Stream(whole(BY_DATE_CREATED, "createdKey"))
        );
        assert_eq!(
            plan("order=desc"),
            Plan::Stream(whole(BY_DATE_CREATED, "createdKey"))
        );
        assert_eq!(
            plan("sort=reference"),
            Plan::Stream(whole(BY_REFERENCE, "referenceKey"))
        );
        assert_eq!(
            plan("dateCreated_gte=2016-08-15T00:00:00Z&dateCreated_lt=2016-08-16T00:00:00Z"),
            Plan::Stream(range(
                BY_DATE_CREATED,
                "createdKey",
                Bounds::Between("2016-08-15T00:00:00Z#".into(), "2016-08-15T23:59:59Z$".into())
            ))
        );
        assert_eq!(
            plan("sort=name&order=desc&offset=20"),
            Plan::Stream(whole(BY_NAME, "nameKey"))
        );
        assert_eq!(
            plan("sort=name&name=AL*"),
            Plan::Stream(range(BY_NAME, "nameKey", Bounds::Prefix("al".into())))
        );
        assert_eq!(
            plan("sort=lastUpdated&order=desc&offset=20"),
            Plan::Stream(whole(BY_LAST_UPDATED, "updatedKey"))
        );
        assert_eq!(
            plan("sort=lastUpdated&lastUpdated_gt=2016-08-15T00:00:00Z"),
            Plan::Stream(range(
                BY_LAST_UPDATED,
                "updatedKey",
                Bounds::From("2016-08-15T00:00:01Z#".into())
            ))
        );
        assert_eq!(
            plan("sort=reference&reference=Ref-6*"),
            Plan::Stream(range(
                BY_REFERENCE,
                "referenceKey",
                Bounds::Prefix("ref-6".into())
            ))
        );
    }

    #[test]
    fn anything_else_reads_the_narrowest_range_and_filters() {
        assert_eq!(
            plan("reference=Ref-6"),
            Plan::Collect(vec![range(
                BY_REFERENCE,
                "referenceKey",
                Bounds::Prefix("ref-6\0\0".into())
            )])
        );
        assert_eq!(
            plan("reference=Ref*6&sort=reference"),
            Plan::Collect(vec![range(
                BY_REFERENCE,
                "referenceKey",
                Bounds::Prefix("ref".into())
            )])
        );
        assert_eq!(
            plan("sort=name&dateCreated_gt=2016-08-15T00:00:00Z"),
            Plan::Collect(vec![range(
                BY_DATE_CREATED,
                "createdKey",
                Bounds::From("2016-08-15T00:00:01Z#".into())
            )])
        );
        assert_eq!(
            plan("sort=reference&reference=m%23*"),
            Plan::Stream(range(BY_REFERENCE, "referenceKey", Bounds::Prefix("m#".into())))
        );
        let long = "\u{1F600}".repeat(255);
        let cut = "\u{1F600}".repeat(250);
        assert_eq!(
            plan(&format!("sort=reference&reference={long}*")),
            Plan::Collect(vec![range(
                BY_REFERENCE,
                "referenceKey",
                Bounds::Prefix(cut.clone())
            )])
        );
        assert_eq!(
            plan(&format!("reference={long}")),
            Plan::Collect(vec![range(BY_REFERENCE, "referenceKey", Bounds::Prefix(cut))])
        );
        assert_eq!(
            plan("lastUpdated_lte=2016-08-15T00:00:00Z&name=*a"),
            Plan::Collect(vec![range(
                BY_LAST_UPDATED,
                "updatedKey",
                Bounds::To("2016-08-15T00:00:00Z$".into())
            )])
        );
        assert_eq!(
            plan("lastUpdated_lte=2016-08-15T00:00:00Z&dateCreated_gte=2016-01-01T00:00:00Z"),
            Plan::Collect(vec![range(
                BY_DATE_CREATED,
                "createdKey",
                Bounds::From("2016-01-01T00:00:00Z#".into())
            )])
        );
        assert_eq!(
            plan("name=Al*"),
            Plan::Collect(vec![range(BY_NAME, "nameKey", Bounds::Prefix("al".into()))])
        );
        assert_eq!(
            plan("name=ALPHA&sort=name"),
            Plan::Collect(vec![range(
                BY_NAME,
                "nameKey",
                Bounds::Prefix("alpha\0\0".into())
            )])
        );
        assert_eq!(
            plan("sort=name&name=al*&dateCreated_gt=2016-08-15T00:00:00Z"),
            Plan::Collect(vec![range(BY_NAME, "nameKey", Bounds::Prefix("al".into()))])
        );
        assert_eq!(plan("name=*a*"), Plan::Narrow);
        assert_eq!(
            plan("sort=id&order=desc"),
            Plan::Narrow,
            "ids are in the narrow entries' keys"
        );
        assert_eq!(
            plan("reference=*x&name=*a*&sort=lastUpdated&offset=5"),
            Plan::Narrow
        );
        assert_eq!(
            plan("name=*a*&dateCreated_gte=2016-08-15T00:00:00Z&sort=description"),
            Plan::Collect(vec![range(
                BY_DATE_CREATED,
                "createdKey",
                Bounds::From("2016-08-15T00:00:00Z#".into())
            )])
        );
        assert_eq!(
            plan("sort=description"),
            Plan::Collect(vec![whole(BY_DATE_CREATED, "createdKey")])
        );
        assert_eq!(
            plan("sort=dateCreated&dateCreated_lte=2016-08-15T00:00:00Z&name=*a"),
            Plan::Collect(vec![range(
                BY_DATE_CREATED,
                "createdKey",
                Bounds::To("2016-08-15T00:00:00Z$".into())
            )])
        );
    }

    #[test]
    fn an_active_flag_reads_its_partition() {
        use crate::customers::{CustomerFields, LIST_SPEC as CUSTOMERS};
        let plan = |text: &str| {
            Plan::choose(&ListQuery::<CustomerFields>::parse(&CUSTOMERS, text).expect("valid query"))
        };
        let active = |wanted: bool| IndexRange {
            index: BY_ACTIVE,
            partition: Partition::Active(wanted),
            sort_key: "createdKey",
            bounds: Bounds::All,
        };
        assert_eq!(plan("isActive=false&offset=10"), Plan::Stream(active(false)));
        assert_eq!(plan("isActive=TRUE&order=desc"), Plan::Stream(active(true)));
        assert_eq!(plan("isActive=true&sort=name"), Plan::Collect(vec![active(true)]));
        assert_eq!(
            plan("isActive=false&name=al*"),
            Plan::Collect(vec![range(BY_NAME, "nameKey", Bounds::Prefix("al".into()))])
        );
        assert_eq!(
            Partition::Active(true).key("org#customer"),
            "org#customer#active=true"
        );
    }

    #[test]
    fn a_category_filter_reads_its_groups_partitions() {
        use crate::customers::{CustomerFields, LIST_SPEC as CUSTOMERS};
        use crate::list::IdSet;
        let plan = |text: &str, groups: &[u64]| {
            let mut query = ListQuery::<CustomerFields>::parse(&CUSTOMERS, text).expect("valid query");
            query.take_linked("categoryReference").expect("a category filter");
            query.id_sets.push(IdSet {
                name: "categoryReference",
                id: |c| c.category_id,
                ids: groups.to_vec(),
            });
            Plan::choose(&query)
        };
        let group = |id: u64| IndexRange {
            index: BY_CATEGORY,
            partition: Partition::Category(id),
            sort_key: "createdKey",
            bounds: Bounds::All,
        };
        assert_eq!(
            plan("categoryReference=x*&offset=5", &[7]),
            Plan::Stream(group(7))
        );
        assert_eq!(
            plan("categoryReference=x*", &[9, 7, 9]),
            Plan::Merge(vec![group(7), group(9)])
        );
        assert_eq!(
            plan("categoryReference=x*&isActive=true", &[9, 7]),
            Plan::Collect(vec![group(7), group(9)])
        );
        assert_eq!(
            plan("categoryReference=x*&sort=name", &[7]),
            Plan::Collect(vec![group(7)])
        );
        assert_eq!(plan("categoryReference=nothing", &[]), Plan::Collect(Vec::new()));
        let many: Vec<u64> = (1..=17).collect();
        assert_eq!(
            plan("categoryReference=*", &many),
            Plan::Collect(vec![whole(BY_DATE_CREATED, "createdKey")])
        );
        assert_eq!(
            plan("categoryReference=x*&name=al*", &[7]),
            Plan::Collect(vec![range(BY_NAME, "nameKey", Bounds::Prefix("al".into()))])
        );
        assert_eq!(
            Partition::Category(7).key("org#customer"),
            "org#customer#category=7"
        );
    }
}
