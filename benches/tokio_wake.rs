//! What a tokio future costs inside a nanoapi task (feature `tokio`):
//! `cargo bench --features tokio --bench tokio_wake`.
//!
//! Each iteration, on one nanoapi worker, awaits a task that completes at once: spawned on the
//! worker itself (`spawn_local`, the baseline), or on the tokio runtime (`tokio::spawn`, whose
//! completion wakes the worker from tokio's thread). The difference is the price of one trip
//! through tokio and back. Figures are in `benches/README.md`.

use std::sync::OnceLock;

use nanoapi::executor::{Runtime, spawn_local};

fn main() {
    divan::main();
}

/// One worker with the background tokio runtime entered (the `tokio` feature's default).
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::builder().workers(1).build().unwrap())
}

/// Runs `rounds` awaits of `task` on the worker.
fn on_worker<F: Future<Output = ()> + 'static>(rounds: usize, task: fn() -> F) {
    let handle = runtime().handle().clone();
    let done = handle.spawn_on(0, move || async move {
        for _ in 0..rounds {
            task().await;
        }
    });
    nanoapi::executor::block_on(done).unwrap();
}

const ROUNDS: usize = 1_000;

/// A task on the worker itself: the same thread, no wake-up from elsewhere.
#[divan::bench]
fn local_task_round_trip(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(ROUNDS))
        .bench(|| {
            on_worker(ROUNDS, || async {
                spawn_local(async {}).await.unwrap();
            })
        });
}

/// A task on tokio's thread: its completion wakes the worker across threads.
#[divan::bench]
fn tokio_task_round_trip(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(ROUNDS))
        .bench(|| {
            on_worker(ROUNDS, || async {
                tokio::spawn(async {}).await.unwrap();
            })
        });
}
