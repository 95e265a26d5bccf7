//! Other tools' output, turned into snapshots so the technician never converts anything by hand.
//!
//! Both forms carry only root lockdown values: no domains and no IORegistry, so storage and
//! battery facts from such a file are unknown rather than guessed.

use std::path::Path;

use super::{Snapshot, SnapshotError, Source};

/// Keys every lockdownd answers at the root; one of them marks a flat dump of root values.
const ROOT_MARKERS: [&str; 4] = [
    "ProductType",
    "UniqueDeviceID",
    "ProductVersion",
    "DeviceClass",
];

pub(super) fn looks_like_lockdown_root(dict: &plist::Dictionary) -> bool {
    ROOT_MARKERS.iter().any(|k| dict.contains_key(k))
}

/// `ideviceinfo -x`: a plist dictionary of root lockdown values.
pub(super) fn from_ideviceinfo(root: plist::Dictionary) -> Snapshot {
    let mut snap = Snapshot::new(Source::Import("ideviceinfo".into()));
    snap.lockdown = root;
    snap
}

/// `pymobiledevice3 lockdown info`: the root values as JSON.
pub(super) fn from_pymobiledevice3_json(
    path: &Path,
    json: serde_json::Value,
) -> Result<Snapshot, SnapshotError> {
    let serde_json::Value::Object(map) = json else {
        return Err(SnapshotError::Unrecognised {
            path: path.to_path_buf(),
            why: "the JSON top level is not an object".into(),
        });
    };
    let root = json_object_to_dict(map);
    if !looks_like_lockdown_root(&root) {
        return Err(SnapshotError::Unrecognised {
            path: path.to_path_buf(),
            why: "the JSON object has no lockdown keys such as ProductType".into(),
        });
    }
    let mut snap = Snapshot::new(Source::Import("pymobiledevice3".into()));
    snap.lockdown = root;
    Ok(snap)
}

fn json_object_to_dict(map: serde_json::Map<String, serde_json::Value>) -> plist::Dictionary {
    let mut dict = plist::Dictionary::new();
    for (key, value) in map {
        if let Some(v) = json_to_plist(value) {
            dict.insert(key, v);
        }
    }
    dict
}

/// JSON null has no plist counterpart: such a key is dropped, which makes its fact unknown.
fn json_to_plist(value: serde_json::Value) -> Option<plist::Value> {
    use serde_json::Value as J;
    Some(match value {
        J::Null => return None,
        J::Bool(b) => plist::Value::Boolean(b),
        J::Number(n) => {
            if let Some(u) = n.as_u64() {
                plist::Value::Integer(u.into())
            } else if let Some(i) = n.as_i64() {
                plist::Value::Integer(i.into())
            } else {
                plist::Value::Real(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) => match old_hex_bytes(&s) {
            Some(bytes) => plist::Value::Data(bytes),
            None => plist::Value::String(s),
        },
        J::Array(items) => {
            plist::Value::Array(items.into_iter().filter_map(json_to_plist).collect())
        }
        J::Object(map) => match new_hex_bytes(&map) {
            Some(bytes) => plist::Value::Data(bytes),
            None => plist::Value::Dictionary(json_object_to_dict(map)),
        },
    })
}

/// pymobiledevice3 10.5 and later print data values as `{"$hex": "594553"}`.
fn new_hex_bytes(map: &serde_json::Map<String, serde_json::Value>) -> Option<Vec<u8>> {
    match (map.len(), map.get("$hex")) {
        (1, Some(serde_json::Value::String(hex))) => decode_hex(hex),
        _ => None,
    }
}

/// Older pymobiledevice3 (2021 to 10.4.2) printed them as the string `"<594553>"`.
fn old_hex_bytes(s: &str) -> Option<Vec<u8>> {
    decode_hex(s.strip_prefix('<')?.strip_suffix('>')?)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_keep_their_types() {
        let json = serde_json::json!({
            "ProductType": "iPhone16,1",
            "PasswordProtected": false,
            "TimeIntervalSince1970": 1732500000.25,
            "BoardId": 12,
            "SupportedDeviceFamilies": [1],
            "NonVolatileRAM": {"auto-boot": "true", "fm-activation-locked": {"$hex": "594553"}, "old": "<4e4f>"},
            "Gone": null
        });
        let snap = from_pymobiledevice3_json(Path::new("x.json"), json).unwrap();
        let l = &snap.lockdown;
        assert_eq!(l["ProductType"].as_string(), Some("iPhone16,1"));
        assert_eq!(l["PasswordProtected"].as_boolean(), Some(false));
        assert_eq!(l["BoardId"].as_unsigned_integer(), Some(12));
        assert_eq!(l["TimeIntervalSince1970"].as_real(), Some(1732500000.25));
        let nvram = l["NonVolatileRAM"].as_dictionary().unwrap();
        assert_eq!(nvram["fm-activation-locked"].as_data(), Some(&b"YES"[..]));
        assert_eq!(nvram["old"].as_data(), Some(&b"NO"[..]));
        assert_eq!(nvram["auto-boot"].as_string(), Some("true"));
        assert!(!l.contains_key("Gone"));
    }

    #[test]
    fn json_without_lockdown_keys_is_refused() {
        let err = from_pymobiledevice3_json(Path::new("x.json"), serde_json::json!({"a": 1}))
            .unwrap_err();
        assert!(matches!(err, SnapshotError::Unrecognised { .. }));
    }
}
