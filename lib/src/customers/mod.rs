//! Customers: the model, its rules (references, integrity, defaults) and the documented object.

mod input;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

pub use input::{CustomerInput, IdOrReference};
use input::{MAX_NAME, TEXT_FIELDS};

use crate::error::{ApiError, Resource};
use crate::input::Target;
use crate::list::{IdSetFilter, ListQuery, ListSpec, Paging, TextFilter};
use crate::logos::{LogoPath, Logos};
use crate::reference_data::{Named, ReferenceData};
use crate::routes::BASE_PATH;
use crate::store::{
    Draft, Kind, Link, Organization, Patch, Record, Scope, Store, StoreError, reference_fits,
};
use crate::time::Timestamp;

/// What the list operation accepts.
pub const LIST_SPEC: ListSpec = ListSpec {
    text_filters: &["reference", "name", "categoryReference"],
    bool_filters: &["isActive"],
    sort_fields: &[
        "id",
        "reference",
        "reference2",
        "name",
        "barcode",
        "email",
        "phone",
        "mobile",
        "fax",
        "comment",
        "website",
        "billingCountry",
        "billingCity",
        "billingPostalCode",
        "billingAddress",
        "billingLat",
        "billingLng",
        "country",
        "city",
        "postalCode",
        "address",
        "latitude",
        "longitude",
        "creditLimit",
        "isActive",
        "isSubCustomer",
        "billWithParent",
        "isSameAddress",
        "onHold",
        "onHoldReason",
        "currency",
        "taxNumber",
        "companyRegistrationNumber",
        "customerRisk",
        "customerRiskColor",
        "dueDateConfigNumber",
        "dateCreated",
        "lastUpdated",
    ],
};

/// Defaults of a new customer (the currency defaults to the organization's).
const DEFAULTS: [(&str, bool); 5] = [
    ("isActive", true),
    ("isSubCustomer", false),
    ("billWithParent", false),
    ("isSameAddress", true),
    ("onHold", false),
];

/// How many ancestors are checked for a parent cycle.
const MAX_DEPTH: usize = 64;

/// `dueDateConfigType` names.
fn due_date_type_name(code: u64) -> Option<&'static str> {
    match code {
        1 => Some("daysAfterInvoiceDate"),
        2 => Some("daysAfterEndOfInvoiceMonth"),
        _ => None,
    }
}

fn not_found(what: &str, id: impl std::fmt::Display) -> ApiError {
    ApiError::NotFound(format!("The {what} with the id {id} doesn't exist."))
}

fn self_parent() -> ApiError {
    ApiError::NotFound("The customer cannot be a subcustomer of itself.".into())
}

fn find_named<'a>(items: &'a [Named], wanted: &IdOrReference) -> Option<&'a Named> {
    items.iter().find(|item| match wanted {
        IdOrReference::Id(id) => item.id == *id,
        IdOrReference::Reference(reference) => item.reference == *reference,
    })
}

/// The customer operations of one organization.
pub struct Customers<'a> {
    store: &'a dyn Store,
    logos: &'a Logos,
    refs: Arc<ReferenceData>,
    org: &'a Organization,
    scope: Scope,
    groups: Scope,
}

impl<'a> Customers<'a> {
    /// The customers of `org`, with its reference data and logo storage.
    pub fn new(
        store: &'a dyn Store,
        logos: &'a Logos,
        refs: Arc<ReferenceData>,
        org: &'a Organization,
    ) -> Self {
        Customers {
            store,
            logos,
            refs,
            org,
            scope: Scope::new(org, Kind::Customer),
            groups: Scope::new(org, Kind::Group),
        }
    }

