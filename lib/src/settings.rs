//! Configuration of a function or of `local-api`, from environment variables.

use crate::logos::resize::{BoundingBox, VariantBoxes};
use crate::routes::Operation;

/// Every environment variable the configuration reads (which ones a function must set is
/// [`required_env`]'s answer).
pub const ENV_VARS: [&str; 11] = [
    "TABLE_NAME",
    "ORG_CLAIM",
    "ID_BLOCK_SIZE",
    "DYNAMODB_ENDPOINT",
    "LOGO_BUCKET",
    "LOGO_BASE_URL",
    "LOGO_SMALL_BOX",
    "LOGO_MEDIUM_BOX",
    "S3_ENDPOINT",
    "CURSOR_SECRET",
    "WARM_UP_CONNECTIONS",
];

/// Default JWT claim carrying the organization.
pub const DEFAULT_ORG_CLAIM: &str = "organization";

/// The DynamoDB table records live in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// Table name.
    pub table: String,
    /// Endpoint URL, when not AWS's (a local DynamoDB API server).
    pub endpoint: Option<String>,
    /// Ids reserved per counter write.
    pub id_block: u64,
}

/// The S3 bucket logos are kept in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoStorage {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL, when not AWS's (a local S3 API server).
    pub endpoint: Option<String>,
}

/// Logo storage, public URLs and variant sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoSettings {
    /// Where logos are kept.
    pub storage: LogoStorage,
    /// Public base URL of logos (the CDN in front of the bucket).
    pub base_url: String,
    /// Variant bounding boxes.
    pub boxes: VariantBoxes,
}

/// A function's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The JWT claim naming the caller's organization.
    pub org_claim: String,
    /// The store.
    pub store: StoreSettings,
    /// Logos, for the functions that show or store them.
    pub logos: Option<LogoSettings>,
    /// The key list cursors are sealed with (the list functions').
    pub cursor_secret: Option<String>,
    /// Whether init opens the DynamoDB (and S3) connections ([`crate::aws::warm_up`]).
    pub warm_up: bool,
}

/// `WARM_UP_CONNECTIONS`: `true` (the default) or `false`.
pub fn warm_up_from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<bool, SettingsError> {
    match var("WARM_UP_CONNECTIONS").as_deref() {
        None | Some("" | "true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(SettingsError {
            name: "WARM_UP_CONNECTIONS",
            problem: "must be true or false",
        }),
    }
}

/// The shortest accepted `CURSOR_SECRET`, in bytes.
pub const MIN_CURSOR_SECRET: usize = 32;

/// The environment variables a function must have, beyond the optional ones.
pub fn required_env(function: Option<Operation>) -> Vec<&'static str> {
    match function {
        None => vec!["LOGO_BUCKET"],
        Some(Operation::ListCustomers) => {
            vec![
                "TABLE_NAME",
                "ORG_CLAIM",
                "LOGO_BUCKET",
                "LOGO_BASE_URL",
                "CURSOR_SECRET",
            ]
        }
        Some(Operation::ListGroups) => vec!["TABLE_NAME", "ORG_CLAIM", "CURSOR_SECRET"],
        Some(operation) if operation.uses_logos() => {
            vec!["TABLE_NAME", "ORG_CLAIM", "LOGO_BUCKET", "LOGO_BASE_URL"]
        }
        Some(_) => vec!["TABLE_NAME", "ORG_CLAIM"],
    }
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
        let cursor_secret = match var("CURSOR_SECRET").filter(|c| !c.is_empty()) {
            Some(secret) if secret.len() < MIN_CURSOR_SECRET => {
                return Err(SettingsError {
                    name: "CURSOR_SECRET",
                    problem: "must be at least 32 bytes",
                });
            }
            secret => secret,
        };
        Ok(Settings {
            cursor_secret,
            warm_up: warm_up_from_vars(&var)?,
            logos: Self::logos_from_vars(&var)?,
            org_claim: var("ORG_CLAIM")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_ORG_CLAIM.to_owned()),
            store: StoreSettings {
                table,
                endpoint: var("DYNAMODB_ENDPOINT").filter(|e| !e.is_empty()),
                id_block,
            },
        })
    }

    /// Logo settings, when `LOGO_BUCKET` is set (then `LOGO_BASE_URL` is required too).
    pub fn logos_from_vars(
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<LogoSettings>, SettingsError> {
        let Some(mut logos) = Self::resizer_from_vars(var)? else {
            return Ok(None);
        };
        logos.base_url = var("LOGO_BASE_URL")
            .filter(|u| !u.is_empty())
            .ok_or(SettingsError {
                name: "LOGO_BASE_URL",
                problem: "is required with LOGO_BUCKET",
            })?;
        Ok(Some(logos))
    }

    /// The resizer's settings: the bucket, an optional endpoint and the variant boxes (it never
    /// builds URLs, so it needs no `LOGO_BASE_URL`).
    pub fn resizer_from_vars(
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<LogoSettings>, SettingsError> {
        let Some(bucket) = var("LOGO_BUCKET").filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let read_box = |name: &'static str, default: BoundingBox| match var(name) {
            None => Ok(default),
            Some(text) => BoundingBox::parse(&text).ok_or(SettingsError {
                name,
                problem: "must be WIDTHxHEIGHT, each 1 to 4096",
            }),
        };
        let defaults = VariantBoxes::default();
        Ok(Some(LogoSettings {
            storage: LogoStorage {
                bucket,
                endpoint: var("S3_ENDPOINT").filter(|e| !e.is_empty()),
            },
            base_url: String::new(),
            boxes: VariantBoxes {
                small: read_box("LOGO_SMALL_BOX", defaults.small)?,
                medium: read_box("LOGO_MEDIUM_BOX", defaults.medium)?,
            },
        }))
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
            StoreSettings {
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
    fn a_cursor_secret_is_long_enough_or_absent() {
        let secret = "k".repeat(MIN_CURSOR_SECRET);
        let settings = read(&[("TABLE_NAME", "t"), ("CURSOR_SECRET", &secret)]).expect("valid");
        assert_eq!(settings.cursor_secret.as_deref(), Some(secret.as_str()));
        assert_eq!(read(&[("TABLE_NAME", "t")]).expect("valid").cursor_secret, None);
        assert_eq!(
            read(&[("TABLE_NAME", "t"), ("CURSOR_SECRET", "short")])
                .err()
                .map(|e| e.name),
            Some("CURSOR_SECRET")
        );
    }

    #[test]
    fn connections_are_warmed_unless_told_not_to() {
        assert!(read(&[("TABLE_NAME", "t")]).expect("valid").warm_up);
        let off = read(&[("TABLE_NAME", "t"), ("WARM_UP_CONNECTIONS", "false")]);
        assert!(!off.expect("valid").warm_up);
        let bad = read(&[("TABLE_NAME", "t"), ("WARM_UP_CONNECTIONS", "no")]);
        assert_eq!(bad.err().map(|e| e.name), Some("WARM_UP_CONNECTIONS"));
    }

    #[test]
    fn every_variable_read_is_listed() {
        let listed = ENV_VARS;
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
        let functions = Operation::ALL.into_iter().map(Some).chain([None]);
        for required in functions.flat_map(required_env) {
            assert!(
                listed.contains(&required),
                "{required} is required but never read"
            );
        }
    }
}
