//! An app as `local-api` runs it: the embedded store or a DynamoDB endpoint, logos in a
//! directory with the resizer run after each upload.

use std::path::PathBuf;
use std::sync::Arc;

use customer_api::http::Store;
use customer_api::list::cursor::CursorKey;
use customer_api::logos::Logos;
use customer_api::logos::resize::VariantBoxes;
use customer_api::settings::{DEFAULT_ORG_CLAIM, MIN_CURSOR_SECRET};
use customer_api::store::{DynamoStore, dynamo};
use customer_api::{App, reference_data, seed};

use crate::{DirObjectStore, EmbeddedStore, MemoryStore, ResizeOnPut};

/// Where `local-api` keeps records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalStore {
    /// The embedded store in a data directory.
    Embedded {
        /// The data directory.
        dir: PathBuf,
    },
    /// The in-memory store, gone when the process ends.
    Memory,
    /// A DynamoDB table on a local DynamoDB API server (created from `infra/table.json` if missing).
    Dynamo {
        /// Table name.
        table: String,
        /// Endpoint URL.
        endpoint: String,
    },
}

impl std::fmt::Display for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalStore::Embedded { dir } => write!(f, "embedded store in {}", dir.display()),
            LocalStore::Memory => f.write_str("in-memory store, gone on exit"),
            LocalStore::Dynamo { table, endpoint } => write!(f, "DynamoDB table {table} at {endpoint}"),
        }
    }
}

/// The app over `store`, with logos in `objects` served under `logo_base_url`, and every
/// organization of the seed file's reference data stored.
pub async fn local_app(store: &LocalStore, objects: PathBuf, logo_base_url: String) -> Result<App, String> {
    let store: Arc<dyn Store> = match store {
        LocalStore::Embedded { dir } => Arc::new(EmbeddedStore::open(dir).map_err(|e| e.to_string())?),
        LocalStore::Memory => Arc::new(MemoryStore::new()),
        LocalStore::Dynamo { table, endpoint } => {
            let client = customer_api::aws::local_dynamodb_client(endpoint);
            dynamo::ensure_table(&client, table)
                .await
                .map_err(|e| e.to_string())?;
            Arc::new(DynamoStore::new(client, table.clone(), 1))
        }
    };
    let seeded = seed::organizations(store.as_ref(), store.as_ref(), reference_data::SEED_JSON).await?;
    tracing::info!(
        organizations = seeded,
        "reference data seeded from infra/seed/reference-data.json"
    );
    let objects = ResizeOnPut::new(Arc::new(DirObjectStore::new(objects)), VariantBoxes::default());
    let logos = Logos::new(Arc::new(objects), logo_base_url);
    let app = App::new(store, Arc::new(logos), DEFAULT_ORG_CLAIM);
    // Cursors outlive a restart only with a configured key (else each run seals its own).
    Ok(match std::env::var("CURSOR_SECRET") {
        Ok(secret) if secret.len() >= MIN_CURSOR_SECRET => {
            app.with_cursor_key(CursorKey::new(secret.as_bytes()))
        }
        _ => app,
    })
}
