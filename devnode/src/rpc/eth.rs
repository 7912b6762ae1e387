//! The `eth_*`, `net_*` and `web3_*` methods.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy, TypedTransaction};
use alloy_eips::{eip2718::Encodable2718, BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256, U64};
use alloy_rpc_types_eth::{
    state::StateOverride, Block as RpcBlock, FeeHistory, Filter, FilterBlockOption, Log,
    Transaction, TransactionRequest,
};
use jsonrpsee::{types::ErrorObjectOwned, RpcModule};

use super::{
    convert,
    error::{halted, invalid_params, reverted, server, unsupported},
    RpcContext,
};
use crate::chain::{tx::SignedTx, Chain};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most blocks `eth_getLogs` scans in one request.
const MAX_LOG_RANGE: u64 = 100_000;

/// The block number a block id names.
pub(crate) fn resolve(chain: &Chain, id: Option<BlockId>) -> RpcResult<u64> {
    let head = chain.head().number();
    match id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
        BlockId::Hash(hash) => chain
            .block_by_hash(&hash.block_hash)
            .map(|b| b.number())
            .ok_or_else(|| server("block not found")),
        BlockId::Number(tag) => resolve_tag(head, tag),
    }
}

fn resolve_tag(head: u64, tag: BlockNumberOrTag) -> RpcResult<u64> {
    match tag {
        BlockNumberOrTag::Earliest => Ok(0),
        BlockNumberOrTag::Number(n) if n <= head => Ok(n),
        BlockNumberOrTag::Number(n) => Err(server(format!(
            "block {n} is in the future (latest is {head})"
        ))),
        _ => Ok(head),
    }
}

fn is_pending(id: &Option<BlockId>) -> bool {
    matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)))
}

