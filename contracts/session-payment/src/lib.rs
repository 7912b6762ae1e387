//! SessionPayment: user escrow, per-task locks, settlement, pull payments and the per-task
//! payment record.
//!
//! Users deposit COR into an escrow balance (`available`) and withdraw what is not locked.
//! When SessionQueue accepts a task it `lock`s the quoted price: the amount moves from the
//! payer's `available` to `locked`, so it can never be spent twice and a withdraw cannot
//! front-run the task. When the task ends SessionQueue either `settle`s it (miners whose
//! result won consensus, validators and the treasury accrue `claimable` balances; the
//! shares of non-delivering miners go back to the payer) or `refund`s it in full. Nodes and
//! the treasury `claim` what they accrued (pull payments).
//!
//! Every task keeps a record: payer and payer mode, status, price breakdown, what was
//! refunded, the packed [`TaskMeta`] (model class, SLA tier, N, consensus method and
//! threshold, depths, route hint) and the gas each phase used as measured by SessionQueue,
//! so costs can be attributed per session, route and validation path.
//!
//! Conservation (invariant 1): the contract's COR balance always equals [`totalOwed`], the
//! sum of three counters (all `available`, all `locked`, all `claimable`) kept up to date by
//! every state change, so the check is O(1).
//!
//! [`totalOwed`]: SessionPayment::total_owed

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]
// `InvalidSplit` carries four `uint256` as the spec names them; a Stylus error is ABI-encoded
// once on the way out, so its size on the stack does not matter.
#![allow(clippy::result_large_err)]

extern crate alloc;

use alloc::vec::Vec;
use core::num::NonZeroU32;

use alloy_primitives::{
    aliases::{U64, U8},
    Address, B256, U256,
};
use cor_contract_common::{
    access, access::Ownable, bps, events::emit, pause, pause::Pausable, role, role::Role,
    sol_decls, task_meta::TaskMeta, token, token::PermitSig,
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageB256, StorageMap, StorageU256, StorageU64, StorageU8,
    },
};

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};
pub use pause::{EnforcedPause, ExpectedPause, Paused, Unpaused};
pub use role::{RoleSet, UnauthorizedCaller};
pub use token::TokenTransferFailed;

sol_decls! {
    event Deposited(address indexed account, address indexed from, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event PaymentLocked(uint256 indexed taskId, address indexed payer, uint8 mode, uint256 total);
    event GasRecorded(uint256 indexed taskId, uint8 phase, uint64 gas);
    event TaskSettled(uint256 indexed taskId, uint256 paidMiners, uint256 paidValidators, uint256 paidTreasury, uint256 refunded);
    event TaskRefunded(uint256 indexed taskId, address indexed payer, uint256 amount);
    event Accrued(address indexed account, uint256 amount);
    event Claimed(address indexed account, uint256 amount);
    event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury);
    error ZeroAmount();
    error InvalidToken(address token);
    error InvalidTreasury(address treasury);
    error InvalidAccount(address account);
    error InsufficientEscrow(address payer, uint256 available, uint256 needed);
    error TaskAlreadyExists(uint256 taskId);
    error TaskNotFound(uint256 taskId);
    error TaskNotLocked(uint256 taskId, uint8 status);
    error InvalidSplit(uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart);
    error InvalidPayerMode(uint8 mode);
    error InvalidTaskMeta();
    error InvalidPhase(uint8 phase);
    error InvalidWinners(uint256 count, uint8 n);
    error DuplicateWinner(address winner);
    error NothingToClaim();
    error AmountOverflow();
}

