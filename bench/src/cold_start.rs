//! Cold start: for every function binary, the time from process start until it asks the Lambda
//! Runtime API for its first event (init), and until it has answered that event; beside a
//! hello-world `lambda_runtime` binary built with the same profile. Then the same through TLS
//! (a loopback TLS endpoint in front of the local server, its made-up authority trusted through
//! `AWS_CA_BUNDLE`): init, first and second answer, with and without the connection warm-up,
//! beside a peer function written the way AWS's Rust examples write one (`bench/peer`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_tests::runtime::{FunctionProcess, Outcome, RuntimeApi};
use customer_api::logos::resizer::object_created_event;
use customer_api::openapi;
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
    let route = routes()
        .into_iter()
        .find(|r| r.operation.function_name() == function)
        .map(|r| (r.method, r.path));
    let document = (function == "api-document").then(|| ("GET", openapi::PATH.to_owned()));
    let Some((method, template)) = route.or(document) else {
        return Value::Null;
    };
    let reference = format!("bench-{run}");
    let path = template.replace("{id}", "1").replace("{reference}", &reference);
    let params: HashMap<String, String> = if template.contains("{id}") {
        HashMap::from([("id".to_owned(), "1".to_owned())])
    } else if template.contains("{reference}") {
        HashMap::from([("reference".to_owned(), reference.clone())])
    } else {
        HashMap::new()
    };
    let (body, content_type) = match (method, template.contains("customers")) {
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
        method: method.to_owned(),
        path,
        query: String::new(),
        headers: vec![("content-type".to_owned(), content_type.to_owned())],
        body,
    };
    let route_key = format!("{} {}", method, template);
    api_gateway_event(
        &request,
        &route_key,
        &params,
        ("organization", "entity1"),
        "bench",
    )
}

/// The peer baseline's binary (`bench/peer`, its own workspace), built with the same profile.
fn peer_binary() -> PathBuf {
    crate::environment::workspace().join("bench/peer/target/release/peer-get-item")
}

/// What builds the peer baseline.
pub const PEER_BUILD: &str = "cargo build --release --manifest-path bench/peer/Cargo.toml";

