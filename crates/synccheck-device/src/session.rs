//! Reading a phone as the bench needs it: pair first when the phone does not trust this
//! computer yet, then capture.

use std::time::Duration;

use super::capture::capture_within;
use super::lockdown::{Lockdown, ValueQuery, LOCKDOWN_PORT};
use super::pair::{pair, TrustWait};
use super::photos::PhotoScope;
use super::usbmuxd::{AttachedDevice, Usbmuxd};
use super::DeviceError;
use crate::limits::{ScanLimits, DEFAULT_DEADLINE, DEFAULT_DISK_BUDGET};
use synccheck_core::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Every network wait.
    pub timeout: Duration,
    /// How long a person may take to tap Trust.
    pub trust_timeout: Duration,
    /// How much of the iCloud Photos evidence to read over AFC.
    pub photos: PhotoScope,
    /// The whole read of one phone (after any wait for Trust): past it the photo evidence is
    /// given up.
    pub deadline: Duration,
    /// The most one phone's read may hold on disk (the photo library copy).
    pub disk_budget: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            timeout: Duration::from_secs(10),
            trust_timeout: Duration::from_secs(60),
            photos: PhotoScope::Everything,
            deadline: DEFAULT_DEADLINE,
            disk_budget: DEFAULT_DISK_BUDGET,
        }
    }
}

/// Where a scan of one phone is, for the technician's status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Scanning,
    /// The phone does not trust this computer; asking it to.
    Pairing,
    WaitingForTrust(TrustWait),
    /// Reading (in place) or copying the photo library: bytes so far and bytes expected (for
    /// an in-place read, an estimate that grows as the tables it reads are found).
    CopyingLibrary {
        copied: u64,
        total: u64,
    },
}

/// Captures `device`, pairing first if this computer has no pair record for it or the phone
/// has forgotten the pairing.
pub async fn read_phone(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    options: ScanOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<Snapshot, DeviceError> {
    match capture_once(mux, device, options, &mut progress).await {
        Err(DeviceError::NotPaired(_)) | Err(DeviceError::PairingInvalid) => {
            progress(Progress::Pairing);
            pair(
                mux,
                device,
                options.timeout,
                options.trust_timeout,
                |wait| progress(Progress::WaitingForTrust(wait)),
            )
            .await?;
            capture_once(mux, device, options, &mut progress).await
        }
        other => other,
    }
}

/// One capture with limits of its own: after a wait for Trust (a person's time) the deadline
/// starts again.
async fn capture_once(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    options: ScanOptions,
    progress: &mut (impl FnMut(Progress) + Send),
) -> Result<Snapshot, DeviceError> {
    progress(Progress::Scanning);
    let mut copying = |copied, total| progress(Progress::CopyingLibrary { copied, total });
    let limits = ScanLimits::new(options.deadline, options.disk_budget);
    capture_within(
        mux,
        device,
        options.timeout,
        options.photos,
        &limits,
        &mut copying,
    )
    .await
}

/// What `list` shows of a phone without a session: the values any host may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSummary {
    pub name: Option<String>,
    pub product_type: Option<String>,
    pub ios_version: Option<String>,
    /// Whether usbmuxd holds a pair record for it.
    pub paired: bool,
}

pub async fn summarize(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
) -> Result<DeviceSummary, DeviceError> {
    let (record, stream) = tokio::join!(
        mux.read_pair_record(&device.udid),
        mux.connect(device.device_id, LOCKDOWN_PORT, "lockdownd")
    );
    let mut lockdown = Lockdown::new(stream?, timeout);
    let key = |k| ValueQuery {
        domain: None,
        key: Some(k),
    };
    let values = lockdown
        .get_values(&[key("DeviceName"), key("ProductType"), key("ProductVersion")])
        .await?;
    let text = |i: usize| {
        values[i]
            .as_ref()
            .and_then(|v| v.as_string())
            .map(str::to_owned)
    };
    Ok(DeviceSummary {
        name: text(0),
        product_type: text(1),
        ios_version: text(2),
        paired: record?.is_some(),
    })
}
