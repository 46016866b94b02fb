//! The OpenAPI 3.1 document, generated from what the code runs on: the route table, each
//! resource's field catalogue and list parameters, the request parameters' own schemas and the
//! error model. `local-api` and the `api-document` function serve it at [`PATH`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::customers::{self, CustomerInput, CustomerView};
use crate::error::ApiError;
use crate::groups::{self, Group};
use crate::list::query::{DATE_FIELDS, ListParam, MAX_OFFSET, MAX_PAGE, MAX_PATTERN, date_filters};
use crate::list::{Filter, ListSpec};
use crate::routes::{Operation, Route, routes};
use crate::schema::{Describe, TIMESTAMP_PATTERN, component, nullable, object};

/// An `If-Match` value: `*`, or a list of entity tags.
const IF_MATCH_PATTERN: &str = r#"^ *(\*|(W/)?"[!#-+\x2D-~]*"( *, *(W/)?"[!#-+\x2D-~]*")*) *$"#;

/// Where the document is served.
pub const PATH: &str = "/api/v1.0/openapi.json";

/// The document, serialised once per process (pretty, ending with a newline).
pub fn text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
        text.push('\n');
        text
    })
}

/// The resource an operation serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Groups,
    Customers,
}

/// What the document says of one operation beyond its route.
struct Described {
    resource: Resource,
    summary: &'static str,
    /// `operationId` before the route's variant (by reference, as a category, by PUT).
    id: &'static str,
    /// Success statuses.
    success: &'static [u16],
    /// Error statuses besides 401 and 500, which every operation may answer.
    errors: &'static [u16],
    /// Whether it reads a body.
    body: bool,
    /// Whether it reads `If-Match`.
    if_match: bool,
}

fn describe(operation: Operation) -> Described {
    use Operation::*;
    let (resource, summary, id, success, errors, body, if_match): (_, _, _, &[u16], &[u16], _, _) =
        match operation {
            ListGroups => (
                Resource::Groups,
                "List customer groups",
                "listGroups",
                &[200],
                &[400],
                false,
                false,
            ),
            ShowGroup => (
                Resource::Groups,
                "Show a customer group",
                "showGroup",
                &[200],
                &[400, 404],
                false,
                false,
            ),
            CreateGroup => (
                Resource::Groups,
                "Create a customer group",
                "createGroup",
                &[201],
                &[400, 409, 413, 422],
                true,
                false,
            ),
            UpdateGroup => (
                Resource::Groups,
                "Update a customer group (partial)",
                "updateGroup",
                &[200],
                &[400, 404, 409, 412, 413],
                true,
                true,
            ),
            UpsertGroup => (
                Resource::Groups,
                "Create or update a customer group by reference",
                "upsertGroup",
                &[200, 201],
                &[400, 409, 412, 413, 422],
                true,
                true,
            ),
            DeleteGroup => (
                Resource::Groups,
                "Delete a customer group",
                "deleteGroup",
                &[200],
                &[400, 404, 409, 412],
                false,
                true,
            ),
            ListCustomers => (
                Resource::Customers,
                "List customers",
                "listCustomers",
                &[200],
                &[400],
                false,
                false,
            ),
            ShowCustomer => (
                Resource::Customers,
                "Show a customer",
                "showCustomer",
                &[200],
                &[400, 404],
                false,
                false,
            ),
            CreateCustomer => (
                Resource::Customers,
                "Create a customer",
                "createCustomer",
                &[201],
                &[400, 404, 409, 413, 422],
                true,
                false,
            ),
            UpdateCustomer => (
                Resource::Customers,
                "Update a customer (partial)",
                "updateCustomer",
                &[200],
                &[400, 404, 409, 412, 413, 422],
                true,
                true,
            ),
            UpsertCustomer => (
                Resource::Customers,
                "Create or update a customer by reference",
                "upsertCustomer",
                &[200, 201],
                &[400, 404, 409, 412, 413, 422],
                true,
                true,
            ),
            DeleteCustomer => (
                Resource::Customers,
                "Delete a customer",
                "deleteCustomer",
                &[200],
                &[400, 404, 409, 412],
                false,
                true,
            ),
        };
    Described {
        resource,
        summary,
        id,
        success,
        errors,
        body,
        if_match,
    }
}

