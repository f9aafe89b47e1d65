//! The OpenAPI 3.1 document: paths, operations, parameters, bodies, responses and components,
//! rendered from what each route's types recorded at registration.

use crate::app::logging::event;
use std::collections::HashSet;

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{Docs, Operation};
use crate::app::{AppMeta, OperationDoc, ParamLocation};
use crate::http::StatusCode;

/// The methods an OpenAPI 3.1 path item has a field for; routes with other (custom) methods are
/// served but cannot be described.
const DOCUMENTED_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Renders the document.
pub(crate) fn generate<'a>(
    meta: &AppMeta,
    config: &Docs,
    operations: impl Iterator<Item = Operation<'a>>,
) -> Value {
    // One generator for the whole document: a type used by several operations is one entry
    // of `components.schemas`, referenced from each.
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
        })
        .into_generator();
    let mut ids = OperationIds::default();
    let mut paths = Map::new();
    let mut security_schemes = Map::new();
    let mut any_validates = false;
    for op in operations {
        let id = ids.assign(op.method, op.path, op.doc.operation_id.as_deref());
        if !op.doc.include_in_schema {
            continue;
        }
        let method = op.method.to_ascii_lowercase();
        if !DOCUMENTED_METHODS.contains(&method.as_str()) {
            event!(
                debug,
                method = op.method,
                path = op.path,
                "OpenAPI 3.1 cannot describe a custom method; the route is left out"
            );
            continue;
        }
        let template = path_template(op.path);
        let operation = render_operation(&mut generator, &op, id, &template, &mut security_schemes);
        any_validates |= op.doc.validates;
        let item = paths.entry(template).or_insert_with(|| json!({}));
        item[method] = operation;
    }

    let mut schemas = generator.take_definitions(true);
    if any_validates {
        for (name, schema) in validation_error_schemas() {
            if schemas.insert(name.to_owned(), schema).is_some() {
                event!(
                    warn,
                    name,
                    "a type named like FastAPI's validation error schema is replaced by it"
                );
            }
        }
    }
    // FastAPI sorts the schemas by name; so does nanoapi, for a stable document.
    schemas.sort_keys();
    let mut components = Map::new();
    if !schemas.is_empty() {
        components.insert("schemas".into(), Value::Object(schemas));
    }
    if !security_schemes.is_empty() {
        components.insert("securitySchemes".into(), Value::Object(security_schemes));
    }

    let mut info = Map::new();
    info.insert("title".into(), meta.title.clone().into());
    if let Some(description) = &meta.description {
        info.insert("description".into(), description.clone().into());
    }
    info.insert("version".into(), meta.version.clone().into());
    let mut document = Map::new();
    document.insert("openapi".into(), "3.1.0".into());
    document.insert("info".into(), Value::Object(info));
    if !config.servers.is_empty() {
        document.insert("servers".into(), Value::Array(config.servers.clone()));
    }
    document.insert("paths".into(), Value::Object(paths));
    if !components.is_empty() {
        document.insert("components".into(), Value::Object(components));
    }
    Value::Object(document)
}

/// Gives each operation its id: the override if set, else FastAPI's convention without the
/// handler name (see the [module documentation](super)), made unique.
#[derive(Debug, Default)]
pub(crate) struct OperationIds {
    taken: HashSet<String>,
}

impl OperationIds {
    /// The id of the operation `method path`, registered in order.
    pub(crate) fn assign(&mut self, method: &str, path: &str, explicit: Option<&str>) -> String {
        if let Some(id) = explicit {
            if !self.taken.insert(id.to_owned()) {
                // FastAPI warns about duplicates too; an explicit id is kept as given.
                event!(warn, operation_id = id, path, "duplicate operationId");
            }
            return id.to_owned();
        }
        let slug: String = path_template(path)
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let slug = match slug.trim_start_matches('_') {
            "" => "root",
            slug => slug,
        };
        let base = format!("{slug}_{}", method.to_ascii_lowercase());
        let mut id = base.clone();
        let mut n = 1;
        while !self.taken.insert(id.clone()) {
            n += 1;
            id = format!("{base}_{n}");
        }
        id
    }
}

/// The OpenAPI path template of a route pattern: a trailing wildcard `{*rest}` is `{rest}`.
fn path_template(path: &str) -> String {
    path.replace("{*", "{")
}

