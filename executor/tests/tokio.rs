//! Feature `tokio`: tokio's timers, sockets, `spawn` and `Handle::current` inside tasks on
//! both backends, on workers, blocking threads and `block_on`; a runtime built inside a tokio
//! runtime uses that one.
#![cfg(feature = "tokio")]

mod common;

use std::time::{Duration, Instant};

use nanoapi_executor::{Runtime, spawn_blocking, spawn_local};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_timers_and_sockets_work_inside_tasks() {
    common::on_each_backend(|backend| async move {
        // A timer: woken from tokio's driver thread, resumed on this worker.
        let began = Instant::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(began.elapsed() >= Duration::from_millis(20), "{backend:?}");
        let timed_out =
            tokio::time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
        assert!(timed_out.is_err());

        // Sockets: a tokio listener served by a local task, a tokio client talking to it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn_local(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 5];
            stream.read_exact(&mut buf).await.unwrap();
            stream
                .write_all(&buf.map(|b| b.to_ascii_uppercase()))
                .await
                .unwrap();
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut answer = [0; 5];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HELLO");
        server.await.unwrap();

        // `tokio::spawn` runs on the tokio runtime's threads; its handle wakes us.
        let on = tokio::spawn(async { std::thread::current().name().map(str::to_owned) });
        assert_eq!(on.await.unwrap().as_deref(), Some("nanoapi-tokio"));
    });
}

#[test]
fn workers_and_blocking_threads_are_inside_the_tokio_runtime() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let slept = rt.block_on(async {
        let begun = Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // A blocking job can reach the tokio runtime too.
        let blocking = spawn_blocking(|| tokio::runtime::Handle::try_current().is_ok());
        assert!(blocking.await.unwrap());
        begun.elapsed()
    });
    assert!(slept >= Duration::from_millis(5));
    rt.shutdown_timeout(Duration::from_secs(1));
}

#[test]
fn a_runtime_built_inside_tokio_uses_that_runtime() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("embedding-tokio")
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio_rt.block_on(async { Runtime::builder().workers(1).build().unwrap() });
    let ran_on = rt.block_on(async {
        let on = tokio::spawn(async { std::thread::current().name().map(str::to_owned) });
        on.await.unwrap()
    });
    assert_eq!(ran_on.as_deref(), Some("embedding-tokio"));
    rt.shutdown_timeout(Duration::from_secs(1));
}
