//! The App's streaming responses, server-sent events, files, static mounts and multipart
//! bodies: in-process through the test client, and over real sockets on both backends where
//! the bytes on the wire or their timing are the point.
#![cfg(feature = "app")]

mod common;

use std::future::poll_fn;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use nanoapi::app::{
    App, Conditional, Event, EventSource, FileResponse, HttpException, KeepAlive, LastEventId,
    Multipart, MultipartError, MultipartLimits, StaticFiles, StreamingResponse,
};
use nanoapi::executor::time::timeout;
use nanoapi::http::{ResponseEvent, StatusCode};
use nanoapi::server::testing::Exchange;
use nanoapi::server::{ConnOptions, Options};

// Helpers.

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("nanoapi-app-responses-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gate a test thread opens while a server task waits on it (any thread may open it).
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waiter: Mutex<Option<Waker>>,
}

impl Gate {
    async fn wait(&self) {
        poll_fn(|cx| {
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waiter.lock().unwrap() = Some(cx.waker().clone());
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waiter.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// Sends `request` (which should ask for `Connection: close`) and reads until the server
/// closes.
fn roundtrip(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = common::connect(addr);
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    response
}

/// `wire` with the value of its `Date` field (29 bytes, IMF-fixdate) replaced by `<date>`.
fn without_date(wire: &[u8]) -> String {
    let text = String::from_utf8_lossy(wire).into_owned();
    match text.find("\r\nDate: ") {
        Some(at) => {
            let start = at + "\r\nDate: ".len();
            format!("{}<date>{}", &text[..start], &text[start + 29..])
        }
        None => text,
    }
}

/// Serves `app()` on each backend in turn and hands its address to `check`.
fn on_each_backend(app: impl Fn() -> App, check: impl Fn(SocketAddr)) {
    for backend in common::backends() {
        let server = app()
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        check(server.handle().local_addr());
        server.shutdown_blocking();
    }
}

// StreamingResponse.

async fn three_pieces() -> StreamingResponse {
    StreamingResponse::new(stream::iter(["one,", "two,", "three"]))
        .content_type("text/csv")
        .header("X-Stream", "yes")
        .status(StatusCode::ACCEPTED)
}

#[test]
fn a_streaming_response_sends_each_item_as_one_chunk() {
    let client = App::new().get("/s", three_pieces).test_client();
    let (resp, chunks) = client.get("/s").send_streamed();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.header("content-type"), Some("text/csv"));
    assert_eq!(resp.header("x-stream"), Some("yes"));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunks, ["one,", "two,", "three"]);

    let head = client.head("/s").send();
    assert_eq!(head.status(), 202);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert!(head.bytes().is_empty());
}

#[test]
fn a_streaming_response_is_chunked_on_the_wire_on_both_backends() {
    on_each_backend(
        || App::new().get("/s", three_pieces),
        |addr| {
            let wire = roundtrip(
                addr,
                b"GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            assert_eq!(
                without_date(&wire),
                "HTTP/1.1 202 Accepted\r\n\
                 Server: nanoapi\r\n\
                 Date: <date>\r\n\
                 Content-Type: text/csv\r\n\
                 X-Stream: yes\r\n\
                 Transfer-Encoding: chunked\r\n\
                 Connection: close\r\n\
                 \r\n\
                 4\r\none,\r\n\
                 4\r\ntwo,\r\n\
                 5\r\nthree\r\n\
                 0\r\n\r\n"
            );
            // HTTP/1.0 has no chunked coding: the close ends the body.
            let wire = roundtrip(addr, b"GET /s HTTP/1.0\r\n\r\n");
            let text = without_date(&wire);
            assert!(!text.contains("Transfer-Encoding"), "{text}");
            assert!(text.ends_with("\r\n\r\none,two,three"), "{text}");
        },
    );
}

#[test]
fn a_failing_stream_ends_the_response_without_the_last_chunk() {
    async fn failing() -> StreamingResponse {
        StreamingResponse::try_new(stream::iter([
            Ok("partial"),
            Err(std::io::Error::other("disk gone")),
            Ok("never"),
        ]))
    }
    on_each_backend(
        || App::new().get("/f", failing),
        |addr| {
            // Keep-alive asked for, yet the server must close: the client cannot be told
            // in-band that the body is incomplete.
            let wire = roundtrip(addr, b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
            let text = without_date(&wire);
            assert!(text.ends_with("\r\n\r\n7\r\npartial\r\n"), "{text}");
        },
    );
}

// Server-sent events.

#[test]
fn events_split_multi_line_data_and_comments_into_lines() {
    let event = Event::default()
        .comment("first\nsecond")
        .event("update")
        .id("7")
        .retry(Duration::from_millis(1500))
        .data("a\r\nb\rc\nd\n");
    assert_eq!(
        event.to_bytes(),
        ": first\n: second\nevent: update\nid: 7\nretry: 1500\n\
         data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n"
    );
    assert_eq!(Event::default().data("").to_bytes(), "data: \n\n");
    assert_eq!(Event::default().data(" lead").to_bytes(), "data:  lead\n\n");
    assert_eq!(
        Event::default()
            .json_data(&serde_json::json!({"a": "x\ny"}))
            .unwrap()
            .to_bytes(),
        "data: {\"a\":\"x\\ny\"}\n\n"
    );
    assert_eq!(Event::default().comment("").to_bytes(), ":\n\n");
}

#[test]
#[should_panic(expected = "cannot contain CR or LF")]
fn an_event_name_with_a_line_break_is_refused() {
    let _ = Event::default().event("update\ndata: injected");
}

#[test]
#[should_panic(expected = "cannot contain CR, LF or NUL")]
fn an_event_id_with_a_carriage_return_is_refused() {
    let _ = Event::default().id("1\rdata: injected");
}

#[test]
#[should_panic(expected = "cannot contain CR, LF or NUL")]
fn an_event_id_with_nul_is_refused() {
    let _ = Event::default().id("1\0");
}

/// Event 1 at once, event 2 only once `gate` opens.
fn gated_events(gate: Arc<Gate>) -> EventSource {
    let first = stream::once(async { Event::default().id("1").data("one") });
    let second = stream::once(async move {
        gate.wait().await;
        Event::default().id("2").data("two")
    });
    EventSource::new(first.chain(second))
}

fn gated_app(gate: Arc<Gate>) -> App {
    App::new().get("/events", move || {
        let gate = gate.clone();
        async move { gated_events(gate) }
    })
}

#[test]
fn each_event_reaches_the_client_before_the_next_is_produced_in_memory() {
    let gate = Arc::new(Gate::default());
    let service = gated_app(gate.clone()).build().unwrap();
    let options = ConnOptions::default();
    // Event 2 waits for the gate: if the head or event 1 were held back, this would time out.
    nanoapi::executor::block_on(timeout(Duration::from_secs(5), async {
        let wire = Bytes::from_static(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut exchange = Exchange::new(&(), &service, &options, wire);
        let Some(ResponseEvent::Head(head)) = exchange.next_event().await.unwrap() else {
            panic!("a head first");
        };
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::Data("id: 1\ndata: one\n\n".into()))
        );
        assert!(!gate.open.load(Ordering::SeqCst));
        gate.open();
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::Data("id: 2\ndata: two\n\n".into()))
        );
        assert_eq!(
            exchange.next_event().await.unwrap(),
            Some(ResponseEvent::End)
        );
    }))
    .expect("event 1 arrives while event 2 is held back");
}

