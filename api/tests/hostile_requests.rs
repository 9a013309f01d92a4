//! Hostile-input suite: one table of malicious or broken requests across every route, each
//! run through [`api::App::handle`] with in-memory ports. Every case must get its documented
//! status and error code, never a 5xx or a panic, and (unless it is a documented success
//! that changes nothing or one order) leave the stores exactly as they were.
//!
//! The contract: malformed JSON 400; a field breaking the contract 422 naming the field;
//! missing/bad auth 401; a shopper on a staff route 403; a stale version or a stock below zero
//! 409; body over 64 KiB 413; not JSON 415; unknown route 404; every error
//! body is `{"error":{"code","message"}}`.

use std::sync::Arc;

use api::app::{App, AuthConfig};
use api::http::{ApiRequest, ApiResponse, MAX_BODY_BYTES};
use api::memory::{MemoryCatalog, MemoryIdentity, MemoryImages, MemoryOrders, MemoryQueue};
use api::ports::{IdentityProvider, OrderRecord, ProductCatalog};
use serde_json::{json, Value};
use shop_model::{OrderMessage, OrderStatus, PricedLine, Product};

const USER: &str = "user-a";
const OTHER_USER: &str = "user-b";
const OTHER_ORDER: &str = "o-other";
const USED_KEY: &str = "key-used-once";
const SEEDED_EMAIL: &str = "seeded@example.com";
const SEEDED_PASSWORD: &str = "Corr3ct-Horse!";
/// Every e-mail a case tries to register: none of them may end up in the directory.
const PROBE_EMAILS: [&str; 4] = [
    "evil\u{0}@example.com",
    "new@example.com",
    "long@example.com",
    "x@example.com",
];

type MemoryApp = App<
    Arc<MemoryIdentity>,
    Arc<MemoryCatalog>,
    Arc<MemoryOrders>,
    Arc<MemoryQueue>,
    Arc<MemoryImages>,
>;

struct World {
    app: Arc<MemoryApp>,
    identity: Arc<MemoryIdentity>,
    catalog: Arc<MemoryCatalog>,
    orders: Arc<MemoryOrders>,
    queue: Arc<MemoryQueue>,
    used_key_order: String,
}

fn product(id: &str, price_cents: i64, currency: &str, stock: i64) -> Product {
    Product {
        id: id.into(),
        name: format!("Product {id}"),
        description: format!("About {id}"),
        category: "books".into(),
        price_cents,
        currency: currency.into(),
        image_key: None,
        stock,
        version: 1,
        archived: false,
    }
}

fn basket() -> Value {
    json!({"items": [{"productId": "p-1", "quantity": 2}], "paymentToken": "tok_visa"})
}

/// Products, one order of another user, one order of the caller under an idempotency key,
/// and one confirmed user.
async fn world() -> World {
    let identity = Arc::new(MemoryIdentity::default());
    let catalog = Arc::new(MemoryCatalog::new([
        product("p-1", 1299, "USD", 10),
        product("p-2", 4999, "USD", 0),
        product("p-eur", 1000, "EUR", 5),
        product("p-max", i64::MAX / 2, "USD", 5),
    ]));
    let orders = Arc::new(MemoryOrders::default());
    orders.put(OrderRecord {
        order_id: OTHER_ORDER.into(),
        user_sub: OTHER_USER.into(),
        status: OrderStatus::Pending,
        items: vec![PricedLine {
            product_id: "p-1".into(),
            name: "Product p-1".into(),
            quantity: 1,
            unit_price_cents: 1299,
            line_total_cents: 1299,
        }],
        total_cents: 1299,
        currency: "USD".into(),
        payment_token: Some("tok_other_secret".into()),
        payment_id: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        queued_at: Some("2026-01-01T00:00:00.001Z".into()),
        idempotency_key: None,
        failure_error: None,
        failure_reason: None,
    });
    let queue = Arc::new(MemoryQueue::default());
    identity
        .sign_up(SEEDED_EMAIL, SEEDED_PASSWORD)
        .await
        .expect("seed user");
    identity
        .admin_confirm_sign_up(SEEDED_EMAIL)
        .await
        .expect("confirm seed user");
    let app = Arc::new(App {
        identity: identity.clone(),
        catalog: catalog.clone(),
        orders: orders.clone(),
        queue: queue.clone(),
        images: Arc::new(MemoryImages::default()),
        auth: AuthConfig::default(),
    });
    let first = app
        .handle(
            ApiRequest::new("POST", "/orders")
                .with_json(&basket())
                .with_header("Idempotency-Key", USED_KEY)
                .with_claims(USER, None),
        )
        .await;
    assert_eq!(first.status, 202, "seed order: {}", first.body);
    let used_key_order = first.json_body()["orderId"]
        .as_str()
        .expect("seed order id")
        .to_string();
    World {
        app,
        identity,
        catalog,
        orders,
        queue,
        used_key_order,
    }
}

