//! Byte classes shared by the head parser and the chunked decoder's trailer section.
//!
//! One 256-entry table holds a bit per class, so every per-byte test is one load and one `and`;
//! there is no UTF-8 validation anywhere: field values may carry obs-text (0x80–0xFF), which
//! RFC 9110 §5.5 allows and which is handed to the caller as raw bytes.

/// `tchar` (RFC 9110 §5.6.2), the characters of methods, field names and transfer codings.
///
/// ```notrust
/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
/// ```
pub(crate) const TOKEN: u8 = 1 << 0;

/// Bytes allowed inside a field value (RFC 9110 §5.5): `field-vchar` plus the SP and HTAB that
/// may appear between them. CR, LF, NUL, the other CTLs and DEL are not in the class.
///
/// ```notrust
/// field-value = *field-content
/// field-vchar = VCHAR / obs-text        ; 0x21-0x7E / 0x80-0xFF
/// ```
pub(crate) const VALUE: u8 = 1 << 1;

/// Bytes of an origin-form path (RFC 9112 §3.2.1): every VCHAR except `?` (which starts the
/// query) and `#` (a fragment is never sent in a request-target).
///
/// RFC 3986 would also exclude `"<>\^`{|}`; real clients send them unencoded (raw JSON in a
/// query, `|` separators), nginx and httparse accept them, and they cannot influence framing,
/// so they are accepted. Non-ASCII bytes are not: clients percent-encode them.
pub(crate) const PATH: u8 = 1 << 2;

/// Bytes of a query: [`PATH`] plus `?`.
pub(crate) const QUERY: u8 = 1 << 3;

/// `reg-name` characters of a host (RFC 3986 §3.2.2), also covering IPv4 addresses:
///
/// ```notrust
/// reg-name   = *( unreserved / pct-encoded / sub-delims )
/// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
/// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
/// ```
///
/// `%` is not in the class: [`valid_host`] stops at it to check the two hex digits after it.
pub(crate) const REG_NAME: u8 = 1 << 4;

/// Characters inside an IP-literal's brackets (RFC 3986 §3.2.2): `IPv6address` and
/// `IPvFuture` draw from unreserved, sub-delims and `:`.
pub(crate) const IP_LITERAL: u8 = 1 << 5;

/// `DIGIT`, for ports.
pub(crate) const DIGIT: u8 = 1 << 6;

/// The class table: `CLASS[b]` has the bit of every class that contains `b`.
pub(crate) static CLASS: [u8; 256] = build_classes();

const fn build_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        let alnum = b.is_ascii_alphanumeric();
        let unreserved = alnum || matches!(b, b'-' | b'.' | b'_' | b'~');
        let sub_delim = matches!(
            b,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        if alnum
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
        {
            class |= TOKEN;
        }
        if b == b'\t' || (b >= 0x20 && b != 0x7f) {
            class |= VALUE;
        }
        if b > 0x20 && b < 0x7f && b != b'#' {
            class |= QUERY;
            if b != b'?' {
                class |= PATH;
            }
        }
        if unreserved || sub_delim {
            class |= REG_NAME;
        }
        if unreserved || sub_delim || b == b':' {
            class |= IP_LITERAL;
        }
        if b.is_ascii_digit() {
            class |= DIGIT;
        }
        table[i] = class;
        i += 1;
    }
    table
}

/// Whether `b` is in `class`.
#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// The index of the first byte at or after `from` that is not in `class`, or `buf.len()`.
///
/// Four bytes per bounds check: names and methods are short, so the loop overhead is most of
/// the cost.
#[inline(always)]
pub(crate) fn scan(buf: &[u8], from: usize, class: u8) -> usize {
    let mut i = from;
    while let Some(&[a, b, c, d]) = buf.get(i..i + 4) {
        if !is(a, class) {
            return i;
        }
        if !is(b, class) {
            return i + 1;
        }
        if !is(c, class) {
            return i + 2;
        }
        if !is(d, class) {
            return i + 3;
        }
        i += 4;
    }
    while let Some(&b) = buf.get(i) {
        if !is(b, class) {
            break;
        }
        i += 1;
    }
    i
}

