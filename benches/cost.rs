//! Deterministic costs of the runtime's hot paths, for `benches/cost.sh` (callgrind) and the
//! `.ci/run` gate against regressions: `cargo bench --bench cost -- <scenario> <N>` runs the
//! scenario `N` times and prints the heap allocations it made per iteration.
//!
//! Every scenario but `parse` is one keep-alive connection served by the real connection code
//! over the in-memory duplex (no socket, so no kernel timing in the count), on the poll
//! backend (valgrind does not model io_uring): the client writes the request bytes, the server
//! answers, the client reads the whole response. `cost.sh` runs each scenario under callgrind
//! with 1 and with N+1 iterations and divides the difference by N, which cancels start-up.
//!
//! `socket` is the plaintext exchange over a loopback TCP connection on the poll backend, the
//! client in the same thread: the sockets' own receive and send paths, which the duplex stands
//! in for elsewhere. Callgrind counts user-space instructions only: the kernel's work is not in
//! the figure.
//!
//! With the `http2` feature (as `cost.sh` builds it), `h2x16` is one HTTP/2 connection over the
//! same duplex: each iteration, 16 `GET /plaintext` streams sent at once as raw HEADERS frames,
//! every response read to its END_STREAM.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use nanoapi::executor::net::{TcpListener, TcpStream};
use nanoapi::executor::{Backend, Runtime, spawn_local};
use nanoapi::http::parse::{Limits, RequestHead, Status};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::testing::duplex;
use nanoapi::server::{ConnOptions, Options, Request, ResponseWriter, Transport, serve_connection};

/// Counts every allocation (the process runs one thread that allocates in the loop).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting is
// one relaxed atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The TechEmpower plaintext request, as wrk sends it.
const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\
\r\n";

/// A chunked upload of three chunks, read whole by the dispatcher.
const CHUNKED: &[u8] = b"POST /upload HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
10\r\n0123456789abcdef\r\n\
8\r\n01234567\r\n\
4;ext=1\r\nabcd\r\n\
0\r\n\r\n";

/// Answers a fixed text; reads a body first if there is one.
async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    if req.is_chunked() {
        let body = req.read_to_end().await?;
        assert_eq!(body.len(), 28);
    }
    w.send(Response::text(StatusCode::OK, "Hello, World!"))
        .await
}

const USAGE: &str = "usage: cost <parse|plaintext|static|pipelined16|chunked|socket|h2x16> <N>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(scenario), Some(Ok(n))) = (args.first(), args.get(1).map(|n| n.parse::<u64>()))
    else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    match scenario.as_str() {
        "parse" => parse(n),
        "plaintext" => exchange(PLAINTEXT, 1, n, false),
        "static" => exchange(PLAINTEXT, 1, n, true),
        "pipelined16" => exchange(PLAINTEXT, 16, n, false),
        "chunked" => exchange(CHUNKED, 1, n, false),
        "socket" => socket(PLAINTEXT, n),
        #[cfg(feature = "http2")]
        "h2x16" => h2::streams(16, n),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!("{scenario} {n} iterations {allocations} allocations");
    ExitCode::SUCCESS
}

/// Parses the plaintext head `n` times into one reused `RequestHead`.
fn parse(n: u64) {
    let limits = Limits::default();
    let mut head = RequestHead::with_capacity(16);
    for _ in 0..n {
        match head.parse_into(std::hint::black_box(PLAINTEXT), &limits) {
            Ok(Status::Complete(len)) => assert_eq!(len, PLAINTEXT.len()),
            other => panic!("{other:?}"),
        }
    }
}

/// `n` rounds of `depth` copies of `request` sent at once, each round's responses read whole
/// before the next round starts. With `cached`, `/plaintext` is a static response.
fn exchange(request: &[u8], depth: usize, n: u64, cached: bool) {
    let mut options = Options::default();
    if cached {
        options = options.static_response(
            "GET",
            "/plaintext",
            Response::text(StatusCode::OK, "Hello, World!"),
        );
    }
    let conn_options = Rc::new(ConnOptions::from_options(&options));
    let batch = request.repeat(depth);
    let run = Runtime::builder()
        .backend(Backend::Poll)
        .block_on(async move {
            let (client, server) = duplex(1 << 20);
            let server = spawn_local(async move {
                serve_connection(server, &(), &dispatch, &conn_options).await
            });
            let mut response_len = None;
            let mut out = BytesMut::with_capacity(batch.len());
            for _ in 0..n {
                out.extend_from_slice(&batch);
                let (res, buf) = client.send_all(out).await;
                res.unwrap();
                out = buf;
                read_round(|| client.recv(), depth, &mut response_len).await;
            }
            drop(client);
            server.await.unwrap().unwrap();
        });
    run.unwrap();
}

/// Reads one round's `depth` responses through `recv`. Every response has the same length (the
/// Date header's is fixed): the first round's first read, which holds them all, sets it.
async fn read_round<C, F>(
    mut recv: impl FnMut() -> F,
    depth: usize,
    response_len: &mut Option<usize>,
) where
    C: std::ops::Deref<Target = [u8]>,
    F: std::future::Future<Output = std::io::Result<C>>,
{
    let mut got = 0;
    loop {
        let chunk = recv().await.unwrap();
        assert!(!chunk.is_empty(), "the server closed the connection");
        got += chunk.len();
        let expected = *response_len.get_or_insert_with(|| {
            assert_eq!(got, chunk.len());
            assert!(chunk.starts_with(b"HTTP/1.1 200 OK\r\n"));
            chunk.len() / depth.min(chunk.len())
        }) * depth;
        if got >= expected {
            assert_eq!(got, expected);
            return;
        }
    }
}

