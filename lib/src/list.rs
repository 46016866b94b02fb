//! List queries shared by every resource: paging, sorting, date ranges and wildcard filters,
//! parsed from the query string once and evaluated identically by every store.

use std::cmp::Ordering;

use serde::Serialize;

use crate::error::ApiError;
use crate::input::check_names;
use crate::store::{Record, compare_values};
use crate::time::Timestamp;

/// The default and largest page size.
pub const MAX_PAGE: u64 = 100;
/// The largest accepted `offset`.
pub const MAX_OFFSET: u64 = 10_000_000;
/// The longest accepted filter pattern, in characters.
const MAX_PATTERN: usize = 255;

/// What one resource's list operation accepts.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// Wildcard filters (`reference`, `name`, ...), matched case-insensitively.
    pub text_filters: &'static [&'static str],
    /// Boolean filters (`isActive`, ...).
    pub bool_filters: &'static [&'static str],
    /// Fields `sort` may name.
    pub sort_fields: &'static [&'static str],
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
    fn as_str(self) -> &'static str {
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

/// A wildcard filter on one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFilter {
    /// Field name (`reference`, `name`, ...).
    pub field: &'static str,
    /// The pattern.
    pub pattern: Pattern,
}

/// An equality filter on one boolean field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoolFilter {
    /// Field name.
    pub field: &'static str,
    /// The wanted value.
    pub value: bool,
}

/// A filter keeping records whose numeric field is one of a set of ids (a wildcard on a linked
/// record's field, resolved to the ids of the matching linked records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSetFilter {
    /// Field holding the linked id.
    pub field: &'static str,
    /// Accepted ids.
    pub ids: Vec<u64>,
}

/// A parsed list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Records to skip.
    pub offset: u64,
    /// Page size (at most [`MAX_PAGE`]).
    pub max: u64,
    /// Sort field.
    pub sort: &'static str,
    /// Sort direction.
    pub order: Order,
    /// `dateCreated_*` filters.
    pub date_created: DateRange,
    /// `lastUpdated_*` filters.
    pub last_updated: DateRange,
    /// Wildcard filters.
    pub text: Vec<TextFilter>,
    /// Boolean filters.
    pub flags: Vec<BoolFilter>,
    /// Id-set filters.
    pub id_sets: Vec<IdSetFilter>,
    /// The filter parameters as given, to reproduce the query in paging links.
    echo: Vec<(String, String)>,
}

const DATE_FIELDS: [&str; 2] = ["dateCreated", "lastUpdated"];
const DATE_OPS: [&str; 4] = ["gt", "gte", "lt", "lte"];

impl ListQuery {
    /// Parses a raw (still percent-encoded) query string for a resource's list operation.
    pub fn parse(spec: &ListSpec, raw_query: &str) -> Result<Self, ApiError> {
        let params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();

        let known = |name: &str| {
            matches!(name, "max" | "offset" | "sort" | "order")
                || spec.text_filters.contains(&name)
                || spec.bool_filters.contains(&name)
                || date_filter(name).is_some()
        };
        check_names(params.iter().map(|(name, _)| name.as_str()), known)?;

        let mut query = ListQuery {
            offset: 0,
            max: MAX_PAGE,
            sort: "dateCreated",
            order: Order::Asc,
            date_created: DateRange::default(),
            last_updated: DateRange::default(),
            text: Vec::new(),
            flags: Vec::new(),
            id_sets: Vec::new(),
            echo: Vec::new(),
        };
        for (name, value) in &params {
            match name.as_str() {
                "max" => query.max = parse_count(name, value, u64::MAX)?.min(MAX_PAGE),
                "offset" => query.offset = parse_count(name, value, MAX_OFFSET)?,
                "sort" => {
                    query.sort = spec
                        .sort_fields
                        .iter()
                        .find(|field| **field == value)
                        .ok_or_else(|| ApiError::bad_type(name))?;
                }
                "order" => {
                    query.order = match value.to_ascii_lowercase().as_str() {
                        "asc" => Order::Asc,
                        "desc" => Order::Desc,
                        _ => return Err(ApiError::bad_type(name)),
                    }
                }
                _ => query.add_filter(spec, name, value)?,
            }
        }
        Ok(query)
    }

