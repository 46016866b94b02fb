//! The peer baseline: an API Gateway function that reads one DynamoDB item per request, written
//! the way AWS's Rust examples write it (`aws_config::load_defaults`, the SDK's default HTTPS
//! client, the client built once in `main`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    run(service_fn(|request: Request| get_item(&client, &table, request))).await
}

async fn get_item(client: &Client, table: &str, request: Request) -> Result<Response<Body>, Error> {
    let id = request
        .path_parameters_ref()
        .and_then(|params| params.first("id"))
        .unwrap_or("1")
        .to_owned();
    let item = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("peer#{id}")))
        .key("sk", AttributeValue::S("item".to_owned()))
        .send()
        .await?;
    let body = serde_json::json!({"id": id, "found": item.item.is_some()});
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string().into())?)
}
