//! Table tests for the head parser: one test per rule, byte-literal requests, named subject
//! then condition. Limits are tested at and one past the limit.

use super::*;

/// Parses with the default limits.
fn parse(buf: &[u8]) -> Result<Status<RequestHead>, ParseError> {
    parse_request_head(buf, &Limits::default())
}

/// Parses a whole, valid head; also checks that the head ends where the buffer does and that
/// every proper prefix is `Partial`.
#[track_caller]
fn head(buf: &[u8]) -> RequestHead {
    head_with(buf, &Limits::default())
}

#[track_caller]
fn head_with(buf: &[u8], limits: &Limits) -> RequestHead {
    let head = match parse_request_head(buf, limits) {
        Ok(Status::Complete(head)) => head,
        other => panic!("{}: {other:?}", show(buf)),
    };
    assert_eq!(head.len(), buf.len(), "{}", show(buf));
    for end in 0..buf.len() {
        let prefix = &buf[..end];
        assert_eq!(
            parse_request_head(prefix, limits),
            Ok(Status::Partial),
            "{}",
            show(prefix)
        );
    }
    head
}

/// Asserts that every request in `cases` fails with `err`.
#[track_caller]
fn rejects(cases: &[&[u8]], err: ParseError) {
    for case in cases {
        assert_eq!(parse(case).map(|_| ()), Err(err), "{}", show(case));
    }
}

fn show(buf: &[u8]) -> String {
    buf.escape_ascii().to_string()
}

fn headers(head: &RequestHead, buf: &[u8]) -> Vec<(String, String)> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    head.headers(buf).map(|(n, v)| (text(n), text(v))).collect()
}

// Valid requests.

#[test]
fn get_request_has_method_target_version_and_headers() {
    let buf = b"GET /plaintext HTTP/1.1\r\n\
                Host: localhost:8080\r\n\
                Accept: text/plain,text/html;q=0.9\r\n\
                Connection: keep-alive\r\n\
                \r\n";
    let h = head(buf);
    assert_eq!(h.method(), Method::Get);
    assert_eq!(h.method_bytes(buf), b"GET");
    assert_eq!(h.target(buf), b"/plaintext");
    assert_eq!(h.target_form(), TargetForm::Origin);
    assert_eq!(h.path(buf), b"/plaintext");
    assert_eq!(h.query(buf), None);
    assert_eq!(h.authority(buf), None);
    assert_eq!(h.version(), Version::Http11);
    assert_eq!(h.header_count(), 3);
    assert_eq!(
        h.header(buf, b"accept"),
        Some(&b"text/plain,text/html;q=0.9"[..])
    );
    assert_eq!(h.framing(), BodyFraming::None);
    assert!(h.keep_alive());
    assert!(!h.expect_continue());
    assert!(!h.is_upgrade());
}

