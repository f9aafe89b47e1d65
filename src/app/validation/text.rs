//! Values read from text as pydantic v2 reads them in lax mode (its conversion table): what
//! the checker and the fast path both apply to query, path, header, cookie and form values.

use crate::app::extract::text_pairs::trim;

/// An integer as pydantic reads one from a string: surrounding whitespace ignored, an optional
/// sign, decimal digits with single `_` between them, and an optional fraction of zeros
/// (`"1.0"`, `"5.00"`). One too large for an i128 saturates (it is out of every Rust range).
pub(crate) fn parse_int(text: &str) -> Option<i128> {
    // The common case first: plain digits that fit a u64 with room to spare.
    let bytes = text.as_bytes();
    if (1..=18).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
        let n = bytes
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        return Some(i128::from(n));
    }
    let trimmed = trim(text);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let digits = match digits.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => digits,
    };
    if !is_separated_digits(digits) {
        return None;
    }
    let magnitude = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .try_fold(0i128, |n, d| {
            n.checked_mul(10)?.checked_add(i128::from(d - b'0'))
        });
    Some(match (magnitude, negative) {
        (Some(n), true) => -n,
        (Some(n), false) => n,
        (None, true) => i128::MIN,
        (None, false) => i128::MAX,
    })
}

/// Digits with single underscores between them (`1_000`), as Python's `int()` takes them: one
/// pass, where an underscore must follow a digit and the last byte must be one.
fn is_separated_digits(digits: &str) -> bool {
    let mut after_digit = false;
    for &b in digits.as_bytes() {
        match b {
            b'0'..=b'9' => after_digit = true,
            b'_' if after_digit => after_digit = false,
            _ => return false,
        }
    }
    after_digit
}

/// A float as pydantic reads one from a string: surrounding whitespace ignored, `_` between
/// digits, and `inf`, `infinity` and `nan` in any case with an optional sign.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let trimmed = trim(text);
    if trimmed.contains('_') {
        let separated = trimmed
            .split(|c: char| !c.is_ascii_digit() && c != '_')
            .filter(|run| !run.is_empty())
            .all(is_separated_digits);
        return separated.then(|| trimmed.replace('_', "").parse().ok())?;
    }
    trimmed.parse().ok()
}

/// The words pydantic accepts for a boolean, case-insensitively (surrounding whitespace is
/// not trimmed: `" true"` is refused, as pydantic refuses it).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "1", "yes", "on", "t", "y"];
    const FALSE: [&str; 6] = ["false", "0", "no", "off", "f", "n"];
    let word = text;
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_pythons_int_with_pydantics_zero_fractions() {
        let cases: [(&str, Option<i128>); 18] = [
            ("42", Some(42)),
            ("999999999999999999", Some(999_999_999_999_999_999)),
            ("0000000000000000000042", Some(42)),
            (" -7 ", Some(-7)),
            ("+1_000", Some(1000)),
            ("5.00", Some(5)),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("", None),
            ("-", None),
            ("1.5", None),
            ("1.", None),
            ("\u{a0}3\u{2003}", Some(3)),
            ("0x10", None),
            ("1e3", None),
            ("99999999999999999999999999999999999999999", Some(i128::MAX)),
            (
                "-99999999999999999999999999999999999999999",
                Some(i128::MIN),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_int(text), expected, "{text:?}");
        }
    }
}
