//! State reaching handlers, dependencies and security checks: `App::build` refuses a handler
//! whose state was never registered; a dependency (an extractor built from other extractors
//! and the state, FastAPI's `Depends`) and a security check read the state; and the server's
//! drain signal as a handler argument ends a long poll at shutdown, over real sockets on both
//! backends.
#![cfg(feature = "openapi")]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use nanoapi::app::{
    App, FromRequestParts, HttpException, OperationDoc, Query, Rejection, RequestContext,
    RequestParts, Route, State,
};
use nanoapi::executor::future::first_of;
use nanoapi::executor::time::sleep;
use nanoapi::http::StatusCode;
use nanoapi::openapi::DocumentExt;
use nanoapi::openapi::security::SecurityExt;
use nanoapi::openapi::security::{CredentialsOf, Denied, HTTPBearer, Security, SecurityScheme};
use nanoapi::server::{Options, Request, ShutdownSignal};
use serde::Deserialize;

/// Users by token: the database of a real service.
#[derive(Clone, Default)]
struct Users(Arc<HashMap<String, String>>);

fn users() -> Users {
    Users(Arc::new(HashMap::from([
        ("t-ada".to_owned(), "ada".to_owned()),
        ("t-bob".to_owned(), "bob".to_owned()),
    ])))
}

#[test]
fn build_refuses_a_handler_whose_state_was_never_registered() {
    async fn count(State(users): State<Users>) -> String {
        users.0.len().to_string()
    }
    let err = App::new().get("/count", count).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /count: the handler extracts `State<app_state::Users>`, which the app was never \
         given: register it with `App::state`"
    );
    let client = App::new().state(users()).get("/count", count).test_client();
    assert_eq!(client.get("/count").send().text(), "2");
}

/// The signed-in user: a dependency built from another extractor (`Query`) and the state.
struct CurrentUser(String);

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenParam {
    token: String,
}

impl FromRequestParts for CurrentUser {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_>,
    ) -> Result<Self, Rejection> {
        let Query(TokenParam { token }) = Query::from_request_parts(req, cx).await?;
        let users = cx
            .state::<Users>()
            .expect("declared in describe, so checked at build");
        match users.0.get(&token) {
            Some(name) => Ok(CurrentUser(name.clone())),
            None => Err(HttpException::new(StatusCode::UNAUTHORIZED, "unknown token").into()),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        Query::<TokenParam>::describe(doc);
        State::<Users>::describe(doc);
    }
}

async fn me(CurrentUser(name): CurrentUser) -> String {
    name
}

async fn read_doc(Security(token): Security<UserToken>) -> String {
    format!("read by {}", token.credentials)
}

async fn write_doc() -> &'static str {
    "written"
}

/// `/me` behind the `CurrentUser` dependency, `/doc` behind the `UserToken` check (as an
/// extractor for GET, as a route guard for POST), the users in the state.
fn users_app() -> App {
    App::new()
        .state(users())
        .get("/me", me)
        .get("/doc", read_doc)
        .route(Route::post("/doc", write_doc).security::<UserToken>())
}

