//! nanoapi: an HTTP/1.1 server stack on a thread-per-core executor, in two layers that can be
//! used apart.
//!
//! - **The runtime** (always built): the executor ([`executor`], the `nanoapi-executor` crate:
//!   worker threads with io_uring or epoll/kqueue reactors, owned-buffer I/O, timers, a
//!   blocking pool); the HTTP/1.1 wire layer ([`http`]: a strict zero-copy parser, responses,
//!   status codes); and the serving side ([`server`]: the connection loop, static responses,
//!   blocking dispatch, graceful shutdown), entered through [`run`] / [`serve`] with any
//!   [`Dispatch`](server::Dispatch).
//! - **The overlay**, behind Cargo features: `app` (the FastAPI-style `App` router with typed
//!   extraction and 422s), `openapi` (the OpenAPI 3.1 document, Swagger UI and ReDoc),
//!   `serverless` (AWS Lambda adapters) and `http-compat` (conversions to the `http` crate's
//!   types). `app`, `openapi` and `serverless` are on by default; `default-features = false`
//!   leaves the runtime alone, with no serde or JSON dependency.
//!
//! `docs/ARCHITECTURE.md` in the repository maps the code.
//!
//! # Examples
//!
//! ```
//! let sum = nanoapi::executor::block_on(async {
//!     nanoapi::executor::spawn_blocking(|| 2 + 2).await.unwrap()
//! });
//! assert_eq!(sum, 4);
//! ```
#![warn(missing_docs, missing_debug_implementations)]
// docs.rs (nightly, `--cfg docsrs`) marks feature-gated items with the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

pub use nanoapi_executor as executor;

mod error;
pub mod server;

pub use error::{Error, Result};
pub use server::{Server, ServerHandle, run, serve, serve_connection};

pub mod http;

#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
pub mod app;

#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;

#[cfg(feature = "serverless")]
#[cfg_attr(docsrs, doc(cfg(feature = "serverless")))]
pub mod serverless;
