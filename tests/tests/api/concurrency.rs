//! Correctness under real concurrency, through the HTTP layer on both stores. The DynamoDB
//! adapter runs against the test server's DynamoDB semantics (`tests/moto_server.py`: writes in
//! flight for a while, overlapping transactions cancelled, lost responses); the embedded store's
//! writes wait as long before they commit, so requests interleave between read and write as they
//! do in production. Each race is run for several rounds.

use std::sync::Arc;
use std::time::Duration;

use api_tests::{Adapter, ENTITY1, Reply, TestApi, TestStore, set_faults, transaction_stats};
use serde_json::{Value, json};

const CUSTOMERS: &str = "/api/v1.0/customers";
const GROUPS: &str = "/api/v1.0/customerGroups";
const FORM: &str = "application/x-www-form-urlencoded";
const ROUNDS: usize = 6;

async fn api(adapter: Adapter) -> Arc<TestApi> {
    let store = TestStore::with_write_latency(adapter, Duration::from_millis(5)).await;
    Arc::new(TestApi::over(store, adapter, true).await)
}

async fn submit(api: &TestApi, method: &str, path: &str, body: &str) -> Reply {
    api.call(method, path, Some(ENTITY1), body.as_bytes(), FORM).await
}

async fn created(api: &TestApi, path: &str, body: &str) -> u64 {
    let reply = submit(api, "POST", path, body).await;
    assert_eq!(reply.status, 201, "{body}: {}", reply.body);
    reply.body["id"].as_u64().expect("id")
}

async fn group(api: &TestApi, reference: &str) -> u64 {
    let body = json!({"reference": reference, "name": reference}).to_string();
    let reply = api
        .call("POST", GROUPS, Some(ENTITY1), body.as_bytes(), "application/json")
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_u64().expect("id")
}

