//! Procedural macros for nanoapi's `App` overlay. Use them through `nanoapi` (feature
//! `macros`): `nanoapi::app::debug_handler`.
//!
//! Without the attribute, a handler argument that is not an extractor, or an output that is
//! not a response, makes `App::get("/", handler)` fail with "`fn(..) {handler}` is not a
//! handler", which names neither the argument nor the trait it lacks. `#[debug_handler]` adds
//! one assertion per argument and one for the output, each pointing at its type, so the
//! compiler names the argument and the missing trait (`FromRequestParts` for every argument
//! but the last, which reads the body: a `Json<T>` too early is named; `FromRequest` for the
//! last; `IntoResponse`; or, for the type read by `Json<T>`, `Form<T>`, `Path<T>`, `Query<T>`,
//! `Header<T>` and `Cookie<T>`, its JSON schema). The handler itself is unchanged.
//!
//! The extractors are checked against the app's state type: the one named by
//! `#[debug_handler(state = AppState)]`, else the `T` of the first `State<T>` argument, else `()`.
#![warn(missing_docs)]

mod from_ref;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

/// The most arguments a handler takes (`Handler` is implemented for up to 12 extractors).
const MAX_ARGUMENTS: usize = 12;

/// Checks a handler's arguments and output one by one, so a mistake is reported at the
/// argument (or output type) that causes it, with the trait it is missing.
///
/// Put it on the `async fn` given to `App::get` / `post` / ...; it changes nothing else (the
/// assertions are compile-time bounds, with no cost when the handler runs). The arguments are
/// checked as extractors of an app whose state has the type given by `state = Type`
/// (`#[debug_handler(state = AppState)]`), or else that of the first `State<T>` argument, or
/// else `()`. The guess takes a `State<T>` for the whole state: name the app's state type for
/// a handler that takes a part of it, or whose other extractors need that type (a dependency
/// bounded by `Db: FromRef<S>`); the guess can neither report a missing state nor accept such
/// a handler.
///
/// ```
/// use nanoapi::app::{App, Json, Path, debug_handler};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct NewTodo {
///     title: String,
/// }
///
/// #[debug_handler]
/// async fn create(Path(list): Path<u32>, Json(todo): Json<NewTodo>) -> String {
///     format!("{list}: {}", todo.title)
/// }
///
/// let app = App::new().post("/lists/{list}/todos", create);
/// ```
///
/// Without its `JsonSchema` derive, the error points at `NewTodo` in `Json<NewTodo>` and says
/// "`NewTodo` has no JSON schema", with a note to derive `schemars::JsonSchema` (where plain
/// `App::post` says only that `create` is not a handler):
///
/// ```compile_fail,E0277
/// use nanoapi::app::{Json, debug_handler};
///
/// #[derive(serde::Deserialize)]
/// struct NewTodo {
///     title: String,
/// }
///
/// #[debug_handler]
/// async fn create(Json(todo): Json<NewTodo>) -> String {
///     todo.title
/// }
/// ```
#[proc_macro_attribute]
pub fn debug_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = TokenStream2::from(attr);
    let expanded = state_argument(attr)
        .and_then(|state| syn::parse::<ItemFn>(item).and_then(|handler| expand(handler, state)));
    expanded
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The state type named by the attribute's `state = Type`, if it has one.
fn state_argument(attr: TokenStream2) -> syn::Result<Option<Type>> {
    if attr.is_empty() {
        return Ok(None);
    }
    let parser = |input: syn::parse::ParseStream<'_>| {
        let key: syn::Ident = input.parse()?;
        if key != "state" {
            return Err(syn::Error::new(
                key.span(),
                "`#[debug_handler]` takes only `state = Type`",
            ));
        }
        input.parse::<syn::Token![=]>()?;
        input.parse::<Type>()
    };
    syn::parse::Parser::parse2(parser, attr).map(Some)
}

