//! `cargo xtask`: development and test orchestration for this workspace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use local_stack::{self as dev, workspace};
use xtask::checks;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Development and test orchestration")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the whole system on this machine: the AWS emulator with every resource of
    /// template.yaml, sample products, the Step Functions engine with the order workflow, the
    /// SQS starter and a local API Gateway. Writes .dev/outputs.json; Ctrl-C stops everything.
    Dev {
        /// Port of the AWS emulator (moto).
        #[arg(long, default_value_t = dev::DEFAULT_AWS_PORT)]
        aws_port: u16,
        /// Port of the local API Gateway.
        #[arg(long, default_value_t = dev::DEFAULT_API_PORT)]
        api_port: u16,
        /// Port of the Step Functions endpoint (the Rust engine).
        #[arg(long, default_value_t = dev::DEFAULT_SFN_PORT)]
        sfn_port: u16,
        /// Directory for the lock, logs and outputs.json (default: .dev in the repository).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// The template's Stage parameter.
        #[arg(long, default_value = "dev")]
        stage: String,
        /// Without the Step Functions engine and the SQS starter (orders stay PENDING).
        #[arg(long)]
        no_workflow: bool,
    },
    /// Run every test against a local moto server, then the static checks (fmt, clippy,
    /// generated ASL up to date and valid, cfn-lint, sam validate, checkov, actionlint, zizmor).
    Test {
        /// Only the tests (nextest): no doctests and no static checks.
        #[arg(long)]
        quick: bool,
        /// Extra arguments for `cargo nextest run` (a test filter, `-p crate`, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        nextest_args: Vec<String>,
    },
    /// Measure the speed figures (transitions/s in process, executions/s through the endpoint,
    /// the same definitions on moto side by side) and print them as a table.
    Bench(xtask::bench::Options),
    /// Build the Lambda binaries in release for the host and print, per binary, its size, the
    /// time until it first asks a Runtime API stub for an event, and its peak resident memory.
    Footprint {
        /// Measure the debug binaries the tests built (no build, no targets: the CI form).
        #[arg(long)]
        short: bool,
    },
    /// Bounded fault injection on loopback: while orders stream in, take the emulator away,
    /// make steps fail (transiently, after their work, then for a window), kill -9 and restart
    /// the engine, send poison messages; then tally every accepted order (zero lost, zero
    /// duplicated, zero oversold). Stops by itself.
    Chaos(xtask::chaos::Options),
    /// A bounded open-loop load run on loopback (GET /products and POST /orders at a fixed
    /// rate), with latency figures and a tally of every accepted order; `--saturation` steps up
    /// the rate and names the limiting component; `--short` is the CI form.
    Load(xtask::load::Options),
    /// A smoke test of any stack through its HTTP API (catalog, an admin-created test user's
    /// login, an upload URL, the API's refusals), deleting what it created: `--outputs` is
    /// `.dev/outputs.json` or the JSON of `aws cloudformation describe-stacks --stack-name <stack>`.
    Smoke(xtask::smoke::Options),
    /// The offline security and workflow checks alone: checkov on template.yaml (Fn::ForEach
    /// expanded) and deploy/github-oidc-role.yaml, actionlint and `zizmor --offline` on
    /// .github/workflows (installs them under .tools/ on first use).
    Scan,
    /// `sam build` of template.yaml (cargo-lambda, arm64, release; installs cargo-lambda under
    /// .tools/ on first use), then check that every function has an arm64 `bootstrap` and print
    /// their sizes.
    SamBuild {
        /// Where SAM writes the built template and artifacts.
        #[arg(long, default_value = ".aws-sam/build")]
        build_dir: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace::repo_root();
    let result = match cli.command {
        Cmd::Dev {
            aws_port,
            api_port,
            sfn_port,
            dir,
            stage,
            no_workflow,
        } => dev::run(
            &root,
            &dev::Options {
                dir: dir.unwrap_or_else(|| root.join(".dev")),
                aws_port,
                api_port,
                sfn_port,
                stage,
                no_workflow,
            },
        )
        .map(|()| true)
        .map_err(anyhow::Error::from),
        Cmd::Test {
            quick,
            nextest_args,
        } => checks::test(
            &root,
            &checks::Options {
                quick,
                nextest_args,
            },
        ),
        Cmd::Bench(options) => xtask::bench::run(&root, &options),
        Cmd::Footprint { short } => xtask::footprint::run(
            &root,
            if short {
                xtask::footprint::Build::Debug
            } else {
                xtask::footprint::Build::Release
            },
        ),
        Cmd::Chaos(options) => xtask::chaos::run(&root, &options),
        Cmd::Load(options) => xtask::load::run(&root, &options),
        Cmd::Smoke(options) => xtask::smoke::run(&options),
        Cmd::Scan => checks::scan(&root),
        Cmd::SamBuild { build_dir } => xtask::sam_build::run(&root, &root.join(build_dir)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
