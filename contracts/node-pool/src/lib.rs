//! NodePool: miner node stake, the model registry, liveness, exit, slashing, and the
//! per-model sets of eligible nodes SessionQueue picks from.
//!
//! An operator `register`s one node by staking the minimum node stake (parameter
//! `MIN_STAKE`) and declaring the model ids it serves; it may `topUp` and change its models
//! later. `requestExit` starts the unbonding period (the node leaves every eligible set at
//! once), after which `withdraw` returns the whole remaining stake. SessionQueue (role 1)
//! `slash`es provable faults; slashed COR accumulates in `slashedBalance` until anyone
//! `sweepSlashed`s it to the reward pool.
//!
//! **Eligibility.** A node is eligible when it is Active, not jailed and its stake is at
//! least `MIN_STAKE`. For each model, the eligible nodes serving it are kept in an array
//! with swap-and-pop removal and a position map, so SessionQueue picks a node with
//! `eligibleAt(model, seed % eligibleCount(model))` in O(1), and every update is O(models
//! of the node). Every state change that can flip a node's eligibility re-syncs it. The
//! one change no transaction sees is a scheduled `MIN_STAKE` taking effect: nodes left
//! below the new minimum (or raised above a lowered one) stay where they were until
//! anyone calls `syncEligibility(node)`, which returns the exact eligibility (so an
//! `eth_call` of it is the check).
//!
//! **Liveness.** Epochs are fixed-length periods from a genesis time. A node is live for
//! an epoch when it sent a `heartbeat` in it. Only the last live epoch and the number of
//! live epochs are stored (O(1)).
//!
//! **Size.** The program is close to the 24 KiB limit: events go through the one untyped
//! encoder of `cor_contract_common::words`, views are combined into tuples (`node`,
//! `totals`, `epoch`, `links`), and there is no `registerWithPermit`.
//!
//! **Conservation** (invariant 1): the contract's COR balance always equals
//! [`totalOwed`], the sum of all stakes (`totalStaked`) plus `slashedBalance`.
//!
//! [`totalOwed`]: NodePool::total_owed

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
    Address, B256, U256,
};
use alloy_sol_types::SolEvent;
use cor_contract_common::{
    access,
    access::Ownable,
    clock,
    clock::Periods,
    params,
    params::{known, ParamSpec, Params},
    pause,
    pause::Pausable,
    role,
    role::Role,
    sol_decls, token, words,
    words::word,
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageB256, StorageBool, StorageMap, StorageU256,
        StorageU32, StorageU64, StorageU8,
    },
};

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};
pub use clock::InvalidPeriod;
pub use params::{
    NoPendingParam, ParamCancelled, ParamDelayOutOfBounds, ParamOutOfBounds, ParamScheduled,
    ParamStepTooLarge, UnknownParam,
};
pub use pause::{EnforcedPause, ExpectedPause, Paused, Unpaused};
pub use role::{RoleSet, UnauthorizedCaller};
pub use token::TokenTransferFailed;

sol_decls! {
    event ModelSet(uint32 indexed modelId, uint8 class, bytes32 nameHash, bool enabled);
    event NodeRegistered(address indexed node, uint256 stake, bytes32 metadata);
    event ModelsUpdated(address indexed node, uint32[] models);
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    event ExitRequested(address indexed node, uint64 unlockAt);
    event Withdrawn(address indexed node, uint256 amount);
    event Heartbeat(address indexed node, uint64 indexed epoch);
    event Jailed(address indexed node, bool jailed);
    event EligibilityChanged(address indexed node, bool eligible);
    event Slashed(address indexed node, uint256 amount, uint8 reason, uint256 remainingStake);
    event SlashedSwept(address indexed rewardPool, uint256 amount);
    event RewardPoolChanged(address indexed previousPool, address indexed newPool);
    error InvalidToken(address token);
    error InvalidRewardPool(address pool);
    error InvalidModel(uint32 modelId, uint8 class);
    error ModelUnavailable(uint32 modelId);
    error DuplicateModel(uint32 modelId);
    error ModelCountOutOfRange(uint32 count, uint32 max);
    error NodeAlreadyRegistered(address node);
    error WrongNodeStatus(address node, uint8 status, uint8 required);
    error StillUnbonding(address node, uint64 unlockAt);
    error HeartbeatAlreadySent(address node, uint64 epoch);
    error ZeroAmount();
    error RewardPoolNotSet();
    error NothingToSweep();
    error IndexOutOfRange(uint32 modelId, uint32 index, uint32 count);
    error AmountOverflow();
}

