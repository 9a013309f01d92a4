//! `POST /orders` (price, record PENDING, queue; idempotent per `Idempotency-Key`),
//! `GET /orders/{orderId}` (owner only) and `GET /orders` (the caller's, newest first).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use shop_model::{
    OrderLine, OrderMessage, OrderStatus, PricedLine, CURRENCY, MAX_ORDER_LINES, MAX_QUANTITY,
    MIN_QUANTITY,
};
use uuid::Uuid;

use crate::contract::{OrderAccepted, OrderList, OrderView};
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse, Claims, Fields};
use crate::ports::{CreateOutcome, OrderQueue, OrderRecord, OrderStore, PageKey, ProductCatalog};

use super::paging;

/// Header carrying the client's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Response header set when an answer is a replay of an earlier one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Longest payment token accepted.
const MAX_PAYMENT_TOKEN_LEN: usize = 2048;

/// Namespace of the order ids derived from (user, idempotency key).
fn order_id_namespace() -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"urn:serverless-shop:order-idempotency",
    )
}

/// The order id for a request with an idempotency key: a UUID v5 of the user and the
/// key, so a retry finds the first order and two users never share one.
pub fn idempotent_order_id(user_sub: &str, key: &str) -> String {
    let name = format!("{}\n{}", user_sub, key);
    Uuid::new_v5(&order_id_namespace(), name.as_bytes()).to_string()
}

/// A validated order request.
struct OrderRequest<'a> {
    lines: Vec<OrderLine>,
    payment_token: Option<&'a str>,
}

