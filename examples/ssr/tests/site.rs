//! The SSR site over real sockets, on both backends.

/// The runtime's test helpers (backends, client connections).
#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;

use common::{backends, connect};
use nanoapi::ServerHandle;
use nanoapi::executor::Backend;
use nanoapi::server::{Options, ShutdownSignal, serve};
use ssr_example::{Site, dispatch};

fn start(backend: Backend, site: Site) -> ServerHandle {
    let options = Options::default().port(0).workers(1).backend(backend);
    serve(options, site, dispatch).unwrap()
}

/// Sends `request` (which asks for close) and reads the whole response.
fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = connect(addr);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn get(addr: SocketAddr, method: &str, path: &str) -> String {
    exchange(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// The head and the de-chunked body of a chunked response.
fn split_chunked(response: &str) -> (&str, String) {
    let (head, mut rest) = response.split_once("\r\n\r\n").unwrap();
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            return (head, body);
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

#[test]
fn pages_render_through_the_layout_with_parameters_escaped() {
    for backend in backends() {
        let server = start(backend, Site::new());
        let response = get(server.local_addr(), "GET", "/users/%3Cb%3Ebob");
        let (head, body) = split_chunked(&response);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{backend:?}: {head}");
        assert!(head.contains("Content-Type: text/html; charset=utf-8"));
        assert!(head.contains("Transfer-Encoding: chunked"));
        assert!(body.starts_with("<!doctype html>"), "{body}");
        assert!(body.contains("<title>User</title>"));
        assert!(body.contains("<h1>User &lt;b&gt;bob</h1>"), "{body}");
        assert!(body.trim_end().ends_with("</html>"));

        let (_, blog) = split_chunked(&get(server.local_addr(), "GET", "/blog/2026/hello"));
        assert!(
            blog.contains("<h1>hello</h1><p>Posted in 2026.</p>"),
            "{blog}"
        );
    }
}

#[test]
fn the_layout_head_is_flushed_before_the_body_renders() {
    for backend in backends() {
        let client_has_head = ShutdownSignal::new();
        let signal = client_has_head.clone();
        let site = Site::new().before_body(Box::new(move || {
            let signal = signal.clone();
            Box::pin(async move { signal.raised().await })
        }));
        let server = start(backend, site);
        let mut stream = connect(server.local_addr());
        stream
            .write_all(b"GET /about HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        // The body waits for `client_has_head`, so whatever arrives first is head only.
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        while !received.ends_with(b"</nav>\n<main>\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "{backend:?}: closed early: {}",
                String::from_utf8_lossy(&received)
            );
            received.extend_from_slice(&buf[..n]);
        }
        let so_far = String::from_utf8_lossy(&received).into_owned();
        assert!(so_far.contains("<title>About</title>") && !so_far.contains("<h1>About"));
        client_has_head.raise();
        stream.read_to_end(&mut received).unwrap();
        let (_, body) = split_chunked(std::str::from_utf8(&received).unwrap());
        assert!(body.contains("<h1>About</h1>"), "{body}");
    }
}

#[test]
fn head_answers_every_route_with_the_get_headers_and_no_body() {
    for backend in backends() {
        let server = start(backend, Site::new());
        for path in ["/", "/about", "/users/1", "/assets/style.css", "/missing"] {
            let got = get(server.local_addr(), "GET", path);
            let head = get(server.local_addr(), "HEAD", path);
            let strip_date = |text: &str| {
                let head = text.split("\r\n\r\n").next().unwrap().to_owned();
                head.lines()
                    .filter(|l| !l.starts_with("Date:"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip_date(&head), strip_date(&got), "{backend:?} {path}");
            assert!(
                head.ends_with("\r\n\r\n"),
                "{backend:?} {path}: HEAD has no body: {head:?}"
            );
        }
    }
}

#[test]
fn assets_carry_caching_headers_and_answer_304_for_a_current_etag() {
    for backend in backends() {
        let server = start(backend, Site::new());
        let response = get(server.local_addr(), "GET", "/assets/style.css");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.contains("Content-Type: text/css; charset=utf-8"));
        assert!(response.contains("Cache-Control: public, max-age=31536000, immutable"));
        assert!(response.contains("Content-Length: "));
        let etag = response
            .lines()
            .find_map(|line| line.strip_prefix("ETag: "))
            .unwrap()
            .to_owned();
        let revalidate = exchange(
            server.local_addr(),
            &format!(
                "GET /assets/style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\
                 Connection: close\r\n\r\n"
            ),
        );
        assert!(
            revalidate.starts_with("HTTP/1.1 304 Not Modified"),
            "{revalidate}"
        );
        assert!(revalidate.contains(&format!("ETag: {etag}")));
        assert!(revalidate.ends_with("\r\n\r\n"));
        let stale = exchange(
            server.local_addr(),
            "GET /assets/style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"old\"\r\n\
             Connection: close\r\n\r\n",
        );
        assert!(stale.starts_with("HTTP/1.1 200 OK"), "{stale}");
    }
}

#[test]
fn unknown_paths_get_the_404_page_and_other_methods_405() {
    for backend in backends() {
        let server = start(backend, Site::new());
        let response = get(server.local_addr(), "GET", "/nowhere");
        let (head, body) = split_chunked(&response);
        assert!(
            head.starts_with("HTTP/1.1 404 Not Found"),
            "{backend:?}: {head}"
        );
        assert!(body.contains("<title>Not found</title>") && body.contains("<h1>Not found</h1>"));
        let post = get(server.local_addr(), "POST", "/about");
        assert!(
            post.starts_with("HTTP/1.1 405 Method Not Allowed"),
            "{post}"
        );
        assert!(post.contains("Allow: GET, HEAD"));
    }
}
