//! Lambda `logo-resizer`: writes the `small_` and `medium_` variants of uploaded logos, on S3
//! "object created" events under `originals/`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    customer_api::lambda::serve_resizer().await
}