/// Every error NodePool reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// The zero address as token at construction.
    InvalidToken(InvalidToken),
    /// The zero address as reward pool.
    InvalidRewardPool(InvalidRewardPool),
    /// `setModel` with model id 0 or a class other than Light (0), Medium (1), Heavy (2).
    InvalidModel(InvalidModel),
    /// A declared model id that is not in the registry or that the registry disabled.
    ModelUnavailable(ModelUnavailable),
    /// The same model id twice in one declaration.
    DuplicateModel(DuplicateModel),
    /// An empty model list, or more models than `MAX_MODELS_PER_NODE`.
    ModelCountOutOfRange(ModelCountOutOfRange),
    /// `register` by an operator whose node is Active or Unbonding.
    NodeAlreadyRegistered(NodeAlreadyRegistered),
    /// The node's status is not the one the call needs: `status` is what it is (0 never
    /// registered), `required` what the call needs (1 Active, 2 Unbonding; 0 for "any
    /// registered node").
    WrongNodeStatus(WrongNodeStatus),
    /// `withdraw` before the unbonding period ended.
    StillUnbonding(StillUnbonding),
    /// A second heartbeat in the same epoch.
    HeartbeatAlreadySent(HeartbeatAlreadySent),
    /// A zero amount where a positive one is needed.
    ZeroAmount(ZeroAmount),
    /// `sweepSlashed` before the owner set the reward pool.
    RewardPoolNotSet(RewardPoolNotSet),
    /// `sweepSlashed` with nothing slashed.
    NothingToSweep(NothingToSweep),
    /// `eligibleAt` past the end of the model's eligible set.
    IndexOutOfRange(IndexOutOfRange),
    /// A balance or count would overflow (only with a token whose supply does).
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
    /// A parameter id this contract does not have.
    UnknownParam(UnknownParam),
    /// A parameter value outside its hard bounds.
    ParamOutOfBounds(ParamOutOfBounds),
    /// A parameter change larger than its maximum step.
    ParamStepTooLarge(ParamStepTooLarge),
    /// A parameter delay outside the allowed range at construction.
    ParamDelayOutOfBounds(ParamDelayOutOfBounds),
    /// `cancelParam` with no change waiting.
    NoPendingParam(NoPendingParam),
    /// A zero epoch length at construction.
    InvalidPeriod(InvalidPeriod),
}

/// Role id of the SessionQueue, the only caller of `slash`.
pub const SESSION_QUEUE_ROLE: u8 = 1;

/// Parameter id: minimum node stake in COR wei (1 ..= 1 000 000 COR, step 10 000 COR).
pub const PARAM_MIN_STAKE: u8 = 0;
/// Parameter id: unbonding period in seconds (1 minute ..= 60 days, step 30 days).
pub const PARAM_UNBONDING_PERIOD: u8 = 1;
/// Parameter id: most models one node may declare (1 ..= 64, step 16).
pub const PARAM_MAX_MODELS_PER_NODE: u8 = 2;

/// Initial `MAX_MODELS_PER_NODE`.
pub const DEFAULT_MAX_MODELS_PER_NODE: u32 = 16;
/// Hard upper bound of `MAX_MODELS_PER_NODE`: the size of a node's model array.
pub const MAX_MODELS: usize = 64;

const COR: u128 = 1_000_000_000_000_000_000;
const DAY: u128 = 24 * 3600;

/// The hard limits of each parameter; `None` for an unknown id.
pub const fn param_spec(id: u8) -> Option<ParamSpec> {
    match id {
        PARAM_MIN_STAKE => Some(ParamSpec::new(COR, 1_000_000 * COR, 10_000 * COR)),
        PARAM_UNBONDING_PERIOD => Some(ParamSpec::new(60, 60 * DAY, 30 * DAY)),
        PARAM_MAX_MODELS_PER_NODE => Some(ParamSpec::new(1, MAX_MODELS as u128, 16)),
        _ => None,
    }
}

/// Model class: Light.
pub const CLASS_LIGHT: u8 = 0;
/// Model class: Medium.
pub const CLASS_MEDIUM: u8 = 1;
/// Model class: Heavy.
pub const CLASS_HEAVY: u8 = 2;

/// Node status: never registered.
pub const STATUS_NONE: u8 = 0;
/// Node status: staked and (unless jailed or under-staked) eligible for tasks.
pub const STATUS_ACTIVE: u8 = 1;
/// Node status: exit requested, stake locked until the unbonding period ends.
pub const STATUS_UNBONDING: u8 = 2;
/// Node status: stake withdrawn; the operator may register again.
pub const STATUS_EXITED: u8 = 3;

/// One registry entry.
#[storage]
pub struct Model {
    enabled: StorageBool,
    class: StorageU8,
    name_hash: StorageB256,
}

/// One node (per operator address).
#[storage]
pub struct Node {
    status: StorageU8,
    jailed: StorageBool,
    /// Whether the node is in the eligible sets of its models.
    listed: StorageBool,
    model_count: StorageU32,
    registered_at: StorageU64,
    unlock_at: StorageU64,
    last_live_epoch: StorageU64,
    live_epochs: StorageU64,
    stake: StorageU256,
    metadata: StorageB256,
    /// Declared model ids; the first `model_count` are meaningful. Eight per slot.
    models: StorageArray<StorageU32, MAX_MODELS>,
    /// Position + 1 of the node in each model's eligible set; 0 when not in it.
    positions: StorageMap<u32, StorageU32>,
}

