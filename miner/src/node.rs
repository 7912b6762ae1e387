//! The miner's account as a node: registration (staking the minimum) and its declared
//! models at start-up, then periodic upkeep: the epoch heartbeat, and claiming task
//! payments and epoch rewards.

use std::sync::Arc;

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolCall;
use cor_abi::{CorToken, NodePool, NodeReward, SessionPayment};
use cor_client::{submit::Submitter, ClientError, Suite};

use crate::{
    metrics::Metrics,
    store::{Store, StoreError},
};

/// NodePool parameter id of the minimum stake.
const MIN_STAKE: u8 = 0;
/// Most epochs looked at (and claimed) in one pass.
const EPOCHS_PER_PASS: u64 = 100;

/// Why the node cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A call or transaction failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not registered and told not to register.
    #[error("{0} is not a registered node (register with `cor node register`, or let the miner do it: register = true)")]
    NotRegistered(Address),
    /// Not enough COR to stake.
    #[error("{node} holds {have} COR wei but registering stakes {need}: get COR first")]
    InsufficientStake {
        /// The node.
        node: Address,
        /// Its balance.
        have: U256,
        /// The minimum stake.
        need: U256,
    },
    /// The node asked to exit.
    #[error("{0} is unbonding (exit requested): it is no longer assigned tasks; withdraw and register again")]
    Unbonding(Address),
}

/// The 32-byte metadata word: hex as is, other text hashed.
pub fn metadata_word(text: &str) -> B256 {
    text.parse::<B256>()
        .unwrap_or_else(|_| keccak256(text.as_bytes()))
}

fn encode<C: SolCall>(call: &C) -> alloy_primitives::Bytes {
    call.abi_encode().into()
}

/// Registers the node serving `models` (staking the minimum; approving the NodePool
/// first when needed) unless it is already registered, in which case its declared models
/// are brought in line with `models`.
///
/// # Errors
/// [`NodeError`].
pub async fn ensure_registered(
    node: &Submitter,
    suite: &Suite,
    models: &[u32],
    metadata: B256,
    register: bool,
) -> Result<(), NodeError> {
    let conn = node.connection();
    let me = conn.address();
    let record = conn
        .view(suite.node_pool, &NodePool::nodeCall { node: me })
        .await?;
    if record._7 {
        tracing::warn!(node = %me, "the node is jailed: it will not be assigned tasks");
    }
    match record._0 {
        1 => {
            let mut declared = conn
                .view(suite.node_pool, &NodePool::nodeModelsCall { node: me })
                .await?;
            declared.sort_unstable();
            if declared != models {
                node.send(
                    suite.node_pool,
                    encode(&NodePool::setModelsCall {
                        models: models.to_vec(),
                    }),
                )
                .await?;
                tracing::info!(node = %me, ?models, previous = ?declared, "declared models updated");
            } else {
                tracing::info!(node = %me, stake = %record._1, ?models, "registered node");
            }
            Ok(())
        }
        2 => Err(NodeError::Unbonding(me)),
        _ if !register => Err(NodeError::NotRegistered(me)),
        _ => {
            let need = conn
                .view(suite.node_pool, &NodePool::paramCall { id: MIN_STAKE })
                .await?;
            let have = conn
                .view(suite.token, &CorToken::balanceOfCall { account: me })
                .await?;
            if have < need {
                return Err(NodeError::InsufficientStake {
                    node: me,
                    have,
                    need,
                });
            }
            let allowance = conn
                .view(
                    suite.token,
                    &CorToken::allowanceCall {
                        owner: me,
                        spender: suite.node_pool,
                    },
                )
                .await?;
            if allowance < need {
                node.send(
                    suite.token,
                    encode(&CorToken::approveCall {
                        spender: suite.node_pool,
                        value: need,
                    }),
                )
                .await?;
            }
            node.send(
                suite.node_pool,
                encode(&NodePool::registerCall {
                    models: models.to_vec(),
                    metadata,
                }),
            )
            .await?;
            tracing::info!(node = %me, stake = %need, ?models, "registered as a node");
            Ok(())
        }
    }
}

