//! Prints the DynamoDB list cost table: items read per list request for N customers in one
//! organization (plus a second organization of the same size), on the DynamoDB API at
//! `TEST_DYNAMODB_ENDPOINT` (`./tests/run` starts one; see the README).
//!
//! Usage: `list-cost [N ...]` (default: 1000 10000).

use api_tests::fresh_table;
use customer_api::customers::LIST_SPEC;
use customer_api::list::ListQuery;
use customer_api::store::{DynamoStore, Kind, Organization, Record, RecordStore, Scope};
use customer_api::time::Timestamp;
use serde_json::{Map, json};

const WORDS: [&str; 8] = [
    "Alpha", "Beta", "Cobalt", "Delta", "Amber", "Crab", "Echo", "Fable",
];
const BASE_SECONDS: i64 = 1_600_000_000;

async fn seed(store: &DynamoStore, scope: &Scope, count: usize) {
    let records: Vec<Record> = (0..count)
        .map(|i| {
            let mut fields = Map::new();
            fields.insert("name".into(), json!(format!("{} {}", WORDS[i % WORDS.len()], i)));
            fields.insert("isActive".into(), json!(i % 3 != 0));
            let created = Timestamp::from_unix_seconds(BASE_SECONDS + i as i64).expect("time");
            Record {
                id: i as u64 + 1,
                reference: format!("C-{i:06}"),
                date_created: created,
                last_updated: created,
                fields,
                links: Vec::new(),
                dependents: 0,
            }
        })
        .collect();
    store.import(scope, &records).await.expect("import customers");
}

fn at(offset: usize) -> String {
    Timestamp::from_unix_seconds(BASE_SECONDS + offset as i64)
        .expect("time")
        .to_string()
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1000, 10000]
    } else {
        sizes
    };
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for (column, &size) in sizes.iter().enumerate() {
        let (client, table) = fresh_table().await;
        let store = DynamoStore::new(client, table, 100);
        let org = |name: &str| Organization::parse(name).expect("org");
        let scope = Scope::new(&org("tenant-a"), Kind::Customer);
        let started = std::time::Instant::now();
        seed(&store, &scope, size).await;
        seed(&store, &Scope::new(&org("tenant-b"), Kind::Customer), size).await;
        eprintln!("seeded 2 x {size} customers in {:.0?}", started.elapsed());
        let mid = size / 2;
        let queries = [
            ("default page (100, by dateCreated)", String::new()),
            ("deep offset (`offset=N/2`)", format!("offset={mid}")),
            (
                "`dateCreated` range holding 100",
                format!("dateCreated_gte={}&dateCreated_lt={}", at(mid), at(mid + 100)),
            ),
            (
                "reference prefix (`reference=C-00012*`, 10 matches)",
                "reference=C-00012*".to_owned(),
            ),
            ("name contains (`name=*ab*`)", "name=*ab*".to_owned()),
            ("sort by name", "sort=name".to_owned()),
            ("`isActive=false`", "isActive=false".to_owned()),
        ];
        for (label, query) in queries {
            let parsed = ListQuery::parse(&LIST_SPEC, &query).expect("query");
            let page = store.list(&scope, &parsed).await.expect("list");
            let cell = format!(
                "{} (total {}, page {})",
                page.items_read,
                page.total,
                page.records.len()
            );
            match rows.iter_mut().find(|(l, _)| l == label) {
                Some((_, cells)) => cells.push(cell),
                None => {
                    let mut cells = vec![String::new(); column];
                    cells.push(cell);
                    rows.push((label.to_owned(), cells));
                }
            }
        }
    }
    let header: Vec<String> = sizes.iter().map(|n| format!("{n} customers")).collect();
    println!("| list request | {} |", header.join(" | "));
    println!("| --- |{}", " --- |".repeat(sizes.len()));
    for (label, cells) in rows {
        println!("| {label} | {} |", cells.join(" | "));
    }
}
