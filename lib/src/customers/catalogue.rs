//! The customer field catalogue: the documented customer object, key by key in its documented
//! order (reference v2.1, 11.3). Adding a field is one entry here (see `catalogue` for the kinds).

use serde::{Deserialize, Serialize};

use crate::catalogue::catalogue;
use crate::logos::LogoPath;
use crate::model::{Fields, FieldsPatch, Kind, Link, Organization};
use crate::schema::{Describe, object};
use crate::time::Timestamp;
use crate::values::{Amount, CurrencyCode, Days, Latitude, LongText, Longitude, Name, Reference, ShortText};
use serde_json::Value;

catalogue! {
    fields CustomerFields, patch CustomerPatch, shown Shown, view CustomerView,
    specs FIELDS, params PARAMS, keys KEYS;

    record id                              "id": u64,
    record reference                       "reference": Reference,
    param  reference2                      "reference2": ShortText,
    ruled  name                            "name": Name [Wildcard],
    shown  category_reference              "categoryReference": Option<Reference>,
    shown  customer_category               "customerCategory": Option<Related>,
    param  is_sub_customer                 "isSubCustomer": bool = false,
    shown  parent_customer                 "parentCustomer": Option<Related>,
    param  bill_with_parent                "billWithParent": bool = false,
    shown  customer_segmentation_reference "customerSegmentationReference": Option<String>,
    shown  customer_segmentation           "customerSegmentation": Option<Related>,
    null   poc_tenus                       "pocTenus",
    param  email                           "email": ShortText,
    shown  logo_url                        "logo": Option<String>,
    param  phone                           "phone": ShortText,
    param  mobile                          "mobile": ShortText,
    param  fax                             "fax": ShortText,
    param  comment                         "comment": LongText,
    param  barcode                         "barcode": ShortText,
    param  is_same_address                 "isSameAddress": bool = true,
    param  billing_country                 "billingCountry": ShortText,
    param  billing_city                    "billingCity": ShortText,
    param  billing_postal_code             "billingPostalCode": ShortText,
    param  billing_address                 "billingAddress": ShortText,
    param  billing_lat                     "billingLat": Latitude,
    param  billing_lng                     "billingLng": Longitude,
    param  country                         "country": ShortText,
    param  city                            "city": ShortText,
    param  postal_code                     "postalCode": ShortText,
    param  address                         "address": ShortText,
    param  latitude                        "latitude": Latitude,
    param  longitude                       "longitude": Longitude,
    null   is_credit                       "isCredit",
    param  credit_limit                    "creditLimit": Amount,
    null   balance                         "balance",
    null   max_cheque_period               "maxChequePeriod",
    null   max_cheque_value                "maxChequeValue",
    null   applied_cash_back_output        "appliedCashBackOutput",
    null   return_discount                 "returnDiscount",
    null   invoices_per_route              "invoicesPerRoute",
    param  is_active                       "isActive": bool [Flag] = true,
    param  on_hold                         "onHold": bool = false,
    param  on_hold_reason                  "onHoldReason": ShortText,
    null   payment_term                    "paymentTerm",
    shown  created_by                      "createdBy": Option<CreatedBy>,
    param  due_date_config_number          "dueDateConfigNumber": Days,
    shown  due_date_config_type_name       "dueDateConfigType": Option<DueDateName>,
    shown  payment_types                   "paymentTypes": Vec<Related>,
    param  website                         "website": ShortText,
    param  tax_number                      "taxNumber": ShortText,
    param  company_registration_number     "companyRegistrationNumber": ShortText,
    shown  contacts                        "contacts": [(); 0],
    ruled  currency                        "currency": CurrencyCode,
    param  customer_risk                   "customerRisk": ShortText,
    param  customer_risk_color             "customerRiskColor": ShortText,
    shown  organization                    "organization": Organization,
    record date_created                    "dateCreated": Timestamp,
    record last_updated                    "lastUpdated": Timestamp,
    shown  region                          "region": Option<RegionRef>,

    stored category_id                     "categoryId": u64,
    stored parent_id                       "parentId": u64,
    stored segmentation_id                 "segmentationId": u64,
    stored user_id                         "userId": u64,
    stored region_id                       "regionId": u64,
    stored payment_type_ids                "paymentTypeIds": Vec<u64>,
    stored due_date_config_type            "dueDateConfigType": DueDateType,
    stored logo                            "logo": LogoPath,
}

impl Fields for CustomerFields {
    const KIND: Kind = Kind::Customer;
    type Patch = CustomerPatch;

    /// Its group, then its parent.
    fn links(&self) -> Vec<Link> {
        let group = self.category_id.map(|id| Link {
            kind: Kind::Group,
            id,
        });
        let parent = self.parent_id.map(|id| Link {
            kind: Kind::Customer,
            id,
        });
        group.into_iter().chain(parent).collect()
    }

    fn name(&self) -> Option<&str> {
        self.name.as_ref().map(Name::as_str)
    }

    fn active(&self) -> Option<bool> {
        self.is_active
    }

    fn category(&self) -> Option<u64> {
        self.category_id
    }
}

impl FieldsPatch<CustomerFields> for CustomerPatch {
    fn apply(&self, fields: &mut CustomerFields) {
        self.apply_to(fields);
    }

    fn touches_links(&self) -> bool {
        self.category_id.is_some() || self.parent_id.is_some()
    }

    fn name(&self) -> Option<Option<&str>> {
        self.name.as_ref().map(|name| name.as_ref().map(Name::as_str))
    }

