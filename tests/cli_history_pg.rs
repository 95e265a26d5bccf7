//! The shared history (`--db postgres://...`) end to end: benches scanning at once into one
//! server, a third machine listing and reprinting their scans, the backlog compared across
//! benches, a scan killed mid-write, the server stopped in the middle of `watch` and started
//! again, the schema from empty, and `--db` values that are not a history.
//!
//! The server is `.ci/run`'s private one (SYNCCHECK_TEST_PG_URL); each test makes a database
//! of its own on it. The watch test starts a server of its own with `.ci/pg-test-server`, to
//! stop it. Without a server the tests that need one are skipped, unless CI=true (then they
//! fail): `.ci/run` starts one.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::{fixture, start_sim_with, synccheck_at, wait_bounded};

const LIMIT: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The shared test server's URL, or `None` (skipped) without one outside CI.
fn server_url() -> Option<String> {
    match std::env::var("SYNCCHECK_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if under_ci() => panic!("SYNCCHECK_TEST_PG_URL is not set: .ci/run starts the server"),
        _ => {
            eprintln!("skipping: no PostgreSQL test server (SYNCCHECK_TEST_PG_URL)");
            None
        }
    }
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (server, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{db}")
}

/// The password in `url` (`postgres://user:password@...`): what no output may show.
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// One stored scan: (id, bench, udid, verdict, snapshot).
type Row = (i64, Option<String>, Option<String>, String, Vec<u8>);

/// A database of this test's own on a server, dropped at the end.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    fn new(server: &str) -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "synccheck_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        // Each its own statement: neither runs inside a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        TestDb {
            admin: server.to_string(),
            url: with_database(server, &name),
            name,
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// The stored scans, oldest first.
    fn rows(&self) -> Vec<Row> {
        self.client()
            .query(
                "SELECT id, bench, udid, verdict, snapshot FROM scans ORDER BY id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `synccheck ARGS` against `address`, started now, waited for later.
fn spawn(address: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env_remove("SYNCCHECK_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn assert_no_password(password: &str, outputs: &[&std::process::Output]) {
    for out in outputs {
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !text(stream).contains(password),
                "the password shows in: {}",
                text(stream)
            );
        }
    }
}

/// Two benches, each with its own phone, scan at the same moment into one empty database (so
/// both also create its schema at once); a third machine lists both, filters them, and
/// reprints one.
#[test]
fn two_benches_scan_at_once_and_a_third_lists_and_reprints() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let password = password_of(&db.url);
    let north_sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    let south_sim = start_sim_with(&[fixture("failures.plist")], &[]);
    let north = spawn(
        &north_sim.address,
        &["scan", "--json", "--db", &db.url, "--bench", "north"],
    );
    let south = spawn(
        &south_sim.address,
        &["scan", "--json", "--db", &db.url, "--bench", "south"],
    );
    let north = wait_bounded(north, "north's scan", LIMIT);
    let south = wait_bounded(south, "south's scan", LIMIT);
    assert_eq!(north.status.code(), Some(0), "{}", text(&north.stderr));
    assert_eq!(south.status.code(), Some(1), "{}", text(&south.stderr));
    assert!(
        !text(&north.stderr).contains("not recorded"),
        "{}",
        text(&north.stderr)
    );
    assert!(
        !text(&south.stderr).contains("not recorded"),
        "{}",
        text(&south.stderr)
    );

    let rows = db.rows();
    assert_eq!(rows.len(), 2, "one row per bench's scan");
    let benches: Vec<_> = rows.iter().map(|r| r.1.clone().unwrap()).collect();
    assert!(benches.contains(&"north".into()) && benches.contains(&"south".into()));

    // The third machine: another bench name, the same URL through SYNCCHECK_DB.
    let list = |extra: &[&str]| {
        let mut args = vec!["history", "--db", &db.url];
        args.extend_from_slice(extra);
        let out = synccheck_at("unused", &args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out
    };
    let all = list(&[]);
    let listing = text(&all.stdout);
    assert_eq!(listing.lines().count(), 3, "{listing}");
    for part in [
        "north",
        "south",
        "F4GZK2LMN7Q1",
        "iPhone 15 Pro",
        "iPhone 11",
        "Sam’s iPhone",
    ] {
        assert!(listing.contains(part), "{part} in:\n{listing}");
    }
    let only_south = text(&list(&["--bench", "south"]).stdout);
    assert_eq!(only_south.lines().count(), 2, "{only_south}");
    assert!(only_south.contains("iPhone 11") && !only_south.contains("north"));
    let newest = text(&list(&["--limit", "1", "--since", "2000-01-01"]).stdout);
    assert_eq!(newest.lines().count(), 2, "{newest}");
    let future = list(&["--since", "2999-01-01"]);
    assert!(text(&future.stdout).is_empty() && text(&future.stderr).contains("No scans"));
    let redacted = text(&list(&["--redact"]).stdout);
    assert!(
        !redacted.contains("F4GZK2LMN7Q1") && !redacted.contains("Sam’s iPhone"),
        "{redacted}"
    );

    let south_id = rows
        .iter()
        .find(|r| r.1.as_deref() == Some("south"))
        .unwrap()
        .0;
    let shown = synccheck_at(
        "unused",
        &[
            "history",
            "show",
            &south_id.to_string(),
            "--json",
            "--db",
            &db.url,
        ],
        LIMIT,
    );
    assert_eq!(shown.status.code(), Some(1), "{}", text(&shown.stderr));
    let reprint = common::report_json(&shown);
    assert_eq!(
        reprint["devices"][0]["verdict"]["status"], "fail",
        "{reprint}"
    );
    assert_no_password(&password, &[&north, &south, &all, &shown]);
}

/// Logging everything (`SYNCCHECK_LOG=trace`) while recording into the server: under
/// `--redact` no serial, UDID or name reaches stderr (the client logs its statements'
/// parameters), and the password never does.
#[test]
fn a_redacted_scan_logs_no_identifier_and_no_password() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--redact", "--json", "--db", &db.url])
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .env("SYNCCHECK_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "scan", LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(db.rows().len(), 1, "recorded");
    for secret in ["F4GZK2LMN7Q1", "00008130-001C2D3E4F506172", "Sam’s iPhone"] {
        assert!(!text(&out.stderr).contains(secret), "{secret} in the log");
        assert!(
            !text(&out.stdout).contains(secret),
            "{secret} in the report"
        );
    }
    assert_no_password(&password_of(&db.url), &[&out]);
}

/// The same phone at one bench, then at another: the second bench compares its backlog with
/// the first bench's scan.
#[test]
fn the_backlog_is_compared_across_benches() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo-iphone.plist");
    let scan = |snapshot: &Path, bench: &str| {
        let sim = start_sim_with(&[snapshot.to_path_buf()], &[]);
        let out = synccheck_at(
            &sim.address,
            &["scan", "--json", "--db", &db.url, "--bench", bench],
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        common::report_json(&out)
    };
    let first = scan(&demo, "branch-a");
    assert_eq!(common::finding(&first, "photos-upload")["status"], "warn");

    let mut snap = synccheck_core::snapshot::load_file(&demo).unwrap();
    let library = snap.photo_library.as_mut().unwrap();
    let synccheck_core::photos::DatabaseRead::Summary(summary) = &mut library.database else {
        panic!("the demo phone has a library summary");
    };
    summary.waiting = Some(1100);
    let later = dir.path().join("later.plist");
    snap.write_xml(std::fs::File::create(&later).unwrap())
        .unwrap();
    let second = scan(&later, "branch-b");
    let upload = common::finding(&second, "photos-upload");
    assert_eq!(upload["status"], "pass", "{upload}");
    let first_id = db.rows()[0].0;
    let summary = upload["summary"].as_str().unwrap();
    assert!(
        summary.contains("down from 1204 at ")
            && summary.ends_with(&format!("(history #{first_id}): uploads are moving")),
        "{summary}"
    );
}

/// Starts `scan` of every phone with the history writer's test hook set to stop inside the
/// transaction of its `pause_at`th write, waits (bounded) for the hook's marker on stderr, and
/// SIGKILLs it there: the server is left with a connection dropped mid-transaction.
fn kill_inside_write(address: &str, db: &str, pause_at: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--json", "--db", db])
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env(synccheck_history::TEST_PAUSE_ENV, pause_at.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_lines(child.stderr.take().unwrap());
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.starts_with(synccheck_history::TEST_PAUSE_MARKER) => break,
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no pause marker ({e}); stderr:\n{}", seen.join("\n"));
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
}

fn seen_rest(lines: Receiver<String>) -> Vec<String> {
    lines.iter().collect()
}

fn read_lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A scan of 4 phones killed inside its 3rd write: the 2 before are there, whole; the 3rd is
/// not; nothing is left locked, so the next scan records all 4.
#[test]
fn a_scan_killed_mid_write_leaves_the_shared_history_consistent() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let sim = start_sim_with(&vec![fixture("healthy.plist"); 4], &[]);
    kill_inside_write(&sim.address, &db.url, 3);
    let rows = db.rows();
    assert_eq!(
        rows.len(),
        2,
        "the 2 writes before the killed one: {:?}",
        rows.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (id, _, udid, _, snapshot) in &rows {
        let snap = synccheck_core::snapshot::parse_bytes(Path::new("row"), snapshot)
            .unwrap_or_else(|e| panic!("row {id}: {e}"));
        assert_eq!(
            snap.lockdown
                .get("UniqueDeviceID")
                .and_then(|v| v.as_string()),
            udid.as_deref()
        );
    }
    let again = synccheck_at(&sim.address, &["scan", "--json", "--db", &db.url], LIMIT);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        !text(&again.stderr).contains("not recorded"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(db.rows().len(), 6);
}

/// An empty database gets the whole schema on first use, versioned; a schema newer than this
/// build is refused in plain words, and a scan is still reported.
#[test]
fn the_schema_is_made_from_empty_and_a_newer_one_is_refused() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let out = synccheck_at("unused", &["history", "--db", &db.url], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("No scans recorded yet"));
    let mut client = db.client();
    let version: i32 = client
        .query_one("SELECT version FROM synccheck_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 2, "the scans, then the rescues");
    let columns: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'scans'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 15, "every column, the bench's included");

    client
        .batch_execute("UPDATE synccheck_schema SET version = 99")
        .unwrap();
    let listed = synccheck_at("unused", &["history", "--db", &db.url], LIMIT);
    assert_eq!(listed.status.code(), Some(2));
    assert!(
        text(&listed.stderr).contains("written by a newer synccheck"),
        "{}",
        text(&listed.stderr)
    );
    let sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    let scanned = synccheck_at(&sim.address, &["scan", "--db", &db.url], LIMIT);
    assert_eq!(scanned.status.code(), Some(0), "{}", text(&scanned.stderr));
    assert!(text(&scanned.stdout).contains("Verdict"));
    assert!(
        text(&scanned.stderr).contains("will not be recorded"),
        "{}",
        text(&scanned.stderr)
    );
    assert_no_password(&password_of(&db.url), &[&out, &listed, &scanned]);
}

/// A scan's history on a server nobody answers on: the report is printed, a warning says the
/// scan was not recorded and why, and the password shows nowhere.
#[test]
fn an_unreachable_server_still_gives_the_report_and_hides_the_password() {
    let sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://bench:Sup3r-s3cret@127.0.0.1:1/synccheck";
    let out = synccheck_at(&sim.address, &["scan", "--db", url], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Verdict"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("scans will not be recorded")
            && stderr.contains("postgres://bench@127.0.0.1:1/synccheck")
            && stderr.contains("cannot reach it"),
        "{stderr}"
    );
    assert_no_password("Sup3r-s3cret", &[&out]);
    // The same through PGPASSWORD, and with -v logging.
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args([
            "-vv",
            "history",
            "--db",
            "postgres://bench@127.0.0.1:1/synccheck",
        ])
        .env("PGPASSWORD", "Sup3r-s3cret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "history", LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot reach it"),
        "{}",
        text(&out.stderr)
    );
    assert_no_password("Sup3r-s3cret", &[&out]);
}

/// A `--db` shaped like a URL is a PostgreSQL URL or an error, never a path: nothing is made
/// in the current folder, and a scan stops before reading any phone.
#[test]
fn a_url_that_is_not_postgresql_is_an_error_not_a_path() {
    let cwd = tempfile::tempdir().unwrap();
    for bad in [
        "mysql://shop/synccheck",
        "postgress://shop/synccheck",
        "postgres://shop:notaport/synccheck",
        "postgres://shop/synccheck?sslmode=sometimes",
    ] {
        for command in [
            &["history", "--db", bad][..],
            &["scan", "--db", bad][..],
            &["watch", "--db", bad][..],
        ] {
            let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
                .args(command)
                .current_dir(cwd.path())
                .env("USBMUXD_SOCKET_ADDRESS", "UNIX:/nonexistent/usbmuxd")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let out = wait_bounded(child, bad, LIMIT);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command:?}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stderr).contains("is not a history"),
                "{command:?}: {}",
                text(&out.stderr)
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "no folder made"
    );
    // The same from SYNCCHECK_DB.
    let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["history"])
        .current_dir(cwd.path())
        .env("SYNCCHECK_DB", "postgresql:/missing-slash")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "history", LIMIT);
    // Not URL-shaped (one slash): a file path, that does not exist.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no history database"),
        "{}",
        text(&out.stderr)
    );
}

