//! com.apple.mobile.diagnostics_relay: the IORegistry entry that carries battery health.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::error::within;
use super::lockdown::ServicePort;
use super::usbmuxd::Usbmuxd;
use super::{tls, DeviceError};
use crate::wire::plist_frame::{self, MAX_FRAME};

pub const SERVICE: &str = "com.apple.mobile.diagnostics_relay";

/// Reads one IORegistry entry by name (AppleSmartBattery on iPhone 8 and newer).
pub async fn io_registry_entry(
    mux: &Usbmuxd,
    device_id: u64,
    service: ServicePort,
    config: Arc<ClientConfig>,
    entry: &str,
    timeout: Duration,
) -> Result<Option<plist::Dictionary>, DeviceError> {
    let what = "diagnostics_relay";
    let mut stream = mux.connect(device_id, service.port, what).await?;
    if service.ssl {
        stream = within(
            timeout,
            "the diagnostics TLS handshake",
            tls::connect(config, stream),
        )
        .await?;
    }
    let mut req = plist::Dictionary::new();
    req.insert("Request".into(), "IORegistry".into());
    req.insert("EntryName".into(), entry.into());
    let reply = within(timeout, what, async {
        plist_frame::write(&mut stream, &req)
            .await
            .map_err(|e| DeviceError::from_frame(what, e.into()))?;
        plist_frame::read_dict(&mut stream, MAX_FRAME)
            .await
            .map_err(|e| DeviceError::from_frame(what, e))
    })
    .await?;
    match reply.get("Status").and_then(|v| v.as_string()) {
        Some("Success") => Ok(reply
            .get("Diagnostics")
            .and_then(|v| v.as_dictionary())
            .and_then(|d| d.get("IORegistry"))
            .and_then(|v| v.as_dictionary())
            .cloned()),
        // An older phone has no such entry: battery health is then unknown, not an error.
        Some("UnknownRequest") | Some("Failure") => Ok(None),
        other => Err(DeviceError::Refused {
            what,
            error: other.unwrap_or("no Status").to_string(),
        }),
    }
}
