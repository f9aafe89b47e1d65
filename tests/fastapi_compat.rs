//! What FastAPI does and nanoapi now does the same (issue 17, found by the differential harness
//! in parity/fastapi/): one test per class of difference, in memory through the test client.
#![cfg(feature = "openapi")]

use nanoapi::app::{App, Cookie, Cookies, Form, Header, Json, Query, TestResponse};
use nanoapi::openapi::DocsExt;
use nanoapi::openapi::DocumentExt;
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
    let resp = client
        .post("/form")
        .form(&[("limit", "1"), ("limit", "2")])
        .send();
    assert_eq!(resp.text(), "2");
    let resp = client
        .get("/theme")
        .header("cookie", "theme=a; theme=b")
        .send();
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
    let resp = client
        .get("/cookie-key")
        .header("cookie", "key=first; key=second")
        .send();
    assert_eq!(resp.text(), "second");
}

// ---------------------------------------------------------------------------------------------
// pydantic v2's lax mode, both ways: what its conversion table coerces is accepted, what it
// refuses is refused, and errors report the input as sent.

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct User {
    user_id: u64,
    active: bool,
    name: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Price {
    #[schemars(range(min = 0.0, max = 1000000.0))]
    price: f64,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Flags {
    #[serde(default)]
    verbose: bool,
    #[serde(default)]
    n: Option<u8>,
}

fn lax_app() -> App {
    async fn user(Json(user): Json<User>) -> Json<User> {
        Json(user)
    }
    async fn price(Json(p): Json<Price>) -> String {
        p.price.to_string()
    }
    async fn flags(Query(f): Query<Flags>) -> String {
        format!("{} {:?}", f.verbose, f.n)
    }
    App::new()
        .post("/users", user)
        .post("/price", price)
        .get("/flags", flags)
}

fn post_json(client: &nanoapi::app::TestClient, path: &str, body: &str) -> TestResponse {
    client
        .post(path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
}

#[test]
fn integers_accept_integral_floats_strings_and_booleans() {
    let client = lax_app().test_client();
    for (sent, id) in [
        ("1.0", 1),
        ("5.0", 5),
        ("\"1.0\"", 1),
        ("\" 7 \"", 7),
        ("\"1_000\"", 1000),
        ("true", 1),
        ("false", 0),
        ("9.5e15", 9_500_000_000_000_000u64),
    ] {
        let body = format!(r#"{{"user_id": {sent}, "active": true, "name": "a"}}"#);
        let resp = post_json(&client, "/users", &body);
        assert_eq!(resp.status(), 200, "{sent}: {}", resp.text());
        assert_eq!(resp.json::<Value>()["user_id"], id, "{sent}");
    }
    for (sent, kind) in [
        ("1.5", "int_from_float"),
        ("\"1.5\"", "int_parsing"),
        ("\"1e2\"", "int_parsing"),
        ("\"1__0\"", "int_parsing"),
        ("1e19", "int_parsing_size"),
        ("-1", "greater_than_equal"),
    ] {
        let body = format!(r#"{{"user_id": {sent}, "active": true, "name": "a"}}"#);
        let errors = detail(&post_json(&client, "/users", &body));
        assert_eq!(errors[0]["type"], kind, "{sent}");
    }
}

#[test]
fn booleans_accept_zero_and_one_and_refuse_padding() {
    let client = lax_app().test_client();
    for (sent, active) in [("1", true), ("0", false), ("1.0", true), ("0.0", false)] {
        let body = format!(r#"{{"user_id": 1, "active": {sent}, "name": "a"}}"#);
        let resp = post_json(&client, "/users", &body);
        assert_eq!(resp.json::<Value>()["active"], active, "{sent}");
    }
    for (sent, kind) in [
        ("2", "bool_parsing"),
        ("-1", "bool_parsing"),
        ("0.5", "bool_type"),
        ("\" true\"", "bool_parsing"),
    ] {
        let body = format!(r#"{{"user_id": 1, "active": {sent}, "name": "a"}}"#);
        let errors = detail(&post_json(&client, "/users", &body));
        assert_eq!(errors[0]["type"], kind, "{sent}");
    }
    let errors = detail(&client.get("/flags?verbose=%20true").send());
    assert_eq!(
        errors,
        json!([{"type": "bool_parsing", "loc": ["query", "verbose"],
                "msg": "Input should be a valid boolean, unable to interpret input",
                "input": " true"}])
    );
    assert_eq!(
        client.get("/flags?verbose=Y&n=3.0").send().text(),
        "true Some(3)"
    );
}

#[test]
fn floats_accept_booleans_and_non_finite_strings_meet_the_bounds() {
    let client = lax_app().test_client();
    assert_eq!(
        post_json(&client, "/price", r#"{"price": true}"#).text(),
        "1"
    );
    assert_eq!(
        post_json(&client, "/price", r#"{"price": "1_0.5"}"#).text(),
        "10.5"
    );
    for (sent, kind, bound) in [
        ("\"inf\"", "less_than_equal", "1000000"),
        ("\"nan\"", "less_than_equal", "1000000"),
        ("\"-Infinity\"", "greater_than_equal", "0"),
        ("-1", "greater_than_equal", "0"),
    ] {
        let errors = detail(&post_json(
            &client,
            "/price",
            &format!(r#"{{"price": {sent}}}"#),
        ));
        assert_eq!(errors.as_array().unwrap().len(), 1, "{sent}");
        assert_eq!(errors[0]["type"], kind, "{sent}");
        // pydantic prints a float bound without its ".0".
        assert!(
            errors[0]["msg"]
                .as_str()
                .unwrap()
                .ends_with(&format!(" {bound}"))
        );
        assert_eq!(
            errors[0]["input"],
            serde_json::from_str::<Value>(sent).unwrap()
        );
    }
}

#[test]
fn range_errors_report_the_string_sent_and_a_bom_is_skipped() {
    let client = lax_app().test_client();
    let errors = detail(&client.get("/flags?n=99999999999999999999").send());
    assert_eq!(errors[0]["type"], "less_than_equal");
    assert_eq!(errors[0]["input"], "99999999999999999999");
    let body = "\u{feff}{\"user_id\": 1, \"active\": true, \"name\": \"a\"}";
    assert_eq!(post_json(&client, "/users", body).status(), 200);
}

// ---------------------------------------------------------------------------------------------
// Body media types: JSON is parsed only under a JSON `Content-Type`; any other body is
// validated as text among the other parameters' errors; malformed JSON is reported alone.

#[derive(Deserialize, schemars::JsonSchema)]
struct Login {
    #[schemars(length(min = 1))]
    username: String,
    password: String,
}

fn bodies_app() -> App {
    async fn create(Query(_q): Query<Limit>, Json(user): Json<User>) -> Json<User> {
        Json(user)
    }
    async fn login(Form(f): Form<Login>) -> String {
        format!("{}:{}", f.username, f.password)
    }
    App::new().post("/users", create).post("/login", login)
}

const USER: &str = r#"{"user_id": 1, "active": true, "name": "ana"}"#;

#[test]
fn a_json_body_without_a_json_type_is_validated_as_text_with_the_other_errors() {
    let client = bodies_app().test_client();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = client.post("/users?limit=0").body(USER);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let errors = detail(&request.send());
        assert_eq!(errors[0]["type"], "greater_than_equal", "{content_type:?}");
        assert_eq!(
            errors[1],
            json!({"type": "model_attributes_type", "loc": ["body"],
                   "msg": "Input should be a valid dictionary or object to extract fields from",
                   "input": USER}),
            "{content_type:?}"
        );
    }
    for content_type in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/x+json",
    ] {
        let resp = client
            .post("/users")
            .header("content-type", content_type)
            .body(USER)
            .send();
        assert_eq!(resp.status(), 200, "{content_type}");
    }
}

#[test]
fn malformed_json_is_reported_alone_and_invalid_utf8_is_a_400() {
    let client = bodies_app().test_client();
    let resp = client
        .post("/users?limit=0")
        .header("content-type", "application/json")
        .body("{\n  \"name\": \"x\",\n  \"active\": tru\n}")
        .send();
    let errors = detail(&resp);
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert_eq!(errors[0]["type"], "json_invalid");
    // The offset of the misspelt literal's first letter, as Python's json reports it.
    assert_eq!(errors[0]["loc"], json!(["body", 29]));
    let resp = client
        .post("/users")
        .header("content-type", "application/json")
        .body(&b"{\"name\": \"\xff\"}"[..])
        .send();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.text(),
        r#"{"detail":"There was an error parsing the body"}"#
    );
}

#[test]
fn form_fields_that_are_empty_or_not_in_a_form_are_missing() {
    let client = bodies_app().test_client();
    let resp = client
        .post("/login")
        .form(&[("username", ""), ("password", "pw")])
        .send();
    let errors = detail(&resp);
    assert_eq!(
        errors,
        json!([{"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": null}])
    );
    let resp = client
        .post("/login")
        .header("content-type", "application/json")
        .body(r#"{"username": "ana", "password": "pw"}"#)
        .send();
    let locs: Vec<Value> = detail(&resp)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [json!(["body", "username"]), json!(["body", "password"])]
    );
    let multipart = "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nana\r\n\
                     --x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n--x--\r\n";
    let resp = client
        .post("/login")
        .header("content-type", "multipart/form-data; boundary=x")
        .body(multipart)
        .send();
    assert_eq!(resp.text(), "ana:pw");
}

// ---------------------------------------------------------------------------------------------
// Error types, locations, messages and inputs as pydantic and FastAPI give them.

#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Tool,
    Toy,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Thing {
    kind: Kind,
    #[serde(default)]
    #[schemars(length(max = 2))]
    tags: Vec<String>,
    #[serde(default)]
    meta: std::collections::HashMap<String, u8>,
    #[schemars(email)]
    owner: Option<String>,
}

fn errors_app() -> App {
    async fn thing(Json(t): Json<Thing>) -> String {
        let kind = if matches!(t.kind, Kind::Tool) {
            "tool"
        } else {
            "toy"
        };
        let owner = t.owner.unwrap_or_default();
        format!("{kind} {} {} {owner}", t.tags.len(), t.meta.len())
    }
    async fn pair(nanoapi::app::Path((a, b)): nanoapi::app::Path<(String, u8)>) -> String {
        format!("{a}:{b}")
    }
    App::new()
        .post("/things", thing)
        .get("/pairs/{a}/{b}", pair)
}

fn thing_errors(client: &nanoapi::app::TestClient, body: Value) -> Value {
    detail(&client.post("/things").json(&body).send())
}

#[test]
fn tuple_path_errors_are_located_by_parameter_name() {
    let client = errors_app().test_client();
    let errors = detail(&client.get("/pairs/x/256").send());
    assert_eq!(errors[0]["loc"], json!(["path", "b"]));
    assert_eq!(errors[0]["input"], "256");
}

#[test]
fn enums_dicts_and_long_lists_report_pydantics_types() {
    let client = errors_app().test_client();
    for kind in [json!(null), json!(1), json!("TOOL")] {
        let errors = thing_errors(&client, json!({"kind": kind}));
        assert_eq!(
            errors,
            json!([{"type": "enum", "loc": ["body", "kind"], "msg": "Input should be 'tool' or 'toy'",
                    "input": kind, "ctx": {"expected": "'tool' or 'toy'"}}])
        );
    }
    let errors = thing_errors(&client, json!({"kind": "toy", "meta": [1]}));
    assert_eq!(errors[0]["type"], "dict_type");
    assert_eq!(errors[0]["msg"], "Input should be a valid dictionary");
    // Too long: that error alone, not the items' errors too.
    let errors = thing_errors(&client, json!({"kind": "toy", "tags": [1, 2, 3]}));
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert_eq!(errors[0]["type"], "too_long");
}

#[test]
fn a_missing_body_field_reports_the_object_that_lacks_it() {
    let client = errors_app().test_client();
    let errors = thing_errors(&client, json!({"tags": []}));
    assert_eq!(
        errors,
        json!([{"type": "missing", "loc": ["body", "kind"], "msg": "Field required",
                "input": {"tags": []}}])
    );
}

#[test]
fn email_errors_use_email_validators_words() {
    let client = errors_app().test_client();
    for (owner, reason) in [
        ("ana.example.com", "An email address must have an @-sign."),
        (
            "a@b@example.com",
            "The part after the @-sign contains invalid characters: '@'.",
        ),
        (
            "a na@example.com",
            "The email address contains invalid characters before the @-sign: SPACE.",
        ),
        (
            "ana.@example.com",
            "An email address cannot have a period immediately before the @-sign.",
        ),
        (
            "ana@localhost",
            "The part after the @-sign is not valid. It should have a period.",
        ),
        (
            "ana@host.local",
            "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
        ),
    ] {
        let errors = thing_errors(&client, json!({"kind": "toy", "owner": owner}));
        assert_eq!(errors[0]["ctx"]["reason"], reason, "{owner}");
        assert_eq!(
            errors[0]["msg"],
            format!("value is not a valid email address: {reason}")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Routing: trailing-slash redirects, unreserved escapes, OPTIONS, the OAuth2 redirect page.

fn routing_app() -> App {
    async fn items() -> &'static str {
        "items"
    }
    App::new().get("/items", items).post("/items", items)
}

#[test]
fn a_trailing_slash_that_does_not_match_is_a_307_to_the_other_form() {
    let client = routing_app().test_client();
    for method in ["GET", "POST", "DELETE"] {
        let resp = client
            .request(method, "/items/?a=1")
            .header("host", "test")
            .send();
        assert_eq!(resp.status(), 307, "{method}");
        assert_eq!(resp.header("location"), Some("http://test/items?a=1"));
        assert_eq!(resp.header("content-type"), None);
    }
    assert_eq!(client.get("/nothing/").send().status(), 404);
    let client = routing_app().redirect_slashes(false).test_client();
    assert_eq!(client.get("/items/").send().status(), 404);
}

#[test]
fn unreserved_escapes_are_decoded_before_routing_and_encoded_slashes_are_not() {
    async fn name(nanoapi::app::Path(name): nanoapi::app::Path<String>) -> String {
        name
    }
    let client = routing_app().get("/names/{name}", name).test_client();
    assert_eq!(client.get("/%69tems").send().text(), "items");
    assert_eq!(client.get("/%69%74%65%6D%73").send().text(), "items");
    assert_eq!(client.get("/names/a%2Fb").send().text(), "a/b");
    assert_eq!(client.get("/names/%7Eme").send().text(), "~me");
}

#[test]
fn options_without_a_route_is_405() {
    let client = routing_app().test_client();
    let resp = client.options("/items").send();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, POST"));
    assert_eq!(resp.text(), r#"{"detail":"Method Not Allowed"}"#);
}

#[test]
fn swagger_uis_oauth2_redirect_page_is_served_with_the_docs() {
    let client = routing_app().test_client();
    let resp = client.get("/docs/oauth2-redirect").send();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().contains("swaggerUIRedirectOauth2"));
    let docs = client.get("/docs").send().text();
    assert!(docs.contains("oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'"));
    let client = routing_app().docs_url(None).test_client();
    assert_eq!(client.get("/docs/oauth2-redirect").send().status(), 404);
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document as FastAPI writes it.

#[test]
fn any_json_is_an_empty_schema_and_a_declared_status_has_no_content() {
    async fn anything() -> Json<Value> {
        Json(json!({"ok": true}))
    }
    let doc = App::new()
        .route(nanoapi::app::Route::get("/any", anything).response(404, "Not here"))
        .build()
        .unwrap()
        .openapi();
    let responses = &doc["paths"]["/any"]["get"]["responses"];
    assert_eq!(
        responses["200"]["content"]["application/json"]["schema"],
        json!({})
    );
    assert_eq!(responses["404"], json!({"description": "Not here"}));
}
