use super::*;

/// Parses `wire` fed `step` bytes at a time, then ends the stream; every event, or the first
/// error.
fn events(
    wire: &[u8],
    step: usize,
    head_request: bool,
) -> Result<Vec<ResponseEvent>, ResponseError> {
    let mut parser = ResponseParser::default();
    parser.set_head_request(head_request);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in wire.chunks(step) {
        buf.extend_from_slice(piece);
        while let Some(event) = parser.parse(&mut buf)? {
            out.push(event);
        }
    }
    out.extend(parser.end_of_stream(&buf)?);
    Ok(out)
}

/// The status and the body of each response, checked to be the same whatever the split.
fn responses(wire: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, ResponseError> {
    let whole = collect(events(wire, wire.len().max(1), false)?);
    for step in 1..wire.len().min(24) {
        assert_eq!(
            collect(events(wire, step, false)?),
            whole,
            "split every {step} bytes"
        );
    }
    Ok(whole)
}

fn collect(events: Vec<ResponseEvent>) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for event in events {
        match event {
            ResponseEvent::Head(head) => out.push((head.status().as_u16(), Vec::new())),
            ResponseEvent::Data(data) => out.last_mut().unwrap().1.extend_from_slice(&data),
            ResponseEvent::Trailers(_) | ResponseEvent::End => {}
        }
    }
    out
}

fn error(wire: &[u8]) -> ResponseError {
    events(wire, wire.len(), false).unwrap_err()
}

#[test]
fn framing_by_length_chunked_and_close() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n\
HTTP/1.1 304 Not Modified\r\n\r\n\
HTTP/1.0 200 OK\r\n\r\nuntil the end";
    assert_eq!(
        responses(wire).unwrap(),
        [
            (200, b"hello".to_vec()),
            (201, b"abcde".to_vec()),
            (204, vec![]),
            (304, vec![]),
            (200, b"until the end".to_vec()),
        ]
    );
}

#[test]
fn trailers_of_a_chunked_body_come_between_its_data_and_its_end() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n\
0\r\ngrpc-status: 0\r\nX-Sum:\t ab \r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let expected: Vec<(Bytes, Bytes)> = vec![
        ("grpc-status".into(), "0".into()),
        ("X-Sum".into(), "ab".into()),
    ];
    for step in 1..=wire.len() {
        let events = events(wire, step, false).unwrap();
        let kinds: Vec<&str> = events
            .iter()
            .map(|event| match event {
                ResponseEvent::Head(_) => "head",
                ResponseEvent::Data(_) => "data",
                ResponseEvent::Trailers(fields) => {
                    assert_eq!(fields, &expected, "split every {step} bytes");
                    "trailers"
                }
                ResponseEvent::End => "end",
            })
            .collect();
        let mut deduped = kinds.clone();
        deduped.dedup();
        assert_eq!(
            deduped,
            ["head", "data", "trailers", "end", "head", "end"],
            "split every {step} bytes"
        );
    }
}

#[test]
fn interim_responses_are_heads_without_bodies() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_eq!(
        responses(wire).unwrap(),
        [(100, vec![]), (200, b"ok".to_vec())]
    );
}

#[test]
fn a_head_request_has_no_body_whatever_the_length_says() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let all = collect(events(wire, 7, true).unwrap());
    assert_eq!(all, [(100, vec![]), (200, vec![]), (200, b"ok".to_vec())]);
}

#[test]
fn the_parser_stops_after_switching_protocols() {
    let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nnot http";
    let mut parser = ResponseParser::default();
    let mut buf = BytesMut::from(&wire[..]);
    assert!(matches!(
        parser.parse(&mut buf),
        Ok(Some(ResponseEvent::Head(_)))
    ));
    assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::End)));
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"not http");
    assert!(parser.is_idle());
}

#[test]
fn heads_keep_fields_in_order_with_duplicates() {
    let wire = b"HTTP/1.1 404 Not Found\r\nX-A: 1\r\nSet-Cookie: a=1 \r\nx-a:2\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let events = events(wire, wire.len(), false).unwrap();
    let ResponseEvent::Head(head) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(head.version(), Version::Http11);
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(head.reason(), b"Not Found");
    assert_eq!(
        head.header_all("x-a").collect::<Vec<_>>(),
        [&b"1"[..], b"2"]
    );
    assert_eq!(head.header("SET-COOKIE"), Some(&b"a=1"[..]));
    assert_eq!(head.headers().count(), 6);
    assert!(head.closes());
    assert_eq!(events[1], ResponseEvent::End);
}

#[test]
fn connection_semantics() {
    let head = |wire: &[u8]| match events(wire, wire.len(), false).unwrap().remove(0) {
        ResponseEvent::Head(head) => head,
        other => panic!("{other:?}"),
    };
    assert!(!head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").closes());
    assert!(head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").closes());
    assert!(
        !head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").closes()
    );
    assert!(head(b"HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n").closes());
    assert!(head(b"HTTP/1.1 200 \r\n\r\n").closes(), "close-delimited");
}

#[test]
fn malformed_heads_are_errors() {
    use ResponseError::*;
    // Status line.
    assert_eq!(error(b"HTTP/2.0 200 OK\r\n\r\n"), StatusLine);
    assert_eq!(error(b"HTTP/1.1 200\r\n\r\n"), StatusLine);
    assert_eq!(error(b"HTTP/1.1 2x0 OK\r\n\r\n"), StatusLine);
    assert_eq!(error(b"HTTP/1.1 099 OK\r\n\r\n"), StatusLine);
    assert_eq!(error(b"http/1.1 200 OK\r\n\r\n"), StatusLine);
    assert_eq!(error(b"HTTP/1.1 200 OK\n\r\n\r\n"), NewLine);
    // Fields.
    assert_eq!(error(b"HTTP/1.1 200 OK\r\n X: 1\r\n\r\n"), ObsFold);
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nX : 1\r\n\r\n"),
        WhitespaceBeforeColon
    );
    assert_eq!(error(b"HTTP/1.1 200 OK\r\n: 1\r\n\r\n"), HeaderName);
    assert_eq!(error(b"HTTP/1.1 200 OK\r\nX(: 1\r\n\r\n"), HeaderName);
    assert_eq!(error(b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n"), HeaderValue);
    assert_eq!(error(b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), NewLine);
    assert_eq!(error(b"HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n"), NewLine);
    // Framing.
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Framing(ParseError::ContentLengthAndTransferEncoding)
    );
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        Framing(ParseError::ConflictingContentLength)
    );
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
        Framing(ParseError::InvalidContentLength)
    );
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
        Framing(ParseError::UnsupportedTransferCoding)
    );
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n"),
        Chunked(ChunkedError::InvalidSize)
    );
}

#[test]
fn limits_at_and_past_the_bound() {
    let limits = ResponseLimits {
        max_head: 40,
        max_headers: 1,
        ..ResponseLimits::default()
    };
    let parse = |wire: &[u8]| {
        let mut parser = ResponseParser::new(limits.clone());
        parser
            .parse(&mut BytesMut::from(wire))
            .map(|event| event.is_some())
    };
    let forty = b"HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n";
    assert_eq!(forty.len(), 40);
    assert_eq!(parse(forty), Ok(true));
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 0000\r\n\r\n"),
        Err(ResponseError::HeadTooLarge)
    );
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 00000000"),
        Err(ResponseError::HeadTooLarge)
    );
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"),
        Err(ResponseError::TooManyHeaders)
    );
}

#[test]
fn the_stream_ending_inside_a_response_is_truncated() {
    for wire in [
        &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ] {
        assert_eq!(
            error(wire),
            ResponseError::Truncated,
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}
