//! In-memory implementations of every port, for unit tests and local experiments. Each
//! can be told to fail its next calls, to exercise the 429/503 paths.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use shop_model::{orders as orders_attr, products as attr, OrderMessage, Product};
use uuid::Uuid;

use crate::error::{ApiError, RETRY_AFTER_THROTTLED};
use crate::intake::ImageObjects;
use crate::ports::{
    CatalogAdmin, CreateOutcome, EditOutcome, IdentityProvider, ImageStore, OrderPage, OrderQueue,
    OrderRecord, OrderStore, PageKey, ProductCatalog, ProductEdit, ProductPage, SignUp,
    StockOutcome, Tokens, UploadForm, UploadRules,
};

/// How an injected failure looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Downstream throttled or unreachable (503 with `Retry-After`).
    Unavailable,
    /// The identity provider's `TooManyRequestsException` (429).
    TooManyRequests,
}

/// Makes the next `n` calls of a port fail.
#[derive(Debug, Default)]
pub struct FaultSwitch {
    pending: Mutex<Option<(Fault, u32)>>,
}

impl FaultSwitch {
    /// The next `count` calls fail with `fault`.
    pub fn fail_next(&self, fault: Fault, count: u32) {
        *lock(&self.pending) = Some((fault, count));
    }

    fn check(&self, service: &'static str) -> Result<(), ApiError> {
        let mut pending = lock(&self.pending);
        match pending.as_mut() {
            Some((fault, count)) if *count > 0 => {
                *count -= 1;
                Err(match fault {
                    Fault::Unavailable => ApiError::Unavailable {
                        service,
                        retry_after_secs: RETRY_AFTER_THROTTLED,
                    },
                    Fault::TooManyRequests => ApiError::TooManyRequests,
                })
            }
            _ => Ok(()),
        }
    }
}

/// Locks a mutex, recovering from poisoning (state stays usable in tests).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Products in a sorted map; pages resume after the key's `id`.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    products: Mutex<BTreeMap<String, Product>>,
    /// Failure injection for every call.
    pub faults: FaultSwitch,
}

impl MemoryCatalog {
    pub fn new(products: impl IntoIterator<Item = Product>) -> Self {
        let catalog = MemoryCatalog::default();
        for product in products {
            catalog.put(product);
        }
        catalog
    }

    pub fn put(&self, product: Product) {
        lock(&self.products).insert(product.id.clone(), product);
    }

    /// A stored product, by id.
    pub fn get(&self, id: &str) -> Option<Product> {
        lock(&self.products).get(id).cloned()
    }
}

