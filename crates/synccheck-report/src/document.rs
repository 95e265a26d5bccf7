//! The JSON report (`synccheck.report/1`) read back: the part of it the customer's sheet shows.
//!
//! The HTML sheet is always rendered from this, whether the report was just made (a scan, a
//! snapshot, a history entry) or is a JSON file saved earlier (`synccheck report --from`), so
//! both print the same page. Every field is optional: a report from an older or newer
//! synccheck, or one missing a fact, still renders, with what is unknown left out.

use serde::Deserialize;
use serde_json::Value;

use super::json::SCHEMA;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("not a regular file (it is {0}), so it is not read")]
    NotAFile(&'static str),
    #[error("not a synccheck report (its \"schema\" is {found}, expected \"{SCHEMA}\")")]
    Schema { found: String },
    #[error("the report does not match {SCHEMA}: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("the report holds no device")]
    NoDevice,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReportDocument {
    pub generated_at: Option<String>,
    pub devices: Vec<DeviceDocument>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeviceDocument {
    pub captured_at: Option<String>,
    #[serde(default)]
    pub facts: FactsDocument,
    #[serde(default)]
    pub checks: Vec<CheckDocument>,
    pub verdict: Option<VerdictDocument>,
    /// Values the phone sent in a form synccheck refused, one sentence each.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Photos only on this phone, and the command that copies them.
    #[serde(default)]
    pub rescue: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FactsDocument {
    pub identity: IdentityDocument,
    pub software: SoftwareDocument,
    pub storage: StorageDocument,
    pub battery: BatteryDocument,
    pub network: NetworkDocument,
    pub photos: Option<PhotosDocument>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IdentityDocument {
    pub marketing_name: Option<String>,
    pub product_type: Option<String>,
    pub model_number: Option<String>,
    pub name: Option<String>,
    pub serial_number: Option<String>,
    pub udid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SoftwareDocument {
    pub ios_version: Option<String>,
    pub build: Option<String>,
    pub latest_ios: Option<String>,
    pub update_available: Option<bool>,
    /// The model table was over a year old when the phone was read: "newest" may be wrong.
    pub model_table_stale: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageDocument {
    pub total_bytes: Option<u64>,
    pub data_capacity_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BatteryDocument {
    pub level_percent: Option<u8>,
    pub charging: Option<bool>,
    pub external_power: Option<bool>,
    pub health: BatteryHealthDocument,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BatteryHealthDocument {
    pub cycle_count: Option<u32>,
    pub estimated_health_percent: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkDocument {
    pub wifi_address: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhotosDocument {
    pub enabled: Option<bool>,
    pub paused: Option<bool>,
    pub engine: Option<EngineDocument>,
    pub library: LibraryDocument,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EngineDocument {
    pub last_sync: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LibraryDocument {
    pub assets: Option<u64>,
    pub waiting: Option<u64>,
    pub waiting_bytes: Option<u64>,
    pub oldest_waiting_added: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckDocument {
    pub id: String,
    pub title: String,
    pub status: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub remedy: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VerdictDocument {
    pub status: String,
    #[serde(default)]
    pub summary: String,
}

/// Reads `path` as a JSON report if it is one: `Ok(None)` when it is something else (a
/// snapshot, an import), for the snapshot loader to try.
pub fn read_if_report(path: &std::path::Path) -> Result<Option<ReportDocument>, DocumentError> {
    use synccheck_core::user_file::{read_regular_file, UserFileError};
    let bytes = read_regular_file(path, synccheck_core::snapshot::MAX_SNAPSHOT_BYTES).map_err(
        |e| match e {
            UserFileError::Io(e) => DocumentError::Io(e),
            UserFileError::NotAFile(kind) => DocumentError::NotAFile(kind),
            UserFileError::TooLarge { limit, .. } => DocumentError::TooLarge { limit },
        },
    )?;
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    let is_report = value
        .get("schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("synccheck.report/"));
    if is_report {
        ReportDocument::from_value(value).map(Some)
    } else {
        Ok(None)
    }
}

impl ReportDocument {
    /// Reads a JSON report, refusing anything that is not `synccheck.report/1`.
    pub fn from_value(value: Value) -> Result<Self, DocumentError> {
        match value.get("schema").and_then(Value::as_str) {
            Some(SCHEMA) => {}
            other => {
                return Err(DocumentError::Schema {
                    found: other.map_or_else(|| "missing".to_string(), |s| format!("\"{s}\"")),
                })
            }
        }
        let doc: ReportDocument = serde_json::from_value(value)?;
        if doc.devices.is_empty() {
            return Err(DocumentError::NoDevice);
        }
        Ok(doc)
    }

    /// Hides what identifies the customer, as [`super::redact`] does for a fresh report.
    pub fn redact(&mut self) {
        for d in &mut self.devices {
            let id = &mut d.facts.identity;
            for v in [&mut id.name, &mut id.serial_number, &mut id.udid] {
                hide(v);
            }
            hide(&mut d.facts.network.wifi_address);
        }
    }
}

fn hide(v: &mut Option<String>) {
    if v.is_some() {
        *v = Some(super::REDACTED.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_synccheck_reports_are_read() {
        let err = ReportDocument::from_value(serde_json::json!({"schema": "other/1"})).unwrap_err();
        assert!(err.to_string().contains("\"other/1\""), "{err}");
        let err = ReportDocument::from_value(serde_json::json!({"devices": []})).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        let err = ReportDocument::from_value(serde_json::json!({"schema": SCHEMA, "devices": []}))
            .unwrap_err();
        assert!(matches!(err, DocumentError::NoDevice));
        let err = ReportDocument::from_value(serde_json::json!({"schema": SCHEMA, "devices": 3}))
            .unwrap_err();
        assert!(matches!(err, DocumentError::Shape(_)));
    }

    #[test]
    fn a_sparse_device_still_reads() {
        let doc = ReportDocument::from_value(serde_json::json!({
            "schema": SCHEMA,
            "devices": [{"checks": [{"id": "power", "title": "Power", "status": "warn"}]}]
        }))
        .unwrap();
        assert_eq!(doc.devices[0].checks[0].summary, "");
        assert!(doc.devices[0].facts.identity.udid.is_none());
    }
}
