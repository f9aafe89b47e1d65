//! Owned name/value text pairs that cost one allocation: spans into the request's head (shared,
//! not copied) when the pairs are in it as sent, else into one buffer of their own. What
//! [`HeaderMap`](super::HeaderMap) and [`Cookies`](super::Cookies) hold.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use crate::http::chars::eq_ignore_case;

/// The pairs: `text` and, for each pair, the byte ranges of its name and value in it.
#[derive(Clone, Default)]
pub(crate) struct TextPairs {
    /// Every range in `spans` lies in it on `char` boundaries of valid UTF-8 (see
    /// [`TextPairsBuilder`], the only writer).
    text: Bytes,
    /// For each pair, the ranges of its name and value.
    spans: Vec<[u32; 4]>,
}

impl TextPairs {
    /// The pairs, in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + Clone + '_ {
        self.spans
            .iter()
            .map(|&[n0, n1, v0, v1]| (self.str(n0..n1), self.str(v0..v1)))
    }

    /// The values of the pairs named `name` (ASCII case-insensitive when `ignore_case`), in
    /// order. Names of another length are passed over without reading their text.
    pub(crate) fn values<'a>(
        &'a self,
        name: &str,
        ignore_case: bool,
    ) -> impl DoubleEndedIterator<Item = &'a str> {
        self.spans
            .iter()
            .filter(move |&&span| self.named(span, name, ignore_case))
            .map(|&[_, _, v0, v1]| self.str(v0..v1))
    }

    /// The first value of `name`: [`values`](Self::values)`.next()` as a plain loop, which
    /// keeps the comparison inlined (the filter's closure was seen called per pair).
    pub(crate) fn first(&self, name: &str, ignore_case: bool) -> Option<&str> {
        for &span in &self.spans {
            if self.named(span, name, ignore_case) {
                return Some(self.str(span[2]..span[3]));
            }
        }
        None
    }

    /// The last value of `name`, as [`first`](Self::first) from the end.
    pub(crate) fn last(&self, name: &str, ignore_case: bool) -> Option<&str> {
        for &span in self.spans.iter().rev() {
            if self.named(span, name, ignore_case) {
                return Some(self.str(span[2]..span[3]));
            }
        }
        None
    }

    /// Whether the pair of `span` is named `name`.
    #[inline]
    fn named(&self, [n0, n1, _, _]: [u32; 4], name: &str, ignore_case: bool) -> bool {
        (n1 - n0) as usize == name.len() && {
            let n = self.str(n0..n1);
            if ignore_case {
                eq_ignore_case(n.as_bytes(), name.as_bytes())
            } else {
                n == name
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    fn str(&self, range: Range<u32>) -> &str {
        let bytes = &self.text[range.start as usize..range.end as usize];
        // SAFETY: `TextPairsBuilder` records only ranges of `&str`s that are `text`'s own bytes
        // (a `Bytes` never changes) or that it copied whole into the buffer that became `text`,
        // so each range is valid UTF-8 on its own.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl PartialEq for TextPairs {
    fn eq(&self, other: &TextPairs) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for TextPairs {}

impl std::fmt::Debug for TextPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Collects pairs, sharing `base` for every string that lies in it; the first one that does
/// not (decoded, lower-cased, or from elsewhere) moves every pair into an owned buffer.
pub(crate) struct TextPairsBuilder {
    base: Bytes,
    owned: Option<String>,
    spans: Vec<[u32; 4]>,
}

impl TextPairsBuilder {
    /// A builder whose strings may lie in `base` (the request's head bytes; `Bytes::new()`
    /// when they never do), with room for `capacity` pairs.
    pub(crate) fn new(base: Bytes, capacity: usize) -> TextPairsBuilder {
        TextPairsBuilder {
            base,
            owned: None,
            spans: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) {
        if self.owned.is_none() {
            if let (Some(n), Some(v)) = (self.in_base(name), self.in_base(value)) {
                self.spans.push([n.start, n.end, v.start, v.end]);
                return;
            }
            self.own();
        }
        let buf = self.owned.get_or_insert_with(String::new);
        let n = append(buf, name);
        let v = append(buf, value);
        self.spans.push([n.start, n.end, v.start, v.end]);
    }

    pub(crate) fn finish(self) -> TextPairs {
        TextPairs {
            text: match self.owned {
                Some(buf) => Bytes::from(buf.into_bytes()),
                None => self.base,
            },
            spans: self.spans,
        }
    }

    /// Where `s` lies in `base`, if it does.
    fn in_base(&self, s: &str) -> Option<Range<u32>> {
        let start = (s.as_ptr() as usize).checked_sub(self.base.as_ptr() as usize)?;
        let end = start + s.len();
        (end <= self.base.len()).then_some(u32::try_from(start).ok()?..u32::try_from(end).ok()?)
    }

    /// Copies the pairs recorded so far out of `base` into a buffer of their own.
    fn own(&mut self) {
        let mut buf = String::new();
        for span in &mut self.spans {
            for range in [0, 2] {
                let bytes = &self.base[span[range] as usize..span[range + 1] as usize];
                let new = append(&mut buf, &String::from_utf8_lossy(bytes));
                (span[range], span[range + 1]) = (new.start, new.end);
            }
        }
        self.owned = Some(buf);
    }
}

/// `bytes` as text, borrowed when valid UTF-8 (as header fields nearly always are), invalid
/// sequences replaced otherwise. ASCII, the common case by far, is told by a word-at-a-time
/// check, which for the short strings of a head costs a fraction of a full UTF-8 validation.
pub(crate) fn text(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    String::from_utf8_lossy(bytes)
}

/// `s` without leading and trailing white space, as `str::trim` (Unicode `White_Space`), with
/// ASCII trimmed first in one cheap pass: only an end left on a non-ASCII byte or a vertical
/// tab (white space to Unicode, not to `u8::is_ascii_whitespace`) needs the full rule.
pub(crate) fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    let needs_unicode = |b: Option<&u8>| b.is_some_and(|&b| b >= 0x80 || b == 0x0b);
    if needs_unicode(t.as_bytes().first()) || needs_unicode(t.as_bytes().last()) {
        t.trim()
    } else {
        t
    }
}

/// Appends `s` to `buf`; its range there.
fn append(buf: &mut String, s: &str) -> Range<u32> {
    let start = buf.len();
    buf.push_str(s);
    // A request head is far below 4 GiB; pairs built from other sources are small too.
    start as u32..buf.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_the_unicode_rule() {
        for s in [
            "",
            " ",
            " a ",
            "\ta b\t",
            "\u{b}x\u{b}",
            "\u{a0}x\u{85}",
            " \u{2003}é ",
            "é",
            "a\u{a0}b",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn text_borrows_ascii_and_utf8_and_replaces_the_rest() {
        assert!(matches!(text(b"abc"), Cow::Borrowed("abc")));
        assert!(matches!(
            text("d\u{e9}j\u{e0}".as_bytes()),
            Cow::Borrowed("d\u{e9}j\u{e0}")
        ));
        assert_eq!(text(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn strings_in_the_base_are_shared_and_others_move_everything_to_a_buffer() {
        let base = Bytes::from_static(b"Host: a\r\nX-Tag: b\r\n");
        let text = std::str::from_utf8(&base).unwrap();
        let mut shared = TextPairsBuilder::new(base.clone(), 2);
        shared.push(&text[0..4], &text[6..7]);
        shared.push(&text[9..14], &text[16..17]);
        let shared = shared.finish();
        assert_eq!(shared.text.as_ptr(), base.as_ptr());
        assert_eq!(
            shared.iter().collect::<Vec<_>>(),
            [("Host", "a"), ("X-Tag", "b")]
        );

        let mut mixed = TextPairsBuilder::new(base.clone(), 2);
        mixed.push(&text[0..4], &text[6..7]);
        mixed.push("x-tag", "décodé");
        let mixed = mixed.finish();
        assert_ne!(mixed.text.as_ptr(), base.as_ptr());
        assert_eq!(
            mixed.iter().collect::<Vec<_>>(),
            [("Host", "a"), ("x-tag", "décodé")]
        );
        assert_eq!(mixed.len(), 2);
    }
}
