//! The node: a chain, its JSON-RPC server and (optionally) an interval miner, running on
//! their own runtime thread. [`DevNode::start`] is the in-process API tests use.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::{mpsc, Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use alloy_primitives::U256;
use tokio::sync::oneshot;

use crate::{
    chain::{
        keys::{derive_accounts, DevAccount, KeyError, TEST_MNEMONIC},
        Chain, ChainConfig, ChainError,
    },
    rpc::{self, RpcContext, RpcError},
};

/// Arbitrum's local dev chain id (nitro-devnode).
pub const DEFAULT_CHAIN_ID: u64 = 412_346;
/// The port Nitro's dev node serves on.
pub const DEFAULT_PORT: u16 = 8547;
/// Arbitrum's minimum base fee: 0.1 gwei.
pub const DEFAULT_BASE_FEE: u64 = 100_000_000;
/// Block gas limit (Arbitrum's per-block gas target is far higher; 32M keeps gas
/// estimates and `cast` happy).
pub const DEFAULT_BLOCK_GAS_LIMIT: u64 = 32_000_000;

/// Native stack of the node's threads: a Stylus program that calls another nests
/// executors on the native stack.
const THREAD_STACK: usize = 256 * 1024 * 1024;

/// How to run a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Interface to listen on.
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Chain id.
    pub chain_id: u64,
    /// Mnemonic of the dev accounts.
    pub mnemonic: String,
    /// Number of dev accounts.
    pub accounts: u32,
    /// Balance of each dev account, wei.
    pub balance: U256,
    /// `None`: a block per transaction; `Some(t)`: a block every `t`.
    pub block_time: Option<Duration>,
    /// Where to keep the chain (`None`: in memory only).
    pub state_dir: Option<PathBuf>,
    /// Block gas limit.
    pub block_gas_limit: u64,
    /// Base fee per gas, wei.
    pub base_fee: u64,
    /// Gas cap of calls and estimates.
    pub call_gas_cap: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            chain_id: DEFAULT_CHAIN_ID,
            mnemonic: TEST_MNEMONIC.to_owned(),
            accounts: 10,
            balance: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18)),
            block_time: None,
            state_dir: None,
            block_gas_limit: DEFAULT_BLOCK_GAS_LIMIT,
            base_fee: DEFAULT_BASE_FEE,
            call_gas_cap: 50_000_000,
        }
    }
}

impl NodeConfig {
    /// Defaults for tests: a free port, in memory, instant mining.
    pub fn for_tests() -> Self {
        Self {
            port: 0,
            ..Self::default()
        }
    }
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The dev keys could not be derived.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The chain could not be opened.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The server could not start.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The runtime thread could not start.
    #[error("starting the node's runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The runtime thread stopped before reporting.
    #[error("the node's runtime stopped during start-up")]
    Startup,
}

/// The node.
#[derive(Debug)]
pub struct DevNode;

impl DevNode {
    /// Starts a node and returns once it listens.
    ///
    /// # Errors
    /// A [`NodeError`] naming what failed (keys, state directory, port).
    pub fn start(config: NodeConfig) -> Result<DevNodeHandle, NodeError> {
        let accounts = derive_accounts(&config.mnemonic, config.accounts)?;
        let chain_config = ChainConfig {
            chain_id: config.chain_id,
            block_gas_limit: config.block_gas_limit,
            base_fee: config.base_fee,
            accounts: accounts.clone(),
            balance: config.balance,
            genesis_timestamp: None,
            call_gas_cap: config.call_gas_cap,
        };
        let mut chain = Chain::open(chain_config, config.state_dir.as_deref())?;
        chain.set_auto_mine(config.block_time.is_none());
        let chain_id = chain.chain_id();
        let chain = Arc::new(Mutex::new(chain));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(THREAD_STACK)
            .thread_name("cor-devnode")
            .enable_all()
            .build()?;
        let (ready_tx, ready_rx) = mpsc::channel::<Result<SocketAddr, RpcError>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let addr = SocketAddr::new(config.host, config.port);
        let block_time = config.block_time;
        let serve_chain = chain.clone();
        let thread = std::thread::Builder::new()
            .name("cor-devnode-main".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                runtime.block_on(async move {
                    let ctx = RpcContext::new(serve_chain.clone());
                    let (bound, handle) = match rpc::serve(addr, ctx).await {
                        Ok(ok) => ok,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(bound));
                    let miner =
                        block_time.map(|every| tokio::spawn(mine_every(serve_chain, every)));
                    let _ = stop_rx.await;
                    if let Some(miner) = miner {
                        miner.abort();
                    }
                    let _ = handle.stop();
                    handle.stopped().await;
                });
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        let addr = match ready_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e.into());
            }
            Err(_) => return Err(NodeError::Startup),
        };
        tracing::info!(%addr, chain_id, "dev node listening");
        Ok(DevNodeHandle {
            addr,
            chain_id,
            accounts,
            chain,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// Mines a block every `every` (interval mode).
async fn mine_every(chain: Arc<Mutex<Chain>>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let chain = chain.clone();
        let mined = tokio::task::spawn_blocking(move || {
            let mut chain = chain
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            chain.mine(None).map(|b| (b.number(), b.transactions.len()))
        })
        .await;
        match mined {
            Ok(Ok((number, txs))) => tracing::debug!(number, txs, "interval block"),
            Ok(Err(e)) => tracing::error!(error = %e, "mining failed"),
            Err(e) => tracing::error!(error = %e, "miner task failed"),
        }
    }
}

/// A running node. Dropping it stops the node.
#[derive(Debug)]
pub struct DevNodeHandle {
    addr: SocketAddr,
    chain_id: u64,
    accounts: Vec<DevAccount>,
    chain: Arc<Mutex<Chain>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DevNodeHandle {
    /// The HTTP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket endpoint (same port).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The funded, unlocked dev accounts.
    pub fn accounts(&self) -> &[DevAccount] {
        &self.accounts
    }

    /// The chain, for in-process inspection.
    pub fn chain(&self) -> &Arc<Mutex<Chain>> {
        &self.chain
    }

    /// Stops the server and the miner and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops the node and waits for its threads; does nothing the second time.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DevNodeHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
