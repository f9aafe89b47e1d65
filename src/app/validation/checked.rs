//! The checker's way: the input as a JSON value, checked (and coerced) against the schema of
//! the type it becomes, every failure reported, then the type built from the value. What the
//! fast path leaves to it, and every input of a type whose schema constrains more than its
//! Rust type does.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::check::{Checker, Step};
use super::error::{ErrorItem, LocPart};
use super::schema::{CompiledSchema, ty};
use super::{Pair, PairSource};
use std::borrow::Cow;

/// The checker's way of [`from_pairs`](super::from_pairs): the pairs into a JSON value, checked (and coerced)
/// against the schema, then into `T`.
pub(super) fn check_pairs<T: DeserializeOwned>(
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

/// Checks a parsed JSON document against `T`'s schema (located under `root`), then builds `T`.
pub(super) fn from_json<T>(mut value: Value, root: &'static str) -> Result<T, Vec<ErrorItem>>
where
    T: DeserializeOwned + schemars::JsonSchema + 'static,
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
