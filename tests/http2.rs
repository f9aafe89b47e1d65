//! HTTP/2 (feature `http2`) over real sockets on both backends: in cleartext with prior
//! knowledge and (with `tls`) by ALPN, with hyper's `h2` client; concurrent streams, bodies
//! both ways under flow control, `HEAD`, cookies, HTTP/1.1 beside it on the same port, the
//! drain's GOAWAY; and raw frames for the codec's rules and the defences (organised like
//! h2spec's sections).

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use nanoapi::executor::Backend;
use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter, ServerHandle};
use tokio::net::TcpStream;

/// `/echo`: the body back; `/cookie`: the `Cookie` field; `/slow`: 200 ms then `slow`;
/// `/big`: 1 MB; `/stream`: a body streamed in three chunks; `/fail`: an error before any
/// response; `/abort`: a streamed body dropped halfway; `/trailers`: a streamed body and two
/// trailer fields; `/request-trailers`: the
/// body's length and the request's trailer fields; anything else `hello`.
async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match req.path() {
        b"/echo" => {
            let body = req.read_to_end().await?;
            w.send(Response::text(StatusCode::OK, body)).await
        }
        b"/cookie" => {
            let cookie = req.header("cookie").unwrap_or_default().to_vec();
            w.send(Response::text(StatusCode::OK, cookie)).await
        }
        b"/slow" => {
            sleep(Duration::from_millis(200)).await;
            w.send(Response::text(StatusCode::OK, "slow")).await
        }
        b"/big" => w.send(Response::text(StatusCode::OK, big())).await,
        b"/request-trailers" => {
            let body = req.read_to_end().await?;
            let trailers: Vec<String> = req
                .trailers()
                .iter()
                .map(|(name, value)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(name),
                        String::from_utf8_lossy(value)
                    )
                })
                .collect();
            let answer = format!("{} bytes; {}", body.len(), trailers.join(","));
            w.send(Response::text(StatusCode::OK, answer)).await
        }
        b"/stream" => {
            let chunks = ["one ", "two ", "three"].map(|c| Ok(Bytes::from_static(c.as_bytes())));
            let body = nanoapi::http::Body::stream(futures_util::stream::iter(chunks));
            w.send(Response::from_parts(
                StatusCode::OK,
                Default::default(),
                body,
            ))
            .await
        }
        b"/fail" => Err(nanoapi::Error::new("the dispatcher failed")),
        b"/abort" => {
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            body.send(Bytes::from_static(b"half")).await?;
            // Dropped unfinished: the client must not take "half" for the whole body.
            Ok(())
        }
        b"/trailers" => {
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            body.send(Bytes::from_static(b"streamed")).await?;
            let mut trailers = nanoapi::http::HeaderList::new();
            trailers.append("grpc-status", "0")?;
            trailers.append("grpc-message", "done")?;
            body.finish_with_trailers(trailers).await
        }
        _ => w.send(Response::text(StatusCode::OK, "hello")).await,
    }
}

fn big() -> Vec<u8> {
    (0..1_000_000u32).map(|i| (i % 251) as u8).collect()
}

