//! JSON Schema (as schemars generates it) compiled into a checker: the constraints declared once
//! on a type drive both the 422 checks here and the OpenAPI document.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use regex_lite::Regex;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// JSON types a node admits, as bits.
pub(crate) mod ty {
    pub const NULL: u8 = 1;
    pub const BOOLEAN: u8 = 2;
    pub const INTEGER: u8 = 4;
    pub const NUMBER: u8 = 8;
    pub const STRING: u8 = 16;
    pub const ARRAY: u8 = 32;
    pub const OBJECT: u8 = 64;

    pub fn from_name(name: &str) -> u8 {
        match name {
            "null" => NULL,
            "boolean" => BOOLEAN,
            "integer" => INTEGER,
            "number" => NUMBER,
            "string" => STRING,
            "array" => ARRAY,
            "object" => OBJECT,
            _ => 0,
        }
    }
}

/// A string format the checker enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Email,
}

/// One compiled schema node; absent keywords are `None`/empty.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// Admitted types (bits of [`ty`]); 0 admits any.
    pub types: u8,
    pub reference: Option<usize>,
    pub any_of: Vec<Node>,
    pub all_of: Vec<Node>,
    pub enum_values: Option<Vec<Value>>,
    pub minimum: Option<Value>,
    pub maximum: Option<Value>,
    pub exclusive_minimum: Option<Value>,
    pub exclusive_maximum: Option<Value>,
    /// Bounds implied by an integer format (`uint8`, `int32`, ...).
    pub int_range: Option<(i128, i128)>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<(String, Regex)>,
    pub format: Option<Format>,
    pub items: Option<Box<Node>>,
    pub prefix_items: Vec<Node>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub properties: Vec<Property>,
    /// Schema for keys not in `properties` (a map type), if any.
    pub additional: Option<Box<Node>>,
}

impl Node {
    /// Whether this node and those inside it constrain nothing the Rust type does not (see
    /// [`CompiledSchema::plain`]).
    fn is_plain(&self) -> bool {
        let implied = |bound: &Option<Value>, end: fn((i128, i128)) -> i128| match bound {
            None => true,
            Some(bound) => self.int_range.is_some_and(|range| {
                bound
                    .as_i64()
                    .map(i128::from)
                    .or(bound.as_u64().map(i128::from))
                    == Some(end(range))
            }),
        };
        let nullable_union = match self.any_of.as_slice() {
            [] => true,
            [one, other] => one.types == ty::NULL || other.types == ty::NULL,
            _ => false,
        };
        implied(&self.minimum, |range| range.0)
            && implied(&self.maximum, |range| range.1)
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.format.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && self.all_of.is_empty()
            && nullable_union
            && self.any_of.iter().all(Node::is_plain)
            && self.items.as_deref().is_none_or(Node::is_plain)
            && self.prefix_items.iter().all(Node::is_plain)
            && self.properties.iter().all(|p| p.node.is_plain())
            && self.additional.as_deref().is_none_or(Node::is_plain)
    }
}

/// One declared object field.
#[derive(Debug)]
pub(crate) struct Property {
    pub name: String,
    pub node: Node,
    pub required: bool,
}

/// A type's schema, compiled: the root node and its `$defs`.
#[derive(Debug)]
pub(crate) struct CompiledSchema {
    pub root: Node,
    pub defs: Vec<Node>,
    /// Whether the schema says no more than the Rust type does (no bound beyond an integer
    /// type's range, no length, pattern, format or item count, no union but `Option`'s), so
    /// that what serde accepts the checker accepts unchanged: the fast path's condition.
    pub plain: bool,
}

impl CompiledSchema {
    /// Compiles a schemars root schema (with `$defs`).
    pub fn compile(schema: &Value) -> CompiledSchema {
        let mut compiler = Compiler {
            defs_source: schema.get("$defs").and_then(Value::as_object),
            names: HashMap::new(),
            defs: Vec::new(),
        };
        let root = compiler.node(schema);
        let plain = root.is_plain() && compiler.defs.iter().all(Node::is_plain);
        CompiledSchema {
            root,
            defs: compiler.defs,
            plain,
        }
    }

    /// The schema of `T`, compiled once per thread.
    pub fn of<T: JsonSchema + ?Sized + 'static>() -> Rc<CompiledSchema> {
        thread_local! {
            static CACHE: RefCell<HashMap<TypeId, Rc<CompiledSchema>, TypeIdHasher>> =
                RefCell::new(HashMap::default());
        }
        CACHE.with(|cache| {
            if let Some(found) = cache.borrow().get(&TypeId::of::<T>()) {
                return found.clone();
            }
            let schema = SchemaSettings::draft2020_12()
                .into_generator()
                .into_root_schema_for::<T>();
            let compiled = Rc::new(CompiledSchema::compile(schema.as_value()));
            cache
                .borrow_mut()
                .insert(TypeId::of::<T>(), compiled.clone());
            compiled
        })
    }

    /// `node`, with a `$ref` followed (once; schemars never chains them).
    pub fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        match node.reference {
            Some(index) => &self.defs[index],
            None => node,
        }
    }
}

