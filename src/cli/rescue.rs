//! `synccheck rescue`: copy the photos and videos iCloud does not have yet from one phone into
//! a folder of its own (see docs/rescue.md). The work is in synccheck-device (`rescue*.rs`);
//! here: choosing the phone and its folder, the messages, the progress bar, the exit code.
//!
//! File names appear only in the folder and its manifest, never in what is printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use synccheck_core::facts::{Catalog, DeviceFacts};
use synccheck_device::limits::{DiskBudget, ScanLimits, DEFAULT_DEADLINE, DEFAULT_DISK_BUDGET};
use synccheck_device::photos::PhotoScope;
use synccheck_device::rescue::{self, Destination, Listing, Outcome, RescueFile};
use synccheck_device::rescue_manifest::{self as manifest, Manifest, ManifestFile, ManifestPhone};
use synccheck_device::rescue_query::Selection;
use synccheck_device::{DeviceError, Usbmuxd};
use synccheck_wire::phone_text::{file_name_part, printable};

use super::args::RescueArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::rescue_history::{self, rescue_row, RecordedPhone};

/// Exit code when not everything that should be rescued is in the folder (or iCloud Photos
/// is off and `--all` was not given): the technician must look before any repair.
const NOT_ALL_RESCUED: i32 = 1;

pub fn run(args: RescueArgs) -> Result<i32, CliError> {
    // A --db that is not a history is the technician's to fix before the phone is read.
    super::history::check_db(&args.db)?;
    if args.redact {
        synccheck_core::privacy::hide_identifiers();
    }
    let mux = live::usbmuxd(&args.connection)?;
    let options = live::options(&args.connection, &args.trust, None, PhotoScope::StateFiles);
    let runtime = live::runtime()?;
    runtime.block_on(async {
        tokio::select! {
            code = rescue(&mux, &args, options) => code,
            code = live::wait_for_stop() => {
                eprintln!("synccheck: stopped; every file already in the folder is whole, and a new run goes on from there.");
                Ok(code)
            }
        }
    })
}

/// The phone's identity as the messages and the manifest show it.
struct Phone {
    model: Option<String>,
    name: Option<String>,
    serial: Option<String>,
    udid: String,
}

