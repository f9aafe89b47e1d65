//! Messages (RFC 6455 §5.4, §5.6): frames joined into messages, control frames let through
//! between fragments, text checked as UTF-8 as it arrives (a broken sequence fails the message
//! at once, not at its end).

use bytes::Bytes;

use super::close::{CloseCode, CloseFrame};
#[cfg(feature = "ws-deflate")]
use super::deflate::{DeflateParams, Inflater};
use super::frame::{Frame, OpCode, ProtocolError};

/// A WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping and its payload (answered with a pong by the socket).
    Ping(Bytes),
    /// A pong and its payload.
    Pong(Bytes),
    /// The peer's close frame, and what it said.
    Close(Option<CloseFrame>),
}

/// Bytes that are valid UTF-8: a text message's payload, shared rather than copied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checks that the bytes are UTF-8 (`TryFrom<Bytes>` with
        // `str::from_utf8`, `From<String>` and `From<&'static str>` from a `str`), and `Bytes`
        // never changes.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Utf8Bytes, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(text))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(text: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Joins frames into messages.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use nanoapi::ws::{Assembler, Frame, Message, OpCode};
///
/// let mut assembler = Assembler::new(1 << 20);
/// let part = |opcode, fin, text: &'static str| Frame { fin, rsv1: false, opcode, payload: Bytes::from(text) };
/// assert_eq!(assembler.push(part(OpCode::Text, false, "Hel")).unwrap(), None);
/// let ping = assembler.push(part(OpCode::Ping, true, "")).unwrap();
/// assert!(matches!(ping, Some(Message::Ping(_))));
/// let Some(Message::Text(text)) = assembler.push(part(OpCode::Continuation, true, "lo")).unwrap() else {
///     panic!("a text message");
/// };
/// assert_eq!(&*text, "Hello");
/// ```
#[derive(Debug)]
pub struct Assembler {
    max_message: usize,
    partial: Option<Partial>,
    /// permessage-deflate's decompressor, when it was agreed.
    #[cfg(feature = "ws-deflate")]
    inflater: Option<Inflater>,
}

/// A message whose last fragment has not arrived.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// Its frames carry DEFLATE data (RSV1 on the first): `data` holds what they decompress to.
    compressed: bool,
    data: Vec<u8>,
    /// How much of a text message's data is known to be UTF-8 (what follows may be the start
    /// of a character the next fragment ends).
    checked: usize,
}

impl Assembler {
    /// An assembler that refuses messages longer than `max_message` bytes (1009).
    pub fn new(max_message: usize) -> Assembler {
        Assembler {
            max_message,
            partial: None,
            #[cfg(feature = "ws-deflate")]
            inflater: None,
        }
    }

    /// Decompresses the messages whose first frame has RSV1 set, as `params` agreed
    /// (permessage-deflate); the message limit holds for their decompressed size.
    #[cfg(feature = "ws-deflate")]
    pub fn inflating(mut self, params: &DeflateParams) -> Assembler {
        self.inflater = Some(Inflater::new(*params));
        self
    }

    /// Whether permessage-deflate was agreed.
    fn inflates(&self) -> bool {
        #[cfg(feature = "ws-deflate")]
        return self.inflater.is_some();
        #[cfg(not(feature = "ws-deflate"))]
        false
    }

    /// Takes the next frame: the message it completes, if any (a control frame is a message
    /// of its own, even between fragments).
    ///
    /// # Errors
    ///
    /// A fragment out of place (1002), RSV1 where permessage-deflate was not agreed or on a
    /// continuation frame (1002), text that is not UTF-8 (1007, as soon as a fragment shows
    /// it), compressed data that is not DEFLATE (1007), a message longer than the limit
    /// (1009, decompressed), a close payload that breaks the rules of [`CloseFrame::parse`].
    pub fn push(&mut self, frame: Frame) -> Result<Option<Message>, ProtocolError> {
        let protocol = |reason| Err(ProtocolError::new(CloseCode::PROTOCOL_ERROR, reason));
        match frame.opcode {
            OpCode::Ping => return Ok(Some(Message::Ping(frame.payload))),
            OpCode::Pong => return Ok(Some(Message::Pong(frame.payload))),
            OpCode::Close => {
                return CloseFrame::parse(&frame.payload).map(|c| Some(Message::Close(c)));
            }
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                return protocol("a new message before the last one ended");
            }
            OpCode::Continuation if self.partial.is_none() => {
                return protocol("a continuation frame outside a message");
            }
            OpCode::Continuation if frame.rsv1 => {
                return protocol("RSV1 on a continuation frame");
            }
            _ => {}
        }
        let compressed = match &self.partial {
            Some(partial) => partial.compressed,
            None => frame.rsv1,
        };
        if compressed && !self.inflates() {
            return protocol("reserved bits set");
        }
        if !compressed
            && self.partial.as_ref().map_or(0, |p| p.data.len()) + frame.payload.len()
                > self.max_message
        {
            self.partial = None;
            return Err(ProtocolError::new(
                CloseCode::MESSAGE_TOO_BIG,
                "message larger than the limit",
            ));
        }
        match (frame.opcode, frame.fin, compressed) {
            (OpCode::Text, true, false) => match Utf8Bytes::try_from(frame.payload) {
                Ok(text) => Ok(Some(Message::Text(text))),
                Err(_) => Err(not_utf8()),
            },
            (OpCode::Binary, true, false) => Ok(Some(Message::Binary(frame.payload))),
            (opcode, _, _) => {
                let partial = self.partial.get_or_insert_with(|| Partial {
                    text: opcode == OpCode::Text,
                    compressed,
                    data: Vec::new(),
                    checked: 0,
                });
                if compressed {
                    #[cfg(feature = "ws-deflate")]
                    if let Some(inflater) = &mut self.inflater {
                        let limit = self.max_message;
                        inflater.inflate(&frame.payload, frame.fin, &mut partial.data, limit)?;
                    }
                } else {
                    partial.data.extend_from_slice(&frame.payload);
                }
                if partial.text {
                    partial.check_utf8(frame.fin)?;
                }
                if !frame.fin {
                    return Ok(None);
                }
                let Some(Partial { text, data, .. }) = self.partial.take() else {
                    return Ok(None);
                };
                let data = Bytes::from(data);
                Ok(Some(if text {
                    Message::Text(Utf8Bytes(data))
                } else {
                    Message::Binary(data)
                }))
            }
        }
    }
}