fn serve(backend: Backend) -> ServerHandle {
    let options = Options::default().port(0).workers(1).backend(backend);
    nanoapi::serve(options, (), dispatch).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

type Client = h2::client::SendRequest<Bytes>;

/// An HTTP/2 client over cleartext (prior knowledge), its connection driven in the background.
async fn connect(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Sends one request (with `body`, if any) and reads the whole response.
async fn fetch(
    client: &Client,
    request: http::Request<()>,
    body: Option<Bytes>,
) -> (http::response::Parts, Bytes) {
    let mut client = client.clone().ready().await.unwrap();
    let (response, mut send) = client.send_request(request, body.is_none()).unwrap();
    if let Some(body) = body {
        send_body(&mut send, body).await;
    }
    let (parts, mut recv) = response.await.unwrap().into_parts();
    let mut got = Vec::new();
    while let Some(data) = recv.data().await {
        let data = data.unwrap();
        recv.flow_control().release_capacity(data.len()).unwrap();
        got.extend_from_slice(&data);
    }
    (parts, Bytes::from(got))
}

async fn send_body(send: &mut h2::SendStream<Bytes>, mut body: Bytes) {
    while !body.is_empty() {
        send.reserve_capacity(body.len());
        let granted = std::future::poll_fn(|cx| send.poll_capacity(cx))
            .await
            .unwrap()
            .unwrap();
        let part = body.split_to(granted.min(body.len()));
        send.send_data(part, false).unwrap();
    }
    send.send_data(Bytes::new(), true).unwrap();
}

fn get(path: &str) -> http::Request<()> {
    http::Request::get(format!("http://localhost{path}"))
        .body(())
        .unwrap()
}

#[test]
fn cleartext_prior_knowledge_serves_concurrent_streams() {
    for backend in common::backends() {
        let server = serve(backend);
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let (parts, body) = fetch(&client, get("/"), None).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert_eq!(parts.version, http::Version::HTTP_2);
            assert_eq!(body, "hello");
            assert_eq!(
                parts.headers["content-type"], "text/plain; charset=utf-8",
                "{backend:?}"
            );
            assert!(parts.headers.get("connection").is_none());
            // Twenty streams at once, a slow one among them: none waits for another.
            let started = std::time::Instant::now();
            let mut all = Vec::new();
            for i in 0..20 {
                let path = if i == 0 { "/slow" } else { "/" };
                let client = client.clone();
                all.push(tokio::spawn(async move {
                    fetch(&client, get(path), None).await
                }));
            }
            for (i, answer) in all.into_iter().enumerate() {
                let (parts, body) = answer.await.unwrap();
                assert_eq!(parts.status, 200);
                assert_eq!(body, if i == 0 { "slow" } else { "hello" });
            }
            assert!(started.elapsed() < Duration::from_secs(2));
        });
        server.shutdown_blocking();
    }
}

#[test]
fn bodies_cross_both_ways_under_flow_control() {
    for backend in common::backends() {
        let server = serve(backend);
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let upload = Bytes::from(big());
            // Without a length: the dispatcher reads it chunked.
            let post = http::Request::post("http://localhost/echo")
                .body(())
                .unwrap();
            let (parts, body) = fetch(&client, post, Some(upload.clone())).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert!(body == upload, "{backend:?}: the echoed body differs");
            // With a length.
            let post = http::Request::post("http://localhost/echo")
                .header("content-length", upload.len())
                .body(())
                .unwrap();
            let (_, body) = fetch(&client, post, Some(upload.clone())).await;
            assert!(body == upload, "{backend:?}: the echoed body differs");
            // A download larger than the default windows.
            let (_, body) = fetch(&client, get("/big"), None).await;
            assert!(body == big(), "{backend:?}");
            // HEAD: the GET's length, no body.
            let head = http::Request::head("http://localhost/big")
                .body(())
                .unwrap();
            let (parts, body) = fetch(&client, head, None).await;
            assert_eq!(parts.headers["content-length"], "1000000");
            assert!(body.is_empty());
            // Cookie fields are joined into one for the dispatcher.
            let cookies = http::Request::get("http://localhost/cookie")
                .header("cookie", "a=1")
                .header("cookie", "b=2")
                .body(())
                .unwrap();
            let (_, body) = fetch(&client, cookies, None).await;
            assert_eq!(body, "a=1; b=2");
        });
        server.shutdown_blocking();
    }
}

#[test]
fn a_busy_connection_outlives_the_keep_alive_timeout_and_an_idle_one_gets_goaway() {
    for backend in common::backends() {
        let mut options = Options::default().port(0).workers(1).backend(backend);
        options.timeouts.keep_alive = Duration::from_millis(300);
        let server = nanoapi::serve(options, (), dispatch).unwrap();
        let addr = server.local_addr();
        runtime().block_on(async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let (client, connection) = h2::client::handshake(tcp).await.unwrap();
            let mut connection = tokio::spawn(connection);
            // Requests back to back for three keep-alive periods: each is answered within
            // one pass of the server's connection task, and none may find it gone.
            let started = std::time::Instant::now();
            let mut served = 0;
            while started.elapsed() < Duration::from_millis(900) {
                let (parts, _) = fetch(&client, get("/"), None).await;
                assert_eq!(parts.status, 200, "{backend:?} after {served} requests");
                served += 1;
            }
            assert!(!connection.is_finished(), "{backend:?}");
            // Then idle: GOAWAY, and the connection ends.
            let ended = tokio::time::timeout(Duration::from_secs(3), &mut connection).await;
            assert!(
                ended.is_ok(),
                "{backend:?}: the idle connection stayed open"
            );
        });
        server.shutdown_blocking();
    }
}

