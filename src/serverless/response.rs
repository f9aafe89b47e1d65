//! Responses out: what the dispatcher answered, in the shape the event's platform expects.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::EventKind;
use crate::http::StatusCode;
use crate::server::testing::ClientResponse;

/// A response to an invocation: status, header fields (framing fields removed: the platform
/// frames the body) and the whole body, plus the event's shape, which decides the encoding.
///
/// # Examples
///
/// ```
/// use nanoapi::serverless::{EventKind, ServerlessResponse};
///
/// let response = ServerlessResponse::new(
///     EventKind::HttpApiV2,
///     200,
///     vec![("Set-Cookie".into(), "a=1".into()), ("Content-Type".into(), "image/png".into())],
///     vec![0x89, b'P', b'N', b'G'].into(),
/// );
/// let json: serde_json::Value = serde_json::from_slice(&response.to_json()).unwrap();
/// assert_eq!(json["cookies"], serde_json::json!(["a=1"]));
/// assert_eq!(json["headers"], serde_json::json!({"Content-Type": "image/png"}));
/// assert_eq!(json["body"], "iVBORw==");
/// assert_eq!(json["isBase64Encoded"], true);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerlessResponse {
    kind: EventKind,
    status: u16,
    headers: Vec<(Bytes, Bytes)>,
    body: Bytes,
}

/// Fields that describe the HTTP/1.1 connection or framing, which the platform redoes.
const HOP_BY_HOP: [&str; 4] = [
    "connection",
    "content-length",
    "keep-alive",
    "transfer-encoding",
];

impl ServerlessResponse {
    /// A response from its parts; framing fields in `headers` are dropped.
    pub fn new(kind: EventKind, status: u16, headers: Vec<(Bytes, Bytes)>, body: Bytes) -> Self {
        let headers = headers
            .into_iter()
            .filter(|(name, _)| {
                !HOP_BY_HOP
                    .iter()
                    .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
            })
            .collect();
        ServerlessResponse {
            kind,
            status,
            headers,
            body,
        }
    }

    /// What the in-memory exchange received.
    pub fn from_response(kind: EventKind, response: ClientResponse) -> Self {
        let status = response.status().as_u16();
        ServerlessResponse::new(kind, status, response.head.fields().to_vec(), response.body)
    }

    /// `400 Bad Request`, as the runtime answers a request it cannot read.
    pub fn bad_request(kind: EventKind) -> Self {
        let status = StatusCode::BAD_REQUEST;
        ServerlessResponse::new(
            kind,
            status.as_u16(),
            vec![(
                Bytes::from_static(b"content-type"),
                Bytes::from_static(b"text/plain; charset=utf-8"),
            )],
            Bytes::from_static(status.reason().unwrap_or("").as_bytes()),
        )
    }

