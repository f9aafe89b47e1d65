//! Table tests for the chunked decoder. Every valid case is also decoded one byte per call,
//! so a split at each byte boundary is covered; limits are tested at and one past the limit.

use super::*;

/// What a helper saw: the body and how many input bytes it took, or `None` if the input ended
/// first.
type Decoded = Result<Option<(Vec<u8>, usize)>, ChunkedError>;

/// Decodes `input` in one call per `Data`.
fn decode_whole(input: &[u8], limits: &ChunkedLimits) -> Decoded {
    let mut decoder = ChunkedDecoder::new(limits.clone());
    let (mut at, mut body) = (0, Vec::new());
    loop {
        let (consumed, chunk) = decoder.decode(&input[at..])?;
        at += consumed;
        match chunk {
            Chunk::Data(data) => {
                assert!(!data.is_empty(), "empty Data");
                body.extend_from_slice(data);
            }
            Chunk::NeedMore => {
                assert_eq!(at, input.len(), "NeedMore must consume everything");
                return Ok(None);
            }
            Chunk::Done => {
                assert!(decoder.is_done());
                assert_eq!(decoder.decode(&input[at..]), Ok((0, Chunk::Done)));
                return Ok(Some((body, at)));
            }
        }
    }
}

/// Decodes `input` one byte per call, as if every read returned one byte.
fn decode_bytewise(input: &[u8], limits: &ChunkedLimits) -> Decoded {
    let mut decoder = ChunkedDecoder::new(limits.clone());
    let mut body = Vec::new();
    for (i, byte) in input.iter().enumerate() {
        let one = std::slice::from_ref(byte);
        match decoder.decode(one)? {
            (1, Chunk::Data(data)) => body.extend_from_slice(data),
            (1, Chunk::NeedMore) => {}
            (1, Chunk::Done) => return Ok(Some((body, i + 1))),
            other => panic!("at {i}: {other:?}"),
        }
    }
    Ok(None)
}

/// Asserts that `input` decodes to `body`, whole and byte by byte, and that `rest` follows.
#[track_caller]
fn decodes(input: &[u8], body: &[u8]) {
    decodes_with(input, body, &ChunkedLimits::default());
}

#[track_caller]
fn decodes_with(input: &[u8], body: &[u8], limits: &ChunkedLimits) {
    let with_next = [input, b"GET / HTTP/1.1\r\n"].concat();
    let show = input.escape_ascii().to_string();
    let expected = Ok(Some((body.to_vec(), input.len())));
    assert_eq!(decode_whole(&with_next, limits), expected, "{show}");
    assert_eq!(decode_bytewise(&with_next, limits), expected, "{show}");
}

/// Asserts that every input in `cases` fails with `err`, whole and byte by byte.
#[track_caller]
fn rejects(cases: &[&[u8]], err: ChunkedError) {
    rejects_with(cases, err, &ChunkedLimits::default());
}

#[track_caller]
fn rejects_with(cases: &[&[u8]], err: ChunkedError, limits: &ChunkedLimits) {
    for case in cases {
        let show = case.escape_ascii().to_string();
        assert_eq!(
            decode_whole(case, limits).map(|_| ()),
            Err(err),
            "whole: {show}"
        );
        assert_eq!(
            decode_bytewise(case, limits).map(|_| ()),
            Err(err),
            "bytewise: {show}"
        );
    }
}

// Valid bodies.

#[test]
fn chunks_concatenate_into_the_body() {
    decodes(b"0\r\n\r\n", b"");
    decodes(b"5\r\nhello\r\n0\r\n\r\n", b"hello");
    decodes(
        b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
        b"hello world",
    );
    decodes(
        b"a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n",
        b"0123456789abcdefghij",
    );
    decodes(b"3\r\n\r\n\n\r\n0\r\n\r\n", b"\r\n\n");
}

