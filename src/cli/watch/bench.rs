//! The bench as `watch` sees it: one seat per phone (by UDID, so a phone plugged in again keeps
//! its number), what each is doing, and the words for it. No sockets and no clocks here: the
//! event loop feeds in what happened and prints what comes back, so every transition is
//! unit-tested.

use synccheck_core::checklist::Status;
use synccheck_core::snapshot::Connection;
use synccheck_device::{AttachedDevice, Progress, TrustWait};
use synccheck_report::DeviceReport;

/// Where one phone is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Just plugged in; its scan is starting.
    Attached,
    /// Being read: reading, pairing, waiting for Trust, copying the library.
    Scanning(Progress),
    /// Read and judged; the verdict stays after the phone is unplugged. The words are drawn
    /// from the seat's report (`row.rs`).
    Done {
        status: Status,
        /// The scan's number in the history, once recorded.
        history_id: Option<i64>,
        attached: bool,
    },
    /// Could not be read; waits to be plugged in again.
    Failed { line: String },
    /// Pulled out; `mid_scan` when its scan was cut short.
    Unplugged { mid_scan: bool },
}

impl Phase {
    pub fn is_scanning(&self) -> bool {
        matches!(self, Phase::Attached | Phase::Scanning(_))
    }

    /// Where the phone is, in words; a finished scan is said by its verdict (`row.rs`), so
    /// here it is only "scanned".
    pub fn describe(&self) -> String {
        match self {
            Phase::Attached => "attached".into(),
            Phase::Scanning(p) => progress_words(*p),
            Phase::Done {
                attached: false, ..
            } => "unplugged".into(),
            Phase::Done { .. } => "scanned".into(),
            Phase::Failed { line } => line.clone(),
            Phase::Unplugged { mid_scan: true } => {
                "unplugged mid-scan: plug it back in to scan it again".into()
            }
            Phase::Unplugged { mid_scan: false } => "unplugged".into(),
        }
    }

    /// `next` is this verdict with the history number it was waiting for.
    pub fn only_recorded(&self, next: &Phase) -> bool {
        match (self, next) {
            (
                Phase::Done {
                    status,
                    history_id: None,
                    attached,
                },
                Phase::Done {
                    status: next_status,
                    history_id: Some(_),
                    attached: next_attached,
                },
            ) => status == next_status && attached == next_attached,
            _ => false,
        }
    }

    /// Two phases worth the same plain log line (a copy at 10 % and at 20 % are one line).
    pub fn same_line(&self, other: &Phase) -> bool {
        match (self, other) {
            (
                Phase::Scanning(Progress::CopyingLibrary { .. }),
                Phase::Scanning(Progress::CopyingLibrary { .. }),
            ) => true,
            _ => self == other,
        }
    }
}

fn progress_words(p: Progress) -> String {
    match p {
        Progress::Scanning => "scanning…".into(),
        Progress::Pairing => "asking the iPhone to trust this computer…".into(),
        Progress::WaitingForTrust(TrustWait::Dialog) => {
            "waiting for Trust: unlock the iPhone and tap Trust, then enter its passcode".into()
        }
        Progress::WaitingForTrust(TrustWait::Unlock) => {
            "waiting for Trust: unlock the iPhone (it is locked with a passcode) so it can ask"
                .into()
        }
        Progress::CopyingLibrary { copied, total } if total > 0 => format!(
            "reading the photo library… {}%",
            (copied.min(total) * 100) / total
        ),
        Progress::CopyingLibrary { .. } => "reading the photo library…".into(),
    }
}

#[derive(Debug)]
pub struct Seat {
    /// 1, 2, ... in order of first attach: what the technician types for the full report.
    pub number: usize,
    pub udid: String,
    /// usbmuxd's id while attached; a replugged phone gets a new one.
    device_id: Option<u64>,
    /// Bumped at every scan, so a late message from a cancelled scan is recognised and dropped.
    pub run: u64,
    pub phase: Phase,
    /// The last finished scan's report, for printing on demand.
    pub report: Option<DeviceReport>,
}

/// What the event loop must do after an attach.
#[derive(Debug, PartialEq, Eq)]
pub struct StartScan {
    pub udid: String,
    pub run: u64,
    pub device: AttachedDevice,
}

#[derive(Debug, Default)]
pub struct Bench {
    seats: Vec<Seat>,
}

impl Bench {
    pub fn seat(&self, udid: &str) -> Option<&Seat> {
        self.seats.iter().find(|s| s.udid == udid)
    }

    pub fn numbered(&self, number: usize) -> Option<&Seat> {
        self.seats.iter().find(|s| s.number == number)
    }

