use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The checklist's steps, in the order technicians try them. The ids are stable: the JSON report
/// and `--answer` use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    AppleId,
    IcloudPhotos,
    PhotosUpload,
    Network,
    CellularData,
    IcloudStorage,
    DeviceStorage,
    Restart,
    IosUpdate,
    Power,
    LowPower,
    BatteryHealth,
}

impl CheckId {
    pub const ALL: [CheckId; 12] = [
        CheckId::AppleId,
        CheckId::IcloudPhotos,
        CheckId::PhotosUpload,
        CheckId::Network,
        CheckId::CellularData,
        CheckId::IcloudStorage,
        CheckId::DeviceStorage,
        CheckId::Restart,
        CheckId::IosUpdate,
        CheckId::Power,
        CheckId::LowPower,
        CheckId::BatteryHealth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::AppleId => "apple-id",
            CheckId::IcloudPhotos => "icloud-photos",
            CheckId::PhotosUpload => "photos-upload",
            CheckId::Network => "network",
            CheckId::CellularData => "cellular-data",
            CheckId::IcloudStorage => "icloud-storage",
            CheckId::DeviceStorage => "device-storage",
            CheckId::Restart => "restart",
            CheckId::IosUpdate => "ios-update",
            CheckId::Power => "power",
            CheckId::LowPower => "low-power",
            CheckId::BatteryHealth => "battery-health",
        }
    }

    /// The step as a technician names it.
    pub fn title(self) -> &'static str {
        match self {
            CheckId::AppleId => "Apple ID signed in",
            CheckId::IcloudPhotos => "iCloud Photos on",
            CheckId::PhotosUpload => "Photos waiting to upload",
            CheckId::Network => "Internet connection",
            CheckId::CellularData => "Mobile data for Photos",
            CheckId::IcloudStorage => "iCloud storage",
            CheckId::DeviceStorage => "iPhone storage",
            CheckId::Restart => "Restart",
            CheckId::IosUpdate => "iOS up to date",
            CheckId::Power => "Plugged in",
            CheckId::LowPower => "Low Power Mode off",
            CheckId::BatteryHealth => "Battery health",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        CheckId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Manual,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Manual => "manual",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One fact a finding rests on: where it came from and what it said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The snapshot key (e.g. `com.apple.disk_usage AmountDataAvailable`), a derived fact, or
    /// `technician` for an `--answer`.
    pub source: String,
    pub value: String,
}

impl Evidence {
    pub fn new(source: impl Into<String>, value: impl Into<String>) -> Self {
        Evidence {
            source: source.into(),
            value: value.into(),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: CheckId,
    pub title: &'static str,
    pub status: Status,
    /// One line a technician can read aloud.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// What to do, in plain words, with the exact Settings path. For a `manual` step: where to
    /// look on the phone and how to answer.
    pub remedy: String,
}

impl Finding {
    pub fn new(
        id: CheckId,
        status: Status,
        summary: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Self {
        Finding {
            id,
            title: id.title(),
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            remedy: remedy.into(),
        }
    }

    pub fn with(mut self, source: impl Into<String>, value: impl Into<String>) -> Self {
        self.evidence.push(Evidence::new(source, value));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in CheckId::ALL {
            assert_eq!(id.as_str().parse::<CheckId>(), Ok(id));
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
        assert!("wifi".parse::<CheckId>().is_err());
    }
}
