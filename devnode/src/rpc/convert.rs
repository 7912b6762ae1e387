//! Chain data in the Ethereum JSON-RPC shapes (alloy's RPC types), and requests into
//! what the chain executes.

use std::collections::HashMap;

use alloy_consensus::transaction::Recovered;
use alloy_primitives::{Bytes, TxKind, U256};
use alloy_rpc_types_eth::{
    state::StateOverride, Block as RpcBlock, BlockTransactions, Header as RpcHeader, Log,
    Transaction, TransactionReceipt, TransactionRequest,
};
use revm::context::TxEnv;

use crate::{
    chain::{block::Block, Chain},
    evm::state::{AccountOverride, StateOverrides},
};

/// The RPC header of a block.
pub fn header(block: &Block) -> RpcHeader {
    RpcHeader {
        hash: block.hash,
        inner: block.header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: None,
    }
}

/// The RPC form of transaction `index` of `block`.
pub fn transaction(block: &Block, index: usize) -> Option<Transaction> {
    let mined = block.transactions.get(index)?;
    let envelope = mined.envelope()?;
    Some(Transaction {
        inner: Recovered::new_unchecked(envelope, mined.sender),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(mined.receipt.effective_gas_price),
    })
}

/// The RPC form of a block, with full transactions or their hashes.
pub fn block(block: &Block, full: bool) -> RpcBlock {
    let transactions = if full {
        BlockTransactions::Full(
            (0..block.transactions.len())
                .filter_map(|i| transaction(block, i))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.transactions.iter().map(|t| t.hash).collect())
    };
    RpcBlock {
        header: header(block),
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    }
}

/// The logs of `block` with their positions, in order.
pub fn block_logs(block: &Block) -> Vec<Log> {
    let mut out = Vec::new();
    let mut log_index = 0u64;
    for (tx_index, tx) in block.transactions.iter().enumerate() {
        for log in &tx.receipt.logs {
            out.push(Log {
                inner: log.clone(),
                block_hash: Some(block.hash),
                block_number: Some(block.number()),
                block_timestamp: Some(block.header.timestamp),
                transaction_hash: Some(tx.hash),
                transaction_index: Some(tx_index as u64),
                log_index: Some(log_index),
                removed: false,
            });
            log_index += 1;
        }
    }
    out
}

/// A receipt with the dev node's extra field: the storage slots the transaction wrote
/// (`storageWrites: {fresh, updated}`), which clients that do not know it ignore.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevReceipt {
    /// The standard receipt.
    #[serde(flatten)]
    pub receipt: TransactionReceipt,
    /// Storage slots written.
    pub storage_writes: crate::chain::block::StorageWrites,
}

/// The receipt of transaction `index` of `block`.
pub fn receipt(block: &Block, index: usize) -> Option<DevReceipt> {
    let mined = block.transactions.get(index)?;
    let envelope = mined.envelope()?;
    let logs: Vec<Log> = block_logs(block)
        .into_iter()
        .filter(|l| l.transaction_index == Some(index as u64))
        .collect();
    let to = match alloy_consensus::Transaction::kind(&envelope) {
        TxKind::Call(to) => Some(to),
        TxKind::Create => None,
    };
    let receipt = TransactionReceipt {
        inner: mined.receipt.envelope(envelope.tx_type(), logs),
        transaction_hash: mined.hash,
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        gas_used: mined.receipt.gas_used,
        effective_gas_price: mined.receipt.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: mined.sender,
        to,
        contract_address: mined.receipt.contract_address,
    };
    Some(DevReceipt {
        receipt,
        storage_writes: mined.receipt.storage_writes,
    })
}

/// `eth_call` state overrides in the executor's form.
pub fn overrides(overrides: Option<StateOverride>) -> StateOverrides {
    let Some(overrides) = overrides else {
        return StateOverrides::new();
    };
    overrides
        .into_iter()
        .map(|(address, o)| {
            let slots = |map: alloy_primitives::map::B256HashMap<alloy_primitives::B256>| {
                map.into_iter()
                    .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0)))
                    .collect::<HashMap<_, _>>()
            };
            let over = AccountOverride {
                balance: o.balance,
                nonce: o.nonce,
                code: o.code,
                state: o.state.map(slots),
                state_diff: o.state_diff.map(slots).unwrap_or_default(),
            };
            (address, over)
        })
        .collect()
}

/// A call request as a revm transaction: defaults as nodes apply them for `eth_call`
/// (zero sender, zero gas price, the call gas cap, the sender's current nonce).
pub fn call_env(chain: &Chain, request: &TransactionRequest) -> TxEnv {
    let caller = request.from.unwrap_or_default();
    let data: Bytes = request.input.input().cloned().unwrap_or_default();
    let gas_price = request
        .gas_price
        .or(request.max_fee_per_gas)
        .unwrap_or_default();
    TxEnv {
        tx_type: if request.gas_price.is_some() || request.max_fee_per_gas.is_none() {
            if request.access_list.is_some() {
                1
            } else {
                0
            }
        } else {
            2
        },
        caller,
        gas_limit: request.gas.unwrap_or(chain.config().call_gas_cap),
        gas_price,
        kind: request.to.unwrap_or(TxKind::Create),
        value: request.value.unwrap_or_default(),
        data,
        nonce: request
            .nonce
            .unwrap_or_else(|| chain.next_nonce(&caller, false)),
        chain_id: Some(chain.chain_id()),
        access_list: request.access_list.clone().unwrap_or_default(),
        gas_priority_fee: if request.gas_price.is_some() {
            None
        } else {
            request.max_priority_fee_per_gas
        },
        ..Default::default()
    }
}
