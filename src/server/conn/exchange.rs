//! One request/response exchange's protocol state, owned in one place: how far the body was
//! read, whether `100 Continue` may still be sent, how far the response got, and whether the
//! connection can carry the next request. `Request`, `RequestBody` and `ResponseWriter` reach
//! it through the connection they share; nothing else keeps a flag.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::http::{BodyFraming, Chunk, ChunkedDecoder, ChunkedLimits, StatusCode};

/// The state of the exchange under way on a connection.
#[derive(Debug)]
pub(crate) struct ExchangeState {
    /// Which exchange of the connection this is: a body handle kept from an earlier one reads
    /// nothing from this one's bytes.
    pub(crate) seq: u32,
    /// How far the request body was read.
    body: BodyProgress,
    /// The body limit (bytes): settable until the first read.
    limit: u64,
    /// The first read of the body happened (the limit is fixed, `100 Continue` decided).
    started: bool,
    /// A read is waiting for bytes: a second reader fails instead of interleaving.
    pub(crate) reading: bool,
    expect: Continue,
    response: ResponseProgress,
    /// The request and the server allow keeping the connection (the request did not say
    /// close, the per-connection request limit is not reached, the server is not draining).
    keep_alive: bool,
    /// The most of an unread body the connection reads and discards to carry on.
    max_drain: u64,
}

/// How far the request body was read.
#[derive(Debug)]
enum BodyProgress {
    /// The body ended (or there is none), with the trailer fields of a chunked one, if any.
    Done(Option<Box<[(Bytes, Bytes)]>>),
    /// `Content-Length`: the bytes still to read.
    Length(u64),
    /// Chunked: the decoder (which knows where it is), boxed: it is rare, and inline it would
    /// size every connection's state.
    Chunked(Box<ChunkedDecoder>),
    /// A read failed (malformed, too large, cut short, stalled): where the body ends is
    /// unknown, so the connection cannot carry another request.
    Failed,
}

/// `Expect: 100-continue` (RFC 9110 §10.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Continue {
    /// The client did not ask, or it already sent body bytes.
    NotExpected,
    /// The client waits for `100 Continue` before it sends the body.
    Expected,
    /// `100 Continue` was queued.
    Sent,
    /// A final response was queued first: a `100` now would follow it on the wire and corrupt
    /// the stream, so none is ever sent; the body is then not read (or drained) at all.
    Forbidden,
}

/// How far the response got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseProgress {
    /// Nothing queued yet.
    None,
    /// A complete response was queued (or a stream finished). `keep_alive_after`: the head
    /// did not say close and the peer can tell where the body ended.
    Sent { keep_alive_after: bool },
    /// The head went out and the body is being streamed.
    Streaming { keep_alive_after: bool },
    /// A stream failed or was abandoned halfway: the connection must close without another
    /// byte, so the peer sees a truncated body rather than a wrong one.
    Aborted,
    /// `101 Switching Protocols` went out: HTTP is over on this connection.
    Upgraded,
}

/// What the connection does once the dispatcher has returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Serve the next request.
    KeepAlive,
    /// Read and discard the rest of the body (at most `max_drain` bytes), then serve the next
    /// request; close if it does not end within that.
    Drain,
    /// Send what is queued, then close gracefully.
    Close,
    /// Close at once, without another byte (a truncated stream, an upgraded connection).
    Abort,
}

/// One step of reading the body from the bytes already received.
#[derive(Debug)]
pub(crate) enum BodyStep {
    /// A piece of the body.
    Data(Bytes),
    /// The body ended.
    End,
    /// More bytes must be received first.
    NeedMore,
}

impl ExchangeState {
    /// The state before the first exchange (no body, nothing to send).
    pub(crate) fn idle() -> ExchangeState {
        ExchangeState {
            seq: 0,
            body: BodyProgress::Done(None),
            limit: 0,
            started: false,
            reading: false,
            expect: Continue::NotExpected,
            response: ResponseProgress::None,
            keep_alive: false,
            max_drain: 0,
        }
    }