async fn rescue(
    mux: &Usbmuxd,
    args: &RescueArgs,
    options: synccheck_device::ScanOptions,
) -> Result<i32, CliError> {
    let device = &super::phones::one(mux, args.udid.as_deref(), "rescue").await?;
    let board = StatusBoard::new();
    let label = super::phones::label(&device.udid, 1, args.redact);
    let mut line = board.line(label);
    // The state files say whether iCloud Photos is on; lockdown says which phone this is.
    let snap = synccheck_device::read_phone(mux, device, options, |p| line.update(p)).await;
    line.finish();
    let snap = snap?;
    let facts = DeviceFacts::from_snapshot(&snap, Catalog::builtin());
    let phone = Phone {
        model: facts
            .identity
            .marketing_name
            .clone()
            .or(facts.identity.product_type.clone()),
        name: facts.identity.name.clone(),
        serial: facts.identity.serial_number.clone(),
        udid: device.udid.clone(),
    };
    let recorded_phone = RecordedPhone::new(&facts, &device.udid);
    let icloud_photos = facts.photos.as_ref().and_then(|p| p.enabled);
    // With iCloud Photos off nothing is in iCloud: the whole library is listed, to say so.
    let selection = if args.all || icloud_photos == Some(false) {
        Selection::All
    } else {
        Selection::NotUploaded
    };

    let timeout = Duration::from_secs_f64(args.connection.timeout);
    let mut afc = synccheck_device::afc::connect(mux, device, timeout).await?;
    let limits = ScanLimits::new(DEFAULT_DEADLINE, DEFAULT_DISK_BUDGET);
    step(args, "reading the photo library…");
    let listing = rescue::list_assets(&mut afc, &limits, selection, &mut |_, _| {}).await?;
    let list = match listing {
        Listing::Listed(list) => list,
        Listing::NotRead(why) => {
            eprintln!(
                "synccheck: the photo library could not be read, so nothing was copied: {}",
                printable(&describe(&why))
            );
            return Ok(NOT_ALL_RESCUED);
        }
    };
    let totals = rescue::totals(&list);
    if list.unplaced > 0 {
        eprintln!(
            "synccheck: warning: the library gives no usable place for {} of them; those cannot be copied.",
            list.unplaced
        );
    }
    if icloud_photos == Some(false) && !args.all {
        println!(
            "iCloud Photos is off on this iPhone: none of its {} photos and videos ({}) are in iCloud.",
            totals.assets,
            bytes(totals.bytes)
        );
        println!("`synccheck rescue --to DIR --all` copies all of them; nothing was copied.");
        return Ok(if totals.assets == 0 {
            0
        } else {
            NOT_ALL_RESCUED
        });
    }
    let what = match selection {
        Selection::All => "in the library",
        Selection::NotUploaded => "only on this iPhone (not yet in iCloud)",
    };
    if args.dry_run {
        print_dry_run(&totals, what);
        return Ok(0);
    }
    if totals.assets == 0 {
        println!("Nothing to rescue: every photo and video of this iPhone is in iCloud.");
        return Ok(if list.unplaced > 0 {
            NOT_ALL_RESCUED
        } else {
            0
        });
    }

    let folder = phone_folder(&args.to, &phone, args.redact)?;
    let files = rescue::plan(&list);
    let budget = DiskBudget::new(args.disk_budget.unwrap_or(u64::MAX));
    // Free space first, with the library's sizes of what is not here yet.
    let needed: u64 = files
        .iter()
        .filter(|f| !already_here(&folder, f))
        .filter_map(|f| f.library_size)
        .fold(0, u64::saturating_add);
    if let Err(e) = budget.check(&args.to, needed) {
        eprintln!(
            "synccheck: not enough room to rescue {} photos and videos ({}): {e}; nothing was copied.",
            totals.assets,
            bytes(needed)
        );
        return Ok(NOT_ALL_RESCUED);
    }
    std::fs::create_dir_all(&folder).map_err(|e| {
        CliError::Usage(format!("cannot make the folder {}: {e}", folder.display()))
    })?;
    println!(
        "Rescuing {} photos and videos {what} ({}) into {}",
        totals.assets,
        bytes(totals.bytes),
        folder.display()
    );

    let dest = Destination {
        root: folder.clone(),
        budget,
    };
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(files.len());
    let copied = copy_all(&mut afc, &files, &dest, &mut outcomes, totals.bytes).await;
    // What was not reached (the disk filled, or the phone went away) waits for the next run.
    let stopped_by = match &copied {
        Err(e) => Outcome::Failed(format!("not reached: {e}")),
        Ok(()) => outcomes
            .iter()
            .find(|o| matches!(o, Outcome::DiskFull(_)))
            .cloned()
            .unwrap_or(Outcome::Failed("not reached".into())),
    };
    while outcomes.len() < files.len() {
        outcomes.push(stopped_by.clone());
    }

    let written = write_manifest(&folder, &phone, args, selection, &files, &outcomes);
    let code = summarize(&folder, &files, &outcomes);
    let row = rescue_row(
        &recorded_phone,
        selection,
        &outcomes,
        list.unplaced,
        std::time::SystemTime::now(),
    );
    rescue_history::record(&args.db, &row);
    if let Err(e) = written {
        eprintln!(
            "synccheck: warning: the manifest could not be written in {}: {e}",
            folder.display()
        );
    }
    match copied {
        Err(e) => Err(e.into()),
        Ok(()) => Ok(code),
    }
}

/// A size as the report writes it, with kilobytes for the small ones (a photo is often less
/// than a megabyte).
pub fn bytes(n: u64) -> String {
    if n < 1_000_000 {
        format!("{} kB", n.div_ceil(1000))
    } else {
        synccheck_core::units::bytes(n)
    }
}

