//! Per-request metrics as CloudWatch Embedded Metric Format: one JSON log line per request (or
//! resizer event) that CloudWatch turns into metrics, with no API call and no extra latency.
//!
//! Namespace [`NAMESPACE`], one dimension, `Function` (the Lambda's operation name). API
//! functions: `Latency` (ms, the handler's wall time), `Status4xx` and `Status5xx` (0 or 1 per
//! request: their sums count, their averages are rates), `ReadCapacity` and `WriteCapacity` (the
//! DynamoDB capacity units the request consumed, as DynamoDB reports them), `ConflictRetries`
//! (attempts retried after losing a race). The resizer: `Latency`, `BytesIn`, `BytesOut`,
//! `Refused` (originals it could not resize). `status`, `statusClass` and `requestId` ride along
//! as properties (searchable in Logs Insights, not metrics: no cost per value).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "CustomersApi";

tokio::task_local! {
    static CURRENT: Arc<Tally>;
}

/// What one request consumed, counted while it runs.
#[derive(Debug, Default)]
pub struct Tally {
    /// DynamoDB read capacity units, in thousandths.
    read_milli: AtomicU64,
    /// DynamoDB write capacity units, in thousandths.
    write_milli: AtomicU64,
    conflict_retries: AtomicU32,
}

impl Tally {
    /// Read capacity units consumed.
    pub fn read_capacity(&self) -> f64 {
        self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Write capacity units consumed.
    pub fn write_capacity(&self) -> f64 {
        self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Attempts retried after a conflict.
    pub fn conflict_retries(&self) -> u32 {
        self.conflict_retries.load(Ordering::Relaxed)
    }
}

/// Runs `work` with a fresh tally that the DynamoDB calls and retries inside it add to.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Arc<Tally>) {
    let tally = Arc::new(Tally::default());
    let output = CURRENT.scope(Arc::clone(&tally), work).await;
    (output, tally)
}

/// Counts one retry after a lost race, in the current request's tally (if any).
pub fn count_conflict_retry() {
    let _ = CURRENT.try_with(|tally| tally.conflict_retries.fetch_add(1, Ordering::Relaxed));
}

fn add_capacity(read: f64, write: f64) {
    let milli = |units: f64| (units.max(0.0) * 1000.0).round() as u64;
    let _ = CURRENT.try_with(|tally| {
        tally.read_milli.fetch_add(milli(read), Ordering::Relaxed);
        tally.write_milli.fetch_add(milli(write), Ordering::Relaxed);
    });
}

/// The DynamoDB operations that read and take `ReturnConsumedCapacity`.
const READS: &[&str] = &["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"];
/// The DynamoDB operations that write and take `ReturnConsumedCapacity`.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// Whether the operation in flight reads (its `CapacityUnits` are read units) or writes.
#[derive(Debug, Clone, Copy)]
struct Reads(bool);

impl Storable for Reads {
    type Storer = StoreReplace<Self>;
}

/// A DynamoDB client interceptor: asks every metered operation for its consumed capacity
/// (`ReturnConsumedCapacity: TOTAL`, free) and adds what DynamoDB reports to the current
/// request's tally.
#[derive(Debug, Default)]
pub struct CapacityMeter;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit_once('.'))
            .map(|(_, operation)| operation);
        let reads = match operation {
            Some(operation) if READS.contains(&operation) => true,
            Some(operation) if WRITES.contains(&operation) => false,
            _ => return Ok(()),
        };
        cfg.interceptor_state().store_put(Reads(reads));
        let Some(body) = request.body().bytes().and_then(with_consumed_capacity) else {
            return Ok(());
        };
        let length = body.len().to_string();
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(body);
        request.headers_mut().insert("content-length", length);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(&Reads(reads)) = cfg.load::<Reads>() else {
            return Ok(());
        };
        if let Some((read, write)) = context
            .response()
            .body()
            .bytes()
            .and_then(|body| consumed_capacity(body, reads))
        {
            add_capacity(read, write);
        }
        Ok(())
    }
}

/// A DynamoDB JSON request body asking for its consumed capacity (`None`: not a JSON object, or
/// it already asks).
fn with_consumed_capacity(body: &[u8]) -> Option<Vec<u8>> {
    const FIELD: &[u8] = b"\"ReturnConsumedCapacity\":\"TOTAL\"";
    let rest = body.strip_prefix(b"{")?;
    if body.windows(24).any(|w| w == b"\"ReturnConsumedCapacity\"") {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + FIELD.len() + 1);
    out.push(b'{');
    out.extend_from_slice(FIELD);
    if !rest.trim_ascii_start().starts_with(b"}") {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// (read, write) capacity units in a DynamoDB response body's `ConsumedCapacity` (an object, or
/// an array of them for batches and transactions); a bare total (`CapacityUnits`, what `TOTAL`
/// returns) counts as read units when the operation `reads`. The key is found without parsing
/// the items: inside a JSON string its quotes would be escaped.
fn consumed_capacity(body: &[u8], reads: bool) -> Option<(f64, f64)> {
    const KEY: &[u8] = b"\"ConsumedCapacity\":";
    let at = body.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let value: Value = serde_json::Deserializer::from_slice(&body[at..])
        .into_iter()
        .next()?
        .ok()?;
    let entries = match value {
        Value::Array(entries) => entries,
        entry => vec![entry],
    };
    let units = |entry: &Value, key: &str| entry.get(key).and_then(Value::as_f64);
    Some(entries.iter().fold((0.0, 0.0), |(read, write), entry| {
        match (
            units(entry, "ReadCapacityUnits"),
            units(entry, "WriteCapacityUnits"),
        ) {
            (None, None) => {
                let total = units(entry, "CapacityUnits").unwrap_or(0.0);
                if reads {
                    (read + total, write)
                } else {
                    (read, write + total)
                }
            }
            (r, w) => (read + r.unwrap_or(0.0), write + w.unwrap_or(0.0)),
        }
    }))
}

/// The status class of an HTTP status: `2xx`, `4xx`, `5xx`.
fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// One EMF record: `_aws` metadata, the `Function` dimension, the metrics and properties.
fn record(function: &str, metrics: &[(&str, &str, Value)], properties: Map<String, Value>) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Metric<'a> {
        name: &'a str,
        unit: &'a str,
    }
    let definitions: Vec<Metric<'_>> = metrics
        .iter()
        .map(|(name, unit, _)| Metric { name, unit })
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Function".to_owned(), Value::from(function));
    for (name, _, value) in metrics {
        line.insert((*name).to_owned(), value.clone());
    }
    line.extend(properties);
    Value::Object(line).to_string()
}

