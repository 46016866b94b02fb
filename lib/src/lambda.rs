//! The Lambda entry point every function binary calls.

use std::convert::Infallible;
use std::sync::Arc;

use std::time::Instant;

use aws_config::SdkConfig;
use lambda_http::{Request, service_fn};

use crate::http::{App, Handler};
use crate::list::cursor::CursorKey;
use crate::logos::objects::Unavailable;
use crate::logos::{Logos, S3ObjectStore};
use crate::metrics;
use crate::routes::Operation;
use crate::settings::{LogoSettings, LogoStorage, Settings, StoreSettings};
use crate::store::DynamoStore;

/// An API function that never touches logos: builds its DynamoDB client once, then serves
/// `operation` with `handler`.
pub async fn serve(operation: Operation, handler: Handler) -> Result<(), lambda_http::Error> {
    let (settings, shared) = start().await?;
    let dynamodb = dynamodb_client(&settings, &shared);
    warm_up(settings.warm_up, Some(&dynamodb), None).await;
    let app = app(dynamo_store(dynamodb, &settings), Logos::unavailable(), settings);
    run_api(operation, handler, app).await
}

/// An API function that shows logo URLs (`LOGO_BASE_URL`) but never stores logos.
pub async fn serve_showing_logos(operation: Operation, handler: Handler) -> Result<(), lambda_http::Error> {
    let (settings, shared) = start().await?;
    let dynamodb = dynamodb_client(&settings, &shared);
    let logos = logo_settings(&settings)?;
    let logos = Logos::new(Arc::new(Unavailable), logos.base_url.clone());
    warm_up(settings.warm_up, Some(&dynamodb), None).await;
    let app = app(dynamo_store(dynamodb, &settings), logos, settings);
    run_api(operation, handler, app).await
}

/// An API function that stores or removes logos (`LOGO_BUCKET` and `LOGO_BASE_URL`).
pub async fn serve_storing_logos(operation: Operation, handler: Handler) -> Result<(), lambda_http::Error> {
    let (settings, shared) = start().await?;
    let dynamodb = dynamodb_client(&settings, &shared);
    let logos = logo_settings(&settings)?;
    let LogoStorage { bucket, endpoint } = &logos.storage;
    let s3 = crate::aws::s3_client(&shared, endpoint.as_deref());
    warm_up(settings.warm_up, Some(&dynamodb), Some((&s3, bucket))).await;
    let logos = Logos::new(
        Arc::new(S3ObjectStore::new(s3, bucket.clone())),
        logos.base_url.clone(),
    );
    let app = app(dynamo_store(dynamodb, &settings), logos, settings);
    run_api(operation, handler, app).await
}

/// The `api-document` function: serves the OpenAPI document, generated during init; no
/// settings, no AWS client.
pub async fn serve_document() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    crate::openapi::text();
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Infallible>(crate::http::document_response())
    }))
    .await
}

/// A function's app: its store and logos, the settings' claim and cursor key.
fn app(store: Arc<DynamoStore>, logos: Logos, settings: Settings) -> App {
    let app = App::new(store, Arc::new(logos), settings.org_claim);
    match settings.cursor_secret {
        Some(secret) => app.with_cursor_key(CursorKey::new(secret.as_bytes())),
        None => app,
    }
}

/// Logging, settings and the shared AWS configuration: what every API function starts with.
async fn start() -> Result<(Settings, SdkConfig), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    Ok((settings, crate::aws::sdk_config().await?))
}

fn dynamodb_client(settings: &Settings, shared: &SdkConfig) -> aws_sdk_dynamodb::Client {
    crate::aws::dynamodb_client(shared, settings.store.endpoint.as_deref())
}

fn dynamo_store(client: aws_sdk_dynamodb::Client, settings: &Settings) -> Arc<DynamoStore> {
    let StoreSettings { table, id_block, .. } = &settings.store;
    Arc::new(DynamoStore::new(client, table.clone(), *id_block))
}

/// Opens the function's connections during init ([`crate::aws::warm_up`]) when `enabled`
/// (`WARM_UP_CONNECTIONS`, default `true`).
async fn warm_up(
    enabled: bool,
    dynamodb: Option<&aws_sdk_dynamodb::Client>,
    s3: Option<(&aws_sdk_s3::Client, &str)>,
) {
    if enabled {
        crate::aws::warm_up(dynamodb, s3).await;
    }
}

fn logo_settings(settings: &Settings) -> Result<&LogoSettings, lambda_http::Error> {
    settings
        .logos
        .as_ref()
        .ok_or_else(|| "LOGO_BUCKET and LOGO_BASE_URL are required by the customer functions".into())
}

/// Serves `operation`, with one metrics line (EMF) per request.
async fn run_api(operation: Operation, handler: Handler, app: App) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move {
            let started = Instant::now();
            let request_id = crate::http::request_id(&request);
            let (response, tally) = metrics::tallied(app.handle_with(operation, handler, request)).await;
            metrics::emit(&metrics::request_line(
                operation.function_name(),
                response.status().as_u16(),
                started.elapsed(),
                &tally,
                &request_id,
            ));
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}

/// The resizer Lambda: builds its S3 client once, then resizes the originals of each S3 event.
/// Storage failures fail the invocation (Lambda retries it, then the on-failure destination
/// gets it); images that cannot be resized are logged and the invocation succeeds.
pub async fn serve_resizer() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{self, LambdaEvent};

    use crate::logos::resizer::Resizer;

    lambda_http::tracing::init_default_subscriber();
    let var = |name: &str| std::env::var(name).ok();
    let logos = Settings::resizer_from_vars(&var)?.ok_or("LOGO_BUCKET is required by the resizer")?;
    let warm = crate::settings::warm_up_from_vars(&var)?;
    let LogoStorage { bucket, endpoint } = &logos.storage;
    let shared = crate::aws::sdk_config().await?;
    let s3 = crate::aws::s3_client(&shared, endpoint.as_deref());
    warm_up(warm, None, Some((&s3, bucket))).await;
    let objects = Arc::new(S3ObjectStore::new(s3, bucket.clone()));
    let resizer = Arc::new(Resizer::new(objects, logos.boxes));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<aws_lambda_events::event::s3::S3Event>| {
            let resizer = Arc::clone(&resizer);
            async move {
                let started = Instant::now();
                let report = resizer.handle(event.payload).await?;
                metrics::emit(&metrics::resize_line(
                    started.elapsed(),
                    report.bytes_in,
                    report.bytes_out,
                    u32::try_from(report.rejected.len()).unwrap_or(u32::MAX),
                ));
                Ok::<_, lambda_http::Error>(report)
            }
        },
    ))
    .await
}
