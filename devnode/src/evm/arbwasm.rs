//! ArbWasm (`0x…71`): program activation and the Stylus parameters.
//!
//! Activation records live in this precompile's own storage, keyed by code hash, so they
//! are part of the state: a reverted activation leaves no record, snapshots and the state
//! directory keep them. The data fee follows Nitro's pricer (demand that drains over
//! time); it is paid to [`NETWORK_FEE_ACCOUNT`] and any excess value is refunded.

use alloy_primitives::{address, keccak256, Address, Bytes, Log, B256, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolEvent, SolInterface};
use revm::{
    context_interface::{Block, ContextTr, JournalTr},
    interpreter::{CallInputs, InstructionResult, InterpreterResult},
};

use super::{
    precompiles::{outcome, view_cost, ArbPrecompiles, ARB_WASM},
    Ctx,
};
use crate::stylus::{
    pricing::{self, params},
    program::{analyze, decode_code, ProgramError, ProgramRecord},
};

/// Where activation data fees go.
pub const NETWORK_FEE_ACCOUNT: Address = address!("0x00000000000000000000000000000000000a4b05");

sol! {
    /// ArbWasm's interface as Arbitrum publishes it.
    interface IArbWasm {
        function activateProgram(address program) external payable returns (uint16 version, uint256 dataFee);
        function stylusVersion() external view returns (uint16 version);
        function codehashVersion(bytes32 codehash) external view returns (uint16 version);
        function codehashKeepalive(bytes32 codehash) external payable;
        function codehashAsmSize(bytes32 codehash) external view returns (uint32 size);
        function programVersion(address program) external view returns (uint16 version);
        function programInitGas(address program) external view returns (uint64 gas, uint64 gasWhenCached);
        function programMemoryFootprint(address program) external view returns (uint16 footprint);
        function programTimeLeft(address program) external view returns (uint64 _secs);
        function inkPrice() external view returns (uint32 price);
        function maxStackDepth() external view returns (uint32 depth);
        function freePages() external view returns (uint16 pages);
        function pageGas() external view returns (uint16 gas);
        function pageRamp() external view returns (uint64 ramp);
        function pageLimit() external view returns (uint16 limit);
        function minInitGas() external view returns (uint64 gas, uint64 cached);
        function initCostScalar() external view returns (uint64 percent);
        function expiryDays() external view returns (uint16 _days);
        function keepaliveDays() external view returns (uint16 _days);
        function blockCacheSize() external view returns (uint16 count);
        function activationGas() external view returns (uint64 gas);

        event ProgramActivated(bytes32 indexed codehash, bytes32 moduleHash, address program, uint256 dataFee, uint16 version);
        event ProgramLifetimeExtended(bytes32 indexed codehash, uint256 dataFee);

        error ProgramNotWasm();
        error ProgramNotActivated();
        error ProgramNeedsUpgrade(uint16 version, uint16 stylusVersion);
        error ProgramExpired(uint64 ageInSeconds);
        error ProgramUpToDate();
        error ProgramKeepaliveTooSoon(uint64 ageInSeconds);
        error ProgramInsufficientValue(uint256 have, uint256 want);
    }

    /// Solidity's `Error(string)`, for activation failures with a reason.
    error Error(string message);
}

/// Storage slot of the data pricer's demand.
fn demand_slot() -> U256 {
    U256::from_be_bytes(keccak256(b"cor-devnode.arbwasm.data-demand").0)
}

/// Storage slot of the data pricer's last update time.
fn demand_time_slot() -> U256 {
    U256::from_be_bytes(keccak256(b"cor-devnode.arbwasm.data-demand-time").0)
}

fn record_slot(codehash: B256) -> U256 {
    U256::from_be_bytes(codehash.0)
}

fn now(ctx: &Ctx) -> u64 {
    ctx.block().timestamp().saturating_to()
}

fn sload(ctx: &mut Ctx, slot: U256) -> U256 {
    // The journal's storage access expects the account to be loaded.
    let _ = ctx.journal_mut().load_account(ARB_WASM);
    ctx.journal_mut()
        .sload(ARB_WASM, slot)
        .map(|s| s.data)
        .unwrap_or_default()
}

fn sstore(ctx: &mut Ctx, slot: U256, value: U256) {
    // The state view cannot fail (its error type is uninhabited).
    let _ = ctx.journal_mut().load_account(ARB_WASM);
    let _ = ctx.journal_mut().sstore(ARB_WASM, slot, value);
}