#[test]
fn methods_are_case_sensitive_tokens() {
    let known = [
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("DELETE", Method::Delete),
        ("OPTIONS", Method::Options),
        ("TRACE", Method::Trace),
        ("PATCH", Method::Patch),
    ];
    for (name, method) in known {
        let buf = format!("{name} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = head(buf.as_bytes());
        assert_eq!((h.method(), h.method().as_str()), (method, Some(name)));
        assert_eq!(h.method_bytes(buf.as_bytes()), name.as_bytes());
    }
    for name in ["get", "PURGE", "M-SEARCH", "X!#$%&'*+-.^_`|~9"] {
        let buf = format!("{name} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = head(buf.as_bytes());
        assert!(matches!(h.method(), Method::Other(_)), "{name}");
        assert_eq!(h.method().as_str(), None);
        assert_eq!(h.method_bytes(buf.as_bytes()), name.as_bytes());
    }
}

#[test]
fn query_is_split_from_path_raw() {
    /// Target, path, query.
    type Case = (&'static [u8], &'static [u8], Option<&'static [u8]>);
    let cases: &[Case] = &[
        (b"/a", b"/a", None),
        (b"/a?b=c", b"/a", Some(b"b=c")),
        (b"/a?", b"/a", Some(b"")),
        (b"/a?b?c", b"/a", Some(b"b?c")),
        (
            b"/%7E/x?q=%20&r={\"j\":1}|",
            b"/%7E/x",
            Some(b"q=%20&r={\"j\":1}|"),
        ),
        (b"//double", b"//double", None),
    ];
    for &(target, path, query) in cases {
        let buf = [b"GET ", target, b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
        let h = head(&buf);
        assert_eq!(
            (h.target(&buf), h.path(&buf), h.query(&buf)),
            (target, path, query)
        );
    }
}

#[test]
fn absolute_form_target_gives_path_query_and_authority() {
    /// Target, authority, path, query.
    type Case = (
        &'static [u8],
        &'static [u8],
        &'static [u8],
        Option<&'static [u8]>,
    );
    let cases: &[Case] = &[
        (
            b"http://example.com/p?q=1",
            b"example.com",
            b"/p",
            Some(b"q=1"),
        ),
        (b"HTTP://Example.com:8080", b"Example.com:8080", b"/", None),
        (b"https://h?x", b"h", b"/", Some(b"x")),
        (b"http://[::1]:80/a/b", b"[::1]:80", b"/a/b", None),
    ];
    for &(target, authority, path, query) in cases {
        let buf = [b"GET ", target, b" HTTP/1.1\r\nHost: other\r\n\r\n"].concat();
        let h = head(&buf);
        assert_eq!(h.target_form(), TargetForm::Absolute);
        assert_eq!(h.authority(&buf), Some(authority));
        assert_eq!((h.path(&buf), h.query(&buf)), (path, query));
        assert_eq!(h.header(&buf, b"host"), Some(&b"other"[..]));
    }
}

#[test]
fn options_asterisk_is_accepted() {
    let buf = b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = head(buf);
    assert_eq!(
        (h.method(), h.target_form()),
        (Method::Options, TargetForm::Asterisk)
    );
    assert_eq!(
        (h.target(buf), h.path(buf), h.query(buf)),
        (&b"*"[..], &b"*"[..], None)
    );
}

#[test]
fn headers_keep_order_and_duplicates() {
    let buf = b"GET / HTTP/1.1\r\n\
                X-A: 1\r\n\
                Host: a\r\n\
                x-a: 2\r\n\
                Cookie: c=1\r\n\
                X-A: 3\r\n\
                \r\n";
    let h = head(buf);
    let all: Vec<(String, String)> = [
        ("X-A", "1"),
        ("Host", "a"),
        ("x-a", "2"),
        ("Cookie", "c=1"),
        ("X-A", "3"),
    ]
    .iter()
    .map(|&(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(headers(&h, buf), all);
    assert_eq!(h.headers(buf).len(), 5);
    assert_eq!(h.headers(buf).next_back(), Some((&b"X-A"[..], &b"3"[..])));
    let xa: Vec<&[u8]> = h.header_all(buf, b"X-a").collect();
    assert_eq!(xa, [&b"1"[..], b"2", b"3"]);
}

#[test]
fn header_lookup_is_case_insensitive() {
    let buf = b"GET / HTTP/1.1\r\nHOST: a\r\nContent-TYPE: text/plain\r\n\r\n";
    let h = head(buf);
    for name in [&b"content-type"[..], b"CONTENT-TYPE", b"Content-Type"] {
        assert_eq!(h.header(buf, name), Some(&b"text/plain"[..]));
    }
    assert_eq!(h.header(buf, b"host"), Some(&b"a"[..]));
    assert_eq!(h.header(buf, b"content-typ"), None);
    assert_eq!(h.header_all(buf, b"missing").count(), 0);
}

#[test]
fn header_values_lose_surrounding_whitespace_only() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"X: v\r\n", b"v"),
        (b"X:v\r\n", b"v"),
        (b"X: \t v \t \r\n", b"v"),
        (b"X: a b\tc\r\n", b"a b\tc"),
        (b"X:\r\n", b""),
        (b"X:   \r\n", b""),
        (
            b"X: \x80\xff obs-text \xc3\xa9\r\n",
            b"\x80\xff obs-text \xc3\xa9",
        ),
        (
            b"X: a very long value that spans several sixteen-byte blocks of the SWAR scan\r\n",
            b"a very long value that spans several sixteen-byte blocks of the SWAR scan",
        ),
        (
            b"X: tab\tin\tthe\tmiddle\tof\ta\tlong\tvalue\t\t\t\r\n",
            b"tab\tin\tthe\tmiddle\tof\ta\tlong\tvalue",
        ),
    ];
    for &(line, value) in cases {
        let buf = [b"GET / HTTP/1.1\r\nHost: a\r\n", line, b"\r\n"].concat();
        assert_eq!(head(&buf).header(&buf, b"x"), Some(value), "{}", show(line));
    }
}

#[test]
fn host_values_of_every_shape_are_accepted() {
    let cases: &[&[u8]] = &[
        b"Host: localhost:8080\r\n",
        b"Host: localhost\r\n",
        b"Host: \r\n",
        b"Host:\r\n",
        b"Host: 127.0.0.1\r\n",
        b"Host: [::1]:8080\r\n",
        b"Host: ex%41mple.com\r\n",
        b"Host:   spaced.example   \r\n",
        b"host: lower\r\n",
        b"HOST: UPPER:1\r\n",
    ];
    for &line in cases {
        let buf = [b"GET / HTTP/1.1\r\n", line, b"\r\n"].concat();
        head(&buf);
    }
}

#[test]
fn pipelined_heads_parse_one_after_another() {
    let buf = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\
                POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
                GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    let limits = Limits::default();
    let mut h = RequestHead::new();
    let mut at = 0;
    let mut paths = Vec::new();
    while at < buf.len() {
        let rest = &buf[at..];
        let Ok(Status::Complete(len)) = h.parse_into(rest, &limits) else {
            panic!("at {at}")
        };
        assert_eq!(len, h.len());
        paths.push(h.path(rest).to_vec());
        at += len;
        if let BodyFraming::Length(n) = h.framing() {
            at += n as usize;
        }
    }
    assert_eq!(at, buf.len());
    assert_eq!(paths, [b"/1".to_vec(), b"/2".to_vec(), b"/3".to_vec()]);
}

#[test]
fn parse_into_reuses_the_field_list() {
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    let mut h = RequestHead::with_capacity(8);
    let capacity = h.fields.capacity();
    for _ in 0..3 {
        assert_eq!(
            h.parse_into(buf, &Limits::default()),
            Ok(Status::Complete(buf.len()))
        );
        assert_eq!(h.header_count(), 3);
    }
    assert_eq!(h.fields.capacity(), capacity);
    assert!(RequestHead::new().is_empty() && !h.is_empty());
}

#[test]
fn empty_lines_before_request_line_are_skipped_up_to_the_limit() {
    let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let at_limit = ["\r\n".repeat(MAX_EMPTY_LINES).as_bytes(), request].concat();
    let h = head(&at_limit);
    assert_eq!(h.len(), at_limit.len());
    assert_eq!(h.path(&at_limit), b"/");
    let past_limit = ["\r\n".repeat(MAX_EMPTY_LINES + 1).as_bytes(), request].concat();
    rejects(&[&past_limit], ParseError::EmptyLines);
    rejects(&[b"\n", b"\r\n\n", b"\rGET"], ParseError::NewLine);
}

#[test]
fn http_11_keep_alive_unless_close() {
    let cases: &[(&[u8], bool)] = &[
        (b"", true),
        (b"Connection: keep-alive\r\n", true),
        (b"Connection: close\r\n", false),
        (b"Connection: CLOSE\r\n", false),
        (b"Connection: upgrade, Close\r\n", false),
        (b"Connection: x\r\nConnection: close\r\n", false),
        (b"Connection: closed\r\n", true),
        (b"Connection: keep-alive , close \r\n", false),
    ];
    for &(fields, keep_alive) in cases {
        let buf = [b"GET / HTTP/1.1\r\nHost: a\r\n", fields, b"\r\n"].concat();
        assert_eq!(head(&buf).keep_alive(), keep_alive, "{}", show(fields));
    }
}

#[test]
fn http_10_keep_alive_only_when_asked() {
    let cases: &[(&[u8], bool)] = &[
        (b"", false),
        (b"Connection: keep-alive\r\n", true),
        (b"Connection: Keep-Alive\r\n", true),
        (b"Connection: foo, keep-alive\r\n", true),
        (b"Connection: keep-alive, close\r\n", false),
        (b"Connection: close\r\n", false),
    ];
    for &(fields, keep_alive) in cases {
        let buf = [b"GET / HTTP/1.0\r\n", fields, b"\r\n"].concat();
        let h = head(&buf);
        assert_eq!(
            (h.version(), h.keep_alive()),
            (Version::Http10, keep_alive),
            "{}",
            show(fields)
        );
    }
}

#[test]
fn http_10_needs_no_host() {
    let h = head(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!((h.version(), h.header_count()), (Version::Http10, 0));
}

#[test]
fn http_1x_minor_versions_are_read_as_11() {
    let h = head(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    assert_eq!(h.version(), Version::Http11);
    rejects(&[b"GET / HTTP/1.9\r\n\r\n"], ParseError::MissingHost);
}

#[test]
fn expect_continue_on_http_11() {
    let cases: &[(&[u8], bool)] = &[
        (b"Expect: 100-continue\r\n", true),
        (b"Expect: 100-Continue\r\n", true),
        (b"Expect:\r\n", false),
        (b"Expect: , 100-continue\r\n", true),
        (b"", false),
    ];
    for &(fields, expect) in cases {
        let buf = [
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n",
            fields,
            b"\r\n",
        ]
        .concat();
        assert_eq!(head(&buf).expect_continue(), expect, "{}", show(fields));
    }
}

#[test]
fn expect_continue_but_http_10_is_ignored() {
    for expect in [&b"100-continue"[..], b"something-else"] {
        let buf = [
            b"POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: ",
            expect,
            b"\r\n\r\n",
        ]
        .concat();
        assert!(!head(&buf).expect_continue(), "{}", show(expect));
    }
}

#[test]
fn expect_other_than_100_continue_is_417() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nExpect: x\r\n\r\n",
        ],
        ParseError::ExpectationFailed,
    );
    assert_eq!(ParseError::ExpectationFailed.status(), 417);
}

#[test]
fn expect_other_but_malformed_is_400_not_417() {
    rejects(
        &[b"GET / HTTP/1.1\r\nExpect: nope\r\n\r\n"],
        ParseError::MissingHost,
    );
}

#[test]
fn upgrade_needs_the_field_and_the_connection_option_on_http_11() {
    let cases: &[(&[u8], &[u8], bool)] = &[
        (
            b"HTTP/1.1",
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
            true,
        ),
        (
            b"HTTP/1.1",
            b"Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\n",
            true,
        ),
        (b"HTTP/1.1", b"Upgrade: websocket\r\n", false),
        (b"HTTP/1.1", b"Connection: upgrade\r\n", false),
        (
            b"HTTP/1.0",
            b"Upgrade: websocket\r\nConnection: upgrade\r\n",
            false,
        ),
    ];
    for &(version, fields, upgrade) in cases {
        let buf = [b"GET / ", version, b"\r\nHost: a\r\n", fields, b"\r\n"].concat();
        assert_eq!(head(&buf).is_upgrade(), upgrade, "{}", show(&buf));
    }
}

#[test]
fn framing_follows_content_length_and_transfer_encoding() {
    let cases: &[(&[u8], BodyFraming)] = &[
        (b"", BodyFraming::None),
        (b"Content-Length: 0\r\n", BodyFraming::Length(0)),
        (b"Content-Length: 42\r\n", BodyFraming::Length(42)),
        (b"content-length:007\r\n", BodyFraming::Length(7)),
        (
            b"Content-Length: 18446744073709551615\r\n",
            BodyFraming::Length(u64::MAX),
        ),
        (b"Transfer-Encoding: chunked\r\n", BodyFraming::Chunked),
        (b"transfer-encoding: CHUNKED \r\n", BodyFraming::Chunked),
    ];
    for &(fields, framing) in cases {
        let buf = [b"POST / HTTP/1.1\r\nHost: a\r\n", fields, b"\r\n"].concat();
        assert_eq!(head(&buf).framing(), framing, "{}", show(fields));
    }
}

/// RFC 9110 §8.6 lets a recipient accept a repeated identical value; we do (see
/// `content_length`).
#[test]
fn content_length_identical_duplicates_are_accepted() {
    for fields in [
        &b"Content-Length: 5\r\nContent-Length: 5\r\n"[..],
        b"Content-Length: 5, 5\r\n",
        b"Content-Length: 5,5 , 05\r\n",
    ] {
        let buf = [b"POST / HTTP/1.1\r\nHost: a\r\n", fields, b"\r\n"].concat();
        assert_eq!(
            head(&buf).framing(),
            BodyFraming::Length(5),
            "{}",
            show(fields)
        );
    }
}

// Framing errors.

#[test]
fn content_length_with_transfer_encoding_is_400() {
    rejects(
        &[
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ],
        ParseError::ContentLengthAndTransferEncoding,
    );
}

#[test]
fn content_length_differing_values_are_400() {
    rejects(
        &[
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n",
        ],
        ParseError::ConflictingContentLength,
    );
}

#[test]
fn content_length_not_digits_is_400() {
    let values: &[&[u8]] = &[
        b"+5",
        b"-5",
        b"5 5",
        b"0x10",
        b"",
        b"5,",
        b",5",
        b"5,,5",
        b"a",
        b"5_",
        b"1e3",
        b"\xd9\xa5",
        b"18446744073709551616",
        b"99999999999999999999999",
    ];
    for value in values {
        let buf = [
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ",
            *value,
            b"\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::InvalidContentLength);
    }
}

#[test]
fn transfer_encoding_on_http_10_is_400() {
    rejects(
        &[
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n",
        ],
        ParseError::TransferEncodingHttp10,
    );
}

#[test]
fn transfer_encoding_not_ending_in_chunked_is_400() {
    for value in [
        &b"gzip"[..],
        b"chunked, gzip",
        b"identity",
        b"chunked\r\nTransfer-Encoding: gzip",
    ] {
        let buf = [
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ",
            value,
            b"\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::ChunkedNotLast);
    }
}

#[test]
fn transfer_encoding_unknown_coding_is_501() {
    for value in [
        &b"gzip, chunked"[..],
        b"x-custom,chunked",
        b"gzip\r\nTransfer-Encoding: chunked",
    ] {
        let buf = [
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ",
            value,
            b"\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::UnsupportedTransferCoding);
    }
    assert_eq!(ParseError::UnsupportedTransferCoding.status(), 501);
}

#[test]
fn transfer_encoding_chunked_twice_or_malformed_is_400() {
    let values: &[&[u8]] = &[
        b"chunked, chunked",
        b"chunked\r\nTransfer-Encoding: chunked",
        b",chunked",
        b"chunked,",
        b", chunked",
        b"",
        b"chunked;foo=bar",
        b"chu nked",
        b"\"chunked\"",
    ];
    for value in values {
        let buf = [
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ",
            *value,
            b"\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::InvalidTransferEncoding);
    }
}

// Field syntax errors.

#[test]
fn whitespace_before_colon_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length : 5",
        ],
        ParseError::WhitespaceBeforeColon,
    );
}

#[test]
fn obs_fold_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n ",
        ],
        ParseError::ObsFold,
    );
}