/// A loopback TLS endpoint in front of the local DynamoDB/S3 server (`tests/tls_server.py`,
/// from the test venv), certified by an authority made up on the spot; stopped on drop.
struct TlsProxy {
    child: Child,
    endpoint: String,
    /// The made-up authority's certificate.
    ca: PathBuf,
    /// The system's trusted roots plus the made-up authority (for the peer, whose default
    /// HTTPS client loads the system store, as on Lambda).
    system_and_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsProxy {
    fn start(upstream: &str) -> Result<Self, String> {
        let python = crate::environment::workspace().join(".venv/bin/python");
        let port = upstream
            .rsplit(':')
            .next()
            .filter(|_| upstream.starts_with("http://127.0.0.1:"))
            .ok_or_else(|| format!("the TLS endpoint needs a loopback server, not {upstream}"))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let ca = dir.path().join("ca.pem");
        let mut child = Command::new(python)
            .arg(crate::environment::workspace().join("tests/tls_server.py"))
            .arg(&ca)
            .arg(port)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("tests/tls_server.py (needs ./tests/run's .venv): {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port: u16 = line
            .trim()
            .parse()
            .map_err(|_| format!("tls_server.py printed {line:?}"))?;
        let system = [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        ]
        .iter()
        .find_map(|path| std::fs::read(path).ok())
        .unwrap_or_default();
        let system_and_ca = dir.path().join("system-and-ca.pem");
        let mut bundle = system;
        bundle.extend(std::fs::read(&ca).map_err(|e| e.to_string())?);
        std::fs::write(&system_and_ca, bundle).map_err(|e| e.to_string())?;
        Ok(TlsProxy {
            child,
            endpoint: format!("https://127.0.0.1:{port}"),
            ca,
            system_and_ca,
            _dir: dir,
        })
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU a 256 MB Lambda function gets once its init is over: 256/1769 of a vCPU (init runs
/// with a full CPU). A cgroup (v1) CPU quota of 1.447 ms per 10 ms period, so that even a few
/// milliseconds of work run at that share; `None` where the cgroup cannot be made.
struct CpuShare {
    dir: PathBuf,
}

impl CpuShare {
    fn lambda_256_mb() -> Option<Self> {
        let dir = PathBuf::from(format!("/sys/fs/cgroup/cpu/bench-lambda-{}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        let share = CpuShare { dir };
        std::fs::write(share.dir.join("cpu.cfs_period_us"), "10000").ok()?;
        std::fs::write(share.dir.join("cpu.cfs_quota_us"), "1447").ok()?;
        // Only a share that can take a process is used (some sandboxes refuse the move).
        let mut probe = Command::new("sleep").arg("5").spawn().ok()?;
        let moved = share.confine(probe.id());
        let _ = probe.kill();
        let _ = probe.wait();
        moved.ok().map(|()| share)
    }

    /// Moves process `pid` (all its threads) into the share.
    fn confine(&self, pid: u32) -> Result<(), String> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).map_err(|e| format!("cgroup: {e}"))
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Starts `binary` against a fresh Runtime API emulator and waits for its first poll: the
/// emulator, the process, when it started and how long its init took.
async fn boot(
    binary: &Path,
    env: &[(&str, String)],
    logs: &Path,
) -> Result<(RuntimeApi, FunctionProcess, Instant, Duration), String> {
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
    Ok((runtime, process, started, init))
}

/// One cold start and a warm request: (init ms, first answer ms, second answer ms), each answer
/// timed from the event's delivery (the function is already waiting for it); after init, the
/// function runs within `share` when given.
async fn cold_then_warm(
    binary: &Path,
    env: &[(&str, String)],
    events: [Value; 2],
    logs: &Path,
    share: Option<&CpuShare>,
) -> Result<[f64; 3], String> {
    let (runtime, process, _, init) = boot(binary, env, logs).await?;
    if let Some(share) = share {
        share.confine(process.id())?;
    }
    let mut answers = [0.0; 2];
    for (answer, event) in answers.iter_mut().zip(events) {
        let sent = Instant::now();
        match runtime.invoke(event, Duration::from_secs(30)).await {
            Ok(Outcome::Response(_)) => *answer = sent.elapsed().as_secs_f64() * 1e3,
            other => return Err(format!("{}: {other:?}\n{}", binary.display(), process.logs())),
        }
    }
    Ok([init.as_secs_f64() * 1e3, answers[0], answers[1]])
}

/// The functions of the TLS table, each with and without the warm-up.
const TLS_FUNCTIONS: [&str; 5] = [
    "group-show",
    "customer-show",
    "customer-list",
    "customer-create",
    "logo-resizer",
];

/// Target: our first answer through TLS at most this share of the peer's.
const TLS_FIRST_ANSWER_TARGET: f64 = 0.5;

/// The TLS part: medians of `runs` cold starts per row; prints its table.
async fn run_tls(
    options: &Options,
    endpoint: &str,
    table: &str,
    bucket: &str,
    runs: usize,
) -> Result<(), String> {
    let proxy = TlsProxy::start(endpoint)?;
    let logs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let share = CpuShare::lambda_256_mb();
    let ours = |warm: bool| {
        vec![
            ("TABLE_NAME", table.to_owned()),
            ("ORG_CLAIM", "organization".to_owned()),
            ("DYNAMODB_ENDPOINT", proxy.endpoint.clone()),
            ("S3_ENDPOINT", proxy.endpoint.clone()),
            ("AWS_CA_BUNDLE", proxy.ca.display().to_string()),
            ("LOGO_BUCKET", bucket.to_owned()),
            ("LOGO_BASE_URL", "https://cdn.bench".to_owned()),
            ("WARM_UP_CONNECTIONS", warm.to_string()),
        ]
    };
    let peer_env = vec![
        ("TABLE_NAME", table.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint.clone()),
        ("SSL_CERT_FILE", proxy.system_and_ca.display().to_string()),
    ];
    let mut rows: Vec<(String, &str, [f64; 3])> = Vec::new();
    let medians = |samples: &mut Vec<[f64; 3]>| {
        let mut out = [0.0; 3];
        for (column, value) in out.iter_mut().enumerate() {
            let mut values: Vec<f64> = samples.iter().map(|s| s[column]).collect();
            *value = median(&mut values);
        }
        out
    };
    let hello = options.bin_dir.join("hello-lambda");
    let mut samples = Vec::new();
    for run in 0..runs {
        let events = [
            first_event("hello-lambda", run, bucket),
            first_event("hello-lambda", run, bucket),
        ];
        samples.push(cold_then_warm(&hello, &[], events, logs.path(), share.as_ref()).await?);
    }
    rows.push(("hello-lambda".into(), "no AWS call", medians(&mut samples)));
    let peer = peer_binary();
    if peer.exists() {
        let mut samples = Vec::new();
        for run in 0..runs {
            let events = [
                first_event("group-show", run, bucket),
                first_event("group-show", run + 1000, bucket),
            ];
            samples.push(cold_then_warm(&peer, &peer_env, events, logs.path(), share.as_ref()).await?);
        }
        rows.push((
            "peer-get-item".into(),
            "SDK defaults, on first request",
            medians(&mut samples),
        ));
    } else if !options.quick {
        return Err(format!(
            "{} is missing: build it with `{PEER_BUILD}`",
            peer.display()
        ));
    }
    for function in TLS_FUNCTIONS {
        let binary = options.bin_dir.join(function);
        for warm in [true, false] {
            let env = ours(warm);
            let mut samples = Vec::new();
            for run in 0..runs {
                let events = [
                    first_event(function, 2000 + run, bucket),
                    first_event(function, 3000 + run, bucket),
                ];
                samples.push(cold_then_warm(&binary, &env, events, logs.path(), share.as_ref()).await?);
            }
            let how = if warm {
                "warmed during init"
            } else {
                "on first request"
            };
            rows.push((function.to_owned(), how, medians(&mut samples)));
        }
    }

    let baseline = rows.first().map(|r| r.2[0]).unwrap_or(f64::NAN);
    let peer_first = rows
        .iter()
        .find(|r| r.0 == "peer-get-item")
        .map(|r| r.2[1])
        .unwrap_or(f64::NAN);
    let peer_penalty = rows
        .iter()
        .find(|r| r.0 == "peer-get-item")
        .map(|r| r.2[1] - r.2[2])
        .unwrap_or(f64::NAN);
    let cpu = if share.is_some() {
        "after init at 256 MB's CPU share (256/1769 of a core, a cgroup quota), init at full CPU, as on Lambda"
    } else {
        "full CPU throughout (no writable cgroup here to give the 256 MB share)"
    };
    println!(
        "## Cold start through TLS ({runs} run(s) each, medians; answers timed from the event's delivery, {cpu}; peer: `bench/peer`, AWS-example style, same profile)\n"
    );
    println!(
        "| function | TLS connection | init (ms) | first answer (ms) | second answer (ms) | first-request penalty (ms) | init / hello-world | first answer / peer's | penalty / peer's |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let ratio = |value: f64, peer: f64, flag: bool| {
        let ratio = value / peer;
        match ratio.is_finite() {
            false => "—".to_owned(),
            true if flag && ratio > TLS_FIRST_ANSWER_TARGET => format!("{ratio:.2}× ⚠"),
            true => format!("{ratio:.2}×"),
        }
    };
    for (function, how, [init, first, second]) in &rows {
        let ours = how == &"warmed during init";
        println!(
            "| {function} | {how} | {init:.1} | {first:.1} | {second:.1} | {:.1} | {:.2}× | {} | {} |",
            first - second,
            init / baseline,
            ratio(*first, peer_first, ours),
            ratio(first - second, peer_penalty, false),
        );
    }
    println!(
        "\nTarget: with the warm-up, a first answer ≤ {TLS_FIRST_ANSWER_TARGET}× the peer's (⚠ marks a miss). The peer does one `GetItem`; the penalty (first answer − second) is what a cold start adds to the first request.\n"
    );
    Ok(())
}

/// One cold start: (init ms, first answer ms).
async fn cold_start(
    binary: &Path,
    env: &[(&str, String)],
    event: Value,
    logs: &Path,
) -> Result<(f64, f64), String> {
    let (runtime, process, started, init) = boot(binary, env, logs).await?;
    match runtime.invoke(event, Duration::from_secs(30)).await {
        Ok(Outcome::Response(_)) => Ok((init.as_secs_f64() * 1e3, started.elapsed().as_secs_f64() * 1e3)),
        other => Err(format!("{}: {other:?}\n{}", binary.display(), process.logs())),
    }
}

/// Runs the cold-start section and prints its table.
pub async fn run(options: &Options, endpoint: &str) -> Result<(), String> {
    let (table, bucket) = fresh_stack(endpoint, "cold").await?;
    let env = vec![
        ("TABLE_NAME", table.clone()),
        ("ORG_CLAIM", "organization".to_owned()),
        ("DYNAMODB_ENDPOINT", endpoint.to_owned()),
        ("S3_ENDPOINT", endpoint.to_owned()),
        ("LOGO_BUCKET", bucket.clone()),
        ("LOGO_BASE_URL", "https://cdn.bench".to_owned()),
        // The process's own start-up; the warm-up's round trips are in the TLS table.
        ("WARM_UP_CONNECTIONS", "false".to_owned()),
    ];
    let logs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runs = if options.quick { 1 } else { 7 };
    let mut functions: Vec<&str> = vec!["hello-lambda"];
    functions.extend(Operation::ALL.iter().map(|op| op.function_name()));
    functions.push("logo-resizer");
    functions.push("api-document");

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
        "## Cold start ({runs} run(s) each, medians; baseline: hello-world lambda_runtime, same profile; plain HTTP, no connection warm-up)\n"
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
    run_tls(options, endpoint, &table, &bucket, runs).await
}

#[cfg(test)]
mod tests {
    /// The release profile of a manifest: from `[profile.release]` to the next non-release
    /// profile (or the end).
    fn release_profile(manifest: &str) -> String {
        let start = manifest.find("[profile.release]").unwrap_or(manifest.len());
        let rest = &manifest[start..];
        let end = rest.find("[profile.dev]").unwrap_or(rest.len());
        rest[..end].trim().to_owned()
    }

    #[test]
    fn the_peer_is_built_with_the_api_release_profile() {
        let root = crate::environment::workspace();
        let ours = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        let peer = std::fs::read_to_string(root.join("bench/peer/Cargo.toml")).expect("peer manifest");
        let profile = release_profile(&ours);
        assert!(profile.contains("lto = \"fat\""), "{profile}");
        assert_eq!(release_profile(&peer), profile);
    }
}
