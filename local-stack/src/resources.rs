//! Creates the stack's data, messaging and identity resources in the emulator from
//! `template.yaml`'s own definitions (names, keys, indexes, redrive policy, password policy,
//! client flows), resolved as CloudFormation would for one stage.
//!
//! Resource types created: `AWS::Cognito::UserPool`, `AWS::Cognito::UserPoolClient`,
//! `AWS::Cognito::UserPoolGroup`, `AWS::DynamoDB::Table`, `AWS::S3::Bucket`, `AWS::SQS::Queue`,
//! `AWS::SNS::Topic`.
//! Functions and the API are stood in for by local processes; their references still resolve
//! (a function's name is its binary's, as it runs in-process), so `DefinitionSubstitutions` work.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::cfn::{Physical, ResolveError, Stack, ACCOUNT_ID, REGION};
use crate::Clients;

/// The types [`create_all`] creates.
pub const CREATED_TYPES: [&str; 7] = [
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
];

/// What was created, by logical id (type, physical id), for the progress output.
pub type Created = Vec<(String, String, String)>;

/// Registers the resources that run as local processes (functions, the API) so that
/// references to them resolve, then creates every resource of [`CREATED_TYPES`] in dependency order.
pub async fn create_all(stack: &mut Stack<'_>, clients: &Clients) -> Result<Created> {
    let template = stack.template();
    let resources: Vec<(&String, &Value)> = template["Resources"]
        .as_object()
        .context("template.yaml has no Resources")?
        .iter()
        .collect();
    for (id, resource) in &resources {
        match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") | Some("AWS::Lambda::Function") => {
                // Locally a function is its binary run in-process, so its name is the binary's
                // (`Metadata.BuildProperties.Binary`, e.g. `validate-order`), which is what the
                // engine's step registry and the starter know; without one, its FunctionName.
                let name = match (
                    resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
                    resource["Properties"].get("FunctionName"),
                ) {
                    (Some(binary), _) => binary.to_string(),
                    (None, Some(name)) => stack.resolve_string(name)?,
                    (None, None) => format!("{}-{id}", stack.stack_name()),
                };
                let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}");
                stack.insert(id, Physical::new(&name).with("Arn", arn));
            }
            Some("AWS::Serverless::Api") => {
                stack.insert(id, Physical::new("local").with("RootResourceId", "local"));
            }
            _ => {}
        }
    }

    let mut pending: Vec<&(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| {
            r["Type"]
                .as_str()
                .is_some_and(|t| CREATED_TYPES.contains(&t))
        })
        .filter(|(_, r)| match r["Condition"].as_str() {
            Some(condition) => stack.condition(condition).unwrap_or(false),
            None => true,
        })
        .collect();
    let mut created = Vec::new();
    while !pending.is_empty() {
        let mut progress = false;
        let mut waiting = Vec::new();
        for entry in pending {
            let (id, resource) = entry;
            let kind = resource["Type"].as_str().unwrap_or_default();
            let properties = match stack.resolve(&resource["Properties"]) {
                Ok(p) => p,
                Err(ResolveError::Pending(other)) if other != **id => {
                    waiting.push(entry);
                    continue;
                }
                Err(e) => bail!("{id}: {e}"),
            };
            let physical = create(kind, &properties, clients)
                .await
                .with_context(|| format!("creating {id} ({kind})"))?;
            created.push((id.to_string(), kind.to_string(), physical.id.clone()));
            stack.insert(id, physical);
            progress = true;
        }
        if !progress {
            let names: Vec<&str> = waiting.iter().map(|(id, _)| id.as_str()).collect();
            bail!("cannot order the creation of {names:?}: they depend on resources that are never created locally");
        }
        pending = waiting;
    }
    Ok(created)
}

async fn create(kind: &str, p: &Value, clients: &Clients) -> Result<Physical> {
    match kind {
        "AWS::Cognito::UserPool" => user_pool(p, clients).await,
        "AWS::Cognito::UserPoolClient" => user_pool_client(p, clients).await,
        "AWS::Cognito::UserPoolGroup" => user_pool_group(p, clients).await,
        "AWS::DynamoDB::Table" => table(p, clients).await,
        "AWS::S3::Bucket" => bucket(p, clients).await,
        "AWS::SQS::Queue" => queue(p, clients).await,
        "AWS::SNS::Topic" => topic(p, clients).await,
        other => bail!("{other} is not created locally"),
    }
}

fn s(value: &Value) -> Option<String> {
    super::cfn::scalar_text(value)
}

fn b(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn i(value: &Value) -> Option<i32> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(s)
        .collect()
}

fn required(p: &Value, name: &str) -> Result<String> {
    s(&p[name]).ok_or_else(|| anyhow!("property {name} is required locally"))
}

