//! `cor-keeper`: closes COR reward epochs and finalizes overdue tasks.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use cor_keeper::{
    config::{FileConfig, KeeperConfig, Signer},
    Keeper,
};

/// Closes reward epochs (catching up after downtime) and finalizes overdue tasks on a
/// COR deployment. Settings come from defaults, then `--config`, then COR_KEEPER_*
/// environment variables, then flags.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML config file (keys as the long flags, with underscores).
    #[arg(long, env = "COR_KEEPER_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC URL [default: http://127.0.0.1:8547].
    #[arg(long, env = "COR_KEEPER_RPC_URL")]
    rpc_url: Option<String>,
    /// The deployments file written by `cor deploy` (deployments/<chain-id>.json).
    #[arg(long, env = "COR_KEEPER_DEPLOYMENTS")]
    deployments: Option<PathBuf>,
    /// Encrypted V3 keystore holding the keeper's key (needs --password-file).
    #[arg(long, env = "COR_KEEPER_KEYSTORE", requires = "password_file")]
    keystore: Option<PathBuf>,
    /// File whose first line is the keystore's password.
    #[arg(long, env = "COR_KEEPER_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Use the dev node's prefunded account N. DEV CHAINS ONLY.
    #[arg(long, env = "COR_KEEPER_DEV_ACCOUNT", conflicts_with = "keystore")]
    dev_account: Option<u32>,
    /// Seconds between rounds [default: 5].
    #[arg(long, env = "COR_KEEPER_POLL_SECONDS")]
    poll_seconds: Option<u64>,
    /// Most gas one finalizeMany transaction may use [default: 10000000].
    #[arg(long, env = "COR_KEEPER_TASK_GAS_BUDGET")]
    task_gas_budget: Option<u64>,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9101).
    #[arg(long, env = "COR_KEEPER_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Do not close epochs.
    #[arg(long)]
    no_epochs: bool,
    /// Do not finalize overdue tasks.
    #[arg(long)]
    no_tasks: bool,
}

impl Args {
    fn layer(&self) -> FileConfig {
        let signer = match (&self.keystore, &self.password_file, self.dev_account) {
            (Some(path), Some(password_file), _) => Some(Signer::Keystore {
                path: path.clone(),
                password_file: password_file.clone(),
            }),
            (_, _, Some(index)) => Some(Signer::DevAccount(index)),
            _ => None,
        };
        FileConfig {
            rpc_url: self.rpc_url.clone(),
            deployments: self.deployments.clone(),
            signer,
            poll_seconds: self.poll_seconds,
            epochs: self.no_epochs.then_some(false),
            tasks: self.no_tasks.then_some(false),
            task_gas_budget: self.task_gas_budget,
            metrics_addr: self.metrics_addr,
            ..FileConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The error chain as sentences, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let config = KeeperConfig::try_from(file.overlay(args.layer()))?;
    let keeper = Keeper::connect(config)
        .await
        .context("starting the keeper")?;
    keeper.run(cor_client::daemon::shutdown_signal()).await?;
    Ok(())
}
