//! The storage contract: every adapter must pass each of these, unchanged.

use std::collections::HashSet;
use std::sync::Arc;

use customer_api::customers::{CustomerFields, CustomerPatch};
use customer_api::groups::{GroupFields, GroupPatch, LIST_SPEC};
use customer_api::http::Store;
use customer_api::list::cursor::{CursorKey, Sealer};
use customer_api::list::{CursorPaging, ListQuery, PageLinks};
use customer_api::model::{Draft, Kind, Link, Organization, Patch, Record, Scope, StoreError};
use customer_api::store::RecordStore;
use customer_api::time::Timestamp;
use customer_api::values::{LongText, Name, Reference, ShortText};

fn org(name: &str) -> Organization {
    Organization::parse(name).expect("valid organization")
}

fn groups(name: &str) -> Scope<GroupFields> {
    Scope::new(&org(name))
}

fn customers(name: &str) -> Scope<CustomerFields> {
    Scope::new(&org(name))
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).expect("valid reference")
}

fn name(text: &str) -> Name {
    Name::parse(text).expect("valid name")
}

fn text(value: &str) -> ShortText {
    ShortText::new(value).expect("fits").expect("not empty")
}

fn draft(reference_text: &str, name_text: &str, now: &str) -> Draft<GroupFields> {
    Draft {
        reference: reference(reference_text),
        fields: GroupFields {
            name: name(name_text),
            description: None,
        },
        now: at(now),
    }
}

/// A customer in group `category` (if any) under parent `parent` (if any).
fn customer(reference_text: &str, category: Option<u64>, parent: Option<u64>) -> Draft<CustomerFields> {
    Draft {
        reference: reference(reference_text),
        fields: CustomerFields {
            name: Some(name("c")),
            category_id: category,
            parent_id: parent,
            is_sub_customer: Some(parent.is_some()),
            ..CustomerFields::default()
        },
        now: at("2020-01-01T00:00:00Z"),
    }
}

fn query(text: &str) -> ListQuery<GroupFields> {
    ListQuery::parse(&LIST_SPEC, text).expect("valid query")
}

