//! The chain itself: the current state, the blocks, the pending pool, mining, calls and
//! gas estimation, the dev methods (time, balances, snapshots) and persistence.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{constants::EMPTY_OMMER_ROOT_HASH, Header};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::context::TxEnv;
use tokio::sync::broadcast;

use super::{
    block::{Block, MinedTx, StorageWrites, TxReceipt},
    genesis::genesis_state,
    keys::DevAccount,
    store::{Record, Store, StoreError},
    tx::{SignedTx, TxError},
};
use crate::{
    evm::{
        exec::{execute, BlockContext, ExecOptions, Outcome},
        state::{BlockHashes, StateDiff, StateOverrides, WorldState},
    },
    stylus::runtime::{RuntimeError, StylusRuntime},
};

/// Transactions left out of a block, with the reason.
type Dropped = Vec<(B256, String)>;

/// States of recent blocks kept for queries at a past block.
const HISTORY: usize = 256;

/// How the chain is set up.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Chain id.
    pub chain_id: u64,
    /// Block gas limit (also the most a transaction may ask for).
    pub block_gas_limit: u64,
    /// Base fee per gas, wei (fixed, like Arbitrum's minimum).
    pub base_fee: u64,
    /// Accounts funded at genesis and unlocked for `eth_sendTransaction`.
    pub accounts: Vec<DevAccount>,
    /// Genesis balance of each account, wei.
    pub balance: U256,
    /// Genesis timestamp (now when unset).
    pub genesis_timestamp: Option<u64>,
    /// Gas cap of `eth_call` / `eth_estimateGas`.
    pub call_gas_cap: u64,
}

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The transaction was refused before execution.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// revm found the transaction invalid against the state.
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// The state directory failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The Stylus runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// No such block.
    #[error("block not found")]
    UnknownBlock,
    /// The state of an old block is no longer kept.
    #[error("state of block {0} is not available (the dev node keeps the last {HISTORY} blocks' states)")]
    StateUnavailable(u64),
    /// The state log does not start with a genesis record.
    #[error("the state directory does not hold a chain (no genesis record)")]
    NoGenesis,
}

/// A saved point to return to (`evm_snapshot`).
#[derive(Debug, Clone)]
struct Snapshot {
    head: u64,
    world: Arc<WorldState>,
    pending: Vec<SignedTx>,
    clock_offset: i64,
    next_timestamp: Option<u64>,
}

/// The chain.
pub struct Chain {
    config: ChainConfig,
    runtime: Arc<StylusRuntime>,
    world: Arc<WorldState>,
    hashes: BlockHashes,
    blocks: Vec<Arc<Block>>,
    tx_index: HashMap<B256, (u64, usize)>,
    history: VecDeque<(u64, Arc<WorldState>)>,
    pending: Vec<SignedTx>,
    auto_mine: bool,
    clock_offset: i64,
    next_timestamp: Option<u64>,
    snapshots: BTreeMap<u64, Snapshot>,
    next_snapshot: u64,
    store: Option<Store>,
    events: broadcast::Sender<Arc<Block>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.config.chain_id)
            .field("head", &self.head().number())
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Counts the slots `diff` writes against the state before it: zero to non-zero is fresh,
/// any other change of a non-zero slot is an update.
fn storage_writes(before: &WorldState, diff: &StateDiff) -> StorageWrites {
    let mut writes = StorageWrites::default();
    for account in &diff.accounts {
        for (slot, new) in &account.storage {
            let old = if account.storage_cleared {
                U256::ZERO
            } else {
                before.storage(&account.address, slot)
            };
            if old.is_zero() && !new.is_zero() {
                writes.fresh += 1;
            } else if !old.is_zero() && old != *new {
                writes.updated += 1;
            }
        }
    }
    writes
}

fn diff_root(parent: B256, diffs: &[StateDiff]) -> B256 {
    // Not a Merkle-Patricia root: a hash chain over the state changes, which is enough
    // to tell states apart.
    let encoded = serde_json::to_vec(diffs).unwrap_or_default();
    keccak256([parent.as_slice(), keccak256(encoded).as_slice()].concat())
}

