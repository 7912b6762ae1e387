//! CommitReveal: the commit-reveal round of every task, its consensus and its settlement.
//!
//! SessionQueue takes a task in (prices it, charges quota, picks N miners) and then
//! [`open`]s its round here: CommitReveal locks the price in SessionPayment and records
//! the seats. Miners `commit` to `keccak256(taskId, miner, outputHash, fingerprint,
//! score, salt)` (see `cor_consensus::commitment`) before the commit deadline, then
//! `reveal` once every seat committed or the commit deadline passed, before the reveal
//! deadline. Anyone may `finalize` a task once every miner revealed or no more reveals can
//! come: the ConsensusEngine program decides the result and the agreeing miners by the
//! session's method; a result with enough support settles the payment among the agreeing
//! miners (SessionPayment refunds the shares of the others), otherwise the task is
//! Unresolved and the payer refunded. ConsensusEngine also records every seat's outcome
//! in NodeReputation, credits NodeReward points to the agreeing miners of a resolved task
//! and slashes, through NodePool, a miner that committed but never revealed. Finalizing
//! again is a no-op that returns the final status.
//!
//! **Why a program of its own.** PROTOCOL.md describes one SessionQueue contract; with
//! sessions, intake, assignment, the round and settlement together it compiles to about
//! 33 KB compressed, over Stylus's 24 KiB limit. The line drawn here is the one between
//! taking a task in (SessionQueue: what users call) and running its round (CommitReveal:
//! what miners and keepers call), with the pure consensus rules in ConsensusEngine.
//!
//! **Gas attribution.** Each phase (0 submit, 1 commit, 2 reveal, 3 finalize) measures
//! the gas it used from gas-left deltas and adds it to the task's SessionPayment record
//! (submit: SessionQueue's share is passed to `open`, which adds its own).
//!
//! **Errors of other contracts** are passed up unchanged (SessionPayment's
//! `InsufficientEscrow` on `open`, for example).
//!
//! [`open`]: CommitReveal::open

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{
    aliases::{U32, U64, U8},
    Address, Bytes, B256, U256,
};
use alloy_sol_types::{SolCall, SolEvent};
use cor_consensus::commitment_preimage;
use cor_contract_common::{
    access,
    access::Ownable,
    calls::{self, ret_word, Calldata},
    role,
    role::Role,
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

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};
pub use role::{RoleSet, UnauthorizedCaller};

mod external;
use external::*;

sol_decls! {
    event Committed(uint256 indexed taskId, address indexed miner, bytes32 commitment);
    event Revealed(uint256 indexed taskId, address indexed miner, bytes32 outputHash, bytes32 fingerprint, uint64 score, string outputUri);
    event TaskFinalized(uint256 indexed taskId, uint8 status, bytes32 outputHash, string outputUri, address[] agreeingMiners);
    error InvalidLink(uint8 index);
    error InvalidLimits(uint32 maxUriBytes);
    error InvalidRound(uint256 taskId);
    error UriTooLong(uint256 length, uint256 max);
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

/// Every error CommitReveal itself reverts with (callees' errors pass through unchanged).
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// A zero address among the linked contracts at construction (its index in `links`).
    InvalidLink(InvalidLink),
    /// A URI limit outside [`URI_BOUNDS`] at construction.
    InvalidLimits(InvalidLimits),
    /// `open` for a task id already used, with no miners or more than seven, or with
    /// deadlines out of order.
    InvalidRound(InvalidRound),
    /// An output URI longer than the limit.
    UriTooLong(UriTooLong),
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
    /// Not the owner.
    OwnableUnauthorizedAccount(OwnableUnauthorizedAccount),
    /// The zero address as owner.
    OwnableInvalidOwner(OwnableInvalidOwner),
    /// `open` from anyone but SessionQueue.
    UnauthorizedCaller(UnauthorizedCaller),
}

/// Role id of SessionQueue, the only caller of `open`.
pub const SESSION_QUEUE_ROLE: u8 = 1;

