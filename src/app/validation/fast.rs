//! Serde straight into the type: name/value pairs through a deserializer that reads each value
//! with the checker's own conversions (pydantic's words for a boolean, its integer and float
//! syntax), and JSON documents through serde_json.
//!
//! With feature `validation` this is the fast path: when a type's schema says no more than the
//! type itself (no bound, length, pattern or format: `CompiledSchema::plain`), a well-formed
//! input goes straight into the type, and whatever this path refuses goes to the checker, which
//! alone builds the 422 (this path never decides a refusal there, so the answers are the
//! checker's, only sooner). Without the feature it is the only path, and its refusal is the
//! 422's one error.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use super::error::{ErrorItem, LocPart};
use super::text::{parse_bool, parse_float, parse_int};

/// One name/value pair (a query parameter, a path capture, a cookie, a form field).
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Name/value pairs, walked more than once (a name's values are gathered across the input).
pub(crate) trait PairIter<'a>: Iterator<Item = Pair<'a>> + Clone {}

impl<'a, I: Iterator<Item = Pair<'a>> + Clone> PairIter<'a> for I {}

/// Which value of a name sent more than once a single-valued field takes (a list field takes
/// them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeats {
    /// Starlette's query, form and cookie dictionaries.
    LastWins,
    /// Starlette's `Headers.get`.
    FirstWins,
}

/// Builds a `T` from name/value pairs: a struct by field names, a tuple from the values in
/// order, a single value from the first pair.
pub(crate) fn from_pairs<'a, T: DeserializeOwned>(
    pairs: impl PairIter<'a>,
    repeats: Repeats,
) -> Result<T, Refusal> {
    T::deserialize(Pairs { pairs, repeats })
}

/// Builds a `T` from a JSON document as serde's derive reads it.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// Why the pairs did not make a `T`: the error of these deserializers, with what a 422 item
/// needs (a `Box`, so that a result of it stays small on the path that succeeds). With feature
/// `validation` the checker reports instead, and the details go unread.
#[derive(Debug)]
pub(crate) struct Refusal(Box<Detail>);

#[derive(Debug)]
#[cfg_attr(feature = "validation", allow(dead_code))]
struct Detail {
    kind: &'static str,
    msg: String,
    /// The name of the pair whose value was refused (`None`: the pairs as a whole).
    name: Option<String>,
    /// The value refused, as sent.
    input: Option<String>,
}

impl Refusal {
    fn new(kind: &'static str, msg: impl Into<String>) -> Refusal {
        Refusal(Box::new(Detail {
            kind,
            msg: msg.into(),
            name: None,
            input: None,
        }))
    }

    /// `self`, about the value `input` of the pair `name` unless it already names one.
    fn at(mut self, name: &str, input: &str) -> Refusal {
        if self.0.name.is_none() {
            self.0.name = Some(name.to_owned());
            self.0.input.get_or_insert_with(|| input.to_owned());
        }
        self
    }

    /// The 422 item, located under `source` (`"query"`, `"path"`, ...).
    #[cfg_attr(all(feature = "validation", not(test)), allow(dead_code))]
    pub(crate) fn into_item(self, source: &str) -> ErrorItem {
        let Detail {
            kind,
            msg,
            name,
            input,
        } = *self.0;
        let mut loc = vec![LocPart::from(source)];
        loc.extend(name.map(LocPart::Key));
        ErrorItem::new(kind, loc, msg, input.map_or(Value::Null, Value::String))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.msg)
    }
}

impl std::error::Error for Refusal {}

impl de::Error for Refusal {
    fn custom<M: fmt::Display>(msg: M) -> Refusal {
        Refusal::new("value_error", format!("Value error, {msg}"))
    }

    fn missing_field(field: &'static str) -> Refusal {
        let mut refusal = Refusal::new("missing", "Field required");
        refusal.0.name = Some(field.to_owned());
        refusal
    }
}

/// What serde asked for that a text value cannot be.
fn not_text() -> Refusal {
    Refusal::new("value_error", "Value error, not a type read from text")
}

/// Deserializer methods that read one value's text, the value `$pick` chooses (the first pair,
/// or the one a repeated name keeps).
macro_rules! text_scalars {
    ($pick:ident: $($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
            self.$pick(|text| text.$method(visitor))
        }
    )*};
}

/// The pairs as a whole: a struct (each name once: its values gathered), a tuple (values in
/// order) or a single value (the first).
struct Pairs<I> {
    pairs: I,
    repeats: Repeats,
}

