//! List queries shared by every resource: paging, sorting, date ranges and wildcard filters.
//! [`query`] reads them from the query string (with the documented errors) and writes the paging
//! links; [`eval`] evaluates them on records, identically for every store.

pub mod cursor;
pub mod eval;
pub mod query;

use std::fmt;

use serde::Serialize;

pub use query::{CursorMode, ListQuery, MAX_OFFSET, MAX_PAGE};

use crate::model::Record;
use crate::time::Timestamp;

/// How a field can filter a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Not a filter.
    No,
    /// `field=pattern`, a case-insensitive wildcard on its text.
    Wildcard,
    /// `field=true|false`.
    Flag,
}

/// A resource field the list operation sorts on (and maybe filters by), from its catalogue.
pub struct FieldSpec<F> {
    /// The parameter's name (`sort=<name>`, `<name>=<filter>`).
    pub name: &'static str,
    /// The order of `sort=<name>` (absent values first; ties are broken by id elsewhere).
    pub compare: fn(&F, &F) -> std::cmp::Ordering,
    /// Its text, for wildcard filters.
    pub text: fn(&F) -> Option<&str>,
    /// Its value, for boolean filters.
    pub flag: fn(&F) -> Option<bool>,
    /// Whether and how it filters.
    pub filter: Filter,
}

impl<F> fmt::Debug for FieldSpec<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl<F> PartialEq for FieldSpec<F> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// What one resource's list operation accepts.
pub struct ListSpec<F: 'static> {
    /// The resource's sortable fields (some of them filters).
    pub fields: &'static [FieldSpec<F>],
    /// Wildcard filters on a linked record's reference (`categoryReference`), which the
    /// resource resolves to an [`IdSet`] before the store sees the query.
    pub linked: &'static [&'static str],
    /// Sorts on a linked record's reference, which the resource resolves to
    /// [`ListQuery::ranks`] before the store sees the query.
    pub linked_sorts: &'static [LinkedSort<F>],
}

/// `sort=<name>` on a linked record's reference (`categoryReference`): records order by the
/// rank of the record they link to (none first), then id.
pub struct LinkedSort<F> {
    /// The parameter's value.
    pub name: &'static str,
    /// The linked id a record holds.
    pub id: fn(&F) -> Option<u64>,
}

impl<F> fmt::Debug for LinkedSort<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// What a list is sorted by.
pub enum Sort<F: 'static> {
    /// `id`.
    Id,
    /// `reference`: the lower-cased reference, then id.
    Reference,
    /// `dateCreated`, then id.
    DateCreated,
    /// `lastUpdated`, then id.
    LastUpdated,
    /// One of the resource's fields, then id.
    Field(&'static FieldSpec<F>),
    /// A linked record's reference (by [`ListQuery::ranks`]), then id.
    Linked(&'static LinkedSort<F>),
}

impl<F> Clone for Sort<F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Sort<F> {}

impl<F> PartialEq for Sort<F> {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl<F> fmt::Debug for Sort<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<F> Sort<F> {
    /// The `sort` parameter's value.
    pub fn name(&self) -> &'static str {
        match self {
            Sort::Id => "id",
            Sort::Reference => "reference",
            Sort::DateCreated => "dateCreated",
            Sort::LastUpdated => "lastUpdated",
            Sort::Field(spec) => spec.name,
            Sort::Linked(link) => link.name,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl Order {
    /// The other direction.
    pub fn reversed(self) -> Self {
        match self {
            Order::Asc => Order::Desc,
            Order::Desc => Order::Asc,
        }
    }

    /// The `order` parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    }
}

/// An inclusive range of whole seconds, from the `_gt/_gte/_lt/_lte` filters of one date field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    /// Earliest accepted instant (inclusive).
    pub from: Option<Timestamp>,
    /// Latest accepted instant (inclusive).
    pub to: Option<Timestamp>,
}

impl DateRange {
    /// No bound at all.
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether the range can hold nothing.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.to), (Some(from), Some(to)) if from > to)
    }

    /// Whether `ts` lies in the range.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.from.is_none_or(|from| ts >= from) && self.to.is_none_or(|to| ts <= to)
    }

    fn tighten_from(&mut self, ts: Timestamp) {
        self.from = Some(self.from.map_or(ts, |from| from.max(ts)));
    }

    fn tighten_to(&mut self, ts: Timestamp) {
        self.to = Some(self.to.map_or(ts, |to| to.min(ts)));
    }
}

