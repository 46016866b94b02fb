//! Lambda `group-show`: Shows one customer group, by id or reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::ShowGroup, handlers::SHOW_GROUP).await
}
