//! Boots every deployable function artifact (`<dir>/<function>/bootstrap`, as `cargo lambda
//! build` lays them out) against the Lambda Runtime API emulator, through a launcher such as
//! `qemu-aarch64-static -L <sysroot>`, with the local DynamoDB/S3 API server behind it
//! (`TEST_DYNAMODB_ENDPOINT`), and sends each one real request in an order that makes every
//! answer checkable. Fails unless every artifact is an ELF of the expected machine and answers
//! correctly.
//!
//! `boot-functions <dir> <machine: aarch64|x86_64> [launcher and its arguments...]`

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use api_tests::runtime::{FunctionProcess, Outcome, RuntimeApi};
use api_tests::{dynamo_endpoint, fresh_bucket, fresh_table};
use customer_api::logos::resize::samples::encoded;
use customer_api::logos::resizer::object_created_event;
use customer_api::logos::{ImageFormat, ObjectStore, S3ObjectStore};
use customer_api::store::DynamoStore;
use customer_api::{reference_data, seed};
use local_api::gateway::{HttpRequest, api_gateway_event};
use serde_json::{Value, json};

/// One request: the function, its route, the concrete path, the body, the expected status and a
/// field of the answer's JSON with its expected value.
struct Step {
    function: &'static str,
    route: &'static str,
    path: &'static str,
    body: &'static str,
    status: u16,
    check: (&'static str, Value),
}

const fn step(
    function: &'static str,
    route: &'static str,
    path: &'static str,
    body: &'static str,
    status: u16,
    check: (&'static str, Value),
) -> Step {
    Step {
        function,
        route,
        path,
        body,
        status,
        check,
    }
}

fn steps() -> Vec<Step> {
    const G: &str = "/api/v1.0/customerGroups";
    const C: &str = "/api/v1.0/customers";
    vec![
        step(
            "api-document",
            "GET /api/v1.0/openapi.json",
            "/api/v1.0/openapi.json",
            "",
            200,
            ("/openapi", json!("3.1.0")),
        ),
        step(
            "group-create",
            "POST /api/v1.0/customerGroups",
            G,
            r#"{"reference":"G1","name":"One"}"#,
            201,
            ("/id", json!(1)),
        ),
        step(
            "group-show",
            "GET /api/v1.0/customerGroups/{id}",
            "/api/v1.0/customerGroups/1",
            "",
            200,
            ("/reference", json!("G1")),
        ),
        step(
            "group-update",
            "PUT /api/v1.0/customerGroups/{id}",
            "/api/v1.0/customerGroups/1",
            r#"{"reference":"G1","name":"Uno"}"#,
            200,
            ("/name", json!("Uno")),
        ),
        step(
            "group-upsert",
            "POST /api/v1.0/customerGroups/reference/{reference}",
            "/api/v1.0/customerGroups/reference/G2",
            r#"{"name":"Two"}"#,
            201,
            ("/reference", json!("G2")),
        ),
        step(
            "group-list",
            "GET /api/v1.0/customerGroups",
            G,
            "",
            200,
            ("/paging/total", json!(2)),
        ),
        step(
            "customer-create",
            "POST /api/v1.0/customers",
            C,
            r#"{"reference":"C1","name":"Marie","categoryId":1}"#,
            201,
            ("/customerCategory/name", json!("Uno")),
        ),
        step(
            "customer-show",
            "GET /api/v1.0/customers/{id}",
            "/api/v1.0/customers/1",
            "",
            200,
            ("/currency", json!("EUR")),
        ),
        step(
            "customer-update",
            "PUT /api/v1.0/customers/reference/{reference}",
            "/api/v1.0/customers/reference/C1",
            r#"{"name":"Marie Curie"}"#,
            200,
            ("/name", json!("Marie Curie")),
        ),
        step(
            "customer-upsert",
            "POST /api/v1.0/customers/reference/{reference}",
            "/api/v1.0/customers/reference/C2",
            r#"{"name":"Pierre"}"#,
            201,
            ("/reference", json!("C2")),
        ),
        step(
            "customer-list",
            "GET /api/v1.0/customers",
            C,
            "",
            200,
            ("/paging/total", json!(2)),
        ),
        step(
            "customer-delete",
            "DELETE /api/v1.0/customers/{id}",
            "/api/v1.0/customers/2",
            "",
            200,
            ("/success", json!("true")),
        ),
        step(
            "group-delete",
            "DELETE /api/v1.0/customerGroups/{id}",
            "/api/v1.0/customerGroups/2",
            "",
            200,
            ("/success", json!("true")),
        ),
    ]
}

/// ELF `e_machine` values.
fn machine_code(machine: &str) -> Option<u16> {
    match machine {
        "aarch64" => Some(183),
        "x86_64" => Some(62),
        _ => None,
    }
}

/// Checks that `binary` is a 64-bit little-endian ELF executable for `machine`.
fn check_elf(binary: &Path, machine: u16) -> Result<(), String> {
    let bytes = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let header = bytes.get(..20).ok_or("shorter than an ELF header")?;
    let found = u16::from_le_bytes([header[18], header[19]]);
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Err(format!("{} is not a 64-bit little-endian ELF", binary.display()));
    }
    if found != machine {
        return Err(format!(
            "{}: ELF machine {found}, expected {machine}",
            binary.display()
        ));
    }
    Ok(())
}

struct Boot {
    dir: PathBuf,
    launcher: Vec<String>,
    env: Vec<(&'static str, String)>,
    logs: tempfile::TempDir,
}

impl Boot {
    /// Boots `function`, sends it `event`, returns its answer and the boot-to-answer time.
    async fn invoke(&self, function: &str, event: Value) -> Result<(Value, Duration), String> {
        let binary = self.dir.join(function).join("bootstrap");
        let command = match self.launcher.split_first() {
            Some((program, arguments)) => {
                let mut command = Command::new(program);
                command.args(arguments).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        let runtime = RuntimeApi::start().await;
        let started = Instant::now();
        let process = FunctionProcess::launch(function, command, &runtime, &self.env, self.logs.path());
        match runtime.invoke(event, Duration::from_secs(120)).await {
            Ok(Outcome::Response(answer)) => Ok((answer, started.elapsed())),
            other => Err(format!("{function}: {other:?}\n{}", process.logs())),
        }
    }
}

fn event(step: &Step, request_id: &str) -> Value {
    let params: HashMap<String, String> = step
        .route
        .split(' ')
        .nth(1)
        .unwrap_or("")
        .split('/')
        .zip(step.path.split('/'))
        .filter_map(|(template, value)| {
            let name = template.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    let request = HttpRequest {
        method: step.route.split(' ').next().unwrap_or("GET").to_owned(),
        path: step.path.to_owned(),
        query: String::new(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: step.body.as_bytes().to_vec(),
    };
    api_gateway_event(
        &request,
        step.route,
        &params,
        ("organization", "entity1"),
        request_id,
    )
}

async fn run(dir: PathBuf, machine: u16, launcher: Vec<String>) -> Result<(), String> {
    let endpoint = dynamo_endpoint();
    let (client, table) = fresh_table().await;
    let store = DynamoStore::new(client, table.clone(), 1);
    seed::organizations(&store, &store, reference_data::SEED_JSON)
        .await
        .map_err(|e| format!("seed: {e:?}"))?;
    let (s3, bucket) = fresh_bucket().await;
    let boot = Boot {
        dir,
        launcher,
        env: vec![
            ("TABLE_NAME", table),
            ("ORG_CLAIM", "organization".to_owned()),
            ("DYNAMODB_ENDPOINT", endpoint.clone()),
            ("S3_ENDPOINT", endpoint),
            ("LOGO_BUCKET", bucket.clone()),
            ("LOGO_BASE_URL", "https://cdn.test".to_owned()),
        ],
        logs: tempfile::tempdir().map_err(|e| e.to_string())?,
    };

    println!("| function | size (MB) | boot to answer (ms) | answer |");
    println!("| --- | --- | --- | --- |");
    let size = |function: &str| {
        std::fs::metadata(boot.dir.join(function).join("bootstrap"))
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(f64::NAN)
    };
    for (n, step) in steps().iter().enumerate() {
        check_elf(&boot.dir.join(step.function).join("bootstrap"), machine)?;
        let (answer, took) = boot
            .invoke(step.function, event(step, &format!("boot-{n}")))
            .await?;
        let status = answer["statusCode"].as_u64().unwrap_or(0);
        let body: Value =
            serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        let (pointer, expected) = &step.check;
        if status != u64::from(step.status) || body.pointer(pointer) != Some(expected) {
            return Err(format!(
                "{} answered {status} {body}; expected {} with {pointer} = {expected}",
                step.function, step.status
            ));
        }
        println!(
            "| {} | {:.1} | {:.0} | {status}, {pointer} = {expected} |",
            step.function,
            size(step.function),
            took.as_secs_f64() * 1e3
        );
    }

    check_elf(&boot.dir.join("logo-resizer").join("bootstrap"), machine)?;
    let objects = S3ObjectStore::new(s3, bucket.clone());
    let original = "originals/entity1-0/photoCustomer/1_logo.jpg";
    let jpeg = encoded(ImageFormat::Jpeg, 1200, 800);
    objects
        .put(original, jpeg.clone(), "image/jpeg")
        .await
        .map_err(|e| format!("put original: {e:?}"))?;
    let (report, took) = boot
        .invoke(
            "logo-resizer",
            serde_json::to_value(object_created_event(&bucket, original, jpeg.len()))
                .map_err(|e| e.to_string())?,
        )
        .await?;
    if report["resized"] != json!([original]) {
        return Err(format!("logo-resizer answered {report}"));
    }
    let medium = objects
        .get("variants/entity1-0/photoCustomer/medium_1_logo.jpg")
        .await
        .map_err(|e| format!("get variant: {e:?}"))?
        .ok_or("no medium variant")?;
    if ImageFormat::sniff(&medium) != Some(ImageFormat::Jpeg) {
        return Err("the medium variant is not a JPEG".into());
    }
    println!(
        "| logo-resizer | {:.1} | {:.0} | resized a 1200×800 JPEG |",
        size("logo-resizer"),
        took.as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(machine)) = (args.next(), args.next()) else {
        eprintln!("usage: boot-functions <dir> <aarch64|x86_64> [launcher...]");
        std::process::exit(2);
    };
    let Some(machine) = machine_code(&machine) else {
        eprintln!("unknown machine {machine}");
        std::process::exit(2);
    };
    if let Err(error) = run(PathBuf::from(dir), machine, args.collect()).await {
        eprintln!("boot-functions: {error}");
        std::process::exit(1);
    }
}
