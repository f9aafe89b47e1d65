//! Removing a request body's coding, bounded by a limit on the decoded size.

use std::fmt;
use std::io::{self, Write};

use bytes::Bytes;

use super::Coding;

/// A request body being decoded as its pieces arrive: [`decode`](Decoder::decode) takes the
/// next piece of the coded body and returns what it decodes to, [`finish`](Decoder::finish)
/// checks that the coded stream ended. The decoded size is held to a limit as it is produced,
/// so a small coded body that expands without bound (a "decompression bomb") is refused once
/// the limit is passed, with no more than the limit held in memory.
///
/// ```
/// # #[cfg(feature = "compression-gzip")] {
/// use nanoapi::http::coding::{Coding, DecodeError, Decoder, Encoder, Levels};
///
/// let zeros = Encoder::encode_all(Coding::Gzip, &Levels::default(), &[0; 100_000]).unwrap();
/// let mut decoder = Decoder::new(Coding::Gzip, 1_000_000);
/// assert_eq!(decoder.decode(&zeros).unwrap().len(), 100_000);
/// decoder.finish().unwrap();
///
/// let mut small = Decoder::new(Coding::Gzip, 50_000);
/// assert!(matches!(small.decode(&zeros), Err(DecodeError::TooLarge)));
/// # }
/// ```
pub struct Decoder {
    inner: Inner,
}

enum Inner {
    #[cfg(feature = "compression-gzip")]
    Gzip(Box<flate2::write::MultiGzDecoder<Bounded>>),
    #[cfg(feature = "compression-br")]
    Brotli(Box<brotli::DecompressorWriter<Bounded>>),
    #[cfg(feature = "compression-zstd")]
    Zstd(zstd::stream::write::Decoder<'static, Bounded>),
}

/// Why a coded body was refused.
#[derive(Debug)]
pub enum DecodeError {
    /// It decodes to more than the limit (answer 413).
    TooLarge,
    /// It is not valid in its coding, or ends before its coded stream does (answer 400).
    Invalid(io::Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge => f.write_str("the request body decodes to more than its limit"),
            DecodeError::Invalid(err) => write!(f, "the request body's coding is invalid: {err}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Brotli's writer's buffer.
#[cfg(feature = "compression-br")]
const BROTLI_BUFFER: usize = 4096;

impl Decoder {
    /// A decoder for `coding` whose output may not exceed `limit` bytes in all.
    ///
    /// # Panics
    ///
    /// If this build does not carry `coding` (see [`Coding::is_available`]).
    pub fn new(coding: Coding, limit: u64) -> Decoder {
        let out = Bounded {
            out: Vec::new(),
            left: limit,
            over: false,
        };
        let inner = match coding {
            #[cfg(feature = "compression-gzip")]
            Coding::Gzip => Inner::Gzip(Box::new(flate2::write::MultiGzDecoder::new(out))),
            #[cfg(feature = "compression-br")]
            Coding::Brotli => Inner::Brotli(Box::new(brotli::DecompressorWriter::new(
                out,
                BROTLI_BUFFER,
            ))),
            #[cfg(feature = "compression-zstd")]
            Coding::Zstd => Inner::Zstd(
                zstd::stream::write::Decoder::new(out).expect("a zstd decompression context"),
            ),
            #[allow(unreachable_patterns)]
            other => {
                let _ = out;
                panic!("content coding {other} needs feature compression-{other}")
            }
        };
        Decoder { inner }
    }

    /// Decodes the next piece of the coded body: what it decodes to (maybe nothing yet).
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooLarge`] once the output passes the limit, [`DecodeError::Invalid`]
    /// for bytes the coding refuses (also bytes after the end of its stream).
    pub fn decode(&mut self, coded: &[u8]) -> Result<Bytes, DecodeError> {
        let written = match &mut self.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => w.write_all(coded).and_then(|()| w.flush()),
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => w.write_all(coded).and_then(|()| w.flush()),
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => w.write_all(coded).and_then(|()| w.flush()),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a Decoder is built for a coding this build carries"),
        };
        self.settle(written)
    }

    /// Checks that the coded stream ended, and returns the last decoded bytes.
    ///
    /// # Errors
    ///
    /// As [`decode`](Decoder::decode); [`DecodeError::Invalid`] for a stream cut short.
    pub fn finish(mut self) -> Result<Bytes, DecodeError> {
        let finished = match &mut self.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => w.try_finish(),
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => w.close(),
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => w.do_finish(),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a Decoder is built for a coding this build carries"),
        };
        self.settle(finished)
    }

    /// The decoded bytes so far, or the error `result` stands for.
    fn settle(&mut self, result: io::Result<()>) -> Result<Bytes, DecodeError> {
        let out = self.output();
        match result {
            Ok(()) => Ok(Bytes::from(std::mem::take(&mut out.out))),
            Err(_) if out.over => Err(DecodeError::TooLarge),
            Err(err) => Err(DecodeError::Invalid(err)),
        }
    }

    fn output(&mut self) -> &mut Bounded {
        match &mut self.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => w.get_mut(),
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => w.get_mut(),
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => w.get_mut(),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a Decoder is built for a coding this build carries"),
        }
    }
}

/// The decoded bytes, refused past the limit.
struct Bounded {
    out: Vec<u8>,
    left: u64,
    /// Set when a write passed the limit: the error the codec returns is then a 413.
    over: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            self.over = true;
            return Err(io::Error::other("decoded body over its limit"));
        }
        self.left -= buf.len() as u64;
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}