/// The eligible nodes of one model, in no particular order.
///
/// A length and an index map rather than a `StorageVec`: the SDK's `StorageVec::len`
/// unwraps a conversion, and that one panic path links the formatting machinery (KiBs of
/// the 24 KiB budget). Addresses take a slot each either way, so the gas is the same.
#[storage]
pub struct EligibleSet {
    len: StorageU32,
    members: StorageMap<u32, StorageAddress>,
}

/// NodePool storage.
#[storage]
#[entrypoint]
pub struct NodePool {
    token: StorageAddress,
    reward_pool: StorageAddress,
    ownable: Ownable,
    pausable: Pausable,
    session_queue: Role,
    params: Params,
    epoch_genesis: StorageU64,
    epoch_length: StorageU64,
    node_count: StorageU64,
    total_staked: StorageU256,
    slashed_balance: StorageU256,
    models: StorageMap<u32, Model>,
    nodes: StorageMap<Address, Node>,
    eligible: StorageMap<u32, EligibleSet>,
}

#[public]
impl NodePool {
    /// Sets the COR token, the owner (admin), the parameters' initial values and delay,
    /// and the epoch clock.
    ///
    /// Errors: `InvalidToken`, `OwnableInvalidOwner` for zero addresses;
    /// `ParamOutOfBounds` for a `minStake` or `unbondingPeriod` outside its bounds;
    /// `ParamDelayOutOfBounds`; `InvalidPeriod` for a zero epoch length.
    /// Emits `OwnershipTransferred`, one `ParamScheduled` per parameter.
    #[constructor]
    #[allow(clippy::too_many_arguments)]
    pub fn constructor(
        &mut self,
        token: Address,
        owner: Address,
        min_stake: U256,
        unbonding_period: u64,
        epoch_genesis: u64,
        epoch_length: u64,
        param_delay: u64,
    ) -> Result<(), Error> {
        if token.is_zero() {
            return Err(InvalidToken { token }.into());
        }
        self.token.set(token);
        self.ownable.init::<Error>(owner)?;
        let periods = Periods::new::<Error>(epoch_genesis, epoch_length)?;
        self.epoch_genesis.set(U64::from(periods.genesis));
        self.epoch_length.set(U64::from(periods.length));
        self.params.init_delay::<Error>(param_delay)?;
        let now = self.vm().block_timestamp();
        for (id, value) in [
            (PARAM_MIN_STAKE, min_stake),
            (PARAM_UNBONDING_PERIOD, U256::from(unbonding_period)),
            (
                PARAM_MAX_MODELS_PER_NODE,
                U256::from(DEFAULT_MAX_MODELS_PER_NODE),
            ),
        ] {
            let spec = known::<Error>(id, param_spec(id))?;
            self.params.init::<Error>(id, spec, value, now)?;
        }
        Ok(())
    }

    // ---- Model registry -----------------------------------------------------------------

    /// Adds or updates model `model_id` (class 0 Light, 1 Medium, 2 Heavy). Disabling a
    /// model stops new declarations of it; nodes that declared it keep it (re-enabling
    /// restores the model at once), and SessionQueue rejects sessions on a disabled model.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `InvalidModel` for id 0 or a
    /// bad class. Emits `ModelSet`.
    pub fn set_model(
        &mut self,
        model_id: u32,
        class: u8,
        name_hash: B256,
        enabled: bool,
    ) -> Result<(), Error> {
        self.only_owner()?;
        if model_id == 0 || class > CLASS_HEAVY {
            return Err(InvalidModel {
                modelId: model_id,
                class,
            }
            .into());
        }
        let mut model = self.models.setter(model_id);
        model.enabled.set(enabled);
        model.class.set(U8::from(class));
        model.name_hash.set(name_hash);
        self.log(
            ModelSet::SIGNATURE_HASH,
            &[word(model_id)],
            &[word(class), name_hash, word(enabled)],
        );
        Ok(())
    }

    /// Model `model_id`: `(class, nameHash, enabled)`; all zero for an unknown model.
    pub fn model(&self, model_id: u32) -> (u8, B256, bool) {
        let model = self.models.getter(model_id);
        (
            model.class.get().saturating_to(),
            model.name_hash.get(),
            model.enabled.get(),
        )
    }

    // ---- Node lifecycle -----------------------------------------------------------------

    /// Registers the caller's node serving `models`, pulling the `MIN_STAKE` in effect
    /// from the caller (needs an allowance). An operator whose node exited and withdrew
    /// may register again. A jailed operator stays jailed.
    ///
    /// Errors: `EnforcedPause`, `NodeAlreadyRegistered` (Active or Unbonding), `ModelCountOutOfRange`,
    /// `ModelUnavailable`, `DuplicateModel`,
    /// `AmountOverflow`, `TokenTransferFailed`. Emits `NodeRegistered`, `ModelsUpdated`,
    /// `EligibilityChanged` (unless jailed).
    pub fn register(&mut self, models: Vec<u32>, metadata: B256) -> Result<(), Error> {
        self.register_node(models, metadata)
    }

