//! The `vm_hooks` host functions a Stylus program imports, over revm's journal.
//!
//! Each hook charges what Nitro charges: a base ink price, per-byte read/write prices, and
//! for state access the EVM's gas (EIP-2929 warm/cold, EIP-2200 storage, log prices).
//! Storage goes through a per-call cache that `storage_flush_cache` writes to the journal,
//! as in Nitro. Calls and creates run in a nested [`ArbEvm`] on the same journal.

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, Bytes, Log, LogData, B256, U256};
use revm::{
    context_interface::{ContextTr, Host, JournalTr},
    handler::FrameResult,
    interpreter::{
        instructions::contract::load_account_delegated, interpreter_action::FrameInit, CallInput,
        CallInputs, CallScheme, CallValue, CreateInputs, CreateScheme, FrameInput, SharedMemory,
    },
};
use wasmi::{errors::HostError, Caller, Error, Linker, Memory, ResourceLimiter};

use super::{
    pricing::{self, *},
    runtime::{ink_of_fuel, PAGE_LIMIT},
};
use crate::evm::{ArbEvm, ArbPrecompiles, Ctx};

/// How a host function stops a program.
#[derive(Debug)]
pub enum Trap {
    /// Out of ink (gas).
    OutOfInk,
    /// `exit_early(status)`.
    Exit(u32),
    /// The program did something invalid (bad pointer, bad log, write in a static call).
    Failure(String),
    /// The node failed (a bug); aborts the transaction.
    Fatal(String),
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutOfInk => write!(f, "out of ink"),
            Self::Exit(status) => write!(f, "exit early with status {status}"),
            Self::Failure(reason) => write!(f, "program failure: {reason}"),
            Self::Fatal(reason) => write!(f, "internal error: {reason}"),
        }
    }
}

impl HostError for Trap {}

fn trap(t: Trap) -> Error {
    Error::host(t)
}

fn failure(reason: impl Into<String>) -> Error {
    trap(Trap::Failure(reason.into()))
}

/// What a program call knows about its frame.
#[derive(Debug, Clone)]
pub struct FrameEnv {
    /// The acting address (storage, logs, `contract_address`).
    pub address: Address,
    /// `msg.sender`.
    pub caller: Address,
    /// `msg.value`.
    pub value: U256,
    /// Whether state changes are forbidden.
    pub is_static: bool,
    /// Whether another frame of this address is open.
    pub reentrant: bool,
    /// Journal depth while the program runs (the depth its sub-calls start at).
    pub depth: usize,
}

/// A storage word in the program's cache.
#[derive(Debug, Clone, Copy)]
struct Word {
    value: B256,
    known: Option<B256>,
}

/// Prices memory growth with Nitro's model as wasmi grows the memory; the gas is
/// collected at the next host call or when the program returns.
pub struct MemoryMeter {
    armed: bool,
    debt_gas: u64,
    tx: std::rc::Rc<std::cell::RefCell<crate::evm::precompiles::TxStylus>>,
}

impl MemoryMeter {
    /// Starts charging (instantiation's initial memory is paid by the call cost).
    pub fn arm(&mut self) {
        self.armed = true;
    }

    fn add_pages(&mut self, pages: u16) -> u64 {
        let mut tx = self.tx.borrow_mut();
        let cost = pricing::memory_gas(pages, tx.pages_open, tx.pages_ever);
        tx.pages_open = tx.pages_open.saturating_add(pages);
        tx.pages_ever = tx.pages_ever.max(tx.pages_open);
        cost
    }
}

