//! The stack itself: starts the emulator with the template's resources, the seed, the engine,
//! the gateway and the starter, in order, and stops them ([`LocalStack`], [`run`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use shop_model::env;

use crate::emulator::Moto;
use crate::{authorizer, cfn, engine, gateway, lock, poller, proxy, resources, seed};
use crate::{template, tools, workspace};

/// The default ports (`--aws-port`, `--api-port`, `--sfn-port`).
pub const DEFAULT_AWS_PORT: u16 = 5000;
pub const DEFAULT_API_PORT: u16 = 3000;
pub const DEFAULT_SFN_PORT: u16 = 8083;

/// The logical ids in `template.yaml` the local stack wires together.
const API: &str = "ShopApi";
const USER_POOL: &str = "UserPool";
const USER_POOL_CLIENT: &str = "UserPoolClient";
const STAFF_GROUP: &str = "StaffGroup";
const STATE_MACHINE: &str = "OrderStateMachine";
const STARTER_FUNCTION: &str = "OrderStarterFunction";
const INTAKE_FUNCTION: &str = "ImageIntakeFunction";

/// What `cargo xtask dev` starts, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory of the lock, logs, resolved definitions and `outputs.json` (`.dev/`).
    pub dir: PathBuf,
    pub aws_port: u16,
    pub api_port: u16,
    pub sfn_port: u16,
    /// The `Stage` parameter.
    pub stage: String,
    /// Start without the Step Functions endpoint and the starter (orders stay PENDING).
    pub no_workflow: bool,
}

/// Extra settings for fault-injection runs (`cargo xtask chaos`); all off for `cargo xtask dev`.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Put a [`proxy::FaultProxy`] in front of the emulator: every client of the stack (API
    /// handlers, starter, engine) connects to the proxy on `aws_port`; moto listens on a free port.
    pub proxy: bool,
    /// `workflow serve --state-dir DIR` (executions journaled, resumed after a restart).
    pub engine_state_dir: Option<PathBuf>,
    /// `workflow serve --fault-injection` (the `/_local/faults` routes).
    pub engine_fault_injection: bool,
    /// Append the engine's output to this file instead of printing it.
    pub engine_log: Option<PathBuf>,
}

/// SDK clients for the emulator, built once.
pub struct Clients {
    pub config: aws_config::SdkConfig,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Clients of `endpoint` with the emulator's test credentials.
    pub async fn new(endpoint: &str) -> Self {
        let config = crate::emulator::sdk_config(endpoint, "xtask-dev").await;
        // moto serves S3 on loopback only with path-style addressing.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        Clients {
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            s3,
            config,
        }
    }
}

/// Progress lines: `[3/8] creating resources ... done (0.4 s)`.
struct Progress {
    step: usize,
    total: usize,
    started: Instant,
    step_started: Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            step: 0,
            total,
            started: Instant::now(),
            step_started: Instant::now(),
        }
    }

    fn start(&mut self, what: &str) {
        self.step += 1;
        self.step_started = Instant::now();
        eprintln!("[{}/{}] {what}", self.step, self.total);
    }

    fn done(&self, detail: &str) {
        eprintln!(
            "      {detail} ({:.1} s)",
            self.step_started.elapsed().as_secs_f64()
        );
    }
}

/// The environment variables a set of functions declare (`Environment.Variables`), resolved.
fn function_env(stack: &cfn::Stack<'_>, functions: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for id in functions {
        let resource = stack
            .resource(id)
            .with_context(|| format!("template.yaml has no function {id}"))?;
        for (name, value) in resource["Properties"]["Environment"]["Variables"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let value = stack
                .resolve_string(value)
                .with_context(|| format!("{id}: environment variable {name}"))?;
            vars.insert(name.clone(), value);
        }
    }
    Ok(vars)
}

fn var<'a>(vars: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str> {
    vars.get(name)
        .map(String::as_str)
        .with_context(|| format!("no function of the template sets {name}"))
}

