//! The `link` fault on AFC, in virtual time: a client that waits for each reply pays a round
//! trip per request, one that pipelines pays one for the batch, and bytes share the bandwidth.
//! The AFC service runs over an in-memory pipe with tokio's clock paused, so nothing sleeps and
//! the times asserted are the model's own, exactly.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

use crate::device::{Device, DeviceParts};
use crate::faults::Faults;
use crate::link::{AfcCounters, Link};
use crate::pairing::{PairNewDevice, Pairing};
use synccheck_core::photos::{DatabaseRead, FileRead, LibrarySummary, PhotoLibrary};
use synccheck_device::pairing::HostIdentity;
use synccheck_wire::afc::{self as codec, op};

const FILE: &str = "PhotoData/CPL/big.bin";
const FILE_LEN: usize = 3_000_000;

/// One RSA pairing for every test here: making keys is the slow part.
fn pairing() -> Pairing {
    static PAIRING: OnceLock<Pairing> = OnceLock::new();
    PAIRING
        .get_or_init(|| {
            HostIdentity::generate()
                .unwrap()
                .pair_new_device("02:00:00:00:00:01")
                .unwrap()
        })
        .clone()
}

fn device(link: Option<Link>) -> Arc<Device> {
    device_with(link, DatabaseRead::NotFound, None)
}

/// A phone serving [`FILE`] and `database`, and `after_restart` once it has restarted.
fn device_with(
    link: Option<Link>,
    database: DatabaseRead,
    after_restart: Option<PhotoLibrary>,
) -> Arc<Device> {
    let pairing = pairing();
    let faults = Faults {
        link,
        ..Faults::default()
    };
    let mut files = BTreeMap::new();
    files.insert(
        FILE.to_string(),
        FileRead::Present {
            contents: (0..FILE_LEN).map(|i| (i % 251) as u8).collect(),
            modified: None,
        },
    );
    let parts = DeviceParts {
        id: 1,
        udid: "00008101-000000000000001E".into(),
        lockdown: plist::Dictionary::new(),
        domains: BTreeMap::new(),
        io_registry: BTreeMap::new(),
        identity: pairing.identity,
        trusted: Some(pairing.trusted),
        faults,
        after_restart,
        photo_library: Some(PhotoLibrary {
            files,
            database,
            copied_bytes: None,
            read_at: None,
        }),
        captured_at: None,
        library_profile: crate::LibraryProfile::Compact,
    };
    let (events, _) = tokio::sync::broadcast::channel(4);
    Arc::new(Device::new(parts, events))
}

struct Client {
    pipe: DuplexStream,
    next: u64,
}

impl Client {
    fn start(device: &Arc<Device>) -> Client {
        let (ours, theirs) = tokio::io::duplex(16 * 1024 * 1024);
        tokio::spawn(crate::afc::serve(Arc::clone(device), Box::new(theirs)));
        Client {
            pipe: ours,
            next: 1,
        }
    }

    async fn send(&mut self, operation: u64, args: &[u8]) {
        let packet = codec::encode(self.next, operation, args, &[]);
        self.next += 1;
        self.pipe.write_all(&packet).await.unwrap();
    }

    async fn receive(&mut self) -> codec::Packet {
        codec::read(&mut self.pipe, 16 * 1024 * 1024).await.unwrap()
    }

    async fn open(&mut self) -> u64 {
        self.open_path(FILE).await
    }

    async fn open_path(&mut self, path: &str) -> u64 {
        let mut args = codec::mode::READ_ONLY.to_le_bytes().to_vec();
        args.extend_from_slice(&codec::cstring(path));
        self.send(op::FILE_OPEN, &args).await;
        let reply = self.receive().await;
        assert_eq!(reply.operation(), op::FILE_OPEN_RESULT, "{reply:?}");
        codec::u64_at(&reply.body, 0).unwrap()
    }

    async fn ask_read(&mut self, handle: u64, len: u64) {
        let mut args = handle.to_le_bytes().to_vec();
        args.extend_from_slice(&len.to_le_bytes());
        self.send(op::FILE_READ, &args).await;
    }

    async fn read_reply(&mut self) -> Vec<u8> {
        let reply = self.receive().await;
        assert_eq!(reply.operation(), op::DATA, "{reply:?}");
        reply.body
    }
}

fn counters(device: &Device) -> AfcCounters {
    device.afc_stats.snapshot()[0]
}

const PAGE: u64 = 4096;
/// A DATA reply to a page read: the header and the page.
const PAGE_REPLY: u64 = codec::HEADER_LEN as u64 + PAGE;

/// tokio's timers wake on the millisecond: a reply may leave up to 1 ms after the model's time
/// (and the timing here starts after one that did), but the rounding does not add up over
/// replies.
fn assert_close(spent: Duration, model: Duration) {
    let ms = Duration::from_millis(1);
    assert!(
        spent + ms >= model && spent <= model + ms,
        "{spent:?} against the model's {model:?}"
    );
}

fn link() -> Link {
    Link::parse("30,1").unwrap()
}

