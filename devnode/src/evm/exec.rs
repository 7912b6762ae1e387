//! One execution: a transaction (or a call) against a state snapshot, giving revm's
//! result and the state diff it would make.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes, Log, B256, U256};
use revm::{
    context::{
        result::{ExecutionResult, HaltReason, Output, SuccessReason},
        BlockEnv, CfgEnv, Context, TxEnv,
    },
    context_interface::{ContextTr, JournalTr},
};

use super::{
    state::{BlockHashes, StateOverrides, StateView, WorldState},
    ArbEvm, ArbPrecompiles, EvmError, StateDiff, SPEC,
};
use crate::stylus::runtime::StylusRuntime;

/// The block a transaction executes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Timestamp, seconds.
    pub timestamp: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Base fee per gas, wei.
    pub base_fee: u64,
    /// Fee recipient.
    pub coinbase: Address,
    /// `PREVRANDAO`.
    pub prevrandao: B256,
}

/// Checks relaxed for calls (`eth_call`, `eth_estimateGas`) as nodes do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// Skip the balance check (a call from an unfunded address works).
    pub no_balance_check: bool,
    /// Skip the base-fee check (gas price 0 works).
    pub no_base_fee: bool,
    /// Skip the nonce check.
    pub no_nonce_check: bool,
    /// Allow gas limits above the block gas limit (calls are capped separately).
    pub no_block_gas_limit: bool,
}

impl ExecOptions {
    /// The relaxations of `eth_call`.
    pub const CALL: Self = Self {
        no_balance_check: true,
        no_base_fee: true,
        no_nonce_check: true,
        no_block_gas_limit: true,
    };
}

/// What an execution did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether it succeeded.
    pub success: bool,
    /// Gas used (after refunds).
    pub gas_used: u64,
    /// Return data, or revert data.
    pub output: Bytes,
    /// Created contract, if any.
    pub contract_address: Option<Address>,
    /// Logs (empty unless successful).
    pub logs: Vec<Log>,
    /// Why it halted, when it did not return or revert.
    pub halt: Option<HaltReason>,
    /// The state changes (applied only when the transaction is included).
    pub diff: StateDiff,
}

impl Outcome {
    fn from_result(result: ExecutionResult<HaltReason>, diff: StateDiff) -> Self {
        match result {
            ExecutionResult::Success {
                reason: _reason,
                gas,
                logs,
                output,
                ..
            } => {
                let _: SuccessReason = _reason;
                let (output, contract_address) = match output {
                    Output::Call(bytes) => (bytes, None),
                    Output::Create(bytes, address) => (bytes, address),
                };
                Self {
                    success: true,
                    gas_used: gas.tx_gas_used(),
                    output,
                    contract_address,
                    logs,
                    halt: None,
                    diff,
                }
            }
            ExecutionResult::Revert {
                gas,
                output,
                logs: _,
                ..
            } => Self {
                success: false,
                gas_used: gas.tx_gas_used(),
                output,
                contract_address: None,
                logs: Vec::new(),
                halt: None,
                diff,
            },
            ExecutionResult::Halt {
                reason,
                gas,
                logs: _,
                ..
            } => Self {
                success: false,
                gas_used: gas.tx_gas_used(),
                output: Bytes::new(),
                contract_address: None,
                logs: Vec::new(),
                halt: Some(reason),
                diff,
            },
        }
    }
}

/// Executes `tx` in `block` against `world` (plus `overrides`).
///
/// # Errors
/// [`EvmError`] when the transaction is invalid (nonce, funds, gas limit, fee).
#[allow(clippy::too_many_arguments)]
pub fn execute(
    runtime: &Arc<StylusRuntime>,
    world: &Arc<WorldState>,
    hashes: &BlockHashes,
    chain_id: u64,
    block: &BlockContext,
    tx: TxEnv,
    overrides: StateOverrides,
    options: ExecOptions,
) -> Result<Outcome, EvmError> {
    let view = StateView::new(world.clone(), hashes.clone()).with_overrides(overrides);
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = chain_id;
    cfg.disable_eip3541 = true;
    cfg.disable_balance_check = options.no_balance_check;
    cfg.disable_base_fee = options.no_base_fee;
    cfg.disable_nonce_check = options.no_nonce_check;
    cfg.disable_block_gas_limit = options.no_block_gas_limit;
    let block_env = BlockEnv {
        number: U256::from(block.number),
        beneficiary: block.coinbase,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee: block.base_fee,
        prevrandao: Some(block.prevrandao),
        ..Default::default()
    };
    let mut ctx: super::Ctx = Context::new(view, SPEC);
    ctx.block = block_env;
    ctx.tx = tx;
    ctx.cfg = cfg;
    let mut evm = ArbEvm::new(ctx, ArbPrecompiles::new(runtime.clone()));
    let result = evm.transact();
    let state = evm.ctx_mut().journal_mut().finalize();
    let result = result?;
    let diff = StateDiff::from_evm_state(&state, world);
    Ok(Outcome::from_result(result, diff))
}
