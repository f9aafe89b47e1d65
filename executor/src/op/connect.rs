//! Connecting a stream socket.

use std::io;

use socket2::{SockAddr, Socket};

use crate::driver::poll::Direction;
use crate::fd::{FdBackend, SharedFd};
use crate::op::readiness;
use crate::runtime::with_current;

/// Connects `fd` (a fresh socket, non-blocking on the poll backend) to `addr`.
pub(crate) async fn connect(fd: &SharedFd, addr: SockAddr) -> io::Result<()> {
    match fd.backend() {
        #[cfg(target_os = "linux")]
        FdBackend::Uring => {
            crate::driver::uring::op::Op::submit(uring::Connect {
                fd: fd.clone(),
                addr: Box::new(addr),
            })
            .await
        }
        FdBackend::Poll(key) => {
            let borrowed = fd.borrowed();
            match socket2::SockRef::from(&borrowed).connect(&addr) {
                Ok(()) => return Ok(()),
                Err(err)
                    if err.raw_os_error() == Some(libc::EINPROGRESS)
                        || err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
            // The socket starts out marked writable: forget that, and wait for the real edge.
            with_current(|ctx| {
                ctx.driver
                    .borrow_mut()
                    .poll()
                    .clear_ready(key, Direction::Write)
            });
            readiness(fd, key, Direction::Write, |fd| {
                connect_outcome(&socket2::SockRef::from(&fd.borrowed()))
            })
            .await
        }
    }
}

/// Whether a non-blocking connect finished: its error, `Ok`, or `WouldBlock` if still going.
fn connect_outcome(socket: &Socket) -> io::Result<()> {
    if let Some(err) = socket.take_error()? {
        return Err(err);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(()),
        Err(err) if err.raw_os_error() == Some(libc::ENOTCONN) => {
            Err(io::ErrorKind::WouldBlock.into())
        }
        Err(err) => Err(err),
    }
}

#[cfg(target_os = "linux")]
mod uring {
    use std::io;

    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::Fd;
    use socket2::SockAddr;

    use crate::driver::uring::op::UringOp;
    use crate::fd::SharedFd;

    pub(super) struct Connect {
        pub(super) fd: SharedFd,
        pub(super) addr: Box<SockAddr>,
    }

    // SAFETY: the SQE points at the boxed address, which does not move with `self`.
    unsafe impl UringOp for Connect {
        type Output = io::Result<()>;

        fn sqe(&mut self) -> Entry {
            opcode::Connect::new(
                Fd(self.fd.raw()),
                self.addr.as_ptr().cast(),
                self.addr.len(),
            )
            .build()
        }

        fn complete(self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            res.map(drop)
        }
    }
}
