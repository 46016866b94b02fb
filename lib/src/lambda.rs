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
    let app = Arc::new(App::from_settings(&settings).await?);
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(operation, request).await) }
    }))
    .await
}
