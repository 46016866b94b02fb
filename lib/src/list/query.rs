//! Reading a list query from the query string, with the documented errors, and writing the
//! paging links that reproduce it.

use std::collections::HashMap;

use super::cursor::{Cursor, Sealer};
use super::{
    After, CursorPaging, DateRange, FieldSpec, Filter, IdSet, ListSpec, Order, PageLinks, Paging, Pattern,
    Sort,
};
use crate::error::ApiError;
use crate::input::check_names;
use crate::model::{Fields, Record};
use crate::time::Timestamp;

/// The default and largest page size.
pub const MAX_PAGE: u64 = 100;
/// The largest accepted `offset`.
pub const MAX_OFFSET: u64 = 10_000_000;
/// The longest accepted filter pattern, in characters: a whole 255-character value with stars
/// around and inside it.
pub const MAX_PATTERN: usize = 512;

/// A parsed list query over records with fields `F`.
#[derive(Debug, Clone)]
pub struct ListQuery<F: 'static> {
    /// Records to skip.
    pub offset: u64,
    /// Page size (at most [`MAX_PAGE`]).
    pub max: u64,
    /// Sort key.
    pub sort: Sort<F>,
    /// Sort direction.
    pub order: Order,
    /// `dateCreated_*` filters.
    pub date_created: DateRange,
    /// `lastUpdated_*` filters.
    pub last_updated: DateRange,
    /// The `reference` wildcard.
    pub reference: Option<Pattern>,
    /// Wildcards on the resource's fields.
    pub text: Vec<(&'static FieldSpec<F>, Pattern)>,
    /// Boolean filters on the resource's fields.
    pub flags: Vec<(&'static FieldSpec<F>, bool)>,
    /// Wildcards on a linked record's reference, still to be resolved (see [`ListSpec::linked`]).
    pub linked: Vec<(&'static str, Pattern)>,
    /// Linked-id filters.
    pub id_sets: Vec<IdSet<F>>,
    /// For a [`Sort::Linked`]: each linked id's rank in the order of its reference.
    pub ranks: HashMap<u64, u64>,
    /// Cursor paging (beyond the reference), when the request asks for it.
    pub cursor: Option<CursorMode>,
    /// With cursor paging: where the read starts (exclusive), in the order read.
    pub after: Option<After<F>>,
    /// The filter parameters as given, to reproduce the query in paging links.
    echo: Vec<(String, String)>,
    /// The `cursor` parameter, still sealed.
    token: Option<String>,
}

/// How a cursor-paged query is read: `max` is one more than the page (to know whether more
/// follow) and `order` is the order read (reversed for a `previous` link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorMode {
    /// The page size asked for.
    pub page: u64,
    /// Whether the page lies before the cursor (read in the reverse order, then turned).
    pub backward: bool,
}

/// The list parameters every resource takes besides its field filters, date filters and linked
/// wildcards: one catalogue, read by the parser and by the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListParam {
    /// `max`: the page size.
    Max,
    /// `offset`: records to skip.
    Offset,
    /// `sort`: the sort key.
    Sort,
    /// `order`: `asc` or `desc`.
    Order,
    /// `reference`: a wildcard on the reference.
    Reference,
    /// `paging`: `offset` or `cursor` (beyond the reference).
    Paging,
    /// `cursor`: a page's position from an earlier page's link (beyond the reference).
    Cursor,
}

impl ListParam {
    /// Every one, in the order documents list them.
    pub const ALL: [ListParam; 7] = [
        ListParam::Max,
        ListParam::Offset,
        ListParam::Sort,
        ListParam::Order,
        ListParam::Reference,
        ListParam::Paging,
        ListParam::Cursor,
    ];

    /// The query parameter's name.
    pub fn name(self) -> &'static str {
        match self {
            ListParam::Max => "max",
            ListParam::Offset => "offset",
            ListParam::Sort => "sort",
            ListParam::Order => "order",
            ListParam::Reference => "reference",
            ListParam::Paging => "paging",
            ListParam::Cursor => "cursor",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|param| param.name() == name)
    }

    /// Whether paging links and cursors carry it as a filter (the others are paging itself).
    fn is_filter(self) -> bool {
        self == ListParam::Reference
    }
}

/// The date fields that filter lists, and the comparisons: `dateCreated_gte=...` and so on.
pub const DATE_FIELDS: [&str; 2] = ["dateCreated", "lastUpdated"];
/// The comparisons of a date filter.
pub const DATE_OPS: [&str; 4] = ["gt", "gte", "lt", "lte"];

/// The eight date filters' names.
pub fn date_filters() -> impl Iterator<Item = String> {
    DATE_FIELDS
        .into_iter()
        .flat_map(|field| DATE_OPS.into_iter().map(move |op| format!("{field}_{op}")))
}

