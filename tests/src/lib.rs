//! Test support shared by the store contract suite and the HTTP-level tests: fresh stores of
//! both adapters, and an in-process API client going through the local API Gateway stand-in.

pub mod contract;
pub mod runtime;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use customer_api::App;
use customer_api::http::Store;
use customer_api::logos::resize::VariantBoxes;
use customer_api::logos::{Logos, ObjectStore, S3ObjectStore};
use customer_api::store::{DynamoStore, dynamo};
use customer_api::{reference_data, seed};
use local_api::{DirObjectStore, EmbeddedStore, Gateway, HttpRequest, MemoryStore, ResizeOnPut, Tokens};
use serde_json::Value;
use tempfile::TempDir;

/// The variable naming the DynamoDB API endpoint the tests use (`tests/run` starts a local
/// DynamoDB API server and sets it; point it at real DynamoDB to test against AWS).
pub const ENDPOINT_VAR: &str = "TEST_DYNAMODB_ENDPOINT";

/// Which adapter a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// The embedded store, in a temporary directory.
    Embedded,
    /// The in-memory store.
    Memory,
    /// DynamoDB at `TEST_DYNAMODB_ENDPOINT`, in a fresh table.
    Dynamo,
}

/// Runs each case on every store, as `mod Embedded`, `mod Memory` and `mod Dynamo`: every case is an
/// `async fn case(fixture: &F)` and `$fixture` an `async fn(Adapter) -> F`.
#[macro_export]
macro_rules! on_both_stores {
    ($fixture:path; $($case:ident),* $(,)?) => {
        $crate::on_both_stores!(@store Embedded, $fixture; $($case),*);
        $crate::on_both_stores!(@store Memory, $fixture; $($case),*);
        $crate::on_both_stores!(@store Dynamo, $fixture; $($case),*);
    };
    (@store $adapter:ident, $fixture:path; $($case:ident),*) => {
        #[allow(non_snake_case)]
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = $fixture($crate::Adapter::$adapter).await;
                    super::$case(&fixture).await;
                }
            )*
        }
    };
}

/// A store under test; keeps its temporary directory alive.
pub struct TestStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where the embedded store lives (kept until drop).
    pub dir: Option<TempDir>,
    /// The DynamoDB table (DynamoDB adapter only).
    pub table: Option<String>,
}

static TABLES: AtomicU64 = AtomicU64::new(0);

/// The DynamoDB endpoint for tests. Panics (never skips) when it is not set.
pub fn dynamo_endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: run the test suite with ./tests/run, which starts a local DynamoDB API server")
    })
}

/// A workspace binary (`local-api`, a Lambda function), built first when out of date: the
/// integration tests run the real binaries, built from the same sources as the tests.
pub fn binary(name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let mut build = std::process::Command::new(env!("CARGO"));
        build
            .args(["build", "--workspace", "--bins", "--quiet"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build --workspace --bins failed");
        let test = std::env::current_exe().expect("test executable");
        let deps = test.parent().expect("deps directory");
        deps.parent().expect("profile directory").to_path_buf()
    });
    dir.join(name)
}

/// Sets faults of the test DynamoDB server for `table` (see `tests/moto_server.py`), e.g.
/// `{"lose_transaction_responses": 1}`.
pub async fn set_faults(table: &str, faults: serde_json::Value) {
    let mut body = faults;
    body["table"] = Value::String(table.to_owned());
    double_request(&dynamo_endpoint(), "POST", "/_double/faults", &body.to_string()).await;
}

/// What the test DynamoDB server counted of `table`'s transactions: `attempted`, `conflicts`
/// (cancelled), `committed`, `replayed` (answered from a client request token).
pub async fn transaction_stats(table: &str) -> Value {
    transaction_stats_at(&dynamo_endpoint(), table).await
}

/// [`transaction_stats`] of the test DynamoDB server at `endpoint`.
pub async fn transaction_stats_at(endpoint: &str, table: &str) -> Value {
    double_request(endpoint, "GET", &format!("/_double/stats?table={table}"), "").await
}

async fn double_request(endpoint: &str, method: &str, path: &str, body: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the test DynamoDB server");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let payload = response.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    serde_json::from_str(payload).unwrap_or(Value::Null)
}

