//! A WebSocket for blocking handlers ([`serve_blocking`](crate::server::serve_blocking), the C
//! ABI): the socket runs on the worker in two tasks (one receives, one sends), and the host's
//! threads reach it through two bounded queues, blocking while a queue is empty or full.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use super::close::{CloseCode, CloseFrame};
use super::handshake::Handshake;
use super::message::Message;
use super::socket::{Limits, WebSocket, WsReader, WsWriter};
use crate::error::Result;
use crate::executor::spawn_local;
use crate::server::{Request, ResponseWriter, Upgraded};

/// How many messages each queue holds before its writer waits.
const QUEUE: usize = 16;

/// A WebSocket that a blocking handler accepted
/// ([`BlockingWriter::accept_websocket`](crate::server::BlockingWriter::accept_websocket)):
/// usable from any thread, after the handler returned too; dropping it closes the socket (1000)
/// unless it is closed already.
///
/// Pings are answered on the worker and neither pings nor pongs reach the host: `recv` gives
/// text, binary and the peer's close. `send` queues a message (blocking while 16 wait): an
/// error of a queued send surfaces on the next `send`.
pub struct BlockingWebSocket {
    bridge: Arc<Bridge>,
}

/// What the host's threads and the worker's two tasks share.
pub(crate) struct Bridge {
    state: Mutex<BridgeState>,
    /// Any change the host may wait for: the answer to the handshake, a message, room, the end.
    changed: Condvar,
}

#[derive(Default)]
struct BridgeState {
    /// The worker's answer to the handshake (`Err`: why the socket was not opened).
    accepted: Option<std::result::Result<(), String>>,
    /// Received, for the host.
    incoming: VecDeque<Message>,
    /// The receiving task ended: `Ok` at a clean end, else why.
    incoming_end: Option<std::result::Result<(), String>>,
    /// The receiving task, waiting for room in `incoming`.
    receiver: Option<Waker>,
    /// To send, from the host.
    outgoing: VecDeque<Message>,
    /// The sending task, waiting for a message.
    sender: Option<Waker>,
    /// The sending task ended (a send failed, or the worker dropped it): why.
    send_failed: Option<String>,
    /// The host dropped its handle.
    host_gone: bool,
}

