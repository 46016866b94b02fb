//! Lambda `customer-create`: Creates a customer.

use customer_api::{Operation, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::serve(Operation::CreateCustomer).await
}