impl ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        const PAGE: usize = 65_536;
        if desired / PAGE > usize::from(PAGE_LIMIT) {
            return Ok(false);
        }
        if self.armed {
            let pages = u16::try_from((desired - current) / PAGE).unwrap_or(u16::MAX);
            let cost = self.add_pages(pages);
            self.debt_gas = self.debt_gas.saturating_add(cost);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(desired <= 65_536)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The store data of a running program.
pub struct HostState {
    /// The EVM context; `None` only while a sub-call holds it.
    pub(crate) ctx: Option<Ctx>,
    precompiles: ArbPrecompiles,
    env: FrameEnv,
    args: Bytes,
    /// What `write_result` wrote.
    pub(crate) outs: Vec<u8>,
    return_data: Bytes,
    cache: HashMap<B256, Word>,
    reads: usize,
    writes: usize,
    /// Storage refunds earned (EIP-3529 rules).
    pub(crate) refund: i64,
    /// The program's memory, once instantiated.
    pub(crate) memory: Option<Memory>,
    /// The memory growth meter.
    pub(crate) meter: MemoryMeter,
    last_code: Option<(Address, Bytes)>,
    /// A fatal error to report after the program unwinds.
    pub(crate) fatal: Option<String>,
}

impl HostState {
    /// The state of a program call.
    pub fn new(ctx: Ctx, precompiles: ArbPrecompiles, env: FrameEnv, args: Bytes) -> Self {
        let meter = MemoryMeter {
            armed: false,
            debt_gas: 0,
            tx: precompiles.tx().clone(),
        };
        Self {
            ctx: Some(ctx),
            precompiles,
            env,
            args,
            outs: Vec::new(),
            return_data: Bytes::new(),
            cache: HashMap::new(),
            reads: 0,
            writes: 0,
            refund: 0,
            memory: None,
            meter,
            last_code: None,
            fatal: None,
        }
    }

    /// Length of the call data, the entrypoint's argument.
    pub fn args_len(&self) -> u32 {
        self.args.len() as u32
    }

    fn ctx(&mut self) -> Result<&mut Ctx, Error> {
        self.ctx
            .as_mut()
            .ok_or_else(|| trap(Trap::Fatal("EVM context missing".into())))
    }
}

/// Collects outstanding memory-growth gas; false when the program cannot pay it.
pub(crate) fn settle_memory(store: &mut wasmi::Store<HostState>) -> bool {
    let debt = std::mem::take(&mut store.data_mut().meter.debt_gas);
    if debt == 0 {
        return true;
    }
    let fuel = store.get_fuel().unwrap_or(0);
    let cost = debt.saturating_mul(FUEL_PER_GAS);
    if fuel < cost {
        let _ = store.set_fuel(0);
        return false;
    }
    store.set_fuel(fuel - cost).is_ok()
}

/// One host call's view of the program: its ink tank, memory and state.
struct Hook<'a, 'b> {
    caller: &'a mut Caller<'b, HostState>,
}

impl<'a, 'b> Hook<'a, 'b> {
    /// Enters a hook, collecting any memory-growth gas first.
    fn enter(caller: &'a mut Caller<'b, HostState>) -> Result<Self, Error> {
        let mut hook = Self { caller };
        let debt = std::mem::take(&mut hook.state().meter.debt_gas);
        if debt > 0 {
            hook.buy_gas(debt)?;
        }
        Ok(hook)
    }

    fn state(&mut self) -> &mut HostState {
        self.caller.data_mut()
    }

    fn fuel(&self) -> u64 {
        self.caller.get_fuel().unwrap_or(0)
    }

    fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        self.caller.set_fuel(fuel)
    }

    fn buy_ink(&mut self, ink: u64) -> Result<(), Error> {
        let cost = ink.div_ceil(INK_PER_FUEL);
        let fuel = self.fuel();
        if fuel < cost {
            self.set_fuel(0)?;
            return Err(trap(Trap::OutOfInk));
        }
        self.set_fuel(fuel - cost)
    }

    fn buy_gas(&mut self, gas: u64) -> Result<(), Error> {
        self.buy_ink(gas.saturating_mul(INK_PER_GAS))
    }

    fn require_gas(&mut self, gas: u64) -> Result<(), Error> {
        if self.fuel() < gas.saturating_mul(FUEL_PER_GAS) {
            self.set_fuel(0)?;
            return Err(trap(Trap::OutOfInk));
        }
        Ok(())
    }

    fn gas_left(&self) -> u64 {
        self.fuel() / FUEL_PER_GAS
    }

    fn pay_for_read(&mut self, bytes: u32) -> Result<(), Error> {
        self.buy_ink(read_price(bytes))
    }

    fn pay_for_write(&mut self, bytes: u32) -> Result<(), Error> {
        self.buy_ink(write_price(bytes))
    }

    fn memory(&self) -> Result<Memory, Error> {
        self.caller
            .data()
            .memory
            .ok_or_else(|| failure("host call before the memory is ready"))
    }

    fn read(&self, ptr: u32, len: u32) -> Result<Vec<u8>, Error> {
        let memory = self.memory()?;
        let data = memory.data(&*self.caller);
        let start = ptr as usize;
        let end = start
            .checked_add(len as usize)
            .ok_or_else(|| failure("pointer overflow"))?;
        data.get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| failure("read out of bounds"))
    }

    fn read_fixed<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Error> {
        let bytes = self.read(ptr, N as u32)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    fn read_b256(&self, ptr: u32) -> Result<B256, Error> {
        self.read_fixed::<32>(ptr).map(B256::from)
    }

    fn read_u256(&self, ptr: u32) -> Result<U256, Error> {
        self.read_fixed::<32>(ptr).map(U256::from_be_bytes)
    }

    fn read_address(&self, ptr: u32) -> Result<Address, Error> {
        self.read_fixed::<20>(ptr).map(Address::from)
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Error> {
        let memory = self.memory()?;
        let data = memory.data_mut(&mut *self.caller);
        let start = ptr as usize;
        let end = start
            .checked_add(bytes.len())
            .ok_or_else(|| failure("pointer overflow"))?;
        data.get_mut(start..end)
            .ok_or_else(|| failure("write out of bounds"))?
            .copy_from_slice(bytes);
        Ok(())
    }

    fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Error> {
        self.write(ptr, &value.to_le_bytes())
    }

    fn ctx(&mut self) -> Result<&mut Ctx, Error> {
        self.state().ctx()
    }

    fn env(&self) -> &FrameEnv {
        &self.caller.data().env
    }

    /// Runs `f` on a nested EVM that owns the context for the duration.
    fn with_evm<R>(&mut self, f: impl FnOnce(&mut ArbEvm) -> R) -> Result<R, Error> {
        let state = self.state();
        let ctx = state
            .ctx
            .take()
            .ok_or_else(|| trap(Trap::Fatal("EVM context missing".into())))?;
        let mut evm = ArbEvm::new(ctx, state.precompiles.clone());
        let result = f(&mut evm);
        let (ctx, _) = evm.into_parts();
        state.ctx = Some(ctx);
        Ok(result)
    }
}

type HookResult<T> = Result<T, Error>;

/// The kinds of call a program makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Call,
    Delegate,
    Static,
}