/// Largest redundancy N.
pub const MAX_REDUNDANCY: u8 = 7;

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

/// Gas phase of `submitTask` (SessionQueue's share plus `open`).
pub const PHASE_SUBMIT: u8 = 0;
/// Gas phase of `commit`.
pub const PHASE_COMMIT: u8 = 1;
/// Gas phase of `reveal`.
pub const PHASE_REVEAL: u8 = 2;
/// Gas phase of `finalize`.
pub const PHASE_FINALIZE: u8 = 3;

/// Bounds of the longest output URI fixed at construction: 64 ..= 8 192 bytes.
pub const URI_BOUNDS: (u32, u32) = (64, 8192);

/// One miner's seat in a task.
#[storage]
pub struct Seat {
    miner: StorageAddress,
    state: StorageU8,
    score: StorageU64,
    commitment: StorageB256,
    output_hash: StorageB256,
    fingerprint: StorageB256,
    /// The output URI: its length in bytes, then its bytes in whole words.
    uri_len: StorageU32,
    uri: StorageArray<StorageB256, URI_WORDS>,
}

/// Words of URI storage per seat (the largest URI limit, 8 192 bytes). A plain word
/// array rather than the SDK's `StorageBytes`, whose length decoding divides a `U256`
/// and links ruint's general division (about 8 KiB of the 24 KiB budget).
const URI_WORDS: usize = 256;

impl Seat {
    fn set_uri(&mut self, uri: &[u8]) {
        self.uri_len.set(U32::from(uri.len() as u32));
        for (i, chunk) in uri.chunks(32).enumerate() {
            let mut w = B256::ZERO;
            w.0[..chunk.len()].copy_from_slice(chunk);
            if let Some(mut slot) = self.uri.setter(i) {
                slot.set(w);
            }
        }
    }

    fn uri(&self) -> Vec<u8> {
        let len = self.uri_len.get().saturating_to::<usize>();
        let mut out = Vec::with_capacity(len.next_multiple_of(32));
        for i in 0..len.div_ceil(32) {
            out.extend_from_slice(self.uri.get(i).unwrap_or_default().as_slice());
        }
        out.truncate(len);
        out
    }
}

/// One task's round.
#[storage]
pub struct Task {
    status: StorageU8,
    redundancy: StorageU8,
    committed: StorageU8,
    revealed: StorageU8,
    agreeing: StorageU8,
    /// Seat index + 1 of the result; 0 when there is none.
    result: StorageU8,
    commit_deadline: StorageU64,
    reveal_deadline: StorageU64,
    tolerance: StorageU64,
    /// The packed [`TaskMeta`] of the task's session.
    meta: StorageB256,
    seats: StorageArray<Seat, 7>,
}

/// CommitReveal storage.
#[storage]
#[entrypoint]
pub struct CommitReveal {
    ownable: Ownable,
    session_queue: Role,
    /// SessionPayment, ConsensusEngine.
    links: StorageArray<StorageAddress, 2>,
    /// The longest output URI, bytes.
    max_uri_bytes: StorageU32,
    tasks: StorageMap<u64, Task>,
}

const PAYMENT: usize = 0;
const ENGINE: usize = 1;

/// Where a task's round stands after an attempt to close it.
enum Round {
    /// Already closed earlier, with this status.
    Final(u8),
    /// Closed now, with this status.
    Finalized(u8),
    /// Not ready; ready from this time.
    NotReady(u64),
}

