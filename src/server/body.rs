//! Reading a request body (`Content-Length` or chunked, bounded, `100 Continue` sent when the
//! body is first wanted) out of the connection's receive buffer; and `RequestBody`, the body
//! moved out of its request. Where the body stands is the exchange state's
//! (`conn/exchange.rs`); this file only moves bytes.

use std::fmt;
use std::rc::Rc;

use bytes::Bytes;

use super::conn::{BodyStep, DynConn};
use crate::error::{Error, Result};
#[cfg(coding)]
use crate::http::StatusCode;
#[cfg(coding)]
use crate::http::coding::{Coding, DecodeError, Decoder};

/// The next piece of the body of exchange `seq` on `conn`, `None` at its end.
///
/// # Errors
///
/// 413 past the body limit, 400 for malformed chunked framing or a body cut short, 408 when
/// the client stalls; a read of a body whose exchange is over, or while another read of it
/// waits for bytes. A failed read fails the body: the response says `Connection: close`.
pub(crate) async fn read_chunk(conn: &DynConn, seq: u32) -> Result<Option<Bytes>> {
    let send_continue = {
        let mut exchange = conn.exchange.borrow_mut();
        if exchange.seq != seq {
            return Err(Error::new("the request this body belongs to is over"));
        }
        if exchange.reading {
            return Err(Error::new("the request body is being read elsewhere"));
        }
        exchange.start_body(conn.inbuf.borrow().is_empty())?
    };
    if send_continue {
        let _reading = Reading::start(conn);
        if let Err(err) = conn.send_continue().await {
            let err = conn.exchange.borrow_mut().fail_body(err);
            return Err(err);
        }
    }
    loop {
        let step = conn
            .exchange
            .borrow_mut()
            .body_step(&mut conn.inbuf.borrow_mut())?;
        match step {
            BodyStep::Data(data) => return Ok(Some(data)),
            BodyStep::End => return Ok(None),
            BodyStep::NeedMore => {}
        }
        let filled = {
            let _reading = Reading::start(conn);
            conn.fill_body().await
        };
        let mut exchange = conn.exchange.borrow_mut();
        if exchange.seq != seq {
            return Err(Error::new("the request this body belongs to is over"));
        }
        match filled {
            Ok(0) => return Err(exchange.body_cut_short()),
            Ok(_) => {}
            Err(err) => return Err(exchange.fail_body(err)),
        }
    }
}

/// Marks a read of the body as waiting for bytes, until dropped (also when the read is
/// dropped halfway).
struct Reading<'a>(&'a DynConn);

impl<'a> Reading<'a> {
    fn start(conn: &'a DynConn) -> Reading<'a> {
        conn.exchange.borrow_mut().reading = true;
        Reading(conn)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.exchange.borrow_mut().reading = false;
    }
}

/// A request body's content coding, removed as the body is read (see
/// [`Request::decode_body`](super::Request::decode_body)).
#[cfg(coding)]
pub(crate) enum BodyDecoding {
    /// Not read yet: the decoder takes the body limit in force at the first read.
    Pending(Coding),
    Decoding(Box<Decoder>),
    /// The coded stream ended.
    Done,
}

#[cfg(coding)]
impl BodyDecoding {
    /// The next piece of the decoded body of exchange `seq` on `conn`, `None` at its end.
    ///
    /// # Errors
    ///
    /// As [`read_chunk`]; 413 once the decoded body passes the body limit, 400 for bytes that
    /// are not in the coding or a coded stream cut short. Either fails the body, so the
    /// connection closes after the response instead of reading the rest.
    pub(crate) async fn read_chunk(&mut self, conn: &DynConn, seq: u32) -> Result<Option<Bytes>> {
        loop {
            let decoder = match self {
                BodyDecoding::Done => return Ok(None),
                BodyDecoding::Pending(coding) => {
                    let limit = conn.exchange.borrow().limit();
                    *self = BodyDecoding::Decoding(Box::new(Decoder::new(*coding, limit)));
                    continue;
                }
                BodyDecoding::Decoding(decoder) => decoder,
            };
            let decoded = match read_chunk(conn, seq).await? {
                Some(coded) => decoder.decode(&coded),
                None => {
                    let BodyDecoding::Decoding(decoder) =
                        std::mem::replace(self, BodyDecoding::Done)
                    else {
                        unreachable!("matched above")
                    };
                    decoder.finish()
                }
            };
            match decoded {
                Ok(plain) if plain.is_empty() => {}
                Ok(plain) => return Ok(Some(plain)),
                Err(err) => {
                    *self = BodyDecoding::Done;
                    let status = match err {
                        DecodeError::TooLarge => StatusCode::CONTENT_TOO_LARGE,
                        DecodeError::Invalid(_) => StatusCode::BAD_REQUEST,
                    };
                    let err = Error::with_status(status, err);
                    return Err(conn.exchange.borrow_mut().fail_body(err));
                }
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
    conn: Rc<DynConn>,
    seq: u32,
    #[cfg(coding)]
    decoding: Option<BodyDecoding>,
}

impl RequestBody {
    pub(crate) fn new(
        conn: Rc<DynConn>,
        seq: u32,
        #[cfg(coding)] decoding: Option<BodyDecoding>,
    ) -> RequestBody {
        RequestBody {
            conn,
            seq,
            #[cfg(coding)]
            decoding,
        }
    }

    /// The next piece of the body, `None` at its end.
    ///
    /// # Errors
    ///
    /// As [`Request::read_chunk`](super::Request::read_chunk); also an error while another
    /// read of the same body is under way, or once the request is over.
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>> {
        #[cfg(coding)]
        if let Some(decoding) = &mut self.decoding {
            return decoding.read_chunk(&self.conn, self.seq).await;
        }
        read_chunk(&self.conn, self.seq).await
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
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}
