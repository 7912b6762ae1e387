//! SessionQueue: sessions and task intake.
//!
//! A user opens a **session** (`createSession`): the model, redundancy N (1..=7), the
//! consensus method and its agreement threshold, SLA tier, validator and execution depth,
//! payment mode (escrow or quota), a route hint and the commit and reveal windows. Every
//! task of the session (`submitTask`) is priced by SessionPaymentTable, charged (quota
//! units or overage through StakeQuota, or an escrow lock), assigned to N distinct
//! eligible miners of the model, and its commit-reveal round opened in CommitReveal,
//! which locks the price in SessionPayment and runs the rest of the task's life (commit,
//! reveal, consensus, settlement, reputation, rewards, slashing). SessionQueue emits
//! `TaskSubmitted` (with the input URI) and one `TaskAssigned` per miner; miners watch
//! `TaskAssigned` for their address and then act on CommitReveal.
//!
//! PROTOCOL.md describes SessionQueue as one contract; it does not fit Stylus's 24 KiB
//! limit as one program, so it is three: this one (what users call), CommitReveal (what
//! miners and keepers call) and ConsensusEngine (the pure consensus rules).
//!
//! **Assignment.** For each of the N seats, two candidates are drawn uniformly from the
//! model's eligible set in NodePool and the one with the higher NodeReputation level
//! takes the seat ("power of two choices": higher levels are picked more often, level 0
//! nodes still get work); a candidate already seated is replaced by the next node of the
//! set. The randomness is `keccak256(taskId, block number, timestamp, inputHash, payer)`.
//! On a sequencer chain that is not secret: the sequencer orders transactions and sets
//! the timestamp, and a submitter can grind `inputHash` (e.g. with a nonce in the input)
//! to steer which miners it gets. It spreads honest users' tasks; it does not stop a
//! submitter colluding with miners. A commit-reveal or VRF seed would, at the cost of an
//! extra transaction per task.
//!
//! **No owner.** SessionQueue holds no COR and has no admin: its links and limits
//! (longest window, longest URI) are fixed at construction. New work stops where the
//! money is (pausing SessionPayment or StakeQuota makes `submitTask` revert with their
//! `EnforcedPause`), and an upgrade is a new SessionQueue that the other contracts'
//! owners give the SessionQueue role to.
//!
//! **Errors of other contracts** are passed up unchanged: a quota-backed submission
//! without quota reverts with StakeQuota's `QuotaExhausted`, a bad SLA tier with
//! SessionPaymentTable's `InvalidSlaTier`, an empty escrow with SessionPayment's
//! `InsufficientEscrow`, and so on.

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{
    aliases::{U32, U64, U8},
    Address, B256, U256,
};
use alloy_sol_types::{SolCall, SolEvent};
use cor_contract_common::{
    calls::{self, ret_word, Calldata},
    sol_decls,
    task_meta::TaskMeta,
    words::{self, word},
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageB256, StorageMap, StorageU32, StorageU64, StorageU8,
    },
};

mod external;
use external::*;

sol_decls! {
    event SessionCreated(uint64 indexed sessionId, address indexed owner, uint32 indexed modelId, uint8 redundancy, uint8 consensus, uint16 thresholdBps, uint8 paymentMode);
    event TaskSubmitted(uint256 indexed taskId, uint64 indexed sessionId, address indexed payer, bytes32 inputHash, string inputUri, uint32 maxTokens, bytes32 sampling, uint256 price, uint64 commitDeadline, uint64 revealDeadline);
    event TaskAssigned(uint256 indexed taskId, address indexed miner, uint8 seat);
    error InvalidLink(uint8 index);
    error InvalidLimits(uint64 maxWindow, uint32 maxUriBytes);
    error InvalidRedundancy(uint8 n, uint8 min, uint8 max);
    error InvalidThreshold(uint16 thresholdBps);
    error InvalidTolerance(uint8 consensus, uint64 tolerance);
    error InvalidPaymentMode(uint8 mode);
    error InvalidWindow(uint64 commitWindow, uint64 revealWindow, uint64 max);
    error ModelUnavailable(uint32 modelId);
    error UnknownSession(uint64 sessionId);
    error NotSessionOwner(uint64 sessionId, address caller);
    error EmptyInput();
    error UriTooLong(uint256 length, uint256 max);
    error NotEnoughMiners(uint32 modelId, uint32 available, uint8 needed);
    error UnknownTask(uint256 taskId);
}

