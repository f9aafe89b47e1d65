//! Compressing a body: in one piece, or chunk by chunk with a flush after each chunk.

use std::fmt;
use std::io::{self, Write};

use bytes::Bytes;

use super::{Coding, Levels};

/// A body being compressed chunk by chunk: each [`encode_chunk`](Encoder::encode_chunk)
/// returns the compressed bytes for everything given so far (the coding's flush: a chunk of a
/// streamed response, an event of an event stream, can be decoded as soon as it arrives), and
/// [`finish`](Encoder::finish) ends the stream.
///
/// ```
/// # #[cfg(feature = "compression-gzip")] {
/// use nanoapi::http::coding::{Coding, Encoder, Levels};
///
/// let mut encoder = Encoder::new(Coding::Gzip, &Levels::default());
/// let mut gzip = encoder.encode_chunk(b"data: one\n\n").unwrap().to_vec();
/// gzip.extend_from_slice(&encoder.encode_chunk(b"data: two\n\n").unwrap());
/// gzip.extend_from_slice(&encoder.finish().unwrap());
/// assert_eq!(&gzip[..2], b"\x1f\x8b");
/// # }
/// ```
pub struct Encoder {
    inner: Inner,
}

enum Inner {
    #[cfg(feature = "compression-gzip")]
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    #[cfg(feature = "compression-br")]
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    #[cfg(feature = "compression-zstd")]
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

/// Brotli's window (log2 of its size): its default, 4 MiB.
#[cfg(feature = "compression-br")]
const BROTLI_WINDOW: u32 = 22;

/// The size of the buffer Brotli's writer compresses through.
#[cfg(feature = "compression-br")]
const BROTLI_BUFFER: usize = 4096;

impl Encoder {
    /// An encoder for `coding` at its level in `levels`.
    ///
    /// # Panics
    ///
    /// If this build does not carry `coding` (see [`Coding::is_available`]).
    pub fn new(coding: Coding, levels: &Levels) -> Encoder {
        let inner = match coding {
            #[cfg(feature = "compression-gzip")]
            Coding::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(levels.gzip),
            )),
            #[cfg(feature = "compression-br")]
            Coding::Brotli => Inner::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                levels.brotli,
                BROTLI_WINDOW,
            ))),
            #[cfg(feature = "compression-zstd")]
            Coding::Zstd => Inner::Zstd(
                zstd::stream::write::Encoder::new(Vec::new(), levels.zstd)
                    .expect("a zstd context for a level Levels accepted"),
            ),
            #[allow(unreachable_patterns)]
            other => panic!("content coding {other} needs feature compression-{other}"),
        };
        Encoder { inner }
    }

    /// Compresses `chunk` and flushes: the bytes returned, with those returned before,
    /// decode to every chunk given so far.
    ///
    /// # Errors
    ///
    /// What the codec reports (not expected: the output is memory).
    pub fn encode_chunk(&mut self, chunk: &[u8]) -> io::Result<Bytes> {
        match &mut self.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => flushed(w, chunk, |w| w.get_mut()),
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => flushed(&mut **w, chunk, |w| w.get_mut()),
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => flushed(w, chunk, |w| w.get_mut()),
            #[allow(unreachable_patterns)]
            _ => unreachable!("an Encoder is built for a coding this build carries"),
        }
    }

    /// Ends the stream: the coding's last bytes.
    ///
    /// # Errors
    ///
    /// As [`encode_chunk`](Encoder::encode_chunk).
    pub fn finish(self) -> io::Result<Bytes> {
        let out = match self.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => w.finish()?,
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => w.into_inner(),
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => w.finish()?,
            #[allow(unreachable_patterns)]
            _ => unreachable!("an Encoder is built for a coding this build carries"),
        };
        Ok(Bytes::from(out))
    }

    /// `body` compressed in one piece.
    ///
    /// # Errors
    ///
    /// As [`encode_chunk`](Encoder::encode_chunk).
    pub fn encode_all(coding: Coding, levels: &Levels, body: &[u8]) -> io::Result<Bytes> {
        let mut encoder = Encoder::new(coding, levels);
        match &mut encoder.inner {
            #[cfg(feature = "compression-gzip")]
            Inner::Gzip(w) => w.write_all(body)?,
            #[cfg(feature = "compression-br")]
            Inner::Brotli(w) => w.write_all(body)?,
            #[cfg(feature = "compression-zstd")]
            Inner::Zstd(w) => {
                w.set_pledged_src_size(Some(body.len() as u64))?;
                w.write_all(body)?
            }
            #[allow(unreachable_patterns)]
            _ => unreachable!("an Encoder is built for a coding this build carries"),
        }
        encoder.finish()
    }
}

/// Writes `chunk` through `w`, flushes, and takes what reached the output `Vec`.
fn flushed<W: Write>(
    w: &mut W,
    chunk: &[u8],
    output: impl FnOnce(&mut W) -> &mut Vec<u8>,
) -> io::Result<Bytes> {
    w.write_all(chunk)?;
    w.flush()?;
    Ok(Bytes::from(std::mem::take(output(w))))
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}
