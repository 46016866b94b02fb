//! A Lambda Runtime API emulator (`/2018-06-01/runtime/...`) on loopback, and function processes
//! booted against it: each Lambda binary's own `main` runs as it would in AWS.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What a function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`.
    Response(Value),
    /// `POST /invocation/{id}/error`.
    Error(Value),
}

struct Invocation {
    id: String,
    event: Value,
}

struct State {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

/// The emulator. Dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<State>,
    sender: mpsc::UnboundedSender<Invocation>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

fn reply(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body))
        .unwrap_or_default()
}

async fn serve(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(reply(404, Bytes::new()));
    };
    if method == Method::GET && rest == "invocation/next" {
        state
            .first_poll
            .lock()
            .map(|mut first| *first.get_or_insert_with(Instant::now))
            .ok();
        let next = state.queue.lock().await.recv().await;
        let Some(invocation) = next else {
            return Ok(reply(500, Bytes::new()));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or(0);
        let response = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &invocation.id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:test",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .body(Full::new(Bytes::from(invocation.event.to_string())))
            .unwrap_or_default();
        return Ok(response);
    }
    if method == Method::POST && rest == "init/error" {
        if let Ok(mut error) = state.init_error.lock() {
            *error = Some(String::from_utf8_lossy(&body).into_owned());
        }
        return Ok(reply(202, Bytes::new()));
    }
    let answered = rest.strip_prefix("invocation/").and_then(|r| r.split_once('/'));
    if let (Method::POST, Some((id, kind))) = (method, answered) {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let outcome = match kind {
            "response" => Outcome::Response(value),
            "error" => Outcome::Error(value),
            _ => return Ok(reply(404, Bytes::new())),
        };
        let waiter = state.waiting.lock().ok().and_then(|mut w| w.remove(id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
        }
        return Ok(reply(202, Bytes::new()));
    }
    Ok(reply(404, Bytes::new()))
}

impl RuntimeApi {
    /// Starts the emulator on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the runtime API");
        let address = listener.local_addr().expect("address");
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
        });
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve(Arc::clone(&state), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi {
            address,
            state,
            sender,
            next_id: AtomicU64::new(1),
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Sends `event` to the function and waits (up to `timeout`) for its answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Outcome, String> {
        let id = format!("request-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (done, answer) = oneshot::channel();
        self.state
            .waiting
            .lock()
            .map_err(|e| e.to_string())?
            .insert(id.clone(), done);
        self.sender
            .send(Invocation { id, event })
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err(format!(
                "no answer within {timeout:?} (init error: {:?})",
                self.init_error()
            )),
        }
    }

    /// When the function first asked for an event (it finished initialising).
    pub fn first_poll(&self) -> Option<Instant> {
        self.state.first_poll.lock().ok().and_then(|first| *first)
    }

    /// What the function reported through `/runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.state.init_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A function binary running against a runtime API emulator; killed on drop.
pub struct FunctionProcess {
    child: Child,
    /// Where its stdout and stderr (its logs) go.
    pub log: std::path::PathBuf,
}

impl FunctionProcess {
    /// Boots `binary` with the Lambda environment for `runtime` plus `env`.
    pub fn spawn(binary: &Path, runtime: &RuntimeApi, env: &[(&str, String)], log_dir: &Path) -> Self {
        let name = binary
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("function")
            .to_owned();
        Self::launch(&name, Command::new(binary), runtime, env, log_dir)
    }

    /// Boots the function `name` by running `command` (e.g. an emulator given the binary) with
    /// the Lambda environment for `runtime` plus `env`.
    pub fn launch(
        name: &str,
        mut command: Command,
        runtime: &RuntimeApi,
        env: &[(&str, String)],
        log_dir: &Path,
    ) -> Self {
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        FunctionProcess { child, log }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its logs so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