    /// Replaces the caller's declared models; the eligible sets follow.
    ///
    /// Errors: `EnforcedPause`, `WrongNodeStatus`, `ModelCountOutOfRange`,
    /// `ModelUnavailable`, `DuplicateModel`,
    /// `AmountOverflow`. Emits `ModelsUpdated`.
    pub fn set_models(&mut self, models: Vec<u32>) -> Result<(), Error> {
        self.pausable.when_not_paused::<Error>()?;
        let node = self.vm().msg_sender();
        self.only_active(node)?;
        self.check_models(&models)?;
        let listed = self.nodes.getter(node).listed.get();
        if listed {
            for model in self.models_of(node) {
                self.leave(model, node);
            }
        }
        self.store_models(node, &models);
        if listed {
            for &model in &models {
                self.join(model, node)?;
            }
        }
        self.log_models(node, &models);
        Ok(())
    }

    /// Adds `amount` COR from the caller to its Active node's stake (needs an allowance);
    /// a node back at or above `MIN_STAKE` becomes eligible again (unless jailed).
    ///
    /// Errors: `EnforcedPause`, `ZeroAmount`, `WrongNodeStatus`,
    /// `AmountOverflow`, `TokenTransferFailed`. Emits `StakeAdded`, `EligibilityChanged`
    /// when the node becomes eligible.
    pub fn top_up(&mut self, amount: U256) -> Result<(), Error> {
        self.pausable.when_not_paused::<Error>()?;
        if amount.is_zero() {
            return Err(ZeroAmount {}.into());
        }
        let node = self.vm().msg_sender();
        self.only_active(node)?;
        let total = self
            .total_staked
            .get()
            .checked_add(amount)
            .ok_or(AmountOverflow {})?;
        self.total_staked.set(total);
        let mut entry = self.nodes.setter(node);
        // Cannot overflow: one stake is at most `total_staked`, which fit.
        let stake = entry.stake.get() + amount;
        entry.stake.set(stake);
        self.log(
            StakeAdded::SIGNATURE_HASH,
            &[node.into_word()],
            &[amount.into(), stake.into()],
        );
        self.sync(node)?;
        let token = self.token.get();
        token::pull::<_, Error>(self, token, node, amount)
    }

    /// Starts the caller's exit: the node leaves every eligible set now and may
    /// `withdraw` once the `UNBONDING_PERIOD` in effect has passed. It can still be
    /// slashed meanwhile. Works while paused.
    ///
    /// Errors: `WrongNodeStatus`. Emits `ExitRequested`,
    /// `EligibilityChanged` when the node was eligible.
    pub fn request_exit(&mut self) -> Result<(), Error> {
        let node = self.vm().msg_sender();
        self.only_active(node)?;
        let now = self.vm().block_timestamp();
        let period = self
            .params
            .value(PARAM_UNBONDING_PERIOD, now)
            .saturating_to::<u64>();
        let unlock_at = now.saturating_add(period);
        let mut entry = self.nodes.setter(node);
        entry.status.set(U8::from(STATUS_UNBONDING));
        entry.unlock_at.set(U64::from(unlock_at));
        self.log(
            ExitRequested::SIGNATURE_HASH,
            &[node.into_word()],
            &[word(unlock_at)],
        );
        self.sync(node)?;
        Ok(())
    }

    /// Sends the caller's whole remaining stake back once its unbonding period is over;
    /// the node is Exited (its declared models are cleared). Works while paused.
    ///
    /// Errors: `WrongNodeStatus`, `StillUnbonding`,
    /// `TokenTransferFailed`. Emits `Withdrawn`.
    pub fn withdraw(&mut self) -> Result<U256, Error> {
        let node = self.vm().msg_sender();
        self.require_status(node, STATUS_UNBONDING)?;
        let now = self.vm().block_timestamp();
        let mut entry = self.nodes.setter(node);
        let unlock_at = entry.unlock_at.get().saturating_to::<u64>();
        if now < unlock_at {
            return Err(StillUnbonding {
                node,
                unlockAt: unlock_at,
            }
            .into());
        }
        let amount = entry.stake.get();
        entry.stake.set(U256::ZERO);
        entry.status.set(U8::from(STATUS_EXITED));
        entry.model_count.set(U32::ZERO);
        // Cannot underflow: `total_staked` is the sum of all stakes, this one included, and
        // `node_count` counts this node (registered, not yet exited).
        self.total_staked.set(self.total_staked.get() - amount);
        self.node_count.set(self.node_count.get() - U64::from(1));
        self.log(
            Withdrawn::SIGNATURE_HASH,
            &[node.into_word()],
            &[amount.into()],
        );
        if !amount.is_zero() {
            let token = self.token.get();
            token::push::<_, Error>(self, token, node, amount)?;
        }
        Ok(amount)
    }

    // ---- Liveness -----------------------------------------------------------------------

