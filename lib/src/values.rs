//! Field values, parsed once at the edge: a value of one of these types is valid by
//! construction (parse, don't validate). Stored records were checked when written, so reading
//! them back deserialises without checking again.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// Why a request's value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a value of the field's type (`invalid_param_type`).
    Type,
    /// Longer than the field allows (`save_failed`).
    TooLong,
    /// Empty or only white space where a value is required (`missing_param`).
    Blank,
}

/// A field value the list operation can sort on and filter by.
pub trait Sortable {
    /// The order of `sort=<field>`.
    fn compare(&self, other: &Self) -> Ordering;

    /// The text a wildcard filter matches, for textual fields.
    fn text(&self) -> Option<&str> {
        None
    }

    /// The value a boolean filter matches, for boolean fields.
    fn flag(&self) -> Option<bool> {
        None
    }
}

/// How a body value was sent: as text (every form and multipart value, and a JSON string), or
/// as a JSON value of another type (its text is then the JSON, `null` an empty text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Text.
    Text,
    /// JSON `null`.
    Null,
    /// A JSON boolean.
    Bool,
    /// A JSON number.
    Number,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
}

/// A field value a request sends as a form parameter.
pub trait Param: Sized {
    /// The JSON type that carries this value in a JSON body, besides a string in the form
    /// notation and `null` (which clears).
    const NATIVE: Sent = Sent::Text;

    /// Reads a (trimmed) form value; `Ok(None)` clears the field.
    fn parse(text: &str) -> Result<Option<Self>, Invalid>;

    /// Reads a body value sent as `sent`: another JSON type than the field's is
    /// [`Invalid::Type`].
    fn parse_sent(text: &str, sent: Sent) -> Result<Option<Self>, Invalid> {
        if sent.carries(Self::NATIVE) {
            Self::parse(text)
        } else {
            Err(Invalid::Type)
        }
    }
}

impl Sent {
    /// Whether a value sent this way can be a field whose JSON type is `native`: text (the
    /// form notation), `null` (clears), or the native type itself.
    pub fn carries(self, native: Sent) -> bool {
        matches!(self, Sent::Text | Sent::Null) || self == native
    }
}

/// Text sorts ignoring case, then exactly (so the order is total).
fn compare_text(a: &str, b: &str) -> Ordering {
    a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b))
}

