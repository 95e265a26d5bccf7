//! `synccheck sim --fault`: each fault mode, driven through the real socket by a small client
//! built on synccheck's own wire codecs (and tokio-rustls for the lockdown session), and by
//! Debian's libimobiledevice-utils where they show the fault best.
//!
//! Every network wait is bounded, so a simulator bug fails a test instead of hanging CI. Without
//! the libimobiledevice tools their tests fail under CI=true and are skipped elsewhere.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

mod common;

use common::{fixture, start_sim, Sim};
use synccheck_core::snapshot;
use synccheck_device::pairing::HostIdentity;
use synccheck_sim::pairing::PairNewDevice;
use synccheck_wire::{plist_frame, usbmux, FrameError};

/// Any single network wait; the simulator answers in milliseconds when it is well.
const NET_TIMEOUT: Duration = Duration::from_secs(10);
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);
const LOCKDOWN_PORT: u16 = 62078;

/// Awaits `fut` for at most [`NET_TIMEOUT`], failing the test when it takes longer.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(NET_TIMEOUT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer within {NET_TIMEOUT:?}"),
    }
}

fn dict(pairs: &[(&str, plist::Value)]) -> plist::Dictionary {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn text(s: &str) -> plist::Value {
    plist::Value::String(s.to_string())
}

// ---- usbmuxd ---------------------------------------------------------------------------------

async fn mux(sim: &Sim) -> UnixStream {
    within("usbmuxd connect", UnixStream::connect(&sim.socket))
        .await
        .expect("connect to the simulated usbmuxd")
}

async fn mux_read(s: &mut UnixStream) -> Result<plist::Dictionary, FrameError> {
    Ok(
        within("usbmuxd reply", usbmux::read(s, usbmux::MAX_MESSAGE))
            .await?
            .body,
    )
}

async fn mux_request(
    s: &mut UnixStream,
    kind: &str,
    extra: &[(&str, plist::Value)],
) -> plist::Dictionary {
    let mut body = dict(extra);
    body.insert("MessageType".into(), text(kind));
    body.insert("ProgName".into(), text("sim_faults"));
    usbmux::write(s, 1, &body).await.unwrap();
    mux_read(s).await.unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn number(reply: &plist::Dictionary) -> Option<u64> {
    reply.get("Number").and_then(|v| v.as_unsigned_integer())
}

/// (DeviceID, UDID) of every attached device.
async fn list_devices(sim: &Sim) -> Vec<(u64, String)> {
    let mut s = mux(sim).await;
    let reply = mux_request(&mut s, "ListDevices", &[]).await;
    reply["DeviceList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let d = d.as_dictionary().unwrap();
            let props = d["Properties"].as_dictionary().unwrap();
            (
                d["DeviceID"].as_unsigned_integer().unwrap(),
                props["SerialNumber"].as_string().unwrap().to_string(),
            )
        })
        .collect()
}

/// The pair record usbmuxd holds, or the result number it answered instead.
async fn read_pair_record(sim: &Sim, udid: &str) -> Result<plist::Dictionary, u64> {
    let mut s = mux(sim).await;
    let reply = mux_request(&mut s, "ReadPairRecord", &[("PairRecordID", text(udid))]).await;
    match reply.get("PairRecordData").and_then(|v| v.as_data()) {
        Some(data) => Ok(plist::from_bytes(data).expect("pair record is a plist")),
        None => Err(number(&reply).expect("a Result number")),
    }
}

/// A raw stream to a device port, or usbmuxd's result number.
async fn connect(sim: &Sim, device: u64, port: u16) -> Result<UnixStream, u64> {
    let mut s = mux(sim).await;
    let port = u64::from(usbmux::port_to_wire(port));
    let reply = mux_request(
        &mut s,
        "Connect",
        &[("DeviceID", device.into()), ("PortNumber", port.into())],
    )
    .await;
    match number(&reply) {
        Some(0) => Ok(s),
        other => Err(other.unwrap_or(u64::MAX)),
    }
}

async fn lockdown(sim: &Sim, device: u64) -> UnixStream {
    connect(sim, device, LOCKDOWN_PORT)
        .await
        .unwrap_or_else(|n| panic!("Connect to lockdownd of device {device}: result {n}"))
}

// ---- lockdownd -------------------------------------------------------------------------------

/// One lockdown request and the decoded reply (or why it could not be decoded).
async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    name: &str,
    extra: &[(&str, plist::Value)],
) -> Result<plist::Dictionary, FrameError> {
    let mut body = dict(extra);
    body.insert("Label".into(), text("sim_faults"));
    body.insert("Request".into(), text(name));
    plist_frame::write(s, &body).await?;
    within(name, plist_frame::read_dict(s, plist_frame::MAX_FRAME)).await
}