    /// Marks the caller's Active node live for the current epoch.
    ///
    /// Errors: `EnforcedPause`, `WrongNodeStatus`,
    /// `HeartbeatAlreadySent` when the node is already live this epoch (by heartbeat or
    /// recorded activity). Emits `Heartbeat`.
    pub fn heartbeat(&mut self) -> Result<(), Error> {
        self.pausable.when_not_paused::<Error>()?;
        let node = self.vm().msg_sender();
        self.only_active(node)?;
        let epoch = self.current_epoch();
        if self.is_live(node, epoch) {
            return Err(HeartbeatAlreadySent { node, epoch }.into());
        }
        self.mark_live(node, epoch);
        self.log(
            Heartbeat::SIGNATURE_HASH,
            &[node.into_word(), word(epoch)],
            &[],
        );
        Ok(())
    }

    /// True iff `node`'s last live epoch is `epoch` (only the last one is stored: ask
    /// about an epoch while it runs or before the node's next live epoch).
    pub fn is_live(&self, node: Address, epoch: u64) -> bool {
        let entry = self.nodes.getter(node);
        !entry.live_epochs.get().is_zero()
            && entry.last_live_epoch.get().saturating_to::<u64>() == epoch
    }

    // ---- Slashing -----------------------------------------------------------------------

    /// Slashes `min(amount, stake)` of `node`'s stake for a provable fault (`reason` is
    /// SessionQueue's code); only the SessionQueue. Active and Unbonding nodes lose stake;
    /// an Exited node has none left and is slashed zero (so a finalization never fails
    /// because a miner left). A node left below `MIN_STAKE` leaves the eligible sets.
    /// Works while paused.
    ///
    /// Errors: `UnauthorizedCaller`, `WrongNodeStatus`, `AmountOverflow`. Emits `Slashed`
    /// with the amount actually slashed, `EligibilityChanged` when the node leaves.
    pub fn slash(&mut self, node: Address, amount: U256, reason: u8) -> Result<U256, Error> {
        self.only_session_queue()?;
        self.status_of(node)?;
        let stake = self.nodes.getter(node).stake.get();
        let slashed = amount.min(stake);
        let remaining = stake - slashed;
        let balance = self
            .slashed_balance
            .get()
            .checked_add(slashed)
            .ok_or(AmountOverflow {})?;
        self.slashed_balance.set(balance);
        // Cannot underflow: `total_staked` includes this node's stake, at least `slashed`.
        self.total_staked.set(self.total_staked.get() - slashed);
        self.nodes.setter(node).stake.set(remaining);
        self.log(
            Slashed::SIGNATURE_HASH,
            &[node.into_word()],
            &[slashed.into(), word(reason), remaining.into()],
        );
        self.sync(node)?;
        Ok(slashed)
    }

    /// Sends the whole slashed balance to the reward pool; anyone may call it. Works while
    /// paused.
    ///
    /// Errors: `RewardPoolNotSet`, `NothingToSweep`, `TokenTransferFailed`. Emits
    /// `SlashedSwept`.
    pub fn sweep_slashed(&mut self) -> Result<U256, Error> {
        let pool = self.reward_pool.get();
        if pool.is_zero() {
            return Err(RewardPoolNotSet {}.into());
        }
        let amount = self.slashed_balance.get();
        if amount.is_zero() {
            return Err(NothingToSweep {}.into());
        }
        self.slashed_balance.set(U256::ZERO);
        self.log(
            SlashedSwept::SIGNATURE_HASH,
            &[pool.into_word()],
            &[amount.into()],
        );
        let token = self.token.get();
        token::push::<_, Error>(self, token, pool, amount)?;
        Ok(amount)
    }

    // ---- Jailing and eligibility --------------------------------------------------------

    /// Jails (or frees) `node` for misbehaviour: a jailed node is never eligible. Jail
    /// outlives an exit and a new registration. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `WrongNodeStatus`, `AmountOverflow`.
    /// Emits `Jailed`, `EligibilityChanged` when the node's eligibility changes.
    pub fn set_jailed(&mut self, node: Address, jailed: bool) -> Result<(), Error> {
        self.only_owner()?;
        self.status_of(node)?;
        self.nodes.setter(node).jailed.set(jailed);
        self.log(Jailed::SIGNATURE_HASH, &[node.into_word()], &[word(jailed)]);
        self.sync(node)?;
        Ok(())
    }

    /// Brings `node`'s membership of the eligible sets in line with its eligibility now
    /// (Active, not jailed, stake at least the `MIN_STAKE` in effect), which only a
    /// scheduled `MIN_STAKE` change taking effect can leave behind; anyone may call it, also
    /// while paused. Returns whether the node is eligible: an `eth_call` of it is the exact
    /// eligibility check.
    ///
    /// Errors: `AmountOverflow`. Emits `EligibilityChanged` when membership changes.
    pub fn sync_eligibility(&mut self, node: Address) -> Result<bool, Error> {
        self.sync(node)
    }

    /// Number of eligible nodes serving `model_id`.
    pub fn eligible_count(&self, model_id: u32) -> u32 {
        self.eligible.getter(model_id).len.get().saturating_to()
    }