    fn active(&self) -> Option<Option<bool>> {
        self.is_active
    }

    fn category(&self) -> Option<Option<u64>> {
        self.category_id
    }
}

/// How due dates are computed (`dueDateConfigType` 1 or 2), stored as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum DueDateType {
    /// `1`: days after the invoice date.
    AfterInvoiceDate,
    /// `2`: days after the end of the invoice's month.
    AfterEndOfInvoiceMonth,
}

impl DueDateType {
    /// The form value `1` or `2`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "1" => Some(DueDateType::AfterInvoiceDate),
            "2" => Some(DueDateType::AfterEndOfInvoiceMonth),
            _ => None,
        }
    }

    /// The documented name.
    pub fn name(self) -> &'static str {
        match self {
            DueDateType::AfterInvoiceDate => "daysAfterInvoiceDate",
            DueDateType::AfterEndOfInvoiceMonth => "daysAfterEndOfInvoiceMonth",
        }
    }
}

/// How a due date type is shown: its documented name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DueDateName(&'static str);

impl From<DueDateType> for DueDateName {
    fn from(kind: DueDateType) -> Self {
        DueDateName(kind.name())
    }
}

impl Describe for DueDateName {
    fn schema() -> Value {
        let names =
            [DueDateType::AfterInvoiceDate, DueDateType::AfterEndOfInvoiceMonth].map(DueDateType::name);
        serde_json::json!({"type": "string", "enum": names})
    }
}

impl From<DueDateType> for u8 {
    fn from(kind: DueDateType) -> u8 {
        match kind {
            DueDateType::AfterInvoiceDate => 1,
            DueDateType::AfterEndOfInvoiceMonth => 2,
        }
    }
}

impl TryFrom<u8> for DueDateType {
    type Error = String;

    fn try_from(code: u8) -> Result<Self, Self::Error> {
        DueDateType::parse(&code.to_string()).ok_or_else(|| format!("no due date type {code}"))
    }
}

/// An embedded related record: `{id, reference, name, href}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// Its id.
    pub id: u64,
    /// Its reference.
    pub reference: String,
    /// Its name.
    pub name: String,
    /// Its URL path.
    pub href: String,
}

/// The embedded user who created the customer: `{userId, reference, href}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatedBy {
    /// The user's id.
    #[serde(rename = "userId")]
    pub user_id: u64,
    /// The user's reference.
    pub reference: String,
    /// Its URL path.
    pub href: String,
}

/// The embedded region: `{id, name, href}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionRef {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its URL path.
    pub href: String,
}

impl Describe for Related {
    fn schema() -> Value {
        object(vec![
            ("id", <u64 as Describe>::schema()),
            ("reference", <String as Describe>::schema()),
            ("name", <String as Describe>::schema()),
            ("href", <String as Describe>::schema()),
        ])
    }
}

impl Describe for CreatedBy {
    fn schema() -> Value {
        object(vec![
            ("userId", <u64 as Describe>::schema()),
            ("reference", <String as Describe>::schema()),
            ("href", <String as Describe>::schema()),
        ])
    }
}

impl Describe for RegionRef {
    fn schema() -> Value {
        object(vec![
            ("id", <u64 as Describe>::schema()),
            ("name", <String as Describe>::schema()),
            ("href", <String as Describe>::schema()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of each embedded object as the serialiser writes them, against the schema's.
    #[test]
    fn embedded_objects_have_exactly_the_described_keys() {
        fn keys(value: Value) -> Vec<String> {
            value.as_object().expect("object").keys().cloned().collect()
        }
        fn described<T: Describe>() -> Vec<String> {
            keys(T::schema()["properties"].clone())
        }
        let related = Related {
            id: 1,
            reference: "r".into(),
            name: "n".into(),
            href: "/h".into(),
        };
        let created = CreatedBy {
            user_id: 1,
            reference: "r".into(),
            href: "/h".into(),
        };
        let region = RegionRef {
            id: 1,
            name: "n".into(),
            href: "/h".into(),
        };
        let json = |value: serde_json::Result<Value>| value.expect("serialises");
        assert_eq!(keys(json(serde_json::to_value(&related))), described::<Related>());
        assert_eq!(
            keys(json(serde_json::to_value(&created))),
            described::<CreatedBy>()
        );
        assert_eq!(
            keys(json(serde_json::to_value(&region))),
            described::<RegionRef>()
        );
    }

    use crate::store::dynamo::SYSTEM_ATTRIBUTES;

    #[test]
    fn every_parameter_and_sort_field_is_a_documented_key() {
        for name in PARAMS.iter().chain(FIELDS.iter().map(|f| &f.name)) {
            assert!(KEYS.contains(name), "{name}");
        }
    }

    #[test]
    fn stored_attributes_never_collide_with_the_stores_own() {
        for name in CustomerFields::ATTRIBUTES {
            assert!(!SYSTEM_ATTRIBUTES.contains(name), "{name}");
        }
    }

    #[test]
    fn due_date_types_are_stored_as_their_number() {
        let stored = serde_json::to_string(&DueDateType::AfterEndOfInvoiceMonth).expect("json");
        assert_eq!(stored, "2");
        let read: DueDateType = serde_json::from_str("1").expect("parses");
        assert_eq!(read, DueDateType::AfterInvoiceDate);
        assert!(serde_json::from_str::<DueDateType>("3").is_err());
    }
}
