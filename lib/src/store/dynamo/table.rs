//! The table definition from `infra/table.json`, the one source for tests, local tooling and
//! `template.yaml`, and creating the table from it.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use serde::Deserialize;

use crate::model::StoreError;

/// `infra/table.json`, compiled in.
pub const TABLE_JSON: &str = include_str!("../../../../infra/table.json");

/// The table's keys and indexes, in CloudFormation's property names.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    /// Typed key attributes.
    pub attribute_definitions: Vec<AttributeJson>,
    /// The primary key.
    pub key_schema: Vec<KeyJson>,
    /// The GSIs.
    pub global_secondary_indexes: Vec<IndexJson>,
    /// `PAY_PER_REQUEST`.
    pub billing_mode: String,
    /// The attribute DynamoDB deletes expired items by (idempotency keys).
    pub time_to_live_specification: TimeToLiveJson,
}

/// The table's time to live.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveJson {
    /// The attribute holding each item's expiry (seconds since the epoch).
    pub attribute_name: String,
    /// Whether it is on.
    pub enabled: bool,
}

/// One attribute definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeJson {
    /// Attribute name.
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

/// One key schema element.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyJson {
    /// Attribute name.
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

/// One GSI.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexJson {
    /// Index name.
    pub index_name: String,
    /// Its key.
    pub key_schema: Vec<KeyJson>,
    /// Its projection.
    pub projection: ProjectionJson,
}

/// A GSI projection.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionJson {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// With `INCLUDE`: the attributes projected beside the keys.
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

impl TableDefinition {
    /// The definition in `infra/table.json`.
    pub fn from_infra() -> Self {
        serde_json::from_str(TABLE_JSON).expect("infra/table.json is valid (checked by a unit test)")
    }
}

fn keys(schema: &[KeyJson]) -> Result<Vec<KeySchemaElement>, StoreError> {
    schema
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .collect()
}

/// Creates `table` from `infra/table.json` unless it exists, and waits until it is active.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let definition = TableDefinition::from_infra();
    let attributes = definition
        .attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = definition
        .global_secondary_indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.projection_type.as_str()))
                        .set_non_key_attributes(
                            Some(index.projection.non_key_attributes.clone()).filter(|a| !a.is_empty()),
                        )
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(keys(&definition.key_schema)?))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::from(definition.billing_mode.as_str()))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => return Err(StoreError::Backend(DisplayErrorContext(error).to_string())),
    }
    wait_until_active(client, table).await?;
    let ttl = &definition.time_to_live_specification;
    let described = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| StoreError::Backend(DisplayErrorContext(e).to_string()))?;
    let on = described
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status())
        .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
    if ttl.enabled && !on {
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| StoreError::Backend(DisplayErrorContext(e).to_string()))?;
    }
    Ok(())
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    for _ in 0..600 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| StoreError::Backend(DisplayErrorContext(e).to_string()))?;
        let status = described.table().and_then(|t| t.table_status());
        if status.is_some_and(|s| s.as_str() == "ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StoreError::Backend(format!(
        "table {table} did not become active"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infra_definition_parses_and_has_every_index() {
        let definition: TableDefinition = serde_json::from_str(TABLE_JSON).expect("valid JSON");
        let names: Vec<_> = definition
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "byDateCreated",
                "byReference",
                "byLastUpdated",
                "byName",
                "byActive",
                "byCategory"
            ]
        );
        for index in &definition.global_secondary_indexes {
            assert_eq!(
                index.projection.projection_type != "ALL",
                super::super::keys::keys_only(&index.index_name),
                "the adapter reads {} as infra/table.json projects it",
                index.index_name
            );
        }
        assert_eq!(definition.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(definition.time_to_live_specification.attribute_name, "expires");
    }
}
