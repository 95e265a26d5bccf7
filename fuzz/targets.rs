//! One entry function per fuzz target: bytes from outside in, the library's public API called
//! on them, and a panic, a hang or an unbounded allocation the only way to fail. Where it is
//! cheap, a round trip is asserted too (what we write, we read back the same).
//!
//! Shared by path (`#[path = "..."] mod targets;`) between the libFuzzer targets in
//! `fuzz/fuzz_targets/` and the stable test `tests/fuzz_corpus.rs`, which replays
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through the same functions on every
//! CI run. It uses only synccheck's public API and crates synccheck already depends on.

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use synccheck_core::checklist::{self, Thresholds};
use synccheck_core::facts::PhotoSync;
use synccheck_core::photos::{self, DatabaseRead, FileRead, PhotoLibrary};
use synccheck_core::snapshot::{self, Snapshot, Source};
use synccheck_device::pairing::PairRecord;
use synccheck_report::document::ReportDocument;
use synccheck_report::{html, json, text, ReportContext};
use synccheck_wire::{afc, plist_bombs, plist_bounded, plist_frame, usbmux};

/// A target's entry function.
pub type Entry = fn(&[u8]);

/// Every target, by the name of its directory under `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: &[(&str, Entry)] = &[
    ("snapshot", snapshot),
    ("usbmux", usbmux),
    ("plist_frame", plist_frame),
    ("afc", afc),
    ("photos_state", photos_state),
    ("thresholds", thresholds),
    ("report", report),
    ("pair_record", pair_record),
    ("plist_bounded", plist_bounded),
    ("photos_library", photos_library),
    ("rescue_manifest", rescue_manifest),
    ("history_target", history_target),
];

/// Runs a wire reader over an in-memory buffer. `&[u8]` never returns `Pending`, so one poll
/// finishes it; no runtime needed, and a reader that did wait would be a bug worth a panic.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a reader over a memory buffer waited"),
    }
}

/// A snapshot through every arrow `scan --from` takes: facts, checklist, text and JSON
/// report, and the JSON report read back as `report --from` reads it.
fn evaluate(snap: &Snapshot) {
    let report =
        synccheck_report::pipeline::report_for(snap, "fuzz", &checklist::Context::default(), false);
    let ctx = ReportContext::now();
    let reports = [report];
    let mut out = Vec::new();
    text::write(&mut out, &reports, &ctx, text::TextOptions::plain()).expect("in memory");
    let details = text::TextOptions {
        details: true,
        ..text::TextOptions::plain()
    };
    text::write(&mut out, &reports, &ctx, details).expect("in memory");
    let value = json::to_value(&reports, &ctx);
    ReportDocument::from_value(value).expect("every JSON report synccheck writes reads back");
}

fn xml(snap: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    snap.write_xml(&mut out).expect("writing to memory");
    out
}

/// `snapshot::parse_bytes`: native snapshots (XML or binary plist), `ideviceinfo -x` plists
/// and pymobiledevice3 JSON; then the facts layer and the checklist. What loads can be saved
/// (`--save-snapshot`) and loaded again, and saving that gives the same bytes.
pub fn snapshot(data: &[u8]) {
    let Ok(snap) = snapshot::parse_bytes(Path::new("fuzz"), data) else {
        return;
    };
    evaluate(&snap);
    let saved = xml(&snap);
    let again = snapshot::parse_bytes(Path::new("fuzz-saved"), &saved)
        .expect("a snapshot synccheck saved loads again");
    assert_eq!(
        String::from_utf8_lossy(&xml(&again)),
        String::from_utf8_lossy(&saved),
        "saving a loaded snapshot is stable"
    );
    // `sim FILE` serves it with every date moved to now (a fixed now, to reproduce).
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000);
    xml(&snap.replayed_at(now));
}

/// Both ends of a plist dictionary sent and received again: the second encoding must be the
/// first (byte comparison, so a NaN real compares equal to itself).
fn dict_round_trip(dict: &plist::Dictionary, encode: impl Fn(&plist::Dictionary) -> Vec<u8>) {
    let first = encode(dict);
    let back = plist_frame::decode_dict(&first).expect("what we send, we read");
    assert_eq!(encode(&back), first, "a dictionary survives a round trip");
}