#[test]
fn each_event_reaches_the_socket_before_the_next_is_produced_on_both_backends() {
    for backend in common::backends() {
        let gate = Arc::new(Gate::default());
        let server = gated_app(gate.clone())
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let mut stream = common::connect(server.handle().local_addr());
        stream
            .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        // Read until event 1 is in: were it held in a buffer, this read would time out
        // (5 s) and fail the test, as event 2 waits for the gate this test opens below.
        let mut received = Vec::new();
        let mut buf = [0; 4096];
        while !String::from_utf8_lossy(&received).contains("data: one\n\n\r\n") {
            let n = stream
                .read(&mut buf)
                .unwrap_or_else(|err| panic!("{backend:?}: event 1 never came: {err}"));
            assert!(n > 0, "{backend:?}: closed before event 1");
            received.extend_from_slice(&buf[..n]);
        }
        assert!(!String::from_utf8_lossy(&received).contains("two"));
        gate.open();
        stream.read_to_end(&mut received).unwrap();
        assert_eq!(
            without_date(&received),
            "HTTP/1.1 200 OK\r\n\
             Server: nanoapi\r\n\
             Date: <date>\r\n\
             Content-Type: text/event-stream\r\n\
             Cache-Control: no-cache\r\n\
             Transfer-Encoding: chunked\r\n\
             Connection: close\r\n\
             \r\n\
             11\r\nid: 1\ndata: one\n\n\r\n\
             11\r\nid: 2\ndata: two\n\n\r\n\
             0\r\n\r\n",
            "{backend:?}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn an_idle_event_stream_sends_keep_alive_comments_after_each_quiet_interval() {
    async fn quiet() -> EventSource {
        let events =
            stream::once(async { Event::default().data("hello") }).chain(stream::pending());
        EventSource::new(events)
            .keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_millis(20))
                    .text("ping"),
            )
            .header("X-Accel-Buffering", "no")
    }
    let service = App::new().get("/quiet", quiet).build().unwrap();
    let options = ConnOptions::default();
    // A missing comment would leave the client waiting: time out instead.
    nanoapi::executor::block_on(timeout(Duration::from_secs(5), async {
        let wire = Bytes::from_static(b"GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut exchange = Exchange::new(&(), &service, &options, wire);
        let Some(ResponseEvent::Head(head)) = exchange.next_event().await.unwrap() else {
            panic!("a head first");
        };
        assert_eq!(head.header("x-accel-buffering"), Some(&b"no"[..]));
        let mut pieces = Vec::new();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let Some(ResponseEvent::Data(data)) = exchange.next_event().await.unwrap() else {
                panic!("more body");
            };
            pieces.push((data, started.elapsed()));
        }
        assert_eq!(pieces[0].0, "data: hello\n\n");
        for (data, waited) in &pieces[1..] {
            assert_eq!(data, ": ping\n\n");
            assert!(
                *waited >= Duration::from_millis(20),
                "after a quiet interval: {waited:?}"
            );
        }
    }))
    .expect("keep-alive comments keep coming");
}