/// Every error SessionPayment reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// A zero amount where a positive one is needed.
    ZeroAmount(ZeroAmount),
    /// The zero address as token at construction.
    InvalidToken(InvalidToken),
    /// The zero address as treasury.
    InvalidTreasury(InvalidTreasury),
    /// `depositFor` the zero address (nobody could ever withdraw it).
    InvalidAccount(InvalidAccount),
    /// The payer's available escrow is too low (for `lock` and `withdraw`).
    InsufficientEscrow(InsufficientEscrow),
    /// `lock` of a task id that already has a record.
    TaskAlreadyExists(TaskAlreadyExists),
    /// `recordGas` for a task that was never locked.
    TaskNotFound(TaskNotFound),
    /// `settle` or `refund` of a task that is not locked (unknown, settled or refunded).
    TaskNotLocked(TaskNotLocked),
    /// The price parts do not sum to the total.
    InvalidSplit(InvalidSplit),
    /// A payer mode other than Escrow (0) or Quota (1).
    InvalidPayerMode(InvalidPayerMode),
    /// The packed task metadata has a redundancy outside 1..=7.
    InvalidTaskMeta(InvalidTaskMeta),
    /// A gas phase other than submit, commit, reveal, finalize (0..=3).
    InvalidPhase(InvalidPhase),
    /// Zero winners, or more winners than the task's redundancy N.
    InvalidWinners(InvalidWinners),
    /// The same winner twice.
    DuplicateWinner(DuplicateWinner),
    /// `claim` with nothing claimable.
    NothingToClaim(NothingToClaim),
    /// A balance would exceed `uint256` (only with a token whose supply does).
    AmountOverflow(AmountOverflow),
    /// The caller is not the owner.
    Unauthorized(OwnableUnauthorizedAccount),
    /// The zero address as owner.
    InvalidOwner(OwnableInvalidOwner),
    /// The caller is not the SessionQueue.
    UnauthorizedCaller(UnauthorizedCaller),
    /// The contract is paused.
    EnforcedPause(EnforcedPause),
    /// `unpause` while not paused.
    ExpectedPause(ExpectedPause),
    /// A COR transfer failed.
    TokenTransferFailed(TokenTransferFailed),
}

/// Role id of the SessionQueue, the only caller of `lock`, `recordGas`, `settle`, `refund`.
pub const SESSION_QUEUE_ROLE: u8 = 1;

/// Payer mode: the price is locked from the payer's escrow deposit.
pub const MODE_ESCROW: u8 = 0;
/// Payer mode: the task is backed by the payer's stake quota (a zero total), or by overage
/// StakeQuota deducted from the stake and deposited into the payer's escrow.
pub const MODE_QUOTA: u8 = 1;

/// Task status: no record.
pub const STATUS_NONE: u8 = 0;
/// Task status: the price is locked, waiting for `settle` or `refund`.
pub const STATUS_LOCKED: u8 = 1;
/// Task status: settled (final).
pub const STATUS_SETTLED: u8 = 2;
/// Task status: refunded in full (final).
pub const STATUS_REFUNDED: u8 = 3;

/// Largest redundancy N a task may have.
pub const MAX_REDUNDANCY: u8 = 7;

/// Gas phases recorded per task: submit, commit, reveal, finalize.
pub const PHASES: usize = 4;

/// One account's escrow.
#[storage]
pub struct Escrow {
    /// Deposited and free: withdrawable or lockable.
    available: StorageU256,
    /// Locked for tasks in flight.
    locked: StorageU256,
}

/// One task's payment record.
#[storage]
pub struct TaskRecord {
    payer: StorageAddress,
    mode: StorageU8,
    status: StorageU8,
    meta: StorageB256,
    total: StorageU256,
    miners_part: StorageU256,
    validators_part: StorageU256,
    treasury_part: StorageU256,
    /// What went back to the payer at settlement or refund.
    refunded: StorageU256,
    /// Gas per phase, indexed by phase.
    gas: StorageArray<StorageU64, PHASES>,
}

/// SessionPayment storage.
#[storage]
#[entrypoint]
pub struct SessionPayment {
    token: StorageAddress,
    treasury: StorageAddress,
    ownable: Ownable,
    pausable: Pausable,
    session_queue: Role,
    escrows: StorageMap<Address, Escrow>,
    claimable: StorageMap<Address, StorageU256>,
    tasks: StorageMap<U256, TaskRecord>,
    total_available: StorageU256,
    total_locked: StorageU256,
    total_claimable: StorageU256,
}

#[public]
impl SessionPayment {
    /// Sets the COR token, the owner (admin) and the treasury.
    ///
    /// Errors: `InvalidToken`, `OwnableInvalidOwner`, `InvalidTreasury` for zero addresses.
    /// Emits `OwnershipTransferred`, `TreasuryChanged`.
    #[constructor]
    pub fn constructor(
        &mut self,
        token: Address,
        owner: Address,
        treasury: Address,
    ) -> Result<(), Error> {
        if token.is_zero() {
            return Err(InvalidToken { token }.into());
        }
        self.token.set(token);
        self.ownable.init::<Error>(owner)?;
        self.change_treasury(treasury)
    }

