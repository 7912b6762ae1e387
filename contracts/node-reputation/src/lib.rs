//! NodeReputation: what each miner node's record of finalized tasks says about it, and the
//! level 0..=10 that selection, Weighted consensus and rewards read.
//!
//! SessionQueue (role 1, the only writer) calls [`recordTask`] once per assigned miner when
//! a task is finalized, with what the miner did: committed, revealed, and whether its
//! revealed result agreed with consensus. The record keeps:
//!
//! - counters: assigned (every call), committed, revealed, agreed, disagreed (revealed but
//!   not agreed) and missed (not revealed, whether it committed or not);
//! - an EWMA of the agreement rate in basis points with smoothing factor 1/8: an agreed
//!   task moves the rate an eighth of the way up to 10 000, anything else an eighth of the
//!   way down to 0, each step rounded away from the current value so the rate does reach
//!   both ends. A new node starts at 0 (no evidence). A task's weight in the rate halves
//!   about every 5 tasks;
//! - the streak of consecutive agreed tasks (reset by anything else);
//! - the time of the last task the node committed to (`lastActive`);
//! - the level.
//!
//! **Levels.** [`LEVELS`] gives, for each level, the record a node needs to be *promoted*
//! into it: at least `minTasks` assigned tasks, an EWMA rate of at least `minRateBps` and
//! a streak of at least `minStreak`. An agreed task promotes a node by one level when it
//! meets the next level's requirements. **Demotion** is gentler than promotion so that one
//! miss does not undo months of work: a task that is not agreed demotes the node by one
//! level only when its EWMA rate falls below its current level's `minRateBps` minus
//! [`DEMOTION_MARGIN_BPS`] (15 %). From a rate of 10 000 one miss leaves 8 750 and keeps
//! level 10 (floor 8 000); two misses in a row (7 656) drop it to 9; every further miss
//! can cost one more level. Climbing back needs the full promotion requirements, streak
//! included: the hysteresis stops a node from oscillating around a threshold.
//!
//! **Vote weight** for Weighted consensus: `1 + level` (1 for a new or unknown node, 11 at
//! level 10), so every node has a vote and the weight grows linearly with the level.

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

#[cfg(feature = "export-abi")]
use alloc::vec::Vec;

use alloy_primitives::{
    aliases::{U16, U32, U64, U8},
    Address, B256,
};
use alloy_sol_types::SolEvent;
use cor_contract_common::{
    access, access::Ownable, role, role::Role, sol_decls, words, words::word,
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageMap, StorageU16, StorageU32, StorageU64, StorageU8},
};

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};
pub use role::{RoleSet, UnauthorizedCaller};

sol_decls! {
    event TaskRecorded(address indexed node, bool committed, bool revealed, bool agreed, uint16 ewmaBps, uint32 streak, uint8 level);
    event LevelChanged(address indexed node, uint8 oldLevel, uint8 newLevel);
    error InconsistentOutcome(address node, bool committed, bool revealed, bool agreed);
    error InvalidLevel(uint8 level);
}

/// Every error NodeReputation reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// `recordTask` with a reveal but no commitment, or an agreement without a reveal.
    InconsistentOutcome(InconsistentOutcome),
    /// `levelRequirement` for a level above [`MAX_LEVEL`].
    InvalidLevel(InvalidLevel),
    /// The caller is not the owner.
    Unauthorized(OwnableUnauthorizedAccount),
    /// The zero address as owner.
    InvalidOwner(OwnableInvalidOwner),
    /// The caller is not the SessionQueue.
    UnauthorizedCaller(UnauthorizedCaller),
}

/// Role id of the SessionQueue, the only caller of `recordTask`.
pub const SESSION_QUEUE_ROLE: u8 = 1;

/// The highest level.
pub const MAX_LEVEL: u8 = 10;

/// 100 % in basis points: the EWMA of a node that agreed every time (in the limit).
pub const FULL_RATE_BPS: u16 = 10_000;

/// The EWMA moves `1 / EWMA_DIVISOR` of the way to each new sample.
pub const EWMA_DIVISOR: u16 = 8;

/// How far below its level's `minRateBps` a node's EWMA rate may fall before a task that
/// is not agreed demotes it by one level.
pub const DEMOTION_MARGIN_BPS: u16 = 1_500;

/// What a node needs to be promoted into a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// Assigned tasks recorded, at least.
    pub min_tasks: u64,
    /// EWMA agreement rate in basis points, at least.
    pub min_rate_bps: u16,
    /// Consecutive agreed tasks, at least.
    pub min_streak: u32,
}