/// `history import` moves a bench's SQLite history, from before the bench column, into the
/// shared server; run again, it copies nothing twice.
#[test]
fn a_sqlite_history_moves_into_the_server() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.sqlite");
    let file_arg = file.to_str().unwrap();
    let sim = start_sim_with(&[fixture("healthy.plist"), fixture("failures.plist")], &[]);
    let out = synccheck_at(
        &sim.address,
        &["scan", "--db", file_arg, "--bench", "old"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let import = |extra: &[&str]| {
        let mut args = vec!["history", "import", "--from", file_arg, "--db", &db.url];
        args.extend_from_slice(extra);
        let out = synccheck_at("unused", &args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    assert!(import(&[]).contains("Copied 2 scans"));
    assert!(import(&[]).contains("Copied 0 scans"));
    let rows = db.rows();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.1.as_deref() == Some("old")));
}

/// The SQLite history from before the bench column: listed, with its old scans, by this build.
#[test]
fn an_old_sqlite_history_is_migrated_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.sqlite");
    let snap = synccheck_core::snapshot::load_file(&fixture("healthy.plist")).unwrap();
    let mut xml = Vec::new();
    snap.write(&mut xml).unwrap();
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "CREATE TABLE scans (id INTEGER PRIMARY KEY, scanned_at INTEGER NOT NULL, udid TEXT,
                serial TEXT, name TEXT, product_type TEXT, model TEXT, ios TEXT,
                free_bytes INTEGER, health_percent REAL, verdict TEXT NOT NULL,
                answers TEXT NOT NULL, trust_answers INTEGER NOT NULL, snapshot BLOB NOT NULL);
             CREATE INDEX scans_by_udid ON scans (udid, scanned_at);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO scans (scanned_at, udid, serial, name, model, verdict, answers,
                trust_answers, snapshot)
             VALUES (1700000000, 'U', 'OLDSERIAL1', 'Old Phone', 'iPhone X', 'pass', '', 0, ?1)",
            [&xml],
        )
        .unwrap();
    }
    let out = synccheck_at(
        "unused",
        &["history", "--db", file.to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("OLDSERIAL1") && listing.contains("2023-11-14"),
        "{listing}"
    );
    let version: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3, "the bench, then the rescues");
}