/// `AWS::Cognito::UserPool`: name, username attributes, password policy, schema, sign-up settings.
async fn user_pool(p: &Value, clients: &Clients) -> Result<Physical> {
    use aws_sdk_cognitoidentityprovider::types::{
        AdminCreateUserConfigType, DeletionProtectionType, PasswordPolicyType, SchemaAttributeType,
        UserPoolPolicyType, UsernameAttributeType, UsernameConfigurationType,
        VerifiedAttributeType,
    };
    let mut request = clients
        .cognito
        .create_user_pool()
        .pool_name(required(p, "UserPoolName")?);
    for attribute in strings(&p["UsernameAttributes"]) {
        request = request.username_attributes(UsernameAttributeType::from(attribute.as_str()));
    }
    for attribute in strings(&p["AutoVerifiedAttributes"]) {
        request = request.auto_verified_attributes(VerifiedAttributeType::from(attribute.as_str()));
    }
    if let Some(case) = b(&p["UsernameConfiguration"]["CaseSensitive"]) {
        request = request.username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(case)
                .build()?,
        );
    }
    let policy = &p["Policies"]["PasswordPolicy"];
    if policy.is_object() {
        let mut password = PasswordPolicyType::builder();
        if let Some(n) = i(&policy["MinimumLength"]) {
            password = password.minimum_length(n);
        }
        if let Some(v) = b(&policy["RequireLowercase"]) {
            password = password.require_lowercase(v);
        }
        if let Some(v) = b(&policy["RequireUppercase"]) {
            password = password.require_uppercase(v);
        }
        if let Some(v) = b(&policy["RequireNumbers"]) {
            password = password.require_numbers(v);
        }
        if let Some(v) = b(&policy["RequireSymbols"]) {
            password = password.require_symbols(v);
        }
        if let Some(n) = i(&policy["TemporaryPasswordValidityDays"]) {
            password = password.temporary_password_validity_days(n);
        }
        request = request.policies(
            UserPoolPolicyType::builder()
                .password_policy(password.build())
                .build(),
        );
    }
    for attribute in p["Schema"].as_array().into_iter().flatten() {
        let mut schema = SchemaAttributeType::builder();
        if let Some(name) = s(&attribute["Name"]) {
            schema = schema.name(name);
        }
        if let Some(kind) = s(&attribute["AttributeDataType"]) {
            schema = schema.attribute_data_type(kind.as_str().into());
        }
        if let Some(v) = b(&attribute["Required"]) {
            schema = schema.required(v);
        }
        if let Some(v) = b(&attribute["Mutable"]) {
            schema = schema.mutable(v);
        }
        request = request.schema(schema.build());
    }
    if let Some(v) = b(&p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]) {
        request = request.admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(v)
                .build(),
        );
    }
    if let Some(v) = s(&p["DeletionProtection"]) {
        request = request.deletion_protection(DeletionProtectionType::from(v.as_str()));
    }
    let pool = request.send().await?;
    let pool = pool
        .user_pool()
        .context("CreateUserPool returned no pool")?;
    let id = pool.id().context("user pool without id")?.to_string();
    let arn = pool
        .arn()
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{id}"));
    let provider = format!("cognito-idp.{REGION}.amazonaws.com/{id}");
    Ok(Physical::new(&id)
        .with("Arn", arn)
        .with("ProviderName", provider.clone())
        .with("ProviderURL", format!("https://{provider}"))
        .with("UserPoolId", id))
}

/// `AWS::Cognito::UserPoolGroup`: name, description, precedence (`Ref` is the group name).
async fn user_pool_group(p: &Value, clients: &Clients) -> Result<Physical> {
    let name = required(p, "GroupName")?;
    clients
        .cognito
        .create_group()
        .user_pool_id(required(p, "UserPoolId")?)
        .group_name(&name)
        .set_description(s(&p["Description"]))
        .set_precedence(i(&p["Precedence"]))
        .send()
        .await?;
    Ok(Physical::new(&name))
}