/// What `q` answers on `records`, by definition: every match, sorted whole, then the page.
fn oracle<F: Clone>(q: &ListQuery<F>, records: &[Record<F>]) -> (u64, Vec<Record<F>>) {
    let mut matching: Vec<_> = records.iter().filter(|r| q.matches(r)).cloned().collect();
    matching.sort_by(|a, b| q.compare(a, b));
    let total = matching.len() as u64;
    let skip = usize::try_from(q.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(q.max).unwrap_or(usize::MAX);
    (total, matching.into_iter().skip(skip).take(take).collect())
}

async fn all(store: &dyn RecordStore<GroupFields>, scope: &Scope<GroupFields>) -> Vec<Record<GroupFields>> {
    store.list(scope, &query("max=100")).await.expect("list").records
}

fn rename(to: Option<&str>) -> Patch<GroupFields> {
    Patch {
        reference: to.map(reference),
        fields: GroupPatch::default(),
        now: at("2021-01-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    }
}

fn relink(category: Option<u64>) -> Patch<CustomerFields> {
    Patch {
        reference: None,
        fields: CustomerPatch {
            category_id: Some(category),
            ..CustomerPatch::default()
        },
        now: at("2020-02-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    }
}

/// Ids are positive, distinct and given in creation order; reads see the record as created.
pub async fn creates_and_reads(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let first = store
        .create(&groups, draft("Ref-01", "One", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    let second = store
        .create(&groups, draft("Ref-02", "Two", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    assert!(
        first.id > 0 && second.id > first.id,
        "{} then {}",
        first.id,
        second.id
    );
    assert_eq!(first.date_created, at("2020-01-01T00:00:00Z"));
    assert_eq!(first.last_updated, first.date_created);
    assert_eq!(
        store.get(&groups, first.id).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store.find_by_reference(&groups, "Ref-01").await.expect("find"),
        Some(first.clone())
    );
    assert_eq!(
        store.find_by_reference(&groups, "ref-01").await.expect("find"),
        None,
        "references are exact"
    );
    assert_eq!(store.get(&groups, second.id + 100).await.expect("get"), None);
}

/// A taken reference is refused and the refused create leaves nothing behind.
pub async fn duplicate_reference_is_refused_without_trace(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let kept = store
        .create(&groups, draft("Ref", "kept", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    let refused = store
        .create(&groups, draft("Ref", "refused", "2020-01-02T00:00:00Z"))
        .await;
    assert_eq!(refused, Err(StoreError::NotUnique));
    let page = store.list(&groups, &query("")).await.expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(page.records, vec![kept]);
}

/// Organizations and kinds never see each other's records; references are per scope.
pub async fn scopes_are_isolated(store: &Arc<dyn Store>) {
    let a = groups("org-a");
    let b = groups("org-b");
    let in_a = store
        .create(&a, draft("Same", "A", "2020-01-01T00:00:00Z"))
        .await
        .expect("create in a");
    let in_b = store
        .create(&b, draft("Same", "B", "2020-01-01T00:00:00Z"))
        .await
        .expect("same ref in b");
    store
        .create(&customers("org-a"), customer("Same", None, None))
        .await
        .expect("same ref, other kind");
    assert_eq!(
        store.find_by_reference(&b, "Same").await.expect("find"),
        Some(in_b.clone())
    );
    if in_a.id != in_b.id {
        assert_eq!(store.get(&b, in_a.id).await.expect("get"), None);
    }
    let elsewhere = groups("org-c");
    assert_eq!(store.get(&elsewhere, in_a.id).await.expect("get"), None);
    assert_eq!(
        store.update(&elsewhere, in_a.id, rename(None)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete(&elsewhere, in_a.id, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all(store.as_ref(), &a).await, vec![in_a.clone()]);
    assert_eq!(all(store.as_ref(), &b).await, vec![in_b]);
    assert_eq!(store.get(&a, in_a.id).await.expect("still there"), Some(in_a));
}

/// Updates write only the named fields; `lastUpdated` moves, `dateCreated` never does.
pub async fn partial_update_touches_only_named_fields(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let mut d = draft("Ref", "Name", "2020-01-01T00:00:00Z");
    d.fields.description = LongText::new("Desc").expect("fits");
    let created = store.create(&groups, d).await.expect("create");
    let patch = Patch {
        reference: None,
        fields: GroupPatch {
            name: Some(name("New")),
            description: None,
        },
        now: at("2020-06-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    };
    let updated = store.update(&groups, created.id, patch).await.expect("update");
    assert_eq!(updated.fields.name, name("New"));
    assert_eq!(updated.fields.description, LongText::new("Desc").expect("fits"));
    assert_eq!(updated.date_created, created.date_created);
    assert_eq!(updated.last_updated, at("2020-06-01T00:00:00Z"));
    let cleared = Patch {
        reference: Some(reference("Ref")),
        fields: GroupPatch {
            name: None,
            description: Some(None),
        },
        now: at("2020-07-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    };
    let updated = store
        .update(&groups, created.id, cleared)
        .await
        .expect("update, same reference");
    assert_eq!(updated.fields.description, None);
    assert_eq!(updated.fields.name, name("New"));
    assert_eq!(store.get(&groups, created.id).await.expect("get"), Some(updated));
    assert_eq!(
        store.update(&groups, created.id + 1000, rename(None)).await,
        Err(StoreError::NotFound)
    );
}

/// Renaming frees the old reference and takes the new one atomically; a taken one is refused.
pub async fn rename_moves_the_reference(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let one = store
        .create(&groups, draft("One", "1", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    let two = store
        .create(&groups, draft("Two", "2", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    assert_eq!(
        store.update(&groups, one.id, rename(Some("Two"))).await,
        Err(StoreError::NotUnique)
    );
    assert_eq!(
        store.get(&groups, one.id).await.expect("get"),
        Some(one.clone()),
        "refused rename changed nothing"
    );

    let renamed = store
        .update(&groups, one.id, rename(Some("Uno")))
        .await
        .expect("rename");
    assert_eq!(renamed.reference, "Uno");
    assert_eq!(store.find_by_reference(&groups, "One").await.expect("find"), None);
    assert_eq!(
        store
            .find_by_reference(&groups, "Uno")
            .await
            .expect("find")
            .map(|r| r.id),
        Some(one.id)
    );
    let reused = store
        .create(&groups, draft("One", "new", "2020-01-02T00:00:00Z"))
        .await
        .expect("old ref is free");
    assert_ne!(reused.id, one.id);
    let sorted: Vec<Reference> = store
        .list(&groups, &query("sort=reference"))
        .await
        .expect("list")
        .records
        .into_iter()
        .map(|r| r.reference)
        .collect();
    assert_eq!(sorted, ["One", "Two", "Uno"]);
    assert_eq!(two.reference, "Two");
}

/// Deleting frees the reference and the record is gone; deleting again is `NotFound`.
pub async fn delete_frees_the_reference(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let gone = store
        .create(&groups, draft("Ref", "x", "2020-01-01T00:00:00Z"))
        .await
        .expect("create");
    store.delete(&groups, gone.id, None).await.expect("delete");
    assert_eq!(store.get(&groups, gone.id).await.expect("get"), None);
    assert_eq!(store.find_by_reference(&groups, "Ref").await.expect("find"), None);
    assert_eq!(
        store.delete(&groups, gone.id, None).await,
        Err(StoreError::NotFound)
    );
    let again = store
        .create(&groups, draft("Ref", "y", "2020-01-01T00:00:00Z"))
        .await
        .expect("reference reusable");
    assert!(again.id > gone.id, "ids are never reused");
    assert_eq!(store.list(&groups, &query("")).await.expect("list").total, 1);
}

/// Sixteen concurrent creates of one reference: exactly one wins, the rest are `NotUnique`.
pub async fn concurrent_creates_of_one_reference(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(store);
            let groups = groups.clone();
            tokio::spawn(async move {
                store
                    .create(&groups, draft("Same", &format!("n{i}"), "2020-01-01T00:00:00Z"))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(error, StoreError::NotUnique),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list(&groups, &query("")).await.expect("list").total, 1);
}

/// Concurrent creates never share an id.
pub async fn concurrent_creates_get_distinct_ids(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = Arc::clone(store);
            let groups = groups.clone();
            tokio::spawn(async move {
                store
                    .create(&groups, draft(&format!("R{i}"), "n", "2020-01-01T00:00:00Z"))
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let record = task.await.expect("task").expect("create");
        assert!(ids.insert(record.id), "id {} handed out twice", record.id);
    }
    assert_eq!(store.list(&groups, &query("")).await.expect("list").total, 24);
}

/// One text field of a customer patch.
type TextField = fn(&mut CustomerPatch) -> &mut Option<Option<ShortText>>;

/// The text fields the concurrent-update case writes, one per task.
const TEXT_FIELDS: [TextField; 8] = [
    |p| &mut p.email,
    |p| &mut p.phone,
    |p| &mut p.mobile,
    |p| &mut p.fax,
    |p| &mut p.city,
    |p| &mut p.country,
    |p| &mut p.address,
    |p| &mut p.website,
];

/// Concurrent partial updates of different fields of one record lose nothing.
pub async fn concurrent_updates_of_different_fields(store: &Arc<dyn Store>) {
    let customers = customers("org-a");
    let record = store
        .create(&customers, customer("Ref", None, None))
        .await
        .expect("create");
    let tasks: Vec<_> = (0..TEXT_FIELDS.len())
        .map(|i| {
            let store = Arc::clone(store);
            let customers = customers.clone();
            tokio::spawn(async move {
                let mut fields = CustomerPatch::default();
                *TEXT_FIELDS[i](&mut fields) = Some(Some(text(&format!("value {i}"))));
                let patch = Patch {
                    reference: None,
                    fields,
                    now: at("2020-02-01T00:00:00Z"),
                    expected: None,
                    checks: Vec::new(),
                };
                store.update(&customers, record.id, patch).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("update");
    }
    let stored = store
        .get(&customers, record.id)
        .await
        .expect("get")
        .expect("exists");
    let mut written = CustomerPatch::default();
    for (i, field) in TEXT_FIELDS.iter().enumerate() {
        *field(&mut written) = Some(Some(text(&format!("value {i}"))));
    }
    let mut expected = record.fields.clone();
    written.apply_to(&mut expected);
    assert_eq!(stored.fields, expected, "a field was lost");
    assert_eq!(stored.fields.name, Some(name("c")));
}

/// A small data set with shared timestamps, mixed-case references and names.
async fn seed(store: &dyn RecordStore<GroupFields>, groups: &Scope<GroupFields>) -> Vec<Record<GroupFields>> {
    let rows = [
        ("Ref-61", "Beta", "2016-08-15T14:52:48Z"),
        ("ref-62", "alpha", "2016-08-15T14:52:48Z"),
        ("XRef-6", "Gamma", "2016-08-15T14:52:48Z"),
        ("Ref-7", "alpha", "2016-08-16T00:00:00Z"),
        ("abc", "delta", "2016-08-14T00:00:00Z"),
        ("ABD", "Épsilon", "2016-08-17T10:00:00Z"),
        ("ref-6", "zeta", "2016-08-15T14:52:49Z"),
        ("m#1", "eta", "2016-08-15T14:52:47Z"),
        ("m", "theta", "2016-08-18T00:00:00Z"),
        ("Z", "iota", "2016-08-15T14:52:48Z"),
        ("b c", "kappa", "2016-08-15T00:00:00Z"),
    ];
    let mut records = Vec::new();
    for (reference, name, created) in rows {
        records.push(
            store
                .create(groups, draft(reference, name, created))
                .await
                .expect("seed"),
        );
    }
    let touched = Patch {
        reference: None,
        fields: GroupPatch {
            name: None,
            description: Some(LongText::new("touched").expect("fits")),
        },
        now: at("2017-01-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    };
    let third = records[2].id;
    records[2] = store.update(groups, third, touched).await.expect("touch");
    records
}

/// Every list query answers exactly what filtering, sorting and paging all records gives.
pub async fn list_matches_the_in_memory_oracle(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let records = seed(store.as_ref(), &groups).await;
    store
        .create(
            &self::groups("org-b"),
            draft("Ref-61", "other", "2016-08-15T14:52:48Z"),
        )
        .await
        .expect("noise");
    let queries = [
        "",
        "order=desc",
        "max=3",
        "max=3&offset=3",
        "max=4&offset=9",
        "offset=50",
        "max=0",
        "sort=reference",
        "sort=reference&order=desc&max=4&offset=2",
        "sort=name",
        "sort=name&order=desc",
        "sort=id&order=desc",
        "sort=lastUpdated&order=desc",
        "reference=Ref-6*",
        "reference=ref-6*&max=1&offset=1",
        "reference=REF-6",
        "reference=*ef-6",
        "reference=*ef-6*",
        "reference=*ef-6*&sort=reference&order=desc",
        "reference=Ref-6*&sort=reference",
        "reference=Ref-6*&sort=reference&order=desc&max=2&offset=1",
        "reference=m",
        "reference=m*",
        "reference=nothing*",
        "reference=b c",
        "name=ALPHA",
        "name=*a",
        "name=é*",
        "dateCreated_gte=2016-08-15T14:52:48Z",
        "dateCreated_gt=2016-08-15T14:52:48Z",
        "dateCreated_lt=2016-08-15T14:52:48Z&order=desc",
        "dateCreated_lte=2016-08-15T14:52:48Z&dateCreated_gte=2016-08-15T14:52:48Z",
        "dateCreated_gte=2016-08-15T14:52:48Z&dateCreated_lte=2016-08-16T00:00:00Z&max=2&offset=1",
        "dateCreated_gte=2016-08-15T14:52:48Z&max=2&offset=1&order=desc",
        "dateCreated_gt=2016-08-20T00:00:00Z",
        "dateCreated_gt=2016-08-16T00:00:00Z&dateCreated_lt=2016-08-15T00:00:00Z",
        "dateCreated_gte=2016-08-15T00:00:00Z&sort=reference",
        "dateCreated_gte=2016-08-15T00:00:00Z&reference=ref*",
        "lastUpdated_gt=2016-12-31T00:00:00Z",
        "lastUpdated_lt=2016-12-31T00:00:00Z&sort=name&max=5",
        "name=alpha&reference=ref*&sort=dateCreated&order=desc",
        "name=*a*&sort=lastUpdated&order=desc&max=3&offset=1",
        "reference=*6*&sort=name",
        "reference=*F*&name=*a*&sort=reference&order=desc",
        "name=*e*&sort=description&max=2",
        "reference=*-6&max=1&offset=1",
        "name=*T*&sort=id&order=desc&offset=1",
        "name=*a*&max=0",
        "reference=*%231*",
        "name=*PSIL*&sort=name&order=desc",
        "name=*%C3%89*",
        "reference=*B*&name=*%C3%A9*&sort=id",
    ];
    for text in queries {
        let q = query(text);
        let (total, expected) = oracle(&q, &records);
        let page = store.list(&groups, &q).await.expect("list");
        let ids =
            |rs: &[Record<GroupFields>]| rs.iter().map(|r| (r.id, r.reference.clone())).collect::<Vec<_>>();
        assert_eq!(ids(&page.records), ids(&expected), "records of `{text}`");
        assert_eq!(page.total, total, "total of `{text}`");
        assert_eq!(page.records, expected, "record contents of `{text}`");
    }
}

/// Names order and match alike on every store (the DynamoDB index and the in-memory order):
/// ignoring case, then exactly, then by id; NULs, accents, and names longer than an index key
/// holds (they order by their first 500 bytes, then id) included.
pub async fn names_order_and_match_alike_everywhere(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let long = "\u{1F600}".repeat(200);
    let names = [
        "alpha".to_owned(),
        "Alpha".to_owned(),
        "ALPHA".to_owned(),
        "alpha\0x".to_owned(),
        "alphabet".to_owned(),
        "Alpha beta".to_owned(),
        "é".to_owned(),
        "É".to_owned(),
        "e".to_owned(),
        "Z".to_owned(),
        format!("{long}b"),
        format!("{long}a"),
        format!("A{long}"),
    ];
    let mut records = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let created = format!("2016-08-15T14:52:{:02}Z", 59 - i);
        records.push(
            store
                .create(&groups, draft(&format!("N-{i}"), name, &created))
                .await
                .expect("seed"),
        );
    }
    for text in [
        "sort=name".to_owned(),
        "sort=name&order=desc".to_owned(),
        "sort=name&max=3&offset=2".to_owned(),
        "name=alpha*&sort=name".to_owned(),
        "name=ALPHA&sort=name".to_owned(),
        "name=%C3%A9*&sort=name".to_owned(),
        "name=alpha*&sort=name&order=desc&max=2&offset=1".to_owned(),
        "name=alpha*".to_owned(),
        format!("name={long}*&sort=name"),
        format!("name=a{long}&sort=name&order=desc"),
        "name=*b".to_owned(),
        "name=*a&sort=name&order=desc".to_owned(),
        format!("name=*{long}*&max=2"),
        "name=*LPH*&sort=id".to_owned(),
    ] {
        let q = query(&text);
        let (total, expected) = oracle(&q, &records);
        let page = store.list(&groups, &q).await.expect("list");
        let ids = |rs: &[Record<GroupFields>]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&page.records), ids(&expected), "records of `{text}`");
        assert_eq!(page.total, total, "total of `{text}`");
    }
}

/// A list holds the records that can reach its page, not the organization's: 100 records,
/// queries no index serves, at most 64 records held.
pub async fn lists_hold_the_page_not_the_organization(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let mut records = Vec::new();
    for i in 0..100u32 {
        let name_text = format!("Name {:03}", (i * 97) % 100);
        let created = format!("2016-08-15T14:{:02}:{:02}Z", i / 60, i % 60);
        records.push(
            store
                .create(&groups, draft(&format!("R-{i:03}"), &name_text, &created))
                .await
                .expect("seed"),
        );
    }
    for text in [
        "name=*e*&sort=name&max=5&offset=10",
        "name=*E*&sort=name&order=desc&max=20",
        "name=*1*&max=3&offset=2",
        "reference=*-2*&sort=lastUpdated&order=desc&max=10",
    ] {
        let q = query(text);
        let (total, expected) = oracle(&q, &records);
        let page = store.list(&groups, &q).await.expect("list");
        assert_eq!(page.total, total, "total of `{text}`");
        assert_eq!(page.records, expected, "records of `{text}`");
        assert!(
            page.held <= 64,
            "`{text}` held {} of 100 records for a page of {}",
            page.held,
            page.records.len()
        );
    }
}

/// Walking the pages visits every record exactly once, in every order.
pub async fn paging_visits_each_record_once(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let records = seed(store.as_ref(), &groups).await;
    for base in [
        "",
        "order=desc",
        "sort=reference",
        "sort=name&order=desc",
        "dateCreated_gte=2016-08-15T14:52:48Z",
    ] {
        let expected_total = oracle(&query(base), &records).0;
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let q = query(&format!("{base}&max=3&offset={offset}"));
            let page = store.list(&groups, &q).await.expect("list");
            assert_eq!(page.total, expected_total, "{base}");
            if page.records.is_empty() {
                break;
            }
            seen.extend(page.records.iter().map(|r| r.id));
            offset += 3;
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "a record was visited twice for `{base}`"
        );
        assert_eq!(
            seen.len() as u64,
            expected_total,
            "records were missed for `{base}`"
        );
    }
}

/// The query string of a paging link (`/path?query`).
fn link_query(link: &str) -> &str {
    link.split_once('?').map_or("", |(_, query)| query)
}

/// One cursor page: the ids, and the links around it.
async fn cursor_page(
    store: &dyn RecordStore<GroupFields>,
    groups: &Scope<GroupFields>,
    text: &str,
    sealer: &Sealer<'_>,
) -> (Vec<u64>, CursorPaging) {
    let q = ListQuery::parse_paged(&LIST_SPEC, text, sealer).expect("valid query");
    let page = store.list(groups, &q).await.expect("list");
    let (links, records) = q.page("/p", page.total, page.records, sealer);
    let PageLinks::Cursor(links) = links else {
        panic!("`{text}` is cursor-paged");
    };
    assert!(
        page.held <= 64,
        "`{text}` held {} records for a page of {}",
        page.held,
        links.max
    );
    (records.iter().map(|r| r.id).collect(), links)
}

/// Cursor paging (beyond the reference): following `next` links from the first page, then
/// `previous` links back from the last, visits exactly the query's records in its order, on
/// every sort an index serves, with filters and in both orders.
pub async fn cursor_pages_walk_every_record_once(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let records = seed(store.as_ref(), &groups).await;
    store
        .create(
            &self::groups("org-b"),
            draft("Ref-60", "alpha", "2016-08-15T14:52:48Z"),
        )
        .await
        .expect("seed");
    let key = CursorKey::random();
    let organization = org("org-a");
    let sealer = Sealer {
        key: &key,
        org: &organization,
        resource: "customerGroups",
    };
    for base in [
        "",
        "order=desc",
        "sort=reference",
        "sort=reference&order=desc",
        "sort=name",
        "sort=name&order=desc",
        "sort=lastUpdated&order=desc",
        "sort=id&order=desc",
        "dateCreated_gte=2016-08-15T14:52:48Z",
        "name=*a*&sort=name",
        "name=*a*",
        "reference=*f*&order=desc&sort=lastUpdated",
        "reference=ref*&sort=reference",
    ] {
        let expected: Vec<u64> = oracle(&query(base), &records).1.iter().map(|r| r.id).collect();
        let mut pages = Vec::new();
        let mut text = format!("{base}&max=3&paging=cursor");
        let last = loop {
            let (ids, links) = cursor_page(store.as_ref(), &groups, &text, &sealer).await;
            assert_eq!(links.max, 3);
            assert_eq!(
                links.previous.is_some(),
                !pages.is_empty(),
                "`{base}`: previous of page {}",
                pages.len()
            );
            pages.push(ids);
            assert!(pages.len() <= records.len(), "`{base}`: the pages never end");
            match links.next {
                Some(next) => text = link_query(&next).to_owned(),
                None => break links,
            }
        };
        assert_eq!(pages.concat(), expected, "forward through `{base}`");
        assert!(pages.iter().all(|p| !p.is_empty()), "`{base}`: an empty page");
        let mut back = vec![pages.pop().unwrap_or_default()];
        let mut previous = last.previous;
        while let Some(link) = previous {
            let (ids, links) = cursor_page(store.as_ref(), &groups, link_query(&link), &sealer).await;
            assert!(
                links.next.is_some(),
                "`{base}`: a page reached backward has a next page"
            );
            back.insert(0, ids);
            assert!(back.len() <= records.len(), "`{base}`: the pages never begin");
            previous = links.previous;
        }
        assert_eq!(back.concat(), expected, "backward through `{base}`");
    }
}

/// `categoryReference` filters (resolved to the matching groups' ids, as the customers resource
/// does) answer what the oracle answers: one group, several, none, with sorts, offsets, cursors'
/// positions and other filters.
pub async fn category_filters_match_the_oracle(store: &Arc<dyn Store>) {
    use customer_api::customers::LIST_SPEC as CUSTOMERS;
    use customer_api::list::IdSet;
    let groups = groups("org-a");
    let mut group_ids = Vec::new();
    for (i, reference) in ["jewelry", "Jewels", "home"].iter().enumerate() {
        let created = format!("2016-08-15T10:00:0{i}Z");
        group_ids.push(
            store
                .create(&groups, draft(reference, "g", &created))
                .await
                .expect("group")
                .id,
        );
    }
    let customers = customers("org-a");
    let mut records = Vec::new();
    for i in 0..30u64 {
        let name_text = ["Élise", "élan", "Bob", "bob#1", "ZOÉ"][i as usize % 5];
        let draft = Draft {
            reference: reference(&format!("K-{i:02}")),
            fields: CustomerFields {
                name: Some(name(&format!("{name_text} {}", i % 7))),
                category_id: (i % 4 != 3).then(|| group_ids[i as usize % 3]),
                is_active: Some(i % 2 == 0),
                ..CustomerFields::default()
            },
            now: at(&format!("2016-08-15T14:{:02}:{:02}Z", i % 3, 59 - i)),
        };
        records.push(store.create(&customers, draft).await.expect("customer"));
    }
    let elsewhere = customer("K-00", Some(group_ids[0]), None);
    store
        .create(
            &self::customers("org-b"),
            Draft {
                fields: CustomerFields {
                    category_id: None,
                    ..elsewhere.fields
                },
                ..elsewhere
            },
        )
        .await
        .expect("another tenant");
    for (text, matching) in [
        ("categoryReference=jewelry", vec![0]),
        ("categoryReference=jewelry&offset=3&max=4&order=desc", vec![0]),
        ("categoryReference=jew*&sort=name", vec![0, 1]),
        (
            "categoryReference=jew*&sort=name&order=desc&max=5&offset=2",
            vec![0, 1],
        ),
        ("categoryReference=*e*&isActive=true", vec![0, 1, 2]),
        ("categoryReference=*&name=*LAN*", vec![0, 1, 2]),
        ("categoryReference=home&name=bob*&sort=reference", vec![2]),
        ("categoryReference=nothing", vec![]),
        ("categoryReference=jew*&max=4&offset=2", vec![0, 1]),
        ("categoryReference=*&order=desc&max=5", vec![0, 1, 2]),
        ("categoryReference=*&max=0", vec![0, 1, 2]),
        ("categoryReference=*&offset=18", vec![0, 2]),
    ] {
        let mut q = ListQuery::parse(&CUSTOMERS, text).expect("valid query");
        q.take_linked("categoryReference").expect("a category filter");
        q.id_sets.push(IdSet {
            name: "categoryReference",
            id: |c| c.category_id,
            ids: matching.iter().map(|at: &usize| group_ids[*at]).collect(),
        });
        let (total, expected) = oracle(&q, &records);
        let page = store.list(&customers, &q).await.expect("list");
        let ids = |rs: &[Record<CustomerFields>]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&page.records), ids(&expected), "records of `{text}`");
        assert_eq!(page.total, total, "total of `{text}`");
    }
}

fn group_link(id: u64) -> Link {
    Link {
        kind: Kind::Group,
        id,
    }
}

/// A linked record counts its dependents, cannot be deleted while used, and is released when the
/// user is relinked or deleted. A record's links follow from its fields.
pub async fn links_count_dependents_and_block_deletes(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let customers = customers("org-a");
    let g1 = store
        .create(&groups, draft("G1", "g", "2020-01-01T00:00:00Z"))
        .await
        .expect("group");
    let g2 = store
        .create(&groups, draft("G2", "g", "2020-01-01T00:00:00Z"))
        .await
        .expect("group");
    let c1 = store
        .create(&customers, customer("C1", Some(g1.id), None))
        .await
        .expect("customer");
    assert_eq!(c1.links, vec![group_link(g1.id)]);
    let c2 = store
        .create(&customers, customer("C2", Some(g1.id), Some(c1.id)))
        .await
        .expect("sub-customer");
    assert_eq!(
        c2.links,
        vec![
            group_link(g1.id),
            Link {
                kind: Kind::Customer,
                id: c1.id,
            }
        ]
    );

    let read = store
        .get_many(&groups, &[g1.id, g2.id, 999])
        .await
        .expect("get_many");
    assert_eq!(read.len(), 2);
    assert_eq!(store.dependents(&groups, g1.id).await, Ok(Some(2)));
    assert_eq!(store.dependents(&groups, g2.id).await, Ok(Some(0)));
    assert_eq!(store.dependents(&groups, 999).await, Ok(None));
    assert_eq!(store.dependents(&customers, c1.id).await, Ok(Some(1)), "a parent");
    assert_eq!(store.delete(&groups, g1.id, None).await, Err(StoreError::InUse));
    assert_eq!(
        store.delete(&customers, c1.id, None).await,
        Err(StoreError::InUse),
        "a parent with children"
    );
    assert!(
        store.get(&groups, g1.id).await.expect("get").is_some(),
        "a refused delete deletes nothing"
    );

    let moved = store
        .update(&customers, c1.id, relink(Some(g2.id)))
        .await
        .expect("relink");
    assert_eq!(moved.links, vec![group_link(g2.id)]);
    assert_eq!(store.dependents(&groups, g1.id).await, Ok(Some(1)));
    store.delete(&customers, c2.id, None).await.expect("delete child");
    store.delete(&groups, g1.id, None).await.expect("g1 is free now");
    store
        .delete(&customers, c1.id, None)
        .await
        .expect("c1 has no children now");
    assert_eq!(store.dependents(&groups, g2.id).await, Ok(Some(0)));
    store.delete(&groups, g2.id, None).await.expect("g2 is free now");
}

/// A link to a missing record (or another organization's) is refused and leaves nothing behind.
pub async fn link_to_a_missing_record_is_refused_without_trace(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let customers = customers("org-a");
    let elsewhere = store
        .create(
            &self::groups("org-b"),
            draft("G", "other org", "2020-01-01T00:00:00Z"),
        )
        .await
        .expect("group in org-b");
    assert_eq!(
        store
            .create(&customers, customer("C1", Some(elsewhere.id + 50), None))
            .await,
        Err(StoreError::MissingLink(group_link(elsewhere.id + 50)))
    );
    if store.get(&groups, elsewhere.id).await.expect("get").is_none() {
        assert_eq!(
            store
                .create(&customers, customer("C1", Some(elsewhere.id), None))
                .await,
            Err(StoreError::MissingLink(group_link(elsewhere.id)))
        );
    }
    assert_eq!(
        store
            .list(
                &customers,
                &ListQuery::parse(&customer_api::customers::LIST_SPEC, "").expect("query")
            )
            .await
            .expect("list")
            .total,
        0
    );
    assert_eq!(
        store.find_by_reference(&customers, "C1").await.expect("find"),
        None,
        "reference not taken"
    );

    let kept = store
        .create(&customers, customer("C1", None, None))
        .await
        .expect("create");
    let bad = Patch {
        reference: Some(reference("C1-renamed")),
        fields: CustomerPatch {
            name: Some(Some(name("changed"))),
            category_id: Some(Some(4242)),
            ..CustomerPatch::default()
        },
        now: at("2020-03-01T00:00:00Z"),
        expected: None,
        checks: Vec::new(),
    };
    assert_eq!(
        store.update(&customers, kept.id, bad).await,
        Err(StoreError::MissingLink(group_link(4242)))
    );
    assert_eq!(
        store.get(&customers, kept.id).await.expect("get"),
        Some(kept),
        "a refused update changes nothing"
    );
    assert_eq!(
        store
            .find_by_reference(&customers, "C1-renamed")
            .await
            .expect("find"),
        None
    );
}

/// Concurrent relinks of one record keep every dependents count exact (a relink that lost its
/// race answers `Conflict` and is tried again, as the domain does).
pub async fn concurrent_relinks_keep_counts_exact(store: &Arc<dyn Store>) {
    let groups = groups("org-a");
    let customers = customers("org-a");
    let g1 = store
        .create(&groups, draft("G1", "g", "2020-01-01T00:00:00Z"))
        .await
        .expect("group");
    let g2 = store
        .create(&groups, draft("G2", "g", "2020-01-01T00:00:00Z"))
        .await
        .expect("group");
    let record = store
        .create(&customers, customer("C", Some(g1.id), None))
        .await
        .expect("customer");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = Arc::clone(store);
            let customers = customers.clone();
            let target = if i % 2 == 0 { g2.id } else { g1.id };
            tokio::spawn(async move {
                let mut patch = relink(Some(target));
                patch.fields.name = Some(Some(name(&format!("n{i}"))));
                loop {
                    match store.update(&customers, record.id, patch.clone()).await {
                        Err(StoreError::Conflict) => tokio::task::yield_now().await,
                        done => return done,
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("relink");
    }
    let linked = store
        .get(&customers, record.id)
        .await
        .expect("get")
        .expect("exists")
        .links;
    for group in [g1.id, g2.id] {
        let expected = u64::from(linked.contains(&group_link(group)));
        assert_eq!(
            store.dependents(&groups, group).await,
            Ok(Some(expected)),
            "group {group}"
        );
    }
}

/// Idempotency keys: a claim is exclusive until answered, then replays its answer; another
/// request with the key is a mismatch; a key expires after its window, a claim whose request
/// died is taken over, and keys are per organization.
pub async fn idempotency_keys_replay_expire_and_belong_to_one_organization(store: &Arc<dyn Store>) {
    use customer_api::idempotency::{
        Claim, Fingerprint, IdempotencyKey, STALE_CLAIM_SECONDS, StoredResponse, WINDOW_SECONDS,
    };
    let (a, b) = (org("org-a"), org("org-b"));
    let key = IdempotencyKey::parse("key-1").expect("key");
    let first = Fingerprint::of("POST", "/x", "", "", b"1");
    let other = Fingerprint::of("POST", "/x", "", "", b"2");
    let t = 1_800_000_000;
    assert_eq!(store.claim(&a, &key, &first, t).await, Ok(Claim::Claimed));
    assert_eq!(store.claim(&a, &key, &first, t + 1).await, Ok(Claim::InFlight));
    assert_eq!(store.claim(&a, &key, &other, t + 1).await, Ok(Claim::Mismatch));
    assert_eq!(
        store.claim(&b, &key, &other, t + 1).await,
        Ok(Claim::Claimed),
        "another organization's"
    );
    let answer = StoredResponse {
        status: 201,
        body: r#"{"id":1}"#.into(),
        etag: Some("\"1\"".into()),
    };
    store.complete(&a, &key, &answer).await.expect("complete");
    assert_eq!(
        store.claim(&a, &key, &first, t + 2).await,
        Ok(Claim::Replay(answer))
    );
    assert_eq!(store.claim(&a, &key, &other, t + 2).await, Ok(Claim::Mismatch));
    assert_eq!(
        store.claim(&a, &key, &other, t + WINDOW_SECONDS).await,
        Ok(Claim::Claimed),
        "an expired key is free again"
    );
    assert_eq!(
        store.claim(&b, &key, &first, t + 1 + STALE_CLAIM_SECONDS).await,
        Ok(Claim::Claimed),
        "a claim never answered is taken over once stale"
    );
    store.release(&b, &key).await.expect("release");
    assert_eq!(
        store.claim(&b, &key, &other, t + 2 + STALE_CLAIM_SECONDS).await,
        Ok(Claim::Claimed)
    );
}
