use serde::Serialize;

use super::read::{FactError, Values};

/// No iPhone holds more than a few terabytes; a larger byte count is corrupt input.
const MAX_BYTES: u64 = 100_000_000_000_000;

/// Storage from `com.apple.disk_usage`, in bytes (decimal units, as Settings shows them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Storage {
    /// TotalDiskCapacity: the size on the box (e.g. 128 GB).
    pub total_bytes: Option<u64>,
    /// TotalDataCapacity: the user data partition.
    pub data_capacity_bytes: Option<u64>,
    /// Free space the checklist uses; `free_key` says which lockdown key it came from.
    pub free_bytes: Option<u64>,
    pub free_key: Option<&'static str>,
    /// TotalDataAvailable, which also counts purgeable space (reads higher than Settings on iOS 17).
    pub free_with_purgeable_bytes: Option<u64>,
    /// Per-category usage; only older iOS reports these.
    pub photo_usage_bytes: Option<u64>,
    pub camera_usage_bytes: Option<u64>,
}

impl Storage {
    pub(super) fn read(disk: &Values) -> Result<Self, FactError> {
        let bytes = |key| disk.unsigned(key, MAX_BYTES);
        let data_capacity = bytes("TotalDataCapacity")?;
        let amount_available = bytes("AmountDataAvailable")?;
        let total_available = bytes("TotalDataAvailable")?;
        // AmountDataAvailable is what is free now, without purging caches: the conservative
        // figure, and the one nearest Settings on the iOS versions reported publicly.
        let (free_bytes, free_key) = match (amount_available, total_available) {
            (Some(a), _) => (Some(a), Some("AmountDataAvailable")),
            (None, Some(t)) => (Some(t), Some("TotalDataAvailable")),
            (None, None) => (None, None),
        };
        if let (Some(free), Some(cap), Some(key)) = (free_bytes, data_capacity, free_key) {
            if free > cap {
                return Err(FactError {
                    key: disk.key_path(key),
                    problem: format!(
                        "{free} bytes free is more than the {cap} bytes of TotalDataCapacity"
                    ),
                });
            }
        }
        Ok(Storage {
            total_bytes: bytes("TotalDiskCapacity")?,
            data_capacity_bytes: data_capacity,
            free_bytes,
            free_key,
            free_with_purgeable_bytes: total_available,
            photo_usage_bytes: bytes("PhotoUsage")?,
            camera_usage_bytes: bytes("CameraUsage")?,
        })
    }
}
