//! The serving side of the runtime: options, transports, requests, the response writer and
//! the connection future.

mod blocking;
mod body;
mod conn;
mod dispatch;
mod duplex;
mod exchange;
mod extensions;
#[cfg(feature = "http2")]
#[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
pub mod http2;
mod metrics;
mod options;
mod request;
mod serve;
mod signal;
mod static_cache;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod transport;
mod workers;
mod writer;

pub use blocking::{
    BlockingBody, BlockingPool, BlockingWriter, OwnedRequest, serve_blocking, serve_blocking_with,
};
pub use body::RequestBody;
pub use conn::{ConnOptions, serve_connection};
pub use dispatch::Dispatch;
pub use writer::{ChunkedBody, ResponseWriter, Upgraded};

pub use extensions::Extensions;
pub use metrics::{Metrics, MetricsHook};
pub use options::{Limits, Options, Timeouts};
pub use request::Request;
pub use serve::{Server, ServerHandle, run, run_with, serve, serve_per_worker, serve_workers};
#[cfg(feature = "ws")]
pub(crate) use signal::Watch;
pub use signal::{Raised, ShutdownSignal};
pub use static_cache::{StaticCache, StaticRoutes};

/// The connection code without a socket, for tests, benchmarks, fuzzing and adapters that
/// receive requests as bytes (the `TestClient`, the serverless adapters): an in-memory
/// [`Transport`] pair ([`duplex`](testing::duplex)), and [`exchange`](testing::exchange) (every
/// response to a batch of request bytes) or [`Exchange`](testing::Exchange) (a streamed
/// response chunk by chunk) over it.
pub mod testing {
    pub use super::duplex::{Duplex, duplex};
    pub use super::exchange::{ClientResponse, Exchange, encode_request, exchange};
}
pub use transport::Transport;
pub use workers::Workers;
