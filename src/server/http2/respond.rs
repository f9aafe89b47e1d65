//! The HTTP/2 side of [`ResponseWriter`](crate::server::ResponseWriter): a response's head as
//! HEADERS, its body as DATA frames within the client's flow-control window, trailer fields as
//! trailing HEADERS.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::Poll;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, SendStream};

use crate::error::{Error, Result};
use crate::http::{HeaderList, StatusCode, http_date};

/// The bytes of a `Date` value.
type DateBytes = [u8; crate::http::DATE_VALUE_LENGTH];

/// Header fields that belong to one HTTP/1.1 connection and have no meaning in HTTP/2
/// (RFC 9113 §8.2.2): never sent on a stream.
pub(super) const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// One stream's response as the writer sends it.
pub(crate) struct StreamResponse {
    state: RefCell<State>,
    /// The server's `Server` value, shared by the connection's streams.
    server: Option<http::HeaderValue>,
}

enum State {
    /// Nothing sent yet.
    Unsent(SendResponse<Bytes>),
    /// The head is out; the body goes on.
    Body {
        stream: SendStream<Bytes>,
        /// Chunks queued and not yet handed to the codec.
        queued: VecDeque<Bytes>,
        /// How the stream ends once `queued` is sent, when the writer has said so.
        end: Option<End>,
    },
    /// The stream ended (END_STREAM or a reset).
    Done,
}

/// How a body ends.
enum End {
    /// An empty DATA frame with END_STREAM.
    Plain,
    /// Trailing HEADERS.
    Trailers(http::HeaderMap),
}

impl StreamResponse {
    /// The response to `respond`, with `server` as the `Server` field of heads that have none.
    pub(crate) fn new(respond: SendResponse<Bytes>, server: Option<http::HeaderValue>) -> Self {
        StreamResponse {
            state: RefCell::new(State::Unsent(respond)),
            server,
        }
    }

    /// Sends the head: `status`, the `Date`, the server's `Server` unless `fields` has its
    /// own, `fields` less the connection-specific ones, and `content-length` when `length` is
    /// known. `end` when no body follows.
    ///
    /// # Errors
    ///
    /// A head already sent, a field HTTP/2 cannot carry, or the stream gone (the client reset
    /// it).
    pub(crate) fn send_head(
        &self,
        status: StatusCode,
        fields: &HeaderList,
        length: Option<u64>,
        end: bool,
    ) -> Result<()> {
        let server = self.server.as_ref().filter(|_| !fields.has_server());
        let head = response_head(status, fields, length, server)?;
        self.send_prepared_head(head, end)
    }

    /// Sends a head built by [`response_head`] (the `Date` is added here).
    pub(crate) fn send_prepared_head(&self, mut head: http::Response<()>, end: bool) -> Result<()> {
        if let Some(date) = date_value() {
            head.headers_mut().insert(http::header::DATE, date);
        }
        let mut state = self.state.borrow_mut();
        let State::Unsent(respond) = &mut *state else {
            return Err(Error::new("the response head was already sent"));
        };
        let sent = respond.send_response(head, end);
        *state = match sent {
            Ok(_) if end => State::Done,
            Ok(stream) => State::Body {
                stream,
                queued: VecDeque::new(),
                end: None,
            },
            Err(err) => {
                *state = State::Done;
                return Err(h2_error(err));
            }
        };
        Ok(())
    }

    /// Sends a body held whole in memory and ends the stream, without waiting for the window:
    /// the codec keeps what the window does not allow yet (the body is in memory anyway).
    ///
    /// # Errors
    ///
    /// The stream gone.
    pub(crate) fn send_whole(&self, body: Bytes) -> Result<()> {
        let mut state = self.state.borrow_mut();
        let State::Body { stream, .. } = &mut *state else {
            return Err(Error::new("no response body is under way"));
        };
        let sent = stream.send_data(body, true);
        *state = State::Done;
        sent.map_err(h2_error)
    }

    /// Queues one piece of a streamed body (sent by [`flush`](StreamResponse::flush)).
    pub(crate) fn queue(&self, chunk: Bytes) {
        if let State::Body { queued, .. } = &mut *self.state.borrow_mut()
            && !chunk.is_empty()
        {
            queued.push_back(chunk);
        }
    }

    /// Queues the end of a streamed body, with `trailers` as trailing HEADERS when there are
    /// some.
    pub(crate) fn queue_end(&self, trailers: Option<&HeaderList>) {
        let end = match trailers {
            Some(trailers) if !trailers.is_empty() => match header_map(trailers) {
                Ok(map) => End::Trailers(map),
                Err(err) => {
                    log::debug!("HTTP/2 trailers left out: {err}");
                    End::Plain
                }
            },
            _ => End::Plain,
        };
        if let State::Body { end: slot, .. } = &mut *self.state.borrow_mut() {
            *slot = Some(end);
        }
    }

    /// Whether queued chunks or a queued end wait for [`flush`](StreamResponse::flush).
    pub(crate) fn has_queued(&self) -> bool {
        matches!(&*self.state.borrow(), State::Body { queued, end, .. } if !queued.is_empty() || end.is_some())
    }

