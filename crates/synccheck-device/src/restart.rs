//! Restarting a phone from the bench: diagnostics_relay's `Restart`, then waiting for the phone
//! to leave usbmuxd and come back, then for its owner to unlock it.
//!
//! The request is the one libimobiledevice's `idevicediagnostics restart` and pymobiledevice3's
//! `diagnostics restart` send: `Request` = `Restart` with `WaitForDisconnect` (the phone waits
//! for the host to close the connection before it goes down), `DisplayPass` and `DisplayFail`.
//!
//! A restarted phone with a passcode is "before first unlock": its pairing data stays
//! encrypted, so lockdownd refuses `StartSession` with `PasswordProtected`, and services such as
//! diagnostics_relay do not start, until the passcode is entered once (docs/device-facts.md,
//! "Restart"). [`wait_until_unlocked`] asks until both work.

use std::time::Duration;

use tokio::time::Instant;

use super::error::within;
use super::lockdown::start_service_on;
use super::usbmuxd::{AttachedDevice, MuxEvent, Usbmuxd};
use super::{diagnostics, tls, DeviceError};
use synccheck_wire::plist_frame::{self, MAX_FRAME};

/// How often to ask a locked phone again: it answers at once either way, so this bounds how
/// late an unlock is noticed.
const UNLOCK_RETRY: Duration = Duration::from_millis(500);

/// Where a restart is, for the technician's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartProgress {
    /// The phone accepted the request and is about to go down.
    Accepted,
    /// The phone has left usbmuxd.
    Away,
    /// The phone is back on usbmuxd.
    Back,
}

/// Asks the phone to restart and waits until it has left usbmuxd and come back, all within
/// `back_within`. Returns the phone as usbmuxd lists it now (its DeviceID may be new).
///
/// usbmuxd's event feed is opened before the request, so the phone cannot leave unseen.
pub async fn restart_and_wait(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
    back_within: Duration,
    mut progress: impl FnMut(RestartProgress),
) -> Result<AttachedDevice, DeviceError> {
    let mut feed = mux.listen().await?;
    request_restart(mux, device, timeout).await?;
    progress(RestartProgress::Accepted);
    let deadline = Instant::now() + back_within;
    let mut away = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, feed.next()).await {
            Ok(event) => event?,
            Err(_) if away => return Err(DeviceError::DidNotReturn(back_within)),
            Err(_) => return Err(DeviceError::DidNotRestart(back_within)),
        };
        match event {
            MuxEvent::Detached { device_id } if device_id == device.device_id && !away => {
                away = true;
                progress(RestartProgress::Away);
            }
            MuxEvent::Attached(back) if away && is_same_phone(device, &back) => {
                progress(RestartProgress::Back);
                return Ok(back);
            }
            // Other phones, and the feed's opening list of what is attached already.
            _ => {}
        }
    }
}

/// The same phone on the same kind of connection: a phone on both USB and Wi-Fi is listed
/// twice, and only the entry that left counts as coming back.
fn is_same_phone(before: &AttachedDevice, now: &AttachedDevice) -> bool {
    before.udid.eq_ignore_ascii_case(&now.udid)
        && (before.connection.is_none()
            || now.connection.is_none()
            || before.connection == now.connection)
}

