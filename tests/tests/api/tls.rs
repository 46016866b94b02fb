//! TLS trust of the SDK clients, against an HTTPS server on loopback whose certificate authority
//! is made up for the test (`tests/tls_server.py`, with `cryptography` from the test venv).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use customer_api::aws::https_client;

/// The HTTPS server; killed when dropped.
struct TlsServer {
    child: Child,
    port: u16,
    authority: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run ./tests/run, which installs the test venv",
            python.display()
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let authority = dir.path().join("authority.pem");
        let mut child = Command::new(python)
            .arg(root.join("tests/tls_server.py"))
            .arg(&authority)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tests/tls_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("a port");
        TlsServer {
            child,
            port,
            authority,
            _dir: dir,
        }
    }

    /// Lists tables over HTTPS with a client trusting `ca_bundle` (or the compiled-in roots).
    async fn list_tables(&self, ca_bundle: Option<&Path>) -> Result<(), String> {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "test"))
            .http_client(https_client(ca_bundle).map_err(|e| e.to_string())?)
            .endpoint_url(format!("https://localhost:{}", self.port))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
            .list_tables()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_compiled_in_roots_refuse_a_certificate_from_another_authority() {
    let server = TlsServer::start();
    let error = server.list_tables(None).await.expect_err("must not trust it");
    assert!(
        error.contains("UnknownIssuer"),
        "expected an unknown-issuer certificate error, got {error}"
    );
}

#[tokio::test]
async fn a_ca_bundle_makes_its_authority_trusted() {
    let server = TlsServer::start();
    server
        .list_tables(Some(&server.authority))
        .await
        .expect("trusted through the bundle");
}

#[tokio::test]
async fn a_bundle_without_certificates_trusts_nothing() {
    let server = TlsServer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let outcome = server.list_tables(Some(&empty)).await;
    assert!(outcome.is_err(), "an empty trust store must not connect");
}
