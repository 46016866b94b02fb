//! `ETag` and `If-Match`, beyond the reference: every single-resource response carries the
//! record's version as a strong entity tag; update, upsert and delete with `If-Match` change
//! nothing (412) unless the record is still at a version it names.

use std::sync::Arc;

use api_tests::{ENTITY1, Reply, TestApi, multipart};
use customer_api::logos::ImageFormat;
use customer_api::logos::resize::samples::encoded;
use serde_json::{Value, json};

const CUSTOMERS: &str = "/api/v1.0/customers";
const GROUPS: &str = "/api/v1.0/customerGroups";
const FORM: &str = "application/x-www-form-urlencoded";

async fn form(api: &TestApi, method: &str, path: &str, body: &str, if_match: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = if_match.map(|tag| ("If-Match", tag)).into_iter().collect();
    api.call_with(method, path, Some(ENTITY1), body.as_bytes(), FORM, &headers)
        .await
}

fn refused(reply: &Reply, resource: &str) {
    assert_eq!(reply.status, 412, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({
            "error": "precondition_failed",
            "error_description": format!("The {resource} has changed since the version given in If-Match.")
        })
    );
}

/// Every write moves the tag; a stale tag changes nothing; `*` needs only the record to exist; a
/// malformed header is a 400.
pub async fn customers_are_tagged_and_guarded(api: &Arc<TestApi>) {
    let created = form(api, "POST", CUSTOMERS, "reference=E1&name=First", None).await;
    assert_eq!((created.status, created.etag.as_deref()), (201, Some("\"1\"")));
    let path = format!("{CUSTOMERS}/{}", created.body["id"]);
    let shown = api.get(&path).await;
    assert_eq!(shown.etag.as_deref(), Some("\"1\""));

    let updated = form(api, "POST", &path, "city=Nice", Some("\"1\"")).await;
    assert_eq!(
        (updated.status, updated.etag.as_deref()),
        (200, Some("\"2\"")),
        "{}",
        updated.body
    );
    let stale = form(api, "POST", &path, "city=Lyon", Some("\"1\"")).await;
    refused(&stale, "customer");
    let now = api.get(&path).await;
    assert_eq!(
        (now.body["city"].clone(), now.etag.as_deref()),
        (json!("Nice"), Some("\"2\""))
    );

    let listed = form(
        api,
        "PUT",
        &format!("{CUSTOMERS}/reference/E1"),
        "city=Lyon",
        Some(r#""9", "2""#),
    )
    .await;
    assert_eq!(
        (listed.status, listed.etag.as_deref()),
        (200, Some("\"3\"")),
        "{}",
        listed.body
    );
    let any = form(api, "POST", &path, "city=Paris", Some("*")).await;
    assert_eq!(any.status, 200, "{}", any.body);
    let weak = form(api, "POST", &path, "city=Rome", Some("W/\"4\"")).await;
    refused(&weak, "customer");
    for malformed in ["4", "\"4", "W/4"] {
        let reply = form(api, "POST", &path, "city=Rome", Some(malformed)).await;
        assert_eq!(reply.status, 400, "{malformed}: {}", reply.body);
        assert_eq!(reply.body["error"], json!("invalid_header"), "{malformed}");
    }

    let kept = form(api, "DELETE", &path, "", Some("\"1\"")).await;
    refused(&kept, "customer");
    assert_eq!(
        api.get(&path).await.status,
        200,
        "a refused delete deletes nothing"
    );
    let gone = form(api, "DELETE", &path, "", Some("\"4\"")).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
}

/// An upsert with `If-Match` updates only a customer at that version and never creates one.
pub async fn upserts_with_if_match_never_create(api: &Arc<TestApi>) {
    let upsert = format!("{CUSTOMERS}/reference/U1");
    let missing = form(api, "POST", &upsert, "name=New", Some("*")).await;
    refused(&missing, "customer");
    assert_eq!(api.get(&upsert).await.status, 404, "nothing was created");
    let created = form(api, "POST", &upsert, "name=New", None).await;
    assert_eq!((created.status, created.etag.as_deref()), (201, Some("\"1\"")));
    refused(
        &form(api, "POST", &upsert, "name=Newer", Some("\"7\"")).await,
        "customer",
    );
    let updated = form(api, "POST", &upsert, "name=Newer", Some("\"1\"")).await;
    assert_eq!(
        (updated.status, updated.body["name"].clone()),
        (200, json!("Newer"))
    );
}

/// A refused write with a logo leaves no object behind.
pub async fn a_refused_logo_upload_leaves_nothing(api: &Arc<TestApi>) {
    let created = form(api, "POST", CUSTOMERS, "reference=L1&name=Logo", None).await;
    let path = format!("{CUSTOMERS}/{}", created.body["id"]);
    let before = api.object_keys().await;
    let image = encoded(ImageFormat::Png, 16, 16);
    let (body, content_type) = multipart(&[("name", "Logo")], &[("imageFile", "logo.png", &image)]);
    let reply = api
        .call_with(
            "POST",
            &path,
            Some(ENTITY1),
            &body,
            &content_type,
            &[("If-Match", "\"5\"")],
        )
        .await;
    refused(&reply, "customer");
    assert_eq!(api.object_keys().await, before);
    assert_eq!(api.get(&path).await.body["logo"], Value::Null);
}

/// Groups carry and honour the same tags.
pub async fn groups_are_tagged_and_guarded(api: &Arc<TestApi>) {
    let body = json!({"reference": "G1", "name": "Group"}).to_string();
    let created = api
        .call("POST", GROUPS, Some(ENTITY1), body.as_bytes(), "application/json")
        .await;
    assert_eq!((created.status, created.etag.as_deref()), (201, Some("\"1\"")));
    let path = format!("{GROUPS}/{}", created.body["id"]);
    let put = |tag: &'static str, name: &'static str| {
        let api = Arc::clone(api);
        let path = path.clone();
        async move {
            let body = json!({"reference": "G1", "name": name}).to_string();
            api.call_with(
                "PUT",
                &path,
                Some(ENTITY1),
                body.as_bytes(),
                "application/json",
                &[("If-Match", tag)],
            )
            .await
        }
    };
    let renamed = put("\"1\"", "Renamed").await;
    assert_eq!((renamed.status, renamed.etag.as_deref()), (200, Some("\"2\"")));
    refused(&put("\"1\"", "Stale").await, "customer group");
    assert_eq!(api.get(&path).await.body["name"], json!("Renamed"));
    let upsert = format!("{GROUPS}/reference/G9");
    let missing = api
        .call_with(
            "POST",
            &upsert,
            Some(ENTITY1),
            br#"{"name":"x"}"#,
            "application/json",
            &[("If-Match", "*")],
        )
        .await;
    refused(&missing, "customer group");
    let delete = |tag: &'static str| {
        let api = Arc::clone(api);
        let path = path.clone();
        async move {
            api.call_with("DELETE", &path, Some(ENTITY1), b"", "", &[("If-Match", tag)])
                .await
        }
    };
    refused(&delete("\"1\"").await, "customer group");
    assert_eq!(delete("\"2\"").await.status, 200);
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    customers_are_tagged_and_guarded,
    upserts_with_if_match_never_create,
    a_refused_logo_upload_leaves_nothing,
    groups_are_tagged_and_guarded,
);
