//! List cost as tenants grow, on both adapters, with a second tenant of the same size in the
//! store: items read per list request (read units are billed per item read on DynamoDB), the
//! records the store held at once, and the peak memory the request added to this process. The
//! default page, a date range and a reference prefix must read no more than the page on
//! DynamoDB; every request must hold a bounded number of records and bounded memory.

use customer_api::customers::{CustomerFields, LIST_SPEC};
use customer_api::list::cursor::{Cursor, CursorKey, Sealer};
use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use customer_api::list::{IdSet, ListQuery};
use customer_api::model::{Organization, Record, Scope};
use customer_api::store::{DynamoStore, ListPage, RecordStore};
use customer_api::time::Timestamp;
use customer_api::values::{LongText, Name, Reference, ShortText};
use local_api::EmbeddedStore;

use crate::Options;

const WORDS: [&str; 8] = [
    "Alpha", "Beta", "Cobalt", "Delta", "Amber", "Crab", "Echo", "Fable",
];
const BASE_SECONDS: i64 = 1_600_000_000;
/// The customers are spread over this many groups (ids 1 to 8).
const GROUPS: u64 = 8;
/// Items read on top of the page: the count item and one look-ahead.
const SLACK: u64 = 2;
/// Target: the bytes a narrow read reads, as a share (%) of the tenant's whole items.
const NARROW_TARGET: f64 = 15.0;
/// Target: the memory one list request adds, in MB, at any tenant size.
const MEMORY_TARGET_MB: f64 = 32.0;

