//! `synccheck demo`: the built-in simulated iPhone, started in-process on a private socket, and
//! a scan of it. A new user sees what synccheck finds without owning a phone.
//!
//! Until the live scan exists (issue 4) the demo evaluates the snapshot the simulator serves;
//! the simulator still starts, so the demo proves the socket comes up on this machine.

use synccheck::pipeline;
use synccheck::sim::{self, ListenAddr, SimConfig, SimDevice};
use synccheck::snapshot;

use super::args::DemoArgs;
use super::error::CliError;
use super::report;

pub fn run(args: DemoArgs) -> Result<i32, CliError> {
    let ctx = report::context(&args.report)?;
    // A directory only this user can enter: the simulator hands out pair records with keys.
    let dir = tempfile::Builder::new()
        .prefix("synccheck-demo-")
        .tempdir()
        .map_err(CliError::Runtime)?;
    let socket = dir.path().join("usbmuxd.sock");
    let snap = snapshot::builtin_demo();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let reports = runtime.block_on(async {
        let handle = sim::start(SimConfig {
            devices: vec![SimDevice::new(snap.clone())],
            listen: ListenAddr::Unix(socket),
        })
        .await?;
        tracing::debug!(address = handle.address(), "demo simulator serving");
        let origin = "the built-in simulated iPhone";
        let report = pipeline::report_for(&snap, origin, &ctx, args.report.redact);
        handle.shutdown().await;
        report.map_err(|source| CliError::Facts {
            path: "data/demo-iphone.plist".into(),
            source,
        })
    })?;
    report::print(&args.report, &[reports])
}