    fn seat_mut(&mut self, udid: &str) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.udid == udid)
    }

    /// A phone appeared. USB phones are scanned; a phone seen over Wi-Fi only is left alone
    /// (it comes and goes with the network, and the bench reads phones on a cable). An attach
    /// repeated with the same id (usbmuxd replays them when the feed is reopened) changes
    /// nothing.
    pub fn attached(&mut self, device: AttachedDevice) -> Option<StartScan> {
        if device.connection == Some(Connection::Network) {
            return None;
        }
        let next_number = self.seats.len() + 1;
        let seat = match self.seats.iter().position(|s| s.udid == device.udid) {
            Some(i) => &mut self.seats[i],
            None => {
                self.seats.push(Seat {
                    number: next_number,
                    udid: device.udid.clone(),
                    device_id: None,
                    run: 0,
                    phase: Phase::Unplugged { mid_scan: false },
                    report: None,
                });
                self.seats.last_mut().expect("just pushed")
            }
        };
        // The same id again is a replay; a new id is a new attach, even without a detach in
        // between (it was missed while the feed was down).
        if seat.device_id == Some(device.device_id) {
            return None;
        }
        seat.device_id = Some(device.device_id);
        seat.run += 1;
        seat.phase = Phase::Attached;
        Some(StartScan {
            udid: seat.udid.clone(),
            run: seat.run,
            device,
        })
    }

    /// A phone left. Returns its UDID, and whether a scan was cut short (the caller cancels it).
    pub fn detached(&mut self, device_id: u64) -> Option<(String, bool)> {
        let seat = self
            .seats
            .iter_mut()
            .find(|s| s.device_id == Some(device_id))?;
        seat.device_id = None;
        let mid_scan = seat.phase.is_scanning();
        match seat.phase {
            // The scan already said it was cut short; the detach that follows adds nothing.
            Phase::Unplugged { .. } => return None,
            // A verdict stays on screen: the phone left after its scan, as it should.
            Phase::Done {
                ref mut attached, ..
            } => *attached = false,
            _ => seat.phase = Phase::Unplugged { mid_scan },
        }
        Some((seat.udid.clone(), mid_scan))
    }

    /// Progress from scan `run`; `None` when it is stale or changes nothing.
    pub fn progress(&mut self, udid: &str, run: u64, p: Progress) -> Option<&Seat> {
        let seat = self.current(udid, run)?;
        let next = Phase::Scanning(p);
        if seat.phase == next {
            return None;
        }
        seat.phase = next;
        Some(seat)
    }

    /// Scan `run` finished with a report (already recorded where it should be).
    pub fn scanned(
        &mut self,
        udid: &str,
        run: u64,
        report: DeviceReport,
        history_id: Option<i64>,
    ) -> Option<&Seat> {
        let seat = self.current(udid, run)?;
        let status = report.evaluation.verdict.status;
        seat.phase = Phase::Done {
            status,
            history_id,
            attached: seat.device_id.is_some(),
        };
        seat.report = Some(report);
        Some(seat)
    }

    /// Scan `run`, shown before the history had recorded it, now has its history row.
    pub fn recorded(&mut self, udid: &str, run: u64, history_id: i64) -> Option<&Seat> {
        let seat = self.seat_mut(udid).filter(|s| s.run == run)?;
        let Phase::Done {
            history_id: recorded,
            ..
        } = &mut seat.phase
        else {
            return None;
        };
        *recorded = Some(history_id);
        Some(seat)
    }

    /// Scan `run` failed. An unplug is said as such; anything else waits for a replug.
    pub fn failed(&mut self, udid: &str, run: u64, unplugged: bool, why: String) -> Option<&Seat> {
        let seat = self.current(udid, run)?;
        seat.phase = if unplugged {
            Phase::Unplugged { mid_scan: true }
        } else {
            Phase::Failed {
                line: format!(
                    "could not be read: {why}; unplug it and plug it back in to try again"
                ),
            }
        };
        Some(seat)
    }

    /// The seat whose scan `run` is the one in progress.
    fn current(&mut self, udid: &str, run: u64) -> Option<&mut Seat> {
        self.seat_mut(udid)
            .filter(|s| s.run == run && s.phase.is_scanning())
    }

    /// Phones whose scan is under way.
    pub fn scanning(&self) -> usize {
        self.seats.iter().filter(|s| s.phase.is_scanning()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synccheck_core::checklist::{self, Context};
    use synccheck_core::facts::{Catalog, DeviceFacts};

    fn usb(id: u64, udid: &str) -> AttachedDevice {
        AttachedDevice {
            device_id: id,
            udid: udid.into(),
            connection: Some(Connection::Usb),
        }
    }

    fn report() -> DeviceReport {
        let snap = synccheck_core::snapshot::builtin_demo();
        let facts = DeviceFacts::from_snapshot(&snap, Catalog::builtin());
        let evaluation = checklist::evaluate(&facts, &Context::default());
        DeviceReport {
            origin: "USB".into(),
            source: "usb".into(),
            captured_at: None,
            facts,
            evaluation,
        }
    }

    #[test]
    fn each_attach_starts_one_scan_and_replays_change_nothing() {
        let mut bench = Bench::default();
        let start = bench.attached(usb(1, "A")).unwrap();
        assert_eq!((start.udid.as_str(), start.run), ("A", 1));
        // usbmuxd replays the attached phones when the feed is reopened.
        assert_eq!(bench.attached(usb(1, "A")), None);
        assert_eq!(bench.attached(usb(2, "B")).unwrap().run, 1);
        assert_eq!(bench.numbered(2).unwrap().udid, "B");
        assert_eq!(bench.scanning(), 2);
    }

    /// A verdict shown while the writer was busy gains its history number once recorded;
    /// a late record of an earlier run changes nothing.
    #[test]
    fn a_verdict_shown_before_its_record_gains_the_history_number() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        let recorded = |b: &Bench| match b.seat("A").unwrap().phase {
            Phase::Done { history_id, .. } => history_id,
            _ => panic!("not done"),
        };
        bench.scanned("A", 1, report(), None).unwrap();
        assert_eq!(recorded(&bench), None);
        assert!(bench.recorded("A", 0, 7).is_none());
        bench.recorded("A", 1, 7).unwrap();
        assert_eq!(recorded(&bench), Some(7));
    }

    #[test]
    fn phones_on_wifi_only_are_not_scanned() {
        let mut bench = Bench::default();
        let mut d = usb(3, "A");
        d.connection = Some(Connection::Network);
        assert_eq!(bench.attached(d), None);
        assert!(bench.seat("A").is_none());
    }

    #[test]
    fn unplugged_mid_scan_is_said_and_the_replug_rescans_with_the_same_number() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        bench.attached(usb(2, "B")).unwrap();
        assert_eq!(bench.detached(1), Some(("A".into(), true)));
        let seat = bench.seat("A").unwrap();
        assert!(seat.phase.describe().contains("unplugged mid-scan"));
        // The cancelled scan's late result is dropped.
        assert!(bench.scanned("A", 1, report(), None).is_none());
        let again = bench.attached(usb(7, "A")).unwrap();
        assert_eq!(again.run, 2);
        assert_eq!(bench.seat("A").unwrap().number, 1);
        assert!(bench.scanned("A", 2, report(), Some(9)).is_some());
    }

    #[test]
    fn a_scan_that_fails_as_unplugged_then_the_detach_is_one_event() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        assert!(bench.failed("A", 1, true, "gone".into()).is_some());
        assert_eq!(bench.detached(1), None);
        assert!(bench.attached(usb(2, "A")).is_some());
    }

    #[test]
    fn verdicts_stay_after_the_phone_leaves_and_progress_after_it_is_ignored() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        let seat = bench.scanned("A", 1, report(), Some(4)).unwrap();
        assert_eq!(seat.phase.describe(), "scanned");
        assert!(bench.progress("A", 1, Progress::Scanning).is_none());
        assert_eq!(bench.detached(1), Some(("A".into(), false)));
        let phase = &bench.seat("A").unwrap().phase;
        assert!(matches!(
            phase,
            Phase::Done {
                status: Status::Fail,
                history_id: Some(4),
                attached: false
            }
        ));
        assert_eq!(phase.describe(), "unplugged");
        assert!(bench.seat("A").unwrap().report.is_some());
    }

    #[test]
    fn failures_say_why_and_what_to_do() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        let seat = bench
            .failed("A", 1, false, "the iPhone's user tapped Don't Trust".into())
            .unwrap();
        let line = seat.phase.describe();
        assert!(
            line.contains("Don't Trust") && line.contains("plug it back in"),
            "{line}"
        );
    }

    #[test]
    fn progress_lines_are_deduplicated_but_a_copy_counts_as_one_line() {
        let mut bench = Bench::default();
        bench.attached(usb(1, "A")).unwrap();
        assert_eq!(bench.seat("A").unwrap().phase.describe(), "attached");
        assert!(bench.progress("A", 1, Progress::Scanning).is_some());
        assert!(bench.progress("A", 1, Progress::Scanning).is_none());
        assert!(bench.progress("A", 1, Progress::Pairing).is_some());
        let a = Phase::Scanning(Progress::CopyingLibrary {
            copied: 1,
            total: 10,
        });
        let b = Phase::Scanning(Progress::CopyingLibrary {
            copied: 5,
            total: 10,
        });
        assert!(a.same_line(&b));
        assert_eq!(b.describe(), "reading the photo library… 50%");
    }
}