impl Chain {
    /// Opens the chain: replays `state_dir` when it holds one, else starts from genesis
    /// (and records it there when a directory is given).
    ///
    /// # Errors
    /// A [`ChainError`] when the state directory cannot be used or read.
    pub fn open(config: ChainConfig, state_dir: Option<&Path>) -> Result<Self, ChainError> {
        let runtime = Arc::new(StylusRuntime::new()?);
        let (events, _) = broadcast::channel(1024);
        let mut chain = Self {
            config,
            runtime,
            world: Arc::new(WorldState::default()),
            hashes: Arc::new(Vec::new()),
            blocks: Vec::new(),
            tx_index: HashMap::new(),
            history: VecDeque::new(),
            pending: Vec::new(),
            auto_mine: true,
            clock_offset: 0,
            next_timestamp: None,
            snapshots: BTreeMap::new(),
            next_snapshot: 1,
            store: None,
            events,
        };
        let records = match state_dir {
            Some(dir) => {
                let (store, records) = Store::open(dir)?;
                chain.store = Some(store);
                records
            }
            None => Vec::new(),
        };
        if records.is_empty() {
            let record = chain.genesis();
            chain.persist(&record)?;
        } else {
            chain.replay(records)?;
        }
        chain.remember_state();
        Ok(chain)
    }

