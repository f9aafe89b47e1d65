//! The opening handshake (RFC 6455 §4.2): a request checked, the `101` that accepts it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::http::{Response, StatusCode, Version};
use crate::server::Request;

/// The GUID every accept key is derived with (RFC 6455 §1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A valid opening handshake: what the client asked for.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Request;
/// use nanoapi::ws::Handshake;
///
/// let req = Request::from_parts("GET", "/chat", &[
///     ("Upgrade", "websocket"),
///     ("Connection", "keep-alive, Upgrade"),
///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
///     ("Sec-WebSocket-Version", "13"),
///     ("Sec-WebSocket-Protocol", "chat, superchat"),
/// ], "").unwrap();
/// let handshake = Handshake::check(&req).unwrap();
/// assert_eq!(handshake.protocols().collect::<Vec<_>>(), ["chat", "superchat"]);
/// let accept = handshake.accept(Some("chat")).unwrap();
/// assert_eq!(accept.status().as_u16(), 101);
/// assert_eq!(
///     accept.headers().get("sec-websocket-accept"),
///     Some(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..])
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    key: String,
    protocols: Vec<String>,
    /// The `Sec-WebSocket-Extensions` fields, as sent (kept only to negotiate
    /// permessage-deflate).
    #[cfg(feature = "ws-deflate")]
    extensions: Vec<Vec<u8>>,
}

impl Handshake {
    /// Checks `req` as an opening handshake: `GET`, HTTP/1.1, `Upgrade: websocket`,
    /// `Connection` listing `upgrade`, a `Sec-WebSocket-Key` of 16 bytes in base64 and
    /// `Sec-WebSocket-Version: 13`.
    ///
    /// # Errors
    ///
    /// What is amiss; [`HandshakeError::into_response`] is the answer to send instead.
    pub fn check(req: &Request) -> Result<Handshake, HandshakeError> {
        if req.method_bytes() != b"GET" || req.version() != Version::Http11 {
            return Err(HandshakeError::NotGet);
        }
        if !lists(req.header_all("upgrade"), b"websocket") {
            return Err(HandshakeError::NoUpgrade);
        }
        if !lists(req.header_all("connection"), b"upgrade") {
            return Err(HandshakeError::NoConnectionUpgrade);
        }
        if req.header("sec-websocket-version").map(<[u8]>::trim_ascii) != Some(b"13") {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = req.header("sec-websocket-key").map(<[u8]>::trim_ascii);
        let key = match key.map(|key| (key, STANDARD.decode(key))) {
            Some((key, Ok(nonce))) if nonce.len() == 16 => String::from_utf8_lossy(key),
            _ => return Err(HandshakeError::BadKey),
        };
        let protocols = req
            .header_all("sec-websocket-protocol")
            .flat_map(|field| field.split(|&b| b == b','))
            .map(|name| String::from_utf8_lossy(name.trim_ascii()).into_owned())
            .filter(|name| !name.is_empty())
            .collect();
        Ok(Handshake {
            key: key.into_owned(),
            protocols,
            #[cfg(feature = "ws-deflate")]
            extensions: req
                .header_all("sec-websocket-extensions")
                .map(<[u8]>::to_vec)
                .collect(),
        })
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.protocols.iter().map(String::as_str)
    }

    /// The permessage-deflate parameters agreed with the first of the client's offers that
    /// `config` can accept; `None` when it offered none (the socket is then uncompressed).
    #[cfg(feature = "ws-deflate")]
    pub fn deflate(&self, config: &super::Deflate) -> Option<super::DeflateParams> {
        config.negotiate(self.extensions.iter().map(Vec::as_slice))
    }

    /// The `101` of [`Handshake::accept`], also accepting permessage-deflate with the agreed
    /// `deflate` parameters.
    ///
    /// # Errors
    ///
    /// As [`Handshake::accept`].
    #[cfg(feature = "ws-deflate")]
    pub fn accept_with(
        &self,
        protocol: Option<&str>,
        deflate: Option<&super::DeflateParams>,
    ) -> Result<Response, crate::Error> {
        let resp = self.accept(protocol)?;
        match deflate {
            Some(params) => resp
                .header("Sec-WebSocket-Extensions", params.header_value())
                .map_err(|err| crate::Error::new(err.to_string())),
            None => Ok(resp),
        }
    }

    /// The `101 Switching Protocols` that accepts the handshake, with `protocol` chosen among
    /// those offered (or none), and no extension.
    ///
    /// # Errors
    ///
    /// A `protocol` the client did not offer (the client would fail the connection).
    pub fn accept(&self, protocol: Option<&str>) -> Result<Response, crate::Error> {
        let mut resp = Response::new(StatusCode::SWITCHING_PROTOCOLS)
            .header("Upgrade", "websocket")
            .and_then(|resp| resp.header("Sec-WebSocket-Accept", accept_key(&self.key)))
            .map_err(|err| crate::Error::new(err.to_string()))?;
        if let Some(protocol) = protocol {
            if !self.protocols().any(|offered| offered == protocol) {
                let msg = format!("subprotocol {protocol:?} was not offered");
                return Err(crate::Error::new(msg));
            }
            resp = resp
                .header("Sec-WebSocket-Protocol", protocol.to_owned())
                .map_err(|err| crate::Error::new(err.to_string()))?;
        }
        Ok(resp)
    }
}

/// Why a request is not an opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Not an HTTP/1.1 `GET`.
    NotGet,
    /// No `Upgrade: websocket`.
    NoUpgrade,
    /// No `Connection: Upgrade`.
    NoConnectionUpgrade,
    /// A `Sec-WebSocket-Key` missing, or not 16 bytes in base64.
    BadKey,
    /// A `Sec-WebSocket-Version` other than 13.
    UnsupportedVersion,
}

