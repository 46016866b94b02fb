//! Customers: the catalogue of their fields, their input, their rules (references, links,
//! integrity, defaults) and the documented object.

mod catalogue;
mod input;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

pub use catalogue::{
    CreatedBy, CustomerFields, CustomerPatch, CustomerView, DueDateType, FIELDS, KEYS, PARAMS, RegionRef,
    Related, Shown,
};
pub use input::{Change, CustomerInput, IdOrReference};
pub use view::Customer;

use crate::error::{ApiError, Resource, echo};
use crate::groups::GroupFields;
use crate::input::{Precondition, Target};
use crate::list::cursor::Sealer;
use crate::list::{IdSet, LinkedSort, ListQuery, ListSpec, PageLinks, Sort};
use crate::logos::{LogoPath, Logos};
use crate::model::{Check, Draft, Kind, Link, Organization, Patch, Record, Scope, StoreError, reference_key};
use crate::reference_data::{Named, ReferenceData};
use crate::retry::Retries;
use crate::store::RecordStore;
use crate::time::Timestamp;
use crate::values::{CurrencyCode, Invalid, Name, Reference};

/// What the list operation accepts: the catalogue's fields, and `categoryReference`.
pub const LIST_SPEC: ListSpec<CustomerFields> = ListSpec {
    fields: FIELDS,
    linked: &["categoryReference"],
    linked_sorts: &[
        LinkedSort {
            name: "categoryReference",
            id: |c| c.category_id,
        },
        LinkedSort {
            name: "customerSegmentationReference",
            id: |c| c.segmentation_id,
        },
    ],
};

/// What a request writes: the patch, the records it was decided on, and whether it depends on
/// the customer as read (then it is written only if the customer is still at that version).
struct Changes {
    patch: CustomerPatch,
    checks: Vec<Check>,
    derived: bool,
}

/// How many ancestors are checked for a parent cycle.
const MAX_DEPTH: usize = 64;

/// Where the customer operations keep their records.
pub trait CustomerStore: RecordStore<CustomerFields> + RecordStore<GroupFields> {}

impl<T: RecordStore<CustomerFields> + RecordStore<GroupFields> + ?Sized> CustomerStore for T {}

fn not_found(what: &str, id: impl std::fmt::Display) -> ApiError {
    ApiError::NotFound(format!(
        "The {what} with the id {} doesn't exist.",
        echo(&id.to_string())
    ))
}

fn self_parent() -> ApiError {
    ApiError::NotFound("The customer cannot be a subcustomer of itself.".into())
}

fn save_failed() -> ApiError {
    ApiError::SaveFailed(Resource::Customer)
}

/// A required text: absent or blank is `missing_param`.
fn present<'v>(value: Option<&'v str>, name: &str) -> Result<&'v str, ApiError> {
    match value {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ApiError::missing(name)),
    }
}

/// A reference to write: one that does not fit the storage keys is `save_failed`.
fn reference(text: &str) -> Result<Reference, ApiError> {
    Reference::parse(text).map_err(|_| save_failed())
}

fn find_named<'r>(items: &'r [Named], wanted: &IdOrReference) -> Option<&'r Named> {
    items.iter().find(|item| match wanted {
        IdOrReference::Id(id) => item.id == *id,
        IdOrReference::Reference(reference) => item.reference == *reference,
    })
}

/// The customer operations of one organization.
pub struct Customers<'a> {
    store: &'a dyn CustomerStore,
    logos: &'a Logos,
    refs: Arc<ReferenceData>,
    org: &'a Organization,
    scope: Scope<CustomerFields>,
    groups: Scope<GroupFields>,
}

impl<'a> Customers<'a> {
    /// The customers of `org`, with its reference data and logo storage.
    pub fn new(
        store: &'a dyn CustomerStore,
        logos: &'a Logos,
        refs: Arc<ReferenceData>,
        org: &'a Organization,
    ) -> Self {
        Customers {
            store,
            logos,
            refs,
            org,
            scope: Scope::new(org),
            groups: Scope::new(org),
        }
    }

