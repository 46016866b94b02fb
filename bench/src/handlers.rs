//! Handler cost, warm and in-process on the embedded store: the CPU time of each operation beside
//! the floor any implementation pays, `serde_json` serialising the same response body.

use api_tests::{Adapter, ENTITY1, TestApi, multipart};
use customer_api::logos::ImageFormat;
use customer_api::logos::resize::samples::encoded;
use serde_json::Value;

use crate::Options;

/// Target: each operation at most this many times its floor.
const TARGET: f64 = 3.0;

/// CPU time of this process, in microseconds (all threads: the embedded store works on
/// blocking threads). Through libc, so it also runs under valgrind.
pub fn cpu_micros() -> f64 {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map(|t| t.tv_sec() as f64 * 1e6 + t.tv_nsec() as f64 / 1e3)
        .unwrap_or(0.0)
}

struct Api(TestApi);

impl Api {
    async fn new() -> Self {
        Api(TestApi::with_resizer(Adapter::Embedded, false).await)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> (u16, Value) {
        let path = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let reply = self
            .0
            .call(method, &path, Some(ENTITY1), &body, content_type)
            .await;
        (reply.status, reply.body)
    }

    /// One measured request: the status only (the body is not parsed); a status other than
    /// `expected` is counted in `failures`, so a failing operation cannot pass for a cheap one.
    async fn measured(
        &self,
        expected: u16,
        failures: &std::cell::Cell<usize>,
        (method, path, body, content_type): (&str, &str, Vec<u8>, &str),
    ) {
        let status = self
            .0
            .status(method, path, Some(ENTITY1), &body, content_type)
            .await;
        if status != expected {
            failures.set(failures.get() + 1);
        }
    }
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

/// Mean CPU microseconds of serialising `body`.
fn floor(iterations: usize, body: &Value) -> f64 {
    let started = cpu_micros();
    let mut bytes = 0;
    for _ in 0..iterations * 10 {
        bytes += serde_json::to_vec(std::hint::black_box(body))
            .map(|v| v.len())
            .unwrap_or(0);
    }
    std::hint::black_box(bytes);
    (cpu_micros() - started) / (iterations * 10) as f64
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Runs the handler-cost section and prints its table.
pub async fn run(options: &Options) -> Result<(), String> {
    let api = Api::new().await;
    let iterations = if options.quick { 20 } else { 300 };
    let (status, group) = api
        .call(
            "POST",
            "/api/v1.0/customerGroups",
            "",
            br#"{"reference":"G","name":"Group"}"#.to_vec(),
            "application/json",
        )
        .await;
    if status != 201 {
        return Err(format!("seeding a group answered {status}: {group}"));
    }
    for i in 0..120 {
        let body = format!(
            "reference=seed-{i}&name=Customer+{i}&categoryId=G&billingCity=Nice&creditLimit=5000&paymentTypes=%5B%7B%22id%22%3D7%7D%5D"
        );
        api.call("POST", "/api/v1.0/customers", "", body.into_bytes(), FORM)
            .await;
    }
    let logo = encoded(ImageFormat::Png, 400, 200);
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();

    let (_, shown) = api
        .call(
            "GET",
            "/api/v1.0/customers/reference/seed-1",
            "",
            Vec::new(),
            FORM,
        )
        .await;
    let failures = std::cell::Cell::new(0);
    let failures = &failures;
    let show = measure(iterations, |_| {
        api.measured(
            200,
            failures,
            ("GET", "/api/v1.0/customers/reference/seed-1", Vec::new(), FORM),
        )
    })
    .await;
    rows.push(("show a customer", show, floor(iterations, &shown)));

    let (_, page) = api
        .call("GET", "/api/v1.0/customers", "max=100", Vec::new(), FORM)
        .await;
    let list = measure(iterations.min(100), |_| {
        api.measured(
            200,
            failures,
            ("GET", "/api/v1.0/customers?max=100", Vec::new(), FORM),
        )
    })
    .await;
    rows.push(("list a page of 100", list, floor(iterations, &page)));

    let form_body = |i: usize| {
        format!("reference=form-{i}&name=New+{i}&categoryId=G&email=a%40b.c&creditLimit=10").into_bytes()
    };
    let (_, created) = api
        .call("POST", "/api/v1.0/customers", "", form_body(usize::MAX), FORM)
        .await;
    let create = measure(iterations, |i| {
        api.measured(201, failures, ("POST", "/api/v1.0/customers", form_body(i), FORM))
    })
    .await;
    rows.push(("create by form", create, floor(iterations, &created)));

    let with_logo = |i: usize| {
        multipart(
            &[("reference", &format!("logo-{i}")), ("name", "With logo")],
            &[("imageFile", "logo.png", &logo)],
        )
    };
    let (body, content_type) = with_logo(usize::MAX);
    let (_, created_with_logo) = api
        .call("POST", "/api/v1.0/customers", "", body, &content_type)
        .await;
    let create_logo = measure(iterations, |i| {
        let (body, content_type) = with_logo(i);
        let api = &api;
        async move {
            api.measured(
                201,
                failures,
                ("POST", "/api/v1.0/customers", body, &content_type),
            )
            .await;
        }
    })
    .await;
    rows.push((
        "create by multipart with a logo",
        create_logo,
        floor(iterations, &created_with_logo),
    ));

    let (_, updated) = api
        .call(
            "POST",
            "/api/v1.0/customers/reference/seed-2",
            "",
            b"city=Lyon".to_vec(),
            FORM,
        )
        .await;
    let update = measure(iterations, |i| {
        let body = format!("city=City+{i}&onHold=true").into_bytes();
        api.measured(
            200,
            failures,
            ("POST", "/api/v1.0/customers/reference/seed-2", body, FORM),
        )
    })
    .await;
    rows.push(("partial update", update, floor(iterations, &updated)));
    if failures.get() > 0 {
        return Err(format!(
            "{} measured requests did not answer as expected",
            failures.get()
        ));
    }

    println!(
        "## Handler cost (warm, in-process, embedded store; CPU µs per request, mean of {iterations})\n"
    );
    println!(
        "Each request: an API Gateway v2 event as Lambda delivers it → lambda_http's Request → handler → response body; the reply is not parsed.\n"
    );
    println!("| operation | CPU (µs) | floor: serde_json of the same body (µs) | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, cost, floor) in rows {
        let ratio = cost / floor;
        let flag = if ratio > TARGET { " ⚠" } else { "" };
        println!("| {name} | {cost:.0} | {floor:.1} | {ratio:.1}×{flag} |");
    }
    println!("\nTarget: each operation ≤ {TARGET}× its floor. ⚠ marks a miss.\n");
    Ok(())
}
