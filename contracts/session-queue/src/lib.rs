//! SessionQueue: sessions and the task lifecycle, from submission to a paid, scored and
//! rewarded result.
//!
//! A user opens a **session** (`createSession`): the model, redundancy N (1..=7), the
//! consensus method and its agreement threshold, SLA tier, validator and execution depth,
//! payment mode (escrow or quota), a route hint and the commit and reveal windows. Every
//! task of the session (`submitTask`) is charged at the price SessionPaymentTable quotes
//! (locked from the user's SessionPayment escrow, or taken from their StakeQuota quota) and
//! assigned to N distinct eligible miners of the model; each gets a `TaskAssigned` event.
//!
//! Miners `commit` to `keccak256(taskId, miner, outputHash, fingerprint, score, salt)`
//! (see `cor_consensus::commitment`) before the commit deadline, then `reveal` once every
//! assigned miner committed or the commit deadline passed, before the reveal deadline.
//! Anyone may `finalize` a task once every miner revealed or no more reveals can come:
//! `cor_consensus::decide` picks the result and the agreeing miners by the session's
//! method; a result with enough support settles the payment among the agreeing miners
//! (SessionPayment refunds the shares of the others), otherwise the task is Unresolved
//! and the payer refunded. Every assigned miner's outcome goes to NodeReputation, every
//! agreeing miner of a resolved task earns NodeReward points, and a miner that committed
//! but never revealed is slashed `SLASH_AMOUNT` through NodePool. Finalizing again is a
//! no-op that returns the final status.
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
//! **Gas attribution.** Each phase (0 submit, 1 commit, 2 reveal, 3 finalize) measures
//! the gas it used from gas-left deltas and adds it to the task's SessionPayment record.
//!
//! **No owner.** SessionQueue holds no COR and has no admin: its links and limits (slash
//! amount, longest window, longest URI) are fixed at construction, so nobody can redirect
//! payments or change the rules of tasks in flight. New work stops where the money is
//! (pausing SessionPayment or StakeQuota makes `submitTask` revert with their
//! `EnforcedPause`), and an upgrade is a new SessionQueue that the other contracts' owners
//! give the SessionQueue role to. It also keeps the program inside the 24 KiB limit, with
//! the consensus decision in the ConsensusEngine library program.
//!
//! **Errors of other contracts** are passed up unchanged: a quota-backed submission
//! without quota reverts with StakeQuota's `QuotaExhausted`, a bad SLA tier with
//! SessionPaymentTable's `InvalidSlaTier`, and so on.

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
use cor_consensus::commitment_preimage;
use cor_contract_common::{
    calls::{self, ret_word, Calldata},
    sol_decls,
    task_meta::TaskMeta,
    words::{self, word},
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageB256, StorageBytes, StorageMap, StorageU256,
        StorageU32, StorageU64, StorageU8,
    },
};

mod external;
use external::*;

sol_decls! {
    event SessionCreated(uint64 indexed sessionId, address indexed owner, uint32 indexed modelId, uint8 redundancy, uint8 consensus, uint16 thresholdBps, uint8 paymentMode);
    event TaskSubmitted(uint256 indexed taskId, uint64 indexed sessionId, address indexed payer, bytes32 inputHash, string inputUri, uint32 maxTokens, bytes32 sampling, uint256 price, uint64 commitDeadline, uint64 revealDeadline);
    event TaskAssigned(uint256 indexed taskId, address indexed miner, uint8 seat);
    event Committed(uint256 indexed taskId, address indexed miner, bytes32 commitment);
    event Revealed(uint256 indexed taskId, address indexed miner, bytes32 outputHash, bytes32 fingerprint, uint64 score, string outputUri);
    event TaskFinalized(uint256 indexed taskId, uint8 status, bytes32 outputHash, string outputUri, address[] agreeingMiners);
    error InvalidLink(uint8 index);
    error InvalidLimits(uint256 slashAmount, uint64 maxWindow, uint32 maxUriBytes);
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
    error TaskClosed(uint256 taskId, uint8 status);
    error NotAssigned(uint256 taskId, address caller);
    error AlreadyCommitted(uint256 taskId, address miner);
    error NotCommitted(uint256 taskId, address miner);
    error AlreadyRevealed(uint256 taskId, address miner);
    error OutsideWindow(uint256 taskId, uint64 opensAt, uint64 closesAt);
    error CommitmentMismatch(uint256 taskId, address miner);
    error NotReady(uint256 taskId, uint64 readyAt);
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
    /// The task is already finalized.
    TaskClosed(TaskClosed),
    /// The caller is not one of the task's miners.
    NotAssigned(NotAssigned),
    /// The miner already committed.
    AlreadyCommitted(AlreadyCommitted),
    /// A reveal without a commitment.
    NotCommitted(NotCommitted),
    /// The miner already revealed.
    AlreadyRevealed(AlreadyRevealed),
    /// Commit after its deadline, or reveal before its window opened or after it closed.
    OutsideWindow(OutsideWindow),
    /// The reveal does not hash to the miner's commitment.
    CommitmentMismatch(CommitmentMismatch),
    /// `finalize` before every miner revealed and before the reveal deadline.
    NotReady(NotReady),
}

