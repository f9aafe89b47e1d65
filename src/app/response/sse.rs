//! Server-sent events: [`EventSource`] streams [`Event`]s as `text/event-stream`, with
//! periodic keep-alive comments; [`LastEventId`] tells the handler where a reconnecting client
//! left off.
//!
//! The wire format is the HTML standard's (§9.2 "Server-sent events"): an event is a block of
//! `field: value` lines ended by an empty line. Lines end with LF. Three characters end a
//! line for the client (CR, LF, CRLF), so a value is never allowed to carry one into another
//! field: multi-line `data` and comments are split into one line each, and `event` and `id`,
//! which cannot be split, refuse them.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
#[cfg(feature = "validation")]
use schemars::{Schema, SchemaGenerator};
use serde::Serialize;

use super::IntoResponse;
use super::stream::{MapItems, set_header, stream_error};
use crate::app::doc::{OperationDoc, ParamLocation, ParamsDoc};
use crate::app::extract::{FromRequestParts, Rejection, RequestContext, RequestParts};
use crate::executor::time::{Sleep, sleep};
use crate::http::{Body, HeaderList, Response, StatusCode};

/// One server-sent event: any of `event`, `data`, `id`, `retry` and a comment.
///
/// # Panics
///
/// [`event`](Event::event) and [`id`](Event::id) panic on a value with CR or LF (and `id` on
/// NUL, which makes clients ignore it): those fields cannot be split over lines, and letting
/// the characters through would let a value inject fields of its own. They are names and
/// identifiers the program chooses; `data`, which carries content, takes anything.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nanoapi::app::Event;
///
/// let event = Event::default()
///     .event("update")
///     .id("42")
///     .retry(Duration::from_secs(3))
///     .data("line one\nline two");
/// assert_eq!(
///     event.to_bytes(),
///     "event: update\nid: 42\nretry: 3000\ndata: line one\ndata: line two\n\n"
/// );
/// assert_eq!(Event::default().comment("hi").to_bytes(), ": hi\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    comment: Option<String>,
}

impl Event {
    /// An event carrying `data` (split into one `data:` line per line).
    pub fn data(mut self, data: impl Into<String>) -> Event {
        self.data = Some(data.into());
        self
    }

    /// An event carrying `value` serialized as JSON (always one line).
    ///
    /// # Errors
    ///
    /// `value` does not serialize.
    pub fn json_data<T: Serialize>(self, value: &T) -> Result<Event, serde_json::Error> {
        Ok(self.data(serde_json::to_string(value)?))
    }

    /// The event type (`event:`), which the client dispatches on.
    ///
    /// # Panics
    ///
    /// If `event` has CR or LF.
    pub fn event(mut self, event: impl Into<String>) -> Event {
        let event = event.into();
        assert!(
            !event.contains(['\r', '\n']),
            "an SSE event name cannot contain CR or LF: {event:?}"
        );
        self.event = Some(event);
        self
    }

    /// The event id (`id:`), which the client sends back as `Last-Event-ID` when it
    /// reconnects.
    ///
    /// # Panics
    ///
    /// If `id` has CR, LF or NUL.
    pub fn id(mut self, id: impl Into<String>) -> Event {
        let id = id.into();
        assert!(
            !id.contains(['\r', '\n', '\0']),
            "an SSE event id cannot contain CR, LF or NUL: {id:?}"
        );
        self.id = Some(id);
        self
    }

    /// The client's reconnection delay (`retry:`, in whole milliseconds).
    pub fn retry(mut self, retry: Duration) -> Event {
        self.retry = Some(retry);
        self
    }

    /// A comment (`: text`, one line per line), which clients ignore.
    pub fn comment(mut self, comment: impl Into<String>) -> Event {
        self.comment = Some(comment.into());
        self
    }

    /// The event as it goes on the wire, ending with the empty line that dispatches it.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64 + self.data.as_ref().map_or(0, String::len));
        if let Some(comment) = &self.comment {
            for line in lines(comment) {
                out.put_slice(b":");
                if !line.is_empty() {
                    out.put_slice(b" ");
                    out.put_slice(line.as_bytes());
                }
                out.put_slice(b"\n");
            }
        }
        if let Some(event) = &self.event {
            field(&mut out, "event", event);
        }
        if let Some(id) = &self.id {
            field(&mut out, "id", id);
        }
        if let Some(retry) = self.retry {
            field(&mut out, "retry", &retry.as_millis().to_string());
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                field(&mut out, "data", line);
            }
        }
        out.put_slice(b"\n");
        out.freeze()
    }
}

/// Appends `name: value\n`. The space after the colon is the one a client strips, so a value
/// that starts with a space keeps it.
fn field(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_slice(b"\n");
}

/// The lines of `text` as a client would split them: at CRLF, CR or LF.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

/// How often an idle event stream sends a comment, so proxies and clients do not time the
/// connection out: by default every 15 s without an event, as `: keep-alive`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nanoapi::app::KeepAlive;
///
/// let keep_alive = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// # let _ = keep_alive;
/// ```
#[derive(Debug, Clone)]
pub struct KeepAlive {
    interval: Duration,
    comment: Bytes,
}

impl Default for KeepAlive {
    fn default() -> KeepAlive {
        KeepAlive::new()
    }
}

impl KeepAlive {
    /// Every 15 s, `: keep-alive`.
    pub fn new() -> KeepAlive {
        KeepAlive {
            interval: Duration::from_secs(15),
            comment: Event::default().comment("keep-alive").to_bytes(),
        }
    }

    /// How long the stream may be idle before a comment is sent.
    ///
    /// # Panics
    ///
    /// If `interval` is zero.
    pub fn interval(mut self, interval: Duration) -> KeepAlive {
        assert!(
            !interval.is_zero(),
            "a keep-alive interval must be non-zero"
        );
        self.interval = interval;
        self
    }

