//! A `cargo xtask dev` run as a child process on free ports (for the end-to-end tests and the
//! load run), stopped with SIGTERM so it stops its emulator and engine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use local_stack::emulator::free_port;
use local_stack::process;

/// A `cargo xtask dev` started in the background on free ports.
pub struct DevStackProcess {
    child: Option<std::process::Child>,
    dir: PathBuf,
    log: PathBuf,
}

impl DevStackProcess {
    /// Starts `xtask dev --dir <dir>` on free ports, logging to `log`; `purpose` names the
    /// caller in the progress line.
    pub fn start(root: &Path, dir: &Path, log: &Path, purpose: &str) -> Result<Self> {
        let (dir, log) = (dir.to_path_buf(), log.to_path_buf());
        std::fs::create_dir_all(&dir)?;
        let _ = std::fs::remove_file(dir.join("outputs.json"));
        let log_file = std::fs::File::create(&log)?;
        let exe = xtask_executable()?;
        let ports = [free_port()?, free_port()?, free_port()?];
        eprintln!(
            "xtask: starting the dev stack for {purpose} (log: {})",
            log.display()
        );
        let child = Command::new(exe)
            .current_dir(root)
            .args(["dev", "--dir"])
            .arg(&dir)
            .args(["--aws-port", &ports[0].to_string()])
            .args(["--api-port", &ports[1].to_string()])
            .args(["--sfn-port", &ports[2].to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting `xtask dev`")?;
        process::register_stack(Some(child.id()));
        Ok(DevStackProcess {
            child: Some(child),
            dir,
            log,
        })
    }

    /// Waits for the stack's outputs.json (it is written once everything answers).
    pub fn wait_ready(&mut self) -> Result<PathBuf> {
        let outputs = self.dir.join("outputs.json");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
        loop {
            if outputs.exists() {
                return Ok(outputs);
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    anyhow::bail!("`xtask dev` exited ({status}):\n{}", tail.join("\n"));
                }
            }
            if std::time::Instant::now() > deadline {
                anyhow::bail!("no {} after 15 minutes", outputs.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Stops the stack (SIGTERM, so it stops its emulator and engine), then waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                process::terminate(&child);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
                while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                let _ = child.kill();
            }
            let _ = child.wait();
            process::register_stack(None);
        }
    }
}

impl Drop for DevStackProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// This xtask's executable. When a build replaced it while it runs (`cargo xtask test` builds
/// the xtask package for its tests), Linux reports `<path> (deleted)`: the new file at `<path>`
/// is built from the same sources.
fn xtask_executable() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the xtask executable")?;
    if exe.exists() {
        return Ok(exe);
    }
    let replaced = exe
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
        .map(PathBuf::from)
        .filter(|path| path.exists());
    replaced.with_context(|| format!("the xtask executable {} is gone", exe.display()))
}