async fn shown(api: &TestApi, id: u64) -> Value {
    let reply = api.get(&format!("{CUSTOMERS}/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Two requests at once.
async fn both(
    api: &Arc<TestApi>,
    one: (&str, String, String),
    two: (&str, String, String),
) -> (Reply, Reply) {
    let send = |(method, path, body): (&str, String, String)| {
        let api = Arc::clone(api);
        let method = method.to_owned();
        tokio::spawn(async move { submit(&api, &method, &path, &body).await })
    };
    let (first, second) = (send(one), send(two));
    (first.await.expect("task"), second.await.expect("task"))
}

/// Changing a customer's group and its parent at the same time keeps both changes: each is
/// decided from the customer as read and written only if it is still that customer.
pub async fn concurrent_link_changes_lose_nothing(api: &Arc<TestApi>) {
    let (g1, g2) = (group(api, "G1").await, group(api, "G2").await);
    let parent = created(api, CUSTOMERS, "reference=P&name=Parent").await;
    let child = created(api, CUSTOMERS, &format!("reference=C&name=Child&categoryId={g1}")).await;
    let path = format!("{CUSTOMERS}/{child}");
    for round in 0..ROUNDS {
        let reset = submit(
            api,
            "POST",
            &path,
            &format!("categoryId={g1}&isSubCustomer=false"),
        )
        .await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        let (category, parenting) = both(
            api,
            ("POST", path.clone(), format!("categoryId={g2}")),
            ("POST", path.clone(), format!("parentCustomer={parent}")),
        )
        .await;
        assert_eq!((category.status, parenting.status), (200, 200), "round {round}");
        let now = shown(api, child).await;
        assert_eq!(
            now["customerCategory"]["id"],
            json!(g2),
            "round {round}: the group change was lost"
        );
        assert_eq!(
            now["parentCustomer"]["id"],
            json!(parent),
            "round {round}: the parent change was lost"
        );
        assert_eq!(now["isSubCustomer"], json!(true), "round {round}");
    }
}

/// Two customers made each other's parent at the same time: one request wins, the other is
/// refused as a cycle, and both can be deleted afterwards.
pub async fn concurrent_reparenting_never_forms_a_cycle(api: &Arc<TestApi>) {
    for round in 0..ROUNDS {
        let a = created(api, CUSTOMERS, &format!("reference=A{round}&name=A")).await;
        let b = created(api, CUSTOMERS, &format!("reference=B{round}&name=B")).await;
        let (to_b, to_a) = both(
            api,
            ("POST", format!("{CUSTOMERS}/{a}"), format!("parentCustomer={b}")),
            ("POST", format!("{CUSTOMERS}/{b}"), format!("parentCustomer={a}")),
        )
        .await;
        let mut statuses = [to_b.status, to_a.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 404],
            "round {round}: {} / {}",
            to_b.body,
            to_a.body
        );
        let refused = if to_b.status == 404 { &to_b } else { &to_a };
        assert_eq!(
            refused.body["error_description"],
            json!("The customer cannot be a subcustomer of itself."),
            "round {round}"
        );
        let (child, parent) = if to_b.status == 200 { (a, b) } else { (b, a) };
        for id in [child, parent] {
            let deleted = api
                .call("DELETE", &format!("{CUSTOMERS}/{id}"), Some(ENTITY1), b"", "")
                .await;
            assert_eq!(deleted.status, 200, "round {round}: {}", deleted.body);
        }
    }
}

/// Deleting a customer while it moves to another group leaves no group counting a customer it
/// does not have: both groups can be deleted afterwards.
pub async fn deleting_while_relinking_keeps_counts_exact(api: &Arc<TestApi>) {
    for round in 0..ROUNDS * 2 {
        let g1 = group(api, &format!("From{round}")).await;
        let g2 = group(api, &format!("To{round}")).await;
        let customer = created(
            api,
            CUSTOMERS,
            &format!("reference=M{round}&name=M&categoryId={g1}"),
        )
        .await;
        let path = format!("{CUSTOMERS}/{customer}");
        let mover = {
            let (api, path) = (Arc::clone(api), path.clone());
            tokio::spawn(async move { submit(&api, "POST", &path, &format!("categoryId={g2}")).await })
        };
        // Staggered so that in some rounds the delete reads the customer while the move is in
        // flight, and commits after it.
        tokio::time::sleep(Duration::from_millis(3 * round as u64)).await;
        let deleted = submit(api, "DELETE", &path, "").await;
        let moved = mover.await.expect("task");
        assert_eq!(deleted.status, 200, "round {round}: {}", deleted.body);
        assert!(
            [200, 404].contains(&moved.status),
            "round {round}: {}",
            moved.body
        );
        for g in [g1, g2] {
            let gone = api
                .call("DELETE", &format!("{GROUPS}/{g}"), Some(ENTITY1), b"", "")
                .await;
            assert_eq!(gone.status, 200, "round {round}, group {g}: {}", gone.body);
        }
    }
}

/// Many creates of one tenant at once all succeed, with distinct ids and an exact total.
pub async fn a_spike_of_creates_in_one_tenant(api: &Arc<TestApi>) {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let api = Arc::clone(api);
            tokio::spawn(async move {
                submit(&api, "POST", CUSTOMERS, &format!("reference=S{i}&name=Spike")).await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert!(
            ids.insert(reply.body["id"].as_u64().expect("id")),
            "an id was given twice"
        );
    }
    let listed = api.get(&format!("{CUSTOMERS}?max=1")).await;
    assert_eq!(listed.body["paging"]["total"], json!(64));
}

/// Many customers joining one group at once all succeed; the group counts them exactly, so it
/// can be deleted once they are, and not before.
pub async fn a_spike_of_customers_joining_one_group(api: &Arc<TestApi>) {
    let g = group(api, "Popular").await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let api = Arc::clone(api);
            tokio::spawn(async move {
                submit(
                    &api,
                    "POST",
                    CUSTOMERS,
                    &format!("reference=J{i}&name=Joiner&categoryId={g}"),
                )
                .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply.status, 201, "{}", reply.body);
        ids.push(reply.body["id"].as_u64().expect("id"));
    }
    let listed = api
        .get(&format!("{CUSTOMERS}?categoryReference=Popular&max=1"))
        .await;
    assert_eq!(listed.body["paging"]["total"], json!(32));
    let early = api
        .call("DELETE", &format!("{GROUPS}/{g}"), Some(ENTITY1), b"", "")
        .await;
    assert_eq!(early.body["error"], json!("delete_failed"));
    for id in ids {
        let deleted = api
            .call("DELETE", &format!("{CUSTOMERS}/{id}"), Some(ENTITY1), b"", "")
            .await;
        assert_eq!(deleted.status, 200, "{}", deleted.body);
    }
    let last = api
        .call("DELETE", &format!("{GROUPS}/{g}"), Some(ENTITY1), b"", "")
        .await;
    assert_eq!(last.status, 200, "{}", last.body);
}

/// Plain updates of a customer while its links are being changed: the writes that meet a
/// transaction in flight are retried, never answered 500.
pub async fn plain_updates_racing_link_changes(api: &Arc<TestApi>) {
    let (g1, g2) = (group(api, "R1").await, group(api, "R2").await);
    let customer = created(api, CUSTOMERS, &format!("reference=R&name=R&categoryId={g1}")).await;
    let path = format!("{CUSTOMERS}/{customer}");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (api, path) = (Arc::clone(api), path.clone());
            let body = if i % 2 == 0 {
                format!("email=r{i}%40example.com")
            } else {
                format!("categoryId={}", if i % 4 == 1 { g2 } else { g1 })
            };
            tokio::spawn(async move { submit(&api, "POST", &path, &body).await })
        })
        .collect();
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

/// Renaming a group while customers join it: every rename and every join succeeds (joining
/// counts on the group without changing its version, so renames are not refused for it).
pub async fn renaming_a_group_while_customers_join_it(api: &Arc<TestApi>) {
    let g = group(api, "Moving").await;
    let path = format!("{GROUPS}/{g}");
    let renames = (0..10).map(|i| {
        let (api, path) = (Arc::clone(api), path.clone());
        tokio::spawn(async move {
            let body = json!({"reference": "Moving", "name": format!("Name {i}")}).to_string();
            api.call("PUT", &path, Some(ENTITY1), body.as_bytes(), "application/json")
                .await
        })
    });
    let joins = (0..20).map(|i| {
        let api = Arc::clone(api);
        tokio::spawn(async move {
            submit(
                &api,
                "POST",
                CUSTOMERS,
                &format!("reference=N{i}&name=N&categoryId={g}"),
            )
            .await
        })
    });
    let tasks: Vec<_> = renames.chain(joins).collect();
    for task in tasks {
        let reply = task.await.expect("task");
        assert!([200, 201].contains(&reply.status), "{}", reply.body);
    }
    let listed = api
        .get(&format!("{CUSTOMERS}?categoryReference=Moving&max=1"))
        .await;
    assert_eq!(listed.body["paging"]["total"], json!(20));
}

api_tests::on_both_stores!(
    crate::concurrency::api;
    concurrent_link_changes_lose_nothing,
    concurrent_reparenting_never_forms_a_cycle,
    deleting_while_relinking_keeps_counts_exact,
    a_spike_of_creates_in_one_tenant,
    a_spike_of_customers_joining_one_group,
    plain_updates_racing_link_changes,
    renaming_a_group_while_customers_join_it,
);

/// A transaction that committed but whose response was lost: the SDK sends it again with the
/// same client request token, DynamoDB answers it as the first time, and the request answers as
/// if nothing was lost (not `not_unique` for a create, not 404 for a delete).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_never_turns_a_commit_into_an_error() {
    let api = api(Adapter::Dynamo).await;
    let table = api.store.table.clone().expect("a DynamoDB table");
    set_faults(&table, json!({"lose_transaction_responses": 1})).await;
    let created = submit(&api, "POST", CUSTOMERS, "reference=Lost&name=Lost").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = api.get(CUSTOMERS).await;
    assert_eq!(listed.body["paging"]["total"], json!(1), "created once");
    set_faults(&table, json!({"lose_transaction_responses": 1})).await;
    let id = created.body["id"].as_u64().expect("id");
    let deleted = api
        .call("DELETE", &format!("{CUSTOMERS}/{id}"), Some(ENTITY1), b"", "")
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(api.get(&format!("{CUSTOMERS}/{id}")).await.status, 404);
    let stats = transaction_stats(&table).await;
    assert_eq!(stats["replayed"], json!(2), "{stats}");
}
