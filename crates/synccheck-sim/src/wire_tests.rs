//! The simulator against the idevice client (a third-party Rust client, used only here, as a
//! dev-dependency: synccheck's own device layer is synccheck-device) and against hand-made
//! bad input on the raw sockets.

use std::path::Path;

use idevice::lockdown::LockdownClient;
use idevice::services::diagnostics_relay::DiagnosticsRelayClient;
use idevice::usbmuxd::{UsbmuxdAddr, UsbmuxdConnection};
use idevice::IdeviceService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::*;
use synccheck_core::snapshot;

fn healthy() -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("fixtures/healthy.plist");
    snapshot::load_file(&path).unwrap()
}

async fn start_on(dir: &Path) -> (SimHandle, PathBuf) {
    let socket = dir.join("mux.sock");
    let handle = start(SimConfig {
        devices: vec![SimDevice::new(healthy())],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    (handle, socket)
}

async fn mux_request(s: &mut UnixStream, tag: u32, body: plist::Dictionary) -> plist::Dictionary {
    let mut xml = Vec::new();
    plist::Value::Dictionary(body)
        .to_writer_xml(&mut xml)
        .unwrap();
    let mut msg = Vec::new();
    for word in [16 + xml.len() as u32, 1, 8, tag] {
        msg.extend_from_slice(&word.to_le_bytes());
    }
    msg.extend_from_slice(&xml);
    s.write_all(&msg).await.unwrap();
    let mut head = [0u8; 16];
    s.read_exact(&mut head).await.unwrap();
    let len = u32::from_le_bytes(head[0..4].try_into().unwrap()) as usize;
    assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), tag);
    let mut payload = vec![0u8; len - 16];
    s.read_exact(&mut payload).await.unwrap();
    plist::from_bytes(&payload).unwrap()
}

fn msg(kind: &str) -> plist::Dictionary {
    let mut d = plist::Dictionary::new();
    d.insert("MessageType".into(), kind.into());
    d
}

fn result_number(d: &plist::Dictionary) -> u64 {
    d["Number"].as_unsigned_integer().unwrap()
}

/// Opens a raw stream to a device port through usbmuxd.
async fn connect_port(socket: &Path, device: u64, port: u16) -> Result<UnixStream, u64> {
    let mut s = UnixStream::connect(socket).await.unwrap();
    let mut req = msg("Connect");
    req.insert("DeviceID".into(), device.into());
    req.insert("PortNumber".into(), u64::from(port.swap_bytes()).into());
    match result_number(&mux_request(&mut s, 3, req).await) {
        0 => Ok(s),
        n => Err(n),
    }
}

async fn lockdown_request(s: &mut UnixStream, body: plist::Dictionary) -> plist::Dictionary {
    let mut xml = Vec::new();
    plist::Value::Dictionary(body)
        .to_writer_xml(&mut xml)
        .unwrap();
    s.write_all(&(xml.len() as u32).to_be_bytes())
        .await
        .unwrap();
    s.write_all(&xml).await.unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).await.unwrap();
    plist::from_bytes(&payload).unwrap()
}