    fn add_filter(&mut self, spec: &ListSpec, name: &str, value: &str) -> Result<(), ApiError> {
        if let Some((field, op)) = date_filter(name) {
            let ts: Timestamp = value
                .parse()
                .map_err(|_| ApiError::InvalidDatetimeFormat(value.to_owned()))?;
            let range = if field == "dateCreated" {
                &mut self.date_created
            } else {
                &mut self.last_updated
            };
            let next = Timestamp::from_unix_seconds(ts.unix_seconds() + 1);
            let prev = Timestamp::from_unix_seconds(ts.unix_seconds() - 1);
            let bad = || ApiError::InvalidDatetimeFormat(value.to_owned());
            match op {
                "gt" => range.tighten_from(next.ok_or_else(bad)?),
                "gte" => range.tighten_from(ts),
                "lt" => range.tighten_to(prev.ok_or_else(bad)?),
                _ => range.tighten_to(ts),
            }
        } else if let Some(field) = spec.text_filters.iter().find(|f| **f == name) {
            if value.chars().count() > MAX_PATTERN {
                return Err(ApiError::bad_type(name));
            }
            self.text.push(TextFilter {
                field,
                pattern: Pattern::new(value),
            });
        } else if let Some(field) = spec.bool_filters.iter().find(|f| **f == name) {
            let value = match value {
                "true" => true,
                "false" => false,
                _ => return Err(ApiError::bad_type(name)),
            };
            self.flags.push(BoolFilter { field, value });
        }
        self.echo.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Every record matching these wildcard filters, in id order, unpaged.
    pub fn matching_all(text: Vec<TextFilter>) -> Self {
        ListQuery {
            offset: 0,
            max: u64::MAX,
            sort: "id",
            order: Order::Asc,
            date_created: DateRange::default(),
            last_updated: DateRange::default(),
            echo: text
                .iter()
                .map(|f| (f.field.to_owned(), f.pattern.raw.clone()))
                .collect(),
            text,
            flags: Vec::new(),
            id_sets: Vec::new(),
        }
    }

    /// Removes the wildcard filter on `field` and returns it (to be resolved by the caller).
    pub fn take_text_filter(&mut self, field: &str) -> Option<TextFilter> {
        let at = self.text.iter().position(|f| f.field == field)?;
        Some(self.text.remove(at))
    }

    /// The wildcard filter on `field`, if any.
    pub fn text_filter(&self, field: &str) -> Option<&Pattern> {
        self.text.iter().find(|f| f.field == field).map(|f| &f.pattern)
    }

    /// Whether the query filters on anything.
    pub fn has_filters(&self) -> bool {
        !self.echo.is_empty()
    }

    /// Whether `record` passes every filter.
    pub fn matches(&self, record: &Record) -> bool {
        self.date_created.contains(record.date_created)
            && self.last_updated.contains(record.last_updated)
            && self.text.iter().all(|f| {
                let value = if f.field == "reference" {
                    Some(record.reference.as_str())
                } else {
                    record.field(f.field).as_str()
                };
                value.is_some_and(|v| f.pattern.matches(v))
            })
            && self
                .flags
                .iter()
                .all(|f| record.field(f.field).as_bool() == Some(f.value))
            && self.id_sets.iter().all(|f| {
                record
                    .field(f.field)
                    .as_u64()
                    .is_some_and(|id| f.ids.contains(&id))
            })
    }

    /// The query's total order on records (ties broken by id, so no two records compare equal).
    pub fn compare(&self, a: &Record, b: &Record) -> Ordering {
        let ascending = match self.sort {
            "id" => a.id.cmp(&b.id),
            "dateCreated" => (a.date_created, a.id).cmp(&(b.date_created, b.id)),
            "lastUpdated" => (a.last_updated, a.id).cmp(&(b.last_updated, b.id)),
            "reference" => a.reference_key().cmp(&b.reference_key()),
            field => compare_values(a.field(field), b.field(field)).then(a.id.cmp(&b.id)),
        };
        match self.order {
            Order::Asc => ascending,
            Order::Desc => ascending.reverse(),
        }
    }

    /// Filters, sorts and pages `records` in memory; returns the total and the page.
    pub fn select(&self, records: impl IntoIterator<Item = Record>) -> (u64, Vec<Record>) {
        let mut matching: Vec<Record> = records.into_iter().filter(|r| self.matches(r)).collect();
        matching.sort_by(|a, b| self.compare(a, b));
        let total = matching.len() as u64;
        let page = matching
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.max).unwrap_or(usize::MAX))
            .collect();
        (total, page)
    }

    /// The `paging` block for a result of `total` records, with links under `path`.
    pub fn paging(&self, path: &str, total: u64) -> Paging {
        let previous =
            (self.offset > 0 && self.max > 0).then(|| self.link(path, self.offset.saturating_sub(self.max)));
        let next =
            (self.max > 0 && self.offset + self.max < total).then(|| self.link(path, self.offset + self.max));
        Paging {
            total,
            max: self.max,
            offset: self.offset,
            previous,
            next,
        }
    }

    fn link(&self, path: &str, offset: u64) -> String {
        let mut link = format!(
            "{path}?max={}&offset={offset}&sort={}&order={}",
            self.max,
            self.sort,
            self.order.as_str()
        );
        for (name, value) in &self.echo {
            let pair: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(name, value)
                .finish();
            link.push('&');
            link.push_str(&pair);
        }
        link
    }
}

/// `("dateCreated", "gt")` for `dateCreated_gt`, and so on.
fn date_filter(name: &str) -> Option<(&'static str, &'static str)> {
    let (field, op) = name.split_once('_')?;
    let field = DATE_FIELDS.iter().find(|f| **f == field)?;
    let op = DATE_OPS.iter().find(|o| **o == op)?;
    Some((field, op))
}

