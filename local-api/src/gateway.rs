//! A local stand-in for API Gateway (HTTP API, payload v2) and its JWT authorizer.
//!
//! It matches the route, resolves the bearer token to an organization claim, builds the exact
//! event API Gateway would send, and lets `lambda_http` turn it into the `Request` a Lambda
//! receives: `local-api` and the HTTP tests run the very handler code the Lambdas run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use customer_api::error::ApiError;
use customer_api::form::MAX_EVENT;
use customer_api::http::{App, document_response, error_response};
use customer_api::{openapi, routes};

/// The largest request body read, in bytes: the event that carries a body is larger still, so
/// a longer one could never reach a Lambda.
pub const MAX_BODY: usize = MAX_EVENT;

/// API Gateway HTTP API's quota on the request line and header values together, in bytes.
pub const MAX_HEAD: usize = 10_240;

/// Demo tokens (`infra/local-tokens.json`), used when no tokens file is given.
pub const DEMO_TOKENS: &str = include_str!("../../infra/local-tokens.json");

/// Bearer tokens and the organization each one authenticates.
#[derive(Debug, Clone, Default)]
pub struct Tokens(HashMap<String, String>);

impl Tokens {
    /// Parses a JSON object `{ "token": "organization", ... }`.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).map(Tokens)
    }

    /// The demo tokens: `entity1-dev-token` → `entity1`, `entity2-dev-token` → `entity2`.
    pub fn demo() -> Self {
        Self::from_json(DEMO_TOKENS).expect("infra/local-tokens.json is valid (checked by a unit test)")
    }

    fn organization(&self, authorization: Option<&str>) -> Option<&str> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        self.0.get(token).map(String::as_str)
    }
}

/// An incoming HTTP request, as a server received it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method, upper case.
    pub method: String,
    /// Path, still percent-encoded.
    pub path: String,
    /// Raw query string (no `?`).
    pub query: String,
    /// Headers (names in any case; repeated names joined with commas).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Routes requests to the app, as API Gateway and its JWT authorizer would.
pub struct Gateway {
    app: App,
    tokens: Tokens,
    org_claim: String,
    next_request: AtomicU64,
}

/// Whether API Gateway passes a body of this content type as text (else base64).
fn is_text(content_type: &str) -> bool {
    let content_type = content_type.to_ascii_lowercase();
    content_type.starts_with("text/")
        || ["json", "xml", "javascript"]
            .iter()
            .any(|t| content_type.contains(t))
}

impl Gateway {
    /// A gateway in front of `app`, authenticating with `tokens` into the claim `org_claim`.
    pub fn new(app: App, tokens: Tokens, org_claim: impl Into<String>) -> Self {
        Gateway {
            app,
            tokens,
            org_claim: org_claim.into(),
            next_request: AtomicU64::new(1),
        }
    }

    /// The app behind the gateway.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves one request: route, authenticate, build the Lambda event, run the handler.
    pub async fn serve(&self, request: HttpRequest) -> Response<Body> {
        if request.body.len() > MAX_BODY {
            return error_response(&ApiError::PayloadTooLarge);
        }
        if head_size(&request) > MAX_HEAD {
            return error_response(&ApiError::HeadTooLarge);
        }
        if request.method == "GET" && request.path == openapi::PATH {
            return document_response();
        }
        let Some((route, params)) = routes::find(&request.method, &request.path) else {
            return error_response(&ApiError::RouteNotFound(format!(
                "{} {}",
                request.method, request.path
            )));
        };
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let Some(org) = self.tokens.organization(header("authorization")) else {
            return error_response(&ApiError::Unauthorized);
        };
        let request_id = format!("local-{}", self.next_request.fetch_add(1, Ordering::Relaxed));
        let route_key = format!("{} {}", route.method, route.path);
        let event = api_gateway_event(&request, &route_key, &params, (&self.org_claim, org), &request_id);
        if json_size(&event) > MAX_EVENT {
            return error_response(&ApiError::PayloadTooLarge);
        }
        match lambda_request(event) {
            Some(lambda_request) => self.app.handle(route.operation, lambda_request).await,
            None => error_response(&ApiError::ServerError),
        }
    }
}

/// The bytes API Gateway counts against [`MAX_HEAD`]: the request line and the header values.
fn head_size(request: &HttpRequest) -> usize {
    let target = request.path.len() + request.query.len() + usize::from(!request.query.is_empty());
    let line = request.method.len() + 1 + target + " HTTP/1.1".len();
    line + request
        .headers
        .iter()
        .map(|(_, value)| value.len())
        .sum::<usize>()
}

