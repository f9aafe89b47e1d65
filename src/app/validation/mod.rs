//! Request validation: values from the query, path, headers, cookies, forms and JSON bodies
//! become the types handlers ask for, and every failure is reported in FastAPI's 422 shape.
//!
//! With feature `validation`, each value is checked against the schema of its type (schemars'
//! derive: bounds, lengths, patterns, formats), with pydantic v2's coercions and error types
//! ([`checked`]); a type whose schema constrains nothing beyond its Rust type takes the fast
//! path first ([`fast`]). Without the feature, serde reads the types ([`fast`] alone), and a
//! 422 carries the first failure.

#[cfg(feature = "validation")]
mod check;
#[cfg(feature = "validation")]
mod checked;
mod error;
mod fast;
#[cfg(feature = "validation")]
mod schema;
mod text;

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::{ErrorItem, LocPart, ValidationError};
pub(crate) use fast::{Pair, PairIter};
#[cfg(feature = "validation")]
pub(crate) use schema::CompiledSchema;

use super::doc::ApiSchema;
use fast::Repeats;

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
    #[cfg(feature = "validation")]
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

    fn repeats(self) -> Repeats {
        if self.last_wins() {
            Repeats::LastWins
        } else {
            Repeats::FirstWins
        }
    }

    /// Whether serde's derive matches names as this source does (exactly) and sees every
    /// value as sent: not for headers (`user_agent` is `User-Agent`) nor forms (an empty
    /// field is a missing one).
    #[cfg(feature = "validation")]
    fn serde_reads_alike(self) -> bool {
        matches!(
            self,
            PairSource::Query | PairSource::Path | PairSource::Cookie
        )
    }

    #[cfg(feature = "validation")]
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
    T: DeserializeOwned + ApiSchema + 'static,
{
    #[cfg(feature = "validation")]
    {
        let schema = CompiledSchema::of::<T>();
        if schema.plain
            && source.serde_reads_alike()
            && let Ok(value) = fast::from_pairs(pairs.clone(), source.repeats())
        {
            return Ok(value);
        }
        checked::check_pairs(source, &schema, &pairs.collect::<Vec<_>>())
    }
    #[cfg(not(feature = "validation"))]
    {
        let refused = |refusal: fast::Refusal| vec![refusal.into_item(source.label())];
        match source {
            // FastAPI: an empty form field is a missing one.
            PairSource::Form => {
                let filled = pairs.filter(|(_, value)| !value.is_empty());
                fast::from_pairs(filled, source.repeats()).map_err(refused)
            }
            // Field `user_agent` reads header `User-Agent`.
            PairSource::Header => {
                let named = pairs.map(|(name, value)| {
                    (
                        Cow::Owned(name.to_ascii_lowercase().replace('-', "_")),
                        value,
                    )
                });
                fast::from_pairs(named, source.repeats()).map_err(refused)
            }
            _ => fast::from_pairs(pairs, source.repeats()).map_err(refused),
        }
    }
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
    T: DeserializeOwned + ApiSchema + 'static,
{
    #[cfg(feature = "validation")]
    if !CompiledSchema::of::<T>().plain {
        return None;
    }
    fast::from_json(bytes)
}

/// Builds `T` from a parsed JSON document, every failure located under `root`: checked
/// against `T`'s schema with feature `validation`, read by serde alone without.
pub(crate) fn from_json<T>(value: Value, root: &'static str) -> Result<T, Vec<ErrorItem>>
where
    T: DeserializeOwned + ApiSchema + 'static,
{
    #[cfg(feature = "validation")]
    {
        checked::from_json(value, root)
    }
    #[cfg(not(feature = "validation"))]
    {
        T::deserialize(&value).map_err(|err| {
            let msg = format!("Value error, {err}");
            vec![ErrorItem::new("value_error", vec![root.into()], msg, value)]
        })
    }
}
