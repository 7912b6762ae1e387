//! The anvil-style dev methods tests use: mining, time, balances, code, snapshots.

use alloy_primitives::{Address, Bytes, U256, U64};
use jsonrpsee::{types::ErrorObjectOwned, RpcModule};
use serde_json::Value;

use super::{error::invalid_params, RpcContext};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most blocks one `anvil_mine` call mines.
const MAX_MINE: u64 = 10_000;

/// A number given as a JSON number, a hex quantity or a decimal string.
fn quantity(value: &Value) -> RpcResult<u64> {
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid_params("not a u64")),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(invalid_params),
            None => s.parse().map_err(invalid_params),
        },
        _ => Err(invalid_params("expected a number")),
    }
}

/// Registers the methods.
///
/// # Errors
/// A jsonrpsee registration error (a name registered twice: a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_blocking_method("evm_mine", |params, ctx, _| {
        let mut seq = params.sequence();
        let arg: Option<Value> = seq.optional_next()?;
        let timestamp = match &arg {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => o.get("timestamp").map(quantity).transpose()?,
            Some(v) => Some(quantity(v)?),
        };
        ctx.chain().mine(timestamp)?;
        RpcResult::Ok("0x0")
    })?;
    module.register_blocking_method("anvil_mine", |params, ctx, _| {
        let mut seq = params.sequence();
        let blocks: Option<Value> = seq.optional_next()?;
        let interval: Option<Value> = seq.optional_next()?;
        let blocks = blocks.as_ref().map(quantity).transpose()?.unwrap_or(1);
        let interval = interval.as_ref().map(quantity).transpose()?.unwrap_or(0);
        if blocks > MAX_MINE {
            return Err(invalid_params(format!("at most {MAX_MINE} blocks at once")));
        }
        let mut chain = ctx.chain();
        for _ in 0..blocks {
            let next = (interval > 0).then(|| chain.head().header.timestamp + interval);
            chain.mine(next)?;
        }
        RpcResult::Ok(Value::Null)
    })?;
    module.register_method("evm_setAutomine", |params, ctx, _| {
        let mut seq = params.sequence();
        let on: bool = seq.next()?;
        ctx.chain().set_auto_mine(on);
        RpcResult::Ok(true)
    })?;
    module.register_method("anvil_getAutomine", |_, ctx, _| {
        RpcResult::Ok(ctx.chain().auto_mine())
    })?;
    module.register_method("evm_setNextBlockTimestamp", |params, ctx, _| {
        let mut seq = params.sequence();
        let value: Value = seq.next()?;
        ctx.chain().set_next_timestamp(quantity(&value)?)?;
        RpcResult::Ok(Value::Null)
    })?;
    module.register_method("evm_increaseTime", |params, ctx, _| {
        let mut seq = params.sequence();
        let value: Value = seq.next()?;
        let seconds = i64::try_from(quantity(&value)?).map_err(invalid_params)?;
        let offset = ctx.chain().increase_time(seconds)?;
        RpcResult::Ok(offset)
    })?;
    module.register_method("anvil_setBalance", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let balance: U256 = seq.next()?;
        ctx.chain().set_balance(address, balance)?;
        RpcResult::Ok(Value::Null)
    })?;
    module.register_method("anvil_setCode", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let code: Bytes = seq.next()?;
        ctx.chain().set_code(address, code)?;
        RpcResult::Ok(Value::Null)
    })?;
    module.register_method("evm_snapshot", |_, ctx, _| {
        RpcResult::Ok(U256::from(ctx.chain().snapshot()))
    })?;
    module.register_method("evm_revert", |params, ctx, _| {
        let mut seq = params.sequence();
        let id: U256 = seq.next()?;
        let Ok(id) = u64::try_from(id) else {
            return RpcResult::Ok(false);
        };
        RpcResult::Ok(ctx.chain().revert(id)?)
    })?;
    module.register_method("anvil_nodeInfo", |_, ctx, _| {
        let chain = ctx.chain();
        RpcResult::Ok(serde_json::json!({
            "currentBlockNumber": U64::from(chain.head().number()),
            "currentBlockTimestamp": chain.head().header.timestamp,
            "chainId": chain.chain_id(),
            "stylus": true,
        }))
    })?;
    Ok(())
}
