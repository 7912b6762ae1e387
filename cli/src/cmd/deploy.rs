//! `cor deploy`: the whole suite on the chain `--rpc` points at, resumable, with progress
//! for every step and an optional check of the deployed code against the local build;
//! `cor addresses`: where it lives.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

use clap::Args;
use cor_client::{
    deploy::{deploy, verify, Progress, StepState},
    params::DeployParams,
    Deployment, Program, Programs,
};
use serde_json::{json, Map, Value};

use crate::{
    context::{group, Ctx, Output},
    error::CliError,
};

/// `cor deploy` flags.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Deployment parameters (TOML; every key optional, see docs/cli.md) [default: the
    /// built-in defaults]
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Folder of built programs (`<name>.code`) [default: $CARGO_TARGET_DIR/contracts, or
    /// ./target/contracts]
    #[arg(long, value_name = "DIR")]
    programs: Option<PathBuf>,
    /// Build the programs first with `cargo contracts build` (run from the workspace)
    #[arg(long)]
    build: bool,
    /// After deploying (or finding the deployment done), compare each program's code on
    /// chain with the local build; exit with code 3 on any difference
    #[arg(long)]
    verify: bool,
}

/// Writes progress lines as the steps report.
struct ProgressPrinter<W: Write> {
    out: W,
    open: Option<usize>,
}

impl<W: Write> ProgressPrinter<W> {
    fn report(&mut self, p: &Progress<'_>) {
        let width = p.total.to_string().len();
        let head = format!("[{:>width$}/{}] {}", p.index, p.total, p.step);
        // Progress is best effort: a closed pipe must not stop the deployment.
        let _ = match &p.state {
            StepState::Started => {
                self.open = Some(p.index);
                write!(self.out, "{head} ... ")
            }
            StepState::Recovering(hash) => {
                write!(self.out, "waiting for {hash}, sent by the last run ... ")
            }
            StepState::Mined {
                tx_hash,
                gas_used,
                block,
            } => {
                self.open = None;
                writeln!(
                    self.out,
                    "mined in block {block}, {} gas (tx {tx_hash})",
                    group(*gas_used)
                )
            }
            StepState::AlreadyDone if self.open == Some(p.index) => {
                self.open = None;
                writeln!(self.out, "already on chain")
            }
            StepState::AlreadyDone => writeln!(self.out, "{head} ... done earlier"),
        };
        let _ = self.out.flush();
    }
}

/// Runs `cor deploy`.
pub(crate) async fn run(ctx: &Ctx, args: DeployArgs) -> Result<Output, CliError> {
    if args.build {
        build()?;
    }
    let params = match &args.params {
        Some(path) => DeployParams::from_file(path).map_err(|e| CliError::Config(e.to_string()))?,
        None => DeployParams::default(),
    };
    let dir = args
        .programs
        .clone()
        .unwrap_or_else(|| Programs::default_dir(Path::new(".")));
    let programs = Programs::load(&dir).map_err(|e| CliError::Config(e.to_string()))?;
    let conn = ctx.connect_signer().await?;
    let path = Deployment::path_for(&ctx.settings.deployments, conn.chain_id());
    let log: Box<dyn Write> = if ctx.settings.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let mut printer = ProgressPrinter {
        out: log,
        open: None,
    };
    let record = deploy(&conn, &programs, &params, &path, &mut |p| printer.report(p)).await?;

    let mut text = format!(
        "suite deployed on chain {} by {}; record: {}\n",
        record.chain_id,
        record.deployer,
        path.display()
    );
    text.push_str(&address_table(&record));
    let mut json = record_json(&record, &path);
    if !args.verify {
        return Ok(Output::new(text, json));
    }

    let checks = verify(&conn, &programs, &record).await?;
    let mut differ = Vec::new();
    text.push_str("\ncode check against the local build:\n");
    let mut rows = Vec::new();
    for check in &checks {
        let verdict = if check.matches() {
            "matches".to_owned()
        } else {
            differ.push(check.program.name());
            format!("DIFFERS: chain {} local {}", check.on_chain, check.local)
        };
        text.push_str(&format!(
            "  {:<20} {} {verdict}\n",
            check.program.name(),
            check.address
        ));
        rows.push(json!({
            "contract": check.program.name(),
            "address": check.address,
            "local_code_hash": check.local,
            "chain_code_hash": check.on_chain,
            "matches": check.matches(),
        }));
    }
    json["verify"] = Value::Array(rows);
    let output = Output::new(text, json);
    if differ.is_empty() {
        return Ok(output);
    }
    ctx.print(&output);
    Err(CliError::Mismatch(format!(
        "the code on chain differs from the local build ({}): {}",
        dir.display(),
        differ.join(", ")
    )))
}

/// Runs `cargo contracts build` (the workspace's contract build).
pub(crate) fn build() -> Result<(), CliError> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["contracts", "build"])
        .stdout(std::process::Stdio::inherit())
        .status()
        .map_err(|e| CliError::Failed(format!("cannot run `cargo contracts build`: {e}")))?;
    if !status.success() {
        return Err(CliError::Failed(format!(
            "`cargo contracts build` failed ({status}); run it from the COR workspace"
        )));
    }
    Ok(())
}

fn address_table(record: &Deployment) -> String {
    let mut text = String::new();
    for program in Program::ALL {
        if let Some(c) = record.contracts.get(&program) {
            text.push_str(&format!("  {:<20} {}\n", program.name(), c.address));
        }
    }
    text
}

fn record_json(record: &Deployment, path: &Path) -> Value {
    let mut contracts = Map::new();
    for (program, c) in &record.contracts {
        contracts.insert(
            program.name().to_owned(),
            json!({
                "address": c.address,
                "code_hash": c.code_hash,
                "tx_hash": c.tx_hash,
                "block": c.block,
            }),
        );
    }
    json!({
        "chain_id": record.chain_id,
        "deployer": record.deployer,
        "file": path.display().to_string(),
        "complete": record.complete,
        "contracts": contracts,
    })
}

/// Runs `cor addresses`.
pub(crate) async fn addresses(ctx: &Ctx) -> Result<Output, CliError> {
    let chain = ctx.reading().await?;
    let path = Deployment::path_for(&ctx.settings.deployments, chain.deployment.chain_id);
    let text = format!(
        "chain {} ({}):\n{}",
        chain.deployment.chain_id,
        path.display(),
        address_table(&chain.deployment)
    );
    Ok(Output::new(text, record_json(&chain.deployment, &path)))
}
