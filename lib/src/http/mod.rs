//! The HTTP transport: API Gateway HTTP API (payload v2) requests in, documented JSON out.
//! Lambdas and `local-api` both call [`App::handle`]; no rule lives here.

use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{Body, BoxFuture, Request, RequestExt, Response};
use serde::Serialize;
use tracing::Instrument;

use crate::customers::CustomerStore;
use crate::error::ApiError;
use crate::groups::GroupFields;
use crate::idempotency::{Claim, Fingerprint, IdempotencyKey, IdempotencyStore, StoredResponse};
use crate::input::{Precondition, Target, entity_tag};
use crate::list::cursor::{CursorKey, Sealer};
use crate::logos::Logos;
use crate::model::Organization;
use crate::reference_data::{CACHE_TTL, ReferenceCache, ReferenceData, ReferenceDataStore};
use crate::routes::Operation;
use crate::store::RecordStore;
use crate::time::Timestamp;

mod customers;
mod groups;

/// Everything a process stores: groups, customers, reference data and idempotency keys, on one
/// backend.
pub trait Store: CustomerStore + ReferenceDataStore + IdempotencyStore {}

impl<T: CustomerStore + ReferenceDataStore + IdempotencyStore + ?Sized> Store for T {}

/// Everything a handler needs, built once per process (outside the Lambda handler).
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    logos: Arc<Logos>,
    references: Arc<ReferenceCache>,
    org_claim: String,
    cursors: CursorKey,
}

/// The documented delete success body.
#[derive(Serialize)]
struct Deleted {
    success: &'static str,
    success_description: &'static str,
}

const DELETED: Deleted = Deleted {
    success: "true",
    success_description: "Instance deleted successfully",
};

/// The code of one operation: request in, documented response (or error) out.
pub type Handler =
    for<'a> fn(&'a App, &'a Organization, &'a Request) -> BoxFuture<'a, Result<Response<Body>, ApiError>>;

/// Every operation's handler, one constant each: a Lambda `main` names its own, so its binary
/// links only that operation's code.
pub mod handlers {
    use super::{Handler, customers, groups};

    /// `group-list`.
    pub const LIST_GROUPS: Handler = |app, org, request| Box::pin(groups::list(app, org, request));
    /// `group-show`.
    pub const SHOW_GROUP: Handler = |app, org, request| Box::pin(groups::show(app, org, request));
    /// `group-create`.
    pub const CREATE_GROUP: Handler = |app, org, request| Box::pin(groups::create(app, org, request));
    /// `group-update`.
    pub const UPDATE_GROUP: Handler = |app, org, request| Box::pin(groups::update(app, org, request));
    /// `group-upsert`.
    pub const UPSERT_GROUP: Handler = |app, org, request| Box::pin(groups::upsert(app, org, request));
    /// `group-delete`.
    pub const DELETE_GROUP: Handler = |app, org, request| Box::pin(groups::delete(app, org, request));
    /// `customer-list`.
    pub const LIST_CUSTOMERS: Handler = |app, org, request| Box::pin(customers::list(app, org, request));
    /// `customer-show`.
    pub const SHOW_CUSTOMER: Handler = |app, org, request| Box::pin(customers::show(app, org, request));
    /// `customer-create`.
    pub const CREATE_CUSTOMER: Handler = |app, org, request| Box::pin(customers::create(app, org, request));
    /// `customer-update`.
    pub const UPDATE_CUSTOMER: Handler = |app, org, request| Box::pin(customers::update(app, org, request));
    /// `customer-upsert`.
    pub const UPSERT_CUSTOMER: Handler = |app, org, request| Box::pin(customers::upsert(app, org, request));
    /// `customer-delete`.
    pub const DELETE_CUSTOMER: Handler = |app, org, request| Box::pin(customers::delete(app, org, request));
}

/// The handler of `operation` (used by `local-api`, which serves them all).
pub fn handler(operation: Operation) -> Handler {
    match operation {
        Operation::ListGroups => handlers::LIST_GROUPS,
        Operation::ShowGroup => handlers::SHOW_GROUP,
        Operation::CreateGroup => handlers::CREATE_GROUP,
        Operation::UpdateGroup => handlers::UPDATE_GROUP,
        Operation::UpsertGroup => handlers::UPSERT_GROUP,
        Operation::DeleteGroup => handlers::DELETE_GROUP,
        Operation::ListCustomers => handlers::LIST_CUSTOMERS,
        Operation::ShowCustomer => handlers::SHOW_CUSTOMER,
        Operation::CreateCustomer => handlers::CREATE_CUSTOMER,
        Operation::UpdateCustomer => handlers::UPDATE_CUSTOMER,
        Operation::UpsertCustomer => handlers::UPSERT_CUSTOMER,
        Operation::DeleteCustomer => handlers::DELETE_CUSTOMER,
    }
}