/// The state machine definition with its `DefinitionSubstitutions` resolved, as
/// CloudFormation substitutes them (`${Name}` in the definition's strings).
fn resolved_definition(
    root: &Path,
    stack: &cfn::Stack<'_>,
    dir: &Path,
) -> Result<(String, PathBuf)> {
    let resource = stack
        .resource(STATE_MACHINE)
        .with_context(|| format!("template.yaml has no {STATE_MACHINE}"))?;
    let props = &resource["Properties"];
    let name = stack.resolve_string(&props["Name"])?;
    let uri = props["DefinitionUri"]
        .as_str()
        .context("the state machine has no DefinitionUri file")?;
    let path = root.join(uri);
    let mut text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (emit it with `cargo run -p workflow`)",
            path.display()
        )
    })?;
    for (key, value) in props["DefinitionSubstitutions"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let value = stack.resolve_string(value)?;
        text = text.replace(&format!("${{{key}}}"), &value);
    }
    let document: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON after substitution", path.display()))?;
    let left = template::placeholders(&document);
    if !left.is_empty() {
        bail!(
            "{} still has placeholders without a DefinitionSubstitution: {left:?}",
            path.display()
        );
    }
    let out = dir.join(path.file_name().context("definition file name")?);
    std::fs::write(&out, text)?;
    Ok((name, out))
}

