//! Checking (and leniently coercing) a JSON value against a compiled schema, reporting every
//! failure with pydantic v2's error types.

use std::borrow::Cow;

use serde_json::{Number, Value, json};

use super::error::{ErrorItem, LocPart};
use super::schema::{CompiledSchema, Format, Node, ty};

/// Walks a value against a schema, coercing strings where pydantic's lax mode would (`"42"` to
/// an integer field, `"yes"` to a boolean), and collects errors.
pub(crate) struct Checker<'s> {
    schema: &'s CompiledSchema,
    /// Where the checker is: borrowed names, materialised only for an error.
    pub loc: Vec<Step<'s>>,
    pub errors: Vec<ErrorItem>,
    /// How a top-level field is named in locations (headers: `user_agent` → `user-agent`).
    pub alias: Option<fn(&str) -> String>,
}

/// One step of the checker's location.
#[derive(Debug, Clone)]
pub(crate) enum Step<'a> {
    Key(Cow<'a, str>),
    Index(usize),
}

impl<'s> Checker<'s> {
    /// A checker whose locations start at `root` (`"body"`, `"query"`, ...).
    pub fn new(schema: &'s CompiledSchema, root: &'static str) -> Checker<'s> {
        Checker {
            schema,
            loc: vec![Step::Key(Cow::Borrowed(root))],
            errors: Vec::new(),
            alias: None,
        }
    }

    /// The current location, owned.
    pub fn loc_owned(&self) -> Vec<LocPart> {
        self.loc
            .iter()
            .map(|step| match step {
                Step::Key(key) => LocPart::Key(key.clone().into_owned()),
                Step::Index(index) => LocPart::Index(*index),
            })
            .collect()
    }

    fn error(&mut self, kind: &'static str, msg: impl Into<String>, input: &Value) {
        let loc = self.loc_owned();
        self.errors
            .push(ErrorItem::new(kind, loc, msg, input.clone()));
    }

    fn error_ctx(&mut self, kind: &'static str, msg: impl Into<String>, input: &Value, ctx: Value) {
        let loc = self.loc_owned();
        self.errors
            .push(ErrorItem::new(kind, loc, msg, input.clone()).with_ctx(ctx));
    }

    /// Checks `value` against the schema's root.
    pub fn check_root(&mut self, value: &mut Value) {
        let schema = self.schema;
        self.check(&schema.root, value);
    }

    /// Checks `value` against `node`, coercing it in place.
    pub fn check(&mut self, node: &'s Node, value: &mut Value) {
        let schema = self.schema;
        if let Some(index) = node.reference {
            self.check(&schema.defs[index], value);
            return;
        }
        for part in &node.all_of {
            self.check(part, value);
        }
        if !node.any_of.is_empty() {
            self.check_any_of(&node.any_of, value);
            return;
        }
        if node.types != 0 && !self.coerce_type(node, value) {
            return;
        }
        if let Some(allowed) = &node.enum_values
            && !allowed.contains(value)
        {
            let expected = expected_list(allowed);
            let msg = format!("Input should be {expected}");
            self.error_ctx("enum", msg, value, json!({ "expected": expected }));
            return;
        }
        match value {
            Value::Number(_) => self.check_number(node, value),
            Value::String(_) => self.check_string(node, value),
            Value::Array(_) => self.check_array(node, value),
            Value::Object(_) => self.check_object(node, value),
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// `anyOf`/`oneOf`: the first branch that accepts the value wins (its coercions kept);
    /// otherwise the errors of the branch that came closest.
    fn check_any_of(&mut self, branches: &'s [Node], value: &mut Value) {
        if value.is_null() && branches.iter().any(|b| self.admits_null(b)) {
            return;
        }
        let mut best: Option<Vec<ErrorItem>> = None;
        for branch in branches {
            if value.is_null() && self.admits_null(branch) {
                return;
            }
            let mut candidate = value.clone();
            let mut inner = Checker {
                schema: self.schema,
                loc: self.loc.clone(),
                errors: Vec::new(),
                alias: self.alias,
            };
            inner.check(branch, &mut candidate);
            if inner.errors.is_empty() {
                *value = candidate;
                return;
            }
            // Skip the `null` branch of an `Option`: its error says nothing useful.
            if branch.types == ty::NULL {
                continue;
            }
            if best.as_ref().is_none_or(|b| inner.errors.len() < b.len()) {
                best = Some(inner.errors);
            }
        }
        match best {
            Some(errors) => self.errors.extend(errors),
            None => self.error("union_type", "Input does not match any allowed type", value),
        }
    }

    fn admits_null(&self, node: &Node) -> bool {
        let node = self.schema.resolve(node);
        node.types & ty::NULL != 0
    }

    /// Makes `value` one of `types` if pydantic's lax mode would; reports the mismatch
    /// otherwise. Returns whether the value now has an admitted type.
    fn coerce_type(&mut self, node: &Node, value: &mut Value) -> bool {
        let types = node.types;
        let actual = match value {
            Value::Null => ty::NULL,
            Value::Bool(_) => ty::BOOLEAN,
            Value::Number(n) if n.is_i64() || n.is_u64() => ty::INTEGER,
            Value::Number(_) => ty::NUMBER,
            Value::String(_) => ty::STRING,
            Value::Array(_) => ty::ARRAY,
            Value::Object(_) => ty::OBJECT,
        };
        // An integer is also a number.
        if types & actual != 0 || (actual == ty::INTEGER && types & ty::NUMBER != 0) {
            return true;
        }
        if actual == ty::NUMBER
            && types & ty::INTEGER != 0
            && let Some(f) = value.as_f64()
        {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                *value = json!(f as i64);
                return true;
            }
            let msg = "Input should be a valid integer, got a number with a fractional part";
            self.error("int_from_float", msg, value);
            return false;
        }
        if let Value::String(text) = value {
            if types & ty::INTEGER != 0 {
                if let Some(n) = parse_int(text) {
                    // Out of the Rust type's range: reported against the string as sent (the
                    // number itself may not fit a JSON number without rounding).
                    if self.int_range_error(node, n, value) {
                        return false;
                    }
                    *value = int_value(n);
                    return true;
                }
                if types & (ty::NUMBER | ty::BOOLEAN) == 0 {
                    let msg =
                        "Input should be a valid integer, unable to parse string as an integer";
                    self.error("int_parsing", msg, value);
                    return false;
                }
            }
            if types & ty::NUMBER != 0 {
                if let Some(number) = parse_float(text) {
                    *value = number;
                    return true;
                }
                if types & ty::BOOLEAN == 0 {
                    let msg = "Input should be a valid number, unable to parse string as a number";
                    self.error("float_parsing", msg, value);
                    return false;
                }
            }
            if types & ty::BOOLEAN != 0 {
                if let Some(flag) = parse_bool(text) {
                    *value = Value::Bool(flag);
                    return true;
                }
                let msg = "Input should be a valid boolean, unable to interpret input";
                self.error("bool_parsing", msg, value);
                return false;
            }
        }
        let (kind, msg) = type_error(types);
        self.error(kind, msg, value);
        false
    }

    fn check_number(&mut self, node: &Node, value: &Value) {
        fn compare<'b>(
            value: &Value,
            bound: &'b Option<Value>,
        ) -> Option<(std::cmp::Ordering, &'b Value)> {
            bound.as_ref().map(|b| (compare_numbers(value, b), b))
        }
        if let Some((ordering, bound)) = compare(value, &node.minimum)
            && ordering.is_lt()
        {
            let msg = format!("Input should be greater than or equal to {bound}");
            self.error_ctx("greater_than_equal", msg, value, json!({ "ge": bound }));
        }
        if let Some((ordering, bound)) = compare(value, &node.maximum)
            && ordering.is_gt()
        {
            let msg = format!("Input should be less than or equal to {bound}");
            self.error_ctx("less_than_equal", msg, value, json!({ "le": bound }));
        }
        if let Some((ordering, bound)) = compare(value, &node.exclusive_minimum)
            && !ordering.is_gt()
        {
            let msg = format!("Input should be greater than {bound}");
            self.error_ctx("greater_than", msg, value, json!({ "gt": bound }));
        }
        if let Some((ordering, bound)) = compare(value, &node.exclusive_maximum)
            && !ordering.is_lt()
        {
            let msg = format!("Input should be less than {bound}");
            self.error_ctx("less_than", msg, value, json!({ "lt": bound }));
        }
        if let Some(n) = as_i128(value) {
            self.int_range_error(node, n, value);
        }
    }

    /// Reports `n` outside the range of the node's integer format, on a side no declared bound
    /// already checks; whether it did.
    fn int_range_error(&mut self, node: &Node, n: i128, input: &Value) -> bool {
        let Some((low, high)) = node.int_range else {
            return false;
        };
        if n < low && node.minimum.is_none() {
            let msg = format!("Input should be greater than or equal to {low}");
            let ctx = json!({ "ge": low as i64 });
            self.error_ctx("greater_than_equal", msg, input, ctx);
            true
        } else if n > high && node.maximum.is_none() {
            let msg = format!("Input should be less than or equal to {high}");
            let ctx = json!({ "le": high as u64 });
            self.error_ctx("less_than_equal", msg, input, ctx);
            true
        } else {
            false
        }
    }

    fn check_string(&mut self, node: &Node, value: &Value) {
        let Value::String(text) = value else { return };
        let chars = text.chars().count();
        if let Some(min) = node.min_length
            && chars < min
        {
            let msg = format!("String should have at least {min} character{}", plural(min));
            self.error_ctx("string_too_short", msg, value, json!({ "min_length": min }));
        }
        if let Some(max) = node.max_length
            && chars > max
        {
            let msg = format!("String should have at most {max} character{}", plural(max));
            self.error_ctx("string_too_long", msg, value, json!({ "max_length": max }));
        }
        if let Some((pattern, regex)) = &node.pattern
            && !regex.is_match(text)
        {
            let msg = format!("String should match pattern '{pattern}'");
            self.error_ctx(
                "string_pattern_mismatch",
                msg,
                value,
                json!({ "pattern": pattern }),
            );
        }
        if node.format == Some(Format::Email)
            && let Err(reason) = check_email(text)
        {
            let msg = format!("value is not a valid email address: {reason}");
            self.error_ctx("value_error", msg, value, json!({ "reason": reason }));
        }
    }

    fn check_array(&mut self, node: &'s Node, value: &mut Value) {
        let Value::Array(items) = value else { return };
        let len = items.len();
        for (index, item) in items.iter_mut().enumerate() {
            let item_node = node.prefix_items.get(index).or(node.items.as_deref());
            if let Some(item_node) = item_node {
                self.loc.push(Step::Index(index));
                self.check(item_node, item);
                self.loc.pop();
            }
        }
        if let Some(min) = node.min_items
            && len < min
        {
            let msg = format!(
                "List should have at least {min} item{} after validation, not {len}",
                plural(min)
            );
            let ctx = json!({ "field_type": "List", "min_length": min, "actual_length": len });
            self.error_ctx("too_short", msg, value, ctx);
        } else if let Some(max) = node.max_items
            && len > max
        {
            let msg = format!(
                "List should have at most {max} item{} after validation, not {len}",
                plural(max)
            );
            let ctx = json!({ "field_type": "List", "max_length": max, "actual_length": len });
            self.error_ctx("too_long", msg, value, ctx);
        }
    }

    fn check_object(&mut self, node: &'s Node, value: &mut Value) {
        let Value::Object(fields) = value else { return };
        let top = self.loc.len() == 1;
        for property in &node.properties {
            let name = match self.alias {
                Some(alias) if top => Cow::Owned(alias(&property.name)),
                _ => Cow::Borrowed(property.name.as_str()),
            };
            self.loc.push(Step::Key(name));
            match fields.get_mut(&property.name) {
                Some(field) => self.check(&property.node, field),
                None if property.required => self.errors.push(ErrorItem::missing(self.loc_owned())),
                None => {}
            }
            self.loc.pop();
        }
        if let Some(additional) = &node.additional {
            for (key, field) in fields.iter_mut() {
                if node.properties.iter().any(|p| p.name == *key) {
                    continue;
                }
                self.loc.push(Step::Key(Cow::Owned(key.clone())));
                self.check(additional, field);
                self.loc.pop();
            }
        }
    }
}

