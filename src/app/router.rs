//! The path router: patterns (`/users/{id}`, `/files/{*path}`) compiled into a segment tree,
//! matched on the raw path with static > parameter > wildcard priority and backtracking.

use std::fmt;

use super::small_list::SmallList;

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Static(String),
    Param(String),
    Wildcard(String),
}

/// A parsed route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub raw: String,
    pub segments: Vec<Segment>,
}

/// Why a pattern or a registration was refused (at start-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError(pub(crate) String);

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

impl Pattern {
    /// Parses `/a/{b}/{*c}`.
    pub fn parse(raw: &str) -> Result<Pattern, RouteError> {
        let fail = |why: &str| Err(RouteError(format!("route {raw:?}: {why}")));
        let Some(rest) = raw.strip_prefix('/') else {
            return fail("a path must start with '/'");
        };
        let mut segments = Vec::new();
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            if let Some(inner) = part.strip_prefix('{') {
                let Some(name) = inner.strip_suffix('}') else {
                    return fail("a parameter must fill its whole segment, as in /users/{id}");
                };
                let (wildcard, name) = match name.strip_prefix('*') {
                    Some(name) => (true, name),
                    None => (false, name),
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return fail("a parameter name must be letters, digits or '_'");
                }
                let taken = segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(n) | Segment::Wildcard(n) if n == name));
                if taken {
                    return fail(&format!("parameter {{{name}}} appears twice"));
                }
                if wildcard {
                    if i + 1 != count {
                        return fail("a wildcard {*name} must be the last segment");
                    }
                    segments.push(Segment::Wildcard(name.to_owned()));
                } else {
                    segments.push(Segment::Param(name.to_owned()));
                }
            } else if part.contains(['{', '}']) {
                return fail("a parameter must fill its whole segment, as in /users/{id}");
            } else {
                segments.push(Segment::Static(part.to_owned()));
            }
        }
        Ok(Pattern {
            raw: raw.to_owned(),
            segments,
        })
    }

    /// The parameter names, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) | Segment::Wildcard(name) => Some(name.as_str()),
            Segment::Static(_) => None,
        })
    }

    /// The pattern with parameter names erased: two patterns with the same shape match the
    /// same paths.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Static(s) => shape.push_str(s),
                Segment::Param(_) => shape.push_str("{}"),
                Segment::Wildcard(_) => shape.push_str("{*}"),
            }
        }
        if shape.is_empty() {
            shape.push('/');
        }
        shape
    }
}

/// A matched path's captures: byte ranges into the path, in pattern order (inline for up to
/// four parameters).
pub(crate) type Captures = SmallList<(usize, usize), 4>;

#[derive(Debug, Default)]
struct Node {
    /// Sorted by [`segment_order`], for a binary search (an app may have hundreds of
    /// siblings).
    statics: Vec<(Box<[u8]>, Node)>,
    param: Option<Box<Node>>,
    wildcard: Option<usize>,
    endpoint: Option<usize>,
}

/// Patterns → endpoint indexes.
#[derive(Debug, Default)]
pub(crate) struct PathTree {
    root: Node,
}

impl PathTree {
    /// Adds `pattern` as `endpoint`. Patterns of the same shape are one endpoint: the caller
    /// looks the shape up first.
    pub fn insert(&mut self, pattern: &Pattern, endpoint: usize) {
        let mut node = &mut self.root;
        for segment in &pattern.segments {
            node = match segment {
                Segment::Static(text) => {
                    let text = text.as_bytes();
                    let index = match node
                        .statics
                        .binary_search_by(|(s, _)| segment_order(s, text))
                    {
                        Ok(index) => index,
                        Err(index) => {
                            node.statics.insert(index, (text.into(), Node::default()));
                            index
                        }
                    };
                    &mut node.statics[index].1
                }
                Segment::Param(_) => node.param.get_or_insert_with(Default::default),
                Segment::Wildcard(_) => {
                    node.wildcard = Some(endpoint);
                    return;
                }
            };
        }
        node.endpoint = Some(endpoint);
    }

    /// The endpoint matching `path` (raw, starting with `/`), filling `captures`.
    pub fn find(&self, path: &[u8], captures: &mut Captures) -> Option<usize> {
        captures.clear();
        let rest = path.strip_prefix(b"/")?;
        if rest.is_empty()
            && let Some(endpoint) = self.root.endpoint
        {
            return Some(endpoint);
        }
        find_in(&self.root, rest, 1, captures)
    }
}