#[test]
fn chunk_size_of_16_hex_digits_is_accepted() {
    decodes(
        b"0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n",
        b"hello",
    );
    decodes(b"000\r\n\r\n", b"");
}

#[test]
fn chunk_extensions_are_parsed_and_ignored() {
    let cases: &[&[u8]] = &[
        b"5;a\r\nhello\r\n0\r\n\r\n",
        b"5;a=b\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"quoted \\\" ;=, value\"\r\nhello\r\n0\r\n\r\n",
        b"5 ; a = b ; c ;d=\"\"\r\nhello\r\n0\r\n\r\n",
        b"5\t;\ta\t=\tb\r\nhello\r\n0;last=1\r\n\r\n",
        b"5;a=\"\x80\xff\"\r\nhello\r\n0\r\n\r\n",
        b"5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n",
    ];
    for case in cases {
        decodes(case, b"hello");
    }
}

#[test]
fn trailers_are_validated_and_skipped() {
    decodes(
        b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum: \t abc \r\n\r\n",
        b"hello",
    );
    decodes(b"0\r\nEmpty:\r\n\r\n", b"");
    decodes(b"0\r\nObs: \x80\xfe\r\n\r\n", b"");
}

#[test]
fn decoder_after_done_returns_done_and_consumes_nothing() {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    assert_eq!(decoder.decode(b"0\r\n\r\nGET"), Ok((5, Chunk::Done)));
    assert_eq!(decoder.decode(b"GET"), Ok((0, Chunk::Done)));
    assert!(decoder.is_done());
}

#[test]
fn need_more_consumes_all_the_input() {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    assert_eq!(decoder.decode(b""), Ok((0, Chunk::NeedMore)));
    assert_eq!(decoder.decode(b"1"), Ok((1, Chunk::NeedMore)));
    assert_eq!(decoder.decode(b"0;ext"), Ok((5, Chunk::NeedMore)));
    assert_eq!(decoder.decode(b"\r\n"), Ok((2, Chunk::NeedMore)));
    assert_eq!(
        decoder.decode(b"0123456789abcdef"),
        Ok((16, Chunk::Data(&b"0123456789abcdef"[..])))
    );
    assert_eq!(decoder.decode(b""), Ok((0, Chunk::NeedMore)));
    assert_eq!(decoder.decode(b"\r"), Ok((1, Chunk::NeedMore)));
    assert_eq!(decoder.body_bytes(), 16);
}

#[test]
fn data_is_a_slice_of_the_input_up_to_the_chunk_size() {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    let input = b"4\r\nabcdefgh";
    let (consumed, chunk) = decoder.decode(input).unwrap();
    assert_eq!((consumed, chunk), (7, Chunk::Data(&b"abcd"[..])));
    let Chunk::Data(data) = chunk else {
        unreachable!()
    };
    assert!(
        std::ptr::eq(data.as_ptr(), input[3..].as_ptr()),
        "data must not be copied"
    );
    assert_eq!(
        decoder.decode(&input[consumed..]),
        Err(ChunkedError::DataTooLong)
    );
}

// Chunk size errors.

#[test]
fn chunk_size_invalid_is_400() {
    let cases: &[&[u8]] = &[
        b"\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"x\r\n",
        b"-1\r\n",
        b"+1\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\n",
        b"\t5\r\n",
        b";ext\r\n",
        b"5x\r\n",
        b"5\x00\r\n",
        b"\xef\xbc\x95\r\n",
    ];
    rejects(cases, ChunkedError::InvalidSize);
    assert_eq!(ChunkedError::InvalidSize.status(), 400);
}

#[test]
fn chunk_size_of_17_hex_digits_is_400() {
    rejects(
        &[b"00000000000000005\r\n", b"10000000000000000\r\n"],
        ChunkedError::SizeTooLong,
    );
}