/// Every error SessionQueue itself reverts with (callees' errors pass through unchanged).
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// A zero address among the linked contracts at construction (its index in `links`).
    InvalidLink(InvalidLink),
    /// Limits outside their bounds at construction (see [`LIMIT_BOUNDS`]).
    InvalidLimits(InvalidLimits),
    /// Redundancy outside 1..=7.
    InvalidRedundancy(InvalidRedundancy),
    /// Threshold outside 1..=10 000 basis points.
    InvalidThreshold(InvalidThreshold),
    /// A Similarity radius above 256 bits.
    InvalidTolerance(InvalidTolerance),
    /// A payment mode other than Escrow (0) or Quota (1).
    InvalidPaymentMode(InvalidPaymentMode),
    /// A commit or reveal window of zero or above `MAX_WINDOW`.
    InvalidWindow(InvalidWindow),
    /// The model is unknown or disabled in NodePool.
    ModelUnavailable(ModelUnavailable),
    /// No session with this id.
    UnknownSession(UnknownSession),
    /// Only the session's owner submits its tasks.
    NotSessionOwner(NotSessionOwner),
    /// A zero input hash.
    EmptyInput(EmptyInput),
    /// An input or output URI longer than `MAX_URI_BYTES`.
    UriTooLong(UriTooLong),
    /// Fewer eligible miners serve the model than the session's redundancy.
    NotEnoughMiners(NotEnoughMiners),
    /// No task with this id.
    UnknownTask(UnknownTask),
}

/// Largest redundancy N.
pub const MAX_REDUNDANCY: u8 = 7;

/// Payment mode: the price is locked from the payer's SessionPayment escrow.
pub const MODE_ESCROW: u8 = 0;
/// Payment mode: the task is charged to the payer's StakeQuota quota (or its overage).
pub const MODE_QUOTA: u8 = 1;

/// Bounds of the limits fixed at construction: longest window 60 s ..= 7 days, longest
/// URI 64 ..= 8 192 bytes.
pub const LIMIT_BOUNDS: ((u64, u64), (u32, u32)) = ((60, 7 * 24 * 3600), (64, 8192));

/// A session's settings, fixed at creation.
#[storage]
pub struct Session {
    owner: StorageAddress,
    model_id: StorageU32,
    payment_mode: StorageU8,
    /// The packed [`TaskMeta`] (class, tier, N, method, threshold, depths, route hint)
    /// every task of the session carries into its SessionPayment record.
    meta: StorageB256,
    tolerance: StorageU64,
    commit_window: StorageU64,
    reveal_window: StorageU64,
}

/// What SessionQueue keeps of a task (its round is in CommitReveal).
#[storage]
pub struct Task {
    session_id: StorageU64,
    input_hash: StorageB256,
}

/// SessionQueue storage.
#[storage]
#[entrypoint]
pub struct SessionQueue {
    /// The longest commit or reveal window, seconds.
    max_window: StorageU64,
    /// The longest input or output URI, bytes.
    max_uri_bytes: StorageU32,
    /// NodePool, SessionPaymentTable, StakeQuota, NodeReputation, CommitReveal.
    links: StorageArray<StorageAddress, 5>,
    session_count: StorageU64,
    task_count: StorageU64,
    sessions: StorageMap<u64, Session>,
    tasks: StorageMap<u64, Task>,
    /// Tasks submitted per payer (the volume SessionPaymentTable's rebates use).
    volume: StorageMap<Address, StorageU64>,
}

const POOL: usize = 0;
const TABLE: usize = 1;
const QUOTA: usize = 2;
const REPUTATION: usize = 3;
const ROUND: usize = 4;

/// Consensus method code of Similarity (`cor_consensus::Method`).
const CONSENSUS_SIMILARITY: u8 = 1;