#[async_trait]
impl ProductCatalog for MemoryCatalog {
    async fn list_products(
        &self,
        category: Option<&str>,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<ProductPage, ApiError> {
        self.faults.check("DynamoDB")?;
        let products = lock(&self.products);
        let after = start.and_then(|k| k.get(attr::ID)).cloned();
        let mut matching = products.values().filter(|p| {
            !p.archived
                && category.is_none_or(|c| p.category == c)
                && after.as_ref().is_none_or(|after| p.id > *after)
        });
        let items: Vec<Product> = matching.by_ref().take(limit as usize).cloned().collect();
        let more = matching.next().is_some();
        let last_key = match items.last() {
            Some(last) if more => {
                let mut key = PageKey::new();
                key.insert(attr::ID.into(), last.id.clone());
                if let Some(category) = category {
                    key.insert(attr::CATEGORY.into(), category.to_string());
                }
                Some(key)
            }
            _ => None,
        };
        Ok(ProductPage { items, last_key })
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, ApiError> {
        self.faults.check("DynamoDB")?;
        Ok(lock(&self.products).get(id).cloned())
    }

    async fn get_products(&self, ids: &[String]) -> Result<Vec<Product>, ApiError> {
        self.faults.check("DynamoDB")?;
        let products = lock(&self.products);
        Ok(ids
            .iter()
            .filter_map(|id| products.get(id).cloned())
            .collect())
    }
}

#[async_trait]
impl CatalogAdmin for MemoryCatalog {
    async fn create_product(&self, product: &Product) -> Result<bool, ApiError> {
        self.faults.check("DynamoDB")?;
        let mut products = lock(&self.products);
        if products.contains_key(&product.id) {
            return Ok(false);
        }
        let mut product = product.clone();
        product.version = 1;
        products.insert(product.id.clone(), product);
        Ok(true)
    }

    async fn edit_product(
        &self,
        id: &str,
        edit: &ProductEdit,
        version: i64,
    ) -> Result<EditOutcome, ApiError> {
        self.faults.check("DynamoDB")?;
        let mut products = lock(&self.products);
        let Some(product) = products.get_mut(id) else {
            return Ok(EditOutcome::NotFound);
        };
        if product.version != version {
            return Ok(EditOutcome::Stale {
                current_version: product.version,
            });
        }
        product.name = edit.name.clone();
        product.description = edit.description.clone();
        product.category = edit.category.clone();
        product.price_cents = edit.price_cents;
        product.currency = edit.currency.clone();
        product.archived = edit.archived;
        product.version += 1;
        Ok(EditOutcome::Edited(product.clone()))
    }

    async fn archive_product(&self, id: &str) -> Result<EditOutcome, ApiError> {
        self.faults.check("DynamoDB")?;
        let mut products = lock(&self.products);
        let Some(product) = products.get_mut(id) else {
            return Ok(EditOutcome::NotFound);
        };
        product.archived = true;
        product.version += 1;
        Ok(EditOutcome::Edited(product.clone()))
    }

    async fn adjust_stock(&self, id: &str, delta: i64) -> Result<StockOutcome, ApiError> {
        self.faults.check("DynamoDB")?;
        let mut products = lock(&self.products);
        let Some(product) = products.get_mut(id) else {
            return Ok(StockOutcome::NotFound);
        };
        if product.stock + delta < 0 {
            return Ok(StockOutcome::Insufficient {
                stock: product.stock,
            });
        }
        product.stock += delta;
        Ok(StockOutcome::Adjusted(product.clone()))
    }

    async fn set_image(&self, id: &str, key: &str) -> Result<Option<String>, ApiError> {
        self.faults.check("DynamoDB")?;
        match lock(&self.products).get_mut(id) {
            Some(product) => Ok(product.image_key.replace(key.to_string())),
            None => Err(ApiError::NotFound("no such product".into())),
        }
    }
}

/// Orders in a map, with the conditional-put semantics of the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryOrders {
    orders: Mutex<HashMap<String, OrderRecord>>,
    /// Failure injection for every call.
    pub faults: FaultSwitch,
    /// Failure injection for `mark_queued` only.
    pub mark_faults: FaultSwitch,
}

impl MemoryOrders {
    /// A stored order, by id.
    pub fn order(&self, order_id: &str) -> Option<OrderRecord> {
        lock(&self.orders).get(order_id).cloned()
    }

    /// Number of stored orders.
    pub fn len(&self) -> usize {
        lock(&self.orders).len()
    }