/// Everything a request could change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    order_count: usize,
    other_order: Option<OrderRecord>,
    used_key_order: Option<OrderRecord>,
    messages: Vec<OrderMessage>,
    products: Vec<Product>,
    users: Vec<Option<bool>>,
}

async fn snapshot(w: &World) -> Snapshot {
    let mut users: Vec<Option<bool>> = PROBE_EMAILS
        .iter()
        .map(|e| w.identity.is_confirmed(e))
        .collect();
    users.push(w.identity.is_confirmed(SEEDED_EMAIL));
    Snapshot {
        order_count: w.orders.len(),
        other_order: w.orders.order(OTHER_ORDER),
        used_key_order: w.orders.order(&w.used_key_order),
        messages: w.queue.messages(),
        products: w
            .catalog
            .list_products(None, 100, None)
            .await
            .expect("list")
            .items,
        users,
    }
}

/// What a case may change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    /// Nothing at all.
    None,
    /// Exactly one new order and one new queue message, nothing else.
    OneOrder,
}

struct Case {
    name: &'static str,
    request: ApiRequest,
    status: u16,
    /// Expected `error.code` (empty for a success).
    code: &'static str,
    /// Text the error message must contain (the field name of a 422).
    mentions: &'static str,
    effect: Effect,
}

fn reject(
    name: &'static str,
    request: ApiRequest,
    status: u16,
    code: &'static str,
    mentions: &'static str,
) -> Case {
    Case {
        name,
        request,
        status,
        code,
        mentions,
        effect: Effect::None,
    }
}

fn field(name: &'static str, request: ApiRequest, mentions: &'static str) -> Case {
    reject(name, request, 422, "validation_failed", mentions)
}

fn accept(name: &'static str, request: ApiRequest, status: u16, effect: Effect) -> Case {
    Case {
        name,
        request,
        status,
        code: "",
        mentions: "",
        effect,
    }
}

fn get(path: &str) -> ApiRequest {
    ApiRequest::new("GET", path)
}

fn authed(request: ApiRequest) -> ApiRequest {
    request.with_claims(USER, Some("a@example.com"))
}

/// `POST /orders` by the caller with a JSON body.
fn order(body: Value) -> ApiRequest {
    authed(ApiRequest::new("POST", "/orders").with_json(&body))
}

/// `POST /orders` by the caller with raw bytes.
fn order_raw(content_type: &str, body: impl Into<Vec<u8>>) -> ApiRequest {
    authed(ApiRequest::new("POST", "/orders").with_body(content_type, body.into()))
}

/// `POST /orders` with one line.
fn line(product_id: Value, quantity: Value) -> ApiRequest {
    order(json!({"items": [{"productId": product_id, "quantity": quantity}]}))
}

fn auth(body: Value) -> ApiRequest {
    ApiRequest::new("POST", "/auth").with_json(&body)
}

/// A request by a user in these groups (none of them the staff group).
fn in_groups(request: ApiRequest, groups: &[&str]) -> ApiRequest {
    let mut request = authed(request);
    if let Some(claims) = request.claims.as_mut() {
        claims.groups = groups.iter().map(|g| g.to_string()).collect();
    }
    request
}

/// A request by a member of the staff group.
fn staff(request: ApiRequest) -> ApiRequest {
    request.with_staff_claims("staff-1")
}

fn upload(product_id: &str, content_type: &str) -> ApiRequest {
    staff(
        get("/products/upload")
            .with_query("productId", product_id)
            .with_query("contentType", content_type),
    )
}

fn lines(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"productId": format!("p-{i}"), "quantity": 1}))
        .collect();
    json!({ "items": items })
}

/// A `POST /products` body that would be accepted.
fn new_product() -> Value {
    json!({"id": "p-new", "name": "Lamp", "category": "home", "priceCents": 3999,
           "currency": "USD", "stock": 3})
}

