//! The close handshake's payload (RFC 6455 §5.5.1, §7.4): a status code and a UTF-8 reason.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::ProtocolError;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (a server shutting down).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a kind of data the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1007: data inconsistent with its type (a text message that is not UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message that violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// The code `n`.
    pub const fn new(n: u16) -> CloseCode {
        CloseCode(n)
    }

    /// The code as a number.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether a peer may send this code in a close frame: 1000–1003 and 1007–1014 (the
    /// registered codes that are not reserved for local use: 1004 is reserved, 1005, 1006 and
    /// 1015 only report conditions), and 3000–4999 (libraries, frameworks, applications).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::ws::CloseCode;
    ///
    /// assert!(CloseCode::NORMAL.is_allowed() && CloseCode::new(4000).is_allowed());
    /// assert!(!CloseCode::new(1005).is_allowed() && !CloseCode::new(2999).is_allowed());
    /// ```
    pub const fn is_allowed(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// What a close frame says: its code and reason (a close frame may say nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// Why, in UTF-8 (at most 123 bytes on the wire).
    pub reason: String,
}

impl CloseFrame {
    /// Reads a close frame's payload: empty, or a code the peer may send and a UTF-8 reason.
    ///
    /// # Errors
    ///
    /// A payload of one byte or a code no peer may send (1002), a reason that is not UTF-8
    /// (1007).
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        let (code, reason) = match payload {
            [] => return Ok(None),
            [high, low, reason @ ..] => (CloseCode(u16::from_be_bytes([*high, *low])), reason),
            [_] => {
                return Err(ProtocolError::new(
                    CloseCode::PROTOCOL_ERROR,
                    "a close payload of one byte",
                ));
            }
        };
        if !code.is_allowed() {
            return Err(ProtocolError::new(
                CloseCode::PROTOCOL_ERROR,
                "a close code no peer may send",
            ));
        }
        match std::str::from_utf8(reason) {
            Ok(reason) => Ok(Some(CloseFrame {
                code,
                reason: reason.to_owned(),
            })),
            Err(_) => Err(ProtocolError::new(
                CloseCode::INVALID_PAYLOAD,
                "a close reason that is not UTF-8",
            )),
        }
    }

    /// The payload of a close frame saying this, its reason cut at a character boundary to
    /// fit a control frame (125 bytes).
    pub fn payload(&self) -> Bytes {
        let mut end = self.reason.len().min(123);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut out = BytesMut::with_capacity(2 + end);
        out.put_u16(self.code.0);
        out.put_slice(&self.reason.as_bytes()[..end]);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_payloads_follow_the_rfc() {
        assert_eq!(CloseFrame::parse(b"").unwrap(), None);
        let frame = CloseFrame::parse(b"\x03\xe8bye").unwrap().unwrap();
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::NORMAL, "bye")
        );
        assert_eq!(
            CloseFrame::parse(b"\x03").unwrap_err().code,
            CloseCode::PROTOCOL_ERROR
        );
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let payload = code.to_be_bytes();
            let refused = CloseFrame::parse(&payload).unwrap_err();
            assert_eq!(refused.code, CloseCode::PROTOCOL_ERROR, "code {code}");
        }
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(
                CloseFrame::parse(&code.to_be_bytes()).is_ok(),
                "code {code}"
            );
        }
        let bad_reason =
            CloseFrame::parse(b"\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
        assert_eq!(bad_reason.unwrap_err().code, CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn a_long_reason_is_cut_at_a_character() {
        let frame = CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "é".repeat(100),
        };
        let payload = frame.payload();
        assert!(payload.len() <= 125);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert_eq!(
            CloseFrame::parse(&payload).unwrap().unwrap().code,
            CloseCode::GOING_AWAY
        );
    }
}
