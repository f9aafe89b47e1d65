//! Helpers shared by the runtime's socket tests.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use std::time::Instant;

use nanoapi::executor::net::TcpListener;
use nanoapi::executor::{Backend, Runtime, spawn_blocking, spawn_local};
use nanoapi::server::{ConnOptions, Dispatch, serve_connection};

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
/// instead of hanging it), scaled by [`slowdown`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(slowdown(Duration::from_secs(5))))
        .unwrap();
    stream
}

/// `guard` (a client's give-up time: a hang guard, never what a test asserts) times
/// `NANOAPI_TEST_SLOWDOWN` (default 1): `.ci/valgrind.sh` sets it, as everything runs some 30
/// times slower on one core there.
pub fn slowdown(guard: Duration) -> Duration {
    let factor = std::env::var("NANOAPI_TEST_SLOWDOWN")
        .ok()
        .and_then(|factor| factor.parse::<u32>().ok())
        .unwrap_or(1);
    guard * factor.max(1)
}

/// `read`, retried when a signal interrupts it (a thread that ran an executor can get its
/// io_uring task-work notifications as interruptions of a later blocking call).
pub fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
pub fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a pointer to a live `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
    drop(stream);
}

/// Connections opened and closed, and requests dispatched, as a server reports them through
/// its metrics hook (`dispatched` is counted by the test's own dispatcher), and each completed
/// request's status.
#[derive(Default)]
pub struct Counters {
    pub opened: AtomicUsize,
    pub closed: AtomicUsize,
    pub dispatched: AtomicUsize,
    pub completed: std::sync::Mutex<Vec<u16>>,
}

impl Counters {
    /// Connections the server holds now.
    pub fn open(&self) -> usize {
        self.opened.load(Ordering::SeqCst) - self.closed.load(Ordering::SeqCst)
    }

    /// Waits (up to `limit`) until the server holds no connection; the number still open.
    pub fn wait_all_closed(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while self.open() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.open()
    }
}

impl nanoapi::server::Metrics for Counters {
    fn connection_opened(&self, _: Option<SocketAddr>) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }

    fn connection_closed(&self, _: Option<SocketAddr>) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }

    fn request_completed(&self, status: nanoapi::http::StatusCode, _: Duration) {
        self.completed.lock().unwrap().push(status.as_u16());
    }
}

/// Serves every connection accepted on a loopback port with `dispatch` (its context `ctx`,
/// `options` with the peer's address set) on `backend`, runs `client(addr)` on a blocking
/// thread, and returns what the client returned.
pub fn with_dispatch<C, D, R>(
    backend: Backend,
    ctx: C,
    options: ConnOptions,
    dispatch: D,
    client: impl FnOnce(SocketAddr) -> R + Send + 'static,
) -> R
where
    C: 'static,
    D: Dispatch<C>,
    R: Send + 'static,
{
    Runtime::builder()
        .backend(backend)
        .block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let shared = std::rc::Rc::new((ctx, dispatch, options));
            spawn_local(async move {
                loop {
                    let (stream, peer) = listener.accept().await.unwrap();
                    let shared = shared.clone();
                    spawn_local(async move {
                        let (ctx, dispatch, options) = &*shared;
                        let mut options = options.clone();
                        options.peer = Some(peer);
                        let _ = serve_connection(stream, ctx, dispatch, &options).await;
                    })
                    .detach();
                }
            })
            .detach();
            spawn_blocking(move || client(addr)).await.unwrap()
        })
        .unwrap()
}

/// Reads until the server ends the connection; whether it did (end of stream, not a timeout
/// or more bytes).
pub fn ws_closed(stream: &mut TcpStream) -> bool {
    let mut rest = [0u8; 64];
    matches!(stream.read(&mut rest), Ok(0))
}

/// A WebSocket client's frame: its first byte (FIN, RSV, opcode) and `payload`, masked (what
/// RFC 6455 says a client sends).
pub fn ws_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x9a, 0x3b, 0x5c, 0x7d];
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Reads one WebSocket server frame (which must not be masked): (first byte, payload).
pub fn ws_read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n).unwrap();
            usize::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            stream.read_exact(&mut n).unwrap();
            usize::try_from(u64::from_be_bytes(n)).unwrap()
        }
        n => usize::from(n),
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).unwrap();
    (head[0], payload)
}

/// Sends `handshake` and reads the response head, byte by byte so that no frame after it is
/// consumed; `None` if the server closed first.
pub fn ws_open(addr: SocketAddr, handshake: &[u8]) -> (TcpStream, Option<String>) {
    let mut stream = connect(addr);
    stream.write_all(handshake).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if read_some(&mut stream, &mut byte).unwrap() != 1 {
            return (stream, None);
        }
        head.push(byte[0]);
    }
    (stream, Some(String::from_utf8_lossy(&head).into_owned()))
}
