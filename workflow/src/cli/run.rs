//! `workflow run WORKFLOW --input JSON|@FILE`: runs a project workflow in the local engine with
//! the project's own steps in-process, and prints how the execution ended as one JSON line.

use std::io::{Read, Write};
use std::process::ExitCode;

use crate::local::StepPorts;
use anyhow::Context;
use asl_engine::{Engine, ExecOptions, ExecutionStatus, HistoryEvent};
use serde::Serialize;
use serde_json::Value;

use super::{kebab_case, EXIT_INVALID};
use crate::local;

const AFTER_HELP: &str = "\
Ports (where the steps read and write):
  --in-memory          an in-memory shop seeded with a demo catalog (prices in USD cents):
                       mug 1250 (10 in stock), tee 1999 (3), poster 800 (25), sticker 150 (100),
                       pin 300 (sold out); payments are simulated (token tok_chargeDeclined is
                       declined) and notifications are kept in memory.
  otherwise            the AWS adapters, configured from the environment: PRODUCTS_TABLE,
                       ORDERS_TABLE, ORDER_TOPIC_ARN, and AWS_ENDPOINT_URL / AWS_REGION /
                       credentials as for any AWS SDK (e.g. a local emulator).

Output: one JSON line, {\"status\":\"SUCCEEDED\",\"output\":...} or
{\"status\":\"FAILED\",\"error\":...,\"cause\":...} (also TIMED_OUT, ABORTED), with \"history\"
when --history is given. The exit code is 0 whatever the status; 2 for an unknown workflow,
unreadable input or missing configuration.

Example:
  cargo run -p workflow -- run order-processing --in-memory \\
    --input '{\"orderId\":\"o-1\",\"userSub\":\"u-1\",\"items\":[{\"productId\":\"mug\",\"quantity\":2}],
              \"paymentToken\":\"tok_visa\",\"totalCents\":2500,\"currency\":\"USD\",
              \"createdAt\":\"2026-01-01T00:00:00Z\"}'";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The project workflow to run (e.g. order-processing)
    #[arg(value_name = "WORKFLOW")]
    pub workflow: String,
    /// Execution input: JSON text, @FILE to read it from a file, or @- for stdin
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub input: String,
    /// Run the steps on in-memory ports with a seeded demo catalog instead of AWS
    #[arg(long)]
    pub in_memory: bool,
    /// Include the execution history (the events Step Functions would record)
    #[arg(long)]
    pub history: bool,
    /// Wait for real during retry backoff and Wait states (default: a virtual clock that
    /// advances instantly)
    #[arg(long)]
    pub real_time: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = kebab_case(&args.workflow);
    let Some((name, machine)) = crate::project_workflows()
        .into_iter()
        .find(|(n, _)| kebab_case(n) == name)
    else {
        let known: Vec<&str> = crate::project_workflows().iter().map(|(n, _)| *n).collect();
        eprintln!(
            "error: unknown workflow '{}'; the project's workflows are: {}",
            args.workflow,
            known.join(", ")
        );
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let input = match read_input(&args.input) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    if !args.in_memory && !local::aws_configured() {
        eprintln!(
            "error: no AWS resources are configured for the steps: set AWS_ENDPOINT_URL, \
             PRODUCTS_TABLE, ORDERS_TABLE and ORDER_TOPIC_ARN, or pass --in-memory for the demo \
             catalog"
        );
        return Ok(ExitCode::from(EXIT_INVALID));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let ports: StepPorts = if args.in_memory {
            local::demo_ports().0
        } else {
            local::aws_step_ports().await
        };
        let engine = Engine::new(local::step_registry(ports));
        let options = ExecOptions {
            virtual_time: !args.real_time,
            history: args.history,
            state_machine_name: Some(name.to_owned()),
            ..ExecOptions::default()
        };
        engine.execute(&machine, input, options).await
    })?;

    let (status, output, error, cause) = match result.status {
        ExecutionStatus::Succeeded { output } => ("SUCCEEDED", Some(output), None, None),
        ExecutionStatus::Failed { error, cause } => ("FAILED", None, error, cause),
        ExecutionStatus::TimedOut { error, cause } => ("TIMED_OUT", None, error, cause),
        ExecutionStatus::Aborted => ("ABORTED", None, None, None),
    };
    let line = ResultLine {
        status,
        output,
        error,
        cause,
        execution_arn: result.execution_arn,
        history: args.history.then_some(result.history),
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{}", serde_json::to_string(&line)?) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write the result")
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The one output line, fields in this order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLine {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
    execution_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<HistoryEvent>>,
}

/// Reads `--input`: JSON text, `@FILE`, or `@-` (stdin).
fn read_input(input: &str) -> anyhow::Result<Value> {
    let (text, source) = match input.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the input from stdin")?;
            (text, "stdin".to_owned())
        }
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
            path.to_owned(),
        ),
        None => (input.to_owned(), "--input".to_owned()),
    };
    serde_json::from_str(&text).with_context(|| format!("{source} is not valid JSON"))
}
