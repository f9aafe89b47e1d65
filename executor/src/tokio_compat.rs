//! Tokio inside tasks (feature `tokio`): every worker, blocking thread and `block_on` of a
//! runtime built with this feature enters a tokio runtime's handle for its whole life, so that
//! futures and types made for tokio work in tasks: `tokio::time::sleep`, `tokio::net`, the
//! clients built on them (database drivers, HTTP clients) and `tokio::spawn`.
//!
//! The tokio runtime drives its own I/O and timers on its own threads, and wakes our tasks
//! across threads (through the worker's remote queue and a reactor wake-up). That costs a
//! thread hop per wake-up, so the executor's own [`time`](crate::time) and
//! [`net`](crate::net) remain the fast path; tokio is for the ecosystem's crates.
//!
//! Which tokio runtime: the one given to [`Builder::tokio_handle`](crate::Builder::tokio_handle),
//! else the one the thread building the runtime is in (a `#[tokio::main]` program embedding
//! ours), else the process's background runtime ([`handle`]): one thread, started on first use.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let slept = nanoapi_executor::block_on(async {
//!     let begun = std::time::Instant::now();
//!     tokio::time::sleep(Duration::from_millis(5)).await;
//!     begun.elapsed()
//! });
//! assert!(slept >= Duration::from_millis(5));
//! ```

use std::io;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

/// The tokio runtime for a new executor runtime built on this thread: the one this thread is
/// in, else the background runtime (one thread named `nanoapi-tokio` with tokio's I/O and time
/// drivers, started on first use and kept for the life of the process).
///
/// # Errors
///
/// The background runtime's thread could not be started.
pub fn handle() -> io::Result<Handle> {
    if let Ok(current) = Handle::try_current() {
        return Ok(current);
    }
    static BACKGROUND: OnceLock<Runtime> = OnceLock::new();
    if let Some(runtime) = BACKGROUND.get() {
        return Ok(runtime.handle().clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("nanoapi-tokio")
        .enable_all()
        .build()?;
    // Another thread may have won the race: then ours is dropped (it never ran anything).
    Ok(BACKGROUND.get_or_init(|| runtime).handle().clone())
}
