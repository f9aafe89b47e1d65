//! nanoapi: an HTTP/1.1 server stack on a thread-per-core executor.
//!
//! This release carries the executor ([`executor`], the `nanoapi-executor` crate): worker
//! threads with io_uring or epoll/kqueue reactors, owned-buffer TCP and file I/O, timers and a
//! blocking pool. The HTTP runtime (`nanoapi::run(ctx, dispatch)`) and the `App` overlay build
//! on it in later releases; see `docs/ARCHITECTURE.md`.
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
pub mod app;

#[cfg(feature = "openapi")]
pub mod openapi;

#[cfg(feature = "serverless")]
pub mod serverless;