    // ---- Escrow -------------------------------------------------------------------------

    /// Deposits `amount` COR from the caller into the caller's escrow (needs an allowance).
    ///
    /// Errors: `EnforcedPause`, `ZeroAmount`, `TokenTransferFailed`. Emits `Deposited`.
    pub fn deposit(&mut self, amount: U256) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.deposit_from(caller, caller, amount, None)
    }

    /// Deposits `amount` COR from the caller into `account`'s escrow (StakeQuota uses this
    /// to move auto-deducted overage into a user's escrow).
    ///
    /// Errors: `InvalidAccount` for the zero address, `EnforcedPause`, `ZeroAmount`,
    /// `TokenTransferFailed`. Emits `Deposited`.
    pub fn deposit_for(&mut self, account: Address, amount: U256) -> Result<(), Error> {
        if account.is_zero() {
            return Err(InvalidAccount { account }.into());
        }
        let caller = self.vm().msg_sender();
        self.deposit_from(caller, account, amount, None)
    }

    /// Deposits `amount` COR into the caller's escrow in one transaction, using the
    /// caller's EIP-2612 permit for this contract instead of a prior `approve`.
    ///
    /// Errors: `EnforcedPause`, `ZeroAmount`, `TokenTransferFailed` (also for a bad or
    /// expired permit without a matching allowance). Emits `Deposited`.
    pub fn deposit_with_permit(
        &mut self,
        amount: U256,
        deadline: U256,
        v: u8,
        r: B256,
        s: B256,
    ) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        let sig = PermitSig { deadline, v, r, s };
        self.deposit_from(caller, caller, amount, Some(sig))
    }

    /// Withdraws `amount` of the caller's available (never locked) escrow. Works while
    /// paused.
    ///
    /// Errors: `ZeroAmount`, `InsufficientEscrow`, `TokenTransferFailed`. Emits `Withdrawn`.
    pub fn withdraw(&mut self, amount: U256) -> Result<(), Error> {
        if amount.is_zero() {
            return Err(ZeroAmount {}.into());
        }
        let caller = self.vm().msg_sender();
        self.debit_available(caller, amount)?;
        emit(
            self.vm(),
            Withdrawn {
                account: caller,
                amount,
            },
        );
        let token = self.token.get();
        token::push::<_, Error>(self, token, caller, amount)
    }

    /// `account`'s escrow: `(available, locked)`.
    pub fn escrow_of(&self, account: Address) -> (U256, U256) {
        let escrow = self.escrows.getter(account);
        (escrow.available.get(), escrow.locked.get())
    }

    // ---- Task lifecycle (SessionQueue) --------------------------------------------------

    /// Locks a task's price from `payer`'s available escrow and opens its record.
    ///
    /// `mode` is Escrow (0) or Quota (1). A Quota task may have a zero total (no COR
    /// moves); a positive Quota total is overage StakeQuota already deposited into the
    /// payer's escrow. An Escrow task needs a positive total. `meta` is the packed
    /// [`TaskMeta`]; its redundancy must be 1..=7.
    ///
    /// Errors: `UnauthorizedCaller`, `EnforcedPause`, `InvalidPayerMode`, `InvalidTaskMeta`,
    /// `TaskAlreadyExists`, `InvalidSplit`, `ZeroAmount`, `InsufficientEscrow`.
    /// Emits `PaymentLocked`.
    #[allow(clippy::too_many_arguments)]
    pub fn lock(
        &mut self,
        task_id: U256,
        payer: Address,
        mode: u8,
        total: U256,
        miners_part: U256,
        validators_part: U256,
        treasury_part: U256,
        meta: B256,
    ) -> Result<(), Error> {
        self.only_session_queue()?;
        self.pausable.when_not_paused::<Error>()?;
        if mode != MODE_ESCROW && mode != MODE_QUOTA {
            return Err(InvalidPayerMode { mode }.into());
        }
        let n = TaskMeta::unpack(meta).redundancy;
        if n == 0 || n > MAX_REDUNDANCY {
            return Err(InvalidTaskMeta {}.into());
        }
        if self.status_of(task_id) != STATUS_NONE {
            return Err(TaskAlreadyExists { taskId: task_id }.into());
        }
        let sum = miners_part
            .checked_add(validators_part)
            .and_then(|s| s.checked_add(treasury_part));
        if sum != Some(total) {
            return Err(InvalidSplit {
                total,
                minersPart: miners_part,
                validatorsPart: validators_part,
                treasuryPart: treasury_part,
            }
            .into());
        }
        if mode == MODE_ESCROW && total.is_zero() {
            return Err(ZeroAmount {}.into());
        }
        self.debit_available(payer, total)?;
        let mut escrow = self.escrows.setter(payer);
        // Cannot overflow: the payer's locked plus `total` is at most what the payer held
        // in escrow, which is at most the checked `total_locked + total_available`.
        let locked = escrow.locked.get() + total;
        escrow.locked.set(locked);
        // Cannot overflow: `total` just left `total_available`; the sum of the counters is
        // unchanged.
        self.total_locked.set(self.total_locked.get() + total);

        let mut record = self.tasks.setter(task_id);
        record.payer.set(payer);
        record.mode.set(U8::from(mode));
        record.status.set(U8::from(STATUS_LOCKED));
        record.meta.set(meta);
        record.total.set(total);
        record.miners_part.set(miners_part);
        record.validators_part.set(validators_part);
        record.treasury_part.set(treasury_part);
        emit(
            self.vm(),
            PaymentLocked {
                taskId: task_id,
                payer,
                mode,
                total,
            },
        );
        Ok(())
    }

    /// Adds `gas` used by `phase` (0 submit, 1 commit, 2 reveal, 3 finalize) to a task's
    /// record. Allowed in any status once the task exists: the finalize phase is measured
    /// around settlement. Saturates at `uint64.max`.
    ///
    /// Errors: `UnauthorizedCaller`, `TaskNotFound`, `InvalidPhase`. Emits `GasRecorded`.
    pub fn record_gas(&mut self, task_id: U256, phase: u8, gas: u64) -> Result<(), Error> {
        self.only_session_queue()?;
        if self.status_of(task_id) == STATUS_NONE {
            return Err(TaskNotFound { taskId: task_id }.into());
        }
        let mut record = self.tasks.setter(task_id);
        let mut slot = record.gas.setter(phase).ok_or(InvalidPhase { phase })?;
        let used = slot.get().saturating_to::<u64>().saturating_add(gas);
        slot.set(U64::from(used));
        emit(
            self.vm(),
            GasRecorded {
                taskId: task_id,
                phase,
                gas,
            },
        );
        Ok(())
    }

    /// Settles a locked task after consensus.
    ///
    /// With N the task's redundancy: each miner's share is `minersPart / N`; every winner
    /// (1..=N distinct addresses) accrues one share; the shares of the `N - winners`
    /// non-delivering miners go back to the payer's available escrow. `validatorsPart` is
    /// split equally among `validators`. The treasury accrues `treasuryPart`, both
    /// division remainders, and `validatorsPart` in full when there are no validators.
    /// Works while paused.
    ///
    /// Errors: `UnauthorizedCaller`, `TaskNotLocked`, `InvalidWinners`, `DuplicateWinner`,
    /// `AmountOverflow`. Emits one `Accrued` per credit, then `TaskSettled`.
    pub fn settle(
        &mut self,
        task_id: U256,
        winners: Vec<Address>,
        validators: Vec<Address>,
    ) -> Result<(), Error> {
        self.only_session_queue()?;
        self.only_locked(task_id)?;
        let record = self.tasks.getter(task_id);
        let payer = record.payer.get();
        let n = TaskMeta::unpack(record.meta.get()).redundancy;
        let total = record.total.get();
        let miners_part = record.miners_part.get();
        let validators_part = record.validators_part.get();
        let treasury_part = record.treasury_part.get();
        drop(record);

        let count = winners.len();
        if count == 0 || count > usize::from(n) {
            return Err(InvalidWinners {
                count: U256::from(count),
                n,
            }
            .into());
        }
        for (i, winner) in winners.iter().enumerate() {
            if winners.iter().take(i).any(|w| w == winner) {
                return Err(DuplicateWinner { winner: *winner }.into());
            }
        }

        let (miner_share, miners_rest) = split(miners_part, usize::from(n));
        let (validator_share, validators_rest) = split(validators_part, validators.len());
        // No sum below overflows: `share * ways + rest` is the part that was split, and the
        // parts sum to `total` (checked at lock).
        let mut paid_miners = U256::ZERO;
        let mut paid_validators = U256::ZERO;
        self.release_locked(payer, total);
        for winner in winners {
            self.accrue(winner, miner_share)?;
            paid_miners += miner_share;
        }
        for validator in validators {
            self.accrue(validator, validator_share)?;
            paid_validators += validator_share;
        }
        let paid_treasury = treasury_part + miners_rest + validators_rest;
        self.accrue(self.treasury.get(), paid_treasury)?;
        // The non-delivering miners' shares: what is left of the miners' part.
        let refunded = miners_part - miners_rest - paid_miners;
        self.credit_available(payer, refunded)?;
        self.close(task_id, STATUS_SETTLED, refunded);
        emit(
            self.vm(),
            TaskSettled {
                taskId: task_id,
                paidMiners: paid_miners,
                paidValidators: paid_validators,
                paidTreasury: paid_treasury,
                refunded,
            },
        );
        Ok(())
    }

    /// Refunds a locked task in full to the payer's available escrow (no consensus, or
    /// timeout with no reveal). Works while paused.
    ///
    /// Errors: `UnauthorizedCaller`, `TaskNotLocked`, `AmountOverflow`. Emits `TaskRefunded`.
    pub fn refund(&mut self, task_id: U256) -> Result<(), Error> {
        self.only_session_queue()?;
        self.only_locked(task_id)?;
        let record = self.tasks.getter(task_id);
        let payer = record.payer.get();
        let amount = record.total.get();
        drop(record);
        self.close(task_id, STATUS_REFUNDED, amount);
        self.release_locked(payer, amount);
        self.credit_available(payer, amount)?;
        emit(
            self.vm(),
            TaskRefunded {
                taskId: task_id,
                payer,
                amount,
            },
        );
        Ok(())
    }

    // ---- Pull payments ------------------------------------------------------------------

    /// What `account` may claim.
    pub fn claimable(&self, account: Address) -> U256 {
        self.claimable.get(account)
    }

    /// Sends the caller everything it may claim; returns the amount. Works while paused.
    ///
    /// Errors: `NothingToClaim`, `TokenTransferFailed`. Emits `Claimed`.
    pub fn claim(&mut self) -> Result<U256, Error> {
        let caller = self.vm().msg_sender();
        let amount = self.claimable.get(caller);
        if amount.is_zero() {
            return Err(NothingToClaim {}.into());
        }
        self.claimable.insert(caller, U256::ZERO);
        // Cannot underflow: the counter is the sum of all claimables, this one included.
        self.total_claimable
            .set(self.total_claimable.get() - amount);
        emit(
            self.vm(),
            Claimed {
                account: caller,
                amount,
            },
        );
        let token = self.token.get();
        token::push::<_, Error>(self, token, caller, amount)?;
        Ok(amount)
    }

    // ---- Records ------------------------------------------------------------------------

    /// A task's payment record: `(payer, mode, status, total, minersPart, validatorsPart,
    /// treasuryPart, refunded)`; all zero for an unknown task (status 0 None, 1 Locked,
    /// 2 Settled, 3 Refunded).
    #[allow(clippy::type_complexity)]
    pub fn task_payment(&self, task_id: U256) -> (Address, u8, u8, U256, U256, U256, U256, U256) {
        let r = self.tasks.getter(task_id);
        (
            r.payer.get(),
            r.mode.get().saturating_to(),
            r.status.get().saturating_to(),
            r.total.get(),
            r.miners_part.get(),
            r.validators_part.get(),
            r.treasury_part.get(),
            r.refunded.get(),
        )
    }

    /// A task's metadata: `(modelClass, slaTier, redundancy, consensus, thresholdBps,
    /// validatorDepth, executionDepth, routeHint)`; all zero for an unknown task.
    #[allow(clippy::type_complexity)]
    pub fn task_meta(&self, task_id: U256) -> (u8, u8, u8, u8, u16, u8, u8, u32) {
        let m = TaskMeta::unpack(self.tasks.getter(task_id).meta.get());
        (
            m.model_class,
            m.sla_tier,
            m.redundancy,
            m.consensus,
            m.threshold_bps,
            m.validator_depth,
            m.execution_depth,
            m.route_hint,
        )
    }

    /// Gas a task used per phase: `(submit, commit, reveal, finalize)`.
    pub fn task_gas(&self, task_id: U256) -> (u64, u64, u64, u64) {
        let r = self.tasks.getter(task_id);
        let phase = |i: usize| r.gas.get(i).map_or(0, |g| g.saturating_to::<u64>());
        (phase(0), phase(1), phase(2), phase(3))
    }

    /// The counters: `(available, locked, claimable)` summed over all accounts.
    pub fn totals(&self) -> (U256, U256, U256) {
        (
            self.total_available.get(),
            self.total_locked.get(),
            self.total_claimable.get(),
        )
    }

    /// Everything the contract owes; equals its COR balance (invariant 1).
    pub fn total_owed(&self) -> U256 {
        // Saturating only for a token whose supply exceeds `uint256`; the counters are
        // checked on every credit.
        self.total_available
            .get()
            .saturating_add(self.total_locked.get())
            .saturating_add(self.total_claimable.get())
    }

    // ---- Administration -----------------------------------------------------------------

    /// The COR token.
    pub fn token(&self) -> Address {
        self.token.get()
    }

    /// The treasury, which accrues the treasury part of every settlement.
    pub fn treasury(&self) -> Address {
        self.treasury.get()
    }

    /// Changes the treasury. What the old treasury accrued stays claimable by it.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `InvalidTreasury`. Emits `TreasuryChanged`.
    pub fn set_treasury(&mut self, treasury: Address) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        self.change_treasury(treasury)
    }

    /// The SessionQueue (role 1); zero when unset.
    pub fn session_queue(&self) -> Address {
        self.session_queue.account()
    }

    /// Sets the SessionQueue (role 1); zero revokes it.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `RoleSet`.
    pub fn set_session_queue(&mut self, account: Address) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        self.session_queue.set(SESSION_QUEUE_ROLE, account);
        Ok(())
    }

    /// True while paused.
    pub fn paused(&self) -> bool {
        self.pausable.is_paused()
    }

    /// Blocks deposits and new locks; withdraw, claim, settle and refund keep working.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `EnforcedPause`. Emits `Paused`.
    pub fn pause(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.only_owner::<Error>(caller)?;
        self.pausable.pause::<Error>(caller)
    }

    /// Lifts the pause.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `ExpectedPause`. Emits `Unpaused`.
    pub fn unpause(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.only_owner::<Error>(caller)?;
        self.pausable.unpause::<Error>(caller)
    }

    /// The owner (admin).
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

    /// Gives up ownership: no more treasury, role or pause changes, ever.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

