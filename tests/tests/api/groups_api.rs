//! Every customer-group route and documented error, through the HTTP layer (the local API
//! Gateway stand-in and the Lambda handlers), on both stores.

use std::sync::Arc;

use api_tests::{ENTITY1, ENTITY2, Reply, TestApi};
use serde_json::{Value, json};

const GROUPS: &str = "/api/v1.0/customerGroups";
const CATEGORIES: &str = "/api/v1.0/customerCategories";

fn error(reply: &Reply, status: u16, code: &str, description: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"error": code, "error_description": description})
    );
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}",
        reply.content_type
    );
}

async fn create(api: &TestApi, reference: &str, name: &str) -> Value {
    let reply = api
        .send("POST", GROUPS, &json!({"reference": reference, "name": name}))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body
}

/// The references of a list answer's groups, in order.
fn refs(reply: &Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|g| g["reference"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn id(group: &Value) -> u64 {
    group["id"].as_u64().expect("id")
}

pub async fn create_returns_the_documented_object(api: &TestApi) {
    let reply = api
        .send("POST", GROUPS, &json!({"reference": "Ref-01", "name": "Magasins traditionnels", "description": "Magasin traditionnel"}))
        .await;
    assert_eq!(reply.status, 201);
    let keys: Vec<&str> = reply
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "reference",
            "organization",
            "description",
            "dateCreated",
            "lastUpdated"
        ]
    );
    assert_eq!(reply.body["name"], "Magasins traditionnels");
    assert_eq!(reply.body["reference"], "Ref-01");
    assert_eq!(reply.body["organization"], "entity1");
    assert_eq!(reply.body["description"], "Magasin traditionnel");
    let created = reply.body["dateCreated"].as_str().expect("date");
    assert_eq!(created.len(), 20);
    assert!(
        created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
    assert_eq!(reply.body["lastUpdated"], reply.body["dateCreated"]);

    let without_description = create(api, "1", "test").await;
    assert_eq!(without_description["description"], Value::Null);
    assert!(id(&without_description) > id(&reply.body));
}

pub async fn show_by_id_and_reference_under_both_names(api: &TestApi) {
    let group = create(api, "Ref 01/é", "Group").await;
    let id = id(&group);
    for path in [
        format!("{GROUPS}/{id}"),
        format!("{CATEGORIES}/{id}"),
        format!("{GROUPS}/reference/Ref%2001%2F%C3%A9"),
        format!("{CATEGORIES}/reference/Ref%2001%2F%C3%A9"),
    ] {
        let reply = api.get(&path).await;
        assert_eq!((reply.status, &reply.body), (200, &group), "{path}");
    }
    error(
        &api.get(&format!("{GROUPS}/999")).await,
        404,
        "not_found",
        "The customer group with the id 999 doesn't exist.",
    );
    error(
        &api.get(&format!("{CATEGORIES}/reference/nope")).await,
        404,
        "not_found",
        "The customer group with the id nope doesn't exist.",
    );
    error(
        &api.get(&format!("{GROUPS}/0")).await,
        404,
        "not_found",
        "The customer group with the id 0 doesn't exist.",
    );
    for bad in ["abc", "-1", "+1", "1.5", "99999999999999999999999"] {
        error(
            &api.get(&format!("{GROUPS}/{bad}")).await,
            400,
            "invalid_param_type",
            "The type of parameter id you provided is not valid for this request.",
        );
    }
}

pub async fn create_errors(api: &TestApi) {
    create(api, "taken", "x").await;
    let cases = [
        (
            json!({"name": "x"}),
            "missing_param",
            "reference parameter is missing",
        ),
        (
            json!({"reference": "", "name": "x"}),
            "missing_param",
            "reference parameter is missing",
        ),
        (
            json!({"reference": "   ", "name": "x"}),
            "missing_param",
            "reference parameter is missing",
        ),
        (
            json!({"reference": null, "name": "x"}),
            "missing_param",
            "reference parameter is missing",
        ),
        (
            json!({"reference": "r"}),
            "missing_param",
            "name parameter is missing",
        ),
        (json!({}), "missing_param", "reference parameter is missing"),
        (
            json!({"reference": "taken", "name": "y"}),
            "not_unique",
            "reference already used",
        ),
        (
            json!({"reference": "r", "name": "x", "colour": "red"}),
            "invalid_param",
            "The parameters [colour] you provided are not valid for this request.",
        ),
        (
            json!({"reference": 777, "name": "x"}),
            "invalid_param_type",
            "The type of parameter reference you provided is not valid for this request.",
        ),
        (
            json!({"reference": "r", "name": ["x"]}),
            "invalid_param_type",
            "The type of parameter name you provided is not valid for this request.",
        ),
        (
            json!({"reference": "r", "name": "x", "description": {"a": 1}}),
            "invalid_param_type",
            "The type of parameter description you provided is not valid for this request.",
        ),
        (
            json!({"reference": "r".repeat(256), "name": "x"}),
            "save_failed",
            "Failed to save instance",
        ),
        (
            json!({"reference": "r", "name": "n".repeat(256)}),
            "save_failed",
            "Failed to save instance",
        ),
        (
            json!({"reference": "😀".repeat(256), "name": "x"}),
            "save_failed",
            "Failed to save instance",
        ),
        (
            json!({"reference": "r", "name": "x", "description": "d".repeat(4001)}),
            "save_failed",
            "Failed to save instance",
        ),
    ];
    for (body, code, description) in cases {
        let reply = api.send("POST", GROUPS, &body).await;
        error(&reply, 400, code, description);
    }
    for raw in [
        &b"{"[..],
        b"not json",
        b"[1,2]",
        b"\"text\"",
        b"{\"reference\":\"r\",}",
    ] {
        let reply = api
            .call("POST", GROUPS, Some(ENTITY1), raw, "application/json")
            .await;
        error(
            &reply,
            400,
            "invalid_param_type",
            "The type of parameter body you provided is not valid for this request.",
        );
    }
    let huge = vec![b' '; 7 * 1024 * 1024];
    let reply = api
        .call("POST", GROUPS, Some(ENTITY1), &huge, "application/json")
        .await;
    assert_eq!(
        (reply.status, reply.body["error"].as_str()),
        (413, Some("request_too_large"))
    );
    let total = api.get(GROUPS).await.body["paging"]["total"].clone();
    assert_eq!(total, 1, "failed creates left nothing behind");
}

pub async fn read_only_fields_are_ignored_never_trusted(api: &TestApi) {
    let reply = api
        .send("POST", GROUPS, &json!({"reference": "r", "name": "x", "organization": "entity2", "id": 999, "dateCreated": "2000-01-01T00:00:00Z"}))
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["organization"], "entity1");
    assert_ne!(reply.body["id"], 999);
    assert_ne!(reply.body["dateCreated"], "2000-01-01T00:00:00Z");
    let other = api.call("GET", GROUPS, Some(ENTITY2), b"", "").await;
    assert_eq!(other.body["paging"]["total"], 0);
}

