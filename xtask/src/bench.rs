//! `cargo xtask bench`: the engine's speed figures (docs/engine.md), measured in one run.
//!
//! Builds the engine's `bench` example with the `bench` profile (release at opt-level 3; the
//! release profile itself is tuned for small Lambda binaries), starts a moto server on a free
//! loopback port (for the side-by-side comparison with moto's Step Functions interpreter), runs the
//! example, which prints the figures table: in-process transitions/s, endpoint executions/s
//! (StartSyncExecution over loopback), and transitions/s of the same definitions on moto and on
//! this engine. See `asl-engine/examples/bench.rs` for what each figure measures.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools;
use local_stack::emulator::Moto;
use local_stack::{process, workspace};

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// A short run (about a tenth of the work), for CI.
    #[arg(long)]
    pub quick: bool,
    /// Concurrent StartSyncExecution callers for the endpoint figure.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Skip the comparison with moto (no emulator started).
    #[arg(long)]
    pub no_moto: bool,
    /// Fail when a speed target is missed (500,000 transitions/s in process, 5,000
    /// executions/s through the endpoint, 100x moto).
    #[arg(long)]
    pub strict: bool,
}

/// The whole command may not take longer than this (the build excluded).
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Runs the benchmark; `Ok(true)` when it completed (and, with `--strict`, met its targets).
pub fn run(root: &Path, options: &Options) -> Result<bool> {
    process::install_signal_handlers();
    let built = process::run(workspace::cargo().current_dir(root).args([
        "build",
        "--profile",
        "bench",
        "-p",
        "asl-engine",
        "--example",
        "bench",
    ]))?;
    if !built {
        return Ok(false);
    }
    let binary = workspace::target_dir(root).join("release/examples/bench");
    if !binary.exists() {
        bail!("{} was not built", binary.display());
    }

    let work_dir = workspace::target_dir(root).join("xtask");
    std::fs::create_dir_all(&work_dir)?;
    let mut moto = if options.no_moto {
        None
    } else {
        let moto_server = tools::ensure_moto(root)?;
        let moto = Moto::start(&moto_server, &work_dir.join("bench-moto.log"))?;
        eprintln!(
            "xtask: moto server at {} (log: {})",
            moto.endpoint(),
            work_dir.join("bench-moto.log").display()
        );
        Some(moto)
    };

    let mut cmd = Command::new(&binary);
    cmd.current_dir(root)
        .args(["--clients", &options.clients.to_string()])
        .stdin(Stdio::null());
    if options.quick {
        cmd.arg("--quick");
    }
    if options.strict {
        cmd.arg("--strict");
    }
    if let Some(m) = &moto {
        cmd.args(["--moto", &m.endpoint()]);
    }
    let result = run_bounded(&mut cmd, RUN_LIMIT);
    if let Some(m) = moto.as_mut() {
        m.stop();
    }
    result
}

/// Runs `cmd` with inherited output, killing it after `limit`.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<bool> {
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    eprintln!(
        "xtask: $ {} {}",
        cmd.get_program().to_string_lossy(),
        args.join(" ")
    );
    let mut child = cmd.spawn().context("starting the bench runner")?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the bench runner took longer than {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
