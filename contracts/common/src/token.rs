//! Moving COR in and out of a contract through the ERC-20 interface.
//!
//! Contracts take the token's address at construction, so a deployment can use an
//! existing COR token. A failed transfer (a revert, or `false` returned) becomes the
//! typed `TokenTransferFailed` error naming both ends and the amount.

use alloy_primitives::{Address, FixedBytes, U256};
use stylus_sdk::{prelude::*, stylus_core::calls::Call};

pub use erc20::IErc20;

#[allow(missing_docs)]
mod erc20 {
    use stylus_sdk::prelude::*;

    sol_interface! {
    /// The part of ERC-20 and EIP-2612 the COR contracts call.
    interface IErc20 {
        function transfer(address to, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
    }
    }
}

crate::sol_decls! {
    error TokenTransferFailed(address token, address from, address to, uint256 amount);
}

/// Pulls `amount` COR from `from` into the calling contract (needs an allowance).
///
/// Errors: `TokenTransferFailed`.
pub fn pull<S, E>(storage: &mut S, token: Address, from: Address, amount: U256) -> Result<(), E>
where
    S: TopLevelStorage + HostAccess,
    E: From<TokenTransferFailed>,
{
    let this = storage.vm().contract_address();
    let call = Call::new_mutating(storage);
    match IErc20::new(token).transfer_from(storage.vm(), call, from, this, amount) {
        Ok(true) => Ok(()),
        _ => Err(TokenTransferFailed {
            token,
            from,
            to: this,
            amount,
        }
        .into()),
    }
}

/// Sends `amount` COR from the calling contract to `to`.
///
/// Errors: `TokenTransferFailed`.
pub fn push<S, E>(storage: &mut S, token: Address, to: Address, amount: U256) -> Result<(), E>
where
    S: TopLevelStorage + HostAccess,
    E: From<TokenTransferFailed>,
{
    let this = storage.vm().contract_address();
    let call = Call::new_mutating(storage);
    match IErc20::new(token).transfer(storage.vm(), call, to, amount) {
        Ok(true) => Ok(()),
        _ => Err(TokenTransferFailed {
            token,
            from: this,
            to,
            amount,
        }
        .into()),
    }
}

/// An EIP-2612 signature: deadline and `(v, r, s)`.
#[derive(Clone, Copy, Debug)]
pub struct PermitSig {
    /// Last timestamp at which the permit is valid.
    pub deadline: U256,
    /// Recovery id (27 or 28).
    pub v: u8,
    /// Signature `r`.
    pub r: FixedBytes<32>,
    /// Signature `s`.
    pub s: FixedBytes<32>,
}

/// Applies `owner`'s permit letting the calling contract spend `amount`, then pulls it.
///
/// A permit that was already used (for example front-run by someone submitting the same
/// signature) makes `permit` revert; the pull is still attempted so a front-run does not
/// grief the user, and it fails only if the allowance is really missing.
///
/// Errors: `TokenTransferFailed`.
pub fn pull_with_permit<S, E>(
    storage: &mut S,
    token: Address,
    owner: Address,
    amount: U256,
    sig: PermitSig,
) -> Result<(), E>
where
    S: TopLevelStorage + HostAccess,
    E: From<TokenTransferFailed>,
{
    let this = storage.vm().contract_address();
    let call = Call::new_mutating(storage);
    let _ = IErc20::new(token).permit(
        storage.vm(),
        call,
        owner,
        this,
        amount,
        sig.deadline,
        sig.v,
        sig.r,
        sig.s,
    );
    pull::<S, E>(storage, token, owner, amount)
}
