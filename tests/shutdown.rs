//! Shutdown of `nanoapi::run` as a process sees it: real SIGTERM and SIGINT sent to a server
//! process (this test binary, started again in the server role), on both backends.
//!
//! - a worker stuck inside a handler (a `std::sync::Mutex` held across `.await`, then locked
//!   again on the same thread) cannot hold the process past the shutdown deadline;
//! - a second signal during the drain exits at once;
//! - an endless event stream ends at the drain instead of holding it to the deadline.
//!
//! `harness = false`: `run` owns the process's signals, which libtest's threads would take.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nanoapi::executor::time::sleep;
use nanoapi::http::{Body, Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

const ROLE: &str = "NANOAPI_SHUTDOWN_TEST_ROLE";

fn main() {
    if std::env::var_os(ROLE).is_some() {
        serve();
    }
    for backend in common::backends() {
        let backend = match backend {
            nanoapi::executor::Backend::IoUring => "uring",
            _ => "poll",
        };
        for (name, test) in [
            (
                "a_stuck_worker_cannot_hold_the_process_past_the_deadline",
                stuck_worker as fn(&str),
            ),
            ("a_second_signal_exits_at_once", second_signal),
            ("an_event_stream_ends_at_the_drain", event_stream_ends),
        ] {
            let began = Instant::now();
            test(backend);
            println!(
                "test {name} ({backend}) ... ok ({:.2} s)",
                began.elapsed().as_secs_f64()
            );
        }
    }
}

/// The lock the `/hold` handler keeps across an `.await`.
static LOCK: Mutex<()> = Mutex::new(());

/// The server role: `GET /hold` sends its head, then locks [`LOCK`] and never lets go (the
/// guard is held across an `.await` that never completes); a second `/hold` blocks its
/// worker's thread on the lock. `GET /wait` sends its head and waits forever without blocking.
/// `GET /events` is an endless event stream.
fn serve() -> ! {
    #[expect(clippy::await_holding_lock, reason = "the deadlock under test")]
    async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
        match req.path() {
            b"/hold" => {
                let mut body = w.start_chunked(Response::empty(StatusCode::OK)).await?;
                body.flush().await?;
                let _guard = LOCK.lock().unwrap();
                std::future::pending::<()>().await;
                Ok(())
            }
            b"/wait" => {
                let mut body = w.start_chunked(Response::empty(StatusCode::OK)).await?;
                body.flush().await?;
                std::future::pending().await
            }
            _ => {
                // An endless stream, sent whole: the writer ends it at the drain.
                let ticks = futures_util::stream::unfold((), |()| async {
                    sleep(Duration::from_millis(50)).await;
                    Some((Ok(bytes::Bytes::from_static(b"data: tick\n\n")), ()))
                });
                let mut resp = Response::new(StatusCode::OK);
                resp.set_body(Body::stream(ticks));
                (resp.headers_mut())
                    .insert("content-type", "text/event-stream")
                    .expect("a valid field");
                w.send(resp).await
            }
        }
    }
    let code = match nanoapi::run((), dispatch) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("server: {err}");
            1
        }
    };
    std::process::exit(code)
}

/// A server process and its stderr, read line by line.
struct Server {
    child: Child,
    stderr: BufReader<ChildStderr>,
    addr: SocketAddr,
}

impl Server {
    fn start(backend: &str, shutdown_timeout: &str) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, "server")
            .env("NANOAPI_BACKEND", backend)
            .env("NANOAPI_WORKERS", "1")
            .env("NANOAPI_PORT", "0")
            .env("NANOAPI_SHUTDOWN_TIMEOUT_SECS", shutdown_timeout)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let line = read_line(&mut stderr);
        let addr = line
            .strip_prefix("nanoapi listening on http://")
            .unwrap_or_else(|| panic!("the first line announces the address: {line:?}"))
            .trim()
            .parse()
            .unwrap();
        Server {
            child,
            stderr,
            addr,
        }
    }

    /// Sends `GET path` on a new connection and reads until the response head is in.
    fn get_head(&self, path: &str) -> TcpStream {
        let mut stream = common::connect(self.addr);
        write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut buf = [0; 1024];
            let n = common::read_some(&mut stream, &mut buf).unwrap();
            assert!(n > 0, "the server closed before the head");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"), "{got:?}");
        stream
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits for the process to end (failing after `limit`); its status, how long it took and
    /// the rest of its stderr.
    fn wait(self, limit: Duration) -> (ExitStatus, Duration, String) {
        let Server {
            mut child,
            mut stderr,
            ..
        } = self;
        let pid = child.id();
        let began = Instant::now();
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(child.wait()));
        let Ok(status) = ended.recv_timeout(limit) else {
            // SAFETY: kills our own child process, still running.
            unsafe { libc::kill(i32::try_from(pid).unwrap(), libc::SIGKILL) };
            panic!("the server was still alive after {limit:?}");
        };
        let took = began.elapsed();
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        (status.unwrap(), took, rest)
    }
}

fn read_line(stderr: &mut BufReader<ChildStderr>) -> String {
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    line
}

fn stuck_worker(backend: &str) {
    let server = Server::start(backend, "0.5");
    let _holder = server.get_head("/hold");
    // Its head is out; right after, the handler blocks the worker's thread on the lock.
    let _blocked = server.get_head("/hold");
    let began = Instant::now();
    server.signal(libc::SIGTERM);
    let (status, _, stderr) = server.wait(Duration::from_secs(20));
    let took = began.elapsed();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("workers still running: worker 0 (thread nanoapi-worker-0) "),
        "the log names the stuck worker: {stderr}"
    );
    // The deadline (0.5 s) and the grace (1 s), give or take the machine's noise.
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

fn second_signal(backend: &str) {
    let mut server = Server::start(backend, "60");
    let _waiting = server.get_head("/wait");
    server.signal(libc::SIGTERM);
    let line = read_line(&mut server.stderr);
    assert!(line.starts_with("signal 15: draining"), "{line:?}");
    server.signal(libc::SIGINT);
    let (status, took, stderr) = server.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(128 + libc::SIGINT), "{stderr}");
    assert!(stderr.contains("exiting now"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

fn event_stream_ends(backend: &str) {
    let server = Server::start(backend, "60");
    let mut events = server.get_head("/events");
    server.signal(libc::SIGTERM);
    // The stream ends with the chunked terminator and the connection closes.
    let mut rest = Vec::new();
    events.read_to_end(&mut rest).unwrap();
    assert!(
        rest.ends_with(b"0\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
    drop(events);
    let (status, took, stderr) = server.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