fn records(count: usize) -> Result<Vec<Record<CustomerFields>>, String> {
    (0..count)
        .map(|i| {
            let fields = CustomerFields {
                name: Name::parse(&format!("{} {}", WORDS[i % WORDS.len()], i)).ok(),
                is_active: Some(i % 3 != 0),
                category_id: Some(1 + i as u64 % GROUPS),
                // What a customer record typically holds, about 1.5 KB as stored.
                email: short(&format!("accounts.payable{i}@example-customer.com")),
                phone: short("+33 4 93 00 00 00"),
                mobile: short("+33 6 12 34 56 78"),
                billing_country: short("FR"),
                billing_city: short("Nice"),
                billing_postal_code: short("06000"),
                billing_address: short(&format!("{i} promenade des Anglais, Bâtiment B, 3e étage")),
                country: short("FR"),
                city: short("Nice"),
                postal_code: short("06000"),
                address: short(&format!("{i} avenue Jean Médecin")),
                website: short(&format!("https://www.customer-{i}.example.com")),
                tax_number: short(&format!("FR{:011}", i)),
                company_registration_number: short(&format!("{:09} RCS Nice", i)),
                comment: LongText::new(&"Delivery between 8:00 and 12:00 at the back entrance; call the store manager on arrival. ".repeat(8)).ok().flatten(),
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
        .collect()
}

fn short(text: &str) -> Option<ShortText> {
    ShortText::new(text).ok().flatten()
}

fn at(offset: usize) -> String {
    Timestamp::from_unix_seconds(BASE_SECONDS + offset as i64)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// What a list request reads on DynamoDB.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    /// The page and at most two more items, at any tenant size (a target).
    Page,
    /// The page, then the keys of the rest of the matching range (a keys-only index) to count
    /// `total`: items read stay within the page; keys grow with the matches, not the tenant.
    PageAndKeys,
    /// The offset, or the tenant: grows.
    Grows,
    /// The tenant's narrow `byName` entries, then what the page needs: at most 15% of the bytes
    /// of the tenant's whole items from 10,000 customers on (below that a page alone is over 1%).
    Narrow,
}

/// One list request of the table: its label, what DynamoDB reads for it, and its query string
/// at tenant size `n`.
struct Request {
    label: &'static str,
    reads: Reads,
    query: fn(usize) -> String,
    /// The groups a `categoryReference` filter of `query` matches (as the customers resource
    /// resolves it before the store sees the query).
    groups: &'static [u64],
    /// For a cursor page: how deep it starts at tenant size `n` (the cursor names the record at
    /// that depth of `query`'s order, as the `next` link of the page before would).
    depth: Option<fn(usize) -> usize>,
}

const REQUESTS: &[Request] = &[
    Request {
        label: "default page (100, by dateCreated)",
        reads: Reads::Page,
        query: |_| String::new(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "deep offset: `offset=5000` (N/2 when N < 10,000)",
        reads: Reads::Grows,
        query: |n| format!("offset={}", 5000.min(n / 2)),
        depth: None,
        groups: &[],
    },
    Request {
        label: "cursor at the same depth (`paging=cursor`, the `next` link of the page before)",
        reads: Reads::Page,
        query: |_| "sort=dateCreated&order=asc".into(),
        depth: Some(|n| 5000.min(n / 2)),
        groups: &[],
    },
    Request {
        label: "cursor at that depth, by name, descending",
        reads: Reads::Page,
        query: |_| "sort=name&order=desc".into(),
        depth: Some(|n| 5000.min(n / 2)),
        groups: &[],
    },
    Request {
        label: "`dateCreated` range holding 100",
        reads: Reads::Page,
        query: |n| format!("dateCreated_gte={}&dateCreated_lt={}", at(n / 2), at(n / 2 + 100)),
        depth: None,
        groups: &[],
    },
    Request {
        label: "`lastUpdated` range holding 100, in that order",
        reads: Reads::Page,
        query: |n| {
            format!(
                "lastUpdated_gte={}&lastUpdated_lt={}&sort=lastUpdated",
                at(n / 2),
                at(n / 2 + 100)
            )
        },
        depth: None,
        groups: &[],
    },
    Request {
        label: "reference prefix `C-00012*` (10 matches)",
        reads: Reads::Page,
        query: |_| "reference=C-00012*".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "reference contains `*-0001*`",
        reads: Reads::Narrow,
        query: |_| "reference=*-0001*".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "name prefix `Alpha*`, by name",
        reads: Reads::PageAndKeys,
        query: |_| "name=Alpha*&sort=name".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "`categoryReference` matching one group (1/8 of the customers)",
        reads: Reads::PageAndKeys,
        query: |_| "categoryReference=G-1".into(),
        depth: None,
        groups: &[1],
    },
    Request {
        label: "`categoryReference` matching two groups (1/4 of the customers)",
        reads: Reads::PageAndKeys,
        query: |_| "categoryReference=G-*".into(),
        depth: None,
        groups: &[1, 2],
    },
    Request {
        label: "`categoryReference` matching two groups, by name",
        reads: Reads::Grows,
        query: |_| "categoryReference=G-*&sort=name".into(),
        depth: None,
        groups: &[1, 2],
    },
    Request {
        label: "name contains `*ab*`",
        reads: Reads::Narrow,
        query: |_| "name=*ab*".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "`isActive=false`",
        reads: Reads::PageAndKeys,
        query: |_| "isActive=false".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "sort by name",
        reads: Reads::Page,
        query: |_| "sort=name".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "sort by reference, descending",
        reads: Reads::Page,
        query: |_| "sort=reference&order=desc".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "`lastUpdated` from the middle on (N/2 matches), by lastUpdated",
        reads: Reads::PageAndKeys,
        query: |n| format!("lastUpdated_gte={}&sort=lastUpdated", at(n / 2)),
        depth: None,
        groups: &[],
    },
    Request {
        label: "`isActive=true`, by name",
        reads: Reads::Grows,
        query: |_| "isActive=true&sort=name".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "name contains `*ab*` and `isActive=true`",
        reads: Reads::Grows,
        query: |_| "name=*ab*&isActive=true".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "reference contains `*-0001*`, by name, descending",
        reads: Reads::Narrow,
        query: |_| "reference=*-0001*&sort=name&order=desc".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "sort by id",
        reads: Reads::Narrow,
        query: |_| "sort=id".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "sort by another field (`city`)",
        reads: Reads::Grows,
        query: |_| "sort=city".into(),
        depth: None,
        groups: &[],
    },
    Request {
        label: "sort by lastUpdated, descending",
        reads: Reads::Page,
        query: |_| "sort=lastUpdated&order=desc".into(),
        depth: None,
        groups: &[],
    },
];

/// Runs `list` and returns its page with the peak heap it added, in MB (the heap's peak is
/// reset to what is in use first).
async fn measured<Fut>(list: Fut) -> Result<(ListPage<CustomerFields>, f64), String>
where
    Fut: std::future::Future<Output = Result<ListPage<CustomerFields>, String>>,
{
    crate::HEAP.reset_peak_usage();
    let before = crate::HEAP.current_usage();
    let page = list.await?;
    let added = crate::HEAP.peak_usage().saturating_sub(before);
    Ok((page, added as f64 / (1024.0 * 1024.0)))
}

/// DynamoDB's size of an item, as it bills reads: attribute names plus values (strings in UTF-8
/// bytes, numbers about a byte per two digits, lists and maps 3 bytes plus 1 per element).
fn item_bytes(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_bytes(value))
        .sum()
}

fn value_bytes(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(text) => text.len() as u64,
        AttributeValue::N(number) => number.len() as u64 / 2 + 1,
        AttributeValue::B(bytes) => bytes.as_ref().len() as u64,
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_bytes(v) + 1).sum::<u64>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() as u64 + value_bytes(v) + 1)
                .sum::<u64>()
        }
        _ => 1,
    }
}

