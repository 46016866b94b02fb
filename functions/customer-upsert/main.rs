//! Lambda `customer-upsert`: Creates or updates the customer with a reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve_storing_logos(Operation::UpsertCustomer, handlers::UPSERT_CUSTOMER).await
}
