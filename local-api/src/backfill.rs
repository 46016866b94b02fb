//! `backfill-index-keys`: gives every record item written before the `byLastUpdated`, `byName`
//! and `byActive` indexes their keys, so lists sorted or filtered on `lastUpdated`, `name` or
//! `isActive` see it — run once after deploying a template that adds the indexes (on AWS with the default credentials chain, or on a local
//! DynamoDB API server with `--endpoint`). Safe to rerun, and to run while the API serves.

use customer_api::store::DynamoStore;

const USAGE: &str = "usage: backfill-index-keys --table NAME [--endpoint URL]";

#[tokio::main]
async fn main() {
    let mut table = None;
    let mut endpoint = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--table", Some(value)) => table = Some(value),
            ("--endpoint", Some(value)) => endpoint = Some(value),
            _ => exit(USAGE),
        }
    }
    let Some(table) = table else { exit(USAGE) };
    let shared = customer_api::aws::sdk_config()
        .await
        .unwrap_or_else(|e| exit(&e.to_string()));
    let client = customer_api::aws::dynamodb_client(&shared, endpoint.as_deref());
    let store = DynamoStore::new(client, table.clone(), 1);
    match store.backfill_index_keys().await {
        Ok(count) => println!("wrote the index keys of {count} records in {table}"),
        Err(error) => exit(&error.to_string()),
    }
}

fn exit(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