/// Periodic upkeep: heartbeat if due, then claims.
#[derive(Debug)]
pub struct Upkeep {
    node: Submitter,
    suite: Suite,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
}

impl Upkeep {
    /// Upkeep for the node signing with `node`.
    pub fn new(node: Submitter, suite: Suite, store: Arc<Store>, metrics: Arc<Metrics>) -> Self {
        Self {
            node,
            suite,
            store,
            metrics,
        }
    }

    /// Heartbeat (once per epoch), task payments, epoch rewards; returns COR claimed.
    ///
    /// # Errors
    /// The first failure; what was done before it stays done.
    pub async fn run(&self) -> Result<U256, NodeError> {
        if let Some((_, receipt)) =
            cor_client::heartbeat::send_if_due(&self.node, self.suite.node_pool).await?
        {
            self.metrics.record_tx(receipt.gas_used);
        }
        let payments = self.claim_payments().await?;
        let rewards = self.claim_rewards().await?;
        Ok(payments + rewards)
    }

    async fn claim_payments(&self) -> Result<U256, NodeError> {
        let conn = self.node.connection();
        let owed = conn
            .view(
                self.suite.payment,
                &SessionPayment::claimableCall {
                    account: conn.address(),
                },
            )
            .await?;
        if let Ok(mut pending) = self.metrics.pending_payments_wei.lock() {
            *pending = owed;
        }
        if owed.is_zero() {
            return Ok(U256::ZERO);
        }
        let receipt = self
            .node
            .send(self.suite.payment, encode(&SessionPayment::claimCall {}))
            .await?;
        self.metrics.record_tx(receipt.gas_used);
        self.metrics.record_claim(owed);
        if let Ok(mut pending) = self.metrics.pending_payments_wei.lock() {
            *pending = U256::ZERO;
        }
        tracing::info!(amount = %owed, "task payments claimed");
        Ok(owed)
    }

    async fn claim_rewards(&self) -> Result<U256, NodeError> {
        let conn = self.node.connection();
        let me = conn.address();
        let reward = self.suite.reward;
        let next = conn
            .view(reward, &NodeReward::nextEpochToFinalizeCall {})
            .await?;
        let from = match self.store.reward_epoch()? {
            Some(epoch) => epoch,
            None => self.registration_epoch().await?,
        };
        let until = next.min(from.saturating_add(EPOCHS_PER_PASS));
        let mut epochs = Vec::new();
        let mut total = U256::ZERO;
        for epoch in from..until {
            let (amount, _live, claimed) = conn
                .view(reward, &NodeReward::claimableCall { node: me, epoch })
                .await
                .map(|r| (r._0, r._1, r._2))?;
            if !amount.is_zero() && !claimed {
                epochs.push(epoch);
                total += amount;
            }
        }
        if !epochs.is_empty() {
            let receipt = self
                .node
                .send(
                    reward,
                    encode(&NodeReward::claimCall {
                        epochs: epochs.clone(),
                    }),
                )
                .await?;
            self.metrics.record_tx(receipt.gas_used);
            self.metrics.record_claim(total);
            tracing::info!(?epochs, amount = %total, "epoch rewards claimed");
        }
        if until > from {
            self.store.set_reward_epoch(until)?;
        }
        Ok(total)
    }

    /// The epoch the node registered in (where reward claims start on a fresh store).
    async fn registration_epoch(&self) -> Result<u64, ClientError> {
        let conn = self.node.connection();
        let record = conn
            .view(
                self.suite.node_pool,
                &NodePool::nodeCall {
                    node: conn.address(),
                },
            )
            .await?;
        let clock = conn
            .view(self.suite.reward, &NodeReward::epochClockCall {})
            .await?;
        let (genesis, length) = (clock._0, clock._1.max(1));
        Ok(record._3.saturating_sub(genesis) / length)
    }
}
