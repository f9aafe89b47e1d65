//! Server options, from code or from the environment.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use nanoapi_executor::Backend;

use super::{Metrics, MetricsHook, StaticRoutes};
use crate::http::Response;

/// Everything a server needs to know before it binds.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Options;
///
/// let options = Options::default().port(0).workers(1);
/// assert_eq!(options.addr().port(), 0);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// The port (default 8080; 0 lets the kernel choose, and every worker shares that port).
    pub port: u16,
    /// Worker threads (default: one per core).
    pub workers: Option<usize>,
    /// The reactor (default [`Backend::Auto`]).
    pub backend: Backend,
    /// Size limits of requests.
    pub limits: Limits,
    /// Timeouts of connections.
    pub timeouts: Timeouts,
    /// Connections per worker beyond which the worker stops accepting (the kernel's backlog
    /// absorbs the rest) rather than dropping established ones (default 10,000).
    pub max_connections: usize,
    /// Requests after which a connection is closed, to rebalance load (default: unlimited).
    pub max_requests_per_connection: Option<u64>,
    /// The value of the `Server` header (default `nanoapi`; `None` sends none).
    pub server_header: Option<String>,
    /// How long a graceful shutdown lets in-flight requests finish (default 30 s).
    pub shutdown_timeout: Duration,
    /// Responses answered without calling the dispatcher.
    pub static_routes: StaticRoutes,
    /// Called on connection and request events.
    pub metrics: Option<MetricsHook>,
    /// An already-bound listener to serve instead of binding `host:port` (socket activation,
    /// descriptors inherited from a supervisor). Every worker accepts on a duplicate of it.
    pub listener: Option<Arc<std::net::TcpListener>>,
    /// Serve HTTPS with these certificates (feature `tls`; default: plain HTTP).
    #[cfg(feature = "tls")]
    pub tls: Option<super::tls::TlsConfig>,
    /// HTTP/2 settings (feature `http2`): over TLS by ALPN, and in cleartext with prior
    /// knowledge unless turned off.
    #[cfg(feature = "http2")]
    pub http2: super::http2::Http2Options,
}

/// Size limits of requests. Defaults follow RFC 9112's recommendations and common practice.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest request-target (default 8 KiB; longer is 414).
    pub max_target: usize,
    /// Longest request head (default 16 KiB; longer is 431).
    pub max_head: usize,
    /// Most header fields (default 100; more is 431).
    pub max_headers: usize,
    /// Largest request body (default 2 MiB; larger is 413); a request can lower or raise its
    /// own before reading.
    pub max_body: u64,
    /// How much of a body the dispatcher did not read is drained to keep the connection
    /// (default 64 KiB); beyond it, the connection closes.
    pub max_drain: u64,
}

/// Connection timeouts. None costs a syscall per request: deadlines are checked by the
/// worker's timers.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// From accept, and from the first byte of each later request, to the end of its head
    /// (default 10 s). Absolute: progress does not extend it (slowloris).
    pub header: Duration,
    /// Idle time between requests on a keep-alive connection (default 5 s).
    pub keep_alive: Duration,
    /// Longest wait for the next bytes of a body (default 30 s).
    pub body_idle: Duration,
    /// Longest a write may stall (default 30 s).
    pub write_stall: Duration,
    /// How long a closing connection drains the peer's bytes so the response is not lost to
    /// a reset (default 2 s).
    pub linger: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            workers: None,
            backend: Backend::Auto,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            max_connections: 10_000,
            max_requests_per_connection: None,
            server_header: Some("nanoapi".to_owned()),
            shutdown_timeout: Duration::from_secs(30),
            static_routes: StaticRoutes::default(),
            metrics: None,
            listener: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "http2")]
            http2: super::http2::Http2Options::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_target: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 2 << 20,
            max_drain: 64 << 10,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            body_idle: Duration::from_secs(30),
            write_stall: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

