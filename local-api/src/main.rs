//! `local-api`: the API on `http://127.0.0.1:3000/api/v1.0/...`, through the same handlers the
//! Lambdas run, on the embedded store (default) or a DynamoDB endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use customer_api::logos::objects::ObjectStore;
use customer_api::logos::{ImageFormat, ORIGINALS, VARIANT_PREFIXES, VARIANTS};
use customer_api::settings::DEFAULT_ORG_CLAIM;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use local_api::DirObjectStore;
use local_api::app::{LocalStore, local_app};
use local_api::gateway::{Gateway, HttpRequest, MAX_BODY, Tokens};
use local_api::wire::JsonErrors;
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: local-api [--port N] [--bind ADDR] [--data-dir DIR | --in-memory] [--tokens FILE]
                 [--dynamodb-endpoint URL [--table NAME]]
       local-api openapi [FILE]   write the OpenAPI document to FILE (default: standard output)

  --port N                  port to listen on (default 3000)
  --bind ADDR               address to listen on (default 127.0.0.1)
  --data-dir DIR            embedded store directory (default .local-data)
  --in-memory               keep the data in memory only, gone on exit (logos still go to DIR)
  --tokens FILE             JSON {\"token\": \"organization\"} (default: the demo tokens)
  --dynamodb-endpoint URL   use the DynamoDB API at URL instead of the embedded store
  --table NAME              DynamoDB table, created if missing (default customers-local)
  --logo-base-url URL       public base URL of logos (default http://ADDR:PORT/logos, served here)
  --read-timeout SECS       a request's head, then its body, must each arrive within SECS, and an
                            idle connection closes after SECS (default 30)

Logos are kept in DIR/objects; their small_ and medium_ variants are made right after upload.";

struct Options {
    addr: SocketAddr,
    store: LocalStore,
    tokens: Option<PathBuf>,
    data_dir: PathBuf,
    logo_base_url: Option<String>,
    read_timeout: Duration,
}

fn parse_args() -> Result<Options, String> {
    let mut port = 3000u16;
    let mut bind = "127.0.0.1".to_owned();
    let mut data_dir = PathBuf::from(".local-data");
    let mut tokens = None;
    let mut endpoint = None;
    let mut table = "customers-local".to_owned();
    let mut logo_base_url = None;
    let mut read_timeout = Duration::from_secs(30);
    let mut in_memory = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        if flag == "--in-memory" {
            in_memory = true;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--port" => port = value.parse().map_err(|_| format!("bad port: {value}"))?,
            "--bind" => bind = value,
            "--data-dir" => data_dir = PathBuf::from(value),
            "--tokens" => tokens = Some(PathBuf::from(value)),
            "--dynamodb-endpoint" => endpoint = Some(value),
            "--table" => table = value,
            "--logo-base-url" => logo_base_url = Some(value),
            "--read-timeout" => {
                let seconds: f64 = value.parse().map_err(|_| format!("bad timeout: {value}"))?;
                read_timeout = Duration::try_from_secs_f64(seconds)
                    .ok()
                    .filter(|t| !t.is_zero())
                    .ok_or_else(|| format!("bad timeout: {value}"))?;
            }
            _ => return Err(format!("unknown option {flag}\n\n{USAGE}")),
        }
    }
    let addr = format!("{bind}:{port}")
        .parse()
        .map_err(|_| format!("bad address {bind}:{port}"))?;
    let store = match endpoint {
        Some(endpoint) => LocalStore::Dynamo { table, endpoint },
        None if in_memory => LocalStore::Memory,
        None => LocalStore::Embedded {
            dir: data_dir.clone(),
        },
    };
    Ok(Options {
        addr,
        store,
        tokens,
        data_dir,
        logo_base_url,
        read_timeout,
    })
}

async fn build_gateway(options: &Options, local: SocketAddr) -> Result<Gateway, String> {
    let logo_base_url = options
        .logo_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}{LOGO_ROUTE}"));
    let app = local_app(&options.store, objects_dir(options), logo_base_url).await?;
    let tokens = match &options.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Tokens::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Tokens::demo(),
    };
    Ok(Gateway::new(app, tokens, DEFAULT_ORG_CLAIM))
}