    /// The eligible node at `index` (< `eligibleCount(model_id)`) of `model_id`'s set.
    /// Removals swap the last member into the freed position, so indices move.
    ///
    /// Errors: `IndexOutOfRange`.
    pub fn eligible_at(&self, model_id: u32, index: u32) -> Result<Address, Error> {
        let set = self.eligible.getter(model_id);
        let count = set.len.get().saturating_to::<u32>();
        if index >= count {
            return Err(IndexOutOfRange {
                modelId: model_id,
                index,
                count,
            }
            .into());
        }
        Ok(set.members.get(index))
    }

    // ---- Node views ---------------------------------------------------------------------

    /// `node`'s record: `(status, stake, modelCount, registeredAt, unlockAt,
    /// lastLiveEpoch, liveEpochs, jailed, metadata)`; status 0 None, 1 Active,
    /// 2 Unbonding, 3 Exited. `lastLiveEpoch` is 0 also when the node never was live
    /// (`liveEpochs` 0).
    #[allow(clippy::type_complexity)]
    pub fn node(&self, node: Address) -> (u8, U256, u32, u64, u64, u64, u64, bool, B256) {
        let n = self.nodes.getter(node);
        (
            n.status.get().saturating_to(),
            n.stake.get(),
            n.model_count.get().saturating_to(),
            n.registered_at.get().saturating_to(),
            n.unlock_at.get().saturating_to(),
            n.last_live_epoch.get().saturating_to(),
            n.live_epochs.get().saturating_to(),
            n.jailed.get(),
            n.metadata.get(),
        )
    }

    /// The model ids `node` declared (empty once it exited).
    pub fn node_models(&self, node: Address) -> Vec<u32> {
        self.models_of(node)
    }

    /// `(nodeCount, totalStaked, slashedBalance)`: registered, non-exited nodes (Active or
    /// Unbonding), the sum of their stakes, and COR slashed but not yet swept to the reward
    /// pool.
    pub fn totals(&self) -> (u64, U256, U256) {
        (
            self.node_count.get().saturating_to(),
            self.total_staked.get(),
            self.slashed_balance.get(),
        )
    }

    /// Everything the contract owes: all stakes plus the slashed balance; equals its COR
    /// balance (invariant 1).
    pub fn total_owed(&self) -> U256 {
        // Saturating only for a token whose supply exceeds `uint256`; every addition to
        // either counter is checked.
        self.total_staked
            .get()
            .saturating_add(self.slashed_balance.get())
    }

    // ---- Epochs -------------------------------------------------------------------------

    /// The epoch clock: `(current, genesis, length)`, the epoch containing the current
    /// block time (0 before genesis), the start of epoch 0 (unix seconds) and the length
    /// of an epoch in seconds.
    pub fn epoch(&self) -> (u64, u64, u64) {
        let periods = self.periods();
        (self.current_epoch(), periods.genesis, periods.length)
    }

    // ---- Parameters ---------------------------------------------------------------------

    /// Schedules `value` for parameter `id` (0 MIN_STAKE, 1 UNBONDING_PERIOD,
    /// 2 MAX_MODELS_PER_NODE); it takes effect `paramDelay` seconds from now, replacing a
    /// change already waiting. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `UnknownParam`, `ParamOutOfBounds`,
    /// `ParamStepTooLarge`. Emits `ParamScheduled`.
    pub fn schedule_param(&mut self, id: u8, value: U256) -> Result<(), Error> {
        self.only_owner()?;
        let spec = known::<Error>(id, param_spec(id))?;
        let now = self.vm().block_timestamp();
        self.params.schedule::<Error>(id, spec, value, now)?;
        Ok(())
    }

    /// Cancels the change waiting for parameter `id`. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `UnknownParam`, `NoPendingParam`. Emits
    /// `ParamCancelled`.
    pub fn cancel_param(&mut self, id: u8) -> Result<(), Error> {
        self.only_owner()?;
        known::<Error>(id, param_spec(id))?;
        let now = self.vm().block_timestamp();
        self.params.cancel::<Error>(id, now)
    }

    /// The value of parameter `id` in effect now.
    ///
    /// Errors: `UnknownParam`.
    pub fn param(&self, id: u8) -> Result<U256, Error> {
        known::<Error>(id, param_spec(id))?;
        Ok(self.params.value(id, self.vm().block_timestamp()))
    }

    /// The change waiting for parameter `id`: `(value, effectiveAt)`, or `(0, 0)`.
    ///
    /// Errors: `UnknownParam`.
    pub fn pending_param(&self, id: u8) -> Result<(U256, u64), Error> {
        known::<Error>(id, param_spec(id))?;
        Ok(self.params.pending(id, self.vm().block_timestamp()))
    }

    /// Seconds between scheduling a parameter change and its effect.
    pub fn param_delay(&self) -> u64 {
        self.params.delay()
    }

    // ---- Administration -----------------------------------------------------------------

