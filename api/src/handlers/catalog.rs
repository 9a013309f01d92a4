//! Catalog management (staff only): `POST /products`, `PUT /products/{id}`,
//! `DELETE /products/{id}` (archives) and `POST /products/{id}/stock`.
//!
//! Every answer is the staff view of the product ([`ManagedProduct`]), with the `version` a
//! later `PUT` must send back: a stale one is a 409 `version_conflict`. Stock is never set,
//! only adjusted, with one atomic conditional write, so staff and order reservations cannot
//! lose each other's changes.

use serde_json::{Map, Value};
use shop_model::{Product, CURRENCY};

use crate::contract::{ManagedProduct, ProductView};
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse, Fields};
use crate::ports::{CatalogAdmin, EditOutcome, ImageStore, ProductEdit, StockOutcome};

use super::products::{image_url, MAX_CATEGORY_CHARS};

/// Longest product name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Highest price: one million in the shop's currency.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;
/// Largest initial stock, and largest single adjustment.
pub const MAX_STOCK: i64 = 1_000_000_000;
/// Ids that are routes of their own (`GET /products/upload`) cannot name a product.
const RESERVED_IDS: [&str; 1] = ["upload"];

/// Handles `POST /products`: 201 with the new product, 409 if the id is taken.
pub async fn create<C: CatalogAdmin, S: ImageStore>(
    catalog: &C,
    images: &S,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    request.require_staff()?;
    let body = request.json_object()?;
    only_fields(
        &body,
        &[
            "id",
            "name",
            "description",
            "category",
            "priceCents",
            "currency",
            "stock",
        ],
    )?;
    let fields = Fields::new(&body);
    let id = match fields.optional_string("id")? {
        Some(id) => product_id(id)?,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let described = description(&fields)?;
    let product = Product {
        id,
        name: described.name,
        description: described.description,
        category: described.category,
        price_cents: described.price_cents,
        currency: described.currency,
        image_key: None,
        stock: fields.integer("stock", 0, MAX_STOCK)?,
        version: 1,
        archived: false,
    };
    if !catalog.create_product(&product).await? {
        return Err(ApiError::Conflict(format!(
            "a product with id {} exists already",
            product.id
        )));
    }
    tracing::info!(product_id = %product.id, "product created");
    managed(images, &product, 201).await
}

/// Handles `PUT /products/{id}`: replaces the descriptive fields if `version` is current.
pub async fn update<C: CatalogAdmin, S: ImageStore>(
    catalog: &C,
    images: &S,
    id: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    staff_on_product(request, id)?;
    let body = request.json_object()?;
    if body.contains_key("stock") {
        return Err(ApiError::field(
            "stock",
            "cannot be set; adjust it with POST /products/{id}/stock",
        ));
    }
    only_fields(
        &body,
        &[
            "name",
            "description",
            "category",
            "priceCents",
            "currency",
            "archived",
            "version",
        ],
    )?;
    let fields = Fields::new(&body);
    let mut edit = description(&fields)?;
    edit.archived = match body.get("archived") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(archived)) => *archived,
        Some(_) => return Err(ApiError::field("archived", "must be true or false")),
    };
    let version = fields.integer("version", 0, i64::MAX)?;
    match catalog.edit_product(id, &edit, version).await? {
        EditOutcome::Edited(product) => {
            tracing::info!(product_id = id, version = product.version, "product edited");
            managed(images, &product, 200).await
        }
        EditOutcome::NotFound => Err(no_such_product()),
        EditOutcome::Stale { current_version } => Err(ApiError::VersionConflict {
            sent: version,
            current: current_version,
        }),
    }
}

/// Handles `DELETE /products/{id}`: archives the product (orders keep their lines; a `PUT`
/// with `"archived": false` brings it back).
pub async fn archive<C: CatalogAdmin, S: ImageStore>(
    catalog: &C,
    images: &S,
    id: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    staff_on_product(request, id)?;
    match catalog.archive_product(id).await? {
        EditOutcome::Edited(product) => {
            tracing::info!(product_id = id, "product archived");
            managed(images, &product, 200).await
        }
        EditOutcome::NotFound | EditOutcome::Stale { .. } => Err(no_such_product()),
    }
}

