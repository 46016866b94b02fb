//! The documented error model, and its one mapping to HTTP status and JSON.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// The most characters of a client's text an error message quotes.
pub const MAX_ECHO: usize = 255;

/// The most unknown parameter names an `invalid_param` message lists.
pub const MAX_LISTED: usize = 100;

/// A client's text as an error message quotes it: at most [`MAX_ECHO`] characters, then `…`
/// (so an error never grows with a hostile input beyond a few kilobytes).
pub fn echo(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// The kind of resource an error speaks of; it picks the documented wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A customer group (customer category).
    CustomerGroup,
    /// A customer.
    Customer,
}

impl Resource {
    /// The resource's name as the documented messages spell it.
    pub fn label(self) -> &'static str {
        match self {
            Resource::CustomerGroup => "customer group",
            Resource::Customer => "customer",
        }
    }

    /// Groups' documented save/delete texts carry no final period; customers' do.
    fn sentence_end(self) -> &'static str {
        match self {
            Resource::CustomerGroup => "",
            Resource::Customer => ".",
        }
    }
}

/// Every failure the API can answer with. `Display` is the documented `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A required parameter is absent or empty.
    #[error("{0} parameter is missing")]
    MissingParam(String),
    /// A unique field (the reference) is already taken in the organization.
    #[error("{0} already used")]
    NotUnique(String),
    /// Parameters the operation does not know.
    #[error("The parameters [{}] you provided are not valid for this request.", .0.join(", "))]
    InvalidParam(Vec<String>),
    /// A parameter whose value has the wrong type or is out of range.
    #[error("The type of parameter {0} you provided is not valid for this request.")]
    InvalidParamType(String),
    /// A date filter that is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("Invalid datetime filter (not ISO-8601 formatted): [{0}]")]
    InvalidDatetimeFormat(String),
    /// The addressed record (or a record it refers to) does not exist for this organization.
    #[error("{0}")]
    NotFound(String),
    /// The record could not be saved (it breaks a constraint such as a length limit).
    #[error("Failed to save instance{}", .0.sentence_end())]
    SaveFailed(Resource),
    /// The record could not be deleted (other records still use it).
    #[error("Failed to delete instance{}", .0.sentence_end())]
    DeleteFailed(Resource),
    /// The record is not at a version the request's `If-Match` names (beyond the reference).
    #[error("The {} has changed since the version given in If-Match.", .0.label())]
    PreconditionFailed(Resource),
    /// A header the API reads is malformed (beyond the reference).
    #[error("The {0} header you provided is not valid for this request.")]
    InvalidHeader(&'static str),
    /// The request's `Idempotency-Key` was used with another request (beyond the reference).
    #[error("This Idempotency-Key was already used with another request.")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running (beyond the reference).
    #[error("A request with this Idempotency-Key is still in progress; send it again later.")]
    IdempotencyKeyInUse,
    /// Other requests kept changing the record while this one was retried (beyond the
    /// reference: answered only when every retry lost its race).
    #[error("The {} was changed by other requests at the same time; please retry.", .0.label())]
    Conflict(Resource),
    /// An uploaded image over 2 MB.
    #[error("image size should not exceed 2Mo")]
    ExceededFileSize,
    /// An upload that is not a jpg, gif, png or bmp image within the pixel limits.
    #[error("image format not supported.")]
    UnsupportedFileType,
    /// No valid credentials identify the caller's organization.
    #[error("The access token is missing, invalid or expired.")]
    Unauthorized,
    /// The request body exceeds what the API accepts.
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// The request line and headers exceed API Gateway's 10,240 bytes (only the local API
    /// answers this; API Gateway does in AWS).
    #[error("The request line and headers are too large.")]
    HeadTooLarge,
    /// The request is not well-formed HTTP (only the local API answers this; API Gateway does
    /// in AWS).
    #[error("The request is not valid HTTP.")]
    MalformedRequest,
    /// The request's body did not arrive in time (only the local API answers this).
    #[error("The request was not received in time.")]
    RequestTimeout,
    /// No route matches the request (only the local API answers this; API Gateway does in AWS).
    #[error("No route matches {0}.")]
    RouteNotFound(String),
    /// A real fault (storage unreachable, a bug). Details are logged, never returned.
    #[error("Oops! Something went wrong...")]
    ServerError,
}

