//! What one scan may spend: disk ([`DiskBudget`]) and time ([`ScanStop`], a deadline and a
//! cancellation flag). A phone chooses the sizes it announces and how fast it answers, so
//! neither can be the limit: these are ours, fixed before the phone says anything.
//!
//! One mechanism for every writer: the photo library copy charges the budget today; the
//! page-level reading and `rescue` (writing originals) are meant to charge the same one.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default disk budget per scan: a large real library is about 1 GB of Photos.sqlite plus a
/// WAL of up to a few hundred MB; 3 GB leaves room for both and a retried torn copy's overlap.
pub const DEFAULT_DISK_BUDGET: u64 = 3_000_000_000;

/// Default deadline for one phone's read. A 1 GB library over USB 2.0 (about 20 MB/s in
/// practice) copies in about 50 s, the summary takes seconds, lockdown and diagnostics a few
/// more: 300 s is several times that, yet bounds a phone that trickles.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

/// Why a scan's disk or time ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "this scan's disk budget of {} (--disk-budget) would be passed",
        crate::units::bytes(*.limit)
    )]
    OverBudget { limit: u64 },
    #[error(
        "only {} free in {dir}, {} needed",
        crate::units::bytes(*.free),
        crate::units::bytes(*.needed)
    )]
    NoSpace { dir: String, free: u64, needed: u64 },
    #[error("the scan's deadline of {} s passed (--deadline)", .0.as_secs())]
    DeadlinePassed(Duration),
    #[error("the scan was cancelled")]
    Cancelled,
}

/// An absolute budget for the bytes a scan holds on disk. Clones share it. Bytes are charged
/// before they are written, through a [`DiskCharge`], and given back when that charge is
/// dropped (its files deleted).
#[derive(Debug, Clone)]
pub struct DiskBudget {
    limit: u64,
    held: Arc<AtomicU64>,
}

