//! The network: a dev node with the suite deployed, and helpers for its accounts.

use std::{collections::HashMap, path::PathBuf};

use alloy::{
    providers::Provider,
    rpc::types::{Filter, TransactionReceipt},
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use cor_abi::{
    CommitReveal, CorToken, NodePool, NodeReputation, NodeReward, SessionPayment,
    SessionPaymentTable, SessionQueue, StakeQuota,
};
use cor_client::{
    deploy::deploy,
    params::{cor, DeployParams},
    wallet::dev_account,
    ClientError, Connection, Deployment, Programs, Suite,
};
use cor_devnode::{DevNode, DevNodeHandle, NodeConfig};

use crate::answer::Answer;

/// The model every test miner serves.
pub const MODEL: u32 = 1;
/// Commit and reveal windows of test sessions, seconds.
pub const WINDOW: u64 = 60;
/// Escrow the user deposits at start, whole COR.
pub const USER_ESCROW: u64 = 1_000;
/// Dev account index of the user.
pub const USER: u32 = 9;

/// Session settings, defaulting to N = 3 Exact, 2 of 3, escrow.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Redundancy N.
    pub n: u8,
    /// Consensus method code (0 Exact, 1 Similarity, 2 Median, 3 Weighted).
    pub consensus: u8,
    /// Agreement threshold, basis points.
    pub threshold_bps: u16,
    /// Hamming radius (Similarity) or score tolerance (Median).
    pub tolerance: u64,
    /// Payment mode (0 escrow, 1 quota).
    pub mode: u8,
    /// Commit window, seconds.
    pub commit_window: u64,
    /// Reveal window, seconds.
    pub reveal_window: u64,
}

impl Shape {
    /// The `createSession` call for a session of this shape for [`MODEL`].
    pub fn create_call(&self) -> SessionQueue::createSessionCall {
        SessionQueue::createSessionCall {
            modelId: MODEL,
            redundancy: self.n,
            consensus: self.consensus,
            thresholdBps: self.threshold_bps,
            tolerance: self.tolerance,
            slaTier: 0,
            validatorDepth: 0,
            executionDepth: 0,
            paymentMode: self.mode,
            routeHint: 0,
            commitWindow: self.commit_window,
            revealWindow: self.reveal_window,
        }
    }
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            n: 3,
            consensus: 0,
            threshold_bps: 6_000,
            tolerance: 0,
            mode: 0,
            commit_window: WINDOW,
            reveal_window: WINDOW,
        }
    }
}

/// The dev node, the deployed suite and connections for the dev accounts.
pub struct Network {
    /// The node (stopped when dropped).
    pub node: DevNodeHandle,
    /// The deployment record.
    pub deployment: Deployment,
    /// The suite's addresses.
    pub suite: Suite,
    /// The deployer and owner (dev account 0).
    pub owner: Connection,
    /// The user (dev account [`USER`]) with [`USER_ESCROW`] COR in escrow.
    pub user: Connection,
    /// Registered miners by address.
    pub miners: HashMap<Address, Connection>,
    dir: PathBuf,
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub use cor_client::events;

fn programs() -> Programs {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Programs::load(&Programs::default_dir(&root)).expect("built programs")
}

impl Network {
    /// Starts a node, deploys the suite with `params`, registers `miners` miners (dev
    /// accounts 1..=miners, each staking the minimum for [`MODEL`]) and gives the user
    /// escrow.
    pub async fn start_with(params: DeployParams, miners: u32) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cor-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let node = DevNode::start(NodeConfig {
            state_dir: Some(dir.join("chain")),
            ..NodeConfig::for_tests()
        })
        .expect("dev node starts");
        let owner = Self::connect(&node, 0).await;
        let path = Deployment::path_for(&dir, owner.chain_id());
        let deployment = deploy(&owner, &programs(), &params, &path, &mut |_| {})
            .await
            .expect("suite deploys");
        let suite = deployment.suite().expect("complete deployment");
        suite.label(&owner);
        let user = Self::connect(&node, USER).await;
        suite.label(&user);
        let mut network = Self {
            node,
            deployment,
            suite,
            owner,
            user,
            miners: HashMap::new(),
            dir,
        };
        let min_stake = cor(network.deployment.params.nodes.min_stake);
        for i in 1..=miners {
            let miner = Self::connect(&network.node, i).await;
            suite.label(&miner);
            network.mint(miner.address(), min_stake).await;
            miner
                .send(
                    suite.token,
                    &CorToken::approveCall {
                        spender: suite.node_pool,
                        value: U256::MAX,
                    },
                )
                .await
                .unwrap();
            miner
                .send(
                    suite.node_pool,
                    &NodePool::registerCall {
                        models: vec![MODEL],
                        metadata: B256::with_last_byte(i as u8),
                    },
                )
                .await
                .unwrap();
            network.miners.insert(miner.address(), miner);
        }
        let user = network.user.clone();
        network.mint(user.address(), cor(100_000)).await;
        for spender in [suite.payment, suite.quota] {
            user.send(
                suite.token,
                &CorToken::approveCall {
                    spender,
                    value: U256::MAX,
                },
            )
            .await
            .unwrap();
        }
        user.send(
            suite.payment,
            &SessionPayment::depositCall {
                amount: cor(USER_ESCROW),
            },
        )
        .await
        .unwrap();
        network
    }

