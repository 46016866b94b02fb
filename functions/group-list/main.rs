//! Lambda `group-list`: Lists customer groups.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::ListGroups, handlers::LIST_GROUPS).await
}
