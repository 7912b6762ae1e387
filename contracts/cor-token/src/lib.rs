//! CorToken: the COR ERC-20.
//!
//! Behaves exactly like OpenZeppelin's ERC-20 (same events, same EIP-6093 error names and
//! arguments, infinite allowance not decreased, no `Approval` event when an allowance is
//! spent), plus:
//! - EIP-2612 `permit`, so a wallet approves and deposits or stakes in one transaction
//!   (SessionPayment's `depositWithPermit`, StakeQuota's `stakeWithPermit`);
//! - `mint` by the owner up to a cap fixed at construction (for dev chains and testnets;
//!   a mainnet deployment renounces ownership or points the suite at an existing token).
//!
//! Name `COR`, symbol `COR`, 18 decimals. The EIP-712 domain is
//! `("COR", "1", chainid, address(this))`, recomputed on every permit so it follows the
//! chain id.

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{Address, B256, U256};
use cor_contract_common::{access, access::Ownable, events::emit, sol_decls};
use stylus_sdk::{
    call::static_call,
    crypto::keccak,
    keccak_const::Keccak256,
    prelude::*,
    storage::{StorageMap, StorageU256},
    stylus_core::calls::Call,
};

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};

sol_decls! {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    error ERC20InvalidSender(address sender);
    error ERC20InvalidReceiver(address receiver);
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    error ERC20InvalidApprover(address approver);
    error ERC20InvalidSpender(address spender);
    error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
    error ERC20InvalidCap(uint256 cap);
    error ERC2612ExpiredSignature(uint256 deadline);
    error ERC2612InvalidSigner(address signer, address owner);
    error ECDSAInvalidSignature();
    error ECDSAInvalidSignatureS(bytes32 s);
}

/// Every error CorToken reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// The sender's balance is too low.
    InsufficientBalance(ERC20InsufficientBalance),
    /// Transfer from the zero address.
    InvalidSender(ERC20InvalidSender),
    /// Transfer to the zero address.
    InvalidReceiver(ERC20InvalidReceiver),
    /// The spender's allowance is too low.
    InsufficientAllowance(ERC20InsufficientAllowance),
    /// Approval from the zero address.
    InvalidApprover(ERC20InvalidApprover),
    /// Approval for the zero address.
    InvalidSpender(ERC20InvalidSpender),
    /// Minting would exceed the cap.
    ExceededCap(ERC20ExceededCap),
    /// A zero cap at construction.
    InvalidCap(ERC20InvalidCap),
    /// The permit's deadline has passed.
    ExpiredSignature(ERC2612ExpiredSignature),
    /// The permit was signed by someone other than the owner.
    InvalidSigner(ERC2612InvalidSigner),
    /// The signature does not recover to an address.
    InvalidSignature(ECDSAInvalidSignature),
    /// The signature's `s` is in the upper half of the curve order (malleable).
    InvalidSignatureS(ECDSAInvalidSignatureS),
    /// The caller is not the owner.
    Unauthorized(OwnableUnauthorizedAccount),
    /// The zero address as owner.
    InvalidOwner(OwnableInvalidOwner),
}

/// Token name, also the EIP-712 domain name.
pub const NAME: &str = "COR";
/// Token symbol.
pub const SYMBOL: &str = "COR";
/// Decimals.
pub const DECIMALS: u8 = 18;
/// EIP-712 domain version.
pub const VERSION: &str = "1";

