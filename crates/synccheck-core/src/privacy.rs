//! `--redact` for what is logged: the CLI hides a customer's identifiers in its own output, and
//! the library's log lines (tracing at info and warn, which reach stderr by default) name a
//! phone through [`Shown`], which hides it too once [`hide_identifiers`] was called.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a hidden value reads as.
pub const REDACTED: &str = "[redacted]";

static HIDDEN: AtomicBool = AtomicBool::new(false);

/// From now on, every [`Shown`] value in this process reads as `[redacted]`. Set once at
/// start-up by a command given `--redact`.
pub fn hide_identifiers() {
    HIDDEN.store(true, Ordering::Relaxed);
}

/// Whether [`hide_identifiers`] was called.
pub fn identifiers_hidden() -> bool {
    HIDDEN.load(Ordering::Relaxed)
}

/// A phone's identifier (UDID, serial, name) as a log line shows it: `[redacted]` under
/// `--redact`, otherwise made printable (it came from the phone).
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if identifiers_hidden() {
            f.write_str(REDACTED)
        } else {
            f.write_str(&synccheck_wire::phone_text::printable(self.0))
        }
    }
}
