//! The resizer: for each S3 "object created" event on an original, writes its `small_` and
//! `medium_` variants under `variants/`. Idempotent (deterministic keys, same bytes), never
//! resizes a variant, and reports bad images without asking for a retry.

use std::sync::Arc;

use aws_lambda_events::event::s3::S3Event;
use serde::Serialize;
use serde_json::json;

use super::objects::ObjectStore;
use super::resize::{ResizeError, VariantBoxes, resize};
use super::{MAX_BYTES, ORIGINALS, VARIANT_PREFIXES, VARIANTS};
use crate::model::StoreError;

/// One original to resize, and where its variants go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizeJob {
    /// The original's key.
    pub original: String,
    /// `small_` variant key.
    pub small: String,
    /// `medium_` variant key.
    pub medium: String,
}

impl ResizeJob {
    /// The job for `key`, or why there is none: only originals are resized, never a variant
    /// (the notification covers `originals/` only; this is the guard in code).
    pub fn for_key(key: &str) -> Result<Self, &'static str> {
        let Some(relative) = key.strip_prefix(ORIGINALS) else {
            return Err("not under originals/");
        };
        let (dir, name) = relative.rsplit_once('/').unwrap_or(("", relative));
        if name.is_empty() {
            return Err("not an object");
        }
        if VARIANT_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) {
            return Err("a variant name");
        }
        let variant = |prefix: &str| {
            if dir.is_empty() {
                format!("{VARIANTS}{prefix}{name}")
            } else {
                format!("{VARIANTS}{dir}/{prefix}{name}")
            }
        };
        Ok(ResizeJob {
            original: key.to_owned(),
            small: variant(VARIANT_PREFIXES[0]),
            medium: variant(VARIANT_PREFIXES[1]),
        })
    }
}

/// Decodes an S3 event key: `+` is a space, then `%xx` escapes.
pub fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The "object created" event S3 sends for `key` (its key URL-encoded, as S3 does).
pub fn object_created_event(bucket: &str, key: &str, size: usize) -> S3Event {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes())
        .collect::<String>()
        .replace("%2F", "/");
    let event = json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "1970-01-01T00:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "local" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "resize-logos",
                "bucket": { "name": bucket, "ownerIdentity": { "principalId": "local" }, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": { "key": encoded, "size": size, "eTag": "", "sequencer": "0" }
            }
        }]
    });
    serde_json::from_value(event).unwrap_or_default()
}

/// What happened to each record of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResizeReport {
    /// Originals whose variants were written.
    pub resized: Vec<String>,
    /// Records ignored, with the reason (a variant, another bucket, a deleted original...).
    pub skipped: Vec<(String, String)>,
    /// Originals that cannot be resized (corrupt, a bomb, not an image): reported, not retried.
    pub rejected: Vec<(String, String)>,
    /// Bytes of the originals read (metrics only).
    #[serde(skip)]
    pub bytes_in: u64,
    /// Bytes of the variants written (metrics only).
    #[serde(skip)]
    pub bytes_out: u64,
}

/// Resizes originals into variants in one object store.
pub struct Resizer {
    objects: Arc<dyn ObjectStore>,
    boxes: VariantBoxes,
}

impl Resizer {
    /// A resizer writing variants of `boxes` sizes into `objects`.
    pub fn new(objects: Arc<dyn ObjectStore>, boxes: VariantBoxes) -> Self {
        Resizer { objects, boxes }
    }

