//! `synccheck pair`: ask each attached phone (or the one named) to trust this computer. Each
//! phone is named by what it says of itself before any Trust (its name and model, which
//! lockdownd gives without pairing), so a technician with several phones on the bench knows
//! which one to pick up.

use futures::future::join_all;
use synccheck_core::facts::Catalog;
use synccheck_device::photos::PhotoScope;
use synccheck_device::{pair, summarize, AttachedDevice, DeviceError, Progress, Usbmuxd};

use super::args::PairArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::phones::{Failures, Phone};

pub fn run(args: PairArgs) -> Result<i32, CliError> {
    if args.redact {
        synccheck_core::privacy::hide_identifiers();
    }
    let mux = live::usbmuxd(&args.connection)?;
    let options = live::options(&args.connection, &args.trust, None, PhotoScope::None);
    let board = StatusBoard::new();
    let (devices, labels, results) = live::runtime()?.block_on(async {
        let devices = live::select(&mux, args.udid.as_deref()).await?;
        let labels = join_all(
            devices
                .iter()
                .enumerate()
                .map(|(i, d)| describe(&mux, d, i + 1, options.timeout, args.redact)),
        )
        .await;
        let jobs = devices.iter().zip(&labels).map(|(d, label)| {
            let mut line = board.line(label.clone());
            let mux = &mux;
            async move {
                line.update(Progress::Pairing);
                let result = pair(mux, d, options.timeout, options.trust_timeout, |w| {
                    line.update(Progress::WaitingForTrust(w))
                })
                .await;
                line.finish();
                result
            }
        });
        let results = join_all(jobs).await;
        Ok::<_, DeviceError>((devices, labels, results))
    })?;
    let mut failures = Failures::new(args.redact).for_pair();
    for (order, ((device, label), result)) in devices.iter().zip(&labels).zip(results).enumerate() {
        match result {
            Ok(_) => println!(
                "Paired with {}: this computer is trusted.",
                synccheck_wire::phone_text::printable(label)
            ),
            Err(source) => failures.add(
                order,
                Phone::Described {
                    udid: &device.udid,
                    label,
                },
                CliError::Device(source),
            ),
        }
    }
    Ok(failures.finish(0))
}

/// `"Sam’s iPhone" (iPhone 15 Pro, 00008130-…)`; with --redact `iPhone 1 (iPhone 15 Pro, UDID
/// hidden)`. A phone that does not answer is named by its UDID (or number) alone: its pairing
/// then says what is wrong.
async fn describe(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    position: usize,
    timeout: std::time::Duration,
    redact: bool,
) -> String {
    let summary = summarize(mux, device, timeout).await.ok();
    let model = summary
        .as_ref()
        .and_then(|s| s.product_type.as_deref())
        .map(|p| match Catalog::builtin().model(p) {
            Some(m) => m.name.to_string(),
            None => p.to_string(),
        });
    let name = summary
        .and_then(|s| s.name)
        .filter(|n| !redact && !n.trim().is_empty());
    let id = if redact {
        "UDID hidden".to_string()
    } else {
        device.udid.clone()
    };
    let details = match model {
        Some(model) => format!("{model}, {id}"),
        None => id,
    };
    match name {
        Some(name) => format!("\"{name}\" ({details})"),
        None => format!("iPhone {position} ({details})"),
    }
}
