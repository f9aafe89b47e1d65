//! Request validation: values from the query, path, headers, cookies, forms and JSON bodies are
//! checked against the schema of the type they become, and every failure is reported in
//! FastAPI's 422 shape.

mod check;
mod error;
mod fast;
mod schema;

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use error::{ErrorItem, LocPart, ValidationError};
pub(crate) use fast::{Pair, PairIter};
pub(crate) use schema::{CompiledSchema, ty};

use check::{Checker, Step};

/// Where flat name/value pairs come from, which decides how names match and how errors are
/// located.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairSource {
    /// `?a=1&b=2`: exact names, loc `["query", name]`.
    Query,
    /// Path captures: loc `["path", name]`.
    Path,
    /// Request headers: `user_agent` matches `User-Agent`, loc `["header", "user-agent"]`.
    Header,
    /// Cookies: exact names, loc `["cookie", name]`.
    Cookie,
    /// An urlencoded or multipart form: loc `["body", name]`.
    Form,
}

impl PairSource {
    fn label(self) -> &'static str {
        match self {
            PairSource::Query => "query",
            PairSource::Path => "path",
            PairSource::Header => "header",
            PairSource::Cookie => "cookie",
            PairSource::Form => "body",
        }
    }

    /// The name a field is looked up by (and reported as).
    pub(crate) fn wire_name(self, field: &str) -> Cow<'_, str> {
        match self {
            PairSource::Header => Cow::Owned(field.replace('_', "-")),
            _ => Cow::Borrowed(field),
        }
    }

    /// Whether the last of a repeated name wins: Starlette's query, form and cookie
    /// dictionaries keep the last value, its `Headers.get` the first.
    fn last_wins(self) -> bool {
        self != PairSource::Header
    }

    /// Whether serde's derive matches names as this source does (exactly) and sees every
    /// value as sent: not for headers (`user_agent` is `User-Agent`) nor forms (an empty
    /// field is a missing one).
    fn serde_reads_alike(self) -> bool {
        matches!(
            self,
            PairSource::Query | PairSource::Path | PairSource::Cookie
        )
    }

    fn matches(self, field: &str, key: &str) -> bool {
        match self {
            PairSource::Header => self.wire_name(field).eq_ignore_ascii_case(key),
            _ => field == key,
        }
    }
}

/// Builds a `T` from name/value pairs (the last value of a name wins, the first for headers, as
/// in FastAPI; a list field takes them all), checking it against `T`'s schema.
///
/// A `T` that is not a struct (a single `u64`, a tuple) takes the pairs' values in order: what
/// a path with one or several parameters gives.
pub(crate) fn from_pairs<'a, T>(
    source: PairSource,
    pairs: impl PairIter<'a>,
) -> Result<T, Vec<ErrorItem>>
where
    T: DeserializeOwned + JsonSchema + 'static,
{
    let schema = CompiledSchema::of::<T>();
    if schema.plain
        && source.serde_reads_alike()
        && let Some(value) = fast::from_pairs(pairs.clone())
    {
        return Ok(value);
    }
    check_pairs(source, &schema, &pairs.collect::<Vec<_>>())
}

