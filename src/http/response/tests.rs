//! Tests for the header list (order, case, validation policy) and the response constructors.

use super::*;

/// The fields of `headers` as `(name, value)` strings, in order.
fn fields(headers: &HeaderList) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

// Order, repetition and case.

#[test]
fn fields_keep_insertion_order_and_repeats() {
    let mut headers = HeaderList::new();
    headers.append("Set-Cookie", "a=1; Path=/").unwrap();
    headers.append("X-Id", "7").unwrap();
    headers.append("set-cookie", "b=2").unwrap();
    headers.append("SET-COOKIE", "c=3").unwrap();
    assert_eq!(
        fields(&headers),
        pairs(&[
            ("Set-Cookie", "a=1; Path=/"),
            ("X-Id", "7"),
            ("set-cookie", "b=2"),
            ("SET-COOKIE", "c=3"),
        ])
    );
    assert_eq!(headers.len(), 4);
    let cookies: Vec<&[u8]> = headers.get_all("Set-Cookie").collect();
    assert_eq!(cookies, [&b"a=1; Path=/"[..], b"b=2", b"c=3"]);
    assert_eq!(
        headers.iter().next_back(),
        Some((&b"SET-COOKIE"[..], &b"c=3"[..]))
    );
}

#[test]
fn lookup_ignores_ascii_case_only() {
    let mut headers = HeaderList::new();
    headers.append("Cache-Control", "no-store").unwrap();
    assert_eq!(headers.get("cache-control"), Some(&b"no-store"[..]));
    assert_eq!(headers.get(b"CACHE-CONTROL"), Some(&b"no-store"[..]));
    assert_eq!(
        headers.get(Bytes::from_static(b"cAcHe-CoNtRoL")),
        Some(&b"no-store"[..])
    );
    assert!(headers.contains("Cache-control"));
    assert!(!headers.contains("Cache_Control"));
    assert!(!headers.contains("Cache-Contro"));
    assert_eq!(headers.get("Vary"), None);
    assert_eq!(headers.get_all("Vary").count(), 0);
}

#[test]
fn insert_replaces_every_namesake_at_the_first_ones_place() {
    let mut headers = HeaderList::new();
    headers.append("A", "1").unwrap();
    headers.append("Set-Cookie", "x=1").unwrap();
    headers.append("B", "2").unwrap();
    headers.append("set-cookie", "x=2").unwrap();
    headers.append("C", "3").unwrap();
    headers.insert("SET-COOKIE", "x=3").unwrap();
    assert_eq!(
        fields(&headers),
        pairs(&[("A", "1"), ("SET-COOKIE", "x=3"), ("B", "2"), ("C", "3")])
    );
    // Absent: goes last.
    headers.insert("D", "4").unwrap();
    assert_eq!(fields(&headers).last(), Some(&("D".into(), "4".into())));
}

#[test]
fn remove_takes_every_namesake_and_counts_them() {
    let mut headers = HeaderList::new();
    headers.append("Vary", "Accept").unwrap();
    headers.append("A", "1").unwrap();
    headers.append("vary", "Origin").unwrap();
    assert_eq!(headers.remove("VARY"), 2);
    assert_eq!(headers.remove("Vary"), 0);
    assert_eq!(fields(&headers), pairs(&[("A", "1")]));
    headers.clear();
    assert!(headers.is_empty());
}

#[test]
fn server_and_upgrade_flags_follow_the_fields() {
    let mut headers = HeaderList::new();
    assert!(!headers.has_server() && !headers.has_upgrade());
    headers.append("server", "custom").unwrap();
    headers.append("UPGRADE", "websocket").unwrap();
    assert!(headers.has_server() && headers.has_upgrade());
    assert_eq!(headers.remove("Server"), 1);
    assert!(!headers.has_server() && headers.has_upgrade());
    headers.insert("Server", "again").unwrap();
    assert!(headers.has_server());
    // A refused field leaves the flags alone.
    assert!(headers.insert("Server", "bad\n").is_err());
    assert!(headers.has_server());
    headers.clear();
    assert!(!headers.has_server() && !headers.has_upgrade());
    // Names that merely start like them set nothing.
    headers.append("Server-Timing", "db;dur=53").unwrap();
    headers.append("Upgrade-Insecure-Requests", "1").unwrap();
    assert!(!headers.has_server() && !headers.has_upgrade());
}

// Storage.

#[test]
fn static_names_and_values_are_not_copied() {
    static NAME: &str = "X-Static";
    static VALUE: &str = "value";
    let mut headers = HeaderList::new();
    headers.append(NAME, VALUE).unwrap();
    let (name, value) = headers.iter().next().unwrap();
    assert_eq!(name.as_ptr(), NAME.as_ptr());
    assert_eq!(value.as_ptr(), VALUE.as_ptr());
}