    fn fail(&self, error: StoreError, target: &dyn std::fmt::Display) -> ApiError {
        match error {
            StoreError::NotUnique => ApiError::NotUnique("reference".into()),
            StoreError::NotFound => ApiError::not_found(Resource::Customer, target),
            StoreError::InUse => ApiError::DeleteFailed(Resource::Customer),
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

    async fn find(&self, target: &Target) -> Result<Record, ApiError> {
        let found = match target {
            Target::Id(id) => self.store.get(&self.scope, *id).await,
            Target::Reference(reference) if !reference_fits(reference, MAX_NAME) => Ok(None),
            Target::Reference(reference) => self.store.find_by_reference(&self.scope, reference).await,
        };
        found
            .map_err(|e| self.fail(e, target))?
            .ok_or_else(|| ApiError::not_found(Resource::Customer, target))
    }

    async fn find_linked(&self, scope: &Scope, wanted: &IdOrReference) -> Result<Option<Record>, ApiError> {
        let found = match wanted {
            IdOrReference::Id(id) => self.store.get(scope, *id).await,
            IdOrReference::Reference(reference) if !reference_fits(reference, MAX_NAME) => Ok(None),
            IdOrReference::Reference(reference) => self.store.find_by_reference(scope, reference).await,
        };
        found.map_err(|e| self.fail(e, &""))
    }

    /// The parent, checked to be neither the customer itself nor one of its descendants.
    async fn find_parent(&self, wanted: &IdOrReference, customer: Option<u64>) -> Result<u64, ApiError> {
        let parent = self
            .find_linked(&self.scope, wanted)
            .await?
            .ok_or_else(|| not_found("parent customer", wanted.as_text()))?;
        if let Some(customer) = customer {
            let mut ancestor = Some(parent.clone());
            for _ in 0..MAX_DEPTH {
                let Some(current) = ancestor else { break };
                if current.id == customer {
                    return Err(self_parent());
                }
                ancestor = match current.field("parentId").as_u64() {
                    Some(id) => self
                        .store
                        .get(&self.scope, id)
                        .await
                        .map_err(|e| self.fail(e, &id))?,
                    None => None,
                };
            }
        }
        Ok(parent.id)
    }

    /// The fields and links a request writes, checked against the reference data and the
    /// customer as it is (`current`, on updates).
    async fn changes(
        &self,
        input: &CustomerInput,
        current: Option<&Record>,
    ) -> Result<(Map<String, Value>, Option<Vec<Link>>), ApiError> {
        let mut fields = input.scalars.clone();
        if let Some(name) = &input.name {
            fields.insert("name".into(), Value::String(name.clone()));
        }
        let too_long = TEXT_FIELDS
            .iter()
            .chain([("name", MAX_NAME)].iter())
            .any(|(field, max)| {
                fields
                    .get(*field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.chars().count() > *max)
            });
        if too_long {
            return Err(ApiError::SaveFailed(Resource::Customer));
        }
        let stored = |name: &str| current.and_then(|c| c.field(name).as_u64());

        let category = match &input.category {
            None => stored("categoryId"),
            Some(None) => None,
            Some(Some(wanted)) => Some(
                self.find_linked(&self.groups, wanted)
                    .await?
                    .ok_or_else(|| not_found("customer category", wanted.as_text()))?
                    .id,
            ),
        };
        if let Some(Some(wanted)) = &input.segmentation {
            let found = find_named(&self.refs.segmentations, wanted)
                .ok_or_else(|| not_found("customer segmentation", wanted.as_text()))?;
            fields.insert("segmentationId".into(), json!(found.id));
        } else if input.segmentation.is_some() {
            fields.insert("segmentationId".into(), Value::Null);
        }
        if let Some(Some(wanted)) = &input.user {
            let found = self
                .refs
                .users
                .iter()
                .find(|user| match wanted {
                    IdOrReference::Id(id) => user.id == *id,
                    IdOrReference::Reference(reference) => user.reference == *reference,
                })
                .ok_or_else(|| not_found("user", wanted.as_text()))?;
            fields.insert("userId".into(), json!(found.id));
        } else if input.user.is_some() {
            fields.insert("userId".into(), Value::Null);
        }
        if let Some(region) = input.region {
            if let Some(id) = region {
                if !self.refs.regions.iter().any(|r| r.id == id) {
                    return Err(not_found("region", id));
                }
            }
            fields.insert("regionId".into(), json!(region));
        }
        if let Some(ids) = &input.payment_types {
            if let Some(missing) = ids
                .iter()
                .find(|id| !self.refs.payment_types.iter().any(|p| p.id == **id))
            {
                return Err(not_found("payment type", missing));
            }
            fields.insert("paymentTypeIds".into(), json!(ids));
        }
        if let Some(currency) = &input.currency {
            let code = match currency {
                Some(sent) => {
                    let code = sent.to_ascii_uppercase();
                    if iso_currency::Currency::from_code(&code).is_none() {
                        return Err(ApiError::NotFound(format!(
                            "The currency with name {sent} doesn't exist."
                        )));
                    }
                    if !self.refs.currencies.contains(&code)
                        && self.refs.currency.as_deref() != Some(code.as_str())
                    {
                        return Err(ApiError::NotFound(format!(
                            "The currency with name {code} is not configured."
                        )));
                    }
                    Some(code)
                }
                None => self.refs.currency.clone(),
            };
            fields.insert("currency".into(), json!(code));
        }
        let due_type = input
            .due_date_type
            .map_or(stored("dueDateConfigType"), |t| t.map(u64::from));
        let due_number = input.due_date_number.map_or(
            current.and_then(|c| c.field("dueDateConfigNumber").as_i64()),
            |n| n,
        );
        if due_type.is_some() && due_number.is_none() {
            return Err(ApiError::missing("dueDateConfigNumber"));
        }
        if let Some(number) = input.due_date_number {
            fields.insert("dueDateConfigNumber".into(), json!(number));
        }
        if let Some(kind) = input.due_date_type {
            fields.insert("dueDateConfigType".into(), json!(kind));
        }

        let sent_is_sub = input.scalars.get("isSubCustomer").and_then(Value::as_bool);
        let touches_links = input.category.is_some() || input.parent.is_some() || sent_is_sub.is_some();
        if !touches_links {
            return Ok((fields, None));
        }
        let parent_sent = match &input.parent {
            None => None,
            Some(None) => Some(None),
            Some(Some(wanted)) => Some(Some(self.find_parent(wanted, current.map(|c| c.id)).await?)),
        };
        let was_sub = current
            .and_then(|c| c.field("isSubCustomer").as_bool())
            .unwrap_or(false);
        let is_sub = sent_is_sub.unwrap_or(match parent_sent {
            Some(parent) => parent.is_some(),
            None => was_sub,
        });
        let parent = if is_sub {
            parent_sent.unwrap_or(stored("parentId"))
        } else {
            None
        };
        if is_sub && parent.is_none() {
            return Err(ApiError::missing("parentCustomer"));
        }
        fields.insert("isSubCustomer".into(), json!(is_sub));
        fields.insert("parentId".into(), json!(parent));
        fields.insert("categoryId".into(), json!(category));
        let links = category
            .map(|id| Link {
                kind: Kind::Group,
                id,
            })
            .into_iter()
            .chain(parent.map(|id| Link {
                kind: Kind::Customer,
                id,
            }))
            .collect();
        Ok((fields, Some(links)))
    }

    /// Creates a customer; `reference` and `name` are required.
    pub async fn create(&self, input: CustomerInput) -> Result<CustomerView, ApiError> {
        let reference = required(input.reference.as_deref(), "reference")?.to_owned();
        required(input.name.as_deref(), "name")?;
        self.create_with(reference, input).await
    }

    async fn create_with(&self, reference: String, input: CustomerInput) -> Result<CustomerView, ApiError> {
        if !reference_fits(&reference, MAX_NAME) {
            return Err(ApiError::SaveFailed(Resource::Customer));
        }
        let (mut fields, links) = self.changes(&input, None).await?;
        for (name, value) in DEFAULTS {
            fields.entry(name).or_insert(Value::Bool(value));
        }
        fields
            .entry("currency")
            .or_insert_with(|| json!(self.refs.currency));
        let logo = self.store_logo(&input, &mut fields).await?;
        let draft = Draft {
            reference,
            fields,
            now: Timestamp::now(),
            links: links.unwrap_or_default(),
        };
        match self.store.create(&self.scope, draft).await {
            Ok(record) => self.view(record).await,
            Err(error) => {
                self.discard_logo(logo).await;
                Err(self.fail(error, &""))
            }
        }
    }

    /// Stores the request's logo (if any) and sets the `logo` field to it.
    async fn store_logo(
        &self,
        input: &CustomerInput,
        fields: &mut Map<String, Value>,
    ) -> Result<Option<LogoPath>, ApiError> {
        let Some(upload) = &input.image else {
            return Ok(None);
        };
        let path = self
            .logos
            .store(self.org, upload)
            .await
            .map_err(|e| self.fail(e, &""))?;
        fields.insert("logo".into(), json!(path.as_str()));
        Ok(Some(path))
    }

    /// Removes a logo stored for a request that then failed: no orphan object is left.
    async fn discard_logo(&self, logo: Option<LogoPath>) {
        if let Some(path) = logo {
            self.logos.remove(path.as_str()).await;
        }
    }

    /// Applies a partial update to the addressed customer.
    pub async fn update(&self, target: &Target, input: CustomerInput) -> Result<CustomerView, ApiError> {
        let current = self.find(target).await?;
        self.update_record(target, &current, input).await
    }

    async fn update_record(
        &self,
        target: &Target,
        current: &Record,
        input: CustomerInput,
    ) -> Result<CustomerView, ApiError> {
        let reference = match input.reference.as_deref() {
            Some(reference) => Some(required(Some(reference), "reference")?.to_owned()),
            None => None,
        };
        if input.name.is_some() {
            required(input.name.as_deref(), "name")?;
        }
        if reference.as_deref().is_some_and(|r| !reference_fits(r, MAX_NAME)) {
            return Err(ApiError::SaveFailed(Resource::Customer));
        }
        let (mut fields, links) = self.changes(&input, Some(current)).await?;
        let logo = self.store_logo(&input, &mut fields).await?;
        let patch = Patch {
            reference,
            fields,
            now: Timestamp::now(),
            links,
        };
        match self.store.update(&self.scope, current.id, patch).await {
            Ok(record) => {
                if let (Some(_), Some(replaced)) = (&logo, current.field("logo").as_str()) {
                    self.logos.remove(replaced).await;
                }
                self.view(record).await
            }
            Err(error) => {
                self.discard_logo(logo).await;
                Err(self.fail(error, target))
            }
        }
    }

    /// Creates the customer with this reference, or updates it. Returns whether it was created.
    pub async fn upsert(
        &self,
        reference: &str,
        mut input: CustomerInput,
    ) -> Result<(CustomerView, bool), ApiError> {
        if input.reference.as_deref().is_some_and(|r| r != reference) {
            return Err(ApiError::InvalidParam(vec!["reference".into()]));
        }
        input.reference = None;
        let target = Target::Reference(reference.to_owned());
        let missing = ApiError::not_found(Resource::Customer, &target);
        for _ in 0..3 {
            match self.find(&target).await {
                Ok(current) => match self.update_record(&target, &current, input.clone()).await {
                    Err(error) if error == missing => continue,
                    updated => return Ok((updated?, false)),
                },
                Err(error) if error == missing => {
                    required(input.name.as_deref(), "name")?;
                    match self.create_with(reference.to_owned(), input.clone()).await {
                        Err(ApiError::NotUnique(_)) => continue,
                        created => return Ok((created?, true)),
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Err(ApiError::SaveFailed(Resource::Customer))
    }

    /// Deletes the addressed customer; `delete_failed` while it has sub-customers.
    pub async fn delete(&self, target: &Target) -> Result<(), ApiError> {
        let customer = self.find(target).await?;
        self.store
            .delete(&self.scope, customer.id)
            .await
            .map_err(|e| self.fail(e, target))?;
        if let Some(logo) = customer.field("logo").as_str() {
            self.logos.remove(logo).await;
        }
        Ok(())
    }

    /// The addressed customer.
    pub async fn show(&self, target: &Target) -> Result<CustomerView, ApiError> {
        let record = self.find(target).await?;
        self.view(record).await
    }

    /// One page of customers, with the `paging` block (links under `path`).
    pub async fn list(
        &self,
        mut query: ListQuery,
        path: &str,
    ) -> Result<(Paging, Vec<CustomerView>), ApiError> {
        let mut extra_reads = 0;
        if let Some(filter) = query.take_text_filter("categoryReference") {
            let matching = ListQuery::matching_all(vec![TextFilter {
                field: "reference",
                pattern: filter.pattern,
            }]);
            let groups = self
                .store
                .list(&self.groups, &matching)
                .await
                .map_err(|e| self.fail(e, &""))?;
            extra_reads += groups.items_read;
            query.id_sets.push(IdSetFilter {
                field: "categoryId",
                ids: groups.records.iter().map(|g| g.id).collect(),
            });
        }
        let page = self
            .store
            .list(&self.scope, &query)
            .await
            .map_err(|e| self.fail(e, &""))?;
        tracing::info!(
            resource = "customers",
            items_read = page.items_read + extra_reads,
            total = page.total,
            returned = page.records.len(),
            "list"
        );
        let paging = query.paging(path, page.total);
        Ok((paging, self.views(page.records).await?))
    }

    async fn view(&self, record: Record) -> Result<CustomerView, ApiError> {
        self.views(vec![record]).await?.pop().ok_or(ApiError::ServerError)
    }

    /// Renders records with their group and parent, read in two batches.
    async fn views(&self, records: Vec<Record>) -> Result<Vec<CustomerView>, ApiError> {
        let ids = |field: &str| {
            records
                .iter()
                .filter_map(|r| r.field(field).as_u64())
                .collect::<Vec<_>>()
        };
        let (group_ids, parent_ids) = (ids("categoryId"), ids("parentId"));
        let by_id = |records: Vec<Record>| records.into_iter().map(|r| (r.id, r)).collect::<HashMap<_, _>>();
        let groups = if group_ids.is_empty() {
            HashMap::new()
        } else {
            by_id(
                self.store
                    .get_many(&self.groups, &group_ids)
                    .await
                    .map_err(|e| self.fail(e, &""))?,
            )
        };
        let parents = if parent_ids.is_empty() {
            HashMap::new()
        } else {
            by_id(
                self.store
                    .get_many(&self.scope, &parent_ids)
                    .await
                    .map_err(|e| self.fail(e, &""))?,
            )
        };
        Ok(records
            .iter()
            .map(|record| {
                let group = record.field("categoryId").as_u64().and_then(|id| groups.get(&id));
                let parent = record.field("parentId").as_u64().and_then(|id| parents.get(&id));
                render(record, self.org, &self.refs, group, parent, self.logos)
            })
            .collect())
    }
}

fn required<'v>(value: Option<&'v str>, name: &str) -> Result<&'v str, ApiError> {
    match value {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ApiError::missing(name)),
    }
}

fn href(collection: &str, id: u64) -> String {
    format!("{BASE_PATH}/{collection}/{id}")
}

/// A customer as the API shows it: the documented keys in the documented order, serialised
/// straight from this list (no intermediate JSON map: building one with its 59 owned keys was
/// most of a list request's instructions).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView(Vec<(&'static str, Value)>);

impl serde::Serialize for CustomerView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The documented customer object, every key in the documented order.
fn render(
    record: &Record,
    org: &Organization,
    refs: &ReferenceData,
    group: Option<&Record>,
    parent: Option<&Record>,
    logos: &Logos,
) -> CustomerView {
    let field = |name: &str| record.field(name).clone();
    let named = |items: &[Named], id_field: &str, collection: &str| {
        let id = record.field(id_field).as_u64()?;
        let item = items.iter().find(|item| item.id == id)?;
        Some(
            json!({"id": item.id, "reference": item.reference, "name": item.name, "href": href(collection, item.id)}),
        )
    };
    let segmentation = named(&refs.segmentations, "segmentationId", "customerSegmentations");
    let user = record
        .field("userId")
        .as_u64()
        .and_then(|id| refs.users.iter().find(|u| u.id == id))
        .map(|u| json!({"userId": u.id, "reference": u.reference, "href": href("users", u.id)}));
    let payment_types: Vec<Value> = record
        .field("paymentTypeIds")
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_u64)
                .filter_map(|id| refs.payment_types.iter().find(|p| p.id == id))
                .map(|p| json!({"id": p.id, "reference": p.reference, "name": p.name, "href": href("paymentTypes", p.id)}))
                .collect()
        })
        .unwrap_or_default();
    let region = record
        .field("regionId")
        .as_u64()
        .and_then(|id| refs.regions.iter().find(|r| r.id == id))
        .map(|r| json!({"id": r.id, "name": r.name, "href": href("regions", r.id)}));
    let linked = |linked: Option<&Record>, collection: &str| {
        linked.map(|r| json!({"id": r.id, "reference": r.reference, "name": r.field("name"), "href": href(collection, r.id)}))
    };
    let due_date_type = record
        .field("dueDateConfigType")
        .as_u64()
        .and_then(due_date_type_name);

