//! `cor`: deploy the COR suite on any Arbitrum chain (the dev node, Arbitrum Sepolia, an
//! Orbit L3) and use it from the command line as a user, staker, node operator, keeper
//! or admin. Each subcommand is a thin layer over the `cor-abi` bindings through a
//! `cor-client` connection; see `docs/cli.md`.

mod amount;
mod cmd;
mod config;
mod context;
mod error;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{
    config::{OutputArgs, RpcArgs, Settings, WalletArgs},
    context::Ctx,
    error::CliError,
};

/// Deploy and use the COR inference-economics contracts.
///
/// Settings come from flags, then COR_* environment variables, then a TOML file
/// (--config, or ./cor.toml when present), then defaults.
#[derive(Debug, Parser)]
#[command(name = "cor", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    rpc: RpcArgs,
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Deploy, activate and wire the suite (resumes a half-finished deployment)
    Deploy(cmd::deploy::DeployArgs),
    /// Print the deployed contracts' addresses
    Addresses,
    /// The COR token: balances, transfers, approvals, minting (owner)
    #[command(subcommand)]
    Token(cmd::token::TokenCmd),
    /// Quote the price of a task
    Quote(cmd::quote::QuoteArgs),
    /// Deposit COR into your escrow (approves SessionPayment first when needed)
    Deposit(cmd::escrow::DepositArgs),
    /// Withdraw COR that no task has locked from your escrow
    Withdraw(cmd::escrow::WithdrawArgs),
    /// An account's COR: wallet, escrow, claimable payments, stake
    Balance(cmd::escrow::BalanceArgs),
    /// Stake COR for free quota (counts from the next period)
    Stake(cmd::stake::StakeArgs),
    /// Start unstaking COR, or withdraw what finished cooling down
    Unstake(cmd::stake::UnstakeArgs),
    /// Quota left this period; overage opt-in
    #[command(subcommand)]
    Quota(cmd::quota::QuotaCmd),
    /// Open and inspect sessions
    #[command(subcommand)]
    Session(cmd::session::SessionCmd),
    /// Submit, follow and finalize tasks; commit and reveal by hand as an operator
    #[command(subcommand)]
    Task(cmd::task::TaskCmd),
    /// Operate a miner node: register, models, heartbeat, exit, withdraw
    #[command(subcommand)]
    Node(cmd::node::NodeCmd),
    /// Claim task payments (SessionPayment) and epoch rewards (NodeReward)
    Claim(cmd::claim::ClaimArgs),
    /// Reward epochs: status, and closing one (any keeper)
    #[command(subcommand)]
    Epoch(cmd::epoch::EpochCmd),
    /// Show and schedule the contracts' admin parameters
    #[command(subcommand)]
    Params(cmd::params::ParamsCmd),
    /// Bring up a local network (dev node, suite, keeper, three miners) and run a
    /// demonstration session; stays up until Ctrl-C
    Up(cmd::up::UpArgs),
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::resolve(&cli.rpc, &cli.wallet, &cli.output)?;
    let ctx = Ctx { settings };
    let output = match cli.command {
        Command::Deploy(args) => cmd::deploy::run(&ctx, args).await?,
        Command::Addresses => cmd::deploy::addresses(&ctx).await?,
        Command::Token(c) => cmd::token::run(&ctx, c).await?,
        Command::Quote(args) => cmd::quote::run(&ctx, args).await?,
        Command::Deposit(args) => cmd::escrow::deposit(&ctx, args).await?,
        Command::Withdraw(args) => cmd::escrow::withdraw(&ctx, args).await?,
        Command::Balance(args) => cmd::escrow::balance(&ctx, args).await?,
        Command::Stake(args) => cmd::stake::stake(&ctx, args).await?,
        Command::Unstake(args) => cmd::stake::unstake(&ctx, args).await?,
        Command::Quota(c) => cmd::quota::run(&ctx, c).await?,
        Command::Session(c) => cmd::session::run(&ctx, c).await?,
        Command::Task(c) => cmd::task::run(&ctx, c).await?,
        Command::Node(c) => cmd::node::run(&ctx, c).await?,
        Command::Claim(args) => cmd::claim::run(&ctx, args).await?,
        Command::Epoch(c) => cmd::epoch::run(&ctx, c).await?,
        Command::Params(c) => cmd::params::run(&ctx, c).await?,
        Command::Up(args) => return cmd::up::run(args).await,
    };
    ctx.print(&output);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e.to_string());
            e.exit_code()
        }
    }
}

/// Writes an error to stderr; a closed stderr is ignored rather than a panic.
fn report(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "error: {message}");
}