/// Handles `POST /orders`.
///
/// Idempotency follows the IETF `Idempotency-Key` header draft
/// (<https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/>): a
/// repeat with the same key and body gets the first answer (202, plus
/// `Idempotent-Replayed: true`) and queues nothing new; the same key with a different
/// body is **422** `idempotency_key_reused`.
pub async fn create<C: ProductCatalog, O: OrderStore, Q: OrderQueue>(
    catalog: &C,
    orders: &O,
    queue: &Q,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let claims = request.require_claims()?;
    let idempotency_key = idempotency_key(request)?;
    let body = request.json_object()?;
    let order = parse_order(&body)?;

    let order_id = match idempotency_key {
        Some(key) => idempotent_order_id(&claims.sub, key),
        None => Uuid::new_v4().to_string(),
    };
    if idempotency_key.is_some() {
        if let Some(existing) = orders.get_order(&order_id).await? {
            return replay(orders, queue, existing, claims, &order).await;
        }
    }

    let ids: Vec<String> = order.lines.iter().map(|l| l.product_id.clone()).collect();
    let products: HashMap<String, shop_model::Product> = catalog
        .get_products(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let mut items = Vec::with_capacity(order.lines.len());
    let mut total_cents: i64 = 0;
    for (i, line) in order.lines.iter().enumerate() {
        let field = format!("items[{i}].productId");
        let Some(product) = products.get(&line.product_id) else {
            return Err(ApiError::field(field, "no such product"));
        };
        if product.archived {
            return Err(ApiError::field(field, "is no longer sold"));
        }
        if product.currency != CURRENCY {
            return Err(ApiError::field(field, format!("is not sold in {CURRENCY}")));
        }
        if product.price_cents < 0 {
            return Err(ApiError::Internal(format!(
                "product {} has a negative price",
                product.id
            )));
        }
        let line_total = product
            .price_cents
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(|| ApiError::Internal("order line total overflows".into()))?;
        total_cents = total_cents
            .checked_add(line_total)
            .ok_or_else(|| ApiError::Internal("order total overflows".into()))?;
        items.push(PricedLine {
            product_id: product.id.clone(),
            name: product.name.clone(),
            quantity: line.quantity,
            unit_price_cents: product.price_cents,
            line_total_cents: line_total,
        });
    }

    let now = now_rfc3339();
    let record = OrderRecord {
        order_id,
        user_sub: claims.sub.clone(),
        status: OrderStatus::Pending,
        items,
        total_cents,
        currency: CURRENCY.to_string(),
        payment_token: order.payment_token.map(str::to_string),
        payment_id: None,
        created_at: now.clone(),
        updated_at: now,
        queued_at: None,
        idempotency_key: idempotency_key.map(str::to_string),
        failure_error: None,
        failure_reason: None,
    };
    match orders.create_order(&record).await? {
        CreateOutcome::Created => {}
        // A concurrent request with the same key won the conditional put.
        CreateOutcome::AlreadyExists(existing) => {
            return replay(orders, queue, *existing, claims, &order).await
        }
    }
    tracing::info!(order_id = %record.order_id, total_cents, lines = record.items.len(), "order recorded");
    queue_order(orders, queue, &record).await?;
    Ok(accepted(&record, false))
}

/// Answers a repeated request from the stored order, finishing its queueing if the first
/// attempt stopped between recording and queueing.
async fn replay<O: OrderStore, Q: OrderQueue>(
    orders: &O,
    queue: &Q,
    existing: OrderRecord,
    claims: &Claims,
    order: &OrderRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    if existing.user_sub != claims.sub {
        // Cannot happen with v5 ids (the user is part of the name) short of a collision.
        return Err(ApiError::Conflict("order id is taken".into()));
    }
    let same_lines = existing.items.len() == order.lines.len()
        && existing
            .items
            .iter()
            .zip(&order.lines)
            .all(|(a, b)| a.product_id == b.product_id && a.quantity == b.quantity);
    if !same_lines || existing.payment_token.as_deref() != order.payment_token {
        return Err(ApiError::IdempotencyKeyReused);
    }
    if existing.queued_at.is_none() {
        tracing::info!(order_id = %existing.order_id, "completing queueing of a repeated order");
        queue_order(orders, queue, &existing).await?;
    }
    Ok(accepted(&existing, true))
}

/// Queues the order message, then records `queuedAt`. If queueing fails the order stays
/// without `queuedAt` and a retry with the same key queues it.
async fn queue_order<O: OrderStore, Q: OrderQueue>(
    orders: &O,
    queue: &Q,
    record: &OrderRecord,
) -> Result<(), ApiError> {
    let message = OrderMessage {
        order_id: record.order_id.clone(),
        user_sub: record.user_sub.clone(),
        items: record
            .items
            .iter()
            .map(|l| OrderLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
            })
            .collect(),
        payment_token: record.payment_token.clone(),
        total_cents: record.total_cents,
        currency: record.currency.clone(),
        created_at: record.created_at.clone(),
    };
    if let Err(error) = queue.enqueue(&message).await {
        tracing::warn!(order_id = %record.order_id, error = %error, "order recorded but not queued");
        return Err(error);
    }
    if let Err(error) = orders.mark_queued(&record.order_id, &now_rfc3339()).await {
        // The message is on the queue; a retry may queue it again, which the workflow
        // tolerates (one execution per order id).
        tracing::warn!(order_id = %record.order_id, error = %error, "order queued but queuedAt not recorded");
    }
    Ok(())
}

/// The 202 answer of `POST /orders` (the same for the first request and its repeats).
fn accepted(record: &OrderRecord, replayed: bool) -> ApiResponse {
    let mut response = ApiResponse::json(
        202,
        &OrderAccepted {
            order_id: record.order_id.clone(),
            status: OrderStatus::Pending,
            total_cents: record.total_cents,
            currency: record.currency.clone(),
        },
    );
    if replayed {
        response
            .headers
            .insert(REPLAYED_HEADER.into(), "true".into());
    }
    response
}

/// Handles `GET /orders/{orderId}`: 404 unless the caller owns the order.
pub async fn get<O: OrderStore>(
    orders: &O,
    order_id: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let claims = request.require_claims()?;
    let not_found = || ApiError::NotFound("no such order".into());
    if !is_plain_id(order_id) {
        return Err(not_found());
    }
    let order = orders.get_order(order_id).await?.ok_or_else(not_found)?;
    if order.user_sub != claims.sub {
        return Err(not_found());
    }
    Ok(ApiResponse::json(200, &order_view(&order)))
}

