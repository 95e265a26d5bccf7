use serde::Serialize;

use super::read::{first_present, Values};

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
    pub(super) fn read(disk: &Values) -> Self {
        let bytes = |key| disk.unsigned(key, MAX_BYTES);
        let data_capacity = bytes("TotalDataCapacity");
        let total_available = bytes("TotalDataAvailable");
        // AmountDataAvailable is what is free now, without purging caches: the conservative
        // figure, and the one nearest Settings on the iOS versions reported publicly. The
        // purgeable-inclusive figure stands in only when the phone does not send it.
        let free = first_present(
            &[(disk, "AmountDataAvailable"), (disk, "TotalDataAvailable")],
            |v, key| v.unsigned(key, MAX_BYTES),
        );
        // More free than there is room: one of the two figures is wrong, and free space is
        // what the verdict rests on, so it is the one not trusted.
        let free = match (free, data_capacity) {
            (Some((f, key)), Some(cap)) if f > cap => disk.refuse(
                key,
                format!("more than the {cap} bytes of TotalDataCapacity"),
            ),
            (free, _) => free,
        };
        Storage {
            total_bytes: bytes("TotalDiskCapacity"),
            data_capacity_bytes: data_capacity,
            free_bytes: free.map(|(f, _)| f),
            free_key: free.map(|(_, k)| k),
            free_with_purgeable_bytes: total_available,
            photo_usage_bytes: bytes("PhotoUsage"),
            camera_usage_bytes: bytes("CameraUsage"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::read::Refusals;

    fn read(pairs: &[(&str, plist::Value)]) -> (Storage, Vec<crate::facts::Refusal>) {
        let d: plist::Dictionary = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let refusals = Refusals::new();
        let s = Storage::read(&refusals.values("Domains/com.apple.disk_usage", Some(&d)));
        (s, refusals.into_vec())
    }

    #[test]
    fn a_refused_free_figure_is_unknown_not_replaced_by_the_purgeable_one() {
        let (s, refused) = read(&[
            ("AmountDataAvailable", "lots".into()),
            ("TotalDataAvailable", 5_000.into()),
            ("TotalDataCapacity", 10_000.into()),
        ]);
        assert_eq!((s.free_bytes, s.free_key), (None, None));
        assert_eq!(s.data_capacity_bytes, Some(10_000));
        assert_eq!(s.free_with_purgeable_bytes, Some(5_000));
        assert_eq!(
            refused[0].key,
            "Domains/com.apple.disk_usage/AmountDataAvailable"
        );
        let (s, _) = read(&[("TotalDataAvailable", 5_000.into())]);
        assert_eq!(s.free_key, Some("TotalDataAvailable"));
    }

    #[test]
    fn more_free_than_capacity_refuses_the_free_figure() {
        let (s, refused) = read(&[
            ("AmountDataAvailable", 20_000.into()),
            ("TotalDataCapacity", 10_000.into()),
        ]);
        assert_eq!(s.free_bytes, None);
        assert_eq!(s.data_capacity_bytes, Some(10_000));
        assert!(
            refused[0].reason.contains("more than the 10000 bytes"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_negative_capacity_is_refused_and_free_space_still_read() {
        let (s, refused) = read(&[
            ("AmountDataAvailable", 20_000.into()),
            ("TotalDataCapacity", plist::Value::Integer((-5i64).into())),
        ]);
        assert_eq!(s.free_bytes, Some(20_000));
        assert_eq!(s.data_capacity_bytes, None);
        assert_eq!(refused[0].value, "the integer -5");
    }
}
