//! Lambda `api-document`: serves the OpenAPI document at `GET /api/v1.0/openapi.json`. Its own
//! function, so that no other function generates or carries the document at init.

use customer_api::lambda;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve_document().await
}
