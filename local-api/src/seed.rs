//! `seed-reference-data`: writes each organization's reference data from a seed file (default
//! `infra/seed/reference-data.json`) into a DynamoDB table — on AWS with the default credentials
//! chain, or on a local DynamoDB API server with `--endpoint`.

use customer_api::reference_data;
use customer_api::store::DynamoStore;

const USAGE: &str = "usage: seed-reference-data --table NAME [--endpoint URL] [--file SEED.json]";

#[tokio::main]
async fn main() {
    let mut table = None;
    let mut endpoint = None;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--table", Some(value)) => table = Some(value),
            ("--endpoint", Some(value)) => endpoint = Some(value),
            ("--file", Some(value)) => file = Some(value),
            _ => exit(USAGE),
        }
    }
    let Some(table) = table else { exit(USAGE) };
    let seed = match &file {
        Some(path) => std::fs::read_to_string(path).unwrap_or_else(|e| exit(&format!("{path}: {e}"))),
        None => reference_data::SEED_JSON.to_owned(),
    };
    let shared = customer_api::aws::sdk_config()
        .await
        .unwrap_or_else(|e| exit(&e.to_string()));
    let client = customer_api::aws::dynamodb_client(&shared, endpoint.as_deref());
    if endpoint.is_some() {
        if let Err(error) = customer_api::store::dynamo::ensure_table(&client, &table).await {
            exit(&error.to_string());
        }
    }
    let store = DynamoStore::new(client, table.clone(), 1);
    match customer_api::seed::organizations(&store, &store, &seed).await {
        Ok(count) => println!("seeded reference data of {count} organizations into {table}"),
        Err(error) => exit(&error),
    }
}

fn exit(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