/// The names of a template's parameters, in order.
fn template_params(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn render_operation(
    generator: &mut SchemaGenerator,
    op: &Operation<'_>,
    id: String,
    template: &str,
    security_schemes: &mut Map<String, Value>,
) -> Value {
    let doc = op.doc;
    let mut operation = Map::new();
    if !doc.tags.is_empty() {
        operation.insert("tags".into(), json!(doc.tags));
    }
    if let Some(summary) = &doc.summary {
        operation.insert("summary".into(), summary.clone().into());
    }
    if let Some(description) = &doc.description {
        operation.insert("description".into(), description.clone().into());
    }
    operation.insert("operationId".into(), id.into());
    if doc.deprecated {
        operation.insert("deprecated".into(), true.into());
    }
    let mut requirements: Vec<Value> = Vec::new();
    for security in &doc.security {
        security_schemes.insert(security.name.clone(), security.scheme.clone());
        // One requirement object per scheme, as FastAPI renders them.
        let requirement = json!({ security.name.as_str(): security.scopes });
        if !requirements.contains(&requirement) {
            requirements.push(requirement);
        }
    }
    if !requirements.is_empty() {
        operation.insert("security".into(), Value::Array(requirements));
    }
    let parameters = render_parameters(generator, doc, template);
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = &doc.body {
        let schema = match body.schema {
            Some(schema) => schema_object(schema(generator).to_value()),
            None => untyped_schema(body.content_type),
        };
        operation.insert(
            "requestBody".into(),
            json!({
                "content": { body.content_type: { "schema": schema } },
                "required": body.required,
            }),
        );
    }
    operation.insert("responses".into(), render_responses(generator, op));
    Value::Object(operation)
}

/// Every extractor's parameters, one entry per field (a struct), per path parameter (a single
/// value or a tuple), plus the path parameters no extractor reads (a template parameter must
/// be described).
fn render_parameters(
    generator: &mut SchemaGenerator,
    doc: &OperationDoc,
    template: &str,
) -> Vec<Value> {
    let path_names: Vec<&str> = template_params(template).collect();
    let mut parameters = Parameters::default();
    for params in &doc.params {
        let schema = (params.schema)(generator).to_value();
        let location = params.location;
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, property) in properties {
                let required = location == ParamLocation::Path || required.contains(&name.as_str());
                parameters.push(name, location, required, property.clone());
            }
        } else if location == ParamLocation::Path {
            match schema.get("prefixItems").and_then(Value::as_array) {
                Some(items) => {
                    for (name, item) in path_names.iter().zip(items) {
                        parameters.push(name, location, true, item.clone());
                    }
                }
                None => {
                    if let Some(name) = path_names.first() {
                        parameters.push(name, location, true, schema);
                    }
                }
            }
        }
    }
    for name in path_names {
        parameters.push(name, ParamLocation::Path, true, json!({ "type": "string" }));
    }
    parameters.list
}

/// Parameter objects, each (name, location) once.
#[derive(Default)]
struct Parameters {
    seen: HashSet<(String, &'static str)>,
    list: Vec<Value>,
}

impl Parameters {
    fn push(&mut self, field: &str, location: ParamLocation, required: bool, schema: Value) {
        let (name, place) = match location {
            ParamLocation::Path => (field.to_owned(), "path"),
            ParamLocation::Query => (field.to_owned(), "query"),
            // The rule the header extractor matches by: field `user_agent` is `user-agent`.
            ParamLocation::Header => (field.replace('_', "-"), "header"),
            ParamLocation::Cookie => (field.to_owned(), "cookie"),
        };
        if !self.seen.insert((name.clone(), place)) {
            return;
        }
        let mut parameter = Map::new();
        parameter.insert("name".into(), name.into());
        parameter.insert("in".into(), place.into());
        parameter.insert("required".into(), required.into());
        let description = schema.get("description").cloned();
        let deprecated = schema.get("deprecated").cloned();
        parameter.insert("schema".into(), schema);
        if let Some(description) = description {
            parameter.insert("description".into(), description);
        }
        if let Some(deprecated) = deprecated {
            parameter.insert("deprecated".into(), deprecated);
        }
        self.list.push(Value::Object(parameter));
    }
}

/// The responses: the success status first, then the declared ones, then 400 for a JSON body,
/// 401 and 403 when the operation is secured, then 422 when an extractor validates (FastAPI's
/// order, plus the body and security refusals).
fn render_responses(generator: &mut SchemaGenerator, op: &Operation<'_>) -> Value {
    let doc = op.doc;
    let success = doc.status.unwrap_or(200);
    let mut responses = Map::new();
    responses.insert(
        success.to_string(),
        json!({ "description": "Successful Response" }),
    );
    for declared in &doc.responses {
        let status = declared.status.unwrap_or(success);
        let entry = responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": reason(status) }));
        if let Some(description) = &declared.description {
            entry["description"] = description.clone().into();
        }
        if !StatusCode::from_u16(status).is_ok_and(StatusCode::allows_body) {
            continue;
        }
        // An extra status declared with a description only (Route::response) has no content,
        // as FastAPI's `responses={404: {"description": ...}}`.
        if declared.status.is_some() && declared.schema.is_none() {
            continue;
        }
        // A fixed response knows its real media type; the type-level one is a placeholder.
        let media = match (declared.status, op.fixed_media) {
            (None, Some(fixed)) => {
                let fixed = String::from_utf8_lossy(fixed);
                fixed
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            }
            _ => declared.content_type.to_owned(),
        };
        let schema = match declared.schema {
            Some(schema) => schema_object(schema(generator).to_value()),
            None => untyped_schema(&media),
        };
        let content = entry
            .as_object_mut()
            .expect("a response is an object")
            .entry("content")
            .or_insert_with(|| json!({}));
        if content.get(&media).is_none() {
            content[media] = json!({ "schema": schema });
        }
    }
    if doc
        .body
        .as_ref()
        .is_some_and(|b| b.content_type == "application/json")
    {
        // JSON that is not UTF-8 is FastAPI's 400; FastAPI does not document it, but a
        // tester of the API from its document (schemathesis) must tell it from an
        // undocumented answer.
        responses.entry("400").or_insert_with(|| {
            json!({
                "description": "There was an error parsing the body",
                "content": { "application/json": { "schema": detail_schema() } }
            })
        });
    }
    if !doc.security.is_empty() {
        // FastAPI leaves these out; listing them lets tools that test an API from its
        // document (schemathesis) tell a refusal from an undocumented answer.
        for (status, description) in [(401, "Not authenticated"), (403, "Not enough permissions")] {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({
                    "description": description,
                    "content": { "application/json": { "schema": detail_schema() } }
                })
            });
        }
    }
    if doc.validates && !responses.contains_key("422") {
        responses.insert(
            "422".into(),
            json!({
                "description": "Validation Error",
                "content": {
                    "application/json": {
                        "schema": { "$ref": "#/components/schemas/HTTPValidationError" }
                    }
                }
            }),
        );
    }
    Value::Object(responses)
}

