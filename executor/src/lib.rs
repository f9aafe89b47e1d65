//! A thread-per-core async executor with an io_uring reactor (Linux) and a readiness reactor
//! (epoll/kqueue through [`polling`]).
//!
//! Each worker thread owns its run queue, its reactor and its timers; tasks stay on the worker
//! that spawned them (no work stealing). Wakers work from any thread: a wake from another thread
//! queues the task on its own worker and wakes that worker's reactor.
//!
//! I/O uses owned buffers (`read(buf) -> (result, buf)`), the model io_uring needs, so the same
//! code runs on both reactors, and dropping an I/O future never frees memory the kernel may
//! still write: the reactor keeps the buffer until the kernel is done with it.
//!
//! # Examples
//!
//! Drive one future on the calling thread (how other code embeds the executor):
//!
//! ```
//! let answer = nanoapi_executor::block_on(async {
//!     let task = nanoapi_executor::spawn_local(async { 40 + 2 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! A runtime with one worker per core, running one future per worker:
//!
//! ```
//! use nanoapi_executor::Runtime;
//!
//! let rt = Runtime::builder().workers(2).build().unwrap();
//! let ids = rt.block_on_each(|worker| async move { worker * 10 });
//! assert_eq!(ids, vec![0, 10]);
//! ```
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// docs.rs (nightly, `--cfg docsrs`) marks platform-specific items (io_uring is Linux-only).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod blocking;
mod buf;
mod driver;
mod fd;
pub mod fs;
pub mod future;
pub mod net;
mod op;
mod runtime;
pub mod sync;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
mod task;
pub mod time;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio_compat;

pub use buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
pub use runtime::{
    Backend, Builder, Handle, Runtime, StuckWorkers, block_on, spawn, spawn_blocking, spawn_local,
    task_runs, worker_index,
};
pub use task::{JoinError, JoinHandle, YieldNow, yield_now};