    fn fail(&self, error: StoreError, target: &dyn std::fmt::Display) -> ApiError {
        match error {
            StoreError::NotUnique => ApiError::NotUnique("reference".into()),
            StoreError::NotFound => ApiError::not_found(Resource::Customer, target),
            StoreError::InUse => ApiError::DeleteFailed(Resource::Customer),
            StoreError::Conflict => ApiError::Conflict(Resource::Customer),
            StoreError::MissingLink(Link {
                kind: Kind::Group,
                id,
            }) => not_found("customer category", id),
            StoreError::MissingLink(Link {
                kind: Kind::Customer,
                id,
            }) => not_found("parent customer", id),
            StoreError::Backend(detail) => {
                tracing::error!(%detail, org = self.org.as_str(), "customer storage failed");
                ApiError::ServerError
            }
        }
    }

    async fn find(&self, target: &Target) -> Result<Record<CustomerFields>, ApiError> {
        let found = match target {
            Target::Id(id) => self.store.get(&self.scope, *id).await,
            Target::Reference(reference) if !Reference::fits(reference) => Ok(None),
            Target::Reference(reference) => self.store.find_by_reference(&self.scope, reference).await,
        };
        found
            .map_err(|e| self.fail(e, target))?
            .ok_or_else(|| ApiError::not_found(Resource::Customer, target))
    }

    /// The id of the `F` record addressed by `wanted`, if it exists in the organization.
    async fn find_linked<F: crate::model::Fields>(
        &self,
        scope: &Scope<F>,
        wanted: &IdOrReference,
    ) -> Result<Option<Record<F>>, ApiError>
    where
        dyn CustomerStore + 'a: RecordStore<F>,
    {
        let found = match wanted {
            IdOrReference::Id(id) => self.store.get(scope, *id).await,
            IdOrReference::Reference(reference) if !Reference::fits(reference) => Ok(None),
            IdOrReference::Reference(reference) => self.store.find_by_reference(scope, reference).await,
        };
        found.map_err(|e| self.fail(e, &""))
    }

    /// The organization's root category (where customers created without one go), if it has
    /// one and the group exists.
    async fn root_category(&self) -> Result<Option<u64>, ApiError> {
        let Some(root) = &self.refs.root_category else {
            return Ok(None);
        };
        let wanted = IdOrReference::Reference(root.reference.clone());
        Ok(self
            .find_linked(&self.groups, &wanted)
            .await?
            .map(|group| group.id))
    }

    /// The parent, checked to be neither the customer itself nor one of its descendants, and
    /// the ancestors that check read: they must be unchanged when the write commits, so that two
    /// concurrent re-parentings can never close a cycle.
    async fn find_parent(
        &self,
        wanted: &IdOrReference,
        customer: Option<u64>,
    ) -> Result<(u64, Vec<Check>), ApiError> {
        let parent = self
            .find_linked(&self.scope, wanted)
            .await?
            .ok_or_else(|| not_found("parent customer", wanted.as_text()))?;
        let mut checks = Vec::new();
        if let Some(customer) = customer {
            let mut ancestor = Some(parent.clone());
            for _ in 0..MAX_DEPTH {
                let Some(current) = ancestor else { break };
                if current.id == customer {
                    return Err(self_parent());
                }
                checks.push(Check {
                    link: Link {
                        kind: Kind::Customer,
                        id: current.id,
                    },
                    version: current.version,
                });
                ancestor = match current.fields.parent_id {
                    Some(id) => self
                        .store
                        .get(&self.scope, id)
                        .await
                        .map_err(|e| self.fail(e, &id))?,
                    None => None,
                };
            }
        }
        Ok((parent.id, checks))
    }

