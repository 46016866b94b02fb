//! List cost on the DynamoDB adapter: items read per list request at two table sizes, with a
//! second tenant of the same size in the table. Read units are billed per item read, so this is
//! the cost model; the default page, a date range and a reference prefix must not grow with the
//! table.

use customer_api::customers::{CustomerFields, LIST_SPEC};
use customer_api::list::ListQuery;
use customer_api::model::{Organization, Record, Scope};
use customer_api::store::{DynamoStore, RecordStore};
use customer_api::time::Timestamp;
use customer_api::values::{Name, Reference};

use crate::Options;

const WORDS: [&str; 8] = [
    "Alpha", "Beta", "Cobalt", "Delta", "Amber", "Crab", "Echo", "Fable",
];
const BASE_SECONDS: i64 = 1_600_000_000;
/// Items read on top of the page: the count item and one look-ahead.
const SLACK: u64 = 2;

async fn seed(store: &DynamoStore, scope: &Scope<CustomerFields>, count: usize) -> Result<(), String> {
    let records = (0..count)
        .map(|i| {
            let fields = CustomerFields {
                name: Name::parse(&format!("{} {}", WORDS[i % WORDS.len()], i)).ok(),
                is_active: Some(i % 3 != 0),
                ..CustomerFields::default()
            };
            let created =
                Timestamp::from_unix_seconds(BASE_SECONDS + i as i64).unwrap_or_else(Timestamp::now);
            Ok(Record {
                id: i as u64 + 1,
                reference: Reference::parse(&format!("C-{i:06}")).map_err(|e| format!("{e:?}"))?,
                date_created: created,
                last_updated: created,
                fields,
                links: Vec::new(),
                version: 1,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    store.import(scope, &records).await.map_err(|e| e.to_string())
}

fn at(offset: usize) -> String {
    Timestamp::from_unix_seconds(BASE_SECONDS + offset as i64)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Runs the list-cost section and prints its table.
pub async fn run(options: &Options, endpoint: &str) -> Result<(), String> {
    let sizes: &[usize] = if options.quick {
        &[200, 1000]
    } else {
        &[1000, 10_000]
    };
    let mut rows: Vec<(String, bool, Vec<String>)> = Vec::new();
    for (column, &size) in sizes.iter().enumerate() {
        let client = customer_api::aws::local_dynamodb_client(endpoint);
        let table = format!("bench-list-{size}-{}", std::process::id());
        customer_api::store::dynamo::ensure_table(&client, &table)
            .await
            .map_err(|e| e.to_string())?;
        let store = DynamoStore::new(client, table, 100);
        let org = |name: &str| Organization::parse(name).ok_or("bad organization");
        let scope = Scope::new(&org("tenant-a")?);
        seed(&store, &scope, size).await?;
        seed(&store, &Scope::new(&org("tenant-b")?), size).await?;
        let offset = 5000.min(size / 2);
        let queries: Vec<(String, bool, String)> = vec![
            ("default page (100, by dateCreated)".into(), true, String::new()),
            (
                "deep offset: `offset=5000` (N/2 when N < 10,000)".into(),
                false,
                format!("offset={offset}"),
            ),
            (
                "`dateCreated` range holding 100".into(),
                true,
                format!(
                    "dateCreated_gte={}&dateCreated_lt={}",
                    at(size / 2),
                    at(size / 2 + 100)
                ),
            ),
            (
                "reference prefix `C-00012*` (10 matches)".into(),
                true,
                "reference=C-00012*".into(),
            ),
            ("name contains `*ab*`".into(), false, "name=*ab*".into()),
            ("sort by name".into(), false, "sort=name".into()),
        ];
        for (label, bounded, query) in queries {
            let parsed = ListQuery::parse(&LIST_SPEC, &query).map_err(|e| e.to_string())?;
            let page = store.list(&scope, &parsed).await.map_err(|e| e.to_string())?;
            let within = page.items_read <= page.records.len() as u64 + SLACK;
            let flag = if bounded && !within { " ⚠" } else { "" };
            let cell = format!("{} (page {}){flag}", page.items_read, page.records.len());
            match rows.iter_mut().find(|(l, _, _)| *l == label) {
                Some((_, _, cells)) => cells.push(cell),
                None => {
                    let mut cells = vec![String::new(); column];
                    cells.push(cell);
                    rows.push((label, bounded, cells));
                }
            }
        }
    }
    println!(
        "## List cost (DynamoDB adapter, local server; items read per request, a second tenant of the same size present)\n"
    );
    let header: Vec<String> = sizes.iter().map(|n| format!("{n} customers")).collect();
    println!("| list request | bounded? | {} |", header.join(" | "));
    println!("| --- | --- |{}", " --- |".repeat(sizes.len()));
    for (label, bounded, cells) in rows {
        let bound = if bounded { "≤ page + 2" } else { "grows" };
        println!("| {label} | {bound} | {} |", cells.join(" | "));
    }
    println!(
        "\nTarget: ≤ page + {SLACK} items for the default page, the date range and the reference prefix at every size. ⚠ marks a miss.\n"
    );
    Ok(())
}
