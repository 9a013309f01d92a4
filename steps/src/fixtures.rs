//! Test fixtures shared by the unit tests (a small catalog and order messages).

use shop_model::{OrderLine, OrderMessage, CURRENCY};

use crate::ports::{CatalogProduct, InMemoryShop};

pub fn product(id: &str, price_cents: i64, stock: i64) -> CatalogProduct {
    CatalogProduct {
        id: id.to_owned(),
        name: format!("Product {id}"),
        price_cents,
        currency: CURRENCY.to_owned(),
        stock,
    }
}

/// Catalog: `mug` 1250 cents x 10, `tee` 1999 cents x 3, `pin` 300 cents x 0.
pub fn shop() -> InMemoryShop {
    InMemoryShop::new([
        product("mug", 1250, 10),
        product("tee", 1999, 3),
        product("pin", 300, 0),
    ])
}

pub fn line(product_id: &str, quantity: u32) -> OrderLine {
    OrderLine {
        product_id: product_id.to_owned(),
        quantity,
    }
}

pub fn message(order_id: &str, items: Vec<OrderLine>) -> OrderMessage {
    OrderMessage {
        order_id: order_id.to_owned(),
        user_sub: "user-1".to_owned(),
        items,
        payment_token: Some("tok_visa".to_owned()),
        total_cents: 1,
        currency: CURRENCY.to_owned(),
        created_at: "2026-11-25T10:00:00.000Z".to_owned(),
    }
}

/// Validates and pays `msg` against `shop` with the simulated provider.
pub async fn paid(shop: &InMemoryShop, msg: OrderMessage) -> crate::model::PaidOrder {
    let validated = crate::validate::validate(msg, shop)
        .await
        .expect("valid order");
    crate::pay::pay(validated, &crate::ports::SimulatedGateway)
        .await
        .expect("approved")
}
