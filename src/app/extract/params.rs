//! Extractors of flat name/value inputs: path, query, headers, cookies.

use std::borrow::Cow;

use bytes::Bytes;
use percent_encoding::percent_decode;
use serde::de::DeserializeOwned;

use super::text_pairs::{TextPairs, TextPairsBuilder, text, trim};
use super::{FromRequestParts, Rejection, RequestContext, RequestParts};
use crate::app::doc::{ApiSchema, OperationDoc, ParamLocation};
use crate::app::small_list::SmallList;
use crate::app::validation::{ErrorItem, Pair, PairIter, PairSource, borrowed_pairs, from_pairs};
use crate::server::Request;

/// Path parameters: a struct whose fields are named like the pattern's `{params}`, a single
/// value for a pattern with one parameter, or a tuple in pattern order. Values are
/// percent-decoded; failures are 422s located at `["path", name]`.
///
/// # Examples
///
/// ```
/// use nanoapi::app::Path;
///
/// // GET /users/{user_id}
/// async fn get_user(Path(user_id): Path<u64>) -> String {
///     format!("user {user_id}")
/// }
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct ItemPath { user_id: u64, item: String }
///
/// // GET /users/{user_id}/items/{item}
/// async fn get_item(Path(p): Path<ItemPath>) -> String {
///     format!("{} of {}", p.item, p.user_id)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequestParts<S> for Path<T> {
    async fn from_request_parts(
        _req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        from_pairs(PairSource::Path, borrowed_pairs(cx.params))
            .map(Path)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.params::<T>(ParamLocation::Path);
    }
}

/// Query parameters as a struct: the last value of a name wins (as in FastAPI) unless the field
/// is a list;
/// `Option` fields and `#[serde(default)]` make parameters optional; booleans accept
/// true/false/1/0/yes/no/on/off; constraints declared on the type are checked (422 at
/// `["query", name]`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::Query;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Page {
///     #[schemars(range(min = 1, max = 100))]
///     #[serde(default = "default_limit")]
///     limit: u32,
///     #[serde(default)]
///     verbose: bool,
///     tag: Vec<String>,
/// }
/// fn default_limit() -> u32 { 10 }
///
/// async fn list(Query(page): Query<Page>) -> String {
///     format!("{} {} {:?}", page.limit, page.verbose, page.tag)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + ApiSchema + 'static> Query<T> {
    /// Decodes and validates a raw query string (what follows `?`), without a request.
    ///
    /// # Errors
    ///
    /// Every validation failure, located at `["query", name]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::Query;
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Page { #[schemars(range(min = 1))] page: u32, #[serde(default)] all: bool }
    ///
    /// let Query(page) = Query::<Page>::from_query(b"page=2&all=yes").unwrap();
    /// assert_eq!((page.page, page.all), (2, true));
    ///
    /// let errors = Query::<Page>::from_query(b"page=0").unwrap_err();
    /// assert_eq!(errors[0].kind, "greater_than_equal");
    /// ```
    pub fn from_query(raw: &[u8]) -> Result<Query<T>, Vec<ErrorItem>> {
        // Decoded once: the struct's fields walk the pairs more than once (to find repeats).
        let mut pairs: SmallList<Pair<'_>, 4> = SmallList::with_capacity(0);
        for pair in urlencoded_pairs(raw) {
            pairs.push(pair);
        }
        from_pairs(PairSource::Query, borrowed_pairs(pairs.as_slice())).map(Query)
    }
}

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequestParts<S> for Query<T> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Query::from_query(req.query().unwrap_or_default()).map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.params::<T>(ParamLocation::Query);
    }
}

/// Request headers as a struct: field `user_agent` reads header `User-Agent` (FastAPI's
/// convention), case-insensitively; list fields take every value.
///
/// # Examples
///
/// ```
/// use nanoapi::app::Header;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Auth { authorization: String, x_request_id: Option<String> }
///
/// async fn who(Header(h): Header<Auth>) -> String {
///     h.authorization
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header<T>(pub T);

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequestParts<S> for Header<T> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let pairs = req.headers().map(|(n, v)| (text(n), text(v)));
        from_pairs(PairSource::Header, pairs)
            .map(Header)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.params::<T>(ParamLocation::Header);
    }
}

