//! Content codings over real sockets, on both backends: responses compressed as
//! `Accept-Encoding` allows (each coding decoded back), `HEAD` with `GET`'s headers, event
//! streams flushed event by event, files keeping their ranges and validators, precompressed
//! siblings, the static-response cache's variants, and compressed request bodies (decoded, or
//! refused with 415 or 400; the bomb is `compression_bomb.rs`).
#![cfg(all(
    feature = "app",
    feature = "compression-gzip",
    feature = "compression-br",
    feature = "compression-zstd"
))]

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use nanoapi::app::{App, Event, EventSource, RequestDecompression, Route, State, StaticFiles};
use nanoapi::executor::Backend;
use nanoapi::executor::time::sleep;
use nanoapi::http::coding::{Coding, Compression, Decoder, Encoder, Levels};
use nanoapi::http::response_parse::{ResponseEvent, ResponseHead, ResponseParser};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter};

/// A keep-alive HTTP/1.1 client over one connection.
struct Client {
    stream: TcpStream,
    parser: ResponseParser,
    buf: BytesMut,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = common::connect(addr);
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            parser: ResponseParser::default(),
            buf: BytesMut::new(),
        }
    }

    /// Sends `method path` with `headers` (and `body`, with its length), reads the head.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> ResponseHead {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).unwrap();
        self.parser.set_head_request(method == "HEAD");
        match self.event() {
            Some(ResponseEvent::Head(head)) => head,
            other => panic!("expected a head, got {other:?}"),
        }
    }

    fn get(&mut self, path: &str, accept_encoding: &str) -> ResponseHead {
        self.request("GET", path, &[("Accept-Encoding", accept_encoding)], b"")
    }

    /// The next parser event, `None` when the connection closed first.
    fn event(&mut self) -> Option<ResponseEvent> {
        loop {
            if let Some(event) = self.parser.parse(&mut self.buf).unwrap() {
                return Some(event);
            }
            let mut chunk = [0; 16 * 1024];
            match common::read_some(&mut self.stream, &mut chunk).unwrap() {
                0 => return self.parser.end_of_stream(&self.buf).unwrap(),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next piece of the body, `None` at its end.
    fn data(&mut self) -> Option<Bytes> {
        match self.event() {
            Some(ResponseEvent::Data(data)) => Some(data),
            Some(ResponseEvent::End) | None => None,
            Some(ResponseEvent::Head(head)) => panic!("a second head: {head:?}"),
            Some(ResponseEvent::Trailers(fields)) => panic!("trailers: {fields:?}"),
        }
    }

    fn body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        while let Some(data) = self.data() {
            body.extend_from_slice(&data);
        }
        body
    }

    /// Whether the server closed the connection (after what was read).
    fn closed(&mut self) -> bool {
        matches!(
            common::read_some(&mut self.stream, &mut [0; 1]),
            Ok(0) | Err(_)
        )
    }
}

fn header(head: &ResponseHead, name: &str) -> Option<String> {
    head.header(name)
        .map(|value| String::from_utf8(value.to_vec()).unwrap())
}

fn decode(coding: Coding, coded: &[u8]) -> Vec<u8> {
    let mut decoder = Decoder::new(coding, 1 << 30);
    let mut plain = decoder.decode(coded).unwrap().to_vec();
    plain.extend_from_slice(&decoder.finish().unwrap());
    plain
}

fn report_text() -> String {
    (0..200)
        .map(|i| format!("line {i} of the report\n"))
        .collect()
}

/// Serves `app` on `backend`, runs `client`, shuts down.
fn with_app<S: 'static>(backend: Backend, app: App<S>, client: impl FnOnce(SocketAddr)) {
    let server = app
        .serve(Options::default().port(0).workers(1).backend(backend))
        .unwrap();
    client(server.handle().local_addr());
    server.shutdown_blocking();
}