/// `n` rounds of `request` over a loopback TCP connection on the poll backend, each response
/// read whole before the next request is written.
fn socket(request: &'static [u8], n: u64) {
    let conn_options = Rc::new(ConnOptions::from_options(&Options::default()));
    let run = Runtime::builder()
        .backend(Backend::Poll)
        .block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spawn_local(async move {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                serve_connection(stream, &(), &dispatch, &conn_options).await
            });
            let client = TcpStream::connect(addr).await.unwrap();
            client.set_nodelay(true).unwrap();
            let mut response_len = None;
            let mut out = BytesMut::with_capacity(request.len());
            for _ in 0..n {
                out.extend_from_slice(request);
                let (res, buf) = client.write_all(out).await;
                res.unwrap();
                out = buf;
                out.clear();
                read_round(|| client.read_pooled(), 1, &mut response_len).await;
            }
            drop(client);
            server.await.unwrap().unwrap();
        });
    run.unwrap();
}

/// The HTTP/2 scenario: a client that writes raw frames.
#[cfg(feature = "http2")]
mod h2 {
    use std::rc::Rc;

    use bytes::{Buf, BytesMut};
    use nanoapi::executor::{Backend, Runtime, spawn_local};
    use nanoapi::server::http2::{Http2Options, PREFACE, serve_http2};
    use nanoapi::server::testing::{Duplex, duplex};
    use nanoapi::server::{ConnOptions, Options, Transport};

    const DATA: u8 = 0x0;
    const HEADERS: u8 = 0x1;
    const SETTINGS: u8 = 0x4;
    const GOAWAY: u8 = 0x7;
    const WINDOW_UPDATE: u8 = 0x8;
    const END_STREAM: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;
    const ACK: u8 = 0x1;

    /// `GET http://localhost/plaintext` in HPACK from the static table only, nothing indexed
    /// (so every request's block is the same bytes): `:method GET`, `:scheme http`, then
    /// `:path` and `:authority` as literals without indexing.
    const REQUEST_BLOCK: &[u8] = b"\x82\x86\x04\x0a/plaintext\x01\x09localhost";

    fn frame(out: &mut BytesMut, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        out.extend_from_slice(&len[1..]);
        out.extend_from_slice(&[kind, flags]);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// `n` rounds of `streams` requests on one connection, each round's responses read whole
    /// before the next round starts.
    pub(super) fn streams(streams: u32, n: u64) {
        let conn_options = Rc::new(ConnOptions::from_options(&Options::default()));
        let run = Runtime::builder()
            .backend(Backend::Poll)
            .block_on(async move {
                let (client, server) = duplex(1 << 20);
                let server = spawn_local(async move {
                    let http2 = Http2Options::default();
                    serve_http2(server, &(), &super::dispatch, &conn_options, &http2).await
                });
                // The preface; windows large enough for every response of the run.
                let mut out = BytesMut::from(PREFACE);
                frame(&mut out, SETTINGS, 0, 0, &[0, 4, 0x7f, 0xff, 0xff, 0xff]);
                frame(&mut out, WINDOW_UPDATE, 0, 0, &0x7fff_0000u32.to_be_bytes());
                let mut reader = Reader::default();
                let mut next_stream = 1;
                for _ in 0..n {
                    for _ in 0..streams {
                        frame(
                            &mut out,
                            HEADERS,
                            END_STREAM | END_HEADERS,
                            next_stream,
                            REQUEST_BLOCK,
                        );
                        next_stream += 2;
                    }
                    let (res, buf) = client.send_all(out).await;
                    res.unwrap();
                    out = buf;
                    out.clear();
                    let mut ended = 0;
                    while ended < streams {
                        ended += reader.next_ends(&client, &mut out).await;
                    }
                }
                drop(client);
                server.await.unwrap().unwrap();
            });
        run.unwrap();
    }

    /// The server's frames, as they arrive.
    #[derive(Default)]
    struct Reader {
        received: BytesMut,
    }

    impl Reader {
        /// Reads once and takes every whole frame: how many streams ended (END_STREAM on a
        /// 200's HEADERS or on DATA). The server's SETTINGS get their ACK queued in `out`.
        async fn next_ends(&mut self, client: &Duplex, out: &mut BytesMut) -> u32 {
            let chunk = client.recv().await.unwrap();
            assert!(!chunk.is_empty(), "the server closed the connection");
            self.received.extend_from_slice(&chunk);
            let mut ended = 0;
            while self.received.len() >= 9 {
                let head = &self.received[..9];
                let len =
                    usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
                if self.received.len() < 9 + len {
                    break;
                }
                let (kind, flags) = (head[3], head[4]);
                match kind {
                    DATA | HEADERS if flags & END_STREAM != 0 => ended += 1,
                    DATA | HEADERS | WINDOW_UPDATE => {}
                    SETTINGS if flags & ACK == 0 => frame(out, SETTINGS, ACK, 0, &[]),
                    SETTINGS => {}
                    GOAWAY => panic!("the server sent GOAWAY"),
                    other => panic!("unexpected frame type {other}"),
                }
                self.received.advance(9 + len);
            }
            ended
        }
    }
}
