//! Write spikes: N customer creates of one tenant at once, through the handlers on the DynamoDB
//! adapter, against the test server's DynamoDB concurrency semantics (transactions in flight for
//! its default time, overlapping ones cancelled). Reported: how many answered 201 and how many
//! 5xx (must be none), latency percentiles, and transactions attempted per create.

use std::sync::Arc;
use std::time::{Duration, Instant};

use customer_api::App;
use customer_api::logos::Logos;
use customer_api::routes;
use customer_api::store::DynamoStore;
use lambda_http::Request;
use lambda_http::request::LambdaRequest;
use local_api::gateway::{HttpRequest, api_gateway_event};

use crate::Options;
use crate::environment::fresh_stack;

/// A request of `entity1`, as API Gateway delivers it.
fn request(method: &str, path: &str, content_type: &str, body: &[u8]) -> Result<Request, String> {
    let (route, params) = routes::find(method, path).ok_or_else(|| format!("no route {method} {path}"))?;
    let request = HttpRequest {
        method: method.into(),
        path: path.into(),
        query: String::new(),
        headers: vec![("content-type".into(), content_type.into())],
        body: body.to_vec(),
    };
    let route_key = format!("{} {}", route.method, route.path);
    let event = api_gateway_event(
        &request,
        &route_key,
        &params,
        ("organization", "entity1"),
        "spike",
    );
    let payload: LambdaRequest = serde_json::from_value(event).map_err(|e| e.to_string())?;
    Ok(Request::from(payload))
}

/// One create, as API Gateway delivers it.
fn create_event(body: &str) -> Result<Request, String> {
    request(
        "POST",
        "/api/v1.0/customers",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

/// What one spike gave.
struct Spike {
    created: usize,
    failed: usize,
    other: usize,
    latencies: Vec<Duration>,
}

async fn spike(app: &Arc<App>, bodies: Vec<String>) -> Result<Spike, String> {
    let requests = bodies
        .iter()
        .map(|body| create_event(body))
        .collect::<Result<Vec<_>, _>>()?;
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let app = Arc::clone(app);
            tokio::spawn(async move {
                let started = Instant::now();
                let response = app.handle(routes::Operation::CreateCustomer, request).await;
                (response.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    let mut result = Spike {
        created: 0,
        failed: 0,
        other: 0,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (status, latency) = task.await.map_err(|e| e.to_string())?;
        match status {
            201 => result.created += 1,
            500.. => result.failed += 1,
            _ => result.other += 1,
        }
        result.latencies.push(latency);
    }
    result.latencies.sort();
    Ok(result)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let at = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(at).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// Runs the write-spikes section and prints its table.
pub async fn run(options: &Options, endpoint: &str) -> Result<(), String> {
    let sizes: &[usize] = if options.quick { &[16, 64] } else { &[16, 64, 256] };
    println!(
        "## Write spikes (customer creates of one tenant at once, DynamoDB adapter through the test server's DynamoDB semantics: transactions in flight 15 ms, overlapping ones cancelled)\n"
    );
    println!(
        "| creates at once | into | answered 201 | 5xx | other | p50 (ms) | p99 (ms) | transactions per create | test server busy (ms per create) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for &size in sizes {
        for joining in [false, true] {
            let (table, _) = fresh_stack(endpoint, &format!("spike-{size}")).await?;
            let client = customer_api::aws::local_dynamodb_client(endpoint);
            let store = Arc::new(DynamoStore::new(client, table.clone(), 10));
            let app = Arc::new(App::new(store, Arc::new(Logos::unavailable()), "organization"));
            let category = if joining {
                let group = create_group(&app).await?;
                format!("&categoryId={group}")
            } else {
                String::new()
            };
            let before = stats(endpoint, &table).await;
            let bodies = (0..size)
                .map(|i| format!("reference=S{i}&name=Spike+{i}{category}"))
                .collect();
            let result = spike(&app, bodies).await?;
            let after = stats(endpoint, &table).await;
            let transactions = after.0 - before.0;
            let busy = after.1 - before.1;
            println!(
                "| {size} | {} | {} ({:.0}%) | {} | {} | {:.0} | {:.0} | {:.2} | {:.1} |",
                if joining { "one group" } else { "no group" },
                result.created,
                100.0 * result.created as f64 / size as f64,
                result.failed,
                result.other,
                percentile(&result.latencies, 0.5),
                percentile(&result.latencies, 0.99),
                transactions / size as f64,
                busy / size as f64,
            );
            if result.failed > 0 {
                return Err(format!("{} of {size} creates answered 5xx", result.failed));
            }
        }
    }
    println!(
        "\nTarget: no 5xx. A transaction is one `TransactWriteItems` the server saw (retries of cancelled ones included). The test server runs one request at a time: a burst's latencies are bounded below by its busy time times the burst, which DynamoDB (running unrelated requests side by side) does not impose; 'other' answers are 409s after the 6 s retry budget.\n"
    );
    Ok(())
}

/// Transactions attempted on `table`, and milliseconds the test server spent on its requests.
async fn stats(endpoint: &str, table: &str) -> (f64, f64) {
    let stats = api_tests::transaction_stats_at(endpoint, table).await;
    let number = |name: &str| stats[name].as_f64().unwrap_or(0.0);
    (number("attempted"), number("moto_ms"))
}

async fn create_group(app: &App) -> Result<u64, String> {
    let body = br#"{"reference":"Popular","name":"Popular"}"#;
    let group = request("POST", "/api/v1.0/customerGroups", "application/json", body)?;
    let response = app.handle(routes::Operation::CreateGroup, group).await;
    let body: serde_json::Value =
        serde_json::from_slice(response.body().as_ref()).map_err(|e| e.to_string())?;
    body["id"]
        .as_u64()
        .ok_or_else(|| format!("group create answered {body}"))
}
