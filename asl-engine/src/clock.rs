//! Time for Wait states, timeouts and timestamps: the real clock, or a virtual one whose `sleep`
//! returns at once after moving virtual time forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// A source of time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `d`: for real, or by moving virtual time forward.
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()>;
    /// True for a clock whose sleeps take no real time.
    fn is_virtual(&self) -> bool {
        false
    }
}

/// Wall-clock time; `sleep` waits for real (tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Virtual time: starts at a given instant and only advances when something sleeps.
#[derive(Debug)]
pub struct VirtualClock {
    start: DateTime<Utc>,
    offset_us: AtomicI64,
}

impl VirtualClock {
    /// A virtual clock whose time starts at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            start,
            offset_us: AtomicI64::new(0),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        self.offset_us.fetch_add(
            d.as_micros().min(i64::MAX as u128) as i64,
            Ordering::Relaxed,
        );
        Box::pin(async {})
    }
    fn is_virtual(&self) -> bool {
        true
    }
}

/// ISO-8601 with milliseconds and `Z`, as Step Functions prints times.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
