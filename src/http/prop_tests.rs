//! Property tests for the head parser and the chunked decoder.
//!
//! - Arbitrary bytes, and valid requests with random mutations, never panic, and the parser
//!   settles: as a buffer grows byte by byte the result is `Partial` until it becomes an error
//!   or a head, and then stays that same error or head.
//! - A generated valid request parses to what was generated, whole or from any prefix.
//! - A head the parser accepts is read the same way by httparse (differential; the fuzz target
//!   `differential_httparse` does the same on fuzzer input).
//! - A generated chunked body decodes to the same bytes however its input is split, and any
//!   input, valid or not, gets the same outcome split or whole.
//!
//! Case counts are bounded so that the module runs in about a second in a debug build.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

use super::chunked::{Chunk, ChunkedDecoder, ChunkedError, ChunkedLimits};
use super::parse::{
    BodyFraming, Limits, ParseError, RequestHead, Status, Version, parse_request_head,
};

const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Bytes that make or break HTTP syntax, for mutations and for the chunked alphabet.
const SHARP: &[u8] = b"\r\n \t:;,=\"\\\x00\x01\x7f\x80\xff0123456789abcdefABCDEF-/?#*Hh";

const OWS: &[&[u8]] = &[b"", b" ", b"  ", b"\t", b" \t "];
const COMMON_NAMES: &[&[u8]] = &[
    b"Accept",
    b"accept",
    b"User-Agent",
    b"Content-Type",
    b"Cookie",
    b"X-A",
];
const METHODS: &[&[u8]] = &[
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH",
];
const HOSTS: &[&[u8]] = &[
    b"localhost:8080",
    b"example.com",
    b"127.0.0.1",
    b"[::1]:443",
    b"",
    b"ex%41mple",
];
const CONNECTIONS: &[&[u8]] = &[
    b"",
    b"keep-alive",
    b"close",
    b"Keep-Alive",
    b"foo, close",
    b"upgrade",
];
const EXTENSIONS: &[&[u8]] = &[b"", b";a", b";a=b", b" ; a = \"q\\\"\" ;c", b";x=\"\x80\""];
const TRAILERS: &[&[u8]] = &[b"", b"A: 1\r\n", b"Expires: never\r\nX:\r\n"];
const NEXT: &[&[u8]] = &[b"", b"GET / HTTP/1.1\r\n"];

fn token(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(select(TCHARS), 1..=max)
}

/// A field value as the parser returns it: no leading or trailing whitespace.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let vchar = prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff];
    let inner = prop_oneof![4 => vchar.clone(), 1 => Just(b' '), 1 => Just(b'\t')];
    prop_oneof![
        1 => Just(Vec::new()),
        6 => (vchar.clone(), vec(inner, 0..40), vchar).prop_map(|(first, mut middle, last)| {
            middle.insert(0, first);
            middle.push(last);
            middle
        }),
    ]
}

fn ows() -> impl Strategy<Value = &'static [u8]> {
    select(OWS)
}

/// A header that does not bear on framing, with its name's case preserved.
fn plain_header() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let name = prop_oneof![token(16), select(COMMON_NAMES).prop_map(<[u8]>::to_vec),].prop_filter(
        "framing fields are generated separately",
        |name| {
            let special: &[&[u8]] = &[
                b"host",
                b"content-length",
                b"transfer-encoding",
                b"connection",
                b"expect",
                b"upgrade",
            ];
            !special.iter().any(|s| name.eq_ignore_ascii_case(s))
        },
    );
    (name, field_value())
}

fn random_case(word: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.iter()
            .zip(upper)
            .map(|(&b, up)| if up { b.to_ascii_uppercase() } else { b })
            .collect()
    })
}

/// A generated request and what parsing it must yield.
#[derive(Debug, Clone)]
struct Request {
    wire: Vec<u8>,
    head_len: usize,
    method: Vec<u8>,
    path: Vec<u8>,
    query: Option<Vec<u8>>,
    version: Version,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    framing: BodyFraming,
    keep_alive: bool,
    body: Vec<u8>,
}