/// The route's `operationId`: unique, one per method and path.
pub fn operation_id(route: &Route) -> String {
    let described = describe(route.operation);
    let mut id = described.id.to_owned();
    if route.path.contains("/customerCategories") {
        id = id.replace("Group", "Category");
    }
    if route.path.ends_with("/{reference}")
        && !matches!(
            route.operation,
            Operation::UpsertGroup | Operation::UpsertCustomer
        )
    {
        id.push_str("ByReference");
    }
    if route.operation == Operation::UpdateCustomer && route.method == "PUT" && route.path.ends_with("/{id}")
    {
        id.push_str("WithPut");
    }
    id
}

/// The whole document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in routes() {
        let entry = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation(&route);
    }
    paths.insert(
        PATH.to_owned(),
        json!({"get": {
            "operationId": "openApiDocument",
            "summary": "This document",
            "tags": ["document"],
            "security": [],
            "responses": {"200": {
                "description": "The OpenAPI document",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }},
        }}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Customers API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Customers and customer groups (customer categories) of the caller's organization, \
                as the reference documentation v2.1 describes them, with the additions documented in the README \
                (ETag and If-Match, Idempotency-Key, cursor paging).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "customerGroups", "description": "Customer groups; `/customerCategories` is the same resource."},
            {"name": "customers", "description": "Customers."},
        ],
        "paths": paths,
        "components": components(),
    })
}

fn components() -> Value {
    json!({
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "CustomerGroup": Group::schema(),
            "Customer": CustomerView::schema(),
            "CustomerGroupList": list_schema("CustomerGroup"),
            "CustomerList": list_schema("Customer"),
            "Paging": object(vec![
                ("total", u64::schema()),
                ("max", u64::schema()),
                ("offset", u64::schema()),
                ("previous", Option::<String>::schema()),
                ("next", Option::<String>::schema()),
            ]),
            "CursorPaging": object(vec![
                ("max", u64::schema()),
                ("previous", Option::<String>::schema()),
                ("next", Option::<String>::schema()),
            ]),
            "Deleted": object(vec![
                ("success", json!({"type": "string", "const": "true"})),
                ("success_description", String::schema()),
            ]),
            "Error": object(vec![
                ("error", String::schema()),
                ("error_description", String::schema()),
            ]),
            "CustomerGroupInput": input_schema("CustomerGroupInput"),
            "CustomerInput": input_schema("CustomerInput"),
            "CustomerForm": input_schema("CustomerForm"),
            "CustomerMultipart": input_schema("CustomerMultipart"),
        },
        "responses": error_responses(),
    })
}

fn list_schema(item: &str) -> Value {
    object(vec![
        (
            "paging",
            json!({"oneOf": [component("Paging"), component("CursorPaging")]}),
        ),
        ("data", json!({"type": "array", "items": component(item)})),
    ])
}

/// The request-body schema of that name in the components.
fn input_schema(name: &str) -> Value {
    match name {
        "CustomerGroupInput" => Group::input_schema(),
        "CustomerForm" => customer_input(Body::Form),
        "CustomerMultipart" => customer_input(Body::Multipart),
        _ => customer_input(Body::Json),
    }
}

/// How a customer body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Json,
    Form,
    Multipart,
}

/// The customer parameters in one encoding: in JSON those that an empty value clears may be
/// `null`; in a form, arrays are their JSON text; only multipart carries `imageFile`.
fn customer_input(body: Body) -> Value {
    let mut properties = Vec::new();
    for param in CustomerInput::param_schemas() {
        let file = param.schema.get("format") == Some(&json!("binary"));
        if file && body != Body::Multipart {
            continue;
        }
        let schema = match body {
            Body::Json if param.clears => nullable(param.schema),
            Body::Json => param.schema,
            _ if param.schema["type"] == "array" => json!({"type": "string", "description": "JSON text"}),
            _ => param.schema,
        };
        properties.push((param.name, schema));
    }
    let mut schema = object(properties);
    schema["required"] = json!([]);
    schema
}

