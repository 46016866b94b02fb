//! Local-only tooling, never compiled into a Lambda: the API Gateway stand-in, the embedded
//! and in-memory stores, the directory object store with its resize-on-upload stand-in for the S3
//! notification, and the assembly of an app from `local-api`'s options. The tests and the
//! benchmark use the same pieces.

pub mod app;
pub mod embedded;
pub mod gateway;
pub mod memory;
pub mod objects;
pub mod wire;

pub use embedded::EmbeddedStore;
pub use gateway::{Gateway, HttpRequest, Tokens};
pub use memory::MemoryStore;
pub use objects::{DirObjectStore, ResizeOnPut};