/// The checker's way of [`from_pairs`]: the pairs into a JSON value, checked (and coerced)
/// against the schema, then into `T`.
fn check_pairs<T: DeserializeOwned>(
    source: PairSource,
    schema: &CompiledSchema,
    pairs: &[Pair<'_>],
) -> Result<T, Vec<ErrorItem>> {
    let root = schema.resolve(&schema.root);
    let mut checker = Checker::new(schema, source.label());
    if source == PairSource::Header {
        checker.alias = Some(|field| field.replace('_', "-"));
    }
    let mut value = if !root.properties.is_empty() || root.additional.is_some() {
        let mut object = Map::with_capacity(root.properties.len());
        for property in &root.properties {
            let node = schema.resolve(&property.node);
            let is_list = node.types & ty::ARRAY != 0
                || node
                    .any_of
                    .iter()
                    .any(|b| schema.resolve(b).types & ty::ARRAY != 0);
            let mut values = pairs
                .iter()
                .filter(|(key, _)| source.matches(&property.name, key))
                .map(|(_, value)| Value::String(value.clone().into_owned()));
            if is_list {
                let all: Vec<Value> = values.collect();
                if !all.is_empty() {
                    object.insert(property.name.clone(), Value::Array(all));
                }
            } else {
                let chosen = if source.last_wins() {
                    values.last()
                } else {
                    values.next()
                };
                // FastAPI: an empty form field is a missing one.
                let empty_field = source == PairSource::Form && chosen == Some(Value::from(""));
                if let Some(value) = chosen.filter(|_| !empty_field) {
                    object.insert(property.name.clone(), value);
                }
            }
        }
        if root.additional.is_some() {
            for (key, value) in pairs {
                let declared = root.properties.iter().any(|p| p.name == key.as_ref());
                if !declared && (source.last_wins() || !object.contains_key(key.as_ref())) {
                    object.insert(
                        key.clone().into_owned(),
                        Value::String(value.clone().into_owned()),
                    );
                }
            }
        }
        Value::Object(object)
    } else if !root.prefix_items.is_empty() {
        Value::Array(
            pairs
                .iter()
                .map(|(_, value)| Value::String(value.clone().into_owned()))
                .collect(),
        )
    } else {
        match pairs.first() {
            Some((key, value)) => {
                checker
                    .loc
                    .push(Step::Key(Cow::Owned(key.clone().into_owned())));
                Value::String(value.clone().into_owned())
            }
            None => return Err(vec![ErrorItem::missing(checker.loc_owned())]),
        }
    };
    checker.check_root(&mut value);
    if !root.prefix_items.is_empty() {
        // A tuple of path parameters: errors are located by the parameters' names, as
        // FastAPI locates its separate parameters, not by position.
        for error in &mut checker.errors {
            if let Some(LocPart::Index(index)) = error.loc.get(1)
                && let Some((name, _)) = pairs.get(*index)
            {
                error.loc[1] = LocPart::Key(name.clone().into_owned());
            }
        }
    }
    finish(checker, value)
}

/// `pairs` as an iterator of borrowed pairs (for [`from_pairs`]).
pub(crate) fn borrowed_pairs<'p>(pairs: &'p [Pair<'_>]) -> impl PairIter<'p> {
    pairs
        .iter()
        .map(|(name, value)| (Cow::Borrowed(name.as_ref()), Cow::Borrowed(value.as_ref())))
}

/// Builds `T` from a JSON document when its schema is plain and serde takes the document as
/// it is; `None` leaves it to [`from_json`] (which also reports malformed JSON).
pub(crate) fn from_json_fast<T>(bytes: &[u8]) -> Option<T>
where
    T: DeserializeOwned + JsonSchema + 'static,
{
    if CompiledSchema::of::<T>().plain {
        fast::from_json(bytes)
    } else {
        None
    }
}

/// Checks a parsed JSON document against `T`'s schema (located under `root`), then builds `T`.
pub(crate) fn from_json<T>(mut value: Value, root: &'static str) -> Result<T, Vec<ErrorItem>>
where
    T: DeserializeOwned + JsonSchema + 'static,
{
    let schema = CompiledSchema::of::<T>();
    let mut checker = Checker::new(&schema, root);
    checker.missing_input_is_object = true;
    checker.check_root(&mut value);
    finish(checker, value)
}

fn finish<T: DeserializeOwned>(checker: Checker<'_>, value: Value) -> Result<T, Vec<ErrorItem>> {
    if !checker.errors.is_empty() {
        return Err(checker.errors);
    }
    // The schema accepted the value; serde may still refuse what the schema cannot say.
    T::deserialize(&value).map_err(|err| {
        let msg = format!("Value error, {err}");
        vec![ErrorItem::new(
            "value_error",
            checker.loc_owned(),
            msg,
            value,
        )]
    })
}
