//! Customer groups (also called customer categories): the model and its rules.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, Resource};
use crate::input::{JsonInput, Target};
use crate::list::{ListQuery, ListSpec, Paging};
use crate::store::{
    Draft, Kind, Organization, Patch, Record, RecordStore, Scope, StoreError, reference_fits,
};
use crate::time::Timestamp;

/// What the list operation accepts.
pub const LIST_SPEC: ListSpec = ListSpec {
    text_filters: &["reference", "name"],
    bool_filters: &[],
    sort_fields: &[
        "id",
        "name",
        "reference",
        "description",
        "dateCreated",
        "lastUpdated",
    ],
};

/// The longest accepted reference, in characters.
pub const MAX_REFERENCE: usize = 255;
/// The longest accepted name, in characters.
pub const MAX_NAME: usize = 255;
/// The longest accepted description, in characters.
pub const MAX_DESCRIPTION: usize = 4000;

/// Fields a request body may carry.
const WRITABLE: [&str; 3] = ["reference", "name", "description"];
/// Fields of the representation a client may send back; they are ignored.
const READ_ONLY: [&str; 4] = ["id", "organization", "dateCreated", "lastUpdated"];

/// A customer group as the API returns it (documented field order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Numeric id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// External id, unique in the organization.
    pub reference: String,
    /// The owning organization.
    pub organization: String,
    /// Free text, or `null`.
    pub description: Option<String>,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub last_updated: Timestamp,
}

impl Group {
    fn from_record(org: &Organization, record: Record) -> Self {
        let text = |name: &str| record.field(name).as_str().map(str::to_owned);
        Group {
            id: record.id,
            name: text("name").unwrap_or_default(),
            description: text("description"),
            reference: record.reference,
            organization: org.as_str().to_owned(),
            date_created: record.date_created,
            last_updated: record.last_updated,
        }
    }
}

/// A group's writable fields as a request body gave them.
#[derive(Debug, Default)]
pub struct GroupInput {
    reference: Option<String>,
    name: Option<String>,
    /// `Some(None)` clears the description.
    description: Option<Option<String>>,
}

impl GroupInput {
    /// Reads a JSON object body; unknown keys are `invalid_param`, wrong types `invalid_param_type`.
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let mut input = JsonInput::parse(body, &WRITABLE, &READ_ONLY)?;
        Ok(GroupInput {
            reference: input.string("reference")?.flatten(),
            name: input.string("name")?.flatten(),
            description: input.string("description")?,
        })
    }

    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(name) = &self.name {
            fields.insert("name".into(), Value::String(name.clone()));
        }
        if let Some(description) = &self.description {
            fields.insert(
                "description".into(),
                description.clone().map_or(Value::Null, Value::String),
            );
        }
        fields
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ApiError::missing(name)),
    }
}

fn check_lengths(input: &GroupInput) -> Result<(), ApiError> {
    let too_long = |value: Option<&str>, max: usize| value.is_some_and(|v| v.chars().count() > max);
    if input
        .reference
        .as_deref()
        .is_some_and(|r| !reference_fits(r, MAX_REFERENCE))
        || too_long(input.name.as_deref(), MAX_NAME)
        || too_long(input.description.clone().flatten().as_deref(), MAX_DESCRIPTION)
    {
        return Err(ApiError::SaveFailed(Resource::CustomerGroup));
    }
    Ok(())
}

/// The group operations of one organization.
pub struct Groups<'a> {
    store: &'a dyn RecordStore,
    org: &'a Organization,
    scope: Scope,
}

impl<'a> Groups<'a> {
    /// The groups of `org`.
    pub fn new(store: &'a dyn RecordStore, org: &'a Organization) -> Self {
        Groups {
            store,
            org,
            scope: Scope::new(org, Kind::Group),
        }
    }

    fn fail(&self, error: StoreError, target: &dyn std::fmt::Display) -> ApiError {
        match error {
            StoreError::NotUnique => ApiError::NotUnique("reference".into()),
            StoreError::NotFound => ApiError::not_found(Resource::CustomerGroup, target),
            StoreError::InUse => ApiError::DeleteFailed(Resource::CustomerGroup),
            error @ (StoreError::Backend(_) | StoreError::MissingLink(_)) => {
                let detail = error.to_string();
                tracing::error!(%detail, org = self.org.as_str(), "customer group storage failed");
                ApiError::ServerError
            }
        }
    }