    /// Sends what is queued as the client's window allows, then the end if it was queued.
    ///
    /// # Errors
    ///
    /// The stream gone (the client reset it or the connection closed).
    pub(crate) async fn flush(&self) -> Result<()> {
        loop {
            let step = poll_fn(|cx| {
                let mut state = self.state.borrow_mut();
                let State::Body {
                    stream,
                    queued,
                    end,
                } = &mut *state
                else {
                    return Poll::Ready(Ok(false));
                };
                let Some(chunk) = queued.front_mut() else {
                    let sent = match end.take() {
                        None => return Poll::Ready(Ok(false)),
                        Some(End::Plain) => stream.send_data(Bytes::new(), true),
                        Some(End::Trailers(map)) => stream.send_trailers(map),
                    };
                    *state = State::Done;
                    return Poll::Ready(sent.map(|()| false).map_err(h2_error));
                };
                stream.reserve_capacity(chunk.len());
                let granted = match stream.poll_capacity(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        return Poll::Ready(Err(Error::new(
                            "the stream closed while its response was sent",
                        )));
                    }
                    Poll::Ready(Some(granted)) => granted.map_err(h2_error)?,
                };
                if granted > 0 {
                    let part = chunk.split_to(granted.min(chunk.len()));
                    if chunk.is_empty() {
                        queued.pop_front();
                    }
                    stream.send_data(part, false).map_err(h2_error)?;
                }
                Poll::Ready(Ok(true))
            })
            .await?;
            if !step {
                return Ok(());
            }
        }
    }

    /// Whether the stream ended (the whole response sent, or reset).
    pub(crate) fn is_done(&self) -> bool {
        matches!(*self.state.borrow(), State::Done)
    }

    /// Ends a stream whose response cannot be completed: RST_STREAM(INTERNAL_ERROR).
    pub(crate) fn reset(&self) {
        match std::mem::replace(&mut *self.state.borrow_mut(), State::Done) {
            State::Unsent(mut respond) => respond.send_reset(Reason::INTERNAL_ERROR),
            State::Body { mut stream, .. } => stream.send_reset(Reason::INTERNAL_ERROR),
            State::Done => {}
        }
    }
}

/// The HTTP/2 head of a response (no `Date`: it is added when sent), with `server` as its
/// `Server` field when given.
///
/// # Errors
///
/// A field HTTP/2 cannot carry.
pub(crate) fn response_head(
    status: StatusCode,
    fields: &HeaderList,
    length: Option<u64>,
    server: Option<&http::HeaderValue>,
) -> Result<http::Response<()>> {
    let mut head = http::Response::new(());
    *head.status_mut() = http::StatusCode::from_u16(status.as_u16()).map_err(Error::new)?;
    let headers = head.headers_mut();
    *headers = header_map(fields)?;
    if let Some(server) = server {
        headers.insert(http::header::SERVER, server.clone());
    }
    if let Some(length) = length {
        headers.insert(http::header::CONTENT_LENGTH, length_value(length));
    }
    Ok(head)
}

/// A `Server` value for HTTP/2 heads.
pub(crate) fn server_value(server: Option<&[u8]>) -> Option<http::HeaderValue> {
    server.and_then(|server| http::HeaderValue::from_bytes(server).ok())
}

/// HTTP/2 header fields for a response's, less the connection-specific ones; the values share
/// the list's buffers (a `&'static str` value costs no copy).
fn header_map(fields: &HeaderList) -> Result<http::HeaderMap> {
    let fields = fields.iter_shared();
    // Room for `Date`, `Server` and `content-length` too.
    let mut map = http::HeaderMap::with_capacity(fields.len() + 3);
    for (name, value) in fields {
        let name = http::HeaderName::from_bytes(name).map_err(Error::new)?;
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            continue;
        }
        let value = http::HeaderValue::from_maybe_shared(value.clone()).map_err(Error::new)?;
        map.append(name, value);
    }
    Ok(map)
}

/// The current `Date` value, built once per second on each thread.
fn date_value() -> Option<http::HeaderValue> {
    thread_local! {
        static DATE: RefCell<Option<(DateBytes, http::HeaderValue)>> = const { RefCell::new(None) };
    }
    let now = http_date();
    DATE.with(|cached| {
        let mut cached = cached.borrow_mut();
        match &*cached {
            Some((date, value)) if *date == now => Some(value.clone()),
            _ => {
                let value = http::HeaderValue::from_bytes(&now).ok()?;
                *cached = Some((now, value.clone()));
                Some(value)
            }
        }
    })
}

/// A `content-length` value; the last one built on this thread is reused (responses of one
/// route tend to have one length).
fn length_value(length: u64) -> http::HeaderValue {
    thread_local! {
        static LAST: RefCell<Option<(u64, http::HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((cached, value)) if *cached == length => value.clone(),
            _ => {
                let value = http::HeaderValue::from(length);
                *last = Some((length, value.clone()));
                value
            }
        }
    })
}

pub(super) fn h2_error(err: h2::Error) -> Error {
    Error::new(err.to_string())
}
