//! Lambda `group-create`: Creates a customer group.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::CreateGroup, handlers::CREATE_GROUP).await
}