    /// True when no order is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores (or replaces) an order directly.
    pub fn put(&self, order: OrderRecord) {
        lock(&self.orders).insert(order.order_id.clone(), order);
    }
}

#[async_trait]
impl OrderStore for MemoryOrders {
    async fn create_order(&self, order: &OrderRecord) -> Result<CreateOutcome, ApiError> {
        self.faults.check("DynamoDB")?;
        let mut orders = lock(&self.orders);
        if let Some(existing) = orders.get(&order.order_id) {
            return Ok(CreateOutcome::AlreadyExists(Box::new(existing.clone())));
        }
        orders.insert(order.order_id.clone(), order.clone());
        Ok(CreateOutcome::Created)
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, ApiError> {
        self.faults.check("DynamoDB")?;
        Ok(lock(&self.orders).get(order_id).cloned())
    }

    async fn mark_queued(&self, order_id: &str, queued_at: &str) -> Result<(), ApiError> {
        self.faults.check("DynamoDB")?;
        self.mark_faults.check("DynamoDB")?;
        match lock(&self.orders).get_mut(order_id) {
            Some(order) => {
                order.queued_at = Some(queued_at.to_string());
                Ok(())
            }
            None => Err(ApiError::Internal(format!("order {order_id} vanished"))),
        }
    }

    async fn list_orders(
        &self,
        user_sub: &str,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<OrderPage, ApiError> {
        self.faults.check("DynamoDB")?;
        // The index's order: createdAt descending, then orderId (DynamoDB breaks ties by the
        // table key; any fixed order will do for paging).
        let mut mine: Vec<OrderRecord> = lock(&self.orders)
            .values()
            .filter(|o| o.user_sub == user_sub)
            .cloned()
            .collect();
        mine.sort_by(|a, b| (&b.created_at, &b.order_id).cmp(&(&a.created_at, &a.order_id)));
        let after = start.map(|key| {
            (
                key.get(orders_attr::CREATED_AT)
                    .cloned()
                    .unwrap_or_default(),
                key.get(orders_attr::ORDER_ID).cloned().unwrap_or_default(),
            )
        });
        let mut items: Vec<OrderRecord> = mine
            .into_iter()
            .filter(|o| match &after {
                None => true,
                Some(after) => (&o.created_at, &o.order_id) < (&after.0, &after.1),
            })
            .take(limit as usize + 1)
            .collect();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let last_key = match items.last() {
            Some(last) if more => Some(PageKey::from([
                (orders_attr::ORDER_ID.to_string(), last.order_id.clone()),
                (orders_attr::USER_SUB.to_string(), last.user_sub.clone()),
                (orders_attr::CREATED_AT.to_string(), last.created_at.clone()),
            ])),
            _ => None,
        };
        Ok(OrderPage { items, last_key })
    }
}

/// A queue that keeps what it was sent.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<OrderMessage>>,
    /// Failure injection for every call.
    pub faults: FaultSwitch,
}

impl MemoryQueue {
    /// Every message queued so far.
    pub fn messages(&self) -> Vec<OrderMessage> {
        lock(&self.messages).clone()
    }
}

#[async_trait]
impl OrderQueue for MemoryQueue {
    async fn enqueue(&self, message: &OrderMessage) -> Result<(), ApiError> {
        self.faults.check("SQS")?;
        lock(&self.messages).push(message.clone());
        Ok(())
    }
}

/// A presigner whose forms and URLs describe what they allow (`memory://images/<key>?...`).
#[derive(Debug, Default)]
pub struct MemoryImages {
    /// Failure injection for every call.
    pub faults: FaultSwitch,
}

#[async_trait]
impl ImageStore for MemoryImages {
    async fn presign_upload(&self, rules: &UploadRules) -> Result<UploadForm, ApiError> {
        self.faults.check("S3")?;
        Ok(UploadForm {
            url: "memory://images".into(),
            fields: BTreeMap::from([
                ("key".to_string(), rules.key.clone()),
                ("Content-Type".to_string(), rules.content_type.clone()),
                ("max-bytes".to_string(), rules.max_bytes.to_string()),
                (
                    "expires-in".to_string(),
                    rules.expires_in.as_secs().to_string(),
                ),
            ]),
        })
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<String, ApiError> {
        self.faults.check("S3")?;
        Ok(format!(
            "memory://images/{key}?expires-in={}",
            expires_in.as_secs()
        ))
    }
}

#[derive(Debug, Clone)]
struct MemoryUser {
    sub: String,
    password: String,
    confirmed: bool,
    code: String,
}

/// A user directory with Cognito's default password policy (8+ characters with upper
/// case, lower case, a digit and a symbol) and one confirmation code per user.
#[derive(Debug, Default)]
pub struct MemoryIdentity {
    users: Mutex<HashMap<String, MemoryUser>>,
    refresh_tokens: Mutex<HashMap<String, String>>,
    /// Failure injection for every call.
    pub faults: FaultSwitch,
}

impl MemoryIdentity {
    /// The confirmation code "sent" to a user.
    pub fn confirmation_code(&self, email: &str) -> Option<String> {
        lock(&self.users).get(email).map(|u| u.code.clone())
    }

    /// Whether a user is confirmed.
    pub fn is_confirmed(&self, email: &str) -> Option<bool> {
        lock(&self.users).get(email).map(|u| u.confirmed)
    }