/// Handles `GET /orders?limit=&cursor=`: the caller's orders, newest first. A cursor is a
/// key of the caller's own listing; one naming another user is a 422, so no cursor can list
/// someone else's orders.
pub async fn list<O: OrderStore>(
    orders: &O,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let claims = request.require_claims()?;
    let limit = paging::limit(request)?;
    let start = paging::cursor(request, |key| continues_listing(key, &claims.sub))?;
    let page = orders
        .list_orders(&claims.sub, limit, start.as_ref())
        .await?;
    // Defence in depth: the query is by the caller's sub, so this filters nothing.
    let items = page
        .items
        .iter()
        .filter(|order| order.user_sub == claims.sub)
        .map(order_view)
        .collect();
    let next_cursor = page.last_key.as_ref().map(paging::encode_cursor);
    Ok(ApiResponse::json(200, &OrderList { items, next_cursor }))
}

/// True for a key of the caller's listing on the user index: exactly `orderId`, `userSub`
/// (the caller) and `createdAt`.
fn continues_listing(key: &PageKey, user_sub: &str) -> bool {
    use shop_model::orders as attr;
    key.len() == 3
        && key.get(attr::USER_SUB).map(String::as_str) == Some(user_sub)
        && key.get(attr::ORDER_ID).is_some_and(|id| is_plain_id(id))
        && key
            .get(attr::CREATED_AT)
            .is_some_and(|at| !at.is_empty() && at.len() <= 64)
}

/// The owner's view of an order (no payment token).
pub fn order_view(order: &OrderRecord) -> OrderView {
    OrderView {
        order_id: order.order_id.clone(),
        status: order.status,
        items: order.items.clone(),
        total_cents: order.total_cents,
        currency: order.currency.clone(),
        created_at: order.created_at.clone(),
        updated_at: order.updated_at.clone(),
        payment_id: order.payment_id.clone(),
        failure_error: order.failure_error.clone(),
        failure_reason: order.failure_reason.clone(),
    }
}

/// The `Idempotency-Key` header, if any: 1–255 visible ASCII characters.
fn idempotency_key(request: &ApiRequest) -> Result<Option<&str>, ApiError> {
    match request.header(IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(key)
            if !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key))
        }
        Some(_) => Err(ApiError::field(
            IDEMPOTENCY_HEADER,
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// Validates the order body: 1–50 lines of distinct plain product ids with quantities
/// 1–100, and an optional payment token.
fn parse_order(body: &serde_json::Map<String, Value>) -> Result<OrderRequest<'_>, ApiError> {
    let fields = Fields::new(body);
    let items = fields.array("items")?;
    if items.is_empty() || items.len() > MAX_ORDER_LINES {
        return Err(ApiError::field(
            "items",
            format!("must have 1 to {MAX_ORDER_LINES} lines"),
        ));
    }
    let mut lines = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.as_object() else {
            return Err(ApiError::field(format!("items[{i}]"), "must be an object"));
        };
        let line = Fields::nested(map, format!("items[{i}]"));
        let product_id = line.string("productId")?;
        if !is_plain_id(product_id) {
            return Err(ApiError::field(
                line.name("productId"),
                "must be a plain id",
            ));
        }
        if !seen.insert(product_id) {
            return Err(ApiError::field(
                line.name("productId"),
                "appears twice; use one line per product",
            ));
        }
        let quantity =
            line.integer("quantity", i64::from(MIN_QUANTITY), i64::from(MAX_QUANTITY))?;
        lines.push(OrderLine {
            product_id: product_id.to_string(),
            quantity: u32::try_from(quantity).unwrap_or(MIN_QUANTITY),
        });
    }
    let payment_token = fields.optional_string("paymentToken")?;
    if payment_token.is_some_and(|t| t.len() > MAX_PAYMENT_TOKEN_LEN) {
        return Err(ApiError::field(
            "paymentToken",
            "is longer than 2048 characters",
        ));
    }
    Ok(OrderRequest {
        lines,
        payment_token,
    })
}

/// Now as RFC 3339 UTC with milliseconds (sorts lexically, as the `user-index` needs).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_ids_depend_on_user_and_key() {
        let a = idempotent_order_id("u1", "k1");
        assert_eq!(a, idempotent_order_id("u1", "k1"));
        assert_ne!(a, idempotent_order_id("u2", "k1"));
        assert_ne!(a, idempotent_order_id("u1", "k2"));
        // "u1\nk" vs "u1\n" + "k": the separator keeps (user, key) pairs apart.
        assert_ne!(
            idempotent_order_id("u1k", "x"),
            idempotent_order_id("u1", "kx")
        );
        assert!(is_plain_id(&a));
    }
}
