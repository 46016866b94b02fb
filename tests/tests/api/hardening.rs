//! Issue 12's input hardening, through the HTTP layer on both stores: typed JSON bodies on the
//! customer routes, hostile parameter counts, Unicode references, numbers DynamoDB cannot hold,
//! reference-conformance details.

use api_tests::{ENTITY1, Reply, TestApi};
use serde_json::{Value, json};

const CUSTOMERS: &str = "/api/v1.0/customers";
const GROUPS: &str = "/api/v1.0/customerGroups";
const FORM: &str = "application/x-www-form-urlencoded";

fn error(reply: &Reply, status: u16, code: &str, description: &str) {
    assert_eq!(
        (reply.status, &reply.body),
        (status, &json!({"error": code, "error_description": description})),
    );
}

fn bad_type(reply: &Reply, name: &str) {
    error(
        reply,
        400,
        "invalid_param_type",
        &format!("The type of parameter {name} you provided is not valid for this request."),
    );
}

async fn form(api: &TestApi, method: &str, path: &str, body: &str) -> Reply {
    api.call(method, path, Some(ENTITY1), body.as_bytes(), FORM).await
}

async fn count(api: &TestApi, path: &str) -> u64 {
    let reply = api.get(path).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["paging"]["total"].as_u64().expect("total")
}