/// A server of this test's own, made with `.ci/pg-test-server`, to stop and start.
struct OwnServer {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
    url: String,
}

impl OwnServer {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-test-server")
    }

    fn start() -> Option<OwnServer> {
        Self::start_with(&[])
    }

    /// A server of its own, started with these variables for `.ci/pg-test-server`.
    fn start_with(env: &[(&str, &Path)]) -> Option<OwnServer> {
        let have_binaries = std::env::var_os("SYNCCHECK_TEST_PG_BIN").is_some()
            || std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|mut d| d.next().is_some());
        if !have_binaries {
            if under_ci() {
                panic!("no PostgreSQL server binaries: .ci/run installs postgresql");
            }
            eprintln!("skipping: no PostgreSQL server binaries (apt-get install postgresql)");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pg");
        let mut server = OwnServer {
            dir,
            _tmp: tmp,
            url: String::new(),
        };
        // The server runs as another user when the tests run as root: it must reach the folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(server._tmp.path(), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        server.url = server.run_with("start", env);
        Some(server)
    }

    fn run(&self, command: &str) -> String {
        self.run_with(command, &[])
    }

    fn run_with(&self, command: &str, env: &[(&str, &Path)]) -> String {
        let child = Command::new("bash")
            .arg(Self::script())
            .arg(command)
            .arg(&self.dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, "pg-test-server", Duration::from_secs(120));
        assert!(
            out.status.success(),
            "pg-test-server {command}: {}",
            text(&out.stderr)
        );
        text(&out.stdout).trim().to_string()
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// The server stops while `watch` runs and starts again: the scan taken meanwhile is reported
/// at once with a warning, kept, and recorded when the server is back; nothing recorded before
/// is lost, and the password shows nowhere.
#[test]
fn the_server_stopped_mid_watch_and_started_again() {
    let Some(server) = OwnServer::start() else {
        return;
    };
    let password = password_of(&server.url);
    let mut sim = start_sim_with(&[fixture("failures.plist")], &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["watch", "--db", &server.url, "--bench", "front"])
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_lines(child.stderr.take().unwrap());
    let mut seen: Vec<String> = Vec::new();
    let mut wait_for = |parts: &[&str], child: &mut Child| -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(l) = seen.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
                let found = l.clone();
                seen.retain(|l| l != &found);
                return found;
            }
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("no line with {parts:?}; watch said:\n{}", seen.join("\n"));
                }
            }
        }
    };
    let mut all = Vec::new();
    all.push(wait_for(&["[1]", "✘ fail", "history #1"], &mut child));

    server.run("stop");
    sim.send("unplug 1");
    all.push(wait_for(&["[1]", "unplugged"], &mut child));
    sim.send("plug 1");
    let warning = wait_for(&["[1]", "not recorded"], &mut child);
    assert!(
        warning.contains("cannot reach it") && warning.contains("when the server is back"),
        "{warning}"
    );
    // Reported all the same (the line of the first scan, with its history number, was taken).
    all.push(wait_for(&["[1]", "✘ fail"], &mut child));
    all.push(warning);

    server.run("start");
    all.push(wait_for(&["[1]", "the history server is back"], &mut child));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not stop within {LIMIT:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Everything it said, the lines not waited for included (the reader ends with the pipe).
    all.extend(seen_rest(lines));
    assert_eq!(status.code(), Some(0), "{}", all.join("\n"));
    for line in &all {
        assert!(!line.contains(&password), "the password shows in: {line}");
    }

    let mut client = postgres::Client::connect(&server.url, postgres::NoTls).unwrap();
    let rows: Vec<(i64, String)> = client
        .query("SELECT id, bench FROM scans ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "the scan before and the one taken while it was down: {rows:?}"
    );
    assert!(rows.iter().all(|(_, bench)| bench == "front"));
}

