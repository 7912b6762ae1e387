//! One call frame: the host a contract sees while it runs.

use std::slice;

use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use stylus_sdk::{host::VM, stylus_core::*};

use crate::chain::TestChain;

/// The address of the `ecrecover` precompile.
const ECRECOVER: Address = Address::with_last_byte(1);

/// The host of one call frame: which contract runs, who called it, with what value.
///
/// A top-level frame (from [`TestChain::at`]) takes `msg.sender` from the chain's current
/// sender, so one handle serves calls from several accounts.
#[derive(Clone)]
pub struct Frame {
    chain: TestChain,
    this: Address,
    /// `None` for a top-level frame.
    sender: Option<Address>,
}

impl Frame {
    pub(crate) fn top(chain: TestChain, this: Address) -> Self {
        Self {
            chain,
            this,
            sender: None,
        }
    }

    pub(crate) fn nested(chain: TestChain, this: Address, sender: Address) -> Self {
        Self {
            chain,
            this,
            sender: Some(sender),
        }
    }

    /// Runs a call from this frame's contract to `to`, rolling back on revert, and leaves
    /// its output as the return data.
    pub(crate) fn call_into(&self, to: Address, data: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        let result = if to == ECRECOVER {
            Ok(ecrecover(&data))
        } else {
            let entry = self.chain.state.borrow().contracts.get(&to).copied();
            match entry {
                // A call to an account without code succeeds and returns nothing.
                None => Ok(Vec::new()),
                Some(entry) => {
                    let snapshot = self.chain.state.borrow().world.clone();
                    let callee = Frame::nested(self.chain.clone(), to, self.this);
                    let result = entry(
                        data,
                        VM {
                            host: Box::new(callee),
                        },
                    );
                    if result.is_err() {
                        self.chain.state.borrow_mut().world = snapshot;
                    }
                    result
                }
            }
        };
        let out = match &result {
            Ok(d) | Err(d) => d.clone(),
        };
        self.chain.state.borrow_mut().return_data = out;
        result
    }

    unsafe fn raw_call(
        &self,
        to: *const u8,
        data: *const u8,
        data_len: usize,
        outs_len: &mut usize,
    ) -> u8 {
        let to = Address::from_slice(slice::from_raw_parts(to, 20));
        let data = slice::from_raw_parts(data, data_len).to_vec();
        let result = self.call_into(to, data);
        match result {
            Ok(out) => {
                *outs_len = out.len();
                0
            }
            Err(out) => {
                *outs_len = out.len();
                1
            }
        }
    }
}

/// The `ecrecover` precompile: `hash, v, r, s` in, the signer left-padded to 32 bytes out,
/// nothing on a bad signature.
fn ecrecover(input: &[u8]) -> Vec<u8> {
    let mut padded = [0u8; 128];
    let n = input.len().min(128);
    padded[..n].copy_from_slice(&input[..n]);
    let hash = B256::from_slice(&padded[..32]);
    let v = U256::from_be_slice(&padded[32..64]);
    let r = U256::from_be_slice(&padded[64..96]);
    let s = U256::from_be_slice(&padded[96..128]);
    let parity = if v == U256::from(27) {
        false
    } else if v == U256::from(28) {
        true
    } else {
        return Vec::new();
    };
    match Signature::new(r, s, parity).recover_address_from_prehash(&hash) {
        Ok(address) => {
            let mut out = vec![0u8; 12];
            out.extend_from_slice(address.as_slice());
            out
        }
        Err(_) => Vec::new(),
    }
}

impl Host for Frame {}

impl CryptographyAccess for Frame {
    fn native_keccak256(&self, input: &[u8]) -> B256 {
        keccak256(input)
    }
}

impl CalldataAccess for Frame {
    fn read_args(&self, _len: usize) -> Vec<u8> {
        // Calldata reaches natively compiled contracts through their router, not this hook.
        Vec::new()
    }

    fn read_return_data(&self, offset: usize, size: Option<usize>) -> Vec<u8> {
        let state = self.chain.state.borrow();
        let data = &state.return_data;
        let start = offset.min(data.len());
        let end = size.map_or(data.len(), |s| (start + s).min(data.len()));
        data[start..end].to_vec()
    }

    fn return_data_size(&self) -> usize {
        self.chain.state.borrow().return_data.len()
    }

    fn write_result(&self, data: &[u8]) {
        self.chain.state.borrow_mut().return_data = data.to_vec();
    }
}

unsafe impl UnsafeDeploymentAccess for Frame {
    unsafe fn create1(
        &self,
        _code: *const u8,
        _code_len: usize,
        _endowment: *const u8,
        contract: *mut u8,
        revert_data_len: *mut usize,
    ) {
        // COR contracts never deploy contracts; report a failed deployment.
        slice::from_raw_parts_mut(contract, 20).fill(0);
        *revert_data_len = 0;
    }