/// `TypeId`s are already hashes: use their bits rather than SipHash them again (this lookup
/// runs for every validated extractor of every request).
type TypeIdHasher = BuildHasherDefault<IdHasher>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_ne_bytes(word);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

struct Compiler<'a> {
    defs_source: Option<&'a Map<String, Value>>,
    names: HashMap<String, usize>,
    defs: Vec<Node>,
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value) -> Node {
        let Some(object) = schema.as_object() else {
            // `true` admits anything; `false` is never generated for request types.
            return Node::default();
        };
        let mut node = Node::default();
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            node.reference = self.reference(reference);
        }
        match object.get("type") {
            Some(Value::String(name)) => node.types = ty::from_name(name),
            Some(Value::Array(names)) => {
                node.types = names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(ty::from_name)
                    .fold(0, |all, one| all | one);
            }
            _ => {}
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = object.get(key) {
                node.any_of = branches.iter().map(|branch| self.node(branch)).collect();
            }
        }
        if let Some(Value::Array(parts)) = object.get("allOf") {
            node.all_of = parts.iter().map(|part| self.node(part)).collect();
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            node.enum_values = Some(values.clone());
        }
        if let Some(value) = object.get("const") {
            node.enum_values = Some(vec![value.clone()]);
        }
        let number = |key: &str| object.get(key).filter(|v| v.is_number()).cloned();
        node.minimum = number("minimum");
        node.maximum = number("maximum");
        node.exclusive_minimum = number("exclusiveMinimum");
        node.exclusive_maximum = number("exclusiveMaximum");
        let size = |key: &str| object.get(key).and_then(Value::as_u64).map(|n| n as usize);
        node.min_length = size("minLength");
        node.max_length = size("maxLength");
        node.min_items = size("minItems");
        node.max_items = size("maxItems");
        if let Some(pattern) = object.get("pattern").and_then(Value::as_str) {
            match Regex::new(pattern) {
                Ok(regex) => node.pattern = Some((pattern.to_owned(), regex)),
                Err(err) => panic!("invalid pattern {pattern:?} in a request type's schema: {err}"),
            }
        }
        match object.get("format").and_then(Value::as_str) {
            Some("email") => node.format = Some(Format::Email),
            Some(format) => node.int_range = int_format_range(format),
            None => {}
        }
        if let Some(items) = object.get("items") {
            node.items = Some(Box::new(self.node(items)));
        }
        if let Some(Value::Array(prefix)) = object.get("prefixItems") {
            node.prefix_items = prefix.iter().map(|item| self.node(item)).collect();
        }
        if let Some(Value::Object(properties)) = object.get("properties") {
            let required: Vec<&str> = object
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            node.properties = properties
                .iter()
                .map(|(name, schema)| Property {
                    name: name.clone(),
                    node: self.node(schema),
                    required: required.contains(&name.as_str()),
                })
                .collect();
        }
        if let Some(additional) = object.get("additionalProperties")
            && additional.is_object()
        {
            node.additional = Some(Box::new(self.node(additional)));
        }
        node
    }

    /// The index of the definition `#/$defs/Name`, compiling it on first use (recursive types
    /// reach their own index while it is being compiled).
    fn reference(&mut self, reference: &str) -> Option<usize> {
        let name = reference.strip_prefix("#/$defs/")?;
        if let Some(&index) = self.names.get(name) {
            return Some(index);
        }
        let index = self.defs.len();
        self.defs.push(Node::default());
        self.names.insert(name.to_owned(), index);
        let schema = self.defs_source?.get(name)?.clone();
        self.defs[index] = self.node(&schema);
        Some(index)
    }
}

/// The range of an integer format schemars emits for Rust's integer types.
fn int_format_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "uint8" => (0, u8::MAX as i128),
        "uint16" => (0, u16::MAX as i128),
        "uint32" => (0, u32::MAX as i128),
        "uint64" | "uint" => (0, u64::MAX as i128),
        "int8" => (i8::MIN as i128, i8::MAX as i128),
        "int16" => (i16::MIN as i128, i16::MAX as i128),
        "int32" => (i32::MIN as i128, i32::MAX as i128),
        "int64" | "int" => (i64::MIN as i128, i64::MAX as i128),
        _ => return None,
    })
}
