//! `cargo xtask smoke --outputs FILE`: a smoke test of any deployed (or local) stack, through its
//! HTTP API as a client would, with the shop's one typed client.
//!
//! The stack is named by its outputs: the local stack's `.dev/outputs.json` (a flat map), or what
//! `aws cloudformation describe-stacks --stack-name shop-dev` prints (`Stacks[0].Outputs`). The
//! scenarios change nothing a customer would see: the catalog is read, a test user is created
//! with the Cognito admin API (sign-up on AWS needs an e-mailed code), logs in, asks for an
//! upload form, which a shopper is refused, and the API's refusals are checked (no token, a malformed
//! order, an unknown order). The test user is deleted at the end, whatever happened.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use local_stack::client::ShopClient;
use serde_json::{json, Map, Value};

/// `cargo xtask smoke` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The stack's outputs: `.dev/outputs.json`, or the JSON of
    /// `aws cloudformation describe-stacks --stack-name <stack>`.
    #[arg(long)]
    pub outputs: PathBuf,
}

/// The stack's outputs as a flat map, from either form.
pub fn read_outputs(path: &Path) -> Result<Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    outputs_of(&value).with_context(|| format!("no stack outputs in {}", path.display()))
}

/// The outputs in a flat map, or in CloudFormation's `{"Stacks": [{"Outputs": [...]}]}`.
fn outputs_of(value: &Value) -> Option<Map<String, Value>> {
    if let Some(outputs) = value.pointer("/Stacks/0/Outputs").and_then(Value::as_array) {
        return Some(
            outputs
                .iter()
                .filter_map(|o| {
                    Some((
                        o.get("OutputKey")?.as_str()?.to_owned(),
                        o.get("OutputValue")?.clone(),
                    ))
                })
                .collect(),
        );
    }
    value
        .as_object()
        .filter(|m| m.contains_key("ApiUrl"))
        .cloned()
}

