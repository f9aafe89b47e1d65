//! What one request costs on the runtime's hot paths, in counts rather than timings: heap
//! allocations (a counting global allocator) and task wake-ups (the executor's count of task
//! runs), per non-pipelined keep-alive request over a real socket, on both backends.
//!
//! Only what happens on the server's worker thread is counted (thread-local counters), so the
//! blocking test client does not blur the figures. The dispatcher answers `GET /count` with
//! the worker's counts so far; the cost of that one probe is measured and subtracted. Periodic
//! work on the worker (the Date re-render, once a second) is not per request: each figure is
//! the fewest seen over a few rounds.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use nanoapi::executor::Backend;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter};

/// Counts allocations per thread; the memory comes from the system allocator.
struct Counting;

thread_local! {
    // `const` and without a destructor: usable from inside the allocator.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only a thread-local `Cell` that needs no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const HELLO: &str = "Hello, World!";

/// `/count` answers the worker's allocation and task-run counts; anything else a fixed text
/// response.
async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    if req.path() == b"/count" {
        let allocations = ALLOCATIONS.with(Cell::get);
        let runs = nanoapi::executor::task_runs();
        return w
            .send(Response::text(
                StatusCode::OK,
                format!("{allocations:020} {runs:020}"),
            ))
            .await;
    }
    w.send(Response::text(StatusCode::OK, HELLO)).await
}

/// One keep-alive client connection that reads each response whole (by its length).
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            stream: common::connect(addr),
            buf: vec![0; 4096],
        }
    }

    /// Sends `GET path` and returns the body of the response.
    fn get(&mut self, path: &str) -> &[u8] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        self.stream.write_all(request.as_bytes()).unwrap();
        let mut len = 0;
        loop {
            let n = common::read_some(&mut self.stream, &mut self.buf[len..]).unwrap();
            assert!(n > 0, "the server closed the connection");
            len += n;
            let head_end = self.buf[..len]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|at| at + 4);
            if let Some(head_end) = head_end {
                let head = std::str::from_utf8(&self.buf[..head_end]).unwrap();
                assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim())
                    })
                    .expect("a Content-Length")
                    .parse()
                    .unwrap();
                if len >= head_end + length {
                    assert_eq!(len, head_end + length, "one response at a time");
                    return &self.buf[head_end..len];
                }
            }
        }
    }

    /// The worker's counts so far.
    fn count(&mut self) -> Counts {
        let text = std::str::from_utf8(self.get("/count")).unwrap();
        let (allocations, runs) = text.split_once(' ').unwrap();
        Counts {
            allocations: allocations.parse().unwrap(),
            task_runs: runs.parse().unwrap(),
        }
    }
}

/// What the worker has done so far (or per request).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Counts {
    allocations: u64,
    task_runs: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;

    fn sub(self, other: Counts) -> Counts {
        Counts {
            allocations: self.allocations - other.allocations,
            task_runs: self.task_runs - other.task_runs,
        }
    }
}

/// The fewest allocations and task runs per request of `path` over a few rounds of
/// `per_round` requests, each count minimised on its own.
fn per_request(backend: Backend, path: &str) -> (f64, f64) {
    let options = Options::default()
        .port(0)
        .workers(1)
        .backend(backend)
        .static_response("GET", "/static", Response::text(StatusCode::OK, HELLO));
    let server = nanoapi::serve(options, (), dispatch).unwrap();
    let mut client = Client::new(server.local_addr());
    // Warm up: buffers, the Date cache, the driver's op slots and free lists.
    for _ in 0..200 {
        client.get(path);
    }
    let per_round = 500;
    let (mut allocations, mut runs) = (u64::MAX, u64::MAX);
    for _ in 0..3 {
        let before = client.count();
        let probe = client.count() - before;
        let start = client.count();
        for _ in 0..per_round {
            assert_eq!(client.get(path), HELLO.as_bytes());
        }
        let round = client.count() - start - probe;
        allocations = allocations.min(round.allocations);
        runs = runs.min(round.task_runs);
    }
    drop(client);
    server.shutdown_blocking();
    let per = |n: u64| n as f64 / f64::from(per_round);
    (per(allocations), per(runs))
}

#[test]
fn a_static_route_allocates_nothing_and_wakes_its_connection_once_per_request() {
    for backend in common::backends() {
        let (allocations, runs) = per_request(backend, "/static");
        assert_eq!(
            allocations, 0.0,
            "{backend:?}: {allocations} allocations per request"
        );
        // At most one: the arrival of the request. The response's send completes without
        // waking the task (on io_uring a started send; on poll a send that completes at
        // once), and a request already there when the task looks needs no wake-up at all.
        assert!(runs <= 1.0, "{backend:?}: {runs} task runs per request");
    }
}

#[test]
fn a_fixed_response_allocates_nothing_and_wakes_its_connection_once_per_request() {
    for backend in common::backends() {
        let (allocations, runs) = per_request(backend, "/plaintext");
        assert_eq!(
            allocations, 0.0,
            "{backend:?}: {allocations} allocations per request"
        );
        // At most one: the arrival of the request. The response's send completes without
        // waking the task (on io_uring a started send; on poll a send that completes at
        // once), and a request already there when the task looks needs no wake-up at all.
        assert!(runs <= 1.0, "{backend:?}: {runs} task runs per request");
    }
}