pub async fn customer_json_values_keep_their_types(api: &TestApi) {
    let reply = api
        .send(
            "POST",
            CUSTOMERS,
            &json!({"reference": "JT-1", "name": ["a"], "city": {"$ne": 1}, "comment": true}),
        )
        .await;
    bad_type(&reply, "name");
    for (name, value) in [
        ("city", json!({"$ne": 1})),
        ("comment", json!(true)),
        ("email", json!(5)),
        ("categoryId", json!([3])),
        ("isActive", json!("maybe")),
        ("isActive", json!(1)),
        ("creditLimit", json!("5000x")),
        ("creditLimit", json!(true)),
        ("paymentTypes", json!({"id": 7})),
    ] {
        let reply = api
            .send(
                "POST",
                CUSTOMERS,
                &json!({"reference": "JT-1", "name": "x", name: value}),
            )
            .await;
        bad_type(&reply, name);
    }
    assert_eq!(count(api, CUSTOMERS).await, 0, "nothing was created");

    let created = api
        .send(
            "POST",
            CUSTOMERS,
            &json!({
                "reference": "JT-1", "name": "Typed", "isActive": false, "onHold": "TRUE",
                "creditLimit": 5000.5, "dueDateConfigType": 1, "dueDateConfigNumber": 7,
                "regionId": 3, "paymentTypes": [{"id": 7}], "email": null, "city": "Nice",
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let c = &created.body;
    assert_eq!(
        (
            &c["isActive"],
            &c["onHold"],
            &c["creditLimit"],
            &c["dueDateConfigNumber"]
        ),
        (&json!(false), &json!(true), &json!(5000.5), &json!(7))
    );
    assert_eq!((&c["email"], &c["city"]), (&Value::Null, &json!("Nice")));
    assert_eq!(c["region"]["id"], 3);
    assert_eq!(c["paymentTypes"][0]["id"], 7);

    let path = format!("{CUSTOMERS}/{}", c["id"]);
    let reply = api.send("PUT", &path, &json!({"city": ["x"]})).await;
    bad_type(&reply, "city");
    let reply = api.send("POST", &path, &json!({"categoryId": [3]})).await;
    bad_type(&reply, "categoryId");
    let shown = api.get(&path).await;
    assert_eq!(shown.body, created.body, "the refused updates changed nothing");

    let cleared = api
        .send("PUT", &path, &json!({"city": null, "paymentTypes": null}))
        .await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    assert_eq!(
        (&cleared.body["city"], &cleared.body["paymentTypes"]),
        (&Value::Null, &json!([]))
    );
}

/// `n` distinct unknown names `u0`, `u1`, ... as a form body.
fn unknown_form(n: usize) -> String {
    (0..n).map(|i| format!("u{i}=1")).collect::<Vec<_>>().join("&")
}

pub async fn many_unknown_parameters_are_answered_in_bounded_text(api: &TestApi) {
    let n = 50_000;
    let listed = (0..100).map(|i| format!("u{i}")).collect::<Vec<_>>().join(", ");
    let expected = format!("The parameters [{listed}, ...] you provided are not valid for this request.");
    let body = format!("reference=M-1&name=x&{}", unknown_form(n));
    let reply = form(api, "POST", CUSTOMERS, &body).await;
    error(&reply, 400, "invalid_param", &expected);

    let names: Vec<String> = (0..n / 2).map(|i| format!("u{i}")).collect();
    let pairs: Vec<(&str, &str)> = names.iter().map(|k| (k.as_str(), "1")).collect();
    let (bytes, content_type) = api_tests::multipart(&pairs, &[]);
    let reply = api
        .call("POST", CUSTOMERS, Some(ENTITY1), &bytes, &content_type)
        .await;
    error(&reply, 400, "invalid_param", &expected);

    let object: serde_json::Map<String, Value> = (0..n).map(|i| (format!("u{i}"), json!(1))).collect();
    for path in [CUSTOMERS, GROUPS] {
        let reply = api.send("POST", path, &Value::Object(object.clone())).await;
        error(&reply, 400, "invalid_param", &expected);
    }

    let query = format!("{CUSTOMERS}?{}", unknown_form(1_000));
    error(&api.get(&query).await, 400, "invalid_param", &expected);
    let repeated = format!("{CUSTOMERS}?{}", vec!["max=1"; 1_000].join("&"));
    bad_type(&api.get(&repeated).await, "max");
    let over_the_head_quota = format!("{CUSTOMERS}?{}", unknown_form(n));
    error(
        &api.get(&over_the_head_quota).await,
        431,
        "request_header_too_large",
        "The request line and headers are too large.",
    );

    let long_name = "n".repeat(1_000_000);
    let reply = form(api, "POST", CUSTOMERS, &format!("{long_name}=1")).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.body.to_string().len() < 2_000,
        "the error quotes a bounded name"
    );
    assert_eq!(count(api, CUSTOMERS).await, 0);
}

pub async fn bodies_over_what_aws_carries_are_413(api: &TestApi) {
    use customer_api::form::MAX_FORM_BODY;
    let too_large = |reply: &Reply| {
        error(reply, 413, "request_too_large", "The request body is too large.");
    };
    let filler = |n: usize| format!("reference=B-1&name=x&comment={}", "c".repeat(n - 29));
    assert_eq!(filler(100).len(), 100);
    too_large(&form(api, "POST", CUSTOMERS, &filler(MAX_FORM_BODY + 1)).await);
    let at_limit = form(api, "POST", CUSTOMERS, &filler(MAX_FORM_BODY)).await;
    error(&at_limit, 400, "save_failed", "Failed to save instance.");

    let comment = "c".repeat(MAX_FORM_BODY);
    let (bytes, content_type) = api_tests::multipart(&[("reference", "B-1"), ("comment", &comment)], &[]);
    too_large(
        &api.call("POST", CUSTOMERS, Some(ENTITY1), &bytes, &content_type)
            .await,
    );

    let json_body = json!({"reference": "B-1", "name": "x", "comment": "c".repeat(1 << 20)});
    too_large(&api.send("POST", CUSTOMERS, &json_body).await);
    too_large(&api.send("POST", GROUPS, &json_body).await);

    // A text body is escaped into the event, not base64-encoded: 4 MB of quotes is 8 MB there.
    let quotes = vec![b'"'; 4 << 20];
    too_large(
        &api.call("POST", CUSTOMERS, Some(ENTITY1), &quotes, "text/plain")
            .await,
    );
    assert_eq!(count(api, CUSTOMERS).await, 0);
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    customer_json_values_keep_their_types,
    many_unknown_parameters_are_answered_in_bounded_text,
    bodies_over_what_aws_carries_are_413,
);
