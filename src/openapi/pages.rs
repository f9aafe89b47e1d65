//! The documentation pages: Swagger UI and ReDoc, as FastAPI renders them, loading their
//! scripts from a CDN or from a self-hosted copy.

/// Where the pages' scripts and styles come from.
pub(crate) struct Assets {
    swagger_js: String,
    swagger_css: String,
    swagger_favicon: String,
    redoc_js: String,
    redoc_favicon: String,
    /// Whether ReDoc may load its web fonts (only from the CDN setup: a self-hosted site may
    /// have no internet access).
    web_fonts: bool,
}

impl Assets {
    /// The CDN's files (FastAPI's defaults) or the files under `base`.
    pub(crate) fn new(base: Option<&str>) -> Assets {
        match base {
            None => {
                let swagger = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5";
                Assets {
                    swagger_js: format!("{swagger}/swagger-ui-bundle.js"),
                    swagger_css: format!("{swagger}/swagger-ui.css"),
                    swagger_favicon: "https://fastapi.tiangolo.com/img/favicon.png".into(),
                    redoc_js: "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
                        .into(),
                    redoc_favicon: "https://fastapi.tiangolo.com/img/favicon.png".into(),
                    web_fonts: true,
                }
            }
            Some(base) => Assets {
                swagger_js: format!("{base}/swagger-ui-bundle.js"),
                swagger_css: format!("{base}/swagger-ui.css"),
                swagger_favicon: format!("{base}/favicon-32x32.png"),
                redoc_js: format!("{base}/redoc.standalone.js"),
                redoc_favicon: format!("{base}/favicon-32x32.png"),
                web_fonts: false,
            },
        }
    }
}

/// The Swagger UI page for the document at `openapi_url`.
pub(crate) fn swagger_ui(title: &str, openapi_url: &str, assets: &Assets) -> String {
    format!(
        r##"<!DOCTYPE html>
<html>
<head>
<link type="text/css" rel="stylesheet" href="{css}">
<link rel="shortcut icon" href="{favicon}">
<title>{title} - Swagger UI</title>
</head>
<body>
<div id="swagger-ui">
</div>
<script src="{js}"></script>
<!-- `SwaggerUIBundle` is now available on the page -->
<script>
const ui = SwaggerUIBundle({{
    url: {url},
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": true,
    "showExtensions": true,
    "showCommonExtensions": true,
    oauth2RedirectUrl: window.location.origin + '{oauth2_redirect}',
    presets: [
        SwaggerUIBundle.presets.apis,
        SwaggerUIBundle.SwaggerUIStandalonePreset
        ],
    }})
</script>
</body>
</html>
"##,
        css = html_attr(&assets.swagger_css),
        favicon = html_attr(&assets.swagger_favicon),
        title = html_text(title),
        js = html_attr(&assets.swagger_js),
        url = js_string(openapi_url),
        oauth2_redirect = SWAGGER_OAUTH2_REDIRECT_URL,
    )
}

/// Where the page Swagger UI's OAuth2 flows return to is served (FastAPI's default).
pub(crate) const SWAGGER_OAUTH2_REDIRECT_URL: &str = "/docs/oauth2-redirect";

/// The page Swagger UI's OAuth2 flows return to: swagger-ui's `oauth2-redirect.html` (v4.14.0,
/// Apache-2.0), as FastAPI serves it.
pub(crate) const SWAGGER_OAUTH2_REDIRECT: &str = include_str!("oauth2_redirect.html");

/// The ReDoc page for the document at `openapi_url`.
pub(crate) fn redoc(title: &str, openapi_url: &str, assets: &Assets) -> String {
    let fonts = if assets.web_fonts {
        "<link href=\"https://fonts.googleapis.com/css?family=Montserrat:300,400,700|Roboto:300,400,700\" rel=\"stylesheet\">\n"
    } else {
        ""
    };
    format!(
        r#"<!DOCTYPE html>
<html>
<head>
<title>{title} - ReDoc</title>
<!-- needed for adaptive design -->
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
{fonts}<link rel="shortcut icon" href="{favicon}">
<!--
ReDoc doesn't change outer page styles
-->
<style>
  body {{
    margin: 0;
    padding: 0;
  }}
</style>
</head>
<body>
<noscript>
    ReDoc requires Javascript to function. Please enable it to browse the documentation.
</noscript>
<redoc spec-url="{url}"></redoc>
<script src="{js}"> </script>
</body>
</html>
"#,
        title = html_text(title),
        favicon = html_attr(&assets.redoc_favicon),
        url = html_attr(openapi_url),
        js = html_attr(&assets.redoc_js),
    )
}

/// `text` escaped for an HTML text node.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` escaped for a double-quoted HTML attribute.
fn html_attr(text: &str) -> String {
    html_text(text).replace('"', "&quot;")
}

/// `text` as a JavaScript string literal that cannot close the `<script>` element around it.
fn js_string(text: &str) -> String {
    // A JSON string is a JavaScript string literal; `<` escaped keeps `</script>` out.
    serde_json::Value::from(text)
        .to_string()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_urls_are_escaped_for_their_context() {
        let assets = Assets::new(Some("/a\"b"));
        let page = swagger_ui("<T&T>", "/x'</script>", &assets);
        assert!(page.contains("<title>&lt;T&amp;T&gt; - Swagger UI</title>"));
        assert!(page.contains(r#"url: "/x'\u003c/script>","#));
        assert!(page.contains(r#"<script src="/a&quot;b/swagger-ui-bundle.js">"#));
        let page = redoc("R", "/o\"", &assets);
        assert!(page.contains(r#"<redoc spec-url="/o&quot;"></redoc>"#));
        assert!(!page.contains("fonts.googleapis.com"));
    }
}