    let mut out = Vec::with_capacity(CUSTOMER_KEYS);
    let mut put = |key: &'static str, value: Value| out.push((key, value));
    put("id", json!(record.id));
    put("reference", json!(record.reference));
    put("reference2", field("reference2"));
    put("name", field("name"));
    put("categoryReference", json!(group.map(|g| &g.reference)));
    put("customerCategory", json!(linked(group, "customerCategories")));
    put("isSubCustomer", field("isSubCustomer"));
    put("parentCustomer", json!(linked(parent, "customers")));
    put("billWithParent", field("billWithParent"));
    put(
        "customerSegmentationReference",
        json!(segmentation.as_ref().map(|s| s["reference"].clone())),
    );
    put("customerSegmentation", json!(segmentation));
    put("pocTenus", Value::Null);
    put("email", field("email"));
    put(
        "logo",
        json!(record.field("logo").as_str().map(|path| logos.url(path))),
    );
    for name in ["phone", "mobile", "fax", "comment", "barcode", "isSameAddress"] {
        put(name, field(name));
    }
    for name in [
        "billingCountry",
        "billingCity",
        "billingPostalCode",
        "billingAddress",
        "billingLat",
        "billingLng",
        "country",
        "city",
        "postalCode",
        "address",
        "latitude",
        "longitude",
    ] {
        put(name, field(name));
    }
    put("isCredit", Value::Null);
    put("creditLimit", field("creditLimit"));
    for name in [
        "balance",
        "maxChequePeriod",
        "maxChequeValue",
        "appliedCashBackOutput",
        "returnDiscount",
        "invoicesPerRoute",
    ] {
        put(name, Value::Null);
    }
    put("isActive", field("isActive"));
    put("onHold", field("onHold"));
    put("onHoldReason", field("onHoldReason"));
    put("paymentTerm", Value::Null);
    put("createdBy", json!(user));
    put("dueDateConfigNumber", field("dueDateConfigNumber"));
    put("dueDateConfigType", json!(due_date_type));
    put("paymentTypes", Value::Array(payment_types));
    for name in ["website", "taxNumber", "companyRegistrationNumber"] {
        put(name, field(name));
    }
    put("contacts", json!([]));
    put("currency", field("currency"));
    put("customerRisk", field("customerRisk"));
    put("customerRiskColor", field("customerRiskColor"));
    put("organization", json!(org.as_str()));
    put("dateCreated", json!(record.date_created));
    put("lastUpdated", json!(record.last_updated));
    put("region", json!(region));
    CustomerView(out)
}

/// How many keys the documented customer object has.
const CUSTOMER_KEYS: usize = 59;
