//! Issue 12's input hardening, through the HTTP layer on both stores: typed JSON bodies on the
//! customer routes, hostile parameter counts, Unicode references, numbers DynamoDB cannot hold,
//! reference-conformance details.

use api_tests::{ENTITY1, ENTITY2, Reply, TestApi};
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

pub async fn numbers_dynamodb_cannot_hold_are_refused(api: &TestApi) {
    for (name, value) in [
        ("creditLimit", "1e-200"),
        ("creditLimit", "-5e-131"),
        ("latitude", "1e-140"),
        ("billingLng", "4.9e-324"),
    ] {
        let reply = form(
            api,
            "POST",
            CUSTOMERS,
            &format!("reference=N-1&name=x&{name}={value}"),
        )
        .await;
        bad_type(&reply, name);
    }
    let reply = form(
        api,
        "POST",
        CUSTOMERS,
        "reference=N-1&name=x&creditLimit=1e-130&latitude=-0",
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["creditLimit"].as_f64(), Some(1e-130));
    assert_eq!(reply.body["latitude"], json!(0));
    let shown = api.get(&format!("{CUSTOMERS}/reference/N-1")).await;
    assert_eq!(shown.body, reply.body, "read back as written");
    let path = format!("{CUSTOMERS}/reference/N-1");
    let json_body = api
        .send(
            "PUT",
            &path,
            &json!({"creditLimit": -1e-130, "longitude": 1e-300}),
        )
        .await;
    bad_type(&json_body, "longitude");
    let json_body = api.send("PUT", &path, &json!({"creditLimit": -1e-130})).await;
    assert_eq!(
        json_body.body["creditLimit"].as_f64(),
        Some(-1e-130),
        "JSON numbers parse exactly"
    );
}

pub async fn id_zero_is_well_formed_and_names_nothing(api: &TestApi) {
    for (path, what) in [
        (format!("{CUSTOMERS}/0"), "customer"),
        (format!("{GROUPS}/0"), "customer group"),
    ] {
        let description = format!("The {what} with the id 0 doesn't exist.");
        error(&api.get(&path).await, 404, "not_found", &description);
        error(
            &api.call("DELETE", &path, Some(ENTITY1), b"", FORM).await,
            404,
            "not_found",
            &description,
        );
    }
    for (param, what) in [("regionId", "region"), ("categoryId", "customer category")] {
        let reply = form(api, "POST", CUSTOMERS, &format!("reference=Z-1&name=x&{param}=0")).await;
        error(
            &reply,
            404,
            "not_found",
            &format!("The {what} with the id 0 doesn't exist."),
        );
    }
    let reply = form(
        api,
        "POST",
        CUSTOMERS,
        "reference=Z-1&name=x&paymentTypes=%5B%7B%22id%22%3A0%7D%5D",
    )
    .await;
    error(
        &reply,
        404,
        "not_found",
        "The payment type with the id 0 doesn't exist.",
    );
    assert_eq!(count(api, CUSTOMERS).await, 0);
}

pub async fn upsert_requires_a_name_when_it_updates_too(api: &TestApi) {
    let path = format!("{CUSTOMERS}/reference/U-1");
    let created = form(api, "POST", &path, "name=First&city=Lyon").await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    for body in ["city=Paris", "name=&city=Paris", "name=+++&city=Paris"] {
        let reply = form(api, "POST", &path, body).await;
        error(&reply, 400, "missing_param", "name parameter is missing");
    }
    assert_eq!(api.get(&path).await.body, created.body, "nothing changed");
    let updated = form(api, "POST", &path, "name=Second").await;
    assert_eq!((updated.status, &updated.body["city"]), (200, &json!("Lyon")));
}

/// `entity2`'s demo reference data, with a root category.
fn seed_with_root(reference: &str) -> String {
    let mut seed: Value = serde_json::from_str(customer_api::reference_data::SEED_JSON).expect("seed");
    seed["entity2"]["rootCategory"] = json!({"reference": reference, "name": "All customers"});
    json!({"entity2": seed["entity2"]}).to_string()
}

