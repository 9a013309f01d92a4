//! The local stack's errors: what a developer can act on is a variant of its own (another stack
//! holds the directory, a port is taken, a child process died); the rest carries its context.

use std::path::PathBuf;

/// Why the local stack could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another local stack runs with the same state directory.
    #[error(
        "a local stack is already running (pid {pid}, lock file {}).\n\
         Use that stack, or stop it (Ctrl-C in its terminal, or `kill {pid}`) first.",
        lock_file.display()
    )]
    AlreadyRunning {
        /// The process holding the lock.
        pid: u32,
        /// The lock file.
        lock_file: PathBuf,
    },
    /// A port the stack needs is taken.
    #[error(
        "port {port} ({what}) is in use ({reason}): is another `cargo xtask dev` or another \
         server running? Stop it, or choose another port with {flag}."
    )]
    PortInUse {
        /// The port.
        port: u16,
        /// What the stack wanted it for.
        what: &'static str,
        /// The option that changes it.
        flag: &'static str,
        /// The operating system's answer.
        reason: String,
    },
    /// A process of the stack (the emulator, the engine) exited on its own.
    #[error("{what} stopped unexpectedly ({status}); see its log")]
    ChildExited {
        /// Which process.
        what: &'static str,
        /// How it ended.
        status: String,
    },
    /// The template could not be read or resolved.
    #[error(transparent)]
    Template(#[from] crate::cfn::ResolveError),
    /// Anything else, with the context of what was being done.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// The local stack's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Other(err.into())
    }
}
