//! Feature `tokio`: handlers await tokio's timers, make client calls over tokio sockets to an
//! upstream service (what reqwest, sqlx or redis do underneath) and `tokio::spawn` work, over
//! real sockets on both backends; the test client's `send_async` works from `#[tokio::test]`.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nanoapi::app::{App, HttpException, State};
use nanoapi::http::StatusCode;
use nanoapi::server::Options;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Where the upstream service listens.
#[derive(Clone, Copy)]
struct Upstream(SocketAddr);

/// Sleeps on tokio's timer; answers how long it slept, in milliseconds.
async fn slow() -> String {
    let began = Instant::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    began.elapsed().as_millis().to_string()
}

fn slept_enough(millis: &str) {
    let millis: u64 = millis.parse().unwrap();
    assert!((30..10_000).contains(&millis), "{millis} ms");
}

/// Asks the upstream over a tokio socket, as an HTTP client crate would.
async fn proxy(State(Upstream(addr)): State<Upstream>) -> Result<String, HttpException> {
    let bad_gateway = |err: std::io::Error| {
        HttpException::new(StatusCode::BAD_GATEWAY, format!("upstream: {err}"))
    };
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(bad_gateway)?;
    stream
        .write_all(b"GET /quote HTTP/1.1\r\nHost: upstream\r\nConnection: close\r\n\r\n")
        .await
        .map_err(bad_gateway)?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .map_err(bad_gateway)?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    Ok(format!("upstream said: {body}"))
}

/// Work handed to tokio's own threads.
async fn offload() -> String {
    let computed = tokio::spawn(async { (1..=10u64).product::<u64>() });
    computed.await.unwrap().to_string()
}

fn app(upstream: SocketAddr) -> App<Upstream> {
    App::new()
        .with_state(Upstream(upstream))
        .get("/slow", slow)
        .get("/proxy", proxy)
        .get("/offload", offload)
}

/// An upstream HTTP service on a tokio runtime of its own: answers every request with one
/// quote and closes.
fn start_upstream() -> (tokio::runtime::Runtime, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = String::new();
                // The request head, line by line, up to its blank line.
                while stream.read_line(&mut line).await.unwrap() > 2 {
                    line.clear();
                }
                let _ = stream
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nstay curious")
                    .await;
            });
        }
    });
    (runtime, addr)
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = common::connect(addr);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    answer.split("\r\n\r\n").nth(1).unwrap().to_owned()
}

#[test]
fn tokio_timers_sockets_and_spawn_work_inside_handlers() {
    let (_upstream_runtime, upstream) = start_upstream();
    for backend in common::backends() {
        let server = app(upstream)
            .serve(Options::default().port(0).workers(2).backend(backend))
            .unwrap();
        let addr = server.handle().local_addr();
        slept_enough(&get(addr, "/slow"));
        assert_eq!(
            get(addr, "/proxy"),
            "upstream said: stay curious",
            "{backend:?}"
        );
        assert_eq!(get(addr, "/offload"), "3628800", "{backend:?}");
        server.shutdown_blocking();
    }
}

#[tokio::test]
async fn the_test_client_awaits_from_a_tokio_test() {
    let (upstream_runtime, upstream) = tokio::task::spawn_blocking(start_upstream).await.unwrap();
    let client = app(upstream).test_client();
    slept_enough(&client.get("/slow").send_async().await.text());
    assert_eq!(
        client.get("/proxy").send_async().await.text(),
        "upstream said: stay curious"
    );
    assert_eq!(client.get("/offload").send_async().await.text(), "3628800");
    tokio::task::spawn_blocking(move || drop(upstream_runtime))
        .await
        .unwrap();
}