/// Largest redundancy N.
pub const MAX_REDUNDANCY: u8 = 7;

/// Payment mode: the price is locked from the payer's SessionPayment escrow.
pub const MODE_ESCROW: u8 = 0;
/// Payment mode: the task is charged to the payer's StakeQuota quota (or its overage).
pub const MODE_QUOTA: u8 = 1;

/// Task status: no such task.
pub const TASK_NONE: u8 = 0;
/// Task status: open (committing, revealing, or waiting for `finalize`).
pub const TASK_OPEN: u8 = 1;
/// Task status: finalized with a result; the payment settled.
pub const TASK_RESOLVED: u8 = 2;
/// Task status: finalized without a result reaching the threshold; the payer refunded.
pub const TASK_UNRESOLVED: u8 = 3;

/// A seat's state: assigned, nothing posted yet.
pub const SEAT_ASSIGNED: u8 = 0;
/// A seat's state: committed.
pub const SEAT_COMMITTED: u8 = 1;
/// A seat's state: revealed.
pub const SEAT_REVEALED: u8 = 2;

/// NodePool slash reason: committed and did not reveal.
pub const SLASH_NO_REVEAL: u8 = 1;

/// Gas phases recorded in SessionPayment.
pub const PHASE_SUBMIT: u8 = 0;
/// Gas phase of `commit`.
pub const PHASE_COMMIT: u8 = 1;
/// Gas phase of `reveal`.
pub const PHASE_REVEAL: u8 = 2;
/// Gas phase of `finalize`.
pub const PHASE_FINALIZE: u8 = 3;

/// Reward weight of one agreeing result, by model class (Light, Medium, Heavy).
pub const TASK_WEIGHT: [u64; 3] = [1, 4, 16];

const COR: u128 = 1_000_000_000_000_000_000;

/// Bounds of the limits fixed at construction: slash amount at most 1 000 COR, longest
/// window 60 s ..= 7 days, longest URI 64 ..= 8 192 bytes.
pub const LIMIT_BOUNDS: (u128, (u64, u64), (u32, u32)) =
    (1_000 * COR, (60, 7 * 24 * 3600), (64, 8192));

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

/// One miner's seat in a task.
#[storage]
pub struct Seat {
    miner: StorageAddress,
    state: StorageU8,
    score: StorageU64,
    commitment: StorageB256,
    output_hash: StorageB256,
    fingerprint: StorageB256,
    output_uri: StorageBytes,
}

/// One task.
#[storage]
pub struct Task {
    session_id: StorageU64,
    status: StorageU8,
    redundancy: StorageU8,
    committed: StorageU8,
    revealed: StorageU8,
    agreeing: StorageU8,
    /// Seat index + 1 of the result; 0 when there is none.
    result: StorageU8,
    commit_deadline: StorageU64,
    reveal_deadline: StorageU64,
    input_hash: StorageB256,
    seats: StorageArray<Seat, 7>,
}