/// A fresh, empty bucket on the test endpoint (the local DynamoDB API server serves S3 too).
pub async fn fresh_bucket() -> (aws_sdk_s3::Client, String) {
    let client = customer_api::aws::local_s3_client(&dynamo_endpoint());
    let bucket = format!(
        "logos-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create test bucket");
    (client, bucket)
}

/// A fresh, empty table on the test endpoint, created from `infra/table.json`.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = customer_api::aws::local_dynamodb_client(&dynamo_endpoint());
    let table = format!(
        "test-{}-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0)
    );
    dynamo::ensure_table(&client, &table)
        .await
        .expect("create test table");
    (client, table)
}

impl std::ops::Deref for TestStore {
    type Target = Arc<dyn Store>;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

impl TestStore {
    /// A fresh, empty store of `adapter`.
    pub async fn new(adapter: Adapter) -> Self {
        Self::with_id_block(adapter, 1).await
    }

    /// A fresh embedded store whose commits are fsynced, as `local-api`'s are (the test fixtures
    /// skip the fsync: their data is thrown away).
    pub fn durable_embedded() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
        TestStore {
            store: Arc::new(store),
            dir: Some(dir),
            table: None,
        }
    }

    /// A fresh store in which every write is in flight for a while before it commits, as on
    /// DynamoDB: on the embedded adapter each write waits `latency` first (the DynamoDB adapter
    /// already goes through the test server's in-flight time), so concurrent requests interleave
    /// between their reads and their writes.
    pub async fn with_write_latency(adapter: Adapter, latency: std::time::Duration) -> Self {
        match adapter {
            Adapter::Embedded => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = EmbeddedStore::open_without_fsync(dir.path())
                    .expect("open embedded store")
                    .with_write_latency(latency);
                TestStore {
                    store: Arc::new(store),
                    dir: Some(dir),
                    table: None,
                }
            }
            Adapter::Memory => TestStore {
                store: Arc::new(MemoryStore::new().with_write_latency(latency)),
                dir: None,
                table: None,
            },
            Adapter::Dynamo => Self::new(adapter).await,
        }
    }

    /// A fresh store; on DynamoDB, reserving ids `id_block` at a time.
    pub async fn with_id_block(adapter: Adapter, id_block: u64) -> Self {
        match adapter {
            Adapter::Embedded => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = EmbeddedStore::open_without_fsync(dir.path()).expect("open embedded store");
                TestStore {
                    store: Arc::new(store),
                    dir: Some(dir),
                    table: None,
                }
            }
            Adapter::Memory => TestStore {
                store: Arc::new(MemoryStore::new()),
                dir: None,
                table: None,
            },
            Adapter::Dynamo => {
                let (client, table) = fresh_table().await;
                TestStore {
                    store: Arc::new(DynamoStore::new(client, table.clone(), id_block)),
                    dir: None,
                    table: Some(table),
                }
            }
        }
    }
}

/// A response as a test sees it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// Content type.
    pub content_type: String,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
}

/// Calls the API in-process through the local API Gateway stand-in, exactly as `local-api` does.
pub struct TestApi {
    gateway: Gateway,
    /// The store behind it (kept alive).
    pub store: TestStore,
    /// Where logos go: a directory on the embedded adapter, an S3 bucket on the DynamoDB one; the
    /// resizer runs after each upload, as the S3 notification would.
    pub objects: Arc<dyn ObjectStore>,
    /// The logo directory (embedded adapter only; kept until drop).
    pub objects_dir: Option<TempDir>,
    /// The logo bucket (DynamoDB adapter only).
    pub bucket: Option<(aws_sdk_s3::Client, String)>,
}

/// A `multipart/form-data` body of text fields and files `(field, file name, bytes)`, with its
/// content type.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (Vec<u8>, String) {
    const BOUNDARY: &str = "----api-tests-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={BOUNDARY}"))
}

/// Percent-encodes everything but the unreserved characters (so `+`, `&`, `=` survive).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Public base URL of logos in tests.
pub const LOGO_BASE: &str = "https://logos.test";

/// Demo token of organization `entity1`.
pub const ENTITY1: &str = "entity1-dev-token";
/// Demo token of organization `entity2`.
pub const ENTITY2: &str = "entity2-dev-token";

impl TestApi {
    /// A shareable API over a fresh store of `adapter` (the fixture of the HTTP suites).
    pub async fn shared(adapter: Adapter) -> Arc<Self> {
        Arc::new(Self::new(adapter).await)
    }

