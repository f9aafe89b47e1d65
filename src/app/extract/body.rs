//! Body extractors: JSON and urlencoded forms, validated against their type's schema.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::params::parse_urlencoded;
use super::{FromRequest, Rejection, RequestContext};
use crate::app::doc::{BodyDoc, OperationDoc, schema_ref};
use crate::app::response::{HttpException, Json};
use crate::app::validation::{ErrorItem, LocPart, PairSource, from_json, from_pairs};
use crate::http::StatusCode;
use crate::server::Request;

/// The rejection for a body that could not be read: its status (413 too large, 400 malformed
/// framing, 408 too slow) with a `detail`.
pub fn body_error(err: crate::Error) -> Rejection {
    let status = err.status_or_500();
    let detail = match status.as_u16() {
        413 => "Request body too large",
        408 => "Request body timeout",
        400 => "Malformed request body",
        _ => "Could not read the request body",
    };
    tracing::debug!(error = %err, "request body read failed");
    Rejection::from(HttpException::new(status, detail))
}

/// Whether the request's `Content-Type` (if any) is one of `accepted`'s media types: the
/// type/subtype before any parameter, case-insensitively, with `+json` suffixes for JSON.
fn content_type_is(req: &Request, check: impl Fn(&str) -> bool) -> Option<bool> {
    let value = req.header("content-type")?;
    let value = String::from_utf8_lossy(value);
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(check(&media))
}

fn unsupported() -> Rejection {
    HttpException::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type").into()
}

/// Reads a JSON document from `req`: 415 for a non-JSON `Content-Type`, a `missing` error for
/// an empty body, `json_invalid` (located at the byte offset) for malformed JSON.
async fn read_json_value(req: &mut Request) -> Result<Value, Rejection> {
    let is_json = |media: &str| media == "application/json" || media.ends_with("+json");
    if content_type_is(req, is_json) == Some(false) {
        return Err(unsupported());
    }
    let bytes = req.read_to_end().await.map_err(body_error)?;
    if bytes.is_empty() {
        return Err(Rejection::Invalid(vec![ErrorItem::missing(vec![
            "body".into(),
        ])]));
    }
    // Python's json.loads reads bytes as utf-8-sig: a leading byte order mark is skipped.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).map_err(|err| {
        // Python's json reports the offset of the offending character; at the end of the
        // input, the input's length.
        let offset = if err.is_eof() {
            bytes.len()
        } else {
            byte_offset(bytes, err.line(), err.column())
        };
        let item = ErrorItem::new(
            "json_invalid",
            vec!["body".into(), LocPart::Index(offset)],
            "JSON decode error",
            json!({}),
        )
        .with_ctx(json!({ "error": err.to_string() }));
        Rejection::Invalid(vec![item])
    })
}

/// The byte offset of serde_json's (1-based line, 1-based column) position.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = bytes
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

impl<T: DeserializeOwned + JsonSchema + 'static> FromRequest for Json<T> {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        let value = read_json_value(req).await?;
        from_json(value, "body")
            .map(Json)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.validates = true;
        doc.body = Some(BodyDoc {
            content_type: "application/json",
            schema: Some(schema_ref::<T>),
            required: true,
        });
    }
}

/// An `application/x-www-form-urlencoded` body as a struct (422 at `["body", name]`; 415 for
/// another `Content-Type`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::Form;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Login { username: String, password: String }
///
/// async fn login(Form(f): Form<Login>) -> String {
///     f.username
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + JsonSchema + 'static> FromRequest for Form<T> {
    async fn from_request(req: &mut Request, _cx: &RequestContext<'_>) -> Result<Self, Rejection> {
        let is_form = |media: &str| media == "application/x-www-form-urlencoded";
        if content_type_is(req, is_form) == Some(false) {
            return Err(unsupported());
        }
        let bytes = req.read_to_end().await.map_err(body_error)?;
        let pairs = parse_urlencoded(&bytes);
        from_pairs(PairSource::Form, &pairs)
            .map(Form)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.validates = true;
        doc.body = Some(BodyDoc {
            content_type: "application/x-www-form-urlencoded",
            schema: Some(schema_ref::<T>),
            required: true,
        });
    }
}