/// `call_contract`, `delegate_call_contract`, `static_call_contract`.
#[allow(clippy::too_many_arguments)]
fn call_hook(
    h: &mut Hook<'_, '_>,
    kind: CallKind,
    contract: u32,
    data: u32,
    data_len: u32,
    value_ptr: Option<u32>,
    gas: u64,
    ret_len: u32,
) -> HookResult<u32> {
    h.buy_ink(HOSTIO_INK + 3 * PTR_INK + EVM_API_INK)?;
    h.pay_for_read(data_len)?;
    h.pay_for_read(data_len)?;
    let gas_left = h.gas_left();
    let gas_req = gas.min(gas_left);
    let to = h.read_address(contract)?;
    let input = h.read(data, data_len)?;
    let value = match value_ptr {
        Some(ptr) => h.read_u256(ptr)?,
        None => U256::ZERO,
    };
    let env = h.env().clone();

    let (status, output, cost, refund) = h.with_evm(|evm| {
        contract_call(evm, &env, kind, to, input.into(), value, gas_left, gas_req)
    })??;
    h.buy_gas(cost)?;
    h.state().refund += refund;
    let len = output.len() as u32;
    h.state().return_data = output;
    h.write_u32(ret_len, len)?;
    Ok(status)
}

/// Nitro's `doCall`: EVM call costs, the 63/64 rule, the stipend, then the call.
/// Returns (status, return data, gas cost, refund).
#[allow(clippy::too_many_arguments)]
fn contract_call(
    evm: &mut ArbEvm,
    env: &FrameEnv,
    kind: CallKind,
    to: Address,
    input: Bytes,
    value: U256,
    gas_left: u64,
    gas_req: u64,
) -> HookResult<(u32, Bytes, u64, i64)> {
    const FAILED: u32 = 2;
    if env.is_static && !value.is_zero() {
        return Ok((FAILED, Bytes::new(), 0, 0));
    }
    let ctx = evm.ctx_mut();
    let transfers_value = !value.is_zero();
    let spec = ctx.cfg().spec;
    let warm = ctx.gas_params().warm_storage_read_cost();
    let load = load_account_delegated(
        ctx,
        spec,
        gas_left.saturating_sub(warm),
        to,
        transfers_value,
        kind == CallKind::Call,
    );
    let Ok((extra, _state_gas, bytecode, code_hash)) = load else {
        return Ok((FAILED, Bytes::new(), gas_left, 0));
    };
    let mut base = warm + extra;
    if transfers_value {
        base += ctx.gas_params().transfer_value_cost();
    }
    if base > gas_left {
        return Ok((FAILED, Bytes::new(), gas_left, 0));
    }
    let start_gas = (gas_left - base) * 63 / 64;
    let mut gas = start_gas.min(gas_req);
    if transfers_value {
        gas = gas.saturating_add(ctx.gas_params().call_stipend());
    }
    let (target, caller, call_value, scheme) = match kind {
        CallKind::Call => (
            to,
            env.address,
            CallValue::Transfer(value),
            CallScheme::Call,
        ),
        CallKind::Static => (
            to,
            env.address,
            CallValue::Transfer(U256::ZERO),
            CallScheme::StaticCall,
        ),
        CallKind::Delegate => (
            env.address,
            env.caller,
            CallValue::Apparent(env.value),
            CallScheme::DelegateCall,
        ),
    };
    let inputs = CallInputs {
        input: CallInput::Bytes(input),
        return_memory_offset: 0..0,
        gas_limit: gas,
        reservoir: 0,
        bytecode_address: to,
        known_bytecode: (code_hash, bytecode),
        target_address: target,
        caller,
        value: call_value,
        scheme,
        is_static: env.is_static || kind == CallKind::Static,
        charged_new_account_state_gas: false,
    };
    let init = FrameInit {
        depth: env.depth,
        memory: SharedMemory::new(),
        frame_input: FrameInput::Call(Box::new(inputs)),
    };
    let result = evm
        .run_frame(init)
        .map_err(|e| trap(Trap::Fatal(e.to_string())))?;
    let FrameResult::Call(outcome) = result else {
        return Err(trap(Trap::Fatal("call returned a create result".into())));
    };
    let returned = outcome.result.gas.remaining();
    let ok = outcome.result.result.is_ok();
    let refund = if ok { outcome.result.gas.refunded() } else { 0 };
    let cost = base.saturating_add(gas.saturating_sub(returned));
    let status = if ok { 0 } else { FAILED };
    Ok((status, outcome.result.output, cost, refund))
}

