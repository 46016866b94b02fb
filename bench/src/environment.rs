//! What the benchmark runs against: the workspace, and the local DynamoDB/S3 API server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The local DynamoDB/S3 API server: `TEST_DYNAMODB_ENDPOINT` if set, else the one `tests/run`
/// installs into `.venv`, started on a free loopback port and stopped on drop.
pub struct DynamoServer {
    /// Its URL.
    pub endpoint: String,
    child: Option<Child>,
}

impl DynamoServer {
    /// Finds or starts the server.
    pub fn start() -> Result<Self, String> {
        if let Ok(endpoint) = std::env::var(api_tests::ENDPOINT_VAR) {
            return Ok(DynamoServer {
                endpoint,
                child: None,
            });
        }
        let python = workspace().join(".venv/bin/python");
        if !python.exists() {
            return Err("needs the local DynamoDB/S3 API server: run ./tests/run once (it installs .venv), or set TEST_DYNAMODB_ENDPOINT".into());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(python)
            .arg(workspace().join("tests/moto_server.py"))
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the local API server: {e}"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the local API server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        Ok(DynamoServer {
            endpoint,
            child: Some(child),
        })
    }
}

impl Drop for DynamoServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The median of `samples` (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A fresh table (from `infra/table.json`) and bucket on the server, with the demo reference data.
pub async fn fresh_stack(endpoint: &str, name: &str) -> Result<(String, String), String> {
    let suffix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let table = format!("bench-{name}-{suffix}");
    let client = customer_api::aws::local_dynamodb_client(endpoint);
    customer_api::store::dynamo::ensure_table(&client, &table)
        .await
        .map_err(|e| e.to_string())?;
    let store = customer_api::store::DynamoStore::new(client, table.clone(), 1);
    customer_api::seed::organizations(&store, &store, customer_api::reference_data::SEED_JSON).await?;
    let bucket = format!("bench-{name}-{suffix}");
    customer_api::aws::local_s3_client(endpoint)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(|e| format!("create bucket: {e}"))?;
    Ok((table, bucket))
}
