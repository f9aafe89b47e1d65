//! Dropping I/O futures while their operations are in flight.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::time::timeout;
use nanoapi_executor::{Backend, IoBuf, IoBufMut, yield_now};

/// A receive buffer that counts its drops.
struct CountedBuf {
    bytes: Vec<u8>,
    drops: Arc<AtomicUsize>,
}

impl Drop for CountedBuf {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: delegates to `Vec<u8>`, whose heap memory does not move with the value.
unsafe impl IoBuf for CountedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.bytes.stable_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.bytes.bytes_init()
    }
}

// SAFETY: delegates to `Vec<u8>`.
unsafe impl IoBufMut for CountedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.bytes.stable_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.bytes.bytes_total()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.bytes.set_init(pos) }
    }
}

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = futures_join(TcpStream::connect(addr), listener.accept()).await;
    (client.unwrap(), accepted.unwrap().0)
}

/// Polls two futures until both complete.
async fn futures_join<A: Future + 'static, B: Future>(a: A, b: B) -> (A::Output, B::Output)
where
    A::Output: 'static,
{
    let a = nanoapi_executor::spawn_local(a);
    let b = b.await;
    (a.await.unwrap(), b)
}

/// Polls `fut` once, so that its operation is submitted, and drops it.
fn poll_once_and_drop<F: Future>(fut: F) {
    let mut fut = Box::pin(fut);
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
}

/// Yields until `cond` holds, for at most `limit` (the event it waits for is a completion the
/// reactor delivers on one of these passes).
async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    timeout(limit, async {
        while !cond() {
            yield_now().await;
        }
    })
    .await
    .expect("condition not reached in time");
}

#[test]
fn read_dropped_in_flight_keeps_its_buffer_until_the_completion_and_corrupts_nothing() {
    common::on_each_backend(|backend| async move {
        let (server, client) = connected_pair().await;
        let drops = Arc::new(AtomicUsize::new(0));
        let buf = CountedBuf {
            bytes: Vec::with_capacity(64),
            drops: drops.clone(),
        };
        poll_once_and_drop(server.read(buf));
        if backend == Backend::IoUring {
            // The kernel owns the buffer: it must outlive the dropped future.
            assert_eq!(
                drops.load(Ordering::SeqCst),
                0,
                "buffer freed while the kernel owns it"
            );
        }
        // The cancellation completes on a later pass of the worker, and frees the buffer.
        wait_until(Duration::from_secs(5), || drops.load(Ordering::SeqCst) == 1).await;

        // Data sent afterwards reaches the next read intact.
        client.write_all(&b"after the cancel"[..]).await.0.unwrap();
        let (res, got) = server.read(Vec::with_capacity(64)).await;
        assert_eq!(res.unwrap(), 16);
        assert_eq!(got, b"after the cancel");
    });
}

#[test]
fn pooled_read_dropped_in_flight_returns_nothing_to_anyone() {
    common::on_each_backend(|_| async move {
        let (server, client) = connected_pair().await;
        for _ in 0..100 {
            poll_once_and_drop(server.read_pooled());
        }
        yield_now().await;
        client.write_all(&b"ping"[..]).await.0.unwrap();
        let got = server.read_pooled().await.unwrap();
        assert_eq!(&got[..], b"ping");
    });
}

#[test]
fn timeout_around_read_dropped_ten_thousand_times() {
    common::on_each_backend(|_| async move {
        let (server, client) = connected_pair().await;
        for _ in 0..10_000 {
            let res = timeout(Duration::ZERO, server.read(Vec::with_capacity(16))).await;
            assert!(res.is_err(), "nothing was sent, so every read times out");
        }
        client.write_all(&b"still in sync"[..]).await.0.unwrap();
        let mut got = Vec::new();
        while got.len() < 13 {
            let chunk = server.read_pooled().await.unwrap();
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, b"still in sync");
    });
}

#[test]
fn accept_dropped_in_flight_loses_no_later_connection() {
    common::on_each_backend(|_| async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for _ in 0..10 {
            poll_once_and_drop(listener.accept());
        }
        let client = nanoapi_executor::spawn_local(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&b"hello"[..]).await.0.unwrap();
            stream
        });
        let (accepted, peer) = listener.accept().await.unwrap();
        let client = client.await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let (res, got) = accepted.read(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(got, b"hello");
    });
}

#[test]
fn a_write_to_a_closed_peer_fails_without_a_signal() {
    // With SIGPIPE at its default action, a send without MSG_NOSIGNAL would kill this process.
    // SAFETY: setting a signal disposition to the default takes no pointers.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    common::on_each_backend(|_| async move {
        let (server, client) = connected_pair().await;
        drop(client);
        let mut failed = false;
        // The first writes may be buffered before the reset arrives; the error must come.
        for _ in 0..100 {
            if server.write_all(vec![0u8; 64 * 1024]).await.0.is_err() {
                failed = true;
                break;
            }
        }
        assert!(
            failed,
            "writing to a closed peer eventually fails with EPIPE/ECONNRESET"
        );
    });
}