#[tokio::test(start_paused = true)]
async fn sequential_reads_pay_a_round_trip_each() {
    let device = device(Some(link()));
    let mut c = Client::start(&device);
    let h = c.open().await;
    let before = counters(&device);
    let t0 = Instant::now();
    for _ in 0..10 {
        c.ask_read(h, PAGE).await;
        assert_eq!(c.read_reply().await.len() as u64, PAGE);
    }
    let spent = t0.elapsed();
    let after = counters(&device);
    assert_eq!(after.requests - before.requests, 10);
    assert_eq!(after.round_trips - before.round_trips, 10);
    assert_eq!(after.bytes_read - before.bytes_read, 10 * PAGE);
    assert_eq!(after.bytes_sent - before.bytes_sent, 10 * PAGE_REPLY);
    let model = 10 * (link().rtt + link().transmit(PAGE_REPLY));
    assert_close(spent, model);
}

#[tokio::test(start_paused = true)]
async fn pipelined_reads_share_one_round_trip() {
    let device = device(Some(link()));
    let mut c = Client::start(&device);
    let h = c.open().await;
    let before = counters(&device);
    let t0 = Instant::now();
    for _ in 0..10 {
        c.ask_read(h, PAGE).await;
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(c.read_reply().await);
    }
    let spent = t0.elapsed();
    let after = counters(&device);
    assert_eq!(after.requests - before.requests, 10);
    assert_eq!(after.round_trips - before.round_trips, 1);
    // In order: the reads were answered as they arrived.
    assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    let model = link().rtt + 10 * link().transmit(PAGE_REPLY);
    assert_close(spent, model);
    // The sequential reader's ten round trips against one.
    assert!(spent * 4 < 10 * (link().rtt + link().transmit(PAGE_REPLY)));
}

#[tokio::test(start_paused = true)]
async fn large_reads_are_bound_by_the_bandwidth() {
    let device = device(Some(link()));
    let mut c = Client::start(&device);
    let h = c.open().await;
    let t0 = Instant::now();
    let chunk = 1_000_000;
    for _ in 0..3 {
        c.ask_read(h, chunk).await;
    }
    let mut total = 0;
    for _ in 0..3 {
        total += c.read_reply().await.len();
    }
    assert_eq!(total, FILE_LEN);
    // 3 MB at 30 MB/s is 100 ms, plus one round trip and the three headers.
    let spent = t0.elapsed();
    assert_close(
        spent,
        link().rtt + link().transmit(FILE_LEN as u64 + 3 * codec::HEADER_LEN as u64),
    );
    assert!(spent >= Duration::from_millis(100));
    assert_eq!(counters(&device).bytes_read, FILE_LEN as u64);
}

#[tokio::test(start_paused = true)]
async fn two_connections_share_the_phones_link() {
    let device = device(Some(link()));
    let (mut a, mut b) = (Client::start(&device), Client::start(&device));
    let (ha, hb) = (a.open().await, b.open().await);
    let t0 = Instant::now();
    a.ask_read(ha, 1_000_000).await;
    b.ask_read(hb, 1_000_000).await;
    let (ra, rb) = tokio::join!(a.read_reply(), b.read_reply());
    assert_eq!((ra.len(), rb.len()), (1_000_000, 1_000_000));
    // Not 1 ms + 33 ms each side by side: the second waits for the first on the one cable.
    assert_close(
        t0.elapsed(),
        link().rtt + link().transmit(2 * (1_000_000 + codec::HEADER_LEN as u64)),
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_fault_nothing_waits_and_the_counters_still_count() {
    let device = device(None);
    let mut c = Client::start(&device);
    let h = c.open().await;
    let t0 = Instant::now();
    c.ask_read(h, PAGE).await;
    c.read_reply().await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let n = counters(&device);
    assert_eq!((n.requests, n.reads, n.bytes_read), (2, 1, PAGE));
    assert_eq!(n.library_bytes, 0, "not Photos.sqlite");
}

#[tokio::test]
async fn reads_of_originals_are_counted_as_file_bytes() {
    let summary = LibrarySummary {
        assets: Some(10),
        waiting: Some(2),
        ..LibrarySummary::default()
    };
    let lib = crate::synth::build(&summary).unwrap();
    let original = crate::originals::list(&lib.main, &lib.wal).unwrap()[0].clone();
    let device = device_with(None, DatabaseRead::Summary(summary), None);
    let mut c = Client::start(&device);
    let h = c.open_path(&original.path).await;
    c.ask_read(h, PAGE).await;
    let got = c.read_reply().await;
    assert_eq!(got.len() as u64, PAGE.min(original.size));
    let n = counters(&device);
    assert_eq!((n.reads, n.bytes_read), (1, got.len() as u64));
    assert_eq!(n.library_bytes, 0, "not Photos.sqlite");
}

#[tokio::test(start_paused = true)]
async fn requests_after_a_restart_to_a_new_library_are_counted() {
    let after = PhotoLibrary {
        files: BTreeMap::new(),
        database: DatabaseRead::NotFound,
        copied_bytes: None,
        read_at: None,
    };
    let device = device_with(None, DatabaseRead::NotFound, Some(after));
    device.restart_soon();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(device.is_attached());
    let mut c = Client::start(&device);
    let mut args = 3u64.to_le_bytes().to_vec(); // read and write, created
    args.extend_from_slice(&codec::cstring("PhotoData/new.txt"));
    c.send(op::FILE_OPEN, &args).await;
    let reply = c.receive().await;
    assert_eq!(reply.operation(), op::STATUS, "{reply:?}");
    assert!(
        device.afc_after_restart.get().is_some(),
        "served after the restart"
    );
    assert_eq!(device.afc_activity.snapshot().write_requests, 1);
}