#[test]
fn trailers_cross_as_trailing_headers_both_ways() {
    for backend in common::backends() {
        let server = serve(backend);
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let mut sender = client.clone().ready().await.unwrap();
            let (response, _) = sender.send_request(get("/trailers"), true).unwrap();
            let (parts, mut recv) = response.await.unwrap().into_parts();
            assert_eq!(parts.status, 200, "{backend:?}");
            let mut body = Vec::new();
            while let Some(data) = recv.data().await {
                body.extend_from_slice(&data.unwrap());
            }
            assert_eq!(body, b"streamed");
            let trailers = recv.trailers().await.unwrap().expect("trailers");
            assert_eq!(trailers["grpc-status"], "0", "{backend:?}");
            assert_eq!(trailers["grpc-message"], "done");

            // The request's trailing HEADERS reach the dispatcher as its trailer fields.
            let post = http::Request::post("http://localhost/request-trailers")
                .body(())
                .unwrap();
            let mut sender = client.clone().ready().await.unwrap();
            let (response, mut send) = sender.send_request(post, false).unwrap();
            send.send_data(Bytes::from_static(b"payload"), false)
                .unwrap();
            let mut fields = http::HeaderMap::new();
            fields.insert("x-checksum", "abc".parse().unwrap());
            send.send_trailers(fields).unwrap();
            let (_, mut recv) = response.await.unwrap().into_parts();
            let mut body = Vec::new();
            while let Some(data) = recv.data().await {
                body.extend_from_slice(&data.unwrap());
            }
            assert_eq!(body, b"7 bytes; x-checksum=abc", "{backend:?}");
        });
        server.shutdown_blocking();
    }
}

#[test]
fn http1_still_works_on_the_same_port() {
    for backend in common::backends() {
        let server = serve(backend);
        let mut stream = common::connect(server.local_addr());
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200 OK\r\n"),
            "{backend:?}: {response}"
        );
        assert!(response.ends_with("hello"));
        server.shutdown_blocking();
    }
}

/// The header timeout counts from accept on the port that tells HTTP/2 from HTTP/1.1: an
/// HTTP/1.1 client whose first bytes come late does not get a second timeout from them.
#[test]
fn the_sniffed_http1_head_is_due_a_header_timeout_after_accept() {
    let header = Duration::from_secs(2);
    for backend in common::backends() {
        let mut options = Options::default().port(0).workers(1).backend(backend);
        options.timeouts.header = header;
        let server = nanoapi::serve(options, (), dispatch).unwrap();
        let connected = std::time::Instant::now();
        let mut stream = common::connect(server.local_addr());
        std::thread::sleep(header * 3 / 5);
        stream.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let closed = connected.elapsed();
        assert!(
            response.starts_with("HTTP/1.1 408"),
            "{backend:?}: {response}"
        );
        // Due at 2 s from accept; a timeout restarted by the first bytes would end at 3.2 s.
        assert!(
            closed < header * 29 / 20,
            "{backend:?}: closed after {closed:?}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn a_drain_sends_goaway_and_finishes_open_streams() {
    for backend in common::backends() {
        let server = std::sync::Arc::new(serve(backend));
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let slow = {
                let client = client.clone();
                tokio::spawn(async move { fetch(&client, get("/slow"), None).await })
            };
            // The slow stream is open once the server has answered a later one.
            let _ = fetch(&client, get("/"), None).await;
            let drain = {
                let server = server.clone();
                tokio::task::spawn_blocking(move || server.shutdown_blocking())
            };
            let (parts, body) = slow.await.unwrap();
            assert_eq!(
                (parts.status.as_u16(), &body[..]),
                (200, &b"slow"[..]),
                "{backend:?}"
            );
            drain.await.unwrap();
            // After GOAWAY the client can open no new stream.
            let sender = client.clone();
            let refused = match sender.ready().await {
                Err(_) => true,
                Ok(mut ready) => match ready.send_request(get("/"), true) {
                    Err(_) => true,
                    Ok((response, _)) => response.await.is_err(),
                },
            };
            assert!(refused, "{backend:?}");
        });
    }
}

