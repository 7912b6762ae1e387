//! Runs Stylus programs: the wasmi engine and its metering, the compiled-module cache,
//! and a program call from start (call costs, instantiation) to its result.
//!
//! Metering: wasmi fuel stands for ink at [`INK_PER_FUEL`] ink per unit. Each WASM
//! operator costs Nitro's ink price for it divided by that factor (rounded to whole
//! fuel), memory copies and fills cost one fuel per byte, and host functions buy ink and
//! gas from the same tank. What is left when the program returns is the gas returned to
//! the caller.

use std::{collections::HashMap, sync::Mutex};

use alloy_primitives::{Bytes, B256};
use revm::interpreter::{CallInputs, Gas, InstructionResult, InterpreterResult};
use wasmi::{CompilationMode, Config, CustomFuelCosts, Engine, Linker, Module, Store};

use super::{
    host::{self, FrameEnv, HostState, Trap},
    pricing::{self, params, FUEL_PER_GAS, INK_PER_FUEL},
    program::{decode_code, ProgramError},
};
use crate::evm::{arbwasm, placeholder_ctx, ArbPrecompiles, Ctx};

/// Why the runtime could not prepare a program.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The program's code could not be decoded.
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// wasmi rejected the module.
    #[error("compilation failed: {0}")]
    Compile(String),
    /// Registering the host functions failed (a bug).
    #[error("host functions: {0}")]
    Linker(String),
}

/// The WASM engine, the host functions and the compiled programs, shared by every
/// execution of a node.
pub struct StylusRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    modules: Mutex<HashMap<B256, Module>>,
}

impl std::fmt::Debug for StylusRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StylusRuntime").finish_non_exhaustive()
    }
}

