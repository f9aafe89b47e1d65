//! One long-lived worker for every input of a target: building a reactor per input would
//! cost more than the input. Its thread-local state (spare buffers, the Date cache) carries
//! over between inputs, as on a server.

use std::future::Future;
use std::sync::{OnceLock, mpsc};

use nanoapi::executor::{Backend, Runtime};

/// Runs the future `make` builds on the fuzzing worker and returns its output; panics (so the
/// fuzzer reports the input) if the future panicked.
pub fn on_worker<T, F, M>(make: M) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + 'static,
    M: FnOnce() -> F + Send + 'static,
{
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        Runtime::builder()
            .workers(1)
            .backend(Backend::Poll)
            .build()
            .unwrap()
    });
    let (done, result) = mpsc::channel();
    runtime
        .handle()
        .spawn_on(0, move || async move {
            let _ = done.send(make().await);
        })
        .detach();
    result.recv().expect("the input's future panicked")
}