/// Cookies as a struct (422 at `["cookie", name]`).
///
/// # Examples
///
/// ```
/// use nanoapi::app::Cookie;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Session { session: String }
///
/// async fn me(Cookie(c): Cookie<Session>) -> String {
///     c.session
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cookie<T>(pub T);

impl<S, T: DeserializeOwned + ApiSchema + 'static> FromRequestParts<S> for Cookie<T> {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let cookies = Cookies::from_request_ref(req);
        let pairs = cookies
            .iter()
            .map(|(n, v)| (Cow::Borrowed(n), Cow::Borrowed(v)));
        from_pairs(PairSource::Cookie, pairs)
            .map(Cookie)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.params::<T>(ParamLocation::Cookie);
    }
}

/// Every cookie the request carries (all `Cookie` fields), names and values as sent; a name
/// sent twice reads as its last value, as Starlette's cookie dictionary has it.
///
/// # Examples
///
/// ```
/// use nanoapi::app::Cookies;
///
/// let cookies = Cookies::parse(["a=1; b=\"two\"", "c=3; a=4"]);
/// assert_eq!(cookies.get("a"), Some("4"));
/// assert_eq!(cookies.get("b"), Some("two"));
/// assert_eq!(cookies.get("c"), Some("3"));
/// assert_eq!(cookies.get("d"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cookies {
    /// Extracted from a request: spans into its head, shared rather than copied.
    pairs: TextPairs,
}

impl Cookies {
    /// Parses `Cookie` field values (`a=1; b=2`); malformed pairs are skipped.
    pub fn parse<'a>(fields: impl IntoIterator<Item = &'a str>) -> Cookies {
        let fields = fields.into_iter().map(Cow::Borrowed);
        Cookies::parse_into(TextPairsBuilder::new(Bytes::new(), 0), fields)
    }

    fn parse_into<'a>(
        mut pairs: TextPairsBuilder,
        fields: impl IntoIterator<Item = Cow<'a, str>>,
    ) -> Cookies {
        for field in fields {
            for pair in split_ascii(&field, b';') {
                let Some((name, value)) = split_once_ascii(pair, b'=') else {
                    continue;
                };
                let name = trim(name);
                let value = trim(value);
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                if !name.is_empty() {
                    pairs.push(name, value);
                }
            }
        }
        Cookies {
            pairs: pairs.finish(),
        }
    }

    /// The cookies of `req`.
    pub(crate) fn from_request_ref(req: &Request) -> Cookies {
        let mut fields = req.header_all("cookie");
        let Some(first) = fields.next() else {
            return Cookies::default();
        };
        // Room for the first field's pairs: nearly always the only field.
        let count = first.iter().filter(|&&b| b == b';').count() + 1;
        let pairs = TextPairsBuilder::new(req.head_bytes().clone(), count);
        Cookies::parse_into(pairs, std::iter::once(first).chain(fields).map(text))
    }

    /// The last cookie named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.last(name, false)
    }

    /// Every cookie, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.pairs.iter()
    }
}

impl<S> FromRequestParts<S> for Cookies {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(Cookies::from_request_ref(req))
    }
}

/// `s` split at every `delimiter` (an ASCII byte, so every piece is on `char` boundaries), as
/// `str::split` with a `char` does, in one walk of the bytes: cheaper for the short strings of
/// a head than a searcher set up per call.
fn split_ascii(s: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    debug_assert!(delimiter.is_ascii());
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let piece = rest?;
        match split_once_ascii(piece, delimiter) {
            Some((before, after)) => {
                rest = Some(after);
                Some(before)
            }
            None => rest.take(),
        }
    })
}

/// `s` around its first `delimiter` (an ASCII byte), as `str::split_once` with a `char`.
pub(super) fn split_once_ascii(s: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == delimiter)?;
    // An ASCII byte starts a `char` and is one, so both sides are on `char` boundaries.
    Some((&s[..at], &s[at + 1..]))
}

/// Splits `a=1&b=x%20y+z` into decoded pairs (`+` is a space, as in HTML forms); invalid
/// UTF-8 is replaced, never refused here.
pub(crate) fn parse_urlencoded(input: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    urlencoded_pairs(input).collect()
}

