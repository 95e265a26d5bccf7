//! `synccheck demo`: the built-in simulated iPhone, started in-process on a private socket, then
//! scanned through that socket exactly as a real phone is. A new user sees what synccheck finds
//! without owning a phone, and the whole device path runs.

use std::time::Duration;

use synccheck_core::snapshot;
use synccheck_device::{ScanOptions, Usbmuxd, UsbmuxdAddress};
use synccheck_report::pipeline;
use synccheck_sim::{self as sim, ListenAddr, SimConfig, SimDevice};

use super::args::DemoArgs;
use super::error::CliError;
use super::live::{self, StatusBoard};
use super::report;

pub fn run(args: DemoArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    // A directory only this user can enter: the simulator hands out pair records with keys.
    let dir = tempfile::Builder::new()
        .prefix("synccheck-demo-")
        .tempdir()
        .map_err(CliError::Runtime)?;
    let socket = dir.path().join("usbmuxd.sock");
    let board = StatusBoard::new();
    let snap = live::runtime()?.block_on(async {
        let handle = sim::start(SimConfig {
            // Replayed now, so the demo phone's photo story reads the same on any day.
            devices: vec![SimDevice::new(
                snapshot::builtin_demo().replayed_at(std::time::SystemTime::now()),
            )],
            listen: ListenAddr::Unix(socket.clone()),
        })
        .await?;
        let mux = Usbmuxd::new(UsbmuxdAddress::Unix(socket), Duration::from_secs(10));
        let read = async {
            let devices = live::select(&mux, None).await?;
            let mut results = live::read_all(
                &mux,
                &devices,
                ScanOptions::default(),
                &board,
                args.report.redact,
            )
            .await;
            results.remove(0)
        };
        let result = read.await;
        handle.shutdown().await;
        result.map_err(CliError::Device)
    })?;
    drop(board);
    let origin = "the built-in simulated iPhone";
    let report = pipeline::report_for(&snap, origin, &ctx, args.report.redact);
    // The customer's sheet of the demo phone, so a newcomer sees it without a phone.
    if let Some(path) = &args.html.html {
        super::html::write_reports(path, std::slice::from_ref(&report))?;
    }
    report::print(&args.report, &[report])
}
