//! The OpenAPI document of the test app (`tests/openapi_app`): compared with the checked-in
//! snapshot, and its parts that matter checked one by one; the served document and pages; the
//! manifest. `.ci/openapi.sh` validates the snapshot with openapi-spec-validator.
//!
//! Re-bless the snapshot after an intended change with
//! `NANOAPI_BLESS=1 cargo test --test openapi`, and review its diff.
#![cfg(feature = "openapi")]

mod common;
mod openapi_app;

use std::io::{Read, Write};

use nanoapi::app::App;
use nanoapi::openapi::DocsExt;
use nanoapi::openapi::DocumentExt;
use nanoapi::server::Options;
use serde_json::{Value, json};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/openapi_app.json"
);

fn document() -> Value {
    openapi_app::app().build().unwrap().openapi()
}

fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no {method} {path} in the document");
    op
}

#[test]
fn document_matches_the_snapshot() {
    let rendered = serde_json::to_string_pretty(&document()).unwrap() + "\n";
    if std::env::var_os("NANOAPI_BLESS").is_some() {
        std::fs::write(SNAPSHOT, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(SNAPSHOT)
        .expect("the snapshot exists (create it with NANOAPI_BLESS=1)");
    assert!(
        rendered == expected,
        "the document differs from {SNAPSHOT}; if the change is intended, re-bless with \
         NANOAPI_BLESS=1 cargo test --test openapi and review the diff"
    );
}

#[test]
fn the_served_document_is_the_generated_one() {
    let client = openapi_app::app().test_client();
    let resp = client.get("/openapi.json").send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.json::<Value>(), client.service().openapi());
    assert_eq!(client.service().openapi(), document());
}

#[test]
fn info_servers_and_operation_ids() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"],
        json!({
            "title": "nanoapi test app",
            "description": "Every extractor, body, response and security scheme.",
            "version": "1.2.3"
        })
    );
    assert_eq!(
        doc["servers"],
        json!([{ "url": "http://127.0.0.1:8080", "description": "local" }])
    );
    let ids: Vec<(&str, &str, &str)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().iter().map(move |(method, op)| {
                (
                    path.as_str(),
                    method.as_str(),
                    op["operationId"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(
        &ids[..6],
        [
            ("/", "get", "root_get"),
            ("/items", "get", "items_get"),
            ("/items", "post", "items_post"),
            ("/items/{item_id}", "get", "items__item_id__get"),
            (
                "/users/{user_id}/items/{item}",
                "get",
                "users__user_id__items__item__get"
            ),
            ("/pairs/{a}/{b}", "get", "pairs__a___b__get"),
        ]
    );
    assert!(ids.contains(&("/upload", "post", "upload_file")));
    // Routes left out: `include_in_schema(false)` and the documentation's own.
    for path in ["/hidden", "/openapi.json", "/docs", "/redoc"] {
        assert!(doc["paths"].get(path).is_none(), "{path} is documented");
    }
}

#[test]
fn parameters_carry_schemas_constraints_defaults_and_wire_names() {
    let doc = document();
    let list = operation(&doc, "/items", "get");
    assert_eq!(list["tags"], json!(["items"]));
    assert_eq!(
        list["parameters"][0],
        json!({
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
                "description": "How many items to return.",
                "type": "integer",
                "format": "uint32",
                "minimum": 1,
                "maximum": 100,
                "default": 10
            },
            "description": "How many items to return."
        })
    );
    assert_eq!(list["parameters"][1]["name"], "q");
    assert_eq!(list["parameters"][1]["required"], false);
    assert_eq!(list["parameters"][2]["schema"]["type"], "array");

    let by_struct = operation(&doc, "/users/{user_id}/items/{item}", "get");
    assert_eq!(by_struct["parameters"][0]["in"], "path");
    assert_eq!(by_struct["parameters"][0]["required"], true);
    assert_eq!(by_struct["parameters"][0]["schema"]["minimum"], 1);
    assert_eq!(by_struct["parameters"][1]["schema"]["pattern"], "^[a-z]+$");

    let by_tuple = operation(&doc, "/pairs/{a}/{b}", "get");
    let names: Vec<&Value> = by_tuple["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(by_tuple["parameters"][1]["schema"]["maximum"], 255);

    let single = operation(&doc, "/items/{item_id}", "get");
    assert_eq!(single["parameters"][0]["name"], "item_id");
    assert_eq!(single["summary"], "Read an item");
    assert_eq!(
        single["description"],
        "One item by id; id 0 is never found."
    );

    // Header fields are named as the extractor matches them: `x_request_id` is `x-request-id`.
    let headers = operation(&doc, "/headers", "get");
    assert_eq!(headers["parameters"][0]["name"], "x-request-id");
    assert_eq!(headers["parameters"][0]["in"], "header");
    assert_eq!(headers["parameters"][1]["name"], "user-agent");
    let cookies = operation(&doc, "/session", "get");
    assert_eq!(cookies["parameters"][0]["in"], "cookie");
}

#[test]
fn bodies_of_every_kind() {
    let doc = document();
    let json_body = &operation(&doc, "/items", "post")["requestBody"];
    assert_eq!(
        *json_body,
        json!({
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewItem" } } },
            "required": true
        })
    );
    let form = &operation(&doc, "/login", "post")["requestBody"]["content"];
    assert_eq!(
        form["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/Login"
    );
    let multipart = &operation(&doc, "/upload", "post")["requestBody"]["content"];
    assert_eq!(
        multipart["multipart/form-data"]["schema"]["$ref"],
        "#/components/schemas/Upload"
    );
    assert_eq!(
        doc["components"]["schemas"]["BinaryFile"],
        json!({ "type": "string", "description": "A file in a multipart body.", "format": "binary" })
    );
    let raw = &operation(&doc, "/raw", "post")["requestBody"];
    assert_eq!(
        *raw,
        json!({
            "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } },
            "required": false
        })
    );
    let text = &operation(&doc, "/note", "post")["requestBody"]["content"]["text/plain"];
    assert_eq!(text["schema"], json!({ "type": "string" }));
    // Email and length constraints reach the schema the 422 checks use.
    let new_item = &doc["components"]["schemas"]["NewItem"]["properties"];
    assert_eq!(new_item["owner"]["format"], "email");
    assert_eq!(new_item["name"]["maxLength"], 40);
}

#[test]
fn responses_success_declared_and_validation() {
    let doc = document();
    let read = &operation(&doc, "/items/{item_id}", "get")["responses"];
    let statuses: Vec<&String> = read.as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "404", "422"]);
    assert_eq!(
        read["200"],
        json!({
            "description": "Successful Response",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } }
        })
    );
    assert_eq!(read["404"]["description"], "Item not found");
    assert_eq!(
        read["422"],
        json!({
            "description": "Validation Error",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/HTTPValidationError" } } }
        })
    );
    let create = &operation(&doc, "/items", "post")["responses"];
    assert!(
        create.get("201").is_some() && create.get("200").is_none(),
        "{create}"
    );
    let page = &operation(&doc, "/page", "get")["responses"]["200"]["content"];
    assert_eq!(
        page,
        &json!({ "text/html": { "schema": { "type": "string" } } })
    );
    // A static route documents its response's real media type.
    let root = &operation(&doc, "/", "get")["responses"];
    assert_eq!(
        root,
        &json!({ "200": { "description": "Successful Response", "content": { "application/json": { "schema": {} } } } })
    );
    // No input, no 422.
    assert!(
        operation(&doc, "/page", "get")["responses"]
            .get("422")
            .is_none()
    );
    let old = operation(&doc, "/old", "get");
    assert_eq!(old["deprecated"], true);
    assert_eq!(
        old["responses"]["307"]["description"],
        "Successful Response"
    );
}

