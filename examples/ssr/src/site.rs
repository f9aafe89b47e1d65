//! The dispatcher: pages streamed through the layout, assets with caching headers, HEAD on
//! every route, 405 for other methods.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use nanoapi::http::{Method, Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

use crate::render::render_body;
use crate::router::{Match, route};
use crate::routes::{Asset, LAYOUT_TAIL, NOT_FOUND, Page};

/// Called after a page's head has been flushed and before its body renders: where a real site
/// would fetch the page's data. Tests use it to hold a page between its head and its body.
pub type BeforeBody = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// The site's state, shared by every worker.
#[derive(Default)]
pub struct Site {
    before_body: Option<BeforeBody>,
}

impl Site {
    /// A site with nothing to wait for between a page's head and its body.
    pub fn new() -> Site {
        Site::default()
    }

    /// Sets the hook awaited between a page's head and its body.
    pub fn before_body(mut self, hook: BeforeBody) -> Site {
        self.before_body = Some(hook);
        self
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("before_body", &self.before_body.is_some())
            .finish()
    }
}

/// Answers one request (the runtime's dispatch seam).
///
/// # Errors
///
/// A transport failure while writing.
pub async fn dispatch(
    site: &Site,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    if !matches!(req.method(), Method::Get | Method::Head) {
        let refusal = Response::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            .header("Allow", "GET, HEAD")?;
        return w.send(refusal).await;
    }
    match route(req.path()) {
        Match::Asset(asset) => {
            let if_none_match = req.header("If-None-Match").map(<[u8]>::to_vec);
            w.send(asset_response(asset, if_none_match.as_deref())?)
                .await
        }
        Match::Page(page, params) => {
            let body = render_body(page.body, &params);
            stream_page(site, page, StatusCode::OK, body, w).await
        }
        Match::NotFound => {
            let body = render_body(NOT_FOUND.body, &[]);
            stream_page(site, &NOT_FOUND, StatusCode::NOT_FOUND, body, w).await
        }
    }
}

/// An asset, or 304 when the client's ETag is current.
fn asset_response(asset: &Asset, if_none_match: Option<&[u8]>) -> nanoapi::Result<Response> {
    let current = if_none_match.is_some_and(|tags| {
        tags.split(|&b| b == b',')
            .any(|tag| tag.trim_ascii() == asset.etag.as_bytes() || tag.trim_ascii() == b"*")
    });
    let response = match current {
        true => Response::empty(StatusCode::NOT_MODIFIED),
        false => Response::bytes(StatusCode::OK, asset.content_type, asset.body.into()),
    };
    Ok(response
        .header("Cache-Control", "public, max-age=31536000, immutable")?
        .header("ETag", asset.etag)?)
}

/// Streams the layout head (flushed at once), then the body and the layout's end.
async fn stream_page(
    site: &Site,
    page: &Page,
    status: StatusCode,
    body: Vec<u8>,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    let mut stream = w.start_chunked(Response::html(status, "")).await?;
    stream.send(page.head.into()).await?;
    if let Some(before_body) = &site.before_body {
        before_body().await;
    }
    stream.send(body.into()).await?;
    stream.send(LAYOUT_TAIL.into()).await?;
    stream.finish().await
}