    /// Starts the next exchange: a request with `framing`. `expect_continue`: it asked for
    /// `100 Continue` and none of its body arrived with the head (a client that sent body
    /// bytes did not wait).
    pub(crate) fn begin(
        &mut self,
        framing: BodyFraming,
        expect_continue: bool,
        keep_alive: bool,
        limit: u64,
        max_drain: u64,
    ) {
        *self = ExchangeState {
            seq: self.seq.wrapping_add(1),
            body: BodyProgress::new(framing, limit),
            limit,
            started: false,
            reading: false,
            expect: if expect_continue && framing != BodyFraming::None {
                Continue::Expected
            } else {
                Continue::NotExpected
            },
            response: ResponseProgress::None,
            keep_alive,
            max_drain,
        };
    }

    /// The body limit (bytes).
    #[cfg(coding)]
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Sets the body limit; only before the first read.
    pub(crate) fn set_limit(&mut self, limit: u64) {
        if !self.started {
            self.limit = limit;
            if let BodyProgress::Chunked(_) = self.body {
                self.body = BodyProgress::new(BodyFraming::Chunked, limit);
            }
        }
    }

    /// Whether the body was read to its end (or there is none).
    pub(crate) fn body_done(&self) -> bool {
        matches!(self.body, BodyProgress::Done(_))
    }

    /// Starts reading the body: checks a declared length against the limit; `true` if
    /// `100 Continue` must be sent first (the client waits for it and sent nothing yet).
    ///
    /// # Errors
    ///
    /// 413 for a declared length over the limit (the body is then failed).
    pub(crate) fn start_body(&mut self, nothing_buffered: bool) -> Result<bool> {
        if self.started {
            return Ok(false);
        }
        self.started = true;
        if let BodyProgress::Length(n) = self.body
            && n > self.limit
        {
            self.body = BodyProgress::Failed;
            return Err(Error::with_status(
                StatusCode::CONTENT_TOO_LARGE,
                "request body over the limit",
            ));
        }
        // Answer 100 only once the body is wanted, and not if its first bytes are already
        // here (the client did not wait).
        let send = self.expect == Continue::Expected && nothing_buffered && !self.body_done();
        if send {
            self.expect = Continue::Sent;
        }
        Ok(send)
    }

    /// Takes the next piece of the body out of `buffered` (the bytes received after the
    /// head). An error fails the body for good.
    ///
    /// # Errors
    ///
    /// A body read before, failed: 400; chunked framing errors and the chunked body limit,
    /// with their statuses.
    pub(crate) fn body_step(&mut self, buffered: &mut BytesMut) -> Result<BodyStep> {
        let step = match &mut self.body {
            BodyProgress::Done(_) => Ok(BodyStep::End),
            BodyProgress::Failed => Err(Error::with_status(
                StatusCode::BAD_REQUEST,
                "an earlier read of the request body failed",
            )),
            BodyProgress::Length(0) => {
                self.body = BodyProgress::Done(None);
                Ok(BodyStep::End)
            }
            BodyProgress::Length(remaining) => {
                if buffered.is_empty() {
                    Ok(BodyStep::NeedMore)
                } else {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(buffered.len());
                    *remaining -= n as u64;
                    Ok(BodyStep::Data(buffered.split_to(n).freeze()))
                }
            }
            BodyProgress::Chunked(decoder) => match decoder.decode(buffered) {
                Err(err) => Err(err.into()),
                Ok((consumed, Chunk::Data(data))) => {
                    let start = data.as_ptr() as usize - buffered.as_ptr() as usize;
                    let end = start + data.len();
                    Ok(BodyStep::Data(
                        buffered.split_to(consumed).freeze().slice(start..end),
                    ))
                }
                Ok((consumed, Chunk::Done)) => {
                    buffered.advance(consumed);
                    let trailers = decoder.take_trailers();
                    self.body = BodyProgress::Done(
                        (!trailers.is_empty()).then(|| trailers.into_boxed_slice()),
                    );
                    Ok(BodyStep::End)
                }
                Ok((consumed, Chunk::NeedMore)) => {
                    buffered.advance(consumed);
                    Ok(BodyStep::NeedMore)
                }
            },
        };
        if step.is_err() {
            self.body = BodyProgress::Failed;
        }
        step
    }

    /// The body's bytes stopped before its end (end of stream, a stall): the body fails with
    /// `err`.
    pub(crate) fn fail_body(&mut self, err: Error) -> Error {
        self.body = BodyProgress::Failed;
        err
    }

