//! Customer parameters from a form body, typed as documented: the catalogue's plain parameters,
//! and those with rules of their own (links, reference data, the logo).

use super::catalogue::{CustomerPatch, DueDateType, PARAMS};
use crate::error::ApiError;
use crate::form::FormData;
use crate::logos::Upload;
use crate::schema::{Describe, ParamSchema, object, text};
use crate::values::{MAX_NAME, MAX_REFERENCE, Sent};
use serde_json::{Value, json};

/// A parameter with rules of its own (beside the catalogue's [`PARAMS`]).
struct Ruled {
    name: &'static str,
    /// The JSON type it takes in a JSON body besides a string and `null`.
    native: Sent,
    /// The schema of a value that sets it.
    schema: fn() -> Value,
    /// Whether empty (or `null`) clears it.
    clears: bool,
}

const fn ruled(name: &'static str, native: Sent, schema: fn() -> Value, clears: bool) -> Ruled {
    Ruled {
        name,
        native,
        schema,
        clears,
    }
}

/// The parameters with rules of their own.
const RULED_PARAMS: [Ruled; 12] = [
    ruled("reference", Sent::Text, || text(MAX_REFERENCE), false),
    ruled("name", Sent::Text, || text(MAX_NAME), false),
    ruled("categoryId", Sent::Number, link_schema, true),
    ruled("parentCustomer", Sent::Number, link_schema, true),
    ruled("customerSegmentationId", Sent::Number, link_schema, true),
    ruled("userId", Sent::Number, link_schema, true),
    ruled("regionId", Sent::Number, u64::schema, true),
    ruled(
        "paymentTypes",
        Sent::Array,
        || json!({"type": "array", "items": object(vec![("id", u64::schema())])}),
        true,
    ),
    ruled(
        "currency",
        Sent::Text,
        || json!({"type": "string", "minLength": 3, "maxLength": 3, "description": "ISO 4217 code, any case"}),
        true,
    ),
    ruled(
        "dueDateConfigType",
        Sent::Number,
        || json!({"type": "integer", "enum": [1, 2]}),
        true,
    ),
    ruled("useExternalId", Sent::Bool, bool::schema, true),
    ruled(
        "imageFile",
        Sent::Text,
        || json!({"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}),
        false,
    ),
];

/// A linked record: its id, or its reference with `useExternalId=true`.
fn link_schema() -> Value {
    json!({
        "type": ["integer", "string"],
        "minimum": 0,
        "minLength": 1,
        "description": "an id, or a reference with useExternalId=true",
    })
}

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
    /// `reference` as sent (checked by the operation: required on create, a rename on update).
    pub reference: Option<String>,
    /// `name` as sent (required on create, never blank).
    pub name: Option<String>,
    /// The catalogue's plain parameters.
    pub fields: CustomerPatch,
    /// Whether a plain parameter was over its length (`save_failed` once the rest is checked).
    pub too_long: bool,
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
    /// `dueDateConfigType`.
    pub due_date_type: Change<DueDateType>,
    /// `imageFile`, checked.
    pub image: Option<Upload>,
}

fn bad(name: &str) -> ApiError {
    ApiError::bad_type(name)
}

impl CustomerInput {
    /// Whether `name` is a customer parameter.
    pub fn knows(name: &str) -> bool {
        PARAMS.contains(&name) || RULED_PARAMS.iter().any(|ruled| ruled.name == name)
    }

    /// Every customer parameter with the schema of its value (`imageFile` is a file).
    pub fn param_schemas() -> Vec<ParamSchema> {
        let ruled = RULED_PARAMS.iter().map(|ruled| ParamSchema {
            name: ruled.name,
            schema: (ruled.schema)(),
            clears: ruled.clears,
        });
        ruled.chain(CustomerPatch::param_schemas()).collect()
    }

    /// Reads a body's customer parameters (a body parsed with [`CustomerInput::knows`]); wrong
    /// types are `invalid_param_type`.
    pub fn from_form(form: &FormData) -> Result<Self, ApiError> {
        let sent = |name: &str| {
            form.values
                .iter()
                .find(|v| v.name == name)
                .map(|v| (v.text.trim(), v.sent))
        };
        for Ruled { name, native, .. } in RULED_PARAMS {
            if sent(name).is_some_and(|(_, sent)| !sent.carries(native)) {
                return Err(bad(name));
            }
        }
        let value = |name: &str| sent(name).map(|(text, _)| text);
        let external = match value("useExternalId") {
            None | Some("") => false,
            Some(text) => parse_bool("useExternalId", text)?,
        };
        let (fields, too_long) = CustomerPatch::parse_params(sent)?;
        let link = |name: &str| -> Change<IdOrReference> {
            value(name).map(|text| (!text.is_empty()).then(|| IdOrReference::parse(text, external)))
        };
        let region = match value("regionId") {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(parse_id("regionId", text)?)),
        };
        let payment_types = value("paymentTypes").map(parse_payment_types).transpose()?;
        let due_date_type = match value("dueDateConfigType") {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(
                DueDateType::parse(text).ok_or_else(|| bad("dueDateConfigType"))?,
            )),
        };
        if value("imageFile").is_some() {
            return Err(ApiError::UnsupportedFileType);
        }
        let input = CustomerInput {
            reference: value("reference").map(str::to_owned),
            name: value("name").map(str::to_owned),
            fields,
            too_long,
            category: link("categoryId"),
            parent: link("parentCustomer"),
            segmentation: link("customerSegmentationId"),
            user: link("userId"),
            region,
            payment_types,
            currency: value("currency").map(|text| (!text.is_empty()).then(|| text.to_owned())),
            due_date_type,
            image: form.files.first().map(Upload::check).transpose()?,
        };
        if input
            .reference
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REFERENCE)
        {
            return Err(ApiError::SaveFailed(crate::error::Resource::Customer));
        }
        Ok(input)
    }
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
        .filter(|_| !text.starts_with('+'))
        .ok_or_else(|| bad(name))
}

