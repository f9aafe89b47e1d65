//! The App overlay: router rules, extractors and their 422s, responses, middleware order,
//! lifecycle and static routes — in-process through the test client, and over real sockets on
//! both backends.
#![cfg(feature = "validation")]

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use nanoapi::app::{
    APIRouter, App, BackgroundTasks, ClientAddr, Cookie, Cookies, Extension, Form, Header,
    HeaderMap, Html, HttpException, IntoResponse, Json, Next, Path, Query, Redirect, RequestHead,
    Route, SetCookie, State, TestResponse,
};
use nanoapi::http::{HeaderList, Response, StatusCode};
use nanoapi::server::{Options, Request, RequestBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn detail(resp: &TestResponse) -> Value {
    assert_eq!(resp.status(), 422, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/json"));
    resp.json::<Value>()
}

async fn ok() -> &'static str {
    "ok"
}

// ---------------------------------------------------------------------------------------------
// Router

#[test]
fn static_beats_param_beats_wildcard_with_backtracking() {
    async fn me() -> &'static str {
        "me"
    }
    async fn by_id(Path(id): Path<String>) -> String {
        format!("id={id}")
    }
    async fn rest(Path(rest): Path<String>) -> String {
        format!("rest={rest}")
    }
    async fn deep(Path((a, b)): Path<(String, String)>) -> String {
        format!("deep={a},{b}")
    }
    let client = App::new()
        .get("/users/me", me)
        .get("/users/{id}", by_id)
        .get("/users/{a}/{b}", deep)
        .get("/files/{*rest}", rest)
        .get("/users/me/settings", ok)
        .test_client();
    assert_eq!(client.get("/users/me").send().text(), "me");
    assert_eq!(client.get("/users/42").send().text(), "id=42");
    assert_eq!(client.get("/users/me/settings").send().text(), "ok");
    // `me` is static at depth 2, but `/users/me/x` only matches through the parameter.
    assert_eq!(client.get("/users/me/x").send().text(), "deep=me,x");
    assert_eq!(
        client.get("/files/a/b/c.txt").send().text(),
        "rest=a/b/c.txt"
    );
    assert_eq!(client.get("/files/").send().text(), "rest=");
}

#[test]
fn segment_boundaries_and_trailing_slashes_are_respected() {
    let client = App::new()
        .get("/user/{id}", ok)
        .get("/users", ok)
        .test_client();
    assert_eq!(client.get("/users").send().status(), 200);
    for path in ["/user", "/user/", "/userss", "/users/1", "/use"] {
        let resp = client.get(path).send();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.text(), r#"{"detail":"Not Found"}"#);
    }
    // A trailing slash that does not match redirects to the form that does (FastAPI's
    // redirect_slashes), both ways.
    let client = App::new()
        .get("/user/{id}/", ok)
        .get("/users", ok)
        .test_client();
    let resp = client.get("/users/").header("host", "h").send();
    assert_eq!(
        (resp.status(), resp.header("location")),
        (307, Some("http://h/users"))
    );
    let resp = client.get("/user/7").header("host", "h").send();
    assert_eq!(
        (resp.status(), resp.header("location")),
        (307, Some("http://h/user/7/"))
    );
}

#[test]
fn captured_values_are_percent_decoded_but_matching_is_raw() {
    async fn echo(Path(name): Path<String>) -> String {
        name
    }
    let client = App::new().get("/items/{name}", echo).test_client();
    assert_eq!(client.get("/items/a%20b").send().text(), "a b");
    assert_eq!(client.get("/items/a+b").send().text(), "a+b");
    // An encoded slash stays inside one segment.
    assert_eq!(client.get("/items/a%2Fb").send().text(), "a/b");
    assert_eq!(client.get("/items/caf%C3%A9").send().text(), "café");
}