#[test]
fn chunk_size_whitespace_not_before_semicolon_is_400() {
    rejects(
        &[b"5 \r\nhello\r\n0\r\n\r\n", b"5 x\r\n", b"5\t \t=\r\n"],
        ChunkedError::InvalidSizeWhitespace,
    );
}

// Extension errors.

#[test]
fn chunk_extension_malformed_is_400() {
    let cases: &[&[u8]] = &[
        b"5;\r\n",
        b"5;=b\r\n",
        b"5;a=\r\n",
        b"5;a b\r\n",
        b"5;a=b c\r\n",
        b"5;a \r\n",
        b"5;a=b \r\n",
        b"5;a=\"x\" \r\n",
        b"5;a=\"x\"y\r\n",
        b"5;a=\"x\x01\"\r\n",
        b"5;a=\"\\\x7f\"\r\n",
        b"5;a@b\r\n",
        b"5;a=b\"c\"\r\n",
    ];
    rejects(cases, ChunkedError::InvalidExtension);
}

#[test]
fn chunk_extensions_at_limit_are_accepted() {
    let limits = ChunkedLimits {
        max_extensions: 8,
        ..ChunkedLimits::default()
    };
    // ";a=12345" is eight extension bytes.
    decodes_with(
        b"5;a=12345\r\nhello\r\n0;bcdefgh\r\n\r\n",
        b"hello",
        &limits,
    );
}

#[test]
fn chunk_extensions_past_limit_are_400() {
    let limits = ChunkedLimits {
        max_extensions: 8,
        ..ChunkedLimits::default()
    };
    rejects_with(
        &[b"5;a=123456\r\n", b"5 ;a=12345\r\n"],
        ChunkedError::ExtensionsTooLarge,
        &limits,
    );
}

// Line ending errors.

#[test]
fn bare_lf_in_chunked_body_is_400() {
    let cases: &[&[u8]] = &[
        b"5\nhello\r\n0\r\n\r\n",
        b"5;a\nhello\r\n",
        b"5;a=b\n",
        b"5;a=\"b\"\n",
        b"5;\n",
        b"5 \n",
        b"5;a=\"\n",
        b"5\r\nhello\n",
        b"0\r\n\n",
        b"0\r\nA: b\n",
    ];
    rejects(cases, ChunkedError::BareLf);
}

#[test]
fn bare_cr_in_chunked_body_is_400() {
    let cases: &[&[u8]] = &[
        b"5\rhello",
        b"5\r\nhello\rx",
        b"0\r\n\rx",
        b"0\r\nA: b\rx",
        b"5;a=\"\r\"",
        b"5;a=\"\\\r",
        b"0\r\r\n",
    ];
    rejects(cases, ChunkedError::BareCr);
}

#[test]
fn chunk_data_longer_than_its_size_is_400() {
    rejects(
        &[b"5\r\nhelloX\r\n0\r\n\r\n", b"1\r\nab\r\n"],
        ChunkedError::DataTooLong,
    );
}

/// http-garden's smuggling shape: a bad chunk followed by a request that must not be served.
#[test]
fn chunked_overflow_then_smuggled_request_is_rejected() {
    rejects(
        &[b"f0000000000000003\r\nabc\r\n0\r\n\r\nGET /sneaky HTTP/1.1\r\nHost: a\r\n\r\n"],
        ChunkedError::SizeTooLong,
    );
    rejects(
        &[b"3\r\nabcGET /sneaky HTTP/1.1\r\n\r\n"],
        ChunkedError::DataTooLong,
    );
}

// Trailer errors and limits.