/// The pairs of [`parse_urlencoded`], decoded as they are walked.
fn urlencoded_pairs(input: &[u8]) -> impl PairIter<'_> {
    let mut rest = input;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            // One walk of the pair: where it ends, where its first `=` is, and whether it has
            // anything to decode (most pairs have not, and are borrowed as they are).
            let (mut end, mut equals, mut escaped) = (rest.len(), None, false);
            for (i, &b) in rest.iter().enumerate() {
                match b {
                    b'&' => {
                        end = i;
                        break;
                    }
                    b'=' if equals.is_none() => equals = Some(i),
                    b'%' | b'+' => escaped = true,
                    _ => {}
                }
            }
            let pair = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match equals {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            return Some(match escaped {
                true => (decode_component(name), decode_component(value)),
                false => (text(name), text(value)),
            });
        }
    })
}

/// Percent-decodes one form component, `+` meaning space.
fn decode_component(raw: &[u8]) -> Cow<'_, str> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        // Without escapes there is nothing to decode.
        return text(raw);
    }
    let plus_free: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    Cow::Owned(percent_decode(&plus_free).decode_utf8_lossy().into_owned())
}

/// Percent-decodes a path parameter (`+` stays a plus in paths).
pub(crate) fn decode_path_param(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'%') {
        return text(raw);
    }
    percent_decode(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_splits_agree_with_the_str_ones() {
        let inputs = [
            "",
            ";",
            ";;",
            "a",
            "a;b",
            ";a;",
            "a=1; b=2",
            "é=ü;ß",
            "x;=;y=",
            "ünï;cödé=",
        ];
        for input in inputs {
            assert_eq!(
                split_ascii(input, b';').collect::<Vec<_>>(),
                input.split(';').collect::<Vec<_>>(),
                "{input:?}"
            );
            assert_eq!(
                split_once_ascii(input, b'='),
                input.split_once('='),
                "{input:?}"
            );
        }
    }

    /// The one-walk split agrees with splitting at `&`, then at the first `=`, on every
    /// arrangement of the bytes that matter.
    #[test]
    fn urlencoded_pairs_split_as_the_plain_splits_do() {
        let reference = |input: &[u8]| -> Vec<(String, String)> {
            input
                .split(|&b| b == b'&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = match pair.iter().position(|&b| b == b'=') {
                        Some(i) => (&pair[..i], &pair[i + 1..]),
                        None => (pair, &[][..]),
                    };
                    (
                        decode_component(name).into_owned(),
                        decode_component(value).into_owned(),
                    )
                })
                .collect()
        };
        let alphabet = [b'a', b'=', b'&', b'%', b'+', b'2', b'0'];
        let mut input = Vec::new();
        for mut n in 0..alphabet.len().pow(5) {
            input.clear();
            for _ in 0..5 {
                input.push(alphabet[n % alphabet.len()]);
                n /= alphabet.len();
            }
            for len in 0..=input.len() {
                let got: Vec<(String, String)> = urlencoded_pairs(&input[..len])
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect();
                assert_eq!(got, reference(&input[..len]), "{:?}", &input[..len]);
            }
        }
    }

    #[test]
    fn urlencoded_pairs_decode() {
        let pairs = parse_urlencoded(b"a=1&b=x%20y+z&&c&d=%E2%82%AC&e=%ZZ");
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "1"),
                ("b", "x y z"),
                ("c", ""),
                ("d", "€"),
                ("e", "%ZZ")
            ]
        );
    }

    #[test]
    fn a_query_past_the_inline_pairs_keeps_every_pair_and_the_last_repeat() {
        #[derive(serde::Deserialize)]
        #[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
        struct Many {
            a: u32,
            b: String,
            c: bool,
            d: u32,
            e: String,
        }
        let Query(many) =
            Query::<Many>::from_query(b"a=1&b=x+y&c=yes&d=4&a=7&e=%C3%A9&z=0").unwrap();
        assert_eq!(
            (many.a, many.b.as_str(), many.c, many.d, many.e.as_str()),
            (7, "x y", true, 4, "\u{e9}")
        );
    }

    #[test]
    fn path_params_keep_plus() {
        assert_eq!(decode_path_param(b"a+b%2Fc"), "a+b/c");
    }
}
