//! One scan of one phone: everything the checklist reads, in one lockdown TLS session, one
//! diagnostics_relay connection and one AFC connection, all three overlapped.

use std::time::{Duration, SystemTime};

use super::afc::{self, Afc};
use super::diagnostics;
use super::lockdown::{Lockdown, ValueQuery, LOCKDOWN_PORT};
use super::photos::{read_photo_library, unavailable, PhotoScope};
use super::usbmuxd::{AttachedDevice, Usbmuxd};
use super::{tls, DeviceError};
use crate::limits::ScanLimits;
use crate::snapshot::{
    Snapshot, Source, BACKUP_DOMAIN, BATTERY_DOMAIN, DISK_USAGE_DOMAIN, KEYED_ONLY_VALUES,
};

/// The lockdown domains a scan reads; each bears on a check.
pub const DOMAINS: [&str; 3] = [DISK_USAGE_DOMAIN, BATTERY_DOMAIN, BACKUP_DOMAIN];

/// Reads `device` into a snapshot. Every network wait is bounded by `timeout`; `copying` hears
/// (bytes copied, bytes expected) while the photo library is copied. The default
/// [`ScanLimits`] bound the whole read (see [`capture_within`]).
pub async fn capture(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
    scope: PhotoScope,
    copying: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Snapshot, DeviceError> {
    capture_within(mux, device, timeout, scope, &ScanLimits::default(), copying).await
}

/// As [`capture`], within `limits`: the scan's deadline bounds the whole read, not only each
/// wait. Past it, or when AFC fails in any way but an unplug, the photo evidence is unknown
/// with the reason and the rest of the report stands; lockdown's values past the deadline are
/// [`DeviceError::Timeout`] (there is no report without them), battery health is unknown.
pub async fn capture_within(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
    scope: PhotoScope,
    limits: &ScanLimits,
    copying: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Snapshot, DeviceError> {
    let deadline = tokio::time::Instant::from_std(limits.stop.deadline());
    let (record, stream) = tokio::join!(
        mux.read_pair_record(&device.udid),
        mux.connect(device.device_id, LOCKDOWN_PORT, "lockdownd")
    );
    let record = record?.ok_or_else(|| DeviceError::NotPaired(device.udid.clone()))?;
    let config = tls::client_config(&record)?;
    let lockdown = Lockdown::new(stream?, timeout);
    let mut lockdown = lockdown.start_session(&record, config.clone()).await?;

    // Start diagnostics_relay first so its connection and handshake run while lockdown answers
    // the values.
    let service = lockdown.start_service(diagnostics::SERVICE).await?;
    let afc_service = match scope {
        PhotoScope::None => None,
        _ => Some(lockdown.start_service(afc::SERVICE).await),
    };
    let photos = async {
        let read = async {
            match afc_service {
                None => Ok(None),
                // A phone that will not start AFC still gets a report: the photo steps say why.
                Some(Err(e)) => Err((format!("AFC could not be started: {e}"), e)),
                Some(Ok(port)) => {
                    let mut afc = Afc::open(mux, device.device_id, port, config.clone(), timeout)
                        .await
                        .map_err(|e| (format!("AFC could not be opened: {e}"), e))?;
                    read_photo_library(&mut afc, scope, limits, copying)
                        .await
                        .map(Some)
                        .map_err(|e| (format!("AFC failed: {e}"), e))
                }
            }
        };
        match tokio::time::timeout_at(deadline, read).await {
            Ok(Ok(library)) => Ok(library),
            // An unplugged phone ends the scan; any other failure costs the photo evidence.
            Ok(Err((_, e @ DeviceError::Unplugged(_)))) => Err(e),
            Ok(Err((why, _))) => Ok(Some(unavailable(&format!("photo library not read: {why}")))),
            Err(_) => Ok(Some(unavailable(&format!(
                "photo library not read: {}",
                limits.stop.passed()
            )))),
        }
    };
    let battery = diagnostics::battery(mux, device.device_id, service, config.clone(), timeout);
    let battery = async {
        tokio::time::timeout_at(deadline, battery)
            .await
            .unwrap_or_else(|_| {
                Ok(diagnostics::BatteryAnswer::NotFound(
                    limits.stop.passed().to_string(),
                ))
            })
    };
    let mut queries = vec![ValueQuery {
        domain: None,
        key: None,
    }];
    queries.extend(DOMAINS.iter().map(|d| ValueQuery {
        domain: Some(d),
        key: None,
    }));
    // In the same write: the values a whole-domain query leaves out (Find My's IsAssociated).
    queries.extend(KEYED_ONLY_VALUES.iter().map(|(d, k)| ValueQuery {
        domain: Some(d),
        key: Some(k),
    }));
    let values = async {
        tokio::time::timeout_at(deadline, lockdown.get_each_value(&queries))
            .await
            .unwrap_or_else(|_| {
                Err(DeviceError::Timeout {
                    what: "lockdown's values within the scan's deadline",
                    after: limits.stop.allowed(),
                })
            })
    };
    let (battery, values, photos) = tokio::join!(battery, values, photos);
    let photo_library = photos?;
    let mut values = values?.into_iter();

    let mut snap = Snapshot::new(Source::Usb);
    snap.captured_at = Some(SystemTime::now());
    snap.connection = device.connection;
    snap.photo_library = photo_library;
    snap.lockdown = match values.next().transpose()?.flatten() {
        Some(plist::Value::Dictionary(d)) => d,
        _ => {
            return Err(DeviceError::Refused {
                what: "GetValue",
                error: "the root values are not a dictionary".into(),
            })
        }
    };
    // A domain the phone refuses (an older iOS without it) is left out like one it does not
    // answer: that domain's facts are unknown, the rest of the scan stands.
    for domain in DOMAINS {
        let value = match values.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                tracing::warn!(udid = %crate::privacy::Shown(&device.udid), "lockdown domain {domain} refused: {e}");
                None
            }
            None => None,
        };
        match value {
            Some(plist::Value::Dictionary(d)) => {
                snap.domains.insert(domain.to_string(), d);
            }
            // A snapshot's domain is a dictionary: anything else is left out, which makes that
            // domain's facts unknown as for a phone that does not answer it.
            Some(other) => tracing::warn!(
                udid = %crate::privacy::Shown(&device.udid),
                "lockdown domain {domain} answered {}, not a dictionary: left out",
                crate::snapshot::describe_value(&other)
            ),
            None => {}
        }
    }
    // A keyed value the phone refuses (an older iOS without the domain, a phone mid-setup)
    // stays unknown; it never costs the scan. Its value is kept as sent, whatever its type:
    // the facts decide what they can read.
    for (domain, key) in KEYED_ONLY_VALUES {
        match values.next() {
            Some(Ok(Some(value))) => {
                snap.domains
                    .entry(domain.to_string())
                    .or_default()
                    .insert(key.to_string(), value);
            }
            Some(Ok(None)) | None => {}
            Some(Err(e)) => {
                tracing::info!(udid = %crate::privacy::Shown(&device.udid), "{domain} {key} unknown: {e}")
            }
        }
    }
    // A phone without a battery entry (or a diagnostics hiccup) costs only battery health, which
    // is then unknown; an unplugged phone is still an error. The entry is kept under the name
    // (or class) that answered, so facts know which one it was.
    match battery {
        Ok(diagnostics::BatteryAnswer::Found(query, entry)) => {
            snap.io_registry.insert(query.key().to_string(), entry);
        }
        Ok(diagnostics::BatteryAnswer::NotFound(why)) => {
            tracing::warn!(udid = %crate::privacy::Shown(&device.udid), "battery health unavailable: {why}");
        }
        Err(e @ DeviceError::Unplugged(_)) => return Err(e),
        Err(e) => {
            tracing::warn!(udid = %crate::privacy::Shown(&device.udid), "battery health unavailable: {e}")
        }
    }
    Ok(snap)
}
