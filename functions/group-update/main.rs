//! Lambda `group-update`: Updates a customer group, by id or reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::UpdateGroup, handlers::UPDATE_GROUP).await
}
