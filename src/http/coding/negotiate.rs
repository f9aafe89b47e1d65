//! `Accept-Encoding` (RFC 9110 §12.5.3): which coding, if any, a response may use.

use super::Coding;

/// A weight in thousandths (`q=0.5` is 500); a coding the request does not name has none.
type Weight = u16;

/// The coding to answer with, given the request's `Accept-Encoding` field values (all of its
/// lines) and the codings the server offers in its order of preference; `None` means the
/// identity (no coding).
///
/// Each offered coding gets the weight the request gives it, or else the weight of `*`, or
/// else 0 (not acceptable). The heaviest acceptable coding wins, ties going to the server's
/// preference; the identity wins instead when the request weighs it more, by naming it (or
/// `*`) with a heavier weight. A request without the field,
/// or with an empty one, gets the identity, as servers answer in practice (RFC 9110 allows any
/// coding then). Elements that do not parse (a weight such as `q=2` or `q=0.0001`) are skipped.
/// When the request refuses the identity and every offered coding, the identity is still the
/// answer: a representation the client may not decode beats a 406.
///
/// ```
/// use nanoapi::http::coding::{Coding, negotiate};
///
/// let offered = [Coding::Zstd, Coding::Brotli, Coding::Gzip];
/// let choose = |field: &str| negotiate([field.as_bytes()], &offered);
/// assert_eq!(choose("gzip, deflate, br"), Some(Coding::Brotli));
/// assert_eq!(choose("gzip;q=1.0, br;q=0.8"), Some(Coding::Gzip));
/// assert_eq!(choose("*;q=0.5, zstd;q=0"), Some(Coding::Brotli));
/// assert_eq!(choose("gzip;q=0.5, identity"), None);
/// assert_eq!(choose("gzip;q=0.5"), Some(Coding::Gzip));
/// assert_eq!(choose(""), None);
/// ```
pub fn negotiate<'a>(
    accept_encoding: impl IntoIterator<Item = &'a [u8]>,
    offered: &[Coding],
) -> Option<Coding> {
    let mut named: [Option<Weight>; 3] = [None; 3];
    let mut star = None;
    let mut identity = None;
    for value in accept_encoding {
        for element in value.split(|&b| b == b',') {
            let Some((token, weight)) = parse_element(element) else {
                continue;
            };
            let slot = if token == b"*" {
                &mut star
            } else if token.eq_ignore_ascii_case(b"identity") {
                &mut identity
            } else if let Some(coding) = Coding::from_token(token) {
                &mut named[index(coding)]
            } else {
                continue;
            };
            // Named twice: the heavier weight counts.
            *slot = Some(slot.map_or(weight, |earlier: Weight| earlier.max(weight)));
        }
    }
    let identity = identity.or(star).unwrap_or(0);
    let mut best: Option<(Weight, Coding)> = None;
    for &coding in offered {
        let weight = named[index(coding)].or(star).unwrap_or(0);
        if weight > 0 && best.is_none_or(|(heaviest, _)| weight > heaviest) {
            best = Some((weight, coding));
        }
    }
    best.filter(|&(weight, _)| weight >= identity)
        .map(|(_, coding)| coding)
}

fn index(coding: Coding) -> usize {
    match coding {
        Coding::Gzip => 0,
        Coding::Brotli => 1,
        Coding::Zstd => 2,
    }
}

/// `token [ OWS ";" OWS "q=" qvalue ]`, trimmed; `None` when empty or malformed.
fn parse_element(element: &[u8]) -> Option<(&[u8], Weight)> {
    let mut parts = element.split(|&b| b == b';');
    let token = trim(parts.next()?);
    if token.is_empty() || !token.iter().all(|&b| crate::http::is_token_byte(b)) {
        return None;
    }
    let mut weight = 1000;
    for parameter in parts {
        let parameter = trim(parameter);
        let (name, value) = parameter.split_at(parameter.iter().position(|&b| b == b'=')?);
        if !trim(name).eq_ignore_ascii_case(b"q") {
            // Accept-Encoding defines no other parameter: ignore one rather than the coding.
            continue;
        }
        weight = parse_qvalue(trim(&value[1..]))?;
    }
    Some((token, weight))
}

/// `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(value: &[u8]) -> Option<Weight> {
    let (whole, fraction) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for position in 0..3 {
        let digit = fraction.get(position).map_or(0, |d| Weight::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Without leading and trailing spaces and tabs (OWS).
fn trim(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}