fn request(name: &str) -> plist::Dictionary {
    let mut d = plist::Dictionary::new();
    d.insert("Request".into(), name.into());
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idevice_reads_lockdown_and_battery_through_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, socket) = start_on(dir.path()).await;
    let snap = healthy();
    let addr = UsbmuxdAddr::UnixSocket(socket.display().to_string());

    let mut mux = UsbmuxdConnection::new(addr.to_socket().await.unwrap(), 1);
    let devices = mux.get_devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].udid, handle.udids()[0]);
    let pairing = mux.get_pair_record(&devices[0].udid).await.unwrap();
    let provider = devices[0].to_provider(addr, "synccheck-test");

    let mut lockdown = LockdownClient::connect(&provider).await.unwrap();
    lockdown.start_session(&pairing).await.unwrap();
    let serial = lockdown
        .get_value(Some("SerialNumber"), None)
        .await
        .unwrap();
    assert_eq!(Some(&serial), snap.lockdown.get("SerialNumber"));
    let battery = lockdown
        .get_value(None, Some(snapshot::BATTERY_DOMAIN))
        .await
        .unwrap();
    assert_eq!(
        battery.as_dictionary(),
        snap.domain(snapshot::BATTERY_DOMAIN)
    );
    // Find My answers only when asked by key, as a phone does.
    let associated = lockdown
        .get_value(
            Some(snapshot::FMIP_IS_ASSOCIATED),
            Some(snapshot::FMIP_DOMAIN),
        )
        .await
        .unwrap();
    assert_eq!(associated, plist::Value::Boolean(true));
    let whole = lockdown
        .get_value(None, Some(snapshot::FMIP_DOMAIN))
        .await
        .unwrap();
    assert_eq!(whole, plist::Value::Dictionary(plist::Dictionary::new()));

    let mut diag = DiagnosticsRelayClient::connect(&provider).await.unwrap();
    let entry = diag
        .ioregistry(None, None, Some("IOPMPowerSource"))
        .await
        .unwrap();
    assert_eq!(entry.as_ref(), snap.smart_battery());
    diag.goodbye().await.unwrap();
    handle.shutdown().await;
    assert!(!socket.exists(), "the socket file is removed on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usbmuxd_answers_with_its_result_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, socket) = start_on(dir.path()).await;
    let mut s = UnixStream::connect(&socket).await.unwrap();

    let buid = mux_request(&mut s, 1, msg("ReadBUID")).await;
    assert_eq!(buid["BUID"].as_string().unwrap().len(), 36);

    let mut read = msg("ReadPairRecord");
    read.insert("PairRecordID".into(), "not-a-phone".into());
    assert_eq!(result_number(&mux_request(&mut s, 2, read).await), 2);

    let mut save = msg("SavePairRecord");
    save.insert("PairRecordID".into(), "other".into());
    save.insert("PairRecordData".into(), plist::Value::Data(b"x".to_vec()));
    assert_eq!(result_number(&mux_request(&mut s, 3, save).await), 0);
    let mut delete = msg("DeletePairRecord");
    delete.insert("PairRecordID".into(), "other".into());
    assert_eq!(result_number(&mux_request(&mut s, 4, delete).await), 0);

    assert_eq!(connect_port(&socket, 9, 62078).await.err(), Some(2));
    assert_eq!(connect_port(&socket, 1, 1234).await.err(), Some(3));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockdown_keeps_private_values_for_a_session_and_checks_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, socket) = start_on(dir.path()).await;
    let mut s = connect_port(&socket, 1, 62078).await.unwrap();

    let query = lockdown_request(&mut s, request("QueryType")).await;
    assert_eq!(query["Type"].as_string(), Some("com.apple.mobile.lockdown"));

    let mut get = request("GetValue");
    get.insert("Key".into(), "SerialNumber".into());
    let r = lockdown_request(&mut s, get).await;
    assert_eq!(r["Error"].as_string(), Some("MissingValue"));

    let mut start = request("StartSession");
    start.insert(
        "HostID".into(),
        "00000000-0000-4000-8000-000000000000".into(),
    );
    let r = lockdown_request(&mut s, start).await;
    assert_eq!(r["Error"].as_string(), Some("InvalidHostID"));

    let r = lockdown_request(&mut s, request("StartService")).await;
    assert_eq!(r["Error"].as_string(), Some("SessionInactive"));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_drops_one_connection_and_the_rest_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, socket) = start_on(dir.path()).await;

    // usbmuxd: a 4 GB length in the header.
    let mut s = UnixStream::connect(&socket).await.unwrap();
    s.write_all(&[0xff; 16]).await.unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0, "connection closed");

    // lockdown: a 4 GB frame, then random bytes in a small frame.
    let mut s = connect_port(&socket, 1, 62078).await.unwrap();
    s.write_all(&[0xff, 0xff, 0xff, 0xf0]).await.unwrap();
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);
    let mut s = connect_port(&socket, 1, 62078).await.unwrap();
    s.write_all(&[0, 0, 0, 3, 1, 2, 3]).await.unwrap();
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);

    let mut s = UnixStream::connect(&socket).await.unwrap();
    let list = mux_request(&mut s, 7, msg("ListDevices")).await;
    assert_eq!(list["DeviceList"].as_array().unwrap().len(), 1);
    handle.shutdown().await;
}

/// An iPhone 7 that answers only by class: idevice (as pymobiledevice3 does) asks by class
/// IOPMPowerSource and gets the entry; asked by either entry name it gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_phone_answers_its_battery_by_class_only() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("fixtures/old/iphone7-powersource-class.plist");
    let snap = snapshot::load_file(&path).unwrap();
    let handle = start(SimConfig {
        devices: vec![SimDevice::new(snap.clone())],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    let addr = UsbmuxdAddr::UnixSocket(socket.display().to_string());
    let mut mux = UsbmuxdConnection::new(addr.to_socket().await.unwrap(), 1);
    let devices = mux.get_devices().await.unwrap();
    let provider = devices[0].to_provider(addr, "synccheck-test");
    let mut diag = DiagnosticsRelayClient::connect(&provider).await.unwrap();
    let by_class = diag
        .ioregistry(None, None, Some("IOPMPowerSource"))
        .await
        .unwrap();
    assert_eq!(by_class.as_ref(), snap.io_registry.get("IOPMPowerSource"));
    for name in ["AppleSmartBattery", "AppleARMPMUCharger", "IOPMPowerSource"] {
        let by_name = diag.ioregistry(None, Some(name), None).await.unwrap();
        assert!(by_name.is_none_or(|d| d.is_empty()), "{name}");
    }
    diag.goodbye().await.unwrap();
    handle.shutdown().await;
}