    /// [`Network::start_with`] the default parameters (60 s parameter delay) and five
    /// miners.
    pub async fn start() -> Self {
        let params = DeployParams {
            param_delay: 60,
            ..DeployParams::default()
        };
        Self::start_with(params, 5).await
    }

    /// Stops the dev node (an RPC outage); [`Network::restart_node`] brings it back.
    pub fn stop_node(&mut self) {
        self.node.shutdown();
    }

    /// Starts the dev node again on the same port from its saved state.
    pub fn restart_node(&mut self) {
        self.restart_node_with(None);
    }

    /// [`Network::restart_node`], then mining a block every `block_time` (`None`: a block
    /// per transaction), as a real chain does: set up fast, then measure with blocks.
    pub fn restart_node_with(&mut self, block_time: Option<std::time::Duration>) {
        self.node.shutdown();
        let port = self.node.addr().port();
        self.node = DevNode::start(NodeConfig {
            port,
            block_time,
            state_dir: Some(self.dir.join("chain")),
            ..NodeConfig::for_tests()
        })
        .expect("dev node restarts");
    }

    /// The deployments file.
    pub fn deployments_file(&self) -> PathBuf {
        Deployment::path_for(&self.dir, self.deployment.chain_id)
    }

    async fn connect(node: &DevNodeHandle, index: u32) -> Connection {
        Connection::connect(&node.url(), dev_account(index).expect("dev key"))
            .await
            .expect("connects")
    }

    /// Mints `amount` COR (smallest unit) to `to`.
    pub async fn mint(&self, to: Address, amount: U256) {
        self.owner
            .send(self.suite.token, &CorToken::mintCall { to, value: amount })
            .await
            .expect("mint");
    }

    /// Moves the chain's clock forward and mines a block.
    pub async fn advance(&self, seconds: u64) {
        let provider = self.owner.provider();
        let _: serde_json::Value = provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .expect("evm_increaseTime");
        let _: serde_json::Value = provider
            .raw_request("evm_mine".into(), ())
            .await
            .expect("evm_mine");
    }

    /// The head block's timestamp.
    pub async fn now(&self) -> u64 {
        self.owner
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("head")
            .expect("a head block")
            .header
            .timestamp
    }

    /// The user opens a session of `shape` for [`MODEL`]; returns its id.
    pub async fn create_session(&self, shape: Shape) -> Result<u64, ClientError> {
        let receipt = self.open_session(shape).await?;
        Ok(events::<SessionQueue::SessionCreated>(&receipt)[0].sessionId)
    }

    /// [`Network::create_session`], returning the receipt.
    pub async fn open_session(&self, shape: Shape) -> Result<TransactionReceipt, ClientError> {
        self.user
            .send(self.suite.session_queue, &shape.create_call())
            .await
    }

