//! Reading a request body: `Content-Length` or chunked, bounded, with `100 Continue` sent when
//! the body is first wanted; and `RequestBody`, the body moved out of its request.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use bytes::{Buf, Bytes};

use super::request::BodySource;
use crate::error::{Error, Result};
use crate::http::{BodyFraming, Chunk, ChunkedDecoder, ChunkedLimits, StatusCode};

/// A request's body reader, where the request keeps it: inline (no allocation) until a
/// reader that must outlive the request's borrow takes it, then shared with that reader.
pub(crate) enum BodySlot {
    Here(BodyReader),
    Shared(Rc<RefCell<BodyReader>>),
}

impl BodySlot {
    /// Runs `f` on the reader (skipped while a read through the shared handle is under way).
    pub(crate) fn with(&mut self, f: impl FnOnce(&mut BodyReader)) {
        match self {
            BodySlot::Here(reader) => f(reader),
            BodySlot::Shared(shared) => {
                if let Ok(mut reader) = shared.try_borrow_mut() {
                    f(&mut reader);
                }
            }
        }
    }

    /// Reads from the reader; a read under way elsewhere counts as "not done, unknown size".
    pub(crate) fn with_ref<R: Default>(&self, f: impl FnOnce(&BodyReader) -> R) -> R {
        match self {
            BodySlot::Here(reader) => f(reader),
            BodySlot::Shared(shared) => shared.try_borrow().map(|r| f(&r)).unwrap_or_default(),
        }
    }
}

/// How far a body has been read, and where its bytes come from.
pub(crate) struct BodyReader {
    framing: BodyFraming,
    /// Bytes of a `Content-Length` body still to read.
    remaining: u64,
    decoder: Option<ChunkedDecoder>,
    limit: u64,
    expect_continue: bool,
    started: bool,
    done: bool,
    source: Option<Rc<dyn BodySource>>,
}

impl BodyReader {
    pub(crate) fn new(
        framing: BodyFraming,
        limit: u64,
        expect_continue: bool,
        source: Rc<dyn BodySource>,
    ) -> BodyReader {
        let remaining = match framing {
            BodyFraming::Length(n) => n,
            _ => 0,
        };
        BodyReader {
            framing,
            remaining,
            decoder: None,
            limit,
            expect_continue,
            started: false,
            done: framing == BodyFraming::None,
            source: Some(source),
        }
    }

    /// A reader of no body (a placeholder while a reader moves).
    pub(crate) fn empty() -> BodyReader {
        BodyReader {
            framing: BodyFraming::None,
            remaining: 0,
            decoder: None,
            limit: 0,
            expect_continue: false,
            started: false,
            done: true,
            source: None,
        }
    }

    /// Sets the limit; only before the first read.
    pub(crate) fn set_limit(&mut self, limit: u64) {
        if !self.started {
            self.limit = limit;
        }
    }

