//! What other parts of a program add to an app without the app knowing them: a value kept on
//! the [`App`](super::App) (typically its settings) that adds routes when the app is built and
//! stays readable on the compiled [`AppService`](super::AppService). The OpenAPI document and
//! its pages are made this way (`nanoapi::openapi`, feature `openapi`): the app records each
//! route's documentation, and the extension reads it.

use std::any::Any;

use super::{AppMeta, Route};

/// A part of an app that adds routes when the app is built. One value per type: adding
/// another of the same type replaces it.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, AppExtension, AppMeta, Route};
/// use nanoapi::http::{Response, StatusCode};
///
/// /// Serves the list of the app's routes at `/routes`.
/// struct RouteList;
///
/// impl AppExtension for RouteList {
///     fn routes(&self, _meta: &AppMeta, routes: &[Route]) -> Vec<Route> {
///         let list: Vec<String> = routes.iter().map(|r| format!("{} {}", r.method(), r.path())).collect();
///         let page = Response::text(StatusCode::OK, list.join("\n"));
///         vec![Route::get_static("/routes", page)]
///     }
/// }
///
/// async fn ok() -> &'static str { "ok" }
///
/// let client = App::new().get("/a", ok).extension(RouteList).test_client();
/// assert!(client.get("/routes").send().text().starts_with("GET /a"));
/// ```
pub trait AppExtension: Any + Send + Sync {
    /// The routes to serve after the app's own: made from `routes` (every route registered,
    /// nested routers flattened, with the routes of the extensions added before this one)
    /// and from the app's metadata.
    fn routes(&self, meta: &AppMeta, routes: &[Route]) -> Vec<Route>;
}

/// An app's extensions, at most one per type, in the order they were first added.
#[derive(Default)]
pub(crate) struct Extensions(Vec<Box<dyn AppExtension>>);

impl Extensions {
    /// The extension of type `T`, if there is one.
    pub(crate) fn get<T: AppExtension>(&self) -> Option<&T> {
        self.0
            .iter()
            .find_map(|ext| (&**ext as &dyn Any).downcast_ref::<T>())
    }

    /// The extension of type `T`, added with its default value if there was none.
    pub(crate) fn get_or_default<T: AppExtension + Default>(&mut self) -> &mut T {
        let at = match self.position::<T>() {
            Some(at) => at,
            None => {
                self.0.push(Box::new(T::default()));
                self.0.len() - 1
            }
        };
        let ext: &mut dyn Any = &mut *self.0[at];
        ext.downcast_mut::<T>()
            .expect("the extension found by its type has that type")
    }

    /// Adds `ext`, in the place of the extension of its type if there is one.
    pub(crate) fn insert<T: AppExtension>(&mut self, ext: T) {
        match self.position::<T>() {
            Some(at) => self.0[at] = Box::new(ext),
            None => self.0.push(Box::new(ext)),
        }
    }

    /// The routes every extension adds to `routes`, each seeing those added before it.
    pub(crate) fn add_routes(&self, meta: &AppMeta, routes: &mut Vec<Route>) {
        for ext in &self.0 {
            let added = ext.routes(meta, routes);
            routes.extend(added);
        }
    }

    fn position<T: AppExtension>(&self) -> Option<usize> {
        self.0.iter().position(|ext| (&**ext as &dyn Any).is::<T>())
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("count", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Response, StatusCode};

    /// Adds `/<name>` answering how many routes it saw.
    #[derive(Default)]
    struct Counter(&'static str);

    impl AppExtension for Counter {
        fn routes(&self, _meta: &AppMeta, routes: &[Route]) -> Vec<Route> {
            let seen = Response::text(StatusCode::OK, routes.len().to_string());
            vec![Route::get_static(&format!("/{}", self.0), seen)]
        }
    }

    struct Other;

    impl AppExtension for Other {
        fn routes(&self, _meta: &AppMeta, routes: &[Route]) -> Vec<Route> {
            let seen = Response::text(StatusCode::OK, routes.len().to_string());
            vec![Route::get_static("/other", seen)]
        }
    }

    fn meta() -> AppMeta {
        AppMeta {
            title: "t".into(),
            version: "1".into(),
            description: None,
        }
    }

    #[test]
    fn one_extension_per_type_each_seeing_the_routes_added_before_it() {
        let mut extensions = Extensions::default();
        extensions.insert(Counter("first"));
        extensions.insert(Other);
        extensions.insert(Counter("replaced"));
        assert_eq!(extensions.get::<Counter>().map(|c| c.0), Some("replaced"));
        extensions.get_or_default::<Counter>().0 = "changed";

        let mut routes = vec![Route::get_static(
            "/app",
            Response::text(StatusCode::OK, "a"),
        )];
        extensions.add_routes(&meta(), &mut routes);
        let paths: Vec<&str> = routes.iter().map(Route::path).collect();
        // The replaced extension keeps its place, before `Other`, which sees its route.
        assert_eq!(paths, ["/app", "/changed", "/other"]);
    }

    #[test]
    fn a_missing_extension_is_added_with_its_default() {
        let mut extensions = Extensions::default();
        assert!(extensions.get::<Counter>().is_none());
        assert_eq!(extensions.get_or_default::<Counter>().0, "");
        assert!(extensions.get::<Counter>().is_some());
    }
}