/// `keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")`.
pub const PERMIT_TYPEHASH: [u8; 32] = Keccak256::new()
    .update(b"Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    .finalize();
const DOMAIN_TYPEHASH: [u8; 32] = Keccak256::new()
    .update(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    .finalize();
const NAME_HASH: [u8; 32] = Keccak256::new().update(NAME.as_bytes()).finalize();
const VERSION_HASH: [u8; 32] = Keccak256::new().update(VERSION.as_bytes()).finalize();

/// Half the secp256k1 curve order: signatures with a larger `s` are rejected (EIP-2).
const SECP256K1_HALF_N: U256 = U256::from_be_bytes([
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// The `ecrecover` precompile.
const ECRECOVER: Address =
    Address::new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/// CorToken storage.
#[storage]
#[entrypoint]
pub struct CorToken {
    balances: StorageMap<Address, StorageU256>,
    allowances: StorageMap<Address, StorageMap<Address, StorageU256>>,
    total_supply: StorageU256,
    cap: StorageU256,
    nonces: StorageMap<Address, StorageU256>,
    ownable: Ownable,
}

#[public]
impl CorToken {
    /// Sets the supply cap and the owner (the minter).
    ///
    /// Errors: `ERC20InvalidCap` for a zero cap, `OwnableInvalidOwner` for a zero owner.
    /// Emits `OwnershipTransferred`.
    #[constructor]
    pub fn constructor(&mut self, cap: U256, owner: Address) -> Result<(), Error> {
        if cap.is_zero() {
            return Err(ERC20InvalidCap { cap }.into());
        }
        self.cap.set(cap);
        self.ownable.init::<Error>(owner)
    }

    /// Token name.
    pub fn name(&self) -> String {
        NAME.into()
    }

    /// Token symbol.
    pub fn symbol(&self) -> String {
        SYMBOL.into()
    }

    /// Decimals (18).
    pub fn decimals(&self) -> u8 {
        DECIMALS
    }

    /// Tokens in existence.
    pub fn total_supply(&self) -> U256 {
        self.total_supply.get()
    }

    /// Largest total supply minting may reach.
    pub fn cap(&self) -> U256 {
        self.cap.get()
    }

    /// Balance of `account`.
    pub fn balance_of(&self, account: Address) -> U256 {
        self.balances.get(account)
    }

    /// How much `spender` may still move from `owner`.
    pub fn allowance(&self, owner: Address, spender: Address) -> U256 {
        self.allowances.getter(owner).get(spender)
    }

    /// Moves `value` from the caller to `to`.
    ///
    /// Errors: `ERC20InvalidReceiver`, `ERC20InsufficientBalance`. Emits `Transfer`.
    pub fn transfer(&mut self, to: Address, value: U256) -> Result<bool, Error> {
        let from = self.vm().msg_sender();
        self.checked_transfer(from, to, value)?;
        Ok(true)
    }

    /// Lets `spender` move up to `value` of the caller's tokens (`uint256.max`: no limit).
    ///
    /// Errors: `ERC20InvalidSpender`. Emits `Approval`.
    pub fn approve(&mut self, spender: Address, value: U256) -> Result<bool, Error> {
        let owner = self.vm().msg_sender();
        self.set_allowance(owner, spender, value, true)?;
        Ok(true)
    }

    /// Moves `value` from `from` to `to` using the caller's allowance.
    ///
    /// Errors: `ERC20InsufficientAllowance`, `ERC20InvalidSender`, `ERC20InvalidReceiver`,
    /// `ERC20InsufficientBalance`. Emits `Transfer`.
    pub fn transfer_from(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
    ) -> Result<bool, Error> {
        let spender = self.vm().msg_sender();
        self.spend_allowance(from, spender, value)?;
        self.checked_transfer(from, to, value)?;
        Ok(true)
    }

    /// Creates `value` tokens for `to`; only the owner, up to the cap.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `ERC20InvalidReceiver`, `ERC20ExceededCap`.
    /// Emits `Transfer` from the zero address.
    pub fn mint(&mut self, to: Address, value: U256) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        if to.is_zero() {
            return Err(ERC20InvalidReceiver { receiver: to }.into());
        }
        let cap = self.cap.get();
        let supply = self
            .total_supply
            .get()
            .checked_add(value)
            .filter(|s| *s <= cap)
            .ok_or(ERC20ExceededCap {
                increasedSupply: self.total_supply.get().saturating_add(value),
                cap,
            })?;
        self.total_supply.set(supply);
        // Cannot overflow: the balance is at most the total supply, which fit.
        let balance = self.balances.get(to) + value;
        self.balances.insert(to, balance);
        emit(
            self.vm(),
            Transfer {
                from: Address::ZERO,
                to,
                value,
            },
        );
        Ok(())
    }

    /// Destroys `value` of the caller's tokens.
    ///
    /// Errors: `ERC20InsufficientBalance`. Emits `Transfer` to the zero address.
    pub fn burn(&mut self, value: U256) -> Result<(), Error> {
        let from = self.vm().msg_sender();
        self.debit(from, value)?;
        // Cannot underflow: the supply is at least the burnt balance.
        self.total_supply.set(self.total_supply.get() - value);
        emit(
            self.vm(),
            Transfer {
                from,
                to: Address::ZERO,
                value,
            },
        );
        Ok(())
    }

    /// EIP-2612: sets `owner`'s allowance for `spender` from an off-chain signature.
    ///
    /// Errors: `ERC2612ExpiredSignature` after `deadline`, `ECDSAInvalidSignatureS` or
    /// `ECDSAInvalidSignature` for a malformed signature, `ERC2612InvalidSigner` when the
    /// signer is not `owner` (also for a reused signature: the nonce has moved on).
    /// Emits `Approval`.
    #[allow(clippy::too_many_arguments)]
    pub fn permit(
        &mut self,
        owner: Address,
        spender: Address,
        value: U256,
        deadline: U256,
        v: u8,
        r: B256,
        s: B256,
    ) -> Result<(), Error> {
        if U256::from(self.vm().block_timestamp()) > deadline {
            return Err(ERC2612ExpiredSignature { deadline }.into());
        }
        let nonce = self.nonces.get(owner);
        self.nonces.insert(owner, nonce + U256::from(1));
        let mut encoded = [0u8; 6 * 32];
        encoded[..32].copy_from_slice(&PERMIT_TYPEHASH);
        encoded[44..64].copy_from_slice(owner.as_slice());
        encoded[76..96].copy_from_slice(spender.as_slice());
        encoded[96..128].copy_from_slice(&value.to_be_bytes::<32>());
        encoded[128..160].copy_from_slice(&nonce.to_be_bytes::<32>());
        encoded[160..192].copy_from_slice(&deadline.to_be_bytes::<32>());
        let struct_hash = keccak(encoded);
        let mut digest = [0u8; 66];
        digest[..2].copy_from_slice(&[0x19, 0x01]);
        digest[2..34].copy_from_slice(self.domain_separator().as_slice());
        digest[34..].copy_from_slice(struct_hash.as_slice());
        let signer = self.recover(keccak(digest), v, r, s)?;
        if signer != owner {
            return Err(ERC2612InvalidSigner { signer, owner }.into());
        }
        self.set_allowance(owner, spender, value, true)
    }

    /// EIP-2612: the next permit nonce of `owner`.
    pub fn nonces(&self, owner: Address) -> U256 {
        self.nonces.get(owner)
    }

    /// EIP-2612: the EIP-712 domain separator for this chain and contract.
    #[selector(name = "DOMAIN_SEPARATOR")]
    pub fn domain_separator(&self) -> B256 {
        let mut encoded = [0u8; 5 * 32];
        encoded[..32].copy_from_slice(&DOMAIN_TYPEHASH);
        encoded[32..64].copy_from_slice(&NAME_HASH);
        encoded[64..96].copy_from_slice(&VERSION_HASH);
        encoded[96..128].copy_from_slice(&U256::from(self.vm().chain_id()).to_be_bytes::<32>());
        encoded[140..160].copy_from_slice(self.vm().contract_address().as_slice());
        keccak(encoded)
    }

    /// The owner (minter).
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

    /// Gives up ownership: no more minting, ever.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

impl CorToken {
    fn checked_transfer(&mut self, from: Address, to: Address, value: U256) -> Result<(), Error> {
        if from.is_zero() {
            return Err(ERC20InvalidSender { sender: from }.into());
        }
        if to.is_zero() {
            return Err(ERC20InvalidReceiver { receiver: to }.into());
        }
        self.debit(from, value)?;
        // Cannot overflow: the sum of balances is the total supply, which fits.
        let balance = self.balances.get(to) + value;
        self.balances.insert(to, balance);
        emit(self.vm(), Transfer { from, to, value });
        Ok(())
    }

    fn debit(&mut self, from: Address, value: U256) -> Result<(), Error> {
        let balance = self.balances.get(from);
        if balance < value {
            return Err(ERC20InsufficientBalance {
                sender: from,
                balance,
                needed: value,
            }
            .into());
        }
        self.balances.insert(from, balance - value);
        Ok(())
    }

    fn set_allowance(
        &mut self,
        owner: Address,
        spender: Address,
        value: U256,
        announce: bool,
    ) -> Result<(), Error> {
        if owner.is_zero() {
            return Err(ERC20InvalidApprover { approver: owner }.into());
        }
        if spender.is_zero() {
            return Err(ERC20InvalidSpender { spender }.into());
        }
        self.allowances.setter(owner).insert(spender, value);
        if announce {
            emit(
                self.vm(),
                Approval {
                    owner,
                    spender,
                    value,
                },
            );
        }
        Ok(())
    }

    fn spend_allowance(
        &mut self,
        owner: Address,
        spender: Address,
        value: U256,
    ) -> Result<(), Error> {
        let allowance = self.allowance(owner, spender);
        if allowance == U256::MAX {
            return Ok(());
        }
        if allowance < value {
            return Err(ERC20InsufficientAllowance {
                spender,
                allowance,
                needed: value,
            }
            .into());
        }
        self.set_allowance(owner, spender, allowance - value, false)
    }

    fn recover(&self, digest: B256, v: u8, r: B256, s: B256) -> Result<Address, Error> {
        if U256::from_be_bytes(s.0) > SECP256K1_HALF_N {
            return Err(ECDSAInvalidSignatureS { s }.into());
        }
        let mut input = [0u8; 128];
        input[..32].copy_from_slice(digest.as_slice());
        input[63] = v;
        input[64..96].copy_from_slice(r.as_slice());
        input[96..].copy_from_slice(s.as_slice());
        let out = static_call(self.vm(), Call::new(), ECRECOVER, &input).unwrap_or_default();
        let signer = if out.len() == 32 {
            Address::from_slice(&out[12..])
        } else {
            Address::ZERO
        };
        if signer.is_zero() {
            return Err(ECDSAInvalidSignature {}.into());
        }
        Ok(signer)
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    [SOL_DECLS, access::SOL_DECLS].concat()
}

#[cfg(test)]
mod tests;
