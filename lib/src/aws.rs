//! AWS SDK clients, configured once per process from the environment.
//!
//! Every client shares one HTTPS client: rustls on ring, trusting the Amazon Trust Services roots
//! compiled into the binary (every AWS service endpoint's certificate chains to one of them).
//! The SDK's default client instead parses the whole system certificate store at start-up, which
//! was 84% of a function's cold-start instructions. `AWS_CA_BUNDLE` (a PEM file, as for the AWS
//! CLI) replaces the compiled-in roots, e.g. behind a TLS-inspecting proxy.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

/// Amazon Root CA 1–4 and Starfield Services Root G2, as PEM.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The process could not set up its AWS clients.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct AwsSetupError(String);

/// The HTTPS client every SDK client of the process shares (built on first use).
pub fn http_client() -> Result<SharedHttpClient, AwsSetupError> {
    static CLIENT: OnceLock<Result<SharedHttpClient, AwsSetupError>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let bundle = std::env::var_os("AWS_CA_BUNDLE").map(std::path::PathBuf::from);
            https_client(bundle.as_deref())
        })
        .clone()
}

/// An HTTPS client trusting the roots in the PEM file `ca_bundle`, or the compiled-in Amazon
/// Trust Services roots.
pub fn https_client(ca_bundle: Option<&std::path::Path>) -> Result<SharedHttpClient, AwsSetupError> {
    let roots = match ca_bundle {
        Some(path) => std::fs::read(path)
            .map_err(|e| AwsSetupError(format!("AWS_CA_BUNDLE {}: {e}", path.display())))?,
        None => AMAZON_TRUST_SERVICES.to_vec(),
    };
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(roots))
        .build()
        .map_err(|e| AwsSetupError(format!("TLS set-up: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

/// The shared AWS configuration, with the process's HTTPS client. Credentials and region come
/// from the environment when it has them, as Lambda sets it (`AWS_ACCESS_KEY_ID`, `AWS_REGION`);
/// only otherwise from the rest of the default chain (profiles, web identity, ECS, IMDS), whose
/// set-up alone (an STS client) was a third of a function's remaining start-up instructions.
pub async fn sdk_config() -> Result<SdkConfig, AwsSetupError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()?);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region));
    }
    Ok(loader.load().await)
}

/// A DynamoDB client that meters the capacity its calls consume ([`crate::metrics`]);
/// `endpoint` points it at a local DynamoDB API server instead, with dummy credentials and region
/// when none are configured.
pub fn dynamodb_client(shared: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut config =
        aws_sdk_dynamodb::config::Builder::from(shared).interceptor(crate::metrics::CapacityMeter);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
        if shared.credentials_provider().is_none() || std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            config = config.credentials_provider(Credentials::new("local", "local", None, None, "local"));
        }
        if shared.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// An S3 client; `endpoint` points it at a local S3 API server instead (path-style addressing,
/// dummy credentials and region when none are configured).
pub fn s3_client(shared: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut config = aws_sdk_s3::config::Builder::from(shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
        if shared.credentials_provider().is_none() || std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            config = config.credentials_provider(aws_sdk_s3::config::Credentials::new(
                "local", "local", None, None, "local",
            ));
        }
        if shared.region().is_none() {
            config = config.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

/// How long init may wait for the warm-up connections; an unreachable endpoint costs no more.
pub const WARM_UP_BUDGET: Duration = Duration::from_millis(800);

/// The S3 key a warm-up asks for (it never exists; the answer, 403 or 404, is not used).
const WARM_UP_KEY: &str = "originals/.connection-warm-up";

/// Opens the connections the first request will use, during init, where Lambda gives the
/// function a full CPU burst instead of billing the TLS handshake to the first request: a
/// `DescribeEndpoints` to DynamoDB (no table is read, so a briefly unavailable table never fails
/// the init) and, given a bucket, a `HeadObject` of a key that never exists to S3. Both run at
/// once, within [`WARM_UP_BUDGET`]; whatever they answer is ignored, only the pooled connection
/// matters.
pub async fn warm_up(dynamodb: Option<&aws_sdk_dynamodb::Client>, s3: Option<(&aws_sdk_s3::Client, &str)>) {
    let dynamodb = async {
        if let Some(client) = dynamodb {
            let outcome = tokio::time::timeout(WARM_UP_BUDGET, client.describe_endpoints().send()).await;
            tracing::debug!(ok = matches!(outcome, Ok(Ok(_))), "DynamoDB connection warm-up");
        }
    };
    let s3 = async {
        if let Some((client, bucket)) = s3 {
            let outcome = tokio::time::timeout(
                WARM_UP_BUDGET,
                client.head_object().bucket(bucket).key(WARM_UP_KEY).send(),
            )
            .await;
            tracing::debug!(answered = outcome.is_ok(), "S3 connection warm-up");
        }
    };
    tokio::join!(dynamodb, s3);
}

/// Configuration for a local DynamoDB/S3 API server: fixed region and dummy credentials, plain
/// HTTP (no TLS set-up at all).
fn local_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new("local", "local", None, None, "local"),
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .endpoint_url(endpoint)
        .build()
}

/// A DynamoDB client for a local DynamoDB API server, with fixed dummy credentials.
pub fn local_dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_config(endpoint))
}

/// An S3 client for a local S3 API server, with fixed dummy credentials.
pub fn local_s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&local_config(endpoint))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_trust_services_certificates() {
        let pem = String::from_utf8_lossy(AMAZON_TRUST_SERVICES);
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(https_client(None).is_ok());
    }

    #[test]
    fn an_unreadable_ca_bundle_is_a_clear_set_up_error() {
        let error = https_client(Some(std::path::Path::new("/nonexistent/bundle.pem")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("AWS_CA_BUNDLE /nonexistent/bundle.pem: "),
            "{error}"
        );
    }
}