/// `create1` / `create2`: Nitro's create closure.
fn create_hook(
    h: &mut Hook<'_, '_>,
    code: u32,
    code_len: u32,
    endowment: u32,
    salt: Option<u32>,
    contract: u32,
    revert_len: u32,
) -> HookResult<()> {
    let base_ink = if salt.is_some() {
        HOSTIO_INK + 4 * PTR_INK + EVM_API_INK
    } else {
        HOSTIO_INK + 3 * PTR_INK + EVM_API_INK
    };
    h.buy_ink(base_ink)?;
    h.pay_for_read(code_len)?;
    h.pay_for_read(code_len)?;
    let init_code = Bytes::from(h.read(code, code_len)?);
    let value = h.read_u256(endowment)?;
    let salt = match salt {
        Some(ptr) => Some(h.read_u256(ptr)?),
        None => None,
    };
    let start_gas = h.gas_left();
    let env = h.env().clone();
    if env.is_static {
        return Err(failure("create in a static call"));
    }
    let mut base = 32_000u64;
    if salt.is_some() {
        base += 6 * (init_code.len() as u64).div_ceil(32);
    }
    if start_gas < base {
        return Err(failure("out of gas for create"));
    }
    let mut gas = start_gas - base;
    let one_64th = gas / 64;
    gas -= one_64th;
    let scheme = match salt {
        Some(salt) => CreateScheme::Create2 { salt },
        None => CreateScheme::Create,
    };
    let inputs = CreateInputs::new(env.address, scheme, value, init_code, gas, 0);
    let init = FrameInit {
        depth: env.depth,
        memory: SharedMemory::new(),
        frame_input: FrameInput::Create(Box::new(inputs)),
    };
    let result = h.with_evm(|evm| evm.run_frame(init))?;
    let result = result.map_err(|e| trap(Trap::Fatal(e.to_string())))?;
    let FrameResult::Create(outcome) = result else {
        return Err(trap(Trap::Fatal("create returned a call result".into())));
    };
    let returned = outcome.result.gas.remaining();
    let ok = outcome.result.result.is_ok();
    let address = if ok {
        outcome.address.unwrap_or_default()
    } else {
        Address::ZERO
    };
    let data = if outcome.result.result == revm::interpreter::InstructionResult::Revert {
        outcome.result.output.clone()
    } else {
        Bytes::new()
    };
    if ok {
        h.state().refund += outcome.result.gas.refunded();
    }
    let cost = start_gas.saturating_sub(returned.saturating_add(one_64th));
    h.buy_gas(cost)?;
    let len = data.len() as u32;
    h.state().return_data = data;
    h.write_u32(revert_len, len)?;
    h.write(contract, address.as_slice())
}

/// EIP-2929 account access as Nitro prices it for programs (plus the code surcharge).
fn account_touch_cost(ctx: &mut Ctx, address: Address, with_code: bool) -> (u64, bool) {
    let is_cold = ctx
        .journal_mut()
        .load_account(address)
        .map(|a| a.is_cold)
        .unwrap_or(true);
    let mut cost = if with_code { 700 } else { 0 };
    cost += if is_cold {
        COLD_ACCOUNT_GAS
    } else {
        WARM_SLOAD_GAS
    };
    (cost, is_cold)
}