#[test]
fn whitespace_before_first_header_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
            b"GET / HTTP/1.1\r\n\tHost: a\r\n\r\n",
        ],
        ParseError::LeadingWhitespace,
    );
}

#[test]
fn header_value_control_characters_are_400() {
    for ctl in (0u8..0x20)
        .filter(|&b| b != b'\t' && b != b'\r' && b != b'\n')
        .chain([0x7f])
    {
        let buf = [
            &b"GET / HTTP/1.1\r\nHost: a\r\nX: a"[..],
            &[ctl],
            b"b\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::HeaderValue);
        // The same byte in a long value, where the SWAR scan finds it.
        let buf = [
            &b"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdefghij"[..],
            &[ctl],
            b"\r\n\r\n",
        ]
        .concat();
        rejects(&[&buf], ParseError::HeaderValue);
    }
    rejects(
        &[b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n"],
        ParseError::HeaderValue,
    );
}

#[test]
fn bare_cr_is_400_everywhere() {
    rejects(
        &[
            b"GET / HTTP/1.1\rHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdefghij\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: close\rX\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\rX",
            b"\rGET / HTTP/1.1\r\n",
        ],
        ParseError::NewLine,
    );
}

/// RFC 9112 §2.2 allows accepting a bare LF; we do not (see the module docs).
#[test]
fn bare_lf_is_400_everywhere() {
    rejects(
        &[
            b"GET / HTTP/1.1\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
            b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
        ParseError::NewLine,
    );
    rejects(
        &[b"GET / HTTP/1.1\n", b"GET / HTTP/1.0\n"],
        ParseError::NewLine,
    );
}

#[test]
fn header_name_not_a_token_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\"x\": 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX\x00: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nH\xc3\xa9: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX/Y: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        ],
        ParseError::HeaderName,
    );
}

// Request-line errors.

#[test]
fn method_not_a_token_is_400() {
    rejects(
        &[
            b"G(T / HTTP/1.1\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b" GET / HTTP/1.1\r\n",
            b"GET\t/ HTTP/1.1\r\n",
            b"G\xc3\x89T / HTTP/1.1\r\n",
            b"/ HTTP/1.1\r\n",
        ],
        ParseError::Method,
    );
}

#[test]
fn request_line_spacing_is_exactly_one_sp() {
    rejects(
        &[b"GET  / HTTP/1.1\r\n", b"GET \t/ HTTP/1.1\r\n"],
        ParseError::Target,
    );
    rejects(
        &[b"GET /  HTTP/1.1\r\n", b"GET / HTTP/1.1 \r\n"],
        ParseError::Version,
    );
}

#[test]
fn target_invalid_is_400() {
    let targets: &[&[u8]] = &[
        b"/a#fragment",
        b"/\x7f",
        b"/caf\xc3\xa9",
        b"/a\tb",
        b"/a\x00",
        b"relative",
        b"ftp://example.com/",
        b"http:/x",
        b"*x",
        b"**",
        b"example.com:443",
    ];
    for target in targets {
        let buf = [b"GET ", *target, b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
        rejects(&[&buf], ParseError::Target);
    }
}

#[test]
fn absolute_form_with_bad_authority_is_400() {
    let targets: &[&[u8]] = &[
        b"http:///path",
        b"http://",
        b"http://user@host/",
        b"http://host:port/",
        b"http://:80/",
        b"http://[::1/",
    ];
    for target in targets {
        let buf = [b"GET ", *target, b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
        let err = parse(&buf).map(|_| ()).unwrap_err();
        assert!(
            matches!(err, ParseError::InvalidHost | ParseError::Target),
            "{}",
            show(target)
        );
        assert_eq!(err.status(), 400);
    }
}

#[test]
fn asterisk_without_options_is_400() {
    rejects(
        &[
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            b"PRI * HTTP/1.1\r\n\r\n",
        ],
        ParseError::AsteriskNotOptions,
    );
}

#[test]
fn version_bad_syntax_is_400() {
    let versions: &[&[u8]] = &[
        b"HTTP/1",
        b"HTTP/1.1.1",
        b"http/1.1",
        b"HTTP/11",
        b"HTTP/1.10",
        b"HTTP/a.1",
        b"HTTP/1.a",
        b"HTTPS/1.1",
        b"HTTP/+1.1",
        b"HTTP/1,1",
    ];
    for version in versions {
        let buf = [b"GET / ", *version, b"\r\nHost: a\r\n\r\n"].concat();
        rejects(&[&buf], ParseError::Version);
    }
}

#[test]
fn version_major_other_than_1_is_505() {
    for version in [&b"HTTP/2.0"[..], b"HTTP/3.1", b"HTTP/0.9", b"HTTP/9.9"] {
        let buf = [b"GET / ", version, b"\r\nHost: a\r\n\r\n"].concat();
        rejects(&[&buf], ParseError::VersionNotSupported);
    }
}

/// The HTTP/2 connection preface (RFC 9113 §3.4) gets 505; see the module docs.
#[test]
fn http2_preface_is_505() {
    rejects(
        &[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
        ParseError::VersionNotSupported,
    );
}

/// CONNECT asks for a tunnel, which this server does not provide; see the module docs.
#[test]
fn connect_is_501() {
    rejects(
        &[
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            b"CONNECT ",
        ],
        ParseError::ConnectUnsupported,
    );
    assert_eq!(ParseError::ConnectUnsupported.status(), 501);
}

#[test]
fn host_missing_on_http_11_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET http://a/ HTTP/1.1\r\nX: 1\r\n\r\n",
        ],
        ParseError::MissingHost,
    );
}

#[test]
fn host_twice_is_400() {
    rejects(
        &[
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n",
            b"GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n",
        ],
        ParseError::DuplicateHost,
    );
}

#[test]
fn host_invalid_is_400() {
    let values: &[&[u8]] = &[
        b"a b",
        b"user@a",
        b"a:b",
        b"a:1:2",
        b"[::1",
        b"[]",
        b"a/b",
        b"a%2",
        b"a%zz",
        b"\xc3\xa9",
        b"a,b:80x",
    ];
    for value in values {
        let buf = [b"GET / HTTP/1.1\r\nHost: ", *value, b"\r\n\r\n"].concat();
        rejects(&[&buf], ParseError::InvalidHost);
    }
}

// Limits, at and one past each.

#[test]
fn target_at_max_target_is_accepted() {
    let limits = Limits {
        max_target: 64,
        ..Limits::default()
    };
    let target = format!("/{}", "a".repeat(63));
    let buf = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        head_with(buf.as_bytes(), &limits).target(buf.as_bytes()),
        target.as_bytes()
    );
}