/// The values `sort` takes on every resource, besides its fields and linked sorts.
pub const SYSTEM_SORTS: [&str; 4] = ["id", "reference", "dateCreated", "lastUpdated"];

impl<F> ListSpec<F> {
    /// Every value `sort` takes on this resource.
    pub fn sort_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        SYSTEM_SORTS
            .into_iter()
            .chain(self.fields.iter().map(|f| f.name))
            .chain(self.linked_sorts.iter().map(|l| l.name))
    }

    /// The fields that filter lists, with how.
    pub fn filters(&self) -> impl Iterator<Item = &'static FieldSpec<F>> + '_ {
        self.fields.iter().filter(|f| f.filter != Filter::No)
    }
}

impl<F: 'static> ListQuery<F> {
    fn new(sort: Sort<F>, max: u64) -> Self {
        ListQuery {
            offset: 0,
            max,
            sort,
            order: Order::Asc,
            date_created: DateRange::default(),
            last_updated: DateRange::default(),
            reference: None,
            text: Vec::new(),
            flags: Vec::new(),
            linked: Vec::new(),
            id_sets: Vec::new(),
            ranks: HashMap::new(),
            cursor: None,
            after: None,
            echo: Vec::new(),
            token: None,
        }
    }

    /// Parses a raw (still percent-encoded) query string for a resource's list operation.
    pub fn parse(spec: &ListSpec<F>, raw_query: &str) -> Result<Self, ApiError> {
        let params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        let filter = |name: &str| spec.filters().find(|f| f.name == name);
        let known = |name: &str| {
            ListParam::named(name).is_some()
                || filter(name).is_some()
                || spec.linked.contains(&name)
                || date_filter(name).is_some()
        };
        check_names(params.iter().map(|(name, _)| name.as_str()), known)?;
        let cursor_paged = params.iter().any(|(name, value)| {
            name == "cursor" || name == "paging" && value.eq_ignore_ascii_case("cursor")
        });
        if cursor_paged {
            // A cursor carries the query it continues; offsets are what cursors replace.
            let resumes = params.iter().any(|(name, _)| name == "cursor");
            let conflicting: Vec<String> = params
                .iter()
                .map(|(name, _)| name.as_str())
                .filter(|name| *name == "offset" || resumes && !matches!(*name, "max" | "paging" | "cursor"))
                .map(str::to_owned)
                .collect();
            if !conflicting.is_empty() {
                return Err(ApiError::InvalidParam(conflicting));
            }
        }

        let mut query = ListQuery::new(Sort::DateCreated, MAX_PAGE);
        for (name, value) in &params {
            let param = ListParam::named(name);
            match param {
                Some(ListParam::Max) => query.max = parse_count(name, value, u64::MAX)?.min(MAX_PAGE),
                Some(ListParam::Offset) => query.offset = parse_count(name, value, MAX_OFFSET)?,
                Some(ListParam::Sort) => {
                    query.sort = sort(spec, value).ok_or_else(|| ApiError::bad_type(name))?;
                }
                Some(ListParam::Order) => {
                    query.order = match value.to_ascii_lowercase().as_str() {
                        "asc" => Order::Asc,
                        "desc" => Order::Desc,
                        _ => return Err(ApiError::bad_type(name)),
                    }
                }
                Some(ListParam::Reference) => query.reference = Some(pattern(name, value)?),
                Some(ListParam::Paging) => {
                    query.cursor = match value.to_ascii_lowercase().as_str() {
                        "cursor" => Some(CursorMode {
                            page: 0,
                            backward: false,
                        }),
                        "offset" => None,
                        _ => return Err(ApiError::bad_type(name)),
                    }
                }
                Some(ListParam::Cursor) if value.is_empty() || query.token.is_some() => {
                    return Err(ApiError::bad_type(name));
                }
                Some(ListParam::Cursor) => query.token = Some(value.clone()),
                None => {
                    if let Some((field, op)) = date_filter(name) {
                        query.add_date(field, op, value)?;
                    } else if let Some(&linked) = spec.linked.iter().find(|l| **l == name) {
                        query.linked.push((linked, pattern(name, value)?));
                    } else if let Some(field) = filter(name) {
                        query.add_field_filter(field, value)?;
                    }
                }
            }
            if param.is_none_or(ListParam::is_filter) {
                query.echo.push((name.clone(), value.clone()));
            }
        }
        Ok(query)
    }

    /// The sort, order (as the client asked) and filters, as a query string: what a cursor seals.
    fn sealed_query(&self) -> String {
        let order = match self.cursor {
            Some(CursorMode { backward: true, .. }) => self.order.reversed(),
            _ => self.order,
        };
        let mut text = format!("sort={}&order={}", self.sort.name(), order.as_str());
        self.echo_into(&mut text);
        text
    }

    fn echo_into(&self, text: &mut String) {
        for (name, value) in &self.echo {
            let pair: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(name, value)
                .finish();
            text.push('&');
            text.push_str(&pair);
        }
    }

    fn add_date(&mut self, field: &str, op: &str, value: &str) -> Result<(), ApiError> {
        let bad = || ApiError::InvalidDatetimeFormat(crate::error::echo(value).into_owned());
        let ts: Timestamp = value.parse().map_err(|_| bad())?;
        let range = if field == "dateCreated" {
            &mut self.date_created
        } else {
            &mut self.last_updated
        };
        let next = Timestamp::from_unix_seconds(ts.unix_seconds() + 1);
        let prev = Timestamp::from_unix_seconds(ts.unix_seconds() - 1);
        match op {
            "gt" => range.tighten_from(next.ok_or_else(bad)?),
            "gte" => range.tighten_from(ts),
            "lt" => range.tighten_to(prev.ok_or_else(bad)?),
            _ => range.tighten_to(ts),
        }
        Ok(())
    }

    fn add_field_filter(&mut self, field: &'static FieldSpec<F>, value: &str) -> Result<(), ApiError> {
        match field.filter {
            Filter::Wildcard => self.text.push((field, pattern(field.name, value)?)),
            Filter::Flag => {
                let wanted = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::bad_type(field.name)),
                };
                self.flags.push((field, wanted));
            }
            Filter::No => {}
        }
        Ok(())
    }

    /// Every record, in id order, unpaged.
    pub fn every_record() -> Self {
        ListQuery::new(Sort::Id, u64::MAX)
    }

    /// Every record whose reference matches `pattern`, in id order, unpaged.
    pub fn references_matching(pattern: Pattern) -> Self {
        let mut query = ListQuery::new(Sort::Id, u64::MAX);
        query.echo.push(("reference".to_owned(), pattern.raw.clone()));
        query.reference = Some(pattern);
        query
    }

    /// Removes the linked-reference wildcard `name` and returns it (to be resolved by the caller).
    pub fn take_linked(&mut self, name: &str) -> Option<Pattern> {
        let at = self.linked.iter().position(|(linked, _)| *linked == name)?;
        Some(self.linked.remove(at).1)
    }

    /// Whether the query filters on anything.
    pub fn has_filters(&self) -> bool {
        !self.echo.is_empty()
    }

    /// How many filters the store must apply (resolved linked filters included).
    pub fn filter_count(&self) -> usize {
        usize::from(self.reference.is_some())
            + self.text.len()
            + self.flags.len()
            + self.linked.len()
            + self.id_sets.len()
            + usize::from(!self.date_created.is_unbounded())
            + usize::from(!self.last_updated.is_unbounded())
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
            self.sort.name(),
            self.order.as_str()
        );
        self.echo_into(&mut link);
        link
    }
}