/// The activation record of `codehash`, if any (whatever its version or age).
pub fn program_record(ctx: &mut Ctx, codehash: B256) -> Option<ProgramRecord> {
    ProgramRecord::from_word(sload(ctx, record_slot(codehash)))
}

/// The record of an active program, or the revert data a call to it gets (Nitro's
/// `ProgramNotActivated`, `ProgramNeedsUpgrade`, `ProgramExpired`).
pub fn active_program(ctx: &mut Ctx, codehash: B256) -> Result<ProgramRecord, Bytes> {
    let Some(record) = program_record(ctx, codehash) else {
        return Err(IArbWasm::ProgramNotActivated {}.abi_encode().into());
    };
    if record.version != params::STYLUS_VERSION {
        return Err(IArbWasm::ProgramNeedsUpgrade {
            version: record.version,
            stylusVersion: params::STYLUS_VERSION,
        }
        .abi_encode()
        .into());
    }
    let time = now(ctx);
    if record.expired(time) {
        return Err(IArbWasm::ProgramExpired {
            ageInSeconds: time.saturating_sub(record.activated_at),
        }
        .abi_encode()
        .into());
    }
    Ok(record)
}

/// Updates the data pricer with `bytes` of new demand and returns the fee for them.
fn charge_data(ctx: &mut Ctx, bytes: u64) -> U256 {
    let time = now(ctx);
    let last = sload(ctx, demand_time_slot()).saturating_to::<u64>();
    let demand = sload(ctx, demand_slot()).saturating_to::<u64>();
    let demand = pricing::drain_demand(demand, time.saturating_sub(last)).saturating_add(bytes);
    sstore(ctx, demand_slot(), U256::from(demand));
    sstore(ctx, demand_time_slot(), U256::from(time));
    U256::from(pricing::data_fee(bytes, demand))
}

/// Takes the fee out of the value sent to ArbWasm and returns the rest to the caller.
fn pay_fee(ctx: &mut Ctx, inputs: &CallInputs, fee: U256) -> Result<(), Bytes> {
    let have = inputs.call_value();
    if have < fee {
        return Err(IArbWasm::ProgramInsufficientValue { have, want: fee }
            .abi_encode()
            .into());
    }
    let journal = ctx.journal_mut();
    let refund = have - fee;
    for (to, amount) in [(NETWORK_FEE_ACCOUNT, fee), (inputs.caller, refund)] {
        if !amount.is_zero() {
            match journal.transfer(ARB_WASM, to, amount) {
                Ok(None) => {}
                _ => return Err(Bytes::new()),
            }
        }
    }
    Ok(())
}

fn emit(ctx: &mut Ctx, data: alloy_primitives::LogData) {
    ctx.journal_mut().log(Log {
        address: ARB_WASM,
        data,
    });
}

fn failure(reason: &str) -> Bytes {
    Error {
        message: reason.to_owned(),
    }
    .abi_encode()
    .into()
}