    /// What a request writes, checked against the reference data and the customer as it is
    /// (`current`, on updates).
    async fn changes(
        &self,
        input: &CustomerInput,
        name: Option<Name>,
        current: Option<&Record<CustomerFields>>,
    ) -> Result<Changes, ApiError> {
        let stored = current.map(|c| &c.fields);
        if input.too_long {
            return Err(save_failed());
        }
        let mut patch = input.fields.clone();
        if name.is_some() {
            patch.name = Some(name);
        }
        let category = match &input.category {
            None if current.is_some() => stored.and_then(|c| c.category_id),
            None | Some(None) => self.root_category().await?,
            Some(Some(wanted)) => Some(
                self.find_linked(&self.groups, wanted)
                    .await?
                    .ok_or_else(|| not_found("customer category", wanted.as_text()))?
                    .id,
            ),
        };
        if let Some(wanted) = &input.segmentation {
            let id = match wanted {
                Some(wanted) => Some(
                    find_named(&self.refs.segmentations, wanted)
                        .ok_or_else(|| not_found("customer segmentation", wanted.as_text()))?
                        .id,
                ),
                None => None,
            };
            patch.segmentation_id = Some(id);
        }
        if let Some(wanted) = &input.user {
            let id = match wanted {
                Some(wanted) => Some(
                    self.refs
                        .users
                        .iter()
                        .find(|user| match wanted {
                            IdOrReference::Id(id) => user.id == *id,
                            IdOrReference::Reference(reference) => user.reference == *reference,
                        })
                        .ok_or_else(|| not_found("user", wanted.as_text()))?
                        .id,
                ),
                None => None,
            };
            patch.user_id = Some(id);
        }
        if let Some(region) = input.region {
            if let Some(id) = region
                && !self.refs.regions.iter().any(|r| r.id == id)
            {
                return Err(not_found("region", id));
            }
            patch.region_id = Some(region);
        }
        if let Some(ids) = &input.payment_types {
            if let Some(missing) = ids
                .iter()
                .find(|id| !self.refs.payment_types.iter().any(|p| p.id == **id))
            {
                return Err(not_found("payment type", missing));
            }
            patch.payment_type_ids = Some(Some(ids.clone()));
        }
        if let Some(currency) = &input.currency {
            patch.currency = Some(match currency {
                Some(sent) => Some(self.configured_currency(sent)?),
                None => self.org_currency(),
            });
        }
        let due_type = input
            .due_date_type
            .map_or(stored.and_then(|c| c.due_date_config_type), |t| t);
        let due_number = input
            .fields
            .due_date_config_number
            .map_or(stored.and_then(|c| c.due_date_config_number), |n| n);
        if due_type.is_some() && due_number.is_none() {
            return Err(ApiError::missing("dueDateConfigNumber"));
        }
        if let Some(kind) = input.due_date_type {
            patch.due_date_config_type = Some(kind);
        }

        let sent_is_sub = input.fields.is_sub_customer.flatten();
        let derived = input.due_date_type.is_some() || input.fields.due_date_config_number.is_some();
        let category_set = input.category.is_some() || (current.is_none() && category.is_some());
        if !category_set && input.parent.is_none() && sent_is_sub.is_none() {
            return Ok(Changes {
                patch,
                checks: Vec::new(),
                derived,
            });
        }
        let mut checks = Vec::new();
        let parent_sent = match &input.parent {
            None => None,
            Some(None) => Some(None),
            Some(Some(wanted)) => {
                let (parent, read) = self.find_parent(wanted, current.map(|c| c.id)).await?;
                checks = read;
                Some(Some(parent))
            }
        };
        let was_sub = stored.and_then(|c| c.is_sub_customer).unwrap_or(false);
        let is_sub = sent_is_sub.unwrap_or(match parent_sent {
            Some(parent) => parent.is_some(),
            None => was_sub,
        });
        let parent = if is_sub {
            parent_sent.unwrap_or(stored.and_then(|c| c.parent_id))
        } else {
            None
        };
        if is_sub && parent.is_none() {
            return Err(ApiError::missing("parentCustomer"));
        }
        patch.is_sub_customer = Some(Some(is_sub));
        patch.parent_id = Some(parent);
        patch.category_id = Some(category);
        Ok(Changes {
            patch,
            checks,
            derived: true,
        })
    }

