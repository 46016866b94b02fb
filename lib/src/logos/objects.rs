//! Object storage behind a small trait: S3 in AWS (`local-api` keeps objects in a directory).

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::model::StoreError;

/// Where logos and their variants are kept.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` at `key`, replacing any object there.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;

    /// Stores `bytes` at `key` only if no object is there; `Ok(false)` if one is (another
    /// writer took the key first).
    async fn create(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<bool, StoreError>;

    /// The object at `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Whether an object exists at `key`.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;

    /// Removes the objects at `keys` (missing ones are fine).
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError>;

    /// The bucket name events carry (`None` for local stores).
    fn bucket(&self) -> Option<&str> {
        None
    }
}

/// An S3 bucket.
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectStore {
    fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes))
    }

    /// The bucket `bucket` through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3ObjectStore {
            client,
            bucket: bucket.into(),
        }
    }
}

fn s3_error(error: impl std::error::Error + 'static) -> StoreError {
    StoreError::Backend(DisplayErrorContext(error).to_string())
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.put_object(key, bytes, content_type)
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    /// A conditional `PutObject` (`If-None-Match: *`): S3 refuses it with 412 when the key is
    /// taken (409 when another conditional write of the key is in flight).
    async fn create(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<bool, StoreError> {
        let put = self
            .put_object(key, bytes, content_type)
            .if_none_match("*")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error) if matches!(error.raw_response().map(|r| r.status().as_u16()), Some(409 | 412)) => {
                Ok(false)
            }
            Err(error) => Err(s3_error(error)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(s3_error)?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(s3_error(error)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) => Err(s3_error(error)),
        }
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build().map_err(s3_error))
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(s3_error)?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(s3_error)?;
        match out.errors().first() {
            Some(failed) => Err(StoreError::Backend(format!(
                "could not delete {}: {}",
                failed.key().unwrap_or(""),
                failed.message().unwrap_or("")
            ))),
            None => Ok(()),
        }
    }

    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }
}

/// No object storage: every operation fails.
pub struct Unavailable;

#[async_trait]
impl ObjectStore for Unavailable {
    async fn put(&self, _key: &str, _bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "no logo storage is configured (LOGO_BUCKET)".into(),
        ))
    }

    async fn create(&self, _key: &str, _bytes: Vec<u8>, _content_type: &str) -> Result<bool, StoreError> {
        Err(StoreError::Backend(
            "no logo storage is configured (LOGO_BUCKET)".into(),
        ))
    }

    async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Backend(
            "no logo storage is configured (LOGO_BUCKET)".into(),
        ))
    }

    async fn exists(&self, _key: &str) -> Result<bool, StoreError> {
        Err(StoreError::Backend(
            "no logo storage is configured (LOGO_BUCKET)".into(),
        ))
    }

    async fn delete(&self, _keys: &[String]) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "no logo storage is configured (LOGO_BUCKET)".into(),
        ))
    }
}
