//! The fast path of validation. When a type's schema says no more than the type itself (no
//! bound, length, pattern or format: [`CompiledSchema::plain`](super::CompiledSchema)), a
//! well-formed input is deserialized straight into the type, with the checker's own
//! conversions for strings. Whatever the fast path is unsure of (a repeated name, a lax
//! coercion such as `"1.0"` for an integer, an absent required field, a type serde asks for
//! with `deserialize_any`) goes to the checker, which alone builds 422s: the fast path never
//! decides a refusal, so the answers are the checker's, only sooner.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::check::{parse_bool, parse_float, parse_int};

/// Builds a `T` from name/value pairs (path captures, query, cookies) when every value has
/// one certain reading; `None` sends the pairs to the checker.
pub(crate) fn from_pairs<'a, T: DeserializeOwned>(pairs: impl PairIter<'a>) -> Option<T> {
    T::deserialize(Pairs(pairs)).ok()
}

/// Name/value pairs, walked more than once (to count a tuple's values).
pub(crate) trait PairIter<'a>: Iterator<Item = Pair<'a>> + Clone {}

impl<'a, I: Iterator<Item = Pair<'a>> + Clone> PairIter<'a> for I {}

/// Builds a `T` from a JSON document serde's derive accepts as it is; `None` sends the body
/// to the checker (which also reports malformed JSON).
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// "Not on the fast path": the only error of these deserializers, carrying nothing (the
/// checker will say what is wrong, if anything is).
#[derive(Debug)]
struct Unsure;

impl fmt::Display for Unsure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to the checker")
    }
}

impl std::error::Error for Unsure {}

impl de::Error for Unsure {
    fn custom<M: fmt::Display>(_msg: M) -> Unsure {
        Unsure
    }
}

pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The pairs as a whole: a struct (names to fields; a repeated name is serde's "duplicate
/// field", so the checker applies FastAPI's last-wins rule), a tuple (values in order) or a
/// single value (the first).
struct Pairs<I>(I);

impl<'de, 'a, I: PairIter<'a>> de::Deserializer<'de> for Pairs<I> {
    type Error = Unsure;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        visitor.visit_map(Fields {
            pairs: self.0,
            value: None,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        if len != self.0.clone().count() {
            return Err(Unsure);
        }
        visitor.visit_seq(Values(self.0.map(|(_, value)| value)))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        visitor.visit_newtype_struct(self)
    }

    /// A single value: the first pair's (a path with one parameter).
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_bool(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_i64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_u64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_i32(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_u32(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_str(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_string(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        self.first()?.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 char bytes byte_buf option unit unit_struct seq map
        identifier ignored_any
    }
}

impl<'a, I: PairIter<'a>> Pairs<I> {
    fn first(mut self) -> Result<Text<'a>, Unsure> {
        self.0.next().map(|(_, value)| Text(value)).ok_or(Unsure)
    }
}

/// A struct's fields, in the order sent.
struct Fields<'a, I> {
    pairs: I,
    value: Option<Cow<'a, str>>,
}

impl<'de, 'a, I: PairIter<'a>> MapAccess<'de> for Fields<'a, I> {
    type Error = Unsure;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unsure> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let name: StrDeserializer<'_, Unsure> = name.as_ref().into_deserializer();
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unsure> {
        seed.deserialize(Text(self.value.take().ok_or(Unsure)?))
    }
}

/// A tuple's values, in order.
struct Values<I>(I);

impl<'de, 'a, I: Iterator<Item = Cow<'a, str>>> SeqAccess<'de> for Values<I> {
    type Error = Unsure;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unsure> {
        self.0
            .next()
            .map(|value| seed.deserialize(Text(value)))
            .transpose()
    }
}

/// One value as the checker reads a string: its words for a boolean, its integer and float
/// syntax. A value that would be out of the type's range, or that serde asks for without a
/// type, is left to the checker.
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn int<N: TryFrom<i128>>(&self) -> Result<N, Unsure> {
        let n = parse_int(&self.0).ok_or(Unsure)?;
        // `parse_int` saturates at i128's ends: those are not a reading of the text.
        if n == i128::MAX || n == i128::MIN {
            return Err(Unsure);
        }
        N::try_from(n).map_err(|_| Unsure)
    }
}

macro_rules! text_ints {
    ($($method:ident => $visit:ident: $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
            visitor.$visit(self.int::<$ty>()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Text<'_> {
    type Error = Unsure;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_bool(parse_bool(&self.0).ok_or(Unsure)?)
    }

    text_ints! {
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.deserialize_f64(visitor)
    }

    /// A finite float (the checker keeps `inf` and `nan` for its own rules).
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        match parse_float(&self.0) {
            Some(f) if f.is_finite() => visitor.visit_f64(f),
            _ => Err(Unsure),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_str(&self.0)
    }

    /// A value decoded into a string of its own is handed over, not copied again.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    /// A value that is present is `Some` (an absent field is serde's `None`).
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_some(self)
    }

    /// A list field sent once (sent twice, it is a duplicate field: the checker's).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_seq(Values(std::iter::once(self.0)))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant by its name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        visitor.visit_enum(StrDeserializer::<Unsure>::new(&self.0))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use schemars::JsonSchema;
    use serde::Deserialize;

    use super::super::{CompiledSchema, PairSource, check_pairs, from_json as check_json};
    use super::{from_json, from_pairs};

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Tool,
        Toy,
    }

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
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

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
    struct Bounded {
        #[schemars(range(max = 10))]
        limit: u32,
    }

    /// Whenever the fast path answers, it answers what the checker does; and it answers for
    /// the canonical spellings.
    #[test]
    fn the_fast_path_agrees_with_the_checker_or_stays_out() {
        let schema = CompiledSchema::of::<Params>();
        assert!(schema.plain);
        assert!(!CompiledSchema::of::<Bounded>().plain);
        let canonical = [
            "id=7",
            "id=0&delta=-3&ratio=2.5&flag=true&name=x y&small=255&tags=a&kind=toy",
            "id=7&flag=false&unknown=1",
            "id=7&name=",
        ];
        let doubtful = [
            "id=7.0",
            "id=1_000",
            "id=+7",
            "id= 7",
            "id=-1",
            "id=99999999999999999999999999999999999999999",
            "small=256&id=1",
            "id=7&id=8",
            "id=7&tags=a&tags=b",
            "id=7&flag=yes",
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
            let pairs: Vec<_> = query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (Cow::Borrowed(name), Cow::Borrowed(value))
                })
                .collect();
            let fast = from_pairs::<Params>(pairs.iter().cloned());
            let checked = check_pairs::<Params>(PairSource::Query, &schema, &pairs);
            if canonical.contains(query) {
                assert!(fast.is_some(), "{query}: left to the checker");
            }
            if let Some(fast) = fast {
                assert_eq!(Ok(&fast), checked.as_ref(), "{query}");
            }
        }
    }

    #[test]
    fn path_values_and_tuples_take_the_fast_path() {
        let pairs = [(Cow::from("id"), Cow::from("42"))];
        assert_eq!(from_pairs::<u64>(pairs.iter().cloned()), Some(42));
        let two = [
            (Cow::from("id"), Cow::from("42")),
            (Cow::from("name"), Cow::from("x")),
        ];
        assert_eq!(
            from_pairs::<(u64, String)>(two.iter().cloned()),
            Some((42, "x".to_owned()))
        );
        assert_eq!(from_pairs::<(u64,)>(two.iter().cloned()), None);
    }

    #[test]
    fn json_the_fast_path_takes_is_what_the_checker_builds() {
        #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
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
            let fast = from_json::<User>(body);
            if let Some(fast) = fast {
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
}
