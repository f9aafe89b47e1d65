//! Matching a request path against the generated tables.

use crate::routes::{ASSETS, Asset, PAGES, Page, Segment};

/// What a path names.
#[derive(Debug)]
pub enum Match<'p> {
    /// A page and its parameters (raw path segments, not decoded).
    Page(&'static Page, Vec<&'p [u8]>),
    /// A static file.
    Asset(&'static Asset),
    /// Nothing.
    NotFound,
}

/// Finds what `path` names: an asset, else the first page whose pattern matches (the table
/// lists literal routes first). A trailing slash is ignored.
pub fn route(path: &[u8]) -> Match<'_> {
    if let Some(asset) = ASSETS.iter().find(|asset| asset.path.as_bytes() == path) {
        return Match::Asset(asset);
    }
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let segments: Vec<&[u8]> = trimmed.split(|&b| b == b'/').skip(1).collect();
    for page in PAGES {
        if let Some(params) = matches(page.pattern, &segments) {
            return Match::Page(page, params);
        }
    }
    Match::NotFound
}

fn matches<'p>(pattern: &[Segment], segments: &[&'p [u8]]) -> Option<Vec<&'p [u8]>> {
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (expected, &segment) in pattern.iter().zip(segments) {
        match expected {
            Segment::Literal(text) if text.as_bytes() == segment => {}
            Segment::Param if !segment.is_empty() => params.push(segment),
            _ => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(path: &str) -> Option<(&'static str, Vec<String>)> {
        match route(path.as_bytes()) {
            Match::Page(page, params) => Some((
                page.route,
                params
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn paths_find_their_page_and_parameters() {
        assert_eq!(page("/"), Some(("/", vec![])));
        assert_eq!(page("/about/"), Some(("/about", vec![])));
        assert_eq!(page("/users/7"), Some(("/users/{id}", vec!["7".into()])));
        assert_eq!(
            page("/blog/2026/hello-world"),
            Some((
                "/blog/{year}/{slug}",
                vec!["2026".into(), "hello-world".into()]
            ))
        );
        assert_eq!(page("/users"), None);
        assert_eq!(page("/users//"), None);
        assert_eq!(page("/about/more"), None);
        assert!(matches!(route(b"/assets/style.css"), Match::Asset(_)));
        assert!(matches!(route(b"/assets/missing.css"), Match::NotFound));
    }
}
