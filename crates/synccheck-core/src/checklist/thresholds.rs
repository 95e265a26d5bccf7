//! The numbers that turn facts into pass, warn or fail; overridable with `--thresholds FILE`.

use serde::{Deserialize, Serialize};

/// All limits; a TOML file may set any subset, the rest keep their defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Thresholds {
    pub device_storage: DeviceStorageLimits,
    pub power: PowerLimits,
    pub battery_health: BatteryHealthLimits,
    pub ios_update: IosUpdateLimits,
    pub photos_upload: PhotosUploadLimits,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotosUploadLimits {
    /// Fail when photos wait and the engine's last sync is older than this.
    pub fail_after_days: u32,
    /// A backlog this small passes when the engine synced within `recent_sync_hours`: the
    /// engine is working through it.
    pub small_backlog: u64,
    pub recent_sync_hours: u32,
    /// "No upload progress" since the phone's last scan is concluded only when that scan is at
    /// least this many minutes old: a minute apart, an uploading engine may not have finished
    /// one photo. A falling count shows progress at any gap.
    pub no_progress_after_minutes: u32,
}

impl Default for PhotosUploadLimits {
    fn default() -> Self {
        PhotosUploadLimits {
            fail_after_days: 7,
            small_backlog: 50,
            recent_sync_hours: 24,
            no_progress_after_minutes: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceStorageLimits {
    /// Fail below this many free bytes, whatever the capacity...
    pub fail_below_bytes: u64,
    /// ...or below this share of the data capacity, whichever is larger.
    pub fail_below_percent: f64,
    /// Warn below this share of the data capacity.
    pub warn_below_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerLimits {
    /// Fail when the battery is below this level and no charger is connected.
    pub fail_below_percent: u8,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatteryHealthLimits {
    pub warn_below_percent: f64,
    pub fail_below_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IosUpdateLimits {
    /// Fail when the installed major version is this many or more behind the newest for the model.
    pub fail_majors_behind: u32,
}

impl Default for DeviceStorageLimits {
    fn default() -> Self {
        DeviceStorageLimits {
            fail_below_bytes: 1_000_000_000,
            fail_below_percent: 5.0,
            warn_below_percent: 10.0,
        }
    }
}

impl Default for PowerLimits {
    fn default() -> Self {
        // Apple documents that a low battery pauses uploads; iOS offers Low Power Mode at 20 %.
        PowerLimits {
            fail_below_percent: 20,
        }
    }
}

impl Default for BatteryHealthLimits {
    fn default() -> Self {
        // 80 % is where Apple calls a battery "consumed" and offers service.
        BatteryHealthLimits {
            warn_below_percent: 80.0,
            fail_below_percent: 60.0,
        }
    }
}

impl Default for IosUpdateLimits {
    fn default() -> Self {
        IosUpdateLimits {
            fail_majors_behind: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ThresholdsError(String);

impl Thresholds {
    pub fn from_toml(text: &str) -> Result<Self, ThresholdsError> {
        let t: Thresholds =
            toml::from_str(text).map_err(|e| ThresholdsError(e.message().to_string()))?;
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<(), ThresholdsError> {
        let pct = |name: &str, v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                Err(ThresholdsError(format!(
                    "{name} must be between 0 and 100, not {v}"
                )))
            }
        };
        pct(
            "device-storage.fail_below_percent",
            self.device_storage.fail_below_percent,
        )?;
        pct(
            "device-storage.warn_below_percent",
            self.device_storage.warn_below_percent,
        )?;
        pct(
            "power.fail_below_percent",
            self.power.fail_below_percent.into(),
        )?;
        pct(
            "battery-health.warn_below_percent",
            self.battery_health.warn_below_percent,
        )?;
        pct(
            "battery-health.fail_below_percent",
            self.battery_health.fail_below_percent,
        )?;
        self.check_order()?;
        if self.photos_upload.fail_after_days == 0 {
            return Err(ThresholdsError(
                "photos-upload.fail_after_days must be at least 1".into(),
            ));
        }
        if self.ios_update.fail_majors_behind == 0 {
            return Err(ThresholdsError(
                "ios-update.fail_majors_behind must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Thresholds {
    /// Each warn (or still-healthy) limit must sit on the healthy side of its fail limit:
    /// inverted, the warn band vanishes, or (for photos-upload) a sync called recent would be
    /// old enough to fail. Equal limits are allowed: they switch the warn band off.
    fn check_order(&self) -> Result<(), ThresholdsError> {
        // A key the file does not set keeps its default, which can invert a pair too.
        let inverted = |section: &str, warn: String, fail: String, why: &str| {
            Err(ThresholdsError(format!(
                "[{section}] {warn} is below {fail}: {why} (a key the file does not set keeps its default)"
            )))
        };
        let storage = &self.device_storage;
        if storage.warn_below_percent < storage.fail_below_percent {
            return inverted(
                "device-storage",
                format!("warn_below_percent = {}", storage.warn_below_percent),
                format!("fail_below_percent = {}", storage.fail_below_percent),
                "less free space is worse, so the warn limit must be at least the fail limit",
            );
        }
        let battery = &self.battery_health;
        if battery.warn_below_percent < battery.fail_below_percent {
            return inverted(
                "battery-health",
                format!("warn_below_percent = {}", battery.warn_below_percent),
                format!("fail_below_percent = {}", battery.fail_below_percent),
                "lower health is worse, so the warn limit must be at least the fail limit",
            );
        }
        let photos = &self.photos_upload;
        if u64::from(photos.fail_after_days) * 24 < u64::from(photos.recent_sync_hours) {
            return Err(ThresholdsError(format!(
                "[photos-upload] recent_sync_hours = {} is longer than fail_after_days = {} ({} hours): \
                 a sync that recent would already fail, so recent_sync_hours must be at most \
                 fail_after_days × 24 (a key the file does not set keeps its default)",
                photos.recent_sync_hours,
                photos.fail_after_days,
                u64::from(photos.fail_after_days) * 24
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_other_defaults() {
        let t = Thresholds::from_toml("[power]\nfail_below_percent = 30\n").unwrap();
        assert_eq!(t.power.fail_below_percent, 30);
        assert_eq!(t.device_storage, DeviceStorageLimits::default());
    }

    #[test]
    fn the_gap_before_judging_upload_progress_is_30_minutes_and_can_be_set() {
        assert_eq!(
            Thresholds::default()
                .photos_upload
                .no_progress_after_minutes,
            30
        );
        let t = Thresholds::from_toml("[photos-upload]\nno_progress_after_minutes = 90\n").unwrap();
        assert_eq!(t.photos_upload.no_progress_after_minutes, 90);
        assert_eq!(t.photos_upload.fail_after_days, 7);
    }

    #[test]
    fn every_pair_of_limits_on_the_wrong_side_is_refused_naming_section_and_keys() {
        for (file, section, keys) in [
            (
                "[device-storage]\nwarn_below_percent = 4.0\nfail_below_percent = 5.0\n",
                "[device-storage]",
                ["warn_below_percent = 4", "fail_below_percent = 5"],
            ),
            // Inverted against a default: fail raised above the default warn (10).
            (
                "[device-storage]\nfail_below_percent = 12.0\n",
                "[device-storage]",
                ["warn_below_percent = 10", "fail_below_percent = 12"],
            ),
            (
                "[battery-health]\nwarn_below_percent = 50.0\nfail_below_percent = 60.0\n",
                "[battery-health]",
                ["warn_below_percent = 50", "fail_below_percent = 60"],
            ),
            (
                "[battery-health]\nfail_below_percent = 85.0\n",
                "[battery-health]",
                ["warn_below_percent = 80", "fail_below_percent = 85"],
            ),
            (
                "[photos-upload]\nfail_after_days = 1\nrecent_sync_hours = 25\n",
                "[photos-upload]",
                ["recent_sync_hours = 25", "fail_after_days = 1"],
            ),
        ] {
            let err = Thresholds::from_toml(file).unwrap_err().to_string();
            assert!(err.starts_with(section), "{file}: {err}");
            for key in keys {
                assert!(err.contains(key), "{file}: {key} in {err}");
            }
        }
    }

    #[test]
    fn equal_limits_and_the_defaults_are_in_order() {
        Thresholds::default().check_order().unwrap();
        for file in [
            "[device-storage]\nwarn_below_percent = 5.0\nfail_below_percent = 5.0\n",
            "[battery-health]\nwarn_below_percent = 60.0\nfail_below_percent = 60.0\n",
            "[photos-upload]\nfail_after_days = 1\nrecent_sync_hours = 24\n",
        ] {
            Thresholds::from_toml(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Thresholds::from_toml("[power]\nfail_below = 30\n").is_err());
        assert!(Thresholds::from_toml("[battery-health]\nwarn_below_percent = 180\n").is_err());
        assert!(Thresholds::from_toml("[power]\nfail_below_percent = \"x\"\n").is_err());
    }
}