/// A line for each step when there is no terminal to draw a bar on.
fn step(args: &RescueArgs, what: &str) {
    if !std::io::stderr().is_terminal() && !args.dry_run {
        eprintln!("synccheck: {what}");
    }
}

fn print_dry_run(t: &rescue::Totals, what: &str) {
    let day = |d: Option<std::time::SystemTime>| {
        d.map(|d| {
            chrono::DateTime::<chrono::Utc>::from(d)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_else(|| "unknown".into())
    };
    println!(
        "Would copy {} photos and videos {what}: {}{}",
        t.assets,
        bytes(t.bytes),
        if t.without_size > 0 {
            format!(
                " (and {} whose size the library does not give)",
                t.without_size
            )
        } else {
            String::new()
        }
    );
    if t.live_photos > 0 {
        println!(
            "{} of them are Live Photos; their videos come too.",
            t.live_photos
        );
    }
    if t.assets > 0 {
        println!("Oldest: {}, newest: {}", day(t.oldest), day(t.newest));
    }
    println!("Nothing was copied (--dry-run).");
}

fn already_here(folder: &Path, f: &RescueFile) -> bool {
    match (f.library_size, std::fs::metadata(folder.join(&f.local))) {
        (Some(size), Ok(meta)) => meta.len() == size,
        _ => false,
    }
}

/// Copies `files` in order into `outcomes`; stops at a full disk. Only a lost phone is an
/// error.
async fn copy_all(
    afc: &mut synccheck_device::Afc,
    files: &[RescueFile],
    dest: &Destination,
    outcomes: &mut Vec<Outcome>,
    expected: u64,
) -> Result<(), DeviceError> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(expected);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let mut charge = dest.budget.charge();
    let total = files.len();
    for (i, file) in files.iter().enumerate() {
        if let Some(bar) = &bar {
            bar.set_message(format!("file {} of {total}", i + 1));
        }
        let mut last = 0u64;
        let mut progress = |done: u64| {
            if let Some(bar) = &bar {
                bar.inc(done.saturating_sub(last));
                if bar.position() > bar.length().unwrap_or(0) {
                    bar.set_length(bar.position());
                }
            }
            last = done;
        };
        let outcome = rescue::rescue_file(afc, file, dest, &mut charge, &mut progress).await?;
        if let (Some(bar), Outcome::AlreadyThere(n)) = (&bar, &outcome) {
            bar.inc(*n);
        }
        if bar.is_none() {
            let said = match &outcome {
                Outcome::Copied(n) => format!("copied ({})", bytes(*n)),
                Outcome::AlreadyThere(_) => "already here".to_string(),
                Outcome::NoVideo => "no Live Photo video on the iPhone".to_string(),
                other => format!("not rescued: {}", other.reason().unwrap_or_default()),
            };
            eprintln!("synccheck: file {} of {total}: {said}", i + 1);
        }
        tracing::debug!(phone_path = %file.phone_path, status = outcome.status(), "rescue");
        let full = matches!(outcome, Outcome::DiskFull(_));
        outcomes.push(outcome);
        if full {
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// One line of totals and one per kind of trouble; the exit code.
fn summarize(folder: &Path, files: &[RescueFile], outcomes: &[Outcome]) -> i32 {
    let (copied, copied_bytes) = copied(outcomes);
    let here = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::AlreadyThere(_)))
        .count();
    let wanted = files
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !matches!(o, Outcome::NoVideo))
        .count();
    println!(
        "Copied {} files ({}); {} were already there. {} of {} files are in {}",
        copied,
        bytes(copied_bytes),
        here,
        copied + here,
        wanted,
        folder.display()
    );
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for why in outcomes.iter().filter_map(Outcome::reason) {
        match reasons.iter_mut().find(|(r, _)| *r == why) {
            Some((_, n)) => *n += 1,
            None => reasons.push((why, 1)),
        }
    }
    if reasons.is_empty() {
        println!("Everything waiting on this iPhone is rescued.");
        return 0;
    }
    for (why, n) in &reasons {
        println!(
            "Not rescued: {n} file{}: {}",
            if *n == 1 { "" } else { "s" },
            printable(why)
        );
    }
    println!("Run the same command again to retry them; the manifest lists each file.");
    NOT_ALL_RESCUED
}

/// How many files this run copied, and their bytes (not those already there).
fn copied(outcomes: &[Outcome]) -> (usize, u64) {
    outcomes.iter().fold((0, 0), |(files, sum), o| match o {
        Outcome::Copied(n) => (files + 1, sum + n),
        _ => (files, sum),
    })
}

fn write_manifest(
    folder: &Path,
    phone: &Phone,
    args: &RescueArgs,
    selection: Selection,
    files: &[RescueFile],
    outcomes: &[Outcome],
) -> std::io::Result<()> {
    let entries = files
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !matches!(o, Outcome::NoVideo))
        .map(|(f, o)| ManifestFile {
            path: f.local.to_string_lossy().into_owned(),
            phone_path: f.phone_path.clone(),
            date: f.date.map(manifest::time),
            size: match o {
                Outcome::Copied(n) | Outcome::AlreadyThere(n) => Some(*n),
                _ => f.library_size,
            },
            status: o.status().to_string(),
            live_photo_video: f.live_video,
        })
        .collect();
    let mut m = Manifest {
        format: manifest::FORMAT.into(),
        phone: ManifestPhone {
            model: phone.model.clone(),
            name: (!args.redact).then(|| phone.name.clone()).flatten(),
            serial: (!args.redact).then(|| phone.serial.clone()).flatten(),
            tag: args.redact.then(|| redacted_tag(&phone.udid)),
        },
        rescued_at: manifest::time(std::time::SystemTime::now()),
        selection: match selection {
            Selection::All => "all",
            Selection::NotUploaded => "not-uploaded",
        }
        .into(),
        counts: Default::default(),
        files: entries,
    };
    m.merge_earlier(manifest::read(folder), folder);
    let (copied, copied_bytes) = copied(outcomes);
    m.count(copied as u64, copied_bytes);
    m.write(folder)
}