impl Bridge {
    pub(crate) fn new() -> Arc<Bridge> {
        Arc::new(Bridge {
            state: Mutex::new(BridgeState::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BridgeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the state under the lock and wakes every host thread that waits.
    fn update<R>(&self, change: impl FnOnce(&mut BridgeState) -> R) -> R {
        let out = change(&mut self.lock());
        self.changed.notify_all();
        out
    }

    /// Blocks until the worker answered the handshake.
    pub(crate) fn wait_accepted(&self) -> io::Result<()> {
        let mut state = self.lock();
        loop {
            match &state.accepted {
                Some(Ok(())) => return Ok(()),
                Some(Err(why)) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, why.clone()));
                }
                None => state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    fn answer(&self, answer: std::result::Result<(), String>) {
        self.update(|state| {
            state.accepted.get_or_insert(answer);
        });
    }
}

/// The worker's half of an accept request: answers the host once, with a refusal if it is
/// dropped unanswered (the connection went away before the worker got to it).
pub(crate) struct Accept {
    bridge: Arc<Bridge>,
    protocol: Option<String>,
}

impl Accept {
    pub(crate) fn new(bridge: Arc<Bridge>, protocol: Option<String>) -> Accept {
        Accept { bridge, protocol }
    }

    /// Checks `req`'s opening handshake and upgrades: the socket's tasks are spawned and the
    /// host told; a refused handshake is answered (400, 426) and the host told why.
    ///
    /// # Errors
    ///
    /// The connection's errors while answering.
    pub(crate) async fn run(self, req: &Request, w: &mut ResponseWriter) -> Result<()> {
        let handshake = match Handshake::check(req) {
            Ok(handshake) => handshake,
            Err(refusal) => {
                self.bridge.answer(Err(refusal.to_string()));
                return w.send(refusal.into_response()).await;
            }
        };
        let accept = match handshake.accept(self.protocol.as_deref()) {
            Ok(accept) => accept,
            Err(err) => {
                self.bridge.answer(Err(err.to_string()));
                return Err(err);
            }
        };
        let io = match w.upgrade(accept).await {
            Ok(io) => io,
            Err(err) => {
                self.bridge.answer(Err(err.to_string()));
                return Err(err);
            }
        };
        let (reader, writer) = WebSocket::new(io, Limits::default()).split();
        let side = |receives| Side {
            bridge: self.bridge.clone(),
            receives,
        };
        spawn_local(receive(reader, side(true))).detach();
        spawn_local(send(writer, side(false))).detach();
        self.bridge.answer(Ok(()));
        Ok(())
    }
}

impl Drop for Accept {
    fn drop(&mut self) {
        self.bridge
            .answer(Err("the connection closed before the upgrade".to_owned()));
    }
}

/// One of the worker's two tasks: if it is dropped before it ended (the worker stopped), the
/// host learns that this side of the socket is gone.
struct Side {
    bridge: Arc<Bridge>,
    receives: bool,
}

impl Drop for Side {
    fn drop(&mut self) {
        const STOPPED: &str = "the server stopped";
        self.bridge.update(|state| {
            if self.receives {
                state.incoming_end.get_or_insert(Err(STOPPED.to_owned()));
            } else {
                state.send_failed.get_or_insert(STOPPED.to_owned());
            }
        });
    }
}

/// Receives and queues messages for the host (dropping them once it is gone), until the
/// socket ends.
async fn receive(mut reader: WsReader<Upgraded>, side: Side) {
    let bridge = &side.bridge;
    let end = loop {
        let message = match reader.recv().await {
            Ok(Some(Message::Ping(_) | Message::Pong(_))) => continue,
            Ok(Some(message)) => message,
            Ok(None) => break Ok(()),
            Err(err) => break Err(err.to_string()),
        };
        let mut message = Some(message);
        poll_fn(|cx| {
            let mut state = bridge.lock();
            if !state.host_gone && state.incoming.len() >= QUEUE {
                state.receiver = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if !state.host_gone
                && let Some(message) = message.take()
            {
                state.incoming.push_back(message);
            }
            drop(state);
            bridge.changed.notify_all();
            Poll::Ready(())
        })
        .await;
    };
    bridge.update(|state| state.incoming_end = Some(end));
}

/// Sends the host's messages in order; once the host is gone, closes (1000) unless closed.
async fn send(mut writer: WsWriter<Upgraded>, side: Side) {
    let bridge = &side.bridge;
    loop {
        let next = poll_fn(|cx| {
            let mut state = bridge.lock();
            if let Some(message) = state.outgoing.pop_front() {
                drop(state);
                bridge.changed.notify_all();
                return Poll::Ready(Some(message));
            }
            if state.host_gone {
                return Poll::Ready(None);
            }
            state.sender = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        let Some(message) = next else {
            let bye = CloseFrame {
                code: CloseCode::NORMAL,
                reason: String::new(),
            };
            // Closing already, or the peer is gone: nothing more to say either way.
            let _ = writer.send(Message::Close(Some(bye))).await;
            break;
        };
        if let Err(err) = writer.send(message).await {
            bridge.update(|state| state.send_failed = Some(err.to_string()));
            break;
        }
    }
}

impl BlockingWebSocket {
    pub(crate) fn new(bridge: Arc<Bridge>) -> BlockingWebSocket {
        BlockingWebSocket { bridge }
    }

    /// The next message from the peer (text, binary, or its close), blocking until one
    /// arrives; `None` once the socket ended cleanly.
    ///
    /// # Errors
    ///
    /// The socket failed (a broken frame from the peer, a reset, the server stopping).
    pub fn recv(&self) -> io::Result<Option<Message>> {
        let mut state = self.bridge.lock();
        loop {
            if let Some(message) = state.incoming.pop_front() {
                let receiver = state.receiver.take();
                drop(state);
                if let Some(receiver) = receiver {
                    receiver.wake();
                }
                return Ok(Some(message));
            }
            match &state.incoming_end {
                Some(Ok(())) => return Ok(None),
                Some(Err(why)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        why.clone(),
                    ));
                }
                None => {
                    state = self
                        .bridge
                        .changed
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// Queues `message` to be sent (text, binary, a ping, or a close that starts the close
    /// handshake), blocking while 16 messages wait.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` once sending failed (an earlier message could not be sent, the socket
    /// closed, the server stopped).
    pub fn send(&self, message: Message) -> io::Result<()> {
        let mut state = self.bridge.lock();
        loop {
            if let Some(why) = &state.send_failed {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, why.clone()));
            }
            if state.outgoing.len() < QUEUE {
                state.outgoing.push_back(message);
                let sender = state.sender.take();
                drop(state);
                if let Some(sender) = sender {
                    sender.wake();
                }
                return Ok(());
            }
            state = self
                .bridge
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Starts the close handshake with `code` and `reason`; [`recv`](Self::recv) then returns
    /// the peer's close, and `None`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn close(&self, code: CloseCode, reason: &str) -> io::Result<()> {
        self.send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned(),
        })))
    }
}

impl Drop for BlockingWebSocket {
    fn drop(&mut self) {
        let (receiver, sender) = self.bridge.update(|state| {
            state.host_gone = true;
            state.incoming.clear();
            (state.receiver.take(), state.sender.take())
        });
        for waker in [receiver, sender].into_iter().flatten() {
            waker.wake();
        }
    }
}

impl fmt::Debug for BlockingWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingWebSocket").finish_non_exhaustive()
    }
}
