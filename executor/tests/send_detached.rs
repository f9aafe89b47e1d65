//! `TcpStream::start_send`: sends nobody awaits (io_uring) or made at once (poll), their order,
//! their buffers, their errors, and a stream dropped while one is in flight.

mod common;

use std::cell::Cell;
use std::future::poll_fn;

use bytes::BytesMut;

use nanoapi_executor::{Backend, spawn_local};

thread_local! {
    /// Buffers handed back by finished sends, and their lengths.
    static RETURNED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

fn returned(buf: BytesMut) {
    RETURNED.with(|r| {
        let (count, bytes) = r.get();
        r.set((count + 1, bytes + buf.len()));
    });
}

/// `len` bytes counting up from `from` (mod 251), so that order and gaps show.
fn pattern(from: usize, len: usize) -> BytesMut {
    (from..from + len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()[..]
        .into()
}

#[test]
fn started_sends_arrive_whole_and_in_order_and_give_their_buffers_back() {
    common::on_each_backend(|backend| async move {
        let (server, client) = common::pair().await;
        RETURNED.with(|r| r.set((0, 0)));
        // Larger than the socket buffers: the kernel takes them in parts while the peer reads.
        let sizes = [100, 4 * 1024 * 1024, 7, 1024 * 1024];
        let total: usize = sizes.iter().sum();
        let reader = spawn_local(async move {
            let mut got = Vec::with_capacity(total);
            while got.len() < total {
                let chunk = client.read_pooled().await.unwrap();
                assert!(!chunk.is_empty(), "end of stream after {} bytes", got.len());
                got.extend_from_slice(&chunk);
            }
            got
        });
        let mut offset = 0;
        let mut started = 0;
        // Buffers handed to `returned`: every started send's, and on poll every partly sent one
        // (its rest comes back in a buffer of its own).
        let mut given_back = 0;
        for len in sizes {
            poll_fn(|cx| server.poll_sent(cx)).await.unwrap();
            match server.start_send(pattern(offset, len), returned) {
                Ok(()) => {
                    started += 1;
                    given_back += 1;
                }
                Err(rest) => {
                    assert_eq!(backend, Backend::Poll, "io_uring starts every send");
                    assert!(rest == pattern(offset + len - rest.len(), rest.len()));
                    if rest.len() < len {
                        given_back += 1;
                    }
                    server.write_all(rest).await.0.unwrap();
                }
            }
            offset += len;
        }
        poll_fn(|cx| server.poll_sent(cx)).await.unwrap();
        let got = reader.await.unwrap();
        assert!(
            got == pattern(0, total)[..],
            "{backend:?}: bytes out of order"
        );
        let (count, bytes) = RETURNED.with(Cell::get);
        assert_eq!(
            count, given_back,
            "{backend:?}: every started or partly made send gave its buffer back"
        );
        if started == sizes.len() {
            assert_eq!(bytes, total);
        }
    });
}

#[test]
fn on_poll_a_send_is_made_at_once_as_far_as_the_socket_takes_it() {
    common::on_each_backend(|backend| async move {
        if backend != Backend::Poll {
            return;
        }
        let (server, _client) = common::pair().await;
        RETURNED.with(|r| r.set((0, 0)));
        // An empty socket buffer takes a small send whole: done, the buffer given back.
        server.start_send(pattern(0, 100), returned).unwrap();
        assert_eq!(RETURNED.with(Cell::get), (1, 100));
        // The peer reads nothing: 16 MiB cannot all fit, and what did not is handed back, the
        // bytes that follow the ones sent; the buffer itself goes back whole.
        let big = 16 * 1024 * 1024;
        let rest = server.start_send(pattern(100, big), returned).unwrap_err();
        assert!(!rest.is_empty() && rest.len() < big, "{} left", rest.len());
        let sent = big - rest.len();
        assert!(rest == pattern(100 + sent, rest.len()), "the unsent tail");
        assert_eq!(RETURNED.with(Cell::get), (2, 100 + big));
        // The socket is full now: the next send comes back whole, its buffer not given back.
        let next = server.start_send(pattern(0, 10), returned).unwrap_err();
        assert!(next == pattern(0, 10));
        assert_eq!(RETURNED.with(Cell::get), (2, 100 + big));
    });
}

#[test]
fn a_second_send_waits_for_the_first() {
    common::on_each_backend(|backend| async move {
        if backend != Backend::IoUring {
            return;
        }
        let (server, _client) = common::pair().await;
        // The peer reads nothing: 16 MiB cannot all fit in the socket buffers.
        server
            .start_send(pattern(0, 16 * 1024 * 1024), returned)
            .unwrap();
        let second = server.start_send(pattern(0, 10), returned);
        assert!(second.is_err(), "one send in flight at a time");
    });
}

#[test]
fn a_started_send_to_a_reset_peer_reports_its_error() {
    common::on_each_backend(|_| async move {
        let (server, client) = common::pair().await;
        let sock = socket2::SockRef::from(&client);
        sock.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        // On loopback the reset reaches the server's socket within this close.
        drop(client);
        server.start_send(pattern(0, 64 * 1024), returned).unwrap();
        let res = poll_fn(|cx| server.poll_sent(cx)).await;
        assert!(
            res.is_err(),
            "the error of a started send is reported: {res:?}"
        );
        let again = poll_fn(|cx| server.poll_sent(cx)).await;
        assert!(again.is_ok(), "reported once");
    });
}

#[test]
fn dropping_a_stream_with_a_send_in_flight_cancels_it_and_closes_the_fd() {
    common::on_each_backend(|backend| async move {
        if backend != Backend::IoUring {
            return;
        }
        let before = common::open_fds();
        let (server, client) = common::pair().await;
        // The peer reads nothing, so the send stays in the kernel until cancelled.
        server
            .start_send(pattern(0, 16 * 1024 * 1024), returned)
            .unwrap();
        drop(server);
        drop(client);
        // The cancellation's completion frees the slot and closes the fd at the next park.
        for _ in 0..100 {
            if common::open_fds() <= before {
                break;
            }
            nanoapi_executor::yield_now().await;
        }
        assert!(common::open_fds() <= before, "the fd was closed");
    });
}
