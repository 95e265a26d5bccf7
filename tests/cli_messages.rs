//! What synccheck says about a file it cannot read is a sentence, never a library's debug text
//! (`UnclosedXmlElement (offset 700)`, `ExpectedEndOfEventStream { found: String }`), for the
//! crafted files in fixtures/bad and for broken plists of every format made here.

use std::path::Path;
use std::process::Command;

/// Bits of Rust debug output that must never reach a technician.
const DEBUG_TEXT: [&str; 10] = [
    "(offset ",
    "{ found",
    " { ",
    "Xml",
    "Utf8",
    "Eof",
    "EventStream",
    "Io(",
    "Error(",
    "Kind",
];

fn scan_from(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
        .args(["scan", "--from"])
        .arg(path)
        .env("SYNCCHECK_DB", path.with_extension("sqlite"))
        .output()
        .expect("run synccheck");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_plain(what: &str, stderr: &str) {
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    for bit in DEBUG_TEXT {
        assert!(
            !stderr.contains(bit),
            "{what}: debug text {bit:?} in:\n{stderr}"
        );
    }
}

#[test]
fn the_crafted_files_get_plain_words() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&bad).unwrap() {
        let path = entry.unwrap().path();
        // A copy, so the history file made beside it is not in the repository.
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::copy(&path, &copy).unwrap();
        assert_plain(&path.display().to_string(), &scan_from(&copy));
    }
}

#[test]
fn broken_plists_of_every_format_get_plain_words() {
    let xml_head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "cut-off XML",
            format!("{xml_head}<dict><key>ProductType</key><string>iPh").into_bytes(),
        ),
        (
            "unknown XML element",
            format!("{xml_head}<dict><key>a</key><blob/></dict></plist>").into_bytes(),
        ),
        (
            "bad base64",
            format!("{xml_head}<dict><key>a</key><data>!!</data></dict></plist>").into_bytes(),
        ),
        (
            "two values",
            format!("{xml_head}<dict></dict></plist>\n<plist><dict></dict></plist>").into_bytes(),
        ),
        (
            "ASCII plist with invalid UTF-8",
            b"{ ProductType = \"\xff\xfe\"; }".to_vec(),
        ),
        (
            "unclosed ASCII string",
            b"{ ProductType = \"iPhone".to_vec(),
        ),
        ("binary header only", b"bplist00".to_vec()),
        ("binary with a broken trailer", {
            let mut b = b"bplist00\xd0\x08".to_vec();
            b.extend([0u8; 6]);
            b.extend([1, 9]);
            b.extend(1u64.to_be_bytes());
            b.extend(0u64.to_be_bytes());
            b.extend(u64::MAX.to_be_bytes());
            b
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in cases {
        let path = dir.path().join(format!("{}.plist", what.replace(' ', "-")));
        std::fs::write(&path, bytes).unwrap();
        let stderr = scan_from(&path);
        assert!(stderr.contains("synccheck: error:"), "{what}: {stderr}");
        assert_plain(what, &stderr);
    }
}