pub async fn customers_created_without_a_category_join_the_root_category(api: &TestApi) {
    let as2 = |method: &'static str, path: String, body: &'static str| async move {
        api.call(method, &path, Some(ENTITY2), body.as_bytes(), FORM)
            .await
    };
    let store = api.store.store.as_ref();
    customer_api::seed::organizations(store, store, &seed_with_root("all"))
        .await
        .expect("seed");
    let root = api
        .call(
            "GET",
            &format!("{GROUPS}/reference/all"),
            Some(ENTITY2),
            b"",
            FORM,
        )
        .await;
    assert_eq!((root.status, &root.body["name"]), (200, &json!("All customers")));
    let renamed = api
        .send_as(
            ENTITY2,
            "PUT",
            &format!("{GROUPS}/reference/all"),
            &json!({"reference": "all", "name": "Everyone"}),
        )
        .await;
    assert_eq!(renamed.status, 200);
    customer_api::seed::organizations(store, store, &seed_with_root("all"))
        .await
        .expect("seeding again");
    let groups = api.call("GET", GROUPS, Some(ENTITY2), b"", FORM).await;
    assert_eq!(groups.body["paging"]["total"], 1, "seeding again creates nothing");
    assert_eq!(groups.body["data"][0]["name"], "Everyone", "nor renames");

    let embed = |group: &Value| {
        json!({"id": group["id"], "reference": group["reference"], "name": "Everyone",
               "href": format!("/api/v1.0/customerCategories/{}", group["id"])})
    };
    let created = as2("POST", CUSTOMERS.into(), "reference=R-1&name=Rooted").await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["customerCategory"], embed(&root.body));
    assert_eq!(created.body["categoryReference"], "all");
    let upserted = as2("POST", format!("{CUSTOMERS}/reference/R-2"), "name=Upserted").await;
    assert_eq!(
        (upserted.status, &upserted.body["categoryReference"]),
        (201, &json!("all"))
    );

    let other = api
        .send_as(
            ENTITY2,
            "POST",
            GROUPS,
            &json!({"reference": "vip", "name": "VIP"}),
        )
        .await;
    let path = format!("{CUSTOMERS}/reference/R-1");
    let moved = as2("PUT", path.clone(), "categoryId=vip").await;
    assert_eq!(moved.body["customerCategory"]["id"], other.body["id"]);
    let kept = as2("PUT", path.clone(), "city=Leeds").await;
    assert_eq!(
        kept.body["categoryReference"], "vip",
        "an update without categoryId keeps it"
    );
    let cleared = as2("PUT", path.clone(), "categoryId=").await;
    assert_eq!(
        cleared.body["categoryReference"], "all",
        "clearing puts it back in the root"
    );

    let delete = as2("DELETE", format!("{GROUPS}/reference/all"), "").await;
    error(&delete, 400, "delete_failed", "Failed to delete instance");

    let unrooted = api
        .call("POST", CUSTOMERS, Some(ENTITY1), b"reference=R-1&name=x", FORM)
        .await;
    assert_eq!(
        (unrooted.status, &unrooted.body["customerCategory"]),
        (201, &Value::Null),
        "an organization without a root category"
    );
}