/// The phone's folder in DIR: its name and serial, or `phoneN` with `--redact` (the folder an
/// earlier `--redact` run made for this phone, found by its manifest's tag, else a new number).
fn phone_folder(dir: &Path, phone: &Phone, redact: bool) -> Result<PathBuf, CliError> {
    if !redact {
        let parts: Vec<String> = [&phone.name, &phone.serial]
            .into_iter()
            .flatten()
            .map(|p| file_name_part(p))
            .collect();
        let name = if parts.is_empty() {
            file_name_part(&phone.udid)
        } else {
            parts.join("-")
        };
        return Ok(dir.join(name));
    }
    let tag = redacted_tag(&phone.udid);
    for n in 1..=10_000 {
        let folder = dir.join(format!("phone{n}"));
        if !folder.exists() {
            return Ok(folder);
        }
        if manifest::read(&folder).and_then(|m| m.phone.tag) == Some(tag.clone()) {
            return Ok(folder);
        }
    }
    Err(CliError::Usage(format!(
        "{} holds 10,000 phone folders already: give another --to",
        dir.display()
    )))
}

/// A tag that finds this phone's `phoneN` folder again: a hash of its UDID. It does not show
/// the UDID; it only lets someone who has the UDID confirm it is this phone's folder.
fn redacted_tag(udid: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "synccheck-rescue:"
        .bytes()
        .chain(udid.to_ascii_uppercase().bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn describe(read: &synccheck_core::photos::DatabaseRead) -> String {
    use synccheck_core::photos::DatabaseRead::*;
    match read {
        NotFound => "the iPhone has no photo library".into(),
        PermissionDenied => "the iPhone refused to let it be read".into(),
        Unreadable(why) => why.clone(),
        NotRecognised { missing, .. } => format!(
            "its format is not one synccheck knows (no {})",
            missing.join(", no ")
        ),
        Skipped => "it was not read".into(),
        Summary(_) => "it was read".into(),
    }
}
