//! The chaos run's API client: users, and a stream of orders at a fixed rate, each retried with
//! the same `Idempotency-Key` and body on connection errors, 429 and 5xx until it gets a
//! definitive answer (an order counts as accepted only on 202).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::contract::CreateOrder;
use api::handlers::orders::REPLAYED_HEADER;
use local_stack::client::ShopClient;
use shop_model::OrderLine;
use steps::ports::DECLINED_TOKEN;
use uuid::Uuid;

use crate::tally::AcceptedOrder;

const PASSWORD: &str = "Correct-Horse-42";

/// Counters shared by the order tasks, indexed by the phase running when it happened.
pub struct Counters {
    phase: AtomicUsize,
    /// Per phase: answers the client retried (5xx, 429) and transport errors.
    pub retried_5xx: Vec<AtomicUsize>,
    pub transport_errors: Vec<AtomicUsize>,
    /// Per phase: orders accepted (202) whose request needed at least one retry.
    pub accepted_after_retry: Vec<AtomicUsize>,
    /// Per phase (when the order was first sent): the longest time to its 202, in ms.
    pub slowest: Vec<AtomicU64>,
}

impl Counters {
    pub fn new(phases: usize) -> Self {
        let v = || (0..phases).map(|_| AtomicUsize::new(0)).collect();
        Counters {
            phase: AtomicUsize::new(0),
            retried_5xx: v(),
            transport_errors: v(),
            accepted_after_retry: v(),
            slowest: (0..phases).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn set_phase(&self, phase: usize) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    fn bump(&self, which: &[AtomicUsize]) {
        let phase = self.phase.load(Ordering::SeqCst).min(which.len() - 1);
        which[phase].fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(which: &[AtomicUsize], phase: usize) -> usize {
        which[phase].load(Ordering::SeqCst)
    }
}

/// An order the stream sent, with what the client expects of it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub accepted: AcceptedOrder,
    /// Placed with the always-declined payment token.
    pub declined_token: bool,
    pub user: usize,
}

/// What the stream got back.
#[derive(Debug, Default)]
pub struct Outcome {
    pub accepted: Vec<Sent>,
    /// Definitive answers other than 202 (status, body), for requests that were all valid.
    pub rejected: Vec<(u16, String)>,
    /// Requests still without a definitive answer at the stream's deadline.
    pub unanswered: usize,
    /// Requests answered 202 with `Idempotent-Replayed: true` (a retry whose first attempt had
    /// in fact recorded the order).
    pub replayed: usize,
}

/// Registers and logs in a new user of the run; returns its ID token.
pub async fn new_user(api: &ShopClient, run: &str, n: usize) -> Result<String> {
    let email = format!("chaos-{run}-{n}@example.com");
    api.register(&email, PASSWORD)
        .await
        .context("POST /auth register")?
        .ok()
        .context("register")?;
    let tokens = api
        .login(&email, PASSWORD)
        .await
        .context("POST /auth login")?
        .ok()
        .context("login")?;
    Ok(tokens.id_token)
}

/// The order the stream sends as number `seq`: one line of one test product, quantity 1 or 2,
/// every tenth with the declined payment token.
pub fn order_of(seq: usize, products: &[String]) -> (Vec<(String, u32)>, bool) {
    let product = products[seq % products.len()].clone();
    let quantity = 1 + (seq / products.len() % 2) as u32;
    (vec![(product, quantity)], seq % 10 == 7)
}

/// One order: POST until 202 or another definitive answer, or until `deadline`.
#[allow(clippy::too_many_arguments)]
async fn place(
    api: &ShopClient,
    token: &str,
    user: usize,
    items: Vec<(String, u32)>,
    declined: bool,
    deadline: Instant,
    counters: &Counters,
    out: &Mutex<Outcome>,
) {
    let key = Uuid::new_v4().to_string();
    let order = CreateOrder {
        items: items
            .iter()
            .map(|(product_id, quantity)| OrderLine {
                product_id: product_id.clone(),
                quantity: *quantity,
            })
            .collect(),
        payment_token: Some(if declined { DECLINED_TOKEN } else { "tok_visa" }.to_owned()),
    };
    let mut backoff = Duration::from_millis(200);
    let mut retried = false;
    let (started, phase) = (Instant::now(), counters.phase.load(Ordering::SeqCst));
    loop {
        match api.place_order(Some(token), &order, Some(&key)).await {
            Ok(answer) if answer.status == 202 => {
                let replayed = answer.header(REPLAYED_HEADER).is_some();
                let mut out = out.lock().expect("outcome lock");
                if replayed {
                    out.replayed += 1;
                }
                if retried {
                    counters.bump(&counters.accepted_after_retry);
                }
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                if let Some(slowest) = counters.slowest.get(phase) {
                    slowest.fetch_max(ms, Ordering::SeqCst);
                }
                match answer.ok() {
                    Ok(accepted) => out.accepted.push(Sent {
                        accepted: AcceptedOrder {
                            order_id: accepted.order_id,
                            idempotency_key: key,
                            items,
                            total_cents: accepted.total_cents,
                            accepted_at: Instant::now(),
                        },
                        declined_token: declined,
                        user,
                    }),
                    Err(unexpected) => out.rejected.push((202, unexpected.body)),
                }
                return;
            }
            Ok(answer) if answer.status == 429 || answer.status >= 500 => {
                counters.bump(&counters.retried_5xx);
            }
            Ok(answer) => {
                let status = answer.status;
                let text = answer.ok().err().map(|e| e.body).unwrap_or_default();
                out.lock()
                    .expect("outcome lock")
                    .rejected
                    .push((status, text));
                return;
            }
            Err(_) => counters.bump(&counters.transport_errors),
        }
        retried = true;
        if Instant::now() + backoff > deadline {
            out.lock().expect("outcome lock").unanswered += 1;
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Sends `orders` orders at `rate` per second (open loop: one task per order, whatever the
/// answers' latency), alternating between the users; every request retried until
/// `give_up_after` past its first attempt.
pub async fn stream(
    api: ShopClient,
    tokens: Vec<String>,
    products: Vec<String>,
    orders: usize,
    rate: f64,
    give_up_after: Duration,
    counters: Arc<Counters>,
) -> Outcome {
    let out = Arc::new(Mutex::new(Outcome::default()));
    let mut tasks = Vec::with_capacity(orders);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for seq in 0..orders {
        tick.tick().await;
        let (items, declined) = order_of(seq, &products);
        let user = seq % tokens.len();
        let (api, token, counters, out) = (
            api.clone(),
            tokens[user].clone(),
            Arc::clone(&counters),
            Arc::clone(&out),
        );
        let deadline = Instant::now() + give_up_after;
        tasks.push(tokio::spawn(async move {
            place(
                &api, &token, user, items, declined, deadline, &counters, &out,
            )
            .await;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut out = std::mem::take(&mut *out.lock().expect("outcome lock"));
    out.accepted
        .sort_by(|a, b| a.accepted.order_id.cmp(&b.accepted.order_id));
    out
}

/// Σ quantity per product of a set of orders.
pub fn demand(orders: usize, products: &[String]) -> BTreeMap<String, u64> {
    let mut demand = BTreeMap::new();
    for seq in 0..orders {
        let (items, _) = order_of(seq, products);
        for (product, quantity) in items {
            *demand.entry(product).or_default() += u64::from(quantity);
        }
    }
    demand
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_spread_over_products_and_quantities() {
        let products: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let demand = demand(60, &products);
        assert_eq!(demand.values().sum::<u64>(), 90);
        assert_eq!(demand["a"], 30);
        let declined = (0..60).filter(|s| order_of(*s, &products).1).count();
        assert_eq!(declined, 6);
    }
}