    /// A currency the organization may use: ISO 4217 knows it, and it is configured.
    fn configured_currency(&self, sent: &str) -> Result<CurrencyCode, ApiError> {
        let code = CurrencyCode::parse(sent).ok_or_else(|| {
            ApiError::NotFound(format!("The currency with name {} doesn't exist.", echo(sent)))
        })?;
        let configured = self.refs.currencies.iter().any(|c| c == code.as_str())
            || self.refs.currency.as_deref() == Some(code.as_str());
        if !configured {
            return Err(ApiError::NotFound(format!(
                "The currency with name {} is not configured.",
                code.as_str()
            )));
        }
        Ok(code)
    }

    /// The organization's own currency, the default of new customers.
    fn org_currency(&self) -> Option<CurrencyCode> {
        self.refs.currency.as_deref().and_then(CurrencyCode::parse)
    }

    /// Creates a customer; `reference` and `name` are required.
    pub async fn create(&self, input: CustomerInput) -> Result<Customer, ApiError> {
        let reference = present(input.reference.as_deref(), "reference")?.to_owned();
        present(input.name.as_deref(), "name")?;
        let mut logo = None;
        let mut retries = Retries::default();
        let created = loop {
            let outcome = self.create_with(&reference, &input, &mut logo).await;
            if let Some(answer) = retries.settle(outcome).await {
                break answer;
            }
        };
        self.keep_logo_if(created.is_ok(), logo).await;
        created
    }

    /// Creates the customer; the request's logo is stored into `logo` unless it already was.
    async fn create_with(
        &self,
        reference: &str,
        input: &CustomerInput,
        logo: &mut Option<LogoPath>,
    ) -> Result<Customer, ApiError> {
        let reference = self::reference(reference)?;
        let name = self.name(input)?;
        let patch = self.changes(input, name, None).await?.patch;
        let mut fields = CustomerFields::default();
        patch.apply_to(&mut fields);
        fields.fill_defaults();
        if patch.currency.is_none() {
            fields.currency = self.org_currency();
        }
        self.store_logo(input, logo).await?;
        fields.logo.clone_from(logo);
        let draft = Draft {
            reference,
            fields,
            now: Timestamp::now(),
        };
        match self.store.create(&self.scope, draft).await {
            Ok(record) => self.view(record).await,
            Err(error) => Err(self.fail(error, &"")),
        }
    }

    /// The name a request sets, if any: never blank (`missing_param`); too long is `save_failed`
    /// once the other parameters are checked.
    fn name(&self, input: &CustomerInput) -> Result<Option<Name>, ApiError> {
        match input.name.as_deref().map(Name::parse) {
            None => Ok(None),
            Some(Ok(name)) => Ok(Some(name)),
            Some(Err(Invalid::Blank)) => Err(ApiError::missing("name")),
            Some(Err(_)) => Err(save_failed()),
        }
    }

    /// Stores the request's logo into `logo`, unless there is none or an earlier attempt of the
    /// same request stored it.
    async fn store_logo(&self, input: &CustomerInput, logo: &mut Option<LogoPath>) -> Result<(), ApiError> {
        if let (Some(upload), None) = (&input.image, &logo) {
            let path = self
                .logos
                .store(self.org, upload)
                .await
                .map_err(|e| self.fail(e, &""))?;
            *logo = Some(path);
        }
        Ok(())
    }

    /// Removes a logo stored for a request that then failed: no orphan object is left.
    async fn keep_logo_if(&self, saved: bool, logo: Option<LogoPath>) {
        if let (false, Some(path)) = (saved, logo) {
            self.logos.remove(&path).await;
        }
    }

    /// Applies a partial update to the addressed customer: read, decide, write conditioned on
    /// what was read, again from a fresh read when another write came first.
    pub async fn update(
        &self,
        target: &Target,
        input: CustomerInput,
        precondition: Option<&Precondition>,
    ) -> Result<Customer, ApiError> {
        let mut logo = None;
        let mut retries = Retries::default();
        let updated = loop {
            let outcome = match self.find(target).await {
                Ok(current) => {
                    self.update_record(target, &current, &input, precondition, &mut logo)
                        .await
                }
                Err(error) => Err(error),
            };
            if let Some(answer) = retries.settle(outcome).await {
                break answer;
            }
        };
        self.keep_logo_if(updated.is_ok(), logo).await;
        updated
    }