impl SessionPayment {
    fn only_session_queue(&self) -> Result<(), Error> {
        self.session_queue
            .only::<Error>(SESSION_QUEUE_ROLE, self.vm().msg_sender())
    }

    fn status_of(&self, task_id: U256) -> u8 {
        // `saturating_to` here and below, not `to`: the stored value always fits, and `to`'s
        // panic path would link the formatting machinery into the program.
        self.tasks.getter(task_id).status.get().saturating_to()
    }

    /// Credits `account`'s escrow with `amount` paid by `from` (with a permit if given).
    fn deposit_from(
        &mut self,
        from: Address,
        account: Address,
        amount: U256,
        permit: Option<PermitSig>,
    ) -> Result<(), Error> {
        self.pausable.when_not_paused::<Error>()?;
        if amount.is_zero() {
            return Err(ZeroAmount {}.into());
        }
        self.credit_available(account, amount)?;
        emit(
            self.vm(),
            Deposited {
                account,
                from,
                amount,
            },
        );
        let token = self.token.get();
        match permit {
            Some(sig) => token::pull_with_permit::<_, Error>(self, token, from, amount, sig),
            None => token::pull::<_, Error>(self, token, from, amount),
        }
    }

    /// Fails unless the task is Locked: settled, refunded and unknown tasks are closed.
    ///
    /// Errors: `TaskNotLocked`.
    fn only_locked(&self, task_id: U256) -> Result<(), Error> {
        let status = self.status_of(task_id);
        if status != STATUS_LOCKED {
            return Err(TaskNotLocked {
                taskId: task_id,
                status,
            }
            .into());
        }
        Ok(())
    }

