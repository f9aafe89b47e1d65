//! Helpers shared by the runtime's socket tests.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use nanoapi::executor::{Backend, Runtime};

/// The backends this machine runs, narrowed by `NANOAPI_BACKEND` (`uring` or `poll`) if set.
pub fn backends() -> Vec<Backend> {
    match std::env::var("NANOAPI_BACKEND").as_deref() {
        Ok("uring") => vec![Backend::IoUring],
        Ok("poll") => vec![Backend::Poll],
        _ if Runtime::builder()
            .backend(Backend::IoUring)
            .block_on(async {})
            .is_ok() =>
        {
            vec![Backend::IoUring, Backend::Poll]
        }
        _ => vec![Backend::Poll],
    }
}

/// Raises this process's soft descriptor limit to its hard limit.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-pointer, then a valid in-pointer.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

/// A blocking client connection whose reads give up after 5 s (a hung server fails the test
/// instead of hanging it).
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}