/// A `PUT /products/{id}` body based on `version`.
fn edit(version: i64) -> Value {
    json!({"name": "Lamp", "category": "home", "priceCents": 3999, "currency": "USD",
           "version": version})
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

fn cursor_of(json: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn cases() -> Vec<Case> {
    let big = "x".repeat(MAX_BODY_BYTES + 1);
    let huge_token = "t".repeat(2049);
    vec![
        // ---- routing and paths ----
        reject("unknown route", get("/admin"), 404, "route_not_found", ""),
        reject("unknown method", ApiRequest::new("DELETE", &format!("/orders/{OTHER_ORDER}")), 404, "route_not_found", ""),
        reject("method with CRLF", ApiRequest::new("GET\r\nX-Injected: 1", "/products"), 404, "route_not_found", ""),
        reject("dot-dot segments", get("/products/../orders"), 404, "route_not_found", ""),
        reject("empty path", get(""), 404, "route_not_found", ""),
        reject("10k-character path", get(&format!("/{}", "a/".repeat(5000))), 404, "route_not_found", ""),
        reject("encoded traversal product id", get("/products/..%2F..%2Fetc%2Fpasswd"), 404, "not_found", ""),
        reject("NUL in product id", get("/products/p-1\u{0}"), 404, "not_found", ""),
        reject("unicode product id", get("/products/p\u{2011}1"), 404, "not_found", ""),
        reject("RTL override product id", get("/products/\u{202e}1-p"), 404, "not_found", ""),
        reject("another user's order", authed(get(&format!("/orders/{OTHER_ORDER}"))), 404, "not_found", ""),
        reject("order id with traversal", authed(get("/orders/..%2Fo-other")), 404, "not_found", ""),
        reject("order id 200 chars", authed(get(&format!("/orders/{}", "o".repeat(200)))), 404, "not_found", ""),
        reject("get order without auth", get(&format!("/orders/{OTHER_ORDER}")), 401, "unauthorized", ""),
        reject("get order with blank sub", get(&format!("/orders/{OTHER_ORDER}")).with_claims("  ", None), 401, "unauthorized", ""),
        accept("1,000 junk headers on a public read", (0..1000).fold(get("/products"), |r, i| r.with_header(&format!("x-junk-{i}"), &"v".repeat(100))), 200, Effect::None),
        // ---- body framing ----
        reject("malformed JSON", order_raw("application/json", "{\"items\": ["), 400, "malformed_json", ""),
        reject("empty body", order_raw("application/json", ""), 400, "malformed_json", ""),
        reject("trailing garbage", order_raw("application/json", r#"{"items":[]} x"#), 400, "malformed_json", ""),
        reject("invalid UTF-8", order_raw("application/json", vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']), 400, "malformed_json", ""),
        reject("byte order mark", order_raw("application/json", "\u{feff}{}"), 400, "malformed_json", ""),
        reject("NaN literal", order_raw("application/json", r#"{"items":[{"productId":"p-1","quantity":NaN}]}"#), 400, "malformed_json", ""),
        reject("10,000-deep nesting", order_raw("application/json", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))), 400, "malformed_json", ""),
        reject("raw control character in string", order_raw("application/json", "{\"paymentToken\":\"a\u{1}b\"}"), 400, "malformed_json", ""),
        reject("body over 64 KiB", order_raw("application/json", format!("{{\"pad\":\"{big}\"}}")), 413, "payload_too_large", ""),
        reject("body over 64 KiB, not JSON", order_raw("text/plain", big.clone()), 413, "payload_too_large", ""),
        reject("3,000 order lines (over 64 KiB)", order(lines(3000)), 413, "payload_too_large", ""),
        reject("text/plain", order_raw("text/plain", basket().to_string()), 415, "unsupported_media_type", ""),
        reject("no content type", authed(ApiRequest { method: "POST".into(), path: "/orders".into(), body: basket().to_string().into_bytes(), ..Default::default() }), 415, "unsupported_media_type", ""),
        reject("json-like media type", order_raw("application/jsonx", basket().to_string()), 415, "unsupported_media_type", ""),
        reject("media type list", order_raw("text/plain, application/json", basket().to_string()), 415, "unsupported_media_type", ""),
        reject("form encoded", order_raw("application/x-www-form-urlencoded", "items=p-1"), 415, "unsupported_media_type", ""),
        field("top-level array", order(json!([basket()])), "body"),
        field("top-level string", order(json!("order")), "body"),
        field("top-level null", order(Value::Null), "body"),
        // ---- order lines ----
        field("items missing", order(json!({"paymentToken": "tok"})), "items"),
        field("items is a string", order(json!({"items": "p-1"})), "items"),
        field("items is an object", order(json!({"items": {"productId": "p-1", "quantity": 1}})), "items"),
        field("items empty", order(json!({"items": []})), "items"),
        field("51 order lines", order(lines(51)), "items"),
        field("1,000 order lines", order(lines(1000)), "items"),
        field("line is a number", order(json!({"items": [7]})), "items[0]"),
        field("productId missing", order(json!({"items": [{"quantity": 1}]})), "items[0].productId"),
        field("productId is a number", line(json!(1), json!(1)), "items[0].productId"),
        field("productId is an array", line(json!(["p-1"]), json!(1)), "items[0].productId"),
        field("productId empty", line(json!(""), json!(1)), "items[0].productId"),
        field("unknown product", line(json!("p-404"), json!(1)), "items[0].productId"),
        field("unknown product after a valid line", order(json!({"items": [{"productId": "p-1", "quantity": 1}, {"productId": "p-nope", "quantity": 1}]})), "items[1].productId"),
        field("product in another currency", line(json!("p-eur"), json!(1)), "items[0].productId"),
        field("productId traversal", line(json!("../p-1"), json!(1)), "items[0].productId"),
        field("productId with NUL", line(json!("p-1\u{0}"), json!(1)), "items[0].productId"),
        field("productId with newline", line(json!("p-1\nDROP"), json!(1)), "items[0].productId"),
        field("productId unicode homoglyph", line(json!("р-1"), json!(1)), "items[0].productId"),
        field("productId emoji", line(json!("p-🛒"), json!(1)), "items[0].productId"),
        field("productId 129 characters", line(json!("p".repeat(129)), json!(1)), "items[0].productId"),
        field("productId SQL-ish", line(json!("p-1' OR '1'='1"), json!(1)), "items[0].productId"),
        field("duplicate product", order(json!({"items": [{"productId": "p-1", "quantity": 1}, {"productId": "p-1", "quantity": 1}]})), "items[1].productId"),
        field("quantity zero", line(json!("p-1"), json!(0)), "items[0].quantity"),
        field("quantity negative", line(json!("p-1"), json!(-1)), "items[0].quantity"),
        field("quantity i64::MIN", line(json!("p-1"), json!(i64::MIN)), "items[0].quantity"),
        field("quantity over 100", line(json!("p-1"), json!(101)), "items[0].quantity"),
        field("quantity u32::MAX + 1", line(json!("p-1"), json!(4_294_967_296_u64)), "items[0].quantity"),
        field("quantity u64::MAX", line(json!("p-1"), json!(u64::MAX)), "items[0].quantity"),
        field("quantity 1e30", order_raw("application/json", r#"{"items":[{"productId":"p-1","quantity":1e30}]}"#), "items[0].quantity"),
        field("quantity 40-digit literal", order_raw("application/json", format!(r#"{{"items":[{{"productId":"p-1","quantity":{}}}]}}"#, "9".repeat(40))), "items[0].quantity"),
        // Beyond f64: not representable, so the body is not parseable JSON for us (400).
        reject("quantity 400-digit literal", order_raw("application/json", format!(r#"{{"items":[{{"productId":"p-1","quantity":{}}}]}}"#, "9".repeat(400))), 400, "malformed_json", ""),
        field("quantity fraction", line(json!("p-1"), json!(1.5)), "items[0].quantity"),
        field("quantity float 2.0", line(json!("p-1"), json!(2.0)), "items[0].quantity"),
        field("quantity string", line(json!("p-1"), json!("2")), "items[0].quantity"),
        field("quantity boolean", line(json!("p-1"), json!(true)), "items[0].quantity"),
        field("quantity null", line(json!("p-1"), Value::Null), "items[0].quantity"),
        field("paymentToken number", order(json!({"items": [{"productId": "p-1", "quantity": 1}], "paymentToken": 4242})), "paymentToken"),
        field("paymentToken object", order(json!({"items": [{"productId": "p-1", "quantity": 1}], "paymentToken": {"$ne": null}})), "paymentToken"),
        field("paymentToken empty", order(json!({"items": [{"productId": "p-1", "quantity": 1}], "paymentToken": ""})), "paymentToken"),
        field("paymentToken 2,049 characters", order(json!({"items": [{"productId": "p-1", "quantity": 1}], "paymentToken": huge_token})), "paymentToken"),
        reject("order without auth", ApiRequest::new("POST", "/orders").with_json(&basket()), 401, "unauthorized", ""),
        reject("order with empty sub", ApiRequest::new("POST", "/orders").with_json(&basket()).with_claims("", None), 401, "unauthorized", ""),
        reject("oversized order without auth", ApiRequest::new("POST", "/orders").with_body("application/json", big.clone().into_bytes()), 401, "unauthorized", ""),
        // ---- idempotency header abuse ----
        field("Idempotency-Key empty", order(basket()).with_header("Idempotency-Key", ""), "Idempotency-Key"),
        field("Idempotency-Key with CRLF", order(basket()).with_header("Idempotency-Key", "k\r\nX-Admin: 1"), "Idempotency-Key"),
        field("Idempotency-Key with NUL", order(basket()).with_header("Idempotency-Key", "k\u{0}"), "Idempotency-Key"),
        field("Idempotency-Key unicode", order(basket()).with_header("Idempotency-Key", "ключ"), "Idempotency-Key"),
        field("Idempotency-Key 100 KB", order(basket()).with_header("Idempotency-Key", &"k".repeat(100_000)), "Idempotency-Key"),
        reject("Idempotency-Key reused with another body", order(json!({"items": [{"productId": "p-1", "quantity": 3}], "paymentToken": "tok_visa"})).with_header("Idempotency-Key", USED_KEY), 422, "idempotency_key_reused", "Idempotency-Key"),
        reject("Idempotency-Key reused with another payment token", order(json!({"items": [{"productId": "p-1", "quantity": 2}], "paymentToken": "tok_stolen"})).with_header("Idempotency-Key", USED_KEY), 422, "idempotency_key_reused", "Idempotency-Key"),
        accept("Idempotency-Key replay changes nothing", order(basket()).with_header("Idempotency-Key", USED_KEY), 202, Effect::None),
        // ---- documented successes among hostile-looking input ----
        accept("forged prices and unknown fields are ignored", order(json!({"items": [{"productId": "p-1", "quantity": 1, "unitPriceCents": 0}], "totalCents": -5, "userSub": OTHER_USER, "status": "COMPLETED", "\u{202e}": "\u{0}"})), 202, Effect::OneOrder),
        accept("out-of-stock product is accepted (stock is checked by the workflow)", line(json!("p-2"), json!(100)), 202, Effect::OneOrder),
        accept("near-i64::MAX price times 2 does not overflow", line(json!("p-max"), json!(2)), 202, Effect::OneOrder),
        // ---- products ----
        field("limit zero", get("/products").with_query("limit", "0"), "limit"),
        field("limit negative", get("/products").with_query("limit", "-1"), "limit"),
        field("limit 101", get("/products").with_query("limit", "101"), "limit"),
        field("limit huge", get("/products").with_query("limit", &"9".repeat(40)), "limit"),
        field("limit not a number", get("/products").with_query("limit", "ten"), "limit"),
        field("limit with NUL", get("/products").with_query("limit", "5\u{0}"), "limit"),
        field("category empty", get("/products").with_query("category", ""), "category"),
        field("category 101 characters", get("/products").with_query("category", &"c".repeat(101)), "category"),
        field("cursor garbage", get("/products").with_query("cursor", "!!!"), "cursor"),
        field("cursor with traversal id", get("/products").with_query("cursor", &cursor_of(r#"{"id":"../x"}"#)), "cursor"),
        field("cursor with extra key", get("/products").with_query("cursor", &cursor_of(r#"{"id":"p-1","userSub":"user-b"}"#)), "cursor"),
        field("cursor 3,000 characters", get("/products").with_query("cursor", &"A".repeat(3000)), "cursor"),
        accept("unicode and control characters in category", get("/products").with_query("category", "bö\u{0}\u{202e}ks"), 200, Effect::None),
        // ---- upload URLs ----
        reject("upload without auth", get("/products/upload").with_query("productId", "p-1").with_query("contentType", "image/png"), 401, "unauthorized", ""),
        reject("upload by a shopper", authed(get("/products/upload").with_query("productId", "p-1").with_query("contentType", "image/png")), 403, "forbidden", ""),
        reject("upload by a group named like staff", in_groups(get("/products/upload").with_query("productId", "p-1").with_query("contentType", "image/png"), &["administrators", "Admin", "admin "]), 403, "forbidden", ""),
        field("upload productId missing", staff(get("/products/upload").with_query("contentType", "image/png")), "productId"),
        field("upload key traversal", upload("../../etc/passwd", "image/png"), "productId"),
        field("upload key with slash", upload("p-1/../../other", "image/png"), "productId"),
        field("upload key percent-encoded traversal", upload("%2e%2e%2fsecret", "image/png"), "productId"),
        field("upload key absolute path", upload("/etc/passwd", "image/png"), "productId"),
        field("upload key backslash", upload("..\\..\\x", "image/png"), "productId"),
        field("upload key unicode", upload("p-1\u{2215}..", "image/png"), "productId"),
        field("upload contentType missing", staff(get("/products/upload").with_query("productId", "p-1")), "contentType"),
        field("upload contentType html", upload("p-1", "text/html"), "contentType"),
        field("upload contentType svg", upload("p-1", "image/svg+xml"), "contentType"),
        field("upload contentType header injection", upload("p-1", "image/png\r\nx-amz-acl: public-read"), "contentType"),
        reject("upload for unknown product", upload("p-404", "image/png"), 404, "not_found", ""),
        // ---- catalog management (staff only) ----
        reject("create product anonymous", ApiRequest::new("POST", "/products").with_json(&new_product()), 401, "unauthorized", ""),
        reject("create product by a shopper", authed(ApiRequest::new("POST", "/products").with_json(&new_product())), 403, "forbidden", ""),
        reject("update product by a shopper", authed(ApiRequest::new("PUT", "/products/p-1").with_json(&edit(1))), 403, "forbidden", ""),
        reject("archive product by a shopper", authed(ApiRequest::new("DELETE", "/products/p-1")), 403, "forbidden", ""),
        reject("adjust stock by a shopper", authed(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"adjustment": 100}))), 403, "forbidden", ""),
        reject("create product in a lookalike group", in_groups(ApiRequest::new("POST", "/products").with_json(&new_product()), &["admins"]), 403, "forbidden", ""),
        reject("create product malformed JSON", staff(ApiRequest::new("POST", "/products").with_body("application/json", b"{\"name\":".to_vec())), 400, "malformed_json", ""),
        reject("create product not JSON", staff(ApiRequest::new("POST", "/products").with_body("text/plain", b"name=x".to_vec())), 415, "unsupported_media_type", ""),
        reject("create product body over 64 KiB", staff(ApiRequest::new("POST", "/products").with_body("application/json", format!("{{\"name\":\"{big}\"}}").into_bytes())), 413, "payload_too_large", ""),
        field("create product array body", staff(ApiRequest::new("POST", "/products").with_json(&json!([new_product()]))), "body"),
        field("create product price as string", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "priceCents", json!("3999")))), "priceCents"),
        field("create product price fractional", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "priceCents", json!(39.99)))), "priceCents"),
        field("create product price negative", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "priceCents", json!(-1)))), "priceCents"),
        field("create product price 2^63", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "priceCents", json!(9_223_372_036_854_775_807_i64)))), "priceCents"),
        field("create product stock negative", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "stock", json!(-5)))), "stock"),
        field("create product id traversal", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "id", json!("../p-1")))), "id"),
        field("create product id reserved", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "id", json!("upload")))), "id"),
        field("create product name with NUL", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "name", json!("Lamp\u{0}")))), "name"),
        field("create product name 10,000 characters", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "name", json!("x".repeat(10_000))))), "name"),
        field("create product other currency", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "currency", json!("EUR")))), "currency"),
        field("create product unknown field", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "isAdmin", json!(true)))), "isAdmin"),
        reject("create product with a taken id", staff(ApiRequest::new("POST", "/products").with_json(&with(new_product(), "id", json!("p-1")))), 409, "conflict", ""),
        field("update product smuggling stock", staff(ApiRequest::new("PUT", "/products/p-1").with_json(&with(edit(1), "stock", json!(1_000_000)))), "stock"),
        field("update product without version", staff(ApiRequest::new("PUT", "/products/p-1").with_json(&without(edit(1), "version"))), "version"),
        field("update product archived as string", staff(ApiRequest::new("PUT", "/products/p-1").with_json(&with(edit(1), "archived", json!("false")))), "archived"),
        reject("update product with a stale version", staff(ApiRequest::new("PUT", "/products/p-1").with_json(&edit(0))), 409, "version_conflict", ""),
        reject("update unknown product", staff(ApiRequest::new("PUT", "/products/p-404").with_json(&edit(1))), 404, "not_found", ""),
        reject("update product id traversal", staff(ApiRequest::new("PUT", "/products/..%2Fp-1").with_json(&edit(1))), 404, "not_found", ""),
        reject("archive unknown product", staff(ApiRequest::new("DELETE", "/products/p-404")), 404, "not_found", ""),
        reject("stock below zero", staff(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"adjustment": -11}))), 409, "insufficient_stock", ""),
        field("stock adjustment as string", staff(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"adjustment": "5"}))), "adjustment"),
        field("stock adjustment zero", staff(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"adjustment": 0}))), "adjustment"),
        field("stock adjustment beyond the largest stock", staff(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"adjustment": 1_000_000_001_i64}))), "adjustment"),
        field("stock set instead of adjusted", staff(ApiRequest::new("POST", "/products/p-1/stock").with_json(&json!({"stock": 5}))), "stock"),
        // ---- my orders ----
        reject("my orders anonymous", get("/orders"), 401, "unauthorized", ""),
        field("my orders with another user's cursor", authed(get("/orders").with_query("cursor", &cursor_of(r#"{"orderId":"o-other","userSub":"user-b","createdAt":"2026-01-01T00:00:00.000Z"}"#))), "cursor"),
        field("my orders with a product cursor", authed(get("/orders").with_query("cursor", &cursor_of(r#"{"id":"p-1"}"#))), "cursor"),
        field("my orders limit 0", authed(get("/orders").with_query("limit", "0")), "limit"),
        // ---- auth ----
        reject("auth malformed JSON", ApiRequest::new("POST", "/auth").with_body("application/json", b"{\"action\":".to_vec()), 400, "malformed_json", ""),
        reject("auth not JSON", ApiRequest::new("POST", "/auth").with_body("text/plain", b"action=login".to_vec()), 415, "unsupported_media_type", ""),
        reject("auth body over 64 KiB", ApiRequest::new("POST", "/auth").with_body("application/json", format!("{{\"action\":\"login\",\"password\":\"{big}\"}}").into_bytes()), 413, "payload_too_large", ""),
        field("auth action missing", auth(json!({"email": SEEDED_EMAIL})), "action"),
        field("auth action unknown", auth(json!({"action": "admin"})), "action"),
        field("auth action number", auth(json!({"action": 1})), "action"),
        field("register password number", auth(json!({"action": "register", "email": "new@example.com", "password": 12345678})), "password"),
        reject("register email with NUL", auth(json!({"action": "register", "email": "evil\u{0}@example.com", "password": SEEDED_PASSWORD})), 400, "invalid_parameter", "email"),
        reject("register email 300 characters", auth(json!({"action": "register", "email": format!("{}@example.com", "l".repeat(290)), "password": SEEDED_PASSWORD})), 400, "invalid_parameter", "email"),
        reject("register password 257 characters", auth(json!({"action": "register", "email": "long@example.com", "password": format!("Aa1!{}", "x".repeat(253))})), 400, "invalid_parameter", "password"),
        reject("register weak password", auth(json!({"action": "register", "email": "new@example.com", "password": "password"})), 400, "invalid_parameter", "password"),
        reject("register existing user", auth(json!({"action": "register", "email": SEEDED_EMAIL, "password": SEEDED_PASSWORD})), 409, "user_exists", ""),
        reject("login wrong password", auth(json!({"action": "login", "email": SEEDED_EMAIL, "password": "Wr0ng-pass!"})), 401, "invalid_credentials", ""),
        reject("login unknown user", auth(json!({"action": "login", "email": "x@example.com", "password": SEEDED_PASSWORD})), 401, "invalid_credentials", ""),
        field("login password object", auth(json!({"action": "login", "email": SEEDED_EMAIL, "password": {"$gt": ""}})), "password"),
        field("confirm code with whitespace", auth(json!({"action": "confirm", "email": SEEDED_EMAIL, "code": "12 34"})), "code"),
        reject("refresh forged token", auth(json!({"action": "refresh", "refreshToken": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLWIifQ."})), 401, "invalid_credentials", ""),
        field("refresh token empty", auth(json!({"action": "refresh", "refreshToken": ""})), "refreshToken"),
    ]
}

/// `{"error":{"code","message"}}` and nothing else; returns (code, message).
fn error_shape(body: &Value) -> Result<(String, String), String> {
    let top = body.as_object().ok_or("error body is not an object")?;
    let error = body["error"]
        .as_object()
        .ok_or("`error` is not an object")?;
    if top.len() != 1 || error.len() != 2 {
        return Err(format!("unexpected members in {body}"));
    }
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) if !code.is_empty() && !message.is_empty() => {
            Ok((code.to_string(), message.to_string()))
        }
        _ => Err(format!("code/message missing in {body}")),
    }
}

/// Runs one case on a fresh world; returns what went wrong, if anything.
async fn run(index: usize) -> Result<(), String> {
    let w = world().await;
    let mut all = cases();
    let case = all.swap_remove(index);
    let before = snapshot(&w).await;
    let app = w.app.clone();
    // Spawned, so that a panic in a handler is reported as this case's failure.
    let response: ApiResponse = tokio::spawn(async move { app.handle(case.request).await })
        .await
        .map_err(|e| format!("handler panicked: {e}"))?;
    let body = response.json_body();
    if response.status >= 500 {
        return Err(format!("5xx: {} {}", response.status, response.body));
    }
    if response.headers.get("content-type").map(String::as_str) != Some("application/json") {
        return Err("response is not application/json".into());
    }
    if response.status != case.status {
        return Err(format!(
            "status {} (expected {}): {}",
            response.status, case.status, response.body
        ));
    }
    if case.status >= 400 {
        let (code, message) = error_shape(&body)?;
        if code != case.code {
            return Err(format!("code {code} (expected {})", case.code));
        }
        if !message.contains(case.mentions) {
            return Err(format!(
                "message {message:?} does not mention {:?}",
                case.mentions
            ));
        }
        // Secrets and hostile input never come back in an error.
        for secret in ["tok_visa", "tok_other_secret", SEEDED_PASSWORD, "\u{0}"] {
            if response.body.contains(secret) {
                return Err(format!("error body echoes {secret:?}"));
            }
        }
    }
    let after = snapshot(&w).await;
    match case.effect {
        Effect::None => {
            if before != after {
                return Err(format!(
                    "state changed:\nbefore {before:?}\nafter  {after:?}"
                ));
            }
        }
        Effect::OneOrder => {
            let order_id = body["orderId"].as_str().ok_or("no orderId")?;
            let record = w.orders.order(order_id).ok_or("order not recorded")?;
            if record.user_sub != USER {
                return Err(format!("order belongs to {}", record.user_sub));
            }
            if after.order_count != before.order_count + 1
                || after.messages.len() != before.messages.len() + 1
                || after.messages[..before.messages.len()] != before.messages[..]
                || after.other_order != before.other_order
                || after.used_key_order != before.used_key_order
                || after.products != before.products
                || after.users != before.users
            {
                return Err(format!(
                    "more than one order changed:\nbefore {before:?}\nafter  {after:?}"
                ));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_their_documented_4xx_and_change_nothing() {
    let count = cases().len();
    assert!(count >= 50, "the suite has {count} cases");
    let names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "case names are unique");

    let mut failures = Vec::new();
    for (index, name) in names.iter().enumerate() {
        if let Err(why) = run(index).await {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn forged_totals_are_recomputed_from_the_catalog() {
    let w = world().await;
    let response = w
        .app
        .handle(order(json!({
            "items": [{"productId": "p-1", "quantity": 3, "unitPriceCents": 1}],
            "totalCents": 3,
        })))
        .await;
    assert_eq!(response.status, 202, "{}", response.body);
    let body = response.json_body();
    assert_eq!(body["totalCents"], 3 * 1299);
    let record = w.orders.order(body["orderId"].as_str().unwrap()).unwrap();
    assert_eq!(record.total_cents, 3 * 1299);
    assert_eq!(record.user_sub, USER);
}

/// `GET /orders` lists the caller's orders and never another user's, whatever the query.
#[tokio::test]
async fn my_orders_never_list_another_users() {
    let w = world().await;
    for query in [vec![], vec![("limit", "100")], vec![("limit", "1")]] {
        let mut request = authed(get("/orders"));
        for (name, value) in &query {
            request = request.with_query(name, value);
        }
        let response = w.app.handle(request).await;
        assert_eq!(response.status, 200, "{query:?}: {}", response.body);
        assert!(
            !response.body.contains(OTHER_ORDER),
            "{query:?}: {}",
            response.body
        );
        assert!(!response.body.contains("tok_other_secret"));
    }
    let theirs = w
        .app
        .handle(get("/orders").with_claims(OTHER_USER, None))
        .await;
    assert!(theirs.body.contains(OTHER_ORDER), "{}", theirs.body);
    assert!(!theirs.body.contains("tok_other_secret"), "{}", theirs.body);
}
