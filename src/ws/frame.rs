//! The frame layer (RFC 6455 §5.2): a server's decoder of client frames (masked, unmasked in
//! place, split off the receive buffer without a copy) and its encoder of unmasked frames.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::close::CloseCode;

/// A frame's kind (its opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// `0x0`: the next fragment of a message.
    Continuation,
    /// `0x1`: a text message (or its first fragment).
    Text,
    /// `0x2`: a binary message (or its first fragment).
    Binary,
    /// `0x8`: the close handshake.
    Close,
    /// `0x9`: a ping.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes, allowed between the
    /// fragments of a message.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// One frame, its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Whether this is the last fragment of its message.
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate), on its first fragment.
    pub rsv1: bool,
    /// The frame's kind.
    pub opcode: OpCode,
    /// The application data.
    pub payload: Bytes,
}

/// Why the peer broke the protocol: the close code to answer with and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError {
    /// The status of the close frame that answers it (1002, 1007 or 1009).
    pub code: CloseCode,
    /// What was wrong, for logs and the close frame's reason.
    pub reason: &'static str,
}

impl ProtocolError {
    pub(crate) const fn new(code: CloseCode, reason: &'static str) -> ProtocolError {
        ProtocolError { code, reason }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.code.as_u16())
    }
}

impl std::error::Error for ProtocolError {}

/// Reads a client's frames from a receive buffer.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::ws::{Decoder, OpCode};
///
/// // RFC 6455 §5.7: a masked "Hello" from a client.
/// let mut buf = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
/// let frame = Decoder::new(1 << 20).decode(&mut buf).unwrap().unwrap();
/// assert_eq!((frame.opcode, frame.fin, &frame.payload[..]), (OpCode::Text, true, &b"Hello"[..]));
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    max_frame: usize,
    rsv1: bool,
    /// The frames read are a client's (masked), else a server's (unmasked).
    masked: bool,
}

impl Decoder {
    /// A decoder of a client's frames that refuses those whose payload is longer than
    /// `max_frame` bytes (1009).
    pub fn new(max_frame: usize) -> Decoder {
        Decoder {
            max_frame,
            rsv1: false,
            masked: true,
        }
    }

    /// The same for a client's side: it reads a server's frames, which are never masked (a
    /// masked one is 1002).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use nanoapi::ws::{Decoder, OpCode, encode};
    ///
    /// let mut buf = BytesMut::new();
    /// encode(&mut buf, OpCode::Binary, true, false, b"\x01\x02");
    /// let frame = Decoder::for_client(1 << 20).decode(&mut buf).unwrap().unwrap();
    /// assert_eq!((frame.opcode, &frame.payload[..]), (OpCode::Binary, &[1, 2][..]));
    /// ```
    pub fn for_client(max_frame: usize) -> Decoder {
        Decoder {
            masked: false,
            ..Decoder::new(max_frame)
        }
    }

    /// Accepts RSV1 (an extension that uses it, permessage-deflate, was negotiated).
    pub fn allow_rsv1(mut self, allowed: bool) -> Decoder {
        self.rsv1 = allowed;
        self
    }

