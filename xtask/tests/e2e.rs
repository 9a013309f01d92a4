//! End-to-end tests of the whole local stack (`cargo xtask dev`), through its HTTP API as a
//! client would. `cargo xtask test` starts a stack on free ports and runs these with
//! `E2E_OUTPUTS=<its outputs.json>`; the emulator is used only to look behind the API (the Orders
//! table, a test queue subscribed to the order topic) and to add dedicated test products.

use std::time::{Duration, Instant};

use api::contract::{CreateOrder, NewProduct, OrderView, ProductUpdate};
use api::handlers::orders::REPLAYED_HEADER;
use aws_sdk_dynamodb::types::AttributeValue;
use local_stack::client::ShopClient;
use reqwest::StatusCode;
use serde_json::{json, Value};
use shop_model::{orders as order_attr, products as product_attr, OrderLine, OrderStatus};
use steps::ports::DECLINED_TOKEN;
use uuid::Uuid;

/// How long an order may take to reach a final status.
const ORDER_DEADLINE: Duration = Duration::from_secs(90);
const PASSWORD: &str = "Correct-Horse-42";

struct Stack {
    outputs: Value,
    api: ShopClient,
    aws: aws_config::SdkConfig,
}

impl Stack {
    async fn load() -> Stack {
        let path = std::env::var("E2E_OUTPUTS").unwrap_or_else(|_| {
            panic!(
                "E2E_OUTPUTS is not set: these end-to-end tests need a running local stack. \
                 Run them through `cargo xtask test` (which starts one), or start \
                 `cargo xtask dev` and set E2E_OUTPUTS=.dev/outputs.json"
            )
        });
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read E2E_OUTPUTS={path}: {e}"));
        let outputs: Value = serde_json::from_str(&text).expect("outputs.json is JSON");
        let endpoint = outputs["AwsEndpoint"]
            .as_str()
            .expect("AwsEndpoint")
            .to_string();
        let aws = local_stack::emulator::sdk_config(&endpoint, "e2e").await;
        let api = ShopClient::new(outputs["ApiUrl"].as_str().expect("ApiUrl")).unwrap();
        Stack { outputs, api, aws }
    }

    fn out(&self, key: &str) -> &str {
        self.outputs[key]
            .as_str()
            .unwrap_or_else(|| panic!("outputs.json has no {key}"))
    }

    fn url(&self, path: &str) -> String {
        self.api.url(path)
    }

    fn http(&self) -> &reqwest::Client {
        self.api.http()
    }

    /// Registers a new user and returns (email, ID token).
    async fn new_user(&self) -> (String, String) {
        let email = format!("e2e-{}@example.com", Uuid::new_v4());
        let registered = self.api.register(&email, PASSWORD).await.unwrap();
        assert_eq!(registered.status, 201, "register: {:?}", registered.body);
        let registered = registered.ok().unwrap();
        assert!(registered.confirmed, "users are confirmed locally");
        let tokens = self.api.login(&email, PASSWORD).await.unwrap();
        assert_eq!(tokens.status, 200, "login: {:?}", tokens.body);
        (email, tokens.ok().unwrap().id_token)
    }

    /// Logs the local stack's staff user in and returns its ID token.
    async fn staff_token(&self) -> String {
        let tokens = self
            .api
            .login(self.out("StaffEmail"), self.out("StaffPassword"))
            .await
            .unwrap();
        assert_eq!(tokens.status, 200, "staff login: {:?}", tokens.body);
        tokens.ok().unwrap().id_token
    }

    /// Places an order of `quantity` x `product` and returns its id (asserting 202 PENDING).
    async fn order(
        &self,
        token: &str,
        product: &str,
        quantity: u32,
        payment_token: &str,
    ) -> String {
        let answer = self
            .api
            .place_order(
                Some(token),
                &order_of(product, quantity, payment_token),
                None,
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 202, "POST /orders: {:?}", answer.body);
        let accepted = answer.ok().unwrap();
        assert_eq!(accepted.status, OrderStatus::Pending);
        accepted.order_id
    }

    async fn get_order(&self, token: &str, id: &str) -> OrderView {
        let answer = self.api.order(token, id).await.unwrap();
        assert_eq!(answer.status, 200, "GET /orders/{id}: {:?}", answer.body);
        answer.ok().unwrap()
    }

