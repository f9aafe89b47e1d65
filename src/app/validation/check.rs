//! Checking (and leniently coercing) a JSON value against a compiled schema, reporting every
//! failure with pydantic v2's error types.

use std::borrow::Cow;

use serde_json::{Number, Value, json};

use super::error::{ErrorItem, LocPart};
use super::schema::{CompiledSchema, Format, Node, ty};
use super::text::{parse_bool, parse_float, parse_int};

/// Walks a value against a schema, coercing where pydantic v2's lax mode would (its conversion
/// table: `"42"` and `"1.0"` and `5.0` and `true` to an integer field, `"inf"` and `true` to a
/// float, `"yes"`, `1` and `0.0` to a boolean), and collects errors.
pub(crate) struct Checker<'s> {
    schema: &'s CompiledSchema,
    /// Where the checker is: borrowed names, materialised only for an error.
    pub loc: Vec<Step<'s>>,
    pub errors: Vec<ErrorItem>,
    /// How a top-level field is named in locations (headers: `user_agent` → `user-agent`).
    pub alias: Option<fn(&str) -> String>,
    /// Whether a missing field's input is the object that lacks it (pydantic's, for a JSON
    /// body) rather than `null` (FastAPI's, for query, path, header, cookie and form fields).
    pub missing_input_is_object: bool,
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
            missing_input_is_object: false,
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
        // A value coerced from a string (or a boolean) is reported as sent, as pydantic does:
        // `"99999999999999999999"`, not the number it became.
        let sent = (node.types != 0
            && node.types & ty::STRING == 0
            && matches!(value, Value::String(_) | Value::Bool(_)))
        .then(|| value.clone());
        if let Some(allowed) = &node.enum_values
            && !allowed.contains(value)
        {
            // pydantic reports any value outside an enum (null, a number for a string enum)
            // as `enum`, not as a type error; lax coercion still applies (`"1"` for 1).
            let mut coerced = value.clone();
            let mut quiet = Checker::new(self.schema, "");
            if node.types == 0
                || !quiet.coerce_type(node, &mut coerced)
                || !allowed.contains(&coerced)
            {
                let expected = expected_list(allowed);
                let msg = format!("Input should be {expected}");
                self.error_ctx("enum", msg, value, json!({ "expected": expected }));
                return;
            }
            *value = coerced;
        }
        if node.types != 0 && !self.coerce_type(node, value) {
            return;
        }
        match value {
            Value::Number(_) => {
                let value = &*value;
                self.check_number(node, value, sent.as_ref().unwrap_or(value));
            }
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
                missing_input_is_object: self.missing_input_is_object,
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
            return self.int_from_float(node, f, value);
        }
        if let Value::Bool(flag) = *value {
            // pydantic's lax mode: a boolean is 1 or 0 for an integer or a float.
            if types & ty::INTEGER != 0 {
                *value = json!(u8::from(flag));
                return true;
            }
            if types & ty::NUMBER != 0 {
                *value = json!(f64::from(u8::from(flag)));
                return true;
            }
        }
        if types & ty::BOOLEAN != 0
            && let Value::Number(number) = &*value
        {
            return self.bool_from_number(number.clone(), value);
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
                if let Some(f) = parse_float(text) {
                    if let Some(number) = Number::from_f64(f) {
                        *value = Value::Number(number);
                        return true;
                    }
                    // inf and nan are floats to pydantic; a JSON value cannot hold them, so
                    // they are checked against the bounds here and stay strings (refused
                    // later, when T is built, if no bound refuses them first).
                    let input = value.clone();
                    let before = self.errors.len();
                    self.check_bounds(node, |bound| f.partial_cmp(&bound.as_f64()?), &input);
                    return self.errors.len() == before;
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
        let (kind, msg) = if node.properties.is_empty() && node.additional.is_some() {
            ("dict_type", "Input should be a valid dictionary")
        } else {
            type_error(types)
        };
        self.error(kind, msg, value);
        false
    }

    /// A float for an integer field: exact integers within i64 are accepted (pydantic's
    /// `int_from_float` rule), larger ones are out of range.
    fn int_from_float(&mut self, node: &Node, f: f64, value: &mut Value) -> bool {
        if f.fract() != 0.0 {
            let msg = "Input should be a valid integer, got a number with a fractional part";
            self.error("int_from_float", msg, value);
            return false;
        }
        // 2^63: the floats from here on do not fit an i64.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if (-LIMIT..LIMIT).contains(&f) {
            *value = json!(f as i64);
            return true;
        }
        // serde_json reads an integer literal past u64 (or below i64) as a float: report it
        // against the integer type's range as pydantic reports the integer; a float that
        // is in the type's range but past i64 is pydantic's `int_parsing_size`.
        let before = self.errors.len();
        self.check_bounds(node, |bound| f.partial_cmp(&bound.as_f64()?), value);
        // `as` saturates: a float past i128 is past every Rust integer's range.
        if self.errors.len() != before || self.int_range_error(node, f as i128, value) {
            return false;
        }
        let msg = "Unable to parse input string as an integer, exceeded maximum size";
        self.error("int_parsing_size", msg, value);
        false
    }

    /// A number for a boolean field: 0 and 1 (also as 0.0 and 1.0) are booleans to pydantic.
    fn bool_from_number(&mut self, number: Number, value: &mut Value) -> bool {
        let f = number.as_f64().unwrap_or(f64::NAN);
        if f == 0.0 || f == 1.0 {
            *value = Value::Bool(f == 1.0);
            return true;
        }
        if f.fract() != 0.0 {
            self.error("bool_type", "Input should be a valid boolean", value);
        } else {
            let msg = "Input should be a valid boolean, unable to interpret input";
            self.error("bool_parsing", msg, value);
        }
        false
    }

    /// Checks a number against the node's bounds, reporting `input` (the value as sent).
    fn check_number(&mut self, node: &Node, value: &Value, input: &Value) {
        let before = self.errors.len();
        self.check_bounds(node, |bound| Some(compare_numbers(value, bound)), input);
        if self.errors.len() == before
            && let Some(n) = as_i128(value)
        {
            self.int_range_error(node, n, input);
        }
    }

    /// The first bound `compare` (the value's ordering against a bound; `None` for nan) finds
    /// broken, in pydantic's order: le, lt, ge, gt.
    fn check_bounds(
        &mut self,
        node: &Node,
        compare: impl Fn(&Value) -> Option<std::cmp::Ordering>,
        input: &Value,
    ) {
        use std::cmp::Ordering::{Equal, Greater, Less};
        // The bound, if the value's ordering against it is not one of `admitted`.
        fn broken<'b>(
            bound: &'b Option<Value>,
            admitted: &[std::cmp::Ordering],
            compare: &dyn Fn(&Value) -> Option<std::cmp::Ordering>,
        ) -> Option<&'b Value> {
            bound
                .as_ref()
                .filter(|bound| !compare(bound).is_some_and(|o| admitted.contains(&o)))
        }
        let broken = |bound, admitted: &[std::cmp::Ordering]| broken(bound, admitted, &compare);
        let (kind, words, key, bound) = if let Some(b) = broken(&node.maximum, &[Less, Equal]) {
            ("less_than_equal", "less than or equal to", "le", b)
        } else if let Some(b) = broken(&node.exclusive_maximum, &[Less]) {
            ("less_than", "less than", "lt", b)
        } else if let Some(b) = broken(&node.minimum, &[Greater, Equal]) {
            ("greater_than_equal", "greater than or equal to", "ge", b)
        } else if let Some(b) = broken(&node.exclusive_minimum, &[Greater]) {
            ("greater_than", "greater than", "gt", b)
        } else {
            return;
        };
        let msg = format!("Input should be {words} {}", bound_text(bound));
        self.error_ctx(kind, msg, input, json!({ key: bound }));
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

    /// A list, as pydantic checks one: too long is reported alone; otherwise the items'
    /// errors; then, if there were none, too short.
    fn check_array(&mut self, node: &'s Node, value: &mut Value) {
        let Value::Array(items) = value else { return };
        let len = items.len();
        if let Some(max) = node.max_items
            && len > max
        {
            let msg = format!(
                "List should have at most {max} item{} after validation, not {len}",
                plural(max)
            );
            let ctx = json!({ "field_type": "List", "max_length": max, "actual_length": len });
            self.error_ctx("too_long", msg, value, ctx);
            return;
        }
        let before = self.errors.len();
        for (index, item) in items.iter_mut().enumerate() {
            let item_node = node.prefix_items.get(index).or(node.items.as_deref());
            if let Some(item_node) = item_node {
                self.loc.push(Step::Index(index));
                self.check(item_node, item);
                self.loc.pop();
            }
        }
        if self.errors.len() != before {
            return;
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
        }
    }

    fn check_object(&mut self, node: &'s Node, value: &mut Value) {
        let missing_input = if self.missing_input_is_object
            && node
                .properties
                .iter()
                .any(|p| p.required && value.get(&p.name).is_none())
        {
            value.clone()
        } else {
            Value::Null
        };
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
                None if property.required => {
                    let mut missing = ErrorItem::missing(self.loc_owned());
                    missing.input = missing_input.clone();
                    self.errors.push(missing);
                }
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

/// A bound as pydantic prints it in a message: a float without a fraction prints as an
/// integer (`0`, not `0.0`); the `ctx` keeps the bound as declared.
fn bound_text(bound: &Value) -> String {
    match bound.as_f64() {
        Some(f) if bound.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{}", f as i64),
        _ => bound.to_string(),
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

/// The syntax checks of `email-validator` (what pydantic's `EmailStr` runs, without the DNS
/// checks), in its order and with its words, for addresses without quoting or display names:
/// the @-sign, the characters and periods on each side, a period and a letter-ending
/// top-level domain after the @-sign, and the special-use domains.
fn check_email(text: &str) -> Result<(), String> {
    let Some((local, domain)) = text.split_once('@') else {
        return Err("An email address must have an @-sign.".into());
    };
    if local.is_empty() {
        return Err("There must be something before the @-sign.".into());
    }
    // RFC 5322 atext, a period, and (RFC 6531) any non-ASCII character.
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    invalid_chars(local, |c| atext(c) || !c.is_ascii()).map_or(Ok(()), |bad| {
        Err(format!(
            "The email address contains invalid characters before the @-sign: {bad}."
        ))
    })?;
    check_dot_atom(
        local,
        "An email address cannot start with a period.",
        "An email address cannot have a period immediately before the @-sign.",
    )?;
    if domain.is_empty() {
        return Err("There must be something after the @-sign.".into());
    }
    let hostname = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii();
    invalid_chars(domain, hostname).map_or(Ok(()), |bad| {
        Err(format!(
            "The part after the @-sign contains invalid characters: {bad}."
        ))
    })?;
    check_dot_atom(
        domain,
        "An email address cannot have a period immediately after the @-sign.",
        "An email address cannot end with a period.",
    )?;
    if domain.ends_with('-') {
        return Err("An email address cannot end with a hyphen.".into());
    }
    if domain.starts_with('-') {
        return Err("An email address cannot have a hyphen immediately after the @-sign.".into());
    }
    if domain.contains(".-") || domain.contains("-.") {
        return Err(
            "An email address cannot have a period and a hyphen next to each other.".into(),
        );
    }
    if !domain.contains('.') {
        return Err("The part after the @-sign is not valid. It should have a period.".into());
    }
    if !domain.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
                .into(),
        );
    }
    const SPECIAL_USE: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];
    let lower = domain.to_ascii_lowercase();
    if SPECIAL_USE
        .iter()
        .any(|d| lower == *d || lower.ends_with(&format!(".{d}")))
    {
        return Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.".into());
    }
    Ok(())
}

/// email-validator's period rules for one side of the @-sign.
fn check_dot_atom(part: &str, at_start: &str, at_end: &str) -> Result<(), String> {
    if part.ends_with('.') {
        return Err(at_end.into());
    }
    if part.starts_with('.') {
        return Err(at_start.into());
    }
    if part.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    Ok(())
}

/// The characters of `part` that `allowed` refuses, as email-validator lists them: each once,
/// sorted, shown as Python's `repr` (`'@'`), or by name (`SPACE`), or as `U+0009`.
fn invalid_chars(part: &str, allowed: impl Fn(char) -> bool) -> Option<String> {
    let mut shown: Vec<String> = part
        .chars()
        .filter(|&c| !allowed(c))
        .map(|c| match c {
            ' ' => "SPACE".to_owned(),
            '\\' => "\"\\\"".to_owned(),
            '\'' => "\"'\"".to_owned(),
            c if c.is_control() => format!("U+{:04X}", u32::from(c)),
            c => format!("'{c}'"),
        })
        .collect();
    shown.sort();
    shown.dedup();
    (!shown.is_empty()).then(|| shown.join(", "))
}