#[test]
fn wrong_method_is_405_with_allow_listing_the_paths_methods() {
    let client = App::new()
        .get("/items", ok)
        .post("/items", ok)
        .route(Route::new("PURGE", "/items", ok))
        .test_client();
    let resp = client.delete("/items").send();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, POST, PURGE"));
    assert_eq!(resp.text(), r#"{"detail":"Method Not Allowed"}"#);
    // OPTIONS is a method like any other (FastAPI): 405 unless routed (CORS answers
    // preflights itself).
    let resp = client.options("/items").send();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, POST, PURGE"));
    assert_eq!(resp.text(), r#"{"detail":"Method Not Allowed"}"#);
    // Custom methods are distinct and case-sensitive.
    assert_eq!(client.request("PURGE", "/items").send().status(), 200);
    assert_eq!(client.request("purge", "/items").send().status(), 405);
}

#[test]
fn head_is_automatic_for_get_routes_with_the_same_headers() {
    let client = App::new().get("/doc", ok).test_client();
    let get = client.get("/doc").send();
    let head = client.head("/doc").send();
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert!(head.bytes().is_empty());
}

#[test]
fn conflicting_or_malformed_routes_fail_at_build_with_a_clear_message() {
    let err = App::new()
        .get("/users/{id}", ok)
        .get("/users/{name}", ok)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /users/{name} conflicts with GET /users/{id}: both match the same requests"
    );
    // Same shape, other method: fine.
    assert!(
        App::new()
            .get("/a/{x}", ok)
            .post("/a/{y}", ok)
            .build()
            .is_ok()
    );
    let err = App::new().get("/a/{b", ok).build().unwrap_err();
    assert!(
        err.to_string()
            .contains("parameter must fill its whole segment"),
        "{err}"
    );
    let err = App::new().get("/{*a}/b", ok).build().unwrap_err();
    assert!(err.to_string().contains("wildcard"), "{err}");
    let err = App::new()
        .route(Route::new("BAD METHOD", "/", ok))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("not a token"), "{err}");
}

#[test]
fn routers_nest_with_prefixes() {
    let users = APIRouter::new()
        .prefix("/users")
        .tag("users")
        .get("", ok)
        .get("/{id}", ok)
        .get_static("/static", Response::text(StatusCode::OK, "fixed"));
    let client = App::new()
        .include_router(APIRouter::new().prefix("/v1").include_router(users))
        .test_client();
    assert_eq!(client.get("/v1/users").send().status(), 200);
    assert_eq!(client.get("/v1/users/7").send().status(), 200);
    assert_eq!(client.get("/v1/users/static").send().text(), "fixed");
    assert_eq!(client.get("/users").send().status(), 404);
    let tags: Vec<Vec<String>> = client
        .service()
        .operations()
        .filter(|(_, _, doc)| doc.include_in_schema)
        .map(|(_, _, doc)| doc.tags.clone())
        .collect();
    assert_eq!(tags, vec![vec!["users".to_owned()]; 3]);
}

// ---------------------------------------------------------------------------------------------
// Extractors and 422s

#[derive(Deserialize, schemars::JsonSchema)]
struct Page {
    #[schemars(range(min = 1, max = 100))]
    #[serde(default = "ten")]
    limit: u32,
    #[serde(default)]
    verbose: bool,
    q: Option<String>,
    #[serde(default)]
    tag: Vec<String>,
}

fn ten() -> u32 {
    10
}

async fn list(Query(p): Query<Page>) -> Json<Value> {
    Json(json!({"limit": p.limit, "verbose": p.verbose, "q": p.q, "tag": p.tag}))
}

#[test]
fn query_defaults_last_value_lists_and_bools() {
    let client = App::new().get("/list", list).test_client();
    let body: Value = client.get("/list").send().json();
    assert_eq!(
        body,
        json!({"limit": 10, "verbose": false, "q": null, "tag": []})
    );
    let body: Value = client
        .get("/list?limit=5&limit=6&q=a+b%21&tag=x&tag=y")
        .send()
        .json();
    assert_eq!(
        body,
        json!({"limit": 6, "verbose": false, "q": "a b!", "tag": ["x", "y"]})
    );
    for (word, expected) in [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("on", true),
        ("TRUE", true),
        ("false", false),
        ("0", false),
        ("no", false),
        ("off", false),
    ] {
        let body: Value = client.get(&format!("/list?verbose={word}")).send().json();
        assert_eq!(body["verbose"], expected, "{word}");
    }
}