    async fn update_record(
        &self,
        target: &Target,
        current: &Record<CustomerFields>,
        input: &CustomerInput,
        precondition: Option<&Precondition>,
        logo: &mut Option<LogoPath>,
    ) -> Result<Customer, ApiError> {
        if precondition.is_some_and(|p| !p.admits(current.version)) {
            return Err(ApiError::PreconditionFailed(Resource::Customer));
        }
        let reference = match input.reference.as_deref() {
            Some(sent) => Some(present(Some(sent), "reference")?),
            None => None,
        };
        if input.name.is_some() {
            present(input.name.as_deref(), "name")?;
        }
        let reference = reference.map(self::reference).transpose()?;
        let name = self.name(input)?;
        let Changes {
            mut patch,
            checks,
            derived,
        } = self.changes(input, name, Some(current)).await?;
        self.store_logo(input, logo).await?;
        if logo.is_some() {
            patch.logo = Some(logo.clone());
        }
        // Fields decided from the record as read (links, the due-date pair, the logo it replaces)
        // are written only if it is still that record.
        let patch = Patch {
            reference,
            fields: patch,
            now: Timestamp::now(),
            expected: (precondition.is_some() || derived || logo.is_some()).then_some(current.version),
            checks,
        };
        let record = self
            .store
            .update(&self.scope, current.id, patch)
            .await
            .map_err(|e| self.fail(e, target))?;
        if let (Some(_), Some(replaced)) = (&logo, &current.fields.logo) {
            self.logos.remove(replaced).await;
        }
        self.view(record).await
    }

    /// Creates the customer with this reference, or updates it (`name` is required either way,
    /// as the reference marks it). Returns whether it was created.
    pub async fn upsert(
        &self,
        reference: &str,
        mut input: CustomerInput,
        precondition: Option<&Precondition>,
    ) -> Result<(Customer, bool), ApiError> {
        if input.reference.as_deref().is_some_and(|r| r != reference) {
            return Err(ApiError::InvalidParam(vec!["reference".into()]));
        }
        present(input.name.as_deref(), "name")?;
        input.reference = None;
        let target = Target::Reference(reference.to_owned());
        let missing = ApiError::not_found(Resource::Customer, &target);
        let raced = ApiError::Conflict(Resource::Customer);
        let mut logo = None;
        let mut retries = Retries::default();
        let answer = loop {
            let outcome = match self.find(&target).await {
                Ok(current) => match self
                    .update_record(&target, &current, &input, precondition, &mut logo)
                    .await
                {
                    Err(error) if error == missing => Err(raced.clone()),
                    updated => updated.map(|customer| (customer, false)),
                },
                Err(error) if error == missing && precondition.is_some() => {
                    Err(ApiError::PreconditionFailed(Resource::Customer))
                }
                Err(error) if error == missing => {
                    match self.create_with(reference, &input, &mut logo).await {
                        Err(ApiError::NotUnique(_)) => Err(raced.clone()),
                        created => created.map(|customer| (customer, true)),
                    }
                }
                Err(error) => Err(error),
            };
            if let Some(answer) = retries.settle(outcome).await {
                break answer;
            }
        };
        self.keep_logo_if(answer.is_ok(), logo).await;
        answer
    }

    /// Deletes the addressed customer (the version read: its links and logo are the ones
    /// released); `delete_failed` while it has sub-customers.
    pub async fn delete(&self, target: &Target, precondition: Option<&Precondition>) -> Result<(), ApiError> {
        let mut retries = Retries::default();
        loop {
            let outcome = match self.find(target).await {
                Ok(customer) if precondition.is_some_and(|p| !p.admits(customer.version)) => {
                    Err(ApiError::PreconditionFailed(Resource::Customer))
                }
                Ok(customer) => match self
                    .store
                    .delete(&self.scope, customer.id, Some(customer.version))
                    .await
                {
                    Ok(()) => Ok(customer.fields.logo),
                    Err(error) => Err(self.fail(error, target)),
                },
                Err(error) => Err(error),
            };
            if let Some(answer) = retries.settle(outcome).await {
                if let Ok(Some(logo)) = &answer {
                    self.logos.remove(logo).await;
                }
                return answer.map(drop);
            }
        }
    }

