//! The OpenAPI document against the API's behaviour where schemathesis showed the first drafts
//! wrong (bodies it generated from them were refused): each body's required keys are what the
//! operation requires, an upsert's body has no `reference`, and a JSON parameter is nullable
//! exactly when `null` is accepted (it clears the field).

use api_tests::{Adapter, TestApi};
use customer_api::openapi::document;
use serde_json::{Map, Value, json};

/// The JSON body schema of `method path`, its `allOf` merged.
fn body_schema(document: &Value, path: &str, method: &str) -> (Vec<String>, Map<String, Value>) {
    let schema = &document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().expect("a name");
                document["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    };
    let parts: Vec<Value> = match schema["allOf"].as_array() {
        Some(parts) => parts.iter().map(resolve).collect(),
        None => vec![resolve(schema)],
    };
    let mut required = Vec::new();
    let mut properties = Map::new();
    for part in parts {
        for name in part["required"].as_array().into_iter().flatten() {
            required.push(name.as_str().expect("a name").to_owned());
        }
        if let Some(own) = part["properties"].as_object() {
            properties.extend(own.clone());
        }
    }
    (required, properties)
}

/// A body of exactly the required keys, each a fresh text.
fn required_body(required: &[String], tag: &str) -> Value {
    let body: Map<String, Value> = required
        .iter()
        .map(|name| (name.clone(), json!(format!("{tag}-{name}"))))
        .collect();
    Value::Object(body)
}

#[tokio::test]
async fn required_keys_are_what_each_operation_requires() {
    let api = TestApi::new(Adapter::Embedded).await;
    let document = document();
    let cases = [
        (
            "post",
            "/api/v1.0/customerGroups",
            "/api/v1.0/customerGroups",
            201,
        ),
        ("post", "/api/v1.0/customers", "/api/v1.0/customers", 201),
        (
            "post",
            "/api/v1.0/customerGroups/reference/{reference}",
            "/api/v1.0/customerGroups/reference/up-1",
            201,
        ),
        (
            "put",
            "/api/v1.0/customerGroups/{id}",
            "/api/v1.0/customerGroups/1",
            200,
        ),
    ];
    for (n, (method, template, path, status)) in cases.into_iter().enumerate() {
        let (required, properties) = body_schema(&document, template, method);
        assert!(!required.is_empty(), "{method} {template} requires something");
        let upsert = template.ends_with("/{reference}");
        assert_eq!(
            properties.contains_key("reference"),
            !upsert,
            "{method} {template}: an upsert's reference is its path's"
        );
        let tag = format!("case{n}");
        for missing in &required {
            let mut body = required_body(&required, &tag);
            body.as_object_mut().expect("object").remove(missing);
            let reply = api.send(&method.to_uppercase(), path, &body).await;
            assert_eq!(
                (reply.status, reply.body["error"].as_str()),
                (400, Some("missing_param")),
                "{method} {template} without {missing}: {:?}",
                reply.body
            );
        }
        let reply = api
            .send(&method.to_uppercase(), path, &required_body(&required, &tag))
            .await;
        assert_eq!(reply.status, status, "{method} {template}: {:?}", reply.body);
    }
}

#[tokio::test]
async fn a_customer_parameter_is_nullable_exactly_when_null_clears_it() {
    let api = TestApi::new(Adapter::Embedded).await;
    let document = document();
    let (required, properties) = body_schema(&document, "/api/v1.0/customers", "post");
    let mut checked = 0;
    for (n, (name, schema)) in properties.iter().enumerate() {
        if required.contains(name) {
            continue;
        }
        let nullable = schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null")))
            || schema["anyOf"]
                .as_array()
                .is_some_and(|a| a.contains(&json!({"type": "null"})));
        let mut body = required_body(&required, &format!("null{n}"));
        body[name] = Value::Null;
        let reply = api.send("POST", "/api/v1.0/customers", &body).await;
        if nullable {
            assert_eq!(
                reply.status, 201,
                "{name}: null documented, refused: {:?}",
                reply.body
            );
        } else {
            assert_eq!(
                (reply.status, reply.body["error"].as_str()),
                (400, Some("invalid_param_type")),
                "{name}: null not documented, but {:?}",
                reply.body
            );
        }
        checked += 1;
    }
    assert!(checked > 40, "every optional customer parameter: {checked}");
}
