//! `SetCookie`: a `Set-Cookie` field with every attribute, validated (RFC 6265).

use std::fmt::{self, Write};
use std::time::Duration;

use crate::http::{HeaderError, Response};

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (browsers require `Secure` with it).
    None,
}

/// A cookie to set (or delete) on the response.
///
/// Names must be tokens and values cookie-octets (no space, `"`, `,`, `;` or `\`, optionally
/// in double quotes); attributes with a CR, LF or `;` are refused, so a cookie can never split
/// a header or smuggle an attribute.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nanoapi::app::{SameSite, SetCookie};
/// use nanoapi::http::{Response, StatusCode};
///
/// let cookie = SetCookie::new("session", "abc123")
///     .path("/")
///     .max_age(Duration::from_secs(3600))
///     .http_only()
///     .secure()
///     .same_site(SameSite::Lax);
/// assert_eq!(
///     cookie.to_string(),
///     "session=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"
/// );
/// let resp = cookie.apply(Response::new(StatusCode::OK)).unwrap();
/// assert_eq!(resp.headers().get_all("set-cookie").count(), 1);
///
/// let gone = SetCookie::delete("session").path("/");
/// assert_eq!(gone.to_string(), "session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/");
///
/// assert!(SetCookie::new("bad name", "v").apply(Response::new(StatusCode::OK)).is_err());
/// assert!(SetCookie::new("n", "a;b").apply(Response::new(StatusCode::OK)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    value: String,
    max_age: Option<u64>,
    expires: Option<String>,
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
    partitioned: bool,
}

impl SetCookie {
    /// `name=value`, a session cookie with no attributes.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> SetCookie {
        SetCookie {
            name: name.into(),
            value: value.into(),
            max_age: None,
            expires: None,
            path: None,
            domain: None,
            secure: false,
            http_only: false,
            same_site: None,
            partitioned: false,
        }
    }

    /// A cookie that deletes `name` (empty, expired). Give it the same `path`/`domain` the
    /// cookie was set with.
    pub fn delete(name: impl Into<String>) -> SetCookie {
        let mut cookie = SetCookie::new(name, "");
        cookie.max_age = Some(0);
        cookie.expires = Some("Thu, 01 Jan 1970 00:00:00 GMT".into());
        cookie
    }

    /// `Max-Age` in whole seconds.
    pub fn max_age(mut self, age: Duration) -> SetCookie {
        self.max_age = Some(age.as_secs());
        self
    }

    /// `Expires`, an IMF-fixdate such as `Wed, 21 Oct 2026 07:28:00 GMT`.
    pub fn expires(mut self, date: impl Into<String>) -> SetCookie {
        self.expires = Some(date.into());
        self
    }

    /// `Path`.
    pub fn path(mut self, path: impl Into<String>) -> SetCookie {
        self.path = Some(path.into());
        self
    }

    /// `Domain`.
    pub fn domain(mut self, domain: impl Into<String>) -> SetCookie {
        self.domain = Some(domain.into());
        self
    }

    /// `Secure`.
    pub fn secure(mut self) -> SetCookie {
        self.secure = true;
        self
    }

    /// `HttpOnly`.
    pub fn http_only(mut self) -> SetCookie {
        self.http_only = true;
        self
    }

    /// `SameSite`.
    pub fn same_site(mut self, same_site: SameSite) -> SetCookie {
        self.same_site = Some(same_site);
        self
    }

    /// `Partitioned` (CHIPS).
    pub fn partitioned(mut self) -> SetCookie {
        self.partitioned = true;
        self
    }

    /// Appends this cookie's `Set-Cookie` field to `resp`.
    ///
    /// # Errors
    ///
    /// A name that is not a token, a value with a byte outside cookie-octets, or an attribute
    /// with a control character or `;`.
    pub fn apply(&self, mut resp: Response) -> Result<Response, HeaderError> {
        if !self.is_valid() {
            return Err(HeaderError::invalid_value(b"set-cookie"));
        }
        resp.headers_mut().append("set-cookie", self.to_string())?;
        Ok(resp)
    }

    fn is_valid(&self) -> bool {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        let octet =
            |b: u8| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        let value = self.value.as_bytes();
        let inner = match value {
            [b'"', inner @ .., b'"'] => inner,
            _ => value,
        };
        let attribute = |s: &Option<String>| {
            s.as_deref()
                .is_none_or(|s| s.bytes().all(|b| b >= 0x20 && b != 0x7F && b != b';'))
        };
        token(&self.name)
            && inner.iter().all(|&b| octet(b))
            && attribute(&self.path)
            && attribute(&self.domain)
            && attribute(&self.expires)
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)?;
        if let Some(age) = self.max_age {
            write!(f, "; Max-Age={age}")?;
        }
        if let Some(expires) = &self.expires {
            write!(f, "; Expires={expires}")?;
        }
        if let Some(path) = &self.path {
            write!(f, "; Path={path}")?;
        }
        if let Some(domain) = &self.domain {
            write!(f, "; Domain={domain}")?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        if let Some(same_site) = self.same_site {
            f.write_str("; SameSite=")?;
            f.write_str(match same_site {
                SameSite::Strict => "Strict",
                SameSite::Lax => "Lax",
                SameSite::None => "None",
            })?;
        }
        if self.partitioned {
            f.write_char(';')?;
            f.write_str(" Partitioned")?;
        }
        Ok(())
    }
}
