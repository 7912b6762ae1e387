//! Privileged callers: the one contract allowed to drive an entry point of another (for
//! example SessionQueue locking a payment in SessionPayment). The owner sets it.

use alloy_primitives::Address;
use stylus_sdk::{prelude::*, storage::StorageAddress};

crate::sol_decls! {
    event RoleSet(uint8 indexed role, address indexed account);
    error UnauthorizedCaller(uint8 role, address caller);
}

/// One privileged caller, set by the owner (for example: the SessionQueue that may lock
/// and settle payments). `id` names the role in events and errors.
#[storage]
pub struct Role {
    account: StorageAddress,
}

impl Role {
    /// The account holding the role; zero when unset.
    pub fn account(&self) -> Address {
        self.account.get()
    }

    /// Gives the role to `account` (zero revokes it). Emits `RoleSet`.
    pub fn set(&mut self, id: u8, account: Address) {
        self.account.set(account);
        crate::words::emit(
            self.vm(),
            <RoleSet as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            &[crate::words::word(id), account.into_word()],
            &[],
        );
    }

    /// Fails unless `caller` holds the role.
    ///
    /// Errors: `UnauthorizedCaller`.
    pub fn only<E: From<UnauthorizedCaller>>(&self, id: u8, caller: Address) -> Result<(), E> {
        if caller.is_zero() || caller != self.account.get() {
            return Err(UnauthorizedCaller { role: id, caller }.into());
        }
        Ok(())
    }
}