/// Over TLS the client picks `h2` by ALPN; one offering only `http/1.1` gets HTTP/1.1.
#[cfg(feature = "tls")]
#[test]
fn tls_alpn_chooses_http2() {
    use std::sync::Arc;

    use nanoapi::server::tls::TlsConfig;
    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let tls = TlsConfig::from_pem(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let client_config = |alpn: &[&[u8]]| {
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    };
    for backend in common::backends() {
        let options = Options::default()
            .port(0)
            .workers(1)
            .backend(backend)
            .tls(tls.clone());
        let server = nanoapi::serve(options, (), dispatch).unwrap();
        let addr = server.local_addr();
        runtime().block_on(async {
            let name = ServerName::try_from("localhost").unwrap();
            let tcp = TcpStream::connect(addr).await.unwrap();
            let stream = client_config(&[b"h2", b"http/1.1"])
                .connect(name.clone(), tcp)
                .await
                .unwrap();
            assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let (client, connection) = h2::client::handshake(stream).await.unwrap();
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let (parts, body) = fetch(&client, get("/"), None).await;
            assert_eq!(
                (parts.status.as_u16(), &body[..]),
                (200, &b"hello"[..]),
                "{backend:?}"
            );
            let upload = Bytes::from(big());
            let post = http::Request::post("https://localhost/echo")
                .body(())
                .unwrap();
            let (_, body) = fetch(&client, post, Some(upload.clone())).await;
            assert!(body == upload, "{backend:?}");

            let tcp = TcpStream::connect(addr).await.unwrap();
            let mut stream = client_config(&[b"http/1.1"])
                .connect(name, tcp)
                .await
                .unwrap();
            assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut response = Vec::new();
            let _ = stream.read_to_end(&mut response).await;
            assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{backend:?}");
        });
        server.shutdown_blocking();
    }
}

/// What the runtime answers itself over HTTP/2 as over HTTP/1.1: static routes from the cache
/// (no dispatcher), the dispatcher's errors, heads HTTP/1.1's limits refuse; a streamed body
/// arrives whole, and one its dispatcher abandons ends in a reset, not in a short body.
#[test]
fn the_runtime_answers_static_routes_errors_and_aborts_over_http2() {
    for backend in common::backends() {
        let options = Options::default()
            .port(0)
            .workers(1)
            .backend(backend)
            .static_response(
                "GET",
                "/static",
                Response::text(StatusCode::OK, "from the cache")
                    .header("x-from", "cache")
                    .unwrap(),
            );
        let server = nanoapi::serve(options, (), dispatch).unwrap();
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let (parts, body) = fetch(&client, get("/static"), None).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert_eq!(body, "from the cache");
            assert_eq!(parts.headers["x-from"], "cache");
            assert_eq!(parts.headers["content-length"], "14");
            assert!(parts.headers.contains_key("date"));
            let head = http::Request::head("http://localhost/static")
                .body(())
                .unwrap();
            let (parts, body) = fetch(&client, head, None).await;
            assert_eq!(parts.headers["content-length"], "14", "{backend:?}");
            assert!(body.is_empty());

            let (parts, body) = fetch(&client, get("/stream"), None).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert!(parts.headers.get("content-length").is_none());
            assert_eq!(body, "one two three");

            let (parts, _) = fetch(&client, get("/fail"), None).await;
            assert_eq!(parts.status, 500, "{backend:?}");

            // 101 fields pass the codec (its limit is on bytes) but not HTTP/1.1's count.
            let mut many = http::Request::get("http://localhost/");
            for i in 0..101 {
                many = many.header(format!("x-field-{i}"), "1");
            }
            let (parts, _) = fetch(&client, many.body(()).unwrap(), None).await;
            assert_eq!(parts.status, 431, "{backend:?}");

            let mut ready = client.clone().ready().await.unwrap();
            let (response, _) = ready.send_request(get("/abort"), true).unwrap();
            // The reset may overtake the head on the client's side: either way it is seen.
            let outcome = match response.await {
                Ok(response) => {
                    let mut recv = response.into_body();
                    let mut outcome = Ok(Vec::new());
                    while let Some(data) = recv.data().await {
                        match data {
                            Ok(data) => outcome.as_mut().unwrap().extend_from_slice(&data),
                            Err(err) => {
                                outcome = Err(err);
                                break;
                            }
                        }
                    }
                    outcome
                }
                Err(err) => Err(err),
            };
            let err = outcome.expect_err("an abandoned body must end in a reset");
            assert_eq!(
                err.reason(),
                Some(h2::Reason::INTERNAL_ERROR),
                "{backend:?}"
            );

            // The connection serves on after all of that.
            let (parts, body) = fetch(&client, get("/"), None).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert_eq!(body, "hello");
        });
        server.shutdown_blocking();
    }
}

