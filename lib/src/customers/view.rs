//! A customer as the API shows it: the stored record with its related records resolved.

use serde::Serialize;

use super::catalogue::{CreatedBy, CustomerFields, CustomerView, DueDateName, RegionRef, Related, Shown};
use crate::groups::GroupFields;
use crate::logos::Logos;
use crate::model::{Organization, Record};
use crate::reference_data::ReferenceData;
use crate::routes::BASE_PATH;
use crate::values::Name;

/// A customer with everything its documented object shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    record: Record<CustomerFields>,
    shown: Shown,
}

impl Customer {
    /// The stored record.
    pub fn record(&self) -> &Record<CustomerFields> {
        &self.record
    }

    /// The documented object.
    pub fn view(&self) -> CustomerView<'_> {
        CustomerView::new(&self.record, &self.shown)
    }
}

impl Serialize for Customer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

fn href(collection: &str, id: u64) -> String {
    format!("{BASE_PATH}/{collection}/{id}")
}

impl Related {
    fn new(id: u64, reference: &str, name: &str, collection: &str) -> Self {
        Related {
            id,
            reference: reference.to_owned(),
            name: name.to_owned(),
            href: href(collection, id),
        }
    }
}

/// Resolves what `record` shows: its group and parent (read by the caller), the reference data
/// it points at, its logo's URL.
pub(super) fn render(
    record: Record<CustomerFields>,
    org: &Organization,
    refs: &ReferenceData,
    group: Option<&Record<GroupFields>>,
    parent: Option<&Record<CustomerFields>>,
    logos: &Logos,
) -> Customer {
    let fields = &record.fields;
    let segmentation = fields
        .segmentation_id
        .and_then(|id| refs.segmentations.iter().find(|s| s.id == id))
        .map(|s| Related::new(s.id, &s.reference, &s.name, "customerSegmentations"));
    let shown = Shown {
        category_reference: group.map(|g| g.reference.clone()),
        customer_category: group.map(|g| {
            Related::new(
                g.id,
                g.reference.as_str(),
                g.fields.name.as_str(),
                "customerCategories",
            )
        }),
        parent_customer: parent.map(|p| {
            let name = p.fields.name.as_ref().map_or("", Name::as_str);
            Related::new(p.id, p.reference.as_str(), name, "customers")
        }),
        customer_segmentation_reference: segmentation.as_ref().map(|s| s.reference.clone()),
        customer_segmentation: segmentation,
        logo_url: fields.logo.as_ref().map(|path| logos.url(path)),
        created_by: fields
            .user_id
            .and_then(|id| refs.users.iter().find(|u| u.id == id))
            .map(|u| CreatedBy {
                user_id: u.id,
                reference: u.reference.clone(),
                href: href("users", u.id),
            }),
        due_date_config_type_name: fields.due_date_config_type.map(DueDateName::from),
        payment_types: fields
            .payment_type_ids
            .iter()
            .flatten()
            .filter_map(|id| refs.payment_types.iter().find(|p| p.id == *id))
            .map(|p| Related::new(p.id, &p.reference, &p.name, "paymentTypes"))
            .collect(),
        contacts: [],
        organization: org.clone(),
        region: fields
            .region_id
            .and_then(|id| refs.regions.iter().find(|r| r.id == id))
            .map(|r| RegionRef {
                id: r.id,
                name: r.name.clone(),
                href: href("regions", r.id),
            }),
    };
    Customer { record, shown }
}
