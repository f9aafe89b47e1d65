//! The chunked transfer coding decoder (RFC 9112 §7.1), fed arbitrary slices, copying nothing.
//!
//! ```notrust
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-name = token
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! [`ChunkedDecoder`] is a state machine in the style of hyper's `decode.rs`: an enum of states,
//! one small function per state that reads one byte and returns the next state or a precise
//! error. Chunk data is not read byte by byte: [`ChunkedDecoder::decode`] hands back the longest
//! run of data the input holds as a slice of that input. Because all state lives in the
//! decoder, input may be split anywhere, down to one byte per call.
//!
//! Policy (strict, like the head parser):
//!
//! - a chunk size is 1 to 16 hex digits: no sign, no `0x`, no leading whitespace; 16 digits
//!   cannot overflow a `u64`, a 17th is an error (RFC 9112 §7.1: "anticipate potentially large
//!   hexadecimal numerals and prevent parsing errors due to integer conversion overflows");
//! - extensions are parsed to their grammar and ignored, at most
//!   [`ChunkedLimits::max_extensions`] bytes per chunk line (RFC 9112 §7.1.1);
//! - BWS is accepted only where the grammar has it (before `;`, around `=`): `5 \r\n` and
//!   `5;a \r\n` are errors;
//! - every line ends in CRLF; a bare LF or a bare CR is an error (the head parser's rule, and
//!   chunk lines are where proxies have disagreed most);
//! - chunk data must be followed by CRLF: more data than the size announced is an error;
//! - trailer fields get the head's validation (token names, no whitespace before `:`, no
//!   obs-fold, no control characters in values), are bounded in bytes and count, and are
//!   discarded: nothing in nanoapi reads trailers;
//! - the total of the chunk sizes is bounded by [`ChunkedLimits::max_body`], checked when a size
//!   line ends, before its data arrives ([`ChunkedError::TooLarge`], status 413).

use std::fmt;

use super::chars::{self, TOKEN, VALUE};

/// Bounds on what a chunked body may contain.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkedLimits {
    /// Most bytes of chunk extensions on one chunk line, from the first `;` or whitespace after
    /// the size to the CR (default 4 KiB).
    pub max_extensions: usize,
    /// Most bytes of trailer field lines, their CRLFs included (default 16 KiB). The CRLF that
    /// ends the body does not count, so a body without trailers fits any bound.
    pub max_trailer_bytes: usize,
    /// Most trailer fields (default 100).
    pub max_trailers: usize,
    /// Most body bytes, the sum of all chunk sizes (default `u64::MAX`: unbounded).
    pub max_body: u64,
}

impl Default for ChunkedLimits {
    fn default() -> ChunkedLimits {
        ChunkedLimits {
            max_extensions: 4 * 1024,
            max_trailer_bytes: 16 * 1024,
            max_trailers: 100,
            max_body: u64::MAX,
        }
    }
}

/// What one call to [`ChunkedDecoder::decode`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Body bytes: a slice of the input.
    Data(&'a [u8]),
    /// The input was used up without producing data; call again with more.
    NeedMore,
    /// The body has ended, trailer section and final CRLF included. Input after the consumed
    /// bytes belongs to whatever follows (the next pipelined request).
    Done,
}

/// A chunked-body decoder for one message.
///
/// # Examples
///
/// ```
/// use nanoapi::http::chunked::{Chunk, ChunkedDecoder, ChunkedLimits};
///
/// let wire = b"5\r\nhello\r\n6;ext=\"x\"\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT";
/// let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
/// let (mut at, mut body) = (0, Vec::new());
/// loop {
///     let (consumed, chunk) = decoder.decode(&wire[at..]).unwrap();
///     at += consumed;
///     match chunk {
///         Chunk::Data(data) => body.extend_from_slice(data),
///         Chunk::NeedMore => unreachable!("the whole body is in `wire`"),
///         Chunk::Done => break,
///     }
/// }
/// assert_eq!((&body[..], &wire[at..]), (&b"hello world"[..], &b"NEXT"[..]));
/// ```
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    limits: ChunkedLimits,
    /// Chunk size being read, then the bytes of the current chunk's data still to come.
    size: u64,
    /// Hex digits read for the current size.
    size_digits: u8,
    /// Extension bytes on the current chunk line.
    extension_bytes: usize,
    /// Trailer-section bytes so far.
    trailer_bytes: usize,
    /// Trailer fields so far.
    trailers: usize,
    /// Sum of the chunk sizes read so far.
    body_bytes: u64,
    /// The trailer section's bytes, when they are kept ([`ChunkedDecoder::keep_trailers`]).
    kept: Option<Vec<u8>>,
}