    fn genesis(&mut self) -> Record {
        let funded: Vec<Address> = self.config.accounts.iter().map(|a| a.address).collect();
        let state = genesis_state(&funded, self.config.balance);
        Arc::make_mut(&mut self.world).apply(&state);
        let header = Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            number: 0,
            gas_limit: self.config.block_gas_limit,
            timestamp: self.config.genesis_timestamp.unwrap_or_else(now),
            base_fee_per_gas: Some(self.config.base_fee),
            ..Default::default()
        };
        let root = diff_root(B256::ZERO, std::slice::from_ref(&state));
        let block = Block::seal(header, Vec::new(), root);
        self.push_block(Arc::new(block.clone()));
        Record::Genesis {
            chain_id: self.config.chain_id,
            block,
            state,
        }
    }

    fn replay(&mut self, records: Vec<Record>) -> Result<(), ChainError> {
        let mut records = records.into_iter();
        let Some(Record::Genesis {
            chain_id,
            block,
            state,
        }) = records.next()
        else {
            return Err(ChainError::NoGenesis);
        };
        if chain_id != self.config.chain_id {
            tracing::warn!(
                stored = chain_id,
                configured = self.config.chain_id,
                "the state directory holds another chain id; using the stored one"
            );
            self.config.chain_id = chain_id;
        }
        Arc::make_mut(&mut self.world).apply(&state);
        self.push_block(Arc::new(block));
        for record in records {
            match record {
                Record::Genesis { .. } => return Err(ChainError::NoGenesis),
                Record::Block { block, diffs } => {
                    let world = Arc::make_mut(&mut self.world);
                    for diff in &diffs {
                        world.apply(diff);
                    }
                    self.push_block(Arc::new(block));
                }
                Record::State { diff } => Arc::make_mut(&mut self.world).apply(&diff),
                Record::Revert { head, state } => {
                    self.truncate(head);
                    let mut world = WorldState::default();
                    world.apply(&state);
                    self.world = Arc::new(world);
                }
                Record::Clock { offset } => self.clock_offset = offset,
            }
        }
        tracing::info!(
            head = self.head().number(),
            "chain restored from the state directory"
        );
        Ok(())
    }

    fn persist(&mut self, record: &Record) -> Result<(), ChainError> {
        if let Some(store) = &mut self.store {
            store.append(record)?;
        }
        Ok(())
    }

    fn push_block(&mut self, block: Arc<Block>) {
        for (i, tx) in block.transactions.iter().enumerate() {
            self.tx_index.insert(tx.hash, (block.number(), i));
        }
        Arc::make_mut(&mut self.hashes).push(block.hash);
        self.blocks.push(block);
    }

    /// Drops every block after `head`.
    fn truncate(&mut self, head: u64) {
        let keep = usize::try_from(head).map_or(self.blocks.len(), |h| h + 1);
        for block in self.blocks.drain(keep.min(self.blocks.len())..) {
            for tx in &block.transactions {
                self.tx_index.remove(&tx.hash);
            }
        }
        Arc::make_mut(&mut self.hashes).truncate(keep);
        self.history.retain(|(n, _)| *n <= head);
    }

    fn remember_state(&mut self) {
        let head = self.head().number();
        self.history.retain(|(n, _)| *n != head);
        self.history.push_back((head, self.world.clone()));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// The latest block.
    pub fn head(&self) -> &Arc<Block> {
        // There is always a genesis block.
        self.blocks.last().expect("genesis block")
    }

    /// The block with `number`.
    pub fn block(&self, number: u64) -> Option<&Arc<Block>> {
        usize::try_from(number)
            .ok()
            .and_then(|n| self.blocks.get(n))
    }

    /// The block with `hash`.
    pub fn block_by_hash(&self, hash: &B256) -> Option<&Arc<Block>> {
        self.blocks.iter().rev().find(|b| b.hash == *hash)
    }

    /// A mined transaction: its block and index.
    pub fn transaction(&self, hash: &B256) -> Option<(&Arc<Block>, usize)> {
        let (number, index) = self.tx_index.get(hash)?;
        self.block(*number).map(|b| (b, *index))
    }

    /// A transaction waiting in the pool.
    pub fn pending_transaction(&self, hash: &B256) -> Option<&SignedTx> {
        self.pending.iter().find(|t| t.hash == *hash)
    }

    /// Blocks in `from..=to` (clamped to the chain).
    pub fn blocks(&self, from: u64, to: u64) -> impl Iterator<Item = &Arc<Block>> {
        let to = to.min(self.head().number());
        (from..=to).filter_map(|n| self.block(n))
    }

    /// The state after block `number`.
    ///
    /// # Errors
    /// [`ChainError::UnknownBlock`] or [`ChainError::StateUnavailable`].
    pub fn state_at(&self, number: u64) -> Result<Arc<WorldState>, ChainError> {
        if number > self.head().number() {
            return Err(ChainError::UnknownBlock);
        }
        if number == self.head().number() {
            return Ok(self.world.clone());
        }
        self.history
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, w)| w.clone())
            .ok_or(ChainError::StateUnavailable(number))
    }

    /// The latest state.
    pub fn world(&self) -> &Arc<WorldState> {
        &self.world
    }

    /// The next nonce of `address`, counting pool transactions when `pending`.
    pub fn next_nonce(&self, address: &Address, pending: bool) -> u64 {
        let mined = self.world.account(address).map_or(0, |a| a.nonce);
        if !pending {
            return mined;
        }
        let queued = self.pending.iter().filter(|t| t.sender == *address).count() as u64;
        mined + queued
    }

    /// The unlocked dev accounts.
    pub fn accounts(&self) -> &[DevAccount] {
        &self.config.accounts
    }

    /// New blocks as they are mined.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Block>> {
        self.events.subscribe()
    }

    /// Whether each transaction is mined at once.
    pub fn set_auto_mine(&mut self, auto: bool) {
        self.auto_mine = auto;
    }

    /// Whether each transaction is mined at once.
    pub fn auto_mine(&self) -> bool {
        self.auto_mine
    }

    /// Transactions waiting for the next block.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The block a call at the head executes in.
    pub fn head_context(&self) -> BlockContext {
        let head = &self.head().header;
        BlockContext {
            number: head.number,
            timestamp: head.timestamp,
            gas_limit: head.gas_limit,
            base_fee: self.config.base_fee,
            coinbase: head.beneficiary,
            prevrandao: head.mix_hash,
        }
    }

    /// Accepts a signed transaction: mines it at once in auto-mine mode, else queues it.
    /// Returns its hash.
    ///
    /// # Errors
    /// A [`ChainError`] when the transaction is refused.
    pub fn submit(&mut self, tx: SignedTx) -> Result<B256, ChainError> {
        if self.tx_index.contains_key(&tx.hash) || self.pending_transaction(&tx.hash).is_some() {
            return Err(TxError::AlreadyKnown.into());
        }
        tx.check(
            self.config.chain_id,
            self.config.block_gas_limit,
            self.config.base_fee,
        )?;
        let expected = self.next_nonce(&tx.sender, true);
        if let Some(index) = self
            .pending
            .iter()
            .position(|p| p.sender == tx.sender && p.nonce() == tx.nonce())
        {
            // A fee bump: the new transaction takes the pending one's place when it
            // pays at least 10 % more per gas (geth's rule), as wallets expect.
            let needed = self.pending[index].max_fee() + self.pending[index].max_fee() / 10;
            if tx.max_fee() < needed {
                return Err(TxError::ReplacementUnderpriced {
                    needed,
                    got: tx.max_fee(),
                }
                .into());
            }
            let hash = tx.hash;
            self.pending[index] = tx;
            return Ok(hash);
        }
        if tx.nonce() < expected {
            return Err(TxError::NonceTooLow {
                expected,
                got: tx.nonce(),
            }
            .into());
        }
        if tx.nonce() > expected {
            return Err(TxError::NonceTooHigh {
                expected,
                got: tx.nonce(),
            }
            .into());
        }
        let balance = self
            .world
            .account(&tx.sender)
            .map_or(U256::ZERO, |a| a.balance);
        if balance < tx.max_cost() {
            return Err(TxError::InsufficientFunds {
                have: balance,
                want: tx.max_cost(),
            }
            .into());
        }
        let hash = tx.hash;
        if self.auto_mine {
            let (block, dropped, _) = self.mine_with(vec![tx], None, true)?;
            if let Some((_, reason)) = dropped.into_iter().next() {
                return Err(ChainError::Invalid(reason));
            }
            tracing::debug!(number = block.number(), %hash, "mined");
        } else {
            self.pending.push(tx);
        }
        Ok(hash)
    }

    /// Mines a block with the pool's transactions (possibly none). Transactions that do
    /// not fit under the block gas limit stay in the pool, in order, for the next block.
    ///
    /// # Errors
    /// [`ChainError::Store`] when the block cannot be written.
    pub fn mine(&mut self, timestamp: Option<u64>) -> Result<Arc<Block>, ChainError> {
        let txs = std::mem::take(&mut self.pending);
        let (block, dropped, deferred) = self.mine_with(txs, timestamp, false)?;
        self.pending = deferred;
        for (hash, reason) in dropped {
            tracing::warn!(%hash, reason, "transaction dropped from the block");
        }
        Ok(block)
    }

    fn next_block_timestamp(&self, explicit: Option<u64>) -> u64 {
        let parent = self.head().header.timestamp;
        if let Some(ts) = explicit.or(self.next_timestamp) {
            return ts;
        }
        let clock = now().saturating_add_signed(self.clock_offset);
        clock.max(parent)
    }

    /// Executes `txs` into a new block; returns it, the transactions dropped (invalid, or
    /// above the block gas limit on their own) and those deferred: once one does not fit
    /// in what is left of the block, it and every later one (nonce order) wait for the
    /// next. With `require_tx`, nothing is mined when every transaction is left out.
    fn mine_with(
        &mut self,
        txs: Vec<SignedTx>,
        timestamp: Option<u64>,
        require_tx: bool,
    ) -> Result<(Arc<Block>, Dropped, Vec<SignedTx>), ChainError> {
        let parent = self.head().clone();
        let number = parent.number() + 1;
        let timestamp = self.next_block_timestamp(timestamp);
        let context = BlockContext {
            number,
            timestamp,
            gas_limit: self.config.block_gas_limit,
            base_fee: self.config.base_fee,
            coinbase: Address::ZERO,
            prevrandao: keccak256(parent.hash),
        };
        let mut world = self.world.clone();
        let mut mined = Vec::new();
        let mut diffs = Vec::new();
        let mut dropped = Vec::new();
        let mut deferred = Vec::new();
        let mut cumulative = 0u64;
        let mut txs = txs.into_iter();
        while let Some(tx) = txs.next() {
            if cumulative.saturating_add(tx.gas_limit()) > self.config.block_gas_limit {
                if cumulative == 0 {
                    dropped.push((tx.hash, "gas limit above the block gas limit".to_owned()));
                    continue;
                }
                deferred.push(tx);
                deferred.extend(txs);
                break;
            }
            let outcome = match execute(
                &self.runtime,
                &world,
                &self.hashes,
                self.config.chain_id,
                &context,
                tx.to_tx_env(),
                StateOverrides::new(),
                ExecOptions::default(),
            ) {
                Ok(outcome) => outcome,
                Err(e) => {
                    dropped.push((tx.hash, e.to_string()));
                    continue;
                }
            };
            let storage_writes = storage_writes(&world, &outcome.diff);
            Arc::make_mut(&mut world).apply(&outcome.diff);
            cumulative += outcome.gas_used;
            mined.push(MinedTx {
                raw: tx.raw.clone(),
                hash: tx.hash,
                sender: tx.sender,
                receipt: TxReceipt {
                    success: outcome.success,
                    gas_used: outcome.gas_used,
                    cumulative_gas_used: cumulative,
                    effective_gas_price: tx.effective_gas_price(self.config.base_fee),
                    contract_address: outcome.contract_address,
                    logs: outcome.logs,
                    storage_writes,
                },
            });
            diffs.push(outcome.diff);
        }
        if require_tx && mined.is_empty() {
            // Nothing to mine: the submitter gets the error instead.
            return Ok((parent, dropped, deferred));
        }
        let header = Header {
            parent_hash: parent.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: context.coinbase,
            number,
            gas_limit: context.gas_limit,
            timestamp,
            mix_hash: context.prevrandao,
            base_fee_per_gas: Some(context.base_fee),
            ..Default::default()
        };
        let root = diff_root(parent.header.state_root, &diffs);
        let block = Block::seal(header, mined, root);
        self.persist(&Record::Block {
            block: block.clone(),
            diffs,
        })?;
        self.world = world;
        self.next_timestamp = None;
        let block = Arc::new(block);
        self.push_block(block.clone());
        self.remember_state();
        let _ = self.events.send(block.clone());
        Ok((block, dropped, deferred))
    }

    /// Runs a call against the state after block `number` (the head when `None`).
    ///
    /// # Errors
    /// [`ChainError::Invalid`] when revm refuses the call (for example a fee cap under the
    /// base fee with a balance check), or a block/state lookup error.
    pub fn call(
        &self,
        tx: TxEnv,
        number: Option<u64>,
        overrides: StateOverrides,
    ) -> Result<Outcome, ChainError> {
        let head = self.head().number();
        let number = number.unwrap_or(head);
        let world = self.state_at(number)?;
        let mut context = self.head_context();
        if number != head {
            let header = &self.block(number).ok_or(ChainError::UnknownBlock)?.header;
            context.number = header.number;
            context.timestamp = header.timestamp;
        }
        execute(
            &self.runtime,
            &world,
            &self.hashes,
            self.config.chain_id,
            &context,
            tx,
            overrides,
            ExecOptions::CALL,
        )
        .map_err(|e| ChainError::Invalid(e.to_string()))
    }

    /// The smallest gas limit with which `tx` succeeds (binary search), or the failing
    /// outcome at the cap.
    ///
    /// # Errors
    /// As [`Chain::call`].
    pub fn estimate_gas(
        &self,
        mut tx: TxEnv,
        number: Option<u64>,
        overrides: StateOverrides,
    ) -> Result<Result<u64, Outcome>, ChainError> {
        let cap = tx.gas_limit.min(self.config.call_gas_cap);
        tx.gas_limit = cap;
        let first = self.call(tx.clone(), number, overrides.clone())?;
        if !first.success {
            return Ok(Err(first));
        }
        let mut lo = first.gas_used.saturating_sub(1);
        let mut hi = cap;
        // Most calls succeed with what they used plus the 1/64 kept back by each call.
        let guess = first.gas_used.saturating_mul(65) / 63 + 2_300;
        if guess < hi {
            tx.gas_limit = guess;
            if self.call(tx.clone(), number, overrides.clone())?.success {
                hi = guess;
            } else {
                lo = guess;
            }
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            tx.gas_limit = mid;
            if self.call(tx.clone(), number, overrides.clone())?.success {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(Ok(hi))
    }

    /// Sets an account's balance (`anvil_setBalance`).
    ///
    /// # Errors
    /// [`ChainError::Store`] when the change cannot be written.
    pub fn set_balance(&mut self, address: Address, balance: U256) -> Result<(), ChainError> {
        let diff = StateDiff::set_balance(&self.world, address, balance);
        self.apply_dev_change(diff)
    }

    /// Sets an account's code (`anvil_setCode`).
    ///
    /// # Errors
    /// [`ChainError::Store`] when the change cannot be written.
    pub fn set_code(&mut self, address: Address, code: Bytes) -> Result<(), ChainError> {
        let diff = StateDiff::set_code(&self.world, address, code);
        self.apply_dev_change(diff)
    }

    fn apply_dev_change(&mut self, diff: StateDiff) -> Result<(), ChainError> {
        self.persist(&Record::State { diff: diff.clone() })?;
        Arc::make_mut(&mut self.world).apply(&diff);
        self.remember_state();
        Ok(())
    }

    /// Moves the clock forward by `seconds` (`evm_increaseTime`); returns the total offset.
    ///
    /// # Errors
    /// [`ChainError::Store`] when the change cannot be written.
    pub fn increase_time(&mut self, seconds: i64) -> Result<i64, ChainError> {
        let offset = self.clock_offset.saturating_add(seconds);
        self.persist(&Record::Clock { offset })?;
        self.clock_offset = offset;
        Ok(offset)
    }

    /// Fixes the next block's timestamp (`evm_setNextBlockTimestamp`).
    ///
    /// # Errors
    /// [`ChainError::Invalid`] when it is before the head's timestamp.
    pub fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        let head = self.head().header.timestamp;
        if timestamp < head {
            return Err(ChainError::Invalid(format!(
                "timestamp {timestamp} is before the latest block's {head}"
            )));
        }
        self.next_timestamp = Some(timestamp);
        Ok(())
    }

    /// Saves the current chain (`evm_snapshot`); returns the snapshot id.
    pub fn snapshot(&mut self) -> u64 {
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(
            id,
            Snapshot {
                head: self.head().number(),
                world: self.world.clone(),
                pending: self.pending.clone(),
                clock_offset: self.clock_offset,
                next_timestamp: self.next_timestamp,
            },
        );
        id
    }

    /// Returns to snapshot `id` (`evm_revert`), dropping it and every later one. Returns
    /// false when there is no such snapshot.
    ///
    /// # Errors
    /// [`ChainError::Store`] when the revert cannot be written.
    pub fn revert(&mut self, id: u64) -> Result<bool, ChainError> {
        let Some(snapshot) = self.snapshots.get(&id).cloned() else {
            return Ok(false);
        };
        self.persist(&Record::Revert {
            head: snapshot.head,
            state: snapshot.world.to_diff(),
        })?;
        if snapshot.clock_offset != self.clock_offset {
            self.persist(&Record::Clock {
                offset: snapshot.clock_offset,
            })?;
        }
        self.snapshots.split_off(&id);
        self.truncate(snapshot.head);
        self.world = snapshot.world;
        self.pending = snapshot.pending;
        self.clock_offset = snapshot.clock_offset;
        self.next_timestamp = snapshot.next_timestamp;
        self.remember_state();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::keys::{derive_accounts, TEST_MNEMONIC};
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::TxKind;

    fn config() -> ChainConfig {
        ChainConfig {
            chain_id: 412_346,
            block_gas_limit: 30_000_000,
            base_fee: 100_000_000,
            accounts: derive_accounts(TEST_MNEMONIC, 2).unwrap(),
            balance: U256::from(10u128.pow(22)),
            genesis_timestamp: Some(1_700_000_000),
            call_gas_cap: 50_000_000,
        }
    }

    fn transfer(chain: &Chain, from: usize, nonce: u64, value: u64) -> SignedTx {
        let account = &chain.accounts()[from];
        let tx = TxEip1559 {
            chain_id: 412_346,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(Address::repeat_byte(0x42)),
            value: U256::from(value),
            ..Default::default()
        };
        let sig = account.sign_hash(&tx.signature_hash());
        let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
        SignedTx::decode(&raw).unwrap()
    }

    #[test]
    fn transfers_mine_blocks_with_receipts() {
        let mut chain = Chain::open(config(), None).unwrap();
        let tx = transfer(&chain, 0, 0, 1_000);
        let hash = chain.submit(tx).unwrap();
        assert_eq!(chain.head().number(), 1);
        let (block, index) = chain.transaction(&hash).unwrap();
        let receipt = &block.transactions[index].receipt;
        assert!(receipt.success);
        assert_eq!(receipt.gas_used, 21_000);
        assert_eq!(receipt.effective_gas_price, 100_000_000);
        assert_eq!(
            chain
                .world()
                .account(&Address::repeat_byte(0x42))
                .unwrap()
                .balance,
            U256::from(1_000)
        );
        assert_eq!(block.header.parent_hash, chain.block(0).unwrap().hash);
        // Replays and gaps are refused.
        let again = transfer(&chain, 0, 0, 1_000);
        assert!(matches!(
            chain.submit(again),
            Err(ChainError::Tx(TxError::AlreadyKnown))
        ));
        let low = transfer(&chain, 0, 0, 5);
        assert!(matches!(
            chain.submit(low),
            Err(ChainError::Tx(TxError::NonceTooLow { .. }))
        ));
        let gap = transfer(&chain, 0, 5, 5);
        assert!(matches!(
            chain.submit(gap),
            Err(ChainError::Tx(TxError::NonceTooHigh { .. }))
        ));
        assert_eq!(chain.head().number(), 1);
    }

    #[test]
    fn interval_mode_queues_until_mined() {
        let mut chain = Chain::open(config(), None).unwrap();
        chain.set_auto_mine(false);
        let a = chain.submit(transfer(&chain, 0, 0, 1)).unwrap();
        let b = chain.submit(transfer(&chain, 0, 1, 2)).unwrap();
        assert_eq!(chain.pending_count(), 2);
        assert_eq!(chain.next_nonce(&chain.accounts()[0].address, true), 2);
        assert!(chain.transaction(&a).is_none());
        let block = chain.mine(None).unwrap();
        assert_eq!(block.transactions.len(), 2);
        assert_eq!(block.transactions[1].receipt.cumulative_gas_used, 42_000);
        assert!(chain.transaction(&b).is_some());
    }

    #[test]
    fn transactions_over_a_full_block_wait_for_the_next() {
        let mut chain = Chain::open(
            ChainConfig {
                block_gas_limit: 50_000,
                ..config()
            },
            None,
        )
        .unwrap();
        chain.set_auto_mine(false);
        let hashes: Vec<_> = (0..5)
            .map(|n| chain.submit(transfer(&chain, 0, n, 1)).unwrap())
            .collect();
        let mut mined = Vec::new();
        for _ in 0..3 {
            let block = chain.mine(None).unwrap();
            mined.extend(block.transactions.iter().map(|t| t.hash));
        }
        assert_eq!(
            mined, hashes,
            "every transaction mined, in nonce order, 2 a block"
        );
        assert_eq!(chain.pending_count(), 0);
    }

    #[test]
    fn snapshots_revert_blocks_and_state() {
        let mut chain = Chain::open(config(), None).unwrap();
        let id = chain.snapshot();
        let hash = chain.submit(transfer(&chain, 0, 0, 7)).unwrap();
        chain
            .set_balance(Address::repeat_byte(9), U256::from(3))
            .unwrap();
        assert!(chain.revert(id).unwrap());
        assert_eq!(chain.head().number(), 0);
        assert!(chain.transaction(&hash).is_none());
        assert!(chain.world().account(&Address::repeat_byte(9)).is_none());
        assert!(!chain.revert(id).unwrap(), "a snapshot is used once");
    }

    #[test]
    fn the_state_directory_brings_everything_back() {
        let dir = std::env::temp_dir().join(format!("cor-devnode-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let hash;
        {
            let mut chain = Chain::open(config(), Some(&dir)).unwrap();
            hash = chain.submit(transfer(&chain, 0, 0, 11)).unwrap();
            chain
                .set_balance(Address::repeat_byte(9), U256::from(3))
                .unwrap();
            let id = chain.snapshot();
            chain.submit(transfer(&chain, 1, 0, 12)).unwrap();
            assert!(chain.revert(id).unwrap());
            chain.submit(transfer(&chain, 0, 1, 13)).unwrap();
            chain.increase_time(100).unwrap();
        }
        let chain = Chain::open(config(), Some(&dir)).unwrap();
        assert_eq!(chain.head().number(), 2);
        assert!(chain.transaction(&hash).is_some());
        assert_eq!(
            chain
                .world()
                .account(&Address::repeat_byte(0x42))
                .unwrap()
                .balance,
            U256::from(24)
        );
        assert_eq!(
            chain
                .world()
                .account(&Address::repeat_byte(9))
                .unwrap()
                .balance,
            U256::from(3)
        );
        assert_eq!(chain.next_nonce(&chain.accounts()[1].address, false), 0);
        assert_eq!(chain.clock_offset, 100);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