/// The error for a value of the wrong JSON type.
fn type_error(types: u8) -> (&'static str, &'static str) {
    let expected = types & !ty::NULL;
    if expected & ty::OBJECT != 0 {
        let msg = "Input should be a valid dictionary or object to extract fields from";
        ("model_attributes_type", msg)
    } else if expected & ty::ARRAY != 0 {
        ("list_type", "Input should be a valid list")
    } else if expected & ty::STRING != 0 {
        ("string_type", "Input should be a valid string")
    } else if expected & ty::INTEGER != 0 {
        ("int_type", "Input should be a valid integer")
    } else if expected & ty::NUMBER != 0 {
        ("float_type", "Input should be a valid number")
    } else if expected & ty::BOOLEAN != 0 {
        ("bool_type", "Input should be a valid boolean")
    } else {
        ("none_required", "Input should be None")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `'a', 'b' or 'c'`, as pydantic lists enum members.
fn expected_list(values: &[Value]) -> String {
    let rendered: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        })
        .collect();
    match rendered.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// An integer written in decimal (`_` separators allowed, as pydantic does).
fn parse_int(text: &str) -> Option<i128> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    if trimmed.contains('_') {
        trimmed.replace('_', "").parse().ok()
    } else {
        trimmed.parse().ok()
    }
}