#[public]
impl SessionQueue {
    /// Links the contracts SessionQueue drives and fixes its limits: the longest commit
    /// or reveal window (seconds) and the longest input URI (bytes). SessionQueue has no
    /// owner: nothing about it changes after deployment (see the crate docs). At
    /// deployment it must then be given the SessionQueue role in StakeQuota (`consume`)
    /// and CommitReveal (`open`).
    ///
    /// Errors: `InvalidLink` for a zero address, `InvalidLimits`.
    #[constructor]
    #[allow(clippy::too_many_arguments)]
    pub fn constructor(
        &mut self,
        node_pool: Address,
        table: Address,
        quota: Address,
        reputation: Address,
        commit_reveal: Address,
        max_window: u64,
        max_uri_bytes: u32,
    ) -> Result<(), Error> {
        for (i, link) in [node_pool, table, quota, reputation, commit_reveal]
            .into_iter()
            .enumerate()
        {
            if link.is_zero() {
                return Err(InvalidLink { index: i as u8 }.into());
            }
            self.set_link(i, link);
        }
        let (windows, uris) = LIMIT_BOUNDS;
        if max_window < windows.0
            || max_window > windows.1
            || max_uri_bytes < uris.0
            || max_uri_bytes > uris.1
        {
            return Err(InvalidLimits {
                maxWindow: max_window,
                maxUriBytes: max_uri_bytes,
            }
            .into());
        }
        self.max_window.set(U64::from(max_window));
        self.max_uri_bytes.set(U32::from(max_uri_bytes));
        Ok(())
    }

    // ---- Sessions -----------------------------------------------------------------------

