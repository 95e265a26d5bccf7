//! The `link=MBPS,RTT_MS` fault: the phone behind a USB link rather than a local socket, and
//! the AFC counters tests and benchmarks read ([`AfcCounters`]).
//!
//! AFC over USB runs at about 18–38 MB/s with a round trip per request (ifuse issue 40: 17.8
//! MB/s; pymobiledevice3 issue 1719: about 38 MiB/s pulled), while the simulator's local socket
//! serves hundreds of MB/s with no round trip at all. The model, per phone:
//! - a reply may leave one round trip after its request arrived (the request's way to the phone
//!   and the reply's way back, folded into one wait on the phone's side);
//! - AFC replies then take their turn on the link: one token bucket per phone, shared by all its
//!   connections, drains `bytes_per_sec`; a reply's bytes (its 40-byte header included) leave
//!   when the link has carried everything queued before them.
//!
//! So a client that sends the next request only after the last reply pays a round trip per
//! request, and one that keeps several requests in flight pays one for the batch and is then
//! bound by the bandwidth, as on USB. Everything waits on tokio timers: under
//! `tokio::time::pause()` the model costs no real time and tests assert virtual time and the
//! counters, never the wall clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;

/// Longest round trip accepted: as for `latency`, more is a hang, not a slow link.
const MAX_RTT_MS: f64 = super::faults::MAX_LATENCY_MS as f64;

/// A USB link: its bandwidth and its round-trip time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub bytes_per_sec: u64,
    pub rtt: Duration,
}

impl Link {
    /// Parses `MBPS,RTT_MS`: megabytes (10^6 bytes) per second and milliseconds, both decimal
    /// numbers (`30,1`, `0.5,0.25`).
    pub fn parse(value: &str) -> Result<Link, &'static str> {
        const USAGE: &str = "expected MBPS,RTT_MS, e.g. link=30,1 (30 MB/s, 1 ms round trip)";
        let (mbps, rtt) = value.split_once(',').ok_or(USAGE)?;
        let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let (mbps, rtt_ms) = (number(mbps).ok_or(USAGE)?, number(rtt).ok_or(USAGE)?);
        if !(0.001..=100_000.0).contains(&mbps) {
            return Err("the bandwidth must be between 0.001 and 100000 MB/s");
        }
        if !(0.0..=MAX_RTT_MS).contains(&rtt_ms) {
            return Err("the round trip must be between 0 and 60000 milliseconds");
        }
        Ok(Link {
            bytes_per_sec: (mbps * 1e6).round() as u64,
            rtt: Duration::from_nanos((rtt_ms * 1e6).round() as u64),
        })
    }

    /// How long `bytes` take on the wire.
    pub fn transmit(&self, bytes: u64) -> Duration {
        let nanos = u128::from(bytes) * 1_000_000_000 / u128::from(self.bytes_per_sec.max(1));
        Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
    }
}

/// One phone's side of the link: when it is next free to send. Shared by every connection to
/// the phone, as they share one cable.
#[derive(Debug, Default)]
pub(crate) struct LinkClock {
    free_at: Mutex<Option<Instant>>,
}

impl LinkClock {
    /// Books the link for a reply of `bytes` that may leave at `ready`; returns when its last
    /// byte has left, which is when it is written to the socket.
    pub fn book(&self, link: &Link, ready: Instant, bytes: u64) -> Instant {
        let mut free = lock(&self.free_at);
        let start = free.map_or(ready, |f| f.max(ready));
        let done = start + link.transmit(bytes);
        *free = Some(done);
        done
    }
}

/// What one AFC connection asked and was sent. Read with [`crate::SimHandle::afc_counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfcCounters {
    /// Requests answered (every operation).
    pub requests: u64,
    /// Requests that arrived while no earlier reply of this connection was still on its way:
    /// each one costs the client a full round trip. A client that pipelines pays one for the
    /// whole batch; one that waits for each reply pays one per request.
    pub round_trips: u64,
    /// FILE_READ requests.
    pub reads: u64,
    /// File bytes FILE_READ answered with, every file.
    pub bytes_read: u64,
    /// Of those, bytes of `Photos.sqlite` and `Photos.sqlite-wal`.
    pub library_bytes: u64,
    /// Every byte of every reply, headers included: what the link carried.
    pub bytes_sent: u64,
}

