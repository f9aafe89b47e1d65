//! permessage-deflate (RFC 7692, feature `ws-deflate`): a client's offers negotiated against
//! what the server accepts, messages compressed as they are sent and decompressed as their
//! frames arrive, the decompressed size bounded by the message limit.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::close::CloseCode;
use super::frame::ProtocolError;

/// What every message's DEFLATE data ends with after a sync flush: removed before sending and
/// put back before decompressing (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The extension's name in `Sec-WebSocket-Extensions`.
const NAME: &str = "permessage-deflate";

/// What a server accepts of permessage-deflate: its compression level, the windows, whether
/// either side keeps its context between messages.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Request;
/// use nanoapi::ws::{Deflate, Handshake};
///
/// let req = Request::from_parts("GET", "/chat", &[
///     ("Upgrade", "websocket"),
///     ("Connection", "Upgrade"),
///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
///     ("Sec-WebSocket-Version", "13"),
///     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
/// ], "").unwrap();
/// let handshake = Handshake::check(&req).unwrap();
/// let agreed = handshake.deflate(&Deflate::new().client_max_window_bits(12)).unwrap();
/// let accept = handshake.accept_with(None, Some(&agreed)).unwrap();
/// assert_eq!(
///     accept.headers().get("sec-websocket-extensions"),
///     Some(&b"permessage-deflate; client_max_window_bits=12"[..])
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    level: u32,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    min_size: usize,
}

impl Default for Deflate {
    fn default() -> Deflate {
        Deflate::new()
    }
}

impl Deflate {
    /// Level 6, 32 KiB windows both ways, contexts kept between messages, every message
    /// compressed.
    pub fn new() -> Deflate {
        Deflate {
            level: 6,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            min_size: 0,
        }
    }

    /// The compression level of the messages sent, 0 (stored) to 9 (smallest); above 9 is 9.
    pub fn level(mut self, level: u32) -> Deflate {
        self.level = level.min(9);
        self
    }

