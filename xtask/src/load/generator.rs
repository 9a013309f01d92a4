//! The open-loop request generator: requests are scheduled at fixed intervals and sent on
//! schedule whether or not earlier ones have answered (so a slow system cannot slow the offered
//! load down and hide its own latency). Sends the generator itself starts late are counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::client::{OrderRequest, Outcome, Stack, TestProduct};

/// A send this far behind its scheduled time counts as late.
pub const LATE: Duration = Duration::from_millis(10);

/// One stretch of constant offered load.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Requests per second, both routes together.
    pub rate: f64,
    pub duration: Duration,
    /// Fraction of the requests that are `GET /products` (the rest are `POST /orders`).
    pub read_ratio: f64,
    /// Most requests in flight; a scheduled request beyond it is not sent and counted.
    pub max_in_flight: usize,
}

/// What a phase sent and got back.
#[derive(Debug)]
pub struct PhaseResult {
    pub scheduled: usize,
    /// Sends that started more than [`LATE`] behind schedule.
    pub late: usize,
    pub max_lateness: Duration,
    /// Scheduled requests not sent because `max_in_flight` were outstanding.
    pub skipped: usize,
    pub outcomes: Vec<Outcome>,
    pub started: Instant,
    /// The nominal length of the phase (its requests' schedule).
    pub span: Duration,
    /// When the last answer (or error) came in.
    pub finished: Instant,
}

impl PhaseResult {
    /// From the first scheduled send to the last answer.
    pub fn window(&self) -> Duration {
        self.finished.duration_since(self.started)
    }
}

/// A small deterministic generator (SplitMix64): the mix of requests does not need more.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// 1 to 3 lines of distinct products, 1 to 3 units each.
pub fn order_lines(rng: &mut Rng, products: &[TestProduct]) -> Vec<(String, u32)> {
    let mut indices: Vec<usize> = (0..products.len()).collect();
    let count = (1 + rng.below(3)).min(products.len());
    (0..count)
        .map(|i| {
            let pick = i + rng.below(indices.len() - i);
            indices.swap(i, pick);
            let quantity = 1 + rng.below(3) as u32;
            (products[indices[i]].id.clone(), quantity)
        })
        .collect()
}

/// Re-sends the orders whose fate a phase left unknown, with their idempotency keys, one at a
/// time and up to `attempts` times each, as a client retries. Returns the orders accepted now
/// (new or replayed) and how many were not accepted (refused, or still failing).
pub async fn settle(
    stack: &Stack,
    unsettled: Vec<OrderRequest>,
    attempts: usize,
) -> (Vec<crate::tally::AcceptedOrder>, usize) {
    let mut accepted = Vec::new();
    let mut left = 0;
    for order in unsettled {
        let mut outcome = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let answer = stack.post_order(order.clone()).await;
            let done = answer.unsettled.is_none();
            outcome = Some(answer);
            if done {
                break;
            }
        }
        match outcome.and_then(|o| o.accepted) {
            Some(order) => accepted.push(order),
            None => left += 1,
        }
    }
    (accepted, left)
}

/// Runs one phase: `rate × duration` requests at fixed intervals, then waits for every answer.
pub async fn run_phase(
    stack: &Arc<Stack>,
    tokens: &Arc<Vec<String>>,
    products: &[TestProduct],
    phase: &Phase,
    rng: &mut Rng,
) -> PhaseResult {
    let scheduled = (phase.rate * phase.duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / phase.rate);
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let mut outcomes = Vec::with_capacity(scheduled);
    let (mut late, mut max_lateness, mut skipped) = (0, Duration::ZERO, 0);
    let started = Instant::now();
    for i in 0..scheduled {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let lateness = Instant::now().saturating_duration_since(due);
        max_lateness = max_lateness.max(lateness);
        if lateness > LATE {
            late += 1;
        }
        while let Some(done) = tasks.try_join_next() {
            if let Ok(outcome) = done {
                outcomes.push(outcome);
            }
        }
        if tasks.len() >= phase.max_in_flight {
            skipped += 1;
            continue;
        }
        let stack = Arc::clone(stack);
        if rng.unit() < phase.read_ratio {
            tasks.spawn(async move { stack.get_products().await });
        } else {
            let token = tokens[rng.below(tokens.len())].clone();
            let order = OrderRequest::new(token, order_lines(rng, products));
            tasks.spawn(async move { stack.post_order(order).await });
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(outcome) = done {
            outcomes.push(outcome);
        }
    }
    let finished = Instant::now();
    PhaseResult {
        scheduled,
        late,
        max_lateness,
        skipped,
        outcomes,
        started,
        span: phase.duration,
        finished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products(n: usize) -> Vec<TestProduct> {
        (0..n)
            .map(|i| TestProduct {
                id: format!("p{i}"),
                price_cents: 100,
            })
            .collect()
    }

    #[test]
    fn order_lines_are_one_to_three_distinct_products_of_one_to_three_units() {
        let mut rng = Rng::new(7);
        let catalog = products(5);
        let mut sizes = [0usize; 4];
        for _ in 0..2000 {
            let lines = order_lines(&mut rng, &catalog);
            sizes[lines.len()] += 1;
            let mut ids: Vec<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), lines.len(), "distinct: {lines:?}");
            assert!(lines.iter().all(|(_, q)| (1..=3).contains(q)));
        }
        assert_eq!(sizes[0], 0);
        assert!(sizes[1..].iter().all(|&n| n > 500), "{sizes:?}");
        // Fewer products than lines: never more lines than products.
        assert!((0..100).all(|_| order_lines(&mut rng, &products(1)).len() == 1));
    }

    #[test]
    fn unit_is_in_range_and_roughly_uniform() {
        let mut rng = Rng::new(1);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let below_half = draws.iter().filter(|&&x| x < 0.5).count();
        assert!((4_700..5_300).contains(&below_half), "{below_half}");
    }
}