/// Registers every hook.
///
/// # Errors
/// A linker error if a name is registered twice (a bug).
pub fn register(linker: &mut Linker<HostState>) -> Result<(), wasmi::errors::LinkerError> {
    const M: &str = "vm_hooks";

    linker.func_wrap(M, "read_args", |mut c: Caller<'_, HostState>, ptr: u32| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        let args = h.state().args.clone();
        h.pay_for_write(args.len() as u32)?;
        h.write(ptr, &args)
    })?;
    linker.func_wrap(
        M,
        "write_result",
        |mut c: Caller<'_, HostState>, ptr: u32, len: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK)?;
            h.pay_for_read(len)?;
            h.pay_for_read(len)?;
            let outs = h.read(ptr, len)?;
            h.state().outs = outs;
            Ok(())
        },
    )?;
    linker.func_wrap(
        M,
        "exit_early",
        |_c: Caller<'_, HostState>, status: u32| -> HookResult<()> {
            Err(trap(Trap::Exit(status)))
        },
    )?;

    linker.func_wrap(
        M,
        "storage_load_bytes32",
        |mut c: Caller<'_, HostState>, key: u32, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK)?;
            let api_gas = EVM_API_INK / INK_PER_GAS;
            h.require_gas(COLD_SLOAD_GAS + STORAGE_CACHE_REQUIRED_ACCESS_GAS + api_gas)?;
            let key = h.read_b256(key)?;
            let state = h.state();
            state.reads += 1;
            let mut cost = match state.reads {
                0..=32 => 0,
                33..=128 => 2,
                _ => 10,
            };
            let value = match state.cache.get(&key) {
                Some(word) => word.value,
                None => {
                    let address = state.env.address;
                    let journal = state.ctx()?.journal_mut();
                    let _ = journal.load_account(address);
                    let load = journal
                        .sload(address, key.into())
                        .map_err(|e| trap(Trap::Fatal(e.to_string())))?;
                    cost += if load.is_cold {
                        COLD_SLOAD_GAS
                    } else {
                        WARM_SLOAD_GAS
                    } + api_gas;
                    let value = B256::from(load.data);
                    state.cache.insert(
                        key,
                        Word {
                            value,
                            known: Some(value),
                        },
                    );
                    value
                }
            };
            h.buy_gas(cost)?;
            h.write(dest, value.as_slice())
        },
    )?;
    linker.func_wrap(
        M,
        "storage_cache_bytes32",
        |mut c: Caller<'_, HostState>, key: u32, value: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK)?;
            h.require_gas(SSTORE_SENTRY_GAS + STORAGE_CACHE_REQUIRED_ACCESS_GAS)?;
            let key = h.read_b256(key)?;
            let value = h.read_b256(value)?;
            let state = h.state();
            state.writes += 1;
            let cost = match state.writes {
                0..=8 => 0,
                9..=64 => 7,
                _ => 10,
            };
            state
                .cache
                .entry(key)
                .and_modify(|w| w.value = value)
                .or_insert(Word { value, known: None });
            h.buy_gas(cost)
        },
    )?;
    linker.func_wrap(
        M,
        "storage_flush_cache",
        |mut c: Caller<'_, HostState>, clear: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + EVM_API_INK)?;
            h.require_gas(SSTORE_SENTRY_GAS)?;
            let mut gas_left = h.gas_left();
            let state = h.state();
            let mut dirty: Vec<(B256, B256)> = state
                .cache
                .iter_mut()
                .filter(|(_, w)| Some(w.value) != w.known)
                .map(|(k, w)| {
                    w.known = Some(w.value);
                    (*k, w.value)
                })
                .collect();
            dirty.sort();
            if clear != 0 {
                state.cache.clear();
            }
            if dirty.is_empty() {
                return Ok(());
            }
            if state.env.is_static {
                return Err(failure("storage write in a static call"));
            }
            let address = state.env.address;
            let mut spent = 0u64;
            let mut refund = 0i64;
            {
                let ctx = state.ctx()?;
                let _ = ctx.journal_mut().load_account(address);
                for (key, value) in dirty {
                    let store = ctx
                        .journal_mut()
                        .sstore(address, key.into(), value.into())
                        .map_err(|e| trap(Trap::Fatal(e.to_string())))?;
                    let params = ctx.cfg().gas_params.clone();
                    let cost = params.sstore_static_gas()
                        + params.sstore_dynamic_gas(true, &store.data, store.is_cold);
                    refund += params.sstore_refund(true, &store.data);
                    if cost > gas_left {
                        spent = u64::MAX;
                        break;
                    }
                    gas_left -= cost;
                    spent += cost;
                }
            }
            if spent == u64::MAX {
                h.set_fuel(0)?;
                return Err(trap(Trap::OutOfInk));
            }
            h.state().refund += refund;
            h.buy_gas(spent)
        },
    )?;
    linker.func_wrap(
        M,
        "transient_load_bytes32",
        |mut c: Caller<'_, HostState>, key: u32, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK + EVM_API_INK)?;
            h.buy_gas(WARM_SLOAD_GAS)?;
            let key = h.read_b256(key)?;
            let address = h.env().address;
            let value = h.ctx()?.journal_mut().tload(address, key.into());
            h.write(dest, &value.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "transient_store_bytes32",
        |mut c: Caller<'_, HostState>, key: u32, value: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK + EVM_API_INK)?;
            h.buy_gas(WARM_SLOAD_GAS)?;
            let key = h.read_b256(key)?;
            let value = h.read_b256(value)?;
            if h.env().is_static {
                return Err(failure("transient write in a static call"));
            }
            let address = h.env().address;
            h.ctx()?
                .journal_mut()
                .tstore(address, key.into(), value.into());
            Ok(())
        },
    )?;

    linker.func_wrap(
        M,
        "call_contract",
        |mut c: Caller<'_, HostState>,
         contract: u32,
         data: u32,
         len: u32,
         value: u32,
         gas: u64,
         ret: u32| {
            let mut h = Hook::enter(&mut c)?;
            call_hook(
                &mut h,
                CallKind::Call,
                contract,
                data,
                len,
                Some(value),
                gas,
                ret,
            )
        },
    )?;
    linker.func_wrap(
        M,
        "delegate_call_contract",
        |mut c: Caller<'_, HostState>, contract: u32, data: u32, len: u32, gas: u64, ret: u32| {
            let mut h = Hook::enter(&mut c)?;
            call_hook(
                &mut h,
                CallKind::Delegate,
                contract,
                data,
                len,
                None,
                gas,
                ret,
            )
        },
    )?;
    linker.func_wrap(
        M,
        "static_call_contract",
        |mut c: Caller<'_, HostState>, contract: u32, data: u32, len: u32, gas: u64, ret: u32| {
            let mut h = Hook::enter(&mut c)?;
            call_hook(
                &mut h,
                CallKind::Static,
                contract,
                data,
                len,
                None,
                gas,
                ret,
            )
        },
    )?;
    linker.func_wrap(
        M,
        "create1",
        |mut c: Caller<'_, HostState>,
         code: u32,
         len: u32,
         endowment: u32,
         contract: u32,
         revert: u32| {
            let mut h = Hook::enter(&mut c)?;
            create_hook(&mut h, code, len, endowment, None, contract, revert)
        },
    )?;
    linker.func_wrap(
        M,
        "create2",
        |mut c: Caller<'_, HostState>,
         code: u32,
         len: u32,
         endowment: u32,
         salt: u32,
         contract: u32,
         revert: u32| {
            let mut h = Hook::enter(&mut c)?;
            create_hook(&mut h, code, len, endowment, Some(salt), contract, revert)
        },
    )?;
    linker.func_wrap(
        M,
        "read_return_data",
        |mut c: Caller<'_, HostState>, dest: u32, offset: u32, size: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + EVM_API_INK)?;
            let data = h.state().return_data.clone();
            let max = (data.len() as u32).saturating_sub(offset);
            h.pay_for_write(size.min(max))?;
            if max == 0 {
                return Ok(0u32);
            }
            let start = offset as usize;
            let end = (offset.saturating_add(size) as usize).min(data.len());
            let slice = &data[start..end];
            if !slice.is_empty() {
                h.write(dest, slice)?;
            }
            Ok(slice.len() as u32)
        },
    )?;
    linker.func_wrap(M, "return_data_size", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.state().return_data.len() as u32)
    })?;
    linker.func_wrap(
        M,
        "emit_log",
        |mut c: Caller<'_, HostState>, data: u32, len: u32, topics: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + EVM_API_INK)?;
            if topics > 4 || len < topics * 32 {
                return Err(failure("bad topic data"));
            }
            h.pay_for_read(len)?;
            let data_len = u64::from(len - topics * 32);
            h.buy_gas(LOG_TOPIC_GAS * (1 + u64::from(topics)) + LOG_DATA_GAS * data_len)?;
            let bytes = h.read(data, len)?;
            if h.env().is_static {
                return Err(failure("log in a static call"));
            }
            let split = (topics * 32) as usize;
            let topic_list: Vec<B256> = bytes[..split].chunks(32).map(B256::from_slice).collect();
            let log = Log {
                address: h.env().address,
                data: LogData::new_unchecked(topic_list, Bytes::copy_from_slice(&bytes[split..])),
            };
            h.ctx()?.journal_mut().log(log);
            Ok(())
        },
    )?;

    linker.func_wrap(
        M,
        "account_balance",
        |mut c: Caller<'_, HostState>, address: u32, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK + EVM_API_INK)?;
            h.require_gas(COLD_ACCOUNT_GAS)?;
            let address = h.read_address(address)?;
            let ctx = h.ctx()?;
            let (cost, _) = account_touch_cost(ctx, address, false);
            let balance = ctx
                .journal_mut()
                .load_account(address)
                .map(|a| a.data.info.balance)
                .unwrap_or_default();
            h.buy_gas(cost)?;
            h.write(dest, &balance.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "account_code",
        |mut c: Caller<'_, HostState>, address: u32, offset: u32, size: u32, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + EVM_API_INK)?;
            h.require_gas(COLD_ACCOUNT_GAS)?;
            let address = h.read_address(address)?;
            let code = account_code(&mut h, address)?;
            h.pay_for_write(code.len() as u32)?;
            let start = (offset as usize).min(code.len());
            let end = (offset.saturating_add(size) as usize).min(code.len());
            let slice = code[start..end].to_vec();
            h.write(dest, &slice)?;
            Ok(slice.len() as u32)
        },
    )?;
    linker.func_wrap(
        M,
        "account_code_size",
        |mut c: Caller<'_, HostState>, address: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + EVM_API_INK)?;
            h.require_gas(COLD_ACCOUNT_GAS)?;
            let address = h.read_address(address)?;
            let code = account_code(&mut h, address)?;
            Ok(code.len() as u32)
        },
    )?;
    linker.func_wrap(
        M,
        "account_codehash",
        |mut c: Caller<'_, HostState>, address: u32, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 2 * PTR_INK + EVM_API_INK)?;
            h.require_gas(COLD_ACCOUNT_GAS)?;
            let address = h.read_address(address)?;
            let ctx = h.ctx()?;
            let (cost, _) = account_touch_cost(ctx, address, false);
            let hash = ctx
                .journal_mut()
                .code_hash(address)
                .map(|s| s.data)
                .unwrap_or_default();
            h.buy_gas(cost)?;
            h.write(dest, hash.as_slice())
        },
    )?;

    linker.func_wrap(
        M,
        "block_basefee",
        |mut c: Caller<'_, HostState>, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + PTR_INK)?;
            let fee = U256::from(h.ctx()?.block.basefee);
            h.write(dest, &fee.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "block_coinbase",
        |mut c: Caller<'_, HostState>, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + PTR_INK)?;
            let coinbase = h.ctx()?.block.beneficiary;
            h.write(dest, coinbase.as_slice())
        },
    )?;
    linker.func_wrap(M, "block_gas_limit", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.ctx()?.block.gas_limit)
    })?;
    linker.func_wrap(M, "block_number", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.ctx()?.block.number.saturating_to::<u64>())
    })?;
    linker.func_wrap(M, "block_timestamp", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.ctx()?.block.timestamp.saturating_to::<u64>())
    })?;
    linker.func_wrap(M, "chainid", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.ctx()?.cfg.chain_id)
    })?;
    linker.func_wrap(
        M,
        "contract_address",
        |mut c: Caller<'_, HostState>, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + PTR_INK)?;
            let address = h.env().address;
            h.write(dest, address.as_slice())
        },
    )?;
    linker.func_wrap(M, "evm_gas_left", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(h.gas_left())
    })?;
    linker.func_wrap(M, "evm_ink_left", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(ink_of_fuel(h.fuel()))
    })?;

    linker.func_wrap(
        M,
        "math_div",
        |mut c: Caller<'_, HostState>, value: u32, divisor: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 3 * PTR_INK + DIV_INK)?;
            let a = h.read_u256(value)?;
            let b = h.read_u256(divisor)?;
            let r = a.checked_div(b).unwrap_or_default();
            h.write(value, &r.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "math_mod",
        |mut c: Caller<'_, HostState>, value: u32, modulus: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 3 * PTR_INK + DIV_INK)?;
            let a = h.read_u256(value)?;
            let b = h.read_u256(modulus)?;
            let r = a.checked_rem(b).unwrap_or_default();
            h.write(value, &r.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "math_pow",
        |mut c: Caller<'_, HostState>, value: u32, exponent: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 3 * PTR_INK)?;
            let a = h.read_u256(value)?;
            let e = h.read_fixed::<32>(exponent)?;
            h.buy_ink(pow_price(&e))?;
            let r = a.wrapping_pow(U256::from_be_bytes(e));
            h.write(value, &r.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "math_add_mod",
        |mut c: Caller<'_, HostState>, value: u32, addend: u32, modulus: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 4 * PTR_INK + ADD_MOD_INK)?;
            let a = h.read_u256(value)?;
            let b = h.read_u256(addend)?;
            let m = h.read_u256(modulus)?;
            let r = a.add_mod(b, m);
            h.write(value, &r.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(
        M,
        "math_mul_mod",
        |mut c: Caller<'_, HostState>, value: u32, multiplier: u32, modulus: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + 4 * PTR_INK + MUL_MOD_INK)?;
            let a = h.read_u256(value)?;
            let b = h.read_u256(multiplier)?;
            let m = h.read_u256(modulus)?;
            let r = a.mul_mod(b, m);
            h.write(value, &r.to_be_bytes::<32>())
        },
    )?;

    linker.func_wrap(M, "msg_reentrant", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(u32::from(h.env().reentrant))
    })?;
    linker.func_wrap(
        M,
        "msg_sender",
        |mut c: Caller<'_, HostState>, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + PTR_INK)?;
            let sender = h.env().caller;
            h.write(dest, sender.as_slice())
        },
    )?;
    linker.func_wrap(M, "msg_value", |mut c: Caller<'_, HostState>, dest: u32| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK + PTR_INK)?;
        let value = h.env().value;
        h.write(dest, &value.to_be_bytes::<32>())
    })?;
    linker.func_wrap(
        M,
        "tx_gas_price",
        |mut c: Caller<'_, HostState>, dest: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(HOSTIO_INK + PTR_INK)?;
            let price = h.ctx()?.effective_gas_price();
            h.write(dest, &price.to_be_bytes::<32>())
        },
    )?;
    linker.func_wrap(M, "tx_ink_price", |mut c: Caller<'_, HostState>| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK)?;
        Ok(INK_PER_GAS as u32)
    })?;
    linker.func_wrap(M, "tx_origin", |mut c: Caller<'_, HostState>, dest: u32| {
        let mut h = Hook::enter(&mut c)?;
        h.buy_ink(HOSTIO_INK + PTR_INK)?;
        let origin = h.ctx()?.tx.caller;
        h.write(dest, origin.as_slice())
    })?;
    linker.func_wrap(
        M,
        "pay_for_memory_grow",
        |mut c: Caller<'_, HostState>, pages: u32| {
            let mut h = Hook::enter(&mut c)?;
            let pages = pages as u16;
            if pages == 0 {
                return h.buy_ink(HOSTIO_INK);
            }
            let cost = h.state().meter.add_pages(pages);
            h.buy_gas(cost)
        },
    )?;
    linker.func_wrap(
        M,
        "native_keccak256",
        |mut c: Caller<'_, HostState>, input: u32, len: u32, out: u32| {
            let mut h = Hook::enter(&mut c)?;
            h.buy_ink(keccak_price(len))?;
            let preimage = h.read(input, len)?;
            let digest = keccak256(&preimage);
            h.write(out, digest.as_slice())
        },
    )?;

    register_console(linker)
}