    /// The largest window the server compresses with, as a power of two: 9 to 15 (zlib cannot
    /// compress raw DEFLATE with 8; values outside are clamped). A smaller window takes less
    /// memory per socket and compresses less.
    pub fn server_max_window_bits(mut self, bits: u8) -> Deflate {
        self.server_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// The largest window a client may compress with, 9 to 15 (clamped), when the client says
    /// it can limit its window; the server decompresses with that window.
    pub fn client_max_window_bits(mut self, bits: u8) -> Deflate {
        self.client_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// Compresses each message on its own (no context kept: less memory between messages,
    /// less compression of repeated content).
    pub fn server_no_context_takeover(mut self, yes: bool) -> Deflate {
        self.server_no_context_takeover = yes;
        self
    }

    /// Asks clients to compress each message on its own.
    pub fn client_no_context_takeover(mut self, yes: bool) -> Deflate {
        self.client_no_context_takeover = yes;
        self
    }

    /// Messages shorter than `bytes` are sent uncompressed (default 0: all are compressed).
    pub fn min_size(mut self, bytes: usize) -> Deflate {
        self.min_size = bytes;
        self
    }

    /// The parameters agreed for the first of the client's `offers` (the values of its
    /// `Sec-WebSocket-Extensions` fields) this server can accept, if any.
    pub(crate) fn negotiate<'a>(
        &self,
        offers: impl Iterator<Item = &'a [u8]>,
    ) -> Option<DeflateParams> {
        offers
            .flat_map(|field| field.split(|&b| b == b','))
            .find_map(|offer| self.accept_offer(offer))
    }

    /// The parameters agreed for one offer (`permessage-deflate; param; param=value`), or
    /// `None` when it is another extension or asks for what the server cannot do.
    fn accept_offer(&self, offer: &[u8]) -> Option<DeflateParams> {
        let mut parts = offer.split(|&b| b == b';').map(<[u8]>::trim_ascii);
        if !parts.next()?.eq_ignore_ascii_case(NAME.as_bytes()) {
            return None;
        }
        let mut agreed = DeflateParams {
            level: self.level,
            min_size: self.min_size,
            server_max_window_bits: self.server_max_window_bits,
            client_max_window_bits: 15,
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            answer_server_window: self.server_max_window_bits < 15,
            answer_client_window: false,
        };
        let mut seen = Vec::with_capacity(4);
        for param in parts {
            let (name, value) = match param.iter().position(|&b| b == b'=') {
                Some(at) => (param[..at].trim_ascii(), Some(unquote(&param[at + 1..]))),
                None => (param, None),
            };
            let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
            if seen.contains(&name) {
                return None;
            }
            match (name.as_str(), value) {
                ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
                ("server_max_window_bits", Some(value)) => {
                    // 8 is a window zlib cannot compress raw DEFLATE with: decline the offer.
                    let bits = window_bits(value).filter(|&bits| bits > 8)?;
                    agreed.server_max_window_bits = agreed.server_max_window_bits.min(bits);
                    agreed.answer_server_window = true;
                }
                ("client_max_window_bits", value) => {
                    let offered = match value {
                        Some(value) => window_bits(value)?,
                        None => 15,
                    };
                    agreed.client_max_window_bits = self.client_max_window_bits.min(offered);
                    agreed.answer_client_window = agreed.client_max_window_bits < 15;
                }
                _ => return None,
            }
            seen.push(name);
        }
        Some(agreed)
    }
}

/// A window size parameter's value: 8 to 15, digits only.
fn window_bits(value: &[u8]) -> Option<u8> {
    match value {
        [digit @ b'8'..=b'9'] => Some(digit - b'0'),
        [b'1', digit @ b'0'..=b'5'] => Some(10 + digit - b'0'),
        _ => None,
    }
}

/// A parameter value without the quotes RFC 7692 §7.1 allows around it.
fn unquote(value: &[u8]) -> &[u8] {
    let value = value.trim_ascii();
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// The permessage-deflate parameters agreed with one client ([`Handshake::deflate`]); they go
/// into the `101` ([`Handshake::accept_with`]) and the socket
/// ([`WebSocket::with_deflate`]).
///
/// [`Handshake::deflate`]: super::Handshake::deflate
/// [`Handshake::accept_with`]: super::Handshake::accept_with
/// [`WebSocket::with_deflate`]: super::WebSocket::with_deflate
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    level: u32,
    min_size: usize,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    answer_server_window: bool,
    answer_client_window: bool,
}

impl DeflateParams {
    /// The `Sec-WebSocket-Extensions` value that accepts the offer.
    pub fn header_value(&self) -> String {
        let mut value = String::from(NAME);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.answer_server_window {
            value.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.answer_client_window {
            value.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        value
    }
}

/// The sending side: messages compressed with the agreed window, the context reset after each
/// one when it is not kept. The zlib state is allocated on the first message compressed.
#[derive(Debug)]
pub(crate) struct Deflater {
    params: DeflateParams,
    compress: Option<Box<Compress>>,
    /// The compressed message, reused from one message to the next.
    scratch: Vec<u8>,
}

impl Deflater {
    pub(crate) fn new(params: DeflateParams) -> Deflater {
        Deflater {
            params,
            compress: None,
            scratch: Vec::new(),
        }
    }

    /// `payload` compressed as one message, without its tail, or `None` when it goes out as
    /// it is (shorter than the minimum, or, with no context kept, not made smaller).
    pub(crate) fn compress(&mut self, payload: &[u8]) -> std::io::Result<Option<&[u8]>> {
        if payload.len() < self.params.min_size {
            return Ok(None);
        }
        if payload.is_empty() {
            // An empty stored block's header (RFC 7692 §7.2.3.6): zlib gives nothing for an
            // empty sync flush after another, which would not decompress.
            return Ok(Some(&[0x00]));
        }
        let params = &self.params;
        let compress = self.compress.get_or_insert_with(|| {
            Box::new(Compress::new_with_window_bits(
                Compression::new(params.level),
                false,
                params.server_max_window_bits,
            ))
        });
        let out = &mut self.scratch;
        out.clear();
        let start = compress.total_in();
        loop {
            out.reserve(payload.len() / 2 + 64);
            let consumed = (compress.total_in() - start) as usize;
            compress
                .compress_vec(&payload[consumed..], out, FlushCompress::Sync)
                .map_err(std::io::Error::other)?;
            let consumed = (compress.total_in() - start) as usize;
            // A sync flush is complete once all input is in and zlib left output room unused.
            if consumed == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.params.server_no_context_takeover {
            compress.reset();
            if out.len() >= payload.len() {
                return Ok(None);
            }
        }
        Ok(Some(&self.scratch))
    }
}

/// The receiving side: a compressed message's fragments decompressed as they arrive, the
/// context reset after each message when the client does not keep its own. The zlib state is
/// allocated on the first compressed message.
#[derive(Debug)]
pub(crate) struct Inflater {
    params: DeflateParams,
    decompress: Option<Box<Decompress>>,
    /// The message's DEFLATE data ended with a final block: what follows is ignored.
    ended: bool,
    /// Whether the message so far had any data (an empty one is an empty message, and gets
    /// no tail).
    fed: bool,
}

impl Inflater {
    pub(crate) fn new(params: DeflateParams) -> Inflater {
        Inflater {
            params,
            decompress: None,
            ended: false,
            fed: false,
        }
    }

    /// Decompresses one fragment of a message onto `out`; `last` ends the message. More than
    /// `limit` bytes in `out` is 1009, data that is not DEFLATE 1007.
    pub(crate) fn inflate(
        &mut self,
        fragment: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        self.feed(fragment, out, limit)?;
        self.fed |= !fragment.is_empty();
        if last {
            if self.fed {
                self.feed(&TAIL, out, limit)?;
            }
            self.fed = false;
            if let Some(decompress) = &mut self.decompress
                && (self.params.client_no_context_takeover || self.ended)
            {
                decompress.reset(false);
            }
            self.ended = false;
        }
        Ok(())
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        // A window of 8 (which a client may agree to) is read with 9: a larger window reads
        // what a smaller one wrote, and zlib's raw inflate starts at 9.
        let bits = self.params.client_max_window_bits.max(9);
        let decompress = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, bits)));
        while !self.ended && !input.is_empty() {
            if out.len() == out.capacity() {
                // Doubling, but never past one byte beyond the limit (enough to see a
                // message exceed it): a bomb costs no more memory than the limit.
                let room = (limit + 1).saturating_sub(out.len()).max(1);
                let grow = (input.len() * 4).clamp(256, 64 << 10).max(out.capacity());
                out.reserve_exact(grow.min(room));
            }
            let before = decompress.total_in();
            let status = decompress
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| invalid())?;
            input = &input[(decompress.total_in() - before) as usize..];
            if out.len() > limit {
                return Err(ProtocolError::new(
                    CloseCode::MESSAGE_TOO_BIG,
                    "message larger than the limit once decompressed",
                ));
            }
            match status {
                Status::StreamEnd => self.ended = true,
                // zlib stopped with room left in `out`: the input it has not taken is not
                // DEFLATE it can use.
                Status::Ok | Status::BufError
                    if out.len() < out.capacity() && !input.is_empty() =>
                {
                    return Err(invalid());
                }
                Status::Ok | Status::BufError => {}
            }
        }
        Ok(())
    }
}

