//! Internet and mobile data: no lockdown key tells whether the phone is online, so these ask.

use super::manual;
use crate::checklist::finding::{CheckId, Finding};
use crate::facts::DeviceFacts;

pub(super) fn network(facts: &DeviceFacts) -> Finding {
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
    f
}

pub(super) fn cellular_data(facts: &DeviceFacts) -> Finding {
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