/// A wildcard pattern: `*` matches any run of characters, everything else itself, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as given.
    pub raw: String,
    /// The lower-cased literal pieces between the stars.
    pieces: Vec<String>,
}

impl Pattern {
    /// Parses a pattern.
    pub fn new(raw: &str) -> Self {
        Pattern {
            raw: raw.to_owned(),
            pieces: raw.to_lowercase().split('*').map(str::to_owned).collect(),
        }
    }

    /// Whether `text` matches, case-insensitively.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        if rest.is_empty() {
            return text == *first;
        }
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let (last, middle) = rest.split_last().unwrap_or((first, &[]));
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }

    /// The lower-cased text every match starts with (empty when the pattern starts with `*`).
    pub fn prefix(&self) -> &str {
        self.pieces.first().map_or("", String::as_str)
    }

    /// Whether the pattern has no star: it matches one value (ignoring case).
    pub fn is_exact(&self) -> bool {
        self.pieces.len() == 1
    }

    /// Whether the pattern is `literal*` (any number of trailing stars): exactly a prefix range.
    pub fn is_pure_prefix(&self) -> bool {
        self.pieces.len() > 1 && self.pieces[1..].iter().all(String::is_empty)
    }
}

/// A filter keeping records whose linked id is one of a set (a wildcard on a linked record's
/// reference, resolved to the ids of the matching linked records).
pub struct IdSet<F> {
    /// The filter it resolves (`categoryReference`).
    pub name: &'static str,
    /// The linked id a record holds.
    pub id: fn(&F) -> Option<u64>,
    /// Accepted ids.
    pub ids: Vec<u64>,
}

impl<F> Clone for IdSet<F> {
    fn clone(&self) -> Self {
        IdSet {
            name: self.name,
            id: self.id,
            ids: self.ids.clone(),
        }
    }
}

impl<F> fmt::Debug for IdSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdSet")
            .field("name", &self.name)
            .field("ids", &self.ids)
            .finish()
    }
}

/// Where a cursor-paged read starts: after the record whose sort key is `key`, in the order
/// read (exclusive). `of` is the sort key of a record (the key of the index that orders by the
/// query's sort).
pub struct After<F> {
    /// The sort key of the last record seen.
    pub key: String,
    /// A record's sort key.
    pub of: fn(&Record<F>) -> String,
}

impl<F> After<F> {
    /// Whether `record` lies after the position, in `order`.
    pub fn admits(&self, record: &Record<F>, order: Order) -> bool {
        let key = (self.of)(record);
        match order {
            Order::Asc => key > self.key,
            Order::Desc => key < self.key,
        }
    }
}

impl<F> Clone for After<F> {
    fn clone(&self) -> Self {
        After {
            key: self.key.clone(),
            of: self.of,
        }
    }
}

impl<F> fmt::Debug for After<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("After").field("key", &self.key).finish()
    }
}

/// A list's paging block: the documented one, or with cursor paging (beyond the reference) the
/// page size and the links to the pages around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PageLinks {
    /// The documented block.
    Offset(Paging),
    /// Cursor paging.
    Cursor(CursorPaging),
}

/// The paging block of a cursor-paged list (beyond the reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CursorPaging {
    /// Page size.
    pub max: u64,
    /// Link to the page before, `null` on the first.
    pub previous: Option<String>,
    /// Link to the page after, `null` on the last.
    pub next: Option<String>,
}

/// The documented `paging` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paging {
    /// Matching records in all.
    pub total: u64,
    /// Page size.
    pub max: u64,
    /// Records skipped.
    pub offset: u64,
    /// Link to the previous page, `null` on the first.
    pub previous: Option<String>,
    /// Link to the next page, `null` on the last.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("Ref-6*", "ref-6abc", true),
            ("Ref-6*", "xref-6", false),
            ("*ef-6", "REF-6", true),
            ("*ef-6", "ref-61", false),
            ("*ef-6*", "my ref-6 x", true),
            ("*ef-6*", "ref-", false),
            ("Ref-6", "ref-6", true),
            ("Ref-6", "ref-61", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("ab*b", "ab", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(text),
                expected,
                "{pattern} ~ {text}"
            );
        }
        assert!(Pattern::new("Ref-6*").is_pure_prefix());
        assert!(Pattern::new("Ref-6**").is_pure_prefix());
        assert!(!Pattern::new("Ref*6*").is_pure_prefix());
        assert!(Pattern::new("Ref-6").is_exact());
        assert_eq!(Pattern::new("Ref-6*").prefix(), "ref-6");
        assert_eq!(Pattern::new("*ef").prefix(), "");
    }
}
