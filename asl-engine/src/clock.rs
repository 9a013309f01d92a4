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
    /// The current time in milliseconds, as a history event records it (the clock is read on
    /// every state transition: implementations can skip building a calendar date).
    fn event_time(&self) -> EventTime {
        EventTime::from(self.now())
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
    fn event_time(&self) -> EventTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Seconds and milliseconds apart: `as_millis` divides a u128, on every transition.
        let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX / 1000);
        EventTime::from_millis(
            secs.saturating_mul(1000)
                .saturating_add(i64::from(since_epoch.subsec_millis())),
        )
    }
}

/// Virtual time: starts at a given instant and only advances when something sleeps.
#[derive(Debug)]
pub struct VirtualClock {
    start: DateTime<Utc>,
    /// `start` in microseconds since the Unix epoch.
    start_us: i64,
    offset_us: AtomicI64,
}

impl VirtualClock {
    /// A virtual clock whose time starts at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            start,
            start_us: start.timestamp_micros(),
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
    fn event_time(&self) -> EventTime {
        let us = self
            .start_us
            .saturating_add(self.offset_us.load(Ordering::Relaxed));
        EventTime::from_millis(us.div_euclid(1000))
    }
}

/// When a history event happened: milliseconds since the Unix epoch, the precision Step Functions
/// gives event timestamps. Shown (`Display`, serialized) as [`format_time`] writes times.
///
/// ```
/// use asl_engine::clock::EventTime;
///
/// let t = EventTime::from_millis(1_796_375_107_042);
/// assert_eq!(t.to_string(), "2026-12-04T09:05:07.042Z");
/// assert_eq!(EventTime::from(t.to_datetime()), t);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(i64);

impl EventTime {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        EventTime(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The same instant as a date and time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl From<DateTime<Utc>> for EventTime {
    /// The instant, down to the millisecond (earlier, never later).
    fn from(t: DateTime<Utc>) -> Self {
        EventTime(t.timestamp_millis())
    }
}

impl std::fmt::Display for EventTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_time(&self.to_datetime()))
    }
}

impl serde::Serialize for EventTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// ISO-8601 with milliseconds and `Z`, as Step Functions prints times
/// (`2026-12-04T10:00:00.123Z`). Every history event carries one: written digit by digit rather
/// than through `chrono`'s format strings, which cost about ten times as much per call.
pub fn format_time(t: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Outside four-digit years (not a time an execution meets): chrono's own rendering.
        return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    let millis = t.timestamp_subsec_millis().min(999);
    let mut out = [0u8; 24];
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second().min(59), 2);
    put(20, millis, 3);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        out[at] = sep;
    }
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn format_time_matches_the_step_functions_rendering() {
        let cases = [
            Utc.with_ymd_and_hms(2026, 12, 4, 9, 5, 7).unwrap()
                + chrono::Duration::milliseconds(42),
            Utc.with_ymd_and_hms(1999, 1, 31, 23, 59, 59).unwrap()
                + chrono::Duration::microseconds(999_999),
            Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap(),
        ];
        for t in cases {
            assert_eq!(
                format_time(&t),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
        }
        assert_eq!(
            format_time(
                &(Utc.with_ymd_and_hms(2026, 12, 4, 9, 5, 7).unwrap()
                    + chrono::Duration::milliseconds(42))
            ),
            "2026-12-04T09:05:07.042Z"
        );
    }
}