/// Handles `POST /products/{id}/stock` with `{"adjustment": n}`: 409 `insufficient_stock` if
/// the stock would go below zero.
pub async fn adjust_stock<C: CatalogAdmin, S: ImageStore>(
    catalog: &C,
    images: &S,
    id: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    staff_on_product(request, id)?;
    let body = request.json_object()?;
    only_fields(&body, &["adjustment"])?;
    let adjustment = Fields::new(&body).integer("adjustment", -MAX_STOCK, MAX_STOCK)?;
    if adjustment == 0 {
        return Err(ApiError::field("adjustment", "must not be 0"));
    }
    match catalog.adjust_stock(id, adjustment).await? {
        StockOutcome::Adjusted(product) => {
            tracing::info!(
                product_id = id,
                adjustment,
                stock = product.stock,
                "stock adjusted"
            );
            managed(images, &product, 200).await
        }
        StockOutcome::NotFound => Err(no_such_product()),
        StockOutcome::Insufficient { stock } => {
            Err(ApiError::InsufficientStock { stock, adjustment })
        }
    }
}

/// A staff caller on the product `id`: 401/403 for others; an id that is not a plain id names
/// no product (404).
fn staff_on_product(request: &ApiRequest, id: &str) -> Result<(), ApiError> {
    request.require_staff()?;
    if is_plain_id(id) {
        Ok(())
    } else {
        Err(no_such_product())
    }
}

fn no_such_product() -> ApiError {
    ApiError::NotFound("no such product".into())
}

/// A product id chosen by the caller: a plain id, not a reserved route name.
fn product_id(id: &str) -> Result<String, ApiError> {
    if !is_plain_id(id) {
        return Err(ApiError::field(
            "id",
            "must be 1 to 128 letters, digits, - and _",
        ));
    }
    if RESERVED_IDS.contains(&id) {
        return Err(ApiError::field("id", format!("{id} is reserved")));
    }
    Ok(id.to_string())
}

/// The descriptive fields every create and update carries (`archived` false).
fn description(fields: &Fields<'_>) -> Result<ProductEdit, ApiError> {
    let currency = fields.string("currency")?;
    if currency != CURRENCY {
        return Err(ApiError::field(
            "currency",
            format!("must be {CURRENCY}, the shop's currency"),
        ));
    }
    // Optional, and may be empty.
    let description = match fields.raw("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err(ApiError::field("description", "must be a string")),
    };
    check_text("description", &description, MAX_DESCRIPTION_CHARS, true)?;
    Ok(ProductEdit {
        name: text(fields, "name", MAX_NAME_CHARS)?,
        description,
        category: text(fields, "category", MAX_CATEGORY_CHARS)?,
        price_cents: fields.integer("priceCents", 0, MAX_PRICE_CENTS)?,
        currency: currency.to_string(),
        archived: false,
    })
}

/// A required single-line text of 1 to `max` characters.
fn text(fields: &Fields<'_>, name: &str, max: usize) -> Result<String, ApiError> {
    let value = fields.string(name)?;
    check_text(name, value, max, false)?;
    if value.trim().is_empty() {
        return Err(ApiError::field(name, "must not be blank"));
    }
    Ok(value.to_string())
}

/// At most `max` characters, and no control characters (new lines only where `multiline`).
fn check_text(name: &str, value: &str, max: usize, multiline: bool) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::field(
            name,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(ApiError::field(name, "must not contain control characters"));
    }
    Ok(())
}

/// 422 for the first field the route does not take (a typo must not pass unnoticed).
fn only_fields(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        // The name is the client's: at most 64 characters of it are repeated.
        Some(unknown) => Err(ApiError::field(
            unknown.chars().take(64).collect::<String>(),
            format!(
                "is not a field of this request (known: {})",
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// The staff view of a product, with its image URL.
async fn managed<S: ImageStore>(
    images: &S,
    product: &Product,
    status: u16,
) -> Result<ApiResponse, ApiError> {
    let view = ProductView::from(product).with_image_url(image_url(images, product).await?);
    Ok(ApiResponse::json(
        status,
        &ManagedProduct {
            product: view,
            stock: product.stock,
            archived: product.archived,
        },
    ))
}
