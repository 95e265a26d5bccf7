//! The device layer against the simulator, in-process: a capture returns what the simulator
//! serves, value for value.

mod common;

use std::path::Path;
use std::time::Duration;

use synccheck_core::snapshot::{self, Snapshot};
use synccheck_device::photos::PhotoScope;
use synccheck_device::{capture, Usbmuxd, UsbmuxdAddress};
use synccheck_sim::{self as sim, ListenAddr, SimConfig, SimDevice};

fn fixture(name: &str) -> Snapshot {
    snapshot::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

/// Serves `original` and captures it.
async fn capture_of(original: Snapshot) -> Snapshot {
    common::capture_in_process(original).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_my_is_asked_by_key_and_its_absence_or_odd_type_costs_nothing() {
    use synccheck_core::facts::{Catalog, DeviceFacts};
    let healthy = fixture("healthy.plist");
    assert_eq!(
        healthy.domain("com.apple.fmip").unwrap()["IsAssociated"],
        plist::Value::Boolean(true)
    );
    let snap = capture_of(healthy.clone()).await;
    assert_eq!(
        snap.domain("com.apple.fmip"),
        healthy.domain("com.apple.fmip")
    );

    // A phone without the domain answers MissingValue: the scan goes on without it.
    let mut without = healthy.clone();
    without.domains.remove("com.apple.fmip");
    let snap = capture_of(without).await;
    assert!(snap.domain("com.apple.fmip").is_none());
    let facts = DeviceFacts::from_snapshot(&snap, Catalog::builtin());
    assert_eq!(facts.account.find_my_associated, None);

    // A value of another type is kept as sent; the fact is unknown, with the reason.
    let mut odd = healthy.clone();
    odd.domains
        .get_mut("com.apple.fmip")
        .unwrap()
        .insert("IsAssociated".into(), plist::Value::String("YES".into()));
    let snap = capture_of(odd).await;
    assert_eq!(
        snap.domain("com.apple.fmip").unwrap()["IsAssociated"],
        plist::Value::String("YES".into())
    );
    let facts = DeviceFacts::from_snapshot(&snap, Catalog::builtin());
    assert_eq!(facts.account.find_my_associated, None);
    assert!(facts
        .refused_values
        .iter()
        .any(|r| r.key == "Domains/com.apple.fmip/IsAssociated"));
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
    assert_eq!(
        snap.connection,
        Some(synccheck_core::snapshot::Connection::Usb)
    );
    handle.shutdown().await;
}

/// Our own lockdown client against the simulator: Find My's IsAssociated answers when asked by
/// key, a whole-domain query leaves it out, and a key the phone does not have is no value among
/// the pipelined answers, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_lockdown_client_gets_is_associated_only_by_key() {
    use synccheck_device::{tls, Lockdown, ValueQuery, LOCKDOWN_PORT};
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mux.sock");
    let handle = sim::start(SimConfig {
        devices: vec![SimDevice::new(fixture("healthy.plist"))],
        listen: ListenAddr::Unix(socket.clone()),
    })
    .await
    .unwrap();
    let timeout = Duration::from_secs(10);
    let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), timeout);
    let device = mux.list_devices().await.unwrap().remove(0);
    let record = mux.read_pair_record(&device.udid).await.unwrap().unwrap();
    let stream = mux
        .connect(device.device_id, LOCKDOWN_PORT, "lockdownd")
        .await
        .unwrap();
    let config = tls::client_config(&record).unwrap();
    let mut lockdown = Lockdown::new(stream, timeout)
        .start_session(&record, config)
        .await
        .unwrap();
    let fmip = Some("com.apple.fmip");
    let values = lockdown
        .get_each_value(&[
            ValueQuery {
                domain: fmip,
                key: None,
            },
            ValueQuery {
                domain: fmip,
                key: Some("IsAssociated"),
            },
            ValueQuery {
                domain: fmip,
                key: Some("NoSuchKey"),
            },
            ValueQuery {
                domain: None,
                key: Some("ProductType"),
            },
        ])
        .await
        .unwrap();
    let values: Vec<_> = values.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        values[0],
        Some(plist::Value::Dictionary(plist::Dictionary::new())),
        "the whole domain leaves IsAssociated out"
    );
    assert_eq!(values[1], Some(plist::Value::Boolean(true)));
    assert_eq!(values[2], None, "MissingValue is no value, not an error");
    assert_eq!(values[3], Some(plist::Value::String("iPhone16,1".into())));
    handle.shutdown().await;
}