impl ApiError {
    /// `not_found` for a record addressed by id or reference.
    pub fn not_found(resource: Resource, id: impl fmt::Display) -> Self {
        ApiError::NotFound(format!(
            "The {} with the id {} doesn't exist.",
            resource.label(),
            echo(&id.to_string())
        ))
    }

    /// `missing_param` for the named parameter.
    pub fn missing(name: &str) -> Self {
        ApiError::MissingParam(name.to_owned())
    }

    /// `invalid_param_type` for the named parameter.
    pub fn bad_type(name: &str) -> Self {
        ApiError::InvalidParamType(echo(name).into_owned())
    }

    /// One error of every kind (the variants' data made up): what the OpenAPI document lists
    /// under each status. [`ApiError::code`]'s exhaustive match is where a new kind is named.
    pub fn every_kind() -> Vec<ApiError> {
        let name = || "name".to_owned();
        vec![
            ApiError::MissingParam(name()),
            ApiError::NotUnique(name()),
            ApiError::InvalidParam(vec![name()]),
            ApiError::InvalidParamType(name()),
            ApiError::InvalidDatetimeFormat(name()),
            ApiError::NotFound(name()),
            ApiError::SaveFailed(Resource::Customer),
            ApiError::DeleteFailed(Resource::Customer),
            ApiError::PreconditionFailed(Resource::Customer),
            ApiError::InvalidHeader("If-Match"),
            ApiError::IdempotencyKeyReused,
            ApiError::IdempotencyKeyInUse,
            ApiError::Conflict(Resource::Customer),
            ApiError::ExceededFileSize,
            ApiError::UnsupportedFileType,
            ApiError::Unauthorized,
            ApiError::PayloadTooLarge,
            ApiError::HeadTooLarge,
            ApiError::MalformedRequest,
            ApiError::RequestTimeout,
            ApiError::RouteNotFound(name()),
            ApiError::ServerError,
        ]
    }

    /// The documented `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingParam(_) => "missing_param",
            ApiError::NotUnique(_) => "not_unique",
            ApiError::InvalidParam(_) => "invalid_param",
            ApiError::InvalidParamType(_) => "invalid_param_type",
            ApiError::InvalidDatetimeFormat(_) => "invalid_datetime_format",
            ApiError::NotFound(_) | ApiError::RouteNotFound(_) => "not_found",
            ApiError::SaveFailed(_) => "save_failed",
            ApiError::DeleteFailed(_) => "delete_failed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::InvalidHeader(_) => "invalid_header",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::IdempotencyKeyInUse => "idempotency_key_in_use",
            ApiError::ExceededFileSize => "exceeded_file_size",
            ApiError::UnsupportedFileType => "unsupported_file_type",
            ApiError::Unauthorized => "invalid_token",
            ApiError::PayloadTooLarge => "request_too_large",
            ApiError::HeadTooLarge => "request_header_too_large",
            ApiError::MalformedRequest => "invalid_request",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::ServerError => "server_error",
        }
    }

    /// The documented HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotFound(_) | ApiError::RouteNotFound(_) => 404,
            ApiError::Unauthorized => 401,
            ApiError::PayloadTooLarge => 413,
            ApiError::HeadTooLarge => 431,
            ApiError::RequestTimeout => 408,
            ApiError::Conflict(_) => 409,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::IdempotencyKeyInUse => 409,
            ApiError::ServerError => 500,
            _ => 400,
        }
    }

    /// The JSON body: `{"error": code, "error_description": text}`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code(),
            error_description: self.to_string(),
        }
    }
}