#[public]
impl CommitReveal {
    /// Sets the owner (who sets the SessionQueue role), links SessionPayment and
    /// ConsensusEngine and fixes the longest output URI (bytes). At deployment
    /// CommitReveal must then be given the SessionQueue role in SessionPayment (it locks,
    /// records gas, settles and refunds) and the CommitReveal role in ConsensusEngine.
    ///
    /// Errors: `OwnableInvalidOwner`, `InvalidLink` for a zero address, `InvalidLimits`.
    /// Emits `OwnershipTransferred`.
    #[constructor]
    pub fn constructor(
        &mut self,
        owner: Address,
        payment: Address,
        engine: Address,
        max_uri_bytes: u32,
    ) -> Result<(), Error> {
        self.ownable.init::<Error>(owner)?;
        for (i, link) in [payment, engine].into_iter().enumerate() {
            if link.is_zero() {
                return Err(InvalidLink { index: i as u8 }.into());
            }
            if let Some(mut slot) = self.links.setter(i) {
                slot.set(link);
            }
        }
        let (min, max) = URI_BOUNDS;
        if max_uri_bytes < min || max_uri_bytes > max {
            return Err(InvalidLimits {
                maxUriBytes: max_uri_bytes,
            }
            .into());
        }
        self.max_uri_bytes.set(U32::from(max_uri_bytes));
        Ok(())
    }