const fn req(min_tasks: u64, min_rate_bps: u16, min_streak: u32) -> Requirement {
    Requirement {
        min_tasks,
        min_rate_bps,
        min_streak,
    }
}

/// The requirement of each level 0..=10 (level 0 has none). A node agreeing every time
/// reaches an EWMA of about 4 900 after 5 tasks, 7 400 after 10, 9 300 after 20 and
/// 9 800 after 30, so from level 5 on the task count is what takes time.
pub const LEVELS: [Requirement; MAX_LEVEL as usize + 1] = [
    req(0, 0, 0),
    req(5, 4_000, 3),
    req(10, 5_000, 5),
    req(25, 6_000, 8),
    req(50, 7_000, 10),
    req(100, 7_500, 15),
    req(200, 8_000, 20),
    req(400, 8_500, 25),
    req(800, 9_000, 30),
    req(1_600, 9_300, 40),
    req(3_200, 9_500, 50),
];

/// One node's record; the fields pack into two storage slots.
#[storage]
pub struct Record {
    assigned: StorageU64,
    committed: StorageU64,
    revealed: StorageU64,
    agreed: StorageU64,
    disagreed: StorageU64,
    missed: StorageU64,
    last_active: StorageU64,
    ewma: StorageU16,
    streak: StorageU32,
    level: StorageU8,
}

/// NodeReputation storage.
#[storage]
#[entrypoint]
pub struct NodeReputation {
    ownable: Ownable,
    session_queue: Role,
    records: StorageMap<Address, Record>,
}

#[public]
impl NodeReputation {
    /// Sets the owner (admin), who then sets the SessionQueue.
    ///
    /// Errors: `OwnableInvalidOwner` for the zero address. Emits `OwnershipTransferred`.
    #[constructor]
    pub fn constructor(&mut self, owner: Address) -> Result<(), Error> {
        self.ownable.init::<Error>(owner)
    }

    /// Records one finalized task of `node`: whether it `committed`, `revealed`, and
    /// whether its result `agreed` with consensus. Returns the node's level afterwards.
    /// Only the SessionQueue.
    ///
    /// Errors: `UnauthorizedCaller`; `InconsistentOutcome` when `revealed` without
    /// `committed` or `agreed` without `revealed`. Emits `TaskRecorded`, and
    /// `LevelChanged` when the level changes.
    pub fn record_task(
        &mut self,
        node: Address,
        committed: bool,
        revealed: bool,
        agreed: bool,
    ) -> Result<u8, Error> {
        self.session_queue
            .only::<Error>(SESSION_QUEUE_ROLE, self.vm().msg_sender())?;
        if (revealed && !committed) || (agreed && !revealed) {
            return Err(InconsistentOutcome {
                node,
                committed,
                revealed,
                agreed,
            }
            .into());
        }
        let now = self.vm().block_timestamp();
        let mut r = self.records.setter(node);
        // Counters saturate rather than overflow: 2^64 tasks are out of reach, and
        // saturating keeps the program free of panic paths.
        let assigned = inc(r.assigned.get(), true);
        let counts = [
            inc(r.committed.get(), committed),
            inc(r.revealed.get(), revealed),
            inc(r.agreed.get(), agreed),
            inc(r.disagreed.get(), revealed && !agreed),
            inc(r.missed.get(), !revealed),
        ];
        r.assigned.set(assigned);
        r.committed.set(counts[0]);
        r.revealed.set(counts[1]);
        r.agreed.set(counts[2]);
        r.disagreed.set(counts[3]);
        r.missed.set(counts[4]);
        if committed {
            r.last_active.set(U64::from(now));
        }
        let ewma = next_ewma(r.ewma.get().saturating_to(), agreed);
        r.ewma.set(U16::from(ewma));
        let streak = if agreed {
            r.streak.get().saturating_to::<u32>().saturating_add(1)
        } else {
            0
        };
        r.streak.set(U32::from(streak));
        let old = r.level.get().saturating_to::<u8>();
        let level = next_level(old, assigned.saturating_to(), ewma, streak, agreed);
        r.level.set(U8::from(level));
        self.log(
            TaskRecorded::SIGNATURE_HASH,
            &[node.into_word()],
            &[
                word(committed),
                word(revealed),
                word(agreed),
                word(u64::from(ewma)),
                word(streak),
                word(level),
            ],
        );
        if level != old {
            self.log(
                LevelChanged::SIGNATURE_HASH,
                &[node.into_word()],
                &[word(old), word(level)],
            );
        }
        Ok(level)
    }

