//! Every customer route, documented success and documented error, through the HTTP layer (the
//! local API Gateway stand-in and the Lambda handlers), on both stores. Customers are written
//! with `application/x-www-form-urlencoded` or `multipart/form-data` bodies, as documented.

use std::sync::Arc;

use api_tests::{ENTITY1, ENTITY2, Reply, TestApi, encode};
use serde_json::{Value, json};

const CUSTOMERS: &str = "/api/v1.0/customers";
const GROUPS: &str = "/api/v1.0/customerGroups";
const CATEGORIES: &str = "/api/v1.0/customerCategories";
const FORM: &str = "application/x-www-form-urlencoded";
const BOUNDARY: &str = "----api-tests-boundary-7MA4YWxkTrZu0gW";
const DELETED: &str = "Instance deleted successfully";

/// Form fields, in order.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// The documented keys of a customer, in their documented order.
const KEYS: [&str; 59] = [
    "id",
    "reference",
    "reference2",
    "name",
    "categoryReference",
    "customerCategory",
    "isSubCustomer",
    "parentCustomer",
    "billWithParent",
    "customerSegmentationReference",
    "customerSegmentation",
    "pocTenus",
    "email",
    "logo",
    "phone",
    "mobile",
    "fax",
    "comment",
    "barcode",
    "isSameAddress",
    "billingCountry",
    "billingCity",
    "billingPostalCode",
    "billingAddress",
    "billingLat",
    "billingLng",
    "country",
    "city",
    "postalCode",
    "address",
    "latitude",
    "longitude",
    "isCredit",
    "creditLimit",
    "balance",
    "maxChequePeriod",
    "maxChequeValue",
    "appliedCashBackOutput",
    "returnDiscount",
    "invoicesPerRoute",
    "isActive",
    "onHold",
    "onHoldReason",
    "paymentTerm",
    "createdBy",
    "dueDateConfigNumber",
    "dueDateConfigType",
    "paymentTypes",
    "website",
    "taxNumber",
    "companyRegistrationNumber",
    "contacts",
    "currency",
    "customerRisk",
    "customerRiskColor",
    "organization",
    "dateCreated",
    "lastUpdated",
    "region",
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The field catalogue lists the documented object, key by key in the documented order: adding
/// a field is one catalogue entry, and this fails until the entry is where the reference puts it.
#[test]
fn the_catalogue_walks_the_documented_object_in_order() {
    assert_eq!(customer_api::customers::KEYS, KEYS);
}

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

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A `multipart/form-data` body of text fields, and its content type.
fn multipart(pairs: &[(&str, &str)]) -> (Vec<u8>, String) {
    api_tests::multipart(pairs, &[])
}

/// A form request as the holder of `token`.
async fn submit_as(api: &TestApi, token: &str, method: &str, path: &str, pairs: &[(&str, &str)]) -> Reply {
    api.call(method, path, Some(token), &form(pairs), FORM).await
}

/// A form request as `entity1`.
async fn submit(api: &TestApi, method: &str, path: &str, pairs: &[(&str, &str)]) -> Reply {
    submit_as(api, ENTITY1, method, path, pairs).await
}

/// A multipart request as `entity1`.
async fn submit_multipart(api: &TestApi, method: &str, path: &str, pairs: &[(&str, &str)]) -> Reply {
    let (body, content_type) = multipart(pairs);
    api.call(method, path, Some(ENTITY1), &body, &content_type).await
}

/// Creates a customer of `entity1` from a form; it must succeed.
async fn create(api: &TestApi, pairs: &[(&str, &str)]) -> Value {
    let reply = submit(api, "POST", CUSTOMERS, pairs).await;
    assert_eq!(reply.status, 201, "{pairs:?}: {:?}", reply.body);
    reply.body
}

/// Creates a plain customer of `entity1`.
async fn customer(api: &TestApi, reference: &str, name: &str) -> Value {
    create(api, &[("reference", reference), ("name", name)]).await
}

/// Creates a customer group of `token`'s organization.
async fn group_as(api: &TestApi, token: &str, reference: &str, name: &str) -> Value {
    let reply = api
        .send_as(
            token,
            "POST",
            GROUPS,
            &json!({"reference": reference, "name": name}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body
}

async fn group(api: &TestApi, reference: &str, name: &str) -> Value {
    group_as(api, ENTITY1, reference, name).await
}

async fn delete_as(api: &TestApi, token: &str, path: &str) -> Reply {
    api.call("DELETE", path, Some(token), b"", "").await
}

async fn delete(api: &TestApi, path: &str) -> Reply {
    delete_as(api, ENTITY1, path).await
}

async fn get_as(api: &TestApi, token: &str, path: &str) -> Reply {
    api.call("GET", path, Some(token), b"", "").await
}

fn id(record: &Value) -> u64 {
    record["id"].as_u64().expect("id")
}

fn path_of(record: &Value) -> String {
    format!("{CUSTOMERS}/{}", id(record))
}

fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn refs(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["reference"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn total(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["paging"]["total"].as_u64().expect("total")
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("a number: {value}"))
}

fn assert_date(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("a date: {value}"));
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 20, "{text}");
    for (i, b) in bytes.iter().enumerate() {
        let ok = match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        };
        assert!(ok, "{text}");
    }
}

/// The expected object of a customer created with only a reference and a name.
fn minimal(created: &Value, reference: &str, name: &str, organization: &str, currency: &str) -> Value {
    json!({
        "id": created["id"].clone(),
        "reference": reference,
        "reference2": null,
        "name": name,
        "categoryReference": null,
        "customerCategory": null,
        "isSubCustomer": false,
        "parentCustomer": null,
        "billWithParent": false,
        "customerSegmentationReference": null,
        "customerSegmentation": null,
        "pocTenus": null,
        "email": null,
        "logo": null,
        "phone": null,
        "mobile": null,
        "fax": null,
        "comment": null,
        "barcode": null,
        "isSameAddress": true,
        "billingCountry": null,
        "billingCity": null,
        "billingPostalCode": null,
        "billingAddress": null,
        "billingLat": null,
        "billingLng": null,
        "country": null,
        "city": null,
        "postalCode": null,
        "address": null,
        "latitude": null,
        "longitude": null,
        "isCredit": null,
        "creditLimit": null,
        "balance": null,
        "maxChequePeriod": null,
        "maxChequeValue": null,
        "appliedCashBackOutput": null,
        "returnDiscount": null,
        "invoicesPerRoute": null,
        "isActive": true,
        "onHold": false,
        "onHoldReason": null,
        "paymentTerm": null,
        "createdBy": null,
        "dueDateConfigNumber": null,
        "dueDateConfigType": null,
        "paymentTypes": [],
        "website": null,
        "taxNumber": null,
        "companyRegistrationNumber": null,
        "contacts": [],
        "currency": currency,
        "customerRisk": null,
        "customerRiskColor": null,
        "organization": organization,
        "dateCreated": created["dateCreated"].clone(),
        "lastUpdated": created["lastUpdated"].clone(),
        "region": null
    })
}

fn category_embed(group: &Value) -> Value {
    json!({
        "id": group["id"].clone(),
        "reference": group["reference"].clone(),
        "name": group["name"].clone(),
        "href": format!("/api/v1.0/customerCategories/{}", id(group)),
    })
}

fn parent_embed(parent: &Value) -> Value {
    json!({
        "id": parent["id"].clone(),
        "reference": parent["reference"].clone(),
        "name": parent["name"].clone(),
        "href": format!("/api/v1.0/customers/{}", id(parent)),
    })
}

fn payment_type(id: u64, reference: &str, name: &str) -> Value {
    json!({"id": id, "reference": reference, "name": name, "href": format!("/api/v1.0/paymentTypes/{id}")})
}

fn cash() -> Value {
    payment_type(7, "cash", "cash")
}

fn cheque() -> Value {
    payment_type(8, "cheque", "cheque")
}

fn seg_a() -> Value {
    json!({"id": 1, "reference": "seg_a", "name": "Segmentation A", "href": "/api/v1.0/customerSegmentations/1"})
}

fn emp_002() -> Value {
    json!({"userId": 2, "reference": "emp-002", "href": "/api/v1.0/users/2"})
}

fn region(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name, "href": format!("/api/v1.0/regions/{id}")})
}

/// `reply` is the `before` object with only `changes` applied (and `lastUpdated` possibly moved).
fn assert_changed_only(reply: &Reply, before: &Value, changes: &[(&str, Value)]) {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(keys(&reply.body), KEYS);
    let mut expected = before.clone();
    for (key, value) in changes {
        expected[*key] = value.clone();
    }
    expected["lastUpdated"] = reply.body["lastUpdated"].clone();
    assert_eq!(reply.body, expected);
    assert_eq!(reply.body["dateCreated"], before["dateCreated"]);
    assert_date(&reply.body["lastUpdated"]);
    assert!(
        reply.body["lastUpdated"].as_str() >= before["lastUpdated"].as_str(),
        "lastUpdated never goes back"
    );
}

// ---------------------------------------------------------------------------------------------
// Create and show
// ---------------------------------------------------------------------------------------------

pub async fn create_returns_the_documented_object_with_defaults(api: &TestApi) {
    let reply = submit(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "NC-3"), ("name", "Marie's Jewelry")],
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}",
        reply.content_type
    );
    assert_eq!(keys(&reply.body), KEYS);
    assert_date(&reply.body["dateCreated"]);
    assert_eq!(reply.body["lastUpdated"], reply.body["dateCreated"]);
    assert_eq!(
        reply.body,
        minimal(&reply.body, "NC-3", "Marie's Jewelry", "entity1", "EUR")
    );

    let second = customer(api, "NC-4", "Second").await;
    assert!(id(&second) > id(&reply.body), "ids grow");

    for path in [path_of(&reply.body), format!("{CUSTOMERS}/reference/NC-3")] {
        let shown = api.get(&path).await;
        assert_eq!((shown.status, &shown.body), (200, &reply.body), "{path}");
        assert_eq!(keys(&shown.body), KEYS, "{path}");
    }
}