    /// An API over a fresh store of `adapter`, with the demo tokens and the demo reference data
    /// (`infra/seed/reference-data.json`); the resizer runs after each logo upload.
    pub async fn new(adapter: Adapter) -> Self {
        Self::with_resizer(adapter, true).await
    }

    /// As [`TestApi::new`], choosing whether the resizer runs after each logo upload (in AWS it
    /// is another Lambda, so cost measurements leave it out).
    pub async fn with_resizer(adapter: Adapter, resize_on_upload: bool) -> Self {
        Self::over(TestStore::new(adapter).await, adapter, resize_on_upload).await
    }

    /// An API over `store` (of `adapter`), as [`TestApi::with_resizer`].
    pub async fn over(store: TestStore, adapter: Adapter, resize_on_upload: bool) -> Self {
        seed::organizations(
            store.store.as_ref(),
            store.store.as_ref(),
            reference_data::SEED_JSON,
        )
        .await
        .expect("seed reference data");
        let (objects_dir, bucket, raw): (Option<TempDir>, _, Arc<dyn ObjectStore>) = match adapter {
            Adapter::Embedded | Adapter::Memory => {
                let dir = tempfile::tempdir().expect("logo dir");
                let objects = Arc::new(DirObjectStore::new(dir.path()));
                (Some(dir), None, objects)
            }
            Adapter::Dynamo => {
                let (client, bucket) = fresh_bucket().await;
                let objects = Arc::new(S3ObjectStore::new(client.clone(), bucket.clone()));
                (None, Some((client, bucket)), objects)
            }
        };
        let objects: Arc<dyn ObjectStore> = if resize_on_upload {
            Arc::new(ResizeOnPut::new(Arc::clone(&raw), VariantBoxes::default()))
        } else {
            Arc::clone(&raw)
        };
        let logos = Arc::new(Logos::new(objects, LOGO_BASE));
        let app = App::new(Arc::clone(&store.store), logos, "organization");
        TestApi {
            gateway: Gateway::new(app, Tokens::demo(), "organization"),
            store,
            objects: raw,
            objects_dir,
            bucket,
        }
    }

    /// The app behind the gateway (what a Lambda runs).
    pub fn app(&self) -> &App {
        self.gateway.app()
    }

    /// Sends a request; `path` may carry a query string.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        content_type: &str,
    ) -> Reply {
        self.call_with(method, path, token, body, content_type, &[]).await
    }

    /// Like `call`, with more request headers.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let response = self.respond(method, path, token, body, content_type, extra).await;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            content_type,
            etag,
        }
    }

    /// Like `call`, but only the status: the body is not parsed (benchmarks measure the handler,
    /// not the client reading its answer).
    pub async fn status(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        content_type: &str,
    ) -> u16 {
        let response = self.respond(method, path, token, body, content_type, &[]).await;
        response.status().as_u16()
    }

    async fn respond(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> lambda_http::Response<lambda_http::Body> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        headers.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        if let Some(token) = token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        self.gateway
            .serve(HttpRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                headers,
                body: body.to_vec(),
            })
            .await
    }

    /// Every object key in the logo storage, sorted.
    pub async fn object_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(dir) = &self.objects_dir {
            let mut pending = vec![dir.path().to_path_buf()];
            while let Some(current) = pending.pop() {
                for entry in std::fs::read_dir(&current).expect("read dir").flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        pending.push(path);
                    } else if let Ok(relative) = path.strip_prefix(dir.path()) {
                        keys.push(relative.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
        }
        if let Some((client, bucket)) = &self.bucket {
            let listed = client
                .list_objects_v2()
                .bucket(bucket)
                .send()
                .await
                .expect("list objects");
            keys.extend(
                listed
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        keys
    }

    /// `GET` as `entity1`.
    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, Some(ENTITY1), b"", "application/json")
            .await
    }

    /// A JSON request as `entity1`.
    pub async fn send(&self, method: &str, path: &str, body: &Value) -> Reply {
        self.send_as(ENTITY1, method, path, body).await
    }

    /// A JSON request as the holder of `token`.
    pub async fn send_as(&self, token: &str, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serialize");
        self.call(method, path, Some(token), &bytes, "application/json")
            .await
    }
}
