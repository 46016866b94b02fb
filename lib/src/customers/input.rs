//! Customer parameters from a form body, typed as documented.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::form::FormData;
use crate::input::check_names;
use crate::logos::Upload;

/// Plain text parameters and their longest accepted length, in characters.
pub(super) const TEXT_FIELDS: [(&str, usize); 21] = [
    ("reference2", 255),
    ("barcode", 255),
    ("billingCountry", 255),
    ("billingCity", 255),
    ("billingPostalCode", 255),
    ("billingAddress", 255),
    ("country", 255),
    ("city", 255),
    ("postalCode", 255),
    ("address", 255),
    ("email", 255),
    ("phone", 255),
    ("mobile", 255),
    ("fax", 255),
    ("comment", 4000),
    ("website", 255),
    ("taxNumber", 255),
    ("companyRegistrationNumber", 255),
    ("customerRisk", 255),
    ("customerRiskColor", 255),
    ("onHoldReason", 255),
];

/// Boolean parameters.
pub(super) const BOOL_FIELDS: [&str; 5] = [
    "isActive",
    "isSubCustomer",
    "billWithParent",
    "isSameAddress",
    "onHold",
];

/// Double parameters, with their accepted range.
pub(super) const DOUBLE_FIELDS: [(&str, f64, f64); 5] = [
    ("billingLat", -90.0, 90.0),
    ("billingLng", -180.0, 180.0),
    ("latitude", -90.0, 90.0),
    ("longitude", -180.0, 180.0),
    ("creditLimit", -1e15, 1e15),
];

/// Parameters with their own rules.
const OTHER_PARAMS: [&str; 13] = [
    "reference",
    "name",
    "categoryId",
    "parentCustomer",
    "customerSegmentationId",
    "userId",
    "regionId",
    "paymentTypes",
    "currency",
    "dueDateConfigNumber",
    "dueDateConfigType",
    "useExternalId",
    "imageFile",
];

/// The longest name and reference, in characters.
pub(super) const MAX_NAME: usize = 255;

/// A linked resource addressed by numeric id or by reference (external id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrReference {
    /// Numeric id.
    Id(u64),
    /// External id.
    Reference(String),
}

impl IdOrReference {
    fn parse(text: &str, external: bool) -> Self {
        match text.parse::<u64>() {
            Ok(id) if !external && !text.starts_with('+') => IdOrReference::Id(id),
            _ => IdOrReference::Reference(text.to_owned()),
        }
    }

    /// The value as the client sent it (for error messages).
    pub fn as_text(&self) -> String {
        match self {
            IdOrReference::Id(id) => id.to_string(),
            IdOrReference::Reference(reference) => reference.clone(),
        }
    }
}

/// What a request says about one optional value: absent, cleared (empty), or set.
pub type Change<T> = Option<Option<T>>;

/// The customer parameters of one request, typed. Absent parameters are `None`.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    /// `reference`: `Some("")` when sent empty.
    pub reference: Option<String>,
    /// `name`: `Some("")` when sent empty.
    pub name: Option<String>,
    /// Text, boolean and double parameters, ready to store (`null` clears).
    pub scalars: Map<String, Value>,
    /// `categoryId`.
    pub category: Change<IdOrReference>,
    /// `parentCustomer`.
    pub parent: Change<IdOrReference>,
    /// `customerSegmentationId`.
    pub segmentation: Change<IdOrReference>,
    /// `userId`.
    pub user: Change<IdOrReference>,
    /// `regionId`.
    pub region: Change<u64>,
    /// `paymentTypes`, ids in order, de-duplicated.
    pub payment_types: Option<Vec<u64>>,
    /// `currency`, as sent.
    pub currency: Change<String>,
    /// `dueDateConfigNumber`.
    pub due_date_number: Change<i64>,
    /// `dueDateConfigType`: 1 or 2.
    pub due_date_type: Change<u8>,
    /// `imageFile`, checked.
    pub image: Option<Upload>,
}

fn bad(name: &str) -> ApiError {
    ApiError::bad_type(name)
}

