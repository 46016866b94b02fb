//! The one storage contract suite, run on both adapters.

use api_tests::contract::*;

api_tests::on_both_stores!(
    api_tests::TestStore::new;
    creates_and_reads,
    duplicate_reference_is_refused_without_trace,
    scopes_are_isolated,
    partial_update_touches_only_named_fields,
    rename_moves_the_reference,
    delete_frees_the_reference,
    concurrent_creates_of_one_reference,
    concurrent_creates_get_distinct_ids,
    concurrent_updates_of_different_fields,
    list_matches_the_in_memory_oracle,
    lists_hold_the_page_not_the_organization,
    names_order_and_match_alike_everywhere,
    paging_visits_each_record_once,
    cursor_pages_walk_every_record_once,
    category_filters_match_the_oracle,
    links_count_dependents_and_block_deletes,
    link_to_a_missing_record_is_refused_without_trace,
    concurrent_relinks_keep_counts_exact,
    idempotency_keys_replay_expire_and_belong_to_one_organization,
);

/// Behaviour particular to one adapter: id blocks and read costs on DynamoDB, persistence of
/// the embedded store.
mod adapter_specific {
    use std::collections::HashSet;
    use std::sync::Arc;

    use api_tests::fresh_table;
    use aws_sdk_dynamodb::types::AttributeValue;
    use customer_api::groups::{GroupFields, LIST_SPEC};
    use customer_api::list::cursor::{CursorKey, Sealer};
    use customer_api::list::{CursorPaging, ListQuery, PageLinks};
    use customer_api::model::{Draft, Organization, Scope};
    use customer_api::store::{DynamoStore, RecordStore};
    use customer_api::time::Timestamp;
    use customer_api::values::{Name, Reference};
    use local_api::EmbeddedStore;

    fn scope(org: &str) -> Scope<GroupFields> {
        Scope::new(&Organization::parse(org).expect("org"))
    }

