//! Security schemes enforced: every scheme of the test app with credentials present, absent,
//! malformed and forbidden, exact status, `WWW-Authenticate` and body — through the test client
//! and over real sockets on both backends.
#![cfg(feature = "openapi")]

mod common;
mod openapi_app;

use std::io::{Read, Write};

use nanoapi::server::Options;

const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const INVALID: &str = r#"{"detail":"Invalid authentication credentials"}"#;
const FORBIDDEN: &str = r#"{"detail":"Not enough permissions"}"#;

/// One request and the answer it must get.
struct Case {
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    challenge: Option<&'static str>,
    body: &'static str,
}

const fn case(
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    challenge: Option<&'static str>,
    body: &'static str,
) -> Case {
    Case {
        target,
        headers,
        status,
        challenge,
        body,
    }
}

const APIKEY: Option<&str> = Some("APIKey");
const BEARER: Option<&str> = Some("Bearer");
const BASIC: Option<&str> = Some("Basic realm=\"tests\"");

// base64("ana:s3cret"), base64("guest:guest"), base64("ana:wrong"), base64("no-colon").
const ANA: &str = "Basic YW5hOnMzY3JldA==";
const GUEST: &str = "Basic Z3Vlc3Q6Z3Vlc3Q=";
const WRONG: &str = "Basic YW5hOndyb25n";
const NO_COLON: &str = "Basic bm8tY29sb24=";

const CASES: &[Case] = &[
    // API key in a header.
    case(
        "/secure/header",
        &[("X-API-Key", "good-key")],
        200,
        None,
        "header key 8",
    ),
    case("/secure/header", &[], 401, APIKEY, NOT_AUTHENTICATED),
    case(
        "/secure/header",
        &[("X-API-Key", "")],
        401,
        APIKEY,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/header",
        &[("X-API-Key", "bad")],
        401,
        APIKEY,
        INVALID,
    ),
    case(
        "/secure/header",
        &[("X-API-Key", "forbidden-key")],
        403,
        None,
        FORBIDDEN,
    ),
    // API key in the query (last value wins, as in FastAPI, decoded).
    case(
        "/secure/query?api_key=x&api_key=good%2Dkey",
        &[],
        200,
        None,
        "query key 8",
    ),
    case("/secure/query", &[], 401, APIKEY, NOT_AUTHENTICATED),
    case(
        "/secure/query?api_key=",
        &[],
        401,
        APIKEY,
        NOT_AUTHENTICATED,
    ),
    case("/secure/query?api_key=bad", &[], 401, APIKEY, INVALID),
    case(
        "/secure/query?api_key=forbidden-key",
        &[],
        403,
        None,
        FORBIDDEN,
    ),
    // API key in a cookie.
    case(
        "/secure/cookie",
        &[("Cookie", "a=1; session_key=good-key")],
        200,
        None,
        "cookie key 8",
    ),
    case(
        "/secure/cookie",
        &[("Cookie", "a=1")],
        401,
        APIKEY,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/cookie",
        &[("Cookie", "session_key=bad")],
        401,
        APIKEY,
        INVALID,
    ),
    case(
        "/secure/cookie",
        &[("Cookie", "session_key=forbidden-key")],
        403,
        None,
        FORBIDDEN,
    ),
    // HTTP Bearer: the scheme is case-insensitive; the token is trimmed (FastAPI's
    // get_authorization_scheme_param), so two spaces after the scheme are accepted.
    case(
        "/secure/bearer",
        &[("Authorization", "bearer good-key")],
        200,
        None,
        "bearer 8",
    ),
    case(
        "/secure/bearer",
        &[("Authorization", "Bearer  good-key")],
        200,
        None,
        "bearer 8",
    ),
    case("/secure/bearer", &[], 401, BEARER, NOT_AUTHENTICATED),
    case(
        "/secure/bearer",
        &[("Authorization", "Bearer")],
        401,
        BEARER,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/bearer",
        &[("Authorization", "Token good-key")],
        401,
        BEARER,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/bearer",
        &[("Authorization", "Bearer bad")],
        401,
        BEARER,
        INVALID,
    ),
    case(
        "/secure/bearer",
        &[("Authorization", "Bearer forbidden-key")],
        403,
        None,
        FORBIDDEN,
    ),
    // HTTP Basic, with its realm in the challenge.
    case(
        "/secure/basic",
        &[("Authorization", ANA)],
        200,
        None,
        "basic ana",
    ),
    case("/secure/basic", &[], 401, BASIC, NOT_AUTHENTICATED),
    case(
        "/secure/basic",
        &[("Authorization", "Bearer good-key")],
        401,
        BASIC,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/basic",
        &[("Authorization", "Basic !!not-base64")],
        401,
        BASIC,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/basic",
        &[("Authorization", NO_COLON)],
        401,
        BASIC,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/basic",
        &[("Authorization", WRONG)],
        401,
        BASIC,
        INVALID,
    ),
    case(
        "/secure/basic",
        &[("Authorization", GUEST)],
        403,
        None,
        FORBIDDEN,
    ),
    // OAuth2 password bearer.
    case(
        "/secure/oauth2",
        &[("Authorization", "Bearer good-key")],
        200,
        None,
        "oauth2 8",
    ),
    case("/secure/oauth2", &[], 401, BEARER, NOT_AUTHENTICATED),
    case(
        "/secure/oauth2",
        &[("Authorization", "Basic good-key")],
        401,
        BEARER,
        NOT_AUTHENTICATED,
    ),
    case(
        "/secure/oauth2",
        &[("Authorization", "Bearer bad")],
        401,
        BEARER,
        INVALID,
    ),
    // FastAPI's OAuth2PasswordBearer hands an empty Bearer token to the check; the token is
    // trimmed, as for HTTP Bearer.
    case(
        "/secure/oauth2",
        &[("Authorization", "Bearer")],
        401,
        BEARER,
        INVALID,
    ),
    case(
        "/secure/oauth2",
        &[("Authorization", "Bearer  good-key")],
        200,
        None,
        "oauth2 8",
    ),
    case(
        "/secure/oauth2",
        &[("Authorization", "Bearer forbidden-key")],
        403,
        None,
        FORBIDDEN,
    ),
    // OpenID Connect: the whole value, checked by the application (no check here).
    case(
        "/secure/oidc",
        &[("Authorization", "Bearer abc")],
        200,
        None,
        "oidc 10",
    ),
    case("/secure/oidc", &[], 401, BEARER, NOT_AUTHENTICATED),
    // auto_error = false: `None` instead of an error.
    case(
        "/secure/optional",
        &[("Authorization", "Bearer abc")],
        200,
        None,
        "token 3",
    ),
    case("/secure/optional", &[], 200, None, "anonymous"),
    case(
        "/secure/optional",
        &[("Authorization", "Basic abc")],
        200,
        None,
        "anonymous",
    ),
    // Dependencies of a route and of a router run before the handler.
    case(
        "/secure/dependency",
        &[("X-API-Key", "good-key")],
        200,
        None,
        "stats",
    ),
    case("/secure/dependency", &[], 401, APIKEY, NOT_AUTHENTICATED),
    case(
        "/secure/dependency",
        &[("X-API-Key", "forbidden-key")],
        403,
        None,
        FORBIDDEN,
    ),
    case(
        "/admin/stats",
        &[("Authorization", ANA)],
        200,
        None,
        "stats",
    ),
    case("/admin/stats", &[], 401, BASIC, NOT_AUTHENTICATED),
    case(
        "/admin/stats",
        &[("Authorization", GUEST)],
        403,
        None,
        FORBIDDEN,
    ),
];

