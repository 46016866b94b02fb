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
    #[cfg(test)]
    pub fn select(&self, records: impl IntoIterator<Item = Record<F>>) -> (u64, Vec<Record<F>>) {
        let mut selection = self.selection();
        records.into_iter().for_each(|r| selection.offer(r));
        let (total, page, _) = selection.finish();
        (total, page)
    }

    /// An empty [`Selection`] for this query, to offer records one at a time.
    pub fn selection(&self) -> Selection<'_, F> {
        let keep = usize::try_from(self.offset.saturating_add(self.max)).unwrap_or(usize::MAX);
        Selection {
            query: self,
            keep,
            kept: Vec::new(),
            total: 0,
            held: 0,
        }
    }
}

/// A list query evaluated on records offered one at a time (a store streams its range through
/// it): every match is counted, and only the first `offset + max` matches in the query's order
/// are held — at most twice that many at any moment, whatever the number of records offered.
pub struct Selection<'q, F: 'static> {
    query: &'q ListQuery<F>,
    /// `offset + max`: the matches that can still reach the page.
    keep: usize,
    kept: Vec<Record<F>>,
    total: u64,
    /// The most records held at once.
    held: usize,
}

impl<F: 'static> Selection<'_, F> {
    /// Counts `record` if it matches and keeps it while it can still reach the page.
    pub fn offer(&mut self, record: Record<F>) {
        if !self.query.matches(&record) {
            return;
        }
        self.total += 1;
        if self.keep == 0
            || self
                .query
                .after
                .as_ref()
                .is_some_and(|a| !a.admits(&record, self.query.order))
        {
            return;
        }
        self.kept.push(record);
        self.held = self.held.max(self.kept.len());
        if self.kept.len() >= self.keep.saturating_mul(2).max(64) {
            self.trim();
        }
    }

    /// Drops every kept record after the first `keep` in the query's order (linear time).
    fn trim(&mut self) {
        if self.kept.len() > self.keep {
            let query = self.query;
            self.kept
                .select_nth_unstable_by(self.keep - 1, |a, b| query.compare(a, b));
            self.kept.truncate(self.keep);
        }
    }

    /// The total of matches, the page, and the most records held at once.
    pub fn finish(mut self) -> (u64, Vec<Record<F>>, usize) {
        self.trim();
        let query = self.query;
        self.kept.sort_by(|a, b| query.compare(a, b));
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let page = self.kept.into_iter().skip(offset).collect();
        (self.total, page, self.held)
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

    #[test]
    fn a_selection_holds_what_can_reach_the_page_not_the_tenant() {
        let records: Vec<_> = (1..=5_000u64)
            .map(|id| {
                let name = format!("n{:04}", (id * 7919) % 5_000);
                record(id, &format!("r{id}"), &name, "2020-01-01T00:00:00Z")
            })
            .collect();
        for (q, keep) in [
            ("sort=name&max=10&offset=30", 40),
            ("sort=name&order=desc&max=3", 3),
        ] {
            let query = parse(q);
            let mut selection = query.selection();
            records.iter().cloned().for_each(|r| selection.offer(r));
            let (total, page, held) = selection.finish();
            let mut expected = records.clone();
            expected.sort_by(|a, b| query.compare(a, b));
            let expected: Vec<u64> = expected
                .iter()
                .skip(keep - page.len())
                .take(page.len())
                .map(|r| r.id)
                .collect();
            assert_eq!(total, 5_000, "{q}");
            assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), expected, "{q}");
            assert!(
                held <= 2 * keep.max(32),
                "{q}: held {held} records for a page of {}",
                page.len()
            );
        }
        let (total, page, held) = {
            let query = parse("name=n001*&max=100");
            let mut selection = query.selection();
            records.iter().cloned().for_each(|r| selection.offer(r));
            selection.finish()
        };
        assert_eq!((total, page.len(), held), (10, 10, 10), "only matches are held");
    }
}