    /// Opens task `taskId`'s round; only SessionQueue, in `submitTask`. Locks the price
    /// in SessionPayment (`mode` 0 Escrow, 1 Quota; a quota task covered by free units
    /// has a zero price), stores the seats and deadlines and the session's packed
    /// `meta` and `tolerance`, and records the submit phase's gas (`submitGas`, measured
    /// by SessionQueue, plus this call's).
    ///
    /// Errors: `UnauthorizedCaller`, `InvalidRound`, and SessionPayment's `lock` errors.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        task_id: U256,
        payer: Address,
        mode: U256,
        total: U256,
        miners_part: U256,
        validators_part: U256,
        treasury_part: U256,
        meta: B256,
        tolerance: U256,
        commit_deadline: U256,
        reveal_deadline: U256,
        submit_gas: U256,
        miners: Vec<Address>,
    ) -> Result<(), Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        // `open` is SessionQueue's private entry: its integers travel as plain words.
        let (commit_deadline, reveal_deadline): (u64, u64) = (
            commit_deadline.saturating_to(),
            reveal_deadline.saturating_to(),
        );
        let submit_gas: u64 = submit_gas.saturating_to();
        self.session_queue
            .only::<Error>(SESSION_QUEUE_ROLE, self.vm().msg_sender())?;
        let invalid = Error::from(InvalidRound { taskId: task_id });
        let id: u64 = match task_id.try_into() {
            Ok(id) if id != 0 => id,
            _ => return Err(invalid.into()),
        };
        let n = miners.len();
        if n == 0
            || n > MAX_REDUNDANCY as usize
            || commit_deadline >= reveal_deadline
            || !self.tasks.getter(id).status.get().is_zero()
        {
            return Err(invalid.into());
        }
        let mut lock = Calldata::new(lockCall::SELECTOR)
            .arg(task_id)
            .arg(payer)
            .arg(mode);
        for part in [total, miners_part, validators_part, treasury_part] {
            lock = lock.arg(part);
        }
        calls::send(self, self.link(PAYMENT), &lock.raw(meta))?;
        let mut t = self.tasks.setter(id);
        t.status.set(U8::from(TASK_OPEN));
        t.redundancy.set(U8::from(n as u8));
        t.commit_deadline.set(U64::from(commit_deadline));
        t.reveal_deadline.set(U64::from(reveal_deadline));
        t.tolerance.set(U64::from(tolerance.saturating_to::<u64>()));
        t.meta.set(meta);
        for (i, &miner) in miners.iter().enumerate() {
            if let Some(mut seat) = t.seats.setter(i) {
                seat.miner.set(miner);
            }
        }
        let used = gas_start.saturating_sub(self.vm().evm_gas_left());
        self.record(task_id, PHASE_SUBMIT, submit_gas.saturating_add(used))
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
        output_uri: Bytes,
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
        s.set_uri(output_uri.as_ref());
        let revealed = t.revealed.get() + U8::from(1);
        t.revealed.set(revealed);
        let mut data = alloc::vec![output_hash, fingerprint, word(score), word(4 * 32u64)];
        data.extend(words::bytes_tail(output_uri.as_ref()));
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
        match self.close_round(task_id)? {
            Round::Final(status) | Round::Finalized(status) => Ok(status),
            Round::NotReady(ready_at) => Err(Error::from(NotReady {
                taskId: task_id,
                readyAt: ready_at,
            })
            .into()),
        }
    }

    /// Finalizes every task in `taskIds` that is ready and skips the others (already
    /// final, or not ready yet), so a keeper can close overdue tasks in one transaction
    /// sized to its gas budget. Returns how many it finalized.
    ///
    /// Errors: `UnknownTask`, and the errors of the contracts it drives (the whole batch
    /// then reverts). Emits what `finalize` emits, per finalized task.
    pub fn finalize_many(&mut self, task_ids: Vec<U256>) -> Result<u32, Vec<u8>> {
        let mut finalized = 0u32;
        for task_id in task_ids {
            if let Round::Finalized(_) = self.close_round(task_id)? {
                finalized += 1;
            }
        }
        Ok(finalized)
    }

    /// A task's round: `(status, redundancy, committed, revealed, commitDeadline,
    /// revealDeadline, agreeingSeats, resultSeat, meta)`. Status 0 None, 1 Open,
    /// 2 Resolved, 3 Unresolved; `agreeingSeats` is a mask of seat indices; `resultSeat`
    /// the result's seat index + 1, 0 for none; `meta` the session's packed settings.
    ///
    /// Errors: `UnknownTask`.
    #[allow(clippy::type_complexity)]
    pub fn task(&self, task_id: U256) -> Result<(u8, u8, u8, u8, u64, u64, u8, u8, B256), Error> {
        let id = self.task_id(task_id)?;
        let t = self.tasks.getter(id);
        Ok((
            t.status.get().saturating_to(),
            t.redundancy.get().saturating_to(),
            t.committed.get().saturating_to(),
            t.revealed.get().saturating_to(),
            t.commit_deadline.get().saturating_to(),
            t.reveal_deadline.get().saturating_to(),
            t.agreeing.get().saturating_to(),
            t.result.get().saturating_to(),
            t.meta.get(),
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
    ) -> Result<(Address, u8, B256, B256, B256, u64, Bytes), Error> {
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
            Bytes::from(s.uri()),
        ))
    }

    /// The contracts the round drives and its opener: `(payment, engine, sessionQueue)`.
    pub fn links(&self) -> (Address, Address, Address) {
        (
            self.link(PAYMENT),
            self.link(ENGINE),
            self.session_queue.account(),
        )
    }

    /// The longest output URI, bytes.
    pub fn max_uri_bytes(&self) -> u32 {
        self.max_uri_bytes.get().saturating_to()
    }

    /// Sets the SessionQueue (role 1), the only caller of `open`; zero revokes it. Only
    /// the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `RoleSet`.
    pub fn set_session_queue(&mut self, account: Address) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        self.session_queue.set(SESSION_QUEUE_ROLE, account);
        Ok(())
    }

    /// The owner (who sets the SessionQueue role).
    pub fn owner(&self) -> Address {
        self.ownable.owner()
    }

    /// Hands ownership to `new_owner`.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `OwnableInvalidOwner`. Emits
    /// `OwnershipTransferred`.
    pub fn transfer_ownership(&mut self, new_owner: Address) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.transfer::<Error>(caller, new_owner)
    }

    /// Gives up ownership: the SessionQueue role can never change again.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