/// The functions whose ARNs the state machine's `DefinitionSubstitutions` name.
fn task_functions(stack: &cfn::Stack<'_>) -> Vec<String> {
    stack
        .resource(STATE_MACHINE)
        .map(|r| {
            r["Properties"]["DefinitionSubstitutions"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v["Fn::GetAtt"][0].as_str().or(v["Ref"].as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The functions behind the API's routes.
fn api_functions(spec: &gateway::GatewaySpec) -> Vec<String> {
    let mut ids: Vec<String> = spec.routes.iter().map(|r| r.function.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn test_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", cfn::REGION),
        ("AWS_DEFAULT_REGION", cfn::REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
}

/// Runs `cargo xtask dev` until Ctrl-C (or SIGTERM/SIGHUP).
pub fn run(root: &Path, options: &Options) -> crate::Result<()> {
    let _lock = lock::Lock::acquire(&options.dir)?;
    let outputs_path = options.dir.join("outputs.json");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let mut stack = LocalStack::start(root, options, &Extras::default()).await?;
        init_logging();
        print_ready(&stack.outputs, &outputs_path, stack.started.elapsed());
        // Run until a signal, or until a process we depend on dies.
        let outcome = wait_for_stop(&mut stack).await;
        eprintln!("\nstopping the local stack ...");
        stack.stop().await;
        eprintln!("stopped.");
        outcome
    });
    let _ = std::fs::remove_file(&outputs_path);
    // Do not wait for tasks blocked in long polls.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// How to (re)start the engine child.
struct EngineSpec {
    bin: PathBuf,
    port: u16,
    definitions: Vec<(String, PathBuf)>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    log: Option<PathBuf>,
}

impl EngineSpec {
    async fn start(&self) -> Result<engine::Engine> {
        engine::start(
            &self.bin,
            self.port,
            &self.definitions,
            &self.env,
            &self.args,
            self.log.as_deref(),
        )
        .await
    }
}

/// A running local stack (started by [`LocalStack::start`]; [`LocalStack::stop`] or dropping it
/// stops every child).
pub struct LocalStack {
    /// The resolved outputs, as written to `outputs.json` (`AwsEndpoint` is the endpoint the
    /// stack's own clients use: the proxy's when there is one).
    pub outputs: Map<String, Value>,
    /// moto itself, bypassing the proxy (for looking behind the system).
    pub moto_endpoint: String,
    /// The proxy in front of moto ([`Extras::proxy`]).
    pub proxy: Option<proxy::FaultProxy>,
    /// When the start began.
    pub started: Instant,
    /// What the SQS starter did so far.
    pub poller_stats: Arc<poller::PollerStats>,
    moto: Moto,
    engine_spec: Option<EngineSpec>,
    engine: Option<engine::Engine>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    poller: Option<tokio::task::JoinHandle<()>>,
    intake_poller: Option<tokio::task::JoinHandle<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl LocalStack {
    /// Starts everything and writes `outputs.json` into `options.dir` (the caller holds the lock).
    pub async fn start(
        root: &Path,
        options: &Options,
        extras: &Extras,
    ) -> crate::Result<LocalStack> {
        lock::check_port(options.aws_port, "AWS emulator", "--aws-port")?;
        lock::check_port(options.api_port, "API", "--api-port")?;
        if !options.no_workflow {
            lock::check_port(options.sfn_port, "Step Functions", "--sfn-port")?;
        }
        let outputs_path = options.dir.join("outputs.json");
        let _ = std::fs::remove_file(&outputs_path);
        Ok(start_stack(root, options, extras, &outputs_path).await?)
    }

    /// The `Outputs` value `key` (empty if absent).
    pub fn output(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The engine child's process id, if it runs.
    pub fn engine_pid(&self) -> Option<u32> {
        self.engine.as_ref().and_then(|e| e.child.id())
    }

    /// Kills the engine child with SIGKILL (no shutdown of any kind) and reaps it.
    pub async fn kill_engine(&mut self) -> Result<()> {
        if let Some(mut engine) = self.engine.take() {
            engine.child.start_kill().context("kill -9 of the engine")?;
            let _ = tokio::time::timeout(Duration::from_secs(5), engine.child.wait()).await;
        }
        Ok(())
    }

    /// Starts the engine again with the same arguments (same port, state directory, ...).
    pub async fn restart_engine(&mut self) -> Result<()> {
        self.kill_engine().await?;
        let spec = self
            .engine_spec
            .as_ref()
            .context("this stack runs without the engine")?;
        self.engine = Some(spec.start().await?);
        Ok(())
    }

    /// An error if moto or the engine exited on its own.
    pub fn check_alive(&mut self) -> crate::Result<()> {
        if !self.moto.is_running() {
            return Err(crate::Error::ChildExited {
                what: "the AWS emulator",
                status: "exited".into(),
            });
        }
        if let Some(engine) = self.engine.as_mut() {
            if let Ok(Some(status)) = engine.child.try_wait() {
                return Err(crate::Error::ChildExited {
                    what: "the Step Functions engine (`workflow serve`)",
                    status: status.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Stops the gateway, the starter, the engine and the emulator.
    pub async fn stop(&mut self) {
        let _ = self.stop_tx.send(true);
        self.kill_engine().await.ok();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
        }
        for poller in [self.poller.take(), self.intake_poller.take()]
            .into_iter()
            .flatten()
        {
            poller.abort();
        }
        self.proxy = None;
        self.moto.stop();
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(engine) = self.engine.as_mut() {
            let _ = engine.child.start_kill();
        }
        for poller in [self.poller.take(), self.intake_poller.take()]
            .into_iter()
            .flatten()
        {
            poller.abort();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.moto.stop();
    }
}

async fn start_stack(
    root: &Path,
    options: &Options,
    extras: &Extras,
    outputs_path: &Path,
) -> Result<LocalStack> {
    let total = if options.no_workflow { 6 } else { 8 };
    let mut progress = Progress::new(total);

    progress.start("tools: moto (AWS emulator)");
    let moto_server = tools::ensure_moto(root)?;
    progress.done(&format!(
        "{} (pinned {})",
        moto_server.display(),
        tools::MOTO.join(" ")
    ));

    let workflow_bin = if options.no_workflow {
        None
    } else {
        progress.start("building the Step Functions engine (cargo build -p workflow)");
        let bin = workspace::build_workflow(root)?;
        progress.done(&bin.display().to_string());
        Some(bin)
    };

    progress.start(&format!(
        "starting the AWS emulator on 127.0.0.1:{}",
        options.aws_port
    ));
    let moto_port = if extras.proxy {
        crate::emulator::free_port()?
    } else {
        options.aws_port
    };
    let moto = Moto::start_on(&moto_server, &options.dir.join("moto.log"), moto_port)?;
    let moto_endpoint = moto.endpoint();
    let (aws_endpoint, proxy) = if extras.proxy {
        let proxy = proxy::FaultProxy::start(
            options.aws_port,
            std::net::SocketAddr::from(([127, 0, 0, 1], moto_port)),
        )
        .await?;
        (
            format!("http://127.0.0.1:{}", options.aws_port),
            Some(proxy),
        )
    } else {
        (moto_endpoint.clone(), None)
    };
    progress.done(&format!(
        "{aws_endpoint}{} (log: {})",
        if extras.proxy {
            format!(" -> fault proxy -> {moto_endpoint}")
        } else {
            String::new()
        },
        options.dir.join("moto.log").display()
    ));

    progress.start("creating the resources of template.yaml");
    let template = template::load(&root.join("template.yaml"))?;
    let mut stack = cfn::Stack::new(&template, &[("Stage", options.stage.as_str())]);
    let clients = Clients::new(&aws_endpoint).await;
    let created = resources::create_all(&mut stack, &clients).await?;
    for (id, kind, physical) in &created {
        eprintln!("      {id:<18} {kind:<30} {physical}");
    }
    progress.done(&format!("{} resources", created.len()));

    progress.start("seeding sample products and images");
    let spec = gateway::GatewaySpec::from_template(&stack, API)?;
    let api_env = function_env(
        &stack,
        &api_functions(&spec)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )?;
    let products_table = var(&api_env, env::PRODUCTS_TABLE)?.to_string();
    let bucket = var(&api_env, env::IMAGES_BUCKET)?.to_string();
    let seeded = seed::seed(&clients, &products_table, &bucket).await?;
    let staff_group = stack.reference(STAFF_GROUP).with_context(|| {
        format!("template.yaml has no {STAFF_GROUP} (AWS::Cognito::UserPoolGroup)")
    })?;
    anyhow::ensure!(
        staff_group == api::http::STAFF_GROUP,
        "{STAFF_GROUP} is named {staff_group}, but the API checks for {}",
        api::http::STAFF_GROUP
    );
    let staff = seed::staff_user(&clients, &stack.reference(USER_POOL)?, &staff_group).await?;
    progress.done(&format!(
        "{seeded} products in {products_table}, images in s3://{bucket}/products/, \
         staff user {} in group {staff_group}",
        staff.email
    ));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The image intake, as its SQS event source mapping would run it.
    let intake_env = function_env(&stack, &[INTAKE_FUNCTION])?;
    let intake = poller::TakeInImages {
        catalog: api::aws::DynamoCatalog::new(
            clients.dynamodb.clone(),
            var(&intake_env, env::PRODUCTS_TABLE)?,
        ),
        objects: api::aws::S3Images::new(
            clients.s3.clone(),
            clients.config.credentials_provider(),
            var(&intake_env, env::IMAGES_BUCKET)?,
        ),
    };
    let (intake_config, _) = poller_config(&stack, INTAKE_FUNCTION)?;
    let intake_stats = Arc::new(poller::PollerStats::default());
    let intake_poller = {
        let (sqs, rx, stats) = (
            clients.sqs.clone(),
            stop_rx.clone(),
            Arc::clone(&intake_stats),
        );
        tokio::spawn(async move {
            poller::run(sqs, &intake, intake_config, rx, &stats).await;
        })
    };
    let mut engine = None;
    let mut engine_spec = None;
    let mut poller = None;
    let poller_stats = Arc::new(poller::PollerStats::default());
    let sfn_endpoint = format!("http://127.0.0.1:{}", options.sfn_port);
    if let Some(workflow_bin) = &workflow_bin {
        progress.start(&format!(
            "starting the Step Functions engine on 127.0.0.1:{}",
            options.sfn_port
        ));
        let (name, definition) = resolved_definition(root, &stack, &options.dir)?;
        let functions = task_functions(&stack);
        let mut child_env = test_env(&aws_endpoint);
        child_env.push(("RUST_LOG".into(), "info".into()));
        child_env.extend(function_env(
            &stack,
            &functions.iter().map(String::as_str).collect::<Vec<_>>(),
        )?);
        let mut args = Vec::new();
        if let Some(state_dir) = &extras.engine_state_dir {
            std::fs::create_dir_all(state_dir)?;
            args.push("--state-dir".to_string());
            args.push(state_dir.display().to_string());
        }
        if extras.engine_fault_injection {
            args.push("--fault-injection".to_string());
        }
        let spec = EngineSpec {
            bin: workflow_bin.clone(),
            port: options.sfn_port,
            definitions: vec![(name.clone(), definition)],
            env: child_env,
            args,
            log: extras.engine_log.clone(),
        };
        let started = spec.start().await?;
        engine_spec = Some(spec);
        let arn = engine::find_arn(&started.announced, &name).with_context(|| {
            format!(
                "`workflow serve` did not announce an ARN for {name}: {}",
                started.announced
            )
        })?;
        stack.insert(STATE_MACHINE, cfn::Physical::new(&arn).with("Name", name));
        engine = Some(started);
        progress.done(&arn);

        progress.start("starting the SQS starter (order queue -> StartExecution)");
        let starter_env = function_env(&stack, &[STARTER_FUNCTION])?;
        let state_machine_arn = var(&starter_env, env::STATE_MACHINE_ARN)?.to_string();
        let sfn = asl_engine::client::local_client(
            aws_sdk_sfn::config::Builder::from(&clients.config),
            &sfn_endpoint,
        );
        let starter = poller::StartExecutions(steps::aws::SfnStarter::new(sfn, state_machine_arn));
        let (config, queue_id) = poller_config(&stack, STARTER_FUNCTION)?;
        let batch_size = config.batch_size;
        let sqs = clients.sqs.clone();
        let rx = stop_rx.clone();
        let stats = Arc::clone(&poller_stats);
        poller = Some(tokio::spawn(async move {
            poller::run(sqs, &starter, config, rx, &stats).await;
        }));
        progress.done(&format!("polling {queue_id} in batches of {batch_size}"));
    }

    progress.start(&format!(
        "starting the API Gateway on 127.0.0.1:{}",
        options.api_port
    ));
    let pool_id = stack.reference(USER_POOL)?;
    let client_id = stack.reference(USER_POOL_CLIENT)?;
    let issuer = format!(
        "https://cognito-idp.{}.amazonaws.com/{pool_id}",
        cfn::REGION
    );
    let jwks_url = format!("{aws_endpoint}/{pool_id}/.well-known/jwks.json");
    let verifier = authorizer::CognitoVerifier::fetch(&issuer, vec![client_id.clone()], &jwks_url)
        .await
        .context("fetching the user pool's JWKS")?;
    let app = api::App {
        identity: api::aws::CognitoIdentity::new(
            clients.cognito.clone(),
            var(&api_env, env::USER_POOL_CLIENT_ID)?,
            Some(var(&api_env, env::USER_POOL_ID)?.to_string()),
        ),
        catalog: api::aws::DynamoCatalog::new(clients.dynamodb.clone(), &products_table),
        orders: api::aws::DynamoOrders::new(
            clients.dynamodb.clone(),
            var(&api_env, env::ORDERS_TABLE)?,
        ),
        queue: api::aws::SqsQueue::new(clients.sqs.clone(), var(&api_env, env::ORDER_QUEUE_URL)?),
        images: api::aws::S3Images::new(
            clients.s3.clone(),
            clients.config.credentials_provider(),
            &bucket,
        ),
        // Local stacks only: users are confirmed at sign-up (AUTO_CONFIRM_USERS=true).
        auth: api::AuthConfig { auto_confirm: true },
    };
    let stage = spec.stage.clone();
    let routes = spec.routes.len();
    let gateway = Arc::new(gateway::Gateway {
        spec,
        verifier,
        app: Arc::new(app),
        allowed_origin: api_env.get(env::ALLOWED_ORIGIN).cloned(),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.api_port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", options.api_port))?;
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, gateway::router(gateway))
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let api_url = format!("http://127.0.0.1:{}/{stage}", options.api_port);
    progress.done(&format!("{api_url} ({routes} routes)"));

    let mut outputs = outputs(
        &stack,
        &api_url,
        &aws_endpoint,
        (!options.no_workflow).then_some(sfn_endpoint.as_str()),
    )?;
    outputs.insert("StaffEmail".into(), json!(staff.email));
    outputs.insert("StaffPassword".into(), json!(staff.password));
    let tmp = outputs_path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&outputs)? + "\n")?;
    std::fs::rename(&tmp, outputs_path)?;
    Ok(LocalStack {
        outputs,
        moto_endpoint,
        proxy,
        started: progress.started,
        poller_stats,
        moto,
        engine_spec,
        engine,
        stop_tx,
        poller,
        intake_poller: Some(intake_poller),
        server: Some(server),
    })
}

/// The poller of a function's SQS event (its queue, `BatchSize`, and the queue's long-poll
/// wait), and the logical id of the queue.
fn poller_config(stack: &cfn::Stack<'_>, function: &str) -> Result<(poller::PollerConfig, String)> {
    let resource = stack
        .resource(function)
        .with_context(|| format!("template.yaml has no {function}"))?;
    let event = resource["Properties"]["Events"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .find(|event| event["Type"] == "SQS")
        .with_context(|| format!("{function} has no SQS event"))?;
    let queue_id = event["Properties"]["Queue"]["Fn::GetAtt"][0]
        .as_str()
        .with_context(|| format!("{function}'s SQS event names no queue of the template"))?
        .to_string();
    let batch_size = event["Properties"]["BatchSize"].as_i64().unwrap_or(10) as i32;
    let queue = stack
        .resources
        .get(&queue_id)
        .with_context(|| format!("{queue_id} was not created"))?;
    let wait_seconds = stack
        .resource(&queue_id)
        .and_then(|r| r["Properties"]["ReceiveMessageWaitTimeSeconds"].as_i64())
        .unwrap_or(20) as i32;
    let config = poller::PollerConfig {
        queue_url: queue.id.clone(),
        queue_arn: queue.attributes.get("Arn").cloned().unwrap_or_default(),
        batch_size,
        wait_seconds,
    };
    Ok((config, queue_id))
}

/// The template's Outputs, resolved for the local stack (the API URL is the local gateway's),
/// plus `AwsEndpoint` and `StepFunctionsEndpoint`.
fn outputs(
    stack: &cfn::Stack<'_>,
    api_url: &str,
    aws_endpoint: &str,
    sfn_endpoint: Option<&str>,
) -> Result<Map<String, Value>> {
    let template = stack.template();
    let api_ids: Vec<&String> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Api")
        .map(|(id, _)| id)
        .collect();
    let mut out = Map::new();
    for (key, output) in template["Outputs"].as_object().into_iter().flatten() {
        let text = output["Value"].to_string();
        let value = if api_ids
            .iter()
            .any(|id| text.contains(&format!("{{{id}}}")) || text.contains(&format!("\"{id}\"")))
        {
            api_url.to_string()
        } else {
            match stack.resolve_string(&output["Value"]) {
                Ok(v) => v,
                // The state machine without the engine (`--no-workflow`).
                Err(cfn::ResolveError::Pending(_)) => continue,
                Err(e) => return Err(e).with_context(|| format!("output {key}")),
            }
        };
        out.insert(key.clone(), Value::String(value));
    }
    out.insert("AwsEndpoint".into(), json!(aws_endpoint));
    if let Some(sfn) = sfn_endpoint {
        out.insert("StepFunctionsEndpoint".into(), json!(sfn));
    }
    Ok(out)
}

fn print_ready(outputs: &Map<String, Value>, path: &Path, elapsed: Duration) {
    let get = |k: &str| outputs.get(k).and_then(Value::as_str).unwrap_or("");
    println!();
    println!(
        "Local stack ready in {:.1} s. Outputs ({}):",
        elapsed.as_secs_f64(),
        path.display()
    );
    for (key, value) in outputs {
        println!("  {key:<24} {}", value.as_str().unwrap_or_default());
    }
    println!();
    println!("Try it (as a shopper):");
    println!("  API={}", get("ApiUrl"));
    println!("  curl -s $API/products");
    println!(
        "  curl -s -X POST $API/auth -H 'Content-Type: application/json' \\\n    -d '{{\"action\":\"register\",\"email\":\"me@example.com\",\"password\":\"Correct-Horse-42\"}}'"
    );
    println!(
        "  TOKEN=$(curl -s -X POST $API/auth -H 'Content-Type: application/json' \\\n    -d '{{\"action\":\"login\",\"email\":\"me@example.com\",\"password\":\"Correct-Horse-42\"}}' \\\n    | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"idToken\"])')"
    );
    println!(
        "  curl -s -X POST $API/orders -H \"Authorization: $TOKEN\" -H 'Content-Type: application/json' \\\n    -H \"Idempotency-Key: $(uuidgen)\" -d '{{\"items\":[{{\"productId\":\"mug-classic\",\"quantity\":2}}],\"paymentToken\":\"tok_visa\"}}'"
    );
    println!(
        "  curl -s $API/orders -H \"Authorization: $TOKEN\"   # my orders, newest first: PENDING, then COMPLETED"
    );
    println!();
    println!(
        "Staff (group admin): log in as {} with the password {} (StaffEmail/StaffPassword above);",
        get("StaffEmail"),
        get("StaffPassword")
    );
    println!("  its ID token may POST/PUT/DELETE /products and GET /products/upload (README: the shop's API).");
    println!();
    println!("Ctrl-C stops everything.");
}

async fn wait_for_stop(stack: &mut LocalStack) -> crate::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
            _ = tick.tick() => stack.check_alive()?,
        }
    }
}