    /// The contracts this one works with: `(token, rewardPool, sessionQueue)`, the COR
    /// token, where `sweepSlashed` sends slashed COR (the NodeReward pool) and the
    /// SessionQueue (role 1); the last two are zero until set.
    pub fn links(&self) -> (Address, Address, Address) {
        (
            self.token.get(),
            self.reward_pool.get(),
            self.session_queue.account(),
        )
    }

    /// Sets the reward pool. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `InvalidRewardPool` for the zero address.
    /// Emits `RewardPoolChanged`.
    pub fn set_reward_pool(&mut self, pool: Address) -> Result<(), Error> {
        self.only_owner()?;
        if pool.is_zero() {
            return Err(InvalidRewardPool { pool }.into());
        }
        let previous = self.reward_pool.get();
        self.reward_pool.set(pool);
        self.log(
            RewardPoolChanged::SIGNATURE_HASH,
            &[previous.into_word(), pool.into_word()],
            &[],
        );
        Ok(())
    }

    /// Sets the SessionQueue (role 1); zero revokes it. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `RoleSet`.
    pub fn set_session_queue(&mut self, account: Address) -> Result<(), Error> {
        self.only_owner()?;
        self.session_queue.set(SESSION_QUEUE_ROLE, account);
        Ok(())
    }

    /// True while paused.
    pub fn paused(&self) -> bool {
        self.pausable.is_paused()
    }

    /// Blocks `register`, `topUp`, `setModels` and `heartbeat`;
    /// `requestExit`, `withdraw`, slashing and sweeping keep working.
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

