//! `Idempotency-Key`, beyond the reference: a POST that writes (create, upsert, partial update)
//! sent again with the same key and the same request answers as the first time without doing the
//! work again; with another request it is refused (422); while the first is still running, 409.

use std::sync::Arc;
use std::time::Duration;

use api_tests::{Adapter, ENTITY1, ENTITY2, Reply, TestApi, TestStore};
use serde_json::json;

const CUSTOMERS: &str = "/api/v1.0/customers";
const GROUPS: &str = "/api/v1.0/customerGroups";
const FORM: &str = "application/x-www-form-urlencoded";

async fn api(adapter: Adapter) -> Arc<TestApi> {
    let store = TestStore::with_write_latency(adapter, Duration::from_millis(5)).await;
    Arc::new(TestApi::over(store, adapter, false).await)
}

async fn keyed(api: &TestApi, token: &str, method: &str, path: &str, body: &str, key: &str) -> Reply {
    api.call_with(
        method,
        path,
        Some(token),
        body.as_bytes(),
        FORM,
        &[("Idempotency-Key", key)],
    )
    .await
}

async fn total(api: &TestApi, token: &str) -> serde_json::Value {
    api.call("GET", CUSTOMERS, Some(token), b"", "").await.body["paging"]["total"].clone()
}

/// The same request with the same key: the first answer again, the work done once.
pub async fn a_repeated_request_is_answered_once(api: &Arc<TestApi>) {
    let first = keyed(
        api,
        ENTITY1,
        "POST",
        CUSTOMERS,
        "reference=K1&name=Once",
        "create-k1",
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(
        api,
        ENTITY1,
        "POST",
        CUSTOMERS,
        "reference=K1&name=Once",
        "create-k1",
    )
    .await;
    assert_eq!(
        (again.status, &again.body),
        (201, &first.body),
        "the same answer, not not_unique"
    );
    assert_eq!(again.etag, first.etag);
    assert_eq!(total(api, ENTITY1).await, json!(1), "created once");

    let path = format!("{CUSTOMERS}/{}", first.body["id"]);
    let updated = keyed(api, ENTITY1, "POST", &path, "city=Nice", "update-k1").await;
    let replayed = keyed(api, ENTITY1, "POST", &path, "city=Nice", "update-k1").await;
    assert_eq!((replayed.status, &replayed.body), (200, &updated.body));
    assert_eq!(
        api.get(&path).await.etag.as_deref(),
        Some("\"2\""),
        "updated once"
    );

    let refused = keyed(api, ENTITY1, "POST", CUSTOMERS, "reference=K2", "invalid-k2").await;
    assert_eq!(refused.status, 400);
    let refused_again = keyed(api, ENTITY1, "POST", CUSTOMERS, "reference=K2", "invalid-k2").await;
    assert_eq!(
        (refused_again.status, &refused_again.body),
        (400, &refused.body),
        "a refusal is kept too"
    );

    let group = r#"{"reference":"KG","name":"Keyed"}"#;
    let send = || {
        api.call_with(
            "POST",
            GROUPS,
            Some(ENTITY1),
            group.as_bytes(),
            "application/json",
            &[("Idempotency-Key", "group-kg")],
        )
    };
    let (one, two) = (send().await, send().await);
    assert_eq!((one.status, two.status, one.body.clone()), (201, 201, two.body));
}

/// The same key with another request is refused and changes nothing.
pub async fn a_key_used_for_another_request_is_refused(api: &Arc<TestApi>) {
    let first = keyed(
        api,
        ENTITY1,
        "POST",
        CUSTOMERS,
        "reference=R1&name=First",
        "reused",
    )
    .await;
    assert_eq!(first.status, 201);
    let other = keyed(
        api,
        ENTITY1,
        "POST",
        CUSTOMERS,
        "reference=R2&name=Second",
        "reused",
    )
    .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(
        other.body,
        json!({
            "error": "idempotency_key_reused",
            "error_description": "This Idempotency-Key was already used with another request."
        })
    );
    assert_eq!(total(api, ENTITY1).await, json!(1));
}

/// Two copies of one request sent at once: the work is done once; the copy is told the first is
/// still running (409) or, if it came after, given its answer.
pub async fn a_concurrent_duplicate_waits_for_the_first(api: &Arc<TestApi>) {
    let send = || {
        let api = Arc::clone(api);
        tokio::spawn(async move {
            keyed(
                &api,
                ENTITY1,
                "POST",
                CUSTOMERS,
                "reference=C1&name=Twice",
                "concurrent",
            )
            .await
        })
    };
    let (one, two) = (send(), send());
    let (one, two) = (one.await.expect("task"), two.await.expect("task"));
    let mut statuses = [one.status, two.status];
    statuses.sort_unstable();
    assert!(
        statuses == [201, 409] || statuses == [201, 201],
        "{statuses:?}: {} / {}",
        one.body,
        two.body
    );
    if statuses == [201, 409] {
        let busy = if one.status == 409 { &one } else { &two };
        assert_eq!(busy.body["error"], json!("idempotency_key_in_use"));
    }
    assert_eq!(total(api, ENTITY1).await, json!(1));
}

/// Keys are the organization's: another tenant's identical request with the same key is its own.
pub async fn keys_belong_to_one_organization(api: &Arc<TestApi>) {
    let mine = keyed(
        api,
        ENTITY1,
        "POST",
        CUSTOMERS,
        "reference=T1&name=Tenant",
        "shared-key",
    )
    .await;
    let theirs = keyed(
        api,
        ENTITY2,
        "POST",
        CUSTOMERS,
        "reference=T1&name=Tenant",
        "shared-key",
    )
    .await;
    assert_eq!((mine.status, theirs.status), (201, 201));
    assert_eq!(theirs.body["organization"], json!("entity2"));
    assert_eq!(
        (total(api, ENTITY1).await, total(api, ENTITY2).await),
        (json!(1), json!(1))
    );
}

/// A malformed key is a 400; a key on a route that takes none is ignored.
pub async fn bad_keys_are_refused_and_other_routes_ignore_them(api: &Arc<TestApi>) {
    let long = "k".repeat(256);
    for bad in [long.as_str(), "two words", ""] {
        let reply = keyed(api, ENTITY1, "POST", CUSTOMERS, "reference=B1&name=B", bad).await;
        assert_eq!(reply.status, 400, "{bad:?}: {}", reply.body);
        assert_eq!(reply.body["error"], json!("invalid_header"));
    }
    assert_eq!(total(api, ENTITY1).await, json!(0));
    let created = keyed(api, ENTITY1, "POST", CUSTOMERS, "reference=B1&name=B", "b1").await;
    let path = format!("{CUSTOMERS}/reference/B1");
    let put = keyed(api, ENTITY1, "PUT", &path, "city=Nice", "b1").await;
    assert_eq!(
        (created.status, put.status),
        (201, 200),
        "PUT is idempotent by itself: the key is not read"
    );
}

api_tests::on_both_stores!(
    crate::idempotency::api;
    a_repeated_request_is_answered_once,
    a_key_used_for_another_request_is_refused,
    a_concurrent_duplicate_waits_for_the_first,
    keys_belong_to_one_organization,
    bad_keys_are_refused_and_other_routes_ignore_them,
);