impl Options {
    /// The defaults, overridden by the environment: `NANOAPI_HOST` (default 127.0.0.1),
    /// `NANOAPI_PORT` falling back to `PORT` (default 8080), `NANOAPI_WORKERS`,
    /// `NANOAPI_BACKEND` (`uring`, `poll` or `auto`), `NANOAPI_KEEP_ALIVE_SECS` (how long an
    /// idle keep-alive connection is kept, default 5), `NANOAPI_MAX_CONNECTIONS` (open
    /// connections per worker, default 10,000), `NANOAPI_SHUTDOWN_TIMEOUT_SECS` (how long a
    /// drain may take, default 30; fractions allowed), and with the `tls` feature
    /// `NANOAPI_TLS_CERT` and `NANOAPI_TLS_KEY` (PEM files: serve HTTPS, see
    /// `tls::TlsConfig::from_env`), and with the `http2` feature
    /// `NANOAPI_HTTP2_CLEARTEXT` (`true` or `false`: HTTP/2 with prior knowledge on a cleartext
    /// port, default true) and `NANOAPI_HTTP2_MAX_STREAMS` (concurrent streams per connection,
    /// default 100). The host may be a name
    /// (`localhost`): it is resolved once, preferring an IPv4 address.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the variable whose value does not parse.
    pub fn from_env() -> io::Result<Options> {
        Options::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Options::from_env) over any variable source (for tests and embedders).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Options::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> io::Result<Options> {
        let mut options = Options::default();
        if let Some(host) = lookup("NANOAPI_HOST") {
            options.host = resolve_host(&host)?;
        }
        if let Some(port) = lookup("NANOAPI_PORT") {
            options.port = parse_var("NANOAPI_PORT", &port)?;
        } else if let Some(port) = lookup("PORT") {
            options.port = parse_var("PORT", &port)?;
        }
        if let Some(workers) = lookup("NANOAPI_WORKERS") {
            let n: usize = parse_var("NANOAPI_WORKERS", &workers)?;
            options.workers = Some(n.max(1));
        }
        if let Some(backend) = lookup("NANOAPI_BACKEND") {
            options.backend = parse_var("NANOAPI_BACKEND", &backend)?;
        }
        if let Some(max) = lookup("NANOAPI_MAX_CONNECTIONS") {
            options.max_connections = parse_var("NANOAPI_MAX_CONNECTIONS", &max)?;
        }
        if let Some(secs) = lookup("NANOAPI_KEEP_ALIVE_SECS") {
            let secs: u64 = parse_var("NANOAPI_KEEP_ALIVE_SECS", &secs)?;
            options.timeouts.keep_alive = std::time::Duration::from_secs(secs);
        }
        if let Some(secs) = lookup("NANOAPI_SHUTDOWN_TIMEOUT_SECS") {
            let secs: f64 = parse_var("NANOAPI_SHUTDOWN_TIMEOUT_SECS", &secs)?;
            options.shutdown_timeout = Duration::try_from_secs_f64(secs).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("NANOAPI_SHUTDOWN_TIMEOUT_SECS={secs}: {err}"),
                )
            })?;
        }
        #[cfg(feature = "tls")]
        {
            options.tls = super::tls::TlsConfig::from_lookup(&lookup)?;
        }
        #[cfg(feature = "http2")]
        {
            if let Some(on) = lookup("NANOAPI_HTTP2_CLEARTEXT") {
                options.http2.cleartext = parse_var("NANOAPI_HTTP2_CLEARTEXT", &on)?;
            }
            if let Some(max) = lookup("NANOAPI_HTTP2_MAX_STREAMS") {
                options.http2.max_concurrent_streams =
                    parse_var("NANOAPI_HTTP2_MAX_STREAMS", &max)?;
            }
        }
        Ok(options)
    }

    /// Sets the host.
    pub fn host(mut self, host: IpAddr) -> Options {
        self.host = host;
        self
    }

    /// Sets the port (0: the kernel chooses).
    pub fn port(mut self, port: u16) -> Options {
        self.port = port;
        self
    }

    /// Sets the number of workers.
    pub fn workers(mut self, n: usize) -> Options {
        self.workers = Some(n.max(1));
        self
    }

    /// Sets the backend.
    pub fn backend(mut self, backend: Backend) -> Options {
        self.backend = backend;
        self
    }

    /// Answers `method` `path` (raw path, query ignored) with `response`, rendered once at
    /// start-up, without calling the dispatcher; a `GET` route answers `HEAD` too. Requests
    /// with a body still go to the dispatcher. For any consumer, not only the overlay.
    ///
    /// # Panics
    ///
    /// If the response body is a stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::Options;
    ///
    /// let options = Options::default().static_response("GET", "/health", Response::text(StatusCode::OK, "ok"));
    /// assert!(!options.static_routes.is_empty());
    /// ```
    pub fn static_response(mut self, method: &str, path: &str, response: Response) -> Options {
        self.static_routes.add(method, path, response);
        self
    }

    /// Renders the static responses compressed as well (see [`StaticRoutes::compress`]): each
    /// request gets the variant its `Accept-Encoding` allows, picked without compressing.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::coding::Compression;
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::Options;
    ///
    /// let page = Response::html(StatusCode::OK, "<p>a page</p>".repeat(200));
    /// let options = Options::default()
    ///     .static_response("GET", "/", page)
    ///     .static_compression(Compression::new());
    /// ```
    #[cfg(coding)]
    pub fn static_compression(mut self, compression: crate::http::coding::Compression) -> Options {
        self.static_routes.compress(compression);
        self
    }

    /// Serves `listener` (already bound and listening) instead of binding `host:port`: for
    /// socket activation (systemd passes the socket as descriptor 3:
    /// `unsafe { TcpListener::from_raw_fd(3) }`) or a descriptor inherited across an exec.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::server::Options;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let options = Options::default().listener(listener);
    /// assert_eq!(options.addr(), addr);
    /// ```
    pub fn listener(mut self, listener: std::net::TcpListener) -> Options {
        if let Ok(addr) = listener.local_addr() {
            self.host = addr.ip();
            self.port = addr.port();
        }
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Serves HTTPS with `tls`'s certificates (feature `tls`): every accepted connection runs
    /// the TLS handshake within the header timeout first. [`run`](super::run) reloads the
    /// certificates on `SIGHUP`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: super::tls::TlsConfig) -> Options {
        self.tls = Some(tls);
        self
    }

    /// HTTP/2 settings (feature `http2`).
    #[cfg(feature = "http2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
    pub fn http2(mut self, http2: super::http2::Http2Options) -> Options {
        self.http2 = http2;
        self
    }

    /// Calls `metrics` on connection and request events.
    pub fn metrics(mut self, metrics: impl Metrics) -> Options {
        self.metrics = Some(MetricsHook(std::sync::Arc::new(metrics)));
        self
    }

    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// An address, or a name resolved to its first IPv4 address (else its first address).
