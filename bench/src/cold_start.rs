//! Cold start: for every function binary, the time from process start until it asks the Lambda
//! Runtime API for its first event (init), and until it has answered that event; beside a
//! hello-world `lambda_runtime` binary built with the same profile.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use api_tests::runtime::{FunctionProcess, Outcome, RuntimeApi};
use customer_api::logos::resizer::object_created_event;
use customer_api::routes::{Operation, routes};
use local_api::gateway::{HttpRequest, api_gateway_event};
use serde_json::{Value, json};

use crate::Options;
use crate::environment::{fresh_stack, median};

/// Target: a function's init at most this many times the baseline's.
const INIT_TARGET: f64 = 1.5;
/// Target: stripped binaries at most this many MB.
const SIZE_TARGET_MB: f64 = 8.0;

/// The first event of a function: a real request on its first route (or an S3 event).
fn first_event(function: &str, run: usize, bucket: &str) -> Value {
    if function == "hello-lambda" {
        return json!({"hello": "world"});
    }
    if function == "logo-resizer" {
        let event = object_created_event(
            bucket,
            &format!("originals/bench/photoCustomer/{run}_missing.png"),
            10,
        );
        return serde_json::to_value(event).unwrap_or(Value::Null);
    }
    let Some(route) = routes()
        .into_iter()
        .find(|r| r.operation.function_name() == function)
    else {
        return Value::Null;
    };
    let reference = format!("bench-{run}");
    let path = route.path.replace("{id}", "1").replace("{reference}", &reference);
    let params: HashMap<String, String> = if route.path.contains("{id}") {
        HashMap::from([("id".to_owned(), "1".to_owned())])
    } else if route.path.contains("{reference}") {
        HashMap::from([("reference".to_owned(), reference.clone())])
    } else {
        HashMap::new()
    };
    let (body, content_type) = match (route.method, route.path.contains("customers")) {
        ("GET" | "DELETE", _) => (Vec::new(), "application/json"),
        (_, true) => (
            format!("reference={reference}&name=Bench").into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (_, false) => (
            json!({"reference": reference, "name": "Bench"})
                .to_string()
                .into_bytes(),
            "application/json",
        ),
    };
    let request = HttpRequest {
        method: route.method.to_owned(),
        path,
        query: String::new(),
        headers: vec![("content-type".to_owned(), content_type.to_owned())],
        body,
    };
    let route_key = format!("{} {}", route.method, route.path);
    api_gateway_event(
        &request,
        &route_key,
        &params,
        ("organization", "entity1"),
        "bench",
    )
}

/// One cold start: (init ms, first answer ms).
async fn cold_start(
    binary: &Path,
    env: &[(&str, String)],
    event: Value,
    logs: &Path,
) -> Result<(f64, f64), String> {
    let runtime = RuntimeApi::start().await;
    let started = Instant::now();
    let process = FunctionProcess::spawn(binary, &runtime, env, logs);
    let init = loop {
        if let Some(polled) = runtime.first_poll() {
            break polled.duration_since(started);
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!(
                "{} never asked for an event:\n{}",
                binary.display(),
                process.logs()
            ));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    match runtime.invoke(event, Duration::from_secs(30)).await {
        Ok(Outcome::Response(_)) => Ok((init.as_secs_f64() * 1e3, started.elapsed().as_secs_f64() * 1e3)),
        other => Err(format!("{}: {other:?}\n{}", binary.display(), process.logs())),
    }
}

/// Runs the cold-start section and prints its table.
pub async fn run(options: &Options, endpoint: &str) -> Result<(), String> {
    let (table, bucket) = fresh_stack(endpoint, "cold").await?;
    let env = vec![
        ("TABLE_NAME", table),
        ("ORG_CLAIM", "organization".to_owned()),
        ("DYNAMODB_ENDPOINT", endpoint.to_owned()),
        ("S3_ENDPOINT", endpoint.to_owned()),
        ("LOGO_BUCKET", bucket.clone()),
        ("LOGO_BASE_URL", "https://cdn.bench".to_owned()),
    ];
    let logs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runs = if options.quick { 1 } else { 7 };
    let mut functions: Vec<&str> = vec!["hello-lambda"];
    functions.extend(Operation::ALL.iter().map(|op| op.function_name()));
    functions.push("logo-resizer");

    let mut rows = Vec::new();
    let mut baseline = f64::NAN;
    for function in functions {
        let binary = options.bin_dir.join(function);
        if !binary.exists() {
            return Err(format!(
                "{} is missing: build with `{}`",
                binary.display(),
                crate::BUILD
            ));
        }
        let size_mb = std::fs::metadata(&binary)
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(f64::NAN);
        let (mut inits, mut answers) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let (init, answer) =
                cold_start(&binary, &env, first_event(function, run, &bucket), logs.path()).await?;
            inits.push(init);
            answers.push(answer);
        }
        let (init, answer) = (median(&mut inits), median(&mut answers));
        if function == "hello-lambda" {
            baseline = init;
        }
        rows.push((function, size_mb, init, answer));
    }

    println!(
        "## Cold start ({runs} run(s) each, medians; baseline: hello-world lambda_runtime, same profile)\n"
    );
    println!("| function | size (MB) | init (ms) | init / baseline | first answer (ms) |");
    println!("| --- | --- | --- | --- | --- |");
    for (function, size, init, answer) in &rows {
        let ratio = init / baseline;
        let flag = if *function != "hello-lambda" && (ratio > INIT_TARGET || *size > SIZE_TARGET_MB) {
            " ⚠"
        } else {
            ""
        };
        println!("| {function} | {size:.1} | {init:.1} | {ratio:.2}×{flag} | {answer:.1} |");
    }
    println!(
        "\nTargets: init ≤ {INIT_TARGET}× the baseline; stripped binaries ≤ {SIZE_TARGET_MB} MB (x86_64). ⚠ marks a miss.\n"
    );
    Ok(())
}