    /// Handles one event. Storage failures are returned (Lambda retries the event); images that
    /// cannot be resized are logged and reported, and the event still succeeds.
    pub async fn handle(&self, event: S3Event) -> Result<ResizeReport, StoreError> {
        let mut report = ResizeReport::default();
        for record in event.records {
            let key = record
                .s3
                .object
                .key
                .as_deref()
                .map(decode_event_key)
                .unwrap_or_default();
            if !record
                .event_name
                .as_deref()
                .unwrap_or("")
                .starts_with("ObjectCreated")
            {
                report.skipped.push((key, "not an object-created event".into()));
                continue;
            }
            if let (Some(ours), Some(theirs)) = (self.objects.bucket(), record.s3.bucket.name.as_deref()) {
                if ours != theirs {
                    tracing::warn!(bucket = theirs, key, "event from another bucket ignored");
                    report
                        .skipped
                        .push((key, format!("bucket {theirs} is not {ours}")));
                    continue;
                }
            }
            match ResizeJob::for_key(&key) {
                Ok(job) => self.run(job, &mut report).await?,
                Err(reason) => {
                    tracing::info!(key, reason, "not resized");
                    report.skipped.push((key, reason.into()));
                }
            }
        }
        Ok(report)
    }

    async fn run(&self, job: ResizeJob, report: &mut ResizeReport) -> Result<(), StoreError> {
        let Some(bytes) = self.objects.get(&job.original).await? else {
            report
                .skipped
                .push((job.original, "the original no longer exists".into()));
            return Ok(());
        };
        report.bytes_in += bytes.len() as u64;
        if bytes.len() > MAX_BYTES {
            let reason = format!("{} bytes is over the {MAX_BYTES}-byte limit", bytes.len());
            tracing::error!(key = job.original, reason, "logo rejected by the resizer");
            report.rejected.push((job.original, reason));
            return Ok(());
        }
        let boxes = self.boxes;
        let resized = tokio::task::spawn_blocking(move || resize(&bytes, &boxes))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let variants = match resized {
            Ok(variants) => variants,
            Err(
                error @ (ResizeError::Unsupported | ResizeError::TooLarge { .. } | ResizeError::Corrupt(_)),
            ) => {
                tracing::error!(key = job.original, %error, "logo rejected by the resizer");
                report.rejected.push((job.original, error.to_string()));
                return Ok(());
            }
        };
        let content_type = variants.format.content_type();
        report.bytes_out += (variants.small.bytes.len() + variants.medium.bytes.len()) as u64;
        self.objects
            .put(&job.small, variants.small.bytes, content_type)
            .await?;
        self.objects
            .put(&job.medium, variants.medium.bytes, content_type)
            .await?;
        if !self.objects.exists(&job.original).await? {
            // The customer was deleted or its logo replaced while this ran: leave nothing behind.
            self.objects.delete(&[job.small, job.medium]).await?;
            report
                .skipped
                .push((job.original, "the original was removed while resizing".into()));
            return Ok(());
        }
        tracing::info!(
            key = job.original,
            small = format!("{}x{}", variants.small.width, variants.small.height),
            medium = format!("{}x{}", variants.medium.width, variants.medium.height),
            "resized"
        );
        report.resized.push(job.original);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_only_for_originals() {
        let job = ResizeJob::for_key("originals/org-1/photoCustomer/123_logo.png").expect("original");
        assert_eq!(job.small, "variants/org-1/photoCustomer/small_123_logo.png");
        assert_eq!(job.medium, "variants/org-1/photoCustomer/medium_123_logo.png");
        assert!(ResizeJob::for_key("variants/org-1/photoCustomer/small_123_logo.png").is_err());
        assert!(ResizeJob::for_key("originals/org-1/photoCustomer/small_123_logo.png").is_err());
        assert!(ResizeJob::for_key("originals/org-1/photoCustomer/").is_err());
        assert!(ResizeJob::for_key("other/123_logo.png").is_err());
    }

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            decode_event_key("originals/a/red+flower.jpg"),
            "originals/a/red flower.jpg"
        );
        assert_eq!(
            decode_event_key("originals/a/caf%C3%A9%2B1.jpg"),
            "originals/a/café+1.jpg"
        );
        let event = object_created_event("b", "originals/a/red flower+1.jpg", 10);
        let key = event.records[0].s3.object.key.clone().unwrap_or_default();
        assert_eq!(key, "originals/a/red+flower%2B1.jpg");
        assert_eq!(decode_event_key(&key), "originals/a/red flower+1.jpg");
    }
}
