//! The chain: accounts, storage, logs, time, and the registry of contracts.

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use stylus_sdk::{
    abi::{router_entrypoint, Router},
    host::VM,
    prelude::*,
    ArbResult,
};

use crate::frame::Frame;

/// A registered contract's entry point: calldata in, return or revert data out.
pub type Entry = fn(Vec<u8>, VM) -> ArbResult;

/// An emitted log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Indexed topics; the first is the event signature hash.
    pub topics: Vec<B256>,
    /// ABI-encoded non-indexed fields.
    pub data: Vec<u8>,
}

impl Log {
    /// Decodes this log as event `E`, or `None` when it is another event.
    pub fn decode<E: SolEvent>(&self) -> Option<E> {
        if self.topics.first() != Some(&E::SIGNATURE_HASH) {
            return None;
        }
        E::decode_raw_log(self.topics.iter().copied(), &self.data).ok()
    }
}

#[derive(Clone, Default)]
pub(crate) struct World {
    pub(crate) storage: HashMap<Address, HashMap<U256, B256>>,
    pub(crate) logs: Vec<Log>,
}

pub(crate) struct State {
    pub(crate) world: World,
    pub(crate) contracts: HashMap<Address, Entry>,
    pub(crate) return_data: Vec<u8>,
    pub(crate) sender: Address,
    pub(crate) timestamp: u64,
    pub(crate) block_number: u64,
    pub(crate) chain_id: u64,
    pub(crate) storage_ops: StorageOps,
}

/// Storage slot accesses counted since the chain was created (reverted ones included).
///
/// Gas is not metered natively; slot accesses are what dominates a Stylus program's gas,
/// so tests compare these counts to show that a call's cost does not grow with some
/// quantity (NodeReward's `finalizeEpoch` with the number of nodes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageOps {
    /// Slot reads that reached the host (`storage_load_bytes32`).
    pub loads: u64,
    /// Slot writes (`storage_cache_bytes32`).
    pub stores: u64,
}

/// An in-process chain of natively compiled Stylus contracts. Cheap to clone (shared).
#[derive(Clone)]
pub struct TestChain {
    pub(crate) state: Rc<RefCell<State>>,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

/// The Stylus SDK's constructor selector (`keccak256("stylus_constructor")[..4]`).
const CONSTRUCTOR_SELECTOR: [u8; 4] = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes();

impl TestChain {
    /// An empty chain at timestamp 1 700 000 000, block 1, chain id 412 346 (the Nitro dev
    /// chain's id).
    pub fn new() -> Self {
        Self {
            state: Rc::new(RefCell::new(State {
                world: World::default(),
                contracts: HashMap::new(),
                return_data: Vec::new(),
                sender: Address::ZERO,
                timestamp: 1_700_000_000,
                block_number: 1,
                chain_id: 412_346,
                storage_ops: StorageOps::default(),
            })),
        }
    }

    /// Registers contract type `C` at `address` so calls to it run its router.
    pub fn register<C>(&self, address: Address)
    where
        C: Router<C, Storage = C> + StorageType + TopLevelStorage + ValueDenier,
    {
        self.state
            .borrow_mut()
            .contracts
            .insert(address, router_entrypoint::<C, C>);
    }

    /// Registers `C` at `address` and runs its constructor with ABI-encoded `args` as the
    /// current sender. Returns the revert data if the constructor fails.
    pub fn deploy<C>(&self, address: Address, args: &[u8]) -> Result<(), Vec<u8>>
    where
        C: Router<C, Storage = C> + StorageType + TopLevelStorage + ValueDenier,
    {
        self.register::<C>(address);
        let mut data = CONSTRUCTOR_SELECTOR.to_vec();
        data.extend_from_slice(args);
        let sender = self.sender();
        self.call(sender, address, data).map(|_| ())
    }

    /// A handle on the contract at `address` for direct Rust calls; `msg.sender` is the
    /// chain's current sender (see [`TestChain::set_sender`]).
    pub fn at<C>(&self, address: Address) -> C
    where
        C: for<'a> From<&'a Frame>,
    {
        C::from(&Frame::top(self.clone(), address))
    }

    /// Sets `msg.sender` for direct calls made through [`TestChain::at`] handles.
    pub fn set_sender(&self, sender: Address) {
        self.state.borrow_mut().sender = sender;
    }

    /// The current sender.
    pub fn sender(&self) -> Address {
        self.state.borrow().sender
    }

    /// Runs `f` as one transaction: if it returns `Err`, every storage write and log it
    /// made is undone, as a revert does on chain.
    pub fn tx<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let snapshot = self.state.borrow().world.clone();
        let result = f();
        if result.is_err() {
            self.state.borrow_mut().world = snapshot;
        }
        result
    }

    /// Sends `data` from `from` to the contract at `to` through its ABI router, as a
    /// transaction would; reverts roll back.
    pub fn call(&self, from: Address, to: Address, data: Vec<u8>) -> ArbResult {
        Frame::nested(self.clone(), from, from).call_into(to, data)
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.state.borrow().chain_id
    }

    /// The block timestamp.
    pub fn timestamp(&self) -> u64 {
        self.state.borrow().timestamp
    }

    /// Sets the block timestamp.
    pub fn set_timestamp(&self, timestamp: u64) {
        self.state.borrow_mut().timestamp = timestamp;
    }

    /// Moves time forward by `seconds` and the block number by one.
    pub fn advance(&self, seconds: u64) {
        let mut state = self.state.borrow_mut();
        state.timestamp += seconds;
        state.block_number += 1;
    }

    /// Storage slot reads and writes counted so far, by every contract on the chain.
    pub fn storage_ops(&self) -> StorageOps {
        self.state.borrow().storage_ops
    }

    /// Every log emitted so far (reverted calls' logs excluded).
    pub fn logs(&self) -> Vec<Log> {
        self.state.borrow().world.logs.clone()
    }

    /// Returns and forgets the logs emitted so far.
    pub fn take_logs(&self) -> Vec<Log> {
        std::mem::take(&mut self.state.borrow_mut().world.logs)
    }

    /// Every log decoding as event `E`, oldest first.
    pub fn events<E: SolEvent>(&self) -> Vec<E> {
        self.state
            .borrow()
            .world
            .logs
            .iter()
            .filter_map(Log::decode::<E>)
            .collect()
    }
}
