//! One `synccheck rescue` run as the history keeps it: when, where, which phone, what was asked
//! and how it went, in counts. Never a file name or a folder: those are the customer's (the
//! destination folder may carry the customer's name too), and stay in the rescue's own folder.

/// What a rescue was asked to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescueSelection {
    /// What iCloud Photos has not uploaded yet (the default).
    Waiting,
    /// The whole library (`--all`).
    All,
}

impl RescueSelection {
    /// As stored: `waiting` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            RescueSelection::Waiting => "waiting",
            RescueSelection::All => "all",
        }
    }

    /// A stored value read back; anything else (a newer synccheck's word) is `None`, shown as
    /// unknown rather than guessed.
    pub fn parse(stored: &str) -> Option<RescueSelection> {
        match stored {
            "waiting" => Some(RescueSelection::Waiting),
            "all" => Some(RescueSelection::All),
            _ => None,
        }
    }
}

/// One rescue run, as `rescue` records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescue {
    /// When it ended (Unix seconds).
    pub rescued_at: i64,
    pub udid: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub product_type: Option<String>,
    pub model: Option<String>,
    pub selection: RescueSelection,
    /// Files copied by this run.
    pub copied: u64,
    /// Files found already in the folder, whole.
    pub already_there: u64,
    /// Files not rescued (refused, vanished, kept changing, the disk full, not reached).
    pub failed: u64,
    /// Bytes copied by this run.
    pub bytes: u64,
    /// Whether everything asked for is in the folder.
    pub complete: bool,
}

/// One line of `history rescues`.
#[derive(Debug, Clone, PartialEq)]
pub struct RescueRow {
    pub id: i64,
    pub rescued_at: i64,
    /// The bench that ran it (`--bench`).
    pub bench: Option<String>,
    pub udid: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub product_type: Option<String>,
    pub model: Option<String>,
    /// `None` when the stored selection is not one this build knows.
    pub selection: Option<RescueSelection>,
    pub copied: u64,
    pub already_there: u64,
    pub failed: u64,
    pub bytes: u64,
    pub complete: bool,
}

impl RescueRow {
    /// The run as it was recorded, to copy into another history; `None` when its selection is
    /// not one this build knows (it cannot be written back as it was).
    pub fn rescue(&self) -> Option<Rescue> {
        Some(Rescue {
            rescued_at: self.rescued_at,
            udid: self.udid.clone(),
            serial: self.serial.clone(),
            name: self.name.clone(),
            product_type: self.product_type.clone(),
            model: self.model.clone(),
            selection: self.selection?,
            copied: self.copied,
            already_there: self.already_there,
            failed: self.failed,
            bytes: self.bytes,
            complete: self.complete,
        })
    }
}

/// A count as a store's signed integer column holds it.
pub(crate) fn stored_count(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// A stored count read back: a negative one (a damaged or hand-edited row) is 0.
pub(crate) fn count(n: i64) -> u64 {
    n.max(0) as u64
}