#[test]
fn trailer_malformed_is_400() {
    rejects(
        &[
            b"0\r\n: b\r\n\r\n",
            b"0\r\nA(b: c\r\n\r\n",
            b"0\r\nNoColon\r\n",
        ],
        ChunkedError::InvalidTrailerName,
    );
    rejects(
        &[b"0\r\nA : b\r\n\r\n", b"0\r\nA\t: b\r\n"],
        ChunkedError::TrailerWhitespaceBeforeColon,
    );
    rejects(
        &[b"0\r\nA: b\r\n c\r\n\r\n", b"0\r\n\tA: b\r\n"],
        ChunkedError::TrailerObsFold,
    );
    rejects(
        &[
            b"0\r\nA: \x01\r\n\r\n",
            b"0\r\nA: b\x7f\r\n",
            b"0\r\nA: \x00",
        ],
        ChunkedError::InvalidTrailerValue,
    );
}

#[test]
fn trailers_at_max_count_are_accepted() {
    let limits = ChunkedLimits {
        max_trailers: 2,
        ..ChunkedLimits::default()
    };
    decodes_with(b"0\r\nA: 1\r\nB: 2\r\n\r\n", b"", &limits);
}

#[test]
fn trailers_past_max_count_are_400() {
    let limits = ChunkedLimits {
        max_trailers: 2,
        ..ChunkedLimits::default()
    };
    rejects_with(
        &[b"0\r\nA: 1\r\nB: 2\r\nC"],
        ChunkedError::TooManyTrailers,
        &limits,
    );
}

#[test]
fn trailers_at_max_bytes_are_accepted() {
    // "A: 1\r\n" is six bytes; the final CRLF does not count.
    let limits = ChunkedLimits {
        max_trailer_bytes: 6,
        ..ChunkedLimits::default()
    };
    decodes_with(b"0\r\nA: 1\r\n\r\n", b"", &limits);
    let none = ChunkedLimits {
        max_trailer_bytes: 0,
        ..ChunkedLimits::default()
    };
    decodes_with(b"0\r\n\r\n", b"", &none);
}

#[test]
fn trailers_past_max_bytes_are_400() {
    let limits = ChunkedLimits {
        max_trailer_bytes: 6,
        ..ChunkedLimits::default()
    };
    rejects_with(
        &[b"0\r\nA: 12\r\n\r\n"],
        ChunkedError::TrailersTooLarge,
        &limits,
    );
}

// Body size limit.

#[test]
fn body_at_max_body_is_accepted() {
    let limits = ChunkedLimits {
        max_body: 10,
        ..ChunkedLimits::default()
    };
    decodes_with(
        b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
        b"helloworld",
        &limits,
    );
}

#[test]
fn body_past_max_body_is_413_before_its_data_arrives() {
    let limits = ChunkedLimits {
        max_body: 10,
        ..ChunkedLimits::default()
    };
    rejects_with(&[b"5\r\nhello\r\n6\r\n"], ChunkedError::TooLarge, &limits);
    assert_eq!(ChunkedError::TooLarge.status(), 413);
}

#[test]
fn body_total_overflowing_u64_is_413() {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    assert_eq!(
        decoder.decode(b"8000000000000000\r\n").map(|(n, _)| n),
        Ok(18)
    );
    decoder.size = 0;
    decoder.state = State::DataCr;
    assert_eq!(
        decoder.decode(b"\r\n8000000000000000\r\n"),
        Err(ChunkedError::TooLarge)
    );
}

// The error type.

#[test]
fn chunked_error_maps_to_400_or_413() {
    use ChunkedError::*;
    let all = [
        InvalidSize,
        SizeTooLong,
        InvalidSizeWhitespace,
        InvalidExtension,
        ExtensionsTooLarge,
        BareLf,
        BareCr,
        DataTooLong,
        InvalidTrailerName,
        TrailerWhitespaceBeforeColon,
        TrailerObsFold,
        InvalidTrailerValue,
        TooManyTrailers,
        TrailersTooLarge,
        TooLarge,
    ];
    for err in all {
        assert_eq!(
            err.status(),
            if err == TooLarge { 413 } else { 400 },
            "{err:?}"
        );
        assert_eq!(err.to_string(), err.description());
    }
    assert_eq!(std::mem::size_of::<ChunkedError>(), 1);
}