/// Where `local-api` serves logos, like the CDN in front of the bucket.
const LOGO_ROUTE: &str = "/logos";

fn objects_dir(options: &Options) -> PathBuf {
    options.data_dir.join("objects")
}

/// `GET /logos/<folder>/photoCustomer/<name>`: `small_`/`medium_` names from `variants/`, others
/// from `originals/` — the mapping the CDN does in AWS.
async fn serve_logo(objects: &DirObjectStore, path: &str) -> hyper::Response<Full<Bytes>> {
    let relative = path.trim_start_matches('/');
    let name = relative.rsplit('/').next().unwrap_or("");
    let prefix = if VARIANT_PREFIXES.iter().any(|p| name.starts_with(p)) {
        VARIANTS
    } else {
        ORIGINALS
    };
    let found = match objects.get(&format!("{prefix}{relative}")).await {
        Ok(found) => found,
        Err(error) => {
            tracing::debug!(%error, path, "logo not served");
            None
        }
    };
    match found {
        Some(bytes) => {
            let content_type =
                ImageFormat::sniff(&bytes).map_or("application/octet-stream", ImageFormat::content_type);
            hyper::Response::builder()
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_default()
        }
        None => to_hyper(customer_api::http::error_response(
            &customer_api::ApiError::RouteNotFound(format!("GET {LOGO_ROUTE}{path}")),
        )),
    }
}

async fn serve(
    gateway: Arc<Gateway>,
    objects: Arc<DirObjectStore>,
    read_timeout: Duration,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if request.method() == hyper::Method::GET {
        if let Some(path) = request.uri().path().strip_prefix(LOGO_ROUTE) {
            return Ok(serve_logo(&objects, path).await);
        }
    }
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(read_timeout, Limited::new(body, MAX_BODY).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
        Ok(Err(_)) => {
            let too_large = customer_api::http::error_response(&customer_api::ApiError::PayloadTooLarge);
            return Ok(to_hyper(too_large));
        }
        Err(_) => {
            let late = customer_api::http::error_response(&customer_api::ApiError::RequestTimeout);
            let mut response = to_hyper(late);
            response.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
            return Ok(response);
        }
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let request = HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body,
    };
    let started = std::time::Instant::now();
    let response = gateway.serve(request.clone()).await;
    tracing::info!(
        method = %request.method,
        path = %request.path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "served"
    );
    Ok(to_hyper(response))
}

fn to_hyper(response: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// `local-api openapi [FILE]`: writes the document served at `/api/v1.0/openapi.json`.
fn write_document(file: Option<String>) -> ! {
    let text = customer_api::openapi::text();
    let written = match &file {
        Some(path) => std::fs::write(path, text),
        None => std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()),
    };
    if let Err(error) = written {
        eprintln!("local-api: cannot write the document: {error}");
        std::process::exit(1);
    }
    std::process::exit(0);
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("openapi") {
        write_document(args.next());
    }
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(options.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("local-api: cannot listen on {}: {error}", options.addr);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map_or(options.addr, |a| a);
    let gateway = match build_gateway(&options, local).await {
        Ok(gateway) => Arc::new(gateway),
        Err(message) => {
            eprintln!("local-api: {message}");
            std::process::exit(1);
        }
    };
    let objects = Arc::new(DirObjectStore::new(objects_dir(&options)));
    let store = &options.store;
    println!("local-api listening on http://{local}/api/v1.0 ({store})");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let gateway = Arc::clone(&gateway);
        let objects = Arc::clone(&objects);
        let read_timeout = options.read_timeout;
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                serve(Arc::clone(&gateway), Arc::clone(&objects), read_timeout, request)
            });
            if let Err(error) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout)
                .serve_connection(TokioIo::new(JsonErrors::new(stream)), service)
                .await
            {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
}