/// usbmuxd: the 16-byte header, its bounded length, and the plist payload.
pub fn usbmux(data: &[u8]) {
    if let Some((head, payload)) = data.split_first_chunk::<{ usbmux::HEADER_LEN }>() {
        let header = usbmux::Header::parse(head);
        if let Ok(len) = header.payload_len(usbmux::MAX_MESSAGE) {
            assert!(len + usbmux::HEADER_LEN <= usbmux::MAX_MESSAGE as usize);
        }
        // The header words survive encoding, and the length is the one written.
        let framed = usbmux::encode_raw(header.version, header.message, header.tag, payload);
        let back = usbmux::Header::parse(framed.first_chunk().expect("16 bytes"));
        assert_eq!(
            (back.version, back.message, back.tag),
            (header.version, header.message, header.tag)
        );
        assert_eq!(back.payload_len(u32::MAX).ok(), Some(payload.len()));
    }
    // The reader the device layer and the simulator use.
    if let Ok(message) = ready(usbmux::read(&mut &data[..], usbmux::MAX_MESSAGE)) {
        dict_round_trip(&message.body, |d| {
            let framed = usbmux::encode(message.header.tag, d);
            framed[usbmux::HEADER_LEN..].to_vec()
        });
        let framed = usbmux::encode(message.header.tag, &message.body);
        let back = ready(usbmux::read(&mut &framed[..], u32::MAX)).expect("reads back");
        assert_eq!(back.header.tag, message.header.tag);
    }
}

/// lockdownd: a 4-byte big-endian length, then a plist dictionary.
pub fn plist_frame(data: &[u8]) {
    if let Some((prefix, body)) = data.split_first_chunk::<4>() {
        if let Ok(len) = plist_frame::body_len(*prefix, plist_frame::MAX_FRAME) {
            assert!(len <= plist_frame::MAX_FRAME as usize);
        }
        // The body alone, as `read_body` decodes it once read.
        if let Ok(dict) = plist_frame::decode_dict(body) {
            dict_round_trip(&dict, |d| plist_frame::encode(d)[4..].to_vec());
        }
    }
    if let Ok(dict) = ready(plist_frame::read_dict(
        &mut &data[..],
        plist_frame::MAX_FRAME,
    )) {
        let framed = plist_frame::encode(&dict);
        let back = ready(plist_frame::read_dict(&mut &framed[..], u32::MAX)).expect("reads back");
        assert_eq!(plist_frame::encode(&back), framed);
    }
}

/// AFC: the 40-byte header, its lengths, and every body decoder.
pub fn afc(data: &[u8]) {
    let Some((&max_sel, data)) = data.split_first() else {
        return;
    };
    // Limits the callers use: an info reply, a listing, a read of a state file, no limit.
    let max = [64 * 1024, 16 * 1024 * 1024, 1024 * 1024, usize::MAX][usize::from(max_sel % 4)];
    if let Some(raw) = data.first_chunk::<{ afc::HEADER_LEN }>() {
        if let Ok(header) = afc::Header::parse(raw) {
            assert_eq!(&header.to_bytes(), raw, "a header survives a round trip");
            if let Ok(len) = header.body_len(max) {
                assert!(len <= max);
                assert!(len as u64 + afc::HEADER_LEN as u64 == header.entire_length);
            }
        }
    }
    // The reader, with a limit that stays allocatable (usize::MAX is only for body_len above).
    let read_max = max.min(16 * 1024 * 1024);
    let body = match ready(afc::read(&mut &data[..], read_max)) {
        Ok(packet) => {
            assert!(packet.body.len() <= read_max);
            let _ = packet.status();
            packet.body
        }
        Err(_) => data.get(afc::HEADER_LEN..).unwrap_or(data).to_vec(),
    };
    for index in [0, 1, 2, 3, body.len() / 8, usize::MAX / 8, usize::MAX] {
        if let Some(word) = afc::u64_at(&body, index) {
            assert_eq!(word.to_le_bytes()[..], body[index * 8..index * 8 + 8]);
        }
    }
    if let Some(path) = afc::path_arg(&body) {
        assert!(!path.contains('\0'));
        assert_eq!(afc::path_arg(&afc::cstring(path)), Some(path));
    }
    if let Ok(names) = afc::decode_strings(&body) {
        let encoded = afc::encode_strings(names.iter().map(String::as_str));
        assert_eq!(afc::decode_strings(&encoded).expect("re-decodes"), names);
    }
    if let Ok(pairs) = afc::decode_pairs(&body) {
        let encoded = afc::encode_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.clone())));
        assert_eq!(afc::decode_pairs(&encoded).expect("re-decodes"), pairs);
    }
    // Packets we build come back as built.
    let (args, payload) = body.split_at(body.len() / 2);
    let packet = afc::encode(7, afc::op::DATA, args, payload);
    let back = ready(afc::read(&mut &packet[..], body.len())).expect("reads back");
    assert_eq!(back.body, body);
    assert_eq!(
        back.header.this_length,
        (afc::HEADER_LEN + args.len()) as u64
    );
}