/// A `{paging, data}` list body.
#[derive(Serialize)]
struct ListBody<T> {
    paging: crate::list::PageLinks,
    data: Vec<T>,
}

/// The OpenAPI document (`GET /api/v1.0/openapi.json`, no credentials needed).
pub fn document_response() -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json;charset=utf-8")
        .header("cache-control", "public, max-age=300")
        .body(Body::Text(crate::openapi::text().to_owned()))
        .unwrap_or_else(|_| error_response(&ApiError::ServerError))
}

/// A JSON response.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => Response::builder()
            .status(status)
            .header("content-type", "application/json;charset=utf-8")
            .body(Body::Text(text))
            .unwrap_or_else(|_| Response::new(Body::Empty)),
        Err(error) => {
            tracing::error!(%error, "response serialization failed");
            error_response(&ApiError::ServerError)
        }
    }
}

/// The documented error response.
pub fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = json_response(error.status(), &error.body());
    if matches!(error, ApiError::Unauthorized) {
        response.headers_mut().insert(
            "www-authenticate",
            lambda_http::http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

impl App {
    /// An app over `store`, reading the organization from the JWT claim `org_claim`.
    pub fn new(store: Arc<dyn Store>, logos: Arc<Logos>, org_claim: impl Into<String>) -> Self {
        App {
            store,
            logos,
            references: Arc::new(ReferenceCache::new(CACHE_TTL)),
            org_claim: org_claim.into(),
            cursors: CursorKey::random(),
        }
    }

    /// The same app sealing list cursors with `key` (by default a key of this process alone,
    /// whose cursors no other process opens).
    pub fn with_cursor_key(mut self, key: CursorKey) -> Self {
        self.cursors = key;
        self
    }

    /// What seals and opens the list cursors of `org`'s `resource`.
    fn sealer<'a>(&'a self, org: &'a Organization, resource: &'static str) -> Sealer<'a> {
        Sealer {
            key: &self.cursors,
            org,
            resource,
        }
    }

    /// The logo storage.
    pub fn logos(&self) -> &Logos {
        &self.logos
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The groups' store.
    pub fn groups(&self) -> &dyn RecordStore<GroupFields> {
        self.store.as_ref()
    }

    /// The organization's reference data (cached for a short while).
    async fn references(&self, org: &Organization) -> Result<Arc<ReferenceData>, ApiError> {
        self.references
            .get(self.store.as_ref(), org)
            .await
            .map_err(|error| {
                tracing::error!(%error, org = org.as_str(), "reference data unavailable");
                ApiError::ServerError
            })
    }

    /// Serves one request of `operation`; always answers (errors become documented JSON).
    pub async fn handle(&self, operation: Operation, request: Request) -> Response<Body> {
        self.handle_with(operation, handler(operation), request).await
    }

    /// Serves one request with `handler` (a Lambda links only its own handler).
    pub async fn handle_with(
        &self,
        operation: Operation,
        handler: Handler,
        request: Request,
    ) -> Response<Body> {
        let request_id = request_id(&request);
        let span = tracing::info_span!("request", %request_id, operation = operation.function_name());
        async {
            let org = match self.organization(&request) {
                Ok(org) => org,
                Err(error) => return error_response(&error),
            };
            let key = request
                .headers()
                .get("idempotency-key")
                .filter(|_| operation.takes_idempotency_key(request.method().as_str()))
                .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("")))
                .transpose();
            match key {
                Ok(None) => answer(handler(self, &org, &request).await, &request_id),
                Ok(Some(key)) => self.idempotent(&org, &key, handler, &request, &request_id).await,
                Err(error) => error_response(&error),
            }
        }
        .instrument(span)
        .await
    }

    /// Serves a request carrying an `Idempotency-Key`: the first answer to the key and this
    /// request is kept, and given again to the same request instead of doing the work twice.
    async fn idempotent(
        &self,
        org: &Organization,
        key: &IdempotencyKey,
        handler: Handler,
        request: &Request,
        request_id: &str,
    ) -> Response<Body> {
        let fingerprint = Fingerprint::of(
            request.method().as_str(),
            &path(request),
            query(request),
            content_type(request).unwrap_or(""),
            body(request),
        );
        let now = u64::try_from(Timestamp::now().unix_seconds()).unwrap_or(0);
        let claim = match self.store.claim(org, key, &fingerprint, now).await {
            Ok(claim) => claim,
            Err(error) => {
                tracing::error!(%error, %request_id, "idempotency key unavailable");
                return error_response(&ApiError::ServerError);
            }
        };
        match claim {
            Claim::Replay(kept) => replayed(kept),
            Claim::InFlight => error_response(&ApiError::IdempotencyKeyInUse),
            Claim::Mismatch => error_response(&ApiError::IdempotencyKeyReused),
            Claim::Claimed => {
                let response = answer(handler(self, org, request).await, request_id);
                let status = response.status().as_u16();
                // A fault or a lost race is worth sending again: the key is let go.
                let settled = if status >= 500 || status == 409 {
                    self.store.release(org, key).await
                } else {
                    self.store.complete(org, key, &kept(&response)).await
                };
                if let Err(error) = settled {
                    tracing::warn!(%error, %request_id, "could not record the idempotency key's answer");
                }
                response
            }
        }
    }

    /// The caller's organization, from the authorizer's claims (JWT or Lambda authorizer).
    fn organization(&self, request: &Request) -> Result<Organization, ApiError> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(ApiError::Unauthorized);
        };
        let authorizer = context.authorizer.as_ref().ok_or(ApiError::Unauthorized)?;
        let from_jwt = authorizer
            .jwt
            .as_ref()
            .and_then(|jwt| jwt.claims.get(&self.org_claim))
            .cloned();
        let from_lambda = || {
            authorizer
                .fields
                .get(&self.org_claim)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        from_jwt
            .or_else(from_lambda)
            .and_then(|org| Organization::parse(&org))
            .ok_or(ApiError::Unauthorized)
    }
}