pub async fn update_by_id_and_reference(api: &TestApi) {
    let group = api
        .send(
            "POST",
            GROUPS,
            &json!({"reference": "old", "name": "Name", "description": "kept"}),
        )
        .await
        .body;
    let id = id(&group);
    let reply = api
        .send(
            "PUT",
            &format!("{GROUPS}/{id}"),
            &json!({"reference": "777", "name": "new Name"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["reference"], "777");
    assert_eq!(reply.body["name"], "new Name");
    assert_eq!(reply.body["description"], "kept", "omitted description is kept");
    assert_eq!(reply.body["dateCreated"], group["dateCreated"]);
    assert_eq!(reply.body["id"], group["id"]);
    error(
        &api.get(&format!("{GROUPS}/reference/old")).await,
        404,
        "not_found",
        "The customer group with the id old doesn't exist.",
    );
    assert_eq!(api.get(&format!("{GROUPS}/reference/777")).await.body, reply.body);

    let by_ref = api
        .send(
            "PUT",
            &format!("{CATEGORIES}/reference/777"),
            &json!({"reference": "777", "name": "n2", "description": null}),
        )
        .await;
    assert_eq!(by_ref.status, 200);
    assert_eq!(
        (by_ref.body["name"].as_str(), &by_ref.body["description"]),
        (Some("n2"), &Value::Null)
    );
    assert_eq!(api.get(&format!("{GROUPS}/{id}")).await.body, by_ref.body);
}

pub async fn update_errors(api: &TestApi) {
    let group = create(api, "mine", "x").await;
    create(api, "taken", "y").await;
    let path = format!("{GROUPS}/{}", id(&group));
    error(
        &api.send("PUT", &path, &json!({"name": "x"})).await,
        400,
        "missing_param",
        "reference parameter is missing",
    );
    error(
        &api.send("PUT", &path, &json!({"reference": "mine"})).await,
        400,
        "missing_param",
        "name parameter is missing",
    );
    error(
        &api.send("PUT", &path, &json!({"reference": "taken", "name": "x"}))
            .await,
        400,
        "not_unique",
        "reference already used",
    );
    error(
        &api.send(
            "PUT",
            &path,
            &json!({"reference": "mine", "name": "x", "extra": 1}),
        )
        .await,
        400,
        "invalid_param",
        "The parameters [extra] you provided are not valid for this request.",
    );
    error(
        &api.send(
            "PUT",
            &path,
            &json!({"reference": "mine", "name": "n".repeat(300)}),
        )
        .await,
        400,
        "save_failed",
        "Failed to save instance",
    );
    error(
        &api.send(
            "PUT",
            &format!("{GROUPS}/999"),
            &json!({"reference": "a", "name": "b"}),
        )
        .await,
        404,
        "not_found",
        "The customer group with the id 999 doesn't exist.",
    );
    error(
        &api.send(
            "PUT",
            &format!("{GROUPS}/x1"),
            &json!({"reference": "a", "name": "b"}),
        )
        .await,
        400,
        "invalid_param_type",
        "The type of parameter id you provided is not valid for this request.",
    );
    assert_eq!(api.get(&path).await.body, group, "failed updates changed nothing");
}

pub async fn upsert_creates_then_updates(api: &TestApi) {
    let path = format!("{GROUPS}/reference/R-9");
    let created = api.send("POST", &path, &json!({"name": "test"})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        (created.body["reference"].as_str(), created.body["name"].as_str()),
        (Some("R-9"), Some("test"))
    );
    let updated = api
        .send(
            "POST",
            &format!("{CATEGORIES}/reference/R-9"),
            &json!({"name": "again", "description": "d"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["id"], created.body["id"]);
    assert_eq!(updated.body["description"], "d");
    assert_eq!(updated.body["dateCreated"], created.body["dateCreated"]);
    error(
        &api.send("POST", &path, &json!({"description": "d"})).await,
        400,
        "missing_param",
        "name parameter is missing",
    );
    error(
        &api.send("POST", &path, &json!({"name": "x", "reference": "other"}))
            .await,
        400,
        "invalid_param",
        "The parameters [reference] you provided are not valid for this request.",
    );
    assert_eq!(
        api.send("POST", &path, &json!({"name": "same", "reference": "R-9"}))
            .await
            .status,
        200
    );
    assert_eq!(api.get(GROUPS).await.body["paging"]["total"], 1);
}

pub async fn delete_by_id_and_reference(api: &TestApi) {
    let one = create(api, "one", "x").await;
    create(api, "two", "y").await;
    let deleted = json!({"success": "true", "success_description": "Instance deleted successfully"});
    let reply = api
        .call(
            "DELETE",
            &format!("{GROUPS}/{}", id(&one)),
            Some(ENTITY1),
            b"",
            "",
        )
        .await;
    assert_eq!((reply.status, &reply.body), (200, &deleted));
    let reply = api
        .call(
            "DELETE",
            &format!("{CATEGORIES}/reference/two"),
            Some(ENTITY1),
            b"",
            "",
        )
        .await;
    assert_eq!((reply.status, &reply.body), (200, &deleted));
    error(
        &api.call(
            "DELETE",
            &format!("{GROUPS}/{}", id(&one)),
            Some(ENTITY1),
            b"",
            "",
        )
        .await,
        404,
        "not_found",
        &format!("The customer group with the id {} doesn't exist.", id(&one)),
    );
    error(
        &api.call("DELETE", &format!("{GROUPS}/abc"), Some(ENTITY1), b"", "")
            .await,
        400,
        "invalid_param_type",
        "The type of parameter id you provided is not valid for this request.",
    );
    assert_eq!(api.get(GROUPS).await.body["paging"]["total"], 0);
    create(api, "one", "reused").await;
}

pub async fn list_pages_filters_and_errors(api: &TestApi) {
    for (reference, name) in [
        ("Ref-61", "Grands Magasins"),
        ("Ref-62", "magasin"),
        ("XRef-6", "Other"),
        ("Ref-7", "Shop"),
    ] {
        create(api, reference, name).await;
    }
    let reply = api.get(&format!("{GROUPS}?max=2")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["paging"],
        json!({"total": 4, "max": 2, "offset": 0, "previous": null, "next": "/api/v1.0/customerGroups?max=2&offset=2&sort=dateCreated&order=asc"})
    );
    assert_eq!(refs(&reply), ["Ref-61", "Ref-62"]);
    let next = reply.body["paging"]["next"].as_str().expect("next").to_owned();
    let second = api.get(&next).await;
    assert_eq!(refs(&second), ["XRef-6", "Ref-7"]);
    assert_eq!(second.body["paging"]["next"], Value::Null);
    assert_eq!(
        second.body["paging"]["previous"],
        "/api/v1.0/customerGroups?max=2&offset=0&sort=dateCreated&order=asc"
    );

    assert_eq!(
        refs(&api.get(&format!("{GROUPS}?reference=Ref-6*")).await),
        ["Ref-61", "Ref-62"]
    );
    assert_eq!(
        refs(&api.get(&format!("{GROUPS}?reference=*ef-6")).await),
        ["XRef-6"]
    );
    assert_eq!(
        refs(
            &api.get(&format!("{GROUPS}?reference=*ef-6*&sort=reference&order=desc"))
                .await
        ),
        ["XRef-6", "Ref-62", "Ref-61"]
    );
    assert_eq!(
        refs(&api.get(&format!("{GROUPS}?name=*MAGASIN*&sort=name")).await),
        ["Ref-61", "Ref-62"]
    );
    assert_eq!(
        refs(&api.get(&format!("{CATEGORIES}?reference=ref-7")).await),
        ["Ref-7"]
    );
    let filtered = api.get(&format!("{CATEGORIES}?max=1&name=*a*")).await;
    assert_eq!(
        filtered.body["paging"]["next"],
        "/api/v1.0/customerCategories?max=1&offset=1&sort=dateCreated&order=asc&name=*a*"
    );
    let future = api
        .get(&format!(
            "{GROUPS}?dateCreated_gt=2100-01-01T00:00:00Z&lastUpdated_lte=2100-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!((future.status, &future.body["paging"]["total"]), (200, &json!(0)));
    let past = api
        .get(&format!(
            "{GROUPS}?dateCreated_gte=2000-01-01T00:00:00Z&lastUpdated_lt=2100-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(past.body["paging"]["total"], 4);

    error(
        &api.get(&format!("{GROUPS}?dateCreated_gta=2016-08-15T14:52:48Z"))
            .await,
        400,
        "invalid_param",
        "The parameters [dateCreated_gta] you provided are not valid for this request.",
    );
    error(
        &api.get(&format!("{GROUPS}?dateCreated_gt=2016-08-1Z")).await,
        400,
        "invalid_datetime_format",
        "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]",
    );
    for (query, param) in [
        ("max=-1", "max"),
        ("max=1e3", "max"),
        ("offset=99999999999999999999", "offset"),
        ("order=sideways", "order"),
        ("sort=nope", "sort"),
    ] {
        error(
            &api.get(&format!("{GROUPS}?{query}")).await,
            400,
            "invalid_param_type",
            &format!("The type of parameter {param} you provided is not valid for this request."),
        );
    }
    let capped = api.get(&format!("{GROUPS}?max=100000")).await;
    assert_eq!(capped.body["paging"]["max"], 100);
}

pub async fn tenants_never_see_each_other(api: &TestApi) {
    let mine = create(api, "shared-ref", "entity1's").await;
    let path = format!("{GROUPS}/{}", id(&mine));
    let as2 = |method: &'static str, path: String, body: Value| async move {
        api.send_as(ENTITY2, method, &path, &body).await
    };
    let not_found = format!("The customer group with the id {} doesn't exist.", id(&mine));
    error(
        &as2("GET", path.clone(), json!(null)).await,
        404,
        "not_found",
        &not_found,
    );
    error(
        &as2("PUT", path.clone(), json!({"reference": "x", "name": "stolen"})).await,
        404,
        "not_found",
        &not_found,
    );
    error(
        &as2("DELETE", path.clone(), json!(null)).await,
        404,
        "not_found",
        &not_found,
    );
    error(
        &as2("GET", format!("{GROUPS}/reference/shared-ref"), json!(null)).await,
        404,
        "not_found",
        "The customer group with the id shared-ref doesn't exist.",
    );
    let theirs = as2(
        "POST",
        GROUPS.to_owned(),
        json!({"reference": "shared-ref", "name": "entity2's"}),
    )
    .await;
    assert_eq!(
        (theirs.status, theirs.body["organization"].as_str()),
        (201, Some("entity2"))
    );
    let upserted = as2(
        "POST",
        format!("{GROUPS}/reference/shared-ref"),
        json!({"name": "entity2 again"}),
    )
    .await;
    assert_eq!((upserted.status, &upserted.body["id"]), (200, &theirs.body["id"]));
    let listed = as2("GET", GROUPS.to_owned(), json!(null)).await;
    assert_eq!(listed.body["paging"]["total"], 1);
    assert_eq!(listed.body["data"][0]["name"], "entity2 again");
    assert_eq!(api.get(&path).await.body, mine, "entity1's group is untouched");
}

pub async fn authentication_is_required(api: &TestApi) {
    let unauthorized = "The access token is missing, invalid or expired.";
    for token in [None, Some("wrong-token"), Some("")] {
        for (method, path) in [
            ("GET", GROUPS.to_owned()),
            ("POST", GROUPS.to_owned()),
            ("GET", format!("{GROUPS}/1")),
            ("DELETE", format!("{CATEGORIES}/reference/x")),
        ] {
            let reply = api.call(method, &path, token, b"{}", "application/json").await;
            error(&reply, 401, "invalid_token", unauthorized);
        }
    }
    error(
        &api.get("/api/v1.0/nothingHere").await,
        404,
        "not_found",
        "No route matches GET /api/v1.0/nothingHere.",
    );
}

pub async fn hostile_input_gets_a_4xx(api: &TestApi) {
    create(api, "r", "n").await;
    // Under API Gateway's 10,240-byte request line (the local gateway answers 431 beyond).
    let long = "x".repeat(9_000);
    let paths = [
        format!("{GROUPS}?reference={long}"),
        format!("{GROUPS}?name=%FF%FE"),
        format!("{GROUPS}?max=&offset="),
        format!("{GROUPS}?sort=&order="),
        format!("{GROUPS}?dateCreated_lt={long}"),
        format!("{GROUPS}?dateCreated_lt=9999-12-31T23:59:59Z&dateCreated_gt=0000-01-01T00:00:00Z"),
        format!("{GROUPS}?%00=1"),
        format!("{GROUPS}/reference/{long}"),
        format!("{GROUPS}/{long}"),
        format!("{GROUPS}/reference/%FF"),
    ];
    let not_found = api.get(&format!("{GROUPS}/reference/{long}")).await;
    assert_eq!(
        (not_found.status, not_found.body["error"].as_str()),
        (404, Some("not_found"))
    );
    let upsert = api
        .send(
            "POST",
            &format!("{GROUPS}/reference/{long}"),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (upsert.status, upsert.body["error"].as_str()),
        (400, Some("save_failed"))
    );
    for path in paths {
        let reply = api.get(&path).await;
        assert!(
            (200..500).contains(&reply.status) && reply.status != 500,
            "{} for {}",
            reply.status,
            &path[..path.len().min(80)]
        );
        assert!(reply.body.is_object(), "JSON for {}", &path[..path.len().min(80)]);
    }
    for body in [
        json!({"reference": long, "name": "x"}),
        json!({"reference": "\u{0}\u{1}", "name": "\u{7}"}),
        json!({"reference": "ok", "name": long}),
    ] {
        let reply = api.send("POST", GROUPS, &body).await;
        assert!(
            reply.status == 201 || reply.status == 400,
            "{}: {:?}",
            reply.status,
            reply.body
        );
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let reply = api
        .call(
            "POST",
            GROUPS,
            Some(ENTITY1),
            nested.as_bytes(),
            "application/json",
        )
        .await;
    assert_eq!(reply.status, 400);
}

pub async fn concurrent_creates_with_one_reference(api: &Arc<TestApi>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let api = Arc::clone(api);
            tokio::spawn(async move {
                api.send(
                    "POST",
                    GROUPS,
                    &json!({"reference": "race", "name": format!("n{i}")}),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let reply = task.await.expect("task");
        if reply.status == 400 {
            assert_eq!(reply.body["error"], "not_unique");
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 15, "{statuses:?}");
}

fn bad_type(reply: &Reply, param: &str) {
    let text = format!("The type of parameter {param} you provided is not valid for this request.");
    error(reply, 400, "invalid_param_type", &text);
}

/// Cursor paging, beyond the reference: `paging=cursor` asks for it; `next` and `previous` carry
/// a sealed cursor that walks the list both ways, and that no other tenant, resource or edit
/// can use.
pub async fn cursor_paging_walks_both_ways_and_refuses_forgeries(api: &TestApi) {
    for i in 0..7 {
        create(api, &format!("C-{i}"), &format!("Name {i}")).await;
    }
    let first = api
        .get(&format!("{GROUPS}?max=3&sort=name&order=desc&paging=cursor"))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let keys: Vec<&str> = first.body["paging"]
        .as_object()
        .expect("paging")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["max", "previous", "next"]);
    assert_eq!(first.body["paging"]["max"], 3);
    assert_eq!(first.body["paging"]["previous"], Value::Null);
    let mut pages = vec![refs(&first)];
    let mut reply = first.clone();
    while let Some(next) = reply.body["paging"]["next"].as_str().map(str::to_owned) {
        assert!(next.starts_with(&format!("{GROUPS}?max=3&cursor=")), "{next}");
        reply = api.get(&next).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        pages.push(refs(&reply));
        assert!(pages.len() <= 7, "the pages never end");
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("C-{i}")).collect();
    assert_eq!(pages.concat(), expected);
    let mut back = vec![refs(&reply)];
    while let Some(previous) = reply.body["paging"]["previous"].as_str().map(str::to_owned) {
        reply = api.get(&previous).await;
        back.insert(0, refs(&reply));
        assert!(back.len() <= 7, "the pages never begin");
    }
    assert_eq!(back.concat(), expected);

    let next = first.body["paging"]["next"].as_str().expect("next").to_owned();
    let token = next
        .split_once("cursor=")
        .map(|(_, t)| t.to_owned())
        .expect("a cursor");
    let alias = api.get(&format!("{CATEGORIES}?max=3&cursor={token}")).await;
    assert_eq!(
        refs(&alias),
        ["C-3", "C-2", "C-1"],
        "the alias is the same resource"
    );
    let smaller = api.get(&format!("{GROUPS}?max=2&cursor={token}")).await;
    assert_eq!(refs(&smaller), ["C-3", "C-2"], "a cursor takes another page size");
    let offsets = api.get(&format!("{GROUPS}?max=3&sort=name&order=desc")).await;
    assert_eq!(
        offsets.body["paging"]["total"], 7,
        "without paging=cursor, the documented block"
    );

    let mut edited = token.clone().into_bytes();
    edited[5] = if edited[5] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).expect("ascii");
    bad_type(
        &api.get(&format!("{GROUPS}?max=3&cursor={edited}")).await,
        "cursor",
    );
    let other_tenant = api
        .call("GET", &next, Some(ENTITY2), b"", "application/json")
        .await;
    bad_type(&other_tenant, "cursor");
    bad_type(
        &api.get(&format!("/api/v1.0/customers?cursor={token}")).await,
        "cursor",
    );
    bad_type(&api.get(&format!("{GROUPS}?cursor=")).await, "cursor");
    bad_type(&api.get(&format!("{GROUPS}?paging=pages")).await, "paging");
    bad_type(
        &api.get(&format!("{GROUPS}?paging=cursor&sort=description")).await,
        "sort",
    );
    error(
        &api.get(&format!("{GROUPS}?cursor={token}&sort=name&name=x"))
            .await,
        400,
        "invalid_param",
        "The parameters [sort, name] you provided are not valid for this request.",
    );
    error(
        &api.get(&format!("{GROUPS}?paging=cursor&offset=3")).await,
        400,
        "invalid_param",
        "The parameters [offset] you provided are not valid for this request.",
    );
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    create_returns_the_documented_object,
    show_by_id_and_reference_under_both_names,
    create_errors,
    read_only_fields_are_ignored_never_trusted,
    update_by_id_and_reference,
    update_errors,
    upsert_creates_then_updates,
    delete_by_id_and_reference,
    list_pages_filters_and_errors,
    cursor_paging_walks_both_ways_and_refuses_forgeries,
    tenants_never_see_each_other,
    authentication_is_required,
    hostile_input_gets_a_4xx,
    concurrent_creates_with_one_reference,
);