/// The documented error JSON.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: &'static str,
    /// Human-readable text, verbatim from the reference documentation.
    pub error_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant's place in `every_kind`; the match breaks the build when a variant is added.
    fn place(error: &ApiError) -> usize {
        match error {
            ApiError::MissingParam(_) => 0,
            ApiError::NotUnique(_) => 1,
            ApiError::InvalidParam(_) => 2,
            ApiError::InvalidParamType(_) => 3,
            ApiError::InvalidDatetimeFormat(_) => 4,
            ApiError::NotFound(_) => 5,
            ApiError::SaveFailed(_) => 6,
            ApiError::DeleteFailed(_) => 7,
            ApiError::PreconditionFailed(_) => 8,
            ApiError::InvalidHeader(_) => 9,
            ApiError::IdempotencyKeyReused => 10,
            ApiError::IdempotencyKeyInUse => 11,
            ApiError::Conflict(_) => 12,
            ApiError::ExceededFileSize => 13,
            ApiError::UnsupportedFileType => 14,
            ApiError::Unauthorized => 15,
            ApiError::PayloadTooLarge => 16,
            ApiError::HeadTooLarge => 17,
            ApiError::MalformedRequest => 18,
            ApiError::RequestTimeout => 19,
            ApiError::RouteNotFound(_) => 20,
            ApiError::ServerError => 21,
        }
    }

    #[test]
    fn every_kind_lists_each_variant_once() {
        let places: Vec<usize> = ApiError::every_kind().iter().map(place).collect();
        assert_eq!(places, (0..=21).collect::<Vec<_>>());
    }

    #[test]
    fn documented_texts_are_verbatim() {
        let cases = [
            (
                ApiError::missing("reference"),
                400,
                "missing_param",
                "reference parameter is missing",
            ),
            (
                ApiError::NotUnique("reference".into()),
                400,
                "not_unique",
                "reference already used",
            ),
            (
                ApiError::InvalidParam(vec!["dateCreated_gta".into()]),
                400,
                "invalid_param",
                "The parameters [dateCreated_gta] you provided are not valid for this request.",
            ),
            (
                ApiError::bad_type("id"),
                400,
                "invalid_param_type",
                "The type of parameter id you provided is not valid for this request.",
            ),
            (
                ApiError::InvalidDatetimeFormat("2016-08-1Z".into()),
                400,
                "invalid_datetime_format",
                "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]",
            ),
            (
                ApiError::not_found(Resource::CustomerGroup, 999),
                404,
                "not_found",
                "The customer group with the id 999 doesn't exist.",
            ),
            (
                ApiError::not_found(Resource::Customer, 2559),
                404,
                "not_found",
                "The customer with the id 2559 doesn't exist.",
            ),
            (
                ApiError::SaveFailed(Resource::CustomerGroup),
                400,
                "save_failed",
                "Failed to save instance",
            ),
            (
                ApiError::SaveFailed(Resource::Customer),
                400,
                "save_failed",
                "Failed to save instance.",
            ),
            (
                ApiError::DeleteFailed(Resource::CustomerGroup),
                400,
                "delete_failed",
                "Failed to delete instance",
            ),
            (
                ApiError::DeleteFailed(Resource::Customer),
                400,
                "delete_failed",
                "Failed to delete instance.",
            ),
            (
                ApiError::ServerError,
                500,
                "server_error",
                "Oops! Something went wrong...",
            ),
        ];
        for (error, status, code, text) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }

    #[test]
    fn several_unknown_parameters_are_listed_together() {
        let error = ApiError::InvalidParam(vec!["a".into(), "b".into()]);
        assert_eq!(
            error.to_string(),
            "The parameters [a, b] you provided are not valid for this request."
        );
    }

    #[test]
    fn quoted_client_text_is_bounded() {
        assert_eq!(echo("short"), "short");
        let exact = "é".repeat(MAX_ECHO);
        assert_eq!(echo(&exact), exact.as_str());
        let long = "é".repeat(MAX_ECHO * 100);
        assert_eq!(echo(&long), format!("{}…", "é".repeat(MAX_ECHO)));
        assert!(ApiError::bad_type(&long).to_string().chars().count() < 400);
        assert!(
            ApiError::not_found(Resource::Customer, &long)
                .to_string()
                .chars()
                .count()
                < 400
        );
    }
}