/// SessionQueue storage.
#[storage]
#[entrypoint]
pub struct SessionQueue {
    /// COR slashed from a miner that committed and did not reveal.
    slash_amount: StorageU256,
    /// The longest commit or reveal window, seconds.
    max_window: StorageU64,
    /// The longest input or output URI, bytes.
    max_uri_bytes: StorageU32,
    /// NodePool, SessionPaymentTable, SessionPayment, StakeQuota, NodeReputation,
    /// NodeReward, ConsensusEngine.
    links: StorageArray<StorageAddress, 7>,
    session_count: StorageU64,
    task_count: StorageU64,
    sessions: StorageMap<u64, Session>,
    tasks: StorageMap<u64, Task>,
    /// Tasks submitted per payer (the volume SessionPaymentTable's rebates use).
    volume: StorageMap<Address, StorageU64>,
}

const POOL: usize = 0;
const TABLE: usize = 1;
const PAYMENT: usize = 2;
const QUOTA: usize = 3;
const REPUTATION: usize = 4;
const REWARD: usize = 5;
const ENGINE: usize = 6;

/// Consensus method codes (`cor_consensus::Method`).
const CONSENSUS_SIMILARITY: u8 = 1;
const CONSENSUS_WEIGHTED: u8 = 3;

/// What `finalize` learned about one seat.
struct Outcome {
    miner: Address,
    state: u8,
    agreed: bool,
}

#[public]
impl SessionQueue {
    /// Links the contracts SessionQueue drives and fixes its limits: the COR slashed from
    /// a miner that committed and never revealed, the longest commit or reveal window
    /// (seconds) and the longest input or output URI (bytes). SessionQueue has no owner:
    /// nothing about it changes after deployment (see the crate docs). At deployment it
    /// must then be given the SessionQueue role in NodePool, SessionPayment, StakeQuota,
    /// NodeReputation and NodeReward.
    ///
    /// Errors: `InvalidLink` for a zero address, `InvalidLimits`.
    #[constructor]
    #[allow(clippy::too_many_arguments)]
    pub fn constructor(
        &mut self,
        node_pool: Address,
        table: Address,
        payment: Address,
        quota: Address,
        reputation: Address,
        reward: Address,
        engine: Address,
        slash_amount: U256,
        max_window: u64,
        max_uri_bytes: u32,
    ) -> Result<(), Error> {
        for (i, link) in [node_pool, table, payment, quota, reputation, reward, engine]
            .into_iter()
            .enumerate()
        {
            if link.is_zero() {
                return Err(InvalidLink { index: i as u8 }.into());
            }
            self.set_link(i, link);
        }
        let (max_slash, windows, uris) = LIMIT_BOUNDS;
        if slash_amount > U256::from(max_slash)
            || max_window < windows.0
            || max_window > windows.1
            || max_uri_bytes < uris.0
            || max_uri_bytes > uris.1
        {
            return Err(InvalidLimits {
                slashAmount: slash_amount,
                maxWindow: max_window,
                maxUriBytes: max_uri_bytes,
            }
            .into());
        }
        self.slash_amount.set(slash_amount);
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
        let mut lock = Calldata::new(lockCall::SELECTOR)
            .arg(task_id)
            .arg(payer)
            .arg(mode);
        for part in charged {
            lock = lock.raw(part);
        }
        calls::send(self, self.link(PAYMENT), &lock.raw(meta_word))?;

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
        t.status.set(U8::from(TASK_OPEN));
        t.redundancy.set(U8::from(meta.redundancy));
        t.commit_deadline.set(U64::from(commit_deadline));
        t.reveal_deadline.set(U64::from(reveal_deadline));
        t.input_hash.set(input_hash);
        for (i, &miner) in miners.iter().enumerate() {
            if let Some(mut seat) = t.seats.setter(i) {
                seat.miner.set(miner);
            }
        }

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
        self.record_gas(task_id, PHASE_SUBMIT, gas_start)?;
        Ok(task_id)
    }

