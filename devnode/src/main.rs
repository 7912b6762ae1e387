//! `cor-devnode`: a local Arbitrum Stylus dev chain, started like anvil.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use alloy_primitives::{utils::format_ether, U256};
use clap::Parser;
use cor_devnode::{
    node::{DEFAULT_BASE_FEE, DEFAULT_BLOCK_GAS_LIMIT, DEFAULT_CHAIN_ID, DEFAULT_PORT},
    DevNode, NodeConfig,
};

/// A local Arbitrum Stylus chain: runs Stylus (WASM) and EVM contracts, serves the
/// Ethereum JSON-RPC over HTTP and WebSocket. Its accounts and keys are public: for
/// development only.
#[derive(Debug, Parser)]
#[command(name = "cor-devnode", version)]
struct Args {
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (HTTP and WebSocket).
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Chain id.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u64,
    /// Number of funded dev accounts.
    #[arg(long, short, default_value_t = 10)]
    accounts: u32,
    /// Balance of each dev account, in ETH.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// Mnemonic the dev accounts are derived from.
    #[arg(long, short, default_value = cor_devnode::chain::keys::TEST_MNEMONIC)]
    mnemonic: String,
    /// Mine a block every SECONDS instead of one per transaction.
    #[arg(long, short, value_name = "SECONDS")]
    block_time: Option<f64>,
    /// Keep the chain in DIR and restore it from there on start.
    #[arg(long = "state", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Block gas limit.
    #[arg(long, default_value_t = DEFAULT_BLOCK_GAS_LIMIT)]
    gas_limit: u64,
    /// Base fee per gas, wei.
    #[arg(long, default_value_t = DEFAULT_BASE_FEE)]
    base_fee: u64,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let block_time = match args.block_time {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            anyhow::bail!("--block-time must be a positive number of seconds, got {s}")
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let config = NodeConfig {
        host: args.host,
        port: args.port,
        chain_id: args.chain_id,
        mnemonic: args.mnemonic.clone(),
        accounts: args.accounts,
        balance: U256::from(args.balance) * U256::from(10u64).pow(U256::from(18)),
        block_time,
        state_dir: args.state_dir.clone(),
        block_gas_limit: args.gas_limit,
        base_fee: args.base_fee,
        call_gas_cap: 50_000_000,
    };
    let balance = config.balance;
    let mut node = DevNode::start(config)?;
    print_banner(&args, &node, balance);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    println!("\nShutting down...");
    node.shutdown();
    Ok(())
}

fn print_banner(args: &Args, node: &cor_devnode::DevNodeHandle, balance: U256) {
    println!(
        "\ncor-devnode v{} — a local Arbitrum Stylus chain (dev keys: never use them elsewhere)\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Available Accounts\n==================\n");
    for (i, account) in node.accounts().iter().enumerate() {
        println!("({i}) {} ({} ETH)", account.address, format_ether(balance));
    }
    println!("\nPrivate Keys\n==================\n");
    for (i, account) in node.accounts().iter().enumerate() {
        println!("({i}) {}", account.secret_hex());
    }
    println!("\nWallet\n==================");
    println!("Mnemonic:          {}", args.mnemonic);
    println!("Derivation path:   m/44'/60'/0'/0/\n");
    println!("Chain ID\n==================\n\n{}\n", node.chain_id());
    match &args.state_dir {
        Some(dir) => println!("State directory:   {}", dir.display()),
        None => println!("State:             in memory (use --state DIR to keep it)"),
    }
    match args.block_time {
        Some(s) => println!("Mining:            a block every {s} s"),
        None => println!("Mining:            a block per transaction"),
    }
    println!(
        "Stylus:            ArbWasm 0x71, ArbSys 0x64, StylusDeployer {}",
        cor_devnode::chain::genesis::STYLUS_DEPLOYER
    );
    println!(
        "\nListening on {} (WebSocket {})",
        node.url(),
        node.ws_url()
    );
}
