//! CPU time of the stack's processes, from `/proc` (Linux): the `xtask dev` process (API
//! gateway, api handlers and SQS starter in one), its moto child and its `workflow serve`
//! child, this load generator, and the whole machine, sampled before and after a phase so a
//! table can say which component runs at a full core. See proc(5) for `/proc/<pid>/stat` and
//! `/proc/stat`.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux by ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// A process whose CPU time is sampled.
#[derive(Debug, Clone)]
pub struct Component {
    pub name: &'static str,
    pub pid: Option<u32>,
}

/// `(ppid, utime + stime)` of a process.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

fn children(parent: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|(ppid, _)| ppid == parent))
        .collect()
}

/// The `xtask dev` process serving the emulator on `aws_port` (it passes `--aws-port`, or
/// runs on the default port without it).
pub fn find_stack(aws_port: u16) -> Option<u32> {
    pids().into_iter().find(|&pid| {
        let args = cmdline(pid);
        let is_dev = args.first().is_some_and(|a| a.ends_with("xtask"))
            && args.get(1).is_some_and(|a| a == "dev");
        let port = args
            .iter()
            .position(|a| a == "--aws-port")
            .and_then(|i| args.get(i + 1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(local_stack::DEFAULT_AWS_PORT);
        is_dev && port == aws_port
    })
}

/// The stack's processes (found through their parent) and this one.
pub fn components(stack: Option<u32>) -> Vec<Component> {
    let kids = stack.map(children).unwrap_or_default();
    let child = |test: fn(&[String]) -> bool| kids.iter().copied().find(|&pid| test(&cmdline(pid)));
    vec![
        Component {
            name: "gateway+api+starter (xtask dev)",
            pid: stack,
        },
        Component {
            name: "moto (python)",
            pid: child(|args| args.iter().any(|a| a.contains("moto"))),
        },
        Component {
            name: "engine (workflow serve)",
            pid: child(|args| {
                args.first().is_some_and(|a| a.ends_with("workflow"))
                    && args.iter().any(|a| a == "serve")
            }),
        },
        Component {
            name: "load generator (this process)",
            pid: Some(std::process::id()),
        },
    ]
}

/// CPU times at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    ticks: Vec<Option<u64>>,
    /// (busy, total) ticks of the whole machine, all cores.
    machine: Option<(u64, u64)>,
}

fn machine_ticks() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

pub fn sample(components: &[Component]) -> Sample {
    Sample {
        at: Instant::now(),
        ticks: components
            .iter()
            .map(|c| c.pid.and_then(stat).map(|(_, t)| t))
            .collect(),
        machine: machine_ticks(),
    }
}

/// CPU use between two samples, in cores (1.0 = one core busy the whole time).
#[derive(Debug, Clone)]
pub struct Usage {
    pub components: Vec<(&'static str, Option<f64>)>,
    /// Seconds between the samples.
    pub wall: f64,
    /// The whole machine, in cores.
    pub machine: Option<f64>,
    pub cores: usize,
}

pub fn usage(components: &[Component], before: &Sample, after: &Sample) -> Usage {
    let wall = after
        .at
        .duration_since(before.at)
        .max(Duration::from_millis(1))
        .as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_component = components
        .iter()
        .zip(before.ticks.iter().zip(&after.ticks))
        .map(|(c, (b, a))| {
            let used = match (b, a) {
                (Some(b), Some(a)) => Some(a.saturating_sub(*b) as f64 / TICKS_PER_SECOND / wall),
                _ => None,
            };
            (c.name, used)
        })
        .collect();
    let machine = match (before.machine, after.machine) {
        (Some((b_busy, b_total)), Some((a_busy, a_total))) if a_total > b_total => {
            Some((a_busy - b_busy) as f64 / (a_total - b_total) as f64 * cores as f64)
        }
        _ => None,
    };
    Usage {
        components: per_component,
        wall,
        machine,
        cores,
    }
}

impl Usage {
    /// The stack process using the most CPU (the load generator is not part of the stack).
    pub fn busiest(&self) -> Option<(&'static str, f64)> {
        self.components
            .iter()
            .filter_map(|(name, used)| Some((*name, (*used)?)))
            .filter(|(name, _)| !name.starts_with("load generator"))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The busiest stack process, if it ran at (nearly) a full core.
    pub fn limiting(&self) -> Option<(&'static str, f64)> {
        self.busiest().filter(|(_, used)| *used >= 0.85)
    }

    /// Milliseconds of CPU per request of each stack process, and the requests per second that
    /// would keep it busy on the cores it can use: one for moto (single-threaded Python, one
    /// DynamoDB request at a time), all of them for the Rust processes (infinite when the
    /// process used no measurable CPU).
    pub fn per_request(&self, requests: usize) -> Vec<(&'static str, f64, f64)> {
        if requests == 0 {
            return Vec::new();
        }
        self.components
            .iter()
            .filter(|(name, _)| !name.starts_with("load generator"))
            .filter_map(|(name, used)| {
                let ms = (*used)? * self.wall * 1000.0 / requests as f64;
                let cores = if name.starts_with("moto") {
                    1.0
                } else {
                    self.cores as f64
                };
                // Less than a clock tick over the whole run: no measurable cost, no cap.
                let cap = if ms * requests as f64 >= 10.0 {
                    cores * 1000.0 / ms
                } else {
                    f64::INFINITY
                };
                Some((*name, ms, cap))
            })
            .collect()
    }

    /// The stack process that caps the rate first (lowest requests/s at full use).
    pub fn bottleneck(&self, requests: usize) -> Option<(&'static str, f64, f64)> {
        self.per_request(requests)
            .into_iter()
            .min_by(|a, b| a.2.total_cmp(&b.2))
    }

    /// What the rest of the machine (other work than these processes) used, in cores.
    pub fn others(&self) -> Option<f64> {
        let ours: f64 = self.components.iter().filter_map(|(_, u)| *u).sum();
        self.machine.map(|m| (m - ours).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_stat_and_finds_itself_among_its_parents_children() {
        let me = std::process::id();
        let (ppid, _) = stat(me).expect("/proc/self/stat");
        assert!(children(ppid).contains(&me));
        assert!(!cmdline(me).is_empty());
    }

    #[test]
    fn usage_in_cores_and_the_limiting_component() {
        let components = vec![
            Component {
                name: "a",
                pid: None,
            },
            Component {
                name: "b",
                pid: None,
            },
        ];
        let t0 = Instant::now();
        let before = Sample {
            at: t0,
            ticks: vec![Some(100), Some(0)],
            machine: Some((0, 0)),
        };
        let after = Sample {
            at: t0 + Duration::from_secs(2),
            ticks: vec![Some(290), Some(20)],
            machine: Some((400, 400)),
        };
        let usage = usage(&components, &before, &after);
        // a: 1.9 CPU-seconds for 100 requests = 19 ms each; b: 0.2 s = 2 ms each.
        let costs = usage.per_request(100);
        assert!((costs[0].1 - 19.0).abs() < 1e-6, "{costs:?}");
        assert!((costs[1].1 - 2.0).abs() < 1e-6, "{costs:?}");
        assert_eq!(usage.bottleneck(100).map(|b| b.0), Some("a"));
        assert!(usage.per_request(0).is_empty());
        let a = usage.components[0].1.unwrap();
        assert!((a - 0.95).abs() < 1e-9, "{a}");
        assert_eq!(usage.limiting().map(|(n, _)| n), Some("a"));
        assert!((usage.machine.unwrap() - usage.cores as f64).abs() < 1e-9);
    }
}
