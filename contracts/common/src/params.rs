//! Admin parameters that change only within hard bounds, by a bounded step, after a delay.
//!
//! This is how invariant 7 of `PROTOCOL.md` is kept: a parameter's hard bounds and its
//! largest step per change are constants of the contract ([`ParamSpec`]); the owner
//! *schedules* a new value, which takes effect `delay` seconds later. The switch happens
//! lazily on read (no keeper needed): [`Params::value`] returns the pending value once
//! its time has come. The delay itself is fixed at construction within
//! [`MIN_PARAM_DELAY`]..=[`MAX_PARAM_DELAY`].

use alloy_primitives::U256;
use stylus_sdk::{
    prelude::*,
    storage::{StorageMap, StorageU256, StorageU64},
};

crate::sol_decls! {
    event ParamScheduled(uint8 indexed id, uint256 value, uint64 effectiveAt);
    event ParamCancelled(uint8 indexed id);
    error UnknownParam(uint8 id);
    error ParamOutOfBounds(uint8 id, uint256 value, uint256 min, uint256 max);
    error ParamStepTooLarge(uint8 id, uint256 current, uint256 value, uint256 maxStep);
    error ParamDelayOutOfBounds(uint64 delay, uint64 min, uint64 max);
    error NoPendingParam(uint8 id);
}

/// Shortest delay a deployment may choose between scheduling and effect: one minute.
pub const MIN_PARAM_DELAY: u64 = 60;
/// Longest delay a deployment may choose: 30 days.
pub const MAX_PARAM_DELAY: u64 = 30 * 24 * 3600;

/// Hard limits of one parameter, fixed in the contract's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Smallest allowed value.
    pub min: U256,
    /// Largest allowed value.
    pub max: U256,
    /// Largest allowed difference between the effective value and a new one.
    pub max_step: U256,
}

impl ParamSpec {
    /// A spec from `u128` limits (every COR parameter fits).
    pub const fn new(min: u128, max: u128, max_step: u128) -> Self {
        Self {
            min: u256(min),
            max: u256(max),
            max_step: u256(max_step),
        }
    }

    /// Checks `value` against the bounds.
    ///
    /// Errors: `ParamOutOfBounds`.
    pub fn check_bounds<E: From<ParamOutOfBounds>>(&self, id: u8, value: U256) -> Result<(), E> {
        if value < self.min || value > self.max {
            return Err(ParamOutOfBounds {
                id,
                value,
                min: self.min,
                max: self.max,
            }
            .into());
        }
        Ok(())
    }
}

const fn u256(v: u128) -> U256 {
    U256::from_limbs([v as u64, (v >> 64) as u64, 0, 0])
}

/// Turns a contract's spec lookup into a typed error for ids it does not know.
///
/// Errors: `UnknownParam`.
pub fn known<E: From<UnknownParam>>(id: u8, spec: Option<ParamSpec>) -> Result<ParamSpec, E> {
    spec.ok_or_else(|| UnknownParam { id }.into())
}

/// One parameter's stored state.
#[storage]
pub struct ParamSlot {
    current: StorageU256,
    pending: StorageU256,
    /// Zero when nothing is pending.
    effective_at: StorageU64,
}

/// All parameters of a contract, keyed by a small id the contract defines.
#[storage]
pub struct Params {
    slots: StorageMap<u8, ParamSlot>,
    delay: StorageU64,
}

impl Params {
    /// Sets the delay between scheduling and effect, at construction.
    ///
    /// Errors: `ParamDelayOutOfBounds`.
    pub fn init_delay<E: From<ParamDelayOutOfBounds>>(&mut self, delay: u64) -> Result<(), E> {
        if !(MIN_PARAM_DELAY..=MAX_PARAM_DELAY).contains(&delay) {
            return Err(ParamDelayOutOfBounds {
                delay,
                min: MIN_PARAM_DELAY,
                max: MAX_PARAM_DELAY,
            }
            .into());
        }
        self.delay.set(U64::from(delay));
        Ok(())
    }