/// `#/components/responses/<status>`: the error object, its `error` one of the codes answered
/// with that status.
fn error_responses() -> Value {
    let mut codes: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    for error in ApiError::every_kind() {
        let listed = codes.entry(error.status()).or_default();
        if !listed.contains(&error.code()) {
            listed.push(error.code());
        }
    }
    let responses: Map<String, Value> = codes
        .into_iter()
        .map(|(status, codes)| {
            let schema = object(vec![
                ("error", json!({"type": "string", "enum": codes})),
                ("error_description", String::schema()),
            ]);
            let described = json!({
                "description": format!("Error: {}", codes.join(", ")),
                "content": {"application/json": {"schema": schema}},
            });
            (status.to_string(), described)
        })
        .collect();
    Value::Object(responses)
}

fn operation(route: &Route) -> Value {
    let described = describe(route.operation);
    let (tag, item, list) = match described.resource {
        Resource::Groups => ("customerGroups", "CustomerGroup", "CustomerGroupList"),
        Resource::Customers => ("customers", "Customer", "CustomerList"),
    };
    let mut parameters = Vec::new();
    if route.path.ends_with("/{id}") {
        parameters.push(json!({"name": "id", "in": "path", "required": true, "schema": u64::schema()}));
    }
    if route.path.ends_with("/{reference}") {
        parameters.push(json!({
            "name": "reference", "in": "path", "required": true,
            "schema": {"type": "string", "minLength": 1},
        }));
    }
    match route.operation {
        Operation::ListGroups => parameters.extend(list_parameters(&groups::LIST_SPEC)),
        Operation::ListCustomers => parameters.extend(list_parameters(&customers::LIST_SPEC)),
        _ => {}
    }
    if described.if_match {
        parameters.push(json!({
            "name": "If-Match", "in": "header", "required": false,
            "description": "Write only if the record is at one of these versions (the `ETag` of an earlier answer), or `*`.",
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        }));
    }
    if route.operation.takes_idempotency_key(route.method) {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Sent again with the same request, the first answer is given again instead of doing the work twice. \
                Any 1 to 255 printable ASCII characters; a random UUID per logical request is recommended.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$", "format": "uuid"},
        }));
    }

    let mut responses = Map::new();
    for status in described.success {
        let (schema, tagged) = match route.operation {
            Operation::ListGroups | Operation::ListCustomers => (component(list), false),
            Operation::DeleteGroup | Operation::DeleteCustomer => (component("Deleted"), false),
            _ => (component(item), true),
        };
        let mut response = json!({
            "description": match status {
                201 => "Created",
                _ => "OK",
            },
            "content": {"application/json": {"schema": schema}},
        });
        let mut headers = Map::new();
        if tagged {
            headers.insert(
                "ETag".to_owned(),
                json!({"description": "The record's version, for If-Match.", "schema": {"type": "string"}}),
            );
        }
        if route.operation.takes_idempotency_key(route.method) {
            headers.insert(
                "Idempotent-Replayed".to_owned(),
                json!({
                    "description": "`true` when this is the kept answer to an earlier request with the same Idempotency-Key.",
                    "schema": {"type": "string", "enum": ["true"]},
                }),
            );
        }
        if !headers.is_empty() {
            response["headers"] = Value::Object(headers);
        }
        if *status == 201 && !route.path.contains("{") {
            response["links"] = links(route);
        }
        responses.insert(status.to_string(), response);
    }
    for status in described.errors.iter().chain(&[401, 500]) {
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{status}")}),
        );
    }

    let mut operation = json!({
        "operationId": operation_id(route),
        "summary": described.summary,
        "tags": [tag],
        "parameters": parameters,
        "responses": responses,
    });
    if described.body {
        operation["requestBody"] = request_body(described.resource, route);
    }
    operation
}

fn request_body(resource: Resource, route: &Route) -> Value {
    let required: &[&str] = match route.operation {
        Operation::CreateGroup | Operation::CreateCustomer => &["reference", "name"],
        Operation::UpdateGroup => &["reference", "name"],
        Operation::UpsertGroup => &["name"],
        _ => &[],
    };
    // An upsert's reference is its path's; a body that names another is refused.
    let upsert = matches!(
        route.operation,
        Operation::UpsertGroup | Operation::UpsertCustomer
    );
    let schema = |name: &str| {
        if upsert {
            let mut schema = input_schema(name);
            if let Some(properties) = schema["properties"].as_object_mut() {
                properties.remove("reference");
            }
            schema["required"] = json!(required);
            schema
        } else if required.is_empty() {
            component(name)
        } else {
            json!({"allOf": [component(name), {"required": required}]})
        }
    };
    let content = match resource {
        Resource::Groups => json!({"application/json": {"schema": schema("CustomerGroupInput")}}),
        Resource::Customers => json!({
            "application/x-www-form-urlencoded": {"schema": schema("CustomerForm")},
            "multipart/form-data": {"schema": schema("CustomerMultipart")},
            "application/json": {"schema": schema("CustomerInput")},
        }),
    };
    json!({"required": !required.is_empty(), "content": content})
}