#[test]
fn target_past_max_target_is_414_even_when_partial() {
    let limits = Limits {
        max_target: 64,
        ..Limits::default()
    };
    let target = format!("/{}?{}", "a".repeat(32), "q".repeat(31));
    let buf = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
    let err = parse_request_head(buf.as_bytes(), &limits).map(|_| ());
    assert_eq!(err, Err(ParseError::TargetTooLong));
    assert_eq!(ParseError::TargetTooLong.status(), 414);
    // Known as soon as the 65th octet of the target arrives.
    let partial = &buf.as_bytes()[..4 + 65];
    assert_eq!(
        parse_request_head(partial, &limits).map(|_| ()),
        Err(ParseError::TargetTooLong)
    );
    assert_eq!(
        parse_request_head(&partial[..68], &limits),
        Ok(Status::Partial)
    );
}

#[test]
fn target_of_8000_octets_works_with_the_default_limits() {
    let target = format!("/{}", "x".repeat(7999));
    let buf = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
    let Ok(Status::Complete(h)) = parse(buf.as_bytes()) else {
        panic!()
    };
    assert_eq!(h.target(buf.as_bytes()).len(), 8000);
    let limits = Limits::default();
    let at_limit = format!(
        "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
        "x".repeat(limits.max_target - 1)
    );
    assert!(matches!(
        parse(at_limit.as_bytes()),
        Ok(Status::Complete(_))
    ));
    let past = format!(
        "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
        "x".repeat(limits.max_target)
    );
    assert_eq!(
        parse(past.as_bytes()).map(|_| ()),
        Err(ParseError::TargetTooLong)
    );
}

