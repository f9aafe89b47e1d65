//! What each route tells the OpenAPI document: collected at registration from the handler's
//! extractor and response types, rendered by the `openapi` module.

#[cfg(feature = "validation")]
use schemars::{Schema, SchemaGenerator};

/// What the App asks of the types it reads from requests and answers with: with feature
/// `validation` (on by default, through `openapi`), `schemars::JsonSchema`, whose schema
/// drives the 422 checks and the OpenAPI document; without it, nothing (serde alone reads the
/// types). Implemented for every type that qualifies.
#[cfg(feature = "validation")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON schema",
    note = "derive `schemars::JsonSchema` for it: its schema drives the 422 checks and the OpenAPI document"
)]
pub trait ApiSchema: schemars::JsonSchema {}

#[cfg(feature = "validation")]
impl<T: schemars::JsonSchema + ?Sized> ApiSchema for T {}

/// What the App asks of the types it reads from requests and answers with: with feature
/// `validation` (on by default, through `openapi`), `schemars::JsonSchema`, whose schema
/// drives the 422 checks and the OpenAPI document; without it, nothing (serde alone reads the
/// types). Implemented for every type that qualifies.
#[cfg(not(feature = "validation"))]
pub trait ApiSchema {}

#[cfg(not(feature = "validation"))]
impl<T: ?Sized> ApiSchema for T {}

/// Produces a type's schema from the document's generator (a `$ref` into
/// `components/schemas` for named types). Function pointers: nothing is generated until a
/// document is asked for. (Without feature `validation` there are no schemas, and this marks
/// where one would be.)
#[cfg(feature = "validation")]
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// Produces a type's schema from the document's generator (a `$ref` into
/// `components/schemas` for named types). Function pointers: nothing is generated until a
/// document is asked for. (Without feature `validation` there are no schemas, and this marks
/// where one would be.)
#[cfg(not(feature = "validation"))]
pub type SchemaFn = fn();

/// The schema of `T` as the document references it.
#[cfg(feature = "validation")]
pub fn schema_ref<T: ApiSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The schema of `T` as the document references it.
#[cfg(not(feature = "validation"))]
pub fn schema_ref<T: ApiSchema>() {}

/// The schema of `T` with its properties spelled out (for parameter lists).
#[cfg(feature = "validation")]
pub fn schema_inline<T: ApiSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// The schema of `T` with its properties spelled out (for parameter lists).
#[cfg(not(feature = "validation"))]
pub fn schema_inline<T: ApiSchema>() {}

/// Where parameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// Path captures.
    Path,
    /// The query string.
    Query,
    /// Request headers (field `user_agent` is header `user-agent`).
    Header,
    /// Cookies.
    Cookie,
}

/// A set of parameters from one extractor: the fields of `schema` (or the single value, for a
/// path with one parameter).
#[derive(Debug, Clone)]
pub struct ParamsDoc {
    /// Where they come from.
    pub location: ParamLocation,
    /// The extractor type's schema, inline.
    pub schema: SchemaFn,
}

/// The request body an operation reads.
#[derive(Debug, Clone)]
pub struct BodyDoc {
    /// Its media type (`application/json`, `multipart/form-data`, ...).
    pub content_type: &'static str,
    /// Its schema, when typed.
    pub schema: Option<SchemaFn>,
    /// Whether the operation requires it.
    pub required: bool,
}

/// A response an operation may give.
#[derive(Debug, Clone)]
pub struct ResponseDoc {
    /// The status (`None`: the route's success status).
    pub status: Option<u16>,
    /// Its media type.
    pub content_type: &'static str,
    /// Its schema, when typed.
    pub schema: Option<SchemaFn>,
    /// Its description (`None`: the status's reason phrase).
    pub description: Option<String>,
}

/// A security requirement an extractor imposes: the scheme (rendered into
/// `components.securitySchemes` under `name`) and the scopes it asks for.
#[derive(Debug, Clone)]
pub struct SecurityDoc {
    /// The scheme's name in `components.securitySchemes`.
    pub name: String,
    /// The security scheme object.
    pub scheme: serde_json::Value,
    /// Scopes required (OAuth2 / OpenID Connect).
    pub scopes: Vec<String>,
}

/// Everything one operation tells the document.
#[derive(Debug, Clone, Default)]
pub struct OperationDoc {
    /// Parameters, one entry per extractor, in argument order.
    pub params: Vec<ParamsDoc>,
    /// The request body.
    pub body: Option<BodyDoc>,
    /// Responses declared by the return type (the first is the success response).
    pub responses: Vec<ResponseDoc>,
    /// Whether an extractor validates input (the operation then documents 422).
    pub validates: bool,
    /// Security requirements.
    pub security: Vec<SecurityDoc>,
    /// Summary override.
    pub summary: Option<String>,
    /// Description override.
    pub description: Option<String>,
    /// Tags (the router's, then the route's).
    pub tags: Vec<String>,
    /// Whether the operation is deprecated.
    pub deprecated: bool,
    /// `operationId` override.
    pub operation_id: Option<String>,
    /// The success status (`None`: 200).
    pub status: Option<u16>,
    /// Whether the operation appears in the document.
    pub include_in_schema: bool,
}

impl OperationDoc {
    /// A document entry that is included in the schema and says nothing yet.
    pub fn new() -> OperationDoc {
        OperationDoc {
            include_in_schema: true,
            ..OperationDoc::default()
        }
    }

    /// Declares a JSON success body of type `T`.
    pub fn success_json<T: ApiSchema>(&mut self) {
        self.responses.push(ResponseDoc {
            status: None,
            content_type: "application/json",
            schema: Some(schema_ref::<T>),
            description: None,
        });
    }

    /// Declares an untyped success body of `content_type`.
    pub fn success_plain(&mut self, content_type: &'static str) {
        self.responses.push(ResponseDoc {
            status: None,
            content_type,
            schema: None,
            description: None,
        });
    }

    /// Declares parameters of type `T` from `location`.
    pub fn params<T: ApiSchema>(&mut self, location: ParamLocation) {
        self.validates = true;
        self.params.push(ParamsDoc {
            location,
            schema: schema_inline::<T>,
        });
    }
}
