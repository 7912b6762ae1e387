//! `cor-bench scale`: what grows with the number of nodes.
//!
//! For 10, 100, 1 000 and 10 000 registered nodes, all serving the model and all live in
//! the epoch (a heartbeat each), one epoch each:
//! - `submitTask` gas (N = 3 Exact: the assignment draws from every eligible node);
//! - the task answered by its seats, the epoch closed: `finalizeEpoch` gas;
//! - one of the seats claims its reward for the epoch: `claim` gas.
//!
//! Then 100 more epochs end at once and the keeper (the `cor-keeper` library, in this
//! process) catches up: its wall time.
//!
//! Registering 10 000 nodes fast: keys are derived from a fixed seed, funded with ETH by
//! `anvil_setBalance` (in JSON-RPC batches, before the suite exists, while the state is
//! small), and every node's transactions (the owner's COR mint, the node's approve,
//! register and heartbeat) are signed here and sent as JSON-RPC batches of many senders
//! with the dev node's auto-mining off, one block per batch (the dev node runs with a
//! large block gas limit for that): no receipt is awaited one by one, and every block's
//! receipts are checked.

use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant, SystemTime},
};

use alloy::{
    providers::{DynProvider, Provider},
    rpc::client::BatchRequest,
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256, U64};
use alloy_sol_types::SolCall;
use cor_abi::{CommitReveal, CorToken, NodePool, NodeReward, SessionPayment, SessionQueue};
use cor_client::{
    deploy::deploy,
    params::{cor, DeployParams, RewardParams},
    wallet::dev_account,
    Connection, Deployment, Programs, Suite,
};
use cor_devnode::{DevNode, DevNodeHandle, NodeConfig};
use cor_e2e::{
    events,
    gas::{measure, Measured},
    network::{Shape, MODEL},
    Answer,
};
use cor_keeper::{
    config::{FileConfig, KeeperConfig, Signer},
    Keeper,
};
use serde::{Deserialize, Serialize};

use crate::{
    load::{self, Fees, RawTx},
    report::{fixed, Machine, Report, Section, Table},
    BenchError,
};

/// Block gas limit of the scale run's dev node: one block holds a whole batch of
/// registrations (the default 32 M holds a few dozen).
pub const BLOCK_GAS_LIMIT: u64 = 4_000_000_000;
/// ETH given to each node for gas.
const NODE_ETH: u128 = 1_000_000_000_000_000_000;
// Gas limits of the bulk transactions: generous (a block is packed by limits, not by
// gas used, and the block gas limit is large), and safe because every receipt is checked.
/// Gas limit of a bulk COR mint.
const MINT_GAS: u64 = 1_000_000;
/// Gas limit of a bulk approve.
const APPROVE_GAS: u64 = 1_000_000;
/// Gas limit of a bulk registration.
const REGISTER_GAS: u64 = 3_000_000;
/// Gas limit of a bulk heartbeat.
const HEARTBEAT_GAS: u64 = 1_000_000;
/// `anvil_setBalance` calls per JSON-RPC batch.
const FUNDING_BATCH: usize = 1_000;
/// Tasks submitted per node count (one is answered): the seat draws, and so the gas,
/// differ per task.
const SUBMITS_PER_STEP: usize = 5;
/// The keeper's dev account.
const KEEPER_ACCOUNT: u32 = 8;
/// The user's dev account.
const USER_ACCOUNT: u32 = 9;

/// Settings of one `scale` run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Built COR programs (`<artifact>.code`).
    pub programs_dir: PathBuf,
    /// Node counts, ascending.
    pub sizes: Vec<usize>,
    /// Ended epochs the keeper catches up.
    pub catch_up_epochs: u64,
    /// Nodes whose four setup transactions go into one block.
    pub nodes_per_block: usize,
    /// The command line, for the report.
    pub command: String,
    /// Whether this is the `--quick` size.
    pub quick: bool,
}

/// Gas and storage writes of one call.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Gas {
    /// Gas used.
    pub gas: u64,
    /// Storage slots written from zero.
    pub fresh: u32,
    /// Non-zero storage slots changed.
    pub updated: u32,
    /// The storage-only floor (see `cor_e2e::gas`).
    pub floor: u64,
    /// `gas / floor`.
    pub ratio: f64,
}

impl From<Measured> for Gas {
    fn from(m: Measured) -> Self {
        Self {
            gas: m.gas,
            fresh: m.fresh,
            updated: m.updated,
            floor: m.floor(),
            ratio: m.ratio(),
        }
    }
}