/// The index of the first byte at or after `from` that is not in [`VALUE`], or `buf.len()`.
///
/// Values are the long fields of a head (`Accept`, `User-Agent`, cookies), so this works on
/// blocks. First sixteen bytes at a time with [`block_clean`], a fixed-size loop LLVM turns into
/// a handful of SSE2/NEON instructions, as long as no byte is suspect; then eight at a time
/// with [`value_suspects`] (SWAR), which also says where the first suspect is; the table judges
/// the suspect (HTAB and some obs-text are suspects but valid).
#[inline(always)]
pub(crate) fn scan_value(buf: &[u8], from: usize) -> usize {
    let mut i = from;
    loop {
        let rest = buf.get(i..).unwrap_or_default();
        let mut words = rest;
        while let Some((block, tail)) = words.split_first_chunk::<16>() {
            if !block_clean(block) {
                break;
            }
            words = tail;
        }
        while let Some((word, tail)) = words.split_first_chunk::<8>() {
            let suspects = value_suspects(word);
            if suspects != 0 {
                // Little-endian: the lowest set bit belongs to the first byte in memory.
                let at = rest.len() - words.len() + (suspects.trailing_zeros() / 8) as usize;
                words = rest.get(at..).unwrap_or_default();
                break;
            }
            words = tail;
        }
        i += rest.len() - words.len();
        // At a suspect, or within eight bytes of the end.
        match words.first() {
            Some(&b) if is(b, VALUE) => i += 1,
            _ => return i,
        }
    }
}

/// Whether all sixteen bytes are in [`VALUE`] and none is HTAB. Written as a branch-free fold
/// over a fixed-size array so that it vectorizes.
#[inline(always)]
fn block_clean(block: &[u8; 16]) -> bool {
    let mut bad = false;
    for &b in block {
        bad |= (b < 0x20) | (b == 0x7f);
    }
    !bad
}

/// The high bit of each byte of `word` whose low seven bits are below 0x20 or equal 0x7F.
///
/// With `y = w & 0x7f..7f` (no byte above 0x7F, so no carry crosses a byte in the sums), a
/// byte's high bit in `!(y + 0x60..60) | (y + 0x01..01)` is set iff its `y` byte is below 0x20
/// or is 0x7F. That flags every byte outside [`VALUE`] plus a few inside it (HTAB, 0x80–0x9F,
/// 0xFF); each flag is exact for its own byte, so the lowest flag is the first suspect.
#[inline(always)]
fn value_suspects(word: &[u8; 8]) -> u64 {
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    let y = u64::from_le_bytes(*word) & LOW7;
    (!y.wrapping_add(ONES * 0x60) | y.wrapping_add(ONES)) & HIGHS
}

/// Optional whitespace: `OWS = *( SP / HTAB )` (RFC 9110 §5.6.3).
#[inline(always)]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without leading and trailing OWS.
#[inline]
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// ASCII case-insensitive equality of any bytes against `lower`, a literal of lower-case
/// letters, digits and punctuation.
///
/// Compares whole words where the length allows, the last one overlapping the one before:
/// `lower` is a literal, so after inlining this is a few loads and compares. Only the letter
/// positions of `lower` get 0x20 OR-ed in (the mask is computed from the literal and folds to a
/// constant), so `-` matches only `-`: OR-ing every byte would let CR (0x0D) pass for `-`.
#[inline(always)]
pub(crate) fn eq_lower(bytes: &[u8], lower: &[u8]) -> bool {
    let n = lower.len();
    if bytes.len() != n {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            let l = word8(lower, i);
            if word8(bytes, i) | letters8(l) != l {
                return false;
            }
            i += 8;
        }
        let l = word8(lower, n - 8);
        word8(bytes, n - 8) | letters8(l) == l
    } else if n >= 4 {
        let (l0, l1) = (word4(lower, 0), word4(lower, n - 4));
        word4(bytes, 0) | letters4(l0) == l0 && word4(bytes, n - 4) | letters4(l1) == l1
    } else {
        bytes.iter().zip(lower).all(|(&a, &b)| {
            if b.is_ascii_lowercase() {
                a | 0x20 == b
            } else {
                a == b
            }
        })
    }
}