impl HandshakeError {
    /// The status that answers it: 426 for another version, 400 for the rest.
    pub fn status(self) -> StatusCode {
        match self {
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer: its status with the reason as text, and `Sec-WebSocket-Version: 13` on a
    /// 426 (RFC 6455 §4.4).
    pub fn into_response(self) -> Response {
        let resp = Response::text(self.status(), self.to_string());
        match self {
            HandshakeError::UnsupportedVersion => resp
                .header("Sec-WebSocket-Version", "13")
                .unwrap_or_else(|_| Response::new(StatusCode::UPGRADE_REQUIRED)),
            _ => resp,
        }
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandshakeError::NotGet => "a WebSocket handshake is an HTTP/1.1 GET",
            HandshakeError::NoUpgrade => "a WebSocket handshake needs Upgrade: websocket",
            HandshakeError::NoConnectionUpgrade => {
                "a WebSocket handshake needs Connection: Upgrade"
            }
            HandshakeError::BadKey => "Sec-WebSocket-Key must be 16 bytes in base64",
            HandshakeError::UnsupportedVersion => "WebSocket version 13 only",
        })
    }
}

impl std::error::Error for HandshakeError {}

/// Whether comma-separated `fields` list `token` (case-insensitively).
fn lists<'a>(fields: impl Iterator<Item = &'a [u8]>, token: &[u8]) -> bool {
    fields
        .flat_map(|field| field.split(|&b| b == b','))
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token))
}

/// `Sec-WebSocket-Accept` for `key`: base64(SHA-1(key + GUID)).
fn accept_key(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID);
    STANDARD.encode(sha.digest().bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request::from_parts("GET", "/ws", headers, "").unwrap()
    }

    const GOOD: [(&str, &str); 4] = [
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];

    #[test]
    fn the_rfc_example_key_is_accepted_with_its_answer() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let handshake = Handshake::check(&request(&GOOD)).unwrap();
        assert!(handshake.accept(Some("chat")).is_err(), "not offered");
        let resp = handshake.accept(None).unwrap();
        assert_eq!(resp.headers().get("upgrade"), Some(&b"websocket"[..]));
    }

    #[test]
    fn a_broken_handshake_gets_400_and_another_version_426() {
        let missing = [
            HandshakeError::NoUpgrade,
            HandshakeError::NoConnectionUpgrade,
            HandshakeError::BadKey,
            HandshakeError::UnsupportedVersion,
        ];
        for (drop, why) in missing.into_iter().enumerate() {
            let headers: Vec<_> = GOOD
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, h)| *h)
                .collect();
            assert_eq!(
                Handshake::check(&request(&headers)),
                Err(why),
                "without {:?}",
                GOOD[drop]
            );
        }
        let mut old = GOOD;
        old[3] = ("Sec-WebSocket-Version", "8");
        let refused = Handshake::check(&request(&old))
            .unwrap_err()
            .into_response();
        assert_eq!(refused.status().as_u16(), 426);
        assert_eq!(
            refused.headers().get("sec-websocket-version"),
            Some(&b"13"[..])
        );
        let bad = HandshakeError::BadKey.into_response();
        assert_eq!(bad.status().as_u16(), 400);
        let mut short = GOOD;
        short[2] = ("Sec-WebSocket-Key", "c2hvcnQ=");
        assert_eq!(
            Handshake::check(&request(&short)),
            Err(HandshakeError::BadKey)
        );
        let post = Request::from_parts("POST", "/ws", &GOOD, "").unwrap();
        assert_eq!(Handshake::check(&post), Err(HandshakeError::NotGet));
    }
}