pub async fn create_with_every_field_by_form(api: &TestApi) {
    let jewelry = group(api, "jewelry", "Jewelry and accessories").await;
    let category = id(&jewelry).to_string();
    let reply = submit(
        api,
        "POST",
        CUSTOMERS,
        &[
            ("reference", "NC-3"),
            ("reference2", "R2-3"),
            ("name", "Marie's Jewelry & Co = best"),
            ("barcode", "3760001"),
            ("isActive", "true"),
            ("categoryId", category.as_str()),
            ("billWithParent", "true"),
            ("customerSegmentationId", "1"),
            ("userId", "2"),
            ("isSameAddress", "false"),
            ("billingCountry", "FR"),
            ("billingCity", "Nice"),
            ("billingPostalCode", "06000"),
            ("billingAddress", "1 Promenade des Anglais"),
            ("billingLat", "43.7"),
            ("billingLng", "7.25"),
            ("country", "France"),
            ("city", "Paris"),
            ("postalCode", "75001"),
            ("address", "2 rue de Rivoli"),
            ("latitude", "48.86"),
            ("longitude", "-2.35"),
            ("email", "marie+shop@example.com"),
            ("phone", "+33 1 23 45 67 89"),
            ("mobile", "+33 6 00 00 00 00"),
            ("fax", "+33 1 00 00 00 00"),
            ("comment", "Good customer;\nprefers mornings"),
            ("website", "https://example.com/?a=1&b=2"),
            ("creditLimit", "5000"),
            ("dueDateConfigNumber", "7"),
            ("dueDateConfigType", "1"),
            ("taxNumber", "FR123456789"),
            ("companyRegistrationNumber", "RCS-42"),
            ("currency", "USD"),
            ("paymentTypes", r#"[{"id"=7},{"id"=8}]"#),
            ("regionId", "3"),
            ("customerRisk", "high"),
            ("customerRiskColor", "#1BE9D8"),
            ("onHold", "true"),
            ("onHoldReason", "Unpaid invoices"),
        ],
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let c = &reply.body;
    assert_eq!(keys(c), KEYS);
    let strings = [
        ("reference", "NC-3"),
        ("reference2", "R2-3"),
        ("name", "Marie's Jewelry & Co = best"),
        ("categoryReference", "jewelry"),
        ("customerSegmentationReference", "seg_a"),
        ("barcode", "3760001"),
        ("billingCountry", "FR"),
        ("billingCity", "Nice"),
        ("billingPostalCode", "06000"),
        ("billingAddress", "1 Promenade des Anglais"),
        ("country", "France"),
        ("city", "Paris"),
        ("postalCode", "75001"),
        ("address", "2 rue de Rivoli"),
        ("email", "marie+shop@example.com"),
        ("phone", "+33 1 23 45 67 89"),
        ("mobile", "+33 6 00 00 00 00"),
        ("fax", "+33 1 00 00 00 00"),
        ("comment", "Good customer;\nprefers mornings"),
        ("website", "https://example.com/?a=1&b=2"),
        ("dueDateConfigType", "daysAfterInvoiceDate"),
        ("taxNumber", "FR123456789"),
        ("companyRegistrationNumber", "RCS-42"),
        ("currency", "USD"),
        ("customerRisk", "high"),
        ("customerRiskColor", "#1BE9D8"),
        ("onHoldReason", "Unpaid invoices"),
        ("organization", "entity1"),
    ];
    for (key, value) in strings {
        assert_eq!(c[key], value, "{key}");
    }
    for (key, value) in [
        ("isActive", true),
        ("isSubCustomer", false),
        ("billWithParent", true),
        ("isSameAddress", false),
        ("onHold", true),
    ] {
        assert_eq!(c[key], value, "{key}");
    }
    for (key, value) in [
        ("billingLat", 43.7),
        ("billingLng", 7.25),
        ("latitude", 48.86),
        ("longitude", -2.35),
        ("creditLimit", 5000.0),
    ] {
        assert_eq!(number(&c[key]), value, "{key}");
    }
    assert_eq!(c["dueDateConfigNumber"].as_u64(), Some(7));
    assert_eq!(c["customerCategory"], category_embed(&jewelry));
    assert_eq!(c["customerSegmentation"], seg_a());
    assert_eq!(c["createdBy"], emp_002());
    assert_eq!(c["paymentTypes"], json!([cash(), cheque()]));
    assert_eq!(c["region"], region(3, "New York"));
    assert_eq!(c["parentCustomer"], Value::Null);
    assert_eq!(c["contacts"], json!([]));
    assert_eq!(c["logo"], Value::Null);
    for always_null in [
        "pocTenus",
        "isCredit",
        "balance",
        "maxChequePeriod",
        "maxChequeValue",
        "appliedCashBackOutput",
        "returnDiscount",
        "invoicesPerRoute",
        "paymentTerm",
    ] {
        assert_eq!(c[always_null], Value::Null, "{always_null}");
    }
    let shown = api.get(&path_of(c)).await;
    assert_eq!((shown.status, &shown.body), (200, c));
    let by_reference = api.get(&format!("{CUSTOMERS}/reference/NC-3")).await;
    assert_eq!(&by_reference.body, c);
}

pub async fn create_with_multipart(api: &TestApi) {
    let home = group(api, "home", "Home").await;
    let reply = submit_multipart(
        api,
        "POST",
        CUSTOMERS,
        &[
            ("reference", "MP-1"),
            ("name", "Multi part é & co"),
            ("categoryId", "home"),
            ("paymentTypes", r#"[{"id":8}]"#),
            ("isActive", "false"),
            ("creditLimit", "12.5"),
            ("comment", "line 1\r\nline 2"),
            ("regionId", "2"),
            ("currency", "usd"),
        ],
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let c = &reply.body;
    assert_eq!(keys(c), KEYS);
    assert_eq!(c["reference"], "MP-1");
    assert_eq!(c["name"], "Multi part é & co");
    assert_eq!(c["categoryReference"], "home");
    assert_eq!(c["customerCategory"], category_embed(&home));
    assert_eq!(c["paymentTypes"], json!([cheque()]));
    assert_eq!(c["isActive"], false);
    assert_eq!(number(&c["creditLimit"]), 12.5);
    assert_eq!(c["comment"], "line 1\r\nline 2");
    assert_eq!(c["region"], region(2, "California"));
    assert_eq!(c["currency"], "USD");
    assert_eq!(c["organization"], "entity1");
    assert_eq!(api.get(&path_of(c)).await.body, *c);

    let missing = submit_multipart(api, "POST", CUSTOMERS, &[("reference", "MP-2")]).await;
    error(&missing, 400, "missing_param", "name parameter is missing");
    let unknown = submit_multipart(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "MP-2"), ("name", "x"), ("colour", "red")],
    )
    .await;
    error(
        &unknown,
        400,
        "invalid_param",
        "The parameters [colour] you provided are not valid for this request.",
    );
    assert_eq!(total(&api.get(CUSTOMERS).await), 1);
}

pub async fn show_by_id_and_reference(api: &TestApi) {
    let created = customer(api, "NC 3/é", "Spaced").await;
    for path in [
        path_of(&created),
        format!("{CUSTOMERS}/reference/NC%203%2F%C3%A9"),
    ] {
        let reply = api.get(&path).await;
        assert_eq!((reply.status, &reply.body), (200, &created), "{path}");
    }
    error(
        &api.get(&format!("{CUSTOMERS}/2559")).await,
        404,
        "not_found",
        "The customer with the id 2559 doesn't exist.",
    );
    error(
        &api.get(&format!("{CUSTOMERS}/reference/nope")).await,
        404,
        "not_found",
        "The customer with the id nope doesn't exist.",
    );
    error(
        &api.get(&format!("{CUSTOMERS}/reference/{}", id(&created))).await,
        404,
        "not_found",
        &format!("The customer with the id {} doesn't exist.", id(&created)),
    );
    for bad in ["abc", "1.5", "-1", "99999999999999999999999"] {
        error(
            &api.get(&format!("{CUSTOMERS}/{bad}")).await,
            400,
            "invalid_param_type",
            "The type of parameter id you provided is not valid for this request.",
        );
    }
}

pub async fn create_requires_reference_then_name_and_unique_reference(api: &TestApi) {
    customer(api, "taken", "x").await;
    let long = "r".repeat(256);
    let long_name = "n".repeat(256);
    let long_email = format!("{}@example.com", "e".repeat(250));
    let long_comment = "c".repeat(4001);
    let cases: Vec<(Pairs, &str, &str)> = vec![
        (
            vec![("name", "x")],
            "missing_param",
            "reference parameter is missing",
        ),
        (
            vec![("reference", ""), ("name", "x")],
            "missing_param",
            "reference parameter is missing",
        ),
        (vec![], "missing_param", "reference parameter is missing"),
        (
            vec![("city", "Nice")],
            "missing_param",
            "reference parameter is missing",
        ),
        (
            vec![("reference", "r1")],
            "missing_param",
            "name parameter is missing",
        ),
        (
            vec![("reference", "r1"), ("name", "")],
            "missing_param",
            "name parameter is missing",
        ),
        (
            vec![("reference", "taken"), ("name", "y")],
            "not_unique",
            "reference already used",
        ),
        (
            vec![("reference", "r2"), ("name", "x"), ("colour", "red")],
            "invalid_param",
            "The parameters [colour] you provided are not valid for this request.",
        ),
        (
            vec![("reference", long.as_str()), ("name", "x")],
            "save_failed",
            "Failed to save instance.",
        ),
        (
            vec![("reference", "r3"), ("name", long_name.as_str())],
            "save_failed",
            "Failed to save instance.",
        ),
        (
            vec![("reference", "r4"), ("name", "x"), ("email", long_email.as_str())],
            "save_failed",
            "Failed to save instance.",
        ),
        (
            vec![
                ("reference", "r5"),
                ("name", "x"),
                ("comment", long_comment.as_str()),
            ],
            "save_failed",
            "Failed to save instance.",
        ),
    ];
    for (pairs, code, description) in &cases {
        let reply = submit(api, "POST", CUSTOMERS, pairs).await;
        error(&reply, 400, code, description);
    }
    assert_eq!(
        total(&api.get(CUSTOMERS).await),
        1,
        "failed creates left nothing behind"
    );
    // The limits themselves are allowed.
    let at_limit = create(
        api,
        &[
            ("reference", "r".repeat(255).as_str()),
            ("name", "n".repeat(255).as_str()),
            ("comment", "c".repeat(4000).as_str()),
        ],
    )
    .await;
    assert_eq!(at_limit["comment"].as_str().map(str::len), Some(4000));
    assert_eq!(at_limit["reference"].as_str().map(str::len), Some(255));
    // The reference is unique per organization: "taken" is still taken after all that.
    error(
        &submit(api, "POST", CUSTOMERS, &[("reference", "taken"), ("name", "z")]).await,
        400,
        "not_unique",
        "reference already used",
    );
}

pub async fn create_rejects_wrongly_typed_parameters(api: &TestApi) {
    let cases: [(&[(&str, &str)], &str); 21] = [
        (&[("isActive", "maybe")], "isActive"),
        (&[("isSubCustomer", "yes")], "isSubCustomer"),
        (&[("billWithParent", "sometimes")], "billWithParent"),
        (&[("isSameAddress", "nope")], "isSameAddress"),
        (&[("onHold", "on")], "onHold"),
        (&[("useExternalId", "maybe")], "useExternalId"),
        (&[("billingLat", "north")], "billingLat"),
        (&[("billingLng", "abc")], "billingLng"),
        (&[("latitude", "1,5")], "latitude"),
        (&[("longitude", "x")], "longitude"),
        (&[("creditLimit", "abc")], "creditLimit"),
        (&[("creditLimit", "12abc")], "creditLimit"),
        (&[("dueDateConfigNumber", "1.5")], "dueDateConfigNumber"),
        (&[("dueDateConfigNumber", "abc")], "dueDateConfigNumber"),
        (
            &[("dueDateConfigNumber", "7"), ("dueDateConfigType", "3")],
            "dueDateConfigType",
        ),
        (
            &[
                ("dueDateConfigNumber", "7"),
                ("dueDateConfigType", "daysAfterInvoiceDate"),
            ],
            "dueDateConfigType",
        ),
        (&[("regionId", "abc")], "regionId"),
        (&[("regionId", "1.5")], "regionId"),
        (&[("paymentTypes", "nope")], "payment type id"),
        (&[("paymentTypes", r#"[{"id"="x"}]"#)], "payment type id"),
        (&[("paymentTypes", r#"[{"id":"x"}]"#)], "payment type id"),
    ];
    for (i, (extra, param)) in cases.iter().enumerate() {
        let reference = format!("typed-{i}");
        let mut pairs = vec![("reference", reference.as_str()), ("name", "x")];
        pairs.extend_from_slice(extra);
        let reply = submit(api, "POST", CUSTOMERS, &pairs).await;
        error(
            &reply,
            400,
            "invalid_param_type",
            &format!("The type of parameter {param} you provided is not valid for this request."),
        );
    }
    error(
        &submit(
            api,
            "POST",
            CUSTOMERS,
            &[("reference", "due"), ("name", "x"), ("dueDateConfigType", "1")],
        )
        .await,
        400,
        "missing_param",
        "dueDateConfigNumber parameter is missing",
    );
    error(
        &submit(
            api,
            "POST",
            CUSTOMERS,
            &[("reference", "sub"), ("name", "x"), ("isSubCustomer", "true")],
        )
        .await,
        400,
        "missing_param",
        "parentCustomer parameter is missing",
    );
    assert_eq!(total(&api.get(CUSTOMERS).await), 0, "nothing was created");
}

pub async fn create_reports_missing_related_records(api: &TestApi) {
    group(api, "G-1", "Mine").await;
    // Group ids may be numbered per organization: entity2's second group has an id entity1 lacks.
    group_as(api, ENTITY2, "G-0", "Theirs too").await;
    let theirs = group_as(api, ENTITY2, "G-2", "Theirs").await;
    let their_group = id(&theirs).to_string();
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        (
            vec![("categoryId", "999")],
            "The customer category with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("categoryId", "nope")],
            "The customer category with the id nope doesn't exist.".into(),
        ),
        (
            vec![("categoryId", their_group.as_str())],
            format!("The customer category with the id {their_group} doesn't exist."),
        ),
        (
            vec![("categoryId", "G-2")],
            "The customer category with the id G-2 doesn't exist.".into(),
        ),
        (
            vec![("parentCustomer", "188911")],
            "The parent customer with the id 188911 doesn't exist.".into(),
        ),
        (
            vec![("isSubCustomer", "true"), ("parentCustomer", "ghost")],
            "The parent customer with the id ghost doesn't exist.".into(),
        ),
        (
            vec![("customerSegmentationId", "999")],
            "The customer segmentation with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("customerSegmentationId", "5")],
            "The customer segmentation with the id 5 doesn't exist.".into(),
        ),
        (
            vec![("customerSegmentationId", "seg_x")],
            "The customer segmentation with the id seg_x doesn't exist.".into(),
        ),
        (
            vec![("userId", "999")],
            "The user with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("userId", "1")],
            "The user with the id 1 doesn't exist.".into(),
        ),
        (
            vec![("userId", "emp-001")],
            "The user with the id emp-001 doesn't exist.".into(),
        ),
        (
            vec![("paymentTypes", r#"[{"id"=999}]"#)],
            "The payment type with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("paymentTypes", r#"[{"id"=7},{"id"=1}]"#)],
            "The payment type with the id 1 doesn't exist.".into(),
        ),
        (
            vec![("regionId", "999")],
            "The region with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("regionId", "1")],
            "The region with the id 1 doesn't exist.".into(),
        ),
        (
            vec![("currency", "GmBP")],
            "The currency with name GmBP doesn't exist.".into(),
        ),
        (
            vec![("currency", "GBP")],
            "The currency with name GBP is not configured.".into(),
        ),
    ];
    for (i, (extra, description)) in cases.iter().enumerate() {
        let reference = format!("missing-{i}");
        let mut pairs = vec![("reference", reference.as_str()), ("name", "x")];
        pairs.extend_from_slice(extra);
        let reply = submit(api, "POST", CUSTOMERS, &pairs).await;
        error(&reply, 404, "not_found", description);
    }
    assert_eq!(total(&api.get(CUSTOMERS).await), 0, "nothing was created");
}

pub async fn id_parameters_accept_ids_and_references(api: &TestApi) {
    let jewelry = group(api, "jewelry", "Jewelry and accessories").await;
    let numeric = group(api, "777", "Numeric reference").await;
    let parent = customer(api, "P-1", "Parent").await;
    let numeric_parent = customer(api, "12345", "Numeric parent").await;
    let jewelry_id = id(&jewelry).to_string();
    let parent_id = id(&parent).to_string();

    let by_reference = create(
        api,
        &[
            ("reference", "by-ref"),
            ("name", "x"),
            ("categoryId", "jewelry"),
            ("customerSegmentationId", "seg_a"),
            ("userId", "emp-002"),
            ("parentCustomer", "P-1"),
        ],
    )
    .await;
    let by_id = create(
        api,
        &[
            ("reference", "by-id"),
            ("name", "x"),
            ("categoryId", jewelry_id.as_str()),
            ("customerSegmentationId", "1"),
            ("userId", "2"),
            ("parentCustomer", parent_id.as_str()),
        ],
    )
    .await;
    for c in [&by_reference, &by_id] {
        assert_eq!(c["categoryReference"], "jewelry");
        assert_eq!(c["customerCategory"], category_embed(&jewelry));
        assert_eq!(c["customerSegmentationReference"], "seg_a");
        assert_eq!(c["customerSegmentation"], seg_a());
        assert_eq!(c["createdBy"], emp_002());
        assert_eq!(c["parentCustomer"], parent_embed(&parent));
        assert_eq!(c["isSubCustomer"], true);
    }

    let external = create(
        api,
        &[
            ("reference", "external"),
            ("name", "x"),
            ("useExternalId", "true"),
            ("categoryId", "777"),
            ("parentCustomer", "12345"),
        ],
    )
    .await;
    assert_eq!(external["customerCategory"], category_embed(&numeric));
    assert_eq!(external["categoryReference"], "777");
    assert_eq!(external["parentCustomer"], parent_embed(&numeric_parent));
    let not_external = create(
        api,
        &[
            ("reference", "not-external"),
            ("name", "x"),
            ("useExternalId", "false"),
            ("categoryId", jewelry_id.as_str()),
        ],
    )
    .await;
    assert_eq!(not_external["customerCategory"], category_embed(&jewelry));

    let cases = [
        (
            ("categoryId", "777"),
            "The customer category with the id 777 doesn't exist.".to_owned(),
            false,
        ),
        (
            ("categoryId", jewelry_id.as_str()),
            format!("The customer category with the id {jewelry_id} doesn't exist."),
            true,
        ),
        (
            ("customerSegmentationId", "1"),
            "The customer segmentation with the id 1 doesn't exist.".to_owned(),
            true,
        ),
        (
            ("userId", "2"),
            "The user with the id 2 doesn't exist.".to_owned(),
            true,
        ),
        (
            ("parentCustomer", parent_id.as_str()),
            format!("The parent customer with the id {parent_id} doesn't exist."),
            true,
        ),
    ];
    for (i, (param, description, use_external)) in cases.iter().enumerate() {
        let reference = format!("fail-{i}");
        let mut pairs = vec![("reference", reference.as_str()), ("name", "x"), *param];
        if *use_external {
            pairs.push(("useExternalId", "true"));
        }
        error(
            &submit(api, "POST", CUSTOMERS, &pairs).await,
            404,
            "not_found",
            description,
        );
    }
    assert_eq!(total(&api.get(CUSTOMERS).await), 6);
}

pub async fn payment_types_keep_order_drop_duplicates_and_clear(api: &TestApi) {
    let c = create(
        api,
        &[
            ("reference", "pay"),
            ("name", "x"),
            ("paymentTypes", r#"[{"id"=8},{"id"=7},{"id"=8}]"#),
        ],
    )
    .await;
    assert_eq!(c["paymentTypes"], json!([cheque(), cash()]));
    let json_syntax = create(
        api,
        &[
            ("reference", "pay-json"),
            ("name", "x"),
            ("paymentTypes", r#"[{"id":7}]"#),
        ],
    )
    .await;
    assert_eq!(json_syntax["paymentTypes"], json!([cash()]));
    let path = path_of(&c);

    let reply = submit(api, "POST", &path, &[("paymentTypes", r#"[{"id":7},{"id":8}]"#)]).await;
    assert_changed_only(&reply, &c, &[("paymentTypes", json!([cash(), cheque()]))]);
    let before = reply.body;
    for bad in [r#"[{"id"="x"}]"#, "nope", "[{", r#"{"id":7}"#] {
        error(
            &submit(api, "POST", &path, &[("paymentTypes", bad)]).await,
            400,
            "invalid_param_type",
            "The type of parameter payment type id you provided is not valid for this request.",
        );
    }
    error(
        &submit(api, "POST", &path, &[("paymentTypes", r#"[{"id"=999}]"#)]).await,
        404,
        "not_found",
        "The payment type with the id 999 doesn't exist.",
    );
    assert_eq!(
        api.get(&path).await.body,
        before,
        "failed updates changed nothing"
    );

    let cleared = submit(api, "PUT", &path, &[("paymentTypes", "[]")]).await;
    assert_changed_only(&cleared, &before, &[("paymentTypes", json!([]))]);
    assert_eq!(api.get(&path).await.body, cleared.body);
}

pub async fn currency_defaults_and_rules(api: &TestApi) {
    let default = customer(api, "eur", "x").await;
    assert_eq!(default["currency"], "EUR");
    let lower = create(api, &[("reference", "usd"), ("name", "x"), ("currency", "usd")]).await;
    assert_eq!(lower["currency"], "USD");
    let explicit = create(api, &[("reference", "eur2"), ("name", "x"), ("currency", "EUR")]).await;
    assert_eq!(explicit["currency"], "EUR");

    let path = path_of(&default);
    let updated = submit(api, "POST", &path, &[("currency", "Usd")]).await;
    assert_changed_only(&updated, &default, &[("currency", json!("USD"))]);
    error(
        &submit(api, "POST", &path, &[("currency", "GBP")]).await,
        404,
        "not_found",
        "The currency with name GBP is not configured.",
    );
    error(
        &submit(api, "POST", &path, &[("currency", "GmBP")]).await,
        404,
        "not_found",
        "The currency with name GmBP doesn't exist.",
    );
    assert_eq!(api.get(&path).await.body, updated.body);

    let theirs = submit_as(
        api,
        ENTITY2,
        "POST",
        CUSTOMERS,
        &[("reference", "gbp"), ("name", "x")],
    )
    .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    assert_eq!(theirs.body["currency"], "GBP");
    assert_eq!(theirs.body["organization"], "entity2");
    error(
        &submit_as(
            api,
            ENTITY2,
            "POST",
            CUSTOMERS,
            &[("reference", "eur"), ("name", "x"), ("currency", "EUR")],
        )
        .await,
        404,
        "not_found",
        "The currency with name EUR is not configured.",
    );
}

pub async fn typed_values_round_trip(api: &TestApi) {
    let c = create(
        api,
        &[
            ("reference", "typed"),
            ("name", "x"),
            ("isActive", "false"),
            ("billWithParent", "true"),
            ("isSameAddress", "false"),
            ("onHold", "true"),
            ("billingLat", "-33.8688"),
            ("billingLng", "151.2093"),
            ("latitude", "0"),
            ("longitude", "-0.5"),
            ("creditLimit", "1234.56"),
            ("dueDateConfigNumber", "30"),
            ("dueDateConfigType", "2"),
        ],
    )
    .await;
    assert_eq!(
        (
            &c["isActive"],
            &c["billWithParent"],
            &c["isSameAddress"],
            &c["onHold"]
        ),
        (&json!(false), &json!(true), &json!(false), &json!(true))
    );
    assert_eq!(number(&c["billingLat"]), -33.8688);
    assert_eq!(number(&c["billingLng"]), 151.2093);
    assert_eq!(number(&c["latitude"]), 0.0);
    assert_eq!(number(&c["longitude"]), -0.5);
    assert_eq!(number(&c["creditLimit"]), 1234.56);
    assert_eq!(c["dueDateConfigNumber"].as_u64(), Some(30));
    assert_eq!(c["dueDateConfigType"], "daysAfterEndOfInvoiceMonth");
    assert_eq!(api.get(&path_of(&c)).await.body, c);

    let path = path_of(&c);
    let reply = submit(api, "POST", &path, &[("dueDateConfigType", "1")]).await;
    assert_changed_only(
        &reply,
        &c,
        &[("dueDateConfigType", json!("daysAfterInvoiceDate"))],
    );
    let reply2 = submit(api, "POST", &path, &[("dueDateConfigNumber", "10")]).await;
    assert_eq!(reply2.status, 200, "{:?}", reply2.body);
    assert_eq!(reply2.body["dueDateConfigNumber"].as_u64(), Some(10));
    assert_eq!(reply2.body["dueDateConfigType"], "daysAfterInvoiceDate");
    let reply3 = submit(
        api,
        "PUT",
        &path,
        &[
            ("isActive", "true"),
            ("onHold", "false"),
            ("creditLimit", "5000"),
            ("billingLat", "43.7"),
        ],
    )
    .await;
    assert_eq!(reply3.status, 200, "{:?}", reply3.body);
    assert_eq!(
        (&reply3.body["isActive"], &reply3.body["onHold"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(number(&reply3.body["creditLimit"]), 5000.0);
    assert_eq!(number(&reply3.body["billingLat"]), 43.7);
    assert_eq!(number(&reply3.body["billingLng"]), 151.2093, "untouched");
    assert_eq!(reply3.body["billWithParent"], true, "untouched");
    assert_eq!(api.get(&path).await.body, reply3.body);
}

// ---------------------------------------------------------------------------------------------
// Sub-customers
// ---------------------------------------------------------------------------------------------

pub async fn sub_customer_rules(api: &TestApi) {
    let parent = customer(api, "P", "Parent").await;
    let parent_id = id(&parent).to_string();

    let implied = create(
        api,
        &[
            ("reference", "child-1"),
            ("name", "x"),
            ("parentCustomer", parent_id.as_str()),
        ],
    )
    .await;
    assert_eq!(
        implied["isSubCustomer"], true,
        "parentCustomer implies isSubCustomer"
    );
    assert_eq!(implied["parentCustomer"], parent_embed(&parent));
    assert_eq!(api.get(&path_of(&implied)).await.body, implied);

    let explicit = create(
        api,
        &[
            ("reference", "child-2"),
            ("name", "x"),
            ("isSubCustomer", "true"),
            ("parentCustomer", "P"),
            ("billWithParent", "true"),
        ],
    )
    .await;
    assert_eq!(explicit["parentCustomer"], parent_embed(&parent));
    assert_eq!(explicit["billWithParent"], true);

    let path = path_of(&implied);
    let detached = submit(api, "POST", &path, &[("isSubCustomer", "false")]).await;
    assert_changed_only(
        &detached,
        &implied,
        &[("isSubCustomer", json!(false)), ("parentCustomer", Value::Null)],
    );
    error(
        &submit(api, "POST", &path, &[("isSubCustomer", "true")]).await,
        400,
        "missing_param",
        "parentCustomer parameter is missing",
    );
    error(
        &submit(api, "POST", &path, &[("parentCustomer", "188911")]).await,
        404,
        "not_found",
        "The parent customer with the id 188911 doesn't exist.",
    );
    assert_eq!(
        api.get(&path).await.body,
        detached.body,
        "failed updates changed nothing"
    );
    let attached = submit(api, "PUT", &path, &[("parentCustomer", "P")]).await;
    assert_changed_only(
        &attached,
        &detached.body,
        &[
            ("isSubCustomer", json!(true)),
            ("parentCustomer", parent_embed(&parent)),
        ],
    );
    // Still a sub-customer: isSubCustomer=true with the parent already set is fine.
    let again = submit(api, "PUT", &path, &[("isSubCustomer", "true")]).await;
    assert_changed_only(&again, &attached.body, &[]);
}

pub async fn a_customer_cannot_be_its_own_ancestor(api: &TestApi) {
    let a = customer(api, "A", "Top").await;
    let a_id = id(&a).to_string();
    let b = create(
        api,
        &[
            ("reference", "B"),
            ("name", "Mid"),
            ("parentCustomer", a_id.as_str()),
        ],
    )
    .await;
    let b_id = id(&b).to_string();
    let c = create(
        api,
        &[
            ("reference", "C"),
            ("name", "Low"),
            ("parentCustomer", b_id.as_str()),
        ],
    )
    .await;
    let c_id = id(&c).to_string();
    let a_path = path_of(&a);
    for (path, parent) in [
        (a_path.as_str(), a_id.as_str()),
        (a_path.as_str(), "A"),
        (a_path.as_str(), b_id.as_str()),
        (a_path.as_str(), c_id.as_str()),
        (a_path.as_str(), "C"),
    ] {
        for method in ["POST", "PUT"] {
            error(
                &submit(api, method, path, &[("parentCustomer", parent)]).await,
                404,
                "not_found",
                "The customer cannot be a subcustomer of itself.",
            );
        }
    }
    error(
        &submit(
            api,
            "PUT",
            &format!("{CUSTOMERS}/reference/B"),
            &[("isSubCustomer", "true"), ("parentCustomer", c_id.as_str())],
        )
        .await,
        404,
        "not_found",
        "The customer cannot be a subcustomer of itself.",
    );
    assert_eq!(api.get(&a_path).await.body, a, "A is unchanged");
    assert_eq!(api.get(&path_of(&b)).await.body, b, "B is unchanged");
    // Moving C directly under A is no cycle.
    let moved = submit(api, "POST", &path_of(&c), &[("parentCustomer", "A")]).await;
    assert_changed_only(&moved, &c, &[("parentCustomer", parent_embed(&a))]);
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

pub async fn update_is_partial_by_id_and_reference(api: &TestApi) {
    let home = group(api, "home", "Home").await;
    let c = create(
        api,
        &[
            ("reference", "part"),
            ("name", "Partial"),
            ("email", "a@example.com"),
            ("phone", "0102030405"),
            ("comment", "keep me"),
            ("creditLimit", "5000"),
            ("customerSegmentationId", "1"),
            ("userId", "2"),
            ("paymentTypes", r#"[{"id"=7}]"#),
            ("regionId", "3"),
            ("dueDateConfigNumber", "7"),
            ("dueDateConfigType", "1"),
        ],
    )
    .await;
    let path = path_of(&c);

    let renamed = submit(api, "POST", &path, &[("name", "Renamed")]).await;
    assert_changed_only(&renamed, &c, &[("name", json!("Renamed"))]);

    let by_put = submit(api, "PUT", &path, &[("email", "b@example.com"), ("city", "Lyon")]).await;
    assert_changed_only(
        &by_put,
        &renamed.body,
        &[("email", json!("b@example.com")), ("city", json!("Lyon"))],
    );

    let cleared = submit(
        api,
        "PUT",
        &format!("{CUSTOMERS}/reference/part"),
        &[("comment", ""), ("phone", "")],
    )
    .await;
    assert_changed_only(
        &cleared,
        &by_put.body,
        &[("comment", Value::Null), ("phone", Value::Null)],
    );

    let categorised = submit(api, "POST", &path, &[("categoryId", "home"), ("regionId", "2")]).await;
    assert_changed_only(
        &categorised,
        &cleared.body,
        &[
            ("categoryReference", json!("home")),
            ("customerCategory", category_embed(&home)),
            ("region", region(2, "California")),
        ],
    );

    let nothing = submit(api, "POST", &path, &[]).await;
    assert_changed_only(&nothing, &categorised.body, &[]);

    for shown in [
        api.get(&path).await,
        api.get(&format!("{CUSTOMERS}/reference/part")).await,
    ] {
        assert_eq!((shown.status, &shown.body), (200, &nothing.body));
    }
}

pub async fn update_with_multipart(api: &TestApi) {
    let c = customer(api, "mp-up", "Before").await;
    let path = path_of(&c);
    let reply = submit_multipart(
        api,
        "POST",
        &path,
        &[
            ("city", "Lyon é"),
            ("paymentTypes", r#"[{"id"=7}]"#),
            ("isActive", "false"),
            ("longitude", "4.85"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut expected = c.clone();
    expected["city"] = json!("Lyon é");
    expected["paymentTypes"] = json!([cash()]);
    expected["isActive"] = json!(false);
    expected["longitude"] = reply.body["longitude"].clone();
    expected["lastUpdated"] = reply.body["lastUpdated"].clone();
    assert_eq!(reply.body, expected);
    assert_eq!(number(&reply.body["longitude"]), 4.85);
    let by_reference = submit_multipart(
        api,
        "PUT",
        &format!("{CUSTOMERS}/reference/mp-up"),
        &[("name", "After")],
    )
    .await;
    assert_changed_only(&by_reference, &reply.body, &[("name", json!("After"))]);
    assert_eq!(api.get(&path).await.body, by_reference.body);
    error(
        &submit_multipart(api, "POST", &path, &[("creditLimit", "abc")]).await,
        400,
        "invalid_param_type",
        "The type of parameter creditLimit you provided is not valid for this request.",
    );
    assert_eq!(api.get(&path).await.body, by_reference.body);
}

pub async fn renaming_the_reference_frees_the_old_one(api: &TestApi) {
    let a = customer(api, "old", "A").await;
    customer(api, "taken", "B").await;
    let path = path_of(&a);
    let renamed = submit(api, "POST", &path, &[("reference", "new")]).await;
    assert_changed_only(&renamed, &a, &[("reference", json!("new"))]);
    error(
        &api.get(&format!("{CUSTOMERS}/reference/old")).await,
        404,
        "not_found",
        "The customer with the id old doesn't exist.",
    );
    assert_eq!(
        api.get(&format!("{CUSTOMERS}/reference/new")).await.body,
        renamed.body
    );
    let reused = customer(api, "old", "Reuses the old reference").await;
    assert_ne!(reused["id"], a["id"]);

    error(
        &submit(api, "POST", &path, &[("reference", "taken")]).await,
        400,
        "not_unique",
        "reference already used",
    );
    error(
        &submit(api, "PUT", &path, &[("reference", "old")]).await,
        400,
        "not_unique",
        "reference already used",
    );
    error(
        &submit(api, "POST", &path, &[("reference", "")]).await,
        400,
        "missing_param",
        "reference parameter is missing",
    );
    error(
        &submit(api, "POST", &path, &[("name", "")]).await,
        400,
        "missing_param",
        "name parameter is missing",
    );
    assert_eq!(
        api.get(&path).await.body,
        renamed.body,
        "failed updates changed nothing"
    );
    let same = submit(api, "PUT", &path, &[("reference", "new"), ("name", "A2")]).await;
    assert_changed_only(&same, &renamed.body, &[("name", json!("A2"))]);
    // By reference, renaming the addressed reference.
    let by_ref = submit(
        api,
        "PUT",
        &format!("{CUSTOMERS}/reference/new"),
        &[("reference", "newer")],
    )
    .await;
    assert_changed_only(&by_ref, &same.body, &[("reference", json!("newer"))]);
    assert_eq!(total(&api.get(CUSTOMERS).await), 3);
}

pub async fn failed_updates_change_nothing(api: &TestApi) {
    let c = create(
        api,
        &[
            ("reference", "stable"),
            ("name", "Stable"),
            ("creditLimit", "100"),
            ("paymentTypes", r#"[{"id"=8}]"#),
        ],
    )
    .await;
    let path = path_of(&c);
    let long_name = "n".repeat(256);
    let long_comment = "c".repeat(4001);
    let bad_type =
        |param: &str| format!("The type of parameter {param} you provided is not valid for this request.");
    let cases: Vec<(Pairs, u16, &str, String)> = vec![
        (
            vec![("colour", "red")],
            400,
            "invalid_param",
            "The parameters [colour] you provided are not valid for this request.".into(),
        ),
        (
            vec![("isActive", "maybe")],
            400,
            "invalid_param_type",
            bad_type("isActive"),
        ),
        (
            vec![("name", "Changed"), ("creditLimit", "abc")],
            400,
            "invalid_param_type",
            bad_type("creditLimit"),
        ),
        (
            vec![("dueDateConfigNumber", "1.5")],
            400,
            "invalid_param_type",
            bad_type("dueDateConfigNumber"),
        ),
        (
            vec![("dueDateConfigNumber", "3"), ("dueDateConfigType", "9")],
            400,
            "invalid_param_type",
            bad_type("dueDateConfigType"),
        ),
        (
            vec![("regionId", "abc")],
            400,
            "invalid_param_type",
            bad_type("regionId"),
        ),
        (
            vec![("name", long_name.as_str())],
            400,
            "save_failed",
            "Failed to save instance.".into(),
        ),
        (
            vec![("city", "Nice"), ("comment", long_comment.as_str())],
            400,
            "save_failed",
            "Failed to save instance.".into(),
        ),
        (
            vec![("name", "Changed"), ("categoryId", "999")],
            404,
            "not_found",
            "The customer category with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("customerSegmentationId", "999")],
            404,
            "not_found",
            "The customer segmentation with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("userId", "nobody")],
            404,
            "not_found",
            "The user with the id nobody doesn't exist.".into(),
        ),
        (
            vec![("paymentTypes", r#"[{"id"=999}]"#)],
            404,
            "not_found",
            "The payment type with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("regionId", "999")],
            404,
            "not_found",
            "The region with the id 999 doesn't exist.".into(),
        ),
        (
            vec![("parentCustomer", "188911")],
            404,
            "not_found",
            "The parent customer with the id 188911 doesn't exist.".into(),
        ),
        (
            vec![("currency", "GmBP")],
            404,
            "not_found",
            "The currency with name GmBP doesn't exist.".into(),
        ),
    ];
    for (pairs, status, code, description) in &cases {
        for method in ["POST", "PUT"] {
            error(
                &submit(api, method, &path, pairs).await,
                *status,
                code,
                description,
            );
        }
        error(
            &submit(api, "PUT", &format!("{CUSTOMERS}/reference/stable"), pairs).await,
            *status,
            code,
            description,
        );
    }
    assert_eq!(api.get(&path).await.body, c, "failed updates changed nothing");

    for (method, missing, label) in [
        ("POST", format!("{CUSTOMERS}/999"), "999"),
        ("PUT", format!("{CUSTOMERS}/999"), "999"),
        ("PUT", format!("{CUSTOMERS}/reference/ghost"), "ghost"),
    ] {
        error(
            &submit(api, method, &missing, &[("name", "x")]).await,
            404,
            "not_found",
            &format!("The customer with the id {label} doesn't exist."),
        );
    }
    error(
        &submit(api, "PUT", &format!("{CUSTOMERS}/abc"), &[("name", "x")]).await,
        400,
        "invalid_param_type",
        "The type of parameter id you provided is not valid for this request.",
    );
    assert_eq!(total(&api.get(CUSTOMERS).await), 1, "updates never create");
}

// ---------------------------------------------------------------------------------------------
// Upsert
// ---------------------------------------------------------------------------------------------

pub async fn upsert_creates_then_updates(api: &TestApi) {
    let home = group(api, "home", "Home").await;
    let path = format!("{CUSTOMERS}/reference/UP-1");
    let created = submit(
        api,
        "POST",
        &path,
        &[
            ("name", "Upserted"),
            ("categoryId", "home"),
            ("creditLimit", "5000"),
            ("regionId", "3"),
        ],
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(keys(&created.body), KEYS);
    assert_eq!(created.body["reference"], "UP-1");
    assert_eq!(created.body["name"], "Upserted");
    assert_eq!(created.body["customerCategory"], category_embed(&home));
    assert_eq!(created.body["region"], region(3, "New York"));
    assert_eq!(number(&created.body["creditLimit"]), 5000.0);
    assert_eq!(created.body["currency"], "EUR");
    assert_eq!(created.body["isActive"], true);
    assert_eq!(created.body["organization"], "entity1");
    assert_eq!(api.get(&path).await.body, created.body);

    let updated = submit(api, "POST", &path, &[("name", "Again"), ("city", "Nice")]).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["id"], created.body["id"]);
    assert_eq!(updated.body["reference"], "UP-1");
    assert_eq!(updated.body["name"], "Again");
    assert_eq!(updated.body["city"], "Nice");
    assert_eq!(updated.body["dateCreated"], created.body["dateCreated"]);
    assert_eq!(api.get(&path_of(&created.body)).await.body, updated.body);

    error(
        &submit(api, "POST", &path, &[("name", "x"), ("creditLimit", "abc")]).await,
        400,
        "invalid_param_type",
        "The type of parameter creditLimit you provided is not valid for this request.",
    );
    assert_eq!(
        api.get(&path).await.body,
        updated.body,
        "failed upsert changed nothing"
    );

    // Multipart, with a reference that needs escaping.
    let escaped = format!("{CUSTOMERS}/reference/UP%202%2F%C3%A9");
    let multi = submit_multipart(
        api,
        "POST",
        &escaped,
        &[("name", "Multi"), ("paymentTypes", r#"[{"id"=8}]"#)],
    )
    .await;
    assert_eq!(multi.status, 201, "{:?}", multi.body);
    assert_eq!(multi.body["reference"], "UP 2/é");
    assert_eq!(multi.body["paymentTypes"], json!([cheque()]));
    let multi_again = submit_multipart(api, "POST", &escaped, &[("name", "Multi again")]).await;
    assert_eq!(multi_again.status, 200, "{:?}", multi_again.body);
    assert_eq!(multi_again.body["id"], multi.body["id"]);
    assert_eq!(multi_again.body["name"], "Multi again");

    error(
        &submit(
            api,
            "POST",
            &format!("{CUSTOMERS}/reference/UP-3"),
            &[("city", "Nice")],
        )
        .await,
        400,
        "missing_param",
        "name parameter is missing",
    );
    error(
        &submit(
            api,
            "POST",
            &format!("{CUSTOMERS}/reference/UP-3"),
            &[("name", "x"), ("categoryId", "ghost")],
        )
        .await,
        404,
        "not_found",
        "The customer category with the id ghost doesn't exist.",
    );
    error(
        &api.get(&format!("{CUSTOMERS}/reference/UP-3")).await,
        404,
        "not_found",
        "The customer with the id UP-3 doesn't exist.",
    );
    assert_eq!(total(&api.get(CUSTOMERS).await), 2);
}

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

pub async fn delete_by_id_and_reference(api: &TestApi) {
    let one = customer(api, "one", "x").await;
    let two = customer(api, "two", "y").await;
    let deleted = json!({"success": "true", "success_description": DELETED});
    let reply = delete(api, &path_of(&one)).await;
    assert_eq!((reply.status, &reply.body), (200, &deleted));
    let reply = delete(api, &format!("{CUSTOMERS}/reference/two")).await;
    assert_eq!((reply.status, &reply.body), (200, &deleted));
    for gone in [path_of(&one), path_of(&two)] {
        error(
            &api.get(&gone).await,
            404,
            "not_found",
            &format!(
                "The customer with the id {} doesn't exist.",
                gone.rsplit('/').next().unwrap_or("")
            ),
        );
    }
    error(
        &delete(api, &path_of(&one)).await,
        404,
        "not_found",
        &format!("The customer with the id {} doesn't exist.", id(&one)),
    );
    error(
        &delete(api, &format!("{CUSTOMERS}/32987")).await,
        404,
        "not_found",
        "The customer with the id 32987 doesn't exist.",
    );
    error(
        &delete(api, &format!("{CUSTOMERS}/reference/two")).await,
        404,
        "not_found",
        "The customer with the id two doesn't exist.",
    );
    error(
        &delete(api, &format!("{CUSTOMERS}/abc")).await,
        400,
        "invalid_param_type",
        "The type of parameter id you provided is not valid for this request.",
    );
    assert_eq!(total(&api.get(CUSTOMERS).await), 0);
    let reused = customer(api, "one", "again").await;
    assert_ne!(reused["id"], one["id"]);
}

pub async fn a_parent_with_sub_customers_cannot_be_deleted(api: &TestApi) {
    let parent = customer(api, "P", "Parent").await;
    let child = create(
        api,
        &[("reference", "C"), ("name", "Child"), ("parentCustomer", "P")],
    )
    .await;
    for path in [path_of(&parent), format!("{CUSTOMERS}/reference/P")] {
        error(
            &delete(api, &path).await,
            400,
            "delete_failed",
            "Failed to delete instance.",
        );
    }
    assert_eq!(api.get(&path_of(&parent)).await.body, parent, "nothing deleted");
    assert_eq!(api.get(&path_of(&child)).await.body, child, "nothing deleted");
    assert_eq!(delete(api, &path_of(&child)).await.status, 200);
    assert_eq!(delete(api, &path_of(&parent)).await.status, 200);

    let parent2 = customer(api, "P2", "Parent 2").await;
    let child2 = create(
        api,
        &[("reference", "C2"), ("name", "Child 2"), ("parentCustomer", "P2")],
    )
    .await;
    error(
        &delete(api, &path_of(&parent2)).await,
        400,
        "delete_failed",
        "Failed to delete instance.",
    );
    assert_eq!(
        submit(api, "POST", &path_of(&child2), &[("isSubCustomer", "false")])
            .await
            .status,
        200
    );
    let reply = delete(api, &format!("{CUSTOMERS}/reference/P2")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(refs(&api.get(CUSTOMERS).await), ["C2"]);
}

pub async fn a_group_in_use_cannot_be_deleted(api: &TestApi) {
    let g1 = group(api, "G1", "First").await;
    let g2 = group(api, "G2", "Second").await;
    let g2_id = id(&g2).to_string();
    let x = create(api, &[("reference", "X"), ("name", "x"), ("categoryId", "G1")]).await;
    let y = create(
        api,
        &[("reference", "Y"), ("name", "y"), ("categoryId", g2_id.as_str())],
    )
    .await;
    for path in [
        format!("{GROUPS}/{}", id(&g1)),
        format!("{CATEGORIES}/reference/G1"),
    ] {
        error(
            &delete(api, &path).await,
            400,
            "delete_failed",
            "Failed to delete instance",
        );
    }
    let still = api.get(&format!("{GROUPS}/{}", id(&g1))).await;
    assert_eq!((still.status, &still.body), (200, &g1), "the group remains");
    assert_eq!(api.get(&path_of(&x)).await.body, x);

    let moved = submit(api, "POST", &path_of(&x), &[("categoryId", g2_id.as_str())]).await;
    assert_changed_only(
        &moved,
        &x,
        &[
            ("categoryReference", json!("G2")),
            ("customerCategory", category_embed(&g2)),
        ],
    );
    let reply = delete(api, &format!("{GROUPS}/{}", id(&g1))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    error(
        &delete(api, &format!("{GROUPS}/{}", id(&g2))).await,
        400,
        "delete_failed",
        "Failed to delete instance",
    );
    assert_eq!(delete(api, &path_of(&x)).await.status, 200);
    error(
        &delete(api, &format!("{GROUPS}/{}", id(&g2))).await,
        400,
        "delete_failed",
        "Failed to delete instance",
    );
    assert_eq!(delete(api, &path_of(&y)).await.status, 200);
    let reply = delete(api, &format!("{GROUPS}/{}", id(&g2))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(total(&api.get(GROUPS).await), 0);
}

// ---------------------------------------------------------------------------------------------
// Embeds, tenants, list
// ---------------------------------------------------------------------------------------------

pub async fn embeds_are_resolved_at_read_time(api: &TestApi) {
    let g = group(api, "jewelry", "Home").await;
    let parent = customer(api, "P", "Parent").await;
    let child = create(
        api,
        &[
            ("reference", "C"),
            ("name", "Child"),
            ("categoryId", "jewelry"),
            ("parentCustomer", "P"),
        ],
    )
    .await;
    let renamed = api
        .send(
            "PUT",
            &format!("{GROUPS}/{}", id(&g)),
            &json!({"reference": "bijoux", "name": "Jewelry and accessories"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let parent_renamed = submit(
        api,
        "POST",
        &path_of(&parent),
        &[("reference", "P-new"), ("name", "Parent renamed")],
    )
    .await;
    assert_eq!(parent_renamed.status, 200, "{:?}", parent_renamed.body);

    let shown = api.get(&path_of(&child)).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["categoryReference"], "bijoux");
    assert_eq!(shown.body["customerCategory"], category_embed(&renamed.body));
    assert_eq!(shown.body["parentCustomer"], parent_embed(&parent_renamed.body));
    assert_eq!(shown.body["dateCreated"], child["dateCreated"]);

    let listed = api.get(&format!("{CUSTOMERS}?reference=C")).await;
    assert_eq!(listed.body["data"], json!([shown.body.clone()]));
    assert_eq!(
        refs(&api.get(&format!("{CUSTOMERS}?categoryReference=bijoux")).await),
        ["C"]
    );
    assert_eq!(
        total(&api.get(&format!("{CUSTOMERS}?categoryReference=jewelry")).await),
        0
    );
}

pub async fn tenants_never_see_each_other(api: &TestApi) {
    let mine_group = group(api, "mine", "Mine").await;
    let mine = create(
        api,
        &[
            ("reference", "shared-ref"),
            ("name", "entity1's"),
            ("categoryId", "mine"),
        ],
    )
    .await;
    let path = path_of(&mine);
    let not_found = format!("The customer with the id {} doesn't exist.", id(&mine));

    error(&get_as(api, ENTITY2, &path).await, 404, "not_found", &not_found);
    error(
        &submit_as(api, ENTITY2, "POST", &path, &[("name", "stolen")]).await,
        404,
        "not_found",
        &not_found,
    );
    error(
        &submit_as(api, ENTITY2, "PUT", &path, &[("name", "stolen")]).await,
        404,
        "not_found",
        &not_found,
    );
    error(
        &delete_as(api, ENTITY2, &path).await,
        404,
        "not_found",
        &not_found,
    );
    let by_ref = format!("{CUSTOMERS}/reference/shared-ref");
    let ref_not_found = "The customer with the id shared-ref doesn't exist.";
    error(
        &get_as(api, ENTITY2, &by_ref).await,
        404,
        "not_found",
        ref_not_found,
    );
    error(
        &submit_as(api, ENTITY2, "PUT", &by_ref, &[("name", "stolen")]).await,
        404,
        "not_found",
        ref_not_found,
    );
    error(
        &delete_as(api, ENTITY2, &by_ref).await,
        404,
        "not_found",
        ref_not_found,
    );

    let mine_id = id(&mine).to_string();
    let group_id = id(&mine_group).to_string();
    for (pairs, description) in [
        (
            vec![
                ("reference", "t1"),
                ("name", "x"),
                ("parentCustomer", mine_id.as_str()),
            ],
            format!("The parent customer with the id {mine_id} doesn't exist."),
        ),
        (
            vec![
                ("reference", "t2"),
                ("name", "x"),
                ("parentCustomer", "shared-ref"),
            ],
            "The parent customer with the id shared-ref doesn't exist.".to_owned(),
        ),
        (
            vec![
                ("reference", "t3"),
                ("name", "x"),
                ("categoryId", group_id.as_str()),
            ],
            format!("The customer category with the id {group_id} doesn't exist."),
        ),
        (
            vec![("reference", "t4"), ("name", "x"), ("categoryId", "mine")],
            "The customer category with the id mine doesn't exist.".to_owned(),
        ),
        (
            vec![
                ("reference", "t5"),
                ("name", "x"),
                ("customerSegmentationId", "1"),
            ],
            "The customer segmentation with the id 1 doesn't exist.".to_owned(),
        ),
        (
            vec![("reference", "t6"), ("name", "x"), ("userId", "emp-002")],
            "The user with the id emp-002 doesn't exist.".to_owned(),
        ),
        (
            vec![
                ("reference", "t7"),
                ("name", "x"),
                ("paymentTypes", r#"[{"id"=7}]"#),
            ],
            "The payment type with the id 7 doesn't exist.".to_owned(),
        ),
        (
            vec![("reference", "t8"), ("name", "x"), ("regionId", "3")],
            "The region with the id 3 doesn't exist.".to_owned(),
        ),
    ] {
        error(
            &submit_as(api, ENTITY2, "POST", CUSTOMERS, &pairs).await,
            404,
            "not_found",
            &description,
        );
    }

    // entity2 has its own reference space and its own reference data.
    let theirs = submit_as(
        api,
        ENTITY2,
        "POST",
        CUSTOMERS,
        &[
            ("reference", "shared-ref"),
            ("name", "entity2's"),
            ("customerSegmentationId", "seg_x"),
            ("userId", "1"),
            ("paymentTypes", r#"[{"id"=1}]"#),
            ("regionId", "1"),
        ],
    )
    .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    assert_eq!(keys(&theirs.body), KEYS);
    assert_eq!(theirs.body["organization"], "entity2");
    assert_eq!(theirs.body["currency"], "GBP");
    assert_eq!(theirs.body["customerSegmentationReference"], "seg_x");
    assert_eq!(
        theirs.body["customerSegmentation"],
        json!({"id": 5, "reference": "seg_x", "name": "Segmentation X", "href": "/api/v1.0/customerSegmentations/5"})
    );
    assert_eq!(
        theirs.body["createdBy"],
        json!({"userId": 1, "reference": "emp-001", "href": "/api/v1.0/users/1"})
    );
    assert_eq!(
        theirs.body["paymentTypes"],
        json!([payment_type(1, "card", "Card")])
    );
    assert_eq!(theirs.body["region"], region(1, "London"));

    let upserted = submit_as(api, ENTITY2, "POST", &by_ref, &[("name", "entity2 again")]).await;
    assert_eq!((upserted.status, &upserted.body["id"]), (200, &theirs.body["id"]));
    let listed = get_as(api, ENTITY2, CUSTOMERS).await;
    assert_eq!(total(&listed), 1);
    assert_eq!(listed.body["data"][0]["name"], "entity2 again");
    assert_eq!(total(&api.get(CUSTOMERS).await), 1);
    assert_eq!(api.get(&path).await.body, mine, "entity1's customer is untouched");
    assert_eq!(api.get(&by_ref).await.body, mine);

    // entity1 cannot reach entity2's customers either.
    let only_theirs = submit_as(
        api,
        ENTITY2,
        "POST",
        CUSTOMERS,
        &[("reference", "only-theirs"), ("name", "x")],
    )
    .await;
    assert_eq!(only_theirs.status, 201, "{:?}", only_theirs.body);
    let their_ref = format!("{CUSTOMERS}/reference/only-theirs");
    let their_not_found = "The customer with the id only-theirs doesn't exist.";
    error(&api.get(&their_ref).await, 404, "not_found", their_not_found);
    error(
        &submit(api, "PUT", &their_ref, &[("name", "stolen")]).await,
        404,
        "not_found",
        their_not_found,
    );
    error(&delete(api, &their_ref).await, 404, "not_found", their_not_found);
    assert_eq!(get_as(api, ENTITY2, &their_ref).await.body, only_theirs.body);
    assert_eq!(total(&api.get(CUSTOMERS).await), 1);
    assert_eq!(total(&get_as(api, ENTITY2, CUSTOMERS).await), 2);
}

pub async fn list_pages_with_links(api: &TestApi) {
    let empty = api.get(CUSTOMERS).await;
    assert_eq!(
        (empty.status, &empty.body),
        (
            200,
            &json!({"paging": {"total": 0, "max": 100, "offset": 0, "previous": null, "next": null}, "data": []})
        )
    );
    let mut created = Vec::new();
    for (reference, name) in [
        ("L1", "Alpha"),
        ("L2", "Bravo"),
        ("L3", "Charlie"),
        ("L4", "Delta"),
        ("L5", "Echo"),
    ] {
        created.push(customer(api, reference, name).await);
    }
    let all = api.get(CUSTOMERS).await;
    assert_eq!(all.status, 200);
    assert_eq!(
        all.body["paging"],
        json!({"total": 5, "max": 100, "offset": 0, "previous": null, "next": null})
    );
    assert_eq!(
        all.body["data"],
        Value::Array(created.clone()),
        "list items are the shown objects"
    );
    for item in all.body["data"].as_array().expect("data") {
        assert_eq!(keys(item), KEYS);
    }

    let first = api.get(&format!("{CUSTOMERS}?max=2")).await;
    assert_eq!(
        first.body["paging"],
        json!({"total": 5, "max": 2, "offset": 0, "previous": null, "next": "/api/v1.0/customers?max=2&offset=2&sort=dateCreated&order=asc"})
    );
    assert_eq!(refs(&first), ["L1", "L2"]);
    let next = first.body["paging"]["next"].as_str().expect("next").to_owned();
    let second = api.get(&next).await;
    assert_eq!(refs(&second), ["L3", "L4"]);
    assert_eq!(
        second.body["paging"],
        json!({"total": 5, "max": 2, "offset": 2, "previous": "/api/v1.0/customers?max=2&offset=0&sort=dateCreated&order=asc", "next": "/api/v1.0/customers?max=2&offset=4&sort=dateCreated&order=asc"})
    );
    let last = api
        .get(second.body["paging"]["next"].as_str().expect("next"))
        .await;
    assert_eq!(refs(&last), ["L5"]);
    assert_eq!(last.body["paging"]["next"], Value::Null);
    assert_eq!(
        last.body["paging"]["previous"],
        "/api/v1.0/customers?max=2&offset=2&sort=dateCreated&order=asc"
    );
    let beyond = api.get(&format!("{CUSTOMERS}?offset=10")).await;
    assert_eq!((total(&beyond), refs(&beyond).len()), (5, 0));

    let filtered = api.get(&format!("{CUSTOMERS}?max=1&name=*a*")).await;
    assert_eq!(
        filtered.body["paging"]["next"],
        "/api/v1.0/customers?max=1&offset=1&sort=dateCreated&order=asc&name=*a*"
    );
    let sorted_filtered = api
        .get(&format!("{CUSTOMERS}?max=1&isActive=true&sort=name&order=desc"))
        .await;
    assert_eq!(refs(&sorted_filtered), ["L5"]);
    assert_eq!(
        sorted_filtered.body["paging"]["next"],
        "/api/v1.0/customers?max=1&offset=1&sort=name&order=desc&isActive=true"
    );
}

pub async fn list_filters(api: &TestApi) {
    for (reference, name) in [
        ("Ref-61", "G61"),
        ("Ref-62", "G62"),
        ("XRef-6", "GX"),
        ("Ref-7", "G7"),
    ] {
        group(api, reference, name).await;
    }
    for (reference, name, category, active) in [
        ("Ref-61", "Grands Magasins", Some("Ref-61"), "true"),
        ("Ref-62", "magasin", Some("Ref-62"), "false"),
        ("XRef-6", "Other", Some("XRef-6"), "true"),
        ("Ref-7", "Shop", Some("Ref-7"), "false"),
        ("NoCat", "Magasin", None, "true"),
    ] {
        let mut pairs = vec![("reference", reference), ("name", name), ("isActive", active)];
        if let Some(category) = category {
            pairs.push(("categoryId", category));
        }
        create(api, &pairs).await;
    }
    let cases: [(&str, &[&str]); 20] = [
        ("reference=Ref-6*", &["Ref-61", "Ref-62"]),
        ("reference=*ef-6", &["XRef-6"]),
        ("reference=*ef-6*", &["Ref-61", "Ref-62", "XRef-6"]),
        ("reference=ref-7", &["Ref-7"]),
        ("reference=Ref-6", &[]),
        ("name=magasin", &["Ref-62", "NoCat"]),
        ("name=MAGASIN", &["Ref-62", "NoCat"]),
        ("name=*magasin*", &["Ref-61", "Ref-62", "NoCat"]),
        ("name=Grands*", &["Ref-61"]),
        ("categoryReference=Ref-6*", &["Ref-61", "Ref-62"]),
        ("categoryReference=*ef-6", &["XRef-6"]),
        ("categoryReference=*ef-6*", &["Ref-61", "Ref-62", "XRef-6"]),
        ("categoryReference=ref-7", &["Ref-7"]),
        ("categoryReference=Ref-6", &[]),
        ("isActive=false", &["Ref-62", "Ref-7"]),
        ("isActive=true", &["Ref-61", "XRef-6", "NoCat"]),
        ("name=*magasin*&isActive=true", &["Ref-61", "NoCat"]),
        ("categoryReference=*ef-6*&isActive=false", &["Ref-62"]),
        (
            "reference=*&sort=reference&order=desc",
            &["XRef-6", "Ref-7", "Ref-62", "Ref-61", "NoCat"],
        ),
        ("name=*o*&categoryReference=*", &["XRef-6", "Ref-7"]),
    ];
    for (query, expected) in cases {
        let reply = api.get(&format!("{CUSTOMERS}?{query}")).await;
        assert_eq!(refs(&reply), expected, "{query}");
        assert_eq!(total(&reply), expected.len() as u64, "{query}");
    }
    let paged = api
        .get(&format!("{CUSTOMERS}?max=1&categoryReference=Ref-6*"))
        .await;
    assert_eq!(refs(&paged), ["Ref-61"]);
    assert_eq!(
        paged.body["paging"],
        json!({"total": 2, "max": 1, "offset": 0, "previous": null, "next": "/api/v1.0/customers?max=1&offset=1&sort=dateCreated&order=asc&categoryReference=Ref-6*"})
    );
    for (query, expected) in [
        (
            "dateCreated_gte=2000-01-01T00:00:00Z&lastUpdated_lte=2100-01-01T00:00:00Z",
            5,
        ),
        (
            "dateCreated_gt=2000-01-01T00:00:00Z&lastUpdated_lt=2100-01-01T00:00:00Z",
            5,
        ),
        ("dateCreated_gt=2100-01-01T00:00:00Z", 0),
        ("dateCreated_lt=2000-01-01T00:00:00Z", 0),
        ("lastUpdated_gte=2100-01-01T00:00:00Z", 0),
        ("dateCreated_lte=2000-01-01T00:00:00Z", 0),
        ("isActive=true&dateCreated_gte=2000-01-01T00:00:00Z", 3),
    ] {
        assert_eq!(
            total(&api.get(&format!("{CUSTOMERS}?{query}")).await),
            expected,
            "{query}"
        );
    }
    // The exact creation second is inside the inclusive bounds.
    let first = api.get(&format!("{CUSTOMERS}?max=1")).await;
    let created = first.body["data"][0]["dateCreated"]
        .as_str()
        .expect("date")
        .to_owned();
    let at = api
        .get(&format!(
            "{CUSTOMERS}?dateCreated_gte={created}&dateCreated_lte=2100-01-01T00:00:00Z"
        ))
        .await;
    assert!(total(&at) >= 1, "{created}");
}

pub async fn list_sorts_by_scalar_fields(api: &TestApi) {
    // Created in this order: c, a, d, b.
    for (reference, name, limit, city, active) in [
        ("c", "Charlie", "300", "Paris", "true"),
        ("a", "Alpha", "100", "Lyon", "false"),
        ("d", "Delta", "200.5", "Nice", "true"),
        ("b", "Bravo", "1000", "Amiens", "false"),
    ] {
        create(
            api,
            &[
                ("reference", reference),
                ("name", name),
                ("creditLimit", limit),
                ("city", city),
                ("isActive", active),
            ],
        )
        .await;
    }
    let cases: [(&str, [&str; 4]); 14] = [
        ("", ["c", "a", "d", "b"]),
        ("sort=dateCreated", ["c", "a", "d", "b"]),
        ("sort=id", ["c", "a", "d", "b"]),
        ("sort=id&order=desc", ["b", "d", "a", "c"]),
        ("sort=name", ["a", "b", "c", "d"]),
        ("sort=name&order=asc", ["a", "b", "c", "d"]),
        ("sort=name&order=desc", ["d", "c", "b", "a"]),
        ("sort=reference", ["a", "b", "c", "d"]),
        ("sort=reference&order=desc", ["d", "c", "b", "a"]),
        ("sort=creditLimit", ["a", "d", "c", "b"]),
        ("sort=creditLimit&order=desc", ["b", "c", "d", "a"]),
        ("sort=city", ["b", "a", "d", "c"]),
        ("sort=city&order=desc", ["c", "d", "a", "b"]),
        // Ties on isActive are broken by id.
        ("sort=isActive", ["a", "b", "c", "d"]),
    ];
    for (query, expected) in cases {
        let reply = api.get(&format!("{CUSTOMERS}?{query}")).await;
        assert_eq!(refs(&reply), expected, "{query}");
    }
    let desc = refs(&api.get(&format!("{CUSTOMERS}?sort=isActive&order=desc")).await);
    let mut head = desc[..2].to_vec();
    head.sort();
    assert_eq!(head, ["c", "d"], "active customers first: {desc:?}");
    let page = api.get(&format!("{CUSTOMERS}?sort=name&max=2&offset=1")).await;
    assert_eq!(refs(&page), ["b", "c"]);
    assert_eq!(
        page.body["paging"],
        json!({"total": 4, "max": 2, "offset": 1, "previous": "/api/v1.0/customers?max=2&offset=0&sort=name&order=asc", "next": "/api/v1.0/customers?max=2&offset=3&sort=name&order=asc"})
    );
}

pub async fn list_errors(api: &TestApi) {
    customer(api, "r", "n").await;
    error(
        &api.get(&format!("{CUSTOMERS}?dateCreated_gta=2016-08-15T14:52:48Z"))
            .await,
        400,
        "invalid_param",
        "The parameters [dateCreated_gta] you provided are not valid for this request.",
    );
    error(
        &api.get(&format!("{CUSTOMERS}?colour=red")).await,
        400,
        "invalid_param",
        "The parameters [colour] you provided are not valid for this request.",
    );
    for filter in [
        "dateCreated_gt",
        "dateCreated_lte",
        "lastUpdated_gte",
        "lastUpdated_lt",
    ] {
        error(
            &api.get(&format!("{CUSTOMERS}?{filter}=2016-08-1Z")).await,
            400,
            "invalid_datetime_format",
            "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]",
        );
    }
    for (query, param) in [
        ("isActive=yes", "isActive"),
        ("isActive=", "isActive"),
        ("max=-1", "max"),
        ("max=abc", "max"),
        ("offset=x", "offset"),
        ("order=sideways", "order"),
        ("sort=nope", "sort"),
    ] {
        error(
            &api.get(&format!("{CUSTOMERS}?{query}")).await,
            400,
            "invalid_param_type",
            &format!("The type of parameter {param} you provided is not valid for this request."),
        );
    }
}

pub async fn authentication_is_required(api: &TestApi) {
    let created = customer(api, "r", "n").await;
    let unauthorized = "The access token is missing, invalid or expired.";
    for token in [None, Some("wrong-token"), Some("")] {
        for (method, path) in [
            ("GET", CUSTOMERS.to_owned()),
            ("POST", CUSTOMERS.to_owned()),
            ("GET", path_of(&created)),
            ("POST", path_of(&created)),
            ("PUT", format!("{CUSTOMERS}/reference/r")),
            ("POST", format!("{CUSTOMERS}/reference/new")),
            ("DELETE", path_of(&created)),
            ("DELETE", format!("{CUSTOMERS}/reference/r")),
        ] {
            let reply = api
                .call(
                    method,
                    &path,
                    token,
                    &form(&[("reference", "x"), ("name", "y")]),
                    FORM,
                )
                .await;
            error(&reply, 401, "invalid_token", unauthorized);
        }
    }
    assert_eq!(api.get(&path_of(&created)).await.body, created);
    assert_eq!(total(&api.get(CUSTOMERS).await), 1);
}

pub async fn hostile_input_gets_a_4xx(api: &TestApi) {
    let existing = customer(api, "r", "n").await;
    let path = path_of(&existing);
    let scratch = path_of(&customer(api, "scratch", "n").await);
    let long = "x".repeat(20_000);

    // Bodies that must be refused with a 4xx JSON error.
    let raw_bodies: [&[u8]; 10] = [
        b"reference=bad-utf8&name=%FF%FE",
        b"reference=%C3%28&name=x",
        b"reference=h1&name=x&creditLimit=1e400",
        b"reference=h2&name=x&creditLimit=NaN",
        b"reference=h3&name=x&creditLimit=inf",
        b"reference=h4&name=x&billingLat=-1e999",
        b"reference=h5&name=x&dueDateConfigNumber=99999999999999999999999",
        b"reference=h6&name=x&regionId=99999999999999999999999",
        b"reference=h7&name=x&latitude=nan",
        b"reference=h8&name=x&paymentTypes=%5B%7B%22id%22%3D99999999999999999999999%7D%5D",
    ];
    let mut accepted = Vec::new();
    for body in raw_bodies {
        for target in [CUSTOMERS.to_owned(), path.clone()] {
            let reply = api.call("POST", &target, Some(ENTITY1), body, FORM).await;
            if !(400..500).contains(&reply.status) || !reply.body["error"].is_string() {
                accepted.push(format!(
                    "POST {target} {} -> {} {}",
                    String::from_utf8_lossy(body),
                    reply.status,
                    reply.body
                ));
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "hostile bodies not refused with a 4xx:\n{}",
        accepted.join("\n")
    );
    for (name, value) in [
        ("reference", long.as_str()),
        ("name", long.as_str()),
        ("comment", long.as_str()),
        ("city", long.as_str()),
    ] {
        let mut pairs = vec![("reference", "long"), ("name", "x")];
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value));
        error(
            &submit(api, "POST", CUSTOMERS, &pairs).await,
            400,
            "save_failed",
            "Failed to save instance.",
        );
    }

    // Anything else: never a 5xx, always JSON.
    let mut weird: Vec<(String, Vec<u8>, String)> = vec![
        (CUSTOMERS.to_owned(), b"%%%&&&===".to_vec(), FORM.to_owned()),
        (
            CUSTOMERS.to_owned(),
            b"reference=%G1&name=%".to_vec(),
            FORM.to_owned(),
        ),
        (CUSTOMERS.to_owned(), b"\xff\xfe\x00".to_vec(), FORM.to_owned()),
        (
            CUSTOMERS.to_owned(),
            b"reference=a&reference=b&name=x".to_vec(),
            FORM.to_owned(),
        ),
        (
            CUSTOMERS.to_owned(),
            b"--nope\r\nbroken".to_vec(),
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ),
        (
            CUSTOMERS.to_owned(),
            b"reference=a&name=b".to_vec(),
            "multipart/form-data".to_owned(),
        ),
        (
            CUSTOMERS.to_owned(),
            b"reference=a&name=b".to_vec(),
            "text/plain".to_owned(),
        ),
        (
            CUSTOMERS.to_owned(),
            form(&[("reference", "\u{0}\u{1}"), ("name", "\u{7}")]),
            FORM.to_owned(),
        ),
        (scratch.clone(), b"parentCustomer=".to_vec(), FORM.to_owned()),
        (
            scratch.clone(),
            b"paymentTypes=&currency=".to_vec(),
            FORM.to_owned(),
        ),
        (
            scratch.clone(),
            b"categoryId=&regionId=".to_vec(),
            FORM.to_owned(),
        ),
        (
            format!("{CUSTOMERS}/reference/{long}"),
            form(&[("name", "x")]),
            FORM.to_owned(),
        ),
        (
            format!("{CUSTOMERS}/reference/%FF"),
            form(&[("name", "x")]),
            FORM.to_owned(),
        ),
    ];
    let (truncated, content_type) = multipart(&[("reference", "mp"), ("name", "x")]);
    weird.push((
        CUSTOMERS.to_owned(),
        truncated[..truncated.len() - 10].to_vec(),
        content_type,
    ));
    for (target, body, content_type) in &weird {
        let reply = api.call("POST", target, Some(ENTITY1), body, content_type).await;
        assert!(
            reply.status < 500,
            "{} for {:?}: {:?}",
            reply.status,
            String::from_utf8_lossy(&body[..body.len().min(80)]),
            reply.body
        );
        assert!(
            reply.body.is_object(),
            "JSON for {:?}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }

    let queries = [
        format!("{CUSTOMERS}?reference={long}"),
        format!("{CUSTOMERS}?name=%FF%FE"),
        format!("{CUSTOMERS}?categoryReference=%FF"),
        format!("{CUSTOMERS}?categoryReference={long}"),
        format!("{CUSTOMERS}?isActive=%FF"),
        format!("{CUSTOMERS}?sort=&order="),
        format!("{CUSTOMERS}?max=&offset="),
        format!("{CUSTOMERS}?dateCreated_lt={long}"),
        format!("{CUSTOMERS}?%00=1"),
        format!("{CUSTOMERS}/reference/{long}"),
        format!("{CUSTOMERS}/{long}"),
        format!("{CUSTOMERS}/reference/%FF"),
    ];
    for target in queries {
        let reply = api.get(&target).await;
        assert!(
            reply.status < 500,
            "{} for {}",
            reply.status,
            &target[..target.len().min(80)]
        );
        assert!(
            reply.body.is_object(),
            "JSON for {}",
            &target[..target.len().min(80)]
        );
    }
    let huge = vec![b'a'; 7 * 1024 * 1024];
    let reply = api.call("POST", CUSTOMERS, Some(ENTITY1), &huge, FORM).await;
    assert!((400..500).contains(&reply.status), "{}", reply.status);
    assert_eq!(
        api.get(&path).await.body,
        existing,
        "the existing customer is untouched"
    );
}

pub async fn concurrent_creates_with_one_reference(api: &Arc<TestApi>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let api = Arc::clone(api);
            tokio::spawn(async move {
                let name = format!("n{i}");
                submit(&api, "POST", CUSTOMERS, &[("reference", "race"), ("name", &name)]).await
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
    assert_eq!(total(&api.get(CUSTOMERS).await), 1);
}

pub async fn concurrent_updates_of_different_fields_lose_nothing(api: &Arc<TestApi>) {
    let created = customer(api, "C-concurrent", "Concurrent").await;
    let path = path_of(&created);
    let changes = [
        ("email", "a@example.com"),
        ("phone", "+33 1 23 45 67 89"),
        ("city", "Lyon"),
        ("comment", "busy"),
        ("website", "https://example.com"),
        ("fax", "0000"),
        ("onHold", "true"),
        ("creditLimit", "1234.5"),
    ];
    let tasks: Vec<_> = changes
        .iter()
        .map(|(name, value)| {
            let api = Arc::clone(api);
            let path = path.clone();
            let body = form(&[(name, value)]);
            tokio::spawn(async move {
                api.call(
                    "POST",
                    &path,
                    Some(ENTITY1),
                    &body,
                    "application/x-www-form-urlencoded",
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let shown = api.get(&path).await.body;
    for (name, value) in changes {
        let expected = match name {
            "onHold" => json!(true),
            "creditLimit" => json!(1234.5),
            _ => json!(value),
        };
        assert_eq!(shown[name], expected, "{name} was lost");
    }
    assert_eq!(shown["name"], "Concurrent");
    assert_eq!(shown["dateCreated"], created["dateCreated"]);
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    create_returns_the_documented_object_with_defaults,
    create_with_every_field_by_form,
    create_with_multipart,
    show_by_id_and_reference,
    create_requires_reference_then_name_and_unique_reference,
    create_rejects_wrongly_typed_parameters,
    create_reports_missing_related_records,
    id_parameters_accept_ids_and_references,
    payment_types_keep_order_drop_duplicates_and_clear,
    currency_defaults_and_rules,
    typed_values_round_trip,
    sub_customer_rules,
    a_customer_cannot_be_its_own_ancestor,
    update_is_partial_by_id_and_reference,
    update_with_multipart,
    renaming_the_reference_frees_the_old_one,
    failed_updates_change_nothing,
    upsert_creates_then_updates,
    delete_by_id_and_reference,
    a_parent_with_sub_customers_cannot_be_deleted,
    a_group_in_use_cannot_be_deleted,
    embeds_are_resolved_at_read_time,
    tenants_never_see_each_other,
    list_pages_with_links,
    list_filters,
    list_sorts_by_scalar_fields,
    list_errors,
    authentication_is_required,
    hostile_input_gets_a_4xx,
    concurrent_creates_with_one_reference,
    concurrent_updates_of_different_fields_lose_nothing,
);
