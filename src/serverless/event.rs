//! Platform events in: API Gateway HTTP API (payload 2.0) and function URLs, API Gateway REST
//! API (payload 1.0), ALB target groups; each decoded into an HTTP/1.1 request.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::{Error, Result};
use crate::http::StatusCode;
use crate::server::testing::encode_request;

/// The shape an event came in, which is also the shape its response must take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// API Gateway HTTP API, payload format 2.0, and Lambda function URLs: `cookies` array,
    /// single-valued `headers` (repeated values joined with commas).
    HttpApiV2,
    /// API Gateway REST API (and HTTP API payload 1.0): `multiValueHeaders`,
    /// `multiValueQueryStringParameters` (decoded values).
    RestApiV1,
    /// An ALB target group without multi-value headers: one value per header and parameter.
    Alb,
    /// An ALB target group with multi-value headers turned on.
    AlbMultiValue,
}

/// One HTTP request taken from a platform's event, ready to be served.
///
/// # Examples
///
/// ```
/// use nanoapi::serverless::{EventKind, Invocation};
///
/// let event = br#"{"version": "2.0", "rawPath": "/a b", "rawQueryString": "x=1&x=2",
///     "cookies": ["s=1", "t=2"], "headers": {"accept": "text/plain"},
///     "requestContext": {"http": {"method": "POST"}}, "body": "aGk=", "isBase64Encoded": true}"#;
/// let invocation = Invocation::from_event(event).unwrap();
/// assert_eq!(invocation.kind, EventKind::HttpApiV2);
/// assert_eq!(invocation.method, "POST");
/// assert_eq!(invocation.target, "/a%20b?x=1&x=2");
/// assert_eq!(invocation.headers, [("accept".into(), "text/plain".into()), ("cookie".into(), "s=1; t=2".into())]);
/// assert_eq!(invocation.body, "hi");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The event's shape.
    pub kind: EventKind,
    /// The request method.
    pub method: String,
    /// Path and query as they go on the request line (bytes outside what a request-target
    /// may hold are percent-encoded).
    pub target: String,
    /// Header fields, in order; an event's `cookies` become one `cookie` field.
    pub headers: Vec<(String, String)>,
    /// The body, base64-decoded if the event said so.
    pub body: Bytes,
}

/// The fields of every supported event, each optional: which ones are present tells the shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    cookies: Option<Vec<String>>,
    headers: Option<BTreeMap<String, String>>,
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    query_string_parameters: Option<BTreeMap<String, String>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    http_method: Option<String>,
    path: Option<String>,
    request_context: Option<RequestContext>,
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Deserialize)]
struct RequestContext {
    http: Option<HttpContext>,
    elb: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct HttpContext {
    method: String,
}

impl Invocation {
    /// Decodes an event (the JSON the Runtime API hands over), telling its shape from its
    /// fields: `requestContext.http` is payload 2.0, `requestContext.elb` an ALB (multi-value
    /// when `multiValueHeaders` is present), `httpMethod` otherwise REST (payload 1.0).
    ///
    /// # Errors
    ///
    /// Status 400: not JSON, not one of these events, or a body that is not valid base64.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::serverless::{EventKind, Invocation};
    ///
    /// let alb = br#"{"requestContext": {"elb": {"targetGroupArn": "arn:x"}}, "httpMethod": "GET",
    ///     "path": "/p", "queryStringParameters": {"q": "a%20b"}, "headers": {"host": "h"},
    ///     "body": "", "isBase64Encoded": false}"#;
    /// let invocation = Invocation::from_event(alb).unwrap();
    /// assert_eq!((invocation.kind, invocation.target.as_str()), (EventKind::Alb, "/p?q=a%20b"));
    /// assert!(Invocation::from_event(br#"{"detail-type": "Scheduled Event"}"#).is_err());
    /// ```
    pub fn from_event(json: &[u8]) -> Result<Invocation> {
        let bad = |what: String| Error::with_status(StatusCode::BAD_REQUEST, what);
        let event: RawEvent =
            serde_json::from_slice(json).map_err(|err| bad(format!("invalid event: {err}")))?;
        let context = event.request_context.as_ref();
        let http = context.and_then(|c| c.http.as_ref());
        let elb = context.is_some_and(|c| c.elb.is_some());
        let (kind, method) = match (http, &event.http_method) {
            (Some(http), _) => (EventKind::HttpApiV2, http.method.clone()),
            (None, Some(method)) if elb && event.multi_value_headers.is_some() => {
                (EventKind::AlbMultiValue, method.clone())
            }
            (None, Some(method)) if elb => (EventKind::Alb, method.clone()),
            (None, Some(method)) => (EventKind::RestApiV1, method.clone()),
            (None, None) => return Err(bad("not an HTTP event".to_owned())),
        };
        let body = match event.body.as_deref() {
            None => Bytes::new(),
            Some(body) if event.is_base64_encoded => STANDARD
                .decode(body)
                .map(Bytes::from)
                .map_err(|err| bad(format!("invalid base64 body: {err}")))?,
            Some(body) => Bytes::copy_from_slice(body.as_bytes()),
        };
        let target = target(kind, &event);
        let headers = headers(kind, event);
        Ok(Invocation {
            kind,
            method,
            target,
            headers,
            body,
        })
    }