/// The length of `value` serialised, without building the text.
fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// The API Gateway HTTP API (payload v2) event for `request` on `route_key` (e.g.
/// `GET /api/v1.0/customers/{id}`), as the JWT authorizer passes it on with `claim` = (name, value).
pub fn api_gateway_event(
    request: &HttpRequest,
    route_key: &str,
    params: &HashMap<String, String>,
    claim: (&str, &str),
    request_id: &str,
) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        let joined = match headers.get(&name).and_then(Value::as_str) {
            Some(previous) => format!("{previous},{value}"),
            None => value.clone(),
        };
        headers.insert(name, Value::String(joined));
    }
    let content_type = headers.get("content-type").and_then(Value::as_str).unwrap_or("");
    let text = is_text(content_type)
        .then(|| std::str::from_utf8(&request.body).ok())
        .flatten();
    let (body, base64) = match (request.body.is_empty(), text) {
        (true, _) => (Value::Null, false),
        (false, Some(text)) => (Value::String(text.to_owned()), false),
        (false, None) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(&request.body)),
            true,
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "authorizer": { "jwt": { "claims": { claim.0: claim.1 }, "scopes": null } },
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::Null),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": u64::try_from(now.as_millis()).unwrap_or(0),
        },
        "body": body,
        "isBase64Encoded": base64,
    });
    if !params.is_empty() {
        event["pathParameters"] = json!(params);
    }
    event
}

/// Turns an API Gateway event into the `Request` `lambda_http` hands a Lambda handler.
pub fn lambda_request(event: Value) -> Option<Request> {
    let parsed: LambdaRequest = serde_json::from_value(event)
        .map_err(|error| tracing::error!(%error, "could not build the Lambda request"))
        .ok()?;
    Some(Request::from(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tokens() {
        let tokens = Tokens::demo();
        assert_eq!(
            tokens.organization(Some("Bearer entity1-dev-token")),
            Some("entity1")
        );
        assert_eq!(
            tokens.organization(Some("Bearer entity2-dev-token")),
            Some("entity2")
        );
        assert_eq!(tokens.organization(Some("Bearer nope")), None);
        assert_eq!(tokens.organization(Some("entity1-dev-token")), None);
        assert_eq!(tokens.organization(None), None);
    }

    #[test]
    fn body_encoding_follows_api_gateway() {
        assert!(is_text("application/json"));
        assert!(is_text("text/plain; charset=utf-8"));
        assert!(!is_text("application/x-www-form-urlencoded"));
        assert!(!is_text("multipart/form-data; boundary=x"));
    }

    #[test]
    fn every_body_the_api_accepts_fits_in_the_lambda_event() {
        use customer_api::form::MAX_FORM_BODY;
        let long = |n: usize| "x".repeat(n);
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "multipart/form-data; boundary=b".to_owned(),
            ),
            ("Authorization".to_owned(), "Bearer entity1-dev-token".to_owned()),
            ("X-Filler".to_owned(), long(4_000)),
        ];
        let mut request = HttpRequest {
            method: "POST".into(),
            path: format!("/api/v1.0/customers/reference/{}", long(3_000)),
            query: String::new(),
            headers,
            body: vec![0xff; MAX_FORM_BODY],
        };
        request.query = long(MAX_HEAD - head_size(&request) - 1);
        assert_eq!(
            head_size(&request),
            MAX_HEAD,
            "the largest head API Gateway passes"
        );
        let params = HashMap::from([("reference".to_owned(), long(3_000))]);
        let event = api_gateway_event(
            &request,
            "POST /api/v1.0/customers/reference/{reference}",
            &params,
            ("organization", "entity1"),
            "local-1",
        );
        let size = json_size(&event);
        assert!(size <= MAX_EVENT, "{size} bytes");
        assert_eq!(size, serde_json::to_vec(&event).expect("serialises").len());
        request.body.push(0);
        request.body.extend_from_slice(&[0; 3 * 64 * 1024 / 4]);
        let event = api_gateway_event(&request, "POST /x", &params, ("o", "e"), "local-1");
        assert!(
            json_size(&event) > MAX_EVENT,
            "the margin is no larger than it needs to be"
        );
    }
}
