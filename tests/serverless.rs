//! Serverless adapters: events of each kind (fixtures written from the AWS documentation's
//! shapes) to requests, and responses to each kind's JSON.
#![cfg(feature = "serverless")]

use bytes::Bytes;
use nanoapi::executor::block_on;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};
use nanoapi::serverless::{EventKind, Invocation, ServerlessResponse, handle};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/serverless/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn invocation(name: &str) -> Invocation {
    Invocation::from_event(&fixture(name)).unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// Answers with what it saw (method, target, fields, body) as text, two cookies and a repeated
/// field; `/images/logo.png` with PNG bytes; `/panic` panics; `/missing` is a 404.
async fn report(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let body = req.read_to_end().await?;
    match req.path() {
        b"/images/logo.png" => {
            let png = Bytes::from_static(&[0x89, b'P', b'N', b'G', 0, 0xff]);
            return w
                .send(Response::bytes(StatusCode::OK, "image/png", png))
                .await;
        }
        b"/panic" => panic!("the handler failed"),
        b"/missing" => {
            return w
                .send(Response::text(StatusCode::NOT_FOUND, "nothing"))
                .await;
        }
        _ => {}
    }
    let mut seen = format!(
        "{} {}\n",
        String::from_utf8_lossy(req.method_bytes()),
        String::from_utf8_lossy(req.target())
    );
    for (name, value) in req.headers() {
        seen += &format!(
            "{}: {}\n",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value)
        );
    }
    seen += &format!("body: {:?}", String::from_utf8_lossy(&body));
    let response = Response::text(StatusCode::CREATED, seen)
        .header("set-cookie", "a=1; Path=/")?
        .header("set-cookie", "b=2")?
        .header("x-multi", "one")?
        .header("x-multi", "two")?;
    w.send(response).await
}

fn served(invocation: Invocation) -> Value {
    let response = block_on(handle(&(), &report, invocation)).unwrap();
    let mut json: Value = serde_json::from_slice(&response.to_json()).unwrap();
    // The Date changes every second.
    for key in ["headers", "multiValueHeaders"] {
        if let Some(Value::Object(headers)) = json.get_mut(key) {
            assert!(
                headers.remove("Date").is_some(),
                "a Date field: {headers:?}"
            );
        }
    }
    json
}

#[test]
fn http_api_v2_decodes_cookies_query_and_base64_body() {
    let invocation = invocation("http-api-v2.json");
    assert_eq!(invocation.kind, EventKind::HttpApiV2);
    assert_eq!(invocation.method, "POST");
    assert_eq!(
        invocation.target,
        "/my/path?parameter1=value1&parameter1=value2&parameter2=value"
    );
    assert_eq!(
        invocation.headers,
        fields(&[
            ("header1", "value1"),
            ("header2", "value1,value2"),
            ("host", "abcdefg.execute-api.us-east-1.amazonaws.com"),
            ("cookie", "cookie1=a; cookie2=b"),
        ])
    );
    assert_eq!(invocation.body, "Hello from Lambda");
}

#[test]
fn http_api_v2_response_has_cookies_and_joined_headers() {
    let json = served(invocation("http-api-v2.json"));
    assert_eq!(
        json,
        json!({
            "statusCode": 201,
            "headers": {
                "Server": "nanoapi",
                "Content-Type": "text/plain; charset=utf-8",
                "x-multi": "one, two",
            },
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "POST /my/path?parameter1=value1&parameter1=value2&parameter2=value\n\
                     header1: value1\n\
                     header2: value1,value2\n\
                     host: abcdefg.execute-api.us-east-1.amazonaws.com\n\
                     cookie: cookie1=a; cookie2=b\n\
                     Content-Length: 17\n\
                     body: \"Hello from Lambda\"",
            "isBase64Encoded": false,
        })
    );
}

#[test]
fn function_url_binary_responses_are_base64() {
    let invocation = invocation("function-url.json");
    assert_eq!(
        (invocation.kind, invocation.target.as_str()),
        (EventKind::HttpApiV2, "/images/logo.png")
    );
    assert!(invocation.body.is_empty());
    let json = served(invocation);
    assert_eq!(
        json,
        json!({
            "statusCode": 200,
            "headers": {"Server": "nanoapi", "Content-Type": "image/png"},
            "cookies": [],
            "body": "iVBORwD/",
            "isBase64Encoded": true,
        })
    );
}

#[test]
fn rest_api_v1_uses_multi_value_headers_and_encodes_decoded_parameters() {
    let invocation = invocation("rest-api-v1.json");
    assert_eq!(invocation.kind, EventKind::RestApiV1);
    assert_eq!(invocation.method, "GET");
    assert_eq!(
        invocation.target,
        "/my/path?parameter1=value1&parameter1=value2&parameter2=a%20b%26c"
    );
    assert_eq!(
        invocation.headers,
        fields(&[
            ("header1", "value1"),
            ("header2", "value1"),
            ("header2", "value2")
        ])
    );
    assert_eq!(invocation.body, "Hello from Lambda!");
    let json = served(invocation);
    assert_eq!(json["statusCode"], 201);
    assert_eq!(
        json["multiValueHeaders"],
        json!({
            "Server": ["nanoapi"],
            "Content-Type": ["text/plain; charset=utf-8"],
            "set-cookie": ["a=1; Path=/", "b=2"],
            "x-multi": ["one", "two"],
        })
    );
    assert!(json.get("headers").is_none() && json.get("cookies").is_none());
    assert_eq!(json["isBase64Encoded"], false);
    assert!(
        json["body"]
            .as_str()
            .unwrap()
            .contains("header2: value1\nheader2: value2\n")
    );
}

