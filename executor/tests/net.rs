//! Socket behaviours beyond echo: IPv6, resets, half-close, addresses, options.

mod common;

use std::net::Shutdown;

use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::spawn_local;

async fn pair(addr: &str) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(addr).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = spawn_local(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, peer) = listener.accept().await.unwrap();
    let client = client.await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    (server, client)
}

#[test]
fn ipv6_loopback_serves_like_ipv4() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: nothing to check");
        return;
    }
    common::on_each_backend(|_| async {
        let (server, client) = pair("[::1]:0").await;
        assert!(server.local_addr().unwrap().is_ipv6());
        client.write_all(&b"over v6"[..]).await.0.unwrap();
        let got = server.read_pooled().await.unwrap();
        assert_eq!(&got[..], b"over v6");
    });
}

#[test]
fn a_peer_reset_is_an_error_not_a_panic() {
    common::on_each_backend(|_| async {
        let (server, client) = pair("127.0.0.1:0").await;
        // SO_LINGER with a zero timeout makes close send RST instead of FIN.
        socket2::SockRef::from(&client)
            .set_linger(Some(std::time::Duration::ZERO))
            .unwrap();
        drop(client);
        let err = server.read_pooled().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        // After the reset the stream reads end of stream; writes fail, without a signal.
        let (res, _) = server.read(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap(), 0);
        assert!(server.write_all(&b"late"[..]).await.0.is_err());
    });
}

#[test]
fn shutdown_write_lets_the_peer_read_to_the_end_and_still_answer() {
    common::on_each_backend(|_| async {
        let (server, client) = pair("127.0.0.1:0").await;
        client.write_all(&b"request"[..]).await.0.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        loop {
            let chunk = server.read_pooled().await.unwrap();
            if chunk.is_empty() {
                break;
            }
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, b"request");
        server.write_all(&b"response"[..]).await.0.unwrap();
        drop(server);
        let (res, buf) = client.read(Vec::with_capacity(64)).await;
        assert_eq!(res.unwrap(), 8);
        assert_eq!(buf, b"response");
    });
}

#[test]
fn writev_all_sends_every_buffer_in_order() {
    common::on_each_backend(|_| async {
        let (server, client) = pair("127.0.0.1:0").await;
        let parts: Vec<bytes::Bytes> = (0..300)
            .map(|i| bytes::Bytes::from(vec![i as u8; 1 + i % 700]))
            .collect();
        let expected: Vec<u8> = parts.iter().flat_map(|b| b.iter().copied()).collect();
        let writer = spawn_local(async move {
            client.writev_all(parts).await.0.unwrap();
            client
        });
        let mut got = Vec::new();
        while got.len() < expected.len() {
            got.extend_from_slice(&server.read_pooled().await.unwrap());
        }
        assert_eq!(got, expected);
        drop(writer.await.unwrap());
    });
}

#[test]
fn nodelay_is_set_and_read_back() {
    common::on_each_backend(|_| async {
        let (server, _client) = pair("127.0.0.1:0").await;
        server.set_nodelay(true).unwrap();
        assert!(server.nodelay().unwrap());
        server.set_nodelay(false).unwrap();
        assert!(!server.nodelay().unwrap());
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    common::on_each_backend(|_| async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}
