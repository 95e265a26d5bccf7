//! The Photos.sqlite summary (synccheck-device) stopped by a scan's deadline or cancelled, on
//! a library whose summary takes minutes (`synth::build_pathological`). Here rather than beside
//! the query because the library is the simulator's to make.

use std::path::Path;
use std::time::Duration;

use synccheck_device::limits::{LimitError, ScanStop};
use synccheck_device::photos_query::{summarize_until, LibraryError, MAIN_FILE};

use crate::synth::build_pathological;

fn slow_library(dir: &Path) {
    let bytes = build_pathological().unwrap();
    std::fs::write(dir.join(MAIN_FILE), bytes).unwrap();
}

#[test]
fn a_pathological_library_is_stopped_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    slow_library(dir.path());
    let started = std::time::Instant::now();
    let stop = ScanStop::after(Duration::from_millis(500));
    let err = summarize_until(dir.path(), &stop).unwrap_err();
    assert!(
        matches!(err, LibraryError::Stopped(LimitError::DeadlinePassed(_))),
        "{err}"
    );
    assert!(err.to_string().contains("deadline"), "{err}");
    // Well past the deadline would mean the query ran on: the full summary takes minutes.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_cancelled_scan_stops_the_query_from_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    slow_library(dir.path());
    let stop = ScanStop::after(Duration::from_secs(3600));
    let worker = {
        let stop = stop.clone();
        let path = dir.path().to_path_buf();
        std::thread::spawn(move || summarize_until(&path, &stop))
    };
    stop.cancel();
    let started = std::time::Instant::now();
    let err = worker.join().unwrap().unwrap_err();
    assert!(
        matches!(err, LibraryError::Stopped(LimitError::Cancelled)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
