//! The OpenAPI test app: every extractor, body kind, response kind and security scheme, with
//! handlers that never fail on input their schema admits. Shared by `tests/openapi.rs` (the
//! snapshot), `tests/security.rs` and `examples/openapi_app.rs` (the live server that
//! `.ci/openapi.sh` validates, fuzzes with schemathesis and opens in a browser).
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use nanoapi::app::{
    APIRouter, App, BodyDoc, ClientAddr, Cookie, Cookies, Form, FromRequest, Header, HeaderMap,
    Html, HttpException, Json, OperationDoc, Path, Query, Redirect, Rejection, RequestContext,
    RequestHead, Route, State, body_error, schema_ref,
};
use nanoapi::http::{Response, StatusCode};
use nanoapi::openapi::DocsExt;
use nanoapi::openapi::security::SecurityExt;
use nanoapi::openapi::security::{
    APIKeyCookie, APIKeyHeader, APIKeyQuery, Denied, HTTPBasic, HTTPBearer, OAuth2PasswordBearer,
    OpenIdConnect, Security, SecurityScheme, constant_time_eq,
};
use nanoapi::server::Request;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API key the key schemes accept.
pub const GOOD_KEY: &str = "good-key";
/// An API key that is valid but not allowed anything: 403.
pub const FORBIDDEN_KEY: &str = "forbidden-key";

/// Accepts [`GOOD_KEY`], forbids [`FORBIDDEN_KEY`], refuses the rest.
fn check_key(key: &str) -> Result<(), Denied> {
    if constant_time_eq(key, GOOD_KEY) {
        Ok(())
    } else if constant_time_eq(key, FORBIDDEN_KEY) {
        Err(Denied::Forbidden)
    } else {
        Err(Denied::Unauthenticated)
    }
}

pub struct HeaderKey;
impl SecurityScheme for HeaderKey {
    type Scheme = APIKeyHeader;
    const SCHEME: APIKeyHeader = APIKeyHeader::new("X-API-Key").description("A key in a header.");
    async fn check(key: &String) -> Result<(), Denied> {
        check_key(key)
    }
}

pub struct QueryKey;
impl SecurityScheme for QueryKey {
    type Scheme = APIKeyQuery;
    const SCHEME: APIKeyQuery = APIKeyQuery::new("api_key");
    async fn check(key: &String) -> Result<(), Denied> {
        check_key(key)
    }
}

pub struct CookieKey;
impl SecurityScheme for CookieKey {
    type Scheme = APIKeyCookie;
    const SCHEME: APIKeyCookie = APIKeyCookie::new("session_key");
    async fn check(key: &String) -> Result<(), Denied> {
        check_key(key)
    }
}

pub struct Bearer;
impl SecurityScheme for Bearer {
    type Scheme = HTTPBearer;
    const SCHEME: HTTPBearer = HTTPBearer::new().bearer_format("opaque");
    async fn check(
        token: &nanoapi::openapi::security::HTTPAuthorizationCredentials,
    ) -> Result<(), Denied> {
        check_key(&token.credentials)
    }
}

pub struct Basic;
impl SecurityScheme for Basic {
    type Scheme = HTTPBasic;
    const SCHEME: HTTPBasic = HTTPBasic::new().realm("tests");
    async fn check(creds: &nanoapi::openapi::security::HTTPBasicCredentials) -> Result<(), Denied> {
        if creds.matches("ana", "s3cret") {
            Ok(())
        } else if creds.matches("guest", "guest") {
            Err(Denied::Forbidden)
        } else {
            Err(Denied::Unauthenticated)
        }
    }
}

/// The OAuth2 scheme, as the `items:read` scope needs it.
pub struct ReadItems;
impl SecurityScheme for ReadItems {
    type Scheme = OAuth2PasswordBearer;
    const SCHEME: OAuth2PasswordBearer = OAuth2PasswordBearer::new("/token").scopes(&[
        ("items:read", "Read items."),
        ("items:write", "Change items."),
    ]);
    const SCOPES: &'static [&'static str] = &["items:read"];
    async fn check(token: &String) -> Result<(), Denied> {
        check_key(token)
    }
}

pub struct Oidc;
impl SecurityScheme for Oidc {
    type Scheme = OpenIdConnect;
    const SCHEME: OpenIdConnect =
        OpenIdConnect::new("https://id.example.com/.well-known/openid-configuration");
}

/// A bearer token with no check (for the optional route).
pub struct AnyBearer;
impl SecurityScheme for AnyBearer {
    type Scheme = HTTPBearer;
    const SCHEME: HTTPBearer = HTTPBearer::new().scheme_name("AnyBearer");
}