#[test]
fn query_errors_are_all_reported_in_fastapis_shape() {
    let client = App::new().get("/list", list).test_client();
    let body = detail(&client.get("/list?limit=abc&verbose=maybe").send());
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "int_parsing", "loc": ["query", "limit"],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "abc"},
            {"type": "bool_parsing", "loc": ["query", "verbose"],
             "msg": "Input should be a valid boolean, unable to interpret input",
             "input": "maybe"}
        ]})
    );
    let body = detail(&client.get("/list?limit=0").send());
    assert_eq!(
        body["detail"][0],
        json!({"type": "greater_than_equal", "loc": ["query", "limit"],
               "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}})
    );
    let body = detail(&client.get("/list?limit=101").send());
    assert_eq!(body["detail"][0]["type"], "less_than_equal");
    assert_eq!(body["detail"][0]["ctx"], json!({"le": 100}));
}

#[test]
fn integers_past_their_type_are_range_errors_on_the_input_as_sent() {
    async fn id(Path(id): Path<u64>) -> String {
        id.to_string()
    }
    async fn small(Query(r): Query<Required>) -> String {
        r.n.to_string()
    }
    let client = App::new()
        .get("/ids/{id}", id)
        .get("/small", small)
        .test_client();
    assert_eq!(
        client.get("/ids/18446744073709551615").send().text(),
        "18446744073709551615"
    );
    let body = detail(&client.get("/ids/18446744073709551616").send());
    assert_eq!(
        body["detail"],
        json!([{"type": "less_than_equal", "loc": ["path", "id"],
                "msg": "Input should be less than or equal to 18446744073709551615",
                "input": "18446744073709551616", "ctx": {"le": 18446744073709551615u64}}])
    );
    let body = detail(&client.get("/small?n=-9223372036854775809").send());
    assert_eq!(body["detail"][0]["type"], "greater_than_equal");
    assert_eq!(body["detail"][0]["input"], "-9223372036854775809");
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Required {
    n: i64,
}

#[test]
fn missing_required_values_and_errors_across_sources_come_together() {
    async fn handler(
        Path(id): Path<u8>,
        Query(r): Query<Required>,
        Json(body): Json<Required>,
    ) -> String {
        format!("{id} {} {}", r.n, body.n)
    }
    let client = App::new().post("/things/{id}", handler).test_client();
    let ok = client.post("/things/7?n=1").json(&json!({"n": 2})).send();
    assert_eq!(ok.text(), "7 1 2");
    let body = detail(&client.post("/things/300").json(&json!({})).send());
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "less_than_equal", "loc": ["path", "id"],
             "msg": "Input should be less than or equal to 255", "input": "300", "ctx": {"le": 255}},
            {"type": "missing", "loc": ["query", "n"], "msg": "Field required", "input": null},
            {"type": "missing", "loc": ["body", "n"], "msg": "Field required", "input": {}}
        ]})
    );
    let body = detail(&client.post("/things/1?n=1").send());
    assert_eq!(
        body["detail"],
        json!([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}])
    );
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct Item {
    #[schemars(length(min = 3))]
    name: String,
    #[schemars(email)]
    owner: String,
    #[schemars(regex(pattern = r"^[a-z]+$"))]
    slug: String,
    price: f64,
    tags: Vec<Tag>,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct Tag {
    label: String,
}

async fn create(Json(item): Json<Item>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(item))
}

#[test]
fn json_bodies_validate_nested_values_with_locations() {
    let client = App::new().post("/items", create).test_client();
    let good = json!({"name": "desk", "owner": "a@b.io", "slug": "desk", "price": 1.5,
                      "tags": [{"label": "x"}]});
    let resp = client.post("/items").json(&good).send();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>(), good);
    let bad = json!({"name": "ab", "owner": "nobody", "slug": "Desk", "price": "cheap",
                     "tags": [{"label": 5}, {}]});
    let body = detail(&client.post("/items").json(&bad).send());
    let kinds: Vec<(&str, Value)> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["loc"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("string_too_short", json!(["body", "name"])),
            ("value_error", json!(["body", "owner"])),
            ("string_pattern_mismatch", json!(["body", "slug"])),
            ("float_parsing", json!(["body", "price"])),
            ("string_type", json!(["body", "tags", 0, "label"])),
            ("missing", json!(["body", "tags", 1, "label"])),
        ]
    );
    assert_eq!(
        body["detail"][0]["msg"],
        "String should have at least 3 characters"
    );
    assert_eq!(body["detail"][2]["ctx"], json!({"pattern": "^[a-z]+$"}));
    // Lax mode: a numeric string is a number.
    let mut lax = good.clone();
    lax["price"] = json!("2.5");
    assert_eq!(
        client.post("/items").json(&lax).send().json::<Value>()["price"],
        2.5
    );
}