/// Registers the methods.
///
/// # Errors
/// A jsonrpsee registration error (a name registered twice: a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("web3_clientVersion", |_, ctx, _| {
        RpcResult::Ok(ctx.client_version.clone())
    })?;
    module.register_method("net_version", |_, ctx, _| {
        RpcResult::Ok(ctx.chain().chain_id().to_string())
    })?;
    module.register_method("net_listening", |_, _, _| RpcResult::Ok(true))?;
    module.register_method("net_peerCount", |_, _, _| RpcResult::Ok(U64::ZERO))?;
    module.register_method("eth_chainId", |_, ctx, _| {
        RpcResult::Ok(U64::from(ctx.chain().chain_id()))
    })?;
    module.register_method("eth_syncing", |_, _, _| RpcResult::Ok(false))?;
    module.register_method("eth_mining", |_, _, _| RpcResult::Ok(true))?;
    module.register_method("eth_coinbase", |_, ctx, _| {
        RpcResult::Ok(ctx.chain().head().header.beneficiary)
    })?;
    module.register_method("eth_accounts", |_, ctx, _| {
        RpcResult::Ok(
            ctx.chain()
                .accounts()
                .iter()
                .map(|a| a.address)
                .collect::<Vec<Address>>(),
        )
    })?;
    module.register_method("eth_blockNumber", |_, ctx, _| {
        RpcResult::Ok(U64::from(ctx.chain().head().number()))
    })?;
    module.register_method("eth_gasPrice", |_, ctx, _| {
        RpcResult::Ok(U256::from(ctx.chain().config().base_fee))
    })?;
    module.register_method("eth_maxPriorityFeePerGas", |_, _, _| {
        RpcResult::Ok(U256::ZERO)
    })?;
    module.register_method("eth_blobBaseFee", |_, _, _| RpcResult::Ok(U256::from(1)))?;
    module.register_method("eth_feeHistory", |params, ctx, _| {
        let mut seq = params.sequence();
        let count: U64 = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<Vec<f64>> = seq.optional_next()?;
        let chain = ctx.chain();
        let newest = resolve_tag(chain.head().number(), newest)?;
        let count = count.to::<u64>().clamp(1, 1024).min(newest + 1);
        let oldest = newest + 1 - count;
        let base_fee = u128::from(chain.config().base_fee);
        let mut ratios = Vec::new();
        for block in chain.blocks(oldest, newest) {
            let limit = block.header.gas_limit.max(1) as f64;
            ratios.push(block.header.gas_used as f64 / limit);
        }
        RpcResult::Ok(FeeHistory {
            base_fee_per_gas: vec![base_fee; count as usize + 1],
            gas_used_ratio: ratios,
            base_fee_per_blob_gas: Vec::new(),
            blob_gas_used_ratio: Vec::new(),
            oldest_block: oldest,
            reward: percentiles.map(|p| vec![vec![0u128; p.len()]; count as usize]),
        })
    })?;

    module.register_method("eth_getBalance", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let chain = ctx.chain();
        let state = chain.state_at(resolve(&chain, id)?)?;
        RpcResult::Ok(state.account(&address).map_or(U256::ZERO, |a| a.balance))
    })?;
    module.register_method("eth_getTransactionCount", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let chain = ctx.chain();
        if is_pending(&id) {
            return RpcResult::Ok(U64::from(chain.next_nonce(&address, true)));
        }
        let state = chain.state_at(resolve(&chain, id)?)?;
        RpcResult::Ok(U64::from(state.account(&address).map_or(0, |a| a.nonce)))
    })?;
    module.register_method("eth_getCode", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let chain = ctx.chain();
        let state = chain.state_at(resolve(&chain, id)?)?;
        RpcResult::Ok(state.code(&address))
    })?;
    module.register_method("eth_getStorageAt", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let slot: U256 = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let chain = ctx.chain();
        let state = chain.state_at(resolve(&chain, id)?)?;
        RpcResult::Ok(B256::from(state.storage(&address, &slot)))
    })?;

    module.register_blocking_method("eth_call", |params, ctx, _| {
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let overrides: Option<StateOverride> = seq.optional_next()?;
        let chain = ctx.chain();
        let number = resolve(&chain, id)?;
        let env = convert::call_env(&chain, &request);
        let outcome = chain.call(env, Some(number), convert::overrides(overrides))?;
        match (outcome.success, outcome.halt) {
            (true, _) => RpcResult::Ok(outcome.output),
            (false, Some(reason)) => Err(halted(reason)),
            (false, None) => Err(reverted(&outcome.output)),
        }
    })?;
    module.register_blocking_method("eth_estimateGas", |params, ctx, _| {
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let overrides: Option<StateOverride> = seq.optional_next()?;
        let chain = ctx.chain();
        let number = resolve(&chain, id)?;
        let env = convert::call_env(&chain, &request);
        match chain.estimate_gas(env, Some(number), convert::overrides(overrides))? {
            Ok(gas) => RpcResult::Ok(U64::from(gas)),
            Err(outcome) => match outcome.halt {
                Some(reason) => Err(halted(reason)),
                None => Err(reverted(&outcome.output)),
            },
        }
    })?;

    module.register_blocking_method("eth_sendRawTransaction", |params, ctx, _| {
        let mut seq = params.sequence();
        let raw: Bytes = seq.next()?;
        let tx = SignedTx::decode(&raw).map_err(invalid_params)?;
        RpcResult::Ok(ctx.chain().submit(tx)?)
    })?;
    module.register_blocking_method("eth_sendTransaction", |params, ctx, _| {
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let mut chain = ctx.chain();
        let tx = sign_request(&chain, request)?;
        RpcResult::Ok(chain.submit(tx)?)
    })?;

    module.register_method("eth_getTransactionByHash", |params, ctx, _| {
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let chain = ctx.chain();
        if let Some((block, index)) = chain.transaction(&hash) {
            return RpcResult::Ok(convert::transaction(block, index));
        }
        RpcResult::Ok(chain.pending_transaction(&hash).map(pending_transaction))
    })?;
    module.register_method("eth_getTransactionReceipt", |params, ctx, _| {
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let chain = ctx.chain();
        RpcResult::<Option<convert::DevReceipt>>::Ok(
            chain
                .transaction(&hash)
                .and_then(|(block, index)| convert::receipt(block, index)),
        )
    })?;
    module.register_method("eth_getBlockReceipts", |params, ctx, _| {
        let mut seq = params.sequence();
        let id: BlockId = seq.next()?;
        let chain = ctx.chain();
        let number = resolve(&chain, Some(id))?;
        RpcResult::<Option<Vec<convert::DevReceipt>>>::Ok(chain.block(number).map(|b| {
            (0..b.transactions.len())
                .filter_map(|i| convert::receipt(b, i))
                .collect()
        }))
    })?;
    module.register_method("eth_getBlockByNumber", |params, ctx, _| {
        let mut seq = params.sequence();
        let tag: BlockNumberOrTag = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        let chain = ctx.chain();
        let head = chain.head().number();
        let number = match tag {
            BlockNumberOrTag::Number(n) if n > head => return RpcResult::Ok(None),
            tag => resolve_tag(head, tag)?,
        };
        RpcResult::<Option<RpcBlock>>::Ok(
            chain
                .block(number)
                .map(|b| convert::block(b, full.unwrap_or(false))),
        )
    })?;
    module.register_method("eth_getBlockByHash", |params, ctx, _| {
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        let chain = ctx.chain();
        RpcResult::<Option<RpcBlock>>::Ok(
            chain
                .block_by_hash(&hash)
                .map(|b| convert::block(b, full.unwrap_or(false))),
        )
    })?;
    module.register_method("eth_getBlockTransactionCountByNumber", |params, ctx, _| {
        let mut seq = params.sequence();
        let tag: BlockNumberOrTag = seq.next()?;
        let chain = ctx.chain();
        let number = resolve_tag(chain.head().number(), tag)?;
        RpcResult::Ok(chain.block(number).map(|b| U64::from(b.transactions.len())))
    })?;
    module.register_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |params, ctx, _| {
            let mut seq = params.sequence();
            let tag: BlockNumberOrTag = seq.next()?;
            let index: U64 = seq.next()?;
            let chain = ctx.chain();
            let number = resolve_tag(chain.head().number(), tag)?;
            RpcResult::<Option<Transaction>>::Ok(
                chain
                    .block(number)
                    .and_then(|b| convert::transaction(b, index.to::<usize>())),
            )
        },
    )?;
    module.register_blocking_method("eth_getLogs", |params, ctx, _| {
        let mut seq = params.sequence();
        let filter: Filter = seq.next()?;
        let chain = ctx.chain();
        logs(&chain, &filter)
    })?;
    Ok(())
}

