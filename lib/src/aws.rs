//! AWS SDK clients, configured once per process from the environment.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// A DynamoDB client from the default AWS configuration chain; `endpoint` points it at a local
/// DynamoDB API server instead, with dummy credentials and region when none are configured.
pub async fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
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

/// A DynamoDB client for a local DynamoDB API server, with fixed dummy credentials.
pub fn local_dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "local"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// An S3 client from the default AWS configuration chain; `endpoint` points it at a local S3 API
/// server instead (path-style addressing, dummy credentials when none are configured).
pub async fn s3_client(endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
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

/// An S3 client for a local S3 API server, with fixed dummy credentials.
pub fn local_s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "local", "local", None, None, "local",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