impl CommitReveal {
    /// Closes a task's round when it is ready: decides, settles or refunds, records the
    /// gas. Nothing is written before readiness is known, so callers may skip a task
    /// that is not ready without undoing anything.
    fn close_round(&mut self, task_id: U256) -> Result<Round, Vec<u8>> {
        let gas_start = self.vm().evm_gas_left();
        let id = self.task_id(task_id)?;
        let t = self.tasks.getter(id);
        let status: u8 = t.status.get().saturating_to();
        if status != TASK_OPEN {
            return Ok(Round::Final(status));
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
            return Ok(Round::NotReady(if revealed == committed {
                commit_deadline + 1
            } else {
                reveal_deadline + 1
            }));
        }
        let meta = TaskMeta::unpack(t.meta.get());
        let tolerance: u64 = t.tolerance.get().saturating_to();

        // Gather every seat: miner, state and (revealed seats) the answer.
        let mut miners: Vec<B256> = Vec::with_capacity(n as usize);
        let mut states: Vec<B256> = Vec::with_capacity(n as usize);
        let mut hashes: Vec<B256> = Vec::with_capacity(n as usize);
        let mut fingerprints: Vec<B256> = Vec::with_capacity(n as usize);
        let mut scores: Vec<B256> = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let Some(seat) = t.seats.getter(i) else { break };
            miners.push(word(seat.miner.get()));
            states.push(word(seat.state.get().saturating_to::<u8>()));
            hashes.push(seat.output_hash.get());
            fingerprints.push(seat.fingerprint.get());
            scores.push(word(seat.score.get().saturating_to::<u64>()));
        }
        let threshold = (u64::from(n) * u64::from(meta.threshold_bps))
            .div_ceil(10_000)
            .max(1);
        // ConsensusEngine decides and records every seat's outcome in NodeReputation,
        // NodeReward and NodePool; it returns the result seat + 1, the agreeing seats
        // and whether they reach the threshold. The arrays follow six head words.
        let k = miners.len() as u64;
        let tail = 32 * (1 + k);
        let mut score = Calldata::new(scoreCall::SELECTOR)
            .arg(task_id)
            .arg(meta.consensus)
            .arg(threshold)
            .arg(tolerance)
            .arg(meta.model_class);
        for array in 0..5 {
            score = score.arg(10 * 32 + array * tail);
        }
        for array in [&miners, &states, &hashes, &fingerprints, &scores] {
            score = score.arg(k);
            for &w in array.iter() {
                score = score.raw(w);
            }
        }
        let decision = calls::send(self, self.link(ENGINE), &score)?;
        let result = ret_word(&decision, 0).0[31] as usize;
        let agreeing_seats = ret_word(&decision, 1).0[31];
        let resolved = ret_word(&decision, 2) != B256::ZERO;
        // Paid miners: the agreeing seats of a resolved task; nobody otherwise.
        let paid = if resolved { agreeing_seats } else { 0 };
        let winners: Vec<Address> = (0..k as usize)
            .filter(|i| paid & (1 << i) != 0)
            .map(|i| Address::from_word(miners[i]))
            .collect();
        let result_seat = result.checked_sub(1);
        let final_status = if resolved {
            TASK_RESOLVED
        } else {
            TASK_UNRESOLVED
        };

        // Close the task before paying: a re-entrant finalize sees it final.
        let mut t = self.tasks.setter(id);
        t.status.set(U8::from(final_status));
        t.agreeing.set(U8::from(agreeing_seats));
        t.result
            .set(U8::from(result_seat.map_or(0, |i| i as u8 + 1)));
        let (output_hash, output_uri) = match result_seat.and_then(|i| t.seats.getter(i)) {
            Some(seat) => (seat.output_hash.get(), seat.uri()),
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
        Ok(Round::Finalized(final_status))
    }

    fn link(&self, index: usize) -> Address {
        self.links.get(index).unwrap_or_default()
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

    fn task_id(&self, task_id: U256) -> Result<u64, Error> {
        let unknown = UnknownTask { taskId: task_id };
        let id: u64 = task_id.try_into().map_err(|_| unknown.clone())?;
        if id == 0 || self.tasks.getter(id).status.get().is_zero() {
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
        self.record(task_id, phase, used)
    }

    /// Adds `used` gas to phase `phase` of the task's record in SessionPayment.
    fn record(&mut self, task_id: U256, phase: u8, used: u64) -> Result<(), Vec<u8>> {
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
    [SOL_DECLS, access::SOL_DECLS, role::SOL_DECLS].concat()
}

// Tested with SessionQueue and ConsensusEngine as one system: session-queue's tests.