/// The iCloud Photos engine's state files as the facts layer reads them. The first two bytes
/// choose, two bits per file, whether each of the six state files was read, absent, refused or
/// failed; every file that was read holds the rest of the input (each parser looks for its own
/// keys, so one plist can exercise syncstatus.plist, pauseICloudPhotos and
/// appPrivateData.plist at once).
pub fn photos_state(data: &[u8]) {
    let Some((&[a, b], contents)) = data.split_first_chunk::<2>() else {
        return;
    };
    let select = u16::from_le_bytes([a, b]);
    let files = photos::STATE_FILES
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let read = match (select >> (2 * i)) & 3 {
                0 => FileRead::Present {
                    contents: contents.to_vec(),
                    modified: None,
                },
                1 => FileRead::NotFound,
                2 => FileRead::PermissionDenied,
                _ => FileRead::Failed("fuzz".into()),
            };
            (path.to_string(), read)
        })
        .collect();
    let library = PhotoLibrary {
        files,
        database: DatabaseRead::Skipped,
        copied_bytes: None,
        read_at: None,
    };
    let facts = PhotoSync::from_library(&library);
    assert_eq!(facts.files.len(), photos::STATE_FILES.len());
    // The section survives a snapshot's plist form...
    let back = PhotoLibrary::from_plist("PhotoLibrary", &library.to_plist()).expect("reads back");
    assert_eq!(back, library);
    // ...and the whole way through a scan of a phone that showed these files.
    let mut snap = Snapshot::new(Source::Usb);
    snap.photo_library = Some(library);
    evaluate(&snap);
}

/// `--thresholds FILE`: TOML. What is accepted, written back as TOML, is accepted the same.
pub fn thresholds(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = Thresholds::from_toml(text) else {
        return;
    };
    let written = toml::to_string(&t).expect("thresholds serialise");
    assert_eq!(
        Thresholds::from_toml(&written).expect("written thresholds read back"),
        t
    );
}

/// `report --from FILE`: a `synccheck.report/1` JSON report read back and drawn as the
/// customer's sheet. The sniffing mirrors `document::read_if_report`, which takes a path.
pub fn report(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let is_report = value
        .get("schema")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| s.starts_with("synccheck.report/"));
    if !is_report {
        return;
    }
    let Ok(mut doc) = ReportDocument::from_value(value) else {
        return;
    };
    doc.redact();
    let pages = html::render_document(&doc).expect("a report that reads renders");
    assert_eq!(pages.len(), doc.devices.len());
}

/// usbmuxd's `ReadPairRecord` reply (`PairRecordData`): a plist with PEM text in it.
pub fn pair_record(data: &[u8]) {
    let Ok(record) = PairRecord::from_bytes(data) else {
        return;
    };
    let saved = record.to_xml_bytes();
    let back = PairRecord::from_bytes(&saved).expect("a saved pair record reads back");
    assert_eq!(back.to_xml_bytes(), saved);
}

/// Limits small enough that every input runs in milliseconds, large enough for real nesting.
const FUZZ_LIMITS: plist_bounded::Limits = plist_bounded::Limits {
    max_depth: 16,
    max_objects: 20_000,
    max_expanded_bytes: 4 * 1024 * 1024,
};

/// The bounded plist parser (`wire::plist_bounded`), on bombs the input describes: the first
/// byte picks a form, the rest is its recipe (see [`bomb_from`]). Whatever the input, the
/// parser returns, and a value it returns is within the limits and the same as the plist
/// crate's own reading of those bytes.
pub fn plist_bounded(data: &[u8]) {
    let Some((&form, recipe)) = data.split_first() else {
        return;
    };
    let bytes = match form % 4 {
        // The input itself, as any outside plist.
        0 => recipe.to_vec(),
        // Nested XML arrays or dictionaries, as deep as two bytes say.
        1 => {
            let depth = recipe
                .first_chunk::<2>()
                .map_or(0, |d| u16::from_be_bytes(*d) as usize);
            plist_bombs::deep_xml(depth, form & 0x10 != 0)
        }
        // A binary plist of objects and references the input describes: reuse and nesting.
        _ => bomb_from(recipe, form & 0x10 != 0),
    };
    check_bounded(&bytes, &FUZZ_LIMITS);
    if form % 4 == 0 {
        check_bounded(&bytes, &plist_bounded::Limits::DEVICE);
    }
}

