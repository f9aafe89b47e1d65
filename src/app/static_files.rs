//! `StaticFiles`: a directory served under a path prefix, every file as a [`FileResponse`]
//! (conditional requests, ranges, validators), with path traversal made impossible.
//!
//! How traversal is refused is on [`StaticFiles`].

use crate::app::logging::event;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::extract::{FromRequestParts, Rejection, RequestContext, RequestParts};
use super::response::{Conditional, FileResponse, HttpException, IntoResponse, Redirect};
use super::routes::Route;
use crate::http::coding::{Coding, negotiate};
use crate::http::{Response, StatusCode};

/// A directory to serve with [`App::mount`](super::App::mount).
///
/// Files get everything [`FileResponse`] does: `Content-Type` from the extension, `ETag`,
/// `Last-Modified`, 304s, ranges. A missing file, a directory (unless an index file is set),
/// or any path that would leave the directory is a 404 `{"detail":"Not Found"}`.
///
/// # Path traversal
///
/// A request path reaches the disk only through three checks. The raw path must not carry an
/// encoded separator or NUL (`%2f`, `%5c`, `%00`): a file name never needs one, and decoding
/// it would move a segment boundary. The decoded remainder is rebuilt segment by segment, each
/// a plain name: `..`, backslashes, NUL, and anything the platform reads as a root or prefix
/// end the request with 404. Then, on the blocking pool, the candidate is canonicalized
/// (symlinks resolved) and must still lie under the canonical root, so a symlink that points
/// out of the directory is a 404 too. What remains is a window between that check and the
/// open in which someone who can already write into the served directory swaps in a
/// symlink; serving a directory writable by untrusted users is not supported.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, StaticFiles};
///
/// let dir = std::env::temp_dir().join("nanoapi-doc-static");
/// std::fs::create_dir_all(dir.join("css")).unwrap();
/// std::fs::write(dir.join("css/site.css"), "body{}").unwrap();
/// std::fs::write(dir.join("index.html"), "<h1>home</h1>").unwrap();
///
/// let client = App::new()
///     .mount("/static", StaticFiles::new(&dir).index("index.html"))
///     .test_client();
/// let resp = client.get("/static/css/site.css").send();
/// assert_eq!(resp.header("content-type"), Some("text/css; charset=utf-8"));
/// assert_eq!(resp.text(), "body{}");
/// assert_eq!(client.get("/static/").send().text(), "<h1>home</h1>");
/// assert_eq!(client.get("/static/../Cargo.toml").send().status(), 404);
/// assert_eq!(client.get("/static/%2e%2e/Cargo.toml").send().status(), 404);
/// ```
#[derive(Debug, Clone)]
pub struct StaticFiles {
    dir: PathBuf,
    index: Option<String>,
    precompressed: bool,
}

/// The codings of precompressed siblings, in order of preference, with their suffixes.
const PRECOMPRESSED: [(Coding, &str); 3] = [
    (Coding::Zstd, ".zst"),
    (Coding::Brotli, ".br"),
    (Coding::Gzip, ".gz"),
];

impl StaticFiles {
    /// Serves the files under `dir` (checked when mounted).
    pub fn new(dir: impl Into<PathBuf>) -> StaticFiles {
        StaticFiles {
            dir: dir.into(),
            index: None,
            precompressed: false,
        }
    }

    /// Serves a file's precompressed sibling when there is one the request accepts
    /// (`app.js.zst`, `app.js.br`, `app.js.gz` for `app.js`, preferred in that order; see
    /// [`negotiate`]), with the original's `Content-Type`, a `Content-Encoding`, and
    /// `Vary: Accept-Encoding` on every file response. Nothing is compressed while serving,
    /// and no coding feature is needed: the siblings are made at build time (`gzip -k`,
    /// `brotli -k`, `zstd -k`). The sibling is a file of its own, with its own `ETag` and
    /// ranges over its coded bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::{App, StaticFiles};
    ///
    /// let dir = std::env::temp_dir().join("nanoapi-doc-precompressed");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("app.js"), "console.log(1)").unwrap();
    /// std::fs::write(dir.join("app.js.br"), b"\x0b\x06\x80console.log(1)\x03").unwrap();
    ///
    /// let client = App::new()
    ///     .mount("/static", StaticFiles::new(&dir).precompressed(true))
    ///     .test_client();
    /// let br = client.get("/static/app.js").header("accept-encoding", "gzip, br").send();
    /// assert_eq!(br.header("content-encoding"), Some("br"));
    /// assert_eq!(br.header("content-type"), Some("text/javascript; charset=utf-8"));
    /// let plain = client.get("/static/app.js").header("accept-encoding", "gzip").send();
    /// assert_eq!(plain.header("content-encoding"), None);
    /// assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    /// assert_eq!(plain.text(), "console.log(1)");
    /// ```
    pub fn precompressed(mut self, precompressed: bool) -> StaticFiles {
        self.precompressed = precompressed;
        self
    }