/// A head of `len` bytes: a request line, Host, and one padding field.
fn head_of_len(len: usize) -> Vec<u8> {
    let fixed = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
    format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "v".repeat(len - fixed)
    )
    .into_bytes()
}

#[test]
fn head_at_max_head_is_accepted() {
    let limits = Limits {
        max_head: 256,
        ..Limits::default()
    };
    let buf = head_of_len(256);
    assert_eq!(head_with(&buf, &limits).len(), 256);
    // Followed by a pipelined request: only the first `max_head` bytes matter.
    let two = [&buf[..], &buf[..]].concat();
    assert_eq!(
        parse_request_head(&two, &limits).map(|s| matches!(s, Status::Complete(_))),
        Ok(true)
    );
}

#[test]
fn head_past_max_head_is_431_even_when_partial() {
    let limits = Limits {
        max_head: 256,
        ..Limits::default()
    };
    let buf = head_of_len(257);
    assert_eq!(
        parse_request_head(&buf, &limits).map(|_| ()),
        Err(ParseError::HeadTooLarge)
    );
    assert_eq!(
        parse_request_head(&buf[..256], &limits).map(|_| ()),
        Err(ParseError::HeadTooLarge)
    );
    assert_eq!(
        parse_request_head(&buf[..255], &limits),
        Ok(Status::Partial)
    );
    assert_eq!(ParseError::HeadTooLarge.status(), 431);
}

