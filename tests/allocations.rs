//! Heap allocations per request on the runtime's hot paths, counted by a counting global
//! allocator: a deterministic count, not a timing.
//!
//! Only allocations made on the server's worker thread are counted (a thread-local counter),
//! so the blocking test client does not blur the figure. The dispatcher answers `GET /count`
//! with the worker's count so far; the cost of that one probe is measured and subtracted.
//! Periodic work on the worker (the Date re-render, once a second) is not per request: each
//! figure is the fewest allocations seen over a few rounds.

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

/// `/count` answers the worker's allocation count; anything else a fixed text response.
async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    if req.path() == b"/count" {
        let count = ALLOCATIONS.with(Cell::get);
        return w
            .send(Response::text(StatusCode::OK, format!("{count:020}")))
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

    /// The worker's allocation count so far.
    fn count(&mut self) -> u64 {
        std::str::from_utf8(self.get("/count"))
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// The fewest allocations per request of `path` over a few rounds of `per_round` requests.
fn allocations_per_request(backend: Backend, path: &str) -> f64 {
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
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = client.count();
        let probe = client.count() - before;
        let start = client.count();
        for _ in 0..per_round {
            assert_eq!(client.get(path), HELLO.as_bytes());
        }
        let end = client.count();
        fewest = fewest.min(end - start - probe);
    }
    drop(client);
    server.shutdown_blocking();
    fewest as f64 / f64::from(per_round)
}

#[test]
fn a_static_route_allocates_nothing_per_request() {
    for backend in common::backends() {
        let per_request = allocations_per_request(backend, "/static");
        assert_eq!(per_request, 0.0, "{backend:?}: {per_request} per request");
    }
}

#[test]
fn a_fixed_response_from_the_dispatcher_allocates_nothing_per_request() {
    for backend in common::backends() {
        let per_request = allocations_per_request(backend, "/plaintext");
        assert_eq!(per_request, 0.0, "{backend:?}: {per_request} per request");
    }
}