#[test]
fn components_reuse_schemas_by_reference() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let names: Vec<&String> = schemas.keys().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "schemas are sorted by name");
    // `Kind` is one component, referenced from both `Item` and `NewItem`.
    assert_eq!(schemas["Kind"]["enum"], json!(["tool", "toy"]));
    assert_eq!(
        schemas["Item"]["properties"]["kind"]["$ref"],
        "#/components/schemas/Kind"
    );
    assert_eq!(
        schemas["NewItem"]["properties"]["kind"]["$ref"],
        "#/components/schemas/Kind"
    );
    assert_eq!(
        schemas["ItemList"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Item"
    );
    assert_eq!(
        schemas["ValidationError"],
        json!({
            "properties": {
                "loc": {
                    "items": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
                    "type": "array",
                    "title": "Location"
                },
                "msg": { "type": "string", "title": "Message" },
                "type": { "type": "string", "title": "Error Type" },
                "input": { "title": "Input" },
                "ctx": { "type": "object", "title": "Context" }
            },
            "type": "object",
            "required": ["loc", "msg", "type"],
            "title": "ValidationError"
        })
    );
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(schemas.contains_key(name), "dangling $ref to {name}");
    }
}

#[test]
fn every_scheme_is_documented_with_its_scopes() {
    let doc = document();
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({
            "APIKeyHeader": { "type": "apiKey", "description": "A key in a header.", "in": "header", "name": "X-API-Key" },
            "APIKeyQuery": { "type": "apiKey", "in": "query", "name": "api_key" },
            "APIKeyCookie": { "type": "apiKey", "in": "cookie", "name": "session_key" },
            "HTTPBearer": { "type": "http", "scheme": "bearer", "bearerFormat": "opaque" },
            "HTTPBasic": { "type": "http", "scheme": "basic" },
            "OAuth2PasswordBearer": {
                "type": "oauth2",
                "flows": { "password": {
                    "scopes": { "items:read": "Read items.", "items:write": "Change items." },
                    "tokenUrl": "/token"
                } }
            },
            "OpenIdConnect": {
                "type": "openIdConnect",
                "openIdConnectUrl": "https://id.example.com/.well-known/openid-configuration"
            },
            "AnyBearer": { "type": "http", "scheme": "bearer" }
        })
    );
    let security = |path: &str| operation(&doc, path, "get")["security"].clone();
    assert_eq!(security("/secure/header"), json!([{ "APIKeyHeader": [] }]));
    assert_eq!(
        security("/secure/oauth2"),
        json!([{ "OAuth2PasswordBearer": ["items:read"] }])
    );
    assert_eq!(security("/secure/optional"), json!([{ "AnyBearer": [] }]));
    // Dependencies: a route's own, and a router's (added before its routes).
    assert_eq!(
        security("/secure/dependency"),
        json!([{ "APIKeyHeader": [] }])
    );
    assert_eq!(security("/admin/stats"), json!([{ "HTTPBasic": [] }]));
    assert_eq!(
        operation(&doc, "/admin/stats", "get")["tags"],
        json!(["admin"])
    );
    assert!(operation(&doc, "/items", "get").get("security").is_none());
    // Secured operations list the refusals.
    let responses = &operation(&doc, "/secure/header", "get")["responses"];
    let statuses: Vec<&String> = responses.as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "401", "403"]);
    assert_eq!(responses["401"]["description"], "Not authenticated");
    assert!(
        operation(&doc, "/items", "get")["responses"]
            .get("401")
            .is_none()
    );
}

