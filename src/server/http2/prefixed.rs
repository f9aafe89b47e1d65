//! A transport whose first receive was already made: the bytes a server read to tell HTTP/2's
//! preface from an HTTP/1.1 request, given back first.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;
use nanoapi_executor::BufResult;

use crate::server::{ShutdownSignal, Transport};

/// `io` with `first` (its first receive) to be received again.
pub(crate) struct Prefixed<T: Transport> {
    first: RefCell<Option<T::Chunk>>,
    io: T,
}

impl<T: Transport> Prefixed<T> {
    pub(crate) fn new(first: T::Chunk, io: T) -> Prefixed<T> {
        Prefixed {
            first: RefCell::new(Some(first)),
            io,
        }
    }
}

impl<T: Transport> Transport for Prefixed<T> {
    type Chunk = T::Chunk;

    async fn recv(&self) -> io::Result<T::Chunk> {
        let first = self.first.borrow_mut().take();
        match first {
            Some(first) => Ok(first),
            None => self.io.recv().await,
        }
    }

    fn send_all(&self, buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        self.io.send_all(buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.io.shutdown_write()
    }

    fn shutdown_signal(&self) -> Option<&ShutdownSignal> {
        self.io.shutdown_signal()
    }

    fn start_send(&self, buf: BytesMut, done: fn(BytesMut)) -> Result<(), BytesMut> {
        self.io.start_send(buf, done)
    }

    fn poll_started(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_started(cx)
    }
}
