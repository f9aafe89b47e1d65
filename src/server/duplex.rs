//! An in-memory transport: two connected ends, bounded, single-threaded.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::{Bytes, BytesMut};
use nanoapi_executor::BufResult;

use super::Transport;

/// One end of an in-memory byte stream made by [`duplex`].
///
/// Each direction buffers at most `max_buffered` bytes: a sender waits while the other end has
/// not read, as over a socket, so backpressure paths are exercised too. Dropping an end (or
/// [`shutdown_write`](Transport::shutdown_write)) makes the other end read end of stream after
/// the buffered bytes. The ends work under any executor (they need no reactor) but stay on
/// one thread.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::server::Transport;
/// use nanoapi::server::testing::duplex;
///
/// nanoapi::executor::block_on(async {
///     let (client, server) = duplex(1024);
///     client.send_all(BytesMut::from(&b"ping"[..])).await.0.unwrap();
///     assert_eq!(&server.recv().await.unwrap()[..], b"ping");
/// });
/// ```
pub struct Duplex {
    incoming: Rc<RefCell<Pipe>>,
    outgoing: Rc<RefCell<Pipe>>,
}

/// One direction.
struct Pipe {
    bytes: VecDeque<Bytes>,
    buffered: usize,
    max_buffered: usize,
    /// The writing end shut down or went away.
    closed: bool,
    /// The reading end went away: sends fail.
    reader_gone: bool,
    /// Whoever waits on this pipe: the reader for bytes, or the writer for room.
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// Two connected in-memory ends; each direction buffers up to `max_buffered` bytes.
pub fn duplex(max_buffered: usize) -> (Duplex, Duplex) {
    let pipe = || {
        Rc::new(RefCell::new(Pipe {
            bytes: VecDeque::new(),
            buffered: 0,
            max_buffered: max_buffered.max(1),
            closed: false,
            reader_gone: false,
            reader: None,
            writer: None,
        }))
    };
    let (a_to_b, b_to_a) = (pipe(), pipe());
    (
        Duplex {
            incoming: b_to_a.clone(),
            outgoing: a_to_b.clone(),
        },
        Duplex {
            incoming: a_to_b,
            outgoing: b_to_a,
        },
    )
}

impl Duplex {
    /// Sends `bytes` without waiting for room; for tests that script a peer byte by byte.
    pub fn push(&self, bytes: impl Into<Bytes>) {
        let mut pipe = self.outgoing.borrow_mut();
        let bytes = bytes.into();
        pipe.buffered += bytes.len();
        pipe.bytes.push_back(bytes);
        if let Some(waker) = pipe.reader.take() {
            waker.wake();
        }
    }

    /// Reads until end of stream and returns everything.
    ///
    /// # Errors
    ///
    /// Never for a duplex; the signature matches [`Transport::recv`].
    pub async fn read_to_end(&self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        loop {
            let chunk = self.recv().await?;
            if chunk.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(&chunk);
        }
    }
}

impl Transport for Duplex {
    type Chunk = Bytes;

    fn recv(&self) -> impl Future<Output = io::Result<Bytes>> {
        poll_fn(|cx| {
            let mut pipe = self.incoming.borrow_mut();
            if let Some(bytes) = pipe.bytes.pop_front() {
                pipe.buffered -= bytes.len();
                if let Some(waker) = pipe.writer.take() {
                    waker.wake();
                }
                return Poll::Ready(Ok(bytes));
            }
            if pipe.closed {
                return Poll::Ready(Ok(Bytes::new()));
            }
            pipe.reader = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        let mut buf = Some(buf);
        poll_fn(move |cx| {
            let mut pipe = self.outgoing.borrow_mut();
            let Some(mut pending) = buf.take() else {
                return Poll::Ready((Ok(()), BytesMut::new()));
            };
            if pipe.reader_gone {
                return Poll::Ready((Err(io::ErrorKind::BrokenPipe.into()), pending));
            }
            if pipe.closed {
                return Poll::Ready((Err(io::Error::other("send after shutdown_write")), pending));
            }
            let room = pipe.max_buffered.saturating_sub(pipe.buffered);
            if room > 0 {
                let n = room.min(pending.len());
                let chunk = Bytes::copy_from_slice(&pending[..n]);
                pipe.buffered += n;
                pipe.bytes.push_back(chunk);
                if let Some(waker) = pipe.reader.take() {
                    waker.wake();
                }
                let _ = pending.split_to(n);
            }
            if pending.is_empty() {
                pending.clear();
                return Poll::Ready((Ok(()), pending));
            }
            pipe.writer = Some(cx.waker().clone());
            buf = Some(pending);
            Poll::Pending
        })
    }

    fn shutdown_write(&self) -> io::Result<()> {
        let mut pipe = self.outgoing.borrow_mut();
        pipe.closed = true;
        if let Some(waker) = pipe.reader.take() {
            waker.wake();
        }
        Ok(())
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        let _ = self.shutdown_write();
        let mut incoming = self.incoming.borrow_mut();
        incoming.reader_gone = true;
        if let Some(waker) = incoming.writer.take() {
            waker.wake();
        }
    }
}

impl fmt::Debug for Duplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("unread", &self.incoming.borrow().buffered)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{block_on, spawn_local};

    #[test]
    fn bytes_arrive_in_order_and_end_with_the_writer() {
        block_on(async {
            let (a, b) = duplex(8);
            let writer = spawn_local(async move {
                for part in [&b"hello "[..], b"duplex ", b"world"] {
                    a.send_all(BytesMut::from(part)).await.0.unwrap();
                }
            });
            assert_eq!(b.read_to_end().await.unwrap(), b"hello duplex world");
            writer.await.unwrap();
        });
    }

    #[test]
    fn a_full_pipe_makes_the_sender_wait_for_the_reader() {
        block_on(async {
            let (a, b) = duplex(4);
            let a = Rc::new(a);
            let sender = a.clone();
            let send =
                spawn_local(
                    async move { sender.send_all(BytesMut::from(&b"0123456789"[..])).await.0 },
                );
            crate::executor::yield_now().await;
            assert!(!send.is_finished(), "10 bytes do not fit in 4");
            let mut got = Vec::new();
            while got.len() < 10 {
                got.extend_from_slice(&b.recv().await.unwrap());
            }
            assert_eq!(got, b"0123456789");
            send.await.unwrap().unwrap();
        });
    }

    #[test]
    fn sending_to_a_dropped_end_is_a_broken_pipe() {
        block_on(async {
            let (a, b) = duplex(4);
            drop(b);
            let (res, _) = a.send_all(BytesMut::from(&b"x"[..])).await;
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        });
    }
}
