//! The customers API domain library: every business rule, the documented error model, list
//! queries, the storage contract with its DynamoDB adapter, and the HTTP transport that each
//! Lambda function (and `local-api`) runs.
//!
//! Leaves first: `error`, `time`, `values` and `model` (the shared vocabulary) use no other
//! module of the crate but each other; `catalogue` generates a resource's types from its field
//! catalogue; `list` parses and evaluates list queries; `store` keeps records; `groups` and
//! `customers` hold the rules; `http` and `lambda` are the transport.

pub mod aws;
pub(crate) mod catalogue;
pub mod customers;
pub mod error;
pub mod form;
pub mod groups;
pub mod http;
pub mod idempotency;
pub mod input;
pub mod lambda;
pub mod list;
pub mod logos;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod reference_data;
pub mod retry;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod settings;
pub mod store;
pub mod time;
pub mod values;

pub use error::ApiError;
pub use http::App;
pub use routes::Operation;