/// Listing options.
#[derive(Deserialize, JsonSchema)]
pub struct ListQuery {
    /// How many items to return.
    #[schemars(range(min = 1, max = 100))]
    #[serde(default = "ten")]
    pub limit: u32,
    /// Only items whose name contains this.
    pub q: Option<String>,
    /// Tags to match (repeat the parameter).
    #[serde(default)]
    pub tag: Vec<String>,
    #[serde(default)]
    pub verbose: bool,
}

fn ten() -> u32 {
    10
}

/// The kind of an item.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Tool,
    Toy,
}

/// An item.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub id: u32,
    #[schemars(length(min = 1, max = 40))]
    pub name: String,
    pub kind: Kind,
    #[schemars(range(min = 0.0))]
    pub price: f64,
    pub tags: Vec<String>,
}

/// A page of items.
#[derive(Serialize, JsonSchema)]
pub struct ItemList {
    pub items: Vec<Item>,
    pub limit: u32,
    pub verbose: bool,
}

/// What `POST /items` takes.
#[derive(Deserialize, JsonSchema)]
pub struct NewItem {
    #[schemars(length(min = 1, max = 40))]
    pub name: String,
    pub kind: Kind,
    #[schemars(range(min = 0.0, max = 1000000.0))]
    pub price: f64,
    #[serde(default)]
    #[schemars(length(max = 8))]
    pub tags: Vec<String>,
    #[schemars(email)]
    pub owner: Option<String>,
}

/// Path of `GET /users/{user_id}/items/{item}`.
#[derive(Deserialize, JsonSchema)]
pub struct UserItemPath {
    #[schemars(range(min = 1))]
    pub user_id: u64,
    #[schemars(regex(pattern = r"^[a-z]+$"))]
    pub item: String,
}

/// The login form.
#[derive(Deserialize, JsonSchema)]
pub struct Login {
    #[schemars(length(min = 1))]
    pub username: String,
    pub password: String,
}

/// A token.
#[derive(Serialize, JsonSchema)]
pub struct Token {
    pub access_token: String,
    pub token_type: String,
}

/// Headers of `GET /headers`.
#[derive(Deserialize, JsonSchema)]
pub struct Tracing {
    /// The request id, echoed.
    pub x_request_id: Option<String>,
    pub user_agent: Option<String>,
}

/// Cookies of `GET /session`.
#[derive(Deserialize, JsonSchema)]
pub struct Session {
    pub theme: Option<String>,
}

/// A multipart upload as the document shows it: a description and a binary file.
#[derive(JsonSchema)]
pub struct Upload {
    pub description: String,
    #[schemars(with = "BinaryFile")]
    pub file: (),
}

/// A file in a multipart body.
#[derive(JsonSchema)]
#[schemars(transform = binary_format)]
pub struct BinaryFile(String);

fn binary_format(schema: &mut schemars::Schema) {
    schema.insert("format".into(), "binary".into());
}

/// A multipart body read whole (the `Multipart` extractor streams fields; this one stands in
/// for it so the document shows a multipart body with a binary file).
pub struct UploadBody(pub Bytes);

impl<S> FromRequest<S> for UploadBody {
    async fn from_request(
        req: &mut Request,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        req.read_to_end().await.map(UploadBody).map_err(body_error)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(BodyDoc {
            content_type: "multipart/form-data",
            schema: Some(schema_ref::<Upload>),
            required: true,
        });
    }
}

/// What `GET /whoami` reports.
#[derive(Serialize, JsonSchema)]
pub struct WhoAmI {
    pub method: String,
    pub headers: usize,
    pub cookies: usize,
    pub client: Option<String>,
}

/// The counter `GET /count` increments.
#[derive(Clone, Default)]
pub struct Counter(pub Arc<AtomicU64>);

fn item(id: u32, name: &str) -> Item {
    Item {
        id,
        name: name.into(),
        kind: Kind::Tool,
        price: 1.5,
        tags: Vec::new(),
    }
}

async fn list_items(Query(q): Query<ListQuery>) -> Json<ItemList> {
    let items = (1..=q.limit.min(3)).map(|id| item(id, "hammer")).collect();
    Json(ItemList {
        items,
        limit: q.limit,
        verbose: q.verbose,
    })
}

async fn read_item(Path(item_id): Path<u32>) -> Result<Json<Item>, HttpException> {
    if item_id == 0 {
        return Err(HttpException::new(StatusCode::NOT_FOUND, "Item not found"));
    }
    Ok(Json(item(item_id, "hammer")))
}

async fn create_item(Json(new): Json<NewItem>) -> Json<Item> {
    let created = Item {
        id: 1,
        name: new.name,
        kind: new.kind,
        price: new.price,
        tags: new.tags,
    };
    Json(created)
}