/// wasmi's operator prices, from Nitro's per-opcode ink table scaled to fuel.
fn operator_costs() -> wasmi::OperatorCost {
    let mut c = wasmi::OperatorCost::default();
    macro_rules! set {
        ($ink:expr; $($op:ident),+) => {{
            let fuel = u64::min(($ink as u64).div_ceil(INK_PER_FUEL), 255) as u8;
            $( c.$op = fuel; )+
        }};
    }
    set!(1; unreachable, nop, block, loop_, else_, end, return_, i32_const, i64_const);
    set!(9; drop);
    set!(765; br, br_if, if_);
    set!(2400; br_table);
    set!(1250; select);
    set!(3800; call);
    set!(13610; call_indirect);
    set!(75; local_get, local_tee);
    set!(210; local_set);
    set!(225; global_get);
    set!(575; global_set);
    set!(670; i32_load, i32_load8_s, i32_load8_u, i32_load16_s, i32_load16_u);
    set!(680; i64_load, i64_load8_s, i64_load8_u, i64_load16_s, i64_load16_u, i64_load32_s,
        i64_load32_u);
    set!(825; i32_store, i32_store8, i32_store16);
    set!(950; i64_store, i64_store8, i64_store16, i64_store32);
    set!(3000; memory_size);
    set!(8050; memory_grow);
    set!(170; i32_eqz, i32_eq, i32_ne, i32_lt_s, i32_lt_u, i32_gt_s, i32_gt_u, i32_le_s,
        i32_le_u, i32_ge_s, i32_ge_u);
    set!(225; i64_eqz, i64_eq, i64_ne, i64_lt_s, i64_lt_u, i64_gt_s, i64_gt_u, i64_le_s,
        i64_le_u, i64_ge_s, i64_ge_u);
    set!(210; i32_clz, i32_ctz, i64_clz, i64_ctz);
    set!(70; i32_add, i32_sub, i32_and, i32_or, i32_xor, i32_shl, i32_shr_s, i32_shr_u,
        i32_rotl, i32_rotr);
    set!(160; i32_mul, i64_mul);
    set!(1120; i32_div_s, i32_div_u, i32_rem_s, i32_rem_u);
    set!(100; i64_add, i64_sub, i64_and, i64_or, i64_xor, i64_shl, i64_shr_s, i64_shr_u,
        i64_rotl, i64_rotr);
    set!(1270; i64_div_s, i64_div_u, i64_rem_s, i64_rem_u);
    set!(2650; i32_popcnt);
    set!(6000; i64_popcnt);
    set!(100; i32_wrap_i64, i64_extend_i32_s, i64_extend_i32_u, i32_extend8_s, i32_extend16_s,
        i64_extend8_s, i64_extend16_s, i64_extend32_s);
    set!(950; memory_copy, memory_fill);
    // Nitro prices floating point out of reach; the highest price here.
    set!(u64::MAX; f32_load, f64_load, f32_store, f64_store, f32_const, f64_const, f32_eq,
        f32_ne, f32_lt, f32_gt, f32_le, f32_ge, f64_eq, f64_ne, f64_lt, f64_gt, f64_le, f64_ge,
        f32_abs, f32_neg, f32_ceil, f32_floor, f32_trunc, f32_nearest, f32_sqrt, f32_add,
        f32_sub, f32_mul, f32_div, f32_min, f32_max, f32_copysign, f64_abs, f64_neg, f64_ceil,
        f64_floor, f64_trunc, f64_nearest, f64_sqrt, f64_add, f64_sub, f64_mul, f64_div,
        f64_min, f64_max, f64_copysign, i32_trunc_f32_s, i32_trunc_f32_u, i32_trunc_f64_s,
        i32_trunc_f64_u, i64_trunc_f32_s, i64_trunc_f32_u, i64_trunc_f64_s, i64_trunc_f64_u,
        f32_convert_i32_s, f32_convert_i32_u, f32_convert_i64_s, f32_convert_i64_u,
        f32_demote_f64, f64_convert_i32_s, f64_convert_i32_u, f64_convert_i64_s,
        f64_convert_i64_u, f64_promote_f32, i32_reinterpret_f32, i64_reinterpret_f64,
        f32_reinterpret_i32, f64_reinterpret_i64, i32_trunc_sat_f32_s, i32_trunc_sat_f32_u,
        i32_trunc_sat_f64_s, i32_trunc_sat_f64_u, i64_trunc_sat_f32_s, i64_trunc_sat_f32_u,
        i64_trunc_sat_f64_s, i64_trunc_sat_f64_u);
    c
}

fn engine_config() -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .operator_cost(operator_costs())
        .fuel_cost(CustomFuelCosts {
            bytes_copied_per_fuel: 1,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        })
        .compilation_mode(CompilationMode::Eager)
        .wasm_multi_value(false)
        .wasm_reference_types(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_mutable_global(true)
        .wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .wasm_bulk_memory(true)
        .floats(true)
        .ignore_custom_sections(true);
    config
}