/// `AWS::Cognito::UserPoolClient`: secret or not, auth flows, token validity.
async fn user_pool_client(p: &Value, clients: &Clients) -> Result<Physical> {
    use aws_sdk_cognitoidentityprovider::types::{
        ExplicitAuthFlowsType, PreventUserExistenceErrorTypes, TimeUnitsType,
        TokenValidityUnitsType,
    };
    let mut request = clients
        .cognito
        .create_user_pool_client()
        .user_pool_id(required(p, "UserPoolId")?)
        .client_name(required(p, "ClientName")?)
        .generate_secret(b(&p["GenerateSecret"]).unwrap_or(false));
    for flow in strings(&p["ExplicitAuthFlows"]) {
        request = request.explicit_auth_flows(ExplicitAuthFlowsType::from(flow.as_str()));
    }
    if let Some(v) = s(&p["PreventUserExistenceErrors"]) {
        request =
            request.prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(v.as_str()));
    }
    if let Some(v) = b(&p["EnableTokenRevocation"]) {
        request = request.enable_token_revocation(v);
    }
    if let Some(v) = i(&p["AccessTokenValidity"]) {
        request = request.access_token_validity(v);
    }
    if let Some(v) = i(&p["IdTokenValidity"]) {
        request = request.id_token_validity(v);
    }
    if let Some(v) = i(&p["RefreshTokenValidity"]) {
        request = request.refresh_token_validity(v);
    }
    let units = &p["TokenValidityUnits"];
    if units.is_object() {
        let unit = |name: &str| s(&units[name]).map(|u| TimeUnitsType::from(u.as_str()));
        request = request.token_validity_units(
            TokenValidityUnitsType::builder()
                .set_access_token(unit("AccessToken"))
                .set_id_token(unit("IdToken"))
                .set_refresh_token(unit("RefreshToken"))
                .build(),
        );
    }
    let out = request.send().await?;
    let client = out
        .user_pool_client()
        .context("CreateUserPoolClient returned no client")?;
    let id = client.client_id().context("client without id")?;
    Ok(Physical::new(id).with("Name", client.client_name().unwrap_or_default()))
}

/// `AWS::DynamoDB::Table`: keys, attribute types, GSIs with their projections, billing, SSE.
async fn table(p: &Value, clients: &Clients) -> Result<Physical> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
        SseSpecification,
    };
    let key_schema = |value: &Value| -> Result<Vec<KeySchemaElement>> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                Ok(KeySchemaElement::builder()
                    .attribute_name(required(k, "AttributeName")?)
                    .key_type(KeyType::from(required(k, "KeyType")?.as_str()))
                    .build()?)
            })
            .collect()
    };
    let name = required(p, "TableName")?;
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(&name)
        .set_key_schema(Some(key_schema(&p["KeySchema"])?));
    for a in p["AttributeDefinitions"].as_array().into_iter().flatten() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(required(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(
                    required(a, "AttributeType")?.as_str(),
                ))
                .build()?,
        );
    }
    let billing = s(&p["BillingMode"]).unwrap_or_else(|| "PROVISIONED".into());
    request = request.billing_mode(BillingMode::from(billing.as_str()));
    for gsi in p["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        let projection = &gsi["Projection"];
        let mut proj = Projection::builder();
        if let Some(kind) = s(&projection["ProjectionType"]) {
            proj = proj.projection_type(ProjectionType::from(kind.as_str()));
        }
        for attribute in strings(&projection["NonKeyAttributes"]) {
            proj = proj.non_key_attributes(attribute);
        }
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(required(gsi, "IndexName")?)
                .set_key_schema(Some(key_schema(&gsi["KeySchema"])?))
                .projection(proj.build())
                .build()?,
        );
    }
    if let Some(v) = b(&p["SSESpecification"]["SSEEnabled"]) {
        request = request.sse_specification(SseSpecification::builder().enabled(v).build());
    }
    if let Some(v) = b(&p["DeletionProtectionEnabled"]) {
        request = request.deletion_protection_enabled(v);
    }
    let out = request.send().await?;
    let arn = out
        .table_description()
        .and_then(|t| t.table_arn())
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"));
    if let Some(true) = b(&p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]) {
        clients
            .dynamodb
            .update_continuous_backups()
            .table_name(&name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await
            .context("enabling point-in-time recovery")?;
    }
    Ok(Physical::new(&name).with("Arn", arn))
}

/// `AWS::SQS::Queue`: every property but the name and tags is a queue attribute; the redrive
/// policy object becomes its JSON string, as in `SetQueueAttributes`.
async fn queue(p: &Value, clients: &Clients) -> Result<Physical> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = required(p, "QueueName")?;
    let mut attributes = BTreeMap::new();
    for (key, value) in p.as_object().into_iter().flatten() {
        if key == "QueueName" || key == "Tags" {
            continue;
        }
        let text = match value {
            Value::Object(_) => value.to_string(),
            other => s(other).with_context(|| format!("queue property {key}"))?,
        };
        attributes.insert(QueueAttributeName::from(key.as_str()), text);
    }
    let out = clients
        .sqs
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(attributes.into_iter().collect()))
        .send()
        .await?;
    let url = out.queue_url().context("CreateQueue returned no URL")?;
    let attrs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_else(|| format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"));
    Ok(Physical::new(url).with("Arn", arn).with("QueueName", name))
}