    /// The next frame whole in `buf`, split off it; `None` until one is (the frame's header
    /// is checked as soon as it has arrived, so a frame too large is refused before its
    /// payload is read).
    ///
    /// # Errors
    ///
    /// A frame that breaks RFC 6455 (1002: reserved bits or opcodes, an unmasked frame, a
    /// fragmented or long control frame, a length with its top bit set) or is longer than the
    /// limit (1009).
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        let Some(header) = self.header(buf)? else {
            return Ok(None);
        };
        if buf.len() < header.len + header.payload {
            return Ok(None);
        }
        buf.advance(header.len);
        let mut payload = buf.split_to(header.payload);
        if let Some(mask) = header.mask {
            apply_mask(&mut payload, mask);
        }
        Ok(Some(Frame {
            fin: header.fin,
            rsv1: header.rsv1,
            opcode: header.opcode,
            payload: payload.freeze(),
        }))
    }

    /// How many more bytes the frame that begins `buf` needs to be whole, once its header
    /// has arrived (`None` before, and for a header [`decode`](Self::decode) refuses).
    pub(crate) fn missing(&self, buf: &[u8]) -> Option<usize> {
        let header = self.header(buf).ok()??;
        Some((header.len + header.payload).saturating_sub(buf.len()))
    }

    fn header(&self, buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
        let protocol = |reason| Err(ProtocolError::new(CloseCode::PROTOCOL_ERROR, reason));
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let rsv1 = first & 0x40 != 0;
        if first & 0x30 != 0 || (rsv1 && !self.rsv1) {
            return protocol("reserved bits set");
        }
        let Some(opcode) = OpCode::from_bits(first & 0x0F) else {
            return protocol("reserved opcode");
        };
        match (second & 0x80 != 0, self.masked) {
            (false, true) => return protocol("client frames must be masked"),
            (true, false) => return protocol("server frames must not be masked"),
            _ => {}
        }
        let (payload, at) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(n) => (u64::from(u16::from_be_bytes([n[0], n[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(n) => (u64::from_be_bytes(n.try_into().unwrap_or_default()), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        if payload >> 63 != 0 {
            return protocol("payload length with its most significant bit set");
        }
        if opcode.is_control() && (!fin || payload > 125) {
            return protocol("control frames are at most 125 bytes and never fragmented");
        }
        if opcode.is_control() && rsv1 {
            return protocol("reserved bits set");
        }
        let payload = match usize::try_from(payload) {
            Ok(n) if n <= self.max_frame => n,
            _ => {
                return Err(ProtocolError::new(
                    CloseCode::MESSAGE_TOO_BIG,
                    "frame larger than the limit",
                ));
            }
        };
        let (mask, len) = if self.masked {
            let Some(mask) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            (Some([mask[0], mask[1], mask[2], mask[3]]), at + 4)
        } else {
            (None, at)
        };
        Ok(Some(Header {
            fin,
            rsv1,
            opcode,
            mask,
            len,
            payload,
        }))
    }
}

/// A frame header, parsed.
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: OpCode,
    /// A client's frame's masking key.
    mask: Option<[u8; 4]>,
    /// The header's length in bytes.
    len: usize,
    /// The payload's length in bytes.
    payload: usize,
}

/// XORs `data` with the 4-byte `mask`, eight bytes at a time.
fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Appends a server frame (unmasked) with `payload` to `out`.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::ws::{OpCode, encode};
///
/// let mut out = BytesMut::new();
/// encode(&mut out, OpCode::Text, true, false, b"Hello");
/// assert_eq!(&out[..], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'][..]);
/// ```
pub fn encode(out: &mut BytesMut, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
    put_frame(out, opcode, fin, rsv1, payload, None);
}

/// Appends a client frame with `payload` masked with `mask` to `out` (for clients and tests).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::ws::{Decoder, OpCode, encode_masked};
///
/// let mut out = BytesMut::new();
/// encode_masked(&mut out, OpCode::Text, true, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
/// // RFC 6455 §5.7's example.
/// assert_eq!(&out[..], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
/// let frame = Decoder::new(1 << 20).decode(&mut out).unwrap().unwrap();
/// assert_eq!(&frame.payload[..], b"Hello");
/// ```
pub fn encode_masked(out: &mut BytesMut, opcode: OpCode, fin: bool, payload: &[u8], mask: [u8; 4]) {
    put_frame(out, opcode, fin, false, payload, Some(mask));
}

fn put_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let mut first = opcode.bits();
    if fin {
        first |= 0x80;
    }
    if rsv1 {
        first |= 0x40;
    }
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.reserve(14 + payload.len());
    out.put_u8(first);
    match payload.len() {
        n @ 0..=125 => out.put_u8(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.put_u8(mask_bit | 126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(mask_bit | 127);
            out.put_u64(n as u64);
        }
    }
    match mask {
        Some(mask) => {
            out.put_slice(&mask);
            let start = out.len();
            out.put_slice(payload);
            apply_mask(&mut out[start..], mask);
        }
        None => out.put_slice(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: `payload` masked with `mask`, the first byte as given (RSV bits too).
    fn client_frame(first: u8, mask: [u8; 4], payload: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        encode_masked(&mut out, OpCode::Text, true, payload, mask);
        out[0] = first;
        out
    }

    #[test]
    fn frames_arrive_whole_whatever_the_split_and_payloads_are_unmasked() {
        let decoder = Decoder::new(1 << 20);
        for len in [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let wire = client_frame(0x82, [1, 2, 3, 4], &payload);
            let mut buf = BytesMut::new();
            let mut frame = None;
            for (i, byte) in wire.iter().enumerate() {
                buf.put_u8(*byte);
                match decoder.decode(&mut buf).unwrap() {
                    Some(f) => {
                        assert_eq!(i, wire.len() - 1, "len {len}: a frame before its last byte");
                        frame = Some(f);
                    }
                    None => assert!(i < wire.len() - 1, "len {len}: no frame at its last byte"),
                }
            }
            let frame = frame.unwrap();
            assert_eq!((frame.opcode, frame.fin), (OpCode::Binary, true));
            assert_eq!(frame.payload, payload, "len {len}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn broken_frames_get_their_close_code() {
        let decoder = Decoder::new(1000);
        let refused = |wire: BytesMut| decoder.decode(&mut wire.clone()).unwrap_err().code;
        let mask = [9, 8, 7, 6];
        for first in [0xC1, 0xA1, 0x91] {
            assert_eq!(
                refused(client_frame(first, mask, b"x")),
                CloseCode::PROTOCOL_ERROR
            );
        }
        for opcode in [0x3, 0x7, 0xB, 0xF] {
            let wire = client_frame(0x80 | opcode, mask, b"");
            assert_eq!(refused(wire), CloseCode::PROTOCOL_ERROR, "opcode {opcode}");
        }
        let unmasked = BytesMut::from(&[0x81, 0x01, b'x'][..]);
        assert_eq!(refused(unmasked), CloseCode::PROTOCOL_ERROR);
        assert_eq!(
            refused(client_frame(0x09, mask, b"")),
            CloseCode::PROTOCOL_ERROR,
            "fragmented ping"
        );
        assert_eq!(
            refused(client_frame(0x89, mask, &[0; 126])),
            CloseCode::PROTOCOL_ERROR,
            "long ping"
        );
        assert_eq!(
            refused(client_frame(0x82, mask, &[0; 1001])),
            CloseCode::MESSAGE_TOO_BIG
        );
        let mut huge = BytesMut::from(&[0x82, 0xFF][..]);
        huge.put_u64(1 << 63);
        assert_eq!(refused(huge), CloseCode::PROTOCOL_ERROR);
        let mut too_big = BytesMut::from(&[0x82, 0xFF][..]);
        too_big.put_u64(1 << 40);
        assert_eq!(
            refused(too_big),
            CloseCode::MESSAGE_TOO_BIG,
            "refused from the header alone"
        );
        let compressed = client_frame(0xC1, mask, b"x");
        let frame = Decoder::new(1000)
            .allow_rsv1(true)
            .decode(&mut compressed.clone())
            .unwrap()
            .unwrap();
        assert!(frame.rsv1);
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let mut out = BytesMut::new();
            encode(&mut out, OpCode::Binary, true, false, &vec![0; len]);
            assert_eq!(out.len(), header + len);
        }
        let mut out = BytesMut::new();
        encode(&mut out, OpCode::Ping, true, false, b"");
        assert_eq!(&out[..], &[0x89, 0x00]);
    }
}