/// Answers a call to ArbWasm.
///
/// # Errors
/// Only internal failures (a program that validates but wasmi cannot compile is reported
/// as a revert, not an error).
pub fn call(
    ctx: &mut Ctx,
    precompiles: &ArbPrecompiles,
    inputs: &CallInputs,
) -> Result<InterpreterResult, String> {
    use IArbWasm::IArbWasmCalls as C;
    let input = inputs.input.bytes(ctx);
    let limit = inputs.gas_limit;
    let revert = |cost: u64, data: Bytes| outcome(limit, cost, InstructionResult::Revert, data);
    let Ok(call) = C::abi_decode(&input) else {
        return Ok(revert(0, Bytes::new()));
    };
    let payable = matches!(call, C::activateProgram(_) | C::codehashKeepalive(_));
    if !payable && !inputs.call_value().is_zero() {
        return Ok(revert(0, Bytes::new()));
    }
    let view = view_cost(input.len(), 64);
    let time = now(ctx);

    let output: Vec<u8> = match call {
        C::activateProgram(c) => return Ok(activate(ctx, precompiles, inputs, c.program)),
        C::codehashKeepalive(c) => return Ok(keepalive(ctx, inputs, c.codehash)),
        C::stylusVersion(_) => {
            IArbWasm::stylusVersionCall::abi_encode_returns(&params::STYLUS_VERSION)
        }
        C::inkPrice(_) => {
            IArbWasm::inkPriceCall::abi_encode_returns(&(pricing::INK_PER_GAS as u32))
        }
        C::maxStackDepth(_) => {
            IArbWasm::maxStackDepthCall::abi_encode_returns(&params::MAX_STACK_DEPTH)
        }
        C::freePages(_) => IArbWasm::freePagesCall::abi_encode_returns(&params::FREE_PAGES),
        C::pageGas(_) => IArbWasm::pageGasCall::abi_encode_returns(&params::PAGE_GAS),
        C::pageRamp(_) => IArbWasm::pageRampCall::abi_encode_returns(&params::PAGE_RAMP),
        C::pageLimit(_) => IArbWasm::pageLimitCall::abi_encode_returns(&params::PAGE_LIMIT),
        C::minInitGas(_) => {
            IArbWasm::minInitGasCall::abi_encode_returns(&IArbWasm::minInitGasReturn {
                gas: u64::from(params::MIN_INIT_GAS) * 128,
                cached: u64::from(params::MIN_CACHED_INIT_GAS) * 32,
            })
        }
        C::initCostScalar(_) => IArbWasm::initCostScalarCall::abi_encode_returns(
            &(u64::from(params::INIT_COST_SCALAR) * 2),
        ),
        C::expiryDays(_) => IArbWasm::expiryDaysCall::abi_encode_returns(&params::EXPIRY_DAYS),
        C::keepaliveDays(_) => {
            IArbWasm::keepaliveDaysCall::abi_encode_returns(&params::KEEPALIVE_DAYS)
        }
        C::blockCacheSize(_) => {
            IArbWasm::blockCacheSizeCall::abi_encode_returns(&params::BLOCK_CACHE_SIZE)
        }
        C::activationGas(_) => IArbWasm::activationGasCall::abi_encode_returns(&0u64),
        C::codehashVersion(c) => match active_program(ctx, c.codehash) {
            Ok(r) => IArbWasm::codehashVersionCall::abi_encode_returns(&r.version),
            Err(data) => return Ok(revert(view, data)),
        },
        C::codehashAsmSize(c) => match active_program(ctx, c.codehash) {
            Ok(r) => IArbWasm::codehashAsmSizeCall::abi_encode_returns(
                &r.asm_estimate_kb.saturating_mul(1024),
            ),
            Err(data) => return Ok(revert(view, data)),
        },
        C::programVersion(c) => match program_of(ctx, c.program) {
            Ok(r) => IArbWasm::programVersionCall::abi_encode_returns(&r.version),
            Err(data) => return Ok(revert(view, data)),
        },
        C::programInitGas(c) => match program_of(ctx, c.program) {
            Ok(r) => {
                let (gas, cached) = pricing::program_init_gas_views(r.init_cost, r.cached_cost);
                IArbWasm::programInitGasCall::abi_encode_returns(&IArbWasm::programInitGasReturn {
                    gas,
                    gasWhenCached: cached,
                })
            }
            Err(data) => return Ok(revert(view, data)),
        },
        C::programMemoryFootprint(c) => match program_of(ctx, c.program) {
            Ok(r) => IArbWasm::programMemoryFootprintCall::abi_encode_returns(&r.footprint),
            Err(data) => return Ok(revert(view, data)),
        },
        C::programTimeLeft(c) => match program_of(ctx, c.program) {
            Ok(r) => IArbWasm::programTimeLeftCall::abi_encode_returns(&r.time_left(time)),
            Err(data) => return Ok(revert(view, data)),
        },
    };
    Ok(outcome(
        limit,
        view,
        InstructionResult::Return,
        output.into(),
    ))
}

fn program_of(ctx: &mut Ctx, program: Address) -> Result<ProgramRecord, Bytes> {
    let codehash = ctx
        .journal_mut()
        .code_hash(program)
        .map(|s| s.data)
        .unwrap_or_default();
    active_program(ctx, codehash)
}

