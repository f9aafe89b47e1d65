//! The App without feature `validation` (`--no-default-features --features app`): no schemars
//! in the build, request and response types need only serde's derives, and a refused input is
//! a 422 in FastAPI's shape carrying the first failure, located at the pair or the body.
//! (`.ci/features.sh` runs this file in that configuration; with `validation` on, the schema
//! checks of the other suites apply instead.)
#![cfg(all(feature = "app", not(feature = "validation")))]

use nanoapi::app::{App, Form, Header, Json, Path, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Page {
    limit: u32,
    #[serde(default)]
    verbose: bool,
    #[serde(default)]
    tag: Vec<String>,
}

#[derive(Deserialize, Serialize)]
struct Item {
    name: String,
    price: f64,
}

#[derive(Deserialize)]
struct Agent {
    user_agent: String,
}

#[derive(Deserialize)]
struct Login {
    username: String,
}

async fn list(Path(shelf): Path<u64>, Query(page): Query<Page>) -> String {
    format!("{shelf} {} {} {:?}", page.limit, page.verbose, page.tag)
}

async fn create(Json(item): Json<Item>) -> Json<Item> {
    Json(item)
}

async fn agent(Header(agent): Header<Agent>) -> String {
    agent.user_agent
}

async fn login(Form(login): Form<Login>) -> String {
    login.username
}

fn app() -> nanoapi::app::TestClient {
    App::new()
        .get("/shelves/{shelf}/items", list)
        .post("/items", create)
        .get("/agent", agent)
        .post("/login", login)
        .test_client()
}

fn detail(body: &str) -> Value {
    let body: Value = serde_json::from_str(body).unwrap();
    body["detail"][0].clone()
}

#[test]
fn pairs_are_read_with_fastapis_conversions_and_repeats() {
    let client = app();
    let resp = client
        .get("/shelves/3/items?limit=5&limit=7&verbose=yes&tag=a&tag=b")
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), r#"3 7 true ["a", "b"]"#);
    let resp = client.get("/agent").header("User-Agent", "probe").send();
    assert_eq!(resp.text(), "probe");
    let resp = client
        .post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ann")
        .send();
    assert_eq!(resp.text(), "ann");
}

#[test]
fn a_refused_pair_is_a_422_at_its_name() {
    let client = app();
    let resp = client.get("/shelves/x/items?limit=5").send();
    assert_eq!(resp.status(), 422);
    assert_eq!(
        detail(&resp.text()),
        json!({"type": "int_parsing", "loc": ["path", "shelf"],
               "msg": "Input should be a valid integer, unable to parse string as an integer",
               "input": "x"})
    );
    let resp = client.get("/shelves/3/items").send();
    assert_eq!(resp.status(), 422);
    let missing = detail(&resp.text());
    assert_eq!(
        (&missing["type"], &missing["loc"]),
        (&json!("missing"), &json!(["query", "limit"]))
    );
    let resp = client
        .post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=")
        .send();
    assert_eq!(
        detail(&resp.text())["loc"],
        json!(["body", "username"]),
        "an empty field is missing"
    );
}

#[test]
fn json_bodies_are_read_by_serde() {
    let client = app();
    let resp = client
        .post("/items")
        .json(&json!({"name": "pen", "price": 2}))
        .send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>(), json!({"name": "pen", "price": 2.0}));
    let resp = client
        .post("/items")
        .json(&json!({"name": "pen", "price": "cheap"}))
        .send();
    assert_eq!(resp.status(), 422);
    let refused = detail(&resp.text());
    assert_eq!(
        (&refused["type"], &refused["loc"]),
        (&json!("value_error"), &json!(["body"]))
    );
    let resp = client
        .post("/items")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send();
    assert_eq!(detail(&resp.text())["type"], "json_invalid");
}