/// Why a chunked body was rejected. [`ChunkedError::status`] gives the response status; after
/// any error the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChunkedError {
    /// A chunk size that is empty or starts with something other than a hex digit.
    InvalidSize,
    /// A chunk size of more than 16 hex digits.
    SizeTooLong,
    /// Whitespace after a chunk size not followed by `;` or CRLF.
    InvalidSizeWhitespace,
    /// A chunk extension that does not follow `chunk-ext`.
    InvalidExtension,
    /// More than [`ChunkedLimits::max_extensions`] extension bytes on one chunk line.
    ExtensionsTooLarge,
    /// A chunk line ending in a bare LF.
    BareLf,
    /// A CR not followed by LF in a chunk line or the trailer section.
    BareCr,
    /// Chunk data not followed by CRLF: the chunk holds more data than its size.
    DataTooLong,
    /// A trailer field name that is empty or not a token.
    InvalidTrailerName,
    /// Whitespace between a trailer field name and its colon.
    TrailerWhitespaceBeforeColon,
    /// A trailer line starting with whitespace (obs-fold).
    TrailerObsFold,
    /// A control character (except HTAB) in a trailer field value.
    InvalidTrailerValue,
    /// More than [`ChunkedLimits::max_trailers`] trailer fields.
    TooManyTrailers,
    /// More than [`ChunkedLimits::max_trailer_bytes`] bytes of trailers.
    TrailersTooLarge,
    /// More body bytes than [`ChunkedLimits::max_body`].
    TooLarge,
}

impl ChunkedError {
    /// The response status for this error: 413 for [`ChunkedError::TooLarge`], 400 otherwise.
    pub const fn status(self) -> u16 {
        match self {
            ChunkedError::TooLarge => 413,
            _ => 400,
        }
    }

    /// A short description, for logs. Not stable: do not match on it.
    pub const fn description(self) -> &'static str {
        use ChunkedError::*;
        match self {
            InvalidSize => "invalid chunk size",
            SizeTooLong => "invalid chunk size: more than 16 hex digits",
            InvalidSizeWhitespace => "invalid chunk size: whitespace not before ';' or CRLF",
            InvalidExtension => "invalid chunk extension",
            ExtensionsTooLarge => "chunk extensions too large",
            BareLf => "invalid chunk line: LF without CR",
            BareCr => "invalid chunked body: CR without LF",
            DataTooLong => "chunk data longer than its size",
            InvalidTrailerName => "invalid trailer field name",
            TrailerWhitespaceBeforeColon => "whitespace between trailer field name and colon",
            TrailerObsFold => "obsolete line folding in a trailer field",
            InvalidTrailerValue => "invalid byte in trailer field value",
            TooManyTrailers => "too many trailer fields",
            TrailersTooLarge => "trailer section too large",
            TooLarge => "body too large",
        }
    }
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for ChunkedError {}

