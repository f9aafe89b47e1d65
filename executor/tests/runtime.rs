//! Runtimes, spawning, join handles, panics and shutdown.

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nanoapi_executor::{Backend, Handle, Runtime, block_on, spawn_local, worker_index, yield_now};

#[test]
fn block_on_runs_a_plain_future_from_a_test() {
    assert_eq!(block_on(async { 6 * 7 }), 42);
}

#[test]
fn spawn_local_runs_non_send_futures_on_the_current_worker() {
    common::on_each_backend(|_| async {
        let counter = Rc::new(std::cell::Cell::new(0));
        let mut handles = Vec::new();
        for i in 0..100 {
            let counter = counter.clone();
            handles.push(spawn_local(async move {
                yield_now().await;
                counter.set(counter.get() + 1);
                i
            }));
        }
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        assert_eq!(sum, (0..100).sum::<i32>());
        assert_eq!(counter.get(), 100);
    });
}

#[test]
fn yield_now_lets_other_tasks_run_first() {
    common::on_each_backend(|_| async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let (a, b) = (order.clone(), order.clone());
        let first = spawn_local(async move {
            a.borrow_mut().push("a1");
            yield_now().await;
            a.borrow_mut().push("a2");
        });
        let second = spawn_local(async move {
            b.borrow_mut().push("b1");
        });
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(*order.borrow(), ["a1", "b1", "a2"]);
    });
}

#[test]
fn handle_spawn_from_outside_spreads_round_robin() {
    for backend in common::backends() {
        let rt = Runtime::builder()
            .workers(2)
            .backend(backend)
            .build()
            .unwrap();
        assert_eq!(rt.backend(), backend);
        let handles: Vec<_> = (0..4)
            .map(|_| rt.handle().spawn(async { worker_index().unwrap() }))
            .collect();
        let workers: Vec<usize> = handles
            .into_iter()
            .map(|h| rt.block_on(async move { h.await.unwrap() }))
            .collect();
        assert_eq!(workers, [0, 1, 0, 1]);
    }
}

#[test]
fn spawn_inside_a_worker_stays_on_that_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (outer, inner) = rt.block_on(async {
        let outer = worker_index().unwrap();
        let inner = Handle::current()
            .spawn(async { worker_index().unwrap() })
            .await
            .unwrap();
        (outer, inner)
    });
    assert_eq!(outer, inner);
}

#[test]
fn spawn_on_builds_a_non_send_future_on_the_chosen_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    for worker in 0..2 {
        let handle = rt.handle().spawn_on(worker, move || {
            let local = Rc::new(worker);
            async move {
                yield_now().await;
                (*local, worker_index().unwrap())
            }
        });
        assert_eq!(
            rt.block_on(async move { handle.await.unwrap() }),
            (worker, worker)
        );
    }
}

#[test]
fn block_on_each_runs_one_future_per_worker() {
    let rt = Runtime::builder().workers(3).build().unwrap();
    let seen = rt.block_on_each(|worker| async move { (worker, worker_index().unwrap()) });
    assert_eq!(seen, vec![(0, 0), (1, 1), (2, 2)]);
}

#[test]
fn a_panicking_task_is_reported_and_the_worker_keeps_running() {
    common::on_each_backend(|_| async {
        let err = spawn_local(async { panic!("boom") }).await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom"));
        assert_eq!(spawn_local(async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn runtime_block_on_resumes_the_future_panic() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("inner") })
    }));
    assert!(res.is_err());
    assert_eq!(rt.block_on(async { 5 }), 5, "the worker survived the panic");
}

