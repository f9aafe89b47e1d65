//! Values read from text as pydantic v2 reads them in lax mode (its conversion table): what
//! the checker and the fast path both apply to query, path, header, cookie and form values.

/// An integer as pydantic reads one from a string: surrounding whitespace ignored, an optional
/// sign, decimal digits with single `_` between them, and an optional fraction of zeros
/// (`"1.0"`, `"5.00"`). One too large for an i128 saturates (it is out of every Rust range).
pub(crate) fn parse_int(text: &str) -> Option<i128> {
    let trimmed = text.trim();
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

/// Digits with single underscores between them (`1_000`), as Python's `int()` takes them.
fn is_separated_digits(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_digit()
        && bytes[bytes.len() - 1].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__")
}

/// A float as pydantic reads one from a string: surrounding whitespace ignored, `_` between
/// digits, and `inf`, `infinity` and `nan` in any case with an optional sign.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let trimmed = text.trim();
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
