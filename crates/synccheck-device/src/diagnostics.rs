//! com.apple.mobile.diagnostics_relay: the IORegistry entry that carries battery health.
//!
//! Which entry holds the battery depends on the phone: `AppleSmartBattery` on iPhone 8 and newer,
//! `AppleARMPMUCharger` on iPhone 7 and older (libimobiledevice issues 570, 660, 1095). Both are
//! `IOPMPowerSource`s, and pymobiledevice3 asks by that class. A phone answers a name it does
//! not have with `Success` and an empty `IORegistry` (issue 570), so an empty answer is no
//! answer. [`battery`] asks by name first, then by the other name, then by class, on one
//! connection, each request bounded in time.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::error::within;
use super::lockdown::ServicePort;
use super::usbmuxd::Usbmuxd;
use super::{tls, DeviceError};
use synccheck_core::snapshot::{BatteryQuery, BATTERY_QUERIES};
use synccheck_wire::plist_frame::{self, MAX_FRAME};

pub const SERVICE: &str = "com.apple.mobile.diagnostics_relay";

/// What the battery requests gave.
#[derive(Debug, Clone, PartialEq)]
pub enum BatteryAnswer {
    /// The first request that answered with values, and those values.
    Found(BatteryQuery, plist::Dictionary),
    /// No request answered with values: why, for the log and the report.
    NotFound(String),
}

/// Asks for the battery in [`BATTERY_QUERIES`] order until one answers with values.
pub async fn battery(
    mux: &Usbmuxd,
    device_id: u64,
    service: ServicePort,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<BatteryAnswer, DeviceError> {
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
    let mut tried = Vec::new();
    for query in BATTERY_QUERIES {
        let mut req = plist::Dictionary::new();
        req.insert("Request".into(), "IORegistry".into());
        match query {
            BatteryQuery::Name(n) => req.insert("EntryName".into(), n.into()),
            BatteryQuery::Class(c) => req.insert("EntryClass".into(), c.into()),
        };
        // A request that times out leaves the connection mid-reply: stop there.
        let reply = within(timeout, what, async {
            plist_frame::write(&mut stream, &req)
                .await
                .map_err(|e| DeviceError::from_frame(what, e.into()))?;
            plist_frame::read_dict(&mut stream, MAX_FRAME)
                .await
                .map_err(|e| DeviceError::from_frame(what, e))
        })
        .await?;
        match entry_of(&reply) {
            Ok(values) => return Ok(BatteryAnswer::Found(query, values)),
            Err(why) => tried.push(format!("{}: {why}", query.describe())),
        }
    }
    Ok(BatteryAnswer::NotFound(format!(
        "no battery entry answered ({})",
        tried.join("; ")
    )))
}

/// The values of an IORegistry reply, or why there are none.
fn entry_of(reply: &plist::Dictionary) -> Result<plist::Dictionary, String> {
    match reply.get("Status").and_then(|v| v.as_string()) {
        Some("Success") => match reply
            .get("Diagnostics")
            .and_then(|v| v.as_dictionary())
            .and_then(|d| d.get("IORegistry"))
        {
            Some(plist::Value::Dictionary(d)) if !d.is_empty() => Ok(d.clone()),
            Some(plist::Value::Dictionary(_)) | None => Err("empty".into()),
            Some(_) => Err("not a dictionary".into()),
        },
        Some(other) => Err(format!("Status {other}")),
        None => Err("no Status".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: &str, registry: Option<plist::Value>) -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert("Status".into(), status.into());
        if let Some(r) = registry {
            let mut diag = plist::Dictionary::new();
            diag.insert("IORegistry".into(), r);
            d.insert("Diagnostics".into(), plist::Value::Dictionary(diag));
        }
        d
    }

    #[test]
    fn an_empty_or_failed_answer_is_no_answer() {
        let mut values = plist::Dictionary::new();
        values.insert("CycleCount".into(), 3.into());
        let found = reply("Success", Some(plist::Value::Dictionary(values.clone())));
        assert_eq!(entry_of(&found), Ok(values));
        let empty = reply(
            "Success",
            Some(plist::Value::Dictionary(Default::default())),
        );
        assert_eq!(entry_of(&empty), Err("empty".into()));
        assert_eq!(entry_of(&reply("Success", None)), Err("empty".into()));
        assert!(entry_of(&reply("Failure", None)).is_err());
        assert!(entry_of(&reply("Success", Some("x".into()))).is_err());
    }
}