/// Code of `address` for `account_code(_size)`, with Nitro's repeat-address shortcut.
fn account_code(h: &mut Hook<'_, '_>, address: Address) -> HookResult<Bytes> {
    if let Some((last, code)) = &h.state().last_code {
        if *last == address {
            return Ok(code.clone());
        }
    }
    let ctx = h.ctx()?;
    let (cost, _) = account_touch_cost(ctx, address, true);
    let code = ctx
        .journal_mut()
        .code(address)
        .map(|s| s.data)
        .unwrap_or_default();
    h.buy_gas(cost)?;
    if !code.is_empty() {
        h.state().last_code = Some((address, code.clone()));
    }
    Ok(code)
}

/// The debug imports a dev chain allows (`console.*`): they print to the node's log.
fn register_console(linker: &mut Linker<HostState>) -> Result<(), wasmi::errors::LinkerError> {
    const C: &str = "console";
    const TARGET: &str = "stylus::console";
    linker.func_wrap(
        C,
        "log_txt",
        |c: Caller<'_, HostState>, ptr: u32, len: u32| {
            let memory = c.data().memory;
            let text = memory
                .and_then(|m| {
                    let data = m.data(&c);
                    data.get(ptr as usize..(ptr as usize).saturating_add(len as usize))
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                })
                .unwrap_or_default();
            tracing::info!(target: TARGET, "{text}");
            Ok(())
        },
    )?;
    linker.func_wrap(C, "log_i32", |_c: Caller<'_, HostState>, v: i32| {
        tracing::info!(target: TARGET, "{v}");
        Ok(())
    })?;
    linker.func_wrap(C, "log_i64", |_c: Caller<'_, HostState>, v: i64| {
        tracing::info!(target: TARGET, "{v}");
        Ok(())
    })?;
    linker.func_wrap(C, "log_f32", |_c: Caller<'_, HostState>, v: f32| {
        tracing::info!(target: TARGET, "{v}");
        Ok(())
    })?;
    linker.func_wrap(C, "log_f64", |_c: Caller<'_, HostState>, v: f64| {
        tracing::info!(target: TARGET, "{v}");
        Ok(())
    })?;
    linker.func_wrap(C, "tee_i32", |_c: Caller<'_, HostState>, v: i32| {
        tracing::info!(target: TARGET, "{v}");
        Ok(v)
    })?;
    linker.func_wrap(C, "tee_i64", |_c: Caller<'_, HostState>, v: i64| {
        tracing::info!(target: TARGET, "{v}");
        Ok(v)
    })?;
    linker.func_wrap(C, "tee_f32", |_c: Caller<'_, HostState>, v: f32| {
        tracing::info!(target: TARGET, "{v}");
        Ok(v)
    })?;
    linker.func_wrap(C, "tee_f64", |_c: Caller<'_, HostState>, v: f64| {
        tracing::info!(target: TARGET, "{v}");
        Ok(v)
    })?;
    Ok(())
}
