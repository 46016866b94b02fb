//! The field catalogue: one macro call lists a resource's documented object, key by key in the
//! documented order, and everything about each field follows from its one entry.
//!
//! Each entry is `kind rust_name "jsonName": Type`, in the order of the documented object:
//!
//! | kind | stored (attribute `jsonName`) | form parameter | `sort=` | shown at its position |
//! | --- | --- | --- | --- | --- |
//! | `param` | yes | yes, parsed by `Type`'s [`Param`](crate::values::Param) | yes | the stored value |
//! | `ruled` | yes | read by the resource's rules | yes | the stored value |
//! | `stored` | yes | no | no | no (the resource shows something derived) |
//! | `record` | the record's own (`id`, `reference`, dates) | no | system sorts | the record's value |
//! | `shown` | no | no | no | a value the resource computes (an embedded record, a URL) |
//! | `null` | no | no | no | always `null` (documented, not managed) |
//!
//! A `param` or `ruled` entry may add `[Wildcard]` or `[Flag]` to make it a list filter, and a
//! `param` may add `= default`, its value on create when the request does not send it.
//!
//! The macro generates: the stored fields (`Option` each), their patch (`Option<Option>` each:
//! absent keeps, `Some(None)` clears), the form-parameter parser, the list's field specs, the
//! struct of computed values, and the view, which serialises every key in catalogue order.

/// Generates a resource's types from its catalogue (see the module documentation).
macro_rules! catalogue {
    (
        fields $fields:ident, patch $patch:ident, shown $shown:ident, view $view:ident,
        specs $specs:ident, params $params:ident, keys $keys:ident;
        $($entries:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch
            [$fields $patch $shown $view $specs $params $keys]
            stored[] view[] shown[] sort[] params[] defaults[]
            $($entries)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        param $f:ident $j:literal : $t:ty $([$filter:ident])? $(= $value:expr)?, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)* ($f $j $t)] view[$($view)* (fields $f $j $t)] shown[$($shown)*]
            sort[$($sort)* ($f $j $crate::catalogue::filter!($($filter)?))]
            params[$($param)* ($f $j $t)] defaults[$($default)* $(($f $value))?]
            $($rest)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        ruled $f:ident $j:literal : $t:ty $([$filter:ident])?, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)* ($f $j $t)] view[$($view)* (fields $f $j $t)] shown[$($shown)*]
            sort[$($sort)* ($f $j $crate::catalogue::filter!($($filter)?))]
            params[$($param)*] defaults[$($default)*]
            $($rest)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        stored $f:ident $j:literal : $t:ty, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)* ($f $j $t)] view[$($view)*] shown[$($shown)*]
            sort[$($sort)*] params[$($param)*] defaults[$($default)*]
            $($rest)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        record $f:ident $j:literal : $t:ty, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)*] view[$($view)* (record $f $j $t)] shown[$($shown)*]
            sort[$($sort)*] params[$($param)*] defaults[$($default)*]
            $($rest)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        shown $f:ident $j:literal : $t:ty, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)*] view[$($view)* (shown $f $j $t)] shown[$($shown)* ($f $t)]
            sort[$($sort)*] params[$($param)*] defaults[$($default)*]
            $($rest)*
        );
    };

    (@munch $names:tt stored[$($stored:tt)*] view[$($view:tt)*] shown[$($shown:tt)*]
        sort[$($sort:tt)*] params[$($param:tt)*] defaults[$($default:tt)*]
        null $f:ident $j:literal, $($rest:tt)*
    ) => {
        $crate::catalogue::catalogue!(@munch $names
            stored[$($stored)*] view[$($view)* (null $f $j ())] shown[$($shown)*]
            sort[$($sort)*] params[$($param)*] defaults[$($default)*]
            $($rest)*
        );
    };

    (@munch [$fields:ident $patch:ident $shown:ident $view:ident $specs:ident $params:ident $keys:ident]
        stored[$(($sf:ident $sj:literal $st:ty))*]
        view[$(($vk:ident $vf:ident $vj:literal $vt:ty))*]
        shown[$(($hf:ident $ht:ty))*]
        sort[$(($of:ident $oj:literal $ofilter:expr))*]
        params[$(($pf:ident $pj:literal $pt:ty))*]
        defaults[$(($df:ident $dv:expr))*]
    ) => {
        /// The stored fields, each a storage attribute of its documented name.
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $fields {
            $(
                #[doc = concat!("`", $sj, "`.")]
                #[serde(rename = $sj, default, skip_serializing_if = "Option::is_none")]
                pub $sf: Option<$st>,
            )*
        }

        impl $fields {
            /// The storage attributes of the fields.
            pub const ATTRIBUTES: &[&str] = &[$($sj),*];

            /// Fills the fields a new record has by default, where nothing was sent.
            pub fn fill_defaults(&mut self) {
                $(
                    if self.$df.is_none() {
                        self.$df = Some($dv);
                    }
                )*
            }
        }

        /// A partial update: `None` keeps a field, `Some(None)` clears it, `Some(Some(v))` sets it.
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize)]
        pub struct $patch {
            $(
                #[doc = concat!("`", $sj, "`.")]
                #[serde(rename = $sj, skip_serializing_if = "Option::is_none")]
                pub $sf: Option<Option<$st>>,
            )*
        }

        impl $patch {
            /// Writes what the patch names into `fields`.
            pub fn apply_to(&self, fields: &mut $fields) {
                $(
                    if let Some(value) = &self.$sf {
                        fields.$sf.clone_from(value);
                    }
                )*
            }

            /// Reads the catalogue's form parameters through `value` (a parameter's trimmed
            /// value and how it was sent, if sent). A wrong type is `invalid_param_type`; a value over its length is
            /// left out and reported as `true` (the caller answers `save_failed` when its other
            /// checks pass).
            pub fn parse_params<'v>(
                value: impl Fn(&str) -> Option<(&'v str, $crate::values::Sent)>,
            ) -> Result<(Self, bool), $crate::error::ApiError> {
                let mut patch = Self::default();
                let mut too_long = false;
                $(
                    if let Some((text, sent)) = value($pj) {
                        match <$pt as $crate::values::Param>::parse_sent(text, sent) {
                            Ok(parsed) => patch.$pf = Some(parsed),
                            Err($crate::values::Invalid::TooLong) => too_long = true,
                            Err(_) => return Err($crate::error::ApiError::bad_type($pj)),
                        }
                    }
                )*
                Ok((patch, too_long))
            }
        }

        impl $patch {
            /// Each form parameter with the schema of its value, and whether an empty value
            /// (JSON `null`) clears it.
            pub fn param_schemas() -> Vec<$crate::schema::ParamSchema> {
                vec![$(
                    $crate::schema::ParamSchema {
                        name: $pj,
                        schema: <$pt as $crate::schema::Describe>::schema(),
                        clears: matches!(<$pt as $crate::values::Param>::parse(""), Ok(None)),
                    },
                )*]
            }
        }

        /// The catalogue's form parameters.
        pub const $params: &[&str] = &[$($pj),*];

        /// The documented object's keys, in order.
        pub const $keys: &[&str] = &[$($vj),*];

        /// What the list operation sorts on and filters by (besides the record's own keys).
        pub const $specs: &[$crate::list::FieldSpec<$fields>] = &[
            $(
                $crate::list::FieldSpec {
                    name: $oj,
                    compare: |a, b| $crate::values::compare_options(&a.$of, &b.$of),
                    text: |f| f.$of.as_ref().and_then($crate::values::Sortable::text),
                    flag: |f| f.$of.as_ref().and_then($crate::values::Sortable::flag),
                    filter: $ofilter,
                },
            )*
        ];

        /// The values the view shows that are computed, not stored.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $shown {
            $(
                #[allow(missing_docs)]
                pub $hf: $ht,
            )*
        }

        /// The documented object: every key, in the documented order.
        #[derive(Debug, ::serde::Serialize)]
        pub struct $view<'a> {
            $(
                #[serde(rename = $vj)]
                $vf: $crate::catalogue::view_type!($vk 'a $vt),
            )*
        }

        impl $view<'_> {
            /// The schema of the documented object: every key, in order, always present.
            pub fn schema() -> ::serde_json::Value {
                $crate::schema::object(vec![
                    $(($vj, $crate::catalogue::view_schema!($vk $vt)),)*
                ])
            }
        }

        impl<'a> $view<'a> {
            /// The view of `record`, with its computed values.
            pub fn new(record: &'a $crate::model::Record<$fields>, shown: &'a $shown) -> Self {
                $view {
                    $($vf: $crate::catalogue::view_value!($vk record shown $vf),)*
                }
            }
        }
    };
}

