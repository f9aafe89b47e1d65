//! Nothing leaks a descriptor: connections, dropped operations, listeners with an armed
//! multishot accept, files, and the runtimes themselves. One test in its own binary, so that
//! no other test opens descriptors meanwhile.
#![cfg(target_os = "linux")]

mod common;

use std::future::Future;
use std::task::{Context, Waker};

use nanoapi_executor::fs::File;
use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::{Runtime, spawn_local, yield_now};

#[test]
fn no_descriptor_outlives_its_owner() {
    // The background tokio runtime (feature `tokio`) lives as long as the process: started
    // before counting, its descriptors are not the runtimes' to close.
    #[cfg(feature = "tokio")]
    nanoapi_executor::tokio_compat::handle().unwrap();
    let before = common::open_fds();
    for backend in common::backends() {
        Runtime::builder()
            .backend(backend)
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                for _ in 0..50 {
                    let client = spawn_local(TcpStream::connect(addr));
                    let (server, _) = listener.accept().await.unwrap();
                    let client = client.await.unwrap().unwrap();
                    // A read left in flight when both ends go away.
                    let mut read = Box::pin(server.read(Vec::with_capacity(16)));
                    let _ = read.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                    drop(read);
                    drop(server);
                    drop(client);
                }
                // A listener dropped with its accept armed, and a connection queued on it.
                let armed = TcpListener::bind("127.0.0.1:0").unwrap();
                let armed_addr = armed.local_addr().unwrap();
                let mut accept = Box::pin(armed.accept());
                let _ = accept
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()));
                drop(accept);
                let queued = TcpStream::connect(armed_addr).await.unwrap();
                yield_now().await;
                drop(armed);
                drop(queued);

                let file = File::open("/proc/self/status").await.unwrap();
                let _ = file.read_at(Vec::with_capacity(64), 0).await;
                drop(file);
                yield_now().await;
            })
            .unwrap();
    }
    for backend in common::backends() {
        let rt = Runtime::builder()
            .workers(2)
            .backend(backend)
            .build()
            .unwrap();
        rt.block_on_each(|_| async {});
        drop(rt);
    }
    assert_eq!(common::open_fds(), before, "descriptors leaked");
}
