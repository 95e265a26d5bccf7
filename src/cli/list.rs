//! `synccheck list`: the attached phones, one row each under a header, or `--json`.

use futures::future::join_all;
use serde_json::json;
use synccheck_core::facts::Catalog;
use synccheck_device::{summarize, DeviceError, DeviceSummary};
use synccheck_wire::phone_text::printable;

use super::args::ListArgs;
use super::error::CliError;
use super::live;

/// A name longer than this is cut in the text listing (the JSON has it whole).
const NAME_WIDTH: usize = 40;

/// One attached phone as listed. Under `--redact` the UDID and name are never filled in.
struct Listed {
    number: usize,
    udid: Option<String>,
    name: Option<String>,
    /// The name on the box (iPhone 13), from the model table.
    model: Option<String>,
    product_type: Option<String>,
    ios: Option<String>,
    connection: Option<&'static str>,
    paired: Option<bool>,
    /// Why the phone could not be asked (it answered nothing, or garbage).
    error: Option<String>,
}

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
    let catalog = Catalog::builtin();
    let listed: Vec<Listed> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (device, summary))| {
            listed(
                i + 1,
                &device.udid,
                device.connection.map(|c| c.as_str()),
                summary,
                catalog,
                args.redact,
            )
        })
        .collect();
    if args.json {
        let phones: Vec<_> = listed.iter().map(to_json).collect();
        let text = serde_json::to_string_pretty(&json!({ "phones": phones }))
            .map_err(|e| CliError::Output(e.into()))?;
        super::shell::write_stdout(format!("{text}\n").as_bytes())?;
        return Ok(0);
    }
    if listed.is_empty() {
        eprintln!("No iPhone is attached.");
        return Ok(0);
    }
    super::shell::write_stdout(table(&listed, args.redact).as_bytes())?;
    Ok(0)
}

fn listed(
    number: usize,
    udid: &str,
    connection: Option<&'static str>,
    summary: Result<DeviceSummary, DeviceError>,
    catalog: &Catalog,
    redact: bool,
) -> Listed {
    let shown_udid = (!redact).then(|| udid.to_string());
    match summary {
        Ok(s) => Listed {
            number,
            udid: shown_udid,
            name: s.name.filter(|_| !redact),
            model: s
                .product_type
                .as_deref()
                .and_then(|p| catalog.model(p))
                .map(|m| m.name.to_string()),
            product_type: s.product_type,
            ios: s.ios_version,
            connection,
            paired: Some(s.paired),
            error: None,
        },
        Err(e) => {
            let mut why = e.to_string();
            // An error may quote the UDID (no pair record for …).
            if redact && !udid.is_empty() {
                why = why.replace(udid, synccheck_report::REDACTED);
            }
            Listed {
                number,
                udid: shown_udid,
                name: None,
                model: None,
                product_type: None,
                ios: None,
                connection,
                paired: None,
                error: Some(why),
            }
        }
    }
}

fn to_json(p: &Listed) -> serde_json::Value {
    json!({
        "number": p.number,
        "udid": p.udid,
        "name": p.name,
        "model": p.model,
        "product_type": p.product_type,
        "ios": p.ios,
        "connection": p.connection,
        "paired": p.paired,
        "error": p.error,
    })
}

/// The text listing: a header and one row per phone, columns aligned by their widest cell.
/// Every cell the phone chose (UDID, name, model, version, an error) is made printable.
fn table(phones: &[Listed], redact: bool) -> String {
    let hidden = || synccheck_report::REDACTED.to_string();
    let mut cells: Vec<Vec<String>> = vec![["#", "UDID", "name", "model", "iOS", "via", "paired"]
        .map(String::from)
        .to_vec()];
    for p in phones {
        let unknown = || "?".to_string();
        let model = match (&p.model, &p.product_type) {
            (Some(m), Some(t)) => format!("{m} ({t})"),
            (None, Some(t)) => t.clone(),
            _ => unknown(),
        };
        let name = match (&p.name, redact) {
            (_, true) => hidden(),
            (Some(n), false) => fit(&printable(n), NAME_WIDTH),
            (None, false) => unknown(),
        };
        let paired = match (p.paired, &p.error) {
            (_, Some(why)) => format!("unreadable: {why}"),
            (Some(true), None) => "yes".into(),
            (Some(false), None) => "no".into(),
            (None, None) => unknown(),
        };
        cells.push(vec![
            p.number.to_string(),
            p.udid.clone().unwrap_or_else(hidden),
            name,
            model,
            p.ios.clone().unwrap_or_else(unknown),
            p.connection.unwrap_or("?").to_string(),
            paired,
        ]);
    }
    let cells: Vec<Vec<String>> = cells
        .into_iter()
        .map(|row| row.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let columns = cells[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            cells
                .iter()
                .map(|row| console::measure_text_width(&row[c]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if c + 1 < columns {
                let pad = widths[c] - console::measure_text_width(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Cut to `width` columns with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    if console::measure_text_width(text) <= width {
        text.to_string()
    } else {
        console::truncate_str(text, width, "…").into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(number: usize, name: &str) -> Listed {
        Listed {
            number,
            udid: Some(format!("00008130-00000000000000{number:02}")),
            name: Some(name.into()),
            model: Some("iPhone 15 Pro".into()),
            product_type: Some("iPhone16,1".into()),
            ios: Some("27.2".into()),
            connection: Some("USB"),
            paired: Some(number == 1),
            error: None,
        }
    }

    #[test]
    fn columns_line_up_under_the_header() {
        let text = table(
            &[
                phone(1, "Sam’s iPhone"),
                phone(
                    2,
                    "A much longer name for a phone, much too long to show, cut",
                ),
            ],
            false,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let column = |line: &str, word: &str| {
            line.find(word)
                .map(|i| console::measure_text_width(&line[..i]))
        };
        for word in ["iPhone 15 Pro", "27.2", "USB"] {
            assert_eq!(column(lines[1], word), column(lines[2], word), "{text}");
        }
        assert_eq!(column(lines[0], "model"), column(lines[1], "iPhone 15 Pro"));
        assert_eq!(column(lines[0], "paired"), column(lines[1], "yes"));
        assert!(
            lines[2].contains("A much longer name for a phone, much to…"),
            "{text}"
        );
    }

    #[test]
    fn redact_leaves_no_udid_or_name() {
        let mut p = phone(1, "Sam’s iPhone");
        p.udid = None;
        p.name = None;
        let text = table(&[p], true);
        assert!(
            !text.contains("00008130") && !text.contains("Sam"),
            "{text}"
        );
        assert!(text.contains(synccheck_report::REDACTED), "{text}");
    }

    #[test]
    fn a_name_with_control_characters_is_made_printable() {
        let text = table(&[phone(1, "evil\u{1b}[2Jname")], false);
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}
