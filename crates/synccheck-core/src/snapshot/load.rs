//! Reading a snapshot file in any of the forms `scan --from` accepts.

use std::path::Path;

use super::import;
use super::{Connection, Snapshot, SnapshotError, Source, SNAPSHOT_VERSION};
pub use synccheck_wire::plist_describe::{describe, kind, uid_path, UID_PROBLEM};

/// A snapshot is a few hundred kilobytes at most; anything far larger is not one, and reading it
/// whole would be an unbounded allocation driven by the input.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a snapshot, an `ideviceinfo -x` plist or `pymobiledevice3 lockdown info` JSON.
pub fn load_file(path: &Path) -> Result<Snapshot, SnapshotError> {
    use crate::user_file::{read_regular_file, UserFileError};
    let path_buf = path.to_path_buf();
    let bytes = read_regular_file(path, MAX_SNAPSHOT_BYTES).map_err(|e| match e {
        UserFileError::Io(source) => SnapshotError::Io {
            path: path_buf,
            source,
        },
        UserFileError::NotAFile(kind) => SnapshotError::NotAFile {
            path: path_buf,
            kind,
        },
        UserFileError::TooLarge { limit, .. } => SnapshotError::TooLarge {
            path: path_buf,
            limit,
        },
    })?;
    parse_bytes(path, &bytes)
}

/// Parses the bytes of a file; `path` only names the file in errors.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(SnapshotError::Empty {
            path: path.to_path_buf(),
        }),
        Some(b'{') | Some(b'[') => {
            let json: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| SnapshotError::BadJson {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                })?;
            import::from_pymobiledevice3_json(path, json)
        }
        Some(_) => {
            use synccheck_wire::plist_bounded::{parse, Limits, PlistLimitError};
            let value = parse(bytes, &Limits::SNAPSHOT, "the snapshot").map_err(|e| match e {
                PlistLimitError::Malformed { detail, .. } => SnapshotError::BadPlist {
                    path: path.to_path_buf(),
                    detail,
                },
                error => SnapshotError::PlistLimit {
                    path: path.to_path_buf(),
                    error,
                },
            })?;
            // Found by fuzzing: a binary plist may hold a UID, which XML cannot, so such a
            // snapshot loaded but could not be saved again, and recording it in the history
            // (which keeps the snapshot as XML) panicked. Refused here, naming the key.
            if let Some(at) = uid_path(&value) {
                return Err(SnapshotError::Shape {
                    path: path.to_path_buf(),
                    key: at.trim_start_matches('/').to_string(),
                    problem: UID_PROBLEM.into(),
                });
            }
            from_plist(path, value)
        }
    }
}

fn from_plist(path: &Path, value: plist::Value) -> Result<Snapshot, SnapshotError> {
    let plist::Value::Dictionary(root) = value else {
        return Err(SnapshotError::Unrecognised {
            path: path.to_path_buf(),
            why: format!("the top level is {}, not a dictionary", kind(&value)),
        });
    };
    if root.contains_key("SnapshotVersion") {
        from_snapshot_dict(path, root)
    } else if import::looks_like_lockdown_root(&root) {
        Ok(import::from_ideviceinfo(root))
    } else {
        Err(SnapshotError::Unrecognised {
            path: path.to_path_buf(),
            why: "it has neither SnapshotVersion nor lockdown keys such as ProductType".into(),
        })
    }
}