impl<F: Fields> ListQuery<F> {
    /// Parses a list query that may ask for cursor paging (`paging=cursor`, or a `cursor` from
    /// an earlier page's link, opened with `sealer`); a cursor-paged query is returned ready to
    /// read (see [`CursorMode`]).
    pub fn parse_paged(spec: &ListSpec<F>, raw_query: &str, sealer: &Sealer<'_>) -> Result<Self, ApiError> {
        let mut query = Self::parse(spec, raw_query)?;
        let mut cursor = None;
        if let Some(token) = query.token.take() {
            let opened = sealer.open(&token).ok_or_else(|| ApiError::bad_type("cursor"))?;
            let max = query.max;
            query = Self::parse(spec, &opened.query).map_err(|_| ApiError::bad_type("cursor"))?;
            query.max = max;
            cursor = Some(opened);
        } else if query.cursor.is_none() {
            return Ok(query);
        }
        let key = sort_key(&query.sort).ok_or_else(|| ApiError::bad_type("sort"))?;
        let backward = cursor.as_ref().is_some_and(|c| c.backward);
        if backward {
            query.order = query.order.reversed();
        }
        query.after = cursor.map(|c| After { key: c.key, of: key });
        query.cursor = Some(CursorMode {
            page: query.max,
            backward,
        });
        query.max = query.max.saturating_add(1);
        Ok(query)
    }