impl DiskBudget {
    pub fn new(limit: u64) -> Self {
        DiskBudget {
            limit,
            held: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged and not yet given back.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::SeqCst)
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.held())
    }

    /// A new, empty charge against this budget.
    pub fn charge(&self) -> DiskCharge {
        DiskCharge {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Before writing `needed` bytes into `dir`: refused when they would pass the budget,
    /// or when the filesystem has not that much free.
    pub fn check(&self, dir: &Path, needed: u64) -> Result<(), LimitError> {
        if needed > self.remaining() {
            return Err(LimitError::OverBudget { limit: self.limit });
        }
        match free_space(dir) {
            Ok(free) if free < needed => Err(LimitError::NoSpace {
                dir: dir.display().to_string(),
                free,
                needed,
            }),
            Ok(_) => Ok(()),
            // A filesystem that cannot say: the budget still bounds the copy.
            Err(e) => {
                tracing::debug!("free space of {} unknown: {e}", dir.display());
                Ok(())
            }
        }
    }
}

/// Bytes one writer holds against a [`DiskBudget`]; given back when dropped, which the writer
/// does when it deletes what it wrote.
#[derive(Debug)]
pub struct DiskCharge {
    budget: DiskBudget,
    bytes: u64,
}

impl DiskCharge {
    /// Charges `n` more bytes, before they are written; refused (nothing charged) when that
    /// would pass the budget.
    pub fn add(&mut self, n: u64) -> Result<(), LimitError> {
        let held = &self.budget.held;
        let mut now = held.load(Ordering::SeqCst);
        loop {
            let next = now
                .checked_add(n)
                .filter(|t| *t <= self.budget.limit)
                .ok_or(LimitError::OverBudget {
                    limit: self.budget.limit,
                })?;
            match held.compare_exchange(now, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        self.bytes += n;
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for DiskCharge {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// Bytes free to an unprivileged user on the filesystem holding `dir`.
pub fn free_space(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("a path with NUL"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `path` is a NUL-terminated string and `stat` a buffer of the right type, which
    // statvfs fills when it returns 0.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled the buffer.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// Everything one scan may spend, handed down to what reads the phone.
#[derive(Debug, Clone)]
pub struct ScanLimits {
    pub stop: ScanStop,
    pub disk: DiskBudget,
}

impl ScanLimits {
    /// From now: `deadline` of time and `disk_budget` bytes of disk.
    pub fn new(deadline: Duration, disk_budget: u64) -> Self {
        ScanLimits {
            stop: ScanStop::after(deadline),
            disk: DiskBudget::new(disk_budget),
        }
    }
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits::new(DEFAULT_DEADLINE, DEFAULT_DISK_BUDGET)
    }
}

/// When a scan must give up, and whether it has been cancelled. Clones share the flag.
#[derive(Debug, Clone)]
pub struct ScanStop {
    deadline: Instant,
    allowed: Duration,
    cancelled: Arc<AtomicBool>,
}

impl ScanStop {
    /// A scan allowed `allowed` from now.
    pub fn after(allowed: Duration) -> Self {
        let now = Instant::now();
        ScanStop {
            deadline: now.checked_add(allowed).unwrap_or(now + DEFAULT_DEADLINE),
            allowed,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the scan was allowed.
    pub fn allowed(&self) -> Duration {
        self.allowed
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Why the scan must stop now, if it must.
    pub fn check(&self) -> Result<(), LimitError> {
        if self.cancelled.load(Ordering::SeqCst) {
            Err(LimitError::Cancelled)
        } else if Instant::now() >= self.deadline {
            Err(LimitError::DeadlinePassed(self.allowed))
        } else {
            Ok(())
        }
    }

    /// The error for a wait cut at the deadline.
    pub fn passed(&self) -> LimitError {
        LimitError::DeadlinePassed(self.allowed)
    }

    /// Cancels this scan when the guard is dropped: work handed to other threads (an SQLite
    /// query) stops when the async task that owns it is dropped, whichever way (an unplugged
    /// phone in `watch`, Ctrl-C, a deadline).
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

/// See [`ScanStop::cancel_on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(Option<ScanStop>);

impl CancelOnDrop {
    /// The task finished normally: nothing to cancel.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(stop) = &self.0 {
            stop.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_stop_at_the_budget_and_are_given_back_when_dropped() {
        let budget = DiskBudget::new(100);
        let mut a = budget.charge();
        a.add(60).unwrap();
        let mut b = budget.charge();
        assert_eq!(b.add(41), Err(LimitError::OverBudget { limit: 100 }));
        b.add(40).unwrap();
        assert_eq!(budget.held(), 100);
        assert!(b.add(1).is_err());
        assert!(b.add(u64::MAX).is_err());
        drop(a);
        assert_eq!(budget.remaining(), 60);
        drop(b);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn check_refuses_what_the_budget_or_the_disk_cannot_hold() {
        let dir = std::env::temp_dir();
        let budget = DiskBudget::new(1000);
        assert!(budget.check(&dir, 10).is_ok());
        assert_eq!(
            budget.check(&dir, 1001),
            Err(LimitError::OverBudget { limit: 1000 })
        );
        let free = free_space(&dir).unwrap();
        let huge = DiskBudget::new(u64::MAX);
        assert!(matches!(
            huge.check(&dir, free.saturating_add(1 << 40)),
            Err(LimitError::NoSpace { .. })
        ));
    }

    #[test]
    fn a_stop_reports_its_deadline_and_cancellation() {
        let stop = ScanStop::after(Duration::ZERO);
        assert_eq!(
            stop.check(),
            Err(LimitError::DeadlinePassed(Duration::ZERO))
        );
        let stop = ScanStop::after(Duration::from_secs(3600));
        assert_eq!(stop.check(), Ok(()));
        let guard = stop.clone().cancel_on_drop();
        drop(guard);
        assert_eq!(stop.check(), Err(LimitError::Cancelled));
        let other = ScanStop::after(Duration::from_secs(3600));
        other.cancel_on_drop().disarm();
        assert_eq!(other.check(), Ok(()));
    }
}
