//! Body extractors: the raw body (`Bytes`, `String`, streamed `RequestBody`), and JSON and
//! forms validated against their type's schema.

use crate::app::logging::event;
use std::borrow::Cow;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::params::{parse_urlencoded, split_once_ascii};
use super::text_pairs::{text, trim};
use super::{FromRequest, Multipart, Rejection, RequestContext};
use crate::app::doc::{ApiSchema, BodyDoc, OperationDoc, schema_ref};
use crate::app::response::{HttpException, Json};
use crate::app::validation::{
    ErrorItem, LocPart, PairSource, ValidationError, borrowed_pairs, from_json, from_json_fast,
    from_pairs,
};
use crate::http::StatusCode;
use crate::server::{Request, RequestBody};

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
    event!(debug, error = %err, "request body read failed");
    Rejection::from(HttpException::new(status, detail))
}

impl<S> FromRequest<S> for Bytes {
    async fn from_request(
        req: &mut Request,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        req.read_to_end().await.map_err(body_error)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(BodyDoc {
            content_type: "application/octet-stream",
            schema: None,
            required: false,
        });
    }
}

impl<S> FromRequest<S> for String {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let bytes = Bytes::from_request(req, cx).await?;
        String::from_utf8(bytes.into()).map_err(|_| {
            let msg =
                "Input should be a valid string, unable to parse raw data as a unicode string";
            Rejection::Invalid(vec![ErrorItem::new(
                "string_unicode",
                vec!["body".into()],
                msg,
                Value::Null,
            )])
        })
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(BodyDoc {
            content_type: "text/plain",
            schema: None,
            required: false,
        });
    }
}

/// The body, streamed: read it chunk by chunk inside the handler.
impl<S> FromRequest<S> for RequestBody {
    async fn from_request(
        req: &mut Request,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(req.take_body())
    }
}

/// The media type of the request's `Content-Type` (type/subtype, lower-cased, without
/// parameters), if it has one; borrowed from the head unless it had to be lower-cased.
fn media_type(req: &Request) -> Option<Cow<'_, str>> {
    // Split before decoding: `;` is ASCII, so it never lies in a replaced sequence.
    let value = req.header("content-type")?;
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    let media = match text(media) {
        Cow::Borrowed(media) => Cow::Borrowed(trim(media)),
        Cow::Owned(media) => Cow::Owned(trim(&media).to_owned()),
    };
    Some(if media.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(media.to_ascii_lowercase())
    } else {
        media
    })
}

/// Whether FastAPI parses a body of this media type as JSON: `application/json` or
/// `application/*+json`.
fn is_json(media: &str) -> bool {
    match split_once_ascii(media, b'/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// Reads the body of a JSON extractor as FastAPI does:
///
/// - an empty body is a `missing` error (reported with the other parameters' errors);
/// - a body without a JSON `Content-Type` (none, `text/plain`, a form, ...) is not parsed: its
///   text is validated as the value, so a model reports `model_attributes_type` with the text
///   as input, among the other errors;
/// - JSON that is not UTF-8 is a 400 "There was an error parsing the body";
/// - malformed JSON is a 422 of its `json_invalid` error alone (FastAPI reads the body before
///   it looks at any other parameter).
///
/// A JSON document that serde's derive takes as it is, for a type whose schema adds nothing,
/// goes straight into `T`; every other body through the checker.
async fn read_json<T>(req: &mut Request) -> Result<T, Rejection>
where
    T: DeserializeOwned + ApiSchema + 'static,
{
    let json = media_type(req).is_some_and(|media| is_json(&media));
    let bytes = req.read_to_end().await.map_err(body_error)?;
    if bytes.is_empty() {
        return Err(Rejection::Invalid(vec![ErrorItem::missing(vec![
            "body".into(),
        ])]));
    }
    if json && let Some(value) = from_json_fast(&bytes) {
        return Ok(value);
    }
    let value = if json {
        json_value(&bytes).map_err(|refusal| *refusal)?
    } else {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    };
    from_json(value, "body").map_err(Rejection::Invalid)
}

/// A JSON body parsed for the checker, or the answer to a body that is not JSON.
fn json_value(bytes: &[u8]) -> Result<Value, Box<Rejection>> {
    // Python's json.loads reads bytes as utf-8-sig: a leading byte order mark is skipped.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        let refusal = HttpException::new(
            StatusCode::BAD_REQUEST,
            "There was an error parsing the body",
        );
        return Err(Box::new(refusal.into()));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        let item = ErrorItem::new(
            "json_invalid",
            vec![
                "body".into(),
                LocPart::Index(json_error_offset(bytes, &err)),
            ],
            "JSON decode error",
            json!({}),
        )
        .with_ctx(json!({ "error": err.to_string() }));
        Box::new(Rejection::Response(
            ValidationError::new(vec![item]).into_response(),
        ))
    })
}

/// Where Python's json reports `err`: the offset of the offending character, the input's
/// length at its end. serde_json reports a misspelt literal (`tool` for `true`) where the
/// spelling went wrong; Python, at the literal's first letter.
fn json_error_offset(bytes: &[u8], err: &serde_json::Error) -> usize {
    if err.is_eof() {
        return bytes.len();
    }
    let mut offset = byte_offset(bytes, err.line(), err.column());
    if err.to_string().starts_with("expected ident") {
        // Column 0: serde_json had consumed the line break after the literal.
        if err.column() == 0 {
            offset = offset.saturating_sub(1);
        }
        while offset > 0 && bytes[offset - 1].is_ascii_alphabetic() {
            offset -= 1;
        }
    }
    offset
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

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequest<S> for Json<T> {
    async fn from_request(
        req: &mut Request,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        read_json(req).await.map(Json)
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

/// An `application/x-www-form-urlencoded` or `multipart/form-data` body as a struct (422 at
/// `["body", name]`). As in FastAPI, an empty field counts as missing, and a body of another
/// `Content-Type` is an empty form.
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

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequest<S> for Form<T> {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        // Starlette's request.form(): urlencoded and multipart bodies are read, any other body
        // is an empty form (so its fields are missing).
        let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = match media_type(req).as_deref() {
            Some("application/x-www-form-urlencoded") => {
                let bytes = req.read_to_end().await.map_err(body_error)?;
                parse_urlencoded(&bytes)
                    .into_iter()
                    .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                    .collect()
            }
            Some("multipart/form-data") => {
                let mut multipart = Multipart::from_request(req, cx).await?;
                let mut pairs = Vec::new();
                while let Some(field) = multipart.next_field().await? {
                    let name = field.name().to_owned();
                    pairs.push((Cow::Owned(name), Cow::Owned(field.text().await?)));
                }
                pairs
            }
            _ => Vec::new(),
        };
        from_pairs(PairSource::Form, borrowed_pairs(&pairs))
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