/// diagnostics_relay's `Restart`, over a lockdown session.
pub async fn request_restart(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
) -> Result<(), DeviceError> {
    let (service, config) = start_service_on(mux, device, diagnostics::SERVICE, timeout).await?;
    let what = "the restart request";
    let mut stream = mux.connect(device.device_id, service.port, what).await?;
    if service.ssl {
        stream = within(timeout, what, tls::connect(config, stream)).await?;
    }
    let mut req = plist::Dictionary::new();
    req.insert("Request".into(), "Restart".into());
    req.insert("WaitForDisconnect".into(), true.into());
    req.insert("DisplayPass".into(), true.into());
    req.insert("DisplayFail".into(), true.into());
    let reply = within(timeout, what, async {
        plist_frame::write(&mut stream, &req)
            .await
            .map_err(|e| DeviceError::from_frame(what, e.into()))?;
        plist_frame::read_dict(&mut stream, MAX_FRAME)
            .await
            .map_err(|e| DeviceError::from_frame(what, e))
    })
    .await;
    let reply = match reply {
        Ok(reply) => reply,
        // Gone before it answered: what was asked for. If it only dropped the connection, the
        // wait for it to leave usbmuxd says so.
        Err(DeviceError::Unplugged(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    match reply.get("Status").and_then(|v| v.as_string()) {
        Some("Success") => {
            // As idevicediagnostics does: say goodbye and close, which is what the phone waits
            // for (WaitForDisconnect). It may already be going: no answer is expected.
            let mut bye = plist::Dictionary::new();
            bye.insert("Request".into(), "Goodbye".into());
            let _ = within(Duration::from_secs(1).min(timeout), what, async {
                plist_frame::write(&mut stream, &bye)
                    .await
                    .map_err(|e| DeviceError::from_frame(what, e.into()))
            })
            .await;
            Ok(())
        }
        other => Err(DeviceError::Refused {
            what: "Restart",
            error: other.unwrap_or("no Status").to_string(),
        }),
    }
}

/// Why the last probe of a restarted phone did not get through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockWait {
    /// lockdownd refused the session: `PasswordProtected`.
    Locked,
    /// The session opened but a service was refused (the phone's words): services start only
    /// after the first unlock.
    ServiceRefused(String),
    /// The phone is still starting up: lockdownd not listening yet, or slow to answer.
    Starting,
}

/// Waits, up to `unlock_within`, until the restarted phone opens a lockdown session and starts
/// diagnostics_relay, asking every [`UNLOCK_RETRY`]; `waiting` hears each refusal. Past the
/// limit: [`DeviceError::PasscodeLocked`] when the phone last said it was locked (or was still
/// starting), or the service's refusal in the phone's words when it opened a session but would
/// not start the service: a locked phone is the likely reason, not a certain one. A phone that
/// no longer knows this computer's pairing is left to the rescan, which pairs as `scan` does.
pub async fn wait_until_unlocked(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    timeout: Duration,
    unlock_within: Duration,
    mut waiting: impl FnMut(&UnlockWait),
) -> Result<(), DeviceError> {
    let deadline = Instant::now() + unlock_within;
    loop {
        // A lockdown session and diagnostics_relay started in it: what a locked phone refuses.
        let wait = match start_service_on(mux, device, diagnostics::SERVICE, timeout).await {
            Ok((service, _)) => {
                // Started, so unlocked. Connect and close at once so the phone does not keep
                // the service waiting for us.
                drop(
                    mux.connect(device.device_id, service.port, "diagnostics_relay")
                        .await,
                );
                return Ok(());
            }
            Err(DeviceError::NotPaired(_)) | Err(DeviceError::PairingInvalid) => return Ok(()),
            Err(DeviceError::PasscodeLocked) => UnlockWait::Locked,
            Err(DeviceError::Refused {
                what: "StartService",
                error,
            }) => UnlockWait::ServiceRefused(error),
            Err(DeviceError::Timeout { .. }) | Err(DeviceError::Usbmuxd { .. }) => {
                UnlockWait::Starting
            }
            Err(e) => return Err(e),
        };
        if Instant::now() >= deadline {
            return Err(match wait {
                UnlockWait::ServiceRefused(error) => DeviceError::Refused {
                    what: "StartService",
                    error,
                },
                UnlockWait::Locked | UnlockWait::Starting => DeviceError::PasscodeLocked,
            });
        }
        waiting(&wait);
        tokio::time::sleep_until(deadline.min(Instant::now() + UNLOCK_RETRY)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccheck_core::snapshot::Connection;

    fn phone(udid: &str, connection: Option<Connection>) -> AttachedDevice {
        AttachedDevice {
            device_id: 1,
            udid: udid.into(),
            connection,
        }
    }

    #[test]
    fn only_the_same_phone_on_the_same_link_counts_as_back() {
        let usb = phone("00008030-AB", Some(Connection::Usb));
        assert!(is_same_phone(
            &usb,
            &phone("00008030-ab", Some(Connection::Usb))
        ));
        assert!(is_same_phone(&usb, &phone("00008030-AB", None)));
        assert!(!is_same_phone(
            &usb,
            &phone("00008030-AB", Some(Connection::Network))
        ));
        assert!(!is_same_phone(
            &usb,
            &phone("00008030-AC", Some(Connection::Usb))
        ));
    }
}
