//! A reader that stops early (`synccheck history | head -2`) closes the pipe: the writer is
//! done, not broken. Rust ignores SIGPIPE, so a closed stdout is an EPIPE error, and `println!`
//! turns it into a panic ("failed printing to stdout: Broken pipe"). SIGPIPE is not restored to
//! its default instead: it would also kill the process when a phone, usbmuxd or a simulator
//! client closes a Unix socket mid-write, where a typed error is wanted.
//!
//! So the one place that sees every such panic, the panic hook, says nothing for it, and
//! `main` ends the process quietly with the code a shell gives a process ended by SIGPIPE.
//! Writers that report their own errors end in `CliError::Output`, caught by
//! `CliError::is_closed_pipe`.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};

/// 128 + SIGPIPE (13): what `yes | head -1` leaves in `$?` for `yes`.
pub const EXIT_CODE: i32 = 128 + 13;

/// Set once the hook has seen a closed pipe, so that a panic on another thread (a tokio worker
/// printing) also ends the process quietly.
static SEEN: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook: a print to a closed stdout or stderr ends the process without a
/// word; every other panic is reported as before.
pub fn install() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_closed_pipe_panic(info.payload()) {
            SEEN.store(true, Ordering::SeqCst);
            // The main thread unwinds to `main`, which runs the destructors (temporary
            // directories, simulator sockets) and exits; any other thread ends the process now.
            if std::thread::current().name() != Some("main") {
                std::process::exit(EXIT_CODE);
            }
            return;
        }
        default(info);
    }));
}

/// Whether a caught panic was a print to a closed pipe (after [`install`]).
pub fn was_closed_pipe(payload: &(dyn Any + Send)) -> bool {
    SEEN.load(Ordering::SeqCst) || is_closed_pipe_panic(payload)
}

/// std's print macros panic with "failed printing to stdout: <error>" (or stderr).
fn is_closed_pipe_panic(payload: &(dyn Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    let broken_pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
    (message.starts_with("failed printing to stdout")
        || message.starts_with("failed printing to stderr"))
        && (message.contains("os error 32") || message.contains(&broken_pipe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_print_to_a_closed_pipe_is_quiet() {
        let quiet: Box<dyn Any + Send> =
            Box::new("failed printing to stdout: Broken pipe (os error 32)".to_string());
        assert!(is_closed_pipe_panic(quiet.as_ref()));
        let stderr: Box<dyn Any + Send> =
            Box::new("failed printing to stderr: Broken pipe (os error 32)".to_string());
        assert!(is_closed_pipe_panic(stderr.as_ref()));
        for other in [
            "failed printing to stdout: No space left on device (os error 28)",
            "index out of bounds: Broken pipe (os error 32)",
        ] {
            let loud: Box<dyn Any + Send> = Box::new(other.to_string());
            assert!(!is_closed_pipe_panic(loud.as_ref()), "{other}");
        }
        let static_str: Box<dyn Any + Send> = Box::new("explicit panic");
        assert!(!is_closed_pipe_panic(static_str.as_ref()));
    }
}