impl CustomerInput {
    /// Reads the documented parameters; unknown ones are `invalid_param`, wrong types
    /// `invalid_param_type`.
    pub fn from_form(form: &FormData) -> Result<Self, ApiError> {
        let known = |name: &str| {
            TEXT_FIELDS.iter().any(|(f, _)| *f == name)
                || BOOL_FIELDS.contains(&name)
                || DOUBLE_FIELDS.iter().any(|(f, _, _)| *f == name)
                || OTHER_PARAMS.contains(&name)
        };
        let names = form
            .values
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(form.files.iter().map(|f| f.name.as_str()));
        check_names(names, known)?;
        let value = |name: &str| form.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
        let external = match value("useExternalId") {
            None | Some("") => false,
            Some(text) => parse_bool("useExternalId", text)?,
        };

        let mut input = CustomerInput {
            reference: value("reference").map(str::to_owned),
            name: value("name").map(str::to_owned),
            ..CustomerInput::default()
        };
        for (name, _) in TEXT_FIELDS {
            if let Some(text) = value(name) {
                let stored = if text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text.to_owned())
                };
                input.scalars.insert(name.to_owned(), stored);
            }
        }
        for name in BOOL_FIELDS {
            if let Some(text) = value(name) {
                input
                    .scalars
                    .insert(name.to_owned(), Value::Bool(parse_bool(name, text)?));
            }
        }
        for (name, low, high) in DOUBLE_FIELDS {
            if let Some(text) = value(name) {
                let stored = if text.is_empty() {
                    Value::Null
                } else {
                    let number = text
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| bad(name))?;
                    if !(low..=high).contains(&number) {
                        return Err(bad(name));
                    }
                    number_value(number).ok_or_else(|| bad(name))?
                };
                input.scalars.insert(name.to_owned(), stored);
            }
        }
        let link = |name: &str| -> Change<IdOrReference> {
            value(name).map(|text| (!text.is_empty()).then(|| IdOrReference::parse(text, external)))
        };
        input.category = link("categoryId");
        input.parent = link("parentCustomer");
        input.segmentation = link("customerSegmentationId");
        input.user = link("userId");
        input.region = match value("regionId") {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(parse_id("regionId", text)?)),
        };
        input.payment_types = value("paymentTypes").map(parse_payment_types).transpose()?;
        input.currency = value("currency").map(|text| (!text.is_empty()).then(|| text.to_owned()));
        input.due_date_number = match value("dueDateConfigNumber") {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=36_500).contains(n))
                    .ok_or_else(|| bad("dueDateConfigNumber"))?,
            )),
        };
        input.due_date_type = match value("dueDateConfigType") {
            None => None,
            Some("") => Some(None),
            Some("1") => Some(Some(1)),
            Some("2") => Some(Some(2)),
            Some(_) => return Err(bad("dueDateConfigType")),
        };
        if value("imageFile").is_some() {
            return Err(ApiError::UnsupportedFileType);
        }
        input.image = form.files.first().map(Upload::check).transpose()?;
        if let Some(reference) = &input.reference {
            if reference.chars().count() > MAX_NAME {
                return Err(ApiError::SaveFailed(crate::error::Resource::Customer));
            }
        }
        Ok(input)
    }
}

/// Whole numbers are stored as integers (`5000`, not `5000.0`, as documented).
fn number_value(number: f64) -> Option<Value> {
    if number.fract() == 0.0 && number.abs() < 9e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::from(number as i64));
    }
    serde_json::Number::from_f64(number).map(Value::Number)
}

fn parse_bool(name: &str, text: &str) -> Result<bool, ApiError> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(name)),
    }
}

fn parse_id(name: &str, text: &str) -> Result<u64, ApiError> {
    text.parse::<u64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .ok_or_else(|| bad(name))
}

/// `[{"id"=7},{"id"=8}]` (the documented form) or JSON `[{"id":7}]`; ids may be quoted.
fn parse_payment_types(text: &str) -> Result<Vec<u64>, ApiError> {
    let invalid = || bad("payment type id");
    let json = text.replace("\"=", "\":");
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&json) else {
        return Err(invalid());
    };
    let mut ids = Vec::new();
    for item in items {
        let id = match item.get("id") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or_else(invalid)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            files: Vec::new(),
        }
    }

    #[test]
    fn payment_types_in_both_notations() {
        assert_eq!(parse_payment_types(r#"[{"id"=7},{"id"=8}]"#), Ok(vec![7, 8]));
        assert_eq!(
            parse_payment_types(r#"[{"id":7},{"id":"8"},{"id":7}]"#),
            Ok(vec![7, 8])
        );
        assert_eq!(parse_payment_types("[]"), Ok(vec![]));
        for bad_value in [
            r#"[{"id"="x"}]"#,
            "nope",
            r#"{"id":7}"#,
            r#"[{"id":-1}]"#,
            r#"[7]"#,
        ] {
            assert_eq!(
                parse_payment_types(bad_value),
                Err(bad("payment type id")),
                "{bad_value}"
            );
        }
    }

    #[test]
    fn typed_parameters() {
        let input = CustomerInput::from_form(&form(&[
            ("isActive", "FALSE"),
            ("creditLimit", "5000"),
            ("email", ""),
            ("categoryId", "2"),
            ("parentCustomer", "NC-3"),
            ("dueDateConfigType", "2"),
        ]))
        .expect("valid");
        assert_eq!(input.scalars["isActive"], Value::Bool(false));
        assert_eq!(input.scalars["creditLimit"].as_f64(), Some(5000.0));
        assert_eq!(input.scalars["email"], Value::Null);
        assert_eq!(input.category, Some(Some(IdOrReference::Id(2))));
        assert_eq!(input.parent, Some(Some(IdOrReference::Reference("NC-3".into()))));
        assert_eq!(input.due_date_type, Some(Some(2)));
        let external = CustomerInput::from_form(&form(&[("categoryId", "2"), ("useExternalId", "true")]))
            .expect("valid");
        assert_eq!(
            external.category,
            Some(Some(IdOrReference::Reference("2".into())))
        );
        for (name, value) in [
            ("isActive", "maybe"),
            ("creditLimit", "abc"),
            ("creditLimit", "1e400"),
            ("creditLimit", "NaN"),
            ("billingLat", "91"),
            ("dueDateConfigNumber", "1.5"),
            ("dueDateConfigType", "3"),
            ("regionId", "abc"),
            ("useExternalId", "yes"),
        ] {
            assert_eq!(
                CustomerInput::from_form(&form(&[(name, value)])).err(),
                Some(bad(name)),
                "{name}={value}"
            );
        }
        assert_eq!(
            CustomerInput::from_form(&form(&[("colour", "red"), ("name", "x")])).err(),
            Some(ApiError::InvalidParam(vec!["colour".into()]))
        );
    }
}
