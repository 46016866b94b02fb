//! JSON Schema (2020-12, as OpenAPI 3.1 uses it) of the values the API shows and reads: each
//! type describes itself once, next to the limits its parser enforces. A leaf: the resources'
//! catalogues describe their objects with it, and `openapi` assembles the document.

use serde_json::{Map, Value, json};

use crate::model::Organization;
use crate::time::Timestamp;
use crate::values::{
    Bounded, CurrencyCode, Days, MAX_NAME, MAX_REFERENCE, MIN_MAGNITUDE, Name, Reference, Text,
};

/// A type whose JSON form has a schema.
pub trait Describe {
    /// The schema of the value as the API writes it.
    fn schema() -> Value;
}

/// A request parameter's value: its schema, and whether an empty value (JSON `null`) clears
/// the field rather than being refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSchema {
    /// The parameter's name.
    pub name: &'static str,
    /// The schema of a value that sets it.
    pub schema: Value,
    /// Whether empty (or `null`) clears it.
    pub clears: bool,
}

/// `schema` or `null`.
pub fn nullable(schema: Value) -> Value {
    match schema.get("type") {
        Some(Value::String(kind)) => {
            let mut schema = schema.clone();
            schema["type"] = json!([kind, "null"]);
            schema
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

/// An object of exactly these keys, in this order, each always present.
pub fn object(properties: Vec<(&str, Value)>) -> Value {
    let required: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A reference to a schema of the document's components.
pub fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Text of 1 to `max` characters.
pub fn text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max})
}

/// The timestamps' `YYYY-MM-DDTHH:MM:SSZ`.
pub const TIMESTAMP_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";

impl Describe for u64 {
    fn schema() -> Value {
        json!({"type": "integer", "minimum": 0})
    }
}

impl Describe for bool {
    fn schema() -> Value {
        json!({"type": "boolean"})
    }
}

impl Describe for String {
    fn schema() -> Value {
        json!({"type": "string"})
    }
}

impl Describe for &str {
    fn schema() -> Value {
        json!({"type": "string"})
    }
}

impl Describe for () {
    fn schema() -> Value {
        json!({"type": "null"})
    }
}

impl<T: Describe> Describe for Option<T> {
    fn schema() -> Value {
        nullable(T::schema())
    }
}

impl<T: Describe> Describe for Vec<T> {
    fn schema() -> Value {
        json!({"type": "array", "items": T::schema()})
    }
}

impl Describe for [(); 0] {
    fn schema() -> Value {
        json!({"type": "array", "maxItems": 0})
    }
}

impl<const MAX: usize> Describe for Text<MAX> {
    fn schema() -> Value {
        text(MAX)
    }
}

impl Describe for Name {
    fn schema() -> Value {
        text(MAX_NAME)
    }
}

impl Describe for Reference {
    fn schema() -> Value {
        text(MAX_REFERENCE)
    }
}

impl<const LOW: i64, const HIGH: i64> Describe for Bounded<LOW, HIGH> {
    /// Within the bounds, and zero or of a magnitude DynamoDB stores.
    fn schema() -> Value {
        json!({
            "type": "number",
            "minimum": LOW,
            "maximum": HIGH,
            "anyOf": [{"const": 0}, {"minimum": MIN_MAGNITUDE}, {"maximum": -MIN_MAGNITUDE}],
        })
    }
}

impl Describe for Days {
    fn schema() -> Value {
        json!({"type": "integer", "minimum": 0, "maximum": Days::MAX})
    }
}

impl Describe for CurrencyCode {
    fn schema() -> Value {
        json!({"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code"})
    }
}

impl Describe for Timestamp {
    fn schema() -> Value {
        json!({"type": "string", "pattern": TIMESTAMP_PATTERN})
    }
}

impl Describe for Organization {
    fn schema() -> Value {
        json!({"type": "string", "minLength": 1, "maxLength": 128, "description": "the caller's organization"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_widens_a_type_or_wraps_anything_else() {
        assert_eq!(
            nullable(json!({"type": "string"})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            nullable(component("Customer")),
            json!({"anyOf": [{"$ref": "#/components/schemas/Customer"}, {"type": "null"}]})
        );
    }
}