fn resolve_host(host: &str) -> io::Result<IpAddr> {
    let host = host.trim();
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let unresolved = |reason: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("NANOAPI_HOST={host:?}: {reason}"),
        )
    };
    if host.contains(':') {
        return Err(unresolved(
            "expected an IP address or a host name without a port".into(),
        ));
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, 0))
        .map_err(|err| unresolved(err.to_string()))?
        .collect();
    (addrs.iter().find(|addr| addr.is_ipv4()))
        .or(addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(|| unresolved("the name has no address".into()))
}

fn parse_var<T: std::str::FromStr>(name: &str, value: &str) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name}={value:?}: {err}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> io::Result<Options> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Options::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_without_variables() {
        let options = from(&[]).unwrap();
        assert_eq!(options.addr(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(options.backend, Backend::Auto);
        assert_eq!(options.limits.max_body, 2 * 1024 * 1024);
    }

    #[test]
    fn nanoapi_port_wins_over_port() {
        assert_eq!(from(&[("PORT", "9000")]).unwrap().port, 9000);
        assert_eq!(
            from(&[("PORT", "9000"), ("NANOAPI_PORT", "9001")])
                .unwrap()
                .port,
            9001
        );
    }

    #[test]
    fn host_backend_and_workers_are_read() {
        let options = from(&[
            ("NANOAPI_HOST", "::"),
            ("NANOAPI_BACKEND", "poll"),
            ("NANOAPI_WORKERS", "3"),
            ("NANOAPI_KEEP_ALIVE_SECS", "60"),
            ("NANOAPI_MAX_CONNECTIONS", "50000"),
        ])
        .unwrap();
        assert_eq!(options.host, "::".parse::<IpAddr>().unwrap());
        assert_eq!(options.backend, Backend::Poll);
        assert_eq!(options.workers, Some(3));
        assert_eq!(
            options.timeouts.keep_alive,
            std::time::Duration::from_secs(60)
        );
        assert_eq!(options.max_connections, 50_000);
    }

    #[cfg(feature = "http2")]
    #[test]
    fn http2_settings_are_read() {
        let options = from(&[
            ("NANOAPI_HTTP2_CLEARTEXT", "false"),
            ("NANOAPI_HTTP2_MAX_STREAMS", "32"),
        ])
        .unwrap();
        assert!(!options.http2.cleartext);
        assert_eq!(options.http2.max_concurrent_streams, 32);
        assert!(from(&[]).unwrap().http2.cleartext);
        let err = from(&[("NANOAPI_HTTP2_CLEARTEXT", "off")]).unwrap_err();
        assert!(err.to_string().contains("NANOAPI_HTTP2_CLEARTEXT"), "{err}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = from(&[("NANOAPI_PORT", "http")]).unwrap_err();
        assert!(err.to_string().contains("NANOAPI_PORT"), "{err}");
        assert!(from(&[("NANOAPI_BACKEND", "kqueue2")]).is_err());
        assert!(from(&[("NANOAPI_HOST", "localhost:80")]).is_err());
        assert!(from(&[("NANOAPI_KEEP_ALIVE_SECS", "5s")]).is_err());
        assert!(from(&[("NANOAPI_SHUTDOWN_TIMEOUT_SECS", "-1")]).is_err());
        let err = from(&[("NANOAPI_HOST", "no-such-host.invalid")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("NANOAPI_HOST=\"no-such-host.invalid\": "),
            "{err}"
        );
    }

    #[test]
    fn a_host_name_resolves_to_an_address() {
        let options = from(&[("NANOAPI_HOST", "localhost")]).unwrap();
        assert!(options.host.is_loopback(), "{}", options.host);
    }

    #[test]
    fn the_shutdown_timeout_takes_fractions() {
        let options = from(&[("NANOAPI_SHUTDOWN_TIMEOUT_SECS", "0.25")]).unwrap();
        assert_eq!(options.shutdown_timeout, Duration::from_millis(250));
    }
}
