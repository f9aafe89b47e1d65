//! A request nanoapi accepts must be understood the same way by a second, independent reading,
//! or nanoapi must reject it (it is stricter, never looser):
//!
//! - the head, by httparse: same length, method, target, version and fields;
//! - its meaning, by the RFC 9112 rules written out again below from httparse's fields: body
//!   framing (§6.3), keep-alive (§9.3), `Host` (RFC 9110 §7.2), `Expect: 100-continue`;
//! - where the body ends (so where the next request starts: request smuggling lives in a
//!   disagreement here), by a lenient chunked decoder of its own for a chunked body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanoapi::http::chunked::{Chunk, ChunkedDecoder, ChunkedLimits};
use nanoapi::http::parse::{BodyFraming, Limits, Status, Version, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let Ok(Status::Complete(head)) = parse_request_head(data, &Limits::default()) else {
        return;
    };
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut theirs = httparse::Request::new(&mut fields);
    match theirs.parse(data) {
        Ok(httparse::Status::Complete(len)) => {
            assert_eq!(len, head.len());
            assert_eq!(
                theirs.method.map(str::as_bytes),
                Some(head.method_bytes(data))
            );
            assert_eq!(theirs.path.map(str::as_bytes), Some(head.target(data)));
            let version = match head.version() {
                Version::Http10 => 0,
                Version::Http11 => 1,
            };
            assert_eq!(theirs.version, Some(version));
            let ours: Vec<(&[u8], &[u8])> = head.headers(data).collect();
            let fields: Vec<(&[u8], &[u8])> = theirs
                .headers
                .iter()
                .map(|h| (h.name.as_bytes(), h.value))
                .collect();
            assert_eq!(ours, fields);
            let meaning = Meaning::of(version, &fields)
                .unwrap_or_else(|why| panic!("nanoapi accepted a head that is {why}"));
            assert_eq!(head.framing(), meaning.framing, "framing");
            assert_eq!(head.keep_alive(), meaning.keep_alive, "keep-alive");
            assert_eq!(head.expect_continue(), meaning.expect_continue, "expect");
            if head.framing() == BodyFraming::Chunked {
                compare_chunked(&data[head.len()..]);
            }
        }
        // httparse reads only HTTP/1.0 and 1.1; nanoapi reads 1.2-1.9 as 1.1 (RFC 9110 §2.5).
        Err(httparse::Error::Version) => assert!(matches!(minor_version(data), b'2'..=b'9')),
        other => panic!("nanoapi accepted a head httparse rejects: {other:?}"),
    }
});

/// What a head means for the connection, read again from the fields by RFC 9112.
struct Meaning {
    framing: BodyFraming,
    keep_alive: bool,
    expect_continue: bool,
}

impl Meaning {
    /// The meaning of a head with `fields` on HTTP/1.`minor`, or why it must be rejected.
    fn of(minor: u8, fields: &[(&[u8], &[u8])]) -> Result<Meaning, &'static str> {
        let values = |name: &'static str| {
            fields
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| *v)
        };
        let list = |name: &'static str| -> Vec<Vec<u8>> {
            values(name)
                .flat_map(|v| v.split(|&b| b == b','))
                .map(|item| item.trim_ascii().to_ascii_lowercase())
                .collect()
        };
        let hosts = values("host").count();
        if hosts > 1 || (minor == 1 && hosts == 0) {
            return Err("without exactly one Host on HTTP/1.1, or with two");
        }
        let codings = list("transfer-encoding");
        // RFC 9110 §8.6: a list of one value repeated, or identical lines, may be accepted.
        let lengths = list("content-length");
        let framing = if !codings.is_empty() {
            if minor == 0 {
                return Err("Transfer-Encoding on HTTP/1.0");
            }
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a server ought to
            // reject both (rule 3); chunked must be last and only once (rule 4).
            if !lengths.is_empty() {
                return Err("Transfer-Encoding with Content-Length");
            }
            let chunked = codings
                .iter()
                .filter(|c| c.as_slice() == b"chunked")
                .count();
            if codings.last().map(Vec::as_slice) != Some(b"chunked") || chunked != 1 {
                return Err("a Transfer-Encoding not ending in one chunked");
            }
            BodyFraming::Chunked
        } else if !lengths.is_empty() {
            let mut values = lengths.iter().map(|v| {
                let digits = !v.is_empty() && v.iter().all(u8::is_ascii_digit);
                std::str::from_utf8(v)
                    .ok()
                    .filter(|_| digits)
                    .and_then(|n| n.parse::<u64>().ok())
            });
            let first = values.next().flatten().ok_or("with a bad Content-Length")?;
            if !values.all(|v| v == Some(first)) {
                return Err("with a bad or differing Content-Length");
            }
            BodyFraming::Length(first)
        } else {
            BodyFraming::None
        };
        let connection = list("connection");
        let has = |token: &[u8]| connection.iter().any(|t| t.as_slice() == token);
        let keep_alive = match minor {
            0 => has(b"keep-alive") && !has(b"close"),
            _ => !has(b"close"),
        };
        // Expect is a list (RFC 9110 §10.1.1); nanoapi refuses any other expectation (417).
        let expect_continue = minor == 1
            && list("expect")
                .iter()
                .any(|e| e.as_slice() == b"100-continue");
        Ok(Meaning {
            framing,
            keep_alive,
            expect_continue,
        })
    }
}

/// If nanoapi's decoder reads a whole chunked body from `body`, the lenient decoder below
/// must end it at the same byte with the same data.
fn compare_chunked(body: &[u8]) {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    let mut ours = Vec::new();
    let mut at = 0;
    let end = loop {
        match decoder.decode(&body[at..]) {
            Err(_) => return,
            Ok((consumed, chunk)) => {
                at += consumed;
                match chunk {
                    Chunk::Data(data) => ours.extend_from_slice(data),
                    Chunk::NeedMore => return,
                    Chunk::Done => break at,
                }
            }
        }
    };
    let (their_end, theirs) = lenient_chunked(body).unwrap_or_else(|| {
        panic!("nanoapi read a chunked body of {end} bytes the lenient decoder does not")
    });
    assert_eq!(end, their_end, "where the chunked body ends");
    assert_eq!(ours, theirs, "the chunked body's data");
}

/// RFC 9112 §7.1 read leniently: a hex size, anything up to CRLF (extensions), the data, CRLF;
/// after the last chunk, any lines up to an empty one (trailers). Returns where the body ends
/// and its data; `None` if incomplete or impossible.
fn lenient_chunked(mut rest: &[u8]) -> Option<(usize, Vec<u8>)> {
    let total = rest.len();
    let mut data = Vec::new();
    let line = |rest: &[u8]| rest.windows(2).position(|w| w == b"\r\n");
    loop {
        let end = line(rest)?;
        let digits = rest[..end]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..digits]).ok()?, 16).ok()?;
        rest = &rest[end + 2..];
        if size == 0 {
            loop {
                let end = line(rest)?;
                rest = &rest[end + 2..];
                if end == 0 {
                    return Some((total - rest.len(), data));
                }
            }
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return None;
        }
        data.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// The minor version digit of the request line: its last byte, after any leading CRLFs.
fn minor_version(data: &[u8]) -> u8 {
    let mut rest = data;
    while let Some(after) = rest.strip_prefix(b"\r\n") {
        rest = after;
    }
    let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    line_end.checked_sub(1).map_or(0, |last| rest[last])
}
