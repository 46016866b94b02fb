//! Customer groups (also called customer categories): the model and its rules.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, Resource};
use crate::input::{JsonInput, Precondition, Target};
use crate::list::cursor::Sealer;
use crate::list::{FieldSpec, Filter, ListQuery, ListSpec, PageLinks};
use crate::model::{Draft, Fields, FieldsPatch, Kind, Link, Organization, Patch, Record, Scope, StoreError};
use crate::retry::Retries;
use crate::schema::{Describe, nullable, object};
use crate::store::RecordStore;
use crate::time::Timestamp;
use crate::values::{Invalid, LongText, Name, Reference, Sortable, compare_options};

/// A group's own fields, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFields {
    /// Display name.
    pub name: Name,
    /// Free text (possibly empty), or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<LongText>,
}

/// A partial update of a group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// A new description; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<LongText>>,
}

impl Fields for GroupFields {
    const KIND: Kind = Kind::Group;
    type Patch = GroupPatch;

    fn links(&self) -> Vec<Link> {
        Vec::new()
    }

    fn name(&self) -> Option<&str> {
        Some(self.name.as_str())
    }
}

impl FieldsPatch<GroupFields> for GroupPatch {
    fn apply(&self, fields: &mut GroupFields) {
        if let Some(name) = &self.name {
            fields.name = name.clone();
        }
        if let Some(description) = &self.description {
            fields.description = description.clone();
        }
    }

    fn touches_links(&self) -> bool {
        false
    }

    fn name(&self) -> Option<Option<&str>> {
        self.name.as_ref().map(|name| Some(name.as_str()))
    }
}

/// What the list operation sorts on and filters by (besides id, reference and the dates).
pub const LIST_SPEC: ListSpec<GroupFields> = ListSpec {
    fields: &[
        FieldSpec {
            name: "name",
            compare: |a, b| a.name.compare(&b.name),
            text: |g| Some(g.name.as_str()),
            flag: |_| None,
            filter: Filter::Wildcard,
        },
        FieldSpec {
            name: "description",
            compare: |a, b| compare_options(&a.description, &b.description),
            text: |g| g.description.as_ref().map(LongText::as_str),
            flag: |_| None,
            filter: Filter::No,
        },
    ],
    linked: &[],
    linked_sorts: &[],
};

/// Fields a request body may carry.
const WRITABLE: [&str; 3] = ["reference", "name", "description"];
/// Fields of the representation a client may send back; they are ignored.
const READ_ONLY: [&str; 4] = ["id", "organization", "dateCreated", "lastUpdated"];

/// A customer group as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    org: Organization,
    record: Record<GroupFields>,
}

/// The documented group object, in the documented key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupView<'a> {
    id: u64,
    name: &'a Name,
    reference: &'a Reference,
    organization: &'a Organization,
    description: &'a Option<LongText>,
    date_created: Timestamp,
    last_updated: Timestamp,
}

impl Group {
    /// The schema of the documented object: [`GroupView`]'s keys, in order.
    pub fn schema() -> Value {
        object(vec![
            ("id", u64::schema()),
            ("name", Name::schema()),
            ("reference", Reference::schema()),
            ("organization", Organization::schema()),
            ("description", Option::<LongText>::schema()),
            ("dateCreated", Timestamp::schema()),
            ("lastUpdated", Timestamp::schema()),
        ])
    }

    /// The schema of a request body: the writable fields (`null` clears a description and is
    /// no value for the others), and the documented object's other keys, accepted and ignored.
    pub fn input_schema() -> Value {
        let writable = WRITABLE.map(|name| {
            let schema = match name {
                "reference" => Reference::schema(),
                "name" => Name::schema(),
                _ => LongText::schema(),
            };
            (name, nullable(schema))
        });
        let ignored = READ_ONLY.map(|name| (name, json!({"readOnly": true})));
        let mut schema = object(writable.into_iter().chain(ignored).collect());
        schema["required"] = json!([]);
        schema
    }

    /// The stored record.
    pub fn record(&self) -> &Record<GroupFields> {
        &self.record
    }
}

impl Serialize for Group {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        GroupView {
            id: self.record.id,
            name: &self.record.fields.name,
            reference: &self.record.reference,
            organization: &self.org,
            description: &self.record.fields.description,
            date_created: self.record.date_created,
            last_updated: self.record.last_updated,
        }
        .serialize(serializer)
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

/// A request's group, checked: the reference, the name and the description it writes.
struct Checked {
    reference: Reference,
    name: Name,
    description: Option<Option<LongText>>,
}

impl Checked {
    fn patch(&self) -> GroupPatch {
        GroupPatch {
            name: Some(self.name.clone()),
            description: self.description.clone(),
        }
    }

    fn fields(&self) -> GroupFields {
        GroupFields {
            name: self.name.clone(),
            description: self.description.clone().flatten(),
        }
    }
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