#[test]
fn owned_names_and_values_are_taken_over() {
    let value = String::from("owned value");
    let at = value.as_ptr();
    let mut headers = HeaderList::new();
    headers.append(String::from("X-Owned"), value).unwrap();
    headers
        .append(vec![b'X', b'-', b'V'], b"v".to_vec())
        .unwrap();
    assert_eq!(headers.get("x-owned").unwrap().as_ptr(), at);
    assert_eq!(headers.get("x-v"), Some(&b"v"[..]));
}

#[test]
fn values_are_trimmed_of_surrounding_whitespace() {
    let mut headers = HeaderList::new();
    headers.append("A", "  x y\t").unwrap();
    headers.append("B", "\t \t").unwrap();
    headers.append("C", "").unwrap();
    headers.append("D", String::from(" owned ")).unwrap();
    assert_eq!(
        fields(&headers),
        pairs(&[("A", "x y"), ("B", ""), ("C", ""), ("D", "owned")])
    );
}

#[test]
fn obs_text_and_inner_whitespace_are_accepted() {
    let mut headers = HeaderList::new();
    headers
        .append(
            "Content-Disposition",
            "attachment; filename=\"\u{e9}t\u{e9}.txt\"",
        )
        .unwrap();
    headers.append("X-Bytes", &b"\x80\xff a\tb ~!"[..]).unwrap();
    assert_eq!(headers.get("x-bytes"), Some(&b"\x80\xff a\tb ~!"[..]));
}

// Validation.

#[test]
fn framing_and_connection_fields_are_refused_in_any_case() {
    let reserved = [
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Date",
        "Trailer",
    ];
    for name in reserved {
        for spelled in [
            name.to_owned(),
            name.to_ascii_lowercase(),
            name.to_ascii_uppercase(),
        ] {
            let mut headers = HeaderList::new();
            let err = headers.append(spelled.clone(), "1").unwrap_err();
            assert!(err.is_reserved(), "{spelled}");
            assert!(!err.is_invalid_name() && !err.is_invalid_value());
            assert_eq!(err.name(), spelled.as_bytes());
            assert!(err.to_string().contains(&spelled), "{err}");
            let err = headers.insert(spelled.clone(), "1").unwrap_err();
            assert!(err.is_reserved(), "{spelled}");
            assert!(headers.is_empty());
        }
    }
}

#[test]
fn fields_next_to_the_reserved_ones_are_allowed() {
    let mut headers = HeaderList::new();
    for name in [
        "Upgrade",
        "Server",
        "Content-Type",
        "Content-Encoding",
        "Content-Length2",
        "X-Content-Length",
        "Dates",
        "Trailers",
        "Proxy-Connection",
        "Keep-Alive-X",
        "TE",
    ] {
        headers
            .append(name, "x")
            .unwrap_or_else(|err| panic!("{err}"));
    }
}

#[test]
fn values_with_control_characters_are_refused() {
    let bad: &[&[u8]] = &[
        b"a\rb",
        b"a\nb",
        b"a\r\nX-Injected: 1",
        b"a\0b",
        b"\x01",
        b"a\x1fb",
        b"a\x7fb",
        b"a\x0bb",
        b"trailing\r\n",
        b"\n",
    ];
    for value in bad {
        let mut headers = HeaderList::new();
        let err = headers.append("X-Value", *value).unwrap_err();
        assert!(
            err.is_invalid_value(),
            "{:?}",
            value.escape_ascii().to_string()
        );
        assert_eq!(err.name(), b"X-Value");
        assert!(err.to_string().contains("X-Value"), "{err}");
        assert!(headers.is_empty());
    }
}

#[test]
fn names_that_are_not_tokens_are_refused() {
    let bad: &[&[u8]] = &[
        b"",
        b"X Name",
        b"X-Name:",
        b"X-Name ",
        b" X-Name",
        b"X\rName",
        b"X\nName",
        b"X\0Name",
        b"X(Name)",
        b"X\"Name\"",
        b"X/Name",
        b"X@Name",
        b"X\xe9",
        b"X-\x7f",
    ];
    for name in bad {
        let mut headers = HeaderList::new();
        let err = headers.append(*name, "x").unwrap_err();
        assert!(
            err.is_invalid_name(),
            "{:?}",
            name.escape_ascii().to_string()
        );
        assert_eq!(err.name(), *name);
        assert!(headers.is_empty());
    }
    // Every tchar is fine.
    HeaderList::new()
        .append("!#$%&'*+-.^_`|~09azAZ", "x")
        .unwrap();
}

#[test]
fn an_invalid_name_is_reported_before_a_bad_value() {
    let err = HeaderList::new().append("a b", "\r\n").unwrap_err();
    assert!(err.is_invalid_name());
}

#[test]
fn error_messages_name_the_field_and_escape_it() {
    let err = HeaderList::new().append("X\r\nY", "v").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid header name \"X\\r\\nY\": not a token"
    );
    let err = HeaderList::new().append("X-A", "v\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for header \"X-A\": contains CR, LF, NUL or another control character"
    );
    let err = HeaderList::new().append("date", "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "header \"date\" is written by the server from the body and the connection and cannot \
         be set"
    );
    assert_eq!(
        format!("{err:?}"),
        "HeaderError { kind: Reserved, name: \"date\" }"
    );
}