    /// The event shape this response answers.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields, in order, duplicates kept.
    pub fn headers(&self) -> &[(Bytes, Bytes)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The response as the platform's JSON:
    ///
    /// - payload 2.0: `statusCode`, `headers` (repeated fields joined with `, `), `cookies`
    ///   (every `Set-Cookie`), `body`, `isBase64Encoded`;
    /// - REST (1.0): `statusCode`, `multiValueHeaders`, `body`, `isBase64Encoded`;
    /// - ALB: `statusCode`, `statusDescription`, then `headers` (single-value target groups:
    ///   repeated fields joined with `, `, except `Set-Cookie`, which cannot be joined and keeps
    ///   its last value; turn on multi-value headers to keep them all) or `multiValueHeaders`,
    ///   `body`, `isBase64Encoded`.
    ///
    /// The body is base64 unless it is text: a textual `Content-Type` (`text/*`, JSON, XML,
    /// JavaScript, form data), no `Content-Encoding`, and valid UTF-8.
    pub fn to_json(&self) -> Vec<u8> {
        let (body, base64) = self.encoded_body();
        let mut out = Map::new();
        out.insert("statusCode".into(), json!(self.status));
        match self.kind {
            EventKind::HttpApiV2 => {
                let (headers, cookies) = self.headers_and_cookies();
                out.insert("headers".into(), headers);
                out.insert("cookies".into(), cookies);
            }
            EventKind::RestApiV1 => {
                out.insert("multiValueHeaders".into(), self.multi_value_headers());
            }
            EventKind::Alb => {
                out.insert("statusDescription".into(), self.status_description());
                out.insert("headers".into(), self.single_value_headers());
            }
            EventKind::AlbMultiValue => {
                out.insert("statusDescription".into(), self.status_description());
                out.insert("multiValueHeaders".into(), self.multi_value_headers());
            }
        }
        out.insert("body".into(), Value::String(body));
        out.insert("isBase64Encoded".into(), Value::Bool(base64));
        serde_json::to_vec(&Value::Object(out)).expect("a JSON value always serializes")
    }

    /// The JSON prelude of a streamed function URL response (`statusCode`, `headers`,
    /// `cookies`), followed by the eight NUL bytes that end it: the start of an
    /// `application/vnd.awslambda.http-integration-response` body.
    pub fn streaming_prelude(&self) -> Vec<u8> {
        let (headers, cookies) = self.headers_and_cookies();
        let prelude = json!({"statusCode": self.status, "headers": headers, "cookies": cookies});
        let mut out = serde_json::to_vec(&prelude).expect("a JSON value always serializes");
        out.extend_from_slice(&[0; 8]);
        out
    }

    /// The first value of the field `name` (any case).
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    fn encoded_body(&self) -> (String, bool) {
        let textual = self.header("content-type").is_some_and(is_text_type)
            && self.header("content-encoding").is_none();
        match std::str::from_utf8(&self.body) {
            Ok(text) if textual || self.body.is_empty() => (text.to_owned(), false),
            _ => (STANDARD.encode(&self.body), true),
        }
    }

    /// Payload 2.0: `Set-Cookie` values go to `cookies`, the rest to `headers`.
    fn headers_and_cookies(&self) -> (Value, Value) {
        let mut cookies = Vec::new();
        let mut rest = Vec::new();
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case(b"set-cookie") {
                cookies.push(Value::String(lossy(value)));
            } else {
                rest.push((name, value));
            }
        }
        (joined(rest.into_iter(), false), Value::Array(cookies))
    }

    fn single_value_headers(&self) -> Value {
        joined(self.headers.iter().map(|(n, v)| (n, v)), true)
    }

    fn multi_value_headers(&self) -> Value {
        let mut map = Map::new();
        for (name, values) in grouped(self.headers.iter().map(|(n, v)| (n, v))) {
            map.insert(
                name,
                Value::Array(values.into_iter().map(Value::String).collect()),
            );
        }
        Value::Object(map)
    }

    fn status_description(&self) -> Value {
        let reason = StatusCode::from_u16(self.status)
            .ok()
            .and_then(StatusCode::reason)
            .unwrap_or("");
        Value::String(format!("{} {reason}", self.status).trim_end().to_owned())
    }
}

/// Fields grouped by name (any case; the first spelling wins), names in first-seen order.
fn grouped<'a>(fields: impl Iterator<Item = (&'a Bytes, &'a Bytes)>) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in fields {
        let name = lossy(name);
        match groups
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some((_, values)) => values.push(lossy(value)),
            None => groups.push((name, vec![lossy(value)])),
        }
    }
    groups
}

/// One value per name: repeated values joined with `, `; with `last_cookie`, a repeated
/// `Set-Cookie` keeps only its last value.
fn joined<'a>(fields: impl Iterator<Item = (&'a Bytes, &'a Bytes)>, last_cookie: bool) -> Value {
    let mut map = Map::new();
    for (name, values) in grouped(fields) {
        let value = if last_cookie && name.eq_ignore_ascii_case("set-cookie") {
            values.into_iter().last().unwrap_or_default()
        } else {
            values.join(", ")
        };
        map.insert(name, Value::String(value));
    }
    Value::Object(map)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a `Content-Type` names text that JSON can carry as a string.
fn is_text_type(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii()
        .to_ascii_lowercase();
    essence.starts_with(b"text/")
        || essence.ends_with(b"+json")
        || essence.ends_with(b"+xml")
        || matches!(
            &essence[..],
            b"application/json"
                | b"application/javascript"
                | b"application/xml"
                | b"application/x-www-form-urlencoded"
        )
}