/// `[{"id"=7},{"id"=8}]` (the documented form) or JSON `[{"id":7}]`; ids may be quoted. Empty
/// (or JSON `null`) clears, as `[]` does.
fn parse_payment_types(text: &str) -> Result<Vec<u64>, ApiError> {
    use serde_json::Value;
    if text.is_empty() {
        return Ok(Vec::new());
    }
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
    use crate::form::FormValue;
    use crate::values::{Amount, Bounded};

    fn form<'a>(pairs: &[(&'a str, &'a str)]) -> FormData<'a> {
        FormData {
            values: pairs.iter().map(|(k, v)| FormValue::text(*k, *v)).collect(),
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
        assert_eq!(parse_payment_types(""), Ok(vec![]));
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
        assert_eq!(input.fields.is_active, Some(Some(false)));
        assert_eq!(
            input.fields.credit_limit.flatten().map(Bounded::get),
            Some(5000.0)
        );
        assert_eq!(input.fields.email, Some(None));
        assert_eq!(input.category, Some(Some(IdOrReference::Id(2))));
        assert_eq!(input.parent, Some(Some(IdOrReference::Reference("NC-3".into()))));
        assert_eq!(
            input.due_date_type,
            Some(Some(DueDateType::AfterEndOfInvoiceMonth))
        );
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
        let long = CustomerInput::from_form(&form(&[("city", &"c".repeat(256))])).expect("parses");
        assert!(long.too_long && long.fields.city.is_none());
        assert_eq!(Amount::new(1.5).map(Bounded::get), Some(1.5));
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;

    async fn from_json(body: &str) -> Result<CustomerInput, ApiError> {
        let form = FormData::parse(Some("application/json"), body.as_bytes(), CustomerInput::knows).await?;
        CustomerInput::from_form(&form)
    }

    #[tokio::test]
    async fn native_json_types_are_taken() {
        let input = from_json(
            r#"{"name":"x","isActive":false,"creditLimit":5000,"dueDateConfigNumber":7,
                "dueDateConfigType":1,"categoryId":3,"regionId":4,"useExternalId":false,
                "paymentTypes":[{"id":7}],"email":null,"city":"Nice","onHold":"TRUE"}"#,
        )
        .await
        .expect("valid");
        assert_eq!(input.fields.is_active, Some(Some(false)));
        assert_eq!(input.fields.on_hold, Some(Some(true)));
        assert_eq!(input.fields.email, Some(None));
        assert_eq!(input.category, Some(Some(IdOrReference::Id(3))));
        assert_eq!(input.region, Some(Some(4)));
        assert_eq!(input.payment_types, Some(vec![7]));
    }

    #[tokio::test]
    async fn other_json_types_are_refused_by_name() {
        for (name, value) in [
            ("name", r#"["a"]"#),
            ("city", r#"{"$ne":1}"#),
            ("comment", "true"),
            ("reference", "12"),
            ("email", "5"),
            ("categoryId", "[3]"),
            ("parentCustomer", r#"{"id":1}"#),
            ("regionId", "true"),
            ("isActive", "1"),
            ("creditLimit", "true"),
            ("creditLimit", "[1]"),
            ("dueDateConfigNumber", "false"),
            ("paymentTypes", r#"{"id":7}"#),
            ("useExternalId", "1"),
            ("currency", "978"),
            ("imageFile", "[]"),
        ] {
            let body = format!(r#"{{"{name}":{value}}}"#);
            assert_eq!(from_json(&body).await.err(), Some(bad(name)), "{body}");
        }
        assert_eq!(
            from_json(r#"{"colour":"red","name":"x"}"#).await.err(),
            Some(ApiError::InvalidParam(vec!["colour".into()]))
        );
    }
}