#[test]
fn the_handler_sees_last_event_id() {
    async fn resume(LastEventId(last): LastEventId) -> String {
        format!("{last:?}")
    }
    let client = App::new().get("/resume", resume).test_client();
    assert_eq!(client.get("/resume").send().text(), "None");
    assert_eq!(
        client
            .get("/resume")
            .header("Last-Event-ID", "41")
            .send()
            .text(),
        "Some(\"41\")"
    );
}

// FileResponse.

/// 200 KiB of varied bytes: several 64 KiB reads.
fn big_content() -> Vec<u8> {
    (0..200 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// An app serving `path` at `/file` with the request's conditions and at `/whole` without.
fn file_app(path: PathBuf) -> App {
    let conditional_path = path.clone();
    App::new()
        .get("/file", move |conditional: Conditional| {
            let path = conditional_path.clone();
            async move {
                let file = FileResponse::open(&path)
                    .await
                    .map_err(|_| HttpException::new(StatusCode::NOT_FOUND, "Not Found"))?;
                Ok::<_, HttpException>(file.conditional(conditional))
            }
        })
        .get("/whole", move || {
            let path = path.clone();
            async move { FileResponse::open(&path).await.unwrap() }
        })
}

#[test]
fn a_file_has_its_type_length_and_validators_and_head_reads_nothing() {
    let dir = TempDir::new();
    let content = big_content();
    let path = dir.write("data.json", &content);
    let client = file_app(path.clone()).test_client();
    let resp = client.get("/file").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes(), &content[..]);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("content-length"), Some("204800"));
    assert_eq!(resp.header("accept-ranges"), Some("bytes"));
    assert_eq!(resp.header("transfer-encoding"), None);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let nanos = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    assert_eq!(
        resp.header("etag"),
        Some(format!("W/\"32000-{nanos:x}\"").as_str())
    );
    let last_modified = resp.header("last-modified").unwrap();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");

    let head = client.head("/file").send();
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("content-length"), Some("204800"));
    assert_eq!(head.header("etag"), resp.header("etag"));
    assert!(head.bytes().is_empty());

    let text = dir.write("notes.txt", "hello");
    let resp = file_app(text).test_client().get("/file").send();
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let unknown = dir.write("blob.unknownext", "x");
    let resp = file_app(unknown).test_client().get("/file").send();
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
}