fn invalid() -> ProtocolError {
    ProtocolError::new(
        CloseCode::INVALID_PAYLOAD,
        "a compressed message that is not DEFLATE",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(deflate: &Deflate, offer: &str) -> Option<String> {
        deflate
            .negotiate(std::iter::once(offer.as_bytes()))
            .map(|agreed| agreed.header_value())
    }

    #[test]
    fn offers_are_accepted_or_declined_as_rfc_7692_says() {
        let default = Deflate::new();
        let small = Deflate::new()
            .server_max_window_bits(10)
            .client_max_window_bits(11);
        let table: [(&Deflate, &str, Option<&str>); 16] = [
            (&default, "permessage-deflate", Some("permessage-deflate")),
            (
                &default,
                "PerMessage-Deflate ;  client_max_window_bits",
                Some("permessage-deflate"),
            ),
            (
                &default,
                "permessage-deflate; server_no_context_takeover",
                Some("permessage-deflate; server_no_context_takeover"),
            ),
            (
                &default,
                "permessage-deflate; client_no_context_takeover",
                Some("permessage-deflate; client_no_context_takeover"),
            ),
            (
                &default,
                "permessage-deflate; server_max_window_bits=10",
                Some("permessage-deflate; server_max_window_bits=10"),
            ),
            (
                &default,
                "permessage-deflate; server_max_window_bits=\"12\"",
                Some("permessage-deflate; server_max_window_bits=12"),
            ),
            (
                &default,
                "permessage-deflate; client_max_window_bits=9",
                Some("permessage-deflate; client_max_window_bits=9"),
            ),
            (
                &small,
                "permessage-deflate",
                Some("permessage-deflate; server_max_window_bits=10"),
            ),
            (
                &small,
                "permessage-deflate; client_max_window_bits",
                Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=11"),
            ),
            (
                &small,
                "permessage-deflate; client_max_window_bits=9",
                Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"),
            ),
            (
                &small,
                "permessage-deflate; server_max_window_bits=12",
                Some("permessage-deflate; server_max_window_bits=10"),
            ),
            (
                &default,
                "permessage-deflate; server_max_window_bits=8",
                None,
            ),
            (&default, "permessage-deflate; server_max_window_bits", None),
            (
                &default,
                "permessage-deflate; server_max_window_bits=16",
                None,
            ),
            (&default, "permessage-deflate; x-unknown", None),
            (
                &default,
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                None,
            ),
        ];
        for (deflate, offered, answer) in table {
            assert_eq!(offer(deflate, offered).as_deref(), answer, "{offered}");
        }
        assert_eq!(
            offer(&default, "permessage-deflate; client_max_window_bits=8").as_deref(),
            Some("permessage-deflate; client_max_window_bits=8")
        );
        assert_eq!(offer(&default, "x-webkit-deflate-frame"), None);
        assert_eq!(
            offer(&default, "permessage-deflate; client_no_context_takeover=1"),
            None
        );
        // The first acceptable offer wins; the one before it is declined.
        let two = "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9";
        assert_eq!(
            offer(&default, two).as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        let asked = Deflate::new()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true);
        assert_eq!(
            offer(&asked, "permessage-deflate").as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
    }

    fn agreed(offered: &str, deflate: Deflate) -> DeflateParams {
        deflate
            .negotiate(std::iter::once(offered.as_bytes()))
            .unwrap()
    }

    /// What a client sends: `message` compressed with a sync flush, the tail removed.
    fn client_compress(compress: &mut Compress, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() + 64);
        compress
            .compress_vec(message, &mut out, FlushCompress::Sync)
            .unwrap();
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    #[test]
    fn messages_go_both_ways_with_the_context_kept() {
        let params = agreed("permessage-deflate", Deflate::new());
        let mut deflater = Deflater::new(params);
        let mut inflater = Inflater::new(params);
        let message = b"{\"event\":\"tick\",\"value\":1234567890}".repeat(20);
        let mut sizes = Vec::new();
        for _ in 0..3 {
            let compressed = deflater.compress(&message).unwrap().unwrap().to_vec();
            sizes.push(compressed.len());
            let mut out = Vec::new();
            inflater
                .inflate(&compressed, true, &mut out, 1 << 20)
                .unwrap();
            assert_eq!(out, message);
        }
        assert!(
            sizes[1] < sizes[0] / 2,
            "the second refers to the first: {sizes:?}"
        );
        // A client's message in three fragments.
        let mut client = Compress::new_with_window_bits(Compression::new(6), false, 15);
        let compressed = client_compress(&mut client, &message);
        let mut out = Vec::new();
        let (a, rest) = compressed.split_at(3);
        let (b, c) = rest.split_at(rest.len() / 2);
        inflater.inflate(a, false, &mut out, 1 << 20).unwrap();
        inflater.inflate(b, false, &mut out, 1 << 20).unwrap();
        inflater.inflate(c, true, &mut out, 1 << 20).unwrap();
        assert_eq!(out, message);
    }

    #[test]
    fn without_context_takeover_each_message_stands_alone() {
        let params = agreed(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            Deflate::new(),
        );
        let mut deflater = Deflater::new(params);
        let message = b"abcdefgh".repeat(50);
        let first = deflater.compress(&message).unwrap().unwrap().to_vec();
        let second = deflater.compress(&message).unwrap().unwrap().to_vec();
        assert_eq!(first, second);
        // What does not shrink goes out as it is.
        assert_eq!(deflater.compress(b"x").unwrap(), None);
        let mut inflater = Inflater::new(params);
        for _ in 0..2 {
            let mut client = Compress::new_with_window_bits(Compression::new(6), false, 15);
            let mut out = Vec::new();
            let compressed = client_compress(&mut client, &message);
            inflater
                .inflate(&compressed, true, &mut out, 1 << 20)
                .unwrap();
            assert_eq!(out, message);
        }
    }

    #[test]
    fn short_messages_go_out_uncompressed_below_the_minimum() {
        let params = agreed("permessage-deflate", Deflate::new().min_size(100));
        let mut deflater = Deflater::new(params);
        assert_eq!(deflater.compress(&[b'a'; 99]).unwrap(), None);
        assert!(deflater.compress(&[b'a'; 100]).unwrap().is_some());
    }

    #[test]
    fn a_bomb_is_1009_and_garbage_is_1007() {
        let params = agreed("permessage-deflate", Deflate::new());
        let mut client = Compress::new_with_window_bits(Compression::new(9), false, 15);
        let bomb = client_compress(&mut client, &vec![0; 10 << 20]);
        assert!(bomb.len() < 20 << 10);
        let mut out = Vec::new();
        let err = Inflater::new(params)
            .inflate(&bomb, true, &mut out, 64 << 10)
            .unwrap_err();
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);
        assert!(out.capacity() <= 2 * (64 << 10), "{}", out.capacity());
        let err = Inflater::new(params)
            .inflate(&[0xff; 32], true, &mut Vec::new(), 1 << 20)
            .unwrap_err();
        assert_eq!(err.code, CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn a_final_block_ends_the_message_and_the_next_starts_afresh() {
        let params = agreed("permessage-deflate", Deflate::new());
        let mut inflater = Inflater::new(params);
        for message in [&b"first message"[..], b"second"] {
            let mut client = Compress::new_with_window_bits(Compression::new(6), false, 15);
            let mut data = Vec::with_capacity(64);
            client
                .compress_vec(message, &mut data, FlushCompress::Finish)
                .unwrap();
            let mut out = Vec::new();
            inflater.inflate(&data, true, &mut out, 1 << 20).unwrap();
            assert_eq!(out, message);
        }
    }
}
