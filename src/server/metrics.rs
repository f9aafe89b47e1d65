//! Metrics hooks: a cheap optional callback on connection and request events.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::http::StatusCode;

/// Receives connection and request events. Every method has an empty default; called on the
/// worker that serves the connection, so keep them cheap (count, don't log).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use nanoapi::http::StatusCode;
/// use nanoapi::server::{Metrics, Options};
///
/// #[derive(Default)]
/// struct Counters { requests: AtomicU64 }
///
/// impl Metrics for Counters {
///     fn request_completed(&self, _status: StatusCode, _duration: Duration) {
///         self.requests.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let options = Options::default().metrics(Counters::default());
/// ```
pub trait Metrics: Send + Sync + 'static {
    /// A connection was accepted.
    fn connection_opened(&self, peer: Option<SocketAddr>) {
        let _ = peer;
    }

    /// A connection ended.
    fn connection_closed(&self, peer: Option<SocketAddr>) {
        let _ = peer;
    }

    /// A request was answered with `status`, `duration` after its head was parsed.
    fn request_completed(&self, status: StatusCode, duration: Duration) {
        let _ = (status, duration);
    }
}

/// A shared [`Metrics`] implementation, as options carry it.
#[derive(Clone)]
pub struct MetricsHook(pub Arc<dyn Metrics>);

impl fmt::Debug for MetricsHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsHook(..)")
    }
}

/// Shares one set of counters between the server and whoever reads them.
impl<M: Metrics> Metrics for Arc<M> {
    fn connection_opened(&self, peer: Option<SocketAddr>) {
        (**self).connection_opened(peer);
    }

    fn connection_closed(&self, peer: Option<SocketAddr>) {
        (**self).connection_closed(peer);
    }

    fn request_completed(&self, status: StatusCode, duration: Duration) {
        (**self).request_completed(status, duration);
    }
}
