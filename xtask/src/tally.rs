//! The tally of a run against the local stack: what became of every order the API accepted,
//! read behind the API from the emulator (the Orders table, the Products table's stock and the
//! order DLQ). Shared by `cargo xtask load` and the fault-injection runs.
//!
//! The pure part ([`classify`]) works on rows already read, so it is unit-tested without an
//! emulator; [`tally`] and [`wait_final`] read the rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde_json::Value;
use shop_model::{orders as o, products as p, OrderStatus};

/// An order the API answered 202 for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedOrder {
    pub order_id: String,
    pub idempotency_key: String,
    /// (product id, quantity) per line.
    pub items: Vec<(String, u32)>,
    pub total_cents: i64,
    /// When the 202 arrived.
    pub accepted_at: Instant,
}

/// One row of the Orders table, as far as the tally needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderRow {
    pub order_id: String,
    pub user_sub: String,
    pub status: String,
    pub idempotency_key: Option<String>,
    pub items: Vec<(String, i64)>,
    pub failure_error: Option<String>,
    pub updated_at: Option<String>,
}

/// A product whose stock does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversold {
    pub product_id: String,
    pub initial: i64,
    /// `None` when the product row is gone.
    pub final_stock: Option<i64>,
    /// Σ quantity of the COMPLETED orders with this product.
    pub completed_quantity: i64,
}

/// What became of the accepted orders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Distinct accepted order ids.
    pub accepted: usize,
    pub completed: usize,
    /// FAILED orders by `failureError` (`PaymentDeclined`, `OutOfStock`, ...).
    pub failed_by_reason: BTreeMap<String, usize>,
    /// Accepted orders whose row is still PENDING (whether or not their message is in the DLQ).
    pub pending: usize,
    /// Accepted, not final orders whose message is in the DLQ (accounted for, not lost).
    pub in_dlq: usize,
    /// Accepted orders neither final nor in the DLQ (row PENDING or missing).
    pub lost: usize,
    /// Extra order rows for one idempotency key, plus order ids accepted under two different
    /// idempotency keys. (The same id accepted twice for the same key is a replay: one order.)
    pub duplicated: usize,
    pub oversold_products: Vec<Oversold>,
    /// Rows of the run's users or test products that no 202 announced.
    pub unexpected_orders: usize,
    /// 202 → COMPLETED of the completed accepted orders (the row's `updatedAt`, written in the
    /// same transaction that sets COMPLETED, against the wall-clock time of the 202; 0 when the
    /// order was COMPLETED before its 202 reached the client, as the API queues before it
    /// answers).
    pub completed_after: Vec<Duration>,
}

impl Tally {
    /// No order lost, none duplicated or unexpected, no stock oversold.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.unexpected_orders == 0
            && self.oversold_products.is_empty()
    }

    pub fn failed(&self) -> usize {
        self.failed_by_reason.values().sum()
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = if self.failed_by_reason.is_empty() {
            "0".to_string()
        } else {
            let reasons: Vec<String> = self
                .failed_by_reason
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            format!("{} ({})", self.failed(), reasons.join(", "))
        };
        let rows = [
            ("accepted (202)", self.accepted.to_string()),
            ("completed", self.completed.to_string()),
            ("failed", failed),
            ("pending", self.pending.to_string()),
            ("in DLQ", self.in_dlq.to_string()),
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            ("unexpected", self.unexpected_orders.to_string()),
            (
                "oversold products",
                self.oversold_products.len().to_string(),
            ),
        ];
        writeln!(f, "  {:<18} {:>8}", "tally", "orders")?;
        for (name, value) in rows {
            writeln!(f, "  {name:<18} {value:>8}")?;
        }
        for o in &self.oversold_products {
            writeln!(
                f,
                "  oversold {}: initial {}, final {}, completed quantity {}",
                o.product_id,
                o.initial,
                o.final_stock
                    .map_or_else(|| "missing".to_string(), |s| s.to_string()),
                o.completed_quantity
            )?;
        }
        write!(
            f,
            "  verdict            {:>8}",
            if self.is_clean() {
                "clean"
            } else {
                "NOT CLEAN"
            }
        )
    }
}