#[test]
fn malformed_json_wrong_type_and_other_media_types() {
    let client = App::new().post("/items", create).test_client();
    let resp = client
        .post("/items")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send();
    let body = detail(&resp);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"], json!(["body", 9]));
    assert_eq!(body["detail"][0]["msg"], "JSON decode error");
    let body = detail(&client.post("/items").json(&json!([1, 2])).send());
    assert_eq!(body["detail"][0]["type"], "model_attributes_type");
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));
    // Another media type is not parsed, as in FastAPI: the text is the (invalid) value.
    let resp = client
        .post("/items")
        .header("content-type", "text/plain")
        .body("{}")
        .send();
    assert_eq!(detail(&resp)["detail"][0]["input"], "{}");
    // A `+json` media type is JSON.
    let resp = client
        .post("/items")
        .header("content-type", "application/vnd.api+json; charset=utf-8")
        .body("{}")
        .send();
    assert_eq!(resp.status(), 422);
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Login {
    username: String,
    #[schemars(length(min = 4))]
    password: String,
    #[serde(default)]
    remember: bool,
}

#[test]
fn forms_headers_and_cookies() {
    async fn login(Form(f): Form<Login>) -> String {
        format!("{}:{}:{}", f.username, f.password, f.remember)
    }
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Agent {
        user_agent: String,
        x_count: Option<u32>,
    }
    async fn agent(Header(h): Header<Agent>) -> String {
        format!("{}:{:?}", h.user_agent, h.x_count)
    }
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Session {
        session: String,
    }
    async fn session(Cookie(c): Cookie<Session>, all: Cookies) -> String {
        format!("{}:{}", c.session, all.iter().count())
    }
    let client = App::new()
        .post("/login", login)
        .get("/agent", agent)
        .get("/session", session)
        .test_client();
    let resp = client
        .post("/login")
        .form(&[
            ("username", "ana maria"),
            ("password", "s3cr&t"),
            ("remember", "on"),
        ])
        .send();
    assert_eq!(resp.text(), "ana maria:s3cr&t:true");
    let body = detail(&client.post("/login").form(&[("password", "abc")]).send());
    let locs: Vec<Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [json!(["body", "username"]), json!(["body", "password"])]
    );
    let resp = client
        .get("/agent")
        .header("User-Agent", "curl")
        .header("X-Count", "3")
        .send();
    assert_eq!(resp.text(), "curl:Some(3)");
    let body = detail(&client.get("/agent").header("x-count", "many").send());
    let locs: Vec<Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [
            json!(["header", "user-agent"]),
            json!(["header", "x-count"])
        ]
    );
    let resp = client
        .get("/session")
        .header("cookie", "a=1; session=abc")
        .send();
    assert_eq!(resp.text(), "abc:2");
    let body = detail(&client.get("/session").send());
    assert_eq!(body["detail"][0]["loc"], json!(["cookie", "session"]));
}

