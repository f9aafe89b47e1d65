//! The overlay's events: emitted through `tracing`, and passed on to the `log` logger when no
//! `tracing` subscriber is installed (so one `env_logger` sees the App's events beside the
//! runtime's records).
//!
//! This is what `tracing`'s own `log` feature does, but that feature makes every span of every
//! crate in the process call into `log` on creation, entry and exit even when nothing listens
//! (h2 enters several per frame: a tenth of an HTTP/2 request's instructions). Here only the
//! overlay's own events take the detour, and only while no subscriber is set.

use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{Interest, NoSubscriber};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// `tracing::$level!(...)` from the overlay: with no `tracing` subscriber installed, the event
/// goes to the `log` logger instead.
macro_rules! event {
    ($level:ident, $($args:tt)+) => {
        $crate::app::logging::emit(|| ::tracing::$level!($($args)+))
    };
}
pub(crate) use event;

/// Runs `emit` (which fires one `tracing` event) with the `log` forwarder as the subscriber when
/// none is installed for this thread.
pub(crate) fn emit(emit: impl FnOnce()) {
    let unheard = tracing::dispatcher::get_default(|current| current.is::<NoSubscriber>());
    if unheard {
        tracing::dispatcher::with_default(forwarder(), emit);
    } else {
        emit();
    }
}

fn forwarder() -> &'static Dispatch {
    static FORWARDER: OnceLock<Dispatch> = OnceLock::new();
    FORWARDER.get_or_init(|| Dispatch::new(LogForwarder))
}

/// A subscriber that writes the overlay's events as `log` records (`message field=value ...`,
/// the event's target and level) and ignores everything else.
struct LogForwarder;

impl Subscriber for LogForwarder {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Other crates' spans and events stay disabled as far as this subscriber is concerned
        // (no cost when nothing else listens); the overlay's events are checked each time,
        // since the `log` level can change.
        if meta.is_event() && meta.target().starts_with("nanoapi") {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        let level = log_level(*meta.level());
        meta.is_event()
            && level <= log::max_level()
            && log::logger().enabled(
                &log::Metadata::builder()
                    .level(level)
                    .target(meta.target())
                    .build(),
            )
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line::default();
        event.record(&mut line);
        log::logger().log(
            &log::Record::builder()
                .level(log_level(*meta.level()))
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .args(format_args!("{}{}", line.message, line.fields))
                .build(),
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's text: its message, then ` name=value` per field.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

fn log_level(level: Level) -> log::Level {
    match level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        Level::TRACE => log::Level::Trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_line_with_its_fields() {
        struct Probe;
        impl Subscriber for Probe {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, event: &Event<'_>) {
                let mut line = Line::default();
                event.record(&mut line);
                LINE.with(|l| *l.borrow_mut() = format!("{}{}", line.message, line.fields));
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        thread_local!(static LINE: std::cell::RefCell<String> = const {
            std::cell::RefCell::new(String::new())
        });
        let path = "/a b";
        tracing::subscriber::with_default(Probe, || {
            event!(info, path, status = 200, method = %"GET", "request {}", 1);
        });
        LINE.with(|l| assert_eq!(*l.borrow(), "request 1 path=/a b status=200 method=GET"));
    }
}
