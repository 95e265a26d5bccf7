//! The fuzz corpus and every kept crash, replayed on stable Rust in every CI run, without
//! libFuzzer: each file in `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes
//! through the same entry function as `cargo fuzz run <target>` (`fuzz/targets.rs`).
//!
//! The seeds are made from the repo's fixtures and the codecs' own encoders by the ignored test
//! below: `cargo test --test fuzz_corpus -- --ignored` writes them again.

use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/targets.rs"]
mod targets;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the directory does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("a readable directory entry").path())
                .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_corpus_and_regression_file_replays_without_a_panic() {
    let mut failures = Vec::new();
    for &(target, entry) in targets::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ has no seeds");
        for path in corpus.iter().chain(&inputs("regressions", target)) {
            let bytes = fs::read(path).expect("a readable corpus file");
            if catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "these inputs panic (reproduce with `cargo fuzz run TARGET FILE`):\n{}",
        failures.join("\n")
    );
}

#[test]
fn targets_corpora_and_fuzz_binaries_name_the_same_parsers() {
    let known: BTreeSet<String> = targets::TARGETS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(names_in(&fuzz_dir().join("fuzz_targets")), known);
    assert_eq!(names_in(&fuzz_dir().join("corpus")), known);
    let regressions = names_in(&fuzz_dir().join("regressions"));
    assert!(
        regressions.is_subset(&known),
        "fuzz/regressions/ has a directory for no target: {regressions:?}"
    );
}

/// Writes the seed corpus again (`cargo test --test fuzz_corpus -- --ignored`): small valid
/// inputs for every target, from the fixtures and the codecs' encoders, deterministic.
#[test]
#[ignore = "writes fuzz/corpus/; run by hand after changing a format"]
fn write_seed_corpus() {
    seeds::write_all();
}

mod seeds {
    use std::fs;
    use std::path::Path;

    use synccheck::checklist::{Context, Thresholds};
    use synccheck::photos::{self, FileRead};
    use synccheck::report::{json, ReportContext};
    use synccheck::snapshot::{self, Snapshot};
    use synccheck::wire::{afc, plist_frame, usbmux};

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn fixture(path: &str) -> Snapshot {
        snapshot::load_file(&root().join(path)).expect("fixtures load")
    }

    fn binary(value: &plist::Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_binary(&mut out).expect("in memory");
        out
    }

    fn xml(value: &plist::Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_xml(&mut out).expect("in memory");
        out
    }