    unsafe fn create2(
        &self,
        _code: *const u8,
        _code_len: usize,
        _endowment: *const u8,
        _salt: *const u8,
        contract: *mut u8,
        revert_data_len: *mut usize,
    ) {
        slice::from_raw_parts_mut(contract, 20).fill(0);
        *revert_data_len = 0;
    }
}

impl StorageAccess for Frame {
    fn storage_load_bytes32(&self, key: U256) -> B256 {
        self.chain.state.borrow_mut().storage_ops.loads += 1;
        let state = self.chain.state.borrow();
        state
            .world
            .storage
            .get(&self.this)
            .and_then(|slots| slots.get(&key))
            .copied()
            .unwrap_or_default()
    }

    unsafe fn storage_cache_bytes32(&self, key: U256, value: B256) {
        let mut state = self.chain.state.borrow_mut();
        state.storage_ops.stores += 1;
        state
            .world
            .storage
            .entry(self.this)
            .or_default()
            .insert(key, value);
    }

    fn flush_cache(&self, _clear: bool) {}
}

unsafe impl UnsafeCallAccess for Frame {
    unsafe fn call_contract(
        &self,
        to: *const u8,
        data: *const u8,
        data_len: usize,
        _value: *const u8,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        self.raw_call(to, data, data_len, outs_len)
    }

    unsafe fn static_call_contract(
        &self,
        to: *const u8,
        data: *const u8,
        data_len: usize,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        self.raw_call(to, data, data_len, outs_len)
    }

    unsafe fn delegate_call_contract(
        &self,
        _to: *const u8,
        _data: *const u8,
        _data_len: usize,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        // COR contracts never delegate-call.
        *outs_len = 0;
        1
    }
}

impl BlockAccess for Frame {
    fn block_basefee(&self) -> U256 {
        U256::ZERO
    }

    fn block_coinbase(&self) -> Address {
        Address::ZERO
    }

    fn block_number(&self) -> u64 {
        self.chain.state.borrow().block_number
    }

    fn block_timestamp(&self) -> u64 {
        self.chain.state.borrow().timestamp
    }

    fn block_gas_limit(&self) -> u64 {
        30_000_000
    }
}

impl ChainAccess for Frame {
    fn chain_id(&self) -> u64 {
        self.chain.state.borrow().chain_id
    }
}

impl AccountAccess for Frame {
    fn balance(&self, _account: Address) -> U256 {
        U256::ZERO
    }

    fn contract_address(&self) -> Address {
        self.this
    }

    fn code(&self, _account: Address) -> Vec<u8> {
        Vec::new()
    }

    fn code_size(&self, account: Address) -> usize {
        usize::from(self.chain.state.borrow().contracts.contains_key(&account))
    }

    fn code_hash(&self, _account: Address) -> B256 {
        B256::ZERO
    }
}

impl MemoryAccess for Frame {
    fn pay_for_memory_grow(&self, _pages: u16) {}
}

impl MessageAccess for Frame {
    fn msg_sender(&self) -> Address {
        self.sender.unwrap_or_else(|| self.chain.sender())
    }

    fn msg_reentrant(&self) -> bool {
        false
    }

    fn msg_value(&self) -> U256 {
        U256::ZERO
    }

    fn tx_origin(&self) -> Address {
        self.chain.sender()
    }
}

impl MeteringAccess for Frame {
    fn evm_gas_left(&self) -> u64 {
        // Gas is not metered natively; a constant keeps gas-delta bookkeeping at zero.
        30_000_000
    }

    fn evm_ink_left(&self) -> u64 {
        30_000_000 * 10_000
    }

    fn tx_gas_price(&self) -> U256 {
        U256::ZERO
    }

    fn tx_ink_price(&self) -> u32 {
        10_000
    }
}

impl RawLogAccess for Frame {
    fn emit_log(&self, input: &[u8], num_topics: usize) {
        let (topics, data) = input.split_at(num_topics * 32);
        let topics = topics.chunks(32).map(B256::from_slice).collect();
        self.push_log(topics, data.to_vec());
    }

    fn raw_log(&self, topics: &[B256], data: &[u8]) -> Result<(), &'static str> {
        self.push_log(topics.to_vec(), data.to_vec());
        Ok(())
    }
}

impl Frame {
    fn push_log(&self, topics: Vec<B256>, data: Vec<u8>) {
        self.chain
            .state
            .borrow_mut()
            .world
            .logs
            .push(crate::chain::Log {
                address: self.this,
                topics,
                data,
            });
    }
}
