//! Handler cost, warm and in-process on the in-memory store (and the embedded one, reported):
//! the CPU time of each operation as a Lambda runs it (the API Gateway event's bytes →
//! `lambda_http` → handler → the response's bytes), beside a floor measured the same way: a minimal `lambda_http` handler that parses the
//! same event and writes a body of the same size (the real reply, serialised), with no rules and
//! no store.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicU16, Ordering};

use api_tests::{Adapter, ENTITY1, TestApi, TestStore, multipart};
use customer_api::App;
use customer_api::http::json_response;
use customer_api::logos::ImageFormat;
use customer_api::logos::resize::samples::encoded;
use customer_api::routes::{self, Operation};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Context, LambdaEvent, Request, Response, Service, service_fn};
use local_api::gateway::{HttpRequest, api_gateway_event};
use serde_json::Value;

use crate::Options;

/// CPU time of this process, in microseconds (all threads: the embedded store works on
/// blocking threads). Through libc, so it also runs under valgrind.
pub fn cpu_micros() -> f64 {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map(|t| t.tv_sec() as f64 * 1e6 + t.tv_nsec() as f64 / 1e3)
        .unwrap_or(0.0)
}

/// One request as Lambda delivers it: the operation and the API Gateway event's JSON.
struct Event {
    operation: Operation,
    bytes: Vec<u8>,
}

impl Event {
    /// The event API Gateway sends for this request of `entity1` (`path` may carry a query).
    fn new(method: &str, path: &str, body: &[u8], content_type: &str) -> Result<Self, String> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let (route, params) =
            routes::find(method, path).ok_or_else(|| format!("no route {method} {path}"))?;
        let request = HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: body.to_vec(),
        };
        let route_key = format!("{} {}", route.method, route.path);
        let event = api_gateway_event(
            &request,
            &route_key,
            &params,
            ("organization", "entity1"),
            "bench",
        );
        Ok(Event {
            operation: route.operation,
            bytes: serde_json::to_vec(&event).map_err(|e| e.to_string())?,
        })
    }
}

/// Runs `event` through `lambda_http` as its runtime does: event bytes → `LambdaRequest` →
/// `Request` → `service` → the Lambda response, serialised.
async fn invoke<S>(service: S, event: &Event)
where
    S: Service<Request, Response = Response<Body>, Error = Infallible>,
    S::Future: Send,
{
    let Ok(payload) = serde_json::from_slice::<LambdaRequest>(&event.bytes) else {
        return;
    };
    let mut adapter = lambda_http::Adapter::from(service);
    let Ok(response) = adapter.call(LambdaEvent::new(payload, Context::default())).await;
    black_box(serde_json::to_vec(&response).map(|b| b.len()).unwrap_or(0));
}

/// The operation's real handler; the status it answered is left in `status`.
async fn real(app: &App, status: &AtomicU16, event: &Event) {
    let operation = event.operation;
    let service = service_fn(move |request: Request| async move {
        let response = app.handle(operation, request).await;
        status.store(response.status().as_u16(), Ordering::Relaxed);
        Ok::<_, Infallible>(response)
    });
    invoke(service, event).await;
}

/// The floor: parses the same event and writes `body` with the same status, nothing else.
async fn minimal(status: u16, body: &Value, event: &Event) {
    let service = service_fn(move |request: Request| {
        black_box(&request);
        async move { Ok::<_, Infallible>(json_response(status, body)) }
    });
    invoke(service, event).await;
}

/// Mean CPU microseconds of `iterations` runs of `work`.
async fn measure<F, Fut>(iterations: usize, mut work: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = cpu_micros();
    for i in 0..iterations {
        work(i).await;
    }
    (cpu_micros() - started) / iterations as f64
}

const FORM: &str = "application/x-www-form-urlencoded";

/// One measured operation.
struct Row {
    name: &'static str,
    cost: f64,
    floor: f64,
    /// Its target, as a multiple of the floor (`None`: reported only).
    target: Option<f64>,
}