/// The schema of an `HTTPException` body: `{"detail": "..."}`.
fn detail_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "detail": { "type": "string" } },
        "required": ["detail"]
    })
}

/// The status's reason phrase, as a response description.
fn reason(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(StatusCode::reason)
        .unwrap_or("Response")
        .to_owned()
}

/// The schema of a body with no declared type.
/// A schema as a Schema Object: schemars's `true` (any value, e.g. `serde_json::Value`) is
/// written `{}`, as FastAPI writes `Any`.
fn schema_object(schema: Value) -> Value {
    match schema {
        Value::Bool(true) => json!({}),
        other => other,
    }
}

fn untyped_schema(media: &str) -> Value {
    match media {
        "text/plain" | "text/html" | "text/event-stream" => json!({ "type": "string" }),
        "application/octet-stream" => json!({ "type": "string", "format": "binary" }),
        "multipart/form-data" | "application/x-www-form-urlencoded" => json!({ "type": "object" }),
        _ => json!({}),
    }
}

/// FastAPI's `ValidationError` and `HTTPValidationError` schemas, key for key: the shape of
/// every 422 body.
fn validation_error_schemas() -> [(&'static str, Value); 2] {
    [
        (
            "HTTPValidationError",
            json!({
                "properties": {
                    "detail": {
                        "items": { "$ref": "#/components/schemas/ValidationError" },
                        "type": "array",
                        "title": "Detail"
                    }
                },
                "type": "object",
                "title": "HTTPValidationError"
            }),
        ),
        (
            "ValidationError",
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
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_fastapi_without_the_handler_name() {
        let mut ids = OperationIds::default();
        assert_eq!(
            ids.assign("GET", "/users/{user_id}", None),
            "users__user_id__get"
        );
        assert_eq!(ids.assign("POST", "/users", None), "users_post");
        assert_eq!(ids.assign("GET", "/", None), "root_get");
        assert_eq!(
            ids.assign("GET", "/files/{*path}", None),
            "files__path__get"
        );
        assert_eq!(ids.assign("GET", "/a-b", None), "a_b_get");
        // `/a_b` and `/a-b` map onto the same id: the second gets a suffix.
        assert_eq!(ids.assign("GET", "/a_b", None), "a_b_get_2");
        assert_eq!(ids.assign("GET", "/a.b", None), "a_b_get_3");
        assert_eq!(ids.assign("PURGE", "/cache", Some("purge")), "purge");
    }

    #[test]
    fn templates_name_their_parameters() {
        assert_eq!(path_template("/files/{*path}"), "/files/{path}");
        let names: Vec<&str> = template_params("/u/{a}/x/{b}").collect();
        assert_eq!(names, ["a", "b"]);
    }
}