impl Partial {
    /// Checks the text received since the last check; an incomplete character at the end is
    /// an error only in the last fragment.
    fn check_utf8(&mut self, last: bool) -> Result<(), ProtocolError> {
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => self.checked = self.data.len(),
            Err(err) if err.error_len().is_some() || last => return Err(not_utf8()),
            Err(err) => self.checked += err.valid_up_to(),
        }
        Ok(())
    }
}

fn not_utf8() -> ProtocolError {
    ProtocolError::new(
        CloseCode::INVALID_PAYLOAD,
        "a text message that is not UTF-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Frame {
        Frame {
            fin,
            rsv1: false,
            opcode,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn fragments_join_and_control_frames_pass_between_them() {
        let mut assembler = Assembler::new(100);
        assert_eq!(
            assembler.push(frame(OpCode::Binary, false, b"ab")).unwrap(),
            None
        );
        assert_eq!(
            assembler
                .push(frame(OpCode::Continuation, false, b""))
                .unwrap(),
            None
        );
        assert_eq!(
            assembler.push(frame(OpCode::Pong, true, b"p")).unwrap(),
            Some(Message::Pong(Bytes::from_static(b"p")))
        );
        assert_eq!(
            assembler
                .push(frame(OpCode::Continuation, true, b"cd"))
                .unwrap(),
            Some(Message::Binary(Bytes::from_static(b"abcd")))
        );
        let close = assembler
            .push(frame(OpCode::Close, true, b"\x03\xe8"))
            .unwrap();
        assert!(matches!(close, Some(Message::Close(Some(c))) if c.code == CloseCode::NORMAL));
    }

    #[test]
    fn fragments_out_of_place_are_protocol_errors() {
        let mut assembler = Assembler::new(100);
        let refused = assembler
            .push(frame(OpCode::Continuation, true, b"x"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::PROTOCOL_ERROR);
        assembler.push(frame(OpCode::Text, false, b"a")).unwrap();
        let refused = assembler
            .push(frame(OpCode::Binary, true, b"b"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn text_is_checked_as_it_arrives() {
        // "κόσμε" split inside its characters: valid.
        let text = "κόσμε".as_bytes();
        let mut assembler = Assembler::new(100);
        for (i, byte) in text.iter().enumerate() {
            let opcode = if i == 0 {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            let done = assembler
                .push(frame(opcode, i == text.len() - 1, &[*byte]))
                .unwrap();
            if i == text.len() - 1 {
                assert_eq!(done, Some(Message::Text(Utf8Bytes::from("κόσμε"))));
            }
        }
        // A surrogate (ED A0 80) fails at the fragment that shows it, before the message ends.
        let mut assembler = Assembler::new(100);
        assembler
            .push(frame(OpCode::Text, false, "κ".as_bytes()))
            .unwrap();
        let refused = assembler
            .push(frame(OpCode::Continuation, false, b"\xed\xa0\x80"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::INVALID_PAYLOAD);
        // A character cut by the end of the message.
        let mut assembler = Assembler::new(100);
        assembler.push(frame(OpCode::Text, false, b"a")).unwrap();
        let refused = assembler
            .push(frame(OpCode::Continuation, true, b"\xce"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::INVALID_PAYLOAD);
        let refused = Assembler::new(100)
            .push(frame(OpCode::Text, true, b"\xff"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn messages_longer_than_the_limit_are_refused() {
        let mut assembler = Assembler::new(4);
        assembler
            .push(frame(OpCode::Binary, false, b"abc"))
            .unwrap();
        let refused = assembler
            .push(frame(OpCode::Continuation, true, b"de"))
            .unwrap_err();
        assert_eq!(refused.code, CloseCode::MESSAGE_TOO_BIG);
        assert!(
            Assembler::new(4)
                .push(frame(OpCode::Binary, true, b"abcd"))
                .is_ok()
        );
    }
}
