//! The contract's owner (admin), with OpenZeppelin `Ownable` semantics and names so
//! wallets and explorers recognise it.

use alloy_primitives::Address;
use stylus_sdk::{prelude::*, storage::StorageAddress};

crate::sol_decls! {
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    error OwnableUnauthorizedAccount(address account);
    error OwnableInvalidOwner(address owner);
}

/// The contract's owner (admin).
#[storage]
pub struct Ownable {
    owner: StorageAddress,
}

impl Ownable {
    /// The current owner; zero once ownership is renounced.
    pub fn owner(&self) -> Address {
        self.owner.get()
    }

    /// Sets the first owner, at construction.
    ///
    /// Errors: `OwnableInvalidOwner` for the zero address. Emits `OwnershipTransferred`.
    pub fn init<E: From<OwnableInvalidOwner>>(&mut self, owner: Address) -> Result<(), E> {
        if owner.is_zero() {
            return Err(OwnableInvalidOwner { owner }.into());
        }
        self.set(owner);
        Ok(())
    }

    /// Fails unless `caller` is the owner.
    ///
    /// Errors: `OwnableUnauthorizedAccount`.
    pub fn only_owner<E: From<OwnableUnauthorizedAccount>>(
        &self,
        caller: Address,
    ) -> Result<(), E> {
        if caller != self.owner.get() {
            return Err(OwnableUnauthorizedAccount { account: caller }.into());
        }
        Ok(())
    }

    /// Hands ownership to `new_owner`; only the owner may.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `OwnableInvalidOwner` for the zero address
    /// (use [`Ownable::renounce`] to give up ownership). Emits `OwnershipTransferred`.
    pub fn transfer<E>(&mut self, caller: Address, new_owner: Address) -> Result<(), E>
    where
        E: From<OwnableUnauthorizedAccount> + From<OwnableInvalidOwner>,
    {
        self.only_owner::<E>(caller)?;
        if new_owner.is_zero() {
            return Err(OwnableInvalidOwner { owner: new_owner }.into());
        }
        self.set(new_owner);
        Ok(())
    }

    /// Gives up ownership for good; only the owner may.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce<E: From<OwnableUnauthorizedAccount>>(
        &mut self,
        caller: Address,
    ) -> Result<(), E> {
        self.only_owner::<E>(caller)?;
        self.set(Address::ZERO);
        Ok(())
    }

    fn set(&mut self, new_owner: Address) {
        let previous = self.owner.get();
        self.owner.set(new_owner);
        crate::words::emit(
            self.vm(),
            <OwnershipTransferred as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            &[previous.into_word(), new_owner.into_word()],
            &[],
        );
    }
}
