//! `nanoapi_writer`: how the host answers during its callback, a whole response or a chunked
//! stream. Every call copies what it is given, so the host's buffers are free on return.

use std::ffi::c_int;
use std::io;

use bytes::Bytes;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::BlockingWriter;
use nanoapi::ws::BlockingWebSocket;

use crate::error::{Failure, guard};
use crate::types::{header_slice, nanoapi_header, nanoapi_str};

/// The response side of a request, valid only during the dispatch callback it was passed to.
/// One response per request: [`nanoapi_writer_send`], or [`nanoapi_writer_start_chunked`],
/// any number of [`nanoapi_writer_write_chunk`], then [`nanoapi_writer_end_chunked`].
#[derive(Debug)]
pub struct nanoapi_writer {
    /// Where the calls go, borrowed for the whole callback.
    sink: Sink,
    state: WriterState,
}

/// Where a writer's calls go.
#[derive(Debug)]
pub(crate) enum Sink {
    /// Pool mode: the pool job's writer (frames to the worker over a bounded channel).
    Pool(*mut BlockingWriter),
    /// Inline mode: the response collected on the worker, sent once the callback returned.
    Inline(*mut Collected),
}

/// What an inline callback answered: the head, and the chunks of a chunked response.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) head: Option<Response>,
    pub(crate) chunks: Option<Vec<Bytes>>,
}

/// The operations of a writer, on either sink.
enum Op {
    Send(Response),
    StartChunked(Response),
    WriteChunk(Bytes),
    EndChunked,
}

/// Where a writer is in its one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterState {
    /// Nothing sent.
    Ready,
    /// A chunked head was sent; chunks may follow.
    Streaming,
    /// The response is complete (or the connection failed): nothing more may be sent.
    Done,
}

impl nanoapi_writer {
    /// A writer for one callback over `sink`.
    pub(crate) fn new(sink: Sink) -> nanoapi_writer {
        nanoapi_writer {
            sink,
            state: WriterState::Ready,
        }
    }

    /// Where the response stands once the callback returned.
    pub(crate) fn state(&self) -> WriterState {
        self.state
    }

    /// Runs `op` on the underlying writer if the writer is in `expected`, then moves to `next`
    /// (or to `Done` if the connection failed).
    fn step(&mut self, expected: WriterState, next: WriterState, op: Op) -> Result<(), Failure> {
        if self.state != expected {
            return Err(Failure::state(match self.state {
                WriterState::Ready => "no chunked response was started",
                WriterState::Streaming => "a chunked response is in progress",
                WriterState::Done => "the response was already sent",
            }));
        }
        let done = match self.sink {
            Sink::Pool(writer) => {
                // SAFETY: the pool job's writer, exclusively lent to this view for the
                // callback, during which the host may call us (see `nanoapi_writer`).
                let writer = unsafe { &mut *writer };
                match op {
                    Op::Send(response) => writer.send(response),
                    Op::StartChunked(head) => writer.start_chunked(head),
                    Op::WriteChunk(chunk) => writer.write_chunk(chunk),
                    Op::EndChunked => writer.end_chunked(),
                }
            }
            Sink::Inline(collected) => {
                // SAFETY: the inline dispatch's collection, on its frame, exclusively lent to
                // this view for the callback (the state check above keeps the order).
                let collected = unsafe { &mut *collected };
                match op {
                    Op::Send(response) => collected.head = Some(response),
                    Op::StartChunked(head) => {
                        collected.head = Some(head);
                        collected.chunks = Some(Vec::new());
                    }
                    Op::WriteChunk(chunk) => collected.chunks.get_or_insert_default().push(chunk),
                    Op::EndChunked => {}
                }
                Ok(())
            }
        };
        match done {
            Ok(()) => {
                self.state = next;
                Ok(())
            }
            Err(err) => {
                self.state = WriterState::Done;
                Err(Failure::closed(&err))
            }
        }
    }
}

impl nanoapi_writer {
    /// Accepts the request's WebSocket handshake instead of a response (the writer is done
    /// either way): a refused handshake was answered by the library and is the host's
    /// `NANOAPI_ERR_INVALID`.
    pub(crate) fn accept_websocket(
        &mut self,
        protocol: Option<&str>,
    ) -> Result<BlockingWebSocket, Failure> {
        if self.state != WriterState::Ready {
            return Err(Failure::state("a response was already started"));
        }
        let Sink::Pool(writer) = self.sink else {
            return Err(Failure::state(
                "a WebSocket needs the pool mode (nanoapi_server_set_dispatch)",
            ));
        };
        self.state = WriterState::Done;
        // SAFETY: as in `step`: the pool job's writer, lent to this view for the callback.
        let writer = unsafe { &mut *writer };
        writer
            .accept_websocket(protocol)
            .map_err(|err| match err.kind() {
                io::ErrorKind::InvalidInput => Failure::invalid(err.to_string()),
                _ => Failure::closed(&err),
            })
    }
}

/// The writer behind `w`.
///
/// # Safety
///
/// `w` must be NULL or the writer passed to the running callback.
pub(crate) unsafe fn view<'a>(w: *mut nanoapi_writer) -> Result<&'a mut nanoapi_writer, Failure> {
    // SAFETY: a non-null `w` is the callback's writer, on the dispatching frame for the
    // whole callback; the host uses it from the callback's thread only.
    unsafe { w.as_mut() }.ok_or_else(|| Failure::invalid("w is NULL"))
}

