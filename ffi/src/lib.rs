//! A C ABI over nanoapi's blocking dispatch, for hosts written in other languages (a Python
//! framework through `ctypes` or a CPython extension, a C program, ...).
//!
//! The host creates a server from [`nanoapi_options`], registers one dispatch callback (and any
//! static routes), then calls [`nanoapi_server_run`], which blocks until
//! [`nanoapi_server_stop`] is called from any thread. Callbacks run on the runtime's bounded
//! blocking pool, never on a reactor thread, so they may block and may take an interpreter
//! lock. The header `include/nanoapi.h` is generated from this crate by cbindgen and checked by
//! `tests/header.rs`.
//!
//! Conventions of the ABI:
//!
//! - Strings and byte strings are [`nanoapi_str`]: a pointer and a length, never
//!   NUL-terminated, not necessarily UTF-8.
//! - Functions that can fail return an `int`: [`NANOAPI_OK`] or a negative `NANOAPI_ERR_*`
//!   code; [`nanoapi_last_error`] then describes the failure. Nothing unwinds across the
//!   boundary: a panic inside the library becomes [`NANOAPI_ERR_PANIC`].
//! - The request and writer handed to a callback are valid only during that callback.
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]
#![warn(missing_docs, missing_debug_implementations)]
// The C names are the ABI: `nanoapi_server`, not `NanoapiServer`.
#![allow(non_camel_case_types)]

mod dispatch;
mod error;
mod options;
mod request;
mod server;
mod signals;
mod types;
mod websocket;
mod writer;

pub use error::{
    NANOAPI_ERR_CLOSED, NANOAPI_ERR_INVALID, NANOAPI_ERR_IO, NANOAPI_ERR_PANIC, NANOAPI_ERR_STATE,
    NANOAPI_OK, nanoapi_last_error,
};
pub use options::{
    NANOAPI_BACKEND_AUTO, NANOAPI_BACKEND_POLL, NANOAPI_BACKEND_URING, nanoapi_options,
    nanoapi_options_init,
};
pub use request::{
    nanoapi_request, nanoapi_request_body, nanoapi_request_header, nanoapi_request_header_at,
    nanoapi_request_header_count, nanoapi_request_method, nanoapi_request_path,
    nanoapi_request_query, nanoapi_request_target, nanoapi_request_version,
};
pub use server::{
    nanoapi_dispatch_fn, nanoapi_server, nanoapi_server_add_static, nanoapi_server_free,
    nanoapi_server_new, nanoapi_server_port, nanoapi_server_run, nanoapi_server_set_dispatch,
    nanoapi_server_set_dispatch_inline, nanoapi_server_start, nanoapi_server_stop,
};
pub use types::{nanoapi_header, nanoapi_str};
pub use websocket::{
    NANOAPI_WS_BINARY, NANOAPI_WS_CLOSE, NANOAPI_WS_TEXT, nanoapi_websocket,
    nanoapi_websocket_close, nanoapi_websocket_free, nanoapi_websocket_recv,
    nanoapi_websocket_send, nanoapi_writer_accept_websocket, nanoapi_ws_message,
};
pub use writer::{
    nanoapi_writer, nanoapi_writer_end_chunked, nanoapi_writer_send, nanoapi_writer_start_chunked,
    nanoapi_writer_write_chunk,
};
