//! The serving side of the runtime: options, transports and (next) the connection future.

mod duplex;
mod options;
mod transport;

pub use duplex::{Duplex, duplex};
pub use options::{Limits, Options, Timeouts};
pub use transport::Transport;