/// From a create's answer to the operations on what it created (schemathesis follows them).
fn links(route: &Route) -> Value {
    let same = |operation: Operation, method: &str| {
        routes().into_iter().find(|r| {
            r.operation == operation && r.method == method && r.path == format!("{}/{{id}}", route.path)
        })
    };
    let (show, update, delete) = match route.operation {
        Operation::CreateGroup => (
            Operation::ShowGroup,
            Operation::UpdateGroup,
            Operation::DeleteGroup,
        ),
        _ => (
            Operation::ShowCustomer,
            Operation::UpdateCustomer,
            Operation::DeleteCustomer,
        ),
    };
    let mut links = Map::new();
    for (name, operation, method) in [
        ("show", show, "GET"),
        ("update", update, "PUT"),
        ("delete", delete, "DELETE"),
    ] {
        if let Some(target) = same(operation, method) {
            links.insert(
                name.to_owned(),
                json!({"operationId": operation_id(&target), "parameters": {"id": "$response.body#/id"}}),
            );
        }
    }
    Value::Object(links)
}

/// The list operation's query parameters: paging, sort, order, and every filter.
fn list_parameters<F>(spec: &ListSpec<F>) -> Vec<Value> {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let wildcard = || json!({"type": "string", "maxLength": MAX_PATTERN});
    let mut parameters = Vec::new();
    for param in ListParam::ALL {
        let name = param.name();
        parameters.push(match param {
            ListParam::Max => query(
                name,
                &format!("Page size; larger values give {MAX_PAGE}."),
                json!({"type": "integer", "minimum": 0, "default": MAX_PAGE}),
            ),
            ListParam::Offset => query(
                name,
                "Records to skip.",
                json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
            ),
            ListParam::Sort => query(
                name,
                "Sort key (ties by id).",
                json!({"type": "string", "enum": spec.sort_names().collect::<Vec<_>>(), "default": "dateCreated"}),
            ),
            ListParam::Order => query(
                name,
                "Sort direction.",
                json!({"type": "string", "enum": ["asc", "desc"], "default": "asc"}),
            ),
            ListParam::Reference => query(name, "Wildcard (`*`) on the reference, any case.", wildcard()),
            ListParam::Paging => query(
                name,
                "`cursor` pages by cursor (links in `paging`, no `total`).",
                json!({"type": "string", "enum": ["offset", "cursor"], "default": "offset"}),
            ),
            ListParam::Cursor => query(
                name,
                "A position from an earlier page's `next` or `previous` link; it carries the query, so only `max` and `paging` may come with it.",
                json!({"type": "string", "minLength": 1}),
            ),
        });
    }
    for field in spec.filters() {
        parameters.push(match field.filter {
            Filter::Flag => query(field.name, "Only records with this value.", bool::schema()),
            _ => query(field.name, "Wildcard (`*`), any case.", wildcard()),
        });
    }
    for linked in spec.linked {
        parameters.push(query(
            linked,
            "Wildcard (`*`) on the linked record's reference.",
            wildcard(),
        ));
    }
    for name in date_filters() {
        let field = DATE_FIELDS
            .iter()
            .find(|f| name.starts_with(**f))
            .copied()
            .unwrap_or_default();
        parameters.push(query(
            &name,
            &format!("Bound on `{field}`, `YYYY-MM-DDTHH:MM:SSZ`."),
            json!({"type": "string", "pattern": TIMESTAMP_PATTERN, "examples": ["2024-01-31T23:59:59Z"]}),
        ));
    }
    parameters
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::list::ListQuery;

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let document = document();
        let mut documented = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in keys(item) {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        let mut served: BTreeSet<(String, String)> = routes()
            .into_iter()
            .map(|route| (route.method.to_owned(), route.path))
            .collect();
        served.insert(("GET".to_owned(), PATH.to_owned()));
        assert_eq!(documented, served);
    }

    #[test]
    fn operation_ids_are_unique_and_links_name_them() {
        let document = document();
        let mut ids = BTreeSet::new();
        let mut linked = Vec::new();
        for item in document["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("operations").values() {
                let id = operation["operationId"].as_str().expect("an id");
                assert!(ids.insert(id.to_owned()), "{id} twice");
                for response in operation["responses"].as_object().expect("responses").values() {
                    for link in response["links"].as_object().into_iter().flatten() {
                        linked.push(link.1["operationId"].as_str().expect("a target").to_owned());
                    }
                }
            }
        }
        assert!(!linked.is_empty(), "creates link to what they created");
        for id in linked {
            assert!(ids.contains(&id), "a link to {id}, which is no operation");
        }
    }

    #[test]
    fn the_customer_object_is_the_field_catalogue() {
        let document = document();
        let schema = &document["components"]["schemas"]["Customer"];
        assert_eq!(keys(&schema["properties"]), customers::KEYS);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn every_customer_parameter_is_in_each_body_and_read_by_the_parser() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let multipart: Vec<&str> = keys(&schemas["CustomerMultipart"]["properties"]);
        for name in customers::PARAMS {
            assert!(multipart.contains(name), "{name}");
        }
        for name in &multipart {
            assert!(CustomerInput::knows(name), "{name} is documented but not read");
        }
        let mut files: Vec<&str> = multipart.clone();
        for body in ["CustomerForm", "CustomerInput"] {
            let named = keys(&schemas[body]["properties"]);
            files.retain(|name| !named.contains(name));
            assert_eq!(named.len() + 1, multipart.len(), "{body}");
        }
        assert_eq!(files, ["imageFile"], "only multipart carries the file");
    }

    /// A value the parameter's schema allows.
    fn sample(schema: &Value) -> String {
        if let Some(first) = schema["enum"].get(0) {
            return first.as_str().map_or_else(|| first.to_string(), str::to_owned);
        }
        if let Some(example) = schema["examples"].get(0) {
            return example.as_str().expect("a text example").to_owned();
        }
        match schema["type"].as_str() {
            Some("integer") => "1".to_owned(),
            Some("boolean") => "true".to_owned(),
            _ => "a*".to_owned(),
        }
    }

    #[test]
    fn every_documented_list_parameter_is_one_the_parser_accepts() {
        let document = document();
        let parameters = |path: &str| -> Vec<(String, String)> {
            document["paths"][path]["get"]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().expect("a name").to_owned(),
                        sample(&p["schema"]),
                    )
                })
                .collect()
        };
        let groups = parameters("/api/v1.0/customerGroups");
        let customers = parameters("/api/v1.0/customers");
        assert!(customers.len() > groups.len());
        for (name, value) in &groups {
            let query = format!("{name}={value}");
            match ListQuery::parse(&groups::LIST_SPEC, &query) {
                Ok(_) => {}
                Err(error) => assert_eq!(name, "cursor", "{query}: {error:?}"),
            }
        }
        for (name, value) in &customers {
            let query = format!("{name}={value}");
            match ListQuery::parse(&customers::LIST_SPEC, &query) {
                Ok(_) => {}
                Err(error) => assert_eq!(name, "cursor", "{query}: {error:?}"),
            }
        }
        let undocumented = ListQuery::parse(&customers::LIST_SPEC, "phone=1");
        assert!(
            matches!(undocumented, Err(ApiError::InvalidParam(_))),
            "{undocumented:?}"
        );
        assert!(!customers.iter().any(|(name, _)| name == "phone"));
    }

    #[test]
    fn every_error_is_documented_under_its_status_and_every_operation_may_answer_401_and_500() {
        let document = document();
        let responses = &document["components"]["responses"];
        for error in ApiError::every_kind() {
            let schema = &responses[error.status().to_string()]["content"]["application/json"]["schema"];
            let codes = schema["properties"]["error"]["enum"].as_array().expect("codes");
            assert!(codes.contains(&json!(error.code())), "{error:?}");
        }
        for route in routes() {
            let method = route.method.to_ascii_lowercase();
            let answers = &document["paths"][&route.path][&method]["responses"];
            for status in ["401", "500"] {
                assert!(
                    answers.get(status).is_some(),
                    "{} {}: {status}",
                    route.method,
                    route.path
                );
            }
        }
    }
}
