//! Many concurrent echo connections, byte-exact, on one worker and on all workers.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nanoapi_executor::net::{TcpListener, TcpStream};
use nanoapi_executor::{Backend, Runtime, spawn_local};

const CONNECTIONS: usize = 1000;
const ROUNDS: usize = 5;

/// Serves echo on `listener` until `n` connections have been served.
async fn serve_echo(listener: TcpListener, n: usize) {
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (stream, _) = listener.accept().await.expect("accept");
        handles.push(spawn_local(async move {
            loop {
                let chunk = stream.read_pooled().await.expect("server read");
                if chunk.is_empty() {
                    return;
                }
                stream.write_all(chunk).await.0.expect("server write");
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

/// One client: `ROUNDS` messages whose bytes depend on the client and the round, each read
/// back in full and compared.
async fn client(addr: SocketAddr, id: usize) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    for round in 0..ROUNDS {
        let len = 1 + (id * 7 + round * 13) % 3000;
        let msg: Vec<u8> = (0..len).map(|i| (i * 31 + id + round) as u8).collect();
        stream.write_all(msg.clone()).await.0.expect("client write");
        let mut got = Vec::with_capacity(len);
        while got.len() < len {
            let (res, buf) = stream.read(got).await;
            got = buf;
            assert!(res.expect("client read") > 0, "server closed early");
            got.reserve(len - got.len());
        }
        assert_eq!(got, msg, "client {id} round {round}");
    }
}

fn echo_on_one_worker(backend: Backend) {
    Runtime::builder()
        .backend(backend)
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spawn_local(serve_echo(listener, CONNECTIONS));
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|id| spawn_local(client(addr, id)))
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        })
        .unwrap();
}

#[test]
fn thousand_connections_on_one_worker() {
    common::raise_fd_limit();
    for backend in common::backends() {
        echo_on_one_worker(backend);
    }
}

#[test]
fn thousand_connections_on_all_workers() {
    common::raise_fd_limit();
    for backend in common::backends() {
        let rt = Runtime::builder()
            .workers(2)
            .backend(backend)
            .build()
            .unwrap();
        // One listener per worker on one port (SO_REUSEPORT): worker 0 binds port 0, the
        // others reuse the port it got. The kernel spreads the connections between them.
        let bind = |addr: SocketAddr| TcpListener::builder(addr).reuse_port(true).bind().unwrap();
        let served = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let accept_loop =
            move |listener: TcpListener, served: Arc<[AtomicUsize; 2]>, worker: usize| async move {
                loop {
                    let (stream, _) = listener.accept().await.expect("accept");
                    served[worker].fetch_add(1, Ordering::SeqCst);
                    spawn_local(async move {
                        loop {
                            let chunk = stream.read_pooled().await.expect("server read");
                            if chunk.is_empty() {
                                return;
                            }
                            stream.write_all(chunk).await.0.expect("server write");
                        }
                    })
                    .detach();
                }
            };
        let served0 = served.clone();
        rt.handle()
            .spawn_on(0, move || async move {
                let listener = bind("127.0.0.1:0".parse().unwrap());
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                accept_loop(listener, served0, 0).await;
            })
            .detach();
        let addr = addr_rx.recv().unwrap();
        let served1 = served.clone();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        rt.handle()
            .spawn_on(1, move || async move {
                let listener = bind(addr);
                bound_tx.send(()).unwrap();
                accept_loop(listener, served1, 1).await;
            })
            .detach();
        bound_rx.recv().unwrap();

        let per_worker = CONNECTIONS / 2;
        let clients = rt.handle().spawn_on_each(move |worker| async move {
            let handles: Vec<_> = (0..per_worker)
                .map(|i| spawn_local(client(addr, worker * per_worker + i)))
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        for client in clients {
            rt.block_on(async move { client.await.unwrap() });
        }
        let counts = [
            served[0].load(Ordering::SeqCst),
            served[1].load(Ordering::SeqCst),
        ];
        assert_eq!(counts[0] + counts[1], CONNECTIONS);
        assert!(
            counts.iter().all(|&n| n > 0),
            "both workers accepted connections: {counts:?}"
        );
    }
}