#[test]
fn manifest_lists_every_served_route_with_the_documents_ids() {
    let service = openapi_app::app().build().unwrap();
    let manifest = service.manifest();
    assert_eq!(manifest["runtime"], "nanoapi");
    assert_eq!(manifest["version"], 1);
    let routes = manifest["routes"].as_array().unwrap();
    assert_eq!(
        routes[0],
        json!({ "method": "GET", "path": "/", "operationId": "root_get" })
    );
    let doc = service.openapi();
    for route in routes {
        let (method, path) = (
            route["method"].as_str().unwrap(),
            route["path"].as_str().unwrap(),
        );
        let documented = &doc["paths"][path][method.to_ascii_lowercase()];
        if documented.is_object() {
            assert_eq!(
                documented["operationId"], route["operationId"],
                "{method} {path}"
            );
        }
    }
    let paths: Vec<&str> = routes.iter().map(|r| r["path"].as_str().unwrap()).collect();
    for path in ["/hidden", "/openapi.json", "/docs", "/redoc"] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
}

#[test]
fn pages_load_from_the_cdn_or_the_configured_assets() {
    let client = App::new().title("Pets & <Co>").test_client();
    let docs = client.get("/docs").send();
    assert_eq!(docs.status(), 200);
    assert_eq!(
        docs.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = docs.text();
    assert!(
        html.contains("<title>Pets &amp; &lt;Co&gt; - Swagger UI</title>"),
        "{html}"
    );
    assert!(html.contains(
        r#"<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js">"#
    ));
    assert!(html.contains(r#"url: "/openapi.json","#));
    let redoc = client.get("/redoc").send().text();
    assert!(redoc.contains(
        r#"<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js">"#
    ));
    assert!(redoc.contains(r#"<redoc spec-url="/openapi.json"></redoc>"#));

    let client = App::new()
        .docs_assets("http://assets.internal/docs/")
        .docs_url(Some("/api/docs"))
        .redoc_url(None)
        .test_client();
    let html = client.get("/api/docs").send().text();
    assert!(
        html.contains(r#"href="http://assets.internal/docs/swagger-ui.css""#),
        "{html}"
    );
    assert!(html.contains(r#"<script src="http://assets.internal/docs/swagger-ui-bundle.js">"#));
    assert_eq!(client.get("/docs").send().status(), 404);
    assert_eq!(client.get("/redoc").send().status(), 404);
    assert_eq!(client.get("/openapi.json").send().status(), 200);
}

/// Sends `wire` and reads until the server closes.
fn roundtrip(addr: std::net::SocketAddr, wire: &[u8]) -> String {
    let mut stream = common::connect(addr);
    stream.write_all(wire).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_document_and_pages_are_served_over_sockets_on_both_backends() {
    common::raise_fd_limit();
    let expected = serde_json::to_string(&document()).unwrap();
    for backend in common::backends() {
        let server = openapi_app::app()
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let out = roundtrip(
            server.handle().local_addr(),
            b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /docs HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /redoc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let responses: Vec<&str> = out.split("HTTP/1.1 200 OK\r\n").skip(1).collect();
        assert_eq!(responses.len(), 3, "{backend:?}: {out}");
        assert!(
            responses[0].ends_with(&format!("\r\n\r\n{expected}")),
            "{backend:?}: {}",
            responses[0]
        );
        assert!(responses[1].contains("SwaggerUIBundle"), "{backend:?}");
        assert!(responses[2].contains("<redoc spec-url"), "{backend:?}");
        server.shutdown_blocking();
    }
}