/// ASCII case-insensitive equality of two byte strings of any case, as
/// `<[u8]>::eq_ignore_ascii_case`, eight bytes at a time (the last word overlapping the one
/// before); what looking a header field up by a name given at run time costs.
#[inline]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if b.len() != n {
        return false;
    }
    if n < 4 {
        return a.eq_ignore_ascii_case(b);
    }
    if n < 8 {
        let lower4 = |bytes: &[u8], at| lower8(u64::from(word4(bytes, at)));
        return lower4(a, 0) == lower4(b, 0) && lower4(a, n - 4) == lower4(b, n - 4);
    }
    let mut i = 0;
    while i + 8 < n {
        if lower8(word8(a, i)) != lower8(word8(b, i)) {
            return false;
        }
        i += 8;
    }
    lower8(word8(a, n - 8)) == lower8(word8(b, n - 8))
}

/// `word` with each upper-case ASCII letter made lower-case (SWAR: each byte's high bit
/// computed on its low seven bits, so no carry crosses into the next byte).
#[inline(always)]
fn lower8(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = word & (0x7f * ONES);
    let at_least_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let past_z = low7 + (0x80 - u64::from(b'Z') - 1) * ONES;
    let upper = at_least_a & !past_z & !word & (0x80 * ONES);
    word | (upper >> 2)
}

/// 0x20 in each byte of `word` that is a lower-case ASCII letter.
#[inline(always)]
fn letters8(word: u64) -> u64 {
    let bytes = word.to_le_bytes();
    let mut mask = [0u8; 8];
    for (m, b) in mask.iter_mut().zip(bytes) {
        *m = if b.is_ascii_lowercase() { 0x20 } else { 0 };
    }
    u64::from_le_bytes(mask)
}

/// [`letters8`] for four bytes.
#[inline(always)]
fn letters4(word: u32) -> u32 {
    letters8(u64::from(word)) as u32
}

/// The eight bytes of `bytes` at `at` as a little-endian word (zero past the end).
#[inline(always)]
pub(crate) fn word8(bytes: &[u8], at: usize) -> u64 {
    let word = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>);
    u64::from_le_bytes(word.copied().unwrap_or_default())
}

/// The four bytes of `bytes` at `at` as a little-endian word (zero past the end).
#[inline(always)]
fn word4(bytes: &[u8], at: usize) -> u32 {
    let word = bytes.get(at..).and_then(<[u8]>::first_chunk::<4>);
    u32::from_le_bytes(word.copied().unwrap_or_default())
}

/// Whether `value` is a valid `Host` field value (RFC 9112 §3.2, RFC 3986 §3.2.2):
///
/// ```notrust
/// Host       = uri-host [ ":" port ]
/// uri-host   = IP-literal / IPv4address / reg-name
/// IP-literal = "[" ( IPv6address / IPvFuture ) "]"
/// port       = *DIGIT
/// ```
///
/// An empty value is valid (a client sends one when the target has no authority). The
/// contents of an IP-literal are checked for their character set, not parsed as an address.
#[inline(always)]
pub(crate) fn valid_host(value: &[u8]) -> bool {
    // The common shape, `reg-name [ ":" port ]` without percent-encoding, inline.
    let end = scan(value, 0, REG_NAME);
    match value.get(end) {
        None => true,
        Some(b':') => scan(value, end + 1, DIGIT) == value.len(),
        Some(_) => valid_host_slow(value),
    }
}

/// Where a `Host` value of the common shape, `reg-name [ ":" port ]` without percent-encoding,
/// ends if a CR follows it directly; `None` for any other shape (the caller then scans the value
/// generically and calls [`valid_host`]). Such a value is valid and has no trailing OWS.
#[inline(always)]
pub(crate) fn host_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut end = scan(buf, from, REG_NAME);
    if buf.get(end) == Some(&b':') {
        end = scan(buf, end + 1, DIGIT);
    }
    (buf.get(end) == Some(&b'\r')).then_some(end)
}