fn milliseconds(elapsed: Duration) -> Value {
    json!((elapsed.as_secs_f64() * 1e5).round() / 1e2)
}

/// The EMF line of one API request.
pub fn request_line(
    function: &str,
    status: u16,
    elapsed: Duration,
    tally: &Tally,
    request_id: &str,
) -> String {
    let flag = |class: u16| json!(u8::from(status / 100 == class));
    record(
        function,
        &[
            ("Latency", "Milliseconds", milliseconds(elapsed)),
            ("Status4xx", "Count", flag(4)),
            ("Status5xx", "Count", flag(5)),
            ("ReadCapacity", "Count", json!(tally.read_capacity())),
            ("WriteCapacity", "Count", json!(tally.write_capacity())),
            ("ConflictRetries", "Count", json!(tally.conflict_retries())),
        ],
        Map::from_iter([
            ("status".to_owned(), json!(status)),
            ("statusClass".to_owned(), json!(status_class(status))),
            ("requestId".to_owned(), json!(request_id)),
        ]),
    )
}

/// The EMF line of one resizer event.
pub fn resize_line(elapsed: Duration, bytes_in: u64, bytes_out: u64, refused: u32) -> String {
    record(
        "logo-resizer",
        &[
            ("Latency", "Milliseconds", milliseconds(elapsed)),
            ("BytesIn", "Bytes", json!(bytes_in)),
            ("BytesOut", "Bytes", json!(bytes_out)),
            ("Refused", "Count", json!(refused)),
        ],
        Map::new(),
    )
}

/// Writes one EMF line to standard output, where Lambda sends it to CloudWatch Logs.
pub fn emit(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_ask_for_their_consumed_capacity_once() {
        let body = with_consumed_capacity(br#"{"TableName":"t","Key":{}}"#).expect("object");
        let parsed: Value = serde_json::from_slice(&body).expect("still JSON");
        assert_eq!(parsed["ReturnConsumedCapacity"], "TOTAL");
        assert_eq!(parsed["TableName"], "t");
        let empty = with_consumed_capacity(b"{}").expect("object");
        assert_eq!(empty, br#"{"ReturnConsumedCapacity":"TOTAL"}"#);
        assert_eq!(with_consumed_capacity(&body), None, "already asks");
        assert_eq!(with_consumed_capacity(b"[]"), None);
    }

    #[test]
    fn consumed_capacity_is_read_from_objects_and_arrays() {
        let get = br#"{"Item":{"name":{"S":"\"ConsumedCapacity\":{\"CapacityUnits\":99}"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5,"ReadCapacityUnits":0.5}}"#;
        assert_eq!(consumed_capacity(get, true), Some((0.5, 0.0)));
        let put = br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":2.0}}"#;
        assert_eq!(consumed_capacity(put, false), Some((0.0, 2.0)));
        assert_eq!(consumed_capacity(put, true), Some((2.0, 0.0)));
        let transaction = br#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":6.0,"WriteCapacityUnits":6.0},{"TableName":"u","CapacityUnits":2.0,"ReadCapacityUnits":2.0}]}"#;
        assert_eq!(consumed_capacity(transaction, false), Some((2.0, 6.0)));
        assert_eq!(consumed_capacity(br#"{"Items":[]}"#, true), None);
    }

    #[tokio::test]
    async fn a_tally_counts_only_inside_its_request() {
        count_conflict_retry();
        add_capacity(1.0, 1.0);
        let ((), tally) = tallied(async {
            add_capacity(0.5, 2.0);
            add_capacity(1.5, 0.0);
            count_conflict_retry();
        })
        .await;
        assert_eq!(
            (
                tally.read_capacity(),
                tally.write_capacity(),
                tally.conflict_retries()
            ),
            (2.0, 2.0, 1)
        );
    }

    #[test]
    fn a_request_line_is_embedded_metric_format() {
        let tally = Tally::default();
        tally.read_milli.store(1500, Ordering::Relaxed);
        let line: Value = serde_json::from_str(&request_line(
            "customer-show",
            404,
            Duration::from_micros(12_345),
            &tally,
            "r-1",
        ))
        .expect("JSON");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(line[name].is_number(), "{name} has a value");
        }
        assert_eq!(
            (
                &line["Function"],
                &line["Latency"],
                &line["Status4xx"],
                &line["Status5xx"]
            ),
            (&json!("customer-show"), &json!(12.35), &json!(1), &json!(0))
        );
        assert_eq!(
            (&line["ReadCapacity"], &line["statusClass"]),
            (&json!(1.5), &json!("4xx"))
        );
        assert!(
            line["_aws"]["Timestamp"]
                .as_i64()
                .is_some_and(|t| t > 1_700_000_000_000)
        );
    }
}