fn error_of(reply: &plist::Dictionary) -> Option<&str> {
    reply.get("Error").and_then(|v| v.as_string())
}

/// The host side of lockdown TLS, as synccheck's device layer sets it up.
fn connector(record: &plist::Dictionary) -> TlsConnector {
    let record = synccheck_device::pairing::PairRecord::from_dictionary(record).unwrap();
    TlsConnector::from(synccheck_device::tls::client_config(&record).unwrap())
}

/// Sends StartSession for the record's HostID and returns the reply (TLS not yet started).
async fn start_session(s: &mut UnixStream, record: &plist::Dictionary) -> plist::Dictionary {
    request(
        s,
        "StartSession",
        &[
            ("HostID", record["HostID"].clone()),
            ("SystemBUID", record["SystemBUID"].clone()),
        ],
    )
    .await
    .unwrap()
}

fn tls_handshake(
    s: UnixStream,
    record: &plist::Dictionary,
) -> impl Future<Output = std::io::Result<TlsStream<UnixStream>>> {
    let name = ServerName::try_from("iphone").unwrap();
    connector(record).connect(name, s)
}

/// Lockdown of `device` in a TLS session opened with usbmuxd's pair record.
async fn session(sim: &Sim, device: u64, udid: &str) -> TlsStream<UnixStream> {
    let record = read_pair_record(sim, udid)
        .await
        .unwrap_or_else(|n| panic!("no pair record for {udid}: {n}"));
    let mut s = lockdown(sim, device).await;
    let reply = start_session(&mut s, &record).await;
    assert_eq!(
        reply.get("EnableSessionSSL"),
        Some(&true.into()),
        "{reply:?}"
    );
    within("TLS handshake", tls_handshake(s, &record))
        .await
        .expect("TLS session")
}

fn healthy_value(key: &str) -> plist::Value {
    snapshot::load_file(&fixture("healthy.plist"))
        .unwrap()
        .lockdown[key]
        .clone()
}

// ---- the faults ------------------------------------------------------------------------------