#[test]
fn state_extensions_head_and_raw_bodies() {
    #[derive(Clone)]
    struct Counter(Arc<AtomicUsize>);
    #[derive(Clone)]
    struct User(&'static str);
    async fn count(State(c): State<Counter>) -> String {
        (c.0.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }
    async fn who(Extension(user): Extension<User>, head: RequestHead) -> String {
        format!("{} {} {:?}", user.0, head.path, head.query)
    }
    async fn auth(req: &mut Request, next: Next<'_>) -> Response {
        req.extensions_mut().insert(User("ana"));
        next.run(req).await
    }
    async fn raw(body: bytes::Bytes) -> String {
        format!("{} bytes", body.len())
    }
    async fn text(body: String) -> String {
        body.to_uppercase()
    }
    async fn streamed(mut body: RequestBody) -> String {
        let mut n = 0;
        while let Some(chunk) = body.read_chunk().await.unwrap() {
            n += chunk.len();
        }
        format!("{n} streamed")
    }
    async fn headers(h: HeaderMap) -> String {
        h.get_all("x-a").collect::<Vec<_>>().join(",")
    }
    let counter = Counter(Arc::new(AtomicUsize::new(0)));
    let client = App::new()
        .with_state(counter.clone())
        .get("/count", count)
        .route(Route::get("/who", who).middleware(auth))
        .post("/raw", raw)
        .post("/text", text)
        .post("/streamed", streamed)
        .get("/headers", headers)
        .test_client();
    assert_eq!(client.get("/count").send().text(), "1");
    assert_eq!(client.get("/count").send().text(), "2");
    assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    assert_eq!(
        client.get("/who?x=1").send().text(),
        "ana /who Some(\"x=1\")"
    );
    assert_eq!(
        client.post("/raw").body(vec![0u8; 1000]).send().text(),
        "1000 bytes"
    );
    assert_eq!(client.post("/text").body("abc").send().text(), "ABC");
    assert_eq!(
        client.post("/text").body(vec![0xff, 0xfe]).send().status(),
        422
    );
    let chunked = client.raw(
        &b"POST /streamed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..],
    );
    assert_eq!(chunked[0].text(), "5 streamed");
    assert_eq!(
        client
            .get("/headers")
            .header("X-A", "1")
            .header("x-a", "2")
            .send()
            .text(),
        "1,2"
    );
}

#[test]
fn client_address_trusts_forwarding_headers_only_from_trusted_proxies() {
    async fn ip(client: ClientAddr) -> String {
        format!("{:?} {:?}", client.ip, client.scheme)
    }
    common::raise_fd_limit();
    let run = |trusted: &[&str], headers: &[(&str, &str)]| -> String {
        let server = App::new()
            .trusted_proxies(trusted.iter().copied())
            .get("/ip", ip)
            .serve(Options::default().port(0).workers(1))
            .unwrap();
        let mut stream = common::connect(server.handle().local_addr());
        let mut req = String::from("GET /ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        drop(stream);
        server.shutdown_blocking();
        out.rsplit("\r\n\r\n").next().unwrap().to_owned()
    };
    let xff = [
        ("X-Forwarded-For", "203.0.113.9, 10.0.0.2"),
        ("X-Forwarded-Proto", "https"),
    ];
    assert_eq!(run(&[], &xff), "Some(127.0.0.1) None");
    assert_eq!(
        run(&["127.0.0.1", "10.0.0.0/8"], &xff),
        "Some(203.0.113.9) Some(\"https\")"
    );
    let fwd = [(
        "Forwarded",
        "for=198.51.100.7;proto=http, for=\"[2001:db8::1]:443\"",
    )];
    assert_eq!(
        run(&["127.0.0.0/8"], &fwd),
        "Some(2001:db8::1) Some(\"http\")"
    );
}

// ---------------------------------------------------------------------------------------------
// Responses

#[test]
fn responses_convert_with_exact_headers() {
    async fn html() -> Html<&'static str> {
        Html("<p>hi</p>")
    }
    async fn created() -> (StatusCode, HeaderList, Json<Value>) {
        let mut headers = HeaderList::new();
        headers.append("X-Id", "7").unwrap();
        (
            StatusCode::CREATED,
            headers,
            Json(json!({"q": "\"quoted\" \u{1} é"})),
        )
    }
    async fn fails() -> Result<String, HttpException> {
        Err(
            HttpException::new(StatusCode::FORBIDDEN, json!({"why": "no"}))
                .header("X-Reason", "policy"),
        )
    }
    async fn cookies() -> Response {
        let resp = Response::text(StatusCode::OK, "set");
        let resp = SetCookie::new("a", "1")
            .path("/")
            .http_only()
            .apply(resp)
            .unwrap();
        SetCookie::delete("b").apply(resp).unwrap()
    }
    let client = App::new()
        .get("/html", html)
        .get("/created", created)
        .get("/fails", fails)
        .get("/cookies", cookies)
        .test_client();
    let resp = client.get("/html").send();
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let resp = client.get("/created").send();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.header("x-id"), Some("7"));
    assert_eq!(resp.text(), r#"{"q":"\"quoted\" \u0001 é"}"#);
    let resp = client.get("/fails").send();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.header("x-reason"), Some("policy"));
    assert_eq!(resp.text(), r#"{"detail":{"why":"no"}}"#);
    let resp = client.get("/cookies").send();
    assert_eq!(
        resp.header_all("set-cookie"),
        [
            "a=1; Path=/; HttpOnly",
            "b=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        ]
    );
}

#[test]
fn redirects_send_their_status_and_reason() {
    async fn r301() -> Redirect {
        Redirect::permanent("/a")
    }
    async fn r302() -> Redirect {
        Redirect::found("/b")
    }
    async fn r303() -> Redirect {
        Redirect::see_other("/c")
    }
    async fn r307() -> Redirect {
        Redirect::temporary("/d")
    }
    async fn r308() -> Redirect {
        Redirect::permanent_keep_method("/e")
    }
    async fn evil() -> Redirect {
        Redirect::found("/x\r\nSet-Cookie: owned=1")
    }
    let client = App::new()
        .get("/301", r301)
        .get("/302", r302)
        .get("/303", r303)
        .get("/307", r307)
        .get("/308", r308)
        .get("/evil", evil)
        .test_client();
    for (path, status, reason, location) in [
        ("/301", 301, "Moved Permanently", "/a"),
        ("/302", 302, "Found", "/b"),
        ("/303", 303, "See Other", "/c"),
        ("/307", 307, "Temporary Redirect", "/d"),
        ("/308", 308, "Permanent Redirect", "/e"),
    ] {
        let resp = client.get(path).send();
        assert_eq!(resp.status(), status);
        assert_eq!(resp.0.reason(), reason.as_bytes());
        assert_eq!(resp.header("location"), Some(location));
    }
    let resp = client.get("/evil").send();
    assert_eq!(resp.status(), 500);
    assert!(resp.header("set-cookie").is_none());
}

// ---------------------------------------------------------------------------------------------
// Middleware and lifecycle

type Log = Arc<Mutex<Vec<String>>>;

fn logger(
    log: &Log,
    name: &'static str,
) -> impl for<'a> AsyncFn(&'a mut Request, Next<'a>) -> Response + Send + Sync + 'static {
    let log = log.clone();
    async move |req: &mut Request, next: Next<'_>| {
        log.lock().unwrap().push(format!("{name} in"));
        let mut resp = next.run(req).await;
        log.lock().unwrap().push(format!("{name} out"));
        let _ = resp.headers_mut().append("x-trace", name);
        resp
    }
}

#[test]
fn middleware_runs_in_registration_order_app_router_route() {
    let log: Log = Arc::default();
    let router = APIRouter::new()
        .prefix("/r")
        .middleware(logger(&log, "router"))
        .route(Route::get("/x", ok).middleware(logger(&log, "route")));
    let client = App::new()
        .middleware(logger(&log, "app1"))
        .middleware(logger(&log, "app2"))
        .include_router(router)
        .test_client();
    let resp = client.get("/r/x").send();
    assert_eq!(resp.text(), "ok");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "app1 in",
            "app2 in",
            "router in",
            "route in",
            "route out",
            "router out",
            "app2 out",
            "app1 out"
        ]
    );
    assert_eq!(
        resp.header_all("x-trace"),
        ["route", "router", "app2", "app1"]
    );
    // App middleware sees 404s too; route middleware does not run for them.
    log.lock().unwrap().clear();
    assert_eq!(client.get("/nope").send().status(), 404);
    assert_eq!(
        *log.lock().unwrap(),
        ["app1 in", "app2 in", "app2 out", "app1 out"]
    );
}

