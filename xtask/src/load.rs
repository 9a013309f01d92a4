//! `cargo xtask load`: a bounded, open-loop load run against the local stack on loopback.
//!
//! Starts its own `cargo xtask dev` on free ports (or uses a running one with `--outputs`),
//! registers users, adds dedicated test products with a known large stock, then offers a fixed
//! rate of `GET /products` and `POST /orders` for a fixed time, never waiting for answers before
//! the next send. It prints per route sent / ok / errors / throughput / latency percentiles,
//! order end-to-end latency (202 → COMPLETED) and the [`crate::tally`] of every accepted order
//! (nothing lost, duplicated or oversold). `--saturation` offers increasing rates in steps and
//! says, from the CPU time of each process, which component limits the stack. `--short` is the
//! CI form ([`Options::short`]).

pub mod client;
pub mod cpu;
pub mod generator;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::stack::DevStackProcess;
use crate::tally::{self, AcceptedOrder, Tally};
use client::{Stack, TestProduct};
use generator::{Phase, PhaseResult, Rng};
use local_stack::process;
use report::{percentile, RouteStats};

/// Rates (requests/s) of the `--saturation` steps.
pub const SATURATION_RATES: [f64; 6] = [10.0, 25.0, 50.0, 100.0, 200.0, 400.0];
/// Test products per run, and the stock each starts with.
const TEST_PRODUCTS: usize = 5;
const TEST_STOCK: i64 = 1_000_000;
/// Most requests in flight at once (beyond it a scheduled request is counted, not sent).
const MAX_IN_FLIGHT: usize = 2000;

/// Options of `cargo xtask load`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Offered requests per second (both routes together).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Seconds of load [default: 20; with --saturation: 5 per step].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Users placing orders (each registered and logged in through POST /auth).
    #[arg(long, default_value_t = 4)]
    pub users: usize,
    /// Fraction of the requests that are GET /products (the rest are POST /orders).
    #[arg(long, default_value_t = 0.5)]
    pub read_ratio: f64,
    /// Steps of increasing rate (10, 25, 50, 100, 200, 400 req/s) until one saturates, with
    /// the CPU use of each component per step.
    #[arg(long)]
    pub saturation: bool,
    /// The rates of the --saturation steps, comma-separated (default 10,25,50,100,200,400).
    #[arg(long, value_delimiter = ',')]
    pub steps: Vec<f64>,
    /// Use a running stack (its outputs.json) instead of starting one.
    #[arg(long)]
    pub outputs: Option<PathBuf>,
    /// The CI form: 10 req/s for 8 s, 2 users, no saturation; fails on an unclean tally, an
    /// order in the DLQ, any 5xx or transport error.
    #[arg(long)]
    pub short: bool,
    /// Seconds to wait after the load for every accepted order to reach a final status.
    #[arg(long, default_value_t = 60.0)]
    pub drain: f64,
}

impl Options {
    /// The CI form (`cargo xtask test` calls [`run`] with it): about 20 s with the stack start
    /// when the workspace is built.
    pub fn short() -> Options {
        Options {
            rate: 10.0,
            duration: Some(8.0),
            users: 2,
            read_ratio: 0.5,
            saturation: false,
            steps: Vec::new(),
            outputs: None,
            short: true,
            drain: 30.0,
        }
    }

    /// The options in effect: `--short` overrides the load figures.
    fn effective(&self) -> Options {
        if self.short {
            Options {
                outputs: self.outputs.clone(),
                ..Options::short()
            }
        } else {
            let default = if self.saturation { 5.0 } else { 20.0 };
            Options {
                duration: Some(self.duration.unwrap_or(default)),
                ..self.clone()
            }
        }
    }

    /// Seconds of load (per step with `--saturation`).
    fn seconds(&self) -> f64 {
        self.duration.unwrap_or(20.0)
    }