    /// `node`'s level, 0..=10; 0 for a node never recorded.
    pub fn level_of(&self, node: Address) -> u8 {
        self.records.getter(node).level.get().saturating_to()
    }

    /// `node`'s vote weight in Weighted consensus: `1 + level` (1 ..= 11; 1 for a node
    /// never recorded).
    pub fn vote_weight(&self, node: Address) -> u64 {
        1 + u64::from(self.level_of(node))
    }

    /// `node`'s record: `(assigned, committed, revealed, agreed, disagreed, missed,
    /// ewmaBps, streak, lastActive, level)`; all zero for a node never recorded.
    #[allow(clippy::type_complexity)]
    pub fn reputation(&self, node: Address) -> (u64, u64, u64, u64, u64, u64, u16, u32, u64, u8) {
        let r = self.records.getter(node);
        (
            r.assigned.get().saturating_to(),
            r.committed.get().saturating_to(),
            r.revealed.get().saturating_to(),
            r.agreed.get().saturating_to(),
            r.disagreed.get().saturating_to(),
            r.missed.get().saturating_to(),
            r.ewma.get().saturating_to(),
            r.streak.get().saturating_to(),
            r.last_active.get().saturating_to(),
            r.level.get().saturating_to(),
        )
    }

    /// What a node needs to be promoted into `level`: `(minTasks, minRateBps,
    /// minStreak)`.
    ///
    /// Errors: `InvalidLevel` above 10.
    pub fn level_requirement(&self, level: u8) -> Result<(u64, u16, u32), Error> {
        let r = LEVELS
            .get(usize::from(level))
            .ok_or(InvalidLevel { level })?;
        Ok((r.min_tasks, r.min_rate_bps, r.min_streak))
    }

    // ---- Administration -----------------------------------------------------------------

    /// The SessionQueue (role 1), the only writer; zero until set.
    pub fn session_queue(&self) -> Address {
        self.session_queue.account()
    }

    /// Sets the SessionQueue (role 1); zero revokes it. Only the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `RoleSet`.
    pub fn set_session_queue(&mut self, account: Address) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        self.session_queue.set(SESSION_QUEUE_ROLE, account);
        Ok(())
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

    /// Gives up ownership: the SessionQueue can never be changed again.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

impl NodeReputation {
    /// Emits one of this contract's events (see [`words::emit`]).
    fn log(&self, signature: B256, topics: &[B256], data: &[B256]) {
        words::emit(self.vm(), signature, topics, data);
    }
}

/// `counter + 1` when `hit`, saturating.
fn inc(counter: U64, hit: bool) -> U64 {
    if hit {
        counter.saturating_add(U64::from(1))
    } else {
        counter
    }
}

/// The EWMA after one more sample (10 000 when `agreed`, else 0): an eighth of the way to
/// the sample, rounded up so that it reaches the sample.
pub fn next_ewma(rate: u16, agreed: bool) -> u16 {
    let rate = rate.min(FULL_RATE_BPS);
    if agreed {
        // Cannot overflow: `FULL_RATE_BPS - rate <= 10 000`, and the step is at most that.
        rate + (FULL_RATE_BPS - rate).div_ceil(EWMA_DIVISOR)
    } else {
        rate - rate.div_ceil(EWMA_DIVISOR)
    }
}

/// The level after one more task: one up when the task agreed and the record meets the
/// next level's requirements, one down when it did not agree and the rate fell below the
/// current level's minimum rate minus [`DEMOTION_MARGIN_BPS`], unchanged otherwise.
pub fn next_level(level: u8, assigned: u64, ewma: u16, streak: u32, agreed: bool) -> u8 {
    let level = level.min(MAX_LEVEL);
    if agreed {
        match LEVELS.get(usize::from(level) + 1) {
            Some(next)
                if assigned >= next.min_tasks
                    && ewma >= next.min_rate_bps
                    && streak >= next.min_streak =>
            {
                level + 1
            }
            _ => level,
        }
    } else {
        let floor = LEVELS
            .get(usize::from(level))
            .map_or(0, |r| r.min_rate_bps.saturating_sub(DEMOTION_MARGIN_BPS));
        if level > 0 && ewma < floor {
            level - 1
        } else {
            level
        }
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    [SOL_DECLS, access::SOL_DECLS, role::SOL_DECLS].concat()
}

#[cfg(test)]
mod tests;