fn check_bounded(bytes: &[u8], limits: &plist_bounded::Limits) {
    let Ok(value) = plist_bounded::parse(bytes, limits, "fuzz") else {
        return;
    };
    let (depth, objects, expanded) = measure(&value);
    assert!(depth <= limits.max_depth, "depth {depth}");
    assert!(objects <= limits.max_objects, "{objects} objects");
    assert!(expanded <= limits.max_expanded_bytes, "{expanded} bytes");
    // Within the limits, the plist crate's own reader is safe to run, and must agree. (Debug
    // text, since a NaN real is not equal to itself.)
    if let Ok(theirs) = plist::Value::from_reader(std::io::Cursor::new(bytes)) {
        assert_eq!(format!("{value:?}"), format!("{theirs:?}"));
    }
}

/// Depth, object count (dictionary keys included) and expanded size of a value, counted the
/// way `plist_bounded` counts them, without recursion.
fn measure(value: &plist::Value) -> (usize, u64, u64) {
    let per_value = std::mem::size_of::<plist::Value>() as u64;
    let (mut depth, mut objects, mut expanded) = (0, 0, 0);
    let mut stack = vec![(value, 0usize)];
    while let Some((v, above)) = stack.pop() {
        objects += 1;
        expanded += per_value;
        match v {
            plist::Value::Array(items) => {
                depth = depth.max(above + 1);
                stack.extend(items.iter().map(|i| (i, above + 1)));
            }
            plist::Value::Dictionary(d) => {
                depth = depth.max(above + 1);
                for (k, item) in d {
                    objects += 1;
                    expanded += per_value + k.len() as u64;
                    stack.push((item, above + 1));
                }
            }
            plist::Value::String(s) => expanded += s.len() as u64,
            plist::Value::Data(b) => expanded += b.len() as u64,
            _ => {}
        }
    }
    (depth, objects, expanded)
}

/// A binary plist built from a recipe: each step's first byte picks an object (integer,
/// string, array, dictionary), the next bytes its length and its references. References point
/// at earlier objects (a DAG: reuse, nesting) or, with `cycles`, at any object.
fn bomb_from(recipe: &[u8], cycles: bool) -> Vec<u8> {
    enum Step<'a> {
        Integer(u8),
        String(usize),
        Array(&'a [u8]),
        Dict(&'a [u8]),
    }
    let mut steps = Vec::new();
    let mut rest = recipe;
    while let Some((&op, tail)) = rest.split_first() {
        let (&arg, tail) = tail.split_first().unwrap_or((&0, &[]));
        let take = |n: usize| tail.split_at(n.min(tail.len()));
        rest = match op % 4 {
            0 => {
                steps.push(Step::Integer(arg));
                tail
            }
            1 => {
                // Up to 64 KiB: strings are the expanded-size bombs.
                steps.push(Step::String((arg as usize) << 8));
                tail
            }
            2 => {
                let (refs, tail) = take(arg as usize % 64);
                steps.push(Step::Array(refs));
                tail
            }
            _ => {
                let (refs, tail) = take(2 * (arg as usize % 16));
                steps.push(Step::Dict(refs));
                tail
            }
        };
    }
    let total = steps.len().max(1);
    let mut plist = plist_bombs::BinaryPlist::new();
    if steps.is_empty() {
        let root = plist.integer(0);
        return plist.finish(root);
    }
    let target = |i: usize, r: u8| {
        if cycles {
            r as usize % total
        } else if i == 0 {
            usize::MAX
        } else {
            // Mostly the object just before: deep chains and reuse of the last container.
            i - 1 - (r as usize % i)
        }
    };
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Integer(n) => plist.integer(*n as u64),
            Step::String(len) => plist.string(&"x".repeat(*len)),
            Step::Array(refs) => {
                let refs = refs.iter().map(|&r| target(i, r));
                plist.array(refs.filter(|&r| r != usize::MAX).collect())
            }
            Step::Dict(refs) => {
                let refs: Vec<usize> = refs
                    .iter()
                    .map(|&r| target(i, r))
                    .filter(|&r| r != usize::MAX)
                    .collect();
                plist.dict(refs.chunks_exact(2).map(|p| (p[0], p[1])).collect())
            }
        };
    }
    plist.finish(total - 1)
}

