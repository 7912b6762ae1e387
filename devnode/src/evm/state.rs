//! The world state: accounts, storage and code, in memory; the read-only views revm
//! executes against (with `eth_call` state overrides), and the diffs a transaction makes.

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    sync::Arc,
};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::{
    bytecode::Bytecode,
    database_interface::Database,
    primitives::KECCAK_EMPTY,
    state::{AccountInfo, EvmState},
};
use serde::{Deserialize, Serialize};

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Hash of the code ([`KECCAK_EMPTY`] for none).
    pub code_hash: B256,
    /// Non-zero storage slots.
    pub storage: HashMap<U256, U256>,
}

impl Default for AccountState {
    fn default() -> Self {
        Self {
            balance: U256::ZERO,
            nonce: 0,
            code_hash: KECCAK_EMPTY,
            storage: HashMap::new(),
        }
    }
}

impl AccountState {
    fn is_empty(&self) -> bool {
        self.balance.is_zero()
            && self.nonce == 0
            && self.code_hash == KECCAK_EMPTY
            && self.storage.is_empty()
    }
}

/// Every account and every piece of code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorldState {
    accounts: HashMap<Address, AccountState>,
    codes: HashMap<B256, Bytes>,
}

impl WorldState {
    /// The account at `address`, if it exists.
    pub fn account(&self, address: &Address) -> Option<&AccountState> {
        self.accounts.get(address)
    }

    /// The code at `address` (empty when none).
    pub fn code(&self, address: &Address) -> Bytes {
        self.accounts
            .get(address)
            .and_then(|a| self.codes.get(&a.code_hash))
            .cloned()
            .unwrap_or_default()
    }

    /// The code with hash `hash`.
    pub fn code_by_hash(&self, hash: &B256) -> Option<&Bytes> {
        self.codes.get(hash)
    }

    /// A storage slot of `address` (zero when unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> U256 {
        self.accounts
            .get(address)
            .and_then(|a| a.storage.get(slot))
            .copied()
            .unwrap_or_default()
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the state holds no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Applies a diff.
    pub fn apply(&mut self, diff: &StateDiff) {
        for change in &diff.accounts {
            if change.destroyed {
                self.accounts.remove(&change.address);
                continue;
            }
            if let Some(code) = &change.code {
                self.codes.insert(change.code_hash, code.clone());
            }
            let account = self.accounts.entry(change.address).or_default();
            if change.storage_cleared {
                account.storage.clear();
            }
            account.balance = change.balance;
            account.nonce = change.nonce;
            account.code_hash = change.code_hash;
            for (slot, value) in &change.storage {
                if value.is_zero() {
                    account.storage.remove(slot);
                } else {
                    account.storage.insert(*slot, *value);
                }
            }
            if account.is_empty() {
                self.accounts.remove(&change.address);
            }
        }
    }

    /// Every account, for a full dump (persistence after a revert).
    pub fn to_diff(&self) -> StateDiff {
        let mut accounts: Vec<AccountDiff> = self
            .accounts
            .iter()
            .map(|(address, a)| AccountDiff {
                address: *address,
                balance: a.balance,
                nonce: a.nonce,
                code_hash: a.code_hash,
                code: self.codes.get(&a.code_hash).cloned(),
                storage_cleared: true,
                destroyed: false,
                storage: a.storage.iter().map(|(k, v)| (*k, *v)).collect(),
            })
            .collect();
        accounts.sort_by_key(|a| a.address);
        StateDiff { accounts }
    }
}

/// The change to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDiff {
    /// The account.
    pub address: Address,
    /// New balance.
    pub balance: U256,
    /// New nonce.
    pub nonce: u64,
    /// New code hash.
    pub code_hash: B256,
    /// The code, when it is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Bytes>,
    /// Storage is wiped before `storage` applies (contract (re)created).
    #[serde(default)]
    pub storage_cleared: bool,
    /// The account is removed (self-destructed).
    #[serde(default)]
    pub destroyed: bool,
    /// Slots written, with their new values.
    #[serde(default)]
    pub storage: BTreeMap<U256, U256>,
}

/// What a transaction (or a dev method) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDiff {
    /// Changed accounts, sorted by address.
    pub accounts: Vec<AccountDiff>,
}

