//! Reference HTTP server: hyper 1.x on a tokio current-thread runtime (one thread).
//!
//! Usage: `hyper_raw [addr]` (default `127.0.0.1:8080`).
//!
//! TechEmpower's two raw routes: `GET /plaintext` → `Hello, World!` (`text/plain`) and
//! `GET /json` → `{"message":"Hello, World!"}` serialized per request with serde_json
//! (`application/json`); anything else → 404. Every response carries `server: hyper`;
//! hyper adds `date` itself. Connections are served by `http1::Builder` with
//! `pipeline_flush(true)`, as in the TechEmpower hyper entry. TCP_NODELAY on.
//! Prints `listening <addr>` on stdout once bound (flushed), and nothing else
//! except errors on stderr.
//!
//! With `TLS_CERT` and `TLS_KEY` (PEM files) set, it serves HTTPS through tokio-rustls, set up
//! as nanoapi's `tls` feature sets up rustls: the `ring` provider, ALPN `h2` and `http/1.1`,
//! session tickets; a client that picks `h2` is served by hyper's HTTP/2 connection (its
//! streams as tasks on the same current-thread runtime).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

static PLAINTEXT: &[u8] = b"Hello, World!";

fn respond(content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let len = body.len();
    let mut res = Response::new(Full::new(body));
    let h = res.headers_mut();
    h.insert(SERVER, HeaderValue::from_static("hyper"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    res
}

async fn route(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match req.uri().path() {
        "/plaintext" => respond("text/plain", Bytes::from_static(PLAINTEXT)),
        "/json" => {
            let body = serde_json::to_vec(&Message {
                message: "Hello, World!",
            })
            .expect("serialize");
            respond("application/json", Bytes::from(body))
        }
        _ => {
            let mut res = respond("text/plain", Bytes::from_static(b"Not Found"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    })
}

/// The TLS acceptor when `TLS_CERT` and `TLS_KEY` name PEM files.
fn tls_acceptor() -> Option<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    // Unset or empty (as benches/http.sh passes them without TLS=1): plain HTTP.
    let var = |name| std::env::var(name).ok().filter(|value: &String| !value.is_empty());
    let (cert, key) = (var("TLS_CERT")?, var("TLS_KEY")?);
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| nanoapi_bench_peers::fail("hyper_raw", "TLS_CERT", e));
    let key = PrivateKeyDer::from_pem_file(&key)
        .unwrap_or_else(|e| nanoapi_bench_peers::fail("hyper_raw", "TLS_KEY", e));
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap_or_else(|e| nanoapi_bench_peers::fail("hyper_raw", "certificate", e));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
    Some(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let tls = tls_acceptor();
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let listener = nanoapi_bench_peers::bind_tokio("hyper_raw", &addr).await;
        let mut http = http1::Builder::new();
        http.pipeline_flush(true);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: report and keep accepting.
                    eprintln!("hyper_raw: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            if let Some(tls) = tls.clone() {
                let http = http.clone();
                tokio::task::spawn(async move {
                    let Ok(stream) = tls.accept(stream).await else { return };
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        let h2 = hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        );
                        let _ = h2.serve_connection(TokioIo::new(stream), service_fn(route)).await;
                    } else {
                        let _ = http.serve_connection(TokioIo::new(stream), service_fn(route)).await;
                    }
                });
                continue;
            }
            let conn = http.serve_connection(TokioIo::new(stream), service_fn(route));
            tokio::task::spawn(async move {
                // Client resets at the end of a wrk run are expected: ignore errors.
                let _ = conn.await;
            });
        }
    });
}
