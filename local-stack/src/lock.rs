//! One local stack per directory: a pid file in `.dev/`, and a check that the ports are free.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::{Error, Result};

/// The pid file; removed on drop.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock in `dir`, or explains which process holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("dev.pid");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    match text.trim().parse::<u32>() {
                        Ok(pid) if is_running(pid) => {
                            return Err(Error::AlreadyRunning {
                                pid,
                                lock_file: path,
                            })
                        }
                        // A stale lock of a process that is gone.
                        _ => std::fs::remove_file(&path).ok(),
                    };
                }
                Err(e) => {
                    return Err(anyhow::Error::from(e)
                        .context(format!("creating {}", path.display()))
                        .into())
                }
            }
        }
        Err(anyhow::anyhow!("could not take the lock {}", path.display()).into())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// True if a process with this pid runs (and, where `/proc` tells, is an xtask).
fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        return std::fs::read(proc.join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("xtask"))
            .unwrap_or(false);
    }
    true
}

/// Fails with a clear message if a loopback port is taken; `flag` names the option to change it.
pub fn check_port(port: u16, what: &'static str, flag: &'static str) -> Result<()> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::PortInUse {
            port,
            what,
            flag,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_lock_is_taken_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", uuid::Uuid::new_v4()));
        // A stale lock (pid that cannot be running).
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dev.pid"), "999999999\n").unwrap();
        let lock = Lock::acquire(&dir).unwrap();
        let pid: u32 = std::fs::read_to_string(dir.join("dev.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(pid, std::process::id());
        drop(lock);
        assert!(!dir.join("dev.pid").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_taken_port_is_reported_with_the_flag() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = check_port(port, "API", "--api-port")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--api-port") && error.contains(&port.to_string()),
            "{error}"
        );
    }
}