/// Counts drops of a future's captured state.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_join_handle_cancels_the_task() {
    common::on_each_backend(|_| async {
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = DropCounter(drops.clone());
        let handle = spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(handle);
        // The cancelled task's runnable is dropped on the worker's next pass.
        yield_now().await;
        yield_now().await;
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_detached_task_runs_to_completion() {
    common::on_each_backend(|_| async {
        let (tx, rx) = futures_channel::oneshot::channel();
        spawn_local(async move {
            yield_now().await;
            tx.send(9).unwrap();
        })
        .detach();
        assert_eq!(rx.await.unwrap(), 9);
    });
}

#[test]
fn join_handle_cancel_returns_the_output_of_a_finished_task() {
    common::on_each_backend(|_| async {
        let handle = spawn_local(async { 3 });
        yield_now().await;
        assert!(handle.is_finished());
        assert_eq!(handle.cancel().await, Some(3));
    });
}

#[test]
#[should_panic(expected = "worker thread")]
fn block_on_inside_a_worker_panics_with_a_clear_message() {
    block_on(async {
        block_on(async {});
    });
}

#[test]
fn tasks_left_when_block_on_returns_are_dropped_on_the_worker() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCounter(drops.clone());
    block_on(async move {
        spawn_local(async move {
            let _guard = guard;
            let _not_send = Rc::new(());
            std::future::pending::<()>().await;
        })
        .detach();
        yield_now().await;
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn shutdown_timeout_lets_tasks_finish_then_cancels_the_rest() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    // A task that finishes soon, and one that never does.
    let done = finished.clone();
    rt.handle()
        .spawn(async move {
            nanoapi_executor::time::sleep(Duration::from_millis(20)).await;
            done.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
    let guard = DropCounter(dropped.clone());
    rt.handle()
        .spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
        .detach();
    rt.shutdown_timeout(Duration::from_millis(300));
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the short task finished before the deadline"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the endless task was cancelled"
    );
}

#[test]
fn shutdown_within_gives_up_on_a_worker_stuck_inside_a_poll() {
    for backend in common::backends() {
        let rt = Runtime::builder()
            .workers(2)
            .backend(backend)
            .build()
            .unwrap();
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        // Blocks its worker's thread (as a handler holding a std lock across .await would).
        rt.handle()
            .spawn_on(1, move || async move {
                started_tx.send(()).unwrap();
                released.recv().unwrap();
            })
            .detach();
        started.recv().unwrap();
        let began = std::time::Instant::now();
        let stuck = rt
            .shutdown_within(Duration::from_millis(100), Duration::from_millis(100))
            .unwrap_err();
        let waited = began.elapsed();
        assert!(
            waited >= Duration::from_millis(200),
            "waited the deadline and the grace: {waited:?}"
        );
        assert_eq!(stuck.workers().collect::<Vec<_>>(), [1], "{backend:?}");
        let report = stuck.to_string();
        assert!(
            report.starts_with(
                "worker 1 (thread nanoapi-worker-1) has been inside one task's poll for at least 0."
            ),
            "{report}"
        );
        assert!(report.ends_with("with 1 tasks alive"), "{report}");
        release.send(()).unwrap();
    }
}

#[test]
fn shutdown_within_returns_once_every_worker_ended() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.handle().spawn(std::future::pending::<()>()).detach();
    let began = std::time::Instant::now();
    rt.shutdown_within(Duration::ZERO, Duration::from_secs(60))
        .unwrap();
    assert!(began.elapsed() < Duration::from_secs(30));
}

#[test]
fn dropping_a_runtime_joins_its_workers() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().workers(2).build().unwrap();
    for _ in 0..4 {
        let guard = DropCounter(dropped.clone());
        rt.handle()
            .spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
            .detach();
    }
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 4);
}

#[test]
fn spawn_after_shutdown_reports_cancellation() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let handle = rt.handle().clone();
    rt.shutdown_timeout(Duration::ZERO);
    let join = handle.spawn(async { 1 });
    let err = nanoapi_executor::block_on(join).unwrap_err();
    assert!(err.is_cancelled());
}

#[tokio::test]
async fn a_runtime_starts_and_shuts_down_inside_a_tokio_test() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    // Awaiting a JoinHandle from tokio: wakers cross executors.
    let value = rt.handle().spawn(async {
        nanoapi_executor::time::sleep(Duration::from_millis(1)).await;
        11
    });
    assert_eq!(value.await.unwrap(), 11);
    let task = tokio::task::spawn_blocking(move || rt.shutdown_timeout(Duration::from_secs(1)));
    task.await.unwrap();
}

#[test]
fn runtimes_and_handles_cross_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Runtime>();
    send_and_sync::<Handle>();
}

#[test]
fn backend_names_parse() {
    assert_eq!("uring".parse::<Backend>().unwrap(), Backend::IoUring);
    assert_eq!("poll".parse::<Backend>().unwrap(), Backend::Poll);
    assert_eq!("auto".parse::<Backend>().unwrap(), Backend::Auto);
    assert!("kqueue2".parse::<Backend>().is_err());
}