    /// `reference` and `name` are required (`missing_param`, the reference first); any value
    /// over its length is `save_failed`.
    fn check(self) -> Result<Checked, ApiError> {
        let required = |value: Option<&str>, name: &str, parse: fn(&str) -> Result<(), Invalid>| match value
            .map(parse)
        {
            None | Some(Err(Invalid::Blank)) => Err(ApiError::missing(name)),
            Some(_) => Ok(()),
        };
        required(self.reference.as_deref(), "reference", |r| {
            Reference::parse(r).map(drop)
        })?;
        required(self.name.as_deref(), "name", |n| Name::parse(n).map(drop))?;
        let save_failed = |_| ApiError::SaveFailed(Resource::CustomerGroup);
        Ok(Checked {
            reference: Reference::parse(self.reference.as_deref().unwrap_or_default())
                .map_err(save_failed)?,
            name: Name::parse(self.name.as_deref().unwrap_or_default()).map_err(save_failed)?,
            description: match self.description {
                None => None,
                Some(None) => Some(None),
                Some(Some(text)) => Some(Some(LongText::exact(&text).map_err(save_failed)?)),
            },
        })
    }
}

/// The group operations of one organization.
pub struct Groups<'a> {
    store: &'a dyn RecordStore<GroupFields>,
    org: &'a Organization,
    scope: Scope<GroupFields>,
}

impl<'a> Groups<'a> {
    /// The groups of `org`.
    pub fn new(store: &'a dyn RecordStore<GroupFields>, org: &'a Organization) -> Self {
        Groups {
            store,
            org,
            scope: Scope::new(org),
        }
    }

    fn fail(&self, error: StoreError, target: &dyn std::fmt::Display) -> ApiError {
        match error {
            StoreError::NotUnique => ApiError::NotUnique("reference".into()),
            StoreError::NotFound => ApiError::not_found(Resource::CustomerGroup, target),
            StoreError::InUse => ApiError::DeleteFailed(Resource::CustomerGroup),
            StoreError::Conflict => ApiError::Conflict(Resource::CustomerGroup),
            error @ (StoreError::Backend(_) | StoreError::MissingLink(_)) => {
                let detail = error.to_string();
                tracing::error!(%detail, org = self.org.as_str(), "customer group storage failed");
                ApiError::ServerError
            }
        }
    }

    fn group(&self, record: Record<GroupFields>) -> Group {
        Group {
            org: self.org.clone(),
            record,
        }
    }

    /// One page of groups, with the `paging` block (links under `path`, cursors sealed by
    /// `sealer`).
    pub async fn list(
        &self,
        query: &ListQuery<GroupFields>,
        path: &str,
        sealer: &Sealer<'_>,
    ) -> Result<(PageLinks, Vec<Group>), ApiError> {
        let page = self
            .store
            .list(&self.scope, query)
            .await
            .map_err(|e| self.fail(e, &""))?;
        tracing::info!(
            resource = "customerGroups",
            items_read = page.items_read,
            keys_read = page.keys_read,
            total = page.total,
            returned = page.records.len(),
            "list"
        );
        let (paging, records) = query.page(path, page.total, page.records, sealer);
        Ok((paging, records.into_iter().map(|r| self.group(r)).collect()))
    }

    async fn find(&self, target: &Target) -> Result<Record<GroupFields>, ApiError> {
        let found = match target {
            Target::Id(id) => self.store.get(&self.scope, *id).await,
            Target::Reference(reference) if !Reference::fits(reference) => Ok(None),
            Target::Reference(reference) => self.store.find_by_reference(&self.scope, reference).await,
        };
        found
            .map_err(|e| self.fail(e, target))?
            .ok_or_else(|| ApiError::not_found(Resource::CustomerGroup, target))
    }

    /// The group addressed by id or reference.
    pub async fn show(&self, target: &Target) -> Result<Group, ApiError> {
        Ok(self.group(self.find(target).await?))
    }

    /// Creates a group; `reference` and `name` are required.
    pub async fn create(&self, input: GroupInput) -> Result<Group, ApiError> {
        let checked = input.check()?;
        let draft = Draft {
            fields: checked.fields(),
            reference: checked.reference,
            now: Timestamp::now(),
        };
        let mut retries = Retries::default();
        loop {
            let outcome = self
                .store
                .create(&self.scope, draft.clone())
                .await
                .map(|record| self.group(record))
                .map_err(|e| self.fail(e, &""));
            if let Some(answer) = retries.settle(outcome).await {
                return answer;
            }
        }
    }