/// Measures one operation: `events(i)` is the i-th request (a create needs a fresh reference
/// each time); the reply to `events(usize::MAX)`, answered first, is the floor's body.
async fn operation(
    api: &TestApi,
    iterations: usize,
    (name, expected, target): (&'static str, u16, Option<f64>),
    events: impl Fn(usize) -> Result<Event, String>,
) -> Result<Row, String> {
    let status = AtomicU16::new(0);
    let sample = events(usize::MAX)?;
    let reply = reply(api, &sample).await?;
    let prepared = (0..iterations).map(&events).collect::<Result<Vec<_>, _>>()?;
    let failures = std::cell::Cell::new(0);
    let cost = measure(iterations, |i| {
        let (event, status, failures) = (&prepared[i], &status, &failures);
        async move {
            real(api.app(), status, event).await;
            if status.load(Ordering::Relaxed) != expected {
                failures.set(failures.get() + 1);
            }
        }
    })
    .await;
    if failures.get() > 0 {
        return Err(format!(
            "{name}: {} requests did not answer {expected}",
            failures.get()
        ));
    }
    let floor = measure(iterations * 4, |i| {
        minimal(expected, &reply, &prepared[i % iterations])
    })
    .await;
    Ok(Row {
        name,
        cost,
        floor,
        target,
    })
}

/// The body the real handler answers to `event` (parsed once, outside the measurement).
async fn reply(api: &TestApi, event: &Event) -> Result<Value, String> {
    let payload: LambdaRequest = serde_json::from_slice(&event.bytes).map_err(|e| e.to_string())?;
    let response = api.app().handle(event.operation, Request::from(payload)).await;
    serde_json::from_slice(response.body().as_ref()).map_err(|e| e.to_string())
}

/// Seeds a group and 120 customers in it.
async fn seed(api: &TestApi) -> Result<(), String> {
    let group = api
        .send(
            "POST",
            "/api/v1.0/customerGroups",
            &serde_json::json!({"reference": "G", "name": "Group"}),
        )
        .await;
    if group.status != 201 {
        return Err(format!(
            "seeding a group answered {}: {}",
            group.status, group.body
        ));
    }
    for i in 0..120 {
        let body = format!(
            "reference=seed-{i}&name=Customer+{i}&categoryId=G&billingCity=Nice&creditLimit=5000&paymentTypes=%5B%7B%22id%22%3D7%7D%5D"
        );
        let reply = api
            .call(
                "POST",
                "/api/v1.0/customers",
                Some(ENTITY1),
                body.as_bytes(),
                FORM,
            )
            .await;
        if reply.status != 201 {
            return Err(format!(
                "seeding a customer answered {}: {}",
                reply.status, reply.body
            ));
        }
    }
    Ok(())
}

/// Runs the handler-cost section and prints its table.
pub async fn run(options: &Options) -> Result<(), String> {
    let api = TestApi::with_resizer(Adapter::Memory, false).await;
    let embedded = TestApi::with_resizer(Adapter::Embedded, false).await;
    let durable = TestApi::over(TestStore::durable_embedded(), Adapter::Embedded, false).await;
    let iterations = if options.quick { 20 } else { 300 };
    for seeded in [&api, &embedded, &durable] {
        seed(seeded).await?;
    }
    let logo = encoded(ImageFormat::Png, 400, 200);
    let show = |_| Event::new("GET", "/api/v1.0/customers/reference/seed-1", b"", FORM);
    let page = |_| Event::new("GET", "/api/v1.0/customers?max=100", b"", FORM);
    let create = |i: usize| {
        let body = format!("reference=form-{i}&name=New+{i}&categoryId=G&email=a%40b.c&creditLimit=10");
        Event::new("POST", "/api/v1.0/customers", body.as_bytes(), FORM)
    };
    let update = |i: usize| {
        let body = format!("city=City+{i}&onHold=true");
        Event::new(
            "PUT",
            "/api/v1.0/customers/reference/seed-2",
            body.as_bytes(),
            FORM,
        )
    };
    let mut rows = vec![
        operation(&api, iterations, ("show a customer", 200, Some(2.0)), show).await?,
        operation(
            &api,
            iterations.min(100),
            ("list a page of 100", 200, Some(3.0)),
            page,
        )
        .await?,
        operation(&api, iterations, ("create by form", 201, Some(3.0)), create).await?,
        operation(
            &api,
            iterations,
            ("create by multipart with a logo", 201, None),
            |i| {
                let (body, content_type) = multipart(
                    &[("reference", &format!("logo-{i}")), ("name", "With logo")],
                    &[("imageFile", "logo.png", &logo)],
                );
                Event::new("POST", "/api/v1.0/customers", &body, &content_type)
            },
        )
        .await?,
        operation(&api, iterations, ("partial update", 200, Some(2.0)), update).await?,
    ];
    let engine = [
        ("show a customer, embedded store", 200, None),
        ("list a page of 100, embedded store", 200, None),
        ("create by form, embedded store", 201, None),
        ("partial update, embedded store", 200, None),
    ];
    rows.push(operation(&embedded, iterations, engine[0], show).await?);
    rows.push(operation(&embedded, iterations.min(100), engine[1], page).await?);
    rows.push(operation(&embedded, iterations, engine[2], create).await?);
    rows.push(operation(&embedded, iterations, engine[3], update).await?);
    rows.push(
        operation(
            &durable,
            iterations,
            ("partial update, embedded store, commit fsynced", 200, None),
            update,
        )
        .await?,
    );

    println!("## Handler cost (warm, in-process; CPU µs per request, mean of {iterations})\n");
    println!(
        "Each request as Lambda runs it: the API Gateway v2 event's bytes → lambda_http → handler → the Lambda response's bytes. Floor: a minimal lambda_http handler given the same event, writing a body of the same size (the real reply, serialised) — no rules, no store. The targeted rows run on the in-memory store (records kept typed behind one lock: a read is a clone), so they measure the handler, not a storage engine (a Lambda's store is DynamoDB, across the network). The embedded-store rows add redb's transactions and record decoding without fsync, as the tests run it; the last one commits with fsync, as `local-api` does by default.\n"
    );
    println!("| operation | CPU (µs) | floor (µs) | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    for row in rows {
        let ratio = row.cost / row.floor;
        let (target, flag) = match row.target {
            Some(target) => (format!("≤ {target}×"), if ratio > target { " ⚠" } else { "" }),
            None => ("reported".to_owned(), ""),
        };
        println!(
            "| {} | {:.0} | {:.1} | {ratio:.1}×{flag} | {target} |",
            row.name, row.cost, row.floor
        );
    }
    println!("\n⚠ marks a miss.\n");
    unknown_parameters(&api, options).await
}

/// The ratio above which parsing is taken for superlinear (the bench then fails): linear work
/// gives 8× for 8 times the parameters, quadratic work 64×.
const SUPERLINEAR: f64 = 20.0;

/// Requests with 2,000 and 16,000 unknown parameters, in each body type: the cost must grow
/// linearly (issue 12: it was quadratic, 16,000 took 4.6 s).
async fn unknown_parameters(api: &TestApi, options: &Options) -> Result<(), String> {
    let iterations = if options.quick { 3 } else { 20 };
    type Body = fn(usize) -> (Vec<u8>, String);
    let bodies: [(&str, Body); 3] = [
        ("form", |n| {
            let body = (0..n).map(|i| format!("u{i}=1")).collect::<Vec<_>>().join("&");
            (body.into_bytes(), FORM.to_owned())
        }),
        ("multipart", |n| {
            let names: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
            let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
            multipart(&fields, &[])
        }),
        ("JSON", |n| {
            let object: serde_json::Map<String, Value> =
                (0..n).map(|i| (format!("u{i}"), Value::from(1))).collect();
            let body = serde_json::to_vec(&object).unwrap_or_default();
            (body, "application/json".to_owned())
        }),
    ];
    println!(
        "## Unknown parameters (a create with N unknown parameters, answered 400; CPU µs, mean of {iterations})\n"
    );
    println!(
        "Parsing and checking must be linear in the body: 8 times the parameters, at most 10 times the cost. Query strings cannot carry 2,000 parameters (API Gateway's 10,240-byte request line).\n"
    );
    println!("| body | 2,000 unknown (µs) | 16,000 unknown (µs) | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    let mut superlinear = Vec::new();
    for (name, body) in bodies {
        let mut costs = Vec::new();
        for n in [2_000, 16_000] {
            let (bytes, content_type) = body(n);
            let row = operation(api, iterations, ("unknown parameters", 400, None), |_| {
                Event::new("POST", "/api/v1.0/customers", &bytes, &content_type)
            })
            .await?;
            costs.push(row.cost);
        }
        let ratio = costs[1] / costs[0];
        let flag = if ratio > 10.0 { " ⚠" } else { "" };
        println!(
            "| {name} | {:.0} | {:.0} | {ratio:.1}×{flag} | ≤ 10× |",
            costs[0], costs[1]
        );
        if ratio > SUPERLINEAR {
            superlinear.push(format!("{name} ({ratio:.1}×)"));
        }
    }
    println!();
    if superlinear.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "parsing is superlinear (over {SUPERLINEAR}× for 8 times the parameters): {}",
            superlinear.join(", ")
        ))
    }
}