    /// One page of groups, with the `paging` block (links under `path`).
    pub async fn list(&self, query: &ListQuery, path: &str) -> Result<(Paging, Vec<Group>), ApiError> {
        let page = self
            .store
            .list(&self.scope, query)
            .await
            .map_err(|e| self.fail(e, &""))?;
        tracing::info!(
            resource = "customerGroups",
            items_read = page.items_read,
            total = page.total,
            returned = page.records.len(),
            "list"
        );
        let groups = page
            .records
            .into_iter()
            .map(|r| Group::from_record(self.org, r))
            .collect();
        Ok((query.paging(path, page.total), groups))
    }

    async fn find(&self, target: &Target) -> Result<Record, ApiError> {
        let found = match target {
            Target::Id(id) => self.store.get(&self.scope, *id).await,
            Target::Reference(reference) if !reference_fits(reference, MAX_REFERENCE) => Ok(None),
            Target::Reference(reference) => self.store.find_by_reference(&self.scope, reference).await,
        };
        found
            .map_err(|e| self.fail(e, target))?
            .ok_or_else(|| ApiError::not_found(Resource::CustomerGroup, target))
    }

    /// The group addressed by id or reference.
    pub async fn show(&self, target: &Target) -> Result<Group, ApiError> {
        Ok(Group::from_record(self.org, self.find(target).await?))
    }

    /// Creates a group; `reference` and `name` are required.
    pub async fn create(&self, input: GroupInput) -> Result<Group, ApiError> {
        let reference = required(&input.reference, "reference")?;
        required(&input.name, "name")?;
        check_lengths(&input)?;
        let draft = Draft {
            reference: reference.to_owned(),
            fields: input.fields(),
            now: Timestamp::now(),
            links: Vec::new(),
        };
        let record = self
            .store
            .create(&self.scope, draft)
            .await
            .map_err(|e| self.fail(e, &""))?;
        Ok(Group::from_record(self.org, record))
    }

    /// Updates the addressed group; `reference` and `name` are required, `description` optional.
    pub async fn update(&self, target: &Target, input: GroupInput) -> Result<Group, ApiError> {
        required(&input.reference, "reference")?;
        required(&input.name, "name")?;
        check_lengths(&input)?;
        let id = self.find(target).await?.id;
        self.patch(target, id, input).await
    }

    async fn patch(&self, target: &Target, id: u64, input: GroupInput) -> Result<Group, ApiError> {
        let patch = Patch {
            fields: input.fields(),
            reference: input.reference,
            now: Timestamp::now(),
            links: None,
        };
        let record = self
            .store
            .update(&self.scope, id, patch)
            .await
            .map_err(|e| self.fail(e, target))?;
        Ok(Group::from_record(self.org, record))
    }

    /// Creates the group with this reference, or updates it. Returns whether it was created.
    pub async fn upsert(&self, reference: &str, mut input: GroupInput) -> Result<(Group, bool), ApiError> {
        if input.reference.as_deref().is_some_and(|r| r != reference) {
            return Err(ApiError::InvalidParam(vec!["reference".into()]));
        }
        input.reference = Some(reference.to_owned());
        required(&input.reference, "reference")?;
        required(&input.name, "name")?;
        check_lengths(&input)?;
        let target = Target::Reference(reference.to_owned());
        for _ in 0..3 {
            if let Some(existing) = self
                .store
                .find_by_reference(&self.scope, reference)
                .await
                .map_err(|e| self.fail(e, &target))?
            {
                let patch = Patch {
                    fields: input.fields(),
                    reference: None,
                    now: Timestamp::now(),
                    links: None,
                };
                match self.store.update(&self.scope, existing.id, patch).await {
                    Ok(record) => return Ok((Group::from_record(self.org, record), false)),
                    Err(StoreError::NotFound) => continue,
                    Err(e) => return Err(self.fail(e, &target)),
                }
            }
            let draft = Draft {
                reference: reference.to_owned(),
                fields: input.fields(),
                now: Timestamp::now(),
                links: Vec::new(),
            };
            match self.store.create(&self.scope, draft).await {
                Ok(record) => return Ok((Group::from_record(self.org, record), true)),
                Err(StoreError::NotUnique) => continue,
                Err(e) => return Err(self.fail(e, &target)),
            }
        }
        Err(ApiError::SaveFailed(Resource::CustomerGroup))
    }

    /// Deletes the addressed group.
    pub async fn delete(&self, target: &Target) -> Result<(), ApiError> {
        let id = self.find(target).await?.id;
        self.store
            .delete(&self.scope, id)
            .await
            .map_err(|e| self.fail(e, target))
    }
}
