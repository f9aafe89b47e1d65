//! Validation errors in FastAPI's shape, with pydantic v2's error types and messages.

use std::fmt;

use serde_json::{Value, json};

use crate::http::{Response, StatusCode};

/// One step of an error's location: `["query", "limit"]`, `["body", "items", 0, "name"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocPart {
    /// An object key, a parameter name or the source (`"query"`, `"body"`).
    Key(String),
    /// An array index, or a byte offset for `json_invalid`.
    Index(usize),
}

impl From<&str> for LocPart {
    fn from(key: &str) -> LocPart {
        LocPart::Key(key.to_owned())
    }
}

impl From<String> for LocPart {
    fn from(key: String) -> LocPart {
        LocPart::Key(key)
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> LocPart {
        LocPart::Index(index)
    }
}

/// One validation failure: what FastAPI puts in each element of a 422's `detail`.
///
/// # Examples
///
/// ```
/// use nanoapi::app::ErrorItem;
///
/// let item = ErrorItem::missing(vec!["query".into(), "limit".into()]);
/// assert_eq!(
///     item.to_json().to_string(),
///     r#"{"type":"missing","loc":["query","limit"],"msg":"Field required","input":null}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorItem {
    /// pydantic's error type: `missing`, `int_parsing`, `greater_than_equal`, ...
    pub kind: &'static str,
    /// Where the error is.
    pub loc: Vec<LocPart>,
    /// The human-readable message.
    pub msg: String,
    /// The value that failed (`null` when missing).
    pub input: Value,
    /// The constraint's parameters (`{"ge": 1}`), when the error type has any.
    pub ctx: Option<Value>,
}

impl ErrorItem {
    /// An error of `kind` at `loc`.
    pub fn new(
        kind: &'static str,
        loc: Vec<LocPart>,
        msg: impl Into<String>,
        input: Value,
    ) -> Self {
        ErrorItem {
            kind,
            loc,
            msg: msg.into(),
            input,
            ctx: None,
        }
    }

    /// A required value that is absent.
    pub fn missing(loc: Vec<LocPart>) -> ErrorItem {
        ErrorItem::new("missing", loc, "Field required", Value::Null)
    }

    /// Adds the constraint's parameters.
    pub fn with_ctx(mut self, ctx: Value) -> ErrorItem {
        self.ctx = Some(ctx);
        self
    }

    /// The item as FastAPI renders it.
    pub fn to_json(&self) -> Value {
        let loc: Vec<Value> = self
            .loc
            .iter()
            .map(|part| match part {
                LocPart::Key(key) => Value::String(key.clone()),
                LocPart::Index(index) => json!(index),
            })
            .collect();
        let mut item = serde_json::Map::with_capacity(5);
        item.insert("type".into(), Value::String(self.kind.into()));
        item.insert("loc".into(), Value::Array(loc));
        item.insert("msg".into(), Value::String(self.msg.clone()));
        item.insert("input".into(), self.input.clone());
        if let Some(ctx) = &self.ctx {
            item.insert("ctx".into(), ctx.clone());
        }
        Value::Object(item)
    }
}

/// Every validation failure of one request: answered with 422 and
/// `{"detail": [ErrorItem, ...]}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidationError {
    /// The failures, in the order the handler's parameters were checked.
    pub errors: Vec<ErrorItem>,
}

impl ValidationError {
    /// A validation error of these items.
    pub fn new(errors: Vec<ErrorItem>) -> ValidationError {
        ValidationError { errors }
    }

    /// The 422 body.
    pub fn to_json(&self) -> Value {
        let detail: Vec<Value> = self.errors.iter().map(ErrorItem::to_json).collect();
        json!({ "detail": detail })
    }

    /// The 422 response.
    pub fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        Response::json_bytes(StatusCode::UNPROCESSABLE_CONTENT, body.into())
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation error(s)", self.errors.len())?;
        for item in &self.errors {
            write!(f, "; {}: {}", LocDisplay(&item.loc), item.msg)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

struct LocDisplay<'a>(&'a [LocPart]);

impl fmt::Display for LocDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match part {
                LocPart::Key(key) => f.write_str(key)?,
                LocPart::Index(index) => write!(f, "{index}")?,
            }
        }
        Ok(())
    }
}
