//! The customers API domain library: every business rule, the documented error model, list
//! queries, the storage contract with its DynamoDB and embedded adapters, and the HTTP transport
//! that each Lambda function (and `local-api`) runs.

pub mod aws;
pub mod customers;
pub mod error;
pub mod form;
pub mod gateway;
pub mod groups;
pub mod http;
pub mod input;
pub mod lambda;
pub mod list;
pub mod logos;
pub mod reference_data;
pub mod routes;
pub mod settings;
pub mod store;
pub mod time;

pub use error::ApiError;
pub use http::App;
pub use routes::Operation;