/// `n` as a JSON number: exact when it fits i64 or u64, else the nearest float (only an
/// unbounded integer type gets that far: a Rust integer's range is checked first).
fn int_value(n: i128) -> Value {
    if let Ok(small) = i64::try_from(n) {
        Value::Number(small.into())
    } else if let Ok(large) = u64::try_from(n) {
        Value::Number(large.into())
    } else {
        Number::from_f64(n as f64).map_or(Value::Null, Value::Number)
    }
}

fn parse_float(text: &str) -> Option<Value> {
    let f: f64 = text.trim().parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// The words pydantic accepts for a boolean, case-insensitively.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "1", "yes", "on", "t", "y"];
    const FALSE: [&str; 6] = ["false", "0", "no", "off", "f", "n"];
    let word = text.trim();
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

fn as_i128(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().map(|f| f as i128)),
        _ => None,
    }
}

fn compare_numbers(value: &Value, bound: &Value) -> std::cmp::Ordering {
    match (
        as_i128(value),
        as_i128(bound),
        value.as_f64(),
        bound.as_f64(),
    ) {
        (Some(a), Some(b), _, _)
            if value.as_f64().is_some_and(|f| f.fract() == 0.0)
                && bound.as_f64().is_some_and(|f| f.fract() == 0.0) =>
        {
            a.cmp(&b)
        }
        (_, _, Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
        _ => std::cmp::Ordering::Equal,
    }
}

/// A pragmatic email check (what `email_validator` rejects most often), with its reason.
fn check_email(text: &str) -> Result<(), &'static str> {
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("The email address is not valid. It must have exactly one @-sign.");
    };
    if local.is_empty() {
        return Err("There must be something before the @-sign.");
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The email address contains invalid characters.");
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err("The part after the @-sign is not valid. It should have a period.");
    }
    Ok(())
}