impl StateDiff {
    /// Extracts the changes from revm's end-of-transaction state; code is included when
    /// `world` does not have it yet.
    pub fn from_evm_state(state: &EvmState, world: &WorldState) -> Self {
        let mut accounts = Vec::new();
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() {
                accounts.push(AccountDiff {
                    address: *address,
                    balance: U256::ZERO,
                    nonce: 0,
                    code_hash: KECCAK_EMPTY,
                    code: None,
                    storage_cleared: true,
                    destroyed: true,
                    storage: BTreeMap::new(),
                });
                continue;
            }
            let created = account.is_created();
            let hash = account.info.code_hash;
            let code = match &account.info.code {
                Some(code) if hash != KECCAK_EMPTY && world.code_by_hash(&hash).is_none() => {
                    Some(code.original_bytes())
                }
                _ => None,
            };
            accounts.push(AccountDiff {
                address: *address,
                balance: account.info.balance,
                nonce: account.info.nonce,
                code_hash: account.info.code_hash,
                code,
                storage_cleared: created,
                destroyed: false,
                storage: account
                    .storage
                    .iter()
                    .filter(|(_, slot)| created || slot.is_changed())
                    .map(|(k, slot)| (*k, slot.present_value()))
                    .collect(),
            });
        }
        accounts.sort_by_key(|a| a.address);
        Self { accounts }
    }

    /// A diff that sets one account's balance, keeping the rest of it.
    pub fn set_balance(state: &WorldState, address: Address, balance: U256) -> Self {
        let current = state.account(&address).cloned().unwrap_or_default();
        Self {
            accounts: vec![AccountDiff {
                address,
                balance,
                nonce: current.nonce,
                code_hash: current.code_hash,
                code: None,
                storage_cleared: false,
                destroyed: false,
                storage: BTreeMap::new(),
            }],
        }
    }

    /// A diff that sets one account's code, keeping the rest of it.
    pub fn set_code(state: &WorldState, address: Address, code: Bytes) -> Self {
        let current = state.account(&address).cloned().unwrap_or_default();
        let code_hash = if code.is_empty() {
            KECCAK_EMPTY
        } else {
            keccak256(&code)
        };
        Self {
            accounts: vec![AccountDiff {
                address,
                balance: current.balance,
                nonce: current.nonce,
                code_hash,
                code: (!code.is_empty()).then_some(code),
                storage_cleared: false,
                destroyed: false,
                storage: BTreeMap::new(),
            }],
        }
    }
}

/// Per-address overrides of an `eth_call` / `eth_estimateGas`.
#[derive(Debug, Clone, Default)]
pub struct AccountOverride {
    /// Replaces the balance.
    pub balance: Option<U256>,
    /// Replaces the nonce.
    pub nonce: Option<u64>,
    /// Replaces the code.
    pub code: Option<Bytes>,
    /// Replaces the whole storage.
    pub state: Option<HashMap<U256, U256>>,
    /// Replaces individual slots.
    pub state_diff: HashMap<U256, U256>,
}

/// A set of overrides, by address.
pub type StateOverrides = HashMap<Address, AccountOverride>;

/// Block hashes by number, shared with the chain.
pub type BlockHashes = Arc<Vec<B256>>;

/// What revm reads: a snapshot of the world state, optional overrides and the block
/// hashes. Cloning is cheap (shared pointers).
#[derive(Debug, Clone, Default)]
pub struct StateView {
    world: Arc<WorldState>,
    overrides: Option<Arc<StateOverrides>>,
    hashes: BlockHashes,
}

impl StateView {
    /// A view of `world` with the given block hashes.
    pub fn new(world: Arc<WorldState>, hashes: BlockHashes) -> Self {
        Self {
            world,
            overrides: None,
            hashes,
        }
    }

    /// The same view with `overrides` applied on top.
    pub fn with_overrides(mut self, overrides: StateOverrides) -> Self {
        if !overrides.is_empty() {
            self.overrides = Some(Arc::new(overrides));
        }
        self
    }

    fn override_for(&self, address: &Address) -> Option<&AccountOverride> {
        self.overrides.as_ref().and_then(|o| o.get(address))
    }
}