#[test]
fn alb_single_value_keeps_raw_query_and_describes_the_status() {
    let invocation = invocation("alb.json");
    assert_eq!(invocation.kind, EventKind::Alb);
    assert_eq!(invocation.target, "/lambda?query=1234ABCD");
    assert_eq!(invocation.headers.len(), 12);
    let json = served(invocation);
    assert_eq!(json["statusCode"], 201);
    assert_eq!(json["statusDescription"], "201 Created");
    assert_eq!(
        json["headers"]["set-cookie"], "b=2",
        "a single-value target keeps the last cookie"
    );
    assert_eq!(json["headers"]["x-multi"], "one, two");
    assert!(json.get("multiValueHeaders").is_none());
}

#[test]
fn alb_multi_value_decodes_repeated_fields_and_binary_bodies() {
    let invocation = invocation("alb-multi-value.json");
    assert_eq!(invocation.kind, EventKind::AlbMultiValue);
    assert_eq!(invocation.method, "PUT");
    assert_eq!(invocation.target, "/lambda?myKey=val1&myKey=val2&q=a%20b");
    assert_eq!(
        invocation.headers,
        fields(&[
            ("content-type", "application/octet-stream"),
            ("cookie", "name1=value1"),
            ("cookie", "name2=value2"),
            ("host", "lambda-alb-123578498.us-east-1.elb.amazonaws.com"),
            ("x-forwarded-for", "72.12.164.125"),
        ])
    );
    assert_eq!(invocation.body, Bytes::from_static(&[0, 1, 2, 3]));
    let json = served(invocation);
    assert_eq!(json["statusDescription"], "201 Created");
    assert_eq!(
        json["multiValueHeaders"]["set-cookie"],
        json!(["a=1; Path=/", "b=2"])
    );
    assert!(json.get("headers").is_none());
}

#[test]
fn events_that_are_not_http_are_refused() {
    for event in [
        fixture("scheduled-event.json"),
        b"not json".to_vec(),
        b"{}".to_vec(),
    ] {
        let err = Invocation::from_event(&event).unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    }
    let bad_base64 =
        br#"{"httpMethod": "GET", "path": "/", "body": "%%%", "isBase64Encoded": true}"#;
    assert!(Invocation::from_event(bad_base64).is_err());
}

#[test]
fn a_header_that_would_split_the_request_is_a_400() {
    let mut invocation = invocation("rest-api-v1.json");
    invocation
        .headers
        .push(("x-evil".into(), "a\r\nx-injected: 1".into()));
    let response = block_on(handle(&(), &report, invocation)).unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.body(), "Bad Request");
}

#[test]
fn errors_keep_their_status_and_panics_are_errors() {
    let mut missing = invocation("rest-api-v1.json");
    missing.target = "/missing".into();
    let response = block_on(handle(&(), &report, missing)).unwrap();
    assert_eq!(
        (response.status(), &response.body()[..]),
        (404, &b"nothing"[..])
    );

    let mut panics = invocation("http-api-v2.json");
    panics.target = "/panic".into();
    let err = block_on(handle(&(), &report, panics)).unwrap_err();
    assert!(
        err.to_string()
            .contains("dispatch panicked: the handler failed"),
        "{err}"
    );
}

#[test]
fn head_requests_keep_their_length_and_lose_their_body() {
    let mut head = invocation("rest-api-v1.json");
    head.method = "HEAD".into();
    let response = block_on(handle(&(), &report, head)).unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.body().is_empty());
    let json: Value = serde_json::from_slice(&response.to_json()).unwrap();
    assert_eq!(json["body"], "");
    assert_eq!(json["isBase64Encoded"], false);
}

#[test]
fn the_streaming_prelude_is_json_then_eight_nul_bytes() {
    let response = ServerlessResponse::new(
        EventKind::HttpApiV2,
        200,
        vec![
            ("content-type".into(), "text/event-stream".into()),
            ("set-cookie".into(), "s=1".into()),
            ("transfer-encoding".into(), "chunked".into()),
        ],
        Bytes::new(),
    );
    let prelude = response.streaming_prelude();
    let (json, delimiter) = prelude.split_at(prelude.len() - 8);
    assert_eq!(delimiter, [0; 8]);
    let json: Value = serde_json::from_slice(json).unwrap();
    assert_eq!(
        json,
        json!({"statusCode": 200, "headers": {"content-type": "text/event-stream"}, "cookies": ["s=1"]})
    );
}
