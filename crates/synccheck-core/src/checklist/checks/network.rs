//! Internet and mobile data: no lockdown key tells whether the phone is online, so these ask.

use super::manual;
use super::photos::{engine_flag, unknown_files};
use crate::checklist::finding::{CheckId, Finding, Status};
use crate::facts::photos::keys;
use crate::facts::DeviceFacts;
use crate::photos;

const JOIN_WIFI: &str = "Join a working Wi-Fi network in Settings > Wi-Fi and turn off Airplane Mode. If pages still do not load, reset the network: Settings > General > Transfer or Reset iPhone > Reset > Reset Network Settings.";

pub(super) fn network(facts: &DeviceFacts) -> Finding {
    let id = CheckId::Network;
    // The engine's own view of the network, most blocking first.
    if let Some((true, source)) = engine_flag(facts, keys::AIRPLANE, |e| e.airplane_mode) {
        return Finding::new(
            id,
            Status::Fail,
            "The iPhone is in Airplane Mode: iCloud Photos cannot reach iCloud",
            JOIN_WIFI,
        )
        .with(source, "true");
    }
    if let Some((false, source)) = engine_flag(facts, keys::CONNECTED, |e| e.connected_to_network) {
        return Finding::new(
            id,
            Status::Fail,
            "iCloud Photos reports no network connection",
            JOIN_WIFI,
        )
        .with(source, "false");
    }
    let constrained = engine_flag(facts, keys::CONSTRAINED, |e| e.constrained_network);
    let poor = engine_flag(facts, keys::POOR_NETWORK, |e| e.poor_network_quality);
    if let Some((true, source)) = &constrained {
        return Finding::new(
            id,
            Status::Warn,
            "Low Data Mode or a constrained network is holding uploads back",
            "Turn off Low Data Mode: Settings > Wi-Fi > (i) beside the network > Low Data Mode (and Settings > Mobile Service > Mobile Data Options > Data Mode).",
        )
        .with(source.clone(), "true");
    }
    if let Some((true, source)) = &poor {
        return Finding::new(
            id,
            Status::Warn,
            "iCloud Photos reports poor network quality: uploads crawl or wait",
            JOIN_WIFI,
        )
        .with(source.clone(), "true");
    }
    if let Some((true, source)) = engine_flag(facts, keys::CONNECTED, |e| e.connected_to_network) {
        return Finding::new(
            id,
            Status::Pass,
            "iCloud Photos reports a working network connection",
            "",
        )
        .with(source, "true");
    }
    let mut f = manual(
        CheckId::Network,
        "Settings > Wi-Fi shows a joined network without \"No Internet Connection\" under it, and a page loads in Safari",
        "Join a working Wi-Fi network in Settings > Wi-Fi and turn off Airplane Mode. If pages still do not load, reset the network: Settings > General > Transfer or Reset iPhone > Reset > Reset Network Settings.",
    );
    if let Some(c) = facts.network.connection {
        f = f.with("usbmuxd ConnectionType", c.as_str());
    }
    // A past backup shows the phone could reach iCloud then, not that it can now.
    if let Some(at) = facts.account.last_icloud_backup {
        f = f.with(
            "com.apple.mobile.backup LastCloudBackupDate",
            format!(
                "{} (last time the phone reached iCloud for a backup)",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
        );
    }
    unknown_files(facts, &[photos::SYNC_STATUS], f)
}

pub(super) fn cellular_data(facts: &DeviceFacts) -> Finding {
    let id = CheckId::CellularData;
    match engine_flag(facts, keys::CELLULAR_RESTRICTED, |e| e.cellular_restricted) {
        Some((true, source)) => {
            return Finding::new(
                id,
                Status::Warn,
                "Photos may not use mobile data: uploads wait for Wi-Fi",
                "On mobile data, turn on Settings > Photos > Mobile Data (and Unlimited Updates), and allow Photos under Settings > Mobile Service. On Wi-Fi this does not matter.",
            )
            .with(source, "true");
        }
        Some((false, source)) => {
            return Finding::new(
                id,
                Status::Pass,
                "iCloud Photos reports mobile data is not restricted",
                "",
            )
            .with(source, "false");
        }
        None => {}
    }
    let mut f = manual(
        CheckId::CellularData,
        "when the phone uploads over mobile data, Settings > Photos > Mobile Data (Cellular Data in the US) and Settings > Mobile Service (Cellular) > Photos must both be on",
        "Turn on Settings > Photos > Mobile Data (and Unlimited Updates for large libraries), and allow Photos under Settings > Mobile Service (Cellular). Otherwise uploads wait for Wi-Fi.",
    );
    if let Some(sim) = &facts.network.sim_status {
        f = f.with("Lockdown SIMStatus", sim.clone());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::checks::test_facts::unknown;
    use crate::checklist::finding::Status;

    #[test]
    fn network_steps_are_manual_with_what_evidence_there_is() {
        let mut facts = unknown();
        facts.network.sim_status = Some("kCTSIMSupportSIMStatusReady".into());
        let f = cellular_data(&facts);
        assert_eq!(f.status, Status::Manual);
        assert_eq!(f.evidence[0].value, "kCTSIMSupportSIMStatusReady");
        assert_eq!(network(&facts).status, Status::Manual);
    }
}
