//! The precompile provider: Ethereum's precompiles, ArbSys, ArbWasm, and the dispatch of
//! Stylus programs to the WASM runtime.

use std::{cell::RefCell, collections::HashMap, rc::Rc, sync::Arc};

use alloy_primitives::{address, Address, B256};
use revm::{
    handler::{EthPrecompiles, PrecompileProvider},
    interpreter::{CallInputs, InterpreterResult},
    primitives::{hardfork::SpecId, AddressSet},
};

use super::{arbsys, arbwasm, Ctx, SPEC};
use crate::stylus::{program::is_stylus_code, runtime::StylusRuntime};

/// ArbSys: chain and block facts.
pub const ARB_SYS: Address = address!("0x0000000000000000000000000000000000000064");
/// ArbWasm: program activation and Stylus parameters.
pub const ARB_WASM: Address = address!("0x0000000000000000000000000000000000000071");

/// Open frames per address in the current transaction (Nitro's reentrancy count).
#[derive(Debug, Clone, Default)]
pub struct Reentrancy(Rc<RefCell<HashMap<Address, u32>>>);

impl Reentrancy {
    /// A frame of `address` opens.
    pub fn enter(&self, address: Address) {
        *self.0.borrow_mut().entry(address).or_default() += 1;
    }

    /// A frame of `address` closes.
    pub fn exit(&self, address: Address) {
        let mut map = self.0.borrow_mut();
        if let Some(count) = map.get_mut(&address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&address);
            }
        }
    }

    /// Whether more than one frame of `address` is open.
    pub fn is_reentrant(&self, address: &Address) -> bool {
        self.0.borrow().get(address).copied().unwrap_or(0) > 1
    }
}

/// Stylus bookkeeping that spans a transaction: WASM pages open and ever opened (the
/// memory model prices growth against them) and the programs already called (cached).
#[derive(Debug, Default)]
pub struct TxStylus {
    /// Pages currently open across the call stack.
    pub pages_open: u16,
    /// Most pages open at once so far.
    pub pages_ever: u16,
    /// Code hashes of the programs run so far (they pay the cached init price).
    pub recent: Vec<B256>,
}

/// The precompile provider. Cloning shares the runtime and the transaction's bookkeeping,
/// which is how a program's sub-calls see the same state.
#[derive(Clone)]
pub struct ArbPrecompiles {
    eth: EthPrecompiles,
    warm: Arc<AddressSet>,
    runtime: Arc<StylusRuntime>,
    tx: Rc<RefCell<TxStylus>>,
    reentrancy: Reentrancy,
}

impl std::fmt::Debug for ArbPrecompiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArbPrecompiles").finish_non_exhaustive()
    }
}

impl ArbPrecompiles {
    /// A provider for one transaction, running programs with `runtime`.
    pub fn new(runtime: Arc<StylusRuntime>) -> Self {
        let eth = EthPrecompiles::new(SPEC);
        let warm = Arc::new(Self::warm_set(&eth));
        Self {
            eth,
            warm,
            runtime,
            tx: Rc::default(),
            reentrancy: Reentrancy::default(),
        }
    }

    fn warm_set(eth: &EthPrecompiles) -> AddressSet {
        let mut warm = eth.warm_addresses().clone();
        warm.insert(ARB_SYS);
        warm.insert(ARB_WASM);
        warm
    }

    /// The Stylus runtime.
    pub fn runtime(&self) -> &Arc<StylusRuntime> {
        &self.runtime
    }

    /// The transaction's Stylus bookkeeping.
    pub fn tx(&self) -> &Rc<RefCell<TxStylus>> {
        &self.tx
    }

    /// The transaction's open-frame counts.
    pub fn reentrancy(&self) -> Reentrancy {
        self.reentrancy.clone()
    }
}

impl PrecompileProvider<Ctx> for ArbPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        let changed = <EthPrecompiles as PrecompileProvider<Ctx>>::set_spec(&mut self.eth, spec);
        if changed {
            self.warm = Arc::new(Self::warm_set(&self.eth));
        }
        changed
    }

    fn run(
        &mut self,
        ctx: &mut Ctx,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        match inputs.bytecode_address {
            ARB_SYS => return Ok(Some(arbsys::call(ctx, inputs))),
            ARB_WASM => return arbwasm::call(ctx, self, inputs).map(Some),
            _ => {}
        }
        if self.eth.contains(&inputs.bytecode_address) {
            return <EthPrecompiles as PrecompileProvider<Ctx>>::run(&mut self.eth, ctx, inputs);
        }
        if is_stylus_code(inputs.known_bytecode.1.original_byte_slice()) {
            return crate::stylus::runtime::call_program(ctx, self, inputs).map(Some);
        }
        Ok(None)
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.warm
    }

    fn contains(&self, address: &Address) -> bool {
        self.warm.contains(address)
    }
}

/// Builds a precompile's result: `cost` gas spent out of `limit`, out of gas when it does
/// not fit (all gas consumed, no output).
pub(crate) fn outcome(
    limit: u64,
    cost: u64,
    result: revm::interpreter::InstructionResult,
    output: alloy_primitives::Bytes,
) -> InterpreterResult {
    let mut gas = revm::interpreter::Gas::new(limit);
    if !gas.record_regular_cost(cost) {
        gas.spend_all();
        return InterpreterResult::new(
            revm::interpreter::InstructionResult::PrecompileOOG,
            alloy_primitives::Bytes::new(),
            gas,
        );
    }
    InterpreterResult::new(result, output, gas)
}

/// Gas a precompile view costs: one ArbOS storage read plus copying in and out.
pub(crate) fn view_cost(input_len: usize, output_len: usize) -> u64 {
    800 + 3 * (input_len.div_ceil(32) + output_len.div_ceil(32)) as u64
}
