//! The device layer against the simulator, in-process: a capture returns what the simulator
//! serves, value for value.

use std::path::Path;
use std::time::Duration;

use synccheck::device::photos::PhotoScope;
use synccheck::device::{capture, Usbmuxd, UsbmuxdAddress};
use synccheck::sim::{self, ListenAddr, SimConfig, SimDevice};
use synccheck::snapshot::{self, Snapshot};

fn fixture(name: &str) -> Snapshot {
    snapshot::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_returns_what_the_phone_serves() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let original = fixture("healthy.plist");
    let handle = sim::start(SimConfig {
        devices: vec![SimDevice::new(original.clone())],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();

    let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), Duration::from_secs(10));
    let devices = mux.list_devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    let udid = original.lockdown["UniqueDeviceID"].as_string().unwrap();
    assert_eq!(devices[0].udid, udid);

    let snap = tokio::time::timeout(
        Duration::from_secs(30),
        capture(
            &mux,
            &devices[0],
            Duration::from_secs(10),
            PhotoScope::Everything,
            &mut |_, _| {},
        ),
    )
    .await
    .expect("the capture finishes")
    .expect("the capture succeeds");
    // A phone also reports its own public key among the root values; the fixture has none.
    let mut lockdown = snap.lockdown.clone();
    assert!(lockdown.remove("DevicePublicKey").is_some());
    assert_eq!(lockdown, original.lockdown);
    assert_eq!(snap.domains, original.domains);
    assert_eq!(snap.io_registry, original.io_registry);
    assert_eq!(snap.connection, Some(synccheck::snapshot::Connection::Usb));
    handle.shutdown().await;
}