#[test]
fn valid_field_value_wants_no_surrounding_whitespace() {
    assert!(valid_field_value(b"nanoapi/0.1 (linux)"));
    assert!(valid_field_value(b""));
    assert!(!valid_field_value(b" nanoapi"));
    assert!(!valid_field_value(b"nanoapi\t"));
    assert!(!valid_field_value(b"nano\napi"));
}

// Responses and bodies.

#[test]
fn constructors_set_content_type_and_body() {
    let cases = [
        (
            Response::text(StatusCode::OK, "hi"),
            "text/plain; charset=utf-8",
            2,
        ),
        (
            Response::html(StatusCode::OK, String::from("<p>")),
            "text/html; charset=utf-8",
            3,
        ),
        (
            Response::json_bytes(StatusCode::CREATED, Bytes::from_static(b"{}")),
            "application/json",
            2,
        ),
        (
            Response::bytes(StatusCode::OK, " image/png ", Bytes::from_static(b"PNG")),
            "image/png",
            3,
        ),
    ];
    for (resp, content_type, len) in cases {
        assert_eq!(
            fields(resp.headers()),
            pairs(&[("Content-Type", content_type)])
        );
        assert_eq!(resp.body().len(), Some(len));
    }
    for resp in [
        Response::new(StatusCode::NO_CONTENT),
        Response::empty(StatusCode::NO_CONTENT),
    ] {
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp.headers().is_empty());
        assert!(matches!(resp.body(), Body::Empty));
    }
}

#[test]
#[should_panic(expected = "invalid Content-Type")]
fn bytes_refuses_a_content_type_with_a_newline() {
    let _ = Response::bytes(StatusCode::OK, "text/plain\r\nX-Injected: 1", Bytes::new());
}

#[test]
fn header_chains_and_stops_at_the_first_error() {
    let resp = Response::new(StatusCode::OK)
        .header("A", "1")
        .and_then(|r| r.header("B", "2"))
        .unwrap();
    assert_eq!(fields(resp.headers()), pairs(&[("A", "1"), ("B", "2")]));
    let err = Response::new(StatusCode::OK)
        .header("A", "1")
        .and_then(|r| r.header("Content-Length", "2"))
        .unwrap_err();
    assert_eq!(err.name(), b"Content-Length");
}

#[test]
fn setters_and_parts() {
    let mut resp = Response::text(StatusCode::OK, "a");
    resp.set_status(StatusCode::ACCEPTED);
    resp.set_body("longer");
    resp.headers_mut().append("X-A", "1").unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.body().len(), Some(6));
    let (status, headers, body) = resp.into_parts();
    assert_eq!(headers.len(), 2);
    let resp = Response::from_parts(status, headers, body);
    assert_eq!(resp.headers().get("x-a"), Some(&b"1"[..]));
}

/// A stream that never yields: bodies only need one to exist.
struct Pending;

impl Stream for Pending {
    type Item = io::Result<Bytes>;

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<Bytes>>> {
        std::task::Poll::Pending
    }
}

#[test]
fn body_lengths() {
    let cases: [(Body, Option<u64>); 8] = [
        (Body::Empty, Some(0)),
        (Body::default(), Some(0)),
        (Body::Bytes(Bytes::new()), Some(0)),
        (Body::from(Bytes::from_static(b"abc")), Some(3)),
        (Body::from(&b"abcd"[..]), Some(4)),
        (Body::from("é"), Some(2)),
        (Body::from(vec![0; 1000]), Some(1000)),
        (Body::stream(Pending), None),
    ];
    for (body, len) in cases {
        assert_eq!(body.len(), len, "{body:?}");
        assert_eq!(body.is_empty(), len.map(|n| n == 0), "{body:?}");
        assert_eq!(body.as_slice().map(|s| s.len() as u64), len);
    }
}

#[test]
fn debug_output_is_readable() {
    let resp = Response::text(StatusCode::NOT_FOUND, "no")
        .header("X-A", "1")
        .unwrap();
    assert_eq!(
        format!("{resp:?}"),
        "Response { status: 404 Not Found, headers: {\"Content-Type\": \"text/plain; \
         charset=utf-8\", \"X-A\": \"1\"}, body: Bytes(b\"no\") }"
    );
    assert_eq!(format!("{:?}", Body::stream(Pending)), "Stream(..)");
    assert_eq!(
        format!("{:?}", Body::Static(b"a\x01")),
        "Static(\"a\\x01\")"
    );
}

#[test]
fn header_error_stays_small() {
    // A `Result<(), HeaderError>` is returned on every append.
    assert!(std::mem::size_of::<HeaderError>() <= 40);
}