    /// Gives up ownership: no more model, parameter, jail, role or pause changes, ever.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

impl NodePool {
    fn only_owner(&self) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())
    }

    fn only_session_queue(&self) -> Result<(), Error> {
        self.session_queue
            .only::<Error>(SESSION_QUEUE_ROLE, self.vm().msg_sender())
    }

    fn current_epoch(&self) -> u64 {
        self.periods().index(self.vm().block_timestamp())
    }

    fn periods(&self) -> Periods {
        Periods {
            genesis: self.epoch_genesis.get().saturating_to(),
            length: self.epoch_length.get().saturating_to(),
        }
    }

    fn min_stake(&self) -> U256 {
        self.params
            .value(PARAM_MIN_STAKE, self.vm().block_timestamp())
    }

    /// `node`'s status, failing for an address that never registered.
    ///
    /// Errors: `WrongNodeStatus`.
    fn status_of(&self, node: Address) -> Result<u8, Error> {
        // `saturating_to` here and elsewhere, not `to`: the stored value always fits, and
        // `to`'s panic path would link the formatting machinery into the program.
        let status = self.nodes.getter(node).status.get().saturating_to();
        if status == STATUS_NONE {
            return Err(WrongNodeStatus {
                node,
                status,
                required: STATUS_NONE,
            }
            .into());
        }
        Ok(status)
    }

    /// Fails unless `node` is in status `required`.
    ///
    /// Errors: `WrongNodeStatus`.
    fn require_status(&self, node: Address, required: u8) -> Result<(), Error> {
        let status = self.nodes.getter(node).status.get().saturating_to();
        if status != required {
            return Err(WrongNodeStatus {
                node,
                status,
                required,
            }
            .into());
        }
        Ok(())
    }

    /// Fails unless `node` is Active.
    ///
    /// Errors: `WrongNodeStatus`.
    fn only_active(&self, node: Address) -> Result<(), Error> {
        self.require_status(node, STATUS_ACTIVE)
    }

    fn register_node(&mut self, models: Vec<u32>, metadata: B256) -> Result<(), Error> {
        self.pausable.when_not_paused::<Error>()?;
        let node = self.vm().msg_sender();
        let status: u8 = self.nodes.getter(node).status.get().saturating_to();
        if status == STATUS_ACTIVE || status == STATUS_UNBONDING {
            return Err(NodeAlreadyRegistered { node }.into());
        }
        self.check_models(&models)?;
        let stake = self.min_stake();
        let total = self
            .total_staked
            .get()
            .checked_add(stake)
            .ok_or(AmountOverflow {})?;
        self.total_staked.set(total);
        // Cannot overflow: each counted node holds at least 1 COR of a `uint256` supply.
        self.node_count.set(self.node_count.get() + U64::from(1));
        let now = self.vm().block_timestamp();
        let mut entry = self.nodes.setter(node);
        entry.status.set(U8::from(STATUS_ACTIVE));
        entry.stake.set(stake);
        entry.registered_at.set(U64::from(now));
        entry.unlock_at.set(U64::ZERO);
        entry.metadata.set(metadata);
        self.store_models(node, &models);
        self.log(
            NodeRegistered::SIGNATURE_HASH,
            &[node.into_word()],
            &[stake.into(), metadata],
        );
        self.log_models(node, &models);
        self.sync(node)?;
        let token = self.token.get();
        token::pull::<_, Error>(self, token, node, stake)
    }

    /// Checks a model declaration: 1..=`MAX_MODELS_PER_NODE` distinct, known, enabled ids.
    ///
    /// Errors: `ModelCountOutOfRange`, `ModelUnavailable`,
    /// `DuplicateModel`.
    fn check_models(&self, models: &[u32]) -> Result<(), Error> {
        let max = self
            .params
            .value(PARAM_MAX_MODELS_PER_NODE, self.vm().block_timestamp())
            .saturating_to::<u32>();
        let count = u32::try_from(models.len()).unwrap_or(u32::MAX);
        if count == 0 || count > max {
            return Err(ModelCountOutOfRange { count, max }.into());
        }
        for (i, &id) in models.iter().enumerate() {
            let model = self.models.getter(id);
            if !model.enabled.get() {
                return Err(ModelUnavailable { modelId: id }.into());
            }
            if models.iter().take(i).any(|&m| m == id) {
                return Err(DuplicateModel { modelId: id }.into());
            }
        }
        Ok(())
    }

    /// Stores a checked declaration (at most `MAX_MODELS` ids: the parameter's bound).
    fn store_models(&mut self, node: Address, models: &[u32]) {
        let mut entry = self.nodes.setter(node);
        let mut count = 0u32;
        for (i, &id) in models.iter().enumerate() {
            if let Some(mut slot) = entry.models.setter(i) {
                slot.set(U32::from(id));
                count += 1;
            }
        }
        entry.model_count.set(U32::from(count));
    }

    fn models_of(&self, node: Address) -> Vec<u32> {
        let entry = self.nodes.getter(node);
        let count: usize = entry.model_count.get().saturating_to();
        (0..count)
            .filter_map(|i| entry.models.get(i))
            .map(|id| id.saturating_to())
            .collect()
    }

    fn should_list(&self, node: Address) -> bool {
        let entry = self.nodes.getter(node);
        entry.status.get() == U8::from(STATUS_ACTIVE)
            && !entry.jailed.get()
            && entry.stake.get() >= self.min_stake()
    }

    /// Puts `node` into, or takes it out of, the eligible sets of its models so that its
    /// membership matches `should_list`. Returns whether it is eligible.
    ///
    /// Errors: `AmountOverflow`. Emits `EligibilityChanged` when membership changes.
    fn sync(&mut self, node: Address) -> Result<bool, Error> {
        let eligible = self.should_list(node);
        if eligible == self.nodes.getter(node).listed.get() {
            return Ok(eligible);
        }
        for model in self.models_of(node) {
            if eligible {
                self.join(model, node)?;
            } else {
                self.leave(model, node);
            }
        }
        self.nodes.setter(node).listed.set(eligible);
        self.log(
            EligibilityChanged::SIGNATURE_HASH,
            &[node.into_word()],
            &[word(eligible)],
        );
        Ok(eligible)
    }

    /// Appends `node` to `model`'s eligible set.
    ///
    /// Errors: `AmountOverflow` for a set of `uint32.max` members.
    fn join(&mut self, model: u32, node: Address) -> Result<(), Error> {
        let mut set = self.eligible.setter(model);
        let len = set.len.get().saturating_to::<u32>();
        let new_len = len.checked_add(1).ok_or(AmountOverflow {})?;
        set.members.insert(len, node);
        set.len.set(U32::from(new_len));
        self.nodes
            .setter(node)
            .positions
            .insert(model, U32::from(new_len));
        Ok(())
    }

    /// Removes `node` from `model`'s eligible set (swap-and-pop); nothing if absent.
    fn leave(&mut self, model: u32, node: Address) {
        let position = self
            .nodes
            .getter(node)
            .positions
            .get(model)
            .saturating_to::<u32>();
        if position == 0 {
            return;
        }
        let mut set = self.eligible.setter(model);
        // Cannot underflow: `node` is a member, so the set is not empty, and `position` is
        // its index plus one.
        let last = set.len.get().saturating_to::<u32>() - 1;
        let index = position - 1;
        if index != last {
            let moved = set.members.get(last);
            set.members.insert(index, moved);
            self.nodes
                .setter(moved)
                .positions
                .insert(model, U32::from(position));
        }
        set.members.delete(last);
        set.len.set(U32::from(last));
        self.nodes.setter(node).positions.delete(model);
    }

    /// Emits one of this contract's events (see [`words::emit`]).
    fn log(&self, signature: B256, topics: &[B256], data: &[B256]) {
        words::emit(self.vm(), signature, topics, data);
    }

    /// Emits `ModelsUpdated(node, models)`.
    fn log_models(&self, node: Address, models: &[u32]) {
        let data = words::uint32_array(0, models);
        self.log(ModelsUpdated::SIGNATURE_HASH, &[node.into_word()], &data);
    }

    fn mark_live(&mut self, node: Address, epoch: u64) {
        let mut entry = self.nodes.setter(node);
        entry.last_live_epoch.set(U64::from(epoch));
        // Cannot overflow in practice (one per epoch); saturating keeps the path panic-free.
        let count = entry.live_epochs.get().saturating_add(U64::from(1));
        entry.live_epochs.set(count);
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
        params::SOL_DECLS,
        clock::SOL_DECLS,
        token::SOL_DECLS,
    ]
    .concat()
}

#[cfg(test)]
mod tests;
