//! `synccheck pair`: ask each attached phone (or the one named) to trust this computer.

use futures::future::join_all;
use synccheck::device::photos::PhotoScope;
use synccheck::device::{pair, DeviceError, Progress};

use super::args::PairArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};

pub fn run(args: PairArgs) -> Result<i32, CliError> {
    let mux = live::usbmuxd(&args.connection)?;
    let options = live::options(&args.connection, &args.trust, None, PhotoScope::None);
    let board = StatusBoard::new();
    let results = live::runtime()?.block_on(async {
        let devices = live::select(&mux, args.udid.as_deref()).await?;
        let jobs = devices.iter().map(|d| {
            let mut line = board.line(d.udid.clone());
            let mux = &mux;
            async move {
                line.update(Progress::Pairing);
                let result = pair(mux, d, options.timeout, options.trust_timeout, |w| {
                    line.update(Progress::WaitingForTrust(w))
                })
                .await;
                line.finish();
                (d.udid.clone(), result)
            }
        });
        Ok::<_, DeviceError>(join_all(jobs).await)
    })?;
    let mut code = 0;
    for (udid, result) in results {
        match result {
            Ok(_) => println!("Paired with {udid}: this computer is trusted."),
            Err(source) => {
                let err = CliError::OnDevice { udid, source };
                err.print();
                if code == 0 {
                    code = err.exit_code();
                }
            }
        }
    }
    Ok(code)
}
