//! Lambda `catalog-admin`: the staff routes (`GET /products/upload`, `POST /products`,
//! `PUT`/`DELETE /products/{id}`, `POST /products/{id}/stock`).

use api::app::CatalogAdminApi;
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
    run(CatalogAdminApi { catalog, images }).await
}
