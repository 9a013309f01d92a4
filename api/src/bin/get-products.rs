//! Lambda `get-products`: `GET /products` and `GET /products/{id}`, with pre-signed image URLs.

use api::app::ProductsApi;
use api::aws::{sdk_config, DynamoCatalog, S3Images};
use api::lambda::{env_var, init_logging, run};
use shop_model::env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let config = sdk_config().await;
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&config),
        env_var(env::PRODUCTS_TABLE)?,
    );
    let images = S3Images::from_env(&config)?;
    run(ProductsApi { catalog, images }).await
}