    /// Marks a task final (`status` Settled or Refunded) with what went back to the payer.
    fn close(&mut self, task_id: U256, status: u8, refunded: U256) {
        let mut record = self.tasks.setter(task_id);
        record.status.set(U8::from(status));
        record.refunded.set(refunded);
    }

    /// Adds `amount` to `account`'s available escrow and the matching counter.
    ///
    /// Errors: `AmountOverflow`.
    fn credit_available(&mut self, account: Address, amount: U256) -> Result<(), Error> {
        let total = self
            .total_available
            .get()
            .checked_add(amount)
            .ok_or(AmountOverflow {})?;
        self.total_available.set(total);
        let mut escrow = self.escrows.setter(account);
        // Cannot overflow: one account's balance is at most the counter, which fit.
        let available = escrow.available.get() + amount;
        escrow.available.set(available);
        Ok(())
    }

    /// Takes `amount` from `account`'s available escrow and the matching counter.
    ///
    /// Errors: `InsufficientEscrow`.
    fn debit_available(&mut self, account: Address, amount: U256) -> Result<(), Error> {
        let mut escrow = self.escrows.setter(account);
        let available = escrow.available.get();
        if available < amount {
            return Err(InsufficientEscrow {
                payer: account,
                available,
                needed: amount,
            }
            .into());
        }
        escrow.available.set(available - amount);
        // Cannot underflow: the counter is the sum of all available balances, this one
        // included.
        self.total_available
            .set(self.total_available.get() - amount);
        Ok(())
    }

