//! A server-side-rendering site on the bare nanoapi runtime, its routes generated at build
//! time: `build.rs` turns `pages/` (HTML templates, `{param}` in file names, a layout) and
//! `public/` (assets) into the tables of [`routes`]. The dispatcher ([`dispatch`]) streams the
//! layout's head before it renders the body, serves assets with caching headers, and answers
//! HEAD on every route (the runtime's writer elides the body).

mod render;
mod router;
pub mod routes;
mod site;

pub use router::{Match, route};
pub use site::{BeforeBody, Site, dispatch};
