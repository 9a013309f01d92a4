//! Consistency of `template.yaml` with the workspace: binaries, table keys, ASL placeholders,
//! environment variable names, routes, queue settings and least-privilege policies.

use std::collections::{BTreeMap, BTreeSet};

use local_stack::cfn::Stack;
use local_stack::{template, workspace};
use serde_json::Value;
use shop_model::{env, orders, products};

fn load() -> Value {
    let root = workspace::repo_root();
    template::load(&root.join("template.yaml")).expect("template.yaml loads")
}

fn functions(t: &Value) -> Vec<(&str, &Value)> {
    template::resources_of_type(t, "AWS::Serverless::Function")
}

/// A function property, or the `Globals.Function` one when the function does not set it.
fn function_property<'a>(t: &'a Value, function: &'a Value, name: &str) -> &'a Value {
    match &function["Properties"][name] {
        Value::Null => &t["Globals"]["Function"][name],
        value => value,
    }
}

/// `!Sub shop-${Stage}-<suffix>` -> `<suffix>`.
fn stage_suffix<'a>(value: &'a Value, prefix: &str) -> Option<&'a str> {
    value["Fn::Sub"].as_str()?.strip_prefix(prefix)
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[test]
fn every_function_is_a_rust_arm64_binary_of_the_workspace() {
    let t = load();
    let packages = workspace::packages(&workspace::repo_root()).expect("cargo metadata");
    let fns = functions(&t);
    assert_eq!(
        fns.len(),
        12,
        "five API functions, the image intake, five steps and the starter"
    );
    let stack = Stack::new(&t, &[("Stage", "dev")]);
    let mut missing = Vec::new();
    for (id, f) in fns {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: Binary"));
        let code_uri = f["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: CodeUri"));
        let package = packages
            .values()
            .find(|p| p.dir.as_os_str() == code_uri.trim_end_matches('/'))
            .unwrap_or_else(|| panic!("{id}: CodeUri {code_uri} is no workspace package"));
        if !package.binaries.iter().any(|b| b == binary) {
            missing.push(format!(
                "{id}: package `{}` has no binary `{binary}`",
                package.name
            ));
        }
        assert_eq!(
            function_property(&t, f, "Runtime"),
            "provided.al2023",
            "{id}"
        );
        assert_eq!(
            function_property(&t, f, "Architectures"),
            &serde_json::json!(["arm64"]),
            "{id}"
        );
        assert_eq!(function_property(&t, f, "Tracing"), "Active", "{id}");
        // 128 MB (Globals): the measured peak RSS is 4.2-8.7 MB (README, "Lambda footprint").
        assert_eq!(function_property(&t, f, "MemorySize"), 128, "{id}");
        assert!(f["Properties"]["Timeout"].is_u64(), "{id}");
        // Named after its binary, with a log group of that name with a retention and an
        // error-rate alarm on it: the `Fn::ForEach` loop of the template makes both, from the
        // function's entry in its list and its row in the `Functions` mapping.
        let name = stage_suffix(&f["Properties"]["FunctionName"], "shop-${Stage}-");
        assert_eq!(
            name,
            Some(binary),
            "{id}: FunctionName is shop-${{Stage}}-{binary}"
        );
        let prefix = id.strip_suffix("Function").expect("<Name>Function");
        let log_group_id = f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .expect("LoggingConfig");
        assert_eq!(log_group_id, format!("{prefix}LogGroup"), "{id}");
        let log_group = &t["Resources"][log_group_id];
        assert_eq!(
            log_group["Type"], "AWS::Logs::LogGroup",
            "{id}: {log_group_id}"
        );
        assert_eq!(
            stack
                .resolve_string(&log_group["Properties"]["LogGroupName"])
                .unwrap_or_else(|e| panic!("{log_group_id}: {e}")),
            format!("/aws/lambda/shop-dev-{binary}"),
            "{id}: the Functions mapping names its binary"
        );
        let alarm = &t["Resources"][format!("{prefix}ErrorRateAlarm")];
        assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{id}: no alarm");
        assert_eq!(
            stack
                .resolve_string(&alarm["Properties"]["AlarmName"])
                .unwrap(),
            format!("shop-dev-{binary}-error-rate")
        );
        let dimensions: Vec<&Value> = as_list(&alarm["Properties"]["Metrics"])
            .into_iter()
            .filter_map(|m| m["MetricStat"]["Metric"]["Dimensions"].get(0))
            .collect();
        assert_eq!(dimensions.len(), 2, "{id}: errors and invocations");
        for dimension in dimensions {
            assert_eq!(
                dimension,
                &serde_json::json!({"Name": "FunctionName", "Value": {"Ref": id}}),
                "{id}"
            );
        }
    }
    assert!(
        missing.is_empty(),
        "binaries missing from the workspace:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_log_group_has_a_retention() {
    let t = load();
    let groups = template::resources_of_type(&t, "AWS::Logs::LogGroup");
    assert!(
        groups.len() >= 13,
        "one per function, the API access log and the state machine"
    );
    for (id, group) in groups {
        assert!(
            !group["Properties"]["RetentionInDays"].is_null(),
            "{id} keeps logs forever"
        );
    }
}