/// `T` in `State<T>`, by the last path segment.
fn state_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "State" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.first()? {
        syn::GenericArgument::Type(inner) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// The handler with its assertions at the top of its body.
fn expand(mut handler: ItemFn, state: Option<Type>) -> syn::Result<TokenStream2> {
    let sig = &handler.sig;
    let state = state
        .or_else(|| {
            sig.inputs.iter().find_map(|input| match input {
                FnArg::Typed(typed) => state_type(&typed.ty).cloned(),
                FnArg::Receiver(_) => None,
            })
        })
        .unwrap_or_else(|| syn::parse_quote!(()));
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "a handler is an `async fn`: add `async`",
        ));
    }
    let mut assertions = Vec::with_capacity(sig.inputs.len() + 1);
    for (index, input) in sig.inputs.iter().enumerate() {
        let ty = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new(
                    receiver.span(),
                    "a handler cannot take `self`: make it a free `async fn` (or an associated \
                     one without a receiver)",
                ));
            }
            FnArg::Typed(typed) => &typed.ty,
        };
        if index == MAX_ARGUMENTS {
            return Err(syn::Error::new(
                input.span(),
                format!("a handler takes at most {MAX_ARGUMENTS} arguments (extractors)"),
            ));
        }
        // A type read by serde with a schema (`Json<T>`, `Query<T>`, ...) is checked first on
        // its own: behind the extractor's impl, the compiler would name only the extractor.
        if let Some(inner) = schema_read_type(ty) {
            assertions.push(quote_spanned! {inner.span()=>
                __nanoapi_has_a_schema::<#inner>();
            });
        }
        // Every argument but the last reads the head only; the last may read the body.
        assertions.push(if index + 1 == sig.inputs.len() {
            quote_spanned! {ty.span()=>
                __nanoapi_last_argument_is_an_extractor::<#ty, #state, _>();
            }
        } else {
            quote_spanned! {ty.span()=>
                __nanoapi_argument_is_a_head_extractor::<#ty, #state>();
            }
        });
    }
    // An output written as `impl Trait` cannot be named here; the compiler already holds the
    // body to the trait it names.
    let output: Option<(Span, TokenStream2)> = match &sig.output {
        ReturnType::Default => Some((sig.ident.span(), quote!(()))),
        ReturnType::Type(_, ty) if !mentions_impl(ty) => Some((ty.span(), quote!(#ty))),
        ReturnType::Type(..) => None,
    };
    if let Some((span, ty)) = output {
        assertions.push(quote_spanned! {span=>
            __nanoapi_output_is_a_response::<#ty>();
        });
    }
    let body = &handler.block;
    handler.block = syn::parse_quote! {{
        #[allow(dead_code, clippy::all)]
        {
            fn __nanoapi_argument_is_a_head_extractor<T: ::nanoapi::app::FromRequestParts<S>, S>() {}
            fn __nanoapi_last_argument_is_an_extractor<T: ::nanoapi::app::FromRequest<S, M>, S, M>() {}
            fn __nanoapi_output_is_a_response<T: ::nanoapi::app::IntoResponse>() {}
            fn __nanoapi_has_a_schema<T: ::nanoapi::app::ApiSchema + ?Sized>() {}
            #(#assertions)*
        }
        #body
    }};
    Ok(quote!(#handler))
}

/// The extractors whose type parameter is read by serde and described by its schema.
const SCHEMA_EXTRACTORS: [&str; 6] = ["Json", "Form", "Path", "Query", "Header", "Cookie"];

/// `T` in `Json<T>` (or another of [`SCHEMA_EXTRACTORS`], by its last path segment), unless it
/// is `_` or mentions `impl Trait`.
fn schema_read_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if !SCHEMA_EXTRACTORS.iter().any(|name| last.ident == name) {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let mut types = arguments.args.iter().filter_map(|argument| match argument {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(inner), None) if !matches!(inner, Type::Infer(_)) && !mentions_impl(inner) => {
            Some(inner)
        }
        _ => None,
    }
}

/// Whether a type contains `impl Trait` anywhere (it cannot be named in a turbofish).
fn mentions_impl(ty: &Type) -> bool {
    fn walk(tokens: TokenStream2) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(quote!(#ty))
}

/// Implements `FromRef<Self>` for the type of each field of an app's state struct, so that a
/// handler takes one field with `State<FieldType>` (a clone of it) instead of the whole state.
/// Each field type may appear once (two fields of one type would be two impls of one trait);
/// `#[from_ref(skip)]` leaves a field out.
///
/// ```
/// use std::sync::Arc;
/// use nanoapi::app::{App, FromRef, State};
///
/// #[derive(Clone)]
/// struct Db(Arc<Vec<String>>);
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     db: Db,
///     name: Arc<str>,
///     #[from_ref(skip)]
///     secret: String,
/// }
///
/// async fn count(State(db): State<Db>) -> String {
///     db.0.len().to_string()
/// }
///
/// async fn name(State(name): State<Arc<str>>) -> String {
///     name.to_string()
/// }
///
/// let state = AppState { db: Db(Arc::new(vec!["ada".into()])), name: "users".into(), secret: "s".into() };
/// let client = App::new().with_state(state).get("/count", count).get("/name", name).test_client();
/// assert_eq!(client.get("/count").send().text(), "1");
/// assert_eq!(client.get("/name").send().text(), "users");
/// ```
///
/// A skipped field is not a part of the state:
///
/// ```compile_fail,E0277
/// use nanoapi::app::{App, FromRef, State};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     #[from_ref(skip)]
///     secret: String,
/// }
///
/// async fn leak(State(secret): State<String>) -> String {
///     secret
/// }
///
/// let app = App::new().with_state(AppState { secret: "s".into() }).get("/", leak);
/// ```
#[proc_macro_derive(FromRef, attributes(from_ref))]
pub fn derive_from_ref(item: TokenStream) -> TokenStream {
    syn::parse::<syn::DeriveInput>(item)
        .and_then(from_ref::expand)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