#[test]
fn every_scheme_through_the_test_client() {
    let client = openapi_app::app().test_client();
    for case in CASES {
        let mut request = client.get(case.target);
        for &(name, value) in case.headers {
            request = request.header(name, value);
        }
        let resp = request.send();
        let what = format!("GET {} {:?}", case.target, case.headers);
        assert_eq!(resp.status(), case.status, "{what}: {}", resp.text());
        assert_eq!(resp.header("www-authenticate"), case.challenge, "{what}");
        assert_eq!(resp.text(), case.body, "{what}");
        if case.status != 200 {
            assert_eq!(
                resp.header("content-type"),
                Some("application/json"),
                "{what}"
            );
        }
    }
}

#[test]
fn every_scheme_over_sockets_on_both_backends() {
    common::raise_fd_limit();
    for backend in common::backends() {
        let server = openapi_app::app()
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        // All cases pipelined on one connection, the last one closing it.
        let mut wire = String::new();
        for (i, case) in CASES.iter().enumerate() {
            wire.push_str(&format!("GET {} HTTP/1.1\r\nHost: x\r\n", case.target));
            for (name, value) in case.headers {
                wire.push_str(&format!("{name}: {value}\r\n"));
            }
            if i + 1 == CASES.len() {
                wire.push_str("Connection: close\r\n");
            }
            wire.push_str("\r\n");
        }
        let mut stream = common::connect(server.handle().local_addr());
        stream.write_all(wire.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        let responses: Vec<&str> = out.split("HTTP/1.1 ").skip(1).collect();
        assert_eq!(responses.len(), CASES.len(), "{backend:?}: {out}");
        for (case, resp) in CASES.iter().zip(responses) {
            let what = format!("{backend:?} GET {} {:?}", case.target, case.headers);
            assert!(resp.starts_with(&case.status.to_string()), "{what}: {resp}");
            let challenge = resp
                .lines()
                .find_map(|line| line.strip_prefix("WWW-Authenticate: "));
            assert_eq!(challenge, case.challenge, "{what}: {resp}");
            assert!(
                resp.ends_with(&format!("\r\n\r\n{}", case.body)),
                "{what}: {resp}"
            );
        }
        server.shutdown_blocking();
    }
}