impl Database for StateView {
    type Error = Infallible;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let base = self.world.account(&address);
        let over = self.override_for(&address);
        if base.is_none() && over.is_none() {
            return Ok(None);
        }
        let base = base.cloned().unwrap_or_default();
        let mut info = AccountInfo {
            balance: base.balance,
            nonce: base.nonce,
            code_hash: base.code_hash,
            code: None,
            ..Default::default()
        };
        if let Some(over) = over {
            if let Some(balance) = over.balance {
                info.balance = balance;
            }
            if let Some(nonce) = over.nonce {
                info.nonce = nonce;
            }
            if let Some(code) = &over.code {
                let bytecode = Bytecode::new_raw_checked(code.clone())
                    .unwrap_or_else(|_| Bytecode::new_legacy(code.clone()));
                info.code_hash = if code.is_empty() {
                    KECCAK_EMPTY
                } else {
                    keccak256(code)
                };
                info.code = Some(bytecode);
            }
        }
        Ok(Some(info))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY || code_hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        let code = self.world.code_by_hash(&code_hash).cloned().or_else(|| {
            self.overrides.as_ref().and_then(|o| {
                o.values()
                    .filter_map(|a| a.code.as_ref())
                    .find(|c| keccak256(c) == code_hash)
                    .cloned()
            })
        });
        Ok(match code {
            Some(code) => Bytecode::new_raw_checked(code.clone())
                .unwrap_or_else(|_| Bytecode::new_legacy(code)),
            None => Bytecode::default(),
        })
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Some(over) = self.override_for(&address) {
            if let Some(value) = over.state_diff.get(&index) {
                return Ok(*value);
            }
            if let Some(state) = &over.state {
                return Ok(state.get(&index).copied().unwrap_or_default());
            }
        }
        Ok(self.world.storage(&address, &index))
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        Ok(usize::try_from(number)
            .ok()
            .and_then(|n| self.hashes.get(n))
            .copied()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");

    #[test]
    fn diffs_apply_and_empty_accounts_vanish() {
        let mut world = WorldState::default();
        world.apply(&StateDiff::set_balance(&world, ALICE, U256::from(5)));
        assert_eq!(world.account(&ALICE).unwrap().balance, U256::from(5));
        world.apply(&StateDiff::set_code(
            &world,
            ALICE,
            Bytes::from_static(&[0x60, 0x00]),
        ));
        assert_eq!(world.code(&ALICE), Bytes::from_static(&[0x60, 0x00]));
        world.apply(&StateDiff::set_code(&world, ALICE, Bytes::new()));
        world.apply(&StateDiff::set_balance(&world, ALICE, U256::ZERO));
        assert!(world.account(&ALICE).is_none());
    }

    #[test]
    fn full_dump_restores_the_same_state() {
        let mut world = WorldState::default();
        let mut diff = StateDiff::set_code(&world, ALICE, Bytes::from_static(&[0x00]));
        diff.accounts[0]
            .storage
            .insert(U256::from(1), U256::from(9));
        world.apply(&diff);
        let mut copy = WorldState::default();
        copy.apply(&world.to_diff());
        assert_eq!(copy, world);
    }

    #[test]
    fn overrides_replace_balance_code_and_slots() {
        let mut world = WorldState::default();
        let mut diff = StateDiff::set_balance(&world, ALICE, U256::from(1));
        diff.accounts[0]
            .storage
            .insert(U256::from(1), U256::from(2));
        world.apply(&diff);
        let mut overrides = StateOverrides::new();
        overrides.insert(
            ALICE,
            AccountOverride {
                balance: Some(U256::from(7)),
                code: Some(Bytes::from_static(&[0x60, 0x01])),
                state_diff: HashMap::from([(U256::from(3), U256::from(4))]),
                ..Default::default()
            },
        );
        let mut view =
            StateView::new(Arc::new(world), BlockHashes::default()).with_overrides(overrides);
        let info = view.basic(ALICE).unwrap().unwrap();
        assert_eq!(info.balance, U256::from(7));
        assert_eq!(info.code_hash, keccak256([0x60, 0x01]));
        assert_eq!(view.storage(ALICE, U256::from(1)).unwrap(), U256::from(2));
        assert_eq!(view.storage(ALICE, U256::from(3)).unwrap(), U256::from(4));
        let code = view.code_by_hash(info.code_hash).unwrap();
        assert_eq!(code.original_bytes(), Bytes::from_static(&[0x60, 0x01]));
    }
}
