//! `synccheck pair`: ask each attached phone (or the one named) to trust this computer.

use futures::future::join_all;
use synccheck::device::photos::PhotoScope;
use synccheck::device::{pair, DeviceError, Progress};

use super::args::PairArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::phones::{self, Failures, Phone};

pub fn run(args: PairArgs) -> Result<i32, CliError> {
    if args.redact {
        synccheck::privacy::hide_identifiers();
    }
    let mux = live::usbmuxd(&args.connection)?;
    let options = live::options(&args.connection, &args.trust, None, PhotoScope::None);
    let board = StatusBoard::new();
    let (devices, results) = live::runtime()?.block_on(async {
        let devices = live::select(&mux, args.udid.as_deref()).await?;
        let jobs = devices.iter().enumerate().map(|(i, d)| {
            let label = match args.redact {
                true => phones::label(&d.udid, i + 1, true),
                false => d.udid.clone(),
            };
            let mut line = board.line(label);
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
        Ok::<_, DeviceError>((devices, results))
    })?;
    let mut failures = Failures::new(args.redact);
    for (order, (device, result)) in devices.iter().zip(results).enumerate() {
        let label = match args.redact {
            true => phones::label(&device.udid, order + 1, true),
            false => device.udid.clone(),
        };
        match result {
            Ok(_) => println!(
                "Paired with {}: this computer is trusted.",
                synccheck::phone_text::printable(&label)
            ),
            Err(source) => failures.add(
                order,
                Phone::Attached {
                    udid: &device.udid,
                    position: order + 1,
                },
                CliError::Device(source),
            ),
        }
    }
    Ok(failures.finish(0))
}