/// `AWS::SNS::Topic`: name and topic attributes (encryption key, display name).
async fn topic(p: &Value, clients: &Clients) -> Result<Physical> {
    let name = required(p, "TopicName")?;
    let mut request = clients.sns.create_topic().name(&name);
    for key in ["KmsMasterKeyId", "DisplayName", "FifoTopic"] {
        if let Some(v) = s(&p[key]) {
            request = request.attributes(key, v);
        }
    }
    let out = request.send().await?;
    let arn = out.topic_arn().context("CreateTopic returned no ARN")?;
    Ok(Physical::new(arn)
        .with("TopicArn", arn)
        .with("TopicName", name))
}

/// `AWS::S3::Bucket`: the bucket, its public access block, default encryption, ownership
/// controls, CORS rules and event notifications to queues (lifecycle rules, versioning and
/// access logging are not applied locally).
async fn bucket(p: &Value, clients: &Clients) -> Result<Physical> {
    use aws_sdk_s3::types::{
        CorsConfiguration, CorsRule, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
        PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let name = required(p, "BucketName")?;
    let s3 = &clients.s3;
    s3.create_bucket().bucket(&name).send().await?;
    let block = &p["PublicAccessBlockConfiguration"];
    if block.is_object() {
        s3.put_public_access_block()
            .bucket(&name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .set_block_public_acls(b(&block["BlockPublicAcls"]))
                    .set_block_public_policy(b(&block["BlockPublicPolicy"]))
                    .set_ignore_public_acls(b(&block["IgnorePublicAcls"]))
                    .set_restrict_public_buckets(b(&block["RestrictPublicBuckets"]))
                    .build(),
            )
            .send()
            .await
            .context("PutPublicAccessBlock")?;
    }
    for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(algorithm) = s(&rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]) {
            s3.put_bucket_encryption()
                .bucket(&name)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(
                                    ServerSideEncryptionByDefault::builder()
                                        .sse_algorithm(ServerSideEncryption::from(
                                            algorithm.as_str(),
                                        ))
                                        .build()?,
                                )
                                .build(),
                        )
                        .build()?,
                )
                .send()
                .await
                .context("PutBucketEncryption")?;
        }
    }
    for rule in p["OwnershipControls"]["Rules"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(ownership) = s(&rule["ObjectOwnership"]) {
            s3.put_bucket_ownership_controls()
                .bucket(&name)
                .ownership_controls(
                    OwnershipControls::builder()
                        .rules(
                            OwnershipControlsRule::builder()
                                .object_ownership(ObjectOwnership::from(ownership.as_str()))
                                .build()?,
                        )
                        .build()?,
                )
                .send()
                .await
                .context("PutBucketOwnershipControls")?;
        }
    }
    let cors_rules = p["CorsConfiguration"]["CorsRules"].as_array();
    if let Some(rules) = cors_rules {
        let mut config = CorsConfiguration::builder();
        for rule in rules {
            config = config.cors_rules(
                CorsRule::builder()
                    .set_allowed_methods(Some(strings(&rule["AllowedMethods"])))
                    .set_allowed_origins(Some(strings(&rule["AllowedOrigins"])))
                    .set_allowed_headers(Some(strings(&rule["AllowedHeaders"])))
                    .set_max_age_seconds(i(&rule["MaxAge"]))
                    .build()?,
            );
        }
        s3.put_bucket_cors()
            .bucket(&name)
            .cors_configuration(config.build()?)
            .send()
            .await
            .context("PutBucketCors")?;
    }
    // Event notifications to queues (the image intake's); moto delivers them to its own SQS.
    let queue_configurations = p["NotificationConfiguration"]["QueueConfigurations"].as_array();
    if let Some(configurations) = queue_configurations {
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, NotificationConfiguration,
            NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
        };
        let mut notification = NotificationConfiguration::builder();
        for configuration in configurations {
            let mut key_filter = S3KeyFilter::builder();
            for rule in configuration["Filter"]["S3Key"]["Rules"]
                .as_array()
                .into_iter()
                .flatten()
            {
                key_filter = key_filter.filter_rules(
                    FilterRule::builder()
                        .set_name(s(&rule["Name"]).map(|n| FilterRuleName::from(n.as_str())))
                        .set_value(s(&rule["Value"]))
                        .build(),
                );
            }
            notification = notification.queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(required(configuration, "Queue")?)
                    .events(Event::from(required(configuration, "Event")?.as_str()))
                    .filter(
                        NotificationConfigurationFilter::builder()
                            .key(key_filter.build())
                            .build(),
                    )
                    .build()?,
            );
        }
        s3.put_bucket_notification_configuration()
            .bucket(&name)
            .notification_configuration(notification.build())
            .send()
            .await
            .context("PutBucketNotificationConfiguration")?;
    }
    Ok(Physical::new(&name)
        .with("Arn", format!("arn:aws:s3:::{name}"))
        .with("DomainName", format!("{name}.s3.amazonaws.com"))
        .with(
            "RegionalDomainName",
            format!("{name}.s3.{REGION}.amazonaws.com"),
        ))
}
