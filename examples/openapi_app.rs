//! The OpenAPI test app (`tests/openapi_app`) as a server, for `.ci/openapi.sh`: the live
//! document is validated and fuzzed with schemathesis, and `/docs` is opened in a browser.
//! Options come from the environment as in `hello`; `OPENAPI_APP_ASSETS=DIR` serves the
//! documentation pages' scripts from `DIR` (a copy of `swagger-ui-dist`) at `/assets/` instead
//! of loading them from the CDN.

#[path = "../tests/openapi_app/mod.rs"]
mod openapi_app;

use nanoapi::app::{Content, Route};
use nanoapi::openapi::DocsExt;

fn main() -> std::io::Result<()> {
    let mut app = openapi_app::app();
    if let Some(dir) = std::env::var_os("OPENAPI_APP_ASSETS") {
        let dir = std::path::PathBuf::from(dir);
        for (file, media) in [
            ("swagger-ui-bundle.js", "text/javascript"),
            ("swagger-ui.css", "text/css"),
            ("favicon-32x32.png", "image/png"),
        ] {
            let body = bytes::Bytes::from(std::fs::read(dir.join(file))?);
            let serve = move || std::future::ready(Content(media, body.clone()));
            let route = Route::get(&format!("/assets/{file}"), serve).include_in_schema(false);
            app = app.route(route);
        }
        app = app.docs_assets("/assets");
    }
    app.run()
}
