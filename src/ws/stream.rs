//! The `futures` faces of a socket: the receiving half as a [`Stream`] of messages
//! ([`WsReader::into_stream`]), the sending half (and the whole socket) as a [`Sink`] of
//! messages, for code written against those traits (`forward`, `select`, combinators).
//! `recv` and `send` stay the allocation-free way; each message through these faces costs one
//! boxed future.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_sink::Sink;

use super::close::{CloseCode, CloseFrame};
use super::message::Message;
use super::socket::{WebSocket, WsReader, WsWriter};
use crate::server::Transport;

/// A send started through the `Sink` face.
pub(super) type PendingSend = Pin<Box<dyn Future<Output = io::Result<()>>>>;

/// The next receive of a [`Messages`] stream, which owns the reader until it completes.
type PendingRecv<T> = Pin<Box<dyn Future<Output = (WsReader<T>, io::Result<Option<Message>>)>>>;

/// The messages of a [`WsReader`] as a [`Stream`] ([`WsReader::into_stream`]): each item is
/// what [`recv`](WsReader::recv) returns; the stream ends when the socket closes, after an
/// error item if it failed.
pub struct Messages<T> {
    reader: Option<WsReader<T>>,
    next: Option<PendingRecv<T>>,
}

impl<T: Transport + 'static> WsReader<T> {
    /// This reader as a [`Stream`] of messages.
    ///
    /// # Examples
    ///
    /// An echo through `forward`, the writer being the [`Sink`]:
    ///
    /// ```no_run
    /// use futures_util::{StreamExt, TryStreamExt};
    /// use nanoapi::server::Upgraded;
    /// use nanoapi::ws::{Message, WebSocket};
    ///
    /// async fn echo(socket: WebSocket<Upgraded>) -> std::io::Result<()> {
    ///     let (reader, writer) = socket.split();
    ///     reader
    ///         .into_stream()
    ///         .try_filter(|m| std::future::ready(matches!(m, Message::Text(_) | Message::Binary(_))))
    ///         .forward(writer)
    ///         .await
    /// }
    /// ```
    pub fn into_stream(self) -> Messages<T> {
        Messages {
            reader: Some(self),
            next: None,
        }
    }
}

impl<T: Transport + 'static> Stream for Messages<T> {
    type Item = io::Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = match &mut this.next {
            Some(next) => next,
            None => {
                let Some(mut reader) = this.reader.take() else {
                    return Poll::Ready(None);
                };
                this.next.insert(Box::pin(async move {
                    let received = reader.recv().await;
                    (reader, received)
                }))
            }
        };
        let (reader, received) = ready!(next.as_mut().poll(cx));
        this.next = None;
        Poll::Ready(match received {
            Ok(Some(message)) => {
                this.reader = Some(reader);
                Some(Ok(message))
            }
            // The reader is dropped: the stream has ended.
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        })
    }
}

impl<T> fmt::Debug for Messages<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages")
            .field("receiving", &self.next.is_some())
            .field("ended", &(self.reader.is_none() && self.next.is_none()))
            .finish()
    }
}

impl<T: Transport + 'static> WsWriter<T> {
    /// Drives the send the `Sink` face started, if any, to its end.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(pending) = &mut self.pending else {
            return Poll::Ready(Ok(()));
        };
        let sent = ready!(pending.as_mut().poll(cx));
        self.pending = None;
        Poll::Ready(sent)
    }

    fn start(&mut self, message: Message) {
        let link = self.link.clone();
        self.pending = Some(Box::pin(async move { link.deliver(message).await }));
    }
}

/// Messages sent whole, one at a time: `start_send` begins a send that `poll_ready` and
/// `poll_flush` drive; `poll_close` sends a normal close (1000) unless the close handshake
/// started.
impl<T: Transport + 'static> Sink<Message> for WsWriter<T> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> io::Result<()> {
        self.get_mut().start(message);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if !this.link.is_open() {
            return Poll::Ready(Ok(()));
        }
        this.start(Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new(),
        })));
        this.poll_pending(cx)
    }
}

/// The socket's sending half as a [`Sink`] (see [`WsWriter`]'s).
impl<T: Transport + 'static> Sink<Message> for WebSocket<T> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().writer_mut()).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> io::Result<()> {
        Pin::new(self.get_mut().writer_mut()).start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().writer_mut()).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().writer_mut()).poll_close(cx)
    }
}

impl<T> fmt::Debug for WsWriter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsWriter")
            .field("sending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}
