//! The real `local-api` binary over TCP on loopback: serving, persistence across restarts,
//! custom tokens, and the DynamoDB endpoint option. Every server started here is killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A `local-api` process on a free loopback port, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Server {
        let mut child = Command::new(api_tests::binary("local-api"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start local-api");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("banner");
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in banner: {line}"));
        Server { child, port }
    }

    fn request(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data_dir(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

#[test]
fn serves_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().expect("dir");
    let created = {
        let server = Server::start(&["--data-dir", data_dir(dir.path())]);
        let (status, body) = server.request("GET", "/api/v1.0/customerGroups", None, "");
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
        let (status, body) = server.request(
            "POST",
            "/api/v1.0/customerGroups",
            Some("entity1-dev-token"),
            r#"{"reference":"Ref-01","name":"Magasins"}"#,
        );
        assert_eq!(status, 201, "{body}");
        body
    };
    let server = Server::start(&["--data-dir", data_dir(dir.path())]);
    let (status, body) = server.request(
        "GET",
        "/api/v1.0/customerCategories/reference/Ref-01",
        Some("entity1-dev-token"),
        "",
    );
    assert_eq!((status, &body), (200, &created));
    let (status, _) = server.request(
        "GET",
        "/api/v1.0/customerCategories/reference/Ref-01",
        Some("entity2-dev-token"),
        "",
    );
    assert_eq!(status, 404);
}

/// `--in-memory`: the same API, nothing kept once the process ends, no store file written.
#[test]
fn in_memory_serves_and_forgets_on_exit() {
    let dir = tempfile::tempdir().expect("dir");
    let args = ["--data-dir", data_dir(dir.path()), "--in-memory"];
    let group = r#"{"reference":"Ref-01","name":"Magasins"}"#;
    {
        let server = Server::start(&args);
        let (status, body) = server.request(
            "POST",
            "/api/v1.0/customerGroups",
            Some("entity1-dev-token"),
            group,
        );
        assert_eq!(status, 201, "{body}");
        let (status, _) = server.request(
            "POST",
            "/api/v1.0/customerGroups",
            Some("entity1-dev-token"),
            group,
        );
        assert_eq!(status, 400, "the reference is taken while it runs");
    }
    assert!(!dir.path().join("store.redb").exists());
    let server = Server::start(&args);
    let (status, _) = server.request(
        "GET",
        "/api/v1.0/customerGroups/reference/Ref-01",
        Some("entity1-dev-token"),
        "",
    );
    assert_eq!(status, 404);
}

/// The OpenAPI document: served without credentials, the same bytes `local-api openapi FILE`
/// writes, and the document the library generates.
#[test]
fn serves_and_writes_the_openapi_document() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&["--data-dir", data_dir(dir.path())]);
    let (status, served) = server.request("GET", customer_api::openapi::PATH, None, "");
    assert_eq!(status, 200);
    assert_eq!(served, customer_api::openapi::document());
    let file = dir.path().join("openapi.json");
    let written = Command::new(api_tests::binary("local-api"))
        .args(["openapi", file.to_str().expect("path")])
        .status()
        .expect("run local-api openapi");
    assert!(written.success());
    let text = std::fs::read_to_string(&file).expect("the document");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("JSON"), served);
    let (status, _) = server.request("POST", customer_api::openapi::PATH, None, "");
    assert_eq!(status, 404, "only GET serves it");
}

#[test]
fn custom_tokens_file_replaces_the_demo_tokens() {
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, r#"{"s3cret": "acme"}"#).expect("write tokens");
    let server = Server::start(&[
        "--data-dir",
        data_dir(dir.path()),
        "--tokens",
        tokens.to_str().expect("path"),
    ]);
    let (status, body) = server.request(
        "POST",
        "/api/v1.0/customerGroups",
        Some("s3cret"),
        r#"{"reference":"a","name":"b"}"#,
    );
    assert_eq!((status, body["organization"].as_str()), (201, Some("acme")));
    let (status, _) = server.request("GET", "/api/v1.0/customerGroups", Some("entity1-dev-token"), "");
    assert_eq!(status, 401);
}

#[test]
fn runs_on_a_dynamodb_endpoint() {
    let endpoint = std::env::var("TEST_DYNAMODB_ENDPOINT")
        .expect("TEST_DYNAMODB_ENDPOINT is not set: run the suite with ./tests/run");
    let table = format!("local-api-test-{}", std::process::id());
    let server = Server::start(&["--dynamodb-endpoint", &endpoint, "--table", &table]);
    let (status, body) = server.request(
        "POST",
        "/api/v1.0/customerGroups/reference/R1",
        Some("entity1-dev-token"),
        r#"{"name":"n"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.request(
        "GET",
        "/api/v1.0/customerGroups?reference=r*",
        Some("entity1-dev-token"),
        "",
    );
    assert_eq!((status, &body["paging"]["total"]), (200, &Value::from(1)));
}

/// Sends `raw` on a fresh connection; the whole answer, read until the server closes (or a
/// 10-second guard against a server that never does), and how long that took.
fn exchange(port: u16, raw: &[u8]) -> (String, std::time::Duration) {
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("guard");
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

fn json_error(answer: &str) -> (u16, Value) {
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn malformed_requests_get_json_errors_and_stalled_connections_close() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&["--data-dir", data_dir(dir.path()), "--read-timeout", "1"]);
    let auth = "Authorization: Bearer entity1-dev-token\r\n";
    let utf8 = format!("GET /api/v1.0/customers/\u{ff} HTTP/1.1\r\nHost: x\r\n{auth}\r\n");
    let (status, body) = json_error(&exchange(server.port, utf8.as_bytes()).0);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_param_type"))
    );
    for raw in [
        b"GET /api/v1.0/customers/\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /api/v1.0/customers/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"NOT HTTP\r\n\r\n".to_vec(),
    ] {
        let (answer, _) = exchange(server.port, &raw);
        let (status, body) = json_error(&answer);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{answer}"
        );
    }
    let huge = format!(
        "GET /api/v1.0/customers HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let (status, body) = json_error(&exchange(server.port, huge.as_bytes()).0);
    assert_eq!(
        (status, body["error"].as_str()),
        (431, Some("request_header_too_large"))
    );

    let (answer, took) = exchange(server.port, b"GET /api/v1.0/custo");
    assert_eq!(answer, "", "a head that stalls is dropped");
    assert!(
        took < std::time::Duration::from_secs(8),
        "closed by the read timeout, not the guard"
    );
    let stalled_body = format!(
        "POST /api/v1.0/customers HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100\r\n\r\nreference=a"
    );
    let (status, body) = json_error(&exchange(server.port, stalled_body.as_bytes()).0);
    assert_eq!((status, body["error"].as_str()), (408, Some("request_timeout")));

    let keep_alive = format!("GET /api/v1.0/customers HTTP/1.1\r\nHost: x\r\n{auth}\r\n");
    let (answer, took) = exchange(server.port, keep_alive.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < std::time::Duration::from_secs(8),
        "an idle connection is closed"
    );
    let (status, _) = server.request("GET", "/api/v1.0/customers", Some("entity1-dev-token"), "");
    assert_eq!(status, 200, "the server still serves");
}