#[test]
fn middleware_can_short_circuit() {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let handler = move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "handler"
        }
    };
    async fn gate(req: &mut Request, next: Next<'_>) -> Response {
        if req.header("x-key") != Some(b"secret") {
            return HttpException::new(StatusCode::UNAUTHORIZED, "no key").into_response();
        }
        next.run(req).await
    }
    let client = App::new().middleware(gate).get("/", handler).test_client();
    assert_eq!(client.get("/").send().status(), 401);
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    assert_eq!(
        client.get("/").header("x-key", "secret").send().text(),
        "handler"
    );
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[test]
fn background_tasks_run_after_the_response() {
    let log: Log = Arc::default();
    let handler_log = log.clone();
    let handler = move |tasks: BackgroundTasks| {
        let log = handler_log.clone();
        async move {
            let task_log = log.clone();
            tasks.add(async move { task_log.lock().unwrap().push("task".into()) });
            log.lock().unwrap().push("handler".into());
            "queued"
        }
    };
    let client = App::new().get("/", handler).test_client();
    assert_eq!(client.get("/").send().text(), "queued");
    assert_eq!(*log.lock().unwrap(), ["handler", "task"]);
}

#[test]
fn lifecycle_hooks_run_on_each_worker_around_serving() {
    common::raise_fd_limit();
    let log: Log = Arc::default();
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    let handler = move || {
        let c = c.clone();
        async move {
            c.lock().unwrap().push("request".into());
            "ok"
        }
    };
    let server = App::new()
        .on_startup(move || {
            let a = a.clone();
            async move { a.lock().unwrap().push("startup".into()) }
        })
        .on_shutdown(move || {
            let b = b.clone();
            async move { b.lock().unwrap().push("shutdown".into()) }
        })
        .get("/", handler)
        .serve(Options::default().port(0).workers(2))
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["startup", "startup"]);
    let mut stream = common::connect(server.handle().local_addr());
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert!(out.ends_with("\r\n\r\nok"), "{out}");
    drop(stream);
    server.shutdown_blocking();
    assert_eq!(
        *log.lock().unwrap(),
        ["startup", "startup", "request", "shutdown", "shutdown"]
    );
}