    /// The connection ended before the body did: the body fails with a 400.
    pub(crate) fn body_cut_short(&mut self) -> Error {
        let message = match self.body {
            BodyProgress::Chunked(_) => "chunked request body ended early",
            _ => "request body ended before its Content-Length",
        };
        self.fail_body(Error::with_status(StatusCode::BAD_REQUEST, message))
    }

    /// How far the response got.
    pub(crate) fn response_progress(&self) -> ResponseProgress {
        self.response
    }

    /// A final response's head is being queued: whether it may say keep-alive. From here on
    /// no `100 Continue` is sent.
    pub(crate) fn start_response(&mut self) -> bool {
        if self.expect == Continue::Expected {
            self.expect = Continue::Forbidden;
        }
        self.keep_alive && !matches!(self.body, BodyProgress::Failed)
    }

    /// Records how far the response got.
    pub(crate) fn set_response(&mut self, response: ResponseProgress) {
        self.response = response;
    }

    /// What the connection does after the dispatcher returned (`panicked`: it panicked).
    pub(crate) fn next(&self, panicked: bool) -> Next {
        let keep_alive_after = match self.response {
            ResponseProgress::Streaming { .. }
            | ResponseProgress::Aborted
            | ResponseProgress::Upgraded => return Next::Abort,
            ResponseProgress::None => false,
            ResponseProgress::Sent { keep_alive_after } => keep_alive_after,
        };
        if !keep_alive_after || panicked {
            return Next::Close;
        }
        match self.body {
            BodyProgress::Done(_) => Next::KeepAlive,
            BodyProgress::Failed => Next::Close,
            // The client may still send the body or give up: its next bytes are not a request.
            _ if self.expect == Continue::Forbidden => Next::Close,
            BodyProgress::Length(remaining) if remaining > self.max_drain => Next::Close,
            BodyProgress::Length(_) | BodyProgress::Chunked(_) => Next::Drain,
        }
    }

    /// The trailer fields of the request's chunked body, once it has been read to its end.
    pub(crate) fn trailers(&self) -> Vec<(Bytes, Bytes)> {
        match &self.body {
            BodyProgress::Done(Some(trailers)) => trailers.to_vec(),
            _ => Vec::new(),
        }
    }

    /// Whether the drain read more than it may.
    pub(crate) fn drain_allows(&self, drained: u64) -> bool {
        drained <= self.max_drain
    }
}

