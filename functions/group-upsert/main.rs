//! Lambda `group-upsert`: Creates or updates the customer group with a reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::UpsertGroup, handlers::UPSERT_GROUP).await
}