    /// Makes record `id` of `scope_key` look as written before some indexes existed: without
    /// their key `attributes` (`REMOVE a, b`).
    async fn predate_indexes(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        scope_key: &str,
        id: u64,
        attributes: &str,
    ) {
        client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("{scope_key}#{id}")))
            .key("sk", AttributeValue::S("record".into()))
            .update_expression(format!("REMOVE {attributes}"))
            .send()
            .await
            .expect("remove the index keys");
    }

    fn draft(reference: String, second: i64) -> Draft<GroupFields> {
        Draft {
            fields: GroupFields {
                name: Name::parse(&format!("name {reference}")).expect("name"),
                description: None,
            },
            reference: Reference::parse(&reference).expect("reference"),
            now: Timestamp::from_unix_seconds(1_500_000_000 + second).expect("time"),
        }
    }

    #[tokio::test]
    async fn dynamo_id_blocks_are_shared_safely_between_instances() {
        let (client, table) = fresh_table().await;
        let one = DynamoStore::new(client.clone(), table.clone(), 5);
        let two = DynamoStore::new(client, table, 5);
        let groups = scope("org-a");
        let mut ids = Vec::new();
        for i in 0..12 {
            let store = if i % 2 == 0 { &one } else { &two };
            ids.push(
                store
                    .create(&groups, draft(format!("R{i}"), i))
                    .await
                    .expect("create")
                    .id,
            );
        }
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert_eq!(&ids[..4], &[1, 6, 2, 7], "each instance hands out its own block");
    }

    #[tokio::test]
    async fn dynamo_list_reads_are_bounded_by_the_page() {
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client, table, 10);
        for org in ["org-a", "org-b"] {
            for i in 0..60 {
                store
                    .create(&scope(org), draft(format!("C-{i:03}"), i))
                    .await
                    .expect("create");
            }
        }
        let cost = |text: &str| {
            let query = ListQuery::parse(&LIST_SPEC, text).expect("query");
            let store = &store;
            async move { store.list(&scope("org-a"), &query).await.expect("list") }
        };
        let page = cost("max=10").await;
        assert_eq!((page.total, page.records.len()), (60, 10));
        assert!(page.items_read <= 11, "default page read {}", page.items_read);
        let page = cost("max=10&sort=reference&order=desc").await;
        assert_eq!(page.records[0].reference, "C-059");
        assert!(page.items_read <= 11, "reference order read {}", page.items_read);
        let page = cost("max=10&offset=30").await;
        assert_eq!(page.records[0].reference, "C-030");
        assert!(page.items_read <= 41, "deep offset read {}", page.items_read);
        let page = cost("dateCreated_gte=2017-07-14T02:40:10Z&dateCreated_lt=2017-07-14T02:40:20Z").await;
        assert_eq!((page.total, page.records.len()), (10, 10));
        assert!(page.items_read <= 12, "date range read {}", page.items_read);
        let page = cost("reference=C-01*&sort=reference").await;
        assert_eq!(page.total, 10);
        assert!(page.items_read <= 12, "reference prefix read {}", page.items_read);
        let page = cost("reference=C-01*").await;
        assert_eq!(page.total, 10);
        assert!(
            page.items_read <= 12,
            "reference prefix (date order) read {}",
            page.items_read
        );
        let page = cost("max=10&sort=lastUpdated&order=desc&offset=5").await;
        assert_eq!(page.records[0].reference, "C-054");
        assert!(
            page.items_read <= 11 + 5,
            "lastUpdated order read {}",
            page.items_read
        );
        let page =
            cost("lastUpdated_gte=2017-07-14T02:40:10Z&lastUpdated_lt=2017-07-14T02:40:20Z&sort=lastUpdated")
                .await;
        assert_eq!((page.total, page.records.len()), (10, 10));
        assert!(
            page.items_read <= 12,
            "lastUpdated range read {}",
            page.items_read
        );
        let page = cost("max=10&sort=name&order=desc&offset=5").await;
        assert_eq!(page.records[0].reference, "C-054");
        assert!(page.items_read <= 11 + 5, "name order read {}", page.items_read);
        let page = cost("name=NAME+C-01*&sort=name").await;
        assert_eq!((page.total, page.records.len()), (10, 10));
        assert!(page.items_read <= 12, "name prefix read {}", page.items_read);
        let page = cost("name=NAME+C-0*&sort=name&max=5").await;
        assert_eq!((page.total, page.records[0].reference.as_str()), (60, "C-000"));
        assert!(
            page.items_read <= 5,
            "a name prefix fetches its page ({} items read)",
            page.items_read
        );
        assert_eq!(
            page.keys_read, 60,
            "and counts its matches on the keys-only index"
        );
        let key = CursorKey::random();
        let org_a = Organization::parse("org-a").expect("org");
        let sealer = Sealer {
            key: &key,
            org: &org_a,
            resource: "customerGroups",
        };
        for (sort, first) in [
            ("", "C-000"),
            ("sort=reference&order=desc", "C-059"),
            ("sort=name", "C-000"),
            ("sort=lastUpdated&order=desc", "C-059"),
        ] {
            let mut text = format!("{sort}&max=10&paging=cursor");
            let mut pages = 0;
            loop {
                let query = ListQuery::parse_paged(&LIST_SPEC, &text, &sealer).expect("query");
                let page = store.list(&scope("org-a"), &query).await.expect("list");
                if pages == 0 {
                    assert_eq!(page.records[0].reference, first, "`{sort}`");
                }
                assert!(
                    page.items_read <= 11,
                    "cursor page {pages} of `{sort}` read {}",
                    page.items_read
                );
                pages += 1;
                let (links, _) = query.page("/p", page.total, page.records, &sealer);
                let PageLinks::Cursor(CursorPaging { next: Some(next), .. }) = links else {
                    break;
                };
                text = next
                    .split_once('?')
                    .map(|(_, q)| q.to_owned())
                    .unwrap_or_default();
            }
            assert_eq!(pages, 6, "`{sort}`: 60 records in pages of 10");
        }
        let page = cost("name=*5*").await;
        assert_eq!(page.total, 15);
        assert_eq!(
            (page.items_read, page.keys_read),
            (15, 60),
            "a contains filter matches on the organization's narrow name entries, then reads its 15 matches"
        );
        let page = cost("name=*5*&sort=name&order=desc&max=4").await;
        assert_eq!((page.total, page.records[0].reference.as_str()), (15, "C-059"));
        assert_eq!(
            (page.items_read, page.keys_read),
            (4, 60),
            "in name order the entries hold the order: only the page is read"
        );
        let page = cost("name=*C*&max=10").await;
        assert_eq!(page.total, 60);
        assert!(
            page.items_read <= 10 + 1,
            "with many matches the date index is read until the page is full ({} items)",
            page.items_read
        );
    }

    #[tokio::test]
    async fn the_backfill_puts_older_records_in_the_last_updated_index() {
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client.clone(), table.clone(), 10);
        let groups = scope("org-a");
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                store
                    .create(&groups, draft(format!("B-{i}"), i))
                    .await
                    .expect("create")
                    .id,
            );
        }
        // Items written before the indexes existed have no `updatedKey` or `nameKey`.
        for id in &ids[..3] {
            predate_indexes(&client, &table, &groups.key(), *id, "updatedKey, nameKey").await;
        }
        let by_update = ListQuery::parse(&LIST_SPEC, "sort=lastUpdated&order=desc").expect("query");
        let listed = |page: customer_api::store::ListPage<GroupFields>| {
            page.records.iter().map(|r| r.id).collect::<Vec<_>>()
        };
        let by_name = ListQuery::parse(&LIST_SPEC, "sort=name").expect("query");
        let before = store.list(&groups, &by_update).await.expect("list");
        assert_eq!(
            listed(before),
            [ids[4], ids[3]],
            "the index misses the older items"
        );
        let before = store.list(&groups, &by_name).await.expect("list");
        assert_eq!(
            listed(before),
            [ids[3], ids[4]],
            "the index misses the older items"
        );
        assert_eq!(store.backfill_index_keys().await.expect("backfill"), 3);
        let after = store.list(&groups, &by_update).await.expect("list");
        assert_eq!(after.total, 5);
        assert_eq!(listed(after), ids.iter().rev().copied().collect::<Vec<_>>());
        let after = store.list(&groups, &by_name).await.expect("list");
        assert_eq!(listed(after), ids);
        assert_eq!(
            store.backfill_index_keys().await.expect("rerun"),
            0,
            "nothing left to do"
        );
    }

    #[tokio::test]
    async fn dynamo_active_filters_read_their_partition() {
        use customer_api::customers::{CustomerFields, CustomerPatch, LIST_SPEC as CUSTOMERS};
        use customer_api::model::Patch;
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client.clone(), table.clone(), 10);
        let customers: Scope<CustomerFields> = Scope::new(&Organization::parse("org-a").expect("org"));
        let mut inactive = Vec::new();
        for i in 0..30 {
            let draft = Draft {
                fields: CustomerFields {
                    name: Name::parse(&format!("Customer {i}")).ok(),
                    is_active: Some(i % 3 != 0),
                    ..CustomerFields::default()
                },
                reference: Reference::parse(&format!("A-{i:02}")).expect("reference"),
                now: Timestamp::from_unix_seconds(1_500_000_000 + i).expect("time"),
            };
            let record = store.create(&customers, draft).await.expect("create");
            if i % 3 == 0 {
                inactive.push(record.id);
            }
        }
        let list = |text: &str| {
            let query = ListQuery::parse(&CUSTOMERS, text).expect("query");
            let (store, customers) = (&store, &customers);
            async move { store.list(customers, &query).await.expect("list") }
        };
        let page = list("isActive=false&max=4").await;
        assert_eq!(page.total, 10);
        assert_eq!(
            page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
            inactive[..4]
        );
        // The page, then the rest of the partition to count `total`: 10 of the 30 customers.
        assert!(
            page.items_read <= 10,
            "the inactive partition read {}",
            page.items_read
        );
        let page = list("isActive=true&max=5&offset=15&order=desc").await;
        assert_eq!((page.total, page.records.len()), (20, 5));
        assert!(
            page.items_read <= 20 + 1,
            "offset in the active partition read {}",
            page.items_read
        );

        let activate = Patch {
            reference: None,
            fields: CustomerPatch {
                is_active: Some(Some(true)),
                ..CustomerPatch::default()
            },
            now: Timestamp::from_unix_seconds(1_600_000_000).expect("time"),
            expected: None,
            checks: Vec::new(),
        };
        store
            .update(&customers, inactive[0], activate)
            .await
            .expect("update");
        let page = list("isActive=false").await;
        assert_eq!(page.total, 9);
        assert_eq!(
            page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
            inactive[1..]
        );
        assert_eq!(list("isActive=true").await.total, 21);

        // Items written before the index existed have no `activeScope`.
        predate_indexes(&client, &table, &customers.key(), inactive[1], "activeScope").await;
        assert_eq!(list("isActive=false").await.records.len(), 8);
        assert_eq!(store.backfill_index_keys().await.expect("backfill"), 1);
        assert_eq!(list("isActive=false").await.records.len(), 9);
    }

    #[tokio::test]
    async fn dynamo_category_filters_read_their_groups_customers() {
        use customer_api::customers::{CustomerFields, CustomerPatch, LIST_SPEC as CUSTOMERS};
        use customer_api::list::IdSet;
        use customer_api::model::Patch;
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client.clone(), table.clone(), 10);
        let groups = scope("org-a");
        let one = store
            .create(&groups, draft("G-1".into(), 0))
            .await
            .expect("group");
        let two = store
            .create(&groups, draft("G-2".into(), 1))
            .await
            .expect("group");
        let customers: Scope<CustomerFields> = Scope::new(&Organization::parse("org-a").expect("org"));
        let mut in_one = Vec::new();
        for i in 0..40 {
            let group = if i % 4 == 0 { one.id } else { two.id };
            let draft = Draft {
                fields: CustomerFields {
                    name: Name::parse(&format!("Customer {i}")).ok(),
                    category_id: (i < 36).then_some(group),
                    ..CustomerFields::default()
                },
                reference: Reference::parse(&format!("K-{i:02}")).expect("reference"),
                now: Timestamp::from_unix_seconds(1_500_000_000 + i).expect("time"),
            };
            let record = store.create(&customers, draft).await.expect("create");
            if i < 36 && group == one.id {
                in_one.push(record.id);
            }
        }
        // As the customers resource resolves `categoryReference`: the matching groups' ids.
        let list = |text: &str, ids: Vec<u64>| {
            let mut query = ListQuery::parse(&CUSTOMERS, text).expect("query");
            query.take_linked("categoryReference");
            query.id_sets.push(IdSet {
                name: "categoryReference",
                id: |c| c.category_id,
                ids,
            });
            let (store, customers) = (&store, &customers);
            async move { store.list(customers, &query).await.expect("list") }
        };
        let page = list("categoryReference=G-1&max=4&offset=2", vec![one.id]).await;
        assert_eq!(page.total, 9);
        assert_eq!(
            page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
            in_one[2..6]
        );
        assert!(
            page.items_read <= 4,
            "one group's page read {} items",
            page.items_read
        );
        assert_eq!(
            page.keys_read, 9,
            "its partition's keys are counted for the total"
        );
        let page = list("categoryReference=G-*&max=5&offset=3", vec![one.id, two.id]).await;
        assert_eq!((page.total, page.records.len()), (36, 5));
        assert_eq!(page.records[0].reference, "K-03");
        assert_eq!(
            (page.items_read, page.keys_read),
            (5, 36),
            "two groups by creation: their first keys merged, the page fetched, the rest counted"
        );
        // Cursor pages over both groups: each reads its page (and one more) whatever the depth.
        let key = CursorKey::random();
        let org_a = Organization::parse("org-a").expect("org");
        let sealer = Sealer {
            key: &key,
            org: &org_a,
            resource: "customers",
        };
        let (mut text, mut walked) = (
            "categoryReference=G-*&max=10&paging=cursor".to_owned(),
            Vec::new(),
        );
        loop {
            let mut query = ListQuery::parse_paged(&CUSTOMERS, &text, &sealer).expect("query");
            query.take_linked("categoryReference");
            query.id_sets.push(IdSet {
                name: "categoryReference",
                id: |c| c.category_id,
                ids: vec![one.id, two.id],
            });
            let page = store.list(&customers, &query).await.expect("list");
            assert!(
                page.items_read <= 11,
                "a cursor page read {} items",
                page.items_read
            );
            let (links, records) = query.page("/p", page.total, page.records, &sealer);
            walked.extend(records.iter().map(|r| r.reference.as_str().to_owned()));
            let PageLinks::Cursor(CursorPaging { next: Some(next), .. }) = links else {
                break;
            };
            text = next
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default();
        }
        let expected: Vec<String> = (0..36).map(|i| format!("K-{i:02}")).collect();
        assert_eq!(walked, expected);
        let page = list("categoryReference=G-*&sort=name&max=5", vec![one.id, two.id]).await;
        assert_eq!((page.total, page.records.len()), (36, 5));
        assert_eq!(
            page.items_read, 36,
            "two groups read their customers, not the tenant's 40"
        );
        let page = list("categoryReference=none", Vec::new()).await;
        assert_eq!((page.total, page.items_read, page.keys_read), (0, 0, 0));

        let move_to = |group: Option<u64>| Patch {
            reference: None,
            fields: CustomerPatch {
                category_id: Some(group),
                ..CustomerPatch::default()
            },
            now: Timestamp::from_unix_seconds(1_600_000_000).expect("time"),
            expected: None,
            checks: Vec::new(),
        };
        store
            .update(&customers, in_one[0], move_to(Some(two.id)))
            .await
            .expect("move");
        store
            .update(&customers, in_one[1], move_to(None))
            .await
            .expect("leave");
        let page = list("categoryReference=G-1", vec![one.id]).await;
        assert_eq!(page.records.iter().map(|r| r.id).collect::<Vec<_>>(), in_one[2..]);
        assert_eq!(list("categoryReference=G-2", vec![two.id]).await.total, 28);

        // Items written before the index existed have no `categoryScope`.
        predate_indexes(&client, &table, &customers.key(), in_one[2], "categoryScope").await;
        assert_eq!(list("categoryReference=G-1", vec![one.id]).await.total, 6);
        assert_eq!(store.backfill_index_keys().await.expect("backfill"), 1);
        assert_eq!(list("categoryReference=G-1", vec![one.id]).await.total, 7);
    }

    #[tokio::test]
    async fn embedded_store_persists_across_restarts() {
        let dir = tempfile::tempdir().expect("dir");
        let groups = scope("org-a");
        let created = {
            let store = EmbeddedStore::open(dir.path()).expect("open");
            store
                .create(&groups, draft("Kept".into(), 0))
                .await
                .expect("create")
        };
        let store: Arc<dyn RecordStore<GroupFields>> =
            Arc::new(EmbeddedStore::open(dir.path()).expect("reopen"));
        assert_eq!(
            store.find_by_reference(&groups, "Kept").await.expect("find"),
            Some(created.clone())
        );
        let next = store
            .create(&groups, draft("Next".into(), 1))
            .await
            .expect("create");
        assert!(next.id > created.id, "the id sequence survives a restart");
        assert!(
            store.create(&groups, draft("Kept".into(), 2)).await.is_err(),
            "uniqueness survives too"
        );
    }

    /// A data directory written before dependents counts had their own table: the counts are
    /// carried over when it is opened, so a group that has customers still cannot be deleted.
    #[tokio::test]
    async fn embedded_store_opens_a_directory_of_the_previous_layout() {
        use customer_api::model::StoreError;
        use redb::TableDefinition;

        let dir = tempfile::tempdir().expect("dir");
        {
            let db = redb::Database::create(dir.path().join("store.redb")).expect("create");
            let txn = db.begin_write().expect("write");
            {
                let mut records: redb::Table<(&str, u64), &[u8]> =
                    txn.open_table(TableDefinition::new("records")).expect("records");
                let group = br#"{"id":1,"reference":"G","dateCreated":"2020-01-01T00:00:00Z","lastUpdated":"2020-01-01T00:00:00Z","fields":{"name":"Group","description":null},"links":[],"dependents":2}"#;
                records
                    .insert(("org-a#group", 1), group.as_slice())
                    .expect("insert");
                let mut references: redb::Table<(&str, &str), u64> = txn
                    .open_table(TableDefinition::new("references"))
                    .expect("references");
                references.insert(("org-a#group", "G"), 1).expect("insert");
            }
            txn.commit().expect("commit");
        }
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let groups = scope("org-a");
        let group = store.get(&groups, 1).await.expect("get").expect("kept");
        assert_eq!(group.fields.name.as_str(), "Group");
        assert_eq!(store.dependents(&groups, 1).await, Ok(Some(2)));
        assert_eq!(group.fields.description, None);
        assert_eq!(store.delete(&groups, 1, None).await, Err(StoreError::InUse));
    }

    /// A group written before groups had dependents shards (an import writes none): customers
    /// still join it (counted on the group's record), and it cannot be deleted until they leave.
    #[tokio::test]
    async fn dynamo_groups_without_dependents_shards_still_count() {
        use customer_api::customers::CustomerFields;
        use customer_api::model::{Record, StoreError};

        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client, table, 1);
        let groups = scope("org-a");
        let customers: Scope<CustomerFields> = Scope::new(&Organization::parse("org-a").expect("org"));
        let draft = draft("Old".into(), 0);
        let old = Record {
            id: 1,
            reference: draft.reference,
            date_created: draft.now,
            last_updated: draft.now,
            fields: draft.fields,
            links: Vec::new(),
            version: 0,
        };
        store.import(&groups, &[old]).await.expect("import");
        let mut ids = Vec::new();
        for i in 0..3 {
            let customer = Draft {
                reference: Reference::parse(&format!("C{i}")).expect("reference"),
                fields: CustomerFields {
                    name: Name::parse("c").ok(),
                    category_id: Some(1),
                    ..CustomerFields::default()
                },
                now: Timestamp::from_unix_seconds(1_500_000_000).expect("time"),
            };
            ids.push(store.create(&customers, customer).await.expect("joins").id);
        }
        assert_eq!(store.dependents(&groups, 1).await, Ok(Some(3)));
        assert_eq!(store.delete(&groups, 1, None).await, Err(StoreError::InUse));
        for id in ids {
            store.delete(&customers, id, None).await.expect("leaves");
        }
        assert_eq!(store.dependents(&groups, 1).await, Ok(Some(0)));
        store.delete(&groups, 1, None).await.expect("free now");
    }

    /// Bursts straight at the store (no reads before the transactions, so they arrive together,
    /// as on DynamoDB): 64 creates of one scope, and 32 customers joining one group, all commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dynamo_bursts_on_hot_items_all_commit() {
        use customer_api::customers::CustomerFields;

        let (client, table) = fresh_table().await;
        let store = Arc::new(DynamoStore::new(client, table, 10));
        let groups = scope("org-a");
        // 32 creates and 16 joins at the store, within its own 2 s retry budget; 64 creates and
        // 32 joins at once go through the whole request's budget in the HTTP-level spike tests
        // (`concurrency.rs`). The test server runs one request at a time, so larger bursts here
        // measure its queue on a loaded machine, not the store.
        let creates: Vec<_> = (0..32)
            .map(|i| {
                let (store, groups) = (Arc::clone(&store), groups.clone());
                tokio::spawn(async move { store.create(&groups, draft(format!("B{i}"), i)).await })
            })
            .collect();
        for create in creates {
            create.await.expect("task").expect("every create commits");
        }
        let group = store
            .create(&groups, draft("Hot".into(), 100))
            .await
            .expect("group");
        let customers: Scope<CustomerFields> = Scope::new(&Organization::parse("org-a").expect("org"));
        let joins: Vec<_> = (0..16)
            .map(|i| {
                let (store, customers) = (Arc::clone(&store), customers.clone());
                tokio::spawn(async move {
                    let customer = Draft {
                        reference: Reference::parse(&format!("J{i}")).expect("reference"),
                        fields: CustomerFields {
                            name: Name::parse("j").ok(),
                            category_id: Some(group.id),
                            ..CustomerFields::default()
                        },
                        now: Timestamp::from_unix_seconds(1_500_000_000).expect("time"),
                    };
                    store.create(&customers, customer).await
                })
            })
            .collect();
        for join in joins {
            join.await.expect("task").expect("every join commits");
        }
        assert_eq!(store.dependents(&groups, group.id).await, Ok(Some(16)));
        let query = ListQuery::parse(&LIST_SPEC, "").expect("query");
        assert_eq!(store.list(&groups, &query).await.expect("list").total, 33);
    }
}
