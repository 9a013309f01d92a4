//! Figures of a load phase: per route sent / ok / errors by status / throughput / latency
//! percentiles, the sends the generator started late, order end-to-end latency, and CPU use
//! per component, each printed as a short table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::client::{Outcome, Route};
use super::cpu::Usage;
use super::generator::{PhaseResult, LATE};

/// The figures of one route.
#[derive(Debug, Clone)]
pub struct RouteStats {
    pub route: Route,
    pub sent: usize,
    /// 2xx answers.
    pub ok: usize,
    /// Other answers by status, and transport errors by kind.
    pub errors: BTreeMap<String, usize>,
    /// Latencies of every answer (any status), sorted.
    pub latencies: Vec<Duration>,
}

impl RouteStats {
    pub fn server_errors(&self) -> usize {
        self.errors
            .iter()
            .filter(|(k, _)| k.starts_with('5'))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// Figures per route, in route order.
pub fn route_stats(outcomes: &[Outcome]) -> Vec<RouteStats> {
    let mut by_route: BTreeMap<Route, RouteStats> = BTreeMap::new();
    for outcome in outcomes {
        let stats = by_route.entry(outcome.route).or_insert_with(|| RouteStats {
            route: outcome.route,
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            latencies: Vec::new(),
        });
        stats.sent += 1;
        match outcome.result {
            Ok(status) => {
                stats.latencies.push(outcome.latency);
                if (200..300).contains(&status) {
                    stats.ok += 1;
                } else {
                    *stats.errors.entry(status.to_string()).or_default() += 1;
                }
            }
            Err(kind) => *stats.errors.entry(kind.to_string()).or_default() += 1,
        }
    }
    let mut stats: Vec<RouteStats> = by_route.into_values().collect();
    for s in &mut stats {
        s.latencies.sort();
    }
    stats
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub fn ms(d: Option<Duration>) -> String {
    match d {
        None => "-".into(),
        Some(d) if d < Duration::from_millis(10) => format!("{:.1} ms", d.as_secs_f64() * 1e3),
        Some(d) if d < Duration::from_secs(10) => format!("{:.0} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
    }
}

fn errors_text(errors: &BTreeMap<String, usize>) -> String {
    if errors.is_empty() {
        return "-".into();
    }
    errors
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The per-route table of a phase, with a line about the schedule.
pub fn route_table(result: &PhaseResult, stats: &[RouteStats]) -> String {
    let window = result.window().as_secs_f64().max(1e-3);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<14} {:>6} {:>6} {:<14} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "route", "sent", "ok", "errors", "ok/s", "p50", "p90", "p99", "max"
    );
    let mut all = Vec::new();
    for s in stats {
        all.extend_from_slice(&s.latencies);
        let _ = writeln!(
            out,
            "  {:<14} {:>6} {:>6} {:<14} {:>7.1} {:>8} {:>8} {:>8} {:>8}",
            s.route.name(),
            s.sent,
            s.ok,
            errors_text(&s.errors),
            s.ok as f64 / window,
            ms(percentile(&s.latencies, 50.0)),
            ms(percentile(&s.latencies, 90.0)),
            ms(percentile(&s.latencies, 99.0)),
            ms(s.latencies.last().copied()),
        );
    }
    all.sort();
    let ok: usize = stats.iter().map(|s| s.ok).sum();
    let errors: BTreeMap<String, usize> =
        stats
            .iter()
            .flat_map(|s| &s.errors)
            .fold(BTreeMap::new(), |mut m, (k, n)| {
                *m.entry(k.clone()).or_default() += n;
                m
            });
    let _ = writeln!(
        out,
        "  {:<14} {:>6} {:>6} {:<14} {:>7.1} {:>8} {:>8} {:>8} {:>8}",
        "all",
        stats.iter().map(|s| s.sent).sum::<usize>(),
        ok,
        errors_text(&errors),
        ok as f64 / window,
        ms(percentile(&all, 50.0)),
        ms(percentile(&all, 90.0)),
        ms(percentile(&all, 99.0)),
        ms(all.last().copied()),
    );
    let _ = write!(
        out,
        "  schedule: {} requests in {:.1} s (last answer after {:.1} s); late sends (>{} ms) {}, \
         max lateness {}, not sent (in-flight cap) {}",
        result.scheduled,
        result.span.as_secs_f64(),
        window,
        LATE.as_millis(),
        result.late,
        ms(Some(result.max_lateness)),
        result.skipped,
    );
    out
}

/// `orders 202 → COMPLETED: n, p50 ... max`.
pub fn end_to_end_line(completed_after: &[Duration]) -> String {
    format!(
        "  orders 202 -> COMPLETED: {} orders, p50 {}, p90 {}, p99 {}, max {}",
        completed_after.len(),
        ms(percentile(completed_after, 50.0)),
        ms(percentile(completed_after, 90.0)),
        ms(percentile(completed_after, 99.0)),
        ms(completed_after.last().copied()),
    )
}

/// CPU use per component during the load (in % of one core), and the CPU each spent per
/// request over the load and the drain that followed it (`whole`, for `requests` answers).
pub fn cpu_table(load: &Usage, whole: &Usage, requests: usize) -> String {
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0} %", v * 100.0));
    let costs = whole.per_request(requests);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<34} {:>10} {:>14} {:>16}",
        "process", "cpu (load)", "ms cpu/request", "req/s at 100 %"
    );
    for (name, used) in &load.components {
        let (cost, cap) =
            costs
                .iter()
                .find(|c| c.0 == *name)
                .map_or(("-".to_string(), "-".to_string()), |c| {
                    let cap = if c.2.is_finite() {
                        format!("{:.0}", c.2)
                    } else {
                        "-".to_string()
                    };
                    (format!("{:.1}", c.1), cap)
                });
        let _ = writeln!(out, "  {name:<34} {:>10} {cost:>14} {cap:>16}", pct(*used));
    }
    let _ = writeln!(
        out,
        "  {:<34} {:>10}",
        "everything else on the machine",
        pct(load.others())
    );
    let _ = write!(
        out,
        "  {:<34} {:>10}",
        format!("machine ({} cores = {} %)", load.cores, load.cores * 100),
        pct(load.machine)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&values, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
        let one = [Duration::from_millis(7)];
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
    }

    #[test]
    fn stats_count_statuses_and_transport_errors_per_route() {
        let outcome = |route, result| Outcome {
            route,
            result,
            latency: Duration::from_millis(5),
            accepted: None,
            unsettled: None,
        };
        let stats = route_stats(&[
            outcome(Route::PostOrders, Ok(202)),
            outcome(Route::PostOrders, Ok(503)),
            outcome(Route::PostOrders, Err("timeout")),
            outcome(Route::GetProducts, Ok(200)),
        ]);
        assert_eq!(stats[0].route, Route::GetProducts);
        let orders = &stats[1];
        assert_eq!((orders.sent, orders.ok), (3, 1));
        assert_eq!(orders.server_errors(), 1);
        assert_eq!(orders.error_count(), 2);
        assert_eq!(orders.latencies.len(), 2, "answers only");
    }
}