/// `activateProgram(address)`.
fn activate(
    ctx: &mut Ctx,
    precompiles: &ArbPrecompiles,
    inputs: &CallInputs,
    program: Address,
) -> InterpreterResult {
    let limit = inputs.gas_limit;
    // Activation writes state: a static call is a write-protection failure.
    if inputs.is_static {
        return outcome(limit, 0, InstructionResult::Revert, Bytes::new());
    }
    let fixed = params::ACTIVATION_FIXED_GAS;
    if limit < fixed {
        return outcome(
            limit,
            limit.saturating_add(1),
            InstructionResult::Revert,
            Bytes::new(),
        );
    }
    let (code, codehash) = {
        let journal = ctx.journal_mut();
        let code = journal.code(program).map(|s| s.data).unwrap_or_default();
        let hash = journal
            .code_hash(program)
            .map(|s| s.data)
            .unwrap_or_default();
        (code, hash)
    };
    let time = now(ctx);
    if let Some(existing) = program_record(ctx, codehash) {
        if existing.version == params::STYLUS_VERSION && !existing.expired(time) {
            let data = IArbWasm::ProgramUpToDate {}.abi_encode().into();
            return outcome(limit, fixed, InstructionResult::Revert, data);
        }
    }
    // A failed activation takes all the gas, as on Arbitrum; the reason is in the revert.
    let take_all = |reason: &str| {
        let mut result = outcome(limit, 0, InstructionResult::Revert, failure(reason));
        result.gas.spend_all();
        result
    };
    let wasm = match decode_code(&code) {
        Ok(wasm) => wasm,
        Err(ProgramError::NotWasm) => {
            let data = IArbWasm::ProgramNotWasm {}.abi_encode().into();
            return outcome(limit, fixed, InstructionResult::Revert, data);
        }
        Err(e) => return take_all(&format!("program activation failed: {e}")),
    };
    let analysis = match analyze(&wasm) {
        Ok(a) => a,
        Err(e) => return take_all(&format!("program activation failed: {e}")),
    };
    if let Err(e) = precompiles.runtime().compile(codehash, &wasm) {
        return take_all(&format!("program activation failed: {e}"));
    }
    let fee = charge_data(ctx, u64::from(analysis.asm_estimate));
    if let Err(data) = pay_fee(ctx, inputs, fee) {
        return outcome(limit, fixed, InstructionResult::Revert, data);
    }
    let record = ProgramRecord {
        version: params::STYLUS_VERSION,
        init_cost: analysis.init_cost,
        cached_cost: analysis.cached_cost,
        footprint: analysis.footprint,
        asm_estimate_kb: analysis.asm_estimate.div_ceil(1024),
        activated_at: time,
    };
    sstore(ctx, record_slot(codehash), record.to_word());
    let event = IArbWasm::ProgramActivated {
        codehash,
        moduleHash: keccak256(&wasm),
        program,
        dataFee: fee,
        version: params::STYLUS_VERSION,
    };
    emit(ctx, event.encode_log_data());
    // Three storage writes (record, demand, time) and the event on top of the fixed part.
    let cost = fixed + 3 * 22_100 + 375 * 2 + 8 * 128;
    let output =
        IArbWasm::activateProgramCall::abi_encode_returns(&IArbWasm::activateProgramReturn {
            version: params::STYLUS_VERSION,
            dataFee: fee,
        });
    outcome(limit, cost, InstructionResult::Return, output.into())
}

/// `codehashKeepalive(bytes32)`: renews an activation for another expiry period.
fn keepalive(ctx: &mut Ctx, inputs: &CallInputs, codehash: B256) -> InterpreterResult {
    let limit = inputs.gas_limit;
    let cost = view_cost(64, 0) + 22_100;
    if inputs.is_static {
        return outcome(limit, 0, InstructionResult::Revert, Bytes::new());
    }
    let mut record = match active_program(ctx, codehash) {
        Ok(r) => r,
        Err(data) => return outcome(limit, cost, InstructionResult::Revert, data),
    };
    let time = now(ctx);
    let age = time.saturating_sub(record.activated_at);
    if age < u64::from(params::KEEPALIVE_DAYS) * 86_400 {
        let data = IArbWasm::ProgramKeepaliveTooSoon { ageInSeconds: age }
            .abi_encode()
            .into();
        return outcome(limit, cost, InstructionResult::Revert, data);
    }
    let fee = charge_data(ctx, u64::from(record.asm_estimate_kb) * 1024);
    if let Err(data) = pay_fee(ctx, inputs, fee) {
        return outcome(limit, cost, InstructionResult::Revert, data);
    }
    record.activated_at = time;
    sstore(ctx, record_slot(codehash), record.to_word());
    let event = IArbWasm::ProgramLifetimeExtended {
        codehash,
        dataFee: fee,
    };
    emit(ctx, event.encode_log_data());
    outcome(limit, cost, InstructionResult::Return, Bytes::new())
}