/// Static segments by length, then bytes: most comparisons of a search end at the lengths.
fn segment_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Matches `rest` (what follows a `/`, starting at byte `offset` of the whole path) below
/// `node`: static children first, then the parameter, then the wildcard, backtracking when a
/// branch dead-ends.
fn find_in(node: &Node, rest: &[u8], offset: usize, captures: &mut Captures) -> Option<usize> {
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let segment = &rest[..end];
    let next = |child: &Node, captures: &mut Captures| -> Option<usize> {
        if end == rest.len() {
            child.endpoint
        } else {
            find_in(child, &rest[end + 1..], offset + end + 1, captures)
        }
    };
    if let Ok(index) = node
        .statics
        .binary_search_by(|(s, _)| segment_order(s, segment))
        && let Some(found) = next(&node.statics[index].1, captures)
    {
        return Some(found);
    }
    if !segment.is_empty()
        && let Some(child) = &node.param
    {
        captures.push((offset, offset + end));
        if let Some(found) = next(child, captures) {
            return Some(found);
        }
        captures.pop();
    }
    let endpoint = node.wildcard?;
    captures.push((offset, offset + rest.len()));
    Some(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(patterns: &[&str]) -> PathTree {
        let mut tree = PathTree::default();
        for (i, raw) in patterns.iter().enumerate() {
            tree.insert(&Pattern::parse(raw).unwrap(), i);
        }
        tree
    }

    fn find<'p>(tree: &PathTree, path: &'p str) -> Option<(usize, Vec<&'p str>)> {
        let mut captures = Captures::default();
        let endpoint = tree.find(path.as_bytes(), &mut captures)?;
        Some((
            endpoint,
            captures
                .as_slice()
                .iter()
                .map(|&(a, b)| &path[a..b])
                .collect(),
        ))
    }

    #[test]
    fn static_beats_parameter_beats_wildcard() {
        let t = tree(&["/users/me", "/users/{id}", "/users/{*rest}", "/"]);
        assert_eq!(find(&t, "/users/me"), Some((0, vec![])));
        assert_eq!(find(&t, "/users/42"), Some((1, vec!["42"])));
        assert_eq!(find(&t, "/users/42/posts"), Some((2, vec!["42/posts"])));
        assert_eq!(find(&t, "/"), Some((3, vec![])));
    }

    #[test]
    fn backtracks_from_a_dead_static_branch() {
        let t = tree(&["/a/b/c", "/a/{x}/d"]);
        assert_eq!(find(&t, "/a/b/d"), Some((1, vec!["b"])));
        assert_eq!(find(&t, "/a/b/c"), Some((0, vec![])));
        assert_eq!(find(&t, "/a/b/e"), None);
    }

    #[test]
    fn segment_boundaries_hold() {
        let t = tree(&["/user/{id}", "/users"]);
        assert_eq!(find(&t, "/users"), Some((1, vec![])));
        assert_eq!(find(&t, "/user"), None);
        assert_eq!(find(&t, "/user/"), None, "a parameter is never empty");
        assert_eq!(find(&t, "/users/1"), None);
        assert_eq!(find(&t, "/userss"), None);
    }

    #[test]
    fn trailing_slash_is_distinct() {
        let t = tree(&["/items", "/items/"]);
        assert_eq!(find(&t, "/items"), Some((0, vec![])));
        assert_eq!(find(&t, "/items/"), Some((1, vec![])));
    }

    #[test]
    fn wildcard_takes_the_rest_even_empty() {
        let t = tree(&["/files/{*path}"]);
        assert_eq!(find(&t, "/files/a/b.txt"), Some((0, vec!["a/b.txt"])));
        assert_eq!(find(&t, "/files/"), Some((0, vec![""])));
        assert_eq!(find(&t, "/files"), None);
    }

    #[test]
    fn bad_patterns_are_refused() {
        for raw in ["users", "/a{b}", "/{*a}/b", "/{a}/{a}", "/{}", "/{a-b}"] {
            assert!(Pattern::parse(raw).is_err(), "{raw}");
        }
        assert_eq!(Pattern::parse("/a/{b}/{*c}").unwrap().shape(), "/a/{}/{*}");
    }
}