/// A server that takes logins over TLS only: `sslmode=require` with the shop's CA in
/// PGSSLROOTCERT records and lists; without the CA, with another CA, or without TLS, the
/// history is refused with the reason, and the password shows nowhere.
#[test]
fn tls_to_the_server_is_verified_against_the_shops_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let ca_file = write("ca.pem", ca.pem());
    let cert_file = write("server.crt", server_cert.pem());
    let key_file = write("server.key", server_key.serialize_pem());
    let other_key = rcgen::KeyPair::generate().unwrap();
    let other_ca = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])
        .unwrap()
        .self_signed(&other_key)
        .unwrap();
    let other_ca_file = write("other.pem", other_ca.pem());

    let Some(server) = OwnServer::start_with(&[
        ("SYNCCHECK_TEST_PG_TLS_CERT", &cert_file),
        ("SYNCCHECK_TEST_PG_TLS_KEY", &key_file),
    ]) else {
        return;
    };
    let password = password_of(&server.url);
    let tls_url = format!("{}?sslmode=require", server.url);
    let sim = start_sim_with(&[fixture("healthy.plist")], &[]);
    let run = |args: &[&str], env: &[(&str, &Path)]| {
        let child = Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .args(args)
            .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
            .env("HOME", dir.path())
            .env_remove("PGSSLROOTCERT")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_bounded(child, "synccheck", LIMIT)
    };
    let trusted = [("PGSSLROOTCERT", ca_file.as_path())];
    let scanned = run(&["scan", "--db", &tls_url, "--bench", "tls"], &trusted);
    assert_eq!(scanned.status.code(), Some(0), "{}", text(&scanned.stderr));
    assert!(
        text(&scanned.stderr).is_empty(),
        "recorded: {}",
        text(&scanned.stderr)
    );
    let listed = run(&["history", "--db", &tls_url], &trusted);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("tls"),
        "{}",
        text(&listed.stdout)
    );

    let no_ca = run(&["history", "--db", &tls_url], &[]);
    assert_eq!(no_ca.status.code(), Some(2));
    assert!(
        text(&no_ca.stderr).contains("PGSSLROOTCERT"),
        "{}",
        text(&no_ca.stderr)
    );
    let other = run(
        &["history", "--db", &tls_url],
        &[("PGSSLROOTCERT", other_ca_file.as_path())],
    );
    assert_eq!(other.status.code(), Some(2));
    assert!(
        text(&other.stderr).contains("TLS"),
        "{}",
        text(&other.stderr)
    );
    assert!(
        !text(&other.stderr).contains("cannot reach it"),
        "{}",
        text(&other.stderr)
    );
    let plain = run(&["history", "--db", &server.url], &[]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        text(&plain.stderr).contains("no encryption"),
        "{}",
        text(&plain.stderr)
    );
    assert_no_password(&password, &[&scanned, &listed, &no_ca, &other, &plain]);
}