impl BodyProgress {
    fn new(framing: BodyFraming, limit: u64) -> BodyProgress {
        match framing {
            BodyFraming::None => BodyProgress::Done(None),
            BodyFraming::Length(n) => BodyProgress::Length(n),
            BodyFraming::Chunked => {
                let mut decoder = ChunkedDecoder::new(ChunkedLimits {
                    max_body: limit,
                    ..ChunkedLimits::default()
                });
                decoder.keep_trailers();
                BodyProgress::Chunked(Box::new(decoder))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exchange in the given state: `body` one of "none", "unread", "unread-big",
    /// "chunked", "done", "failed"; `expect` one of "no", "waiting", "sent", "forbidden".
    fn exchange(
        keep_alive: bool,
        body: &str,
        expect: &str,
        response: ResponseProgress,
    ) -> ExchangeState {
        let mut state = ExchangeState::idle();
        let framing = match body {
            "none" | "done" => BodyFraming::None,
            "unread" | "failed" => BodyFraming::Length(10),
            "unread-big" => BodyFraming::Length(1_000),
            "chunked" => BodyFraming::Chunked,
            _ => unreachable!("{body}"),
        };
        state.begin(framing, expect != "no", keep_alive, 1 << 20, 100);
        if body == "failed" {
            state.fail_body(Error::new("stalled"));
        }
        state.expect = match expect {
            "no" => Continue::NotExpected,
            "waiting" => Continue::Expected,
            "sent" => Continue::Sent,
            "forbidden" => Continue::Forbidden,
            _ => unreachable!("{expect}"),
        };
        state.response = response;
        state
    }

    #[test]
    fn the_next_step_after_dispatch_for_every_input() {
        use Next::*;
        use ResponseProgress as R;
        let sent = R::Sent {
            keep_alive_after: true,
        };
        let sent_close = R::Sent {
            keep_alive_after: false,
        };
        let streaming = R::Streaming {
            keep_alive_after: true,
        };
        #[rustfmt::skip]
        let table = [
            // (body, expect, response, panicked) => next
            ("none", "no", sent, false, KeepAlive),
            ("done", "no", sent, false, KeepAlive),
            ("none", "no", sent, true, Close),
            ("none", "no", sent_close, false, Close),
            ("none", "no", R::None, false, Close),
            ("none", "no", streaming, false, Abort),
            ("none", "no", R::Aborted, false, Abort),
            ("none", "no", R::Upgraded, false, Abort),
            ("unread", "no", sent, false, Drain),
            ("chunked", "no", sent, false, Drain),
            ("unread-big", "no", sent, false, Close),
            ("failed", "no", sent, false, Close),
            ("unread", "sent", sent, false, Drain),
            ("unread", "forbidden", sent, false, Close),
            ("chunked", "forbidden", sent, false, Close),
            ("unread", "no", sent_close, false, Close),
            ("unread", "no", R::Aborted, false, Abort),
        ];
        for (body, expect, response, panicked, next) in table {
            let state = exchange(true, body, expect, response);
            assert_eq!(
                state.next(panicked),
                next,
                "body {body}, expect {expect}, {response:?}, panicked {panicked}"
            );
        }
    }

    #[test]
    fn the_response_says_keep_alive_only_when_the_request_allows_and_the_body_did_not_fail() {
        for (keep_alive, body, says) in [
            (true, "none", true),
            (true, "unread", true),
            (true, "failed", false),
            (false, "none", false),
            (false, "unread", false),
        ] {
            let mut state = exchange(keep_alive, body, "no", ResponseProgress::None);
            assert_eq!(state.start_response(), says, "{keep_alive} {body}");
        }
    }

    #[test]
    fn a_final_response_first_forbids_100_continue() {
        let mut state = exchange(true, "unread", "waiting", ResponseProgress::None);
        state.start_response();
        assert_eq!(state.expect, Continue::Forbidden);
        assert!(
            !state.start_body(true).unwrap(),
            "no 100 after the response"
        );
    }

    #[test]
    fn continue_is_sent_once_and_only_when_nothing_arrived() {
        let mut waiting = exchange(true, "unread", "waiting", ResponseProgress::None);
        assert!(waiting.start_body(true).unwrap());
        assert!(!waiting.start_body(true).unwrap(), "once");
        let mut arrived = exchange(true, "unread", "waiting", ResponseProgress::None);
        assert!(
            !arrived.start_body(false).unwrap(),
            "the client did not wait"
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_fails_the_body_before_reading() {
        let mut state = ExchangeState::idle();
        state.begin(BodyFraming::Length(100), false, true, 1 << 20, 0);
        state.set_limit(10);
        let err = state.start_body(true).unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::CONTENT_TOO_LARGE));
        assert_eq!(state.next(false), Next::Close);
    }

    #[test]
    fn the_limit_is_fixed_by_the_first_read() {
        let mut state = ExchangeState::idle();
        state.begin(BodyFraming::Length(100), false, true, 1 << 20, 0);
        state.start_body(true).unwrap();
        state.set_limit(10);
        assert_eq!(state.limit, 1 << 20);
    }

    #[test]
    fn a_length_body_is_taken_from_the_buffer_up_to_its_length() {
        let mut state = ExchangeState::idle();
        state.begin(BodyFraming::Length(5), false, true, 1 << 20, 0);
        let mut buffered = BytesMut::from(&b"helGET /"[..]);
        let Ok(BodyStep::Data(first)) = state.body_step(&mut buffered.split_to(3)) else {
            panic!("data")
        };
        assert_eq!(first, "hel");
        let Ok(BodyStep::Data(rest)) = state.body_step(&mut buffered) else {
            panic!("data")
        };
        assert_eq!(rest, "GE", "only the declared length");
        assert!(matches!(state.body_step(&mut buffered), Ok(BodyStep::End)));
        assert_eq!(&buffered[..], b"T /", "the next request stays");
    }

    #[test]
    fn a_malformed_chunk_fails_the_body_for_good() {
        let mut state = ExchangeState::idle();
        state.begin(BodyFraming::Chunked, false, true, 1 << 20, 0);
        let mut buffered = BytesMut::from(&b"zz\r\n"[..]);
        assert!(state.body_step(&mut buffered).is_err());
        assert!(state.body_step(&mut BytesMut::new()).is_err());
        assert!(!state.start_response(), "the response says close");
    }
}
