//! Errors in handlers: `?` on I/O, JSON and runtime errors answers FastAPI's 500 without
//! leaking the cause, a runtime error's own status is kept, and `Route::status` sets the
//! status of a route's successful answers as FastAPI's `status_code` does.
#![cfg(feature = "app")]

use std::io;

use nanoapi::app::{App, HttpException, Json, Query, Route};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::Request;
use serde::Deserialize;

const INTERNAL: &str = r#"{"detail":"Internal Server Error"}"#;

#[test]
fn question_mark_on_io_json_and_runtime_errors_is_a_500_that_leaks_nothing() {
    async fn io_failure() -> Result<String, HttpException> {
        Ok(std::fs::read_to_string("/nonexistent/secret-path")?)
    }
    async fn json_failure() -> Result<String, HttpException> {
        let value: serde_json::Value = serde_json::from_str("{not json")?;
        Ok(value.to_string())
    }
    async fn runtime_failure() -> Result<String, HttpException> {
        Err(nanoapi::Error::new("database password rejected"))?
    }
    async fn runtime_error_returned() -> Result<String, nanoapi::Error> {
        Err(io::Error::other("backend socket closed"))?
    }
    let client = App::new()
        .get("/io", io_failure)
        .get("/json", json_failure)
        .get("/runtime", runtime_failure)
        .get("/returned", runtime_error_returned)
        .test_client();
    for path in ["/io", "/json", "/runtime", "/returned"] {
        let resp = client.get(path).send();
        assert_eq!(resp.status(), 500, "{path}");
        assert_eq!(resp.text(), INTERNAL, "{path}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
    }
}

#[test]
fn a_runtime_error_keeps_its_status_with_the_reason_phrase_as_detail() {
    async fn fail(Query(q): Query<Code>) -> Result<&'static str, HttpException> {
        let status = StatusCode::from_u16(q.code).unwrap();
        Err(nanoapi::Error::with_status(status, "internal detail"))?
    }
    #[derive(Deserialize)]
    #[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
    struct Code {
        code: u16,
    }
    let client = App::new().get("/fail", fail).test_client();
    for (code, detail) in [
        (404, "Not Found"),
        (409, "Conflict"),
        (413, "Content Too Large"),
        (503, "Service Unavailable"),
    ] {
        let resp = client.get(&format!("/fail?code={code}")).send();
        assert_eq!(resp.status(), code);
        assert_eq!(resp.text(), format!(r#"{{"detail":"{detail}"}}"#));
    }
}

#[derive(Deserialize, serde::Serialize)]
#[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
struct Item {
    name: String,
}

async fn create(Json(item): Json<Item>) -> Result<Json<Item>, HttpException> {
    if item.name == "taken" {
        return Err(HttpException::new(StatusCode::CONFLICT, "Item exists"));
    }
    Ok(Json(item))
}

async fn accept_later() -> Response {
    Response::text(StatusCode::ACCEPTED, "queued")
}

async fn explicit_ok() -> Response {
    Response::text(StatusCode::OK, "ok")
}

#[test]
fn route_status_sets_the_status_of_successful_answers_only() {
    let client = App::new()
        .route(Route::post("/items", create).status(201).middleware(
            async |req: &mut Request, next| {
                let mut resp = next.run(req).await;
                // Route middleware sees the status the client will see.
                let seen = resp.status().as_u16().to_string();
                resp.headers_mut().append("x-seen-status", seen).unwrap();
                resp
            },
        ))
        .route(Route::post("/later", accept_later).status(201))
        .route(Route::get("/explicit", explicit_ok).status(201))
        .test_client();
    let created = client
        .post("/items")
        .json(&serde_json::json!({"name": "a"}))
        .send();
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("x-seen-status"), Some("201"));
    assert_eq!(created.text(), r#"{"name":"a"}"#);

    let conflict = client
        .post("/items")
        .json(&serde_json::json!({"name": "taken"}))
        .send();
    assert_eq!(conflict.status(), 409);
    assert_eq!(conflict.header("x-seen-status"), Some("409"));

    let invalid = client.post("/items").json(&serde_json::json!({})).send();
    assert_eq!(invalid.status(), 422);

    // A status the handler chose is kept, 200 included (FastAPI keeps a returned Response's).
    assert_eq!(client.post("/later").send().status(), 202);
    assert_eq!(client.get("/explicit").send().status(), 200);
}

async fn tuple_ok() -> Result<(StatusCode, Json<Item>), HttpException> {
    let item = Item {
        name: "kept".into(),
    };
    Ok((StatusCode::OK, Json(item)))
}

async fn text() -> &'static str {
    "made"
}

#[test]
fn route_status_replaces_the_200_of_bodies_and_of_fixed_routes_only() {
    let client = App::new()
        .route(Route::put("/tuple", tuple_ok).status(201))
        .route(Route::post("/text", text).status(201))
        .route(Route::get_static("/fixed", Response::text(StatusCode::OK, "f")).status(203))
        .test_client();
    assert_eq!(client.put("/tuple").send().status(), 200);
    assert_eq!(client.post("/text").send().status(), 201);
    let fixed = client.get("/fixed").send();
    assert_eq!((fixed.status(), fixed.text()), (203, "f".to_owned()));
    assert_eq!(client.head("/fixed").send().status(), 203);
}

#[test]
fn route_status_is_documented() {
    let service = App::new()
        .route(Route::post("/items", create).status(201))
        .build()
        .unwrap();
    let (_, _, doc) = service.operations().next().unwrap();
    assert_eq!(doc.status, Some(201));
}

#[test]
fn build_refuses_a_route_status_that_is_not_a_status() {
    let err = App::new()
        .route(Route::post("/items", create).status(1000))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST /items: 1000 is not an HTTP status (Route::status)"
    );
}