// ---------------------------------------------------------------------------------------------
// Static routes and the wire, on both backends

/// Sends `wire` and reads until the server closes.
fn roundtrip(addr: std::net::SocketAddr, wire: &[u8]) -> String {
    let mut stream = common::connect(addr);
    stream.write_all(wire).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The response text with the `Date` line's value blanked.
fn without_date(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("Date: ") {
                "Date: *"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn static_routes_are_byte_identical_from_the_cache_and_through_dispatch() {
    common::raise_fd_limit();
    async fn pass(req: &mut Request, next: Next<'_>) -> Response {
        next.run(req).await
    }
    let fixed = || {
        Response::json_bytes(StatusCode::OK, r#"{"fixed":true}"#.into())
            .header("Cache-Control", "max-age=60")
            .unwrap()
    };
    let requests: [&[u8]; 4] = [
        b"GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"HEAD /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /s HTTP/1.0\r\n\r\n",
        b"GET /v1/s HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for backend in common::backends() {
        let serve = |with_middleware: bool| {
            let mut app = App::new()
                .get_static("/s", fixed())
                .include_router(APIRouter::new().prefix("/v1").get_static("/s", fixed()));
            if with_middleware {
                app = app.middleware(pass);
            }
            app.serve(Options::default().port(0).workers(1).backend(backend))
                .unwrap()
        };
        let (cached, dispatched) = (serve(false), serve(true));
        for wire in requests {
            let a = without_date(&roundtrip(cached.handle().local_addr(), wire));
            let b = without_date(&roundtrip(dispatched.handle().local_addr(), wire));
            assert_eq!(a, b, "{backend:?} {}", String::from_utf8_lossy(wire));
            assert!(a.starts_with("HTTP/1."), "{a}");
        }
        let head = roundtrip(cached.handle().local_addr(), requests[1]);
        assert!(
            head.contains("Content-Length: 14\r\n") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
        // The test client (dispatch) gives the same bytes too.
        let client = App::new().get_static("/s", fixed()).test_client();
        let resp = client.get("/s").send();
        assert_eq!(resp.text(), r#"{"fixed":true}"#);
        assert_eq!(resp.header("cache-control"), Some("max-age=60"));
        cached.shutdown_blocking();
        dispatched.shutdown_blocking();
    }
}

#[test]
fn typed_routes_over_sockets_on_both_backends() {
    common::raise_fd_limit();
    for backend in common::backends() {
        let server = App::new()
            .get("/list", list)
            .post("/items", create)
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let addr = server.handle().local_addr();
        let body = r#"{"name":"desk","owner":"a@b.io","slug":"desk","price":2,"tags":[]}"#;
        let wire = format!(
            "GET /list?limit=3&verbose=yes HTTP/1.1\r\nHost: x\r\n\r\n\
             POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}\
             GET /list?limit=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let out = roundtrip(addr, wire.as_bytes());
        let statuses: Vec<&str> = out.split("HTTP/1.1 ").skip(1).map(|r| &r[..3]).collect();
        assert_eq!(statuses, ["200", "201", "422"], "{backend:?}: {out}");
        assert!(
            out.contains(r#"{"limit":3,"verbose":true,"q":null,"tag":[]}"#),
            "{out}"
        );
        assert!(out.contains(r#""loc":["query","limit"]"#), "{out}");
        server.shutdown_blocking();
    }
}