    /// Bytes of a `Content-Length` body still unread.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.framing {
            BodyFraming::Length(_) if !self.done => Some(self.remaining),
            _ => None,
        }
    }

    /// Whether the body was read to its end (or there is none).
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    /// Whether the client waits for a `100 Continue` before it sends the body.
    pub(crate) fn awaits_continue(&self) -> bool {
        !self.started
            && !self.done
            && self.expect_continue
            && self
                .source
                .as_ref()
                .is_some_and(|source| source.buffered().is_empty())
    }

    /// The next piece of the body, `None` at its end. A failed read (a stall, malformed
    /// framing, over the limit) leaves the body's end unknown: the source is told, so the
    /// response says `Connection: close` whoever answers it.
    pub(crate) async fn read_chunk(&mut self) -> Result<Option<Bytes>> {
        let read = self.read_next().await;
        if read.is_err()
            && let Some(source) = &self.source
        {
            source.read_failed();
        }
        read
    }

    async fn read_next(&mut self) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let Some(source) = self.source.clone() else {
            return Ok(None);
        };
        if !self.started {
            self.start(&*source).await?;
        }
        match self.framing {
            BodyFraming::None => Ok(None),
            BodyFraming::Length(_) => self.read_length_chunk(&*source).await,
            BodyFraming::Chunked => self.read_chunked_chunk(&*source).await,
        }
    }

    async fn start(&mut self, source: &dyn BodySource) -> Result<()> {
        self.started = true;
        if let BodyFraming::Length(n) = self.framing
            && n > self.limit
        {
            return Err(Error::with_status(
                StatusCode::CONTENT_TOO_LARGE,
                "request body over the limit",
            ));
        }
        if self.framing == BodyFraming::Chunked {
            self.decoder = Some(ChunkedDecoder::new(ChunkedLimits {
                max_body: self.limit,
                ..ChunkedLimits::default()
            }));
        }
        // RFC 9110 §10.1.1: answer 100 only once the body is wanted, and not if its first bytes
        // are already here (the client did not wait).
        if self.expect_continue && source.buffered().is_empty() {
            source.send_continue().await?;
        }
        Ok(())
    }

    async fn read_length_chunk(&mut self, source: &dyn BodySource) -> Result<Option<Bytes>> {
        loop {
            if self.remaining == 0 {
                self.done = true;
                return Ok(None);
            }
            {
                let mut buffered = source.buffered();
                if !buffered.is_empty() {
                    let n = usize::try_from(self.remaining)
                        .unwrap_or(usize::MAX)
                        .min(buffered.len());
                    self.remaining -= n as u64;
                    return Ok(Some(buffered.split_to(n).freeze()));
                }
            }
            if source.fill().await? == 0 {
                return Err(Error::with_status(
                    StatusCode::BAD_REQUEST,
                    "request body ended before its Content-Length",
                ));
            }
        }
    }

    async fn read_chunked_chunk(&mut self, source: &dyn BodySource) -> Result<Option<Bytes>> {
        let decoder = self
            .decoder
            .as_mut()
            .expect("a chunked body has its decoder once started");
        loop {
            {
                let mut buffered = source.buffered();
                let (consumed, chunk) = decoder.decode(&buffered)?;
                match chunk {
                    Chunk::Data(data) => {
                        let start = data.as_ptr() as usize - buffered.as_ptr() as usize;
                        let len = data.len();
                        return Ok(Some(
                            buffered
                                .split_to(consumed)
                                .freeze()
                                .slice(start..start + len),
                        ));
                    }
                    Chunk::Done => {
                        buffered.advance(consumed);
                        self.done = true;
                        return Ok(None);
                    }
                    Chunk::NeedMore => buffered.advance(consumed),
                }
            }
            if source.fill().await? == 0 {
                return Err(Error::with_status(
                    StatusCode::BAD_REQUEST,
                    "chunked request body ended early",
                ));
            }
        }
    }
}

/// A request's body, moved out of the request by
/// [`Request::take_body`](super::Request::take_body): read it after the request's borrow ends
/// (a handler's streamed-body argument). Whatever is left unread when the response is done is
/// drained by the connection, as for a body read in place.
///
/// Read it within the request's dispatch: once the connection moves on to the next request,
/// reads fail.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Request;
///
/// nanoapi::executor::block_on(async {
///     let mut req = Request::from_parts("POST", "/", &[], "hello").unwrap();
///     let mut body = req.take_body();
///     assert_eq!(body.read_chunk().await.unwrap().as_deref(), Some(&b"hello"[..]));
///     assert_eq!(body.read_chunk().await.unwrap(), None);
/// });
/// ```
pub struct RequestBody {
    reader: Rc<RefCell<BodyReader>>,
}

impl RequestBody {
    pub(crate) fn new(reader: Rc<RefCell<BodyReader>>) -> RequestBody {
        RequestBody { reader }
    }

    /// The next piece of the body, `None` at its end.
    ///
    /// # Errors
    ///
    /// As [`Request::read_chunk`](super::Request::read_chunk); also an error while another
    /// read of the same body is under way.
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>> {
        RequestBody::read_shared(&self.reader).await
    }

    /// The whole body (up to the limit).
    ///
    /// # Errors
    ///
    /// As [`read_chunk`](RequestBody::read_chunk).
    pub async fn read_to_end(&mut self) -> Result<Bytes> {
        let mut all = bytes::BytesMut::new();
        while let Some(chunk) = self.read_chunk().await? {
            if all.is_empty() {
                all = chunk.into();
            } else {
                all.extend_from_slice(&chunk);
            }
        }
        Ok(all.freeze())
    }

    // The borrow is held across the read: a second reader fails fast instead of interleaving
    // (one thread, so nothing else can touch it meanwhile).
    #[allow(clippy::await_holding_refcell_ref)]
    pub(crate) async fn read_shared(reader: &Rc<RefCell<BodyReader>>) -> Result<Option<Bytes>> {
        let Ok(mut reader) = reader.try_borrow_mut() else {
            return Err(Error::new("the request body is being read elsewhere"));
        };
        reader.read_chunk().await
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}
