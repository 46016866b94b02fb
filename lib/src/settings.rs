//! Configuration of a function or of `local-api`, from environment variables.

use std::path::PathBuf;

/// Every environment variable the configuration reads, with whether a Lambda must set it.
pub const ENV_VARS: [(&str, bool); 4] = [
    ("TABLE_NAME", true),
    ("ORG_CLAIM", true),
    ("ID_BLOCK_SIZE", false),
    ("DYNAMODB_ENDPOINT", false),
];

/// Default JWT claim carrying the organization.
pub const DEFAULT_ORG_CLAIM: &str = "organization";

/// Where records live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// A DynamoDB table (an endpoint override points at a local DynamoDB API server).
    Dynamo {
        /// Table name.
        table: String,
        /// Endpoint URL, when not AWS's.
        endpoint: Option<String>,
        /// Ids reserved per counter write.
        id_block: u64,
    },
    /// The embedded store in a data directory.
    Embedded {
        /// The data directory.
        dir: PathBuf,
    },
}

/// A function's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The JWT claim naming the caller's organization.
    pub org_claim: String,
    /// The store.
    pub store: StoreSettings,
}

/// A missing or malformed environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl Settings {
    /// Reads the Lambda configuration (`TABLE_NAME` required) through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let table = var("TABLE_NAME").filter(|t| !t.is_empty()).ok_or(SettingsError {
            name: "TABLE_NAME",
            problem: "is required",
        })?;
        let id_block = match var("ID_BLOCK_SIZE") {
            None => 1,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or(SettingsError {
                    name: "ID_BLOCK_SIZE",
                    problem: "must be an integer from 1 to 1000",
                })?,
        };
        Ok(Settings {
            org_claim: var("ORG_CLAIM")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_ORG_CLAIM.to_owned()),
            store: StoreSettings::Dynamo {
                table,
                endpoint: var("DYNAMODB_ENDPOINT").filter(|e| !e.is_empty()),
                id_block,
            },
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn table_is_required_and_the_rest_defaults() {
        assert_eq!(read(&[]).err().map(|e| e.name), Some("TABLE_NAME"));
        let settings = read(&[("TABLE_NAME", "t")]).expect("valid");
        assert_eq!(settings.org_claim, DEFAULT_ORG_CLAIM);
        assert_eq!(
            settings.store,
            StoreSettings::Dynamo {
                table: "t".into(),
                endpoint: None,
                id_block: 1
            }
        );
        assert_eq!(
            read(&[("TABLE_NAME", "t"), ("ID_BLOCK_SIZE", "0")])
                .err()
                .map(|e| e.name),
            Some("ID_BLOCK_SIZE")
        );
    }

    #[test]
    fn every_variable_read_is_listed() {
        let listed: Vec<&str> = ENV_VARS.iter().map(|(name, _)| *name).collect();
        let seen = std::sync::Mutex::new(Vec::new());
        let _ = Settings::from_vars(|name| {
            seen.lock().expect("lock").push(name.to_owned());
            Some("1".to_owned())
        });
        for name in seen.into_inner().expect("lock") {
            assert!(
                listed.contains(&name.as_str()),
                "{name} is read but not in ENV_VARS"
            );
        }
    }
}
