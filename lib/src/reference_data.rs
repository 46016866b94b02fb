//! Per-organization reference data: the organization's currency and configured currencies, its
//! payment types, customer segmentations, users and regions. Seeded from
//! `infra/seed/reference-data.json`, stored beside the customers, cached briefly in each process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::model::{Organization, StoreError};

/// The seed file, compiled in (`local-api` and the tests seed from it).
pub const SEED_JSON: &str = include_str!("../../infra/seed/reference-data.json");

/// An entry with an id, a reference and a name (payment type, segmentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// Numeric id.
    pub id: u64,
    /// External id.
    pub reference: String,
    /// Display name.
    pub name: String,
}

/// A user who can create customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id.
    pub id: u64,
    /// External id.
    pub reference: String,
}

/// A geographical region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Numeric id.
    pub id: u64,
    /// Display name.
    pub name: String,
}

/// The category customers join when they are created without one (the reference's "root
/// customer category"): a group of the organization, created by seeding when missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCategory {
    /// The group's reference.
    pub reference: String,
    /// Its name, when seeding creates it.
    pub name: String,
}

/// One organization's reference data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceData {
    /// The organization's own currency (the default of new customers).
    #[serde(default)]
    pub currency: Option<String>,
    /// Currencies configured (with an exchange rate) for the organization.
    #[serde(default)]
    pub currencies: Vec<String>,
    /// Payment types.
    #[serde(default)]
    pub payment_types: Vec<Named>,
    /// Customer segmentations.
    #[serde(default)]
    pub segmentations: Vec<Named>,
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Regions.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// The root customer category, if the organization has one.
    #[serde(default)]
    pub root_category: Option<RootCategory>,
}

impl ReferenceData {
    /// Every organization's reference data in a seed file (`{ "org": { ... } }`).
    pub fn parse_seed(text: &str) -> Result<Vec<(Organization, ReferenceData)>, String> {
        let seed: HashMap<String, ReferenceData> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut orgs = seed
            .into_iter()
            .map(|(org, data)| {
                Organization::parse(&org)
                    .map(|org| (org, data))
                    .ok_or_else(|| format!("bad organization {org:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        orgs.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(orgs)
    }
}

/// Where reference data is kept.
#[async_trait]
pub trait ReferenceDataStore: Send + Sync {
    /// The organization's reference data, if any was stored.
    async fn reference_data(&self, org: &Organization) -> Result<Option<ReferenceData>, StoreError>;

    /// Replaces the organization's reference data.
    async fn put_reference_data(&self, org: &Organization, data: &ReferenceData) -> Result<(), StoreError>;
}

/// How long a process reuses reference data it has read.
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// A per-process cache of reference data (it changes only when seeded).
pub struct ReferenceCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<ReferenceData>)>>,
}

impl ReferenceCache {
    /// A cache keeping entries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        ReferenceCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The organization's reference data (empty when none is stored).
    pub async fn get(
        &self,
        store: &dyn ReferenceDataStore,
        org: &Organization,
    ) -> Result<Arc<ReferenceData>, StoreError> {
        if let Some((at, data)) = self.entries.lock().await.get(org.as_str()) {
            if at.elapsed() < self.ttl {
                return Ok(Arc::clone(data));
            }
        }
        let data = Arc::new(store.reference_data(org).await?.unwrap_or_default());
        self.entries
            .lock()
            .await
            .insert(org.as_str().to_owned(), (Instant::now(), Arc::clone(&data)));
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_file_holds_the_demo_tenants() {
        let orgs = ReferenceData::parse_seed(SEED_JSON).expect("valid seed");
        let names: Vec<&str> = orgs.iter().map(|(org, _)| org.as_str()).collect();
        assert_eq!(names, ["entity1", "entity2"]);
        let entity1 = &orgs[0].1;
        assert_eq!(entity1.currency.as_deref(), Some("EUR"));
        assert_eq!(entity1.currencies, ["EUR", "USD"]);
        assert_eq!(
            entity1.payment_types.iter().map(|p| p.id).collect::<Vec<_>>(),
            [7, 8]
        );
        assert_eq!(entity1.users[0].reference, "emp-002");
        assert_eq!(
            entity1
                .regions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["California", "New York"]
        );
    }
}
