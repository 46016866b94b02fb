//! Seeding organizations from a seed file (`infra/seed/reference-data.json`): their reference
//! data, and the root category each one names.

use crate::groups::{GroupFields, Groups};
use crate::reference_data::{ReferenceData, ReferenceDataStore};
use crate::store::RecordStore;

/// Stores every organization of a seed file, creating each root category that `groups` lacks;
/// returns how many organizations.
pub async fn organizations(
    store: &dyn ReferenceDataStore,
    groups: &dyn RecordStore<GroupFields>,
    seed_json: &str,
) -> Result<usize, String> {
    let orgs = ReferenceData::parse_seed(seed_json)?;
    for (org, data) in &orgs {
        if let Some(root) = &data.root_category {
            Groups::new(groups, org)
                .ensure(&root.reference, &root.name)
                .await
                .map_err(|e| format!("{}: root category {:?}: {e}", org.as_str(), root.reference))?;
        }
        store
            .put_reference_data(org, data)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(orgs.len())
}