/// Classifies the rows read behind the API. `accepted_unix_ms[i]` is the wall-clock time of
/// `accepted[i]`'s 202; `dlq` the order ids of the DLQ's messages; `final_stock` the stock now
/// of every product of `initial_stock`.
pub fn classify(
    accepted: &[AcceptedOrder],
    accepted_unix_ms: &[i64],
    rows: &[OrderRow],
    dlq: &BTreeSet<String>,
    initial_stock: &BTreeMap<String, i64>,
    final_stock: &BTreeMap<String, Option<i64>>,
) -> Tally {
    let mut tally = Tally::default();

    // Accepted ids, each with the keys it was accepted under and its earliest 202.
    let mut keys_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut first_accept: HashMap<&str, i64> = HashMap::new();
    for (order, at) in accepted.iter().zip(accepted_unix_ms) {
        keys_of
            .entry(&order.order_id)
            .or_default()
            .insert(&order.idempotency_key);
        let first = first_accept.entry(&order.order_id).or_insert(*at);
        *first = (*first).min(*at);
    }
    tally.accepted = keys_of.len();
    tally.duplicated += keys_of.values().map(|keys| keys.len() - 1).sum::<usize>();

    // The run's rows: accepted ids, rows of the same users, rows with a test product.
    let by_id: HashMap<&str, &OrderRow> = rows.iter().map(|r| (r.order_id.as_str(), r)).collect();
    let users: BTreeSet<&str> = keys_of
        .keys()
        .filter_map(|id| by_id.get(id))
        .map(|r| r.user_sub.as_str())
        .collect();
    let ours: Vec<&OrderRow> = rows
        .iter()
        .filter(|r| {
            keys_of.contains_key(r.order_id.as_str())
                || users.contains(r.user_sub.as_str())
                || r.items.iter().any(|(id, _)| initial_stock.contains_key(id))
        })
        .collect();
    tally.unexpected_orders = ours
        .iter()
        .filter(|r| !keys_of.contains_key(r.order_id.as_str()))
        .count();
    let mut rows_per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &ours {
        if let Some(key) = &row.idempotency_key {
            *rows_per_key.entry(key).or_default() += 1;
        }
    }
    tally.duplicated += rows_per_key.values().map(|n| n - 1).sum::<usize>();

    for id in keys_of.keys() {
        let status = by_id.get(id).and_then(|r| OrderStatus::parse(&r.status));
        match status {
            Some(OrderStatus::Completed) => {
                tally.completed += 1;
                let row = by_id[id];
                if let (Some(done), Some(at)) = (
                    row.updated_at.as_deref().and_then(unix_ms),
                    first_accept.get(id),
                ) {
                    tally
                        .completed_after
                        .push(Duration::from_millis(u64::try_from(done - at).unwrap_or(0)));
                }
            }
            Some(OrderStatus::Failed) => {
                let reason = by_id[id]
                    .failure_error
                    .clone()
                    .unwrap_or_else(|| "(no failureError)".into());
                *tally.failed_by_reason.entry(reason).or_default() += 1;
            }
            pending => {
                if pending.is_some() {
                    tally.pending += 1;
                }
                if dlq.contains(*id) {
                    tally.in_dlq += 1;
                } else {
                    tally.lost += 1;
                }
            }
        }
    }

    for (product, initial) in initial_stock {
        let completed_quantity: i64 = ours
            .iter()
            .filter(|r| r.status == OrderStatus::Completed.as_str())
            .flat_map(|r| &r.items)
            .filter(|(id, _)| id == product)
            .map(|(_, q)| q)
            .sum();
        let now = final_stock.get(product).copied().flatten();
        let adds_up = now.is_some_and(|s| s >= 0 && initial - s == completed_quantity);
        if !adds_up {
            tally.oversold_products.push(Oversold {
                product_id: product.clone(),
                initial: *initial,
                final_stock: now,
                completed_quantity,
            });
        }
    }
    tally.completed_after.sort();
    tally
}

/// Milliseconds since the epoch of the RFC 3339 UTC times this system writes
/// (`2026-11-25T07:36:30.123Z`, also without the fraction).
pub fn unix_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = &text[19..text.len() - 1];
    let millis = match frac.strip_prefix('.') {
        None if frac.is_empty() => 0,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => {
            format!("{digits:0<3}")[..3].parse::<i64>().ok()?
        }
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + millis)
}

fn out<'a>(outputs: &'a Value, key: &str) -> Result<&'a str> {
    outputs[key]
        .as_str()
        .with_context(|| format!("outputs.json has no {key}"))
}

