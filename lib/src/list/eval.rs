//! Evaluating a list query on records: the one definition of what matches and in which order,
//! used by every store.

use std::cmp::Ordering;

use super::{ListQuery, Order, Sort};
use crate::model::Record;

impl<F: 'static> ListQuery<F> {
    /// Whether `record` passes every filter.
    pub fn matches(&self, record: &Record<F>) -> bool {
        self.date_created.contains(record.date_created)
            && self.last_updated.contains(record.last_updated)
            && self
                .reference
                .as_ref()
                .is_none_or(|p| p.matches(record.reference.as_str()))
            && self
                .text
                .iter()
                .all(|(field, pattern)| (field.text)(&record.fields).is_some_and(|v| pattern.matches(v)))
            && self
                .flags
                .iter()
                .all(|(field, wanted)| (field.flag)(&record.fields) == Some(*wanted))
            && self
                .id_sets
                .iter()
                .all(|set| (set.id)(&record.fields).is_some_and(|id| set.ids.contains(&id)))
    }

    /// The query's total order on records (ties broken by id, so no two records compare equal).
    pub fn compare(&self, a: &Record<F>, b: &Record<F>) -> Ordering {
        let ascending = match self.sort {
            Sort::Id => a.id.cmp(&b.id),
            Sort::DateCreated => (a.date_created, a.id).cmp(&(b.date_created, b.id)),
            Sort::LastUpdated => (a.last_updated, a.id).cmp(&(b.last_updated, b.id)),
            Sort::Reference => a.reference_key().cmp(&b.reference_key()),
            Sort::Field(field) => (field.compare)(&a.fields, &b.fields).then(a.id.cmp(&b.id)),
            Sort::Linked(link) => {
                let rank = |r: &Record<F>| (link.id)(&r.fields).and_then(|id| self.ranks.get(&id));
                rank(a).cmp(&rank(b)).then(a.id.cmp(&b.id))
            }
        };
        match self.order {
            Order::Asc => ascending,
            Order::Desc => ascending.reverse(),
        }
    }

    /// Filters, sorts and pages `records` in memory; returns the total and the page.
    pub fn select(&self, records: impl IntoIterator<Item = Record<F>>) -> (u64, Vec<Record<F>>) {
        let mut matching: Vec<Record<F>> = records.into_iter().filter(|r| self.matches(r)).collect();
        matching.sort_by(|a, b| self.compare(a, b));
        let total = matching.len() as u64;
        let page = matching
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.max).unwrap_or(usize::MAX))
            .collect();
        (total, page)
    }
}

#[cfg(test)]
mod tests {
    use crate::groups::{GroupFields, LIST_SPEC};
    use crate::list::ListQuery;
    use crate::model::Record;
    use crate::values::{Name, Reference};

    fn parse(query: &str) -> ListQuery<GroupFields> {
        ListQuery::parse(&LIST_SPEC, query).expect("valid query")
    }

    fn record(id: u64, reference: &str, name: &str, created: &str) -> Record<GroupFields> {
        Record {
            id,
            reference: Reference::parse(reference).expect("reference"),
            date_created: created.parse().expect("timestamp"),
            last_updated: created.parse().expect("timestamp"),
            fields: GroupFields {
                name: Name::parse(name).expect("name"),
                description: None,
            },
            links: Vec::new(),
            version: 1,
        }
    }

    #[test]
    fn select_filters_sorts_and_pages_with_id_tie_break() {
        let records = vec![
            record(3, "B", "beta", "2020-01-01T00:00:00Z"),
            record(1, "a", "Alpha", "2020-01-01T00:00:00Z"),
            record(2, "c", "gamma", "2019-01-01T00:00:00Z"),
            record(4, "A2", "alpha", "2021-01-01T00:00:00Z"),
        ];
        let ids = |q: &str| {
            parse(q)
                .select(records.clone())
                .1
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(""), vec![2, 1, 3, 4]);
        assert_eq!(ids("order=desc"), vec![4, 3, 1, 2]);
        assert_eq!(ids("sort=reference"), vec![1, 4, 3, 2]);
        assert_eq!(ids("sort=name"), vec![1, 4, 3, 2]);
        assert_eq!(ids("name=ALPHA"), vec![1, 4]);
        assert_eq!(ids("reference=a*&max=1&offset=1"), vec![4]);
        let (total, _) = parse("reference=a*&max=1").select(records.clone());
        assert_eq!(total, 2);
        assert_eq!(
            ids("dateCreated_gte=2020-01-01T00:00:00Z&dateCreated_lt=2021-01-01T00:00:00Z"),
            vec![1, 3]
        );
    }
}
