//! Helpers shared by the executor's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;

use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::{Backend, Runtime, spawn_local};

/// The backends this machine runs, narrowed by `NANOAPI_BACKEND` (`uring` or `poll`) if set.
/// Where io_uring cannot be set up and the variable does not ask for it, only poll runs.
pub fn backends() -> Vec<Backend> {
    match std::env::var("NANOAPI_BACKEND").as_deref() {
        Ok("uring") => vec![Backend::IoUring],
        Ok("poll") => vec![Backend::Poll],
        _ => {
            let uring_works = cfg!(target_os = "linux")
                && Runtime::builder()
                    .backend(Backend::IoUring)
                    .block_on(async {})
                    .is_ok();
            if uring_works {
                vec![Backend::IoUring, Backend::Poll]
            } else {
                vec![Backend::Poll]
            }
        }
    }
}

/// Runs `make()`'s future on the calling thread once per backend.
pub fn on_each_backend<F, Fut>(make: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        Runtime::builder()
            .backend(backend)
            .block_on(make(backend))
            .unwrap_or_else(|err| panic!("{backend:?}: {err}"));
    }
}

/// Raises this process's soft descriptor limit to its hard limit (tests with many sockets).
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-pointer.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

/// The number of open descriptors of this process (Linux).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.count())
        .unwrap_or(0)
}

/// A connected loopback pair on the current worker: (the accepted end, the connecting end).
pub async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = spawn_local(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (server, client.await.unwrap())
}