impl StylusRuntime {
    /// A runtime with the Stylus host functions registered.
    ///
    /// # Errors
    /// [`RuntimeError::Linker`] if a host function cannot be registered (a bug).
    pub fn new() -> Result<Self, RuntimeError> {
        let engine = Engine::new(&engine_config());
        let mut linker = Linker::new(&engine);
        host::register(&mut linker).map_err(|e| RuntimeError::Linker(e.to_string()))?;
        Ok(Self {
            engine,
            linker,
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// Compiles `wasm` and caches it under `codehash`.
    ///
    /// # Errors
    /// [`RuntimeError::Compile`] when wasmi rejects the module.
    pub fn compile(&self, codehash: B256, wasm: &[u8]) -> Result<Module, RuntimeError> {
        let module =
            Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(e.to_string()))?;
        self.lock().insert(codehash, module.clone());
        Ok(module)
    }

    /// The compiled program for `code`, compiling (and caching) it on first use.
    ///
    /// # Errors
    /// A [`RuntimeError`] when the code does not decode or compile.
    pub fn module(&self, codehash: B256, code: &[u8]) -> Result<Module, RuntimeError> {
        if let Some(module) = self.lock().get(&codehash) {
            return Ok(module.clone());
        }
        let wasm = decode_code(code)?;
        self.compile(codehash, &wasm)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<B256, Module>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.modules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a program run ended.
enum Exit {
    Success(Vec<u8>),
    Revert(Vec<u8>),
    Failure,
    OutOfInk,
}

/// Runs the program called by `inputs` (its code is `inputs.known_bytecode`).
///
/// # Errors
/// Only internal failures; everything a program can do wrong ends in a revert or an
/// out-of-gas result.
pub fn call_program(
    ctx: &mut Ctx,
    precompiles: &ArbPrecompiles,
    inputs: &CallInputs,
) -> Result<InterpreterResult, String> {
    let limit = inputs.gas_limit;
    let mut gas = Gas::new(limit);
    let (codehash, bytecode) = &inputs.known_bytecode;

    let record = match arbwasm::active_program(ctx, *codehash) {
        Ok(record) => record,
        Err(revert) => {
            return Ok(InterpreterResult::new(
                InstructionResult::Revert,
                revert,
                gas,
            ))
        }
    };

    // What a call costs before the program runs: its memory footprint and init.
    let (open, ever, cached) = {
        let tx = precompiles.tx().borrow();
        (tx.pages_open, tx.pages_ever, tx.recent.contains(codehash))
    };
    let call_cost = pricing::memory_gas(record.footprint, open, ever).saturating_add(
        pricing::program_call_gas(record.init_cost, record.cached_cost, cached),
    );
    if !gas.record_regular_cost(call_cost) {
        gas.spend_all();
        return Ok(InterpreterResult::new(
            InstructionResult::OutOfGas,
            Bytes::new(),
            gas,
        ));
    }
    {
        let mut tx = precompiles.tx().borrow_mut();
        tx.pages_open = open.saturating_add(record.footprint);
        tx.pages_ever = tx.pages_ever.max(tx.pages_open);
        if !cached {
            tx.recent.push(*codehash);
        }
    }

    let module = match precompiles
        .runtime()
        .module(*codehash, bytecode.original_byte_slice())
    {
        Ok(module) => module,
        Err(e) => {
            tracing::warn!(%codehash, error = %e, "activated program does not compile");
            precompiles.tx().borrow_mut().pages_open = open;
            return Ok(InterpreterResult::new(
                InstructionResult::Revert,
                Bytes::new(),
                gas,
            ));
        }
    };

    let args = inputs.input.bytes(ctx);
    let env = FrameEnv {
        address: inputs.target_address,
        caller: inputs.caller,
        value: inputs.call_value(),
        is_static: inputs.is_static,
        reentrant: precompiles
            .reentrancy()
            .is_reentrant(&inputs.target_address),
        depth: crate::evm::depth(ctx),
    };
    let owned = std::mem::replace(ctx, placeholder_ctx());
    let state = HostState::new(owned, precompiles.clone(), env, args);
    let fuel = gas.remaining().saturating_mul(FUEL_PER_GAS);

    let (exit, fuel_left, mut state) = run(precompiles.runtime(), &module, state, fuel);

    let restored = state.ctx.take();
    {
        let mut tx = precompiles.tx().borrow_mut();
        tx.pages_open = open;
    }
    match restored {
        Some(owned) => *ctx = owned,
        None => return Err("a Stylus program lost its EVM context".to_owned()),
    }
    if let Some(fatal) = state.fatal.take() {
        return Err(fatal);
    }

    let gas_left = fuel_left / FUEL_PER_GAS;
    let used = gas.remaining().saturating_sub(gas_left);
    let _ = gas.record_regular_cost(used);
    gas.record_refund(state.refund);
    let (result, output) = match exit {
        Exit::Success(out) => (InstructionResult::Return, out),
        Exit::Revert(out) => (InstructionResult::Revert, out),
        Exit::Failure => (InstructionResult::Revert, Vec::new()),
        Exit::OutOfInk => {
            gas.spend_all();
            gas.set_refund(0);
            return Ok(InterpreterResult::new(
                InstructionResult::OutOfGas,
                Bytes::new(),
                gas,
            ));
        }
    };
    // Returning data costs what EVM memory for it would (Nitro's StylusFixes).
    if !output.is_empty() {
        let evm_cost = pricing::evm_memory_cost(output.len() as u64);
        if limit < evm_cost {
            gas.spend_all();
            return Ok(InterpreterResult::new(
                InstructionResult::OutOfGas,
                Bytes::new(),
                gas,
            ));
        }
        let max_left = limit - evm_cost;
        if gas.remaining() > max_left {
            let _ = gas.record_regular_cost(gas.remaining() - max_left);
        }
    }
    Ok(InterpreterResult::new(result, output.into(), gas))
}

/// Instantiates and runs the program; returns how it ended, the fuel left and the state.
fn run(
    runtime: &StylusRuntime,
    module: &Module,
    state: HostState,
    fuel: u64,
) -> (Exit, u64, HostState) {
    let mut store = Store::new(&runtime.engine, state);
    store.limiter(|state| &mut state.meter);
    if store.set_fuel(fuel).is_err() {
        return (Exit::Failure, 0, store.into_data());
    }
    let exit = (|| {
        let instance = match runtime.linker.instantiate_and_start(&mut store, module) {
            Ok(instance) => instance,
            Err(e) => return classify(&mut store, e),
        };
        let Some(memory) = instance.get_memory(&store, "memory") else {
            return Exit::Failure;
        };
        let Ok(entry) = instance.get_typed_func::<u32, u32>(&store, "user_entrypoint") else {
            return Exit::Failure;
        };
        let args_len = store.data().args_len();
        {
            let data = store.data_mut();
            data.memory = Some(memory);
            data.meter.arm();
        }
        match entry.call(&mut store, args_len) {
            Ok(status) => {
                if !host::settle_memory(&mut store) {
                    return Exit::OutOfInk;
                }
                let outs = std::mem::take(&mut store.data_mut().outs);
                if status == 0 {
                    Exit::Success(outs)
                } else {
                    Exit::Revert(outs)
                }
            }
            Err(e) => classify(&mut store, e),
        }
    })();
    let fuel_left = store.get_fuel().unwrap_or(0);
    (exit, fuel_left, store.into_data())
}

/// Maps a trap to how the program ended.
fn classify(store: &mut Store<HostState>, error: wasmi::Error) -> Exit {
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfInk => Exit::OutOfInk,
            Trap::Exit(0) => {
                if !host::settle_memory(store) {
                    return Exit::OutOfInk;
                }
                Exit::Success(std::mem::take(&mut store.data_mut().outs))
            }
            Trap::Exit(_) => Exit::Revert(std::mem::take(&mut store.data_mut().outs)),
            Trap::Failure(reason) => {
                tracing::debug!(reason, "Stylus program failed");
                Exit::Failure
            }
            Trap::Fatal(reason) => {
                store.data_mut().fatal = Some(reason.clone());
                Exit::Failure
            }
        };
    }
    if error.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) {
        return Exit::OutOfInk;
    }
    tracing::debug!(error = %error, "Stylus program trapped");
    Exit::Failure
}

/// Ink a unit of fuel is worth, for `evm_ink_left`.
pub(crate) const fn ink_of_fuel(fuel: u64) -> u64 {
    fuel.saturating_mul(INK_PER_FUEL)
}

/// The page limit a program may grow to.
pub(crate) const PAGE_LIMIT: u16 = params::PAGE_LIMIT;

#[cfg(test)]
mod send_check {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_runtime_can_be_shared_across_threads() {
        assert_send_sync::<super::StylusRuntime>();
    }
}