/// A server on `backend` with `configure`'s options and a counting metrics hook.
fn metered(
    backend: Backend,
    configure: impl FnOnce(Options) -> Options,
) -> (ServerHandle, std::sync::Arc<common::Counters>) {
    let counters = std::sync::Arc::new(common::Counters::default());
    let options = Options::default()
        .port(0)
        .workers(1)
        .backend(backend)
        .metrics(counters.clone());
    let server = nanoapi::serve(configure(options), (), dispatch).unwrap();
    (server, counters)
}

/// The metrics hook sees an HTTP/2 connection as one connection and each stream as a request
/// (static routes too).
#[test]
fn metrics_count_the_connection_once_and_every_stream() {
    for backend in common::backends() {
        let (server, counters) = metered(backend, |options| {
            options.static_response(
                "GET",
                "/static",
                Response::text(StatusCode::ACCEPTED, "cached"),
            )
        });
        let addr = server.local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            for path in ["/", "/static", "/fail"] {
                fetch(&client, get(path), None).await;
            }
        });
        server.shutdown_blocking();
        let opened = counters.opened.load(std::sync::atomic::Ordering::SeqCst);
        let closed = counters.closed.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((opened, closed), (1, 1), "{backend:?}");
        let mut statuses = counters.completed.lock().unwrap().clone();
        statuses.sort();
        assert_eq!(statuses, [200, 202, 500], "{backend:?}");
    }
}

/// With cleartext HTTP/2 on, a connection is the metrics hook's from accept, before its first
/// bytes tell HTTP/2 from HTTP/1.1 (a silent one was not counted until then).
#[test]
fn a_connection_is_counted_at_accept_before_it_sends_a_byte() {
    use std::sync::atomic::Ordering::SeqCst;
    for backend in common::backends() {
        let (server, counters) = metered(backend, |options| options);
        let silent = std::net::TcpStream::connect(server.local_addr()).unwrap();
        let deadline = std::time::Instant::now() + common::slowdown(Duration::from_secs(10));
        while counters.opened.load(SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{backend:?}: a silent connection was not counted"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(counters.opened.load(SeqCst), 1, "{backend:?}");
        drop(silent);
        assert_eq!(
            counters.wait_all_closed(common::slowdown(Duration::from_secs(10))),
            0,
            "{backend:?}: the closed connection was not counted closed"
        );
        server.shutdown_blocking();
        assert_eq!(
            (counters.opened.load(SeqCst), counters.closed.load(SeqCst)),
            (1, 1)
        );
    }
}

/// The App overlay over HTTP/2, unchanged: typed extraction, its JSON and its 422.
#[cfg(feature = "app")]
#[test]
fn an_app_serves_http2_as_it_is() {
    use nanoapi::app::{App, Json, Path};

    async fn item(Path(id): Path<u32>) -> Json<serde_json::Value> {
        Json(serde_json::json!({ "id": id }))
    }

    for backend in common::backends() {
        let options = Options::default().port(0).workers(1).backend(backend);
        let server = App::new().get("/items/{id}", item).serve(options).unwrap();
        let addr = server.handle().local_addr();
        runtime().block_on(async {
            let client = connect(addr).await;
            let (parts, body) = fetch(&client, get("/items/7"), None).await;
            assert_eq!(parts.status, 200, "{backend:?}");
            assert_eq!(parts.headers["content-type"], "application/json");
            assert_eq!(body, r#"{"id":7}"#);
            let (parts, body) = fetch(&client, get("/items/seven"), None).await;
            assert_eq!(parts.status, 422, "{backend:?}");
            let detail: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                detail["detail"][0]["loc"],
                serde_json::json!(["path", "id"])
            );
        });
        server.shutdown_blocking();
    }
}