#[test]
fn responses_are_compressed_as_accept_encoding_allows() {
    async fn report() -> String {
        report_text()
    }
    async fn small() -> &'static str {
        "ok"
    }
    for backend in common::backends() {
        let app = App::new()
            .add_middleware(Compression::new())
            .get("/report", report)
            .get("/small", small);
        with_app(backend, app, |addr| {
            let mut client = Client::connect(addr);
            for (accept, expected) in [
                ("gzip", Some(Coding::Gzip)),
                ("br", Some(Coding::Brotli)),
                ("zstd", Some(Coding::Zstd)),
                ("gzip, deflate, br, zstd", Some(Coding::Zstd)),
                ("gzip;q=0.5, br;q=0.9", Some(Coding::Brotli)),
                ("identity", None),
                ("", None),
            ] {
                let head = client.get("/report", accept);
                let body = client.body();
                assert_eq!(head.status(), StatusCode::OK);
                assert_eq!(
                    header(&head, "content-encoding").as_deref(),
                    expected.map(Coding::token),
                    "{backend:?} {accept}"
                );
                assert_eq!(header(&head, "vary").as_deref(), Some("Accept-Encoding"));
                assert_eq!(
                    header(&head, "content-length"),
                    Some(body.len().to_string())
                );
                let plain = match expected {
                    Some(coding) => decode(coding, &body),
                    None => body,
                };
                assert_eq!(plain, report_text().as_bytes(), "{backend:?} {accept}");

                // HEAD: the headers GET gets, no body.
                let head_only =
                    client.request("HEAD", "/report", &[("Accept-Encoding", accept)], b"");
                assert!(client.body().is_empty());
                let fields = |head: &ResponseHead| {
                    head.headers()
                        .filter(|(name, _)| !name.eq_ignore_ascii_case(b"date"))
                        .map(|(name, value)| (name.to_vec(), value.to_vec()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(fields(&head_only), fields(&head), "{backend:?} {accept}");
            }
            // Under the threshold: as it is, not varying.
            let head = client.get("/small", "gzip");
            assert_eq!(client.body(), b"ok");
            assert_eq!(header(&head, "content-encoding"), None);
            assert_eq!(header(&head, "vary"), None);
        });
    }
}

#[test]
fn an_app_wide_compression_covers_static_routes_and_yields_to_a_route() {
    async fn report() -> String {
        report_text()
    }
    for backend in common::backends() {
        let page = Response::html(StatusCode::OK, report_text());
        let app = App::new()
            .compression(Compression::new().codings([Coding::Brotli, Coding::Gzip]))
            .get_static("/page", page)
            .get("/report", report)
            .route(Route::get("/raw", report).add_middleware(Compression::none()))
            .route(
                Route::get("/gzip-only", report)
                    .add_middleware(Compression::new().codings([Coding::Gzip])),
            );
        with_app(backend, app, |addr| {
            let mut client = Client::connect(addr);
            for (path, expected) in [
                ("/page", Some(Coding::Brotli)),
                ("/report", Some(Coding::Brotli)),
                ("/raw", None),
                ("/gzip-only", Some(Coding::Gzip)),
            ] {
                let head = client.get(path, "gzip, deflate, br, zstd");
                let body = client.body();
                assert_eq!(
                    header(&head, "content-encoding").as_deref(),
                    expected.map(Coding::token),
                    "{backend:?} {path}"
                );
                let plain = match expected {
                    Some(coding) => decode(coding, &body),
                    None => body,
                };
                assert_eq!(plain, report_text().as_bytes(), "{backend:?} {path}");
            }
        });
    }
}

/// Lets the event stream's second event go once the test has read the first.
#[derive(Clone, Default)]
struct Gate(Arc<AtomicBool>);

#[test]
fn event_streams_arrive_event_by_event_when_compressed() {
    async fn events(State(gate): State<Gate>) -> EventSource {
        let events = futures_util::stream::unfold(0, move |sent| {
            let gate = gate.clone();
            async move {
                match sent {
                    0 => Some((Event::default().data("one"), 1)),
                    1 => {
                        // The second event waits until the client has decoded the first: were
                        // the first held in the compressor, the test would time out.
                        while !gate.0.load(Ordering::SeqCst) {
                            sleep(Duration::from_millis(5)).await;
                        }
                        Some((Event::default().data("two"), 2))
                    }
                    _ => None,
                }
            }
        });
        EventSource::new(events).without_keep_alive()
    }
    for backend in common::backends() {
        for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            let gate = Gate::default();
            let app = App::new()
                .with_state(gate.clone())
                .add_middleware(Compression::new())
                .get("/events", events);
            with_app(backend, app, |addr| {
                let mut client = Client::connect(addr);
                let head = client.get("/events", coding.token());
                assert_eq!(
                    header(&head, "content-encoding").as_deref(),
                    Some(coding.token())
                );
                assert_eq!(
                    header(&head, "transfer-encoding").as_deref(),
                    Some("chunked")
                );
                let mut decoder = Decoder::new(coding, 1 << 20);
                let mut plain = Vec::new();
                while !plain.ends_with(b"data: one\n\n") {
                    let coded = client.data().expect("the first event, before the end");
                    plain.extend_from_slice(&decoder.decode(&coded).unwrap());
                }
                gate.0.store(true, Ordering::SeqCst);
                while let Some(coded) = client.data() {
                    plain.extend_from_slice(&decoder.decode(&coded).unwrap());
                }
                plain.extend_from_slice(&decoder.finish().unwrap());
                assert_eq!(plain, b"data: one\n\ndata: two\n\n", "{backend:?} {coding}");
            });
        }
    }
}

/// A directory with a text file, and for `app.js` precompressed siblings in br and gzip.
fn files_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("nanoapi-compression-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.txt"), report_text()).unwrap();
    let script = "console.log('precompressed');\n".repeat(50);
    std::fs::write(dir.join("app.js"), &script).unwrap();
    for (coding, suffix) in [(Coding::Brotli, "br"), (Coding::Gzip, "gz")] {
        let coded = Encoder::encode_all(coding, &Levels::default(), script.as_bytes()).unwrap();
        std::fs::write(dir.join(format!("app.js.{suffix}")), coded).unwrap();
    }
    dir
}