    /// The paging block and the page, from what the store read for this query: the documented
    /// `paging` (with `total`), or with cursor paging the links to the pages around this one.
    pub fn page(
        &self,
        path: &str,
        total: u64,
        mut records: Vec<Record<F>>,
        sealer: &Sealer<'_>,
    ) -> (PageLinks, Vec<Record<F>>) {
        let Some(mode) = self.cursor else {
            return (PageLinks::Offset(self.paging(path, total)), records);
        };
        let more = records.len() as u64 > mode.page;
        records.truncate(usize::try_from(mode.page).unwrap_or(usize::MAX));
        if mode.backward {
            records.reverse();
        }
        let (before, after) = match mode.backward {
            true => (more, !records.is_empty()),
            false => (self.after.is_some() && !records.is_empty(), more),
        };
        let key = sort_key(&self.sort);
        let link = |record: Option<&Record<F>>, backward: bool| {
            let (record, key) = (record?, key?);
            let cursor = Cursor {
                query: self.sealed_query(),
                backward,
                key: key(record),
            };
            let token = sealer.seal(&cursor);
            Some(format!("{path}?max={}&cursor={token}", mode.page))
        };
        let links = CursorPaging {
            max: mode.page,
            previous: if before { link(records.first(), true) } else { None },
            next: if after { link(records.last(), false) } else { None },
        };
        (PageLinks::Cursor(links), records)
    }
}

impl<F: Fields> ListQuery<F> {
    /// The position a cursor after `record` holds in this query's order (`None` for sorts no
    /// index serves).
    pub fn cursor_key(&self, record: &Record<F>) -> Option<String> {
        sort_key(&self.sort).map(|key| key(record))
    }
}

/// The key a cursor holds for `sort`: the sort key of the index that orders by it, which orders
/// exactly as [`ListQuery::compare`] does; `None` for sorts no index serves.
fn sort_key<F: Fields>(sort: &Sort<F>) -> Option<fn(&Record<F>) -> String> {
    match sort {
        Sort::Id => Some(|record| format!("{:020}", record.id)),
        Sort::DateCreated => Some(Record::created_key),
        Sort::LastUpdated => Some(Record::updated_key),
        Sort::Reference => Some(Record::reference_key),
        Sort::Field(field) if field.name == "name" => Some(Record::name_key),
        Sort::Field(_) | Sort::Linked(_) => None,
    }
}

fn sort<F>(spec: &ListSpec<F>, value: &str) -> Option<Sort<F>> {
    // Every name here is one of `SYSTEM_SORTS`.
    match value {
        "id" => Some(Sort::Id),
        "reference" => Some(Sort::Reference),
        "dateCreated" => Some(Sort::DateCreated),
        "lastUpdated" => Some(Sort::LastUpdated),
        _ => spec
            .fields
            .iter()
            .find(|f| f.name == value)
            .map(Sort::Field)
            .or_else(|| {
                spec.linked_sorts
                    .iter()
                    .find(|l| l.name == value)
                    .map(Sort::Linked)
            }),
    }
}

fn pattern(name: &str, value: &str) -> Result<Pattern, ApiError> {
    if value.chars().count() > MAX_PATTERN {
        return Err(ApiError::bad_type(name));
    }
    Ok(Pattern::new(value))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{GroupFields, LIST_SPEC};

    fn parse(query: &str) -> Result<ListQuery<GroupFields>, ApiError> {
        ListQuery::parse(&LIST_SPEC, query)
    }

    #[test]
    fn defaults() {
        let q = parse("").expect("empty query");
        assert_eq!(
            (q.offset, q.max, q.sort, q.order),
            (0, 100, Sort::DateCreated, Order::Asc)
        );
        assert!(!q.has_filters());
    }

    #[test]
    fn unknown_parameters_are_named() {
        assert_eq!(
            parse("dateCreated_gta=2016-08-15T14:52:48Z&max=1&foo=2").err(),
            Some(ApiError::InvalidParam(vec![
                "dateCreated_gta".into(),
                "foo".into()
            ]))
        );
        assert_eq!(
            parse("description=x").err(),
            Some(ApiError::InvalidParam(vec!["description".into()])),
            "a sortable field is not a filter unless its catalogue says so"
        );
    }

    #[test]
    fn bad_dates_and_numbers() {
        assert_eq!(
            parse("dateCreated_gt=2016-08-1Z").err(),
            Some(ApiError::InvalidDatetimeFormat("2016-08-1Z".into()))
        );
        let long_pattern = format!("name={}", "x".repeat(513));
        for (query, param) in [
            ("max=abc", "max"),
            ("max=-1", "max"),
            ("max=99999999999999999999999", "max"),
            ("offset=1.5", "offset"),
            ("offset=100000000000", "offset"),
            ("order=up", "order"),
            ("sort=password", "sort"),
            ("max=1&max=2", "max"),
            (long_pattern.as_str(), "name"),
        ] {
            assert_eq!(parse(query).err(), Some(ApiError::bad_type(param)), "{query}");
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
}