/// Where the decoder is in the chunked grammar. Each state but `Data` and `Done` reads one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a chunk line: the first hex digit.
    SizeStart,
    /// More hex digits, or what ends the size.
    Size,
    /// Whitespace after the size: BWS before `;`.
    SizeWhitespace,
    /// After `;`: BWS, then the first byte of an extension name.
    ExtensionNameStart,
    /// Inside an extension name.
    ExtensionName,
    /// Whitespace after an extension name: BWS before `=` or `;`.
    ExtensionNameWhitespace,
    /// After `=`: BWS, then a token or a quoted string.
    ExtensionValueStart,
    /// Inside a token value.
    ExtensionToken,
    /// Inside a quoted-string value.
    ExtensionQuoted,
    /// After a backslash in a quoted string.
    ExtensionQuotedEscape,
    /// After a quoted string's closing quote.
    ExtensionQuotedEnd,
    /// Whitespace after a value: BWS before `;`.
    ExtensionValueWhitespace,
    /// After the CR ending a chunk line.
    SizeLf,
    /// Inside chunk data; `size` bytes to come.
    Data,
    /// After chunk data: its CR.
    DataCr,
    /// After chunk data's CR: its LF.
    DataLf,
    /// At the start of a trailer line, or of the final CRLF.
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value.
    TrailerValue,
    /// After the CR ending a trailer field line.
    TrailerLf,
    /// After the CR of the final CRLF.
    EndLf,
    /// The body has ended.
    Done,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(limits: ChunkedLimits) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeStart,
            limits,
            size: 0,
            size_digits: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            trailers: 0,
            kept: None,
            body_bytes: 0,
        }
    }

    /// Decodes from `input`, returning how many bytes of it were consumed and what they held.
    ///
    /// Returns at the first of: a run of chunk data (`Data`, a slice of `input`, never empty),
    /// the end of the body (`Done`; the bytes after `consumed` are not part of the body), or the
    /// end of `input` (`NeedMore`; all of it was consumed). After `Done`, every call returns
    /// `(0, Done)`. Call again with `&input[consumed..]` and then with new bytes.
    ///
    /// # Errors
    ///
    /// A [`ChunkedError`] when the bytes break the grammar or a [`ChunkedLimits`] bound. The
    /// decoder is then in an unspecified state; the connection must be closed.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Chunk<'a>), ChunkedError> {
        let mut at = 0;
        loop {
            match self.state {
                State::Data => {
                    let available = &input[at..];
                    if available.is_empty() {
                        return Ok((at, Chunk::NeedMore));
                    }
                    // `size` is non-zero here, and the `min` bounds the cast.
                    let n = available
                        .len()
                        .min(usize::try_from(self.size).unwrap_or(usize::MAX));
                    self.size -= n as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok((at + n, Chunk::Data(&available[..n])));
                }
                State::Done => return Ok((at, Chunk::Done)),
                state => {
                    let Some(&b) = input.get(at) else {
                        return Ok((at, Chunk::NeedMore));
                    };
                    at += 1;
                    self.state = self.step(state, b)?;
                }
            }
        }
    }

    /// Keeps the trailer fields (otherwise checked and dropped), for
    /// [`take_trailers`](ChunkedDecoder::take_trailers).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::chunked::{Chunk, ChunkedDecoder, ChunkedLimits};
    ///
    /// let wire = b"2\r\nhi\r\n0\r\ngrpc-status: 0\r\nx-sum:  ab \r\n\r\n";
    /// let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    /// decoder.keep_trailers();
    /// let mut at = 0;
    /// while !decoder.is_done() {
    ///     at += decoder.decode(&wire[at..]).unwrap().0;
    /// }
    /// let trailers = decoder.take_trailers();
    /// assert_eq!(trailers, [("grpc-status".into(), "0".into()), ("x-sum".into(), "ab".into())]);
    /// ```
    pub fn keep_trailers(&mut self) {
        self.kept.get_or_insert_with(Vec::new);
    }

    /// The trailer fields read so far (name, value without surrounding whitespace), taken out;
    /// none unless [`keep_trailers`](ChunkedDecoder::keep_trailers) was called.
    pub fn take_trailers(&mut self) -> Vec<(bytes::Bytes, bytes::Bytes)> {
        let Some(kept) = self.kept.as_mut() else {
            return Vec::new();
        };
        let section = std::mem::take(kept);
        section
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|&b| b == b':')?;
                let value = chars::trim_ows(&line[colon + 1..]);
                Some((
                    bytes::Bytes::copy_from_slice(&line[..colon]),
                    bytes::Bytes::copy_from_slice(value),
                ))
            })
            .collect()
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The body bytes announced so far: the sum of the chunk sizes read.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    fn step(&mut self, state: State, b: u8) -> Result<State, ChunkedError> {
        match state {
            State::SizeStart => self.read_size_start(b),
            State::Size => self.read_size(b),
            State::SizeWhitespace => self.read_size_whitespace(b),
            State::ExtensionNameStart => self.read_extension_name_start(b),
            State::ExtensionName => self.read_extension_name(b),
            State::ExtensionNameWhitespace => self.read_extension_name_whitespace(b),
            State::ExtensionValueStart => self.read_extension_value_start(b),
            State::ExtensionToken => self.read_extension_token(b),
            State::ExtensionQuoted => self.read_extension_quoted(b),
            State::ExtensionQuotedEscape => self.read_extension_quoted_escape(b),
            State::ExtensionQuotedEnd => self.read_extension_quoted_end(b),
            State::ExtensionValueWhitespace => self.read_extension_value_whitespace(b),
            State::SizeLf => self.read_size_lf(b),
            State::DataCr => read_data_cr(b),
            State::DataLf => read_data_lf(b),
            State::TrailerStart => self.read_trailer_start(b),
            State::TrailerName => self.read_trailer_name(b),
            State::TrailerValue => self.read_trailer_value(b),
            State::TrailerLf => self.read_trailer_lf(b),
            State::EndLf => read_end_lf(b),
            // `decode` handles these two without reading a byte.
            State::Data | State::Done => Ok(state),
        }
    }

    fn read_size_start(&mut self, b: u8) -> Result<State, ChunkedError> {
        let Some(digit) = hex_digit(b) else {
            return Err(ChunkedError::InvalidSize);
        };
        self.size = u64::from(digit);
        self.size_digits = 1;
        self.extension_bytes = 0;
        Ok(State::Size)
    }

    fn read_size(&mut self, b: u8) -> Result<State, ChunkedError> {
        if let Some(digit) = hex_digit(b) {
            // 16 hex digits fill a u64 exactly, so the shift cannot lose bits.
            if self.size_digits == 16 {
                return Err(ChunkedError::SizeTooLong);
            }
            self.size_digits += 1;
            self.size = self.size << 4 | u64::from(digit);
            return Ok(State::Size);
        }
        match b {
            b'\r' => Ok(State::SizeLf),
            b'\n' => Err(ChunkedError::BareLf),
            b';' => self.extension_byte(State::ExtensionNameStart),
            b' ' | b'\t' => self.extension_byte(State::SizeWhitespace),
            _ => Err(ChunkedError::InvalidSize),
        }
    }

    /// BWS after the size exists only before `;`: `5 \r\n` is refused.
    fn read_size_whitespace(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::SizeWhitespace),
            b';' => self.extension_byte(State::ExtensionNameStart),
            b'\n' => Err(ChunkedError::BareLf),
            _ => Err(ChunkedError::InvalidSizeWhitespace),
        }
    }

    fn read_extension_name_start(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::ExtensionNameStart),
            _ if chars::is(b, TOKEN) => self.extension_byte(State::ExtensionName),
            _ => after_whitespace(b),
        }
    }

    fn read_extension_name(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            _ if chars::is(b, TOKEN) => self.extension_byte(State::ExtensionName),
            b' ' | b'\t' => self.extension_byte(State::ExtensionNameWhitespace),
            b'=' => self.extension_byte(State::ExtensionValueStart),
            b';' => self.extension_byte(State::ExtensionNameStart),
            _ => line_end(b),
        }
    }

    fn read_extension_name_whitespace(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::ExtensionNameWhitespace),
            b'=' => self.extension_byte(State::ExtensionValueStart),
            b';' => self.extension_byte(State::ExtensionNameStart),
            _ => after_whitespace(b),
        }
    }

    fn read_extension_value_start(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::ExtensionValueStart),
            b'"' => self.extension_byte(State::ExtensionQuoted),
            _ if chars::is(b, TOKEN) => self.extension_byte(State::ExtensionToken),
            _ => after_whitespace(b),
        }
    }

    fn read_extension_token(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            _ if chars::is(b, TOKEN) => self.extension_byte(State::ExtensionToken),
            b' ' | b'\t' => self.extension_byte(State::ExtensionValueWhitespace),
            b';' => self.extension_byte(State::ExtensionNameStart),
            _ => line_end(b),
        }
    }

    /// `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text` (RFC 9110 §5.6.4).
    fn read_extension_quoted(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b'"' => self.extension_byte(State::ExtensionQuotedEnd),
            b'\\' => self.extension_byte(State::ExtensionQuotedEscape),
            b'\r' => Err(ChunkedError::BareCr),
            b'\n' => Err(ChunkedError::BareLf),
            _ if chars::is(b, VALUE) => self.extension_byte(State::ExtensionQuoted),
            _ => Err(ChunkedError::InvalidExtension),
        }
    }

    /// `quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )`.
    fn read_extension_quoted_escape(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b'\r' => Err(ChunkedError::BareCr),
            b'\n' => Err(ChunkedError::BareLf),
            _ if chars::is(b, VALUE) => self.extension_byte(State::ExtensionQuoted),
            _ => Err(ChunkedError::InvalidExtension),
        }
    }

    fn read_extension_quoted_end(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::ExtensionValueWhitespace),
            b';' => self.extension_byte(State::ExtensionNameStart),
            _ => line_end(b),
        }
    }

    /// BWS after a value exists only before the next `;`.
    fn read_extension_value_whitespace(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b' ' | b'\t' => self.extension_byte(State::ExtensionValueWhitespace),
            b';' => self.extension_byte(State::ExtensionNameStart),
            _ => after_whitespace(b),
        }
    }

    /// Counts one extension byte against the per-line bound, then moves to `next`.
    fn extension_byte(&mut self, next: State) -> Result<State, ChunkedError> {
        self.extension_bytes += 1;
        if self.extension_bytes > self.limits.max_extensions {
            return Err(ChunkedError::ExtensionsTooLarge);
        }
        Ok(next)
    }

    /// The chunk line has ended: data follows, or the trailer section after the last chunk.
    fn read_size_lf(&mut self, b: u8) -> Result<State, ChunkedError> {
        if b != b'\n' {
            return Err(ChunkedError::BareCr);
        }
        if self.size == 0 {
            return Ok(State::TrailerStart);
        }
        self.body_bytes = self
            .body_bytes
            .checked_add(self.size)
            .filter(|&total| total <= self.limits.max_body)
            .ok_or(ChunkedError::TooLarge)?;
        Ok(State::Data)
    }

    fn read_trailer_start(&mut self, b: u8) -> Result<State, ChunkedError> {
        match b {
            b'\r' => Ok(State::EndLf),
            b'\n' => Err(ChunkedError::BareLf),
            b' ' | b'\t' => Err(ChunkedError::TrailerObsFold),
            _ if chars::is(b, TOKEN) => {
                self.trailer_byte(b)?;
                self.trailers += 1;
                if self.trailers > self.limits.max_trailers {
                    return Err(ChunkedError::TooManyTrailers);
                }
                Ok(State::TrailerName)
            }
            _ => Err(ChunkedError::InvalidTrailerName),
        }
    }

    fn read_trailer_name(&mut self, b: u8) -> Result<State, ChunkedError> {
        self.trailer_byte(b)?;
        match b {
            b':' => Ok(State::TrailerValue),
            b' ' | b'\t' => Err(ChunkedError::TrailerWhitespaceBeforeColon),
            _ if chars::is(b, TOKEN) => Ok(State::TrailerName),
            _ => Err(ChunkedError::InvalidTrailerName),
        }
    }

    /// OWS, the value and trailing OWS are all [`VALUE`] bytes, so one state reads them.
    fn read_trailer_value(&mut self, b: u8) -> Result<State, ChunkedError> {
        self.trailer_byte(b)?;
        match b {
            b'\r' => Ok(State::TrailerLf),
            b'\n' => Err(ChunkedError::BareLf),
            _ if chars::is(b, VALUE) => Ok(State::TrailerValue),
            _ => Err(ChunkedError::InvalidTrailerValue),
        }
    }

    fn read_trailer_lf(&mut self, b: u8) -> Result<State, ChunkedError> {
        self.trailer_byte(b)?;
        if b != b'\n' {
            return Err(ChunkedError::BareCr);
        }
        Ok(State::TrailerStart)
    }

    /// Counts one trailer-section byte against its bound (and keeps it, if asked).
    fn trailer_byte(&mut self, b: u8) -> Result<(), ChunkedError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.limits.max_trailer_bytes {
            return Err(ChunkedError::TrailersTooLarge);
        }
        if let Some(kept) = &mut self.kept {
            kept.push(b);
        }
        Ok(())
    }
}