/// One node count.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Registered nodes, every one live in the epoch.
    pub nodes: usize,
    /// `NodePool.eligibleCount(model)`: the nodes a task is drawn from.
    pub eligible: u32,
    /// The epoch measured.
    pub epoch: u64,
    /// The first `submitTask` (N = 3 Exact), the task that is answered.
    pub submit: Gas,
    /// Gas of every `submitTask` of the step (the seat draws differ per task).
    pub submits: Vec<u64>,
    /// `finalizeEpoch` of the epoch.
    pub finalize_epoch: Gas,
    /// A seat's reward `claim` for the epoch.
    pub claim: Gas,
    /// Nodes registered in this step.
    pub new_nodes: usize,
    /// Mean gas of this step's bulk registrations.
    pub register_gas_mean: Option<f64>,
    /// Mean gas of this step's bulk heartbeats.
    pub heartbeat_gas_mean: Option<f64>,
    /// Bulk transactions sent (mints, approves, registrations, heartbeats).
    pub bulk_txs: usize,
    /// Wall time of the bulk part, seconds.
    pub bulk_seconds: f64,
    /// Blocks the bulk part mined.
    pub bulk_blocks: usize,
}

/// The keeper catching up.
#[derive(Clone, Debug, Serialize)]
pub struct CatchUp {
    /// Ended epochs waiting when the keeper started.
    pub epochs: u64,
    /// Epochs the keeper closed in its round.
    pub closed: usize,
    /// Wall time of `Keeper::connect` and the round, seconds.
    pub seconds: f64,
    /// Wall time per epoch, milliseconds.
    pub per_epoch_ms: f64,
    /// Mean gas of its `finalizeEpoch` transactions.
    pub gas_mean: f64,
}

/// Everything a run measured, as written to `scale.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// When.
    pub date: String,
    /// The command line.
    pub command: String,
    /// `--quick` or the default size.
    pub quick: bool,
    /// The machine.
    pub machine: Machine,
    /// Versions.
    pub versions: Vec<(String, String)>,
    /// Wall time of the whole section, seconds.
    pub seconds: f64,
    /// Wall time of key derivation and ETH funding, seconds.
    pub funding_seconds: f64,
    /// The dev node's block gas limit.
    pub block_gas_limit: u64,
    /// Nodes whose setup went into one block.
    pub nodes_per_block: usize,
    /// One entry per node count.
    pub steps: Vec<Step>,
    /// The keeper.
    pub catch_up: CatchUp,
}

/// Runs the section and returns the results and their report.
///
/// # Errors
/// [`BenchError`] naming what failed.
pub async fn run(config: &Config) -> Result<(Results, Report), BenchError> {
    let started = Instant::now();
    let date = crate::report::utc_timestamp(SystemTime::now());
    let machine = Machine::detect();
    let programs = Programs::load(&config.programs_dir)?;
    let most = config.sizes.iter().copied().max().unwrap_or(0);

    tracing::info!("starting the dev node (in memory, block gas limit {BLOCK_GAS_LIMIT})");
    let node = DevNode::start(NodeConfig {
        port: 0,
        accounts: crate::nodes::ACCOUNTS,
        block_gas_limit: BLOCK_GAS_LIMIT,
        ..NodeConfig::default()
    })
    .map_err(crate::nodes::StartError::DevNode)?;
    let dir = std::env::temp_dir().join(format!("cor-bench-scale-{}", std::process::id()));
    let outcome = measure_all(config, &programs, &node, &dir, most).await;
    let _ = tokio::task::spawn_blocking(move || node.stop()).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (funding_seconds, steps, catch_up) = outcome?;

    let results = Results {
        date,
        command: config.command.clone(),
        quick: config.quick,
        machine,
        versions: crate::versions(),
        seconds: started.elapsed().as_secs_f64(),
        funding_seconds,
        block_gas_limit: BLOCK_GAS_LIMIT,
        nodes_per_block: config.nodes_per_block,
        steps,
        catch_up,
    };
    let report = report(&results);
    Ok((results, report))
}

async fn measure_all(
    config: &Config,
    programs: &Programs,
    node: &DevNodeHandle,
    dir: &std::path::Path,
    most: usize,
) -> Result<(f64, Vec<Step>, CatchUp), BenchError> {
    let url = node.url();
    let provider = load::provider(&url)?;

    let t = Instant::now();
    tracing::info!("deriving {most} node keys and funding them with ETH");
    let keys = tokio::task::spawn_blocking(move || node_keys(most))
        .await
        .map_err(|e| BenchError::Setup(format!("key derivation stopped: {e}")))??;
    fund_eth(&provider, &keys).await?;
    let funding_seconds = t.elapsed().as_secs_f64();
    tracing::info!("{most} nodes funded in {funding_seconds:.1} s");

    let chain = Chain::deploy(&url, programs, dir).await?;
    let mut nodes = Nodes::new(keys);
    let mut steps = Vec::new();
    for &size in &config.sizes {
        steps.push(step(&chain, &mut nodes, size, config.nodes_per_block).await?);
    }
    let catch_up = catch_up(&chain, config.catch_up_epochs).await?;
    Ok((funding_seconds, steps, catch_up))
}