    fn dict(pairs: &[(&str, plist::Value)]) -> plist::Dictionary {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn write(target: &str, name: &str, bytes: &[u8]) {
        let dir = root().join("fuzz/corpus").join(target);
        fs::create_dir_all(&dir).expect("create the corpus directory");
        fs::write(dir.join(name), bytes).expect("write a seed");
    }

    /// Compact JSON (pymobiledevice3's output is pretty-printed; the fuzzer needs no spaces).
    fn compact_json(path: &str) -> Vec<u8> {
        let text = fs::read(root().join(path)).expect("fixture");
        let value: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
        serde_json::to_vec(&value).expect("in memory")
    }

    pub fn write_all() {
        // snapshot: native snapshots as binary plists (whose offsets are worth corrupting and
        // which are half the size of XML), one small XML, and both import forms.
        for (name, path) in [
            ("healthy.bplist", "fixtures/healthy.plist"),
            ("failures.bplist", "fixtures/failures.plist"),
            (
                "photos-over-quota.bplist",
                "fixtures/photos/over-quota.plist",
            ),
            ("photos-paused.bplist", "fixtures/photos/paused.plist"),
            (
                "ideviceinfo-x.bplist",
                "fixtures/import/ideviceinfo-x.plist",
            ),
        ] {
            let value = plist::Value::from_file(root().join(path)).expect("fixture");
            write("snapshot", name, &binary(&value));
        }
        let mut small = Snapshot::new(snapshot::Source::Usb);
        small
            .lockdown
            .insert("ProductType".into(), "iPhone12,1".into());
        small
            .lockdown
            .insert("ProductVersion".into(), "18.6".into());
        let mut xml_snapshot = Vec::new();
        small.write_xml(&mut xml_snapshot).expect("in memory");
        write("snapshot", "small.plist", &xml_snapshot);
        write(
            "snapshot",
            "pymobiledevice3.json",
            &compact_json("fixtures/import/pymobiledevice3-lockdown-info.json"),
        );
        write(
            "snapshot",
            "pymobiledevice3-pre-10.5.json",
            &compact_json("fixtures/import/pymobiledevice3-lockdown-info.pre-10.5.json"),
        );

        // usbmux: requests and replies of the plist protocol, and a binary-protocol result.
        let healthy = fixture("fixtures/healthy.plist");
        let device = dict(&[
            ("DeviceID", 3.into()),
            (
                "Properties",
                plist::Value::Dictionary(dict(&[
                    ("ConnectionType", "USB".into()),
                    ("DeviceID", 3.into()),
                    ("SerialNumber", "00008030-001A2B3C4D5E6F70".into()),
                ])),
            ),
            ("MessageType", "Attached".into()),
        ]);
        for (name, tag, body) in [
            (
                "list-devices",
                1,
                dict(&[
                    ("MessageType", "ListDevices".into()),
                    ("ClientVersionString", "synccheck".into()),
                    ("ProgName", "synccheck".into()),
                ]),
            ),
            (
                "device-list",
                1,
                dict(&[(
                    "DeviceList",
                    plist::Value::Array(vec![plist::Value::Dictionary(device)]),
                )]),
            ),
            (
                "result",
                2,
                dict(&[("MessageType", "Result".into()), ("Number", 0.into())]),
            ),
            (
                "pair-record",
                3,
                dict(&[("PairRecordData", plist::Value::Data(b"<plist/>".to_vec()))]),
            ),
            (
                "connect",
                4,
                dict(&[
                    ("MessageType", "Connect".into()),
                    ("DeviceID", 3.into()),
                    ("PortNumber", usbmux::port_to_wire(62078).into()),
                ]),
            ),
        ] {
            write("usbmux", name, &usbmux::encode(tag, &body));
        }
        write(
            "usbmux",
            "binary-result",
            &usbmux::encode_raw(
                usbmux::VERSION_BINARY,
                usbmux::MESSAGE_RESULT,
                5,
                &0u32.to_le_bytes(),
            ),
        );

        // plist_frame: lockdown requests (XML, as hosts send) and replies (binary, as phones
        // send), and a diagnostics_relay IORegistry reply.
        write(
            "plist_frame",
            "query-type",
            &plist_frame::encode(&dict(&[
                ("Label", "synccheck".into()),
                ("Request", "QueryType".into()),
            ])),
        );
        let battery = healthy
            .domain(snapshot::BATTERY_DOMAIN)
            .cloned()
            .unwrap_or_default();
        let reply = plist::Value::Dictionary(dict(&[
            ("Domain", snapshot::BATTERY_DOMAIN.into()),
            ("Request", "GetValue".into()),
            ("Value", plist::Value::Dictionary(battery)),
        ]));
        let body = binary(&reply);
        let mut framed = (body.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&body);
        write("plist_frame", "get-value-binary", &framed);
        let smart = healthy.smart_battery().cloned().unwrap_or_default();
        write(
            "plist_frame",
            "ioregistry",
            &plist_frame::encode(&dict(&[
                ("Status", "Success".into()),
                (
                    "Diagnostics",
                    plist::Value::Dictionary(dict(&[(
                        "IORegistry",
                        plist::Value::Dictionary(smart),
                    )])),
                ),
            ])),
        );

        // afc: the first byte picks the body limit (fuzz/targets.rs), then one packet.
        let listing = afc::encode_strings([".", "..", "CPL", "Photos.sqlite"]);
        let info = afc::encode_pairs([
            ("st_size", "4096".to_string()),
            ("st_ifmt", "S_IFREG".to_string()),
            ("st_mtime", "1790000000000000000".to_string()),
        ]);
        let mut open = afc::mode::READ_ONLY.to_le_bytes().to_vec();
        open.extend_from_slice(&afc::cstring(photos::SYNC_STATUS));
        let mut read = 1u64.to_le_bytes().to_vec();
        read.extend_from_slice(&4096u64.to_le_bytes());
        for (name, op, args, payload) in [
            (
                "status-denied",
                afc::op::STATUS,
                afc::code::PERMISSION_DENIED.to_le_bytes().to_vec(),
                vec![],
            ),
            ("listing", afc::op::DATA, vec![], listing),
            ("file-info", afc::op::DATA, vec![], info),
            ("file-open", afc::op::FILE_OPEN, open, vec![]),
            (
                "open-result",
                afc::op::FILE_OPEN_RESULT,
                1u64.to_le_bytes().to_vec(),
                vec![],
            ),
            ("file-read", afc::op::FILE_READ, read, vec![]),
        ] {
            let mut seed = vec![0u8];
            seed.extend_from_slice(&afc::encode(1, op, &args, &payload));
            write("afc", name, &seed);
        }

        // photos_state: two selector bytes (0: every file present), then the contents of the
        // engine's files as the photo fixtures hold them.
        let mut seen = std::collections::BTreeSet::new();
        for fixture_path in [
            "fixtures/photos/over-quota.plist",
            "fixtures/photos/paused.plist",
            "fixtures/photos/low-power.plist",
            "fixtures/photos/synced.plist",
        ] {
            let lib = fixture(fixture_path)
                .photo_library
                .expect("a photo fixture");
            for (path, read) in &lib.files {
                let FileRead::Present { contents, .. } = read else {
                    continue;
                };
                if !seen.insert(contents.clone()) {
                    continue;
                }
                let stem = Path::new(fixture_path)
                    .file_stem()
                    .unwrap()
                    .to_string_lossy();
                let file = Path::new(path).file_name().unwrap().to_string_lossy();
                let mut seed = vec![0u8, 0];
                seed.extend_from_slice(contents);
                write("photos_state", &format!("{stem}-{file}"), &seed);
            }
        }

        // thresholds: the defaults in full, and one section alone.
        let defaults = toml::to_string(&Thresholds::default()).expect("serialise");
        write("thresholds", "defaults.toml", defaults.as_bytes());
        write(
            "thresholds",
            "partial.toml",
            b"[power]\nfail_below_percent = 30\n[photos-upload]\nfail_after_days = 3\n",
        );

        // report: JSON reports as `scan --json` writes them, with a fixed generation time.
        let ctx = ReportContext {
            generated_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            model_table_updated: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            model_table_stale: false,
        };
        for (name, path) in [
            ("failures.json", "fixtures/failures.plist"),
            ("photos-over-quota.json", "fixtures/photos/over-quota.plist"),
        ] {
            let snap = fixture(path);
            let r = synccheck::pipeline::report_for(&snap, path, &Context::default(), true);
            let value = json::to_value(&[r], &ctx);
            write("report", name, &serde_json::to_vec(&value).unwrap());
        }

        // pair_record: the keys a host record needs, PEM with placeholder contents (the record
        // parser checks the PEM framing; no real key belongs in a corpus).
        let pem = |label: &str| format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
        let record = plist::Value::Dictionary(dict(&[
            (
                "HostCertificate",
                plist::Value::Data(pem("CERTIFICATE").into_bytes()),
            ),
            (
                "HostPrivateKey",
                plist::Value::Data(pem("PRIVATE KEY").into_bytes()),
            ),
            ("HostID", "00000000-1111-2222-3333-444444444444".into()),
            ("SystemBUID", "55555555-6666-7777-8888-999999999999".into()),
            ("EscrowBag", plist::Value::Data(vec![1, 2, 3])),
        ]));
        write("pair_record", "record.plist", &xml(&record));
        write("pair_record", "record.bplist", &binary(&record));

        // plist_bounded: the first byte picks the form (fuzz/targets.rs): 0 the bytes as they
        // are, 1 nested XML of a given depth (0x11: dictionaries), 2 a binary plist from a
        // recipe (0x12: references may form cycles).
        use synccheck::wire::plist_bombs;
        let form = |f: u8, bytes: &[u8]| [&[f][..], bytes].concat();
        let healthy = plist::Value::from_file(root().join("fixtures/healthy.plist")).unwrap();
        write(
            "plist_bounded",
            "healthy.bplist",
            &form(0, &binary(&healthy)),
        );
        write("plist_bounded", "healthy.plist", &form(0, &xml(&healthy)));
        write(
            "plist_bounded",
            "reuse-bomb",
            &form(0, &plist_bombs::reuse_bomb(4, 32)),
        );
        write(
            "plist_bounded",
            "deep-binary",
            &form(0, &plist_bombs::deep_binary(40, true)),
        );
        write(
            "plist_bounded",
            "deep-xml-arrays",
            &form(1, &20u16.to_be_bytes()),
        );
        write(
            "plist_bounded",
            "deep-xml-dicts",
            &form(0x11, &20u16.to_be_bytes()),
        );
        // An integer, then four arrays of 16 references to the one before: 16^4 values.
        let mut reuse = vec![0u8, 7];
        for _ in 0..4 {
            reuse.extend_from_slice(&[2, 16]);
            reuse.extend_from_slice(&[0; 16]);
        }
        write("plist_bounded", "recipe-reuse", &form(2, &reuse));
        // A 65 KB string under two arrays of 32 references: 66 MB once read.
        let mut strings = vec![1u8, 255];
        for _ in 0..2 {
            strings.extend_from_slice(&[2, 32]);
            strings.extend_from_slice(&[0; 32]);
        }
        write("plist_bounded", "recipe-strings", &form(2, &strings));
        // A dictionary whose key and value are an integer and a string, in an array.
        write(
            "plist_bounded",
            "recipe-dict",
            &form(2, &[1, 0, 0, 1, 3, 1, 1, 0, 2, 1, 0]),
        );
        // An array holding itself.
        write("plist_bounded", "recipe-cycle", &form(0x12, &[2, 1, 0]));

        // photos_library: a 4-byte big-endian length, Photos.sqlite, then its -wal
        // (fuzz/targets.rs). Small synthesised libraries: iOS 15 and later with every column,
        // pre-iOS-13 ZGENERICASSET, a main file alone (the -wal left out), one not recognised.
        photos_library_seeds();
    }

    fn photos_library_seeds() {
        use synccheck::photos::synth::{self, SynthLibrary};
        use synccheck::photos::LibrarySummary;
        let at = |unix: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
        let seed = |lib: &SynthLibrary, with_wal: bool| {
            let mut bytes = (lib.main.len() as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(&lib.main);
            if with_wal {
                bytes.extend_from_slice(&lib.wal);
            }
            bytes
        };
        let everything = LibrarySummary {
            schema: Some("ZASSET".into()),
            assets: Some(12),
            waiting: Some(4),
            waiting_bytes: Some(9_000_000),
            oldest_waiting_added: Some(at(1_735_000_000)),
            waiting_with_failed_attempts: Some(2),
            last_upload_attempt: Some(at(1_748_000_000)),
            failed: Some(1),
            quarantined: Some(1),
            cloud_only_originals: Some(3),
        };
        let lib = synth::build(&everything).expect("a consistent summary");
        write("photos_library", "zasset", &seed(&lib, true));
        write("photos_library", "zasset-main-only", &seed(&lib, false));
        let generic = LibrarySummary {
            schema: Some("ZGENERICASSET".into()),
            assets: Some(6),
            waiting: Some(2),
            failed: Some(0),
            quarantined: Some(0),
            ..Default::default()
        };
        let lib = synth::build(&generic).expect("a consistent summary");
        write("photos_library", "zgenericasset", &seed(&lib, true));
        let lib = synth::build_unrecognised(Some("ZASSET"), &["ZASSET.ZCLOUDLOCALSTATE".into()])
            .expect("an unrecognised library");
        write("photos_library", "not-recognised", &seed(&lib, true));
    }
}
