//! The serving side of the runtime: options, transports, requests, the response writer and
//! the connection future.

mod blocking;
mod body;
mod conn;
mod dispatch;
mod duplex;
mod exchange;
mod extensions;
mod metrics;
mod options;
mod request;
mod serve;
mod signal;
mod static_cache;
mod transport;
mod writer;

pub use blocking::{BlockingWriter, OwnedRequest, serve_blocking};
pub use body::RequestBody;
pub use conn::{ConnOptions, serve_connection};
pub use dispatch::Dispatch;
pub use writer::{ChunkedBody, ResponseWriter, Upgraded};

pub use duplex::{Duplex, duplex};
pub use exchange::{ClientResponse, Exchange, encode_request, exchange};
pub use extensions::Extensions;
pub use metrics::{Metrics, MetricsHook};
pub use options::{Limits, Options, Timeouts};
pub use request::Request;
pub use serve::{Server, ServerHandle, run, run_with, serve, serve_per_worker};
pub use signal::{Raised, ShutdownSignal};
pub use static_cache::{PreparedResponse, StaticCache, StaticRoutes};
pub use transport::Transport;
