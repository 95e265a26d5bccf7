//! One scan as the history stores it, whichever the store: what `record` writes, `history show`
//! reads back and `history import` copies.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use synccheck_core::snapshot::{self, Snapshot};
use synccheck_report::DeviceReport;

use crate::rescue::{count, stored_count};
use crate::{HistoryError, ScanRow, StoredScan};

/// A scan's row: the listing's columns, the answers and the snapshot as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScanRecord {
    pub scanned_at: i64,
    pub bench: Option<String>,
    pub udid: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub product_type: Option<String>,
    pub model: Option<String>,
    pub ios: Option<String>,
    pub free_bytes: Option<i64>,
    pub health_percent: Option<f64>,
    pub verdict: String,
    /// The `--answer` arguments, one per line.
    pub answers: String,
    pub trust_answers: bool,
    /// The snapshot as written by [`Snapshot::write`].
    pub snapshot: Vec<u8>,
}

impl ScanRecord {
    pub fn new(
        snapshot: &Snapshot,
        report: &DeviceReport,
        answers: &[String],
        trust_answers: bool,
        bench: Option<&str>,
    ) -> Result<ScanRecord, HistoryError> {
        let mut xml = Vec::new();
        // Loading refuses what XML cannot hold (a UID, found by fuzzing); an error here stays an
        // error, never a panic in the middle of a bench session. A value with a control
        // character is kept exactly (binary plist), so such a phone's scan is still recorded.
        snapshot
            .write(&mut xml)
            .map_err(|e| HistoryError::Unstorable(e.to_string()))?;
        let f = &report.facts;
        let scanned_at = report
            .captured_at
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Ok(ScanRecord {
            scanned_at,
            bench: bench.map(str::to_owned),
            udid: f.identity.udid.clone(),
            serial: f.identity.serial_number.clone(),
            name: f.identity.name.clone(),
            product_type: f.identity.product_type.clone(),
            model: f.identity.marketing_name.clone(),
            ios: f.software.ios_version.map(|v| v.to_string()),
            free_bytes: f.storage.free_bytes.map(stored_count),
            health_percent: f.battery.health.estimated_health_percent,
            verdict: report.evaluation.verdict.status.as_str().to_string(),
            answers: answers.join("\n"),
            trust_answers,
            snapshot: xml,
        })
    }

    pub fn row(&self, id: i64) -> ScanRow {
        ScanRow {
            id,
            scanned_at: self.scanned_at,
            bench: self.bench.clone(),
            udid: self.udid.clone(),
            serial: self.serial.clone(),
            name: self.name.clone(),
            model: self.model.clone(),
            ios: self.ios.clone(),
            free_bytes: self.free_bytes.map(count),
            health_percent: self.health_percent,
            verdict: self.verdict.clone(),
        }
    }

    /// Reads the stored snapshot back: a row that does not parse is damaged, never a panic.
    pub fn stored(self, id: i64) -> Result<StoredScan, HistoryError> {
        let snapshot =
            snapshot::parse_bytes(Path::new("history"), &self.snapshot).map_err(|e| {
                HistoryError::Damaged {
                    id,
                    why: e.to_string(),
                }
            })?;
        Ok(StoredScan {
            row: self.row(id),
            snapshot,
            answers: self
                .answers
                .lines()
                .map(str::to_owned)
                .filter(|a| !a.is_empty())
                .collect(),
            trust_answers: self.trust_answers,
        })
    }
}
