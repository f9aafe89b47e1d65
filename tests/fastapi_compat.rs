//! What FastAPI does and nanoapi now does the same (issue 17, found by the differential harness
//! in parity/fastapi/): one test per class of difference, in memory through the test client.
#![cfg(feature = "openapi")]

use nanoapi::app::{App, Cookie, Cookies, Form, Header, Json, Query, TestResponse};
use nanoapi::openapi::security::{APIKeyCookie, APIKeyQuery, Security, SecurityScheme};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn detail(resp: &TestResponse) -> Value {
    assert_eq!(resp.status(), 422, "{}", resp.text());
    resp.json::<Value>()["detail"].clone()
}

// ---------------------------------------------------------------------------------------------
// Repeated keys: the last value wins (Starlette's query, form and cookie dictionaries), except
// for headers, where `Headers.get` gives the first.

#[derive(Deserialize, schemars::JsonSchema)]
struct Limit {
    #[schemars(range(min = 1, max = 100))]
    #[serde(default = "ten")]
    limit: u32,
}

fn ten() -> u32 {
    10
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Theme {
    theme: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct RequestId {
    x_request_id: Option<String>,
}

struct KeyInQuery;
impl SecurityScheme for KeyInQuery {
    type Scheme = APIKeyQuery;
    const SCHEME: APIKeyQuery = APIKeyQuery::new("api_key");
}

struct KeyInCookie;
impl SecurityScheme for KeyInCookie {
    type Scheme = APIKeyCookie;
    const SCHEME: APIKeyCookie = APIKeyCookie::new("key");
}

fn repeated_keys_app() -> App {
    async fn limit(Query(q): Query<Limit>) -> String {
        q.limit.to_string()
    }
    async fn form(Form(f): Form<Limit>) -> String {
        f.limit.to_string()
    }
    async fn theme(Cookie(c): Cookie<Theme>, all: Cookies) -> String {
        format!("{:?} {:?}", c.theme, all.get("theme"))
    }
    async fn request_id(Header(h): Header<RequestId>) -> String {
        h.x_request_id.unwrap_or_default()
    }
    async fn query_key(Security(key): Security<KeyInQuery>) -> String {
        key
    }
    async fn cookie_key(Security(key): Security<KeyInCookie>) -> String {
        key
    }
    App::new()
        .get("/limit", limit)
        .post("/form", form)
        .get("/theme", theme)
        .get("/request-id", request_id)
        .get("/query-key", query_key)
        .get("/cookie-key", cookie_key)
}

#[test]
fn repeated_query_form_and_cookie_keys_take_the_last_value() {
    let client = repeated_keys_app().test_client();
    let errors = detail(&client.get("/limit?limit=5&limit=200").send());
    assert_eq!(errors[0]["type"], "less_than_equal");
    assert_eq!(errors[0]["ctx"], json!({"le": 100}));
    assert_eq!(client.get("/limit?limit=200&limit=5").send().text(), "5");
    assert_eq!(client.get("/limit?limit=abc&limit=7").send().text(), "7");
    let resp = client.post("/form").form(&[("limit", "1"), ("limit", "2")]).send();
    assert_eq!(resp.text(), "2");
    let resp = client.get("/theme").header("cookie", "theme=a; theme=b").send();
    assert_eq!(resp.text(), r#"Some("b") Some("b")"#);
    let resp = client
        .get("/theme")
        .header("cookie", "theme=a")
        .header("cookie", "theme=c")
        .send();
    assert_eq!(resp.text(), r#"Some("c") Some("c")"#);
}

#[test]
fn repeated_headers_take_the_first_value() {
    let client = repeated_keys_app().test_client();
    let resp = client
        .get("/request-id")
        .header("x-request-id", "first")
        .header("x-request-id", "second")
        .send();
    assert_eq!(resp.text(), "first");
}

#[test]
fn an_api_key_sent_twice_is_checked_as_fastapi_checks_it() {
    let client = repeated_keys_app().test_client();
    let resp = client.get("/query-key?api_key=first&api_key=second").send();
    assert_eq!(resp.text(), "second");
    let resp = client.get("/cookie-key").header("cookie", "key=first; key=second").send();
    assert_eq!(resp.text(), "second");
}
