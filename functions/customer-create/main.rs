//! Lambda `customer-create`: Creates a customer.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve_storing_logos(Operation::CreateCustomer, handlers::CREATE_CUSTOMER).await
}
