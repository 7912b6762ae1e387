//! `cor-miner`: answers COR inference tasks with a local model.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use cor_miner::{
    config::{ConfigError, FileConfig, MinerConfig, ModelEntry, Signer},
    Miner,
};

/// Serves COR inference tasks: registers the node, watches its assignments, runs the
/// model, commits and reveals, serves outputs by hash, claims payments and rewards.
/// Settings come from defaults, then `--config`, then COR_MINER_* environment
/// variables, then flags.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML config file (keys as the long flags, with underscores).
    #[arg(long, env = "COR_MINER_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC URL [default: http://127.0.0.1:8547].
    #[arg(long, env = "COR_MINER_RPC_URL")]
    rpc_url: Option<String>,
    /// WebSocket URL for pushed assignments (without it the miner polls).
    #[arg(long, env = "COR_MINER_WS_URL")]
    ws_url: Option<String>,
    /// The deployments file written by `cor deploy` (deployments/<chain-id>.json).
    #[arg(long, env = "COR_MINER_DEPLOYMENTS")]
    deployments: Option<PathBuf>,
    /// Encrypted V3 keystore holding the node's key (needs --password-file).
    #[arg(long, env = "COR_MINER_KEYSTORE", requires = "password_file")]
    keystore: Option<PathBuf>,
    /// File whose first line is the keystore's password.
    #[arg(long, env = "COR_MINER_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Use the dev node's prefunded account N. DEV CHAINS ONLY.
    #[arg(long, env = "COR_MINER_DEV_ACCOUNT", conflicts_with = "keystore")]
    dev_account: Option<u32>,
    /// Directory for the task store (keep it across restarts).
    #[arg(long, env = "COR_MINER_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Serve /outputs/<hash> and /metrics here [default: 127.0.0.1:9200].
    #[arg(long, env = "COR_MINER_LISTEN_ADDR")]
    listen_addr: Option<SocketAddr>,
    /// Base URL others reach the listen address at (goes into reveals).
    #[arg(long, env = "COR_MINER_PUBLIC_URL")]
    public_url: Option<String>,
    /// A model to serve, ID=SOURCE with SOURCE tiny, gemma3-270m or a path (repeatable).
    #[arg(long = "model", value_name = "ID=SOURCE")]
    models: Vec<String>,
    /// Seconds between polls [default: 2].
    #[arg(long, env = "COR_MINER_POLL_SECONDS")]
    poll_seconds: Option<u64>,
    /// Seconds between heartbeat checks and claims [default: 60].
    #[arg(long, env = "COR_MINER_CLAIM_SECONDS")]
    claim_seconds: Option<u64>,
    /// Do not register: fail unless the account is a node already.
    #[arg(long)]
    no_register: bool,
}

impl Args {
    fn layer(&self) -> Result<FileConfig, ConfigError> {
        let signer = match (&self.keystore, &self.password_file, self.dev_account) {
            (Some(path), Some(password_file), _) => Some(Signer::Keystore {
                path: path.clone(),
                password_file: password_file.clone(),
            }),
            (_, _, Some(index)) => Some(Signer::DevAccount(index)),
            _ => None,
        };
        let models = self
            .models
            .iter()
            .map(|m| ModelEntry::parse_flag(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FileConfig {
            rpc_url: self.rpc_url.clone(),
            ws_url: self.ws_url.clone(),
            deployments: self.deployments.clone(),
            signer,
            state_dir: self.state_dir.clone(),
            listen_addr: self.listen_addr,
            public_url: self.public_url.clone(),
            poll_seconds: self.poll_seconds,
            claim_seconds: self.claim_seconds,
            register: self.no_register.then_some(false),
            models,
            ..FileConfig::default()
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mistralrs_core=warn".into()),
        )
        .init();
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let config = MinerConfig::try_from(file.overlay(args.layer()?))?;
    let miner = Miner::start(config).await.context("starting the miner")?;
    miner.run(cor_client::daemon::shutdown_signal()).await?;
    Ok(())
}
