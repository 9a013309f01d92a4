//! `workflow exec --definition FILE --input JSON|@FILE`: runs any ASL file in the local engine and
//! prints how the execution ended as one JSON line; optionally with a Step Functions Local mock
//! configuration test case.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use asl_engine::aws::AwsIntegrations;
use asl_engine::{Engine, ExecOptions, ExecutionStatus, MockConfig, TaskRegistry};
use serde::Serialize;
use serde_json::Value;
use workflow_dsl::validate::{validate_with, Options};

use super::{read_machine, EXIT_INVALID};
use crate::local;

const AFTER_HELP: &str = "\
Task dispatch: a Task state mocked by the test case (--mock-config/--test-case, in the format of
Step Functions Local's MockConfigFile) gets its mocked response. Other Lambda tasks run the
project's steps in-process: on an in-memory demo shop with --in-memory, otherwise on the AWS
adapters configured from the environment (AWS_ENDPOINT_URL, PRODUCTS_TABLE, ORDERS_TABLE,
ORDER_TOPIC_ARN), which also serve the optimized DynamoDB/SNS/SQS/Step Functions integrations.
With neither, unmocked Lambda tasks fail with Lambda.ResourceNotFoundException.

Output: one JSON line, {\"status\":\"SUCCEEDED\",\"output\":...} or
{\"status\":\"FAILED\",\"error\":...,\"cause\":...} (also TIMED_OUT). The exit code is 0 whatever
the status; 2 for an invalid definition (the problems are printed on stderr), unreadable input
or a bad mock configuration.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The ASL definition file (JSON)
    #[arg(long, value_name = "FILE")]
    pub definition: PathBuf,
    /// Execution input: JSON text, @FILE to read it from a file, or @- for stdin
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub input: String,
    /// A Step Functions Local MockConfigFile
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The test case to use: StateMachines.<state machine>.TestCases.<NAME>
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
    /// The state machine of the mock configuration (default: the only one in the file)
    #[arg(long, value_name = "NAME")]
    pub state_machine: Option<String>,
    /// Run Wait states, retry delays and timeouts on a virtual clock that advances instantly
    #[arg(long)]
    pub virtual_time: bool,
    /// Run unmocked steps on an in-memory demo shop instead of AWS
    #[arg(long)]
    pub in_memory: bool,
}

/// The task registry of local runs: the project's steps on in-memory ports, or on the AWS
/// adapters (plus the engine's AWS SDK integrations) when the environment names AWS resources;
/// empty otherwise.
pub async fn local_registry(in_memory: bool) -> TaskRegistry {
    if in_memory {
        return local::step_registry(local::demo_ports().0);
    }
    if !local::aws_configured() {
        return TaskRegistry::new();
    }
    let mut registry = local::step_registry(local::aws_step_ports().await);
    AwsIntegrations::from_conf(&steps::lambda::aws_config().await).register(&mut registry);
    registry
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let shown = args.definition.display().to_string();
    let machine = match read_machine(&args.definition) {
        Ok((_, machine)) => machine,
        Err(message) => {
            eprintln!("{shown}: {message}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let problems = validate_with(&machine, &Options::default());
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{shown}: {problem}");
        }
        eprintln!("{} problem(s): the definition is not valid", problems.len());
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let input = match read_input(&args.input) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let (machine_name, mock) = match mock_case(&args) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    if args.mock_config.is_none() && !args.in_memory && !local::aws_configured() {
        eprintln!(
            "note: no --in-memory and no AWS resources in the environment: Lambda tasks fail \
             with Lambda.ResourceNotFoundException"
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let engine = Engine::new(local_registry(args.in_memory).await);
        let options = ExecOptions {
            virtual_time: args.virtual_time,
            mock,
            history: false,
            state_machine_name: Some(machine_name.unwrap_or_else(|| file_stem(&args.definition))),
            ..ExecOptions::default()
        };
        engine.execute(&machine, input, options).await
    });
    let result = match result {
        Ok(result) => result,
        Err(error) => {
            eprintln!("{shown}: {error}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };

    let line = match result.status {
        ExecutionStatus::Succeeded { output } => ResultLine {
            status: "SUCCEEDED",
            output: Some(output),
            ..ResultLine::default()
        },
        ExecutionStatus::Failed { error, cause } => ResultLine {
            status: "FAILED",
            error,
            cause,
            ..ResultLine::default()
        },
        ExecutionStatus::TimedOut { error, cause } => ResultLine {
            status: "TIMED_OUT",
            error,
            cause,
            ..ResultLine::default()
        },
        ExecutionStatus::Aborted => ResultLine {
            status: "ABORTED",
            ..ResultLine::default()
        },
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{}", serde_json::to_string(&line)?) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write the result")
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The one output line.
#[derive(Serialize, Default)]
struct ResultLine {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
}

/// The mock test case (and the state machine name it belongs to), when asked for.
fn mock_case(args: &Args) -> anyhow::Result<(Option<String>, Option<asl_engine::MockCase>)> {
    let (Some(path), Some(case)) = (&args.mock_config, &args.test_case) else {
        return Ok((args.state_machine.clone(), None));
    };
    let config = MockConfig::from_file(path)?;
    let machine = match &args.state_machine {
        Some(name) => name.clone(),
        None => {
            let mut names: Vec<&String> = config.state_machines.keys().collect();
            names.sort();
            match names.as_slice() {
                [only] => (*only).clone(),
                [] => anyhow::bail!("{} defines no state machine", path.display()),
                many => anyhow::bail!(
                    "{} defines several state machines ({}): pick one with --state-machine",
                    path.display(),
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    let case = config.test_case(&machine, case)?;
    Ok((Some(machine), Some(case)))
}

fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".asl.json")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name);
    if stem.is_empty() {
        "StateMachine".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Reads `--input`: JSON text, `@FILE`, or `@-` (stdin).
pub fn read_input(input: &str) -> anyhow::Result<Value> {
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