/// The mean size of `index`'s entries of `scope` (reading them all once, outside the figures).
async fn mean_entry(client: &Client, table: &str, index: &str, scope: &str) -> Result<f64, String> {
    let (mut count, mut bytes, mut start) = (0u64, 0u64, None);
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", "scope")
            .expression_attribute_values(":p", AttributeValue::S(scope.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        for item in out.items() {
            count += 1;
            bytes += item_bytes(item);
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(bytes as f64 / count.max(1) as f64);
        }
    }
}

/// Mean entry sizes on DynamoDB: a whole item, and a keys-only (or narrow) index entry.
#[derive(Clone, Copy)]
struct EntrySizes {
    item: f64,
    key: f64,
}

/// One adapter's table: a row per request, a cell per tenant size.
struct Table {
    title: String,
    sizes: Vec<usize>,
    cells: Vec<Vec<String>>,
    /// Whether the adapter has indexes, so index-backed rows must read at most the page.
    indexed: bool,
}

impl Table {
    fn new(title: String, sizes: &[usize], indexed: bool) -> Self {
        Table {
            title,
            sizes: sizes.to_vec(),
            cells: REQUESTS.iter().map(|_| Vec::new()).collect(),
            indexed,
        }
    }

    async fn measure(
        &mut self,
        store: &dyn RecordStore<CustomerFields>,
        scope: &Scope<CustomerFields>,
        size: usize,
        entries: Option<EntrySizes>,
    ) -> Result<(), String> {
        for (request, cells) in REQUESTS.iter().zip(&mut self.cells) {
            let mut query = match request.depth {
                None => ListQuery::parse(&LIST_SPEC, &(request.query)(size)).map_err(|e| e.to_string())?,
                Some(depth) => cursor_query(request, depth(size), size, scope)?,
            };
            if query.take_linked("categoryReference").is_some() {
                query.id_sets.push(IdSet {
                    name: "categoryReference",
                    id: |c| c.category_id,
                    ids: request.groups.to_vec(),
                });
            }
            let (page, added_mb) =
                measured(async { store.list(scope, &query).await.map_err(|e| e.to_string()) }).await?;
            // A cursor-paged read returns one record beyond the page, to know whether more follow.
            let shown = (page.records.len() as u64).min(query.cursor.map_or(u64::MAX, |c| c.page));
            let reads_flag = if self.indexed
                && matches!(request.reads, Reads::Page | Reads::PageAndKeys)
                && page.items_read > shown + SLACK
            {
                " ⚠"
            } else {
                ""
            };
            let bound = (2 * (query.offset + query.max)).max(64);
            let held_flag = if page.held > bound { " ⚠" } else { "" };
            let memory_flag = if added_mb > MEMORY_TARGET_MB { " ⚠" } else { "" };
            let keys = match page.keys_read {
                0 => String::new(),
                keys => format!(" + {keys} keys"),
            };
            let bytes = match entries {
                Some(EntrySizes { item, key }) => {
                    let read = page.items_read as f64 * item + page.keys_read as f64 * key;
                    let share = 100.0 * read / (size as f64 * item);
                    let flag = match request.reads == Reads::Narrow && size >= 10_000 && share > NARROW_TARGET
                    {
                        true => " ⚠",
                        false => "",
                    };
                    format!(" · {share:.1}%{flag}")
                }
                None => String::new(),
            };
            cells.push(format!(
                "{} ({shown}){keys}{reads_flag} · {}{held_flag} · {added_mb:.1}{memory_flag}{bytes}",
                page.items_read, page.held
            ));
        }
        Ok(())
    }

    fn print(&self) {
        println!("### {}\n", self.title);
        let header: Vec<String> = self.sizes.iter().map(|n| format!("{n} customers")).collect();
        println!("| list request | reads | {} |", header.join(" | "));
        println!("| --- | --- |{}", " --- |".repeat(self.sizes.len()));
        for (request, cells) in REQUESTS.iter().zip(&self.cells) {
            let bound = match (self.indexed, request.reads) {
                (true, Reads::Page) => "≤ page + 2",
                (true, Reads::PageAndKeys) => "≤ page + 2, + keys of the matches",
                (true, Reads::Grows) => "grows",
                (true, Reads::Narrow) => "narrow, ≤ 15% of the bytes",
                (false, _) => "all",
            };
            println!("| {} | {bound} | {} |", request.label, cells.join(" | "));
        }
        println!();
    }
}

/// The query a `next` link at `depth` of `request`'s order sends: a cursor naming the record
/// at that depth.
fn cursor_query(
    request: &Request,
    depth: usize,
    size: usize,
    scope: &Scope<CustomerFields>,
) -> Result<ListQuery<CustomerFields>, String> {
    let sealed = (request.query)(size);
    let order = ListQuery::parse(&LIST_SPEC, &sealed).map_err(|e| e.to_string())?;
    let mut all = records(size)?;
    all.sort_by(|a, b| order.compare(a, b));
    let last_seen = all
        .get(depth.saturating_sub(1))
        .ok_or("no record at that depth")?;
    let key = CursorKey::random();
    let sealer = Sealer {
        key: &key,
        org: scope.org(),
        resource: "customers",
    };
    let cursor = Cursor {
        query: sealed,
        backward: false,
        key: order.cursor_key(last_seen).ok_or("a sort no cursor serves")?,
    };
    let text = format!("cursor={}", sealer.seal(&cursor));
    ListQuery::parse_paged(&LIST_SPEC, &text, &sealer).map_err(|e| e.to_string())
}

fn organization(name: &str) -> Result<Scope<CustomerFields>, String> {
    Organization::parse(name)
        .map(|org| Scope::new(&org))
        .ok_or_else(|| format!("bad organization {name}"))
}

/// Runs the list-cost section and prints its tables.
pub async fn run(options: &Options, endpoint: &str) -> Result<(), String> {
    let (embedded_sizes, dynamo_sizes): (&[usize], &[usize]) = if options.quick {
        (&[200, 1000], &[200, 1000])
    } else {
        (&[1000, 10_000, 100_000], &[1000, 10_000, 30_000])
    };
    println!(
        "## List cost (items read (page) + index keys read · records held at once · peak heap the request added, MB · on DynamoDB, bytes read as a share of the tenant's whole items; a second tenant of the same size present)\n"
    );
    let mut embedded = Table::new(
        "Embedded store (`local-api`): no indexes, every list reads the tenant".into(),
        embedded_sizes,
        false,
    );
    for &size in embedded_sizes {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let store = EmbeddedStore::open_without_fsync(dir.path()).map_err(|e| e.to_string())?;
        let scope = organization("tenant-a")?;
        store
            .import(&scope, records(size)?)
            .await
            .map_err(|e| e.to_string())?;
        store
            .import(&organization("tenant-b")?, records(size)?)
            .await
            .map_err(|e| e.to_string())?;
        embedded.measure(&store, &scope, size, None).await?;
    }
    embedded.print();

    let mut dynamo = Table::new("DynamoDB adapter (local server)".into(), dynamo_sizes, true);
    for &size in dynamo_sizes {
        let client = customer_api::aws::local_dynamodb_client(endpoint);
        let table = format!("bench-list-{size}-{}", std::process::id());
        customer_api::store::dynamo::ensure_table(&client, &table)
            .await
            .map_err(|e| e.to_string())?;
        let store = DynamoStore::new(client.clone(), table.clone(), 100);
        let scope = organization("tenant-a")?;
        store
            .import(&scope, &records(size)?)
            .await
            .map_err(|e| e.to_string())?;
        store
            .import(&organization("tenant-b")?, &records(size)?)
            .await
            .map_err(|e| e.to_string())?;
        let entries = EntrySizes {
            item: mean_entry(&client, &table, "byDateCreated", &scope.key()).await?,
            key: mean_entry(&client, &table, "byName", &scope.key()).await?,
        };
        if size == dynamo_sizes[0] {
            println!(
                "Mean sizes on DynamoDB: a customer item {:.0} bytes, a `byName` entry (keys, name, reference) {:.0} bytes.\n",
                entries.item, entries.key
            );
        }
        dynamo.measure(&store, &scope, size, Some(entries)).await?;
    }
    dynamo.print();
    println!(
        "Targets: on DynamoDB, ≤ page + {SLACK} items for the rows marked so, at every size, and ≤ {NARROW_TARGET}% of the tenant's bytes for narrow reads from 10,000 customers on; on both, at most max(2 × (offset + max), 64) records held and ≤ {MEMORY_TARGET_MB} MB added by one request. ⚠ marks a miss.\n"
    );
    Ok(())
}
