//! Pairing: asking the phone to trust this computer, as `idevicepair pair` does.
//!
//! Read the phone's public key, make a root and host certificate and a certificate for the
//! phone's key, send them in a lockdown `Pair`, and wait while the phone shows "Trust This
//! Computer?". Once trusted, the record goes to usbmuxd (`SavePairRecord`), where every tool
//! finds it.

use std::time::{Duration, Instant};

use super::lockdown::{Lockdown, ValueQuery, LOCKDOWN_PORT};
use super::usbmuxd::{AttachedDevice, Usbmuxd};
use super::DeviceError;
use crate::pairing::{HostIdentity, PairRecord};

/// What the phone is waiting for while we wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustWait {
    /// The Trust dialog is up (or about to be): someone must tap Trust.
    Dialog,
    /// The phone is locked: it shows the dialog only once unlocked.
    Unlock,
}

/// How often to ask again while the dialog is up. The phone answers at once either way, so
/// this bounds how late a tap on Trust is noticed.
const RETRY: Duration = Duration::from_millis(500);

/// Pairs with `device`, calling `waiting` each time the phone is still waiting for a person.
/// Gives up after `trust_timeout` with the reason the phone last gave.
pub async fn pair(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
    trust_timeout: Duration,
    mut waiting: impl FnMut(TrustWait),
) -> Result<PairRecord, DeviceError> {
    let stream = mux
        .connect(device.device_id, LOCKDOWN_PORT, "lockdownd")
        .await?;
    let mut lockdown = Lockdown::new(stream, timeout);
    let values = lockdown
        .get_values(&[
            ValueQuery {
                domain: None,
                key: Some("DevicePublicKey"),
            },
            ValueQuery {
                domain: None,
                key: Some("WiFiAddress"),
            },
        ])
        .await?;
    let public_key = match &values[0] {
        Some(plist::Value::Data(pem)) => pem.clone(),
        _ => {
            return Err(DeviceError::Refused {
                what: "GetValue DevicePublicKey",
                error: "no public key".into(),
            })
        }
    };
    // The pair record goes to usbmuxd as XML, which other tools read too: a Wi-Fi address
    // XML cannot carry (a control character; a real one is hex and colons) is left out, as
    // for a phone that gives none.
    let wifi = values[1]
        .as_ref()
        .and_then(|v| v.as_string())
        .filter(|w| w.chars().all(synccheck_wire::phone_text::xml_char))
        .unwrap_or_default()
        .to_string();
    let buid = mux.read_buid().await?;

    // RSA key generation takes a moment; keep it off the async workers.
    let identity = tokio::task::spawn_blocking(move || HostIdentity::generate_with_buid(buid))
        .await
        .map_err(|e| DeviceError::BadPairRecord(e.to_string()))??;
    let pairing = identity.pair_with_device_key(&public_key, &wifi)?;

    let started = Instant::now();
    let escrow_bag = loop {
        let last_wait = match lockdown.pair(pairing.request()).await {
            Ok(reply) => {
                break reply
                    .get("EscrowBag")
                    .and_then(|v| v.as_data())
                    .map(<[u8]>::to_vec)
            }
            Err(DeviceError::TrustPending) => TrustWait::Dialog,
            Err(DeviceError::PasscodeLocked) => TrustWait::Unlock,
            Err(e) => return Err(e),
        };
        if started.elapsed() >= trust_timeout {
            return Err(match last_wait {
                TrustWait::Dialog => DeviceError::TrustTimedOut(trust_timeout),
                TrustWait::Unlock => DeviceError::PasscodeLocked,
            });
        }
        waiting(last_wait);
        let left = trust_timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(RETRY.min(left)).await;
    };

    let record = pairing.into_record(escrow_bag.unwrap_or_default());
    mux.save_pair_record(&device.udid, device.device_id, record.to_xml_bytes())
        .await?;
    Ok(record)
}