/// The deterministic key of node `i` (so runs are comparable).
fn node_key(i: usize) -> Result<PrivateKeySigner, BenchError> {
    PrivateKeySigner::from_bytes(&keccak256(format!("cor-bench scale node {i}")))
        .map_err(|e| BenchError::Setup(format!("node key {i}: {e}")))
}

fn node_keys(count: usize) -> Result<Vec<PrivateKeySigner>, BenchError> {
    (0..count).map(node_key).collect()
}

/// Gives every node [`NODE_ETH`] with `anvil_setBalance`, in JSON-RPC batches.
async fn fund_eth(provider: &DynProvider, keys: &[PrivateKeySigner]) -> Result<(), BenchError> {
    for chunk in keys.chunks(FUNDING_BATCH) {
        let mut batch = BatchRequest::new(provider.client());
        let mut waiters = Vec::with_capacity(chunk.len());
        for key in chunk {
            waiters.push(
                batch
                    .add_call::<_, serde_json::Value>(
                        "anvil_setBalance",
                        &(key.address(), U256::from(NODE_ETH)),
                    )
                    .map_err(rpc_error("anvil_setBalance"))?,
            );
        }
        batch.send().await.map_err(rpc_error("anvil_setBalance"))?;
        for waiter in waiters {
            waiter.await.map_err(rpc_error("anvil_setBalance"))?;
        }
    }
    Ok(())
}

fn rpc_error(what: &'static str) -> impl Fn(alloy::transports::TransportError) -> BenchError {
    move |e| BenchError::Setup(format!("{what}: {e}"))
}

/// The deployed suite and the accounts that drive it.
struct Chain {
    url: String,
    provider: DynProvider,
    deployments: PathBuf,
    suite: Suite,
    epoch_length: u64,
    min_stake: u64,
    owner: Connection,
    owner_key: PrivateKeySigner,
    user: Connection,
    session: u64,
    chain_id: u64,
    fees: Fees,
}

impl Chain {
    /// Deploys the suite (with a reward pool that lasts every epoch of the run), gives
    /// the user escrow and opens its N = 3 Exact session (`Shape::default()`).
    async fn deploy(
        url: &str,
        programs: &Programs,
        dir: &std::path::Path,
    ) -> Result<Self, BenchError> {
        let provider = load::provider(url)?;
        let account = |i| dev_account(i).map_err(|e| BenchError::Setup(e.to_string()));
        let owner_key = account(0)?;
        let owner = Connection::connect(url, owner_key.clone()).await?;
        let _ = std::fs::remove_dir_all(dir);
        let deployments = Deployment::path_for(dir, owner.chain_id());
        let params = DeployParams {
            rewards: RewardParams { fund: 1_000_000 },
            ..DeployParams::default()
        };
        tracing::info!("deploying the COR suite");
        let deployment = deploy(&owner, programs, &params, &deployments, &mut |_| {}).await?;
        let suite = deployment
            .suite()
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        suite.label(&owner);
        let user = Connection::connect(url, account(USER_ACCOUNT)?).await?;
        suite.label(&user);
        owner
            .send(
                suite.token,
                &CorToken::mintCall {
                    to: user.address(),
                    value: cor(100_000),
                },
            )
            .await?;
        user.send(
            suite.token,
            &CorToken::approveCall {
                spender: suite.payment,
                value: U256::MAX,
            },
        )
        .await?;
        user.send(
            suite.payment,
            &SessionPayment::depositCall {
                amount: cor(10_000),
            },
        )
        .await?;
        let created = user
            .send(suite.session_queue, &Shape::default().create_call())
            .await?;
        let session = events::<SessionQueue::SessionCreated>(&created)
            .first()
            .ok_or_else(|| BenchError::Setup("no SessionCreated event".to_owned()))?
            .sessionId;
        let chain = Self {
            url: url.to_owned(),
            fees: Fees::for_node(&provider).await?,
            provider,
            deployments,
            suite,
            epoch_length: deployment.params.nodes.epoch_length,
            min_stake: deployment.params.nodes.min_stake,
            chain_id: owner.chain_id(),
            owner,
            owner_key,
            user,
            session,
        };
        // Close epoch 0 (empty): an epoch's first finalization writes slots fresh that
        // every later one updates, and each measured epoch should be a later one.
        chain.advance(chain.epoch_length).await?;
        chain
            .owner
            .send(suite.reward, &NodeReward::finalizeEpochCall { epoch: 0 })
            .await?;
        Ok(chain)
    }

