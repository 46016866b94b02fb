//! The Lambda entry point every function binary calls.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Request, service_fn};

use crate::http::App;
use crate::routes::Operation;
use crate::settings::Settings;

/// Configures logging, builds the app (and its SDK clients) once, then serves `operation`.
pub async fn serve(operation: Operation) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    if operation.uses_logos() && settings.logos.is_none() {
        return Err("LOGO_BUCKET and LOGO_BASE_URL are required by the customer functions".into());
    }
    let app = Arc::new(App::from_settings(&settings).await?);
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(operation, request).await) }
    }))
    .await
}

/// The resizer Lambda: builds its S3 client once, then resizes the originals of each S3 event.
/// Storage failures fail the invocation (Lambda retries it, then the on-failure destination
/// gets it); images that cannot be resized are logged and the invocation succeeds.
pub async fn serve_resizer() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{self, LambdaEvent};

    use crate::logos::resizer::Resizer;
    use crate::settings::LogoStorage;

    lambda_http::tracing::init_default_subscriber();
    let logos = Settings::resizer_from_vars(&|name| std::env::var(name).ok())?
        .ok_or("LOGO_BUCKET is required by the resizer")?;
    let LogoStorage::S3 { .. } = &logos.storage else {
        return Err("the resizer works on S3".into());
    };
    let resizer = Arc::new(Resizer::new(crate::http::object_store(&logos).await, logos.boxes));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<aws_lambda_events::event::s3::S3Event>| {
            let resizer = Arc::clone(&resizer);
            async move {
                resizer
                    .handle(event.payload)
                    .await
                    .map_err(lambda_http::Error::from)
            }
        },
    ))
    .await
}