    /// Creates the group `reference` named `name` unless the organization has it (under any name).
    pub async fn ensure(&self, reference: &str, name: &str) -> Result<(), ApiError> {
        let target = Target::Reference(reference.to_owned());
        match self.find(&target).await {
            Ok(_) => Ok(()),
            Err(ApiError::NotFound(_)) => {
                let input = GroupInput {
                    reference: Some(reference.to_owned()),
                    name: Some(name.to_owned()),
                    description: None,
                };
                match self.create(input).await {
                    Ok(_) | Err(ApiError::NotUnique(_)) => Ok(()),
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Updates the addressed group; `reference` and `name` are required, `description` optional.
    pub async fn update(
        &self,
        target: &Target,
        input: GroupInput,
        precondition: Option<&Precondition>,
    ) -> Result<Group, ApiError> {
        let checked = input.check()?;
        let mut retries = Retries::default();
        loop {
            let outcome = match self.find(target).await {
                Ok(current) if precondition.is_some_and(|p| !p.admits(current.version)) => {
                    Err(ApiError::PreconditionFailed(Resource::CustomerGroup))
                }
                Ok(current) => {
                    let patch = Patch {
                        fields: checked.patch(),
                        reference: Some(checked.reference.clone()),
                        now: Timestamp::now(),
                        expected: Some(current.version),
                        checks: Vec::new(),
                    };
                    self.store
                        .update(&self.scope, current.id, patch)
                        .await
                        .map(|record| self.group(record))
                        .map_err(|e| self.fail(e, target))
                }
                Err(error) => Err(error),
            };
            if let Some(answer) = retries.settle(outcome).await {
                return answer;
            }
        }
    }

    /// Creates the group with this reference, or updates it. Returns whether it was created.
    pub async fn upsert(
        &self,
        reference: &str,
        mut input: GroupInput,
        precondition: Option<&Precondition>,
    ) -> Result<(Group, bool), ApiError> {
        if input.reference.as_deref().is_some_and(|r| r != reference) {
            return Err(ApiError::InvalidParam(vec!["reference".into()]));
        }
        input.reference = Some(reference.to_owned());
        let checked = input.check()?;
        let target = Target::Reference(reference.to_owned());
        let mut retries = Retries::default();
        loop {
            let outcome = self.upsert_once(reference, &target, &checked, precondition).await;
            if let Some(answer) = retries.settle(outcome).await {
                return answer;
            }
        }
    }

    /// One attempt of an upsert: a group deleted or created meanwhile is a lost race.
    async fn upsert_once(
        &self,
        reference: &str,
        target: &Target,
        checked: &Checked,
        precondition: Option<&Precondition>,
    ) -> Result<(Group, bool), ApiError> {
        let raced = ApiError::Conflict(Resource::CustomerGroup);
        let existing = self
            .store
            .find_by_reference(&self.scope, reference)
            .await
            .map_err(|e| self.fail(e, target))?;
        let admitted = match (&existing, precondition) {
            (_, None) => true,
            (Some(existing), Some(p)) => p.admits(existing.version),
            (None, Some(_)) => false,
        };
        if !admitted {
            return Err(ApiError::PreconditionFailed(Resource::CustomerGroup));
        }
        if let Some(existing) = existing {
            let patch = Patch {
                fields: checked.patch(),
                reference: None,
                now: Timestamp::now(),
                expected: Some(existing.version),
                checks: Vec::new(),
            };
            return match self.store.update(&self.scope, existing.id, patch).await {
                Ok(record) => Ok((self.group(record), false)),
                Err(StoreError::NotFound) => Err(raced),
                Err(e) => Err(self.fail(e, target)),
            };
        }
        let draft = Draft {
            reference: checked.reference.clone(),
            fields: checked.fields(),
            now: Timestamp::now(),
        };
        match self.store.create(&self.scope, draft).await {
            Ok(record) => Ok((self.group(record), true)),
            Err(StoreError::NotUnique) => Err(raced),
            Err(e) => Err(self.fail(e, target)),
        }
    }

    /// Deletes the addressed group.
    pub async fn delete(&self, target: &Target, precondition: Option<&Precondition>) -> Result<(), ApiError> {
        let mut retries = Retries::default();
        loop {
            let outcome = match self.find(target).await {
                Ok(current) if precondition.is_some_and(|p| !p.admits(current.version)) => {
                    Err(ApiError::PreconditionFailed(Resource::CustomerGroup))
                }
                Ok(current) => self
                    .store
                    .delete(&self.scope, current.id, Some(current.version))
                    .await
                    .map_err(|e| self.fail(e, target)),
                Err(error) => Err(error),
            };
            if let Some(answer) = retries.settle(outcome).await {
                return answer;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<&String> {
        value.as_object().expect("an object").keys().collect()
    }

    #[test]
    fn the_schema_has_the_shown_keys_in_order() {
        let now = Timestamp::now();
        let group = Group {
            org: Organization::parse("org").expect("org"),
            record: Record {
                id: 1,
                links: Vec::new(),
                reference: Reference::parse("r").expect("reference"),
                date_created: now,
                last_updated: now,
                fields: GroupFields {
                    name: Name::parse("n").expect("name"),
                    description: None,
                },
                version: 1,
            },
        };
        let shown = serde_json::to_value(&group).expect("serialises");
        let schema = Group::schema();
        assert_eq!(keys(&shown), keys(&schema["properties"]));
    }

    #[test]
    fn the_input_schema_names_what_a_body_may_carry() {
        let schema = Group::input_schema();
        let named: Vec<&String> = keys(&schema["properties"]);
        let expected: Vec<&str> = WRITABLE.iter().chain(READ_ONLY.iter()).copied().collect();
        assert_eq!(named, expected);
    }
}