/// Sort order of an optional value: absent values first.
pub fn compare_options<T: Sortable>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.compare(b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// Text of at most `MAX` characters, never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

/// Most text fields: up to 255 characters.
pub type ShortText = Text<255>;
/// Long text (`comment`, a group's `description`): up to 4,000 characters.
pub type LongText = Text<4000>;

impl<const MAX: usize> Text<MAX> {
    /// The text if it fits; an empty text is no value.
    pub fn new(text: &str) -> Result<Option<Self>, Invalid> {
        if text.is_empty() {
            Ok(None)
        } else if text.chars().count() > MAX {
            Err(Invalid::TooLong)
        } else {
            Ok(Some(Text(text.to_owned())))
        }
    }

    /// The text as sent, empty or not, if it fits.
    pub fn exact(text: &str) -> Result<Self, Invalid> {
        if text.chars().count() > MAX {
            Err(Invalid::TooLong)
        } else {
            Ok(Text(text.to_owned()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Param for Text<MAX> {
    fn parse(text: &str) -> Result<Option<Self>, Invalid> {
        Self::new(text)
    }
}

impl<const MAX: usize> Sortable for Text<MAX> {
    fn compare(&self, other: &Self) -> Ordering {
        compare_text(&self.0, &other.0)
    }

    fn text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

/// Index keys: `text` with each NUL written `\0\u{1}`, cut to at most `limit` bytes (at a character, never
/// inside an escape), and whether all of it fits.
pub fn key_part(text: &str, limit: usize) -> (String, bool) {
    let escaped = text.replace('\0', "\0\u{1}");
    if escaped.len() <= limit {
        return (escaped, true);
    }
    let mut end = limit;
    while !escaped.is_char_boundary(end) {
        end -= 1;
    }
    let part = escaped[..end].trim_end_matches('\0');
    (part.to_owned(), false)
}

/// The text a [`key_part`] holds (its escaping undone), and whether it may have been cut (then
/// it holds only the text's start).
pub fn key_part_text(part: &str, limit: usize) -> (String, bool) {
    (part.replace("\0\u{1}", "\0"), part.len() + 8 > limit)
}

/// The most bytes of each of a name's two forms (lower-cased, as written) a name key holds:
/// with the two end marks and the id, a key stays within DynamoDB's 1,024 bytes.
pub const NAME_KEY_PART_BYTES: usize = 500;

/// How names order, everywhere: the lower-cased name, then the name as written, each as the
/// name key holds it (names whose forms share their first 500 bytes then order by id).
pub fn name_order(name: &str) -> (String, String) {
    (
        key_part(&name.to_lowercase(), NAME_KEY_PART_BYTES).0,
        key_part(name, NAME_KEY_PART_BYTES).0,
    )
}

/// A display name: 1 to 255 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

/// The longest name, in characters.
pub const MAX_NAME: usize = 255;

impl Name {
    /// A required name: blank is [`Invalid::Blank`], over 255 characters [`Invalid::TooLong`].
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.trim().is_empty() {
            Err(Invalid::Blank)
        } else if text.chars().count() > MAX_NAME {
            Err(Invalid::TooLong)
        } else {
            Ok(Name(text.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Sortable for Name {
    /// As the `byName` index orders: [`name_order`]. Names without NULs of at most 300 bytes
    /// (at most 450 lower-cased) are held whole and unescaped by the key, so for them that order
    /// is [`compare_text`]'s, without building the key forms.
    fn compare(&self, other: &Self) -> Ordering {
        let whole = |name: &str| name.len() <= 300 && !name.contains('\0');
        if whole(&self.0) && whole(&other.0) {
            compare_text(&self.0, &other.0)
        } else {
            name_order(&self.0).cmp(&name_order(&other.0))
        }
    }

    fn text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

/// An external id, unique per organization and kind: 1 to 255 characters, not only white space,
/// whose lower-cased form fits a DynamoDB index sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reference(String);

/// The longest reference, in characters.
pub const MAX_REFERENCE: usize = 255;

impl Reference {
    /// A reference a request sets: blank is [`Invalid::Blank`], one that does not fit the
    /// storage keys [`Invalid::TooLong`].
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.trim().is_empty() {
            Err(Invalid::Blank)
        } else if !Self::fits(text) {
            Err(Invalid::TooLong)
        } else {
            Ok(Reference(text.to_owned()))
        }
    }

    /// A reference read back from storage, where it was checked when written.
    pub(crate) fn stored(text: String) -> Self {
        Reference(text)
    }

    /// Whether a reference of this text could exist (a longer one is never stored).
    pub fn fits(text: &str) -> bool {
        text.chars().count() <= MAX_REFERENCE
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Reference {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Reference {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A number within `[LOW, HIGH]`. Whole numbers are written as integers (`5000`, not `5000.0`,
/// as documented).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Bounded<const LOW: i64, const HIGH: i64>(f64);

/// The smallest non-zero magnitude DynamoDB stores.
pub const MIN_MAGNITUDE: f64 = 1e-130;

/// A latitude, in degrees.
pub type Latitude = Bounded<-90, 90>;
/// A longitude, in degrees.
pub type Longitude = Bounded<-180, 180>;
/// An amount of money (`creditLimit`).
pub type Amount = Bounded<-1_000_000_000_000_000, 1_000_000_000_000_000>;

impl<const LOW: i64, const HIGH: i64> Bounded<LOW, HIGH> {
    /// The number, if it lies in the range and DynamoDB can hold it (zero, or a magnitude of at
    /// least 1e-130).
    pub fn new(number: f64) -> Option<Self> {
        #[allow(clippy::cast_precision_loss)]
        let fits = number.is_finite() && (LOW as f64..=HIGH as f64).contains(&number);
        let storable = number == 0.0 || number.abs() >= MIN_MAGNITUDE;
        (fits && storable).then_some(Bounded(number))
    }

    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<const LOW: i64, const HIGH: i64> Param for Bounded<LOW, HIGH> {
    const NATIVE: Sent = Sent::Number;

    fn parse(text: &str) -> Result<Option<Self>, Invalid> {
        if text.is_empty() {
            return Ok(None);
        }
        let number = text.parse::<f64>().map_err(|_| Invalid::Type)?;
        Self::new(number).map(Some).ok_or(Invalid::Type)
    }
}

impl<const LOW: i64, const HIGH: i64> Sortable for Bounded<LOW, HIGH> {
    fn compare(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl<const LOW: i64, const HIGH: i64> Serialize for Bounded<LOW, HIGH> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9e15 {
            #[allow(clippy::cast_possible_truncation)]
            return serializer.serialize_i64(self.0 as i64);
        }
        serializer.serialize_f64(self.0)
    }
}

/// A whole number of days, 0 to 36,500 (`dueDateConfigNumber`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Days(u16);

impl Days {
    /// The most days accepted (a hundred years).
    pub const MAX: u16 = 36_500;
}

impl Param for Days {
    const NATIVE: Sent = Sent::Number;

    fn parse(text: &str) -> Result<Option<Self>, Invalid> {
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>()
            .ok()
            .and_then(|days| u16::try_from(days).ok())
            .filter(|days| *days <= Self::MAX)
            .map(|days| Some(Days(days)))
            .ok_or(Invalid::Type)
    }
}

impl Sortable for Days {
    fn compare(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

impl Param for bool {
    const NATIVE: Sent = Sent::Bool;

    /// `true` or `false`, in any case; empty is not a boolean.
    fn parse(text: &str) -> Result<Option<Self>, Invalid> {
        if text.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if text.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(Invalid::Type)
        }
    }
}

impl Sortable for bool {
    fn compare(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }

    fn flag(&self) -> Option<bool> {
        Some(*self)
    }
}

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// The code, in any case, if ISO 4217 knows it.
    pub fn parse(text: &str) -> Option<Self> {
        let code = text.to_ascii_uppercase();
        iso_currency::Currency::from_code(&code).map(|_| CurrencyCode(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Sortable for CurrencyCode {
    fn compare(&self, other: &Self) -> Ordering {
        compare_text(&self.0, &other.0)
    }

    fn text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_and_empty_clears() {
        assert_eq!(ShortText::parse(""), Ok(None));
        assert_eq!(
            ShortText::parse(&"é".repeat(255)).map(|t| t.map(|t| t.as_str().chars().count())),
            Ok(Some(255))
        );
        assert_eq!(ShortText::parse(&"é".repeat(256)), Err(Invalid::TooLong));
        assert_eq!(LongText::parse(&"c".repeat(4001)), Err(Invalid::TooLong));
    }

    #[test]
    fn names_and_references() {
        assert_eq!(Name::parse("  "), Err(Invalid::Blank));
        assert_eq!(Name::parse(&"n".repeat(256)), Err(Invalid::TooLong));
        assert_eq!(
            Name::parse("Marie").map(|n| n.as_str().to_owned()),
            Ok("Marie".into())
        );
        assert_eq!(Reference::parse(""), Err(Invalid::Blank));
        assert_eq!(Reference::parse(&"r".repeat(256)), Err(Invalid::TooLong));
        assert!(Reference::parse(&"r".repeat(255)).is_ok());
        assert!(Reference::fits(&"\u{1F600}".repeat(255)));
        assert!(!Reference::fits(&"\u{1F600}".repeat(256)));
    }

    #[test]
    fn numbers_are_typed_and_ranged() {
        assert_eq!(Latitude::parse("91"), Err(Invalid::Type));
        assert_eq!(
            Latitude::parse("-90").map(|l| l.map(Bounded::get)),
            Ok(Some(-90.0))
        );
        assert_eq!(Longitude::parse("180.5"), Err(Invalid::Type));
        for bad in ["abc", "1e400", "NaN", "inf", "1e-131", "-9e-200", "5e-324"] {
            assert_eq!(Amount::parse(bad), Err(Invalid::Type), "{bad}");
        }
        for good in ["0", "-0", "1e-130", "-1e-130", "0.000001"] {
            assert!(Amount::parse(good).is_ok_and(|a| a.is_some()), "{good}");
        }
        assert_eq!(Latitude::parse("1e-140"), Err(Invalid::Type));
        assert_eq!(Amount::parse(""), Ok(None));
        let whole = serde_json::to_string(&Amount::new(5000.0)).expect("json");
        assert_eq!(whole, "5000");
        let fraction = serde_json::to_string(&Amount::new(12.5)).expect("json");
        assert_eq!(fraction, "12.5");
        assert_eq!(Days::parse("1.5"), Err(Invalid::Type));
        assert_eq!(Days::parse("36501"), Err(Invalid::Type));
        assert_eq!(Days::parse("-1"), Err(Invalid::Type));
        assert_eq!(Days::parse("7"), Ok(Some(Days(7))));
    }

    #[test]
    fn booleans_in_any_case_but_never_empty() {
        assert_eq!(bool::parse("TRUE"), Ok(Some(true)));
        assert_eq!(bool::parse("False"), Ok(Some(false)));
        assert_eq!(bool::parse(""), Err(Invalid::Type));
        assert_eq!(bool::parse("yes"), Err(Invalid::Type));
    }

    #[test]
    fn names_order_as_their_index_keys_do() {
        let long = "\u{130}".repeat(150);
        let texts = [
            "alpha".to_owned(),
            "Alpha".to_owned(),
            "alpha\0".to_owned(),
            "É".to_owned(),
            "e".to_owned(),
            format!("{long}a"),
            format!("{long}B"),
            "\u{1F600}".repeat(130),
            format!("{}a", "\u{1F600}".repeat(130)),
        ];
        let names: Vec<Name> = texts.iter().map(|t| Name::parse(t).expect("a name")).collect();
        for a in &names {
            for b in &names {
                assert_eq!(
                    a.compare(b),
                    name_order(a.as_str()).cmp(&name_order(b.as_str())),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn text_orders_ignore_case_then_exact_and_absent_first() {
        let (a, b) = (Name::parse("alpha").ok(), Name::parse("Alpha").ok());
        assert_eq!(compare_options(&a, &b), Ordering::Greater);
        assert_eq!(compare_options(&None, &b), Ordering::Less);
        assert_eq!(compare_options::<Name>(&None, &None), Ordering::Equal);
        assert_eq!(
            CurrencyCode::parse("usd").map(|c| c.as_str().to_owned()),
            Some("USD".into())
        );
        assert_eq!(CurrencyCode::parse("XYZ"), None);
    }
}