#[test]
fn headers_at_max_headers_are_accepted() {
    let limits = Limits {
        max_headers: 5,
        ..Limits::default()
    };
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert_eq!(head_with(buf, &limits).header_count(), 5);
}

#[test]
fn headers_past_max_headers_are_431_even_when_partial() {
    let limits = Limits {
        max_headers: 5,
        ..Limits::default()
    };
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
    assert_eq!(
        parse_request_head(buf, &limits).map(|_| ()),
        Err(ParseError::TooManyHeaders)
    );
    let partial = &buf[..buf.len() - 7];
    assert!(partial.ends_with(b"\r\nE"));
    assert_eq!(
        parse_request_head(partial, &limits).map(|_| ()),
        Err(ParseError::TooManyHeaders)
    );
    assert_eq!(ParseError::TooManyHeaders.status(), 431);
}

#[test]
fn default_limits_are_documented_values() {
    let limits = Limits::default();
    assert_eq!(
        (limits.max_target, limits.max_head, limits.max_headers),
        (8192, 16384, 100)
    );
}

// Partial input.

#[test]
fn errors_are_reported_before_the_head_is_complete() {
    let cases: &[(&[u8], ParseError)] = &[
        (b"GET /\x00", ParseError::Target),
        (b"GET / HTTX", ParseError::Version),
        (b"GET / HTTP/2.0", ParseError::VersionNotSupported),
        (b"GET / HTTP/1.1\r\nA(b", ParseError::HeaderName),
        (b"GET / HTTP/1.1\r\nA b", ParseError::WhitespaceBeforeColon),
        (b"GET / HTTP/1.1\r\nA: \x01", ParseError::HeaderValue),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n",
            ParseError::TransferEncodingHttp10,
        ),
    ];
    for &(buf, err) in cases {
        assert_eq!(parse(buf).map(|_| ()), Err(err), "{}", show(buf));
    }
}