    /// Posts the caller's commitment `keccak256(abi.encodePacked(taskId, miner,
    /// outputHash, fingerprint, score, salt))` (uint256, address, bytes32, bytes32,
    /// uint64, bytes32) for an assigned task, before the commit deadline.
    ///
    /// Errors: `UnknownTask`, `TaskClosed`, `NotAssigned`, `AlreadyCommitted`,
    /// `OutsideWindow`. Emits `Committed`.
    pub fn commit(&mut self, task_id: U256, commitment: B256) -> Result<(), Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        let id = self.open_task(task_id)?;
        let miner = self.vm().msg_sender();
        let seat = self.seat_of(id, task_id, miner)?;
        let now = self.vm().block_timestamp();
        let mut t = self.tasks.setter(id);
        let deadline: u64 = t.commit_deadline.get().saturating_to();
        let mut s = t.seats.setter(seat).ok_or_else(Vec::new)?;
        if s.state.get().saturating_to::<u8>() != SEAT_ASSIGNED {
            return Err(Error::from(AlreadyCommitted {
                taskId: task_id,
                miner,
            })
            .into());
        }
        if now > deadline {
            return Err(Error::from(OutsideWindow {
                taskId: task_id,
                opensAt: 0,
                closesAt: deadline,
            })
            .into());
        }
        s.state.set(U8::from(SEAT_COMMITTED));
        s.commitment.set(commitment);
        let committed = t.committed.get() + U8::from(1);
        t.committed.set(committed);
        words::emit(
            self.vm(),
            Committed::SIGNATURE_HASH,
            &[task_id.into(), word(miner)],
            &[commitment],
        );
        self.record_gas(task_id, PHASE_COMMIT, gas_start)?;
        Ok(())
    }

    /// Reveals the caller's answer; it must hash to the caller's commitment. Allowed once
    /// every assigned miner committed or the commit deadline passed, until the reveal
    /// deadline. `outputUri` is where the output bytes are served (their keccak256 is
    /// `outputHash`).
    ///
    /// Errors: `UnknownTask`, `TaskClosed`, `NotAssigned`, `NotCommitted`,
    /// `AlreadyRevealed`, `OutsideWindow`, `UriTooLong`, `CommitmentMismatch`. Emits
    /// `Revealed`.
    pub fn reveal(
        &mut self,
        task_id: U256,
        output_hash: B256,
        fingerprint: B256,
        score: u64,
        output_uri: String,
        salt: B256,
    ) -> Result<(), Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        let id = self.open_task(task_id)?;
        let miner = self.vm().msg_sender();
        let seat = self.seat_of(id, task_id, miner)?;
        self.check_uri(output_uri.len())?;
        let now = self.vm().block_timestamp();
        let expected = commitment_preimage(task_id, miner, output_hash, fingerprint, score, salt);
        let hash = self.vm().native_keccak256(&expected);
        let mut t = self.tasks.setter(id);
        let commit_deadline: u64 = t.commit_deadline.get().saturating_to();
        let reveal_deadline: u64 = t.reveal_deadline.get().saturating_to();
        let all_committed = t.committed.get() == t.redundancy.get();
        let mut s = t.seats.setter(seat).ok_or_else(Vec::new)?;
        match s.state.get().saturating_to::<u8>() {
            SEAT_ASSIGNED => {
                return Err(Error::from(NotCommitted {
                    taskId: task_id,
                    miner,
                })
                .into())
            }
            SEAT_REVEALED => {
                return Err(Error::from(AlreadyRevealed {
                    taskId: task_id,
                    miner,
                })
                .into())
            }
            _ => {}
        }
        if (!all_committed && now <= commit_deadline) || now > reveal_deadline {
            return Err(Error::from(OutsideWindow {
                taskId: task_id,
                opensAt: commit_deadline + 1,
                closesAt: reveal_deadline,
            })
            .into());
        }
        if s.commitment.get() != hash {
            return Err(Error::from(CommitmentMismatch {
                taskId: task_id,
                miner,
            })
            .into());
        }
        s.state.set(U8::from(SEAT_REVEALED));
        s.output_hash.set(output_hash);
        s.fingerprint.set(fingerprint);
        s.score.set(U64::from(score));
        s.output_uri.set_bytes(output_uri.as_bytes());
        let revealed = t.revealed.get() + U8::from(1);
        t.revealed.set(revealed);
        let mut data = alloc::vec![output_hash, fingerprint, word(score), word(4 * 32u64)];
        data.extend(words::bytes_tail(output_uri.as_bytes()));
        words::emit(
            self.vm(),
            Revealed::SIGNATURE_HASH,
            &[task_id.into(), word(miner)],
            &data,
        );
        self.record_gas(task_id, PHASE_REVEAL, gas_start)?;
        Ok(())
    }

    /// Decides and settles a task; anyone may call it once every assigned miner revealed,
    /// or every miner that committed revealed and the commit deadline passed, or the
    /// reveal deadline passed. Returns the final status (2 Resolved, 3 Unresolved);
    /// calling it again returns the same status and changes nothing.
    ///
    /// Errors: `UnknownTask`, `NotReady`, and the errors of the contracts it drives.
    /// Emits `TaskFinalized` (and the callees' settlement, reputation, reward and slash
    /// events).
    pub fn finalize(&mut self, task_id: U256) -> Result<u8, Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        let id = self.task_id(task_id)?;
        let t = self.tasks.getter(id);
        let status: u8 = t.status.get().saturating_to();
        if status != TASK_OPEN {
            return Ok(status);
        }
        let now = self.vm().block_timestamp();
        let n: u8 = t.redundancy.get().saturating_to();
        let committed: u8 = t.committed.get().saturating_to();
        let revealed: u8 = t.revealed.get().saturating_to();
        let commit_deadline: u64 = t.commit_deadline.get().saturating_to();
        let reveal_deadline: u64 = t.reveal_deadline.get().saturating_to();
        let ready = revealed == n
            || now > reveal_deadline
            || (now > commit_deadline && revealed == committed);
        if !ready {
            let ready_at = if revealed == committed {
                commit_deadline + 1
            } else {
                reveal_deadline + 1
            };
            return Err(Error::from(NotReady {
                taskId: task_id,
                readyAt: ready_at,
            })
            .into());
        }
        let s = self
            .sessions
            .getter(t.session_id.get().saturating_to::<u64>());
        let meta = TaskMeta::unpack(s.meta.get());
        let tolerance: u64 = s.tolerance.get().saturating_to();

        // Gather the seats and the reveals.
        let mut seats: Vec<Outcome> = Vec::with_capacity(n as usize);
        let mut revealer: Vec<usize> = Vec::with_capacity(n as usize);
        let mut hashes: Vec<B256> = Vec::with_capacity(n as usize);
        let mut fingerprints: Vec<B256> = Vec::with_capacity(n as usize);
        let mut scores: Vec<B256> = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let Some(seat) = t.seats.getter(i) else { break };
            let state: u8 = seat.state.get().saturating_to();
            seats.push(Outcome {
                miner: seat.miner.get(),
                state,
                agreed: false,
            });
            if state == SEAT_REVEALED {
                hashes.push(seat.output_hash.get());
                fingerprints.push(seat.fingerprint.get());
                scores.push(word(seat.score.get().saturating_to::<u64>()));
                revealer.push(i);
            }
        }
        let mut weights: Vec<B256> = alloc::vec![word(1u64); revealer.len()];
        let mut total_weight = u64::from(n);
        if meta.consensus == CONSENSUS_WEIGHTED {
            total_weight = 0;
            let mut r = 0;
            for (i, seat) in seats.iter().enumerate() {
                let weight = self.vote_weight(seat.miner)?;
                total_weight = total_weight.saturating_add(weight);
                if revealer.get(r) == Some(&i) {
                    weights[r] = word(weight);
                    r += 1;
                }
            }
        }
        let threshold = (u64::from(n) * u64::from(meta.threshold_bps))
            .div_ceil(10_000)
            .max(1);
        let k = revealer.len() as u64;
        let tail = 32 * (1 + k);
        let mut decide = Calldata::new(decideCall::SELECTOR)
            .arg(meta.consensus)
            .arg(n)
            .arg(threshold)
            .arg(tolerance)
            .arg(total_weight);
        for array in 0..4 {
            decide = decide.arg(9 * 32 + array * tail);
        }
        for array in [&hashes, &fingerprints, &scores, &weights] {
            decide = decide.arg(k);
            for &w in array.iter() {
                decide = decide.raw(w);
            }
        }
        let decision = calls::read(self, self.link(ENGINE), &decide)?;
        let result = ret_word(&decision, 0).0[31] as usize;
        let agreeing = ret_word(&decision, 1).0[31];
        let resolved = ret_word(&decision, 3) != B256::ZERO;
        let mut agreeing_seats = 0u8;
        let mut winners: Vec<Address> = Vec::new();
        for (r, &i) in revealer.iter().enumerate() {
            if agreeing & (1 << r) != 0 {
                seats[i].agreed = true;
                agreeing_seats |= 1 << i;
                winners.push(seats[i].miner);
            }
        }
        let result_seat = result.checked_sub(1).and_then(|r| revealer.get(r).copied());
        let final_status = if resolved {
            TASK_RESOLVED
        } else {
            TASK_UNRESOLVED
        };

        // Close the task before calling out: a re-entrant finalize sees it final.
        let mut t = self.tasks.setter(id);
        t.status.set(U8::from(final_status));
        t.agreeing.set(U8::from(agreeing_seats));
        t.result
            .set(U8::from(result_seat.map_or(0, |i| i as u8 + 1)));
        let (output_hash, output_uri) = match result_seat.and_then(|i| t.seats.getter(i)) {
            Some(seat) => (seat.output_hash.get(), seat.output_uri.get_bytes()),
            None => (B256::ZERO, Vec::new()),
        };

        // Pay or refund.
        if resolved {
            let settle = Calldata::new(settleCall::SELECTOR)
                .arg(task_id)
                .arg(3 * 32u64)
                .arg((4 + winners.len() as u64) * 32)
                .addresses(&winners)
                .addresses(&[]);
            calls::send(self, self.link(PAYMENT), &settle)?;
        } else {
            calls::send(
                self,
                self.link(PAYMENT),
                &Calldata::new(refundCall::SELECTOR).arg(task_id),
            )?;
        }

        // Reputation, rewards, slashes.
        let slash = self.slash_amount.get();
        let weight = TASK_WEIGHT
            .get(meta.model_class as usize)
            .copied()
            .unwrap_or(1);
        for seat in &seats {
            calls::send(
                self,
                self.link(REPUTATION),
                &Calldata::new(recordTaskCall::SELECTOR)
                    .arg(seat.miner)
                    .arg(seat.state >= SEAT_COMMITTED)
                    .arg(seat.state == SEAT_REVEALED)
                    .arg(seat.agreed),
            )?;
            if seat.agreed && resolved {
                calls::send(
                    self,
                    self.link(REWARD),
                    &Calldata::new(creditCall::SELECTOR)
                        .arg(seat.miner)
                        .arg(weight),
                )?;
            }
            if seat.state == SEAT_COMMITTED && !slash.is_zero() {
                calls::send(
                    self,
                    self.link(POOL),
                    &Calldata::new(slashCall::SELECTOR)
                        .arg(seat.miner)
                        .arg(slash)
                        .arg(SLASH_NO_REVEAL),
                )?;
            }
        }

        let tail_offset = 4 * 32 + 32 * (1 + output_uri.len().div_ceil(32) as u64);
        let mut data = alloc::vec![
            word(final_status),
            output_hash,
            word(4 * 32u64),
            word(tail_offset)
        ];
        data.extend(words::bytes_tail(&output_uri));
        data.push(word(winners.len() as u64));
        data.extend(winners.iter().map(|&w| word(w)));
        words::emit(
            self.vm(),
            TaskFinalized::SIGNATURE_HASH,
            &[task_id.into()],
            &data,
        );
        self.record_gas(task_id, PHASE_FINALIZE, gas_start)?;
        Ok(final_status)
    }

    /// A task: `(sessionId, status, redundancy, committed, revealed, commitDeadline,
    /// revealDeadline, inputHash, agreeingSeats, resultSeat)`. `agreeingSeats` is a mask of
    /// seat indices; `resultSeat` is the result's seat index + 1, 0 for none.
    ///
    /// Errors: `UnknownTask`.
    #[allow(clippy::type_complexity)]
    pub fn task(
        &self,
        task_id: U256,
    ) -> Result<(u64, u8, u8, u8, u8, u64, u64, B256, u8, u8), Error> {
        let id = self.task_id(task_id)?;
        let t = self.tasks.getter(id);
        Ok((
            t.session_id.get().saturating_to(),
            t.status.get().saturating_to(),
            t.redundancy.get().saturating_to(),
            t.committed.get().saturating_to(),
            t.revealed.get().saturating_to(),
            t.commit_deadline.get().saturating_to(),
            t.reveal_deadline.get().saturating_to(),
            t.input_hash.get(),
            t.agreeing.get().saturating_to(),
            t.result.get().saturating_to(),
        ))
    }

    /// Seat `index` of a task: `(miner, state, commitment, outputHash, fingerprint,
    /// score, outputUri)`; state 0 Assigned, 1 Committed, 2 Revealed.
    ///
    /// Errors: `UnknownTask`, `NotAssigned` (with the zero address) for an index past N.
    #[allow(clippy::type_complexity)]
    pub fn seat(
        &self,
        task_id: U256,
        index: u8,
    ) -> Result<(Address, u8, B256, B256, B256, u64, String), Error> {
        let id = self.task_id(task_id)?;
        let t = self.tasks.getter(id);
        let missing = NotAssigned {
            taskId: task_id,
            caller: Address::ZERO,
        };
        if index >= t.redundancy.get().saturating_to::<u8>() {
            return Err(missing.into());
        }
        let s = t.seats.getter(index as usize).ok_or(missing)?;
        Ok((
            s.miner.get(),
            s.state.get().saturating_to(),
            s.commitment.get(),
            s.output_hash.get(),
            s.fingerprint.get(),
            s.score.get().saturating_to(),
            String::from_utf8(s.output_uri.get_bytes()).unwrap_or_default(),
        ))
    }

    /// `(sessions, tasks)` created so far (ids run from 1 to these).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.session_count.get().saturating_to(),
            self.task_count.get().saturating_to(),
        )
    }

    /// The contracts SessionQueue drives: `(nodePool, table, payment, quota, reputation,
    /// reward, engine)`.
    #[allow(clippy::type_complexity)]
    pub fn links(
        &self,
    ) -> (
        Address,
        Address,
        Address,
        Address,
        Address,
        Address,
        Address,
    ) {
        (
            self.link(POOL),
            self.link(TABLE),
            self.link(PAYMENT),
            self.link(QUOTA),
            self.link(REPUTATION),
            self.link(REWARD),
            self.link(ENGINE),
        )
    }

    /// The limits fixed at construction: `(slashAmount, maxWindow, maxUriBytes)`.
    pub fn limits(&self) -> (U256, u64, u32) {
        (
            self.slash_amount.get(),
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

    /// NodeReputation's vote weight of `miner` (at least 1).
    fn vote_weight(&self, miner: Address) -> Result<u64, Vec<u8>> {
        let ret = calls::read(
            self,
            self.link(REPUTATION),
            &Calldata::new(voteWeightCall::SELECTOR).arg(miner),
        )?;
        let weight: u64 = U256::from_be_bytes(ret_word(&ret, 0).0).saturating_to();
        Ok(weight.max(1))
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

    fn task_id(&self, task_id: U256) -> Result<u64, Error> {
        let unknown = UnknownTask { taskId: task_id };
        let id: u64 = task_id.try_into().map_err(|_| unknown.clone())?;
        if id == 0 || id > self.task_count.get().saturating_to::<u64>() {
            return Err(unknown.into());
        }
        Ok(id)
    }

    fn open_task(&self, task_id: U256) -> Result<u64, Error> {
        let id = self.task_id(task_id)?;
        let status: u8 = self.tasks.getter(id).status.get().saturating_to();
        if status != TASK_OPEN {
            return Err(TaskClosed {
                taskId: task_id,
                status,
            }
            .into());
        }
        Ok(id)
    }

    fn seat_of(&self, id: u64, task_id: U256, miner: Address) -> Result<usize, Error> {
        let t = self.tasks.getter(id);
        let n: usize = t.redundancy.get().saturating_to();
        for i in 0..n {
            if t.seats.getter(i).is_some_and(|s| s.miner.get() == miner) {
                return Ok(i);
            }
        }
        Err(NotAssigned {
            taskId: task_id,
            caller: miner,
        }
        .into())
    }

    /// Adds the gas used since `gas_start` to the task's record in SessionPayment.
    fn record_gas(&mut self, task_id: U256, phase: u8, gas_start: u64) -> Result<(), Vec<u8>> {
        let used = gas_start.saturating_sub(self.vm().evm_gas_left());
        calls::send(
            self,
            self.link(PAYMENT),
            &Calldata::new(recordGasCall::SELECTOR)
                .arg(task_id)
                .arg(phase)
                .arg(used),
        )?;
        Ok(())
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    SOL_DECLS.to_vec()
}

#[cfg(test)]
mod tests;