    /// The user submits a task with `prompt` inline; returns its id, the assigned
    /// miners in seat order and the receipt.
    pub async fn submit(
        &self,
        session: u64,
        prompt: &str,
    ) -> Result<(U256, Vec<Address>, TransactionReceipt), ClientError> {
        let receipt = self
            .user
            .send(
                self.suite.session_queue,
                &SessionQueue::submitTaskCall {
                    sessionId: session,
                    inputHash: alloy_primitives::keccak256(prompt.as_bytes()),
                    inputUri: format!("data:,{prompt}"),
                    maxTokens: 256,
                    sampling: B256::ZERO,
                },
            )
            .await?;
        let task = events::<SessionQueue::TaskSubmitted>(&receipt)[0].taskId;
        let mut seats = events::<SessionQueue::TaskAssigned>(&receipt);
        seats.sort_by_key(|a| a.seat);
        Ok((task, seats.into_iter().map(|a| a.miner).collect(), receipt))
    }

    /// The connection of a registered miner.
    pub fn miner(&self, address: Address) -> &Connection {
        &self.miners[&address]
    }

    /// `miner` commits `answer` for `task`.
    pub async fn commit(
        &self,
        task: U256,
        miner: Address,
        answer: &Answer,
    ) -> Result<TransactionReceipt, ClientError> {
        self.commit_as(self.miner(miner), task, answer).await
    }

    /// The miner signing with `conn` commits `answer` for `task`.
    pub async fn commit_as(
        &self,
        conn: &Connection,
        task: U256,
        answer: &Answer,
    ) -> Result<TransactionReceipt, ClientError> {
        conn.send(
            self.suite.commit_reveal,
            &answer.commit_call(task, conn.address()),
        )
        .await
    }

    /// `miner` reveals `answer` for `task`.
    pub async fn reveal(
        &self,
        task: U256,
        miner: Address,
        answer: &Answer,
    ) -> Result<TransactionReceipt, ClientError> {
        self.reveal_as(self.miner(miner), task, answer).await
    }

    /// The miner signing with `conn` reveals `answer` for `task`.
    pub async fn reveal_as(
        &self,
        conn: &Connection,
        task: U256,
        answer: &Answer,
    ) -> Result<TransactionReceipt, ClientError> {
        conn.send(self.suite.commit_reveal, &answer.reveal_call(task))
            .await
    }

    /// Anyone (the owner here) finalizes `task`.
    pub async fn finalize(&self, task: U256) -> Result<TransactionReceipt, ClientError> {
        self.owner
            .send(
                self.suite.commit_reveal,
                &CommitReveal::finalizeCall { taskId: task },
            )
            .await
    }

    /// The price the table quotes for a task of `shape` with 256 max tokens:
    /// `(total, miners, validators, treasury)`.
    pub async fn quote(&self, shape: Shape) -> (U256, U256, U256, U256) {
        let q = self
            .user
            .view(
                self.suite.table,
                &SessionPaymentTable::quoteCall {
                    modelClass: 0,
                    maxTokens: 256,
                    slaTier: 0,
                    redundancy: shape.n,
                    consensus: shape.consensus,
                    validatorDepth: 0,
                    executionDepth: 0,
                    quotaBacked: shape.mode == 1,
                    payerVolume: 0,
                },
            )
            .await
            .expect("quote");
        (q._0, q._1, q._2, q._3)
    }

    /// Every `E` event `address` emitted, oldest first.
    pub async fn logs<E: SolEvent>(&self, address: Address) -> Vec<E> {
        let filter = Filter::new()
            .address(address)
            .event_signature(E::SIGNATURE_HASH)
            .from_block(0u64);
        self.user
            .provider()
            .get_logs(&filter)
            .await
            .expect("eth_getLogs")
            .iter()
            .filter_map(|l| E::decode_log(&l.inner).ok().map(|d| d.data))
            .collect()
    }

