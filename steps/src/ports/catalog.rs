//! Port: read products (price, currency, stock) from the catalog.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::error::PortError;

/// The product fields the order steps need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProduct {
    pub id: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
}

/// Reads products by id.
#[async_trait]
pub trait ProductCatalog: Send + Sync {
    /// The products among `ids` that exist, by id; unknown ids are simply absent.
    /// `ids` holds no duplicates.
    async fn get_products(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, CatalogProduct>, PortError>;
}