    /// A JSON-RPC request by name (the dev methods, `eth_getBlockReceipts`).
    /// (The bounds are alloy's `RpcRecv` and `RpcSend`, which alloy exports only with its
    /// `json-rpc` feature.)
    async fn raw<R>(
        &self,
        method: &'static str,
        params: impl serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin,
    ) -> Result<R, BenchError>
    where
        R: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        self.provider
            .raw_request(method.into(), params)
            .await
            .map_err(rpc_error(method))
    }

    /// Moves the clock forward `seconds` and mines a block.
    async fn advance(&self, seconds: u64) -> Result<(), BenchError> {
        let _: serde_json::Value = self.raw("evm_increaseTime", (seconds,)).await?;
        let _: serde_json::Value = self.raw("evm_mine", ()).await?;
        Ok(())
    }

    async fn current_epoch(&self) -> Result<u64, BenchError> {
        Ok(self
            .owner
            .view(self.suite.reward, &NodeReward::currentEpochCall {})
            .await?)
    }
}

/// The nodes: their keys, the next nonce of each, and how many are registered.
struct Nodes {
    keys: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
    index: HashMap<Address, usize>,
    registered: usize,
}

impl Nodes {
    fn new(keys: Vec<PrivateKeySigner>) -> Self {
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.address(), i))
            .collect();
        Self {
            nonces: vec![0; keys.len()],
            keys,
            index,
            registered: 0,
        }
    }

    /// A connection signing for the node at `address` (a task's seat).
    async fn connect(
        &self,
        chain: &Chain,
        address: Address,
    ) -> Result<(usize, Connection), BenchError> {
        let i = *self
            .index
            .get(&address)
            .ok_or_else(|| BenchError::Setup(format!("{address} is not a bench node")))?;
        let conn = Connection::connect(&chain.url, self.keys[i].clone()).await?;
        chain.suite.label(&conn);
        Ok((i, conn))
    }

    /// Reads node `i`'s nonce again after it sent through a [`Connection`].
    async fn resync(&mut self, chain: &Chain, i: usize) -> Result<(), BenchError> {
        self.nonces[i] = chain
            .provider
            .get_transaction_count(self.keys[i].address())
            .await
            .map_err(rpc_error("eth_getTransactionCount"))?;
        Ok(())
    }
}

/// What a bulk transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Mint,
    Approve,
    Register,
    Heartbeat,
}

impl Kind {
    fn gas_limit(self) -> u64 {
        match self {
            Kind::Mint => MINT_GAS,
            Kind::Approve => APPROVE_GAS,
            Kind::Register => REGISTER_GAS,
            Kind::Heartbeat => HEARTBEAT_GAS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Mint => "mint",
            Kind::Approve => "approve",
            Kind::Register => "register",
            Kind::Heartbeat => "heartbeat",
        }
    }
}

/// A bulk transaction to sign.
struct Job {
    kind: Kind,
    signer: PrivateKeySigner,
    nonce: u64,
    to: Address,
    input: Bytes,
}

/// Gas and count per kind of what a bulk run mined.
#[derive(Default)]
struct Tally {
    count: HashMap<Kind, usize>,
    gas: HashMap<Kind, u64>,
    txs: usize,
    blocks: usize,
}