/// The logs matching `filter`.
pub(crate) fn logs(chain: &Chain, filter: &Filter) -> RpcResult<Vec<Log>> {
    let head = chain.head().number();
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let block = chain
                .block_by_hash(&hash)
                .ok_or_else(|| server("block not found"))?;
            (block.number(), block.number())
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let from = match from_block.unwrap_or(BlockNumberOrTag::Latest) {
                BlockNumberOrTag::Number(n) if n > head => return Ok(Vec::new()),
                tag => resolve_tag(head, tag)?,
            };
            let to = match to_block.unwrap_or(BlockNumberOrTag::Latest) {
                BlockNumberOrTag::Number(n) => n.min(head),
                tag => resolve_tag(head, tag)?,
            };
            (from, to)
        }
    };
    if from > to {
        return Err(invalid_params(format!(
            "fromBlock {from} is after toBlock {to}"
        )));
    }
    if to - from > MAX_LOG_RANGE {
        return Err(invalid_params(format!(
            "block range over {MAX_LOG_RANGE} blocks"
        )));
    }
    let mut out = Vec::new();
    for block in chain.blocks(from, to) {
        if !filter.matches_bloom(block.header.logs_bloom) {
            continue;
        }
        out.extend(
            convert::block_logs(block)
                .into_iter()
                .filter(|log| filter.matches(&log.inner)),
        );
    }
    Ok(out)
}

/// A pool transaction in RPC form (no block yet).
fn pending_transaction(tx: &SignedTx) -> Transaction {
    Transaction {
        inner: alloy_consensus::transaction::Recovered::new_unchecked(
            tx.envelope.clone(),
            tx.sender,
        ),
        block_hash: None,
        block_number: None,
        transaction_index: None,
        effective_gas_price: None,
    }
}

/// Fills an `eth_sendTransaction` request and signs it with the unlocked `from` account.
fn sign_request(chain: &Chain, request: TransactionRequest) -> RpcResult<SignedTx> {
    let from = request
        .from
        .ok_or_else(|| invalid_params("`from` is required"))?;
    let account = chain
        .accounts()
        .iter()
        .find(|a| a.address == from)
        .ok_or_else(|| unsupported(format!("no unlocked account {from}")))?
        .clone();
    let nonce = request
        .nonce
        .unwrap_or_else(|| chain.next_nonce(&from, true));
    let gas = match request.gas {
        Some(gas) => gas,
        None => {
            let env = convert::call_env(chain, &request);
            match chain.estimate_gas(env, None, Default::default())? {
                Ok(gas) => gas,
                Err(outcome) => {
                    return Err(match outcome.halt {
                        Some(reason) => halted(reason),
                        None => reverted(&outcome.output),
                    })
                }
            }
        }
    };
    let to = request.to.unwrap_or(TxKind::Create);
    let value = request.value.unwrap_or_default();
    let input = request.input.input().cloned().unwrap_or_default();
    let base_fee = u128::from(chain.config().base_fee);
    let typed = match request.gas_price {
        Some(gas_price) => TypedTransaction::Legacy(TxLegacy {
            chain_id: Some(chain.chain_id()),
            nonce,
            gas_price,
            gas_limit: gas,
            to,
            value,
            input,
        }),
        None => TypedTransaction::Eip1559(TxEip1559 {
            chain_id: chain.chain_id(),
            nonce,
            gas_limit: gas,
            max_fee_per_gas: request.max_fee_per_gas.unwrap_or(base_fee * 2),
            max_priority_fee_per_gas: request.max_priority_fee_per_gas.unwrap_or(0),
            to,
            value,
            access_list: request.access_list.clone().unwrap_or_default(),
            input,
        }),
    };
    let envelope: TxEnvelope = match typed {
        TypedTransaction::Legacy(tx) => {
            let sig = account.sign_hash(&tx.signature_hash());
            tx.into_signed(sig).into()
        }
        TypedTransaction::Eip1559(tx) => {
            let sig = account.sign_hash(&tx.signature_hash());
            tx.into_signed(sig).into()
        }
        _ => return Err(unsupported("transaction type")),
    };
    let raw: Bytes = envelope.encoded_2718().into();
    SignedTx::from_envelope(envelope, raw).map_err(server)
}
