//! What the end-to-end tests share: a `synccheck sim` child process and fixture paths.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Building the simulator's RSA keys in a debug build takes a moment; CI machines are slow.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A running `synccheck sim`, killed by its own handle (its pid) when dropped.
pub struct Sim {
    child: Child,
    /// What to put in `USBMUXD_SOCKET_ADDRESS`, as the simulator printed it.
    pub address: String,
    pub socket: PathBuf,
    /// The simulator's stdin, where `unplug N` / `plug N` move phones off and on the bus.
    control: std::process::ChildStdin,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// Types a command on the simulator's stdin (`unplug 2`, `plug 2`).
    pub fn send(&mut self, command: &str) {
        use std::io::Write;
        writeln!(self.control, "{command}").expect("write to synccheck sim's stdin");
        self.control.flush().expect("flush synccheck sim's stdin");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the simulator on a private socket with `devices` copies of the healthy fixture.
pub fn start_sim(devices: usize, args: &[&str]) -> Sim {
    let snapshots = vec![fixture("healthy.plist"); devices];
    start_sim_with(&snapshots, args)
}

/// Starts the simulator serving these snapshots, one phone each.
pub fn start_sim_with(snapshots: &[PathBuf], args: &[&str]) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    start_sim_in(dir, socket, snapshots, args)
}

/// Starts the simulator on `socket` (a usbmuxd coming back where the last one was); `dir` is
/// removed with the returned `Sim`.
pub fn start_sim_in(
    dir: tempfile::TempDir,
    socket: PathBuf,
    snapshots: &[PathBuf],
    args: &[&str],
) -> Sim {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synccheck"));
    cmd.arg("sim").arg("--socket").arg(&socket);
    for s in snapshots {
        cmd.arg("--snapshot").arg(s);
    }
    cmd.args(args);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start synccheck sim");
    let control = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("synccheck sim printed no address within {START_TIMEOUT:?}");
        }
    };
    let address = line
        .trim()
        .strip_prefix("USBMUXD_SOCKET_ADDRESS=")
        .unwrap_or_else(|| panic!("unexpected first line from sim: {line:?}"))
        .to_string();
    Sim {
        child,
        address,
        socket,
        control,
        _dir: dir,
    }
}

/// Runs `synccheck ARGS` against `address`, killing it if it outlives `limit`: a hang is a
/// failure with a message, never a stuck CI run.
///
/// Each run records into a history of its own (never the user's, and never another test's: a
/// rescan is compared with the phone's last recorded scan); a test that wants one history
/// across runs passes `--db`.
pub fn synccheck_at(address: &str, args: &[&str], limit: Duration) -> Output {
    let history = tempfile::tempdir().expect("a temporary directory for the history");
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env("SYNCCHECK_DB", history.path().join("history.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run synccheck");
    wait_bounded(child, &format!("synccheck {args:?}"), limit)
}

/// Waits for `child`, draining its output on threads (a report larger than a pipe buffer must
/// not block the child), and kills it past `limit`.
pub fn wait_bounded(mut child: std::process::Child, what: &str, limit: Duration) -> Output {
    use std::io::Read;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output {
                status,
                stdout: out.join().unwrap(),
                stderr: err.join().unwrap(),
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap();
            panic!(
                "{what} still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether Debian's libimobiledevice-utils `tools` are here; panics under CI (which installs
/// them), so a missing install fails instead of silently skipping.
pub fn libimobiledevice_present(tools: &[&str]) -> bool {
    debian_tools_present(tools, "libimobiledevice-utils")
}

/// Whether `tools` (from the Debian `packages`) can be run. Under CI=true, where `.ci/run`
/// installs them, a missing one panics: a test fails rather than silently skipping.
pub fn debian_tools_present(tools: &[&str], packages: &str) -> bool {
    let found = tools.iter().all(|t| {
        Command::new(t)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{packages} is not installed (apt-get install -y {packages})");
        }
        eprintln!("skipping: {packages} is not installed");
    }
    found
}

/// Runs a third-party tool against `address`, killed after `limit`: (success, stdout, stderr).
pub fn run_tool(
    address: &str,
    tool: &str,
    args: &[&str],
    limit: Duration,
) -> (bool, String, String) {
    let child = Command::new(tool)
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let out = wait_bounded(child, &format!("{tool} {args:?}"), limit);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON report a command printed; a failure shows what it printed instead.
pub fn report_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The first device's finding for check `id`.
pub fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["devices"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// Serves `snap` from an in-process simulator and captures it with synccheck's own client
/// (no photo library), as a live scan reads a phone.
pub async fn capture_in_process(
    snap: synccheck_core::snapshot::Snapshot,
) -> synccheck_core::snapshot::Snapshot {
    use synccheck_device::photos::PhotoScope;
    use synccheck_device::{capture, Usbmuxd, UsbmuxdAddress};
    use synccheck_sim::{ListenAddr, SimConfig, SimDevice};

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let handle = synccheck_sim::start(SimConfig {
        devices: vec![SimDevice::new(snap)],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), Duration::from_secs(10));
    let devices = mux.list_devices().await.unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(30),
        capture(
            &mux,
            &devices[0],
            Duration::from_secs(10),
            PhotoScope::None,
            &mut |_, _| {},
        ),
    )
    .await
    .expect("the capture finishes")
    .expect("the capture succeeds");
    handle.shutdown().await;
    got
}

/// pymobiledevice3 (`PMD3`, else `.venv-pmd3` as `.ci/run` makes it, else on PATH), or `None`
/// (the test skips) when it is not installed; under `CI=true` a missing tool fails instead.
pub fn pymobiledevice3() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PMD3").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-pmd3/bin/pymobiledevice3")),
        Some(PathBuf::from("pymobiledevice3")),
    ];
    let found = candidates.into_iter().flatten().find(|tool| {
        Command::new(tool)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("pymobiledevice3 is not installed (.ci/run installs it into .venv-pmd3)");
        }
        eprintln!("skipping: pymobiledevice3 is not installed (see .ci/run)");
    }
    found
}