#[test]
fn incomplete_heads_are_partial_not_errors() {
    let cases: &[&[u8]] = &[
        b"",
        b"G",
        b"GET",
        b"GET ",
        b"GET /a?b",
        b"GET / H",
        b"GET / HTTP/1.",
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r",
        b"GET / HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\nHost",
        b"GET / HTTP/1.1\r\nHost:",
        b"GET / HTTP/1.1\r\nHost: a",
        b"GET / HTTP/1.1\r\nHost: a\r",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r",
        b"\r\n",
        b"\r",
    ];
    for case in cases {
        assert_eq!(parse(case), Ok(Status::Partial), "{}", show(case));
    }
}

// The error type.

#[test]
fn parse_error_maps_to_one_status_each() {
    use ParseError::*;
    let all = [
        (Method, 400),
        (Target, 400),
        (AsteriskNotOptions, 400),
        (Version, 400),
        (NewLine, 400),
        (EmptyLines, 400),
        (LeadingWhitespace, 400),
        (ObsFold, 400),
        (HeaderName, 400),
        (WhitespaceBeforeColon, 400),
        (HeaderValue, 400),
        (MissingHost, 400),
        (DuplicateHost, 400),
        (InvalidHost, 400),
        (InvalidContentLength, 400),
        (ConflictingContentLength, 400),
        (ContentLengthAndTransferEncoding, 400),
        (TransferEncodingHttp10, 400),
        (InvalidTransferEncoding, 400),
        (ChunkedNotLast, 400),
        (TargetTooLong, 414),
        (ExpectationFailed, 417),
        (HeadTooLarge, 431),
        (TooManyHeaders, 431),
        (UnsupportedTransferCoding, 501),
        (ConnectUnsupported, 501),
        (VersionNotSupported, 505),
    ];
    for (err, status) in all {
        assert_eq!(err.status(), status, "{err:?}");
        assert!(!err.description().is_empty());
        assert_eq!(err.to_string(), err.description());
    }
}

#[test]
fn parse_result_stays_small() {
    assert_eq!(std::mem::size_of::<ParseError>(), 1);
    assert!(std::mem::size_of::<Result<Status<usize>, ParseError>>() <= 16);
}

#[test]
fn accessors_with_a_foreign_buffer_do_not_panic() {
    let buf = b"PURGE /long/path?query HTTP/1.1\r\nHost: example\r\n\r\n";
    let h = head(buf);
    let short = b"x";
    assert_eq!(h.target(short), b"");
    assert_eq!(h.query(short), Some(&b""[..]));
    assert_eq!(h.method_bytes(short), b"");
    assert_eq!(h.header(short, b"host"), None);
    assert_eq!(h.headers(short).next(), Some((&b""[..], &b""[..])));
}
