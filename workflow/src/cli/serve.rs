//! `workflow serve`: a local AWS Step Functions endpoint (asl_engine::server) with the project's steps
//! registered in-process, optionally creating state machines from ASL files at startup.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use asl_engine::server::{MachineType, ServerConfig, StepFunctions};
use serde_json::{json, Map};

use super::exec::local_registry;
use super::EXIT_INVALID;
use crate::local;

const AFTER_HELP: &str = "\
The endpoint speaks the Step Functions JSON 1.0 protocol: point aws-sdk-sfn, boto3 or the AWS CLI at
it with an endpoint URL (any credentials; signatures are not checked).

StartSyncExecution: SDKs prepend `sync-` to the endpoint's host (AWS serves it on sync-states.*),
which does not resolve for 127.0.0.1. Turn it off: aws-sdk-sfn with the interceptor
asl_engine::server::NoHostPrefix, boto3 with botocore.config.Config(inject_host_prefix=False), the AWS
CLI with a hosts entry `127.0.0.1 sync-localhost` and --endpoint-url http://localhost:PORT.

Task dispatch: Lambda tasks run the project's steps in-process, on an in-memory demo shop with
--in-memory, otherwise on the AWS adapters configured from the environment (AWS_ENDPOINT_URL,
PRODUCTS_TABLE, ORDERS_TABLE, ORDER_TOPIC_ARN, AWS_REGION).

The first line on stdout is JSON: {\"endpoint\":\"http://127.0.0.1:8083\",\"stateMachines\":{NAME: ARN}}
(with --state-dir also \"resumed\": the number of RUNNING executions restarted). Stops on Ctrl-C or SIGTERM.

--state-dir DIR: machines and executions are journaled in DIR (one file per execution, written
through a temp file and a rename, and while it runs its history events appended to
executions/exec-N.events.jsonl as they happen; torn files and a torn last line are ignored).
Started again on the same DIR (even after kill -9), the endpoint answers DescribeExecution,
ListExecutions and GetExecutionHistory for the executions it had, and each execution that was
RUNNING resumes at the state it was in, with the input that state had received and its variables,
under the same ARN, name and start date, its history continued (TimeoutSeconds counts from the
original start). The states it had left do not run again; the state it was in runs again from its
start (at-least-once: a Task in flight is called again, a Map or Parallel state runs again whole,
a .waitForTaskToken task gets a new token). StartExecution keeps AWS's name rules across restarts.
One endpoint per DIR: DIR/.lock is held (flock) while it runs, and a second `workflow serve` on
the same DIR exits with status 1 and says so (the lock goes with the process, kill -9 included).
State machine ARNs depend only on the region, the account and NAME; --definition/--express replace
the definition of a machine of the same NAME found in DIR.

--fault-injection: extra routes on the same listener (not part of the AWS API):
  POST   /_local/faults  {\"function\":\"process-payment\",\"error\":\"Lambda.TooManyRequestsException\",
                          \"cause\":\"injected: throttled\",\"count\":3,\"when\":\"before\"}
         adds a rule: the next `count` invocations of that Lambda function (name, ARN or
         ${...FunctionArn} placeholder; count absent or null = every invocation until cleared) fail
         with that error and cause, seen by Retry/Catch as a Lambda error. when \"before\" (default):
         the handler does not run; \"after\": the handler runs, then its result is replaced by the
         error. Answers 201 with the rule; a bad body or an unknown function is 400
         {\"error\":\"BadRequest\",\"message\":...}.
  GET    /_local/faults  {\"rules\":[{\"id\",\"function\",\"error\",\"cause\",\"count\",\"when\",
                          \"injected\": times fired, \"remaining\"}]}
  DELETE /_local/faults  removes every rule and answers the same listing (as it was).";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Port to listen on (0 picks a free one, printed on the first line)
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Create a STANDARD state machine NAME from an ASL file at startup (repeatable)
    #[arg(long, value_name = "NAME=FILE")]
    pub definition: Vec<String>,
    /// Create an EXPRESS state machine NAME from an ASL file at startup (repeatable)
    #[arg(long, value_name = "NAME=FILE")]
    pub express: Vec<String>,
    /// Run the steps on an in-memory demo shop instead of AWS
    #[arg(long)]
    pub in_memory: bool,
    /// Run Wait states, retry delays and timeouts on a virtual clock (instantly)
    #[arg(long)]
    pub virtual_time: bool,
    /// Journal machines and executions in DIR (locked); on start, reload them and resume each
    /// RUNNING execution at the state it was in
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve POST/GET/DELETE /_local/faults to inject Lambda failures (see below)
    #[arg(long)]
    pub fault_injection: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut machines = Vec::new();
    for (spec, machine_type) in args
        .definition
        .iter()
        .map(|s| (s, MachineType::Standard))
        .chain(args.express.iter().map(|s| (s, MachineType::Express)))
    {
        let Some((name, file)) = spec.split_once('=') else {
            eprintln!("error: --definition/--express take NAME=FILE, got '{spec}'");
            return Ok(ExitCode::from(EXIT_INVALID));
        };
        let file = PathBuf::from(file);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return Ok(ExitCode::from(EXIT_INVALID));
            }
        };
        machines.push((name.to_owned(), text, machine_type, file));
    }
    if !args.in_memory && !local::aws_configured() {
        eprintln!(
            "note: no --in-memory and no AWS resources in the environment: Lambda tasks will fail \
             with Lambda.ResourceNotFoundException"
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let config = ServerConfig {
            virtual_time: args.virtual_time,
            state_dir: args.state_dir.clone(),
            fault_injection: args.fault_injection,
            ..ServerConfig::from_env()
        };
        let registry = local_registry(args.in_memory).await;
        let (service, resumed) = match StepFunctions::open(registry, config) {
            Ok(opened) => opened,
            Err(e) => {
                let dir = args.state_dir.as_deref().unwrap_or(Path::new("."));
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    anyhow::bail!(
                        "state directory {} is in use by another `workflow serve` (lock file {} \
                         held); stop it or choose another --state-dir",
                        dir.display(),
                        dir.join(".lock").display()
                    );
                }
                anyhow::bail!("cannot use the state directory {}: {e}", dir.display());
            }
        };
        let mut arns = Map::new();
        for (name, text, machine_type, file) in &machines {
            if arns.contains_key(name) {
                eprintln!("error: the state machine name '{name}' is given twice");
                return Ok(ExitCode::from(EXIT_INVALID));
            }
            let created = if args.state_dir.is_some() {
                service.put_state_machine(name, text, *machine_type, None)
            } else {
                service.create_state_machine(name, text, *machine_type, None)
            };
            match created {
                Ok(arn) => {
                    arns.insert(name.clone(), json!(arn));
                }
                Err(e) => {
                    eprintln!("error: {}: {}", file.display(), e.message);
                    return Ok(ExitCode::from(EXIT_INVALID));
                }
            }
        }
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        let mut first = json!({"endpoint": format!("http://{addr}"), "stateMachines": arns});
        if args.state_dir.is_some() {
            first["resumed"] = json!(resumed);
        }
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{first}")?;
            stdout.flush()?;
        }
        eprintln!("Step Functions endpoint listening on http://{addr} (Ctrl-C to stop)");
        asl_engine::server::serve_with_shutdown(listener, service, shutdown_signal())
            .await
            .context("the server failed")?;
        eprintln!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
