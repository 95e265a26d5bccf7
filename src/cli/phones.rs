//! Several phones in one command: each is judged, recorded, saved and printed on its own. What
//! went wrong with one phone (it could not be read, its snapshot or sheet could not be written,
//! its file is not a snapshot) is told after the reports, one error per phone, and never costs
//! the others their reports.

use synccheck_device::{AttachedDevice, Usbmuxd};

use super::error::CliError;

/// Which phone an error belongs to, as the technician can tell it apart.
#[derive(Clone, Copy)]
pub enum Phone<'a> {
    /// A live phone: its UDID, and its place among the phones read (1-based), which names it
    /// when `--redact` hides the UDID.
    Attached { udid: &'a str, position: usize },
    /// A live phone named by what it says of itself (`pair`: its name and model); the UDID is
    /// still hidden from the message under `--redact`.
    Described { udid: &'a str, label: &'a str },
    /// A saved snapshot whose error already names its file.
    File,
    /// A saved snapshot, by its file, for an error that does not name it.
    Named(&'a str),
}

/// How a live phone is named on stderr (errors, the Trust prompt): by its UDID, or by its place
/// among the phones when `--redact` hides the UDID.
pub fn label(udid: &str, position: usize, redact: bool) -> String {
    if redact {
        format!("iPhone {position} (UDID hidden)")
    } else {
        format!("iPhone {udid}")
    }
}

/// The one phone a command acts on (`restart`, `rescue`): the one named, or the only one
/// attached. Doing it to every phone on the bench at once is never what was meant.
pub async fn one(mux: &Usbmuxd, udid: Option<&str>, to: &str) -> Result<AttachedDevice, CliError> {
    let mut devices = super::live::select(mux, udid).await?;
    if devices.len() > 1 {
        return Err(CliError::Usage(format!(
            "{} iPhones are attached: name the one to {to} with --udid (`synccheck list` shows them)",
            devices.len()
        )));
    }
    Ok(devices.remove(0))
}

struct Failure {
    /// The phone's place in the command's order: the errors are told in that order.
    order: usize,
    label: Option<String>,
    /// Hidden from the printed line under `--redact`, wherever the message quotes it (a pair
    /// record error, a per-phone file name).
    udid: Option<String>,
    error: CliError,
}

/// The errors of the phones of one command, printed after the reports.
pub struct Failures {
    redact: bool,
    list: Vec<Failure>,
    /// What the hints tell the technician to do again: "scan", or "pair" for `synccheck pair`.
    again: &'static str,
}

impl Failures {
    pub fn new(redact: bool) -> Self {
        Failures {
            redact,
            list: Vec::new(),
            again: "scan",
        }
    }

    /// For `synccheck pair`: a hint says "pair again", not "scan again".
    pub fn for_pair(mut self) -> Self {
        self.again = "pair";
        self
    }

    pub fn add(&mut self, order: usize, phone: Phone<'_>, error: CliError) {
        let (label, udid) = match phone {
            Phone::Attached { udid, position } => (
                Some(label(udid, position, self.redact)),
                self.redact.then(|| udid.to_string()),
            ),
            Phone::Described { udid, label } => (
                Some(label.to_string()),
                self.redact.then(|| udid.to_string()),
            ),
            Phone::Named(name) => (Some(name.to_string()), None),
            Phone::File => (None, None),
        };
        self.list.push(Failure {
            order,
            label,
            udid,
            error,
        });
    }

    /// Prints every error, in the phones' order, and returns the command's exit code: any
    /// phone's error outranks the verdicts of the reported phones (a technician must not read
    /// "all pass" while a phone went unchecked or its file unwritten), and the first failing
    /// phone's error chooses the code.
    pub fn finish(mut self, verdicts: i32) -> i32 {
        self.list.sort_by_key(|f| f.order);
        for f in &self.list {
            let line = self.line(f);
            eprintln!(
                "synccheck: error: {}",
                synccheck_wire::phone_text::printable(&line)
            );
            if let Some(hint) = f.error.hint() {
                eprintln!("  hint: {}", again(hint, self.again));
            }
        }
        self.list
            .first()
            .map_or(verdicts, |first| first.error.exit_code())
    }

    fn line(&self, f: &Failure) -> String {
        let mut message = f.error.to_string();
        if let Some(udid) = f.udid.as_deref().filter(|u| !u.is_empty()) {
            // Also as it appears in a per-phone file name (sanitised).
            message = message.replace(udid, synccheck_report::REDACTED);
            let in_file_name = synccheck_wire::phone_text::file_name_part(udid);
            // "phone" stands for a UDID with nothing usable: not worth hiding "iPhone" for.
            if in_file_name != "phone" {
                message = message.replace(&in_file_name, synccheck_report::REDACTED);
            }
        }
        match &f.label {
            Some(label) => format!("{label}: {message}"),
            None => message,
        }
    }
}

/// A device hint's "scan again" as the command at hand says it ("pair again").
fn again(hint: &str, command: &str) -> String {
    hint.replace("scan again", &format!("{command} again"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use synccheck_device::DeviceError;

    const UDID: &str = "00008130-001C2D3E4F506172";

    fn save_failed(udid: &str) -> CliError {
        CliError::SaveSnapshot {
            path: PathBuf::from(format!("out/scan-{udid}.plist")),
            source: std::io::Error::other("Is a directory"),
        }
    }

    #[test]
    fn a_line_names_the_phone_by_its_udid() {
        let mut f = Failures::new(false);
        f.add(
            0,
            Phone::Attached {
                udid: UDID,
                position: 1,
            },
            save_failed(UDID),
        );
        let line = f.line(&f.list[0]);
        assert!(
            line.starts_with(&format!("iPhone {UDID}: cannot write")),
            "{line}"
        );
    }

    #[test]
    fn redact_hides_the_udid_in_the_label_and_the_message() {
        let mut f = Failures::new(true);
        f.add(
            0,
            Phone::Attached {
                udid: UDID,
                position: 2,
            },
            CliError::from(DeviceError::NotPaired(UDID.to_string())),
        );
        f.add(
            1,
            Phone::Attached {
                udid: UDID,
                position: 2,
            },
            save_failed(UDID),
        );
        for failure in &f.list {
            let line = f.line(failure);
            assert!(!line.contains(UDID), "{line}");
            assert!(line.starts_with("iPhone 2 (UDID hidden): "), "{line}");
        }
    }

    #[test]
    fn pair_hints_say_pair_again() {
        let locked = CliError::from(DeviceError::PasscodeLocked);
        let hint = again(locked.hint().unwrap(), "pair");
        assert!(
            hint.contains("then pair again") && !hint.contains("scan"),
            "{hint}"
        );
    }

    #[test]
    fn a_described_phone_is_named_by_its_label_and_its_udid_stays_hidden() {
        let mut f = Failures::new(true);
        f.add(
            0,
            Phone::Described {
                udid: UDID,
                label: "iPhone 1 (iPhone 15 Pro, UDID hidden)",
            },
            CliError::from(DeviceError::NotPaired(UDID.to_string())),
        );
        let line = f.line(&f.list[0]);
        assert!(
            line.starts_with("iPhone 1 (iPhone 15 Pro, UDID hidden): ") && !line.contains(UDID),
            "{line}"
        );
    }

    #[test]
    fn the_first_failing_phone_chooses_the_code_over_the_verdicts() {
        assert_eq!(Failures::new(false).finish(1), 1);
        let mut f = Failures::new(false);
        f.add(3, Phone::File, save_failed(UDID));
        f.add(
            1,
            Phone::Attached {
                udid: UDID,
                position: 2,
            },
            CliError::from(DeviceError::PasscodeLocked),
        );
        assert_eq!(f.finish(0), super::super::error::exit::PASSCODE_LOCKED);
    }
}
