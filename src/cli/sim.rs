//! `synccheck sim`: serves simulated phones until Ctrl-C and prints the one line a client needs.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use synccheck_core::snapshot;
use synccheck_sim::{self as sim, Faults, ListenAddr, SimConfig, SimDevice};

use super::args::SimArgs;
use super::error::CliError;

pub fn run(args: SimArgs) -> Result<i32, CliError> {
    let mut snapshots = Vec::new();
    if args.snapshots.is_empty() {
        snapshots.push(snapshot::builtin_demo());
    }
    for path in &args.snapshots {
        snapshots.push(snapshot::load_file(path)?);
    }
    let now = SystemTime::now();
    let described: Vec<String> = snapshots.iter().map(describe).collect();
    let mut devices: Vec<SimDevice> = snapshots
        .into_iter()
        .map(|snap| {
            if args.as_captured {
                snap
            } else {
                snap.replayed_at(now)
            }
        })
        .map(SimDevice::new)
        .collect();
    let faults = Faults::per_device(
        &args.faults,
        devices.len(),
        args.trust_after.map(Duration::from_secs),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    for (device, faults) in devices.iter_mut().zip(faults) {
        device.faults = faults;
        device.exact_udid = args.exact_udids;
        device.library_profile = args.library_profile;
    }
    for spec in &args.after_restart {
        let (path, phone) = after_restart_target(spec, devices.len())?;
        let snap = snapshot::load_file(&path)?;
        let snap = if args.as_captured {
            snap
        } else {
            snap.replayed_at(now)
        };
        let library = snap.photo_library.ok_or_else(|| {
            CliError::Usage(format!(
                "--after-restart {}: the snapshot has no PhotoLibrary section to serve after the restart",
                path.display()
            ))
        })?;
        for (i, device) in devices.iter_mut().enumerate() {
            if phone.is_none_or(|n| n == i + 1) {
                device.after_restart = Some(library.clone());
            }
        }
    }
    let listen = match (args.listen, args.socket) {
        (Some(addr), _) if !addr.ip().is_loopback() => {
            return Err(CliError::Usage(format!(
                "--listen {addr}: only loopback addresses are allowed (the simulator hands out private keys)"
            )));
        }
        (Some(addr), _) => ListenAddr::Tcp(addr),
        (None, Some(path)) => ListenAddr::Unix(path),
        (None, None) => ListenAddr::Unix(default_socket()),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        let handle = sim::start(SimConfig { devices, listen }).await?;
        let mut out = std::io::stdout().lock();
        let printed =
            writeln!(out, "USBMUXD_SOCKET_ADDRESS={}", handle.address()).and_then(|_| out.flush());
        drop(out);
        if let Err(e) = printed {
            handle.shutdown().await;
            return Err(CliError::Output(e));
        }
        for (i, udid) in handle.udids().iter().enumerate() {
            tracing::info!(device_id = i + 1, udid = %synccheck_core::privacy::Shown(udid), "serving");
        }
        // For the person at the keyboard, on stderr: stdout's one line is for programs.
        eprintln!("{}", serving(&described, handle.udids()));
        eprintln!("{COMMANDS}");
        let mut commands = super::live::stdin_lines();
        let stop = super::live::wait_for_stop();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some(line) = commands.recv() => control(&handle, &line),
            }
        }
        handle.shutdown().await;
        Ok(0)
    })
}

/// What `help` prints, and the simulator says once it serves.
const COMMANDS: &str = "Commands (type one and Enter): `unplug N` pulls phone N off the bus,
`plug N` plugs it back in, `unlock N` enters its passcode after a restart, `help` shows these.
Ctrl-C stops.";

/// `Serving 2 simulated iPhones:` and a line per phone with its number (what `unplug N`
/// takes), name, model, iOS and UDID. The snapshot's text is made printable.
fn serving(described: &[String], udids: &[String]) -> String {
    let mut text = format!(
        "Serving {} simulated iPhone{}:",
        described.len(),
        if described.len() == 1 { "" } else { "s" }
    );
    for (i, (what, udid)) in described.iter().zip(udids).enumerate() {
        let line = format!(
            "{}  {what} · UDID {}",
            i + 1,
            synccheck_core::privacy::Shown(udid)
        );
        text.push_str("\n  ");
        text.push_str(&synccheck_wire::phone_text::printable(&line));
    }
    text
}