    fn check(&self) -> Result<()> {
        anyhow::ensure!(
            self.rate > 0.0 && self.rate <= 10_000.0,
            "--rate must be in (0, 10000]"
        );
        anyhow::ensure!(
            self.seconds() > 0.0 && self.seconds() <= 3600.0,
            "--duration must be in (0, 3600]"
        );
        anyhow::ensure!((1..=200).contains(&self.users), "--users must be 1 to 200");
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.read_ratio),
            "--read-ratio must be in [0, 1]"
        );
        anyhow::ensure!(self.drain >= 0.0, "--drain must not be negative");
        Ok(())
    }
}

/// Runs the load; `Ok(true)` when every accepted order is accounted for (tally clean, nothing
/// in the DLQ) and, outside `--saturation`, no request got a 5xx or a transport error.
pub fn run(root: &Path, options: &Options) -> Result<bool> {
    let options = options.effective();
    options.check()?;
    process::install_signal_handlers();
    let started = Instant::now();
    // Our own stack, unless we are pointed at a running one.
    let mut own_stack = None;
    let outputs_path = match &options.outputs {
        Some(path) => path.clone(),
        None => {
            let dir = local_stack::workspace::target_dir(root).join("xtask/load");
            let mut stack =
                DevStackProcess::start(root, &dir, &dir.join("stack.log"), "the load run")?;
            let path = stack.wait_ready()?;
            eprintln!(
                "xtask: stack ready after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            own_stack = Some(stack);
            path
        }
    };
    let text = std::fs::read_to_string(&outputs_path)
        .with_context(|| format!("reading {}", outputs_path.display()))?;
    let outputs: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", outputs_path.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run_async(outputs, &options));
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Some(mut stack) = own_stack {
        stack.stop();
    }
    eprintln!(
        "xtask: load run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// The port of the emulator in outputs.json (to find the stack's processes).
fn aws_port(outputs: &Value) -> Option<u16> {
    outputs["AwsEndpoint"]
        .as_str()?
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// The run once the stack answers: set-up, load, drain, tally.
async fn run_async(outputs: Value, options: &Options) -> Result<bool> {
    let stack = Arc::new(Stack::load(outputs).await?);
    let setup = Instant::now();
    let (products, initial_stock) = stack.add_products(TEST_PRODUCTS, TEST_STOCK).await?;
    let mut tokens = Vec::with_capacity(options.users);
    for _ in 0..options.users {
        tokens.push(stack.new_user().await?);
    }
    let tokens = Arc::new(tokens);
    eprintln!(
        "xtask: {} users and {} test products with {TEST_STOCK} units each in {:.1} s",
        tokens.len(),
        products.len(),
        setup.elapsed().as_secs_f64()
    );
    let components = cpu::components(aws_port(&stack.outputs).and_then(cpu::find_stack));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Rng::new(seed);
    let drain = Duration::from_secs_f64(options.drain);

    // Accepted orders: those the load phases saw accepted (their 202 → COMPLETED time is
    // measured), then those accepted when re-sent after an unknown outcome.
    let (accepted, clean_requests) = if options.saturation {
        // Each step reports its own end-to-end times: no flag needed.
        let accepted =
            saturation(&stack, &tokens, &products, &components, options, &mut rng).await?;
        (accepted.into_iter().map(|a| (a, false)).collect(), true)
    } else {
        fixed_rate(&stack, &tokens, &products, &components, options, &mut rng).await?
    };
    let in_phase: Vec<AcceptedOrder> = accepted
        .iter()
        .filter(|a| !a.1)
        .map(|a| a.0.clone())
        .collect();
    let accepted: Vec<AcceptedOrder> = accepted.into_iter().map(|a| a.0).collect();

    let still_open = tally::wait_final(
        &stack.aws,
        &stack.outputs,
        &accepted,
        Instant::now() + drain,
    )
    .await?;
    if still_open > 0 {
        eprintln!("xtask: {still_open} accepted orders not final after the drain");
    }
    if !options.saturation {
        let times = end_to_end(&stack, &in_phase).await?;
        println!("\n{}", report::end_to_end_line(&times));
    }
    let tally = tally::tally(&stack.aws, &stack.outputs, &accepted, &initial_stock).await?;
    println!("\n{tally}");
    let ok = verdict(&tally, clean_requests);
    Ok(ok)
}

/// Prints why a run failed; true when it passed.
fn verdict(tally: &Tally, clean_requests: bool) -> bool {
    let mut problems = Vec::new();
    if !tally.is_clean() {
        problems.push("the tally is not clean".to_string());
    }
    if tally.in_dlq > 0 {
        problems.push(format!("{} orders in the DLQ", tally.in_dlq));
    }
    if !clean_requests {
        problems.push("requests failed with 5xx or transport errors".to_string());
    }
    if problems.is_empty() {
        println!("\nload: PASS");
        true
    } else {
        println!("\nload: FAIL ({})", problems.join("; "));
        false
    }
}

/// An accepted order, and whether it was accepted only when re-sent after the phase.
type Accepted = (AcceptedOrder, bool);

/// The orders a phase got accepted, plus those accepted when the orders of unknown fate
/// (transport error, 5xx, 429) are re-sent with their idempotency keys; prints a line about
/// the re-sent ones.
async fn settle(stack: &Stack, result: &mut PhaseResult) -> (Vec<Accepted>, String) {
    let mut accepted: Vec<Accepted> = result
        .outcomes
        .iter_mut()
        .filter_map(|o| o.accepted.take())
        .map(|a| (a, false))
        .collect();
    let unsettled: Vec<_> = result
        .outcomes
        .iter_mut()
        .filter_map(|o| o.unsettled.take())
        .collect();
    if unsettled.is_empty() {
        return (
            accepted,
            "  orders of unknown outcome (re-sent with their keys): 0".into(),
        );
    }
    let count = unsettled.len();
    let (later, refused) = generator::settle(stack, unsettled, 3).await;
    let note = format!(
        "  orders of unknown outcome (re-sent with their keys): {count}, accepted on retry {}, \
         not accepted {refused}",
        later.len()
    );
    accepted.extend(later.into_iter().map(|a| (a, true)));
    (accepted, note)
}

/// 202 → COMPLETED of the completed orders among `accepted`, sorted.
async fn end_to_end(stack: &Stack, accepted: &[AcceptedOrder]) -> Result<Vec<Duration>> {
    let ids: Vec<String> = accepted.iter().map(|a| a.order_id.clone()).collect();
    let rows = tally::read_orders(&stack.aws, &stack.outputs, &ids).await?;
    let at: Vec<i64> = accepted
        .iter()
        .map(|a| tally::instant_unix_ms(a.accepted_at))
        .collect();
    let only_orders = tally::classify(
        accepted,
        &at,
        &rows,
        &Default::default(),
        &BTreeMap::new(),
        &BTreeMap::new(),
    );
    Ok(only_orders.completed_after)
}

/// One phase at `--rate` for `--duration`. Returns the accepted orders and whether every
/// request went without a 5xx, a transport error or a skipped send.
async fn fixed_rate(
    stack: &Arc<Stack>,
    tokens: &Arc<Vec<String>>,
    products: &[TestProduct],
    components: &[cpu::Component],
    options: &Options,
    rng: &mut Rng,
) -> Result<(Vec<Accepted>, bool)> {
    let phase = Phase {
        rate: options.rate,
        duration: Duration::from_secs_f64(options.seconds()),
        read_ratio: options.read_ratio,
        max_in_flight: MAX_IN_FLIGHT,
    };
    eprintln!(
        "xtask: offering {} req/s for {} s ({:.0} % GET /products, {} users)",
        phase.rate,
        options.seconds(),
        phase.read_ratio * 100.0,
        tokens.len()
    );
    let before = cpu::sample(components);
    let mut result = generator::run_phase(stack, tokens, products, &phase, rng).await;
    let usage = cpu::usage(components, &before, &cpu::sample(components));
    let stats = report::route_stats(&result.outcomes);
    let (accepted, note) = settle(stack, &mut result).await;
    // The drain belongs to the load's CPU cost: the workflow finishes the orders in it.
    let orders: Vec<AcceptedOrder> = accepted.iter().map(|a| a.0.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs_f64(options.drain);
    tally::wait_final(&stack.aws, &stack.outputs, &orders, deadline).await?;
    let whole = cpu::usage(components, &before, &cpu::sample(components));
    println!(
        "\nload: {} req/s offered for {} s, {:.0} % reads, {} users",
        phase.rate,
        options.seconds(),
        phase.read_ratio * 100.0,
        tokens.len()
    );
    println!("{}", report::route_table(&result, &stats));
    println!("{note}");
    println!("{}", report::cpu_table(&usage, &whole, ok_answers(&stats)));
    let clean = result.skipped == 0
        && stats
            .iter()
            .all(|s| s.errors.keys().all(|k| k.starts_with('4')));
    Ok((accepted, clean))
}

fn ok_answers(stats: &[RouteStats]) -> usize {
    stats.iter().map(|s| s.ok).sum()
}

/// `name NN %` of the busiest stack process.
fn busiest_text(usage: &cpu::Usage) -> String {
    usage
        .busiest()
        .map_or("-".to_string(), |(n, u)| format!("{n} {:.0} %", u * 100.0))
}

/// Why a step counts as saturated, if it does.
fn saturated(rate: f64, result: &PhaseResult, stats: &[RouteStats]) -> Option<String> {
    let ok: usize = stats.iter().map(|s| s.ok).sum();
    let achieved = ok as f64 / result.window().as_secs_f64().max(1e-3);
    let mut all: Vec<Duration> = stats.iter().flat_map(|s| s.latencies.clone()).collect();
    all.sort();
    let errors: usize = stats.iter().map(RouteStats::error_count).sum::<usize>() + result.skipped;
    let mut reasons = Vec::new();
    if achieved < 0.9 * rate {
        reasons.push(format!("achieved {achieved:.1} ok/s < 90 % of {rate}"));
    }
    if let Some(p99) = percentile(&all, 99.0).filter(|p| *p > Duration::from_secs(1)) {
        reasons.push(format!("p99 {} > 1 s", report::ms(Some(p99))));
    }
    if errors > 0 {
        reasons.push(format!("{errors} errors"));
    }
    (!reasons.is_empty()).then(|| reasons.join(", "))
}

/// Steps of increasing rate until one saturates; a table per step.
async fn saturation(
    stack: &Arc<Stack>,
    tokens: &Arc<Vec<String>>,
    products: &[TestProduct],
    components: &[cpu::Component],
    options: &Options,
    rng: &mut Rng,
) -> Result<Vec<AcceptedOrder>> {
    let mut accepted = Vec::new();
    let mut summary = Vec::new();
    let step_duration = Duration::from_secs_f64(options.seconds());
    let rates = if options.steps.is_empty() {
        SATURATION_RATES.to_vec()
    } else {
        options.steps.clone()
    };
    for (i, rate) in rates.into_iter().enumerate() {
        let phase = Phase {
            rate,
            duration: step_duration,
            read_ratio: options.read_ratio,
            max_in_flight: MAX_IN_FLIGHT,
        };
        eprintln!(
            "xtask: step {}: {rate} req/s for {} s",
            i + 1,
            options.seconds()
        );
        let before = cpu::sample(components);
        let mut result = generator::run_phase(stack, tokens, products, &phase, rng).await;
        let usage = cpu::usage(components, &before, &cpu::sample(components));
        let stats = report::route_stats(&result.outcomes);
        let (step_accepted, note) = settle(stack, &mut result).await;
        let in_step: Vec<AcceptedOrder> = step_accepted
            .iter()
            .filter(|a| !a.1)
            .map(|a| a.0.clone())
            .collect();
        let step_accepted: Vec<AcceptedOrder> = step_accepted.into_iter().map(|a| a.0).collect();

        // Let the workflow finish this step's orders before the next step, timing it.
        let drain_started = Instant::now();
        let before_drain = cpu::sample(components);
        let open = tally::wait_final(
            &stack.aws,
            &stack.outputs,
            &step_accepted,
            Instant::now() + Duration::from_secs_f64(options.drain),
        )
        .await?;
        let after_drain = cpu::sample(components);
        let drain_usage = cpu::usage(components, &before_drain, &after_drain);
        let whole = cpu::usage(components, &before, &after_drain);
        let drained = drain_started.elapsed();
        let times = end_to_end(stack, &in_step).await?;
        let orders_per_second = (step_accepted.len() - open) as f64
            / (result.window() + drained).as_secs_f64().max(1e-3);

        let verdict = saturated(rate, &result, &stats);
        println!(
            "\nstep {}: {rate} req/s offered for {} s{}",
            i + 1,
            options.seconds(),
            verdict
                .as_ref()
                .map_or(String::new(), |v| format!(" -- SATURATED: {v}"))
        );
        println!("{}", report::route_table(&result, &stats));
        println!("{note}");
        println!("{}", report::end_to_end_line(&times));
        println!(
            "  workflow: {} of {} accepted orders final {:.1} s after the last answer ({open} not); \
             {orders_per_second:.1} orders final/s over load + drain",
            step_accepted.len() - open,
            step_accepted.len(),
            drained.as_secs_f64(),
        );
        println!("{}", report::cpu_table(&usage, &whole, ok_answers(&stats)));
        println!("  during the drain: busiest {}", busiest_text(&drain_usage));
        let bottleneck = whole.bottleneck(ok_answers(&stats));
        summary.push((rate, verdict.clone(), usage, bottleneck));
        accepted.extend(step_accepted);
        if verdict.is_some() {
            break;
        }
    }

    println!("\nsaturation summary:");
    println!(
        "  {:>8}  {:<9} {:<38} {:<40}",
        "req/s",
        "saturated",
        "busiest process (CPU during the load)",
        "first to cap (ms cpu/request -> req/s)"
    );
    for (rate, verdict, usage, bottleneck) in &summary {
        println!(
            "  {:>8}  {:<9} {:<38} {}",
            rate,
            if verdict.is_some() { "yes" } else { "no" },
            busiest_text(usage),
            bottleneck.map_or("-".to_string(), |(n, ms, cap)| format!(
                "{n} ({ms:.1} ms -> {cap:.0})"
            ))
        );
    }
    match summary.last() {
        Some((rate, Some(why), usage, bottleneck)) => {
            println!("  saturates at {rate} req/s ({why})");
            let machine_busy = usage.machine.is_some_and(|m| m >= 0.9 * usage.cores as f64);
            match (usage.limiting(), machine_busy) {
                (Some((name, used)), _) => println!(
                    "  limiting component: {name}, at {:.0} % of a core during the step",
                    used * 100.0
                ),
                (None, true) => println!(
                    "  limiting: the machine's CPUs (all {} cores busy, {} of it other work); \
                     no stack process reached a full core",
                    usage.cores,
                    usage
                        .others()
                        .map_or("-".into(), |o| format!("{:.0} %", o * 100.0)),
                ),
                (None, false) => println!(
                    "  no process at a full core and the machine not saturated: waiting, not CPU"
                ),
            }
            if let Some((name, ms, cap)) = bottleneck {
                println!(
                    "  by CPU cost per request, {name} caps first: {ms:.1} ms per request -> \
                     about {cap:.0} req/s of this mix at 100 % of the core(s) it can use"
                );
            }
        }
        Some((rate, None, _, _)) => println!("  no saturation up to {rate} req/s"),
        None => {}
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_is_a_small_ci_run() {
        let short = Options::short();
        assert!(short.short && !short.saturation);
        assert!(short.rate * short.seconds() <= 100.0);
        short.check().unwrap();
    }

    #[test]
    fn the_port_of_the_emulator() {
        let outputs = serde_json::json!({"AwsEndpoint": "http://127.0.0.1:41234"});
        assert_eq!(aws_port(&outputs), Some(41234));
        assert_eq!(aws_port(&serde_json::json!({})), None);
    }
}