impl<'de, 'a, I: PairIter<'a>> de::Deserializer<'de> for Pairs<I> {
    type Error = Refusal;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Refusal> {
        Err(not_text())
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        visitor.visit_map(Fields {
            all: self.pairs.clone(),
            rest: self.pairs,
            seen: 0,
            repeats: self.repeats,
            current: None,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        let sent = self.pairs.clone().count();
        if len != sent {
            let msg = format!("Tuple should have {len} items after validation, not {sent}");
            return Err(Refusal::new("too_short", msg));
        }
        visitor.visit_seq(Values(self.pairs))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        visitor.visit_newtype_struct(self)
    }

    // A single value: the first pair's (a path with one parameter).
    text_scalars! {
        first: deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_f32, deserialize_f64, deserialize_str, deserialize_string
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        self.first(|text| text.deserialize_enum(name, variants, visitor))
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf option unit unit_struct seq map identifier ignored_any
    }
}

impl<'a, I: PairIter<'a>> Pairs<I> {
    /// `read` applied to the first pair's value, a refusal located at its name.
    fn first<T>(mut self, read: impl FnOnce(Text<'a>) -> Result<T, Refusal>) -> Result<T, Refusal> {
        let Some((name, value)) = self.pairs.next() else {
            return Err(Refusal::new("missing", "Field required"));
        };
        let input = value.clone();
        read(Text(value)).map_err(|refusal| refusal.at(&name, &input))
    }
}

/// A struct's fields: each name once, in the order first sent.
struct Fields<'a, I> {
    /// Every pair (to tell whether a name was sent before).
    all: I,
    /// The pairs from the next one on.
    rest: I,
    /// How many pairs come before `rest`.
    seen: usize,
    repeats: Repeats,
    /// The name whose value is next, and the pairs from its first on.
    current: Option<(Cow<'a, str>, I)>,
}

impl<'de, 'a, I: PairIter<'a>> MapAccess<'de> for Fields<'a, I> {
    type Error = Refusal;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refusal> {
        loop {
            let from_here = self.rest.clone();
            let Some((name, _)) = self.rest.next() else {
                return Ok(None);
            };
            let before = self.all.clone().take(self.seen);
            self.seen += 1;
            if before.into_iter().any(|(earlier, _)| earlier == name) {
                continue;
            }
            let key: StrDeserializer<'_, Refusal> = name.as_ref().into_deserializer();
            let key = seed.deserialize(key)?;
            self.current = Some((name, from_here));
            return Ok(Some(key));
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refusal> {
        let (name, from_here) = self.current.take().ok_or_else(not_text)?;
        let values = from_here.filter(move |(other, _)| *other == name);
        seed.deserialize(Named {
            values,
            repeats: self.repeats,
        })
    }
}

/// Every value of one name: all of them for a list, one for anything else.
struct Named<I> {
    values: I,
    repeats: Repeats,
}

impl<'a, I: PairIter<'a>> Named<I> {
    /// The value a single-valued field takes, a refusal located at its name.
    fn one<T>(self, read: impl FnOnce(Text<'a>) -> Result<T, Refusal>) -> Result<T, Refusal> {
        let chosen = match self.repeats {
            Repeats::LastWins => self.values.last(),
            Repeats::FirstWins => self.values.clone().next(),
        };
        let Some((name, value)) = chosen else {
            return Err(not_text());
        };
        let input = value.clone();
        read(Text(value)).map_err(|refusal| refusal.at(&name, &input))
    }
}

impl<'de, 'a, I: PairIter<'a>> de::Deserializer<'de> for Named<I> {
    type Error = Refusal;

    text_scalars! {
        one: deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_f32,
        deserialize_f64, deserialize_str, deserialize_string, deserialize_ignored_any,
        deserialize_any
    }

    /// A name that is present is `Some` (an absent field is serde's `None`).
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        visitor.visit_some(self)
    }

    /// A list field: every value of the name, in order.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        visitor.visit_seq(Values(self.values))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        self.one(|text| text.deserialize_enum(name, variants, visitor))
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

/// Values in order (a tuple's, or a list field's), each refusal located at its pair's name.
struct Values<I>(I);

impl<'de, 'a, I: Iterator<Item = Pair<'a>>> SeqAccess<'de> for Values<I> {
    type Error = Refusal;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refusal> {
        let Some((name, value)) = self.0.next() else {
            return Ok(None);
        };
        let input = value.clone();
        seed.deserialize(Text(value))
            .map(Some)
            .map_err(|refusal| refusal.at(&name, &input))
    }
}

/// One value as the checker reads a string: its words for a boolean, its integer and float
/// syntax. A value out of the type's range, or one serde asks for without a type, is refused.
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn int<N: TryFrom<i128>>(&self) -> Result<N, Refusal> {
        let n = parse_int(&self.0).ok_or_else(|| {
            let msg = "Input should be a valid integer, unable to parse string as an integer";
            Refusal::new("int_parsing", msg)
        })?;
        N::try_from(n).map_err(|_| {
            let msg = "Input should be a valid integer, the value is out of the type's range";
            Refusal::new("int_parsing_size", msg)
        })
    }
}

macro_rules! text_ints {
    ($($method:ident => $visit:ident: $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
            visitor.$visit(self.int::<$ty>()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Text<'_> {
    type Error = Refusal;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Refusal> {
        Err(not_text())
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        let flag = parse_bool(&self.0).ok_or_else(|| {
            let msg = "Input should be a valid boolean, unable to interpret input";
            Refusal::new("bool_parsing", msg)
        })?;
        visitor.visit_bool(flag)
    }

    text_ints! {
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        self.deserialize_f64(visitor)
    }

    /// A finite float (the checker keeps `inf` and `nan` for its own rules).
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        match parse_float(&self.0) {
            Some(f) if f.is_finite() => visitor.visit_f64(f),
            _ => {
                let msg = "Input should be a valid number, unable to parse string as a number";
                Err(Refusal::new("float_parsing", msg))
            }
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        visitor.visit_str(&self.0)
    }

    /// A value decoded into a string of its own is handed over, not copied again.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant by its name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refusal> {
        visitor.visit_enum(StrDeserializer::<Refusal>::new(&self.0))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refusal> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde::Deserialize;

    use super::{Pair, Repeats, from_pairs};

    fn pairs(query: &str) -> Vec<Pair<'_>> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (Cow::Borrowed(name), Cow::Borrowed(value))
            })
            .collect()
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Tool,
        Toy,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
    struct Params {
        id: u64,
        delta: Option<i32>,
        ratio: Option<f64>,
        #[serde(default)]
        flag: bool,
        name: Option<String>,
        small: Option<u8>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Option<Kind>,
    }

    #[test]
    fn repeated_names_follow_starlette_and_lists_take_them_all() {
        let query = pairs("id=1&tags=a&id=2&tags=b&flag=yes");
        let last = from_pairs::<Params>(query.iter().cloned(), Repeats::LastWins).unwrap();
        assert_eq!(
            (last.id, last.flag, last.tags),
            (2, true, vec!["a".into(), "b".into()])
        );
        let first = from_pairs::<Params>(query.iter().cloned(), Repeats::FirstWins).unwrap();
        assert_eq!(first.id, 1);
    }

    #[test]
    fn refusals_name_the_pair_and_its_value() {
        let refused = |query: &str| {
            let item = from_pairs::<Params>(pairs(query).into_iter(), Repeats::LastWins)
                .unwrap_err()
                .into_item("query")
                .to_json();
            (
                item["type"].clone(),
                item["loc"].clone(),
                item["input"].clone(),
            )
        };
        let (kind, loc, input) = refused("id=x");
        assert_eq!(
            (kind, loc, input),
            (
                "int_parsing".into(),
                serde_json::json!(["query", "id"]),
                "x".into()
            )
        );
        let (kind, loc, input) = refused("flag=true");
        assert_eq!(
            (kind, loc, input),
            (
                "missing".into(),
                serde_json::json!(["query", "id"]),
                serde_json::Value::Null
            )
        );
        assert_eq!(refused("id=1&small=256").0, "int_parsing_size");
        assert_eq!(refused("id=1&flag=maybe").0, "bool_parsing");
        assert_eq!(
            refused("id=1&ratio=nan").1,
            serde_json::json!(["query", "ratio"])
        );
        assert_eq!(
            refused("id=1&kind=Tool").1,
            serde_json::json!(["query", "kind"])
        );
    }

    #[test]
    fn path_values_and_tuples_are_read_in_order() {
        let one = [(Cow::from("id"), Cow::from("42"))];
        assert_eq!(
            from_pairs::<u64>(one.iter().cloned(), Repeats::LastWins).unwrap(),
            42
        );
        let two = [
            (Cow::from("id"), Cow::from("42")),
            (Cow::from("name"), Cow::from("x")),
        ];
        let read = from_pairs::<(u64, String)>(two.iter().cloned(), Repeats::LastWins).unwrap();
        assert_eq!(read, (42, "x".to_owned()));
        assert!(from_pairs::<(u64,)>(two.iter().cloned(), Repeats::LastWins).is_err());
    }

    /// Whenever the fast path answers, it answers what the checker does; and it answers for
    /// the canonical spellings.
    #[cfg(feature = "validation")]
    #[test]
    fn the_fast_path_agrees_with_the_checker_or_stays_out() {
        use super::super::checked::check_pairs;
        use super::super::{CompiledSchema, PairSource};

        #[derive(Deserialize, schemars::JsonSchema)]
        struct Bounded {
            #[schemars(range(max = 10))]
            #[allow(dead_code)]
            limit: u32,
        }

        let schema = CompiledSchema::of::<Params>();
        assert!(schema.plain);
        assert!(!CompiledSchema::of::<Bounded>().plain);
        let canonical = [
            "id=7",
            "id=0&delta=-3&ratio=2.5&flag=true&name=x y&small=255&tags=a&kind=toy",
            "id=7&flag=false&unknown=1",
            "id=7&name=",
            "id=7&id=8",
            "id=7&tags=a&tags=b",
            "id=7&flag=yes",
            "id=7.0",
            "id=1_000",
            "id=+7",
            "id= 7",
        ];
        let doubtful = [
            "id=-1",
            "id=99999999999999999999999999999999999999999",
            "small=256&id=1",
            "id=7&flag= true",
            "id=7&ratio=inf",
            "id=7&ratio=nan",
            "id=7&ratio=1e400",
            "id=7&kind=Tool",
            "id=7&kind=",
            "flag=true",
            "",
        ];
        for query in canonical.iter().chain(&doubtful) {
            let pairs = pairs(query);
            let fast = from_pairs::<Params>(pairs.iter().cloned(), Repeats::LastWins).ok();
            let checked = check_pairs::<Params>(PairSource::Query, &schema, &pairs);
            if canonical.contains(query) {
                assert!(fast.is_some(), "{query}: left to the checker");
            }
            if let Some(fast) = fast {
                assert_eq!(Ok(&fast), checked.as_ref(), "{query}");
            }
        }
    }

    #[cfg(feature = "validation")]
    #[test]
    fn json_the_fast_path_takes_is_what_the_checker_builds() {
        use super::super::checked::from_json as check_json;
        use super::from_json;

        #[derive(Debug, PartialEq, Deserialize, schemars::JsonSchema)]
        struct User {
            user_id: u64,
            active: bool,
            name: String,
            score: Option<f64>,
        }
        let bodies: [&[u8]; 7] = [
            br#"{"user_id": 1, "active": true, "name": "a"}"#,
            br#"{"user_id": 1, "active": true, "name": "a", "score": 2}"#,
            br#"{"user_id": 1.0, "active": true, "name": "a"}"#,
            br#"{"user_id": "1", "active": 1, "name": "a"}"#,
            br#"{"user_id": 1, "user_id": 2, "active": true, "name": "a"}"#,
            br#"{"user_id": -1, "active": true, "name": "a"}"#,
            b"\xEF\xBB\xBF{\"user_id\": 1, \"active\": true, \"name\": \"a\"}",
        ];
        for body in bodies {
            if let Some(fast) = from_json::<User>(body) {
                let value = serde_json::from_slice(body).unwrap();
                assert_eq!(Ok(&fast), check_json::<User>(value, "body").as_ref());
            }
        }
        assert!(from_json::<User>(bodies[0]).is_some());
        assert!(
            from_json::<User>(bodies[2]).is_none(),
            "5.0 for an integer is the checker's"
        );
    }

    /// The agreement above on random queries: names the type has and one it has not, values
    /// from pydantic's words and number syntax and their near misses.
    #[cfg(feature = "validation")]
    mod agreement {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::super::super::checked::check_pairs;
        use super::super::super::{CompiledSchema, PairSource};
        use super::*;

        const NAMES: &[&str] = &[
            "id", "delta", "ratio", "flag", "name", "small", "tags", "kind", "other",
        ];
        const VALUES: &[&str] = &[
            "0",
            "7",
            "-3",
            "+7",
            " 7",
            "007",
            "1_000",
            "7.0",
            "7.5",
            "1e3",
            "255",
            "256",
            "-1",
            "99999999999999999999",
            "true",
            "False",
            "yes",
            "on",
            "1",
            "t",
            " true",
            "inf",
            "-Infinity",
            "nan",
            "tool",
            "Toy",
            "",
            "x",
        ];

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn the_fast_path_never_answers_otherwise_than_the_checker(
                sent in vec((select(NAMES), select(VALUES)), 0..8),
            ) {
                let pairs: Vec<Pair<'_>> = sent
                    .iter()
                    .map(|(name, value)| (Cow::Borrowed(*name), Cow::Borrowed(*value)))
                    .collect();
                let schema = CompiledSchema::of::<Params>();
                let checked = check_pairs::<Params>(PairSource::Query, &schema, &pairs);
                if let Ok(fast) = from_pairs::<Params>(pairs.iter().cloned(), Repeats::LastWins) {
                    prop_assert_eq!(Ok(&fast), checked.as_ref(), "{:?}", sent);
                }
            }
        }
    }
}
