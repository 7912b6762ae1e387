//! Emergency stop (OpenZeppelin `Pausable` names).
//!
//! A paused contract rejects user entry points that put value at risk (deposits, stakes,
//! new tasks) but keeps the exits open: invariant 8 of `PROTOCOL.md` says users can always
//! withdraw what is theirs.

use alloy_primitives::Address;
use stylus_sdk::{prelude::*, storage::StorageBool};

crate::sol_decls! {
    event Paused(address account);
    event Unpaused(address account);
    error EnforcedPause();
    error ExpectedPause();
}

/// Whether the contract is paused.
#[storage]
pub struct Pausable {
    paused: StorageBool,
}

impl Pausable {
    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused.get()
    }

    /// Fails while paused.
    ///
    /// Errors: `EnforcedPause`.
    pub fn when_not_paused<E: From<EnforcedPause>>(&self) -> Result<(), E> {
        if self.paused.get() {
            return Err(EnforcedPause {}.into());
        }
        Ok(())
    }

    /// Pauses; the caller's authority is checked by the contract.
    ///
    /// Errors: `EnforcedPause` when already paused. Emits `Paused`.
    pub fn pause<E: From<EnforcedPause>>(&mut self, by: Address) -> Result<(), E> {
        self.when_not_paused::<E>()?;
        self.paused.set(true);
        crate::words::emit(
            self.vm(),
            <Paused as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            &[],
            &[by.into_word()],
        );
        Ok(())
    }

    /// Unpauses; the caller's authority is checked by the contract.
    ///
    /// Errors: `ExpectedPause` when not paused. Emits `Unpaused`.
    pub fn unpause<E: From<ExpectedPause>>(&mut self, by: Address) -> Result<(), E> {
        if !self.paused.get() {
            return Err(ExpectedPause {}.into());
        }
        self.paused.set(false);
        crate::words::emit(
            self.vm(),
            <Unpaused as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            &[],
            &[by.into_word()],
        );
        Ok(())
    }
}
