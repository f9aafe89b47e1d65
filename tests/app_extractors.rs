//! The extractor contract: `Option<T>` is `None` only when the input is absent (a malformed,
//! too large or refused input is still answered), `Result<T, Rejection>` hands every rejection
//! to the handler, and head extractors run before the body extractor, which may only be last
//! (the compile-time half is in the `FromRequest`/`FromRequestParts` doctests).
#![cfg(feature = "openapi")]

use nanoapi::app::{App, BodyLimit, HttpException, IntoResponse, Json, Path, Query, Rejection};
use nanoapi::openapi::security::{CredentialsOf, Denied, HTTPBearer, Security, SecurityScheme};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct Item {
    name: String,
}

async fn maybe_item(item: Option<Json<Item>>) -> String {
    match item {
        Some(Json(item)) => format!("item {}", item.name),
        None => "no item".to_owned(),
    }
}

#[test]
fn an_optional_body_is_none_only_when_absent() {
    let client = App::new()
        .add_middleware(BodyLimit::new(64))
        .post("/items", maybe_item)
        .test_client();
    assert_eq!(client.post("/items").send().text(), "no item");
    let sent = client
        .post("/items")
        .json(&Item { name: "a".into() })
        .send();
    assert_eq!(sent.text(), "item a");

    let malformed = client
        .post("/items")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send();
    assert_eq!(malformed.status(), 422);
    assert!(
        malformed.text().contains("json_invalid"),
        "{}",
        malformed.text()
    );

    let wrong_type = client
        .post("/items")
        .json(&serde_json::json!({"name": 5}))
        .send();
    assert_eq!(wrong_type.status(), 422);
    assert!(
        wrong_type.text().contains("string_type"),
        "{}",
        wrong_type.text()
    );

    let too_large = client
        .post("/items")
        .json(&Item {
            name: "x".repeat(100),
        })
        .send();
    assert_eq!(too_large.status(), 413);
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Page {
    page: u32,
}

async fn maybe_page(page: Option<Query<Page>>) -> String {
    match page {
        Some(Query(p)) => format!("page {}", p.page),
        None => "first page".to_owned(),
    }
}

#[test]
fn an_optional_head_extractor_is_none_only_when_absent() {
    let client = App::new().get("/list", maybe_page).test_client();
    assert_eq!(client.get("/list").send().text(), "first page");
    assert_eq!(client.get("/list?page=3").send().text(), "page 3");
    let malformed = client.get("/list?page=three").send();
    assert_eq!(malformed.status(), 422);
    assert!(
        malformed.text().contains("int_parsing"),
        "{}",
        malformed.text()
    );
}

/// A bearer token that must be "good".
struct GoodToken;

impl SecurityScheme for GoodToken {
    type Scheme = HTTPBearer;
    const SCHEME: HTTPBearer = HTTPBearer::new();

    async fn check(credentials: &CredentialsOf<Self>) -> Result<(), Denied> {
        match credentials.credentials.as_str() {
            "good" => Ok(()),
            _ => Err(Denied::Unauthenticated),
        }
    }
}

async fn whoami(token: Option<Security<GoodToken>>) -> String {
    match token {
        Some(_) => "holder of a good token".to_owned(),
        None => "anonymous".to_owned(),
    }
}

#[test]
fn optional_credentials_are_none_when_missing_and_refused_when_bad() {
    let client = App::new().get("/me", whoami).test_client();
    assert_eq!(client.get("/me").send().text(), "anonymous");
    // Malformed (not a bearer token): missing, as FastAPI's auto_error=False.
    let basic = client
        .get("/me")
        .header("authorization", "Basic eDp5")
        .send();
    assert_eq!(basic.text(), "anonymous");
    let good = client
        .get("/me")
        .header("authorization", "Bearer good")
        .send();
    assert_eq!(good.text(), "holder of a good token");
    let bad = client
        .get("/me")
        .header("authorization", "Bearer bad")
        .send();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.text(),
        r#"{"detail":"Invalid authentication credentials"}"#
    );
}

async fn lenient(
    Path(id): Path<u32>,
    body: Result<Json<Item>, Rejection>,
) -> Result<String, HttpException> {
    match body {
        Ok(Json(item)) => Ok(format!("{id}: {}", item.name)),
        Err(rejection) if rejection.is_missing() => Ok(format!("{id}: unnamed")),
        Err(rejection) => {
            // Passed on, it is the answer the handler would have had without `Result`.
            let resp = rejection.into_response();
            Err(HttpException::new(resp.status(), "bad item"))
        }
    }
}

async fn strict(Path(id): Path<u32>, Json(item): Json<Item>) -> String {
    format!("{id}: {}", item.name)
}

#[test]
fn a_result_extractor_hands_every_rejection_to_the_handler() {
    let client = App::new()
        .post("/lenient/{id}", lenient)
        .post("/strict/{id}", strict)
        .test_client();
    let item = Item { name: "a".into() };
    assert_eq!(client.post("/lenient/1").json(&item).send().text(), "1: a");
    assert_eq!(client.post("/lenient/1").send().text(), "1: unnamed");
    let bad = client
        .post("/lenient/1")
        .json(&serde_json::json!([]))
        .send();
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.text(), r#"{"detail":"bad item"}"#);
    // The path is still validated before the handler runs, with the body's errors gathered
    // only where the body is not handled by the handler.
    assert_eq!(client.post("/lenient/x").json(&item).send().status(), 422);
    let strict_errors = client.post("/strict/x").send().text();
    assert!(
        strict_errors.contains(r#"["path","id"]"#),
        "{strict_errors}"
    );
    assert!(strict_errors.contains(r#"["body"]"#), "{strict_errors}");
}