/// After a name or value, where CRLF may end the chunk line.
fn line_end(b: u8) -> Result<State, ChunkedError> {
    match b {
        b'\r' => Ok(State::SizeLf),
        b'\n' => Err(ChunkedError::BareLf),
        _ => Err(ChunkedError::InvalidExtension),
    }
}

/// After whitespace or a separator, where the line may not end.
fn after_whitespace(b: u8) -> Result<State, ChunkedError> {
    match b {
        b'\n' => Err(ChunkedError::BareLf),
        _ => Err(ChunkedError::InvalidExtension),
    }
}

fn read_data_cr(b: u8) -> Result<State, ChunkedError> {
    match b {
        b'\r' => Ok(State::DataLf),
        b'\n' => Err(ChunkedError::BareLf),
        _ => Err(ChunkedError::DataTooLong),
    }
}

fn read_data_lf(b: u8) -> Result<State, ChunkedError> {
    match b {
        b'\n' => Ok(State::SizeStart),
        _ => Err(ChunkedError::BareCr),
    }
}

fn read_end_lf(b: u8) -> Result<State, ChunkedError> {
    match b {
        b'\n' => Ok(State::Done),
        _ => Err(ChunkedError::BareCr),
    }
}

/// `HEXDIG = DIGIT / "A"-"F"`, case-insensitive (RFC 5234 §B.1).
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