async fn user_item(Path(p): Path<UserItemPath>) -> String {
    format!("{} of user {}", p.item, p.user_id)
}

async fn pair(Path((a, b)): Path<(String, u8)>) -> String {
    format!("{a}:{b}")
}

async fn login(Form(form): Form<Login>) -> Json<Token> {
    Json(Token {
        access_token: format!("token-for-{}", form.username.len()),
        token_type: "bearer".into(),
    })
}

async fn headers(Header(h): Header<Tracing>) -> String {
    h.x_request_id.unwrap_or_default()
}

async fn session(Cookie(c): Cookie<Session>) -> String {
    c.theme.unwrap_or_else(|| "light".into())
}

async fn upload_raw(body: Bytes) -> String {
    body.len().to_string()
}

async fn note(body: String) -> String {
    body.chars().count().to_string()
}

async fn upload(UploadBody(body): UploadBody) -> String {
    body.len().to_string()
}

async fn page() -> Html<&'static str> {
    Html("<h1>items</h1>")
}

async fn old() -> Redirect {
    Redirect::temporary("/page")
}

async fn count(State(counter): State<Counter>) -> String {
    (counter.0.fetch_add(1, Ordering::Relaxed) + 1).to_string()
}

async fn whoami(
    head: RequestHead,
    headers: HeaderMap,
    cookies: Cookies,
    client: ClientAddr,
) -> Json<WhoAmI> {
    Json(WhoAmI {
        method: head.method,
        headers: headers.len(),
        cookies: cookies.iter().count(),
        client: client.ip.map(|ip| ip.to_string()),
    })
}

async fn hidden() -> &'static str {
    "hidden"
}

async fn by_header_key(Security(key): Security<HeaderKey>) -> String {
    format!("header key {}", key.len())
}

async fn by_query_key(Security(key): Security<QueryKey>) -> String {
    format!("query key {}", key.len())
}

async fn by_cookie_key(Security(key): Security<CookieKey>) -> String {
    format!("cookie key {}", key.len())
}

async fn by_bearer(Security(token): Security<Bearer>) -> String {
    format!("bearer {}", token.credentials.len())
}

async fn by_basic(Security(creds): Security<Basic>) -> String {
    format!("basic {}", creds.username)
}

async fn by_oauth2(Security(token): Security<ReadItems>) -> String {
    format!("oauth2 {}", token.len())
}

async fn by_oidc(Security(value): Security<Oidc>) -> String {
    format!("oidc {}", value.len())
}

async fn optional(token: Option<Security<AnyBearer>>) -> String {
    match token {
        Some(Security(token)) => format!("token {}", token.credentials.len()),
        None => "anonymous".into(),
    }
}

async fn admin_stats() -> &'static str {
    "stats"
}

/// The app.
pub fn app() -> App<Counter> {
    let secure = APIRouter::new()
        .prefix("/secure")
        .tag("security")
        .get("/header", by_header_key)
        .get("/query", by_query_key)
        .get("/cookie", by_cookie_key)
        .get("/bearer", by_bearer)
        .get("/basic", by_basic)
        .get("/oauth2", by_oauth2)
        .get("/oidc", by_oidc)
        .get("/optional", optional)
        .route(Route::get("/dependency", admin_stats).security::<HeaderKey>());
    let admin = APIRouter::new()
        .prefix("/admin")
        .tag("admin")
        .security::<Basic>()
        .get("/stats", admin_stats);
    let items = APIRouter::new()
        .prefix("/items")
        .tag("items")
        .get("", list_items)
        .route(
            Route::get("/{item_id}", read_item)
                .summary("Read an item")
                .description("One item by id; id 0 is never found.")
                .response(404, "Item not found"),
        )
        .route(
            Route::post("", create_item)
                .summary("Create an item")
                .status(201),
        );
    App::new()
        .title("nanoapi test app")
        .version("1.2.3")
        .description("Every extractor, body, response and security scheme.")
        .server("http://127.0.0.1:8080", Some("local"))
        .with_state(Counter::default())
        .get_static(
            "/",
            Response::json_bytes(StatusCode::OK, r#"{"message":"Hello, World!"}"#.into()),
        )
        .include_router(items)
        .get("/users/{user_id}/items/{item}", user_item)
        .get("/pairs/{a}/{b}", pair)
        .post("/login", login)
        .get("/headers", headers)
        .get("/session", session)
        .post("/raw", upload_raw)
        .post("/note", note)
        .route(Route::post("/upload", upload).operation_id("upload_file"))
        .get("/page", page)
        .route(Route::get("/old", old).deprecated().status(307))
        .get("/count", count)
        .get("/whoami", whoami)
        .route(Route::get("/hidden", hidden).include_in_schema(false))
        .include_router(secure)
        .include_router(admin)
}