    /// Opens a session owned by the caller and returns its id (from 1).
    ///
    /// `consensus`: 0 Exact, 1 Similarity, 2 Median, 3 Weighted. `thresholdBps`: the share
    /// of N that must agree (rounded up to whole miners; for Weighted, the share of the
    /// assigned miners' total weight). `tolerance`: the Hamming radius in bits for
    /// Similarity (at most 256), the largest distance from the median for Median, unused
    /// otherwise. `paymentMode`: 0 Escrow, 1 Quota. Windows in seconds, each 1 ..=
    /// `MAX_WINDOW`. Tier, depths and method are checked by pricing the session once with
    /// SessionPaymentTable.
    ///
    /// Errors: `EnforcedPause`, `InvalidRedundancy`, `InvalidThreshold`,
    /// `InvalidTolerance`, `InvalidPaymentMode`, `InvalidWindow`, `ModelUnavailable`, and
    /// SessionPaymentTable's errors. Emits `SessionCreated`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_session(
        &mut self,
        model_id: u32,
        redundancy: u8,
        consensus: u8,
        threshold_bps: u16,
        tolerance: u64,
        sla_tier: u8,
        validator_depth: u8,
        execution_depth: u8,
        payment_mode: u8,
        route_hint: u32,
        commit_window: u64,
        reveal_window: u64,
    ) -> Result<u64, Vec<u8>> {
        if redundancy == 0 || redundancy > MAX_REDUNDANCY {
            return Err(Error::from(InvalidRedundancy {
                n: redundancy,
                min: 1,
                max: MAX_REDUNDANCY,
            })
            .into());
        }
        if threshold_bps == 0 || threshold_bps > 10_000 {
            return Err(Error::from(InvalidThreshold {
                thresholdBps: threshold_bps,
            })
            .into());
        }
        if consensus == CONSENSUS_SIMILARITY && tolerance > 256 {
            return Err(Error::from(InvalidTolerance {
                consensus,
                tolerance,
            })
            .into());
        }
        if payment_mode > MODE_QUOTA {
            return Err(Error::from(InvalidPaymentMode { mode: payment_mode }).into());
        }
        let max: u64 = self.max_window.get().saturating_to();
        if commit_window == 0 || reveal_window == 0 || commit_window > max || reveal_window > max {
            return Err(Error::from(InvalidWindow {
                commitWindow: commit_window,
                revealWindow: reveal_window,
                max,
            })
            .into());
        }
        // NodePool.model(id) -> (class, nameHash, enabled)
        let model = calls::read(
            self,
            self.link(POOL),
            &Calldata::new(modelCall::SELECTOR).arg(model_id),
        )?;
        if ret_word(&model, 2) == B256::ZERO {
            return Err(Error::from(ModelUnavailable { modelId: model_id }).into());
        }
        let model_class = ret_word(&model, 0).0[31];
        // Validates tier, depths and method with the table's own errors.
        self.quote(
            model_class,
            1,
            sla_tier,
            redundancy,
            consensus,
            validator_depth,
            execution_depth,
            payment_mode == MODE_QUOTA,
            0,
        )?;

        let id = self.session_count.get().saturating_to::<u64>() + 1;
        self.session_count.set(U64::from(id));
        let owner = self.vm().msg_sender();
        let meta = TaskMeta {
            model_class,
            sla_tier,
            redundancy,
            consensus,
            threshold_bps,
            validator_depth,
            execution_depth,
            route_hint,
        };
        let mut s = self.sessions.setter(id);
        s.owner.set(owner);
        s.model_id.set(U32::from(model_id));
        s.payment_mode.set(U8::from(payment_mode));
        s.meta.set(meta.pack());
        s.tolerance.set(U64::from(tolerance));
        s.commit_window.set(U64::from(commit_window));
        s.reveal_window.set(U64::from(reveal_window));
        words::emit(
            self.vm(),
            SessionCreated::SIGNATURE_HASH,
            &[word(id), word(owner), word(model_id)],
            &[
                word(redundancy),
                word(consensus),
                word(threshold_bps),
                word(payment_mode),
            ],
        );
        Ok(id)
    }

    /// A session: `(owner, modelId, paymentMode, tolerance, commitWindow, revealWindow,
    /// meta)`. `meta` packs the rest as SessionPayment's task metadata does (byte 0 model
    /// class, 1 SLA tier, 2 redundancy, 3 consensus method, 4..6 threshold bps, 6
    /// validator depth, 7 execution depth, 8..12 route hint; see
    /// `cor_contract_common::task_meta`).
    ///
    /// Errors: `UnknownSession`.
    #[allow(clippy::type_complexity)]
    pub fn session(
        &self,
        session_id: u64,
    ) -> Result<(Address, u32, u8, u64, u64, u64, B256), Error> {
        let s = self.sessions.getter(session_id);
        let owner = s.owner.get();
        if owner.is_zero() {
            return Err(UnknownSession {
                sessionId: session_id,
            }
            .into());
        }
        Ok((
            owner,
            s.model_id.get().saturating_to(),
            s.payment_mode.get().saturating_to(),
            s.tolerance.get().saturating_to(),
            s.commit_window.get().saturating_to(),
            s.reveal_window.get().saturating_to(),
            s.meta.get(),
        ))
    }

    // ---- Tasks --------------------------------------------------------------------------

    /// Submits a task to session `sessionId` (only its owner) and returns the task id
    /// (from 1): charges the quoted price (escrow lock, or quota units / overage), assigns
    /// N distinct eligible miners, emits `TaskSubmitted` then one `TaskAssigned` per
    /// miner. `inputUri` is where miners fetch the input (`data:`, `http(s)://`, ...);
    /// `inputHash` is keccak256 of its bytes. `sampling` is opaque to the contract (the
    /// miners' decoding settings).
    ///
    /// Errors: `EnforcedPause`, `UnknownSession`, `NotSessionOwner`, `EmptyInput`,
    /// `UriTooLong`, `NotEnoughMiners`, and the errors of SessionPaymentTable (`quote`),
    /// SessionPayment (`lock`: `InsufficientEscrow`) and StakeQuota (`consume`:
    /// `QuotaExhausted`, `RateLimited`).
    pub fn submit_task(
        &mut self,
        session_id: u64,
        input_hash: B256,
        input_uri: String,
        max_tokens: u32,
        sampling: B256,
    ) -> Result<U256, Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        let s = self.sessions.getter(session_id);
        let payer = s.owner.get();
        if payer.is_zero() {
            return Err(Error::from(UnknownSession {
                sessionId: session_id,
            })
            .into());
        }
        let caller = self.vm().msg_sender();
        if caller != payer {
            return Err(Error::from(NotSessionOwner {
                sessionId: session_id,
                caller,
            })
            .into());
        }
        if input_hash.is_zero() {
            return Err(Error::from(EmptyInput {}).into());
        }
        self.check_uri(input_uri.len())?;
        let meta_word = s.meta.get();
        let meta = TaskMeta::unpack(meta_word);
        let model_id: u32 = s.model_id.get().saturating_to();
        let mode: u8 = s.payment_mode.get().saturating_to();
        let commit_window: u64 = s.commit_window.get().saturating_to();
        let reveal_window: u64 = s.reveal_window.get().saturating_to();
        let tolerance: u64 = s.tolerance.get().saturating_to();

        let id = self.task_count.get().saturating_to::<u64>() + 1;
        self.task_count.set(U64::from(id));
        let volume = self.volume.get(payer).saturating_to::<u64>();
        self.volume.setter(payer).set(U64::from(volume + 1));
        let task_id = U256::from(id);

        // Charge.
        let quote = self.quote(
            meta.model_class,
            max_tokens,
            meta.sla_tier,
            meta.redundancy,
            meta.consensus,
            meta.validator_depth,
            meta.execution_depth,
            mode == MODE_QUOTA,
            volume,
        )?;
        let mut charged = quote;
        if mode == MODE_QUOTA {
            let covered = calls::send(
                self,
                self.link(QUOTA),
                &Calldata::new(consumeCall::SELECTOR)
                    .arg(payer)
                    .arg(meta.model_class)
                    .arg(meta.redundancy)
                    .raw(quote[0]),
            )?;
            if ret_word(&covered, 0) != B256::ZERO {
                // Free units: no COR moves; the miners earn reward points only.
                charged = [B256::ZERO; 4];
            }
        }
        // Assign.
        let now = self.vm().block_timestamp();
        let mut preimage = Vec::with_capacity(4 * 32 + 20);
        preimage.extend_from_slice(&task_id.to_be_bytes::<32>());
        preimage.extend_from_slice(word(self.vm().block_number()).as_slice());
        preimage.extend_from_slice(word(now).as_slice());
        preimage.extend_from_slice(input_hash.as_slice());
        preimage.extend_from_slice(payer.as_slice());
        let seed = self.vm().native_keccak256(&preimage);
        let miners = self.pick(model_id, meta.redundancy, seed)?;

        let commit_deadline = now + commit_window;
        let reveal_deadline = commit_deadline + reveal_window;
        let mut t = self.tasks.setter(id);
        t.session_id.set(U64::from(session_id));
        t.input_hash.set(input_hash);

        // Open the round: CommitReveal locks the price and records the seats.
        let mut open = Calldata::new(openCall::SELECTOR)
            .arg(task_id)
            .arg(payer)
            .arg(mode);
        for part in charged {
            open = open.raw(part);
        }
        open = open
            .raw(meta_word)
            .arg(tolerance)
            .arg(commit_deadline)
            .arg(reveal_deadline);
        let used = gas_start.saturating_sub(self.vm().evm_gas_left());
        open = open.arg(used).arg(13 * 32u64).addresses(&miners);
        calls::send(self, self.link(ROUND), &open)?;

        let mut data = alloc::vec![
            input_hash,
            word(7 * 32u64),
            word(max_tokens),
            sampling,
            quote[0],
            word(commit_deadline),
            word(reveal_deadline),
        ];
        data.extend(words::bytes_tail(input_uri.as_bytes()));
        words::emit(
            self.vm(),
            TaskSubmitted::SIGNATURE_HASH,
            &[task_id.into(), word(session_id), word(payer)],
            &data,
        );
        for (i, &miner) in miners.iter().enumerate() {
            words::emit(
                self.vm(),
                TaskAssigned::SIGNATURE_HASH,
                &[task_id.into(), word(miner)],
                &[word(i as u8)],
            );
        }
        Ok(task_id)
    }

    /// The session and input of task `taskId`: `(sessionId, inputHash)`; its round (seats,
    /// commitments, reveals, result) is in CommitReveal.
    ///
    /// Errors: `UnknownTask`.
    pub fn task(&self, task_id: U256) -> Result<(u64, B256), Error> {
        let unknown = UnknownTask { taskId: task_id };
        let id: u64 = task_id.try_into().map_err(|_| unknown.clone())?;
        let t = self.tasks.getter(id);
        let session: u64 = t.session_id.get().saturating_to();
        if session == 0 {
            return Err(unknown.into());
        }
        Ok((session, t.input_hash.get()))
    }

    /// `(sessions, tasks)` created so far (ids run from 1 to these).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.session_count.get().saturating_to(),
            self.task_count.get().saturating_to(),
        )
    }

    /// The contracts SessionQueue drives: `(nodePool, table, quota, reputation,
    /// commitReveal)`.
    pub fn links(&self) -> (Address, Address, Address, Address, Address) {
        (
            self.link(POOL),
            self.link(TABLE),
            self.link(QUOTA),
            self.link(REPUTATION),
            self.link(ROUND),
        )
    }

    /// The limits fixed at construction: `(maxWindow, maxUriBytes)`.
    pub fn limits(&self) -> (u64, u32) {
        (
            self.max_window.get().saturating_to(),
            self.max_uri_bytes.get().saturating_to(),
        )
    }
}