#[test]
fn validators_answer_304_in_rfc_order() {
    let dir = TempDir::new();
    let path = dir.write("a.txt", "content");
    let client = file_app(path).test_client();
    let first = client.get("/file").send();
    let etag = first.header("etag").unwrap().to_owned();
    let last_modified = first.header("last-modified").unwrap().to_owned();
    let strong = etag.trim_start_matches("W/").to_owned();
    let status = |headers: &[(&str, &str)]| {
        let mut req = client.get("/file");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        req.send().status()
    };
    assert_eq!(status(&[("If-None-Match", &etag)]), 304);
    assert_eq!(
        status(&[("If-None-Match", &strong)]),
        304,
        "weak comparison"
    );
    assert_eq!(status(&[("If-None-Match", &format!("\"x\", {etag}"))]), 304);
    assert_eq!(status(&[("If-None-Match", "*")]), 304);
    assert_eq!(status(&[("If-None-Match", "\"other\"")]), 200);
    assert_eq!(status(&[("If-Modified-Since", &last_modified)]), 304);
    assert_eq!(
        status(&[("If-Modified-Since", "Fri, 31 Dec 2100 23:59:59 GMT")]),
        304
    );
    assert_eq!(
        status(&[("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]),
        200
    );
    assert_eq!(status(&[("If-Modified-Since", "yesterday")]), 200);
    // If-None-Match wins: If-Modified-Since is not even looked at.
    assert_eq!(
        status(&[
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", &last_modified)
        ]),
        200
    );
    // Without the request's conditions, a handler always answers whole.
    let resp = client.get("/whole").header("If-None-Match", &etag).send();
    assert_eq!(resp.status(), 200);

    let resp = client.get("/file").header("If-None-Match", &etag).send();
    assert_eq!(resp.header("etag"), Some(etag.as_str()));
    assert_eq!(resp.header("last-modified"), Some(last_modified.as_str()));
    assert_eq!(resp.header("content-type"), None);
    assert_eq!(resp.header("content-length"), None);
    assert!(resp.bytes().is_empty());
}

#[test]
fn single_ranges_answer_206_and_unsatisfiable_ones_416() {
    let dir = TempDir::new();
    let content = big_content();
    let path = dir.write("big.bin", &content);
    let client = file_app(path).test_client();
    let len = content.len();
    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=65530-65545", 65530, 65546), // across a read boundary
        ("bytes=200000-", 200_000, len),
        ("bytes=-100", len - 100, len),
        ("bytes=204000-999999", 204_000, len),
        ("bytes=0-", 0, len),
    ] {
        let resp = client.get("/file").header("Range", range).send();
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(
            resp.header("content-range"),
            Some(format!("bytes {start}-{}/{len}", end - 1).as_str()),
            "{range}"
        );
        assert_eq!(
            resp.header("content-length"),
            Some((end - start).to_string().as_str())
        );
        assert_eq!(resp.bytes(), &content[start..end], "{range}");
    }
    for range in ["bytes=204800-", "bytes=999999-1000000", "bytes=-0"] {
        let resp = client.get("/file").header("Range", range).send();
        assert_eq!(resp.status(), 416, "{range}");
        assert_eq!(resp.header("content-range"), Some("bytes */204800"));
        assert!(resp.bytes().is_empty());
    }
    // Not one valid bytes range: ignored, the whole file.
    for range in ["bytes=0-1,5-6", "bytes=9-2", "lines=1-2", "bytes=x-"] {
        let resp = client.get("/file").header("Range", range).send();
        assert_eq!(resp.status(), 200, "{range}");
        assert_eq!(resp.bytes().len(), len);
    }
    // Ranges are for GET: HEAD gets the whole file's head.
    let resp = client.head("/file").header("Range", "bytes=0-9").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("content-length"), Some("204800"));
}

#[test]
fn if_range_keeps_a_range_only_while_the_file_is_unchanged() {
    let dir = TempDir::new();
    let path = dir.write("r.txt", "0123456789");
    let client = file_app(path).test_client();
    let first = client.get("/file").send();
    let last_modified = first.header("last-modified").unwrap().to_owned();
    let etag = first.header("etag").unwrap().to_owned();
    let ranged = |if_range: &str| {
        client
            .get("/file")
            .header("Range", "bytes=2-3")
            .header("If-Range", if_range)
            .send()
    };
    let resp = ranged(&last_modified);
    assert_eq!((resp.status(), resp.text().as_str()), (206, "23"));
    let resp = ranged("Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!((resp.status(), resp.text().as_str()), (200, "0123456789"));
    // A weak validator never satisfies If-Range (RFC 9110 §13.1.5).
    assert_eq!(ranged(&etag).status(), 200);
}

#[test]
fn an_attachment_names_the_file_safely() {
    let dir = TempDir::new();
    let path = dir.write("x.txt", "x");
    let client = App::new()
        .get("/d", move || {
            let path = path.clone();
            async move {
                FileResponse::open(&path)
                    .await
                    .unwrap()
                    .attachment("naïve\r\nSet-Cookie: a=b.txt")
            }
        })
        .test_client();
    let resp = client.get("/d").send();
    assert_eq!(
        resp.header("content-disposition"),
        Some(
            "attachment; filename=\"na_ve__Set-Cookie: a=b.txt\"; \
             filename*=UTF-8''na%C3%AFve%0D%0ASet-Cookie%3A%20a%3Db.txt"
        )
    );
    assert_eq!(resp.header("set-cookie"), None);
}

#[test]
fn files_go_out_with_content_length_on_both_backends() {
    let dir = TempDir::new();
    let content = big_content();
    let path = dir.write("big.bin", &content);
    let etag = file_app(path.clone())
        .test_client()
        .get("/file")
        .send()
        .header("etag")
        .unwrap()
        .to_owned();
    on_each_backend(
        || file_app(path.clone()),
        |addr| {
            // Two responses on one connection: the length framing must be exact.
            let wire = roundtrip(
                addr,
                b"GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=3-7\r\n\r\n\
                  GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            let head_end =
                |bytes: &[u8]| bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let first_end = head_end(&wire) + 5;
            let (first, rest) = wire.split_at(first_end);
            let (second, body) = rest.split_at(head_end(rest));
            let (first, second) = (without_date(first), without_date(second));
            let last_modified = first
                .split("\r\n")
                .find_map(|line| line.strip_prefix("Last-Modified: "))
                .unwrap();
            assert_eq!(
                first,
                format!(
                    "HTTP/1.1 206 Partial Content\r\n\
                     Server: nanoapi\r\n\
                     Date: <date>\r\n\
                     Content-Type: application/octet-stream\r\n\
                     Accept-Ranges: bytes\r\n\
                     ETag: {etag}\r\n\
                     Last-Modified: {last_modified}\r\n\
                     Content-Range: bytes 3-7/204800\r\n\
                     Content-Length: 5\r\n\
                     \r\n\
                     \x03\x04\x05\x06\x07"
                )
            );
            assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
            assert!(
                second.contains("\r\nContent-Length: 204800\r\n"),
                "{second}"
            );
            assert!(second.ends_with("Connection: close\r\n\r\n"), "{second}");
            assert_eq!(body, &content[..]);
        },
    );
}

// StaticFiles.

/// `root/public` with files, a subdirectory, a symlink inside and one leading out; a secret
/// beside `public` that no request may reach.
fn static_tree() -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    dir.write("secret.txt", "TOP SECRET");
    dir.write("public/hello.txt", "hello");
    dir.write("public/docs/index.html", "<h1>docs</h1>");
    dir.write("public/empty/.keep", "");
    dir.write("public/a b.txt", "spaced");
    let public = dir.0.join("public");
    std::os::unix::fs::symlink(dir.0.join("secret.txt"), public.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(dir.0.clone(), public.join("up")).unwrap();
    std::os::unix::fs::symlink(public.join("hello.txt"), public.join("alias.txt")).unwrap();
    (dir, public)
}

#[test]
fn static_files_serve_files_indexes_and_404s() {
    let (_dir, public) = static_tree();
    let client = App::new()
        .mount("/static", StaticFiles::new(&public).index("index.html"))
        .test_client();
    let resp = client.get("/static/hello.txt").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "hello");
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(resp.header("etag").is_some());
    assert_eq!(client.get("/static/a%20b.txt").send().text(), "spaced");
    assert_eq!(client.get("/static/alias.txt").send().text(), "hello");
    let resp = client.get("/static/docs/").send();
    assert_eq!(
        (resp.status(), resp.text().as_str()),
        (200, "<h1>docs</h1>")
    );
    let resp = client.get("/static/docs").send();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.header("location"), Some("/static/docs/"));
    let resp = client.get("/static/missing.txt").send();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text(), r#"{"detail":"Not Found"}"#);
    assert_eq!(
        client.get("/static/empty/").send().status(),
        404,
        "no index"
    );
    // Conditional requests and ranges work on mounted files.
    let etag = client
        .get("/static/hello.txt")
        .send()
        .header("etag")
        .unwrap()
        .to_owned();
    let resp = client
        .get("/static/hello.txt")
        .header("If-None-Match", &etag)
        .send();
    assert_eq!(resp.status(), 304);
    let resp = client
        .get("/static/hello.txt")
        .header("Range", "bytes=1-2")
        .send();
    assert_eq!((resp.status(), resp.text().as_str()), (206, "el"));
    // Without an index, a directory is not found.
    let client = App::new()
        .mount("/s", StaticFiles::new(&public))
        .test_client();
    assert_eq!(client.get("/s/docs/").send().status(), 404);
    assert_eq!(client.get("/s/").send().status(), 404);
}

#[test]
fn static_files_cannot_be_escaped() {
    let (_dir, public) = static_tree();
    let client = App::new()
        .mount("/static", StaticFiles::new(&public).index("index.html"))
        .test_client();
    for target in [
        "/static/../secret.txt",
        "/static/docs/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/docs%2f..%2f..%2fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/hello.txt%00.png",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/escape.txt",
        "/static/up/secret.txt",
    ] {
        let resp = client.get(target).send();
        assert_eq!(resp.status(), 404, "{target}");
        assert!(!resp.text().contains("SECRET"), "{target}");
    }
    // A raw backslash passes the request parser and is refused here; a raw NUL never gets
    // past the parser.
    for (target, status) in [("/static/..\\secret.txt", 404), ("/static/a\0b", 400)] {
        let wire = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        let responses = client.raw(wire);
        assert_eq!(responses[0].status(), status, "{target:?}");
        assert!(!responses[0].text().contains("SECRET"), "{target:?}");
    }
}

#[test]
#[should_panic(expected = "is not a readable directory")]
fn mounting_a_missing_directory_fails_at_start_up() {
    let _ = App::new().mount("/static", StaticFiles::new("/nonexistent/nanoapi/dir"));
}

#[test]
fn static_files_are_served_over_sockets_on_both_backends() {
    let (_dir, public) = static_tree();
    on_each_backend(
        || App::new().mount("/static", StaticFiles::new(&public)),
        |addr| {
            let wire = roundtrip(
                addr,
                b"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            let text = without_date(&wire);
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(text.contains("\r\nContent-Length: 5\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\nhello"), "{text}");
            let wire = roundtrip(
                addr,
                b"GET /static/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            let text = without_date(&wire);
            assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
            assert!(!text.contains("SECRET"));
        },
    );
}

// Multipart.

/// Every field as `name|file name|content type|content`.
async fn describe_fields(mut form: Multipart) -> Result<String, MultipartError> {
    let mut lines = Vec::new();
    while let Some(field) = form.next_field().await? {
        let head = format!(
            "{}|{}|{}",
            field.name(),
            field.file_name().unwrap_or("-"),
            field.content_type().unwrap_or("-")
        );
        let content = field.bytes().await?;
        lines.push(format!("{head}|{}", String::from_utf8_lossy(&content)));
    }
    Ok(lines.join("\n"))
}

/// Names the fields and skips their content.
async fn names_only(mut form: Multipart) -> Result<String, MultipartError> {
    let mut names = Vec::new();
    while let Some(field) = form.next_field().await? {
        names.push(field.name().to_owned());
    }
    Ok(names.join(","))
}

fn multipart_app() -> App {
    App::new()
        .post("/upload", describe_fields)
        .post("/names", names_only)
}

const BOUNDARY_TYPE: &str = "multipart/form-data; boundary=----b0undary";

/// A well-formed body: preamble, a text field, a file with its type, an empty field,
/// transport padding after a boundary, a file with CR/LF and boundary look-alikes in it, then
/// an epilogue.
const GOOD_BODY: &str = "preamble to ignore\r\n\
    ------b0undary\r\n\
    Content-Disposition: form-data; name=\"title\"\r\n\
    \r\n\
    Holiday\r\n\
    ------b0undary\r\n\
    Content-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n\
    Content-Type: image/jpeg\r\n\
    \r\n\
    JPEGDATA\r\n\
    ------b0undary  \t\r\n\
    content-disposition: form-data; name=\"empty\"\r\n\
    \r\n\
    \r\n\
    ------b0undary\r\n\
    Content-Disposition: form-data; name=\"tricky\"; filename=\"t.txt\"\r\n\
    \r\n\
    line\r\n----b0undar\r\n--\r\n-----b0undaryX\r\n\
    ------b0undary--\r\n\
    epilogue to ignore";

const GOOD_FIELDS: &str = "title|-|-|Holiday\n\
    photo|beach.jpg|image/jpeg|JPEGDATA\n\
    empty|-|-|\n\
    tricky|t.txt|-|line\r\n----b0undar\r\n--\r\n-----b0undaryX";

#[test]
fn multipart_fields_and_files_are_read_in_order() {
    let client = multipart_app().test_client();
    let resp = client
        .post("/upload")
        .header("Content-Type", BOUNDARY_TYPE)
        .body(GOOD_BODY)
        .send();
    assert_eq!(resp.status(), 200, "{}", resp.text());
    assert_eq!(resp.text(), GOOD_FIELDS);
    // Fields the handler does not read are skipped.
    let resp = client
        .post("/names")
        .header("Content-Type", BOUNDARY_TYPE)
        .body(GOOD_BODY)
        .send();
    assert_eq!(resp.text(), "title,photo,empty,tricky");
}

#[test]
fn multipart_parsing_does_not_depend_on_how_the_body_is_split() {
    // A chunked request body cut at every byte position in two, and into 1-byte chunks.
    let client = multipart_app().test_client();
    let body = GOOD_BODY.as_bytes();
    let chunked = |pieces: &[&[u8]]| {
        let mut wire = format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: {BOUNDARY_TYPE}\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for piece in pieces.iter().filter(|p| !p.is_empty()) {
            wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        wire
    };
    for at in 0..=body.len() {
        let (a, b) = body.split_at(at);
        let resp = &client.raw(chunked(&[a, b]))[0];
        assert_eq!(resp.text(), GOOD_FIELDS, "split at {at}");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(client.raw(chunked(&bytes))[0].text(), GOOD_FIELDS);
}

/// The status and body for a multipart request with this content type and body.
fn upload(content_type: Option<&str>, body: &str) -> (u16, String) {
    let client = multipart_app().test_client();
    let mut req = client.post("/upload").body(body);
    if let Some(content_type) = content_type {
        req = req.header("Content-Type", content_type);
    }
    let resp = req.send();
    (resp.status(), resp.text())
}

fn part(headers: &str, content: &str) -> String {
    format!("--B\r\n{headers}\r\n\r\n{content}\r\n")
}

#[test]
fn a_wrong_or_missing_content_type_is_415_and_a_bad_boundary_400() {
    let body = format!(
        "{}--B--\r\n",
        part("Content-Disposition: form-data; name=\"a\"", "1")
    );
    let unsupported = (415, r#"{"detail":"Unsupported Media Type"}"#.to_owned());
    assert_eq!(upload(None, &body), unsupported);
    assert_eq!(upload(Some("application/json"), &body), unsupported);
    assert_eq!(
        upload(Some("multipart/mixed; boundary=B"), &body),
        unsupported
    );
    assert_eq!(
        upload(Some("multipart/form-data"), &body),
        (
            400,
            r#"{"detail":"Malformed multipart body: the Content-Type has no boundary"}"#.to_owned()
        )
    );
    let bad_boundary = format!("multipart/form-data; boundary={}", "x".repeat(71));
    assert_eq!(upload(Some(&bad_boundary), &body).0, 400);
    assert_eq!(
        upload(Some("multipart/form-data; boundary=B"), &body),
        (200, "a|-|-|1".to_owned())
    );
}

#[test]
fn malformed_multipart_bodies_are_400_with_the_reason() {
    let ct = Some("multipart/form-data; boundary=B");
    let ok_part = part("Content-Disposition: form-data; name=\"a\"", "1");
    for (body, why) in [
        (String::new(), "no boundary line"),
        ("no delimiter at all".to_owned(), "no boundary line"),
        ("--B".to_owned(), "the body ends after a boundary"),
        (
            "--B\r\nContent-Disposition: form-data; name=\"a\"".to_owned(),
            "the body ends inside part headers",
        ),
        (
            "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue".to_owned(),
            "the body ends inside a part",
        ),
        (ok_part.clone(), "the body ends inside a part"),
        (format!("{ok_part}--B"), "the body ends after a boundary"),
        (
            format!("{ok_part}--Bjunk\r\n"),
            "a boundary line has trailing characters",
        ),
        (
            format!("{}--B--", part("Content-Type: text/plain", "1")),
            "a part has no Content-Disposition",
        ),
        (
            format!(
                "{}--B--",
                part("Content-Disposition: attachment; name=\"a\"", "1")
            ),
            "a part is not form-data",
        ),
        (
            format!(
                "{}--B--",
                part("Content-Disposition: form-data; filename=\"a\"", "1")
            ),
            "a part's Content-Disposition has no name",
        ),
        (
            format!("{}--B--", part("Content-Disposition form-data", "1")),
            "a part header line has no colon",
        ),
        (
            format!(
                "{}--B--",
                part("Bad Name: x\r\nContent-Disposition: form-data; name=a", "1")
            ),
            "a part header is invalid",
        ),
    ] {
        let (status, text) = upload(ct, &body);
        assert_eq!(status, 400, "{body:?}: {text}");
        assert_eq!(
            text,
            format!(r#"{{"detail":"Malformed multipart body: {why}"}}"#),
            "{body:?}"
        );
    }
    // Invalid UTF-8 where text is asked for.
    let client = App::new()
        .post("/text", |mut form: Multipart| async move {
            let field = form.next_field().await?.expect("a field");
            field.text().await
        })
        .test_client();
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n".to_vec();
    body.extend_from_slice(b"\xff\xfe\r\n--B--\r\n");
    let resp = client
        .post("/text")
        .header("Content-Type", "multipart/form-data; boundary=B")
        .body(body)
        .send();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.text(),
        r#"{"detail":"Multipart field \"t\" is not valid UTF-8"}"#
    );
}

#[test]
fn multipart_limits_are_413_at_one_past_the_limit() {
    let mut limits = MultipartLimits::default();
    limits.max_fields = 2;
    limits.max_field_size = 5;
    limits.max_file_size = 8;
    limits.max_total = None;
    let client = multipart_app().multipart_limits(limits).test_client();
    let send = |body: String| {
        let resp = client
            .post("/upload")
            .header("Content-Type", "multipart/form-data; boundary=B")
            .body(body)
            .send();
        (resp.status(), resp.text())
    };
    let field = |content: &str| part("Content-Disposition: form-data; name=\"f\"", content);
    let file = |content: &str| {
        part(
            "Content-Disposition: form-data; name=\"u\"; filename=\"u.bin\"",
            content,
        )
    };
    let detail = |text: &str| format!(r#"{{"detail":"{text}"}}"#);
    // At each limit: accepted.
    let (status, _) = send(format!("{}{}--B--\r\n", field("12345"), file("12345678")));
    assert_eq!(status, 200);
    // One past each: refused.
    assert_eq!(
        send(format!("{}--B--\r\n", field("123456"))),
        (413, detail("Multipart field too large"))
    );
    assert_eq!(
        send(format!("{}--B--\r\n", file("123456789"))),
        (413, detail("Multipart file too large"))
    );
    assert_eq!(
        send(format!(
            "{}{}{}--B--\r\n",
            field("1"),
            field("2"),
            field("3")
        )),
        (413, detail("Too many multipart fields"))
    );
    let huge_headers = format!(
        "Content-Disposition: form-data; name=\"h\"\r\nX-Pad: {}",
        "p".repeat(9000)
    );
    let (status, text) = send(format!("{}--B--\r\n", part(&huge_headers, "1")));
    assert_eq!(
        (status, text),
        (413, detail("Multipart part headers too large"))
    );
    // The total replaces the server's body limit for multipart requests.
    let mut total = MultipartLimits::default();
    total.max_total = Some(100);
    let client = multipart_app().multipart_limits(total).test_client();
    let send = |body: String| {
        let resp = client
            .post("/upload")
            .header("Content-Type", "multipart/form-data; boundary=B")
            .body(body)
            .send();
        (resp.status(), resp.text())
    };
    let body = format!("{}--B--\r\n", field("1"));
    let padded = |n: usize| format!("{}{body}", "p".repeat(n - body.len()));
    assert_eq!(send(padded(100)).0, 200);
    assert_eq!(
        send(padded(101)),
        (413, detail("Could not read the request body"))
    );
}
