//! Lambda `group-delete`: Deletes a customer group, by id or reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::DeleteGroup, handlers::DELETE_GROUP).await
}
