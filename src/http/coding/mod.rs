//! Content codings (RFC 9110 §8.4): gzip, Brotli and Zstandard, each behind its feature
//! (`compression-gzip`, `compression-br`, `compression-zstd`, or `compression` for all three).
//! Without any of them only [`Coding`] and [`negotiate`] are here.
//!
//! - [`Coding`]: a coding and its token;
//! - [`negotiate`]: the coding a request's `Accept-Encoding` allows, in the server's preference
//!   order (RFC 9110 §12.5.3);
//! - with a coding feature, `Compression`: what a server compresses (codings in preference
//!   order, levels, the size threshold, the responses that are left alone) and how: in one
//!   piece (`Compression::encode`) or chunk by chunk, flushed after each (`Encoder`), so
//!   streamed events still arrive at once;
//! - with a coding feature, `Decoder`: a request body's coding removed, bounded by a limit on
//!   the decoded size.
//!
//! The static-response cache renders the compressed variants of its routes once
//! (`Options::static_compression`); the App compresses responses with its `Compression`
//! middleware and decodes request bodies with
//! `RequestDecompression`.

#[cfg(coding)]
mod decode;
#[cfg(coding)]
mod encode;
mod negotiate;
#[cfg(coding)]
mod policy;

#[cfg(coding)]
pub use decode::{DecodeError, Decoder};
#[cfg(coding)]
pub use encode::Encoder;
pub use negotiate::negotiate;
#[cfg(coding)]
pub use policy::{Compression, Levels, compressible_media_type};

/// A content coding nanoapi can apply to a body or remove from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// `gzip` (RFC 1952; `x-gzip` is read as the same).
    Gzip,
    /// `br`, Brotli (RFC 7932).
    Brotli,
    /// `zstd`, Zstandard (RFC 8878).
    Zstd,
}

impl Coding {
    /// The codings this build carries (their features), in the default preference order:
    /// zstd, br, gzip.
    pub const fn available() -> &'static [Coding] {
        const ALL: &[Coding] = &[
            #[cfg(feature = "compression-zstd")]
            Coding::Zstd,
            #[cfg(feature = "compression-br")]
            Coding::Brotli,
            #[cfg(feature = "compression-gzip")]
            Coding::Gzip,
        ];
        ALL
    }

    /// Whether this build carries the coding (its feature is on).
    pub const fn is_available(self) -> bool {
        match self {
            Coding::Gzip => cfg!(feature = "compression-gzip"),
            Coding::Brotli => cfg!(feature = "compression-br"),
            Coding::Zstd => cfg!(feature = "compression-zstd"),
        }
    }

    /// The token in `Content-Encoding` and `Accept-Encoding`.
    ///
    /// ```
    /// use nanoapi::http::coding::Coding;
    /// assert_eq!(Coding::Brotli.token(), "br");
    /// ```
    pub const fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The coding a token names, ignoring ASCII case (`x-gzip` is gzip); `None` for
    /// `identity`, `*` and codings nanoapi does not know.
    ///
    /// ```
    /// use nanoapi::http::coding::Coding;
    /// assert_eq!(Coding::from_token(b"X-GZIP"), Some(Coding::Gzip));
    /// assert_eq!(Coding::from_token(b"compress"), None);
    /// ```
    pub fn from_token(token: &[u8]) -> Option<Coding> {
        [
            (&b"gzip"[..], Coding::Gzip),
            (b"x-gzip", Coding::Gzip),
            (b"br", Coding::Brotli),
            (b"zstd", Coding::Zstd),
        ]
        .into_iter()
        .find(|(name, _)| token.eq_ignore_ascii_case(name))
        .map(|(_, coding)| coding)
    }
}

impl std::fmt::Display for Coding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token())
    }
}

#[cfg(test)]
mod tests;
