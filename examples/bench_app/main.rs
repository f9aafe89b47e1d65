//! The route set of nanoapi's reference App benchmark (see `benches/README.md`), served with
//! options from the environment:
//!
//! - `GET /` → `{"ok":true}`
//! - `GET /users/{user_id}?verbose=bool` → `{"user_id":N,"verbose":b}`
//! - `POST /users` with `{"user_id","active","name"}` → the same object, validated and echoed
//! - `GET /auth` → `{"authorized":true}` with an `Authorization` header and a `session` cookie,
//!   else 401
//! - `GET /plaintext` → `Hello, World!`; `GET /json` → `{"message":"Hello, World!"}`

mod routes;

fn main() -> std::io::Result<()> {
    routes::app().run()
}