#[test]
fn a_dependency_reads_other_extractors_and_the_state() {
    let err = App::new().get("/me", me).build().unwrap_err();
    assert!(err.to_string().contains("State<app_state::Users>"), "{err}");

    let client = users_app().test_client();
    assert_eq!(client.get("/me?token=t-ada").send().text(), "ada");
    let unknown = client.get("/me?token=nope").send();
    assert_eq!(unknown.status(), 401);
    assert_eq!(unknown.text(), r#"{"detail":"unknown token"}"#);
    // The dependency's own extractor validates as a handler argument would.
    assert_eq!(client.get("/me").send().status(), 422);
    // And documents its query parameter.
    let doc = client.service().openapi();
    assert_eq!(doc["paths"]["/me"]["get"]["parameters"][0]["name"], "token");
}

/// A bearer token checked against the users in the state.
struct UserToken;

impl SecurityScheme for UserToken {
    type Scheme = HTTPBearer;
    const SCHEME: HTTPBearer = HTTPBearer::new();

    async fn check_request(
        token: &CredentialsOf<Self>,
        req: &Request,
        cx: &RequestContext<'_>,
    ) -> Result<(), Denied> {
        let users = cx.state::<Users>().ok_or(Denied::Unauthenticated)?;
        match users.0.get(&token.credentials) {
            // Only ada may write.
            Some(name) if req.method_bytes() == b"GET" || name == "ada" => Ok(()),
            Some(_) => Err(Denied::Forbidden),
            None => Err(Denied::Unauthenticated),
        }
    }
}

#[test]
fn a_security_check_reads_the_state_and_the_request_as_extractor_and_as_guard() {
    let client = users_app().test_client();
    let bearer = |token: &str| format!("Bearer {token}");
    let get = |token: &str| {
        client
            .get("/doc")
            .header("authorization", &bearer(token))
            .send()
    };
    let post = |token: &str| {
        client
            .post("/doc")
            .header("authorization", &bearer(token))
            .send()
    };
    assert_eq!(get("t-bob").text(), "read by t-bob");
    assert_eq!(get("t-eve").status(), 401);
    assert_eq!(post("t-ada").text(), "written");
    assert_eq!(post("t-bob").status(), 403);
    assert_eq!(post("t-eve").status(), 401);
}

#[test]
fn dependencies_and_security_checks_read_the_state_over_sockets() {
    for backend in common::backends() {
        let server = users_app()
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let addr = server.handle().local_addr();
        let exchange = |request: &str| {
            let mut stream = common::connect(addr);
            stream.write_all(request.as_bytes()).unwrap();
            let mut got = String::new();
            stream.read_to_string(&mut got).unwrap();
            got
        };
        let cases = [
            ("GET /me?token=t-ada", "", "200 OK", "ada"),
            (
                "GET /me?token=nope",
                "",
                "401 Unauthorized",
                r#"{"detail":"unknown token"}"#,
            ),
            ("GET /doc", "Bearer t-bob", "200 OK", "read by t-bob"),
            ("POST /doc", "Bearer t-ada", "200 OK", "written"),
            ("POST /doc", "Bearer t-bob", "403 Forbidden", ""),
            ("POST /doc", "Bearer t-eve", "401 Unauthorized", ""),
        ];
        for (line, authorization, status, body) in cases {
            let got = exchange(&format!(
                "{line} HTTP/1.1\r\nHost: t\r\nAuthorization: {authorization}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            ));
            assert!(
                got.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{backend:?} {line} {authorization}: {got}"
            );
            assert!(got.ends_with(body), "{backend:?} {line}: {got}");
        }
        server.shutdown_blocking();
    }
}

/// Tells the test that a request reached its handler.
#[derive(Clone)]
struct Started(std::sync::mpsc::Sender<()>);

/// A long poll: news after 60 s, or a "come back" as soon as the server drains.
async fn news(draining: ShutdownSignal, State(started): State<Started>) -> &'static str {
    let _ = started.0.send(());
    let wait = pin!(sleep(Duration::from_secs(60)));
    match first_of(wait, pin!(draining.raised())).await {
        Some(()) => "news",
        None => "draining: come back",
    }
}

#[test]
fn the_drain_signal_ends_a_long_poll_at_shutdown() {
    for backend in common::backends() {
        let (started, handler_started) = std::sync::mpsc::channel();
        let server = App::new()
            .state(Started(started))
            .get("/news", news)
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let mut stream = common::connect(server.handle().local_addr());
        stream
            .write_all(b"GET /news HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        handler_started
            .recv_timeout(Duration::from_secs(10))
            .unwrap();
        let began = std::time::Instant::now();
        // Read (and close) while the server drains, so that its lingering close ends at once.
        let reader = std::thread::spawn(move || {
            let mut got = String::new();
            stream.read_to_string(&mut got).map(|_| got)
        });
        server.shutdown_blocking();
        let got = reader.join().unwrap().unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{backend:?}: {got}");
        assert!(got.ends_with("draining: come back"), "{backend:?}: {got}");
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{:?}",
            began.elapsed()
        );
    }
}