#[tokio::test]
async fn not_paired_phone_has_no_record_and_pairs_once_the_user_trusts() {
    let sim = start_sim(1, &["--fault", "not-paired", "--trust-after", "1"]);
    let devices = list_devices(&sim).await;
    let (id, udid) = devices[0].clone();
    assert_eq!(
        read_pair_record(&sim, &udid).await.unwrap_err(),
        usbmux::RESULT_BAD_DEVICE,
        "usbmuxd answers a missing pair record with 2 (ENOENT)"
    );

    // A pairing made the way a host makes one: its own root and host certificates, and a
    // device certificate for the key the phone gives before any session. The phone presents
    // that certificate in TLS, so it must be for the phone's own key.
    let host = tokio::task::spawn_blocking(HostIdentity::generate)
        .await
        .unwrap()
        .unwrap();
    let mut s = lockdown(&sim, id).await;
    let key = request(&mut s, "GetValue", &[("Key", text("DevicePublicKey"))])
        .await
        .unwrap();
    let key = key["Value"].as_data().expect("DevicePublicKey").to_vec();
    let pairing = host
        .pair_with_device_key(&key, "02:00:00:00:00:01")
        .unwrap();
    let sent = pairing.request();
    let mut record = pairing.into_record(Vec::new()).to_dictionary();
    let pair_request = [
        ("PairRecord", plist::Value::Dictionary(sent.clone())),
        ("ProtocolVersion", text("2")),
        (
            "PairingOptions",
            plist::Value::Dictionary(dict(&[("ExtendedPairingErrors", true.into())])),
        ),
    ];

    let reply = start_session(&mut s, &record).await;
    assert_eq!(error_of(&reply), Some("InvalidHostID"), "{reply:?}");
    let reply = request(
        &mut s,
        "ValidatePair",
        &[("PairRecord", sent.clone().into())],
    )
    .await
    .unwrap();
    assert_eq!(error_of(&reply), Some("InvalidHostID"), "{reply:?}");

    let first_pair = Instant::now();
    let reply = request(&mut s, "Pair", &pair_request).await.unwrap();
    assert_eq!(
        error_of(&reply),
        Some("PairingDialogResponsePending"),
        "{reply:?}"
    );
    let reply = request(&mut s, "Pair", &pair_request).await.unwrap();
    assert_eq!(
        error_of(&reply),
        Some("PairingDialogResponsePending"),
        "{reply:?}"
    );

    // --trust-after 1: the user taps Trust a second after the first request.
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(first_pair.elapsed())).await;
    let reply = request(&mut s, "Pair", &pair_request).await.unwrap();
    assert_eq!(error_of(&reply), None, "{reply:?}");
    let escrow = reply.get("EscrowBag").and_then(|v| v.as_data());
    assert!(escrow.is_some_and(|e| !e.is_empty()), "{reply:?}");
    record.insert(
        "EscrowBag".into(),
        plist::Value::Data(escrow.unwrap().to_vec()),
    );

    // The client keeps the record with usbmuxd, and from then on the phone is paired.
    let mut xml = Vec::new();
    plist::Value::Dictionary(record.clone())
        .to_writer_xml(&mut xml)
        .unwrap();
    let mut m = mux(&sim).await;
    let saved = mux_request(
        &mut m,
        "SavePairRecord",
        &[
            ("PairRecordID", text(&udid)),
            ("PairRecordData", plist::Value::Data(xml)),
            ("DeviceID", id.into()),
        ],
    )
    .await;
    assert_eq!(number(&saved), Some(0));
    let mut tls = session(&sim, id, &udid).await;
    let reply = request(&mut tls, "GetValue", &[("Key", text("SerialNumber"))])
        .await
        .unwrap();
    assert_eq!(reply.get("Value"), Some(&healthy_value("SerialNumber")));
}

#[tokio::test]
async fn denied_and_locked_phones_refuse_to_pair_each_in_its_own_words() {
    let sim = start_sim(
        2,
        &[
            "--fault",
            "user-denied@1",
            "--fault",
            "password-protected@2",
        ],
    );
    let host = tokio::task::spawn_blocking(HostIdentity::generate)
        .await
        .unwrap()
        .unwrap();
    let mut sent = host
        .pair_new_device("02:00:00:00:00:01")
        .unwrap()
        .record
        .to_dictionary();
    sent.remove("HostPrivateKey");
    sent.remove("RootPrivateKey");
    for ((id, udid), expected) in list_devices(&sim)
        .await
        .into_iter()
        .zip(["UserDeniedPairing", "PasswordProtected"])
    {
        assert_eq!(read_pair_record(&sim, &udid).await.unwrap_err(), 2);
        let mut s = lockdown(&sim, id).await;
        for _ in 0..2 {
            let reply = request(&mut s, "Pair", &[("PairRecord", sent.clone().into())])
                .await
                .unwrap();
            assert_eq!(error_of(&reply), Some(expected), "device {id}: {reply:?}");
        }
    }
}

