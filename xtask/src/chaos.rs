//! `cargo xtask chaos`: bounded fault injection against the local stack on loopback. While a
//! client streams orders, it takes the emulator away (connections reset and refused), makes a
//! step fail transiently, lose its answer after doing its work, then fail for a whole window,
//! kills the engine with SIGKILL mid-execution and restarts it on its state directory, and puts
//! poison messages on the order queue. After draining it tallies every accepted order: final or
//! in the DLQ, none lost, none duplicated, no stock oversold. Everything stops by itself.

pub mod client;
pub mod faults;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use steps::{
    NotifyError, NotifyOrder, PaymentError, PersistError, PersistOrder, ProcessPayment,
    ValidateError, ValidateOrder,
};
use workflow_dsl::step::Step;
use workflow_dsl::typed::StepErrors;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shop_model::products as product_attr;

use crate::tally::{self, AcceptedOrder};
use client::{Counters, Outcome};
use faults::{Faults, Rule, When};
use local_stack::client::ShopClient;
use local_stack::emulator::free_port;
use local_stack::{self as dev, LocalStack};

/// `cargo xtask chaos` options; unset values take the full or `--short` defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// The CI form: fewer orders and shorter faults (about a minute once built).
    #[arg(long)]
    pub short: bool,
    /// Orders per second sent by the client.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Orders sent in all.
    #[arg(long)]
    pub orders: Option<usize>,
    /// Seconds the emulator is unreachable.
    #[arg(long)]
    pub outage_secs: Option<f64>,
    /// Seconds the permanent step fault lasts.
    #[arg(long)]
    pub permanent_secs: Option<f64>,
    /// Longest wait, after the stream, for every order to reach a final state.
    #[arg(long)]
    pub drain_secs: Option<f64>,
    /// Directory of the run's stack, logs and engine state (default: target/chaos).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

impl Options {
    /// The CI form.
    pub fn short() -> Self {
        Options {
            short: true,
            ..Options::default()
        }
    }

    fn plan(&self, root: &Path) -> Plan {
        let (rate, orders, outage, stall, permanent, drain) = if self.short {
            (4.0, 100, 3.0, 2.0, 5.0, 45.0)
        } else {
            (4.0, 240, 4.0, 3.0, 8.0, 90.0)
        };
        Plan {
            rate: self.rate.unwrap_or(rate).clamp(0.2, 50.0),
            orders: self.orders.unwrap_or(orders).max(10),
            outage: Duration::from_secs_f64(self.outage_secs.unwrap_or(outage).clamp(0.5, 30.0)),
            stall: Duration::from_secs_f64(stall),
            permanent: Duration::from_secs_f64(
                self.permanent_secs.unwrap_or(permanent).clamp(0.5, 60.0),
            ),
            drain: Duration::from_secs_f64(self.drain_secs.unwrap_or(drain).clamp(5.0, 600.0)),
            dir: self
                .dir
                .clone()
                .unwrap_or_else(|| root.join("target").join("chaos")),
            users: 2,
            products: 3,
            poison: 3,
            visibility_timeout: 2,
        }
    }
}

/// The resolved settings of a run.
#[derive(Debug, Clone)]
struct Plan {
    rate: f64,
    orders: usize,
    outage: Duration,
    stall: Duration,
    permanent: Duration,
    drain: Duration,
    dir: PathBuf,
    users: usize,
    products: usize,
    poison: usize,
    /// The order queue's visibility timeout for the run (seconds), so that SQS redrives a
    /// message to the DLQ after `maxReceiveCount` receives within the run.
    visibility_timeout: i32,
}

impl Plan {
    fn stream_time(&self) -> Duration {
        Duration::from_secs_f64(self.orders as f64 / self.rate)
    }

    /// When a phase starts, as a fraction of the stream's duration.
    fn at(&self, fraction: f64) -> Duration {
        self.stream_time().mul_f64(fraction)
    }
}

/// How long the engine stays dead before its restart.
const ENGINE_DOWN: Duration = Duration::from_secs(2);