fn row_of(item: &HashMap<String, AttributeValue>) -> Option<OrderRow> {
    let s = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let items = item
        .get(o::ITEMS)
        .and_then(|v| v.as_l().ok())
        .into_iter()
        .flatten()
        .filter_map(|line| {
            let line = line.as_m().ok()?;
            let id = line.get("productId")?.as_s().ok()?.clone();
            let quantity = line.get("quantity")?.as_n().ok()?.parse().ok()?;
            Some((id, quantity))
        })
        .collect();
    Some(OrderRow {
        order_id: s(o::ORDER_ID)?,
        user_sub: s(o::USER_SUB).unwrap_or_default(),
        status: s(o::STATUS).unwrap_or_default(),
        idempotency_key: s(o::IDEMPOTENCY_KEY),
        items,
        failure_error: s(o::FAILURE_ERROR),
        updated_at: s(o::UPDATED_AT),
    })
}

/// Every row of the Orders table (a consistent scan).
pub async fn scan_orders(aws: &aws_config::SdkConfig, outputs: &Value) -> Result<Vec<OrderRow>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let table = out(outputs, "OrdersTableName")?;
    let mut rows = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("scanning the Orders table")?;
        rows.extend(page.items().iter().filter_map(row_of));
        start = page.last_evaluated_key;
        if start.as_ref().is_none_or(|k| k.is_empty()) {
            return Ok(rows);
        }
    }
}

/// The stock of some products now (`None` for a product without a row).
pub async fn stock_of(
    aws: &aws_config::SdkConfig,
    outputs: &Value,
    products: impl IntoIterator<Item = &String>,
) -> Result<BTreeMap<String, Option<i64>>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let table = out(outputs, "ProductsTableName")?;
    let mut stock = BTreeMap::new();
    for id in products {
        let item = dynamodb
            .get_item()
            .table_name(table)
            .key(p::ID, AttributeValue::S(id.clone()))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("reading product {id}"))?
            .item;
        let value = item
            .as_ref()
            .and_then(|i| i.get(p::STOCK))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok());
        stock.insert(id.clone(), value);
    }
    Ok(stock)
}

/// The order ids of the messages in the order DLQ, read without deleting them: every message
/// is received (hidden for 30 s so the next receive returns the next ones), then made visible
/// again at once by setting its visibility timeout to 0
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>),
/// so a second look right after sees them all again.
pub async fn dlq_order_ids(
    aws: &aws_config::SdkConfig,
    outputs: &Value,
) -> Result<BTreeSet<String>> {
    let sqs = aws_sdk_sqs::Client::new(aws);
    let url = out(outputs, "OrderDlqUrl")?;
    let mut receipts = Vec::new();
    let mut ids = BTreeSet::new();
    let peeked = async {
        loop {
            let received = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .wait_time_seconds(0)
                .send()
                .await
                .context("peeking at the order DLQ")?;
            if received.messages().is_empty() {
                return anyhow::Ok(());
            }
            for message in received.messages() {
                receipts.extend(message.receipt_handle().map(str::to_string));
                let body: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).unwrap_or(Value::Null);
                if let Some(order_id) = body["orderId"].as_str() {
                    ids.insert(order_id.to_string());
                }
            }
        }
    }
    .await;
    // Visible again, also when the peek failed half-way.
    for handle in &receipts {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .context("making a DLQ message visible again")?;
    }
    peeked.map(|()| ids)
}

/// Wall-clock milliseconds of an [`Instant`] in the past.
pub fn instant_unix_ms(at: Instant) -> i64 {
    let wall = SystemTime::now()
        .checked_sub(at.elapsed())
        .unwrap_or(UNIX_EPOCH);
    wall.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the Orders table, the test products' stock and the DLQ, and tallies the run.
pub async fn tally(
    aws: &aws_config::SdkConfig,
    outputs: &Value,
    accepted: &[AcceptedOrder],
    initial_stock: &BTreeMap<String, i64>,
) -> Result<Tally> {
    let accepted_ms: Vec<i64> = accepted
        .iter()
        .map(|a| instant_unix_ms(a.accepted_at))
        .collect();
    let rows = scan_orders(aws, outputs).await?;
    let stock = stock_of(aws, outputs, initial_stock.keys()).await?;
    let dlq = dlq_order_ids(aws, outputs).await?;
    Ok(classify(
        accepted,
        &accepted_ms,
        &rows,
        &dlq,
        initial_stock,
        &stock,
    ))
}

/// The rows of some orders (consistent BatchGetItem, 100 keys per request as the API allows:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html>).
/// Orders without a row are left out.
pub async fn read_orders(
    aws: &aws_config::SdkConfig,
    outputs: &Value,
    ids: &[String],
) -> Result<Vec<OrderRow>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let table = out(outputs, "OrdersTableName")?;
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let keys = chunk
            .iter()
            .map(|id| HashMap::from([(o::ORDER_ID.to_string(), AttributeValue::S(id.clone()))]))
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .context("building a BatchGetItem request")?,
        );
        while let Some(keys) = request.take() {
            let result = dynamodb
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .context("reading orders")?;
            rows.extend(
                result
                    .responses()
                    .and_then(|r| r.get(table))
                    .into_iter()
                    .flatten()
                    .filter_map(row_of),
            );
            request = result
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .filter(|k| !k.keys().is_empty());
        }
    }
    Ok(rows)
}