fn from_snapshot_dict(path: &Path, mut root: plist::Dictionary) -> Result<Snapshot, SnapshotError> {
    let shape = |key: &str, problem: String| SnapshotError::Shape {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
    };

    let version = root.get("SnapshotVersion").expect("checked by caller");
    match version.as_unsigned_integer() {
        Some(SNAPSHOT_VERSION) => {}
        Some(v) if v > SNAPSHOT_VERSION => {
            return Err(shape(
                "SnapshotVersion",
                format!("version {v} is newer than this synccheck reads ({SNAPSHOT_VERSION}); update synccheck"),
            ))
        }
        _ => {
            return Err(shape(
                "SnapshotVersion",
                format!("expected the integer {SNAPSHOT_VERSION}, found {}", describe(version)),
            ))
        }
    }

    let captured_at = match root.remove("CapturedAt") {
        None => None,
        Some(plist::Value::Date(d)) => Some(d.into()),
        Some(other) => {
            return Err(shape(
                "CapturedAt",
                format!("expected a date, found {}", describe(&other)),
            ))
        }
    };
    let source = match root.remove("Source") {
        None => Source::Other("unknown".into()),
        Some(plist::Value::String(s)) => match Source::from_name(&s) {
            Source::Import(_) => Source::Import(
                root.get("ImportedFrom")
                    .and_then(|v| v.as_string())
                    .unwrap_or_default()
                    .to_string(),
            ),
            other => other,
        },
        Some(other) => {
            return Err(shape(
                "Source",
                format!("expected a string, found {}", describe(&other)),
            ))
        }
    };
    let connection = match root.remove("Connection") {
        None => None,
        Some(plist::Value::String(s)) => Some(Connection::parse(&s).ok_or_else(|| {
            shape(
                "Connection",
                format!("expected \"USB\" or \"Network\", found \"{s}\""),
            )
        })?),
        Some(other) => {
            return Err(shape(
                "Connection",
                format!("expected a string, found {}", describe(&other)),
            ))
        }
    };
    let lockdown = match root.remove("Lockdown") {
        None => plist::Dictionary::new(),
        Some(plist::Value::Dictionary(d)) => d,
        Some(other) => {
            return Err(shape(
                "Lockdown",
                format!("expected a dictionary, found {}", describe(&other)),
            ))
        }
    };
    let domains =
        dict_of_dicts(root.remove("Domains"), "Domains").map_err(|(k, p)| shape(&k, p))?;
    let io_registry =
        dict_of_dicts(root.remove("IORegistry"), "IORegistry").map_err(|(k, p)| shape(&k, p))?;

    let photo_library = match root.remove("PhotoLibrary") {
        None => None,
        Some(v) => Some(
            crate::photos::PhotoLibrary::from_plist("PhotoLibrary", &v)
                .map_err(|e| shape(&e.key, e.problem))?,
        ),
    };

    Ok(Snapshot {
        captured_at,
        source,
        connection,
        lockdown,
        domains,
        io_registry,
        photo_library,
    })
}

type DictMap = std::collections::BTreeMap<String, plist::Dictionary>;

