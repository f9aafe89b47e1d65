//! HTTPS (feature `tls`) over real sockets on both backends, with a rustls client: the
//! handshake and ALPN, keep-alive and large bodies over the session, SNI, resumption, reload,
//! a client that stalls in the handshake, and bad input.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nanoapi::executor::Backend;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::tls::TlsConfig;
use nanoapi::server::{Options, Request, ResponseWriter, ServerHandle, Timeouts};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, StreamOwned};

/// `/echo` answers the request body; anything else `hello`.
async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    if req.path() == b"/echo" {
        let body = req.read_to_end().await?;
        return w.send(Response::text(StatusCode::OK, body)).await;
    }
    w.send(Response::text(StatusCode::OK, "hello")).await
}

/// A self-signed certificate for `names`, as PEM (certificate, key) and DER (to trust it).
struct Cert {
    pem: String,
    key: String,
    der: CertificateDer<'static>,
}

fn cert(names: &[&str]) -> Cert {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    Cert {
        pem: made.cert.pem(),
        key: made.signing_key.serialize_pem(),
        der: made.cert.der().clone(),
    }
}

fn serve(backend: Backend, tls: TlsConfig, timeouts: Timeouts) -> ServerHandle {
    let mut options = Options::default()
        .port(0)
        .workers(1)
        .backend(backend)
        .tls(tls);
    options.timeouts = timeouts;
    nanoapi::serve(options, (), dispatch).unwrap()
}

/// A client trusting `trusted`, offering ALPN `http/1.1`, with rustls' default session cache.
fn client_config(trusted: &[&Cert]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.der.clone()).unwrap();
    }
    // Deprecated in rustls 0.23.48 (no post-quantum key exchange); the server uses it too.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn connect(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> Tls {
    let tcp = common::connect(addr);
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let session = ClientConnection::new(config.clone(), name).unwrap();
    StreamOwned::new(session, tcp)
}

/// Sends one request and reads one response (`Content-Length` framed): (head, body).
fn exchange(tls: &mut Tls, request: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
    Ok(exchange_n(tls, request, 1)?.remove(0))
}

/// Sends `request` (one or more requests) and reads `n` responses, and nothing beyond them.
fn exchange_n(tls: &mut Tls, request: &[u8], n: usize) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    tls.write_all(request)?;
    tls.flush()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut read_more = |got: &mut Vec<u8>| -> std::io::Result<()> {
        let read = tls.read(&mut buf)?;
        assert!(read > 0, "the server closed before the whole response");
        got.extend_from_slice(&buf[..read]);
        Ok(())
    };
    let mut responses = Vec::new();
    let mut at = 0;
    while responses.len() < n {
        let head_end = loop {
            if let Some(end) = got[at..].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + end + 4;
            }
            read_more(&mut got)?;
        };
        let head = String::from_utf8(got[at..head_end].to_vec()).unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .expect("a Content-Length")
            .parse()
            .unwrap();
        while got.len() < head_end + length {
            read_more(&mut got)?;
        }
        responses.push((head, got[head_end..head_end + length].to_vec()));
        at = head_end + length;
    }
    assert_eq!(got.len(), at, "bytes beyond the responses");
    Ok(responses)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[test]
fn requests_are_served_over_tls_with_keep_alive_and_alpn() {
    let cert = cert(&["localhost"]);
    let tls = TlsConfig::from_pem(cert.pem.as_bytes(), cert.key.as_bytes()).unwrap();
    for backend in common::backends() {
        let server = serve(backend, tls.clone(), Timeouts::default());
        let config = client_config(&[&cert]);
        let mut client = connect(server.local_addr(), &config, "localhost");
        for _ in 0..3 {
            let (head, body) = exchange(&mut client, GET).unwrap();
            assert!(
                head.starts_with("HTTP/1.1 200 OK\r\n"),
                "{backend:?}: {head}"
            );
            assert_eq!(body, b"hello");
        }
        assert_eq!(client.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        // A body larger than many TLS records, both ways.
        let upload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut request = format!(
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
            upload.len()
        )
        .into_bytes();
        request.extend_from_slice(&upload);
        let (head, body) = exchange(&mut client, &request).unwrap();
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\n"),
            "{backend:?}: {head}"
        );
        assert!(body == upload, "{backend:?}: the echoed body differs");
        // Pipelined requests in one write are answered in order.
        let answers = exchange_n(&mut client, &GET.repeat(3), 3).unwrap();
        assert!(
            answers.iter().all(|(_, body)| body == b"hello"),
            "{backend:?}"
        );
        // `Connection: close`: the response, then the server's close_notify and end of stream.
        let (head, _) = exchange(
            &mut client,
            b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        assert!(head.contains("Connection: close"), "{head}");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        server.shutdown_blocking();
    }
}

#[test]
fn the_certificate_follows_the_server_name() {
    let default = cert(&["localhost"]);
    let api = cert(&["api.test"]);
    let wildcard = cert(&["*.apps.test"]);
    let tls = TlsConfig::from_pem(default.pem.as_bytes(), default.key.as_bytes())
        .unwrap()
        .sni_pem("api.test", api.pem.as_bytes(), api.key.as_bytes())
        .unwrap()
        .sni_pem(
            "*.apps.test",
            wildcard.pem.as_bytes(),
            wildcard.key.as_bytes(),
        )
        .unwrap();
    for backend in common::backends() {
        let server = serve(backend, tls.clone(), Timeouts::default());
        let addr = server.local_addr();
        // Each client trusts one certificate only: the handshake succeeds only if the server
        // chose that one.
        for (name, trusted) in [
            ("localhost", &default),
            ("api.test", &api),
            ("one.apps.test", &wildcard),
        ] {
            let mut client = connect(addr, &client_config(&[trusted]), name);
            let (head, _) = exchange(&mut client, GET).unwrap();
            assert!(
                head.starts_with("HTTP/1.1 200 OK\r\n"),
                "{backend:?} {name}: {head}"
            );
        }
        // A name with no certificate of its own gets the default, which the client rejects.
        let mut client = connect(addr, &client_config(&[&api]), "other.test");
        let err = exchange(&mut client, GET).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidData,
            "{backend:?}: {err}"
        );
        // The server goes on serving.
        let mut client = connect(addr, &client_config(&[&default]), "localhost");
        exchange(&mut client, GET).unwrap();
        server.shutdown_blocking();
    }
}

