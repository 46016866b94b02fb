//! Runtime-level test: every function binary, booted as in AWS against a Lambda Runtime API
//! emulator, configured only through environment variables, on the local DynamoDB/S3 API server,
//! sent real API Gateway HTTP API v2 events (and an S3 event for the resizer).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use api_tests::runtime::{FunctionProcess, Outcome, RuntimeApi};
use api_tests::{dynamo_endpoint, fresh_bucket, fresh_table, multipart};
use customer_api::logos::resize::samples::encoded;
use customer_api::logos::resizer::object_created_event;
use customer_api::logos::{ImageFormat, ObjectStore, S3ObjectStore};
use customer_api::store::DynamoStore;
use customer_api::{reference_data, seed};
use local_api::gateway::{HttpRequest, api_gateway_event};
use serde_json::{Value, json};

struct Stack {
    env: Vec<(&'static str, String)>,
    logs: tempfile::TempDir,
    objects: S3ObjectStore,
    bucket: String,
}

/// One HTTP call: route template, concrete path, and body.
struct Call<'a> {
    route: &'a str,
    path: &'a str,
    query: &'a str,
    body: Vec<u8>,
    content_type: &'a str,
}

fn params(route: &str, path: &str) -> HashMap<String, String> {
    route
        .split(' ')
        .nth(1)
        .unwrap_or("")
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(template, value)| {
            let name = template.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

impl Stack {
    async fn new() -> Self {
        let endpoint = dynamo_endpoint();
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client, table.clone(), 1);
        seed::organizations(&store, &store, reference_data::SEED_JSON)
            .await
            .expect("seed reference data");
        let (s3, bucket) = fresh_bucket().await;
        let env = vec![
            ("TABLE_NAME", table),
            ("ORG_CLAIM", "organization".to_owned()),
            ("ID_BLOCK_SIZE", "5".to_owned()),
            ("DYNAMODB_ENDPOINT", endpoint.clone()),
            ("S3_ENDPOINT", endpoint),
            ("LOGO_BUCKET", bucket.clone()),
            ("LOGO_BASE_URL", "https://cdn.test".to_owned()),
        ];
        Stack {
            env,
            logs: tempfile::tempdir().expect("log dir"),
            objects: S3ObjectStore::new(s3, bucket.clone()),
            bucket,
        }
    }

    /// Boots `binary`, sends it one event and returns its answer.
    async fn invoke(&self, binary: &Path, event: Value) -> Value {
        let runtime = RuntimeApi::start().await;
        let process = FunctionProcess::spawn(binary, &runtime, &self.env, self.logs.path());
        match runtime.invoke(event, Duration::from_secs(60)).await {
            Ok(Outcome::Response(answer)) => answer,
            other => panic!("{}: {other:?}\n{}", binary.display(), process.logs()),
        }
    }

    /// An HTTP call through the function's Lambda: returns the status and the JSON body.
    async fn http(&self, binary: &Path, call: Call<'_>) -> (u16, Value) {
        let method = call.route.split(' ').next().unwrap_or("GET");
        let request = HttpRequest {
            method: method.to_owned(),
            path: call.path.to_owned(),
            query: call.query.to_owned(),
            headers: vec![("content-type".to_owned(), call.content_type.to_owned())],
            body: call.body,
        };
        let event = api_gateway_event(
            &request,
            call.route,
            &params(call.route, call.path),
            ("organization", "entity1"),
            "req-1",
        );
        let answer = self.invoke(binary, event).await;
        let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
        let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        (status, body)
    }
}

fn json_call<'a>(route: &'a str, path: &'a str, body: &Value) -> Call<'a> {
    Call {
        route,
        path,
        query: "",
        body: body.to_string().into_bytes(),
        content_type: "application/json",
    }
}

fn get<'a>(route: &'a str, path: &'a str, query: &'a str) -> Call<'a> {
    Call {
        route,
        path,
        query,
        body: Vec::new(),
        content_type: "application/json",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_boots_and_answers_real_events() {
    let stack = Stack::new().await;

    let (status, group) = stack
        .http(
            &api_tests::binary("group-create"),
            json_call(
                "POST /api/v1.0/customerGroups",
                "/api/v1.0/customerGroups",
                &json!({"reference": "G1", "name": "Group"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_u64().expect("id");
    let group_path = format!("/api/v1.0/customerGroups/{group_id}");

    let (status, shown) = stack
        .http(
            &api_tests::binary("group-show"),
            get("GET /api/v1.0/customerGroups/{id}", &group_path, ""),
        )
        .await;
    assert_eq!((status, &shown), (200, &group));
    let (status, listed) = stack
        .http(
            &api_tests::binary("group-list"),
            get(
                "GET /api/v1.0/customerCategories",
                "/api/v1.0/customerCategories",
                "reference=G*",
            ),
        )
        .await;
    assert_eq!((status, &listed["paging"]["total"]), (200, &json!(1)));
    let (status, updated) = stack
        .http(
            &api_tests::binary("group-update"),
            json_call(
                "PUT /api/v1.0/customerGroups/reference/{reference}",
                "/api/v1.0/customerGroups/reference/G1",
                &json!({"reference": "G1", "name": "Renamed"}),
            ),
        )
        .await;
    assert_eq!((status, updated["name"].as_str()), (200, Some("Renamed")));
    let (status, _) = stack
        .http(
            &api_tests::binary("group-upsert"),
            json_call(
                "POST /api/v1.0/customerGroups/reference/{reference}",
                "/api/v1.0/customerGroups/reference/G2",
                &json!({"name": "Second"}),
            ),
        )
        .await;
    assert_eq!(status, 201);

    let form =
        b"reference=C1&name=Marie%27s+Jewelry&categoryId=G1&paymentTypes=%5B%7B%22id%22%3D7%7D%5D".to_vec();
    let (status, customer) = stack
        .http(
            &api_tests::binary("customer-create"),
            Call {
                route: "POST /api/v1.0/customers",
                path: "/api/v1.0/customers",
                query: "",
                body: form,
                content_type: "application/x-www-form-urlencoded",
            },
        )
        .await;
    assert_eq!(status, 201, "{customer}");
    assert_eq!(customer["customerCategory"]["name"], "Renamed");
    assert_eq!(customer["currency"], "EUR", "reference data read from DynamoDB");
    assert_eq!(customer["paymentTypes"][0]["reference"], "cash");
    let customer_path = format!("/api/v1.0/customers/{}", customer["id"]);

    let png = encoded(ImageFormat::Png, 900, 300);
    let (body, content_type) = multipart(
        &[("email", "shop@example.com")],
        &[("imageFile", "shop logo.png", &png)],
    );
    let (status, with_logo) = stack
        .http(
            &api_tests::binary("customer-update"),
            Call {
                route: "POST /api/v1.0/customers/{id}",
                path: &customer_path,
                query: "",
                body,
                content_type: &content_type,
            },
        )
        .await;
    assert_eq!(status, 200, "{with_logo}");
    let logo = with_logo["logo"].as_str().expect("logo URL").to_owned();
    let path = logo
        .strip_prefix("https://cdn.test/")
        .expect("under LOGO_BASE_URL");
    assert!(path.ends_with("_shop_logo.png"), "{path}");
    let original = format!("originals/{path}");
    assert_eq!(stack.objects.get(&original).await.expect("s3"), Some(png.clone()));

    let report = stack
        .invoke(
            &api_tests::binary("logo-resizer"),
            serde_json::to_value(object_created_event(&stack.bucket, &original, png.len())).expect("event"),
        )
        .await;
    assert_eq!(report["resized"], json!([original]), "{report}");
    let (dir, name) = path.rsplit_once('/').expect("path");
    let medium = stack
        .objects
        .get(&format!("variants/{dir}/medium_{name}"))
        .await
        .expect("s3")
        .expect("medium variant");
    assert_eq!(ImageFormat::sniff(&medium), Some(ImageFormat::Png));

    let (status, shown) = stack
        .http(
            &api_tests::binary("customer-show"),
            get(
                "GET /api/v1.0/customers/reference/{reference}",
                "/api/v1.0/customers/reference/C1",
                "",
            ),
        )
        .await;
    assert_eq!((status, &shown), (200, &with_logo));
    let (status, listed) = stack
        .http(
            &api_tests::binary("customer-list"),
            get(
                "GET /api/v1.0/customers",
                "/api/v1.0/customers",
                "categoryReference=g*",
            ),
        )
        .await;
    assert_eq!((status, &listed["paging"]["total"]), (200, &json!(1)));
    let (status, upserted) = stack
        .http(
            &api_tests::binary("customer-upsert"),
            Call {
                route: "POST /api/v1.0/customers/reference/{reference}",
                path: "/api/v1.0/customers/reference/C2",
                query: "",
                body: b"name=Two".to_vec(),
                content_type: "application/x-www-form-urlencoded",
            },
        )
        .await;
    assert_eq!(status, 201, "{upserted}");

    let (status, refused) = stack
        .http(
            &api_tests::binary("group-delete"),
            get("DELETE /api/v1.0/customerGroups/{id}", &group_path, ""),
        )
        .await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("delete_failed")));
    let (status, _) = stack
        .http(
            &api_tests::binary("customer-delete"),
            get("DELETE /api/v1.0/customers/{id}", &customer_path, ""),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        stack.objects.get(&original).await.expect("s3"),
        None,
        "the logo went with the customer"
    );
    let (status, _) = stack
        .http(
            &api_tests::binary("group-delete"),
            get("DELETE /api/v1.0/customerGroups/{id}", &group_path, ""),
        )
        .await;
    assert_eq!(status, 200);

    // The document function, which needs no settings: the document local-api serves too.
    let (status, document) = stack
        .http(
            &api_tests::binary("api-document"),
            get("GET /api/v1.0/openapi.json", customer_api::openapi::PATH, ""),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(document, customer_api::openapi::document());
}

#[tokio::test]
async fn a_function_without_its_configuration_refuses_to_start() {
    let runtime = RuntimeApi::start().await;
    let logs = tempfile::tempdir().expect("log dir");
    let mut process = std::process::Command::new(api_tests::binary("customer-show"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("TABLE_NAME", "t")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(status) = process.try_wait().expect("wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("exits by itself");
    assert!(!status.success());
    let output = process.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("LOGO_BUCKET"), "says what is missing: {text}");
    assert!(runtime.first_poll().is_none(), "it never asked for an event");
    drop(logs);
}

/// The Embedded Metric Format lines in a function's logs.
fn metric_lines(stack: &Stack, function: &str) -> Vec<Value> {
    std::fs::read_to_string(stack.logs.path().join(format!("{function}.log")))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// Checks one EMF line's directive: namespace, the `Function` dimension, and a number for every
/// declared metric. Returns the line.
fn checked_metrics(mut lines: Vec<Value>, function: &str, metrics: &[&str]) -> Value {
    assert_eq!(lines.len(), 1, "one metrics line per invocation: {lines:?}");
    let line = lines.remove(0);
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], customer_api::metrics::NAMESPACE);
    assert_eq!(directive["Dimensions"], json!([["Function"]]));
    assert_eq!(line["Function"], function);
    let declared: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["Name"].as_str().expect("name"))
        .collect();
    assert_eq!(declared, metrics, "{line}");
    for name in metrics {
        assert!(line[*name].is_number(), "{name}: {line}");
    }
    assert!(line["_aws"]["Timestamp"].is_i64(), "{line}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invocation_logs_one_embedded_metric_format_line() {
    const API: &[&str] = &[
        "Latency",
        "Status4xx",
        "Status5xx",
        "ReadCapacity",
        "WriteCapacity",
        "ConflictRetries",
    ];
    let stack = Stack::new().await;
    let (status, created) = stack
        .http(
            &api_tests::binary("customer-create"),
            json_call(
                "POST /api/v1.0/customers",
                "/api/v1.0/customers",
                &json!({"reference": "M1", "name": "Metered"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let line = checked_metrics(metric_lines(&stack, "customer-create"), "customer-create", API);
    assert_eq!(
        (&line["Status4xx"], &line["Status5xx"], &line["status"]),
        (&json!(0), &json!(0), &json!(201))
    );
    assert!(line["WriteCapacity"].as_f64().is_some_and(|w| w > 0.0), "{line}");
    assert!(line["Latency"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    assert!(
        line["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{line}"
    );

    let path = format!("/api/v1.0/customers/{}", created["id"]);
    let (status, _) = stack
        .http(
            &api_tests::binary("customer-show"),
            get("GET /api/v1.0/customers/{id}", &path, ""),
        )
        .await;
    assert_eq!(status, 200);
    let line = checked_metrics(metric_lines(&stack, "customer-show"), "customer-show", API);
    assert!(line["ReadCapacity"].as_f64().is_some_and(|r| r > 0.0), "{line}");
    assert_eq!(
        (&line["WriteCapacity"], &line["statusClass"]),
        (&json!(0.0), &json!("2xx"))
    );

    let (status, _) = stack
        .http(
            &api_tests::binary("customer-show"),
            get("GET /api/v1.0/customers/{id}", "/api/v1.0/customers/999", ""),
        )
        .await;
    assert_eq!(status, 404);
    let line = checked_metrics(metric_lines(&stack, "customer-show"), "customer-show", API);
    assert_eq!(
        (&line["Status4xx"], &line["statusClass"]),
        (&json!(1), &json!("4xx"))
    );

    let original = "originals/entity1-0/photoCustomer/1_logo.png";
    let png = encoded(ImageFormat::Png, 600, 400);
    stack
        .objects
        .put(original, png.clone(), "image/png")
        .await
        .expect("put");
    let broken = "originals/entity1-0/photoCustomer/2_logo.png";
    stack
        .objects
        .put(broken, b"not a png".to_vec(), "image/png")
        .await
        .expect("put");
    let mut event = object_created_event(&stack.bucket, original, png.len());
    event
        .records
        .extend(object_created_event(&stack.bucket, broken, 9).records);
    let report = stack
        .invoke(
            &api_tests::binary("logo-resizer"),
            serde_json::to_value(event).expect("event"),
        )
        .await;
    assert_eq!(report["resized"], json!([original]), "{report}");
    let line = checked_metrics(
        metric_lines(&stack, "logo-resizer"),
        "logo-resizer",
        &["Latency", "BytesIn", "BytesOut", "Refused"],
    );
    assert_eq!(line["BytesIn"], json!(png.len() + 9), "{line}");
    assert!(line["BytesOut"].as_u64().is_some_and(|b| b > 0), "{line}");
    assert_eq!(line["Refused"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_delays_init_by_the_warm_up_budget_at_most() {
    // Accepts connections and never answers: the warm-up's requests hang until its budget ends.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", silent.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            connections.push(socket);
        }
    });
    let logs = tempfile::tempdir().expect("log dir");
    let env = [
        ("TABLE_NAME", "t".to_owned()),
        ("DYNAMODB_ENDPOINT", endpoint.clone()),
        ("S3_ENDPOINT", endpoint),
        ("LOGO_BUCKET", "logos".to_owned()),
        ("LOGO_BASE_URL", "https://cdn.test".to_owned()),
    ];
    for function in ["customer-create", "logo-resizer"] {
        let binary = api_tests::binary(function);
        let runtime = RuntimeApi::start().await;
        let started = std::time::Instant::now();
        let process = FunctionProcess::spawn(&binary, &runtime, &env, logs.path());
        while runtime.first_poll().is_none() && started.elapsed() < Duration::from_secs(8) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let init = runtime
            .first_poll()
            .map(|polled| polled.duration_since(started))
            .unwrap_or_else(|| panic!("{function} never finished its init:\n{}", process.logs()));
        assert!(
            init >= customer_api::aws::WARM_UP_BUDGET && init < Duration::from_secs(5),
            "{function}: init took {init:?}, the warm-up waits {:?} at most",
            customer_api::aws::WARM_UP_BUDGET
        );
    }
    held.abort();
}