fn parse_count(name: &str, value: &str, limit: u64) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= limit)
        .ok_or_else(|| ApiError::bad_type(name))
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
    use serde_json::{Map, json};

    use super::*;

    const SPEC: ListSpec = ListSpec {
        text_filters: &["reference", "name"],
        bool_filters: &["isActive"],
        sort_fields: &["id", "name", "reference", "dateCreated", "lastUpdated"],
    };

    fn parse(query: &str) -> Result<ListQuery, ApiError> {
        ListQuery::parse(&SPEC, query)
    }

    fn record(id: u64, reference: &str, name: &str, created: &str) -> Record {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        Record {
            id,
            reference: reference.into(),
            date_created: created.parse().expect("timestamp"),
            last_updated: created.parse().expect("timestamp"),
            fields,
            links: Vec::new(),
            dependents: 0,
        }
    }

    #[test]
    fn defaults() {
        let q = parse("").expect("empty query");
        assert_eq!(
            (q.offset, q.max, q.sort, q.order),
            (0, 100, "dateCreated", Order::Asc)
        );
        assert!(!q.has_filters());
    }

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

    #[test]
    fn unknown_parameters_are_named() {
        assert_eq!(
            parse("dateCreated_gta=2016-08-15T14:52:48Z&max=1&foo=2"),
            Err(ApiError::InvalidParam(vec![
                "dateCreated_gta".into(),
                "foo".into()
            ]))
        );
    }

    #[test]
    fn bad_dates_and_numbers() {
        assert_eq!(
            parse("dateCreated_gt=2016-08-1Z"),
            Err(ApiError::InvalidDatetimeFormat("2016-08-1Z".into()))
        );
        for (query, param) in [
            ("max=abc", "max"),
            ("max=-1", "max"),
            ("max=99999999999999999999999", "max"),
            ("offset=1.5", "offset"),
            ("offset=100000000000", "offset"),
            ("order=up", "order"),
            ("sort=password", "sort"),
            ("isActive=yes", "isActive"),
            ("max=1&max=2", "max"),
        ] {
            assert_eq!(parse(query), Err(ApiError::bad_type(param)), "{query}");
        }
    }

    #[test]
    fn large_max_is_capped() {
        assert_eq!(parse("max=5000").expect("valid").max, MAX_PAGE);
    }

    #[test]
    fn date_bounds_become_inclusive_seconds() {
        let q =
            parse("dateCreated_gt=2016-01-01T00:00:00Z&dateCreated_lte=2016-01-02T00:00:00Z").expect("valid");
        assert_eq!(q.date_created.from, "2016-01-01T00:00:01Z".parse().ok());
        assert_eq!(q.date_created.to, "2016-01-02T00:00:00Z".parse().ok());
        let q =
            parse("lastUpdated_lt=2016-01-01T00:00:00Z&lastUpdated_gte=2016-01-01T00:00:00Z").expect("valid");
        assert!(q.last_updated.is_empty());
    }

    #[test]
    fn paging_links_reproduce_the_query() {
        let q = parse("max=2&name=Ma*%20x&order=DESC").expect("valid");
        let paging = q.paging("/api/v1.0/customerGroups", 5);
        assert_eq!(paging.previous, None);
        assert_eq!(
            paging.next.as_deref(),
            Some("/api/v1.0/customerGroups?max=2&offset=2&sort=dateCreated&order=desc&name=Ma*+x")
        );
        let q = parse("max=2&offset=4").expect("valid");
        let paging = q.paging("/p", 5);
        assert_eq!(paging.next, None);
        assert_eq!(
            paging.previous.as_deref(),
            Some("/p?max=2&offset=2&sort=dateCreated&order=asc")
        );
        let paging = parse("max=2&offset=1").expect("valid").paging("/p", 5);
        assert_eq!(
            paging.previous.as_deref(),
            Some("/p?max=2&offset=0&sort=dateCreated&order=asc")
        );
    }

    #[test]
    fn select_filters_sorts_and_pages_with_id_tie_break() {
        let records = vec![
            record(3, "B", "beta", "2020-01-01T00:00:00Z"),
            record(1, "a", "Alpha", "2020-01-01T00:00:00Z"),
            record(2, "c", "gamma", "2019-01-01T00:00:00Z"),
            record(4, "A2", "alpha", "2021-01-01T00:00:00Z"),
        ];
        let ids = |q: &ListQuery| {
            q.select(records.clone())
                .1
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&parse("").expect("q")), vec![2, 1, 3, 4]);
        assert_eq!(ids(&parse("order=desc").expect("q")), vec![4, 3, 1, 2]);
        assert_eq!(ids(&parse("sort=reference").expect("q")), vec![1, 4, 3, 2]);
        assert_eq!(ids(&parse("sort=name").expect("q")), vec![1, 4, 3, 2]);
        assert_eq!(ids(&parse("name=ALPHA").expect("q")), vec![1, 4]);
        assert_eq!(ids(&parse("reference=a*&max=1&offset=1").expect("q")), vec![4]);
        let (total, _) = parse("reference=a*&max=1").expect("q").select(records.clone());
        assert_eq!(total, 2);
        assert_eq!(
            ids(
                &parse("dateCreated_gte=2020-01-01T00:00:00Z&dateCreated_lt=2021-01-01T00:00:00Z")
                    .expect("q")
            ),
            vec![1, 3]
        );
    }
}
