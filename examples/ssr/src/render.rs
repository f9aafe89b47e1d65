//! Filling a page body: parameters are percent-decoded, then HTML-escaped.

use crate::routes::Part;

/// The body with its holes filled from `params`.
pub(crate) fn render_body(parts: &[Part], params: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        match *part {
            Part::Text(text) => out.extend_from_slice(text.as_bytes()),
            Part::Param(index) => {
                let raw = params.get(index).copied().unwrap_or_default();
                escape_into(&percent_decode(raw), &mut out);
            }
        }
    }
    out
}

/// `%XX` decoded; a malformed escape is kept as it is.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            raw[i],
            raw.get(i + 1).and_then(|&b| hex(b)),
            raw.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Escapes the five HTML-significant characters.
fn escape_into(text: &[u8], out: &mut Vec<u8>) {
    for &b in text {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_then_escaped() {
        let parts = [Part::Text("<p>"), Part::Param(0), Part::Text("</p>")];
        let out = render_body(&parts, &[b"%3Cb%3E%20%26%27x%zz"]);
        assert_eq!(out, b"<p>&lt;b&gt; &amp;&#39;x%zz</p>");
    }
}