/// The live counters of one connection, updated by its reader and writer halves.
#[derive(Debug, Default)]
pub(crate) struct AfcConnectionStats {
    requests: AtomicU64,
    round_trips: AtomicU64,
    reads: AtomicU64,
    bytes_read: AtomicU64,
    library_bytes: AtomicU64,
    bytes_sent: AtomicU64,
    /// Replies decided but not yet written.
    in_flight: AtomicU64,
}

impl AfcConnectionStats {
    /// A request arrived.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if self.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.round_trips.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A FILE_READ answered with `bytes` of a file.
    pub fn read(&self, bytes: u64, library: bool) {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.bytes_read.fetch_add(bytes, Ordering::SeqCst);
        if library {
            self.library_bytes.fetch_add(bytes, Ordering::SeqCst);
        }
    }

    /// A reply of `bytes` is about to be written. Counted before the write, so a client that
    /// has the reply and asks again always finds it no longer in flight.
    pub fn reply_leaves(&self, bytes: u64) {
        self.bytes_sent.fetch_add(bytes, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn snapshot(&self) -> AfcCounters {
        AfcCounters {
            requests: self.requests.load(Ordering::SeqCst),
            round_trips: self.round_trips.load(Ordering::SeqCst),
            reads: self.reads.load(Ordering::SeqCst),
            bytes_read: self.bytes_read.load(Ordering::SeqCst),
            library_bytes: self.library_bytes.load(Ordering::SeqCst),
            bytes_sent: self.bytes_sent.load(Ordering::SeqCst),
        }
    }
}

/// Every AFC connection a phone has had, in the order they came.
#[derive(Debug, Default)]
pub(crate) struct AfcStatsLog {
    connections: Mutex<Vec<Arc<AfcConnectionStats>>>,
}

/// Connections remembered per phone; the oldest are forgotten after that, so a simulator that
/// runs for days does not grow.
const MAX_REMEMBERED: usize = 4096;

impl AfcStatsLog {
    pub fn open(&self) -> (usize, Arc<AfcConnectionStats>) {
        let stats = Arc::new(AfcConnectionStats::default());
        let mut all = lock(&self.connections);
        if all.len() >= MAX_REMEMBERED {
            all.remove(0);
        }
        all.push(Arc::clone(&stats));
        (all.len(), stats)
    }

    pub fn snapshot(&self) -> Vec<AfcCounters> {
        lock(&self.connections)
            .iter()
            .map(|c| c.snapshot())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmit_time_follows_the_bandwidth() {
        let link = Link::parse("30,1").unwrap();
        assert_eq!(link.transmit(30_000_000), Duration::from_secs(1));
        assert_eq!(link.transmit(3_000), Duration::from_micros(100));
        assert_eq!(link.rtt, Duration::from_millis(1));
    }

    #[test]
    fn the_clock_queues_replies_behind_each_other() {
        let link = Link::parse("1,10").unwrap(); // 1 byte per microsecond
        let clock = LinkClock::default();
        let t0 = Instant::now();
        assert_eq!(clock.book(&link, t0, 1000), t0 + Duration::from_millis(1));
        // Ready at the same moment: it waits for the first to leave.
        assert_eq!(clock.book(&link, t0, 1000), t0 + Duration::from_millis(2));
        // Ready long after: the link is idle by then.
        let later = t0 + Duration::from_millis(50);
        assert_eq!(
            clock.book(&link, later, 500),
            later + Duration::from_micros(500)
        );
    }

    #[test]
    fn a_round_trip_is_counted_only_when_nothing_is_in_flight() {
        let s = AfcConnectionStats::default();
        s.request();
        s.reply_leaves(40);
        s.request();
        s.request();
        s.request();
        s.reply_leaves(40);
        s.reply_leaves(40);
        s.reply_leaves(40);
        let c = s.snapshot();
        assert_eq!((c.requests, c.round_trips, c.bytes_sent), (4, 2, 160));
    }
}
