//! The load run's view of the stack: its outputs, SDK configuration for the emulator (to add
//! test products and confirm users behind the API), users with ID tokens, and the two requests
//! the generator sends. Request results are values, never panics: errors are counted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::contract::CreateOrder;
use local_stack::client::ShopClient;
use serde_json::Value;
use shop_model::{OrderLine, Product, CURRENCY};
use uuid::Uuid;

use crate::tally::AcceptedOrder;

/// Password of the load run's users (a local stack only).
const PASSWORD: &str = "Load-Test-Horse-42";
/// Payment token the pay step approves.
const PAYMENT_TOKEN: &str = "tok_visa";
/// How long one request may take before it counts as a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The stack under load.
pub struct Stack {
    pub outputs: Value,
    pub aws: aws_config::SdkConfig,
    pub api: ShopClient,
}

/// A test product: id and unit price.
#[derive(Debug, Clone)]
pub struct TestProduct {
    pub id: String,
    pub price_cents: i64,
}

/// The two routes under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    GetProducts,
    PostOrders,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::GetProducts => "GET /products",
            Route::PostOrders => "POST /orders",
        }
    }
}

/// What one request came to.
#[derive(Debug)]
pub struct Outcome {
    pub route: Route,
    /// The HTTP status, or the transport error's kind (`timeout`, `connect`, `other`).
    pub result: Result<u16, &'static str>,
    pub latency: Duration,
    /// A 202 to `POST /orders`.
    pub accepted: Option<AcceptedOrder>,
    /// A `POST /orders` whose fate is unknown (transport error, 5xx or 429): the server may
    /// have accepted it, so it is re-sent later with the same idempotency key.
    pub unsettled: Option<OrderRequest>,
}

/// One order as sent: re-sending it (same user, key and body) is a retry, not a new order.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub token: String,
    pub idempotency_key: String,
    pub lines: Vec<(String, u32)>,
}

impl OrderRequest {
    /// A new order of `lines` by the user of `token`, with a new idempotency key.
    pub fn new(token: String, lines: Vec<(String, u32)>) -> Self {
        OrderRequest {
            token,
            idempotency_key: Uuid::new_v4().to_string(),
            lines,
        }
    }
}

impl Stack {
    /// Reads outputs.json and builds the clients.
    pub async fn load(outputs: Value) -> Result<Stack> {
        let endpoint = outputs["AwsEndpoint"]
            .as_str()
            .context("outputs.json has no AwsEndpoint")?
            .to_string();
        let api_url = outputs["ApiUrl"]
            .as_str()
            .context("outputs.json has no ApiUrl")?
            .to_string();
        let aws = local_stack::emulator::sdk_config(&endpoint, "xtask-load").await;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Stack {
            outputs,
            aws,
            api: ShopClient::with_http(http, &api_url),
        })
    }

    fn out(&self, key: &str) -> Result<&str> {
        self.outputs[key]
            .as_str()
            .with_context(|| format!("outputs.json has no {key}"))
    }

    /// Adds `count` dedicated products with `stock` units each, straight into the Products
    /// table (the catalog has no admin API). Returns them and their initial stock.
    pub async fn add_products(
        &self,
        count: usize,
        stock: i64,
    ) -> Result<(Vec<TestProduct>, BTreeMap<String, i64>)> {
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.aws);
        let table = self.out("ProductsTableName")?;
        let run = &Uuid::new_v4().simple().to_string()[..8];
        let mut products = Vec::new();
        for i in 0..count {
            let id = format!("load-{run}-{i}");
            let price_cents = 500 + 250 * i as i64;
            let product = Product {
                id: id.clone(),
                name: format!("Load test item {i}"),
                description: "product of a `cargo xtask load` run".into(),
                category: "load".into(),
                price_cents,
                currency: CURRENCY.into(),
                image_key: None,
                stock,
                version: 1,
                archived: false,
            };
            local_stack::seed::put_product(&dynamodb, table, &product)
                .await
                .with_context(|| format!("adding test product {id}"))?;
            products.push(TestProduct { id, price_cents });
        }
        let initial = products.iter().map(|p| (p.id.clone(), stock)).collect();
        Ok((products, initial))
    }

    /// Registers a user through `POST /auth` (confirming it through the emulator's Cognito
    /// admin API if the stack does not confirm at sign-up), logs in, and returns its ID token.
    pub async fn new_user(&self) -> Result<String> {
        let email = format!("load-{}@example.com", Uuid::new_v4());
        let registered = self
            .api
            .register(&email, PASSWORD)
            .await
            .context("POST /auth register")?
            .ok()
            .context("register")?;
        if !registered.confirmed {
            aws_sdk_cognitoidentityprovider::Client::new(&self.aws)
                .admin_confirm_sign_up()
                .user_pool_id(self.out("UserPoolId")?)
                .username(&email)
                .send()
                .await
                .context("confirming a load-test user")?;
        }
        let tokens = self
            .api
            .login(&email, PASSWORD)
            .await
            .context("POST /auth login")?
            .ok()
            .context("login")?;
        Ok(tokens.id_token)
    }

    /// `GET /products`.
    pub async fn get_products(&self) -> Outcome {
        let started = Instant::now();
        // The answer is read whole: the request is over when the whole answer is in.
        let result = match self.api.products("").await {
            Ok(answer) => Ok(answer.status),
            Err(e) => Err(kind(&e)),
        };
        Outcome {
            route: Route::GetProducts,
            result,
            latency: started.elapsed(),
            accepted: None,
            unsettled: None,
        }
    }

    /// `POST /orders`.
    pub async fn post_order(&self, order: OrderRequest) -> Outcome {
        let request = CreateOrder {
            items: order
                .lines
                .iter()
                .map(|(product_id, quantity)| OrderLine {
                    product_id: product_id.clone(),
                    quantity: *quantity,
                })
                .collect(),
            payment_token: Some(PAYMENT_TOKEN.to_owned()),
        };
        let started = Instant::now();
        let sent = self
            .api
            .place_order(Some(&order.token), &request, Some(&order.idempotency_key))
            .await;
        let latency = started.elapsed();
        let (result, order_id) = match sent {
            Ok(answer) => {
                let status = answer.status;
                match (status, answer.ok()) {
                    (202, Ok(accepted)) => {
                        (Ok(202), Some((accepted.order_id, accepted.total_cents)))
                    }
                    // A 202 without an order is a broken answer, not an accepted order.
                    (202, Err(_)) => (Err("202 without orderId"), None),
                    (status, _) => (Ok(status), None),
                }
            }
            Err(e) => (Err(kind(&e)), None),
        };
        let unknown_fate = match result {
            Ok(status) => status >= 500 || status == 429,
            Err(_) => true,
        };
        let (accepted, unsettled) = match order_id {
            Some((id, total)) => (
                Some(AcceptedOrder {
                    order_id: id,
                    idempotency_key: order.idempotency_key,
                    items: order.lines,
                    total_cents: total,
                    accepted_at: Instant::now(),
                }),
                None,
            ),
            None => (None, unknown_fate.then_some(order)),
        };
        Outcome {
            route: Route::PostOrders,
            result,
            latency,
            accepted,
            unsettled,
        }
    }
}

fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "other"
    }
}
