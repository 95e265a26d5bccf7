//! `synccheck list`: one line per attached phone.

use futures::future::join_all;
use synccheck::device::{summarize, DeviceError};
use synccheck::facts::Catalog;

use super::args::ListArgs;
use super::error::CliError;
use super::live;

pub fn run(args: ListArgs) -> Result<i32, CliError> {
    let mux = live::usbmuxd(&args.connection)?;
    let timeout = std::time::Duration::from_secs_f64(args.connection.timeout);
    let rows = live::runtime()?.block_on(async {
        let devices = mux.list_devices().await?;
        let summaries = join_all(devices.iter().map(|d| summarize(&mux, d, timeout))).await;
        Ok::<_, DeviceError>(devices.into_iter().zip(summaries).collect::<Vec<_>>())
    })?;
    if rows.is_empty() {
        eprintln!("No iPhone is attached.");
        return Ok(0);
    }
    let catalog = Catalog::builtin();
    for (device, summary) in rows {
        let connection = device.connection.map(|c| c.as_str()).unwrap_or("?");
        match summary {
            Ok(s) => {
                let model = s.product_type.as_deref().map(|p| match catalog.model(p) {
                    Some(m) => format!("{} ({p})", m.name),
                    None => p.to_string(),
                });
                println!(
                    "{}  {}  {}  iOS {}  {}  {}",
                    device.udid,
                    s.name.as_deref().unwrap_or("?"),
                    model.as_deref().unwrap_or("?"),
                    s.ios_version.as_deref().unwrap_or("?"),
                    connection,
                    if s.paired { "paired" } else { "not paired" },
                );
            }
            Err(e) => println!("{}  {connection}  unreadable: {e}", device.udid),
        }
    }
    Ok(0)
}