impl SessionQueue {
    fn link(&self, index: usize) -> Address {
        self.links.get(index).unwrap_or_default()
    }

    fn set_link(&mut self, index: usize, address: Address) {
        if let Some(mut slot) = self.links.setter(index) {
            slot.set(address);
        }
    }

    fn check_uri(&self, length: usize) -> Result<(), Error> {
        let max: u64 = self.max_uri_bytes.get().saturating_to();
        if length as u64 > max {
            return Err(UriTooLong {
                length: U256::from(length),
                max: U256::from(max),
            }
            .into());
        }
        Ok(())
    }

    /// SessionPaymentTable's quote: `[total, minersPart, validatorsPart, treasuryPart]`.
    #[allow(clippy::too_many_arguments)]
    fn quote(
        &self,
        model_class: u8,
        max_tokens: u32,
        sla_tier: u8,
        redundancy: u8,
        consensus: u8,
        validator_depth: u8,
        execution_depth: u8,
        quota_backed: bool,
        volume: u64,
    ) -> Result<[B256; 4], Vec<u8>> {
        let ret = calls::read(
            self,
            self.link(TABLE),
            &Calldata::new(quoteCall::SELECTOR)
                .arg(model_class)
                .arg(max_tokens)
                .arg(sla_tier)
                .arg(redundancy)
                .arg(consensus)
                .arg(validator_depth)
                .arg(execution_depth)
                .arg(quota_backed)
                .arg(volume),
        )?;
        Ok([0, 1, 2, 3].map(|i| ret_word(&ret, i)))
    }