    /// A task's round as CommitReveal reports it (`_0` status: 2 resolved, 3 unresolved;
    /// `_2` commits, `_3` reveals, `_6` agreeing seats).
    pub async fn round(&self, task: U256) -> CommitReveal::taskReturn {
        self.user
            .view(
                self.suite.commit_reveal,
                &CommitReveal::taskCall { taskId: task },
            )
            .await
            .expect("task")
    }

    /// Waits (up to `limit`) until `task` is final and returns its round.
    pub async fn finalized_within(
        &self,
        task: U256,
        limit: std::time::Duration,
    ) -> CommitReveal::taskReturn {
        crate::eventually("the task to be finalized", limit, || async {
            let r = self.round(task).await;
            (r._0 >= 2).then_some(r)
        })
        .await
    }

    /// `account`'s COR balance.
    pub async fn balance(&self, account: Address) -> U256 {
        self.user
            .view(self.suite.token, &CorToken::balanceOfCall { account })
            .await
            .expect("balanceOf")
    }

    /// Whether `miner` has committed to `task` (from the `Committed` logs).
    pub async fn committed(&self, task: U256, miner: Address) -> bool {
        self.logs::<CommitReveal::Committed>(self.suite.commit_reveal)
            .await
            .iter()
            .any(|c| c.taskId == task && c.miner == miner)
    }

    /// `node`'s reputation record: `(assigned, committed, revealed, agreed, disagreed,
    /// missed, ewmaBps, streak, lastActive, level)`.
    pub async fn reputation(&self, node: Address) -> NodeReputation::reputationReturn {
        self.user
            .view(
                self.suite.reputation,
                &NodeReputation::reputationCall { node },
            )
            .await
            .expect("reputation")
    }

    /// COR `node` has staked in the NodePool.
    pub async fn stake(&self, node: Address) -> U256 {
        self.user
            .view(self.suite.node_pool, &NodePool::nodeCall { node })
            .await
            .expect("node")
            ._1
    }

    /// COR `account` can claim from SessionPayment.
    pub async fn claimable(&self, account: Address) -> U256 {
        self.user
            .view(
                self.suite.payment,
                &SessionPayment::claimableCall { account },
            )
            .await
            .expect("claimable")
    }

    /// The user's escrow: `(available, locked)`.
    pub async fn escrow(&self) -> (U256, U256) {
        let e = self
            .user
            .view(
                self.suite.payment,
                &SessionPayment::escrowOfCall {
                    account: self.user.address(),
                },
            )
            .await
            .expect("escrow");
        (e._0, e._1)
    }

    /// Asserts invariant 1 on chain: every contract's COR balance equals what it owes,
    /// and the task-round programs hold none.
    pub async fn assert_conserved(&self) {
        let s = self.suite;
        // One block for every read: daemons (miners claiming) may be sending meanwhile.
        let head = self
            .owner
            .provider()
            .get_block_number()
            .await
            .expect("head");
        let at = alloy::eips::BlockId::number(head);
        let conn = &self.owner;
        let balance = |account| async move {
            conn.view_at(s.token, &CorToken::balanceOfCall { account }, at)
                .await
                .expect("balance")
        };
        let owed = [
            (
                s.node_pool,
                conn.view_at(s.node_pool, &NodePool::totalOwedCall {}, at)
                    .await,
            ),
            (
                s.payment,
                conn.view_at(s.payment, &SessionPayment::totalOwedCall {}, at)
                    .await,
            ),
            (
                s.quota,
                conn.view_at(s.quota, &StakeQuota::totalOwedCall {}, at)
                    .await,
            ),
            (
                s.reward,
                conn.view_at(s.reward, &NodeReward::totalOwedCall {}, at)
                    .await,
            ),
        ];
        for (contract, owes) in owed {
            let owes = owes.expect("totalOwed");
            assert_eq!(
                balance(contract).await,
                owes,
                "conservation at {contract} (block {head})"
            );
        }
        for holds_nothing in [s.session_queue, s.commit_reveal, s.engine] {
            assert_eq!(balance(holds_nothing).await, U256::ZERO);
        }
    }
}