/// `"Sam’s iPhone" · iPhone 15 Pro · iOS 27.2`, from what the snapshot holds.
fn describe(snap: &snapshot::Snapshot) -> String {
    let facts = synccheck_core::facts::DeviceFacts::from_snapshot(
        snap,
        synccheck_core::facts::Catalog::builtin(),
    );
    let id = &facts.identity;
    let mut parts = Vec::new();
    if let Some(name) = &id.name {
        parts.push(format!("\"{name}\""));
    }
    parts.push(
        id.marketing_name
            .clone()
            .or(id.product_type.clone())
            .unwrap_or_else(|| "iPhone".into()),
    );
    if let Some(v) = facts.software.ios_version {
        parts.push(format!("iOS {v}"));
    }
    parts.join(" · ")
}

/// Lines typed on stdin: `unplug N` and `plug N` move phone N (1-based, `--snapshot` order)
/// off and back on the bus, so `watch` can be tried, and tested, with phones coming and going;
/// `unlock N` enters phone N's passcode (after `locked-after-restart`); `help` lists the
/// commands.
fn control(handle: &sim::SimHandle, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let result = match words.as_slice() {
        [] => return,
        ["help"] | ["?"] => {
            eprintln!("{COMMANDS}");
            return;
        }
        ["unplug", n] => n
            .parse()
            .map_err(|_| format!("`{n}` is not a device number"))
            .and_then(|n| handle.unplug(n).map_err(|e| e.to_string())),
        ["plug", n] => n
            .parse()
            .map_err(|_| format!("`{n}` is not a device number"))
            .and_then(|n| handle.plug(n).map_err(|e| e.to_string())),
        ["unlock", n] => n
            .parse()
            .map_err(|_| format!("`{n}` is not a device number"))
            .and_then(|n| handle.unlock(n).map_err(|e| e.to_string())),
        _ => Err(format!(
            "unknown command `{}`; type `unplug N`, `plug N`, `unlock N` or `help`",
            line.trim()
        )),
    };
    match result {
        Ok(()) => eprintln!("sim: {}", line.trim()),
        Err(e) => eprintln!("sim: {e}"),
    }
}

/// `FILE` or `FILE@N`: `@N` is the phone's number when it is one (a path may hold `@` too).
fn after_restart_target(spec: &str, count: usize) -> Result<(PathBuf, Option<usize>), CliError> {
    match spec.rsplit_once('@') {
        Some((path, n)) if !path.is_empty() && n.parse::<usize>().is_ok() => {
            let n: usize = n.parse().unwrap_or(0);
            if !(1..=count).contains(&n) {
                return Err(CliError::Usage(format!(
                    "--after-restart {spec}: there is no phone {n}, only {count} simulated (one per --snapshot)"
                )));
            }
            Ok((PathBuf::from(path), Some(n)))
        }
        _ => Ok((PathBuf::from(spec), None)),
    }
}

fn default_socket() -> PathBuf {
    std::env::temp_dir().join(format!("synccheck-sim-{}.sock", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phones_are_listed_by_number_one_line_each() {
        let text = serving(
            &[
                "\"Sam’s iPhone\" · iPhone 15 Pro · iOS 27.2".into(),
                "evil\nname".into(),
            ],
            &["U1".into(), "U2".into()],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "Serving 2 simulated iPhones:");
        assert!(
            lines[1].starts_with("  1  \"Sam’s iPhone\" · iPhone 15 Pro"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("  2  evil") && lines[2].ends_with("UDID U2"),
            "{text}"
        );
    }

    #[test]
    fn every_command_is_in_the_help() {
        for command in ["unplug N", "plug N", "help"] {
            assert!(COMMANDS.contains(command), "{command}");
        }
    }
}
