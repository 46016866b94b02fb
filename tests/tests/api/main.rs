//! Every integration test, in one binary (each test binary links the whole AWS SDK): the store
//! contract suite on both adapters, the HTTP-level tests of every route, logos and the resizer,
//! the template checks, TLS trust, every Lambda binary under a Runtime API emulator, and the
//! `local-api` binary over TCP.

#![recursion_limit = "256"]

mod concurrency;
mod customers_api;
mod groups_api;
mod hardening;
mod idempotency;
mod layout;
mod local_api;
mod logos;
mod openapi;
mod preconditions;
mod readme;
mod runtime;
mod store_contract;
mod template;
mod tls;
