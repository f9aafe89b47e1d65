//! Health and readiness for fleets behind a load balancer (Kubernetes probes, ECS, an ALB's
//! health check): `GET /healthz` answers 200 while the process serves; `GET /readyz` answers
//! 200 until the server starts draining, then 503, so the balancer stops sending new requests
//! before the connections close.
//!
//! [`Probes`] wraps any dispatcher; [`healthz`] and [`readyz`] are the two answers, for a
//! consumer that routes by itself (an `App` route).

use std::sync::{Arc, OnceLock};

use crate::error::Result;
use crate::http::{Method, Response, StatusCode};
use crate::server::{Dispatch, Request, ResponseWriter, ServerHandle, ShutdownSignal};

/// Whether the server is ready for new requests: yes until the shutdown signal it watches is
/// raised. Cheap to clone; made before the server, attached to it once it runs.
///
/// # Examples
///
/// ```
/// use nanoapi::server::ShutdownSignal;
/// use nanoapi::serverless::health::Readiness;
///
/// let signal = ShutdownSignal::new();
/// let readiness = Readiness::from_signal(signal.clone());
/// assert!(readiness.is_ready());
/// signal.raise();
/// assert!(!readiness.is_ready());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    signal: Arc<OnceLock<ShutdownSignal>>,
}

impl Readiness {
    /// Ready, watching nothing yet (see [`attach`](Self::attach)).
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Not ready once `signal` is raised.
    pub fn from_signal(signal: ShutdownSignal) -> Readiness {
        Readiness {
            signal: Arc::new(OnceLock::from(signal)),
        }
    }

    /// Watches the server of `handle`: not ready once it drains
    /// ([`ServerHandle::is_draining`]). A readiness already watching a signal keeps it.
    pub fn attach(&self, handle: &ServerHandle) {
        let _ = self.signal.set(handle.shutdown_signal());
    }

    /// Whether new requests are welcome.
    pub fn is_ready(&self) -> bool {
        self.signal.get().is_none_or(|signal| !signal.is_raised())
    }
}

/// A dispatcher that answers `GET`/`HEAD` `/healthz` and `/readyz` itself and passes every
/// other request to the one it wraps.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::testing::exchange;
/// use nanoapi::server::{ConnOptions, Request, ResponseWriter, ShutdownSignal};
/// use nanoapi::serverless::health::{Probes, Readiness};
///
/// async fn app(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, "app")).await
/// }
///
/// let signal = ShutdownSignal::new();
/// let probes = Probes::new(app, Readiness::from_signal(signal.clone()));
/// let get = |path: &str| {
///     let wire = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
///     let responses = nanoapi::executor::block_on(exchange(&(), &probes, &ConnOptions::default(), wire))
///         .unwrap();
///     (responses[0].status().as_u16(), responses[0].body.clone())
/// };
/// assert_eq!(get("/healthz"), (200, "ok".into()));
/// assert_eq!(get("/readyz"), (200, "ready".into()));
/// assert_eq!(get("/other"), (200, "app".into()));
/// signal.raise();
/// assert_eq!(get("/readyz"), (503, "draining".into()));
/// assert_eq!(get("/healthz"), (200, "ok".into()));
/// ```
#[derive(Debug)]
pub struct Probes<D> {
    inner: D,
    readiness: Readiness,
}

impl<D> Probes<D> {
    /// Wraps `inner`; `/readyz` follows `readiness`.
    pub fn new(inner: D, readiness: Readiness) -> Probes<D> {
        Probes { inner, readiness }
    }
}

impl<C, D: Dispatch<C>> Dispatch<C> for Probes<D> {
    async fn dispatch<'a>(
        &'a self,
        ctx: &'a C,
        req: &'a mut Request,
        w: &'a mut ResponseWriter,
    ) -> Result<()> {
        let probe = matches!(req.method(), Method::Get | Method::Head);
        match req.path() {
            b"/healthz" if probe => healthz(w).await,
            b"/readyz" if probe => readyz(&self.readiness, w).await,
            _ => self.inner.dispatch(ctx, req, w).await,
        }
    }
}

/// Answers a liveness probe: `200 ok`.
///
/// # Errors
///
/// As [`ResponseWriter::send`].
///
/// # Examples
///
/// See [`Probes`].
pub async fn healthz(w: &mut ResponseWriter) -> Result<()> {
    w.send(Response::text(StatusCode::OK, "ok")).await
}

/// Answers a readiness probe: `200 ready`, or `503 draining` once `readiness` says no.
///
/// # Errors
///
/// As [`ResponseWriter::send`].
///
/// # Examples
///
/// See [`Probes`].
pub async fn readyz(readiness: &Readiness, w: &mut ResponseWriter) -> Result<()> {
    let response = if readiness.is_ready() {
        Response::text(StatusCode::OK, "ready")
    } else {
        Response::text(StatusCode::SERVICE_UNAVAILABLE, "draining")
    };
    w.send(response).await
}
