//! Wakers fired from other threads reschedule the task on its own worker.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use nanoapi_executor::{Runtime, spawn_blocking, worker_index};

#[test]
fn a_oneshot_fed_by_a_std_thread_wakes_the_task() {
    common::on_each_backend(|_| async {
        for round in 0..50 {
            let (tx, rx) = futures_channel::oneshot::channel();
            let sender = thread::spawn(move || tx.send(round).unwrap());
            assert_eq!(rx.await.unwrap(), round);
            sender.join().unwrap();
        }
    });
}

#[test]
fn spawn_blocking_results_wake_the_awaiting_task() {
    common::on_each_backend(|_| async {
        let on_worker = worker_index();
        let (value, ran_on_worker) = spawn_blocking(|| (21 * 2, worker_index())).await.unwrap();
        assert_eq!(value, 42);
        assert_eq!(ran_on_worker, None, "blocking jobs run off the workers");
        assert_eq!(worker_index(), on_worker);
    });
}

#[test]
fn a_panicking_blocking_job_is_reported() {
    common::on_each_backend(|_| async {
        let err = spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("blocking boom"));
    });
}

#[test]
fn many_blocking_jobs_beyond_the_thread_bound_all_complete() {
    let sum = Runtime::builder()
        .max_blocking_threads(2)
        .block_on(async {
            let handles: Vec<_> = (0..64u64).map(|i| spawn_blocking(move || i)).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, (0..64).sum());
}

#[test]
fn a_task_woken_from_another_runtime_resumes_on_its_own_worker() {
    let rt_a = Runtime::builder().workers(2).build().unwrap();
    let rt_b = Runtime::builder().workers(1).build().unwrap();
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    let waiter = rt_a.handle().spawn_on(1, move || async move {
        let before = worker_index();
        let value = rx.await.unwrap();
        (value, before, worker_index())
    });
    rt_b.block_on(async move { tx.send(5).unwrap() });
    let (value, before, after) = rt_a.block_on(async move { waiter.await.unwrap() });
    assert_eq!(value, 5);
    assert_eq!(before, Some(1));
    assert_eq!(after, Some(1));
}

#[test]
fn a_parked_worker_wakes_for_a_remote_spawn() {
    for backend in common::backends() {
        let rt = Runtime::builder()
            .workers(1)
            .backend(backend)
            .build()
            .unwrap();
        for _ in 0..200 {
            let flag = Arc::new(AtomicBool::new(false));
            let set = flag.clone();
            rt.block_on(async move { set.store(true, Ordering::SeqCst) });
            assert!(flag.load(Ordering::SeqCst));
        }
    }
}
