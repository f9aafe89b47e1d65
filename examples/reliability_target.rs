//! The server `benches/hostile.sh` attacks: `GET /plain` answers at once, `POST /echo` reads
//! the body and reports its length, `GET /big` answers 64 KiB, `GET /slow` answers after 1 s
//! (a request in flight during a shutdown). Options from the environment; SIGTERM drains.

use std::time::Duration;

use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    match req.path() {
        b"/big" => {
            w.send(Response::text(StatusCode::OK, vec![b'b'; 64 * 1024]))
                .await
        }
        b"/slow" => {
            sleep(Duration::from_secs(1)).await;
            w.send(Response::text(StatusCode::OK, "slow")).await
        }
        _ => {
            let body = req.read_to_end().await?;
            w.send(Response::text(
                StatusCode::OK,
                format!("len={}", body.len()),
            ))
            .await
        }
    }
}

fn main() -> std::io::Result<()> {
    nanoapi::run((), dispatch)
}