    fn tokens(&self, email: &str, rotate: bool) -> Tokens {
        let sub = lock(&self.users)
            .get(email)
            .map(|u| u.sub.clone())
            .unwrap_or_default();
        let refresh_token = rotate.then(|| {
            let token = format!("refresh-{}", Uuid::new_v4());
            lock(&self.refresh_tokens).insert(token.clone(), email.to_string());
            token
        });
        Tokens {
            id_token: format!("id-{sub}-{}", Uuid::new_v4()),
            access_token: format!("access-{}", Uuid::new_v4()),
            refresh_token,
            expires_in: 3600,
        }
    }
}

fn meets_default_policy(password: &str) -> bool {
    password.chars().count() >= 8
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| !c.is_alphanumeric())
}

#[async_trait]
impl IdentityProvider for MemoryIdentity {
    async fn sign_up(&self, email: &str, password: &str) -> Result<SignUp, ApiError> {
        self.faults.check("Cognito")?;
        if !meets_default_policy(password) {
            return Err(ApiError::InvalidParameter(
                "password does not conform to the policy".into(),
            ));
        }
        let mut users = lock(&self.users);
        if users.contains_key(email) {
            return Err(ApiError::UserExists);
        }
        let sub = Uuid::new_v4().to_string();
        let code = format!("{:06}", Uuid::new_v4().as_u128() % 1_000_000);
        users.insert(
            email.to_string(),
            MemoryUser {
                sub: sub.clone(),
                password: password.to_string(),
                confirmed: false,
                code,
            },
        );
        Ok(SignUp {
            user_sub: sub,
            confirmed: false,
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), ApiError> {
        self.faults.check("Cognito")?;
        let mut users = lock(&self.users);
        let user = users
            .get_mut(email)
            .ok_or_else(|| ApiError::InvalidCode("invalid confirmation code".into()))?;
        if user.code != code {
            return Err(ApiError::InvalidCode("invalid confirmation code".into()));
        }
        user.confirmed = true;
        Ok(())
    }

    async fn admin_confirm_sign_up(&self, email: &str) -> Result<(), ApiError> {
        self.faults.check("Cognito")?;
        let mut users = lock(&self.users);
        let user = users
            .get_mut(email)
            .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
        user.confirmed = true;
        Ok(())
    }

    async fn login(&self, email: &str, password: &str) -> Result<Tokens, ApiError> {
        self.faults.check("Cognito")?;
        let user = lock(&self.users).get(email).cloned();
        match user {
            Some(user) if user.password == password => {
                if !user.confirmed {
                    return Err(ApiError::NotConfirmed);
                }
                Ok(self.tokens(email, true))
            }
            _ => Err(ApiError::WrongCredentials),
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        self.faults.check("Cognito")?;
        let email = lock(&self.refresh_tokens).get(refresh_token).cloned();
        match email {
            // Like Cognito, a refresh does not rotate the refresh token.
            Some(email) => Ok(self.tokens(&email, false)),
            None => Err(ApiError::WrongCredentials),
        }
    }
}

/// A bucket of objects in a map, for the image intake.
#[derive(Debug, Default)]
pub struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Keys read so far (to show what was never read).
    reads: Mutex<Vec<String>>,
    /// Failure injection for every call.
    pub faults: FaultSwitch,
}

impl MemoryObjects {
    /// Stores an object.
    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        lock(&self.objects).insert(key.to_string(), bytes);
    }

    /// True if the object exists.
    pub fn contains(&self, key: &str) -> bool {
        lock(&self.objects).contains_key(key)
    }

    /// Keys whose bytes were read.
    pub fn reads(&self) -> Vec<String> {
        lock(&self.reads).clone()
    }
}

#[async_trait]
impl ImageObjects for MemoryObjects {
    async fn size(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.faults.check("S3")?;
        Ok(lock(&self.objects).get(key).map(|b| b.len() as u64))
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        self.faults.check("S3")?;
        lock(&self.reads).push(key.to_string());
        Ok(lock(&self.objects).get(key).cloned())
    }

    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.faults.check("S3")?;
        lock(&self.objects).remove(key);
        Ok(())
    }
}