/// The stored rescues: (bench, udid, serial, selection, copied, already there, failed, bytes,
/// complete), oldest first.
type RescueRow = (String, String, String, String, i64, i64, i64, i64, bool);

fn rescues(db: &TestDb) -> Vec<RescueRow> {
    db.client()
        .query(
            "SELECT bench, udid, serial, selection, copied, already_there, failed, bytes, complete
             FROM rescues ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
            )
        })
        .collect()
}

/// `rescue --db postgres://...` on a database the build before this one made (the scans only,
/// schema version 1, with a scan in it): the rescues table is added, the scan kept, each run
/// recorded with its counts and no file name, and `history rescues` lists them from another
/// bench.
#[test]
fn rescues_are_recorded_in_the_shared_history_after_its_migration() {
    let Some(server) = server_url() else { return };
    let db = TestDb::new(&server);
    let sim = start_sim_with(&[fixture("photos/rescue-waiting.plist")], &[]);
    let scanned = synccheck_at(&sim.address, &["scan", "--db", &db.url], LIMIT);
    assert!(scanned.status.code().is_some(), "{}", text(&scanned.stderr));
    // Back to the schema before the rescues.
    db.client()
        .batch_execute("DROP TABLE rescues; UPDATE synccheck_schema SET version = 1")
        .unwrap();

    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let mut outs = Vec::new();
    for _ in 0..2 {
        let out = synccheck_at(
            &sim.address,
            &["rescue", "--to", dir, "--db", &db.url, "--bench", "north"],
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains("not recorded"),
            "{}",
            text(&out.stderr)
        );
        outs.push(out);
    }
    let version: i32 = db
        .client()
        .query_one("SELECT version FROM synccheck_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    assert_eq!(db.rows().len(), 1, "the scan before the migration is kept");
    let rows = rescues(&db);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (first, again) = (&rows[0], &rows[1]);
    assert_eq!(
        (first.0.as_str(), first.2.as_str(), first.3.as_str()),
        ("north", "F4GZK2LMN7Q1", "waiting")
    );
    assert!(
        first.4 > 0 && first.7 > 0 && first.6 == 0 && first.8,
        "{first:?}"
    );
    assert_eq!((again.4, again.5, again.7, again.8), (0, first.4, 0, true));

    let listed = synccheck_at(
        "unused",
        &[
            "history", "rescues", "--db", &db.url, "--udid", &first.1, "--bench", "north",
        ],
        LIMIT,
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let said = text(&listed.stdout);
    assert_eq!(said.lines().count(), 3, "{said}");
    assert!(
        said.contains("north") && said.contains("F4GZK2LMN7Q1"),
        "{said}"
    );
    let redacted = synccheck_at(
        "unused",
        &["history", "rescues", "--db", &db.url, "--redact"],
        LIMIT,
    );
    for secret in ["F4GZK2LMN7Q1", "Sam", first.1.as_str()] {
        assert!(
            !text(&redacted.stdout).contains(secret),
            "{}",
            text(&redacted.stdout)
        );
    }

    // No file name and no folder anywhere in the rescues table.
    let dump: String = db
        .client()
        .query_one("SELECT string_agg(rescues::TEXT, ' ') FROM rescues", &[])
        .unwrap()
        .get(0);
    for secret in [dir, "DCIM", "IMG_", "Sam_s_iPhone"] {
        assert!(
            !dump.contains(secret),
            "the rescues table holds {secret}: {dump}"
        );
    }
    outs.push(listed);
    outs.push(redacted);

    // `history import` carries the rescues too, both ways, once.
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("bench.sqlite");
    let file = file.to_str().unwrap();
    let into_file = synccheck_at(
        "unused",
        &["history", "import", "--from", &db.url, "--db", file],
        LIMIT,
    );
    assert!(
        text(&into_file.stderr).contains("Copied 1 scans and 2 rescue runs"),
        "{}",
        text(&into_file.stderr)
    );
    let other = TestDb::new(&server);
    for (run, said) in [
        "Copied 1 scans and 2 rescue runs from",
        "Copied 0 scans and 0 rescue runs from",
    ]
    .into_iter()
    .enumerate()
    {
        let out = synccheck_at(
            "unused",
            &["history", "import", "--from", file, "--db", &other.url],
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(said),
            "run {run}: {}",
            text(&out.stderr)
        );
        outs.push(out);
    }
    assert_eq!(rescues(&other), rows, "the same runs, with their bench");
    outs.push(into_file);
    assert_no_password(&password_of(&db.url), &outs.iter().collect::<Vec<_>>());
}
