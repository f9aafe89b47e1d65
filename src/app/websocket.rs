//! WebSocket routes (features `app` and `ws`): the [`WebSocketUpgrade`] extractor checks the
//! opening handshake, and [`WebSocketUpgrade::on_upgrade`] answers `101` and hands the socket to
//! a task that runs once the response is on the wire, as axum's `WebSocketUpgrade` and
//! FastAPI's `@app.websocket` do. Other extractors (path, query, headers, cookies, security
//! schemes) work on the same route. Like FastAPI, the OpenAPI document leaves WebSocket routes'
//! upgrade out: the route is listed as a `GET` with its other parameters.

use crate::app::logging::event;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use super::extract::{FromRequestParts, Rejection, RequestContext, RequestParts};
use super::handler::LocalBoxFuture;
use super::response::{HttpException, IntoResponse};
use crate::http::{Response, StatusCode};
use crate::server::Upgraded;
use crate::ws::{Handshake, Limits, WebSocket};

/// What runs on the upgraded connection.
type Upgrade = Box<dyn FnOnce(Upgraded) -> LocalBoxFuture<'static, ()>>;

/// Where a handler leaves its upgrade for the dispatcher (in the request's extensions).
#[derive(Clone, Default)]
pub(crate) struct UpgradeSlot(Rc<RefCell<Option<Upgrade>>>);

impl UpgradeSlot {
    /// The upgrade a handler left, if it answered with one.
    pub(crate) fn take(&self) -> Option<Upgrade> {
        self.0.borrow_mut().take()
    }
}

/// A WebSocket opening handshake, checked: answer it with [`on_upgrade`].
///
/// A request that is not a valid handshake is answered before the handler runs: 426 with
/// `Sec-WebSocket-Version: 13` for another protocol version, 400 otherwise.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Path, WebSocketUpgrade};
/// use nanoapi::http::Response;
/// use nanoapi::ws::Message;
///
/// async fn chat(Path(room): Path<String>, ws: WebSocketUpgrade) -> Response {
///     ws.on_upgrade(move |mut socket| async move {
///         while let Ok(Some(message)) = socket.recv().await {
///             if let Message::Text(text) = message {
///                 let reply = format!("{room}: {}", &*text);
///                 if socket.send(Message::Text(reply.into())).await.is_err() {
///                     break;
///                 }
///             }
///         }
///     })
/// }
///
/// let app = App::new().get("/rooms/{room}", chat);
/// ```
///
/// [`on_upgrade`]: WebSocketUpgrade::on_upgrade
pub struct WebSocketUpgrade {
    handshake: Handshake,
    protocol: Option<String>,
    limits: Limits,
    /// permessage-deflate's parameters, once agreed with the client's offer.
    #[cfg(feature = "ws-deflate")]
    deflate: Option<crate::ws::DeflateParams>,
    slot: UpgradeSlot,
}

impl WebSocketUpgrade {
    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.handshake.protocols()
    }

    /// Accepts `protocol`, one of those offered; one not offered is ignored (the client would
    /// fail a connection that names it), and none is chosen by default.
    pub fn protocol(mut self, protocol: &str) -> WebSocketUpgrade {
        if self
            .handshake
            .protocols()
            .any(|offered| offered == protocol)
        {
            self.protocol = Some(protocol.to_owned());
        }
        self
    }

    /// The socket's size limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> WebSocketUpgrade {
        self.limits = limits;
        self
    }

    /// Accepts permessage-deflate as `config` allows when the client offers it (feature
    /// `ws-deflate`; off unless asked for, since each socket that uses it holds a compressor
    /// and a decompressor): text and binary messages then go both ways compressed.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::WebSocketUpgrade;
    /// use nanoapi::http::Response;
    /// use nanoapi::ws::{Deflate, Message};
    ///
    /// async fn feed(ws: WebSocketUpgrade) -> Response {
    ///     ws.deflate(Deflate::new().server_max_window_bits(12))
    ///         .on_upgrade(|mut socket| async move {
    ///             let update = Message::Text("a long, repetitive update".into());
    ///             let _ = socket.send(update).await;
    ///         })
    /// }
    /// ```
    #[cfg(feature = "ws-deflate")]
    pub fn deflate(mut self, config: crate::ws::Deflate) -> WebSocketUpgrade {
        self.deflate = self.handshake.deflate(&config);
        self
    }

    /// Answers `101 Switching Protocols`; `callback` gets the socket once the answer is sent,
    /// and runs on this worker for as long as it likes (the connection is its own).
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket<Upgraded>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        #[cfg(feature = "ws-deflate")]
        let (accept, deflate) = (
            self.handshake
                .accept_with(self.protocol.as_deref(), self.deflate.as_ref()),
            self.deflate,
        );
        #[cfg(not(feature = "ws-deflate"))]
        let accept = self.handshake.accept(self.protocol.as_deref());
        let accept = match accept {
            Ok(accept) => accept,
            Err(err) => {
                event!(error, error = %err, "the WebSocket answer could not be built");
                return HttpException::internal_server_error().into_response();
            }
        };
        let limits = self.limits;
        *self.slot.0.borrow_mut() = Some(Box::new(move |io: Upgraded| {
            #[cfg(feature = "ws-deflate")]
            let socket = WebSocket::with_deflate(io, limits, deflate);
            #[cfg(not(feature = "ws-deflate"))]
            let socket = WebSocket::new(io, limits);
            Box::pin(callback(socket)) as LocalBoxFuture<'static, ()>
        }));
        accept
    }
}

impl fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("protocols", &self.protocols().collect::<Vec<_>>())
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<S> FromRequestParts<S> for WebSocketUpgrade {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let handshake = Handshake::check(req).map_err(|refusal| {
            let mut exception = HttpException::new(refusal.status(), refusal.to_string());
            if refusal.status() == StatusCode::UPGRADE_REQUIRED {
                exception = exception.header("Sec-WebSocket-Version", "13");
            }
            Rejection::Response(exception.into_response())
        })?;
        let slot = UpgradeSlot::default();
        req.extensions_mut().insert(slot.clone());
        Ok(WebSocketUpgrade {
            handshake,
            protocol: None,
            limits: Limits::default(),
            #[cfg(feature = "ws-deflate")]
            deflate: None,
            slot,
        })
    }
}