/// Runs the smoke test; `Ok(true)` when every check passed.
pub fn run(options: &Options) -> Result<bool> {
    let outputs = read_outputs(&options.outputs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(smoke(&outputs))
}

/// The scenarios against the stack of `outputs`.
pub async fn smoke(outputs: &Map<String, Value>) -> Result<bool> {
    let out = |key: &str| -> Result<String> {
        outputs
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the outputs have no {key}"))
    };
    let api = ShopClient::new(&out("ApiUrl")?)?;
    let pool = out("UserPoolId")?;
    // The local stack names its emulator; on AWS the default chain (credentials, region).
    let config = match outputs.get("AwsEndpoint").and_then(Value::as_str) {
        Some(endpoint) => local_stack::emulator::sdk_config(endpoint, "xtask-smoke").await,
        None => {
            let region = pool.split('_').next().unwrap_or("us-east-1").to_owned();
            shop_model::aws::config_loader()
                .region(aws_config::Region::new(region))
                .load()
                .await
        }
    };
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let email = format!("smoke-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = format!("Smoke-{}-a1!", uuid::Uuid::new_v4().simple());

    let mut failures = Vec::new();
    let result = scenarios(&api, &cognito, &pool, &email, &password, &mut failures).await;
    // Clean up what the run created, whatever happened.
    let cleanup = cognito
        .admin_delete_user()
        .user_pool_id(&pool)
        .username(&email)
        .send()
        .await;
    if let Err(error) = result {
        failures.push(format!("{error:#}"));
    }
    match cleanup {
        Ok(_) => println!("smoke: ok    test user deleted"),
        Err(error) if failures.is_empty() => failures.push(format!(
            "deleting the test user: {}",
            aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&error)
        )),
        Err(_) => {}
    }
    for failure in &failures {
        println!("smoke: FAIL  {failure}");
    }
    println!(
        "smoke: {}",
        if failures.is_empty() {
            "PASSED"
        } else {
            "FAILED"
        }
    );
    Ok(failures.is_empty())
}

async fn scenarios(
    api: &ShopClient,
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    pool: &str,
    email: &str,
    password: &str,
    failures: &mut Vec<String>,
) -> Result<()> {
    let mut check = |name: &str, ok: bool, detail: String| {
        if ok {
            println!("smoke: ok    {name}");
        } else {
            failures.push(format!("{name}: {detail}"));
        }
    };

    // The public catalog.
    let products = api.products("limit=5").await.context("GET /products")?;
    let status = products.status;
    let page = products.ok();
    check(
        "GET /products answers a page of products",
        page.is_ok(),
        format!("{status} {page:?}"),
    );
    let product = page.ok().and_then(|p| p.items.into_iter().next());

    // A test user, made by an administrator (no e-mail needed), then a login through the API.
    cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(email)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()?,
        )
        .user_attributes(
            AttributeType::builder()
                .name("email_verified")
                .value("true")
                .build()?,
        )
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .context("AdminCreateUser of the smoke-test user")?;
    cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(email)
        .password(password)
        .permanent(true)
        .send()
        .await
        .context("AdminSetUserPassword of the smoke-test user")?;
    let login = api.login(email, password).await.context("POST /auth")?;
    let status = login.status;
    let tokens = match login.ok() {
        Ok(tokens) => tokens,
        Err(error) => bail!("POST /auth login answered {status}: {error}"),
    };
    check("POST /auth logs the test user in", true, String::new());

    // Authorized reads.
    if let Some(product) = &product {
        let upload = api
            .upload_target(&tokens.id_token, &product.id, "image/png")
            .await
            .context("GET /products/upload")?;
        check(
            "GET /products/upload refuses a shopper (403: upload forms are for staff)",
            upload.status == 403,
            format!("{} {:?}", upload.status, upload.body),
        );
    }
    let unknown = api
        .order(&tokens.id_token, &uuid::Uuid::new_v4().to_string())
        .await
        .context("GET /orders/{id}")?;
    check(
        "GET /orders/{unknown id} is 404",
        unknown.status == 404,
        format!("{} {:?}", unknown.status, unknown.body),
    );
    let mine = api
        .my_orders(&tokens.id_token, "")
        .await
        .context("GET /orders")?;
    check(
        "GET /orders lists the new user's orders: none",
        mine.status == 200 && mine.ok().is_ok_and(|list| list.items.is_empty()),
        String::new(),
    );
    let staff_only = api
        .archive_product(&tokens.id_token, "smoke-test-no-such-product")
        .await
        .context("DELETE /products/{id}")?;
    check(
        "DELETE /products/{id} refuses a shopper (403: catalog management is for staff)",
        staff_only.status == 403,
        format!("{} {:?}", staff_only.status, staff_only.body),
    );

    // Refusals: nothing is stored.
    let anonymous = api
        .http()
        .post(api.url("/orders"))
        .json(&json!({"items": []}))
        .send()
        .await
        .context("POST /orders without a token")?;
    check(
        "POST /orders without a token is 401",
        anonymous.status().as_u16() == 401,
        anonymous.status().to_string(),
    );
    let malformed = api
        .http()
        .post(api.url("/orders"))
        .header("Authorization", &tokens.id_token)
        .json(&json!({"items": "not a list"}))
        .send()
        .await
        .context("POST /orders with a malformed body")?;
    let status = malformed.status().as_u16();
    check(
        "POST /orders with a malformed body is 4xx in the one error shape",
        (400..500).contains(&status) && malformed.json::<api::contract::ErrorBody>().await.is_ok(),
        status.to_string(),
    );
    ensure!(
        tokens.expires_in > 0,
        "the login answered tokens that have already expired"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_read_flat_or_from_describe_stacks() {
        let flat = json!({"ApiUrl": "http://127.0.0.1:3000/dev", "UserPoolId": "us-east-1_x"});
        assert_eq!(
            outputs_of(&flat).unwrap()["ApiUrl"],
            "http://127.0.0.1:3000/dev"
        );
        let described = json!({"Stacks": [{"StackName": "shop-dev", "Outputs": [
            {"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.eu-west-1.amazonaws.com/dev"},
            {"OutputKey": "UserPoolId", "OutputValue": "eu-west-1_abc"}
        ]}]});
        let outputs = outputs_of(&described).unwrap();
        assert_eq!(outputs["UserPoolId"], "eu-west-1_abc");
        assert!(outputs_of(&json!({"Stacks": []})).is_none());
        assert!(outputs_of(&json!({"Other": 1})).is_none());
    }
}