    /// NodeReputation's level of `miner`.
    fn level(&self, miner: Address) -> Result<u8, Vec<u8>> {
        let ret = calls::read(
            self,
            self.link(REPUTATION),
            &Calldata::new(levelOfCall::SELECTOR).arg(miner),
        )?;
        Ok(ret_word(&ret, 0).0[31])
    }

    /// NodePool's eligible node at `index` of `model_id`'s set.
    fn eligible_at(&self, model_id: u32, index: u32) -> Result<Address, Vec<u8>> {
        let ret = calls::read(
            self,
            self.link(POOL),
            &Calldata::new(eligibleAtCall::SELECTOR)
                .arg(model_id)
                .arg(index),
        )?;
        Ok(Address::from_word(ret_word(&ret, 0)))
    }

    /// Picks `n` distinct eligible miners of `model_id` (power of two choices by level).
    fn pick(&self, model_id: u32, n: u8, seed: B256) -> Result<Vec<Address>, Vec<u8>> {
        let ret = calls::read(
            self,
            self.link(POOL),
            &Calldata::new(eligibleCountCall::SELECTOR).arg(model_id),
        )?;
        let count: u32 = U256::from_be_bytes(ret_word(&ret, 0).0).saturating_to();
        if count < u32::from(n) {
            return Err(Error::from(NotEnoughMiners {
                modelId: model_id,
                available: count,
                needed: n,
            })
            .into());
        }
        let mut chosen: Vec<u32> = Vec::with_capacity(n as usize);
        let mut miners: Vec<Address> = Vec::with_capacity(n as usize);
        for seat in 0..n {
            let mut draw = [0u8; 33];
            draw[..32].copy_from_slice(seed.as_slice());
            draw[32] = seat;
            let r = self.vm().native_keccak256(&draw);
            let a = u32::from_be_bytes([r[0], r[1], r[2], r[3]]) % count;
            let b = u32::from_be_bytes([r[4], r[5], r[6], r[7]]) % count;
            let mut index = a;
            let mut miner = self.eligible_at(model_id, a)?;
            if b != a && !chosen.contains(&b) {
                let other = self.eligible_at(model_id, b)?;
                if chosen.contains(&a) || self.level(other)? > self.level(miner)? {
                    index = b;
                    miner = other;
                }
            }
            while chosen.contains(&index) {
                index = (index + 1) % count;
                miner = Address::ZERO;
            }
            if miner.is_zero() {
                miner = self.eligible_at(model_id, index)?;
            }
            chosen.push(index);
            miners.push(miner);
        }
        Ok(miners)
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    SOL_DECLS.to_vec()
}

#[cfg(test)]
mod tests;