#[tokio::test]
async fn unplug_after_three_requests_detaches_the_phone_and_closes_its_connections() {
    let sim = start_sim(2, &["--fault", "unplug-after=3@1"]);
    let mut listener = mux(&sim).await;
    let reply = mux_request(&mut listener, "Listen", &[]).await;
    assert_eq!(number(&reply), Some(0));
    for _ in 0..2 {
        let attached = mux_read(&mut listener).await.unwrap();
        assert_eq!(attached["MessageType"].as_string(), Some("Attached"));
    }

    // Counted across connections: two requests on one, the third on another.
    let mut first = lockdown(&sim, 1).await;
    let mut second = lockdown(&sim, 1).await;
    let mut other_phone = lockdown(&sim, 2).await;
    for _ in 0..2 {
        let reply = request(&mut first, "QueryType", &[]).await.unwrap();
        assert_eq!(reply["Type"].as_string(), Some("com.apple.mobile.lockdown"));
    }
    let reply = request(&mut second, "QueryType", &[]).await.unwrap();
    assert_eq!(reply["Type"].as_string(), Some("com.apple.mobile.lockdown"));

    let detached = mux_read(&mut listener).await.unwrap();
    assert_eq!(detached["MessageType"].as_string(), Some("Detached"));
    assert_eq!(detached["DeviceID"].as_unsigned_integer(), Some(1));
    for (name, s) in [("first", &mut first), ("second", &mut second)] {
        let got = within(name, plist_frame::read_dict(s, plist_frame::MAX_FRAME)).await;
        assert!(matches!(got, Err(FrameError::Closed)), "{name}: {got:?}");
    }
    let ids: Vec<u64> = list_devices(&sim).await.into_iter().map(|d| d.0).collect();
    assert_eq!(
        ids,
        vec![2],
        "ListDevices no longer lists the unplugged phone"
    );
    assert_eq!(
        connect(&sim, 1, LOCKDOWN_PORT).await.unwrap_err(),
        usbmux::RESULT_BAD_DEVICE
    );
    // The other phone is still on the bus, connection and all.
    let reply = request(&mut other_phone, "QueryType", &[]).await.unwrap();
    assert_eq!(reply["Type"].as_string(), Some("com.apple.mobile.lockdown"));
}

#[tokio::test]
async fn latency_and_garbage_on_device_two_leave_device_one_alone() {
    const LATENCY: Duration = Duration::from_millis(800);
    let sim = start_sim(2, &["--fault", "latency=800@2", "--fault", "garbage@2"]);
    let devices = list_devices(&sim).await;

    let mut well = lockdown(&sim, devices[0].0).await;
    let started = Instant::now();
    request(&mut well, "QueryType", &[]).await.unwrap();
    assert!(
        started.elapsed() < LATENCY,
        "device 1 took {:?}",
        started.elapsed()
    );

    let mut slow = lockdown(&sim, devices[1].0).await;
    let started = Instant::now();
    request(&mut slow, "QueryType", &[]).await.unwrap();
    assert!(
        started.elapsed() >= LATENCY,
        "device 2 took {:?}",
        started.elapsed()
    );

    // garbage: the first GetValue of a session comes back as a frame that is no plist.
    let mut tls = session(&sim, devices[1].0, &devices[1].1).await;
    let got = request(&mut tls, "GetValue", &[("Key", text("SerialNumber"))]).await;
    assert!(matches!(got, Err(FrameError::NotPlist(_))), "{got:?}");

    let mut tls = session(&sim, devices[0].0, &devices[0].1).await;
    let reply = request(&mut tls, "GetValue", &[("Key", text("SerialNumber"))])
        .await
        .unwrap();
    assert_eq!(reply.get("Value"), Some(&healthy_value("SerialNumber")));
}