#[test]
fn files_keep_ranges_and_validators_under_compression() {
    let dir = files_dir("ranges");
    for backend in common::backends() {
        let app = App::new()
            .add_middleware(Compression::new())
            .mount("/files", StaticFiles::new(&dir));
        with_app(backend, app, |addr| {
            let mut client = Client::connect(addr);
            let full = client.get("/files/report.txt", "gzip");
            let body = client.body();
            assert_eq!(header(&full, "content-encoding").as_deref(), Some("gzip"));
            assert_eq!(header(&full, "accept-ranges"), None);
            assert_eq!(
                header(&full, "transfer-encoding").as_deref(),
                Some("chunked")
            );
            assert_eq!(decode(Coding::Gzip, &body), report_text().as_bytes());
            let etag = header(&full, "etag").expect("an ETag");

            // A range is of the file as it is: not compressed.
            let range = client.request(
                "GET",
                "/files/report.txt",
                &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-9")],
                b"",
            );
            assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(header(&range, "content-encoding"), None);
            assert_eq!(client.body(), &report_text().as_bytes()[..10]);

            // The validator still validates: 304, nothing compressed.
            let not_modified = client.request(
                "GET",
                "/files/report.txt",
                &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)],
                b"",
            );
            assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(header(&not_modified, "content-encoding"), None);
            assert!(client.body().is_empty());
        });
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn precompressed_siblings_are_served_as_accepted() {
    let dir = files_dir("siblings");
    let script = std::fs::read(dir.join("app.js")).unwrap();
    for backend in common::backends() {
        let app = App::new().mount("/files", StaticFiles::new(&dir).precompressed(true));
        with_app(backend, app, |addr| {
            let mut client = Client::connect(addr);
            for (accept, expected) in [
                ("gzip, br", Some(Coding::Brotli)),
                ("gzip", Some(Coding::Gzip)),
                // No .zst sibling: the file as it is.
                ("zstd", None),
                ("", None),
            ] {
                let head = client.get("/files/app.js", accept);
                let body = client.body();
                assert_eq!(
                    header(&head, "content-encoding").as_deref(),
                    expected.map(Coding::token),
                    "{backend:?} {accept}"
                );
                assert_eq!(
                    header(&head, "content-type").as_deref(),
                    Some("text/javascript; charset=utf-8")
                );
                assert_eq!(header(&head, "vary").as_deref(), Some("Accept-Encoding"));
                let plain = match expected {
                    Some(coding) => decode(coding, &body),
                    None => body,
                };
                assert_eq!(plain, script, "{backend:?} {accept}");
            }
        });
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_static_cache_answers_with_its_precompressed_variants() {
    async fn dispatch(
        calls: &Arc<AtomicUsize>,
        _: &mut Request,
        w: &mut ResponseWriter,
    ) -> nanoapi::Result<()> {
        calls.fetch_add(1, Ordering::SeqCst);
        w.send(Response::text(StatusCode::NOT_FOUND, "dispatched"))
            .await
    }
    let page = "<li>an item of the page</li>\n".repeat(100);
    for backend in common::backends() {
        let calls = Arc::new(AtomicUsize::new(0));
        let options = Options::default()
            .port(0)
            .workers(1)
            .backend(backend)
            .static_response("GET", "/page", Response::html(StatusCode::OK, page.clone()))
            .static_compression(Compression::new());
        let server = nanoapi::serve(options, calls.clone(), dispatch).unwrap();
        let mut client = Client::connect(server.local_addr());
        for (accept, expected) in [
            ("br, gzip", Some(Coding::Brotli)),
            ("gzip", Some(Coding::Gzip)),
            ("zstd;q=0.1, gzip;q=0.05", Some(Coding::Zstd)),
            ("", None),
        ] {
            let head = client.get("/page", accept);
            let body = client.body();
            assert_eq!(
                header(&head, "content-encoding").as_deref(),
                expected.map(Coding::token),
                "{backend:?} {accept}"
            );
            assert_eq!(header(&head, "vary").as_deref(), Some("Accept-Encoding"));
            let plain = match expected {
                Some(coding) => decode(coding, &body),
                None => body,
            };
            assert_eq!(plain, page.as_bytes(), "{backend:?} {accept}");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "{backend:?}: served from the cache"
        );
        server.shutdown_blocking();
    }
}

async fn upload(body: Bytes) -> String {
    format!(
        "{} bytes, {} lines",
        body.len(),
        body.iter().filter(|&&b| b == b'\n').count()
    )
}

fn upload_app() -> App {
    App::new().route(Route::post("/upload", upload).add_middleware(RequestDecompression::new()))
}

#[test]
fn compressed_request_bodies_are_decoded_or_refused() {
    let text = report_text();
    let expected = format!("{} bytes, 200 lines", text.len());
    for backend in common::backends() {
        with_app(backend, upload_app(), |addr| {
            let mut client = Client::connect(addr);
            for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
                let coded =
                    Encoder::encode_all(coding, &Levels::default(), text.as_bytes()).unwrap();
                let head = client.request(
                    "POST",
                    "/upload",
                    &[("Content-Encoding", coding.token())],
                    &coded,
                );
                assert_eq!(head.status(), StatusCode::OK, "{backend:?} {coding}");
                assert_eq!(client.body(), expected.as_bytes(), "{backend:?} {coding}");
            }
            // Without the field: as it is.
            let head = client.request("POST", "/upload", &[], b"a\nb\n");
            assert_eq!(head.status(), StatusCode::OK);
            assert_eq!(client.body(), b"4 bytes, 2 lines");

            // A coding not accepted: 415 naming those that are; the connection stays.
            let refused = client.request(
                "POST",
                "/upload",
                &[("Content-Encoding", "compress")],
                b"xyz",
            );
            assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert_eq!(
                header(&refused, "accept-encoding").as_deref(),
                Some("zstd, br, gzip")
            );
            client.body();
            let stacked = client.request(
                "POST",
                "/upload",
                &[("Content-Encoding", "gzip, br")],
                b"xyz",
            );
            assert_eq!(stacked.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
            client.body();
            assert!(!refused.closes() && !stacked.closes());

            // Not gzip at all: 400, and the connection closes.
            let corrupt = client.request(
                "POST",
                "/upload",
                &[("Content-Encoding", "gzip")],
                b"these bytes are not a gzip stream",
            );
            assert_eq!(corrupt.status(), StatusCode::BAD_REQUEST, "{backend:?}");
            client.body();
            assert!(corrupt.closes(), "{backend:?}");
            assert!(client.closed(), "{backend:?}");
        });
    }
}
