//! The `ws_echo` example's dispatch, shared with `tests/ws.rs` (which serves it with a small
//! message limit).

use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};
use nanoapi::ws::{Handshake, Limits, Message, WebSocket};

/// `GET /ws` upgrades (choosing the first subprotocol the client offers, and permessage-deflate
/// with feature `ws-deflate`) and echoes every text and binary message until the client
/// closes, in a task of its own (so that the HTTP exchange ends and its memory is reused while
/// the socket is open); any other path is a 404.
pub async fn echo(
    limits: &Limits,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    if req.path() != b"/ws" {
        return w
            .send(Response::text(StatusCode::NOT_FOUND, "not found"))
            .await;
    }
    let handshake = match Handshake::check(req) {
        Ok(handshake) => handshake,
        Err(refusal) => return w.send(refusal.into_response()).await,
    };
    let protocol = handshake.protocols().next();
    // permessage-deflate when the client offers it and the example has the feature.
    #[cfg(feature = "ws-deflate")]
    let mut socket = {
        let deflate = handshake.deflate(&nanoapi::ws::Deflate::new());
        let io = w
            .upgrade(handshake.accept_with(protocol, deflate.as_ref())?)
            .await?;
        WebSocket::with_deflate(io, *limits, deflate)
    };
    #[cfg(not(feature = "ws-deflate"))]
    let mut socket = WebSocket::new(w.upgrade(handshake.accept(protocol)?).await?, *limits);
    nanoapi::executor::spawn_local(async move {
        // The socket's end (a close, a broken frame, a reset) is the client's business.
        while let Ok(Some(message)) = socket.recv().await {
            if let Message::Text(_) | Message::Binary(_) = message
                && socket.send(message).await.is_err()
            {
                return;
            }
        }
    })
    .detach();
    Ok(())
}
