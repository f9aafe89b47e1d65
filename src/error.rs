//! `nanoapi::Error`: a boxed source and the HTTP status it should produce, if any.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::http::StatusCode;

/// The error of a dispatcher or of the runtime: a boxed source and, optionally, the status the
/// response should carry (else 500).
///
/// Body errors carry their status: too large → 413, malformed framing → 400, body timeout →
/// 408. The `Display` text is for logs; do not match on it, use [`status`](Error::status) and
/// the `is_*` predicates.
///
/// # Examples
///
/// ```
/// use nanoapi::Error;
/// use nanoapi::http::StatusCode;
///
/// let err = Error::with_status(StatusCode::NOT_FOUND, "no such user");
/// assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
/// assert_eq!(err.to_string(), "404 Not Found: no such user");
/// ```
pub struct Error {
    inner: Box<ErrorImpl>,
}

struct ErrorImpl {
    status: Option<StatusCode>,
    source: Box<dyn StdError + Send + Sync>,
}

/// `Result<T, nanoapi::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error without a status (it becomes a 500 if no response was sent).
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error {
            inner: Box::new(ErrorImpl {
                status: None,
                source: source.into(),
            }),
        }
    }

    /// An error that should be answered with `status`.
    pub fn with_status(
        status: StatusCode,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Error {
        Error {
            inner: Box::new(ErrorImpl {
                status: Some(status),
                source: source.into(),
            }),
        }
    }

    /// The status the response should carry, if the error names one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The status to answer with: the error's own, else 500.
    pub fn status_or_500(&self) -> StatusCode {
        self.inner
            .status
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Whether the request body was over its limit (413).
    pub fn is_body_too_large(&self) -> bool {
        self.inner.status == Some(StatusCode::CONTENT_TOO_LARGE)
    }

    /// Whether a timeout caused it (408).
    pub fn is_timeout(&self) -> bool {
        self.inner.status == Some(StatusCode::REQUEST_TIMEOUT)
    }

    /// The underlying error.
    pub fn source_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.inner.source
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.inner.status)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.status {
            Some(status) => write!(f, "{status}: {}", self.inner.source),
            None => fmt::Display::fmt(&self.inner.source, f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.inner.source)
    }
}

impl From<io::Error> for Error {
    /// I/O errors carry no status: the connection they happened on is usually gone.
    fn from(err: io::Error) -> Error {
        Error::new(err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::other(err)
    }
}

impl From<crate::http::HeaderError> for Error {
    /// A refused response header is the server's own bug: a 500.
    fn from(err: crate::http::HeaderError) -> Error {
        Error::new(err)
    }
}

impl From<crate::http::ParseError> for Error {
    fn from(err: crate::http::ParseError) -> Error {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        Error::with_status(status, err.description())
    }
}

impl From<crate::http::ChunkedError> for Error {
    fn from(err: crate::http::ChunkedError) -> Error {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        Error::with_status(status, err.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn wire_errors_keep_their_status() {
        let err = Error::from(crate::http::ParseError::ObsFold);
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        let err = Error::from(crate::http::ChunkedError::SizeTooLong);
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            Error::new("boom").status_or_500(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