    /// Seconds between scheduling a change and its effect.
    pub fn delay(&self) -> u64 {
        self.delay.get().saturating_to()
    }

    /// Sets a parameter's first value at construction, with no delay and no step limit.
    ///
    /// Errors: `ParamOutOfBounds`. Emits `ParamScheduled` with `effectiveAt = now`.
    pub fn init<E: From<ParamOutOfBounds>>(
        &mut self,
        id: u8,
        spec: ParamSpec,
        value: U256,
        now: u64,
    ) -> Result<(), E> {
        spec.check_bounds::<E>(id, value)?;
        self.slots.setter(id).current.set(value);
        emit_scheduled(self.vm(), id, value, now);
        Ok(())
    }

    /// The value in effect at `now`.
    pub fn value(&self, id: u8, now: u64) -> U256 {
        let slot = self.slots.getter(id);
        let at: u64 = slot.effective_at.get().saturating_to();
        if at != 0 && now >= at {
            slot.pending.get()
        } else {
            slot.current.get()
        }
    }

    /// The scheduled value and when it takes effect, or `(0, 0)` when none is waiting.
    pub fn pending(&self, id: u8, now: u64) -> (U256, u64) {
        let slot = self.slots.getter(id);
        let at: u64 = slot.effective_at.get().saturating_to();
        if at != 0 && now < at {
            (slot.pending.get(), at)
        } else {
            (U256::ZERO, 0)
        }
    }

    /// Schedules `value` for parameter `id`; it takes effect `delay` seconds after `now`.
    /// A change already waiting is replaced. Returns the effective time.
    ///
    /// Errors: `ParamOutOfBounds`, `ParamStepTooLarge` (the step is measured from the
    /// value in effect now). Emits `ParamScheduled`.
    pub fn schedule<E>(&mut self, id: u8, spec: ParamSpec, value: U256, now: u64) -> Result<u64, E>
    where
        E: From<ParamOutOfBounds> + From<ParamStepTooLarge>,
    {
        spec.check_bounds::<E>(id, value)?;
        let current = self.value(id, now);
        let step = if value > current {
            value - current
        } else {
            current - value
        };
        if step > spec.max_step {
            return Err(ParamStepTooLarge {
                id,
                current,
                value,
                maxStep: spec.max_step,
            }
            .into());
        }
        let effective_at = now.saturating_add(self.delay());
        let mut slot = self.slots.setter(id);
        slot.current.set(current);
        slot.pending.set(value);
        slot.effective_at.set(U64::from(effective_at));
        emit_scheduled(self.vm(), id, value, effective_at);
        Ok(effective_at)
    }

    /// Cancels the change waiting for parameter `id`.
    ///
    /// Errors: `NoPendingParam` when nothing is waiting (or it already took effect).
    /// Emits `ParamCancelled`.
    pub fn cancel<E: From<NoPendingParam>>(&mut self, id: u8, now: u64) -> Result<(), E> {
        if self.pending(id, now).1 == 0 {
            return Err(NoPendingParam { id }.into());
        }
        let mut slot = self.slots.setter(id);
        slot.pending.set(U256::ZERO);
        slot.effective_at.set(U64::ZERO);
        crate::words::emit(
            self.vm(),
            <ParamCancelled as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            &[crate::words::word(id)],
            &[],
        );
        Ok(())
    }
}

use alloy_primitives::aliases::U64;

/// Emits `ParamScheduled(id, value, effective_at)`.
fn emit_scheduled(
    vm: &impl stylus_sdk::stylus_core::RawLogAccess,
    id: u8,
    value: U256,
    effective_at: u64,
) {
    use crate::words::word;
    crate::words::emit(
        vm,
        <ParamScheduled as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
        &[word(id)],
        &[word(value), word(effective_at)],
    );
}