/// Polls the Orders table (the orders not yet final) until every accepted order is COMPLETED
/// or FAILED, or `deadline` passes, or the only orders left are in the DLQ. Returns how many
/// are still not final.
pub async fn wait_final(
    aws: &aws_config::SdkConfig,
    outputs: &Value,
    accepted: &[AcceptedOrder],
    deadline: Instant,
) -> Result<usize> {
    let mut open: BTreeSet<String> = accepted.iter().map(|a| a.order_id.clone()).collect();
    let mut unchanged_polls = 0;
    loop {
        let before = open.len();
        let ids: Vec<String> = open.iter().cloned().collect();
        for row in read_orders(aws, outputs, &ids).await? {
            if OrderStatus::parse(&row.status).is_some_and(OrderStatus::is_final) {
                open.remove(&row.order_id);
            }
        }
        if open.is_empty() || Instant::now() >= deadline {
            return Ok(open.len());
        }
        unchanged_polls = if open.len() == before {
            unchanged_polls + 1
        } else {
            0
        };
        // No progress for a few seconds: stop early if everything left is in the DLQ.
        if unchanged_polls >= 6 {
            let dlq = dlq_order_ids(aws, outputs).await?;
            if open.iter().all(|id| dlq.contains(id)) {
                return Ok(open.len());
            }
            unchanged_polls = 0;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(id: &str, key: &str) -> AcceptedOrder {
        AcceptedOrder {
            order_id: id.into(),
            idempotency_key: key.into(),
            items: vec![("p1".into(), 1)],
            total_cents: 100,
            accepted_at: Instant::now(),
        }
    }

    fn row(id: &str, key: &str, status: &str, items: &[(&str, i64)]) -> OrderRow {
        OrderRow {
            order_id: id.into(),
            user_sub: "u1".into(),
            status: status.into(),
            idempotency_key: Some(key.into()),
            items: items.iter().map(|(p, q)| (p.to_string(), *q)).collect(),
            failure_error: None,
            updated_at: Some("2026-11-25T00:00:01.250Z".into()),
        }
    }

    fn stock(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(p, s)| (p.to_string(), *s)).collect()
    }

    fn final_stock(pairs: &[(&str, Option<i64>)]) -> BTreeMap<String, Option<i64>> {
        pairs.iter().map(|(p, s)| (p.to_string(), *s)).collect()
    }

    const T0: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z

    #[test]
    fn parses_the_timestamps_this_system_writes() {
        assert_eq!(unix_ms("2026-11-25T00:00:00Z"), Some(T0));
        assert_eq!(unix_ms("2026-11-25T00:00:01.250Z"), Some(T0 + 1250));
        assert_eq!(unix_ms("2026-11-25T00:00:01.5Z"), Some(T0 + 1500));
        assert_eq!(unix_ms("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(unix_ms("2024-02-29T12:00:00.000Z"), Some(1_709_208_000_000));
        for bad in [
            "",
            "2026-11-25",
            "2026-11-25T00:00:00+01:00",
            "2026-13-01T00:00:00Z",
            "2026-11-25T00:00:00.Z",
        ] {
            assert_eq!(unix_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_clean_run_adds_up() {
        let a = vec![
            accepted("o1", "k1"),
            accepted("o2", "k2"),
            accepted("o3", "k3"),
        ];
        let mut failed = row("o3", "k3", "FAILED", &[("p1", 5)]);
        failed.failure_error = Some("PaymentDeclined".into());
        let rows = vec![
            row("o1", "k1", "COMPLETED", &[("p1", 2), ("p2", 1)]),
            row("o2", "k2", "COMPLETED", &[("p1", 3)]),
            failed,
            // Another user's order of another product: not ours.
            OrderRow {
                user_sub: "someone-else".into(),
                ..row("x", "kx", "PENDING", &[("mug", 1)])
            },
        ];
        let t = classify(
            &a,
            &[T0, T0, T0],
            &rows,
            &BTreeSet::new(),
            &stock(&[("p1", 100), ("p2", 10)]),
            &final_stock(&[("p1", Some(95)), ("p2", Some(9))]),
        );
        assert_eq!((t.accepted, t.completed, t.failed()), (3, 2, 1));
        assert_eq!(t.failed_by_reason["PaymentDeclined"], 1);
        assert_eq!((t.pending, t.in_dlq, t.lost), (0, 0, 0));
        assert_eq!((t.duplicated, t.unexpected_orders), (0, 0));
        assert!(t.oversold_products.is_empty());
        assert_eq!(t.completed_after, vec![Duration::from_millis(1250); 2]);
        assert!(t.is_clean(), "{t}");
    }

    #[test]
    fn pending_or_missing_orders_are_lost_unless_in_the_dlq() {
        let a = vec![
            accepted("o1", "k1"),
            accepted("o2", "k2"),
            accepted("o3", "k3"),
        ];
        let rows = vec![
            row("o1", "k1", "PENDING", &[]),
            row("o2", "k2", "PENDING", &[]),
        ];
        let dlq = BTreeSet::from(["o2".to_string()]);
        let t = classify(
            &a,
            &[T0; 3],
            &rows,
            &dlq,
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert_eq!(
            (t.pending, t.in_dlq, t.lost),
            (2, 1, 2),
            "o1 pending, o3 missing"
        );
        assert!(!t.is_clean());
    }

    #[test]
    fn duplicates_and_unexpected_orders_are_counted() {
        // o1 replayed with the same key: one order. o2 accepted under two keys: a duplicate.
        let a = vec![
            accepted("o1", "k1"),
            accepted("o1", "k1"),
            accepted("o2", "k2"),
            accepted("o2", "k2b"),
        ];
        let rows = vec![
            row("o1", "k1", "COMPLETED", &[]),
            row("o2", "k2", "COMPLETED", &[]),
            // A second row for k1, and an order of the same user nobody announced.
            row("o1-again", "k1", "COMPLETED", &[]),
            // An unannounced order of a test product by another user.
            OrderRow {
                user_sub: "u2".into(),
                ..row("o9", "k9", "PENDING", &[("p1", 1)])
            },
        ];
        let t = classify(
            &a,
            &[T0; 4],
            &rows,
            &BTreeSet::new(),
            &stock(&[("p1", 10)]),
            &final_stock(&[("p1", Some(10))]),
        );
        assert_eq!(t.accepted, 2);
        assert_eq!(t.duplicated, 2, "o2 under two keys + a second row for k1");
        assert_eq!(t.unexpected_orders, 2, "o1-again and o9");
        assert_eq!(t.lost, 0);
        assert!(!t.is_clean());
    }

    #[test]
    fn stock_must_drop_by_exactly_the_completed_quantity() {
        let a = vec![accepted("o1", "k1"), accepted("o2", "k2")];
        let mut failed = row("o2", "k2", "FAILED", &[("p2", 4)]);
        failed.failure_error = Some("OutOfStock".into());
        let rows = vec![
            row("o1", "k1", "COMPLETED", &[("p1", 2), ("p3", 1)]),
            failed,
        ];
        let t = classify(
            &a,
            &[T0; 2],
            &rows,
            &BTreeSet::new(),
            &stock(&[("p1", 5), ("p2", 3), ("p3", 1), ("p4", 1)]),
            // p1 dropped by 3 (one too many), p2 dropped for a failed order, p3 fine, p4 gone.
            &final_stock(&[
                ("p1", Some(2)),
                ("p2", Some(-1)),
                ("p3", Some(0)),
                ("p4", None),
            ]),
        );
        let names: Vec<&str> = t
            .oversold_products
            .iter()
            .map(|o| o.product_id.as_str())
            .collect();
        assert_eq!(names, ["p1", "p2", "p4"]);
        assert_eq!(t.oversold_products[0].completed_quantity, 2);
        assert_eq!(t.failed_by_reason["OutOfStock"], 1);
        assert!(!t.is_clean());
        let text = t.to_string();
        assert!(
            text.contains("oversold p1: initial 5, final 2, completed quantity 2"),
            "{text}"
        );
        assert!(text.contains("NOT CLEAN"), "{text}");
    }
}