fn references(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let data = reply.body["data"].as_array().expect("data");
    data.iter()
        .map(|r| r["reference"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub async fn references_of_255_characters_work_everywhere(api: &TestApi) {
    let emoji = "\u{1F600}";
    let long = emoji.repeat(255);
    let sibling = format!("{}{}", emoji.repeat(254), "\u{1F601}");
    let shared = emoji.repeat(250);
    for (path, body_type) in [(CUSTOMERS, "form"), (GROUPS, "json")] {
        for reference in [&long, &sibling] {
            let created = if body_type == "form" {
                form(
                    api,
                    "POST",
                    path,
                    &format!("reference={}&name=x", api_tests::encode(reference)),
                )
                .await
            } else {
                api.send("POST", path, &json!({"reference": reference, "name": "x"}))
                    .await
            };
            assert_eq!(created.status, 201, "{path}: {:?}", created.body);
            assert_eq!(created.body["reference"], json!(reference));
        }
        let by_reference = format!("{path}/reference/{}", api_tests::encode(&long));
        let shown = api.get(&by_reference).await;
        assert_eq!((shown.status, &shown.body["reference"]), (200, &json!(long)));
        let exact = api
            .get(&format!("{path}?reference={}", api_tests::encode(&long)))
            .await;
        assert_eq!(references(&exact), [long.as_str()], "{path}: exact filter");
        let prefix = format!("{path}?sort=reference&reference={}*", api_tests::encode(&shared));
        let both = api.get(&prefix).await;
        assert_eq!(references(&both).len(), 2, "{path}: prefix filter");
        assert_eq!(both.body["paging"]["total"], 2);
        let whole_prefix = format!("{path}?sort=reference&reference={}*", api_tests::encode(&long));
        assert_eq!(
            references(&api.get(&whole_prefix).await),
            [long.as_str()],
            "{path}"
        );
        let too_long = api
            .send(
                "POST",
                GROUPS,
                &json!({"reference": emoji.repeat(256), "name": "x"}),
            )
            .await;
        error(&too_long, 400, "save_failed", "Failed to save instance");
        let deleted = api.call("DELETE", &by_reference, Some(ENTITY1), b"", FORM).await;
        assert_eq!(deleted.status, 200, "{path}: {:?}", deleted.body);
    }
    let too_long = form(
        api,
        "POST",
        CUSTOMERS,
        &format!("reference={}&name=x", api_tests::encode(&emoji.repeat(256))),
    )
    .await;
    error(&too_long, 400, "save_failed", "Failed to save instance.");
    let upsert = form(
        api,
        "POST",
        &format!("{CUSTOMERS}/reference/{}", api_tests::encode(&long)),
        "name=Again",
    )
    .await;
    assert_eq!(upsert.status, 201, "{:?}", upsert.body);
}

pub async fn reference_filters_with_a_hash_match_exactly(api: &TestApi) {
    for reference in ["m", "M#1", "m#2", "mx", "m#"] {
        let created = form(
            api,
            "POST",
            CUSTOMERS,
            &format!("reference={}&name=x", api_tests::encode(reference)),
        )
        .await;
        assert_eq!(created.status, 201, "{reference}");
    }
    for (query, expected) in [
        ("sort=reference&reference=m%23*", vec!["m#", "M#1", "m#2"]),
        (
            "sort=reference&order=desc&reference=m%23*",
            vec!["m#2", "M#1", "m#"],
        ),
        ("reference=m%23*", vec!["M#1", "m#2", "m#"]),
        ("sort=reference&reference=m%230*", vec![]),
        ("sort=reference&reference=m", vec!["m"]),
        ("sort=reference&reference=m%23", vec!["m#"]),
        ("sort=reference&reference=m*", vec!["m", "m#", "M#1", "m#2", "mx"]),
    ] {
        let reply = api.get(&format!("{CUSTOMERS}?{query}")).await;
        assert_eq!(references(&reply), expected, "{query}");
        assert_eq!(reply.body["paging"]["total"], expected.len(), "{query}");
    }
}

pub async fn list_booleans_take_any_case(api: &TestApi) {
    form(api, "POST", CUSTOMERS, "reference=A&name=x&isActive=false").await;
    form(api, "POST", CUSTOMERS, "reference=B&name=x").await;
    for (value, expected) in [("TRUE", "B"), ("True", "B"), ("FALSE", "A"), ("false", "A")] {
        let reply = api.get(&format!("{CUSTOMERS}?isActive={value}")).await;
        assert_eq!(references(&reply), [expected], "{value}");
    }
    bad_type(&api.get(&format!("{CUSTOMERS}?isActive=yes")).await, "isActive");
}

pub async fn lists_sort_on_linked_references(api: &TestApi) {
    for (reference, name) in [("b-grp", "B"), ("A-grp", "A"), ("c-grp", "C")] {
        let group = api
            .send("POST", GROUPS, &json!({"reference": reference, "name": name}))
            .await;
        assert_eq!(group.status, 201);
    }
    for (reference, extra) in [
        ("in-b", "&categoryId=b-grp&customerSegmentationId=seg_a"),
        ("none", ""),
        ("in-a", "&categoryId=A-grp"),
        ("in-b-too", "&categoryId=b-grp"),
        ("in-a-seg", "&categoryId=A-grp&customerSegmentationId=1"),
    ] {
        let created = form(
            api,
            "POST",
            CUSTOMERS,
            &format!("reference={reference}&name=x{extra}"),
        )
        .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
    }
    for (query, expected) in [
        (
            "sort=categoryReference",
            ["none", "in-a", "in-a-seg", "in-b", "in-b-too"],
        ),
        (
            "sort=categoryReference&order=desc",
            ["in-b-too", "in-b", "in-a-seg", "in-a", "none"],
        ),
        (
            "sort=customerSegmentationReference",
            ["none", "in-a", "in-b-too", "in-b", "in-a-seg"],
        ),
    ] {
        let reply = api.get(&format!("{CUSTOMERS}?{query}")).await;
        assert_eq!(references(&reply), expected, "{query}");
    }
    let paged = api
        .get(&format!(
            "{CUSTOMERS}?sort=categoryReference&max=2&categoryReference=*grp"
        ))
        .await;
    assert_eq!(references(&paged), ["in-a", "in-a-seg"]);
    assert_eq!(
        paged.body["paging"]["next"],
        "/api/v1.0/customers?max=2&offset=2&sort=categoryReference&order=asc&categoryReference=*grp"
    );
    bad_type(
        &api.get(&format!("{GROUPS}?sort=categoryReference")).await,
        "sort",
    );
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    customer_json_values_keep_their_types,
    numbers_dynamodb_cannot_hold_are_refused,
    id_zero_is_well_formed_and_names_nothing,
    upsert_requires_a_name_when_it_updates_too,
    customers_created_without_a_category_join_the_root_category,
    references_of_255_characters_work_everywhere,
    reference_filters_with_a_hash_match_exactly,
    list_booleans_take_any_case,
    lists_sort_on_linked_references,
);

/// Refused before any store is read: run once, on the embedded store (they are the heaviest
/// requests of the suite, and the DynamoDB test server is shared by every test).
mod before_the_store {
    use api_tests::{Adapter, TestApi};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_unknown_parameters_are_answered_in_bounded_text() {
        super::many_unknown_parameters_are_answered_in_bounded_text(&TestApi::new(Adapter::Embedded).await)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn bodies_over_what_aws_carries_are_413() {
        super::bodies_over_what_aws_carries_are_413(&TestApi::new(Adapter::Embedded).await).await;
    }
}