/// The request's id as its logs give it: Lambda's, else API Gateway's.
pub fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The record a request addresses: `{id}` or `{reference}` path parameter.
fn target(request: &Request) -> Result<Target, ApiError> {
    let params = request.path_parameters_ref();
    if let Some(id) = params.and_then(|p| p.first("id")) {
        return Target::id(id);
    }
    match params.and_then(|p| p.first("reference")) {
        Some(reference) if !reference.is_empty() => Ok(Target::Reference(reference.to_owned())),
        _ => Err(ApiError::missing("id")),
    }
}

/// The reference of a `/reference/{reference}` route (upserts).
fn reference_target(request: &Request) -> Result<String, ApiError> {
    match target(request)? {
        Target::Reference(reference) => Ok(reference),
        Target::Id(_) => Err(ApiError::missing("reference")),
    }
}

/// The path the request was made on, for paging links.
fn path(request: &Request) -> String {
    let raw = request.raw_http_path();
    if raw.is_empty() {
        request.uri().path().to_owned()
    } else {
        raw.to_owned()
    }
}

fn query(request: &Request) -> &str {
    request.uri().query().unwrap_or("")
}

fn body(request: &Request) -> &[u8] {
    request.body().as_ref()
}

/// The answer to a request: the response, or its error as documented JSON (server errors are
/// logged here, once).
fn answer(outcome: Result<Response<Body>, ApiError>, request_id: &str) -> Response<Body> {
    match outcome {
        Ok(response) => response,
        Err(error) => {
            if error == ApiError::ServerError {
                tracing::error!(%request_id, "answered server_error");
            }
            error_response(&error)
        }
    }
}

/// What is kept of a response for its idempotency key.
fn kept(response: &Response<Body>) -> StoredResponse {
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    StoredResponse {
        status: response.status().as_u16(),
        body,
        etag: response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// A kept response, given again (`Idempotent-Replayed: true`).
fn replayed(kept: StoredResponse) -> Response<Body> {
    let mut response = Response::builder()
        .status(kept.status)
        .header("content-type", "application/json;charset=utf-8")
        .header("idempotent-replayed", "true");
    if let Some(etag) = &kept.etag {
        response = response.header("etag", etag);
    }
    response
        .body(Body::Text(kept.body))
        .unwrap_or_else(|_| error_response(&ApiError::ServerError))
}

/// The request's `If-Match` precondition, if it sends one (several header lines are one list).
fn precondition(request: &Request) -> Result<Option<Precondition>, ApiError> {
    let values: Vec<&str> = request
        .headers()
        .get_all("if-match")
        .iter()
        .map(|value| value.to_str().map_err(|_| ApiError::InvalidHeader("If-Match")))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Ok(None);
    }
    Precondition::parse(&values.join(",")).map(Some)
}

/// A single-resource response, tagged with the record's version (`ETag`).
fn tagged<T: Serialize>(status: u16, value: &T, version: u64) -> Response<Body> {
    let mut response = json_response(status, value);
    if let Ok(tag) = lambda_http::http::HeaderValue::from_str(&entity_tag(version)) {
        response.headers_mut().insert("etag", tag);
    }
    response
}

fn content_type(request: &Request) -> Option<&str> {
    request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
}