/// [`valid_host`] for IP-literals and percent-encoded names.
#[cold]
fn valid_host_slow(value: &[u8]) -> bool {
    let rest = if let Some(literal) = value.strip_prefix(b"[") {
        let Some(close) = literal.iter().position(|&b| b == b']') else {
            return false;
        };
        let inside = &literal[..close];
        if inside.is_empty() || !inside.iter().all(|&b| is(b, IP_LITERAL)) {
            return false;
        }
        &literal[close + 1..]
    } else {
        let mut i = 0;
        loop {
            i = scan(value, i, REG_NAME);
            // pct-encoded = "%" HEXDIG HEXDIG
            match value.get(i..i + 3) {
                Some(&[b'%', a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => i += 3,
                _ => break,
            }
        }
        &value[i..]
    };
    match rest.split_first() {
        None => true,
        Some((b':', port)) => port.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_ignore_case_agrees_with_std_on_every_byte_pair_and_length() {
        // Every byte against every byte at each position of words of every length class.
        for len in [1, 3, 4, 5, 7, 8, 9, 12, 16, 17] {
            for at in [0, len / 2, len - 1] {
                for x in 0..=255u8 {
                    for y in 0..=255u8 {
                        let (mut a, mut b) = (*b"Content-Type-Xyz!", *b"Content-Type-Xyz!");
                        a[at] = x;
                        b[at] = y;
                        let (a, b) = (&a[..len], &b[..len]);
                        assert_eq!(
                            eq_ignore_case(a, b),
                            a.eq_ignore_ascii_case(b),
                            "{a:?} {b:?}"
                        );
                    }
                }
            }
        }
        assert!(!eq_ignore_case(b"host", b"hosts"));
    }

    #[test]
    fn classes_match_their_abnf() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is(b, TOKEN), tchar, "TOKEN {b:#x}");
            let value = b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
            assert_eq!(is(b, VALUE), value, "VALUE {b:#x}");
            let vchar = (0x21..=0x7e).contains(&b);
            assert_eq!(is(b, QUERY), vchar && b != b'#', "QUERY {b:#x}");
            assert_eq!(is(b, PATH), vchar && b != b'#' && b != b'?', "PATH {b:#x}");
        }
    }

    #[test]
    fn scan_value_stops_at_every_invalid_byte_in_every_word_position() {
        let bad = (0u8..0x20).filter(|&b| b != b'\t').chain([0x7f]);
        for b in bad {
            for at in 0..24 {
                let mut value = vec![b'a'; 24];
                value[at] = b;
                assert_eq!(scan_value(&value, 0), at, "byte {b:#x} at {at}");
                assert_eq!(
                    scan_value(&value, at.min(3)),
                    at,
                    "byte {b:#x} at {at}, offset"
                );
            }
        }
        let clean: Vec<u8> = (0x20..=0xffu8)
            .filter(|&b| b != 0x7f)
            .chain([b'\t'])
            .collect();
        assert_eq!(scan_value(&clean, 0), clean.len());
    }

    #[test]
    fn eq_lower_ignores_ascii_case_of_letters_only() {
        assert!(eq_lower(b"Content-Length", b"content-length"));
        assert!(eq_lower(b"CONTENT-LENGTH", b"content-length"));
        assert!(!eq_lower(b"Content_Length", b"content-length"));
        assert!(!eq_lower(b"Host", b"hosts"));
        // OR-ing 0x20 into every byte would map CR onto `-` and 0x10/0x11 onto digits.
        assert!(!eq_lower(b"keep\ralive", b"keep-alive"));
        assert!(!eq_lower(b"\x11\x10\x10-continue", b"100-continue"));
        assert!(!eq_lower(b"Transfer-Encoding\r", b"transfer-encoding:"));
        assert!(eq_lower(b"100-CONTINUE", b"100-continue"));
        assert!(eq_lower(b"HoSt:", b"host:"));
        assert!(!eq_lower(b"ho", b"hi"));
        assert!(eq_lower(b"Hi", b"hi"));
    }

    #[test]
    fn host_values_follow_the_uri_host_grammar() {
        let valid: &[&[u8]] = &[
            b"",
            b"localhost",
            b"localhost:8080",
            b"localhost:",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:443",
            b"[v1.fe80::a+en1]",
            b"ex%41mple.com",
            b"a-b_c~d!$&'()*+,;=",
        ];
        for host in valid {
            assert!(valid_host(host), "{:?}", String::from_utf8_lossy(host));
        }
        let invalid: &[&[u8]] = &[
            b"user@host",
            b"host:80a",
            b"host:-1",
            b"host name",
            b"host/path",
            b"[::1",
            b"[]",
            b"[::1]x",
            b"ex%4",
            b"ex%zz",
            b"a:1:2",
            b"\xc3\xa9",
        ];
        for host in invalid {
            assert!(!valid_host(host), "{:?}", String::from_utf8_lossy(host));
        }
    }
}