#[tokio::test]
async fn huge_length_is_refused_by_the_shared_codec_without_hanging() {
    let sim = start_sim(1, &["--fault", "huge-length"]);
    let (id, udid) = list_devices(&sim).await.remove(0);
    let mut tls = session(&sim, id, &udid).await;
    let got = request(&mut tls, "GetValue", &[]).await;
    assert!(
        matches!(
            got,
            Err(FrameError::TooLarge {
                len: 0xFFFF_FFF0,
                ..
            })
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn slow_tls_outlasts_a_two_second_handshake_timeout() {
    let sim = start_sim(1, &["--fault", "slow-tls"]);
    let (id, udid) = list_devices(&sim).await.remove(0);
    let record = read_pair_record(&sim, &udid).await.unwrap();
    let mut s = lockdown(&sim, id).await;
    let reply = start_session(&mut s, &record).await;
    assert_eq!(reply.get("EnableSessionSSL"), Some(&true.into()));
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(2), tls_handshake(s, &record)).await;
    assert!(
        got.is_err(),
        "the handshake finished: {:?}",
        got.map(|r| r.is_ok())
    );
    assert!(started.elapsed() < NET_TIMEOUT);
    // The stalled session holds up nobody else.
    let mut again = lockdown(&sim, id).await;
    request(&mut again, "QueryType", &[]).await.unwrap();
}

#[test]
fn bad_fault_arguments_are_usage_errors() {
    for (args, expected) in [
        (vec!["--fault", "unplug"], "unknown fault mode `unplug`"),
        (vec!["--fault", "latency"], "needs a value"),
        (vec!["--fault", "garbage=yes"], "takes no value"),
        (vec!["--fault", "garbage@0"], "not a device number"),
        (vec!["--fault", "garbage@2"], "no device 2"),
        (vec!["--trust-after", "5"], "--trust-after only matters"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_synccheck"))
            .arg("sim")
            .arg("--socket")
            .arg("/nonexistent-dir/never-bound.sock")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

// ---- libimobiledevice ------------------------------------------------------------------------

fn tools_present() -> bool {
    common::libimobiledevice_present(&["idevicepair", "ideviceinfo"])
}

/// Runs a tool against the simulator: (success, stdout and stderr together).
fn run(sim: &Sim, tool: &str, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = common::run_tool(&sim.address, tool, args, TOOL_TIMEOUT);
    (ok, out + &err)
}

#[test]
fn idevicepair_waits_for_the_trust_dialog_then_ideviceinfo_reads_the_phone() {
    if !tools_present() {
        return;
    }
    // ideviceinfo already asks to pair (libimobiledevice pairs when it has no record), which
    // opens the dialog; the simulated user taps Trust 5 s later. Generous, so a loaded machine
    // still runs the first idevicepair while the dialog is up.
    let sim = start_sim(1, &["--fault", "not-paired", "--trust-after", "5"]);
    let (ok, out) = run(&sim, "ideviceinfo", &["-k", "SerialNumber"]);
    assert!(!ok, "an unpaired phone gave its serial number: {out}");
    let (ok, out) = run(&sim, "idevicepair", &["pair"]);
    assert!(!ok && out.contains("accept the trust dialog"), "{out}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out) = run(&sim, "idevicepair", &["pair"]);
        if ok {
            assert!(out.contains("SUCCESS"), "{out}");
            break;
        }
        assert!(
            out.contains("accept the trust dialog") && std::time::Instant::now() < deadline,
            "{out}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, out) = run(&sim, "ideviceinfo", &["-k", "SerialNumber"]);
    assert!(ok, "{out}");
    assert_eq!(
        out.trim(),
        healthy_value("SerialNumber").as_string().unwrap()
    );
}

#[test]
fn idevicepair_explains_denied_locked_and_pending_phones() {
    if !tools_present() {
        return;
    }
    let sim = start_sim(
        3,
        &[
            "--fault",
            "user-denied@1",
            "--fault",
            "password-protected@2",
            "--fault",
            "not-paired@3",
        ],
    );
    let (_, ids) = run(&sim, "idevice_id", &["-l"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for (udid, expected) in ids.iter().zip([
        "denied the trust dialog",
        "passcode is set",
        "accept the trust dialog",
    ]) {
        let (ok, out) = run(&sim, "idevicepair", &["-u", udid, "pair"]);
        assert!(!ok && out.contains(expected), "{udid}: {out}");
    }
}
