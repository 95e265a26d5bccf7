//! `synccheck list`: one line per attached phone.

use futures::future::join_all;
use synccheck_core::facts::Catalog;
use synccheck_device::{summarize, DeviceError};
use synccheck_wire::phone_text::printable;

use super::args::ListArgs;
use super::error::CliError;
use super::live;

pub fn run(args: ListArgs) -> Result<i32, CliError> {
    if args.redact {
        synccheck_core::privacy::hide_identifiers();
    }
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
    for (i, (device, summary)) in rows.into_iter().enumerate() {
        let connection = device.connection.map(|c| c.as_str()).unwrap_or("?");
        // What the phone says of itself (UDID, name, model, version) is made printable; under
        // --redact the UDID and name are not shown at all, nor quoted by an error.
        let udid = match args.redact {
            true => format!("iPhone {}", i + 1),
            false => device.udid.clone(),
        };
        let line = match summary {
            Ok(s) => {
                let model = s.product_type.as_deref().map(|p| match catalog.model(p) {
                    Some(m) => format!("{} ({p})", m.name),
                    None => p.to_string(),
                });
                let name = match (args.redact, s.name.as_deref()) {
                    (_, None) => "?",
                    (true, Some(_)) => synccheck_report::REDACTED,
                    (false, Some(n)) => n,
                };
                format!(
                    "{udid}  {name}  {}  iOS {}  {connection}  {}",
                    model.as_deref().unwrap_or("?"),
                    s.ios_version.as_deref().unwrap_or("?"),
                    if s.paired { "paired" } else { "not paired" },
                )
            }
            Err(e) => {
                let mut why = e.to_string();
                if args.redact && !device.udid.is_empty() {
                    why = why.replace(&device.udid, synccheck_report::REDACTED);
                }
                format!("{udid}  {connection}  unreadable: {why}")
            }
        };
        println!("{}", printable(&line));
    }
    Ok(0)
}