/// Sends a whole response: `status`, a `Content-Type` (none if `content_type` is empty), the
/// `n_headers` fields at `headers` (several of the same name allowed, e.g. `Set-Cookie`) and
/// `body`. The runtime adds `Content-Length`, `Date`, `Server` and `Connection`; those and
/// `Transfer-Encoding` may not be given.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for a status outside 100..=999 or an invalid header field (CR/LF in a
/// value, a framing field); `NANOAPI_ERR_STATE` if a response was already sent;
/// `NANOAPI_ERR_CLOSED` if the connection is gone.
///
/// # Safety
///
/// `w` must be the writer passed to the running callback (or NULL); every string must be
/// valid for reading; `headers` must point to `n_headers` fields (or be NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_writer_send(
    w: *mut nanoapi_writer,
    status: u16,
    content_type: nanoapi_str,
    headers: *const nanoapi_header,
    n_headers: usize,
    body: nanoapi_str,
) -> c_int {
    guard("nanoapi_writer_send", || {
        // SAFETY: forwarded from the caller.
        let w = unsafe { view(w) }?;
        // SAFETY: forwarded from the caller.
        let mut response = unsafe { head(status, content_type, headers, n_headers) }?;
        // SAFETY: forwarded from the caller.
        response.set_body(Bytes::copy_from_slice(unsafe { body.as_bytes() }));
        w.step(WriterState::Ready, WriterState::Done, Op::Send(response))
    })
}

/// Starts a chunked response (close-delimited for an HTTP/1.0 client): sends the head with
/// `status`, `content_type` and `headers` as [`nanoapi_writer_send`] does.
///
/// # Errors
///
/// As [`nanoapi_writer_send`].
///
/// # Safety
///
/// As [`nanoapi_writer_send`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_writer_start_chunked(
    w: *mut nanoapi_writer,
    status: u16,
    content_type: nanoapi_str,
    headers: *const nanoapi_header,
    n_headers: usize,
) -> c_int {
    guard("nanoapi_writer_start_chunked", || {
        // SAFETY: forwarded from the caller.
        let w = unsafe { view(w) }?;
        // SAFETY: forwarded from the caller.
        let response = unsafe { head(status, content_type, headers, n_headers) }?;
        w.step(
            WriterState::Ready,
            WriterState::Streaming,
            Op::StartChunked(response),
        )
    })
}

/// Sends one chunk of a started chunked response. It reaches the socket before the next
/// chunk is taken; an empty chunk is skipped. Blocks while the client is slow to read.
///
/// # Errors
///
/// `NANOAPI_ERR_STATE` if no chunked response was started (or it ended);
/// `NANOAPI_ERR_CLOSED` if the connection is gone.
///
/// # Safety
///
/// `w` as for [`nanoapi_writer_send`]; `chunk` must be valid for reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_writer_write_chunk(
    w: *mut nanoapi_writer,
    chunk: nanoapi_str,
) -> c_int {
    guard("nanoapi_writer_write_chunk", || {
        // SAFETY: forwarded from the caller.
        let w = unsafe { view(w) }?;
        // SAFETY: forwarded from the caller.
        let chunk = Bytes::copy_from_slice(unsafe { chunk.as_bytes() });
        w.step(
            WriterState::Streaming,
            WriterState::Streaming,
            Op::WriteChunk(chunk),
        )
    })
}

/// Ends a chunked response.
///
/// # Errors
///
/// As [`nanoapi_writer_write_chunk`].
///
/// # Safety
///
/// `w` as for [`nanoapi_writer_send`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_writer_end_chunked(w: *mut nanoapi_writer) -> c_int {
    guard("nanoapi_writer_end_chunked", || {
        // SAFETY: forwarded from the caller.
        let w = unsafe { view(w) }?;
        w.step(WriterState::Streaming, WriterState::Done, Op::EndChunked)
    })
}

/// A response with `status`, a `Content-Type` (unless empty) and the host's fields, no body.
///
/// # Safety
///
/// The strings and `headers` as for [`nanoapi_writer_send`].
pub(crate) unsafe fn head(
    status: u16,
    content_type: nanoapi_str,
    headers: *const nanoapi_header,
    n_headers: usize,
) -> Result<Response, Failure> {
    let status = StatusCode::from_u16(status)
        .map_err(|err| Failure::invalid(format!("status {status}: {err}")))?;
    let mut response = Response::new(status);
    let fields = response.headers_mut();
    // SAFETY: forwarded from the caller.
    let content_type = unsafe { content_type.as_bytes() };
    if !content_type.is_empty() {
        fields
            .append("Content-Type", Bytes::copy_from_slice(content_type))
            .map_err(|err| Failure::invalid(err.to_string()))?;
    }
    // SAFETY: forwarded from the caller.
    for field in unsafe { header_slice(headers, n_headers) } {
        // SAFETY: forwarded from the caller.
        let (name, value) = unsafe { (field.name.as_bytes(), field.value.as_bytes()) };
        fields
            .append(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value))
            .map_err(|err| Failure::invalid(err.to_string()))?;
    }
    Ok(response)
}