impl Tally {
    fn mean(&self, kind: Kind) -> Option<f64> {
        let n = *self.count.get(&kind)?;
        (n > 0).then(|| self.gas.get(&kind).copied().unwrap_or(0) as f64 / n as f64)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkReceipt {
    transaction_hash: B256,
    status: U64,
    gas_used: U64,
}

/// Registers nodes up to `size` and heartbeats every registered one, in blocks of
/// `per_block` nodes; then measures submitTask, finalizeEpoch and claim.
async fn step(
    chain: &Chain,
    nodes: &mut Nodes,
    size: usize,
    per_block: usize,
) -> Result<Step, BenchError> {
    let epoch = chain.current_epoch().await?;
    let old = nodes.registered;
    let new_nodes = size.saturating_sub(old);
    let addresses: Vec<Address> = nodes.keys.iter().map(|k| k.address()).collect();
    tracing::info!(
        "{size} nodes: registering {new_nodes}, heartbeats for all {size} (epoch {epoch})"
    );

    // Jobs, in block order: each block's new nodes get COR, approve, register and send a
    // heartbeat; the nodes already registered only send a heartbeat.
    let s = chain.suite;
    let stake = cor(chain.min_stake);
    let mut owner_nonce = chain
        .provider
        .get_transaction_count(chain.owner.address())
        .await
        .map_err(rpc_error("eth_getTransactionCount"))?;
    let mut job = |kind: Kind, i: usize, to: Address, input: Vec<u8>| {
        let (signer, nonce) = match kind {
            Kind::Mint => (chain.owner_key.clone(), &mut owner_nonce),
            _ => (nodes.keys[i].clone(), &mut nodes.nonces[i]),
        };
        *nonce += 1;
        Job {
            kind,
            signer,
            nonce: *nonce - 1,
            to,
            input: input.into(),
        }
    };
    let heartbeat = NodePool::heartbeatCall {}.abi_encode();
    let register = NodePool::registerCall {
        models: vec![MODEL],
        metadata: B256::ZERO,
    }
    .abi_encode();
    let mut blocks: Vec<Vec<Job>> = Vec::new();
    for chunk in (0..old).collect::<Vec<_>>().chunks(per_block * 4) {
        blocks.push(
            chunk
                .iter()
                .map(|&i| job(Kind::Heartbeat, i, s.node_pool, heartbeat.clone()))
                .collect(),
        );
    }
    for chunk in (old..size).collect::<Vec<_>>().chunks(per_block) {
        let mut block = Vec::with_capacity(chunk.len() * 4);
        for &i in chunk {
            let to = addresses[i];
            let mint = CorToken::mintCall { to, value: stake }.abi_encode();
            block.push(job(Kind::Mint, i, s.token, mint));
        }
        for &i in chunk {
            let approve = CorToken::approveCall {
                spender: s.node_pool,
                value: stake,
            }
            .abi_encode();
            block.push(job(Kind::Approve, i, s.token, approve));
        }
        for &i in chunk {
            block.push(job(Kind::Register, i, s.node_pool, register.clone()));
        }
        for &i in chunk {
            block.push(job(Kind::Heartbeat, i, s.node_pool, heartbeat.clone()));
        }
        blocks.push(block);
    }
    let t = Instant::now();
    let tally = bulk(chain, blocks, &format!("{size} nodes")).await;
    // The owner's cached nonce is stale after the bulk mints.
    chain.owner.reset_nonce().await;
    let tally = tally?;
    let bulk_seconds = t.elapsed().as_secs_f64();
    nodes.registered = size.max(nodes.registered);
    tracing::info!(
        "{size} nodes: {} bulk transactions in {} blocks, {bulk_seconds:.1} s ({:.0} tx/s)",
        tally.txs,
        tally.blocks,
        tally.txs as f64 / bulk_seconds
    );

    let eligible = chain
        .owner
        .view(s.node_pool, &NodePool::eligibleCountCall { modelId: MODEL })
        .await?;
    if eligible as usize != size {
        return Err(BenchError::Setup(format!(
            "{eligible} nodes eligible after registering {size}"
        )));
    }

    // Tasks: every submit measured (the draws differ), the first answered by its seats
    // and finalized.
    let mut submits = Vec::with_capacity(SUBMITS_PER_STEP);
    let mut first = None;
    for k in 0..SUBMITS_PER_STEP {
        let prompt = format!("scale {size} task {k}");
        let receipt = chain
            .user
            .send(
                s.session_queue,
                &SessionQueue::submitTaskCall {
                    sessionId: chain.session,
                    inputHash: keccak256(&prompt),
                    inputUri: format!("data:,{prompt}"),
                    maxTokens: 256,
                    sampling: B256::ZERO,
                },
            )
            .await?;
        submits.push(measure(&chain.user, &receipt).await);
        first.get_or_insert(receipt);
    }
    let submit = first.ok_or_else(|| BenchError::Setup("no task submitted".to_owned()))?;
    let submit_gas = submits[0];
    let task = events::<SessionQueue::TaskSubmitted>(&submit)
        .first()
        .ok_or_else(|| BenchError::Setup("no TaskSubmitted event".to_owned()))?
        .taskId;
    let seats: Vec<Address> = events::<SessionQueue::TaskAssigned>(&submit)
        .iter()
        .map(|a| a.miner)
        .collect();
    let answer = Answer::text("scale");
    let mut seat_conns = Vec::new();
    for &seat in &seats {
        seat_conns.push(nodes.connect(chain, seat).await?);
    }
    for (_, conn) in &seat_conns {
        conn.send(s.commit_reveal, &answer.commit_call(task, conn.address()))
            .await?;
    }
    for (_, conn) in &seat_conns {
        conn.send(s.commit_reveal, &answer.reveal_call(task))
            .await?;
    }
    chain
        .owner
        .send(
            s.commit_reveal,
            &CommitReveal::finalizeCall { taskId: task },
        )
        .await?;

    // The epoch ends: close it, a seat claims.
    chain.advance(chain.epoch_length).await?;
    let next = chain
        .owner
        .view(s.reward, &NodeReward::nextEpochToFinalizeCall {})
        .await?;
    if next != epoch {
        return Err(BenchError::Setup(format!(
            "epoch {next} is next to finalize, expected {epoch}"
        )));
    }
    let closed = chain
        .owner
        .send(s.reward, &NodeReward::finalizeEpochCall { epoch })
        .await?;
    let finalize_epoch = measure(&chain.owner, &closed).await;
    let conn = &seat_conns[0].1;
    let claimed = conn
        .send(
            s.reward,
            &NodeReward::claimCall {
                epochs: vec![epoch],
            },
        )
        .await?;
    let claim = measure(conn, &claimed).await;
    for (i, _) in &seat_conns {
        nodes.resync(chain, *i).await?;
    }
    tracing::info!(
        "{size} nodes: submitTask {} gas, finalizeEpoch {} gas, claim {} gas",
        submit_gas.gas,
        finalize_epoch.gas,
        claim.gas
    );
    Ok(Step {
        nodes: size,
        eligible,
        epoch,
        submit: submit_gas.into(),
        submits: submits.iter().map(|m| m.gas).collect(),
        finalize_epoch: finalize_epoch.into(),
        claim: claim.into(),
        new_nodes,
        register_gas_mean: tally.mean(Kind::Register),
        heartbeat_gas_mean: tally.mean(Kind::Heartbeat),
        bulk_txs: tally.txs,
        bulk_seconds,
        bulk_blocks: tally.blocks,
    })
}

/// Signs each block's jobs (the next block's while this one is sent and mined), sends
/// them as one JSON-RPC batch with auto-mining off, mines the block and checks every
/// receipt. Auto-mining is back on when it returns.
async fn bulk(chain: &Chain, blocks: Vec<Vec<Job>>, label: &str) -> Result<Tally, BenchError> {
    let total: usize = blocks.iter().map(Vec::len).sum();
    let _: serde_json::Value = chain.raw("evm_setAutomine", (false,)).await?;
    let result = bulk_blocks(chain, blocks, label, total).await;
    let _: serde_json::Value = chain.raw("evm_setAutomine", (true,)).await?;
    result
}

async fn bulk_blocks(
    chain: &Chain,
    blocks: Vec<Vec<Job>>,
    label: &str,
    total: usize,
) -> Result<Tally, BenchError> {
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut last_log = Instant::now();
    let signer = |jobs: Vec<Job>, chain_id: u64, fees: Fees| {
        tokio::task::spawn_blocking(move || {
            jobs.iter()
                .map(|job| {
                    let tx = load::sign(
                        &job.signer,
                        chain_id,
                        job.nonce,
                        TxKind::Call(job.to),
                        U256::ZERO,
                        job.input.clone(),
                        job.kind.gas_limit(),
                        fees,
                    )?;
                    Ok((job.kind, tx))
                })
                .collect::<Result<Vec<(Kind, RawTx)>, BenchError>>()
        })
    };
    let mut pending = blocks.into_iter();
    let mut next = pending
        .next()
        .map(|b| signer(b, chain.chain_id, chain.fees));
    while let Some(signing) = next.take() {
        let txs = signing
            .await
            .map_err(|e| BenchError::Setup(format!("signing stopped: {e}")))??;
        next = pending
            .next()
            .map(|b| signer(b, chain.chain_id, chain.fees));
        mine_block(chain, &txs, &mut tally).await?;
        if last_log.elapsed() > Duration::from_secs(5) {
            last_log = Instant::now();
            tracing::info!(
                "{label}: {}/{total} transactions mined after {:.0} s",
                tally.txs,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(tally)
}

/// Sends `txs` as one JSON-RPC batch, mines until all are in, checks their receipts.
async fn mine_block(
    chain: &Chain,
    txs: &[(Kind, RawTx)],
    tally: &mut Tally,
) -> Result<(), BenchError> {
    let mut batch = BatchRequest::new(chain.provider.client());
    let mut waiters = Vec::with_capacity(txs.len());
    for (_, tx) in txs {
        waiters.push(
            batch
                .add_call::<_, B256>("eth_sendRawTransaction", &(tx.raw.clone(),))
                .map_err(rpc_error("eth_sendRawTransaction"))?,
        );
    }
    batch
        .send()
        .await
        .map_err(rpc_error("eth_sendRawTransaction"))?;
    for (waiter, (kind, tx)) in waiters.into_iter().zip(txs) {
        waiter.await.map_err(|e| {
            BenchError::Setup(format!(
                "the node refused a {} ({}): {e}",
                kind.name(),
                tx.hash
            ))
        })?;
    }
    let mut waiting: HashMap<B256, Kind> = txs.iter().map(|(k, tx)| (tx.hash, *k)).collect();
    while !waiting.is_empty() {
        let _: serde_json::Value = chain.raw("evm_mine", ()).await?;
        tally.blocks += 1;
        let receipts: Vec<BulkReceipt> = chain.raw("eth_getBlockReceipts", ("latest",)).await?;
        if receipts.is_empty() {
            return Err(BenchError::Setup(format!(
                "{} accepted transactions were never mined",
                waiting.len()
            )));
        }
        for r in receipts {
            let Some(kind) = waiting.remove(&r.transaction_hash) else {
                continue;
            };
            if r.status != U64::from(1) {
                return Err(BenchError::Setup(format!(
                    "a bulk {} failed on chain ({}, {} gas)",
                    kind.name(),
                    r.transaction_hash,
                    r.gas_used
                )));
            }
            *tally.count.entry(kind).or_default() += 1;
            *tally.gas.entry(kind).or_default() += r.gas_used.to::<u64>();
            tally.txs += 1;
        }
    }
    Ok(())
}

/// Ends `epochs` epochs at once and times the keeper closing them all.
async fn catch_up(chain: &Chain, epochs: u64) -> Result<CatchUp, BenchError> {
    chain.advance(epochs * chain.epoch_length).await?;
    let next = chain
        .owner
        .view(chain.suite.reward, &NodeReward::nextEpochToFinalizeCall {})
        .await?;
    let current = chain.current_epoch().await?;
    let waiting = current.saturating_sub(next);
    tracing::info!("keeper: catching up {waiting} ended epochs ({next}..{current})");
    let config = KeeperConfig::try_from(FileConfig {
        rpc_url: Some(chain.url.clone()),
        deployments: Some(chain.deployments.clone()),
        signer: Some(Signer::DevAccount(KEEPER_ACCOUNT)),
        poll_seconds: Some(1),
        receipt_timeout_seconds: Some(5),
        tasks: Some(false),
        ..FileConfig::default()
    })
    .map_err(|e| BenchError::Setup(format!("keeper config: {e}")))?;
    let t = Instant::now();
    let mut keeper = Keeper::connect(config).await?;
    let report = keeper.round().await?;
    let seconds = t.elapsed().as_secs_f64();
    let closed = report.epochs.len();
    let gas: u64 = report.epochs.iter().map(|e| e.gas_used).sum();
    tracing::info!("keeper: closed {closed} epochs in {seconds:.2} s");
    if closed as u64 != waiting {
        return Err(BenchError::Setup(format!(
            "the keeper closed {closed} of {waiting} ended epochs"
        )));
    }
    Ok(CatchUp {
        epochs: waiting,
        closed,
        seconds,
        per_epoch_ms: seconds * 1_000.0 / closed.max(1) as f64,
        gas_mean: gas as f64 / closed.max(1) as f64,
    })
}

/// Mean, least and most of `values`.
fn spread(values: &[u64]) -> [String; 3] {
    let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
    let min = values.iter().min().map_or(0, |v| *v);
    let max = values.iter().max().map_or(0, |v| *v);
    [fixed(mean, 0), min.to_string(), max.to_string()]
}

fn gas_cells(g: &Gas) -> [String; 3] {
    [
        g.gas.to_string(),
        g.fresh.to_string(),
        g.updated.to_string(),
    ]
}

/// The Markdown report of `results`.
pub fn report(results: &Results) -> Report {
    let mut calls = Table::new([
        "nodes",
        "submitTask gas",
        "fresh",
        "updated",
        "submitTask mean",
        "min",
        "max",
        "finalizeEpoch gas",
        "fresh",
        "updated",
        "claim gas",
        "fresh",
        "updated",
    ]);
    for s in &results.steps {
        calls.row(
            [s.nodes.to_string()]
                .into_iter()
                .chain(gas_cells(&s.submit))
                .chain(spread(&s.submits))
                .chain(gas_cells(&s.finalize_epoch))
                .chain(gas_cells(&s.claim)),
        );
    }
    // Few nodes make the seat draws collide (and cost more or less): submitTask's trend
    // is read from the first count of at least 100 nodes.
    let first = results.steps.first();
    let first_wide = results.steps.iter().find(|s| s.nodes >= 100).or(first);
    let grows = |from: Option<&Step>, pick: fn(&Step) -> u64| {
        let (Some(a), Some(b)) = (from, results.steps.last()) else {
            return "-".to_owned();
        };
        format!(
            "{:+} gas from {} to {} nodes",
            pick(b) as i64 - pick(a) as i64,
            a.nodes,
            b.nodes
        )
    };
    let call_notes = vec![
        format!(
            "Growth: submitTask (mean) {}; finalizeEpoch {}; claim {}.",
            grows(first_wide, |s| s.submits.iter().sum::<u64>()
                / s.submits.len().max(1) as u64),
            grows(first, |s| s.finalize_epoch.gas),
            grows(first, |s| s.claim.gas)
        ),
        format!(
            "Fresh / updated: storage slots written from zero / changed (the dev node's \
             receipts). Each node count is its own epoch (epoch 0, empty, was closed first): \
             every node sent a heartbeat in it, {SUBMITS_PER_STEP} N = 3 Exact tasks were \
             submitted (mean, min and max of their submitTask gas: each task draws other \
             seats), the first was answered by its three seats, then the epoch ended and was \
             closed; the answered task's first seat claims."
        ),
    ];

    let mut setup = Table::new([
        "nodes",
        "new nodes",
        "bulk txs",
        "blocks",
        "seconds",
        "tx/s",
        "register gas (mean)",
        "heartbeat gas (mean)",
    ]);
    let mean = |m: Option<f64>| m.map_or_else(|| "-".to_owned(), |v| fixed(v, 0));
    for s in &results.steps {
        setup.row([
            s.nodes.to_string(),
            s.new_nodes.to_string(),
            s.bulk_txs.to_string(),
            s.bulk_blocks.to_string(),
            fixed(s.bulk_seconds, 1),
            fixed(s.bulk_txs as f64 / s.bulk_seconds.max(1e-9), 0),
            mean(s.register_gas_mean),
            mean(s.heartbeat_gas_mean),
        ]);
    }

    let c = &results.catch_up;
    let mut keeper = Table::new([
        "ended epochs",
        "closed",
        "seconds",
        "ms per epoch",
        "gas per epoch",
    ]);
    keeper.row([
        c.epochs.to_string(),
        c.closed.to_string(),
        fixed(c.seconds, 2),
        fixed(c.per_epoch_ms, 1),
        fixed(c.gas_mean, 0),
    ]);
    let most = results.steps.last().map_or(0, |s| s.nodes);

    Report {
        title: "Scale: gas and upkeep against the number of nodes".to_owned(),
        date: results.date.clone(),
        command: results.command.clone(),
        machine: results.machine.clone(),
        versions: results.versions.clone(),
        sections: vec![
            Section {
                heading: "1. Gas against registered, live nodes".to_owned(),
                intro: "submitTask (N = 3 Exact, the assignment draws from every node serving \
                        the model), finalizeEpoch of the epoch every node was live in, and a \
                        seat's reward claim for it, on the COR dev node (real WASM, receipts)."
                    .to_owned(),
                table: calls,
                notes: call_notes,
            },
            Section {
                heading: "2. Setting the nodes up".to_owned(),
                intro: format!(
                    "Per node count, the new nodes' COR mint (owner), approve, register and \
                     heartbeat, and a heartbeat from every node registered before, signed here \
                     and sent as JSON-RPC batches from many senders with auto-mining off, {} new \
                     nodes (or {} heartbeats) per block (block gas limit {}), every receipt \
                     checked. ETH came from anvil_setBalance before the suite was deployed \
                     ({:.1} s for {most} keys, derivation included).",
                    results.nodes_per_block,
                    results.nodes_per_block * 4,
                    results.block_gas_limit,
                    results.funding_seconds
                ),
                table: setup,
                notes: vec![
                    "Register and heartbeat gas are the bulk transactions' own receipts: a \
                     constant mean means the call does not grow with the node set."
                        .to_owned(),
                ],
            },
            Section {
                heading: "3. Keeper catch-up".to_owned(),
                intro: format!(
                    "After the last node count, {} epochs end at once (evm_increaseTime); the \
                     keeper (cor-keeper library in this process, epochs only, no task \
                     scanning) connects and runs one round, closing them oldest first, each \
                     read, simulated, sent and its receipt awaited.",
                    c.epochs
                ),
                table: keeper,
                notes: vec![format!(
                    "Whole section: {:.0} s wall time.",
                    results.seconds
                )],
            },
        ],
    }
}
