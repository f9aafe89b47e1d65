//! `Redirect`: 301/302/303/307/308 with a `Location`.

use crate::app::logging::event;
use bytes::Bytes;

use super::IntoResponse;
use crate::http::{Response, StatusCode};

/// A redirection. The constructors name the status they send; `Location` is checked like any
/// header value (a value with CR/LF is refused: the redirect becomes a 500, never a split
/// header).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{IntoResponse, Redirect};
/// use nanoapi::http::StatusCode;
///
/// let resp = Redirect::see_other("/users/7").into_response();
/// assert_eq!(resp.status(), StatusCode::SEE_OTHER);
/// assert_eq!(resp.headers().get("location"), Some(&b"/users/7"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: Bytes,
}

impl Redirect {
    fn with(status: StatusCode, location: impl Into<Bytes>) -> Redirect {
        Redirect {
            status,
            location: location.into(),
        }
    }

    /// 301 Moved Permanently.
    pub fn permanent(location: impl Into<Bytes>) -> Redirect {
        Redirect::with(StatusCode::MOVED_PERMANENTLY, location)
    }

    /// 302 Found.
    pub fn found(location: impl Into<Bytes>) -> Redirect {
        Redirect::with(StatusCode::FOUND, location)
    }

    /// 303 See Other (after a POST, fetch with GET).
    pub fn see_other(location: impl Into<Bytes>) -> Redirect {
        Redirect::with(StatusCode::SEE_OTHER, location)
    }

    /// 307 Temporary Redirect (method and body kept); FastAPI's `RedirectResponse` default.
    pub fn temporary(location: impl Into<Bytes>) -> Redirect {
        Redirect::with(StatusCode::TEMPORARY_REDIRECT, location)
    }

    /// 308 Permanent Redirect (method and body kept).
    pub fn permanent_keep_method(location: impl Into<Bytes>) -> Redirect {
        Redirect::with(StatusCode::PERMANENT_REDIRECT, location)
    }

    /// The status sent.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let resp = Response::empty(self.status);
        match resp.header("location", self.location) {
            Ok(resp) => resp,
            Err(err) => {
                event!(error, error = %err, "redirect Location refused");
                Response::empty(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
