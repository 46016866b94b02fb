//! Lambda `customer-show`: Shows one customer, by id or reference.

use customer_api::http::handlers;
use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve_showing_logos(Operation::ShowCustomer, handlers::SHOW_CUSTOMER).await
}