fn dict_of_dicts(value: Option<plist::Value>, key: &str) -> Result<DictMap, (String, String)> {
    let mut out = DictMap::new();
    let Some(value) = value else { return Ok(out) };
    let plist::Value::Dictionary(outer) = value else {
        return Err((
            key.into(),
            format!("expected a dictionary, found {}", describe(&value)),
        ));
    };
    for (name, inner) in outer {
        match inner {
            plist::Value::Dictionary(d) => {
                out.insert(name, d);
            }
            other => {
                return Err((
                    format!("{key}/{name}"),
                    format!("expected a dictionary, found {}", describe(&other)),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Snapshot, SnapshotError> {
        parse_bytes(Path::new("t.plist"), text.as_bytes())
    }

    fn xml(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>{body}</dict></plist>"#
        )
    }

    #[test]
    fn native_snapshot_round_trips() {
        let mut snap = Snapshot::new(Source::Usb);
        snap.connection = Some(Connection::Usb);
        snap.captured_at =
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
        snap.lockdown
            .insert("ProductType".into(), "iPhone14,5".into());
        let mut battery = plist::Dictionary::new();
        battery.insert("BatteryCurrentCapacity".into(), 57.into());
        snap.domains
            .insert("com.apple.mobile.battery".into(), battery);
        let mut xml = Vec::new();
        snap.write_xml(&mut xml).unwrap();
        let back = parse_bytes(Path::new("x"), &xml).unwrap();
        assert_eq!(back, snap);
    }

    #[test]
    fn binary_plist_is_read() {
        let mut snap = Snapshot::new(Source::Usb);
        snap.lockdown.insert("ProductVersion".into(), "17.4".into());
        let mut bin = Vec::new();
        snap.to_plist().to_writer_binary(&mut bin).unwrap();
        assert_eq!(parse_bytes(Path::new("x"), &bin).unwrap(), snap);
    }

    #[test]
    fn flat_lockdown_dict_is_an_ideviceinfo_import() {
        let snap = parse(&xml("<key>ProductType</key><string>iPhone8,1</string>")).unwrap();
        assert_eq!(snap.source, Source::Import("ideviceinfo".into()));
        assert_eq!(
            snap.lockdown.get("ProductType").unwrap().as_string(),
            Some("iPhone8,1")
        );
        assert!(snap.domains.is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        let err = parse(&xml("<key>SnapshotVersion</key><string>one</string>")).unwrap_err();
        assert!(err.to_string().contains("SnapshotVersion"), "{err}");
        let err = parse(&xml(
            "<key>SnapshotVersion</key><integer>1</integer><key>Domains</key><dict><key>com.apple.disk_usage</key><integer>3</integer></dict>",
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("Domains/com.apple.disk_usage"),
            "{err}"
        );
        let err = parse(&xml("<key>SnapshotVersion</key><integer>7</integer>")).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn a_uid_is_refused_because_a_snapshot_is_saved_as_xml() {
        // Fuzzing found a binary snapshot with a UID that loaded, then could not be saved.
        let mut snap = Snapshot::new(Source::Usb);
        snap.lockdown.insert(
            "Archived".into(),
            plist::Value::Array(vec![plist::Value::Uid(plist::Uid::new(3))]),
        );
        let mut bin = Vec::new();
        snap.to_plist().to_writer_binary(&mut bin).unwrap();
        let err = parse_bytes(Path::new("x"), &bin).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::Shape { key, .. } if key == "Lockdown/Archived/0"),
            "{err}"
        );
    }

    #[test]
    fn descriptions_are_bounded_and_printable() {
        let long = plist::Value::String("x".repeat(500));
        let d = describe(&long);
        assert!(d.chars().count() < 60, "{d}");
        assert!(d.ends_with("…\""), "{d}");
        let d = describe(&plist::Value::String("a\u{1b}[31mred\n".into()));
        assert!(!d.chars().any(char::is_control), "{d}");
        assert!(d.contains("\\u{1b}"), "{d}");
        assert_eq!(
            describe(&plist::Value::Data(b"YES".to_vec())),
            "data \"YES\""
        );
        assert_eq!(
            describe(&plist::Value::Data(vec![0, 1, 2])),
            "3 bytes of data"
        );
        assert_eq!(
            describe(&plist::Value::Array(vec![1.into()])),
            "an array of 1 item"
        );
    }

    #[test]
    fn bombs_are_refused_naming_the_file_and_the_limit() {
        use synccheck_wire::plist_bombs::{deep_xml, Bomb};
        let reuse = Bomb::Reuse {
            levels: 5,
            width: 64,
        }
        .in_message(&[("SnapshotVersion", "1")], "Lockdown");
        for (bytes, limit) in [
            (reuse, "object count"),
            (deep_xml(20_000, true), "nesting depth"),
        ] {
            let err = parse_bytes(Path::new("bomb.plist"), &bytes).unwrap_err();
            assert!(matches!(err, SnapshotError::PlistLimit { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.starts_with("bomb.plist: the snapshot goes over the plist ")
                    && text.contains(limit),
                "{text}"
            );
        }
    }

    #[test]
    fn builtin_demo_loads() {
        let demo = crate::snapshot::builtin_demo();
        assert_eq!(demo.source, Source::Usb);
        assert!(demo.smart_battery().is_some());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(parse("   "), Err(SnapshotError::Empty { .. })));
        assert!(matches!(
            parse("hello"),
            Err(SnapshotError::BadPlist { .. })
        ));
        assert!(matches!(
            parse("{not json"),
            Err(SnapshotError::BadJson { .. })
        ));
        assert!(matches!(
            parse(&xml("<key>Foo</key><string>bar</string>")),
            Err(SnapshotError::Unrecognised { .. })
        ));
        let array = r#"<?xml version="1.0"?><plist version="1.0"><array/></plist>"#;
        assert!(matches!(
            parse(array),
            Err(SnapshotError::Unrecognised { .. })
        ));
    }
}
