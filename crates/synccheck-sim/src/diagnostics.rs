//! com.apple.mobile.diagnostics_relay: IORegistry entries (the battery's health lives here),
//! GasGauge, MobileGestalt, and restart/shutdown.
//!
//! TLS from the first byte (the StartService reply said `EnableServiceSSL`), then the same
//! length-prefixed plists as lockdown. Replies carry `Status` ("Success", "Failure" or
//! "UnknownRequest") and, for queries, a `Diagnostics` dictionary keyed by what was asked.

use std::sync::Arc;

use super::device::{Device, PendingService};
use super::frame::{read_plist, write_plist, BoxStream, Prefixed, IDLE_TIMEOUT};
use super::lockdownd::{accept_tls, ServiceError};
use synccheck_core::snapshot::{BatteryQuery, BATTERY_QUERIES, POWER_SOURCE_CLASS};

pub(crate) async fn serve(
    device: Arc<Device>,
    service: PendingService,
    stream: BoxStream,
) -> Result<(), ServiceError> {
    let mut tls = accept_tls(&device, service.host, Prefixed::new(stream)).await?;
    loop {
        let req = read_plist(&mut tls, IDLE_TIMEOUT).await?;
        let Some(request) = req.get("Request").and_then(|v| v.as_string()) else {
            return Err(ServiceError::NoRequest);
        };
        tracing::trace!(device = device.id, %request, "diagnostics_relay request");
        let (reply, then) = answer(&device, request, &req);
        device.delay_reply().await;
        write_plist(&mut tls, reply).await?;
        match then {
            Then::Continue => {}
            Then::Close => return Ok(()),
            Then::Restart => {
                device.restart_soon();
                return Ok(());
            }
        }
    }
}

enum Then {
    Continue,
    Close,
    Restart,
}

fn status(s: &str) -> plist::Dictionary {
    let mut d = plist::Dictionary::new();
    d.insert("Status".into(), s.into());
    d
}

fn diagnostics(name: &str, value: plist::Dictionary) -> plist::Dictionary {
    let mut inner = plist::Dictionary::new();
    inner.insert(name.into(), plist::Value::Dictionary(value));
    let mut d = status("Success");
    d.insert("Diagnostics".into(), plist::Value::Dictionary(inner));
    d
}

fn answer(device: &Device, request: &str, req: &plist::Dictionary) -> (plist::Dictionary, Then) {
    match request {
        "IORegistry" => (io_registry(device, req), Then::Continue),
        "GasGauge" => match gas_gauge(device) {
            Some(g) => (diagnostics("GasGauge", g), Then::Continue),
            None => (status("Failure"), Then::Continue),
        },
        "All" => {
            let mut all = plist::Dictionary::new();
            if let Some(g) = gas_gauge(device) {
                all.insert("GasGauge".into(), plist::Value::Dictionary(g));
            }
            (diagnostics("All", all), Then::Continue)
        }
        "MobileGestalt" => (mobile_gestalt(device, req), Then::Continue),
        "Restart" | "Shutdown" | "Sleep" => (status("Success"), Then::Restart),
        "Goodbye" => (status("Success"), Then::Close),
        _ => (status("UnknownRequest"), Then::Continue),
    }
}

fn nonempty<'a>(req: &'a plist::Dictionary, key: &str) -> Option<&'a str> {
    req.get(key)
        .and_then(|v| v.as_string())
        .filter(|s| !s.is_empty())
}

/// By name, or by class, from what the snapshot holds: each `IORegistry` key is an entry name,
/// except a key stored for an answer by class only (see [`BATTERY_QUERIES`]), which answers
/// only by class. A name the phone lacks gets `Success` with an empty dictionary, as a real
/// phone answers it (libimobiledevice issue 570). libimobiledevice sends an empty
/// `EntryClass` alongside the name, so an empty string means "not given".
fn io_registry(device: &Device, req: &plist::Dictionary) -> plist::Dictionary {
    let name = nonempty(req, "EntryName");
    let class = nonempty(req, "EntryClass");
    let by_class_only = |key: &str| {
        BATTERY_QUERIES
            .iter()
            .any(|q| matches!(q, BatteryQuery::Class(c) if *c == key))
    };
    let entry = match (name, class) {
        (Some(n), _) if by_class_only(n) => None,
        (Some(n), _) => device.io_registry.get(n),
        // Every battery entry is an IOPMPowerSource: the first the phone holds answers.
        (None, Some(c)) if c == POWER_SOURCE_CLASS => battery_entry(device),
        // An entry's own class is its name (AppleSmartBattery, AppleARMPMUCharger).
        (None, Some(c)) => device.io_registry.get(c),
        (None, None) => {
            // A plane query: iOS 10 and later answer it with an empty registry.
            if nonempty(req, "CurrentPlane").is_some() {
                return diagnostics("IORegistry", plist::Dictionary::new());
            }
            return status("Failure");
        }
    };
    diagnostics("IORegistry", entry.cloned().unwrap_or_default())
}

/// The battery entry the phone holds, whichever name or class it answers by.
fn battery_entry(device: &Device) -> Option<&plist::Dictionary> {
    BATTERY_QUERIES
        .iter()
        .find_map(|q| device.io_registry.get(q.key()).filter(|d| !d.is_empty()))
}

/// GasGauge as modern iOS reports it: FullChargeCapacity is a percentage (100) since iOS 12.2,
/// not mAh, so it comes from MaxCapacity.
fn gas_gauge(device: &Device) -> Option<plist::Dictionary> {
    let battery = battery_entry(device)?;
    let nested = battery.get("BatteryData").and_then(|v| v.as_dictionary());
    let pick = |key: &str| {
        battery
            .get(key)
            .or_else(|| nested.and_then(|d| d.get(key)))
            .cloned()
    };
    let mut g = plist::Dictionary::new();
    for (out, from) in [
        ("CycleCount", "CycleCount"),
        ("DesignCapacity", "DesignCapacity"),
        ("FullChargeCapacity", "MaxCapacity"),
    ] {
        if let Some(v) = pick(from) {
            g.insert(out.into(), v);
        }
    }
    Some(g)
}

/// Answers the keys lockdown also knows; others are left out, as a phone leaves out keys it
/// does not have.
fn mobile_gestalt(device: &Device, req: &plist::Dictionary) -> plist::Dictionary {
    let Some(keys) = req.get("MobileGestaltKeys").and_then(|v| v.as_array()) else {
        return status("Failure");
    };
    let mut values = plist::Dictionary::new();
    for key in keys.iter().filter_map(|k| k.as_string()) {
        if let Some(v) = device.lockdown.get(key) {
            values.insert(key.into(), v.clone());
        }
    }
    values.insert("Status".into(), "Success".into());
    diagnostics("MobileGestalt", values)
}