    /// The addressed customer.
    pub async fn show(&self, target: &Target) -> Result<Customer, ApiError> {
        let record = self.find(target).await?;
        self.view(record).await
    }

    /// One page of customers, with the `paging` block (links under `path`, cursors sealed by
    /// `sealer`).
    pub async fn list(
        &self,
        mut query: ListQuery<CustomerFields>,
        path: &str,
        sealer: &Sealer<'_>,
    ) -> Result<(PageLinks, Vec<Customer>), ApiError> {
        let mut extra_reads = 0;
        if let Some(pattern) = query.take_linked("categoryReference") {
            let matching = ListQuery::references_matching(pattern);
            let groups = self
                .store
                .list(&self.groups, &matching)
                .await
                .map_err(|e| self.fail(e, &""))?;
            extra_reads += groups.items_read;
            query.id_sets.push(IdSet {
                name: "categoryReference",
                id: |c| c.category_id,
                ids: groups.records.iter().map(|g| g.id).collect(),
            });
        }
        if let Sort::Linked(link) = query.sort {
            let mut linked: Vec<(String, u64)> = match link.name {
                "categoryReference" => {
                    let all = ListQuery::every_record();
                    let groups = self
                        .store
                        .list(&self.groups, &all)
                        .await
                        .map_err(|e| self.fail(e, &""))?;
                    extra_reads += groups.items_read;
                    groups
                        .records
                        .into_iter()
                        .map(|g| (g.reference.as_str().to_owned(), g.id))
                        .collect()
                }
                _ => self
                    .refs
                    .segmentations
                    .iter()
                    .map(|s| (s.reference.clone(), s.id))
                    .collect(),
            };
            linked.sort_by_cached_key(|(reference, id)| (reference_key(reference, *id), *id));
            query.ranks = (0u64..).zip(linked).map(|(rank, (_, id))| (id, rank)).collect();
        }
        let page = self
            .store
            .list(&self.scope, &query)
            .await
            .map_err(|e| self.fail(e, &""))?;
        tracing::info!(
            resource = "customers",
            items_read = page.items_read + extra_reads,
            keys_read = page.keys_read,
            total = page.total,
            returned = page.records.len(),
            "list"
        );
        let (paging, records) = query.page(path, page.total, page.records, sealer);
        Ok((paging, self.views(records).await?))
    }

    async fn view(&self, record: Record<CustomerFields>) -> Result<Customer, ApiError> {
        self.views(vec![record]).await?.pop().ok_or(ApiError::ServerError)
    }

    /// The customers of `records` with their group and parent, read in two batches.
    async fn views(&self, records: Vec<Record<CustomerFields>>) -> Result<Vec<Customer>, ApiError> {
        let group_ids: Vec<u64> = records.iter().filter_map(|r| r.fields.category_id).collect();
        let parent_ids: Vec<u64> = records.iter().filter_map(|r| r.fields.parent_id).collect();
        let groups: HashMap<u64, Record<GroupFields>> = if group_ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .get_many(&self.groups, &group_ids)
                .await
                .map_err(|e| self.fail(e, &""))?
                .into_iter()
                .map(|r| (r.id, r))
                .collect()
        };
        let parents: HashMap<u64, Record<CustomerFields>> = if parent_ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .get_many(&self.scope, &parent_ids)
                .await
                .map_err(|e| self.fail(e, &""))?
                .into_iter()
                .map(|r| (r.id, r))
                .collect()
        };
        Ok(records
            .into_iter()
            .map(|record| {
                let group = record.fields.category_id.and_then(|id| groups.get(&id));
                let parent = record.fields.parent_id.and_then(|id| parents.get(&id));
                view::render(record, self.org, &self.refs, group, parent, self.logos)
            })
            .collect())
    }
}
