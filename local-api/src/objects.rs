//! Local object storage: a directory standing in for the logo bucket, and the stand-in for the
//! bucket's notification that runs the resizer after each upload.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use customer_api::logos::ORIGINALS;
use customer_api::logos::objects::ObjectStore;
use customer_api::logos::resize::VariantBoxes;
use customer_api::logos::resizer::{Resizer, object_created_event};
use customer_api::model::StoreError;

/// A directory: keys are relative paths below it.
pub struct DirObjectStore {
    root: PathBuf,
}

impl DirObjectStore {
    /// Objects below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirObjectStore { root: root.into() }
    }

    /// The file of `key`; keys that would leave the directory are refused.
    pub fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let relative = Path::new(key);
        let safe = !key.is_empty() && relative.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(StoreError::Backend(format!("unsafe object key {key:?}")));
        }
        Ok(self.root.join(relative))
    }
}

fn io_error(error: std::io::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

#[async_trait]
impl ObjectStore for DirObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        let partial = path.with_extension("partial");
        tokio::fs::write(&partial, bytes).await.map_err(io_error)?;
        tokio::fs::rename(&partial, &path).await.map_err(io_error)
    }

    /// Writes a uniquely named temporary file, then links it at the key: the link fails if the
    /// key is taken, so readers never see a partial object and two writers never share a key.
    async fn create(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<bool, StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        let partial =
            tempfile::NamedTempFile::new_in(path.parent().unwrap_or(&self.root)).map_err(io_error)?;
        tokio::fs::write(partial.path(), bytes).await.map_err(io_error)?;
        match tokio::fs::hard_link(partial.path(), &path).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(io_error(error)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(error)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        tokio::fs::try_exists(self.path(key)?).await.map_err(io_error)
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            match tokio::fs::remove_file(self.path(key)?).await {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error(error)),
            }
        }
        Ok(())
    }
}

/// Local stand-in for the S3 notification: after an original is stored, runs the resizer on the
/// S3 event S3 would have sent, before returning.
pub struct ResizeOnPut {
    inner: Arc<dyn ObjectStore>,
    resizer: Resizer,
}

impl ResizeOnPut {
    /// What the bucket notification would do for a new object at `key`.
    async fn resize(&self, key: &str, size: usize) {
        if key.starts_with(ORIGINALS) {
            let event = object_created_event(self.inner.bucket().unwrap_or("local"), key, size);
            if let Err(error) = self.resizer.handle(event).await {
                tracing::error!(%error, key, "local resize failed");
            }
        }
    }

    /// Wraps `inner`, resizing into `boxes` after each original is stored.
    pub fn new(inner: Arc<dyn ObjectStore>, boxes: VariantBoxes) -> Self {
        ResizeOnPut {
            resizer: Resizer::new(Arc::clone(&inner), boxes),
            inner,
        }
    }
}

#[async_trait]
impl ObjectStore for ResizeOnPut {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        let size = bytes.len();
        self.inner.put(key, bytes, content_type).await?;
        self.resize(key, size).await;
        Ok(())
    }

    async fn create(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<bool, StoreError> {
        let size = bytes.len();
        let created = self.inner.create(key, bytes, content_type).await?;
        if created {
            self.resize(key, size).await;
        }
        Ok(created)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete(keys).await
    }

    fn bucket(&self) -> Option<&str> {
        self.inner.bucket()
    }
}