#[test]
fn a_second_connection_resumes_the_session() {
    let cert = cert(&["localhost"]);
    let tls = TlsConfig::from_pem(cert.pem.as_bytes(), cert.key.as_bytes()).unwrap();
    for backend in common::backends() {
        let server = serve(backend, tls.clone(), Timeouts::default());
        let config = client_config(&[&cert]);
        let mut first = connect(server.local_addr(), &config, "localhost");
        // The response's arrival means the tickets sent after the handshake arrived before it.
        exchange(&mut first, GET).unwrap();
        assert_eq!(first.conn.handshake_kind(), Some(HandshakeKind::Full));
        let mut second = connect(server.local_addr(), &config, "localhost");
        exchange(&mut second, GET).unwrap();
        assert_eq!(
            second.conn.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{backend:?}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn reload_serves_new_certificates_to_new_connections_only() {
    let dir = std::env::temp_dir().join(format!("nanoapi-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let write = |cert: &Cert| {
        std::fs::write(&cert_path, &cert.pem).unwrap();
        std::fs::write(&key_path, &cert.key).unwrap();
    };
    for backend in common::backends() {
        let (old, new) = (cert(&["localhost"]), cert(&["localhost"]));
        write(&old);
        let tls = TlsConfig::from_pem_files(&cert_path, &key_path).unwrap();
        let server = serve(backend, tls.clone(), Timeouts::default());
        let addr = server.local_addr();
        let mut open = connect(addr, &client_config(&[&old]), "localhost");
        exchange(&mut open, GET).unwrap();
        write(&new);
        tls.reload().unwrap();
        let mut fresh = connect(addr, &client_config(&[&new]), "localhost");
        exchange(&mut fresh, GET).unwrap();
        let mut stale = connect(addr, &client_config(&[&old]), "localhost");
        assert!(exchange(&mut stale, GET).is_err(), "{backend:?}");
        // The connection opened before the reload is still served.
        exchange(&mut open, GET).unwrap();
        server.shutdown_blocking();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_that_stalls_in_the_handshake_is_closed_at_the_header_timeout() {
    let cert = cert(&["localhost"]);
    let tls = TlsConfig::from_pem(cert.pem.as_bytes(), cert.key.as_bytes()).unwrap();
    let mut timeouts = Timeouts::default();
    timeouts.header = Duration::from_millis(300);
    for backend in common::backends() {
        let server = serve(backend, tls.clone(), timeouts.clone());
        let mut stalled = common::connect(server.local_addr());
        // Half a ClientHello record header, then nothing.
        stalled.write_all(&[0x16, 0x03]).unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let n = common::read_some(&mut stalled, &mut buf).unwrap_or(0);
        let waited = started.elapsed();
        assert_eq!(n, 0, "{backend:?}: the server sent {:?}", &buf[..n]);
        assert!(
            waited >= Duration::from_millis(250),
            "{backend:?}: closed after {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(4),
            "{backend:?}: closed after {waited:?}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn plain_http_to_the_tls_port_gets_an_alert_and_a_close() {
    let cert = cert(&["localhost"]);
    let tls = TlsConfig::from_pem(cert.pem.as_bytes(), cert.key.as_bytes()).unwrap();
    for backend in common::backends() {
        let server = serve(backend, tls.clone(), Timeouts::default());
        let mut plain = common::connect(server.local_addr());
        plain.write_all(GET).unwrap();
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer);
        // A TLS alert record (content type 21), never an HTTP response.
        assert_eq!(answer.first(), Some(&0x15), "{backend:?}: {answer:?}");
        assert!(!answer.starts_with(b"HTTP"));
        let mut client = connect(server.local_addr(), &client_config(&[&cert]), "localhost");
        exchange(&mut client, GET).unwrap();
        server.shutdown_blocking();
    }
}