/// A list filter kind from an entry's optional `[Wildcard]` / `[Flag]`.
macro_rules! filter {
    () => {
        $crate::list::Filter::No
    };
    ($kind:ident) => {
        $crate::list::Filter::$kind
    };
}

/// The type of a view key, by where its value comes from.
macro_rules! view_type {
    (fields $a:lifetime $t:ty) => { &$a Option<$t> };
    (record $a:lifetime $t:ty) => { &$a $t };
    (shown $a:lifetime $t:ty) => { &$a $t };
    (null $a:lifetime $t:ty) => { () };
}

/// The schema of a view key, by where its value comes from.
macro_rules! view_schema {
    (fields $t:ty) => {
        <Option<$t> as $crate::schema::Describe>::schema()
    };
    (record $t:ty) => {
        <$t as $crate::schema::Describe>::schema()
    };
    (shown $t:ty) => {
        <$t as $crate::schema::Describe>::schema()
    };
    (null $t:ty) => {
        <() as $crate::schema::Describe>::schema()
    };
}

/// The value of a view key, by where it comes from.
macro_rules! view_value {
    (fields $record:ident $shown:ident $f:ident) => {
        &$record.fields.$f
    };
    (record $record:ident $shown:ident $f:ident) => {
        &$record.$f
    };
    (shown $record:ident $shown:ident $f:ident) => {
        &$shown.$f
    };
    (null $record:ident $shown:ident $f:ident) => {
        ()
    };
}

pub(crate) use {catalogue, filter, view_schema, view_type, view_value};
