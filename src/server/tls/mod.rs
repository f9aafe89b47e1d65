//! HTTPS: TLS 1.2 and 1.3 over any [`Transport`](super::Transport), with rustls (feature `tls`).
//!
//! [`TlsConfig`] holds the certificates (from PEM files or memory, one per server name with
//! SNI, reloadable without dropping connections) and the rustls server configuration (ALPN
//! `http/1.1`, session resumption by tickets and by a session cache). [`accept`] runs the
//! handshake over an accepted transport and gives a [`TlsStream`], itself a `Transport`, so the
//! same connection code serves HTTP over it. A server started with [`Options::tls`] does this
//! for every connection, with the handshake inside the header deadline.
//!
//! ```no_run
//! use nanoapi::http::{Response, StatusCode};
//! use nanoapi::server::tls::TlsConfig;
//! use nanoapi::server::{Options, Request, ResponseWriter, run_with};
//!
//! async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
//!     w.send(Response::text(StatusCode::OK, "Hello over TLS")).await
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
//!     run_with(Options::from_env()?.port(8443).tls(tls), (), hello)
//! }
//! ```
//!
//! [`Options::tls`]: super::Options::tls

mod config;
mod stream;

pub use config::TlsConfig;
pub use stream::{TlsChunk, TlsStream, accept};