// ---- photos_library: the Photos.sqlite summary on a crafted database ----

/// The photo-library summary (`synccheck_device::photos_query::summarize`) on a database the input describes:
/// a 4-byte big-endian length, that many bytes of `Photos.sqlite`, and the rest its `-wal`
/// (none when empty), written to a private directory as a scan's copy is. Whatever the bytes,
/// the summary returns in bounded time, and is either a summary whose counts fit together or
/// an error that says what is wrong; then the facts and the whole report over it.
pub fn photos_library(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let (main, wal) = rest.split_at((u32::from_be_bytes(*len) as usize).min(rest.len()));
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join(synccheck_device::photos_query::MAIN_FILE),
        main,
    )
    .expect("write the copy");
    if !wal.is_empty() {
        std::fs::write(
            dir.path().join(synccheck_device::photos_query::WAL_FILE),
            wal,
        )
        .expect("write the -wal");
    }
    let started = std::time::Instant::now();
    // The library's own deadline bounds the summary; the hook's limits on sizes and memory
    // apply as well.
    let read = {
        let _bound = sqlite_bound::Bound::start();
        let stop = synccheck_device::limits::ScanStop::after(sqlite_bound::PER_INPUT);
        synccheck_device::photos_query::summarize_until(dir.path(), &stop)
    };
    // Generous (a loaded machine, an unoptimised SQLite): an input that ran unbounded takes
    // minutes (`fuzz/regressions/photos_library/generated-column-slow`).
    assert!(
        started.elapsed() < 10 * sqlite_bound::PER_INPUT,
        "the summary took {:?}",
        started.elapsed()
    );
    // The same bytes read in place, page by page through the AFC VFS (issue 16): bounded as
    // well, and where both give a summary, the same one. (In place runs no `quick_check`, so
    // a damaged file may give a summary there and an error in the copy.)
    let started = std::time::Instant::now();
    let in_place = {
        use synccheck_device::photos_pages::{InMemory, PageReader};
        let _bound = sqlite_bound::Bound::start();
        let stop = synccheck_device::limits::ScanStop::after(sqlite_bound::PER_INPUT);
        let source = InMemory {
            main: main.to_vec(),
            wal: (!wal.is_empty()).then(|| wal.to_vec()),
            ..Default::default()
        };
        let reader = PageReader::new(
            Box::new(source),
            main.len() as u64,
            (!wal.is_empty()).then_some(wal.len() as u64),
        );
        synccheck_device::photos_query::summarize_in_place(reader, !wal.is_empty(), &stop)
    };
    assert!(
        started.elapsed() < 10 * sqlite_bound::PER_INPUT,
        "the summary in place took {:?}",
        started.elapsed()
    );
    if let (Ok(copied), Ok(in_place)) = (&read, &in_place) {
        assert_eq!(copied, in_place, "in place and copied disagree");
    }
    if let Ok(summary) = &in_place {
        check_summary(summary);
    }
    let database = match read {
        Ok(summary) => {
            check_summary(&summary);
            DatabaseRead::Summary(summary)
        }
        Err(synccheck_device::photos_query::LibraryError::NotRecognised { table, missing }) => {
            // What the schema lacks is named; the table, if any, is one we know.
            assert!(!missing.is_empty(), "not recognised names what is missing");
            if let Some(t) = &table {
                assert!(
                    synccheck_device::photos_query::ASSET_TABLES.contains(&t.as_str()),
                    "{t}"
                );
            }
            DatabaseRead::NotRecognised {
                schema: table,
                missing,
            }
        }
        Err(e) => {
            let why = e.to_string();
            assert!(!why.trim().is_empty(), "an error says what went wrong");
            DatabaseRead::Unreadable(why)
        }
    };
    let library = PhotoLibrary {
        files: Default::default(),
        database,
        copied_bytes: Some(data.len() as u64),
        read_at: None,
    };
    PhotoSync::from_library(&library);
    let back = PhotoLibrary::from_plist("PhotoLibrary", &library.to_plist()).expect("reads back");
    assert_eq!(back, library);
    let mut snap = Snapshot::new(Source::Usb);
    snap.photo_library = Some(library);
    evaluate(&snap);
}