prop_compose! {
    fn request()(
        method in prop_oneof![
            select(METHODS)
                .prop_map(<[u8]>::to_vec),
            token(10).prop_filter("CONNECT is refused", |m| m != b"CONNECT"),
        ],
        segments in vec(vec(select(b"abcXYZ019-._~%!$&'()*+,;=:@"), 0..12), 1..5),
        query in proptest::option::of(vec(select(b"abc=&?/%20+XYZ019{}|\"<>"), 0..24)),
        http10 in any::<bool>(),
        empty_lines in 0usize..3,
        mut headers in vec(plain_header(), 0..8),
        host in select(HOSTS),
        host_name in random_case(b"host"),
        host_at in any::<Index>(),
        framing in 0u8..3,
        length_name in random_case(b"content-length"),
        te_name in random_case(b"transfer-encoding"),
        framing_at in any::<Index>(),
        chunks in vec(vec(any::<u8>(), 1..20), 0..4),
        connection in select(CONNECTIONS),
        spacing in vec(ows(), 24),
    ) -> Request {
        let version = if http10 { Version::Http10 } else { Version::Http11 };
        let mut path = Vec::new();
        for segment in &segments {
            path.push(b'/');
            path.extend_from_slice(segment);
        }
        // Framing: none, Content-Length or (HTTP/1.1 only) chunked.
        let (framing, body_wire, body) = match framing {
            1 => {
                let body: Vec<u8> = chunks.concat();
                (BodyFraming::Length(body.len() as u64), body.clone(), body)
            }
            2 if !http10 => (BodyFraming::Chunked, encode_chunked(&chunks, b"", b""), chunks.concat()),
            _ => (BodyFraming::None, Vec::new(), Vec::new()),
        };
        match framing {
            BodyFraming::Length(n) => {
                let at = framing_at.index(headers.len() + 1);
                headers.insert(at, (length_name, n.to_string().into_bytes()));
            }
            BodyFraming::Chunked => {
                let at = framing_at.index(headers.len() + 1);
                headers.insert(at, (te_name, b"chunked".to_vec()));
            }
            BodyFraming::None => {}
        }
        if !http10 || host_at.index(2) == 0 {
            let at = host_at.index(headers.len() + 1);
            headers.insert(at, (host_name, host.to_vec()));
        }
        if !connection.is_empty() {
            headers.push((b"Connection".to_vec(), connection.to_vec()));
        }
        let close = connection.ends_with(b"close");
        let keep_alive = !close && (!http10 || connection.eq_ignore_ascii_case(b"keep-alive"));

        let mut wire = b"\r\n".repeat(empty_lines);
        wire.extend_from_slice(&method);
        wire.push(b' ');
        wire.extend_from_slice(&path);
        if let Some(query) = &query {
            wire.push(b'?');
            wire.extend_from_slice(query);
        }
        wire.extend_from_slice(if http10 { b" HTTP/1.0\r\n" } else { b" HTTP/1.1\r\n" });
        for (i, (name, value)) in headers.iter().enumerate() {
            wire.extend_from_slice(name);
            wire.push(b':');
            wire.extend_from_slice(spacing[(2 * i) % spacing.len()]);
            wire.extend_from_slice(value);
            if !value.is_empty() {
                wire.extend_from_slice(spacing[(2 * i + 1) % spacing.len()]);
            }
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        let head_len = wire.len();
        wire.extend_from_slice(&body_wire);
        Request { wire, head_len, method, path, query, version, headers, framing, keep_alive, body }
    }
}

/// Encodes `chunks` with the chunked coding, `ext` after every size and `trailers` at the end.
fn encode_chunked(chunks: &[Vec<u8>], ext: &[u8], trailers: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    for chunk in chunks {
        wire.extend_from_slice(format!("{:x}", chunk.len()).as_bytes());
        wire.extend_from_slice(ext);
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0");
    wire.extend_from_slice(ext);
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(trailers);
    wire.extend_from_slice(b"\r\n");
    wire
}

/// Parses every prefix of `buf` and checks that the results settle: `Partial` until the first
/// error or head, then that same error or head for every longer prefix. Returns the final
/// result.
fn settles(buf: &[u8], limits: &Limits) -> Result<Status<RequestHead>, ParseError> {
    let mut head = RequestHead::new();
    let mut settled: Option<Result<(usize, RequestHead), ParseError>> = None;
    for end in 0..=buf.len() {
        let result = head
            .parse_into(&buf[..end], limits)
            .map(|status| match status {
                Status::Partial => None,
                Status::Complete(len) => Some((len, head.clone())),
            });
        match (&settled, result) {
            (None, Ok(None)) => {}
            (None, Ok(Some(done))) => settled = Some(Ok(done)),
            (None, Err(err)) => settled = Some(Err(err)),
            (Some(before), now) => {
                let now = now.map(|done| done.expect("a complete head became partial"));
                assert_eq!(before, &now, "at {end} of {}", buf.escape_ascii());
            }
        }
    }
    let direct = parse_request_head(buf, limits);
    match &settled {
        None => assert_eq!(direct, Ok(Status::Partial)),
        Some(Ok((len, head))) => {
            assert_eq!(head.len(), *len);
            assert_eq!(direct, Ok(Status::Complete(head.clone())));
        }
        Some(Err(err)) => assert_eq!(direct, Err(*err)),
    }
    direct
}

/// Decodes `input` whole, then split at `cuts`, and checks both give the same outcome: the
/// body, where it ended, or the error.
fn decode_split(
    input: &[u8],
    cuts: &[usize],
    limits: &ChunkedLimits,
) -> Result<(Vec<u8>, Option<usize>), ChunkedError> {
    let whole = decode_pieces(&[input], limits);
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for end in bounds.into_iter().chain([input.len()]) {
        pieces.push(&input[start..end]);
        start = end;
    }
    let split = decode_pieces(&pieces, limits);
    assert_eq!(whole, split, "{}", input.escape_ascii());
    whole
}

/// Feeds `pieces` to a decoder as successive reads: unconsumed bytes of a read are offered
/// again before the next read's. Returns the body and, if the body ended, the offset of its end.
fn decode_pieces(
    pieces: &[&[u8]],
    limits: &ChunkedLimits,
) -> Result<(Vec<u8>, Option<usize>), ChunkedError> {
    let mut decoder = ChunkedDecoder::new(limits.clone());
    let mut body = Vec::new();
    let mut offset = 0;
    for piece in pieces {
        let mut at = 0;
        loop {
            let (consumed, chunk) = decoder.decode(&piece[at..])?;
            at += consumed;
            match chunk {
                Chunk::Data(data) => body.extend_from_slice(data),
                Chunk::NeedMore => {
                    assert_eq!(at, piece.len());
                    break;
                }
                Chunk::Done => return Ok((body, Some(offset + at))),
            }
        }
        offset += piece.len();
    }
    Ok((body, None))
}

/// If nanoapi accepts `data`, httparse must read the same head: length, method, target,
/// version and fields. httparse reads only HTTP/1.0 and 1.1; nanoapi reads 1.2–1.9 as 1.1.
fn agrees_with_httparse(data: &[u8]) {
    let Ok(Status::Complete(head)) = parse_request_head(data, &Limits::default()) else {
        return;
    };
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut theirs = httparse::Request::new(&mut fields);
    let show = data.escape_ascii();
    match theirs.parse(data) {
        Ok(httparse::Status::Complete(len)) => {
            assert_eq!(len, head.len(), "{show}");
            assert_eq!(
                theirs.method.map(str::as_bytes),
                Some(head.method_bytes(data)),
                "{show}"
            );
            assert_eq!(
                theirs.path.map(str::as_bytes),
                Some(head.target(data)),
                "{show}"
            );
            let version = if head.version() == Version::Http10 {
                0
            } else {
                1
            };
            assert_eq!(theirs.version, Some(version), "{show}");
            let ours: Vec<(&[u8], &[u8])> = head.headers(data).collect();
            let theirs: Vec<(&[u8], &[u8])> = theirs
                .headers
                .iter()
                .map(|h| (h.name.as_bytes(), h.value))
                .collect();
            assert_eq!(ours, theirs, "{show}");
        }
        Err(httparse::Error::Version) => {
            let line = data
                .split(|&b| b == b'\n')
                .find(|line| *line != b"\r")
                .unwrap_or_default();
            assert!(
                matches!(line, [.., b'1', b'.', b'2'..=b'9', b'\r']),
                "{show}"
            );
        }
        other => panic!("httparse: {other:?} on a head nanoapi accepts: {show}"),
    }
}

/// A valid request with a few bytes replaced, inserted or removed.
fn mutated_request() -> impl Strategy<Value = Vec<u8>> {
    (
        request(),
        vec((any::<Index>(), select(SHARP), 0u8..3), 1..4),
    )
        .prop_map(|(request, edits)| {
            let mut wire = request.wire;
            for (at, byte, op) in edits {
                let i = at.index(wire.len() + 1);
                match op {
                    0 if i < wire.len() => wire[i] = byte,
                    1 => wire.insert(i, byte),
                    _ if i < wire.len() => {
                        wire.remove(i);
                    }
                    _ => wire.push(byte),
                }
            }
            wire
        })
}

fn small_limits() -> Limits {
    Limits {
        max_target: 24,
        max_head: 160,
        max_headers: 4,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parser_on_arbitrary_bytes_never_panics_and_settles(bytes in vec(any::<u8>(), 0..300)) {
        let _ = settles(&bytes, &Limits::default());
        let _ = settles(&bytes, &small_limits());
    }

    #[test]
    fn parser_on_mutated_requests_never_panics_and_settles(wire in mutated_request()) {
        let _ = settles(&wire, &Limits::default());
        let _ = settles(&wire, &small_limits());
        agrees_with_httparse(&wire);
    }

    #[test]
    fn decoder_on_arbitrary_bytes_never_panics_and_ignores_splits(
        bytes in prop_oneof![vec(any::<u8>(), 0..200), vec(select(SHARP), 0..200)],
        cuts in vec(any::<usize>(), 0..8),
    ) {
        decode_split(&bytes, &cuts, &ChunkedLimits::default()).ok();
        let tight = ChunkedLimits { max_extensions: 8, max_trailer_bytes: 16, max_trailers: 2, max_body: 64 };
        decode_split(&bytes, &cuts, &tight).ok();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn valid_request_parses_to_what_was_generated_from_any_prefix(request in request()) {
        let Ok(Status::Complete(head)) = settles(&request.wire, &Limits::default()) else {
            panic!("not parsed: {}", request.wire.escape_ascii());
        };
        let buf = &request.wire;
        agrees_with_httparse(buf);
        prop_assert_eq!(head.len(), request.head_len);
        prop_assert_eq!(head.method_bytes(buf), &request.method[..]);
        prop_assert_eq!(head.path(buf), &request.path[..]);
        prop_assert_eq!(head.query(buf), request.query.as_deref());
        prop_assert_eq!(head.version(), request.version);
        let headers: Vec<(Vec<u8>, Vec<u8>)> =
            head.headers(buf).map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&headers, &request.headers);
        prop_assert_eq!(head.framing(), request.framing);
        prop_assert_eq!(head.keep_alive(), request.keep_alive);
        // Pipelined behind another request, the head is the same.
        let two = [&request.wire[..], &request.wire[..]].concat();
        let mut again = RequestHead::new();
        prop_assert_eq!(again.parse_into(&two, &Limits::default()), Ok(Status::Complete(request.head_len)));
        prop_assert_eq!(again, head);
    }

    #[test]
    fn chunked_request_body_decodes_the_same_across_any_split(
        request in request(),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let body_wire = &request.wire[request.head_len..];
        if request.framing == BodyFraming::Chunked {
            let (body, end) = decode_split(body_wire, &cuts, &ChunkedLimits::default()).unwrap();
            prop_assert_eq!(body, request.body);
            prop_assert_eq!(end, Some(body_wire.len()));
        }
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_decodes_the_same_across_any_split(
        chunks in vec(vec(any::<u8>(), 1..64), 0..6),
        ext in select(EXTENSIONS),
        trailers in select(TRAILERS),
        next in select(NEXT),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let wire = encode_chunked(&chunks, ext, trailers);
        let input = [&wire[..], next].concat();
        let (body, end) = decode_split(&input, &cuts, &ChunkedLimits::default()).unwrap();
        prop_assert_eq!(body, chunks.concat());
        prop_assert_eq!(end, Some(wire.len()));
    }
}
