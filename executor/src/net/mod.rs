//! TCP sockets on the current worker's reactor.
//!
//! Handles are neither `Send` nor `Sync`: a socket belongs to the worker that opened it. Every
//! operation takes an owned buffer and gives it back with the result.

mod listener;
mod stream;

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

pub use listener::{TcpListener, TcpListenerBuilder};
pub use stream::TcpStream;

use crate::fd::{SharedFd, current_is_poll};

/// A new TCP socket for `addr`'s family, ready for the current worker's reactor.
fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    #[cfg(target_vendor = "apple")]
    socket.set_nosigpipe(true)?;
    Ok(socket)
}

/// Registers `socket` with the current worker (non-blocking first, on the poll backend).
fn register(socket: Socket) -> io::Result<SharedFd> {
    if current_is_poll() {
        socket.set_nonblocking(true)?;
    }
    SharedFd::new(socket.into())
}