/// What holds for any summary, whatever the database: the asset table is one we know (no text
/// from the library is ever returned), and counts over the same rows fit inside each other.
fn check_summary(s: &photos::LibrarySummary) {
    let schema = s
        .schema
        .as_deref()
        .expect("a summary names its asset table");
    assert!(
        synccheck_device::photos_query::ASSET_TABLES.contains(&schema),
        "{schema}"
    );
    if let Some(assets) = s.assets {
        let states = [s.waiting, s.failed, s.quarantined];
        let sum: u64 = states.iter().flatten().sum();
        assert!(sum <= assets, "{s:?}");
    }
    if let (Some(waiting), Some(tried)) = (s.waiting, s.waiting_with_failed_attempts) {
        assert!(tried <= waiting, "{s:?}");
    }
    if s.waiting == Some(0) && s.waiting_bytes.is_some() {
        assert_eq!(s.waiting_bytes, Some(0), "nothing waiting is zero bytes");
    }
}

/// A time and size bound on every SQLite connection this process opens, set from outside the
/// library: an auto-extension gives each new connection a progress handler that interrupts it
/// once the current input's deadline has passed, and limits on string and expression size so
/// that no single step runs long. (`summarize` opens its own connections; this reaches them
/// without any hook in it.)
mod sqlite_bound {
    use std::ffi::{c_char, c_int};
    use std::sync::{Mutex, MutexGuard, Once};
    use std::time::Duration;

    use rusqlite::ffi;

    /// Each input's deadline, handed to the summary as its own (`ScanStop`): generous for the
    /// seeds (milliseconds each), short enough that libFuzzer's own `-timeout` never fires
    /// first. The library's progress handler enforces it, on every connection it opens.
    pub const PER_INPUT: Duration = Duration::from_secs(2);

    /// One input at a time (the replay test may run targets on several threads).
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// Held while one input is summarised: the limits below are installed, and no other input
    /// runs meanwhile.
    pub struct Bound {
        _one: MutexGuard<'static, ()>,
    }

    impl Bound {
        pub fn start() -> Bound {
            install();
            Bound {
                _one: ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    unsafe extern "C" fn bound_connection(
        db: *mut ffi::sqlite3,
        _: *mut *mut c_char,
        _: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: `db` is the connection SQLite is opening; these calls only set its limits.
        unsafe {
            ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_LENGTH, 1 << 20);
            ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
            ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_EXPR_DEPTH, 100);
            ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
        }
        ffi::SQLITE_OK
    }

    fn install() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            // SAFETY: the extension opens no database and leaves the list of extensions alone.
            unsafe { rusqlite::auto_extension::register_auto_extension(bound_connection) }
                .expect("register the SQLite bound");
            // SQLite's own allocations, whatever the database asks for.
            // SAFETY: a process-wide setting SQLite reads on every allocation.
            unsafe { ffi::sqlite3_hard_heap_limit64(128 << 20) };
        });
    }
}

/// A `manifest.json` left in a rescue folder (by an earlier run, or by anyone with the folder):
/// read back as `synccheck rescue` reads it before copying, merged, counted and written again;
/// what is written reads back the same.
pub fn rescue_manifest(data: &[u8]) {
    use synccheck_device::rescue_manifest;
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join(rescue_manifest::FILE_NAME), data).expect("write the input");
    let Some(mut manifest) = rescue_manifest::read(dir.path()) else {
        return;
    };
    let earlier = manifest.clone();
    manifest.files.clear();
    // Its paths are only looked up under the folder, never opened for writing.
    manifest.merge_earlier(Some(earlier), dir.path());
    for f in &manifest.files {
        assert!(
            !f.path.starts_with('/') && !f.path.split('/').any(|part| part == ".."),
            "a merged path outside the folder: {:?}",
            f.path
        );
    }
    manifest.count(0, 0);
    manifest.write(dir.path()).expect("write the manifest back");
    assert_eq!(
        rescue_manifest::read(dir.path()).as_ref(),
        Some(&manifest),
        "what is written reads back the same"
    );
}

/// `--db` / `SYNCCHECK_DB`: a path or a PostgreSQL URL, completed from PG* variables (none
/// here). Whatever it is, its description never shows a password it was given.
pub fn history_target(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let no_env = |_: &str| None;
    let Ok(target) = synccheck_history::Target::parse_with(std::ffi::OsStr::new(text), &no_env)
    else {
        return;
    };
    let described = target.describe();
    // `scheme://user:password@host...`: the described server never carries `:password@`.
    let password = text
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    if let (Some(password), None) = (password, target.path()) {
        assert!(!described.contains(&format!(":{password}@")), "{described}");
    }
}