fn key_schema(value: &Value) -> Vec<(String, String)> {
    as_list(value)
        .into_iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_string(),
                k["KeyType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn keys(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn check_table(t: &Value, id: &str, key: &[(&str, &str)], index: &str, index_key: &[(&str, &str)]) {
    let p = &t["Resources"][id]["Properties"];
    assert_eq!(key_schema(&p["KeySchema"]), keys(key), "{id} key");
    let gsis = as_list(&p["GlobalSecondaryIndexes"]);
    assert_eq!(gsis.len(), 1, "{id} has one GSI");
    assert_eq!(gsis[0]["IndexName"], index, "{id} index name");
    assert_eq!(
        key_schema(&gsis[0]["KeySchema"]),
        keys(index_key),
        "{id} index key"
    );
    // Every key attribute is a string, and only key attributes are defined.
    let defined: BTreeMap<&str, &str> = as_list(&p["AttributeDefinitions"])
        .into_iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap(),
                a["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    let used: BTreeSet<&str> = key.iter().chain(index_key).map(|(a, _)| *a).collect();
    assert_eq!(
        defined.keys().copied().collect::<BTreeSet<_>>(),
        used,
        "{id} attribute definitions"
    );
    assert!(
        defined.values().all(|ty| *ty == "S"),
        "{id} keys are strings"
    );
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{id}");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
        "{id}"
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true, "{id}");
}

#[test]
fn tables_match_shop_model() {
    let t = load();
    check_table(
        &t,
        "ProductsTable",
        &[(products::ID, "HASH")],
        products::CATEGORY_INDEX,
        &[(products::CATEGORY, "HASH"), (products::ID, "RANGE")],
    );
    check_table(
        &t,
        "OrdersTable",
        &[(orders::ORDER_ID, "HASH")],
        orders::USER_INDEX,
        &[(orders::USER_SUB, "HASH"), (orders::CREATED_AT, "RANGE")],
    );
    // The index projects what GET /orders shows, and never the payment token.
    let projected =
        &t["Resources"]["OrdersTable"]["Properties"]["GlobalSecondaryIndexes"][0]["Projection"];
    assert_eq!(projected["ProjectionType"], "INCLUDE");
    let mut attributes: Vec<&str> = as_list(&projected["NonKeyAttributes"])
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    attributes.sort();
    let mut expected = orders::USER_INDEX_PROJECTION.to_vec();
    expected.sort();
    assert_eq!(attributes, expected);
    assert!(!attributes.contains(&orders::PAYMENT_TOKEN));
}

#[test]
fn state_machine_substitutes_every_asl_placeholder() {
    let t = load();
    let root = workspace::repo_root();
    let machines = template::resources_of_type(&t, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 1);
    for (id, machine) in machines {
        let p = &machine["Properties"];
        assert_eq!(p["Type"], "STANDARD", "{id}");
        assert_eq!(p["Tracing"]["Enabled"], true, "{id}");
        assert_eq!(
            p["Logging"]["IncludeExecutionData"], false,
            "{id}: execution data holds payment tokens"
        );
        let uri = p["DefinitionUri"]
            .as_str()
            .expect("DefinitionUri is a local file");
        let substitutions: BTreeSet<String> = p["DefinitionSubstitutions"]
            .as_object()
            .expect("DefinitionSubstitutions")
            .keys()
            .cloned()
            .collect();
        // Every substitution is a Lambda ARN the state machine role may invoke.
        let invocable: Vec<&Value> =
            as_list(&t["Resources"]["OrderStateMachineRole"]["Properties"]["Policies"])
                .into_iter()
                .flat_map(|policy| as_list(&policy["PolicyDocument"]["Statement"]))
                .filter(|s| s["Action"] == "lambda:InvokeFunction")
                .flat_map(|s| as_list(&s["Resource"]))
                .collect();
        for (name, value) in p["DefinitionSubstitutions"].as_object().unwrap() {
            assert!(
                invocable.contains(&value),
                "{id}: the role cannot invoke {name}"
            );
        }
        let path = root.join(uri);
        if !path.exists() {
            eprintln!("notice: {uri} does not exist yet; placeholder check skipped");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let asl: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{uri} is not JSON: {e}"));
        let placeholders = template::placeholders(&asl);
        assert_eq!(
            placeholders, substitutions,
            "{uri}: placeholders vs {id} DefinitionSubstitutions"
        );
    }
    // Any other generated ASL file must only use placeholders the template can fill.
    let known: BTreeSet<String> = template::resources_of_type(&t, "AWS::Serverless::StateMachine")
        .into_iter()
        .flat_map(|(_, m)| {
            m["Properties"]["DefinitionSubstitutions"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
        })
        .collect();
    for file in workspace::generated_asl_files(&root).unwrap() {
        let asl: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let unknown: Vec<_> = template::placeholders(&asl)
            .into_iter()
            .filter(|p| !known.contains(p))
            .collect();
        assert!(
            unknown.is_empty(),
            "{}: no substitution for {unknown:?}",
            file.display()
        );
    }
}

fn statements(policies: &Value) -> Vec<&Value> {
    as_list(policies)
        .into_iter()
        .flat_map(|p| {
            let document = if p["PolicyDocument"].is_object() {
                &p["PolicyDocument"]
            } else {
                p
            };
            as_list(&document["Statement"])
        })
        .collect()
}

#[test]
fn allow_statements_name_actions_and_resources() {
    let t = load();
    let resources = t["Resources"].as_object().unwrap();
    let mut checked = 0;
    for (id, resource) in resources {
        let policies = &resource["Properties"]["Policies"];
        for statement in statements(policies) {
            if statement["Effect"] != "Allow" {
                continue;
            }
            checked += 1;
            let actions: Vec<&str> = as_list(&statement["Action"])
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            assert!(!actions.is_empty(), "{id}: statement without actions");
            for action in &actions {
                assert!(!action.contains('*'), "{id}: wildcard action {action}");
            }
            for r in as_list(&statement["Resource"]) {
                if r == "*" {
                    // Only actions without resource-level permissions may use "*".
                    let allowed = |a: &&str| {
                        a.starts_with("xray:")
                            || matches!(
                                *a,
                                "logs:CreateLogDelivery"
                                    | "logs:GetLogDelivery"
                                    | "logs:UpdateLogDelivery"
                                    | "logs:DeleteLogDelivery"
                                    | "logs:ListLogDeliveries"
                                    | "logs:PutResourcePolicy"
                                    | "logs:DescribeResourcePolicies"
                                    | "logs:DescribeLogGroups"
                            )
                    };
                    assert!(
                        actions.iter().all(allowed),
                        "{id}: Resource \"*\" for {actions:?}"
                    );
                }
            }
        }
    }
    assert!(checked >= 12, "found only {checked} Allow statements");
}

#[test]
fn environment_variables_are_shop_model_names() {
    let t = load();
    let known = [
        env::PRODUCTS_TABLE,
        env::ORDERS_TABLE,
        env::ORDER_QUEUE_URL,
        env::ORDER_TOPIC_ARN,
        env::IMAGES_BUCKET,
        env::USER_POOL_ID,
        env::USER_POOL_CLIENT_ID,
        env::STATE_MACHINE_ARN,
        env::ALLOWED_ORIGIN,
        "RUST_LOG",
    ];
    for (id, f) in functions(&t) {
        for name in f["Properties"]["Environment"]["Variables"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            assert!(
                known.contains(&name.as_str()),
                "{id}: unknown environment variable {name}"
            );
        }
    }
    // Every HTTP function answers with the CORS origin of the template's parameter (a proxy
    // integration's response carries its own CORS headers).
    for (id, f) in functions(&t) {
        let is_api = f["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"] == "Api");
        let origin = &f["Properties"]["Environment"]["Variables"][env::ALLOWED_ORIGIN];
        if is_api {
            assert_eq!(origin, &serde_json::json!({"Ref": "AllowedOrigin"}), "{id}");
        } else {
            assert!(origin.is_null(), "{id} is not an HTTP function");
        }
    }
    let starter = &t["Resources"]["OrderStarterFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        starter[env::STATE_MACHINE_ARN],
        serde_json::json!({"Ref": "OrderStateMachine"})
    );
}

#[test]
fn api_routes_and_their_authorization() {
    let t = load();
    let mut routes = BTreeSet::new();
    for (id, f) in functions(&t) {
        for (_, event) in f["Properties"]["Events"].as_object().into_iter().flatten() {
            if event["Type"] != "Api" {
                continue;
            }
            let p = &event["Properties"];
            assert_eq!(
                p["RestApiId"],
                serde_json::json!({"Ref": "ShopApi"}),
                "{id}"
            );
            let protected = p["Auth"]["Authorizer"] == "CognitoAuthorizer";
            routes.insert((
                p["Method"].as_str().unwrap().to_uppercase(),
                p["Path"].as_str().unwrap().to_string(),
                protected,
            ));
        }
    }
    let expected: BTreeSet<(String, String, bool)> = [
        ("POST", "/auth", false),
        ("GET", "/products", false),
        ("GET", "/products/{id}", false),
        ("GET", "/products/upload", true),
        ("POST", "/products", true),
        ("PUT", "/products/{id}", true),
        ("DELETE", "/products/{id}", true),
        ("POST", "/products/{id}/stock", true),
        ("POST", "/orders", true),
        ("GET", "/orders/{orderId}", true),
        ("GET", "/orders", true),
    ]
    .into_iter()
    .map(|(m, p, a)| (m.to_string(), p.to_string(), a))
    .collect();
    assert_eq!(routes, expected);
}

#[test]
fn order_queue_redrives_and_outlasts_the_starter() {
    let t = load();
    let queue = &t["Resources"]["OrderQueue"]["Properties"];
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"], 5);
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        serde_json::json!({"Fn::GetAtt": ["OrderDlq", "Arn"]})
    );
    // Encrypted with the AWS managed key: its producer and consumer may use it through SQS.
    assert_eq!(queue["KmsMasterKeyId"], "alias/aws/sqs");
    assert_eq!(
        t["Resources"]["OrderDlq"]["Properties"]["KmsMasterKeyId"],
        "alias/aws/sqs"
    );
    let via_sqs = serde_json::json!({"Fn::Sub": "sqs.${AWS::Region}.${AWS::URLSuffix}"});
    for (id, action) in [
        ("OrderEntryFunction", "kms:GenerateDataKey"),
        ("OrderStarterFunction", "kms:Decrypt"),
    ] {
        let policies = &t["Resources"][id]["Properties"]["Policies"];
        assert!(
            statements(policies).iter().any(|s| {
                as_list(&s["Action"]).iter().any(|a| *a == action)
                    && s["Condition"]["StringEquals"]["kms:ViaService"] == via_sqs
            }),
            "{id} may not {action} through SQS"
        );
    }
    let starter = &t["Resources"]["OrderStarterFunction"]["Properties"];
    let timeout = starter["Timeout"].as_u64().unwrap();
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
    let event = &starter["Events"]["OrderQueue"];
    assert_eq!(event["Type"], "SQS");
    assert_eq!(
        event["Properties"]["Queue"],
        serde_json::json!({"Fn::GetAtt": ["OrderQueue", "Arn"]})
    );
    assert_eq!(
        event["Properties"]["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
}

#[test]
fn outputs_name_every_resource_a_client_needs() {
    let t = load();
    let outputs: BTreeSet<&str> = t["Outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for name in [
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "ProductsTableName",
        "OrdersTableName",
        "OrderQueueUrl",
        "OrderDlqUrl",
        "OrderTopicArn",
        "ImagesBucketName",
        "StateMachineArn",
    ] {
        assert!(outputs.contains(name), "missing output {name}");
    }
}

#[test]
fn catalog_reads_are_cached_in_staging_and_prod_keyed_by_their_parameters() {
    let t = load();
    for (stage, cached) in [("dev", false), ("staging", true), ("prod", true)] {
        let stack = Stack::new(&t, &[("Stage", stage)]);
        let p = &t["Resources"]["ShopApi"]["Properties"];
        let api = stack
            .resolve(&serde_json::json!({
                "CacheClusterEnabled": p["CacheClusterEnabled"],
                "CacheClusterSize": p["CacheClusterSize"],
                "MethodSettings": p["MethodSettings"],
            }))
            .unwrap();
        assert_eq!(api["CacheClusterEnabled"], cached, "{stage}");
        assert_eq!(api["CacheClusterSize"].is_string(), cached, "{stage}");
        let mut cached_methods = BTreeSet::new();
        for setting in as_list(&api["MethodSettings"]) {
            let key = (
                setting["ResourcePath"].as_str().unwrap(),
                setting["HttpMethod"].as_str().unwrap(),
            );
            if key == ("/*", "*") {
                // With a cache cluster API Gateway would cache every GET, the per-user
                // GET /orders, GET /orders/{orderId} and GET /products/upload included.
                assert_eq!(setting["CachingEnabled"], false, "{stage}");
                continue;
            }
            // A method's own settings replace the stage-wide ones: keep its throttling.
            assert_eq!(
                setting["ThrottlingRateLimit"],
                as_list(&api["MethodSettings"])[0]["ThrottlingRateLimit"]
            );
            if setting["CachingEnabled"] == true {
                assert_eq!(setting["CacheDataEncrypted"], true, "{stage} {key:?}");
                // A parameter resolves to its text, as CloudFormation passes it.
                let ttl: u64 = local_stack::cfn::scalar_text(&setting["CacheTtlInSeconds"])
                    .and_then(|s| s.parse().ok())
                    .expect("CacheTtlInSeconds");
                assert!(ttl <= 3600, "API Gateway's largest TTL");
                cached_methods.insert(key);
            }
        }
        let expected: BTreeSet<(&str, &str)> = if cached {
            [("/~1products", "GET"), ("/~1products~1{id}", "GET")].into()
        } else {
            BTreeSet::new()
        };
        assert_eq!(cached_methods, expected, "{stage}");
    }
    // The cache key holds every parameter that changes the answer: the listing's query
    // parameters (api/src/handlers/products.rs reads category, limit and cursor) and the id.
    let events = &t["Resources"]["GetProductsFunction"]["Properties"]["Events"];
    let key_of = |event: &str| -> BTreeSet<String> {
        as_list(&events[event]["Properties"]["RequestParameters"])
            .into_iter()
            .flat_map(|p| p.as_object().unwrap().iter())
            .filter(|(_, spec)| spec["Caching"] == true)
            .map(|(name, _)| name.clone())
            .collect()
    };
    assert_eq!(
        key_of("ListProducts"),
        [
            "method.request.querystring.category",
            "method.request.querystring.limit",
            "method.request.querystring.cursor"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        key_of("GetProduct"),
        ["method.request.path.id".to_string()].into()
    );
}

#[test]
fn images_are_versioned_logged_and_old_versions_expire() {
    let t = load();
    let images = &t["Resources"]["ImagesBucket"]["Properties"];
    assert_eq!(images["VersioningConfiguration"]["Status"], "Enabled");
    let rules = as_list(&images["LifecycleConfiguration"]["Rules"]);
    assert!(rules
        .iter()
        .any(|r| r["NoncurrentVersionExpiration"]["NoncurrentDays"].is_u64()));
    assert_eq!(
        images["LoggingConfiguration"]["DestinationBucketName"],
        serde_json::json!({"Ref": "AccessLogsBucket"})
    );
    let logs = &t["Resources"]["AccessLogsBucket"]["Properties"];
    // Access logs expire with the stage's other logs.
    assert_eq!(
        as_list(&logs["LifecycleConfiguration"]["Rules"])[0]["ExpirationInDays"],
        serde_json::json!({"Fn::FindInMap": ["StageSettings", {"Ref": "Stage"}, "LogRetentionDays"]})
    );
}