    /// Polls `GET /orders/{id}` until the order is COMPLETED or FAILED.
    async fn final_order(&self, token: &str, id: &str) -> OrderView {
        let deadline = Instant::now() + ORDER_DEADLINE;
        loop {
            let order = self.get_order(token, id).await;
            if order.status != OrderStatus::Pending {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {id} still PENDING after {ORDER_DEADLINE:?}: {order:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws)
    }

    /// Adds a product with its own id and stock, as staff do (`POST /products`).
    async fn product_with_stock(&self, stock: i64) -> String {
        let id = format!("e2e-{}", Uuid::new_v4());
        let product = NewProduct {
            id: Some(id.clone()),
            name: "E2E limited item".into(),
            description: "end-to-end test product".into(),
            category: "e2e".into(),
            price_cents: 1000,
            currency: shop_model::CURRENCY.into(),
            stock,
        };
        let staff = self.staff_token().await;
        let created = self.api.create_product(&staff, &product).await.unwrap();
        assert_eq!(created.status, 201, "POST /products: {:?}", created.body);
        id
    }

    /// Polls until `done` holds, for at most `deadline`.
    async fn eventually<F, Fut>(&self, what: &str, deadline: Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let until = Instant::now() + deadline;
        while !done().await {
            assert!(Instant::now() < until, "{what}: not after {deadline:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn stock(&self, product: &str) -> i64 {
        let item = self
            .dynamodb()
            .get_item()
            .table_name(self.out("ProductsTableName"))
            .key(product_attr::ID, AttributeValue::S(product.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("product exists");
        item[product_attr::STOCK].as_n().unwrap().parse().unwrap()
    }

    /// A new queue subscribed to the order topic (raw delivery): it gets every notification.
    async fn subscribe_test_queue(&self) -> Subscription {
        let sqs = aws_sdk_sqs::Client::new(&self.aws);
        let sns = aws_sdk_sns::Client::new(&self.aws);
        let url = sqs
            .create_queue()
            .queue_name(format!("e2e-notifications-{}", Uuid::new_v4()))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(self.out("OrderTopicArn"))
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        Subscription {
            sqs,
            url,
            seen: Vec::new(),
        }
    }
}

/// An order of `quantity` x `product` paid with `payment_token`.
fn order_of(product: &str, quantity: u32, payment_token: &str) -> CreateOrder {
    CreateOrder {
        items: vec![OrderLine {
            product_id: product.to_owned(),
            quantity,
        }],
        payment_token: Some(payment_token.to_owned()),
    }
}

struct Subscription {
    sqs: aws_sdk_sqs::Client,
    url: String,
    seen: Vec<Value>,
}

impl Subscription {
    /// Waits for the notification of an order and returns it.
    async fn notification(&mut self, order_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(n) = self.seen.iter().find(|n| n["orderId"] == order_id) {
                return n.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no notification for order {order_id} on the order topic within 30 s"
            );
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in out.messages.unwrap_or_default() {
                let body: Value = serde_json::from_str(message.body.as_deref().unwrap_or(""))
                    .unwrap_or(Value::Null);
                self.seen.push(body);
            }
        }
    }
}

#[tokio::test]
async fn browse_upload_order_and_complete() {
    let stack = Stack::load().await;
    let mut notifications = stack.subscribe_test_queue().await;
    let (_, token) = stack.new_user().await;

    // The public catalog: seeded products in several categories.
    let response = stack
        .http()
        .get(stack.url("/products?limit=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The functions answer with the template's AllowedOrigin (default `*`), as deployed.
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let catalog: Value = response.json().await.unwrap();
    let items = catalog["items"].as_array().expect("items");
    let categories: std::collections::BTreeSet<&str> = items
        .iter()
        .filter_map(|p| p["category"].as_str())
        .collect();
    assert!(categories.len() >= 3, "{catalog}");
    let product = items
        .iter()
        .find(|p| p["id"] == "mug-classic")
        .expect("seeded mug-classic")
        .clone();
    assert!(
        product.get("stock").is_none(),
        "stock stays internal: {product}"
    );

    // The seeded image is in the bucket; a new one goes up with a pre-signed URL.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.aws)
            .force_path_style(true)
            .build(),
    );
    let bucket = stack.out("ImagesBucketName");
    s3.head_object()
        .bucket(bucket)
        .key(product["imageKey"].as_str().unwrap())
        .send()
        .await
        .expect("the seeded image exists");
    // A shopper may not upload; staff get an S3 POST form bound to key, type and size.
    let refused = stack
        .api
        .upload_target(&token, "mug-classic", "image/png")
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let staff = stack.staff_token().await;
    let upload = stack
        .api
        .upload_target(&staff, "mug-classic", "image/png")
        .await
        .unwrap()
        .ok()
        .unwrap();
    let key = upload.key.as_str();
    assert!(key.starts_with("products/mug-classic/"), "{upload:?}");
    assert_eq!(upload.method, "POST");
    let png = local_stack::seed::png(64, 48, [10, 20, 30]);
    let status = stack
        .api
        .upload_image(&upload, "mug.png", png.clone())
        .await
        .unwrap();
    assert!(
        (200..300).contains(&status),
        "POST with the upload form: {status}"
    );
    let stored = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.content_type(), Some("image/png"));
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().as_ref(),
        png.as_slice()
    );

    // Order two mugs; the workflow completes it.
    let stock_before = stack.stock("mug-classic").await;
    let id = stack.order(&token, "mug-classic", 2, "tok_visa").await;
    let order = stack.final_order(&token, &id).await;
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    assert_eq!(
        order.total_cents,
        2 * product["priceCents"].as_i64().unwrap()
    );
    assert!(
        order.payment_id.as_deref().is_some_and(|p| !p.is_empty()),
        "{order:?}"
    );
    // The raw answer never carries the payment token.
    let raw: Value = stack
        .http()
        .get(stack.url(&format!("/orders/{id}")))
        .header("Authorization", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(raw.get("paymentToken").is_none(), "{raw}");
    assert!(stack.stock("mug-classic").await <= stock_before - 2);

    // The Orders table holds it.
    let item = stack
        .dynamodb()
        .get_item()
        .table_name(stack.out("OrdersTableName"))
        .key(order_attr::ORDER_ID, AttributeValue::S(id.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the order is in the Orders table");
    assert_eq!(item[order_attr::STATUS].as_s().unwrap(), "COMPLETED");
    assert_eq!(
        item[order_attr::TOTAL_CENTS].as_n().unwrap(),
        &order.total_cents.to_string()
    );

    // And the topic told subscribers.
    let notification = notifications.notification(&id).await;
    assert_eq!(notification["status"], "COMPLETED", "{notification}");
    assert_eq!(notification["totalCents"], order.total_cents);
    assert!(notification.get("paymentToken").is_none());
}

#[tokio::test]
async fn declined_payment_fails_with_its_reason_and_a_notification() {
    let stack = Stack::load().await;
    let mut notifications = stack.subscribe_test_queue().await;
    let (_, token) = stack.new_user().await;
    let id = stack.order(&token, "sticker-pack", 1, DECLINED_TOKEN).await;
    let order = stack.final_order(&token, &id).await;
    assert_eq!(order.status, OrderStatus::Failed, "{order:?}");
    assert_eq!(
        order.failure_error.as_deref(),
        Some("PaymentDeclined"),
        "{order:?}"
    );
    assert!(
        order
            .failure_reason
            .as_deref()
            .is_some_and(|r| r.contains("declined")),
        "{order:?}"
    );
    let notification = notifications.notification(&id).await;
    assert_eq!(notification["status"], "FAILED");
    assert_eq!(notification["failureError"], "PaymentDeclined");
}

#[tokio::test]
async fn ordering_more_than_the_stock_fails_out_of_stock() {
    let stack = Stack::load().await;
    let product = stack.product_with_stock(1).await;
    let (_, token) = stack.new_user().await;
    let id = stack.order(&token, &product, 2, "tok_visa").await;
    let order = stack.final_order(&token, &id).await;
    assert_eq!(order.status, OrderStatus::Failed, "{order:?}");
    assert_eq!(
        order.failure_error.as_deref(),
        Some("OutOfStock"),
        "{order:?}"
    );
    assert_eq!(
        stack.stock(&product).await,
        1,
        "a failed order reserves nothing"
    );
}

/// Signs claims with moto's Cognito key (every moto pool shares it), through the emulator's
/// own Python and JOSE library: the only way to get a correctly signed token that is expired.
fn sign_with_moto_key(claims: &Value) -> String {
    let root = local_stack::workspace::repo_root();
    let python = root.join(".tools/moto-venv/bin/python");
    let script = "import json,sys\n\
        from joserfc import jwk, jwt\n\
        from moto.utilities.utils import load_resource\n\
        key = jwk.RSAKey.import_key(load_resource('cognitoidp/resources/jwks-private.json'))\n\
        sys.stdout.write(jwt.encode({'kid': 'dummy', 'alg': 'RS256'}, json.loads(sys.argv[1]), key))\n";
    let output = std::process::Command::new(&python)
        .args(["-c", script, &claims.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// An ID token of a user of another user pool of the same emulator (same signing key).
async fn foreign_pool_token(stack: &Stack) -> String {
    use aws_sdk_cognitoidentityprovider::types::{
        AuthFlowType, ExplicitAuthFlowsType, UsernameAttributeType,
    };
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&stack.aws);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("e2e-foreign-{}", Uuid::new_v4()))
        .username_attributes(UsernameAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("foreign")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let email = format!("foreign-{}@example.com", Uuid::new_v4());
    cognito
        .sign_up()
        .client_id(&client)
        .username(&email)
        .password(PASSWORD)
        .send()
        .await
        .unwrap();
    cognito
        .admin_confirm_sign_up()
        .user_pool_id(&pool)
        .username(&email)
        .send()
        .await
        .unwrap();
    cognito
        .initiate_auth()
        .client_id(&client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", &email)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .id_token
        .unwrap()
}

#[tokio::test]
async fn missing_expired_tampered_and_foreign_tokens_get_401() {
    use base64::Engine;
    let stack = Stack::load().await;
    let (_, token) = stack.new_user().await;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());

    // The genuine token works (so the rejections below are about the token, not the request).
    let order = order_of("sticker-pack", 1, "tok_visa");
    let ok = stack
        .api
        .place_order(Some(&token), &order, None)
        .await
        .unwrap();
    assert_eq!(ok.status, 202);

    let mut claims = claims_of(&token);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iat"] = json!(now - 7200);
    claims["auth_time"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let expired = sign_with_moto_key(&claims);
    // The same signing path with a valid expiry is accepted: only the expiry differs.
    claims["exp"] = json!(now + 600);
    let resigned = sign_with_moto_key(&claims);
    let response = stack
        .api
        .place_order(Some(&resigned), &order, None)
        .await
        .unwrap();
    assert_eq!(response.status, 202, "a re-signed valid token is accepted");

    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims_of(&token);
    forged["sub"] = json!(Uuid::new_v4().to_string());
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "dummy"})),
        parts[1]
    );
    let foreign = foreign_pool_token(&stack).await;

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("expired", Some(expired)),
        ("tampered", Some(tampered)),
        ("alg none", Some(unsigned)),
        ("foreign pool", Some(foreign)),
        ("garbage", Some("Bearer not-a-token".into())),
    ];
    for (what, bad) in &cases {
        for (method, path) in [
            ("POST", "/orders"),
            (
                "GET",
                "/products/upload?productId=mug-classic&contentType=image/png",
            ),
            ("GET", "/orders/some-order"),
        ] {
            let mut request = if method == "POST" {
                stack.http().post(stack.url(path)).json(&order)
            } else {
                stack.http().get(stack.url(path))
            };
            if let Some(bad) = bad {
                request = request.header("Authorization", bad);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{what} token on {method} {path}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
        }
    }
}

#[tokio::test]
async fn the_same_idempotency_key_twice_makes_one_order() {
    let stack = Stack::load().await;
    let (_, token) = stack.new_user().await;
    let key = Uuid::new_v4().to_string();
    let order = order_of("notebook-a5", 1, "tok_visa");
    let first = stack
        .api
        .place_order(Some(&token), &order, Some(&key))
        .await
        .unwrap();
    assert_eq!(first.status, 202);
    let second = stack
        .api
        .place_order(Some(&token), &order, Some(&key))
        .await
        .unwrap();
    assert_eq!(second.status, 202);
    assert_eq!(second.header(REPLAYED_HEADER), Some("true"));
    let (first, second) = (first.ok().unwrap(), second.ok().unwrap());
    assert_eq!(first.order_id, second.order_id);
    let order = stack.final_order(&token, &first.order_id).await;
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");

    // Exactly one order of this user in the table.
    let sub = claims_of(&token)["sub"].as_str().unwrap().to_string();
    let found = stack
        .dynamodb()
        .query()
        .table_name(stack.out("OrdersTableName"))
        .index_name(order_attr::USER_INDEX)
        .key_condition_expression("#u = :u")
        .expression_attribute_names("#u", order_attr::USER_SUB)
        .expression_attribute_values(":u", AttributeValue::S(sub))
        .send()
        .await
        .unwrap();
    assert_eq!(found.count, 1, "{:?}", found.items);
}

#[tokio::test]
async fn twenty_concurrent_orders_for_five_in_stock_complete_exactly_five() {
    let stack = Stack::load().await;
    let product = stack.product_with_stock(5).await;
    let (_, token) = stack.new_user().await;
    let placed =
        futures::future::join_all((0..20).map(|_| stack.order(&token, &product, 1, "tok_visa")))
            .await;
    let finals =
        futures::future::join_all(placed.iter().map(|id| stack.final_order(&token, id))).await;
    let out_of_stock_error = |o: &OrderView| o.failure_error.as_deref() == Some("OutOfStock");
    let completed = finals
        .iter()
        .filter(|o| o.status == OrderStatus::Completed)
        .count();
    let out_of_stock = finals
        .iter()
        .filter(|o| o.status == OrderStatus::Failed && out_of_stock_error(o))
        .count();
    let others: Vec<&OrderView> = finals
        .iter()
        .filter(|o| o.status != OrderStatus::Completed && !out_of_stock_error(o))
        .collect();
    assert!(
        others.is_empty(),
        "orders neither COMPLETED nor OutOfStock: {others:?}"
    );
    assert_eq!(finals.len(), 20, "no order lost");
    assert_eq!(
        (completed, out_of_stock),
        (5, 15),
        "exactly the stock is sold; stock left: {}",
        stack.stock(&product).await
    );
    assert_eq!(stack.stock(&product).await, 0);
}

/// The shop as staff and shoppers use it: staff create a product and upload its image through
/// the S3 POST form; the intake makes it the product's image (and deletes what is not an
/// image); a shopper sees it with a loadable `imageUrl`, orders it and finds the order in
/// `GET /orders`; staff edit with versions, adjust stock and archive.
#[tokio::test]
async fn staff_catalog_images_and_my_orders() {
    let stack = Stack::load().await;
    let staff = stack.staff_token().await;
    let (_, shopper) = stack.new_user().await;
    let category = format!("e2e-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let id = format!("lamp-{}", Uuid::new_v4().simple());
    let lamp = NewProduct {
        id: Some(id.clone()),
        name: "Desk lamp".into(),
        description: "LED, dimmable.".into(),
        category: category.clone(),
        price_cents: 3999,
        currency: shop_model::CURRENCY.into(),
        stock: 5,
    };

    // Shoppers cannot manage the catalog.
    let refused = stack.api.create_product(&shopper, &lamp).await.unwrap();
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let created = stack.api.create_product(&staff, &lamp).await.unwrap();
    assert_eq!(created.status, 201, "{:?}", created.body);
    let created = created.ok().unwrap();
    assert_eq!((created.product.version, created.stock), (1, 5));
    let again = stack.api.create_product(&staff, &lamp).await.unwrap();
    assert_eq!(again.status, 409, "{:?}", again.body);

    // The image: a POST form, then the intake makes it the product's image.
    let form = stack
        .api
        .upload_target(&staff, &id, "image/png")
        .await
        .unwrap()
        .ok()
        .unwrap();
    let png = local_stack::seed::png(64, 48, [200, 180, 20]);
    let status = stack
        .api
        .upload_image(&form, "lamp.png", png.clone())
        .await
        .unwrap();
    assert!((200..300).contains(&status), "upload answered {status}");
    let image_deadline = Duration::from_secs(45);
    stack
        .eventually(
            "the intake sets the uploaded image",
            image_deadline,
            || async {
                let view = stack.api.product(&id).await.unwrap().ok().unwrap();
                view.image_key.as_deref() == Some(form.key.as_str())
            },
        )
        .await;

    // Not an image, or more than the form allows: deleted, never the product's image.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.aws)
            .force_path_style(true)
            .build(),
    );
    let bucket = stack.out("ImagesBucketName");
    let mut oversized = local_stack::seed::png(64, 48, [1, 2, 3]);
    oversized.resize(api::handlers::upload::MAX_IMAGE_BYTES as usize + 1, 0);
    for (name, bytes) in [
        (
            "page.png",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
        ("huge.png", oversized),
    ] {
        let bad = stack
            .api
            .upload_target(&staff, &id, "image/png")
            .await
            .unwrap()
            .ok()
            .unwrap();
        // The local emulator does not enforce the POST policy (S3 would refuse `huge.png` with
        // EntityTooLarge); the intake deletes it either way.
        let status = stack.api.upload_image(&bad, name, bytes).await.unwrap();
        assert!((200..300).contains(&status), "{name}: {status}");
        let key = bad.key.clone();
        stack
            .eventually(
                &format!("the intake deletes {name}"),
                image_deadline,
                || {
                    let s3 = s3.clone();
                    let key = key.clone();
                    async move {
                        s3.head_object()
                            .bucket(bucket)
                            .key(&key)
                            .send()
                            .await
                            .is_err()
                    }
                },
            )
            .await;
    }

    // A shopper sees it, with a URL that loads the image from the private bucket.
    let page = stack
        .api
        .products(&format!("category={category}"))
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(page.items.len(), 1, "{page:?}");
    let shown = &page.items[0];
    assert_eq!(shown.image_key.as_deref(), Some(form.key.as_str()));
    let url = shown.image_url.as_deref().expect("imageUrl");
    let image = stack.http().get(url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK, "{url}");
    assert_eq!(image.bytes().await.unwrap().as_ref(), png.as_slice());

    // The shopper orders it and finds the order in GET /orders; another user does not.
    let order_id = stack.order(&shopper, &id, 2, "tok_visa").await;
    let order = stack.final_order(&shopper, &order_id).await;
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    let mine = stack
        .api
        .my_orders(&shopper, "limit=5")
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(
        mine.items.first().map(|o| o.order_id.as_str()),
        Some(order_id.as_str())
    );
    assert_eq!(mine.items[0].status, OrderStatus::Completed);
    let (_, other) = stack.new_user().await;
    let theirs = stack.api.my_orders(&other, "").await.unwrap().ok().unwrap();
    assert!(theirs.items.is_empty(), "{theirs:?}");

    // Versioned edits: the second writer holding version 1 gets 409.
    let update = ProductUpdate {
        name: "Desk lamp, brass".into(),
        description: "LED, dimmable, brass.".into(),
        category: category.clone(),
        price_cents: 4999,
        currency: shop_model::CURRENCY.into(),
        archived: false,
        version: 1,
    };
    let edited = stack
        .api
        .update_product(&staff, &id, &update)
        .await
        .unwrap();
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(edited.ok().unwrap().product.version, 2);
    let stale = stack
        .api
        .update_product(&staff, &id, &update)
        .await
        .unwrap();
    assert_eq!(stale.status, 409, "{:?}", stale.body);

    // Stock: 5 - 2 ordered = 3; it never goes below zero.
    let short = stack.api.adjust_stock(&staff, &id, -4).await.unwrap();
    assert_eq!(short.status, 409, "{:?}", short.body);
    let added = stack
        .api
        .adjust_stock(&staff, &id, 7)
        .await
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(added.stock, 10);

    // Archived: gone from the catalog, cannot be ordered; the order keeps its line.
    let archived = stack.api.archive_product(&staff, &id).await.unwrap();
    assert_eq!(archived.status, 200, "{:?}", archived.body);
    assert_eq!(stack.api.product(&id).await.unwrap().status, 404);
    let refused = stack
        .api
        .place_order(Some(&shopper), &order_of(&id, 1, "tok_visa"), None)
        .await
        .unwrap();
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let kept = stack.get_order(&shopper, &order_id).await;
    assert_eq!(kept.items[0].product_id, id);
}