    /// The request as HTTP/1.1 bytes, with its `Content-Length`.
    ///
    /// # Errors
    ///
    /// Status 400 when a method, header name or value cannot be written as it is (see
    /// [`encode_request`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::serverless::{EventKind, Invocation};
    ///
    /// let invocation = Invocation {
    ///     kind: EventKind::RestApiV1,
    ///     method: "PUT".into(),
    ///     target: "/x".into(),
    ///     headers: vec![("host".into(), "h".into())],
    ///     body: "hi".into(),
    /// };
    /// assert_eq!(
    ///     &invocation.to_http().unwrap()[..],
    ///     b"PUT /x HTTP/1.1\r\nhost: h\r\nContent-Length: 2\r\n\r\nhi"
    /// );
    /// ```
    pub fn to_http(&self) -> Result<Bytes> {
        encode_request(
            &self.method,
            &self.target,
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            &self.body,
        )
    }
}

/// The request-target: the path, then the query if there is one.
fn target(kind: EventKind, event: &RawEvent) -> String {
    let path = match kind {
        EventKind::HttpApiV2 => event.raw_path.as_deref(),
        _ => event.path.as_deref(),
    };
    let mut target = escape(path.unwrap_or("/"), in_path);
    if !target.starts_with('/') {
        target.insert(0, '/');
    }
    let query = match kind {
        // As the client sent it.
        EventKind::HttpApiV2 => escape(event.raw_query_string.as_deref().unwrap_or(""), in_query),
        // API Gateway decodes the parameters: encode them again.
        EventKind::RestApiV1 => query_string(event, |s| escape(s, unreserved)),
        // An ALB passes them on as the client sent them.
        EventKind::Alb | EventKind::AlbMultiValue => {
            query_string(event, |s| escape(s, in_raw_parameter))
        }
    };
    if !query.is_empty() {
        target.push('?');
        target.push_str(&query);
    }
    target
}

/// `name=value` pairs from the multi-value parameters if the event has them, else the
/// single-value ones; names in order, values in the event's order.
fn query_string(event: &RawEvent, encode: impl Fn(&str) -> String) -> String {
    let pairs: Vec<(&String, &String)> = match (
        &event.multi_value_query_string_parameters,
        &event.query_string_parameters,
    ) {
        (Some(multi), _) => multi
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |value| (name, value)))
            .collect(),
        (None, Some(single)) => single.iter().collect(),
        (None, None) => Vec::new(),
    };
    let encoded: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    encoded.join("&")
}

/// The header fields: multi-value ones if the event has them, else single-value ones, then
/// payload 2.0's cookies as one `cookie` field. Values lose surrounding whitespace, which an
/// HTTP/1.1 field value cannot carry.
fn headers(kind: EventKind, event: RawEvent) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = match (event.multi_value_headers, event.headers) {
        (Some(multi), _) if kind != EventKind::HttpApiV2 => multi
            .into_iter()
            .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
            .collect(),
        (_, Some(single)) => single.into_iter().collect(),
        (_, None) => Vec::new(),
    };
    for (_, value) in &mut fields {
        let trimmed = value.trim_matches([' ', '\t']);
        if trimmed.len() != value.len() {
            *value = trimmed.to_owned();
        }
    }
    if let Some(cookies) = event.cookies.filter(|cookies| !cookies.is_empty()) {
        fields.push(("cookie".to_owned(), cookies.join("; ")));
    }
    fields
}

/// `input` with every byte that `keep` refuses percent-encoded.
fn escape(input: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Bytes a path keeps: visible ASCII but `?` and `#` (`%` is taken to start an escape).
fn in_path(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'?' && b != b'#'
}

/// Bytes a raw query keeps: visible ASCII but `#`.
fn in_query(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'#'
}

/// Bytes a raw (still encoded) query parameter keeps: a raw query's, but not the separators.
fn in_raw_parameter(b: u8) -> bool {
    in_query(b) && b != b'&' && b != b'='
}

/// RFC 3986 unreserved characters, which a decoded parameter keeps as they are.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}