    /// Serves `file` (`index.html`, say) for a directory's path ending in `/`; a directory's
    /// path without the slash is redirected (307) to it, so relative links in the page
    /// resolve.
    pub fn index(mut self, file: impl Into<String>) -> StaticFiles {
        self.index = Some(file.into());
        self
    }

    /// The `GET` route serving these files under `prefix` (`/static` serves
    /// `/static/{*path}`), left out of the OpenAPI document.
    ///
    /// # Panics
    ///
    /// If the directory does not exist or cannot be canonicalized: a start-up error.
    pub(crate) fn into_route<S: 'static>(self, prefix: &str) -> Route<S> {
        let root = std::fs::canonicalize(&self.dir)
            .ok()
            .filter(|root| root.is_dir())
            .unwrap_or_else(|| {
                panic!(
                    "StaticFiles: {} is not a readable directory",
                    self.dir.display()
                )
            });
        let root = Arc::new(Root {
            dir: root,
            index: self.index,
            precompressed: self.precompressed,
        });
        let path = format!("{}/{{*path}}", prefix.trim_end_matches('/'));
        let handler = move |path: MountedPath, conditional: Conditional, accept: AcceptEncoding| {
            let root = root.clone();
            async move { root.serve(path, conditional, accept).await }
        };
        Route::get(&path, handler).include_in_schema(false)
    }
}

/// The canonical directory, the index file name and whether precompressed siblings are
/// served, shared by every request.
#[derive(Debug)]
struct Root {
    dir: PathBuf,
    index: Option<String>,
    precompressed: bool,
}

/// A request's `Accept-Encoding` values, for choosing a precompressed sibling.
struct AcceptEncoding(Vec<Vec<u8>>);

impl<S> FromRequestParts<S> for AcceptEncoding {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(AcceptEncoding(
            req.header_all("accept-encoding")
                .map(<[u8]>::to_vec)
                .collect(),
        ))
    }
}

/// A file to serve: the file asked for, or its precompressed sibling in a coding.
#[derive(Debug, PartialEq, Eq)]
struct FileToServe {
    /// The file asked for, canonical.
    file: PathBuf,
    /// The sibling chosen, canonical.
    sibling: Option<(Coding, PathBuf)>,
}

/// What a request path names on disk.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    /// A regular file under the root.
    File(FileToServe),
    /// A directory with an index, asked for without the trailing slash.
    AddSlash,
    /// Nothing that may be served.
    NotFound,
}

impl Root {
    async fn serve(
        &self,
        path: MountedPath,
        conditional: Conditional,
        accept: AcceptEncoding,
    ) -> Response {
        let Some(relative) = path.relative else {
            return not_found();
        };
        let trailing_slash = path.decoded.is_empty() || path.decoded.ends_with('/');
        let dir = self.dir.clone();
        let index = self.index.clone();
        let precompressed = self.precompressed;
        let resolved = crate::executor::spawn_blocking(move || {
            let resolved = resolve(&dir, &relative, index.as_deref(), trailing_slash)?;
            match resolved {
                Resolved::File(found) if precompressed => {
                    Ok(Resolved::File(with_sibling(&dir, found.file, &accept.0)?))
                }
                other => Ok(other),
            }
        })
        .await;
        let resolved = match resolved {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(err)) => return io_error(&err),
            Err(err) => {
                event!(error, error = %err, "static file lookup failed");
                return internal_error();
            }
        };
        match resolved {
            Resolved::File(found) => {
                let opened = match &found.sibling {
                    None => FileResponse::open(&found.file).await,
                    Some((coding, sibling)) => FileResponse::open(sibling).await.map(|file| {
                        file.content_type(super::response::guess_content_type(&found.file))
                            .header("Content-Encoding", coding.token())
                    }),
                };
                match opened {
                    Ok(file) if self.precompressed => file
                        .header("Vary", "Accept-Encoding")
                        .conditional(conditional)
                        .into_response(),
                    Ok(file) => file.conditional(conditional).into_response(),
                    Err(err) => io_error(&err),
                }
            }
            Resolved::AddSlash => Redirect::temporary(format!("{}/", path.raw)).into_response(),
            Resolved::NotFound => not_found(),
        }
    }
}

