//! Running child processes, and cleaning them up when xtask is interrupted (Ctrl-C, SIGTERM, SIGHUP).
//!
//! No signal crate: on Unix a tiny handler (through the C library that std links anyway) sends
//! SIGTERM to the registered emulator and to the running child, then exits with 128 + signal.
//! Both calls are async-signal-safe (see signal-safety(7)).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};

static EMULATOR_PID: AtomicI32 = AtomicI32::new(0);
static CHILD_PID: AtomicI32 = AtomicI32::new(0);
static STACK_PID: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
mod sys {
    extern "C" {
        pub fn signal(signum: i32, handler: usize) -> usize;
        pub fn kill(pid: i32, sig: i32) -> i32;
        pub fn _exit(status: i32) -> !;
    }
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}

#[cfg(unix)]
extern "C" fn on_signal(signum: i32) {
    for pid in [
        CHILD_PID.load(Ordering::SeqCst),
        EMULATOR_PID.load(Ordering::SeqCst),
        STACK_PID.load(Ordering::SeqCst),
    ] {
        if pid > 0 {
            // SAFETY: kill(2) is async-signal-safe; the pid is one of our own children.
            unsafe { sys::kill(pid, sys::SIGTERM) };
        }
    }
    // SAFETY: _exit(2) is async-signal-safe and never returns.
    unsafe { sys::_exit(128 + signum) }
}

/// Makes Ctrl-C, SIGTERM and SIGHUP stop the emulator and the running child before xtask exits.
pub fn install_signal_handlers() {
    #[cfg(unix)]
    for signum in [sys::SIGHUP, sys::SIGINT, sys::SIGTERM] {
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe { sys::signal(signum, on_signal as extern "C" fn(i32) as usize) };
    }
}

/// Registers (or, with `None`, forgets) the emulator the signal handler must stop.
pub fn register_emulator(pid: Option<u32>) {
    EMULATOR_PID.store(pid.map_or(0, |p| p as i32), Ordering::SeqCst);
}

/// Registers (or, with `None`, forgets) a background `cargo xtask dev` the signal handler must stop.
pub fn register_stack(pid: Option<u32>) {
    STACK_PID.store(pid.map_or(0, |p| p as i32), Ordering::SeqCst);
}

/// Asks a child process to stop (SIGTERM), so it can clean up its own children.
pub fn terminate(child: &Child) {
    #[cfg(unix)]
    // SAFETY: kill(2) on the pid of a child we started and have not reaped yet.
    unsafe {
        sys::kill(child.id() as i32, sys::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child;
}

fn wait_registered(mut child: Child) -> Result<ExitStatus> {
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
    let status = child.wait();
    CHILD_PID.store(0, Ordering::SeqCst);
    Ok(status?)
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs a command with inherited output; `Ok(true)` if it exited successfully.
pub fn run(cmd: &mut Command) -> Result<bool> {
    eprintln!("xtask: $ {}", describe(cmd));
    let child = cmd
        .spawn()
        .with_context(|| format!("starting `{}`", describe(cmd)))?;
    Ok(wait_registered(child)?.success())
}

/// Which output stream of a child [`run_scanned`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Runs a command, copying one of its streams through line by line and handing every line to
/// `scan` (to pick out test counts). Returns whether it exited successfully.
pub fn run_scanned(cmd: &mut Command, stream: Stream, mut scan: impl FnMut(&str)) -> Result<bool> {
    eprintln!("xtask: $ {}", describe(cmd));
    match stream {
        Stream::Stdout => cmd.stdout(Stdio::piped()),
        Stream::Stderr => cmd.stderr(Stdio::piped()),
    };
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting `{}`", describe(cmd)))?;
    let pipe: Box<dyn Read> = match stream {
        Stream::Stdout => Box::new(child.stdout.take().expect("stdout is piped")),
        Stream::Stderr => Box::new(child.stderr.take().expect("stderr is piped")),
    };
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let _ = match stream {
            Stream::Stdout => std::io::stdout().write_all(&line),
            Stream::Stderr => std::io::stderr().write_all(&line),
        };
        scan(&String::from_utf8_lossy(&line));
    }
    wait_registered(child).map(|s| s.success())
}
