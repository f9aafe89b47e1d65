//! An `App` served unchanged through the serverless adapters: static routes, middleware,
//! validation errors and cookies come out of an event exactly as over HTTP.
#![cfg(all(feature = "serverless", feature = "validation"))]

use nanoapi::app::{App, AppService, Json, Next, Path, Query, SetCookie};
use nanoapi::executor::block_on;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::Request;
use nanoapi::serverless::{EventKind, Invocation, handle};
use serde_json::{Value, json};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Page {
    #[schemars(range(min = 1))]
    page: u32,
}

async fn item(Path(id): Path<u64>, Query(q): Query<Page>) -> Response {
    let resp = Response::json_bytes(
        StatusCode::OK,
        serde_json::to_vec(&json!({"id": id, "page": q.page}))
            .unwrap()
            .into(),
    );
    let resp = SetCookie::new("a", "1").apply(resp).unwrap();
    SetCookie::new("b", "2").path("/").apply(resp).unwrap()
}

async fn echo(Json(v): Json<Value>) -> Json<Value> {
    Json(v)
}

async fn tag(req: &mut Request, next: Next<'_>) -> Response {
    let mut resp = next.run(req).await;
    let _ = resp.headers_mut().append("x-mw", "1");
    resp
}

fn app() -> AppService {
    App::new()
        .middleware(tag)
        .get_static("/static", Response::text(StatusCode::OK, "fixed"))
        .get("/items/{id}", item)
        .post("/echo", echo)
        .build()
        .unwrap()
}

fn event(method: &str, path: &str, query: &str, body: Option<&str>) -> Vec<u8> {
    json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "example.com"},
        "requestContext": {"http": {"method": method, "path": path}},
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}

fn invoke(app: &AppService, event: &[u8]) -> Value {
    let invocation = Invocation::from_event(event).unwrap();
    assert_eq!(invocation.kind, EventKind::HttpApiV2);
    let response = block_on(handle(&(), app, invocation)).unwrap();
    serde_json::from_slice(&response.to_json()).unwrap()
}

#[test]
fn an_app_answers_events_as_over_http() {
    let app = app();
    let out = invoke(&app, &event("GET", "/static", "", None));
    assert_eq!(out["statusCode"], 200);
    assert_eq!(out["body"], "fixed");
    assert_eq!(
        out["headers"]["x-mw"], "1",
        "middleware ran on the static route: {out}"
    );

    let out = invoke(&app, &event("GET", "/items/7", "page=2", None));
    assert_eq!(out["statusCode"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(out["body"].as_str().unwrap()).unwrap(),
        json!({"id": 7, "page": 2})
    );
    assert_eq!(out["cookies"], json!(["a=1", "b=2; Path=/"]));

    let out = invoke(&app, &event("GET", "/items/x", "page=0", None));
    assert_eq!(out["statusCode"], 422);
    let detail: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    let kinds: Vec<&str> = detail["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["int_parsing", "greater_than_equal"]);

    let out = invoke(&app, &event("POST", "/echo", "", Some(r#"{"k":[1,2]}"#)));
    assert_eq!(out["statusCode"], 200);
    assert_eq!(out["body"], r#"{"k":[1,2]}"#);

    let out = invoke(&app, &event("DELETE", "/echo", "", None));
    assert_eq!(out["statusCode"], 405);
    assert_eq!(out["headers"]["Allow"], "POST");

    // The same request through the test client: the same status, body and headers.
    let client = App::new()
        .middleware(tag)
        .get("/items/{id}", item)
        .test_client();
    let resp = client.get("/items/7?page=2").send();
    assert_eq!(resp.text(), r#"{"id":7,"page":2}"#);
    assert_eq!(resp.header("x-mw"), Some("1"));
}
