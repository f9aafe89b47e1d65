//! nanoapi: an HTTP/1.1 server stack on a thread-per-core executor, in two layers that can be
//! used apart.
//!
//! - **The overlay** (default features): [`App`](app::App), a FastAPI-style router of plain
//!   `async fn` handlers with typed extraction, FastAPI's 422 validation errors, middleware,
//!   and ([`openapi`]) the OpenAPI 3.1 document with Swagger UI and ReDoc; [`serverless`] runs
//!   the same app on AWS Lambda.
//! - **The runtime** (always built): the executor ([`executor`], the `nanoapi-executor`
//!   crate: worker threads with io_uring or epoll/kqueue reactors, owned-buffer I/O, timers, a
//!   blocking pool); the HTTP/1.1 wire layer ([`http`]: a strict zero-copy parser, responses,
//!   status codes); and the serving side ([`server`]: the connection loop, static responses,
//!   blocking dispatch, graceful shutdown), entered through [`run`] / [`serve`] with any
//!   [`Dispatch`](server::Dispatch). `default-features = false` leaves the runtime alone, with
//!   no serde or JSON dependency.
//!
//! # Quick start
//!
//! ```toml
//! [dependencies]
//! nanoapi = { git = "https://github.com/nanoapi/nanoapi" }
//! serde = { version = "1", features = ["derive"] }
//! schemars = "1"
//! ```
//!
//! A complete app: a typed path parameter, a validated JSON body (a 422 with every error when
//! it is wrong), shared state, and its OpenAPI document at `/openapi.json` with Swagger UI at
//! `/docs`:
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//!
//! use nanoapi::app::{App, HttpException, Json, Path, State};
//! use nanoapi::http::StatusCode;
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! struct Todo {
//!     #[schemars(length(min = 1, max = 200))]
//!     title: String,
//!     done: bool,
//! }
//!
//! /// Shared by every worker (state is cloned per request: share it behind an `Arc`).
//! type Todos = Arc<Mutex<Vec<Todo>>>;
//!
//! async fn create(State(todos): State<Todos>, Json(todo): Json<Todo>) -> (StatusCode, Json<Todo>) {
//!     todos.lock().unwrap().push(todo.clone());
//!     (StatusCode::CREATED, Json(todo))
//! }
//!
//! async fn read(State(todos): State<Todos>, Path(id): Path<usize>) -> Result<Json<Todo>, HttpException> {
//!     let todos = todos.lock().unwrap();
//!     let todo = todos.get(id).cloned();
//!     todo.map(Json).ok_or_else(|| HttpException::new(StatusCode::NOT_FOUND, "Todo not found"))
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     App::new()
//!         .with_state(Todos::default())
//!         .post("/todos", create)
//!         .get("/todos/{id}", read)
//!         .run() // http://127.0.0.1:8080 (NANOAPI_HOST, NANOAPI_PORT); Ctrl-C drains
//! }
//! ```
//!
//! The same server without the overlay: one `async fn` sees every request.
//!
//! ```no_run
//! use nanoapi::http::{Response, StatusCode};
//! use nanoapi::server::{Request, ResponseWriter};
//!
//! async fn dispatch(_ctx: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
//!     let body = req.read_to_end().await?;
//!     w.send(Response::text(StatusCode::OK, body)).await
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     nanoapi::run((), dispatch)
//! }
//! ```
//!
//! Where to go next: [`app`] (extractors, responses, middleware, the test client), [`openapi`]
//! (the document, security schemes), [`server`] (options, streaming, static responses,
//! shutdown), [`executor`] (tasks, timers, sockets, `spawn_blocking`). The README covers logs,
//! tokio inside handlers, and deployment; `docs/ARCHITECTURE.md` in the repository maps the
//! code.
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

/// The extensions every new [`App`](app::App) starts with: with feature `openapi`, the OpenAPI
/// document and its pages. The one place where the overlay's parts meet: the App knows no
/// extension, and each extension knows only the App's public face.
#[cfg(feature = "app")]
fn default_extensions() -> app::Extensions {
    #[allow(unused_mut)]
    let mut extensions = app::Extensions::default();
    #[cfg(feature = "openapi")]
    extensions.insert(openapi::Docs::default());
    extensions
}

#[cfg(feature = "serverless")]
#[cfg_attr(docsrs, doc(cfg(feature = "serverless")))]
pub mod serverless;

#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub mod ws;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