    /// Releases a closed task's `amount` from `payer`'s locked escrow and the counter.
    fn release_locked(&mut self, payer: Address, amount: U256) {
        let mut escrow = self.escrows.setter(payer);
        // Cannot underflow: `amount` was added to both at lock and is released once (the
        // task just left the Locked status).
        let locked = escrow.locked.get() - amount;
        escrow.locked.set(locked);
        self.total_locked.set(self.total_locked.get() - amount);
    }

    /// Adds `amount` to `account`'s claimable balance; emits `Accrued` unless zero.
    ///
    /// Errors: `AmountOverflow`.
    fn accrue(&mut self, account: Address, amount: U256) -> Result<(), Error> {
        if amount.is_zero() {
            return Ok(());
        }
        let total = self
            .total_claimable
            .get()
            .checked_add(amount)
            .ok_or(AmountOverflow {})?;
        self.total_claimable.set(total);
        // Cannot overflow: one account's claimable is at most the counter, which fit.
        let claimable = self.claimable.get(account) + amount;
        self.claimable.insert(account, claimable);
        emit(self.vm(), Accrued { account, amount });
        Ok(())
    }

    fn change_treasury(&mut self, treasury: Address) -> Result<(), Error> {
        if treasury.is_zero() {
            return Err(InvalidTreasury { treasury }.into());
        }
        let previous = self.treasury.get();
        self.treasury.set(treasury);
        emit(
            self.vm(),
            TreasuryChanged {
                previousTreasury: previous,
                newTreasury: treasury,
            },
        );
        Ok(())
    }
}

/// Splits `amount` into `ways` equal shares: `(share, remainder)`. With no ways there is
/// no share and everything is remainder (as for more than `u32::MAX` ways, which cannot
/// occur: that many addresses do not fit in a transaction).
fn split(amount: U256, ways: usize) -> (U256, U256) {
    match u32::try_from(ways).ok().and_then(NonZeroU32::new) {
        Some(divisor) => bps::div_small(amount, divisor),
        None => (U256::ZERO, amount),
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    [
        SOL_DECLS,
        access::SOL_DECLS,
        pause::SOL_DECLS,
        role::SOL_DECLS,
        token::SOL_DECLS,
    ]
    .concat()
}

#[cfg(test)]
mod tests;
