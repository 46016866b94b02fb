//! The cold-start baseline: a hello-world `lambda_runtime` function, built with the same profile
//! as the real functions.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