/// Finds `relative` under `root` (blocking: canonicalization walks the path), refusing
/// anything whose real path leaves the root.
fn resolve(
    root: &Path,
    relative: &Path,
    index: Option<&str>,
    trailing_slash: bool,
) -> io::Result<Resolved> {
    let Some(real) = canonical_under(root, &root.join(relative))? else {
        return Ok(Resolved::NotFound);
    };
    let metadata = std::fs::metadata(&real)?;
    if metadata.is_file() {
        return Ok(Resolved::File(FileToServe {
            file: real,
            sibling: None,
        }));
    }
    let Some(index) = index.filter(|_| metadata.is_dir()) else {
        return Ok(Resolved::NotFound);
    };
    if !trailing_slash {
        return Ok(Resolved::AddSlash);
    }
    match canonical_under(root, &real.join(index))? {
        Some(page) if std::fs::metadata(&page)?.is_file() => Ok(Resolved::File(FileToServe {
            file: page,
            sibling: None,
        })),
        _ => Ok(Resolved::NotFound),
    }
}

/// `file` with the precompressed sibling the request accepts best among those that exist
/// (blocking: it looks at the disk).
fn with_sibling(
    root: &Path,
    file: PathBuf,
    accept_encoding: &[Vec<u8>],
) -> io::Result<FileToServe> {
    let mut found = Vec::new();
    for (coding, suffix) in PRECOMPRESSED {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        if let Some(sibling) = canonical_under(root, Path::new(&name))?
            && std::fs::metadata(&sibling)?.is_file()
        {
            found.push((coding, sibling));
        }
    }
    let offered: Vec<Coding> = found.iter().map(|(coding, _)| *coding).collect();
    let chosen = negotiate(accept_encoding.iter().map(Vec::as_slice), &offered);
    Ok(FileToServe {
        file,
        sibling: chosen.and_then(|coding| found.into_iter().find(|(c, _)| *c == coding)),
    })
}

/// `path` canonicalized, if it exists and lies under `root`.
fn canonical_under(root: &Path, path: &Path) -> io::Result<Option<PathBuf>> {
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(root) => Ok(Some(real)),
        Ok(real) => {
            event!(debug, path = %real.display(), "static path leaves its root");
            Ok(None)
        }
        Err(err) if is_missing(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Errors that mean "there is no such file to serve" rather than a fault.
fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::IsADirectory
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidFilename
    )
}

fn io_error(err: &io::Error) -> Response {
    if is_missing(err) {
        return not_found();
    }
    event!(error, error = %err, "static file could not be served");
    internal_error()
}

fn not_found() -> Response {
    HttpException::new(StatusCode::NOT_FOUND, "Not Found").into_response()
}

fn internal_error() -> Response {
    HttpException::internal_server_error().into_response()
}

/// The part of the request path under the mount: raw (for redirects), decoded, and as a safe
/// relative path (`None` when it is not one).
struct MountedPath {
    raw: String,
    decoded: String,
    relative: Option<PathBuf>,
}

impl<S> FromRequestParts<S> for MountedPath {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let raw = String::from_utf8_lossy(req.path()).into_owned();
        let decoded = cx.param("path").unwrap_or_default().to_owned();
        let relative = if has_encoded_separator(req.path()) {
            None
        } else {
            safe_relative(&decoded)
        };
        Ok(MountedPath {
            raw,
            decoded,
            relative,
        })
    }
}

/// Whether the raw path encodes `/`, `\` or NUL.
fn has_encoded_separator(raw: &[u8]) -> bool {
    raw.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c') | (b'0', b'0')
            )
    })
}

/// `decoded` as a relative path of plain names: empty and `.` segments are skipped; `..`,
/// backslashes, NUL and anything that is not one normal component refuse the whole path.
fn safe_relative(decoded: &str) -> Option<PathBuf> {
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) => relative.push(name),
            _ => return None,
        }
    }
    Some(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_make_a_relative_path() {
        assert_eq!(safe_relative("a/b.txt"), Some(PathBuf::from("a/b.txt")));
        assert_eq!(safe_relative(""), Some(PathBuf::new()));
        assert_eq!(safe_relative("a//./b/"), Some(PathBuf::from("a/b")));
        assert_eq!(safe_relative(".hidden"), Some(PathBuf::from(".hidden")));
        assert_eq!(safe_relative("...."), Some(PathBuf::from("....")));
        for bad in ["..", "a/../b", "a/..", "a\\..\\b", "a\0b", "../etc/passwd"] {
            assert_eq!(safe_relative(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn encoded_separators_are_spotted_in_any_case() {
        for raw in ["/s/a%2fb", "/s/a%2Fb", "/s/a%5cb", "/s/a%5Cb", "/s/a%00"] {
            assert!(has_encoded_separator(raw.as_bytes()), "{raw}");
        }
        for raw in ["/s/a%20b", "/s/a%2eb", "/s/%25/2f"] {
            assert!(!has_encoded_separator(raw.as_bytes()), "{raw}");
        }
    }
}