    /// The comment's text (split into lines like any comment).
    pub fn text(mut self, text: impl Into<String>) -> KeepAlive {
        self.comment = Event::default().comment(text).to_bytes();
        self
    }
}

/// A `text/event-stream` response: every [`Event`] of a stream goes to the client, as one
/// chunk, as soon as it is produced, with `Cache-Control: no-cache`; when no event comes for
/// the [`KeepAlive`] interval (15 s by default), a comment goes instead.
///
/// The stream ends the response when it ends; an error from it
/// ([`try_new`](EventSource::try_new)) closes the connection.
///
/// # Examples
///
/// ```
/// use futures_util::{StreamExt, stream};
/// use nanoapi::app::{App, Event, EventSource, LastEventId};
///
/// async fn ticks(LastEventId(last): LastEventId) -> EventSource {
///     let start = last.and_then(|id| id.parse::<u32>().ok()).map_or(0, |n| n + 1);
///     let events = stream::iter(start..start + 2)
///         .map(|n| Event::default().id(n.to_string()).data(format!("tick {n}")));
///     EventSource::new(events)
/// }
///
/// let client = App::new().get("/ticks", ticks).test_client();
/// let (resp, chunks) = client.get("/ticks").header("Last-Event-ID", "6").send_streamed();
/// assert_eq!(resp.header("content-type"), Some("text/event-stream"));
/// assert_eq!(chunks, ["id: 7\ndata: tick 7\n\n", "id: 8\ndata: tick 8\n\n"]);
/// ```
pub struct EventSource {
    events: Pin<Box<dyn Stream<Item = io::Result<Event>>>>,
    keep_alive: Option<KeepAlive>,
    headers: HeaderList,
}

impl EventSource {
    /// An event stream of `events`.
    pub fn new<S: Stream<Item = Event> + 'static>(events: S) -> EventSource {
        EventSource::from_events(Box::pin(MapItems::new(events, Ok)))
    }

    /// An event stream of the `Ok` items of `events`; the first `Err` ends the response and
    /// closes the connection.
    pub fn try_new<S, E>(events: S) -> EventSource
    where
        S: Stream<Item = Result<Event, E>> + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        EventSource::from_events(Box::pin(MapItems::new(events, |item: S::Item| {
            item.map_err(stream_error)
        })))
    }

    fn from_events(events: Pin<Box<dyn Stream<Item = io::Result<Event>>>>) -> EventSource {
        let mut headers = HeaderList::with_capacity(2);
        // Static, valid fields: appending cannot fail.
        let _ = headers.append("Content-Type", "text/event-stream");
        let _ = headers.append("Cache-Control", "no-cache");
        EventSource {
            events,
            keep_alive: Some(KeepAlive::new()),
            headers,
        }
    }

    /// Changes the keep-alive comments.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> EventSource {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// Sends no keep-alive comments.
    pub fn without_keep_alive(mut self) -> EventSource {
        self.keep_alive = None;
        self
    }

    /// Adds a header field (`X-Accel-Buffering: no` for nginx, say); an invalid one is logged
    /// and ignored.
    pub fn header(mut self, name: &str, value: impl Into<Bytes>) -> EventSource {
        set_header(&mut self.headers, name, value.into(), false);
        self
    }
}

impl IntoResponse for EventSource {
    fn into_response(self) -> Response {
        let body = SseBody {
            events: self.events,
            keep_alive: self.keep_alive.map(|keep_alive| Idle {
                timer: sleep(keep_alive.interval),
                keep_alive,
            }),
        };
        Response::from_parts(StatusCode::OK, self.headers, Body::stream(body))
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("text/event-stream");
    }
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("keep_alive", &self.keep_alive)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The body of an [`EventSource`]: events as they come, a keep-alive comment whenever the
/// stream has been idle for the interval.
struct SseBody {
    events: Pin<Box<dyn Stream<Item = io::Result<Event>>>>,
    keep_alive: Option<Idle>,
}

/// The idle timer, restarted by every event and every comment.
struct Idle {
    timer: Sleep,
    keep_alive: KeepAlive,
}

impl Idle {
    fn restart(&mut self) {
        self.timer.reset(Instant::now() + self.keep_alive.interval);
    }
}

impl Stream for SseBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => {
                if let Some(idle) = &mut this.keep_alive {
                    idle.restart();
                }
                Poll::Ready(Some(Ok(event.to_bytes())))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let Some(idle) = &mut this.keep_alive else {
                    return Poll::Pending;
                };
                match Pin::new(&mut idle.timer).poll(cx) {
                    Poll::Ready(()) => {
                        idle.restart();
                        Poll::Ready(Some(Ok(idle.keep_alive.comment.clone())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// The `Last-Event-ID` a reconnecting client sends: the `id` of the last event it received
/// (`None` on a first connection).
///
/// # Examples
///
/// See [`EventSource`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

/// How `Last-Event-ID` appears in the OpenAPI document: an optional header parameter (field
/// names stand for header names with `_` as `-`).
#[cfg(feature = "validation")]
fn last_event_id_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "properties": { "last_event_id": { "type": "string" } }
    })
}

#[cfg(not(feature = "validation"))]
fn last_event_id_schema() {}

impl<S> FromRequestParts<S> for LastEventId {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(LastEventId(
            req.header("last-event-id")
                .map(|id| String::from_utf8_lossy(id).into_owned()),
        ))
    }

    fn describe(doc: &mut OperationDoc) {
        doc.params.push(ParamsDoc {
            location: ParamLocation::Header,
            schema: last_event_id_schema,
        });
    }
}