/// The phases, in order; index 0 is the quiet start.
const PHASES: [&str; 8] = [
    "steady",
    "emulator outage",
    "emulator stall",
    "transient throttling",
    "lost step answers (when: after)",
    "permanent step failure",
    "engine kill -9 + restart",
    "poison messages",
];

/// One line per phase of what was done and what happened.
#[derive(Debug, Default)]
struct Report {
    lines: BTreeMap<usize, Vec<String>>,
    /// Hard failures found by the run itself (beyond the tally).
    problems: Vec<String>,
}

impl Report {
    fn note(&mut self, phase: usize, line: impl Into<String>) {
        self.lines.entry(phase).or_default().push(line.into());
    }
}

/// Runs the chaos scenario; `Ok(true)` when nothing was lost, duplicated or oversold and the
/// poison messages ended in the DLQ.
pub fn run(root: &Path, options: &Options) -> Result<bool> {
    let plan = options.plan(root);
    std::fs::create_dir_all(&plan.dir)?;
    let _lock = local_stack::lock::Lock::acquire(&plan.dir)?;
    let state_dir = plan.dir.join("engine-state");
    let _ = std::fs::remove_dir_all(&state_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Ctrl-C, SIGTERM, SIGHUP: the handler stops the emulator and exits; the engine child
    // follows through its parent-death signal (no tokio signal handler: it would outlive the run
    // when `cargo xtask test` calls this in process).
    local_stack::process::install_signal_handlers();
    let result = runtime.block_on(run_async(root, &plan, &state_dir));
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Logs of the stack's own tracing (starter, gateway) into a file of the run directory.
fn log_to_file(path: &Path) -> Result<()> {
    let file = std::fs::File::create(path)?;
    let filter = tracing_subscriber::EnvFilter::new(
        "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn",
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}

async fn run_async(root: &Path, plan: &Plan, state_dir: &Path) -> Result<bool> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let options = dev::Options {
        dir: plan.dir.clone(),
        aws_port: free_port()?,
        api_port: free_port()?,
        sfn_port: free_port()?,
        stage: "dev".into(),
        no_workflow: false,
    };
    let extras = dev::Extras {
        proxy: true,
        engine_state_dir: Some(state_dir.to_path_buf()),
        engine_fault_injection: true,
        engine_log: Some(plan.dir.join("engine.log")),
    };
    let _ = std::fs::remove_file(plan.dir.join("engine.log"));
    let mut stack = LocalStack::start(root, &options, &extras).await?;
    log_to_file(&plan.dir.join("stack.log"))?;
    eprintln!(
        "chaos: stack up in {:.1} s (logs in {})",
        stack.started.elapsed().as_secs_f64(),
        plan.dir.display()
    );
    let result = scenario(&mut stack, plan, &run_id).await;
    stack.stop().await;
    result
}

/// Products for the run, with less stock than the stream's demand.
async fn create_products(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    run: &str,
    plan: &Plan,
) -> Result<BTreeMap<String, i64>> {
    let ids: Vec<String> = (0..plan.products)
        .map(|i| format!("chaos-{run}-{i}"))
        .collect();
    let demand = client::demand(plan.orders, &ids);
    let mut stock = BTreeMap::new();
    for id in &ids {
        // About 60 % of the demand: the last orders of each product must fail OutOfStock.
        let units = (demand[id] as f64 * 0.6).ceil() as i64;
        dynamodb
            .put_item()
            .table_name(table)
            .item(product_attr::ID, AttributeValue::S(id.clone()))
            .item(
                product_attr::NAME,
                AttributeValue::S("Chaos test item".into()),
            )
            .item(
                product_attr::DESCRIPTION,
                AttributeValue::S("fault-injection run product".into()),
            )
            .item(product_attr::CATEGORY, AttributeValue::S("chaos".into()))
            .item(product_attr::PRICE_CENTS, AttributeValue::N("500".into()))
            .item(product_attr::CURRENCY, AttributeValue::S("USD".into()))
            .item(product_attr::STOCK, AttributeValue::N(units.to_string()))
            .send()
            .await
            .with_context(|| format!("creating product {id}"))?;
        stock.insert(id.clone(), units);
    }
    Ok(stock)
}

/// A message of the DLQ.
#[derive(Debug, Clone)]
struct DlqMessage {
    body: String,
    receive_count: u64,
}

/// Every message of the order DLQ, read and made visible again at once
/// (`ChangeMessageVisibility` to 0) so that later readers see them too.
async fn read_dlq(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<DlqMessage>> {
    let mut messages = Vec::new();
    let mut handles = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .wait_time_seconds(0)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .context("reading the order DLQ")?;
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let receive_count = message
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            messages.push(DlqMessage {
                body: message.body().unwrap_or_default().to_string(),
                receive_count,
            });
            if let Some(handle) = message.receipt_handle() {
                handles.push(handle.to_string());
            }
        }
    }
    for handle in handles {
        let _ = sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
    Ok(messages)
}

/// Why the starter refuses a DLQ message, by the same parse it does.
fn dlq_reason(body: &str) -> String {
    match serde_json::from_str::<shop_model::OrderMessage>(body) {
        Err(error) => format!("not an order message ({})", error.classify_name()),
        Ok(message) if message.order_id.trim().is_empty() => "order message without orderId".into(),
        Ok(message) => format!("order {} never started", message.order_id),
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Io => "unreadable",
        }
    }
}

/// The poison bodies: not JSON, JSON of the wrong shape, an order message without an order id.
fn poison_bodies(run: &str, n: usize) -> Vec<String> {
    let marker = format!("chaos-poison-{run}");
    let all = [
        format!("{marker}: this is not JSON {{"),
        json!({"marker": marker, "orderId": 42, "items": "none"}).to_string(),
        json!({
            "orderId": "",
            "userSub": marker,
            "items": [{"productId": "x", "quantity": 1}],
            "totalCents": 0,
            "currency": "USD",
            "createdAt": "2026-01-01T00:00:00.000Z"
        })
        .to_string(),
    ];
    all.into_iter().cycle().take(n).collect()
}

async fn scenario(stack: &mut LocalStack, plan: &Plan, run: &str) -> Result<bool> {
    let outputs = Value::Object(stack.outputs.clone());
    // Looking behind the system goes to moto directly, not through the fault proxy.
    let direct = dev::Clients::new(&stack.moto_endpoint).await;
    let queue_url = stack.output("OrderQueueUrl").to_string();
    let dlq_url = stack.output("OrderDlqUrl").to_string();
    let sfn_endpoint = stack.output("StepFunctionsEndpoint").to_string();
    let machine_arn = stack.output("StateMachineArn").to_string();
    let sfn = asl_engine::client::local_client(
        aws_sdk_sfn::config::Builder::from(&direct.config),
        &sfn_endpoint,
    );

    // SQS moves a message to the DLQ on its receive after `maxReceiveCount` (5) failed ones;
    // with the template's 180 s visibility timeout that takes 15 minutes, so the run uses a
    // short one (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
    direct
        .sqs
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            plan.visibility_timeout.to_string(),
        )
        .send()
        .await
        .context("shortening the order queue's visibility timeout")?;

    let initial_stock = create_products(
        &direct.dynamodb,
        stack.output("ProductsTableName"),
        run,
        plan,
    )
    .await?;
    let products: Vec<String> = initial_stock.keys().cloned().collect();
    let api = ShopClient::new(stack.output("ApiUrl"))?;
    let mut tokens = Vec::new();
    for n in 0..plan.users {
        tokens.push(client::new_user(&api, run, n).await?);
    }
    let demand: u64 = client::demand(plan.orders, &products).values().sum();
    let stock_total: i64 = initial_stock.values().sum();
    println!();
    println!(
        "chaos: {} orders at {}/s (~{:.0} s), {} users, {} test products with {} units in stock for {} units ordered",
        plan.orders,
        plan.rate,
        plan.stream_time().as_secs_f64(),
        plan.users,
        plan.products,
        stock_total,
        demand
    );
    println!(
        "chaos: emulator outage = a loopback proxy between every client (API handlers, starter, engine) and moto resets \
         all open connections and refuses new ones for {:.0} s; moto keeps its in-memory state, as AWS keeps its data \
         through an outage. Order queue visibility timeout {} s for this run (template: 180 s).",
        plan.outage.as_secs_f64(),
        plan.visibility_timeout
    );

    let counters = Arc::new(Counters::new(PHASES.len()));
    // The starter's counters when each phase began.
    let starter = Arc::clone(&stack.poller_stats);
    let mut marks: Vec<(usize, [u64; 5])> = vec![(0, starter.snapshot())];
    let stream_started = Instant::now();
    let stream = tokio::spawn(client::stream(
        api.clone(),
        tokens.clone(),
        products.clone(),
        plan.orders,
        plan.rate,
        // Long enough to outlast every fault of the run.
        plan.stream_time() + plan.drain,
        Arc::clone(&counters),
    ));

    let mut report = Report::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let faults = Faults::new(http, &sfn_endpoint);
    let poison = poison_bodies(run, plan.poison);
    let mut running_at_kill: Vec<String>;
    // (phase, rule) in the order they were added, as GET /_local/faults lists them.
    let mut injected: Vec<(usize, Rule)> = Vec::new();

    let until = |fraction: f64| {
        let at = stream_started + plan.at(fraction);
        tokio::time::sleep_until(at.into())
    };

    // 1. Emulator outage: connections reset, new ones refused.
    until(0.08).await;
    counters.set_phase(1);
    marks.push((1, starter.snapshot()));
    let proxy = stack.proxy.as_ref().context("the stack has no proxy")?;
    let before = proxy.stats();
    proxy.outage(plan.outage).await;
    let after = proxy.stats();
    report.note(
        1,
        format!(
            "{:.0} s without the emulator: {} open connection(s) reset, new ones refused",
            plan.outage.as_secs_f64(),
            after.reset - before.reset
        ),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 2. Emulator stall: nothing moves, nothing is refused (as if moto were SIGSTOPped).
    until(0.22).await;
    counters.set_phase(2);
    marks.push((2, starter.snapshot()));
    proxy.stall(plan.stall).await;
    report.note(
        2,
        format!(
            "{:.0} s of silence from the emulator: connections held open, nothing forwarded or accepted (what clients see of a SIGSTOPped process)",
            plan.stall.as_secs_f64()
        ),
    );

    // 3. Transient throttling, absorbed by the Retry of the Lambda service errors.
    until(0.30).await;
    counters.set_phase(3);
    marks.push((3, starter.snapshot()));
    let rule = Rule {
        function: ProcessPayment::NAME.into(),
        error: "Lambda.TooManyRequestsException".into(),
        cause: Some("injected: throttled".into()),
        count: Some(3),
        when: Some(When::Before),
    };
    faults.add(&rule).await?;
    report.note(
            3,
            "process-payment throws Lambda.TooManyRequestsException on its next 3 calls (before the step runs)",
        );
    injected.push((3, rule));

    // 4. Lost answers: the step does its work, then the engine sees an error and retries.
    until(0.40).await;
    counters.set_phase(4);
    marks.push((4, starter.snapshot()));
    for (function, count) in [(PersistOrder::NAME, 2), (ProcessPayment::NAME, 2)] {
        let rule = Rule {
            function: function.into(),
            error: "Lambda.ServiceException".into(),
            cause: Some("injected: answer lost after the step ran".into()),
            count: Some(count),
            when: Some(When::After),
        };
        faults.add(&rule).await?;
        report.note(
                4,
                format!(
                    "{function} answers Lambda.ServiceException on its next {count} calls, after doing its work"
                ),
            );
        injected.push((4, rule));
    }

    // 5. Permanent failure for a window: retries exhausted, orders end FAILED with the reason.
    until(0.48).await;
    counters.set_phase(5);
    marks.push((5, starter.snapshot()));
    let rule = Rule {
        function: ProcessPayment::NAME.into(),
        error: "Lambda.TooManyRequestsException".into(),
        cause: Some("injected: throttled for the whole window".into()),
        count: None,
        when: Some(When::Before),
    };
    faults.add(&rule).await?;
    injected.push((5, rule));
    report.note(
        5,
        format!(
            "process-payment throttled on every call for {:.0} s, then cleared",
            plan.permanent.as_secs_f64()
        ),
    );
    tokio::time::sleep(plan.permanent).await;
    let listed = faults.list().await?;
    faults.clear().await?;
    if listed.len() != injected.len() {
        report.problems.push(format!(
            "GET /_local/faults listed {} rules after {} were added",
            listed.len(),
            injected.len()
        ));
    }
    for (listed, (phase, rule)) in listed.iter().zip(&injected) {
        let expected = rule.count.map_or(String::new(), |c| format!(" of {c}"));
        report.note(
            *phase,
            format!(
                "  injected: {} {} ({}) x{}{expected}",
                listed.function, listed.error, listed.when, listed.injected
            ),
        );
        if rule.count.is_some_and(|c| listed.injected != c) {
            report.problems.push(format!(
                "the {} rule on {} fired {} times instead of {}",
                listed.error,
                listed.function,
                listed.injected,
                rule.count.unwrap_or_default()
            ));
        }
    }

    // 6. kill -9 of the engine mid-execution, restart on the same state directory.
    until(0.70).await;
    counters.set_phase(6);
    marks.push((6, starter.snapshot()));
    // Keep executions in their Retry backoff, so that the kill finds them RUNNING: a transient
    // error of each step (its error enum says which are), retried 5 times per state, so 4 per
    // step cannot fail an order.
    faults.clear().await?;
    let armed_errors = [
        (ValidateOrder::NAME, first_transient::<ValidateError>()),
        (ProcessPayment::NAME, first_transient::<PaymentError>()),
        (PersistOrder::NAME, first_transient::<PersistError>()),
        (NotifyOrder::NAME, first_transient::<NotifyError>()),
    ];
    for (function, error) in armed_errors {
        faults
            .add(&Rule {
                function: function.into(),
                error: error.into(),
                cause: Some("injected: transient failure before the kill".into()),
                count: Some(4),
                when: Some(When::Before),
            })
            .await?;
    }

    // Kill once 3 executions run; after 5 s once any runs; after 10 s regardless.
    let armed = Instant::now();
    loop {
        running_at_kill = running_executions(&sfn, &machine_arn)
            .await
            .unwrap_or_default();
        let waited = armed.elapsed();
        if running_at_kill.len() >= 3
            || (!running_at_kill.is_empty() && waited > Duration::from_secs(5))
            || waited > Duration::from_secs(10)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fired: u64 = faults.list().await?.iter().map(|r| r.injected).sum();
    report.note(
                6,
                format!(
                    "a transient error armed 4 times on each of {} so that executions wait in Retry at the kill; {fired} fired before it",
                    armed_errors.map(|(step, error)| format!("{step} ({error})")).join(", ")
                ),
            );

    let killed = Instant::now();
    stack.kill_engine().await?;
    tokio::time::sleep(ENGINE_DOWN).await;
    stack.restart_engine().await?;
    report.note(
            6,
            format!(
                "SIGKILL with {} executions RUNNING; restarted on the same --state-dir, serving again after {:.1} s",
                running_at_kill.len(),
                killed.elapsed().as_secs_f64()
            ),
        );

    // 7. Poison messages straight onto the order queue.
    until(0.85).await;
    counters.set_phase(7);
    marks.push((7, starter.snapshot()));
    for body in &poison {
        direct
            .sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .context("sending a poison message")?;
    }
    report.note(
        7,
        format!(
            "{} messages on the order queue: not JSON, wrong shape, order message without orderId",
            poison.len()
        ),
    );

    let outcome: Outcome = stream.await.context("the order stream panicked")?;
    let streamed = stream_started.elapsed();
    stack.check_alive()?;
    eprintln!(
        "chaos: stream done in {:.1} s ({} accepted); draining (at most {:.0} s)",
        streamed.as_secs_f64(),
        outcome.accepted.len(),
        plan.drain.as_secs_f64()
    );

    // Drain: every accepted order final, and the poison in the DLQ.
    let accepted: Vec<AcceptedOrder> = outcome
        .accepted
        .iter()
        .map(|s| s.accepted.clone())
        .collect();
    let drain_started = Instant::now();
    let deadline = drain_started + plan.drain;
    let still_open = tally::wait_final(&direct.config, &outputs, &accepted, deadline).await?;
    let marker = format!("chaos-poison-{run}");
    let mut dlq = read_dlq(&direct.sqs, &dlq_url).await?;
    while dlq.iter().filter(|m| m.body.contains(&marker)).count() < poison.len()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        dlq = read_dlq(&direct.sqs, &dlq_url).await?;
    }
    let drained = drain_started.elapsed();

    let tally = tally::tally(&direct.config, &outputs, &accepted, &initial_stock).await?;

    // Extra accounting of this run.
    let poison_in_dlq = dlq.iter().filter(|m| m.body.contains(&marker)).count();
    if poison_in_dlq < poison.len() {
        report.problems.push(format!(
            "{} of {} poison messages are not in the DLQ",
            poison.len() - poison_in_dlq,
            poison.len()
        ));
    }
    for m in dlq.iter().filter(|m| m.body.contains(&marker)) {
        report.note(
            7,
            format!(
                "  in DLQ after {} receives: {}",
                m.receive_count,
                dlq_reason(&m.body)
            ),
        );
    }
    let order_ids: BTreeSet<&str> = accepted.iter().map(|a| a.order_id.as_str()).collect();
    for m in &dlq {
        if let Ok(message) = serde_json::from_str::<shop_model::OrderMessage>(&m.body) {
            if order_ids.contains(message.order_id.as_str()) {
                report.note(
                    0,
                    format!(
                        "order {} in DLQ after {} receives: its execution was never started",
                        message.order_id, m.receive_count
                    ),
                );
            }
        }
    }
    let rows = tally::scan_orders(&direct.config, &outputs).await?;
    let by_id: BTreeMap<&str, &tally::OrderRow> =
        rows.iter().map(|r| (r.order_id.as_str(), r)).collect();
    let declined_completed = outcome
        .accepted
        .iter()
        .filter(|s| s.declined_token)
        .filter(|s| {
            by_id
                .get(s.accepted.order_id.as_str())
                .is_some_and(|r| r.status == "COMPLETED")
        })
        .count();
    if declined_completed > 0 {
        report.problems.push(format!(
            "{declined_completed} orders placed with the declined token COMPLETED"
        ));
    }
    if !outcome.rejected.is_empty() {
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for (status, _) in &outcome.rejected {
            *by_status.entry(*status).or_default() += 1;
        }
        report.problems.push(format!(
            "valid orders rejected: {by_status:?} (first: {})",
            outcome.rejected[0].1
        ));
    }
    if outcome.unanswered > 0 {
        report.problems.push(format!(
            "{} orders still without a definitive answer when the client gave up",
            outcome.unanswered
        ));
    }
    let mut finals: BTreeMap<String, usize> = BTreeMap::new();
    for arn in &running_at_kill {
        let status = sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map(|d| match d.error() {
                Some(error) => format!("{} ({error})", d.status().as_str()),
                None => d.status().as_str().to_string(),
            })
            .unwrap_or_else(|e| {
                format!("unknown ({})", aws_sdk_sfn::error::DisplayErrorContext(&e))
            });
        *finals.entry(status).or_default() += 1;
    }
    let text: Vec<String> = finals.iter().map(|(s, n)| format!("{s} {n}")).collect();
    report.note(
        6,
        format!(
            "  the executions RUNNING at the kill ended: {}",
            if text.is_empty() {
                "none running".into()
            } else {
                text.join(", ")
            }
        ),
    );
    let unfinished: usize = finals
        .iter()
        .filter(|(s, _)| !(s.starts_with("SUCCEEDED") || s.starts_with("FAILED")))
        .map(|(_, n)| n)
        .sum();
    if unfinished > 0 {
        report.problems.push(format!(
            "{unfinished} executions RUNNING at the engine kill did not end SUCCEEDED or FAILED"
        ));
    }

    marks.push((PHASES.len(), starter.snapshot()));
    for pair in marks.windows(2) {
        let ((phase, from), (_, to)) = (pair[0], pair[1]);
        let d: Vec<u64> = to.iter().zip(from).map(|(a, b)| a - b).collect();
        if d[0] + d[2] + d[3] + d[4] > 0 {
            report.note(
                phase,
                format!(
                    "  starter: {} records, {} left on the queue for redelivery, {} failed batches, {} failed receives, {} failed deletes",
                    d[1], d[2], d[3], d[0], d[4]
                ),
            );
        }
    }
    for (phase, _) in PHASES.iter().enumerate() {
        let retried = Counters::get(&counters.retried_5xx, phase);
        let transport = Counters::get(&counters.transport_errors, phase);
        let after = Counters::get(&counters.accepted_after_retry, phase);
        let slowest = counters.slowest[phase].load(std::sync::atomic::Ordering::SeqCst);
        let mut line = format!("  client: slowest 202 after {slowest} ms");
        if retried + transport + after > 0 {
            line.push_str(&format!(
                "; {retried} answers 5xx/429 and {transport} transport errors retried with the same key, {after} orders accepted after retrying"
            ));
        }
        report.note(phase, line);
    }

    println!();
    println!(
        "faults (stream {:.1} s, drain {:.1} s):",
        streamed.as_secs_f64(),
        drained.as_secs_f64()
    );
    for (phase, name) in PHASES.iter().enumerate() {
        if let Some(lines) = report.lines.get(&phase) {
            println!("  {name}");
            for line in lines {
                println!("    {line}");
            }
        }
    }
    println!(
        "  replays: {} accepted answers were idempotent replays of an earlier attempt",
        outcome.replayed
    );
    if still_open > 0 {
        println!("  {still_open} accepted orders were not final when the drain ended");
    }
    println!();
    println!("{tally}");
    let dlq_total = dlq.len();
    println!(
        "  DLQ messages      {dlq_total:>8} ({poison_in_dlq} of {} poison)",
        poison.len()
    );
    let clean = tally.is_clean() && report.problems.is_empty();
    for problem in &report.problems {
        println!("  PROBLEM: {problem}");
    }
    println!(
        "chaos: {} (lost {}, duplicated {}, oversold products {}, poison in DLQ {}/{})",
        if clean { "PASS" } else { "FAIL" },
        tally.lost,
        tally.duplicated,
        tally.oversold_products.len(),
        poison_in_dlq,
        poison.len()
    );
    Ok(clean)
}

async fn running_executions(sfn: &aws_sdk_sfn::Client, machine: &str) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(machine)
            .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
            .set_next_token(token)
            .send()
            .await
            .context("ListExecutions")?;
        arns.extend(
            page.executions()
                .iter()
                .map(|e| e.execution_arn().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(arns);
        }
    }
}

/// The name of the first error the step error enum `E` declares transient.
fn first_transient<E: StepErrors>() -> &'static str {
    E::transient()
        .first()
        .map(StepErrors::name)
        .expect("every order step has transient errors")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_is_refused_by_the_starter_parse() {
        for body in poison_bodies("x", 3) {
            let reason = dlq_reason(&body);
            assert!(!reason.contains("never started"), "{body}: {reason}");
        }
        assert!(dlq_reason("{").contains("not JSON"));
    }

    #[test]
    fn short_plan_is_short() {
        let plan = Options::short().plan(Path::new("/r"));
        assert!(plan.stream_time() <= Duration::from_secs(30));
        assert_eq!(plan.dir, Path::new("/r/target/chaos"));
    }
}
