//! Mined blocks, their transactions and receipts, as the chain keeps and stores them.

use alloy_consensus::{
    proofs::{calculate_receipt_root, calculate_transaction_root},
    Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, Bloom, Bytes, Log, B256};
use serde::{Deserialize, Serialize};

/// The outcome of a mined transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReceipt {
    /// Whether it succeeded.
    pub success: bool,
    /// Gas it used.
    pub gas_used: u64,
    /// Gas used in the block up to and including it.
    pub cumulative_gas_used: u64,
    /// What the sender paid per gas.
    pub effective_gas_price: u128,
    /// The contract it created.
    pub contract_address: Option<Address>,
    /// Its logs.
    pub logs: Vec<Log>,
    /// The storage slots it wrote (absent in state written before this was recorded).
    #[serde(default)]
    pub storage_writes: StorageWrites,
}

/// How many storage slots a transaction wrote, by kind: what its storage gas is made of
/// (22 100 gas for a fresh slot, about 5 000 for a cold update). Served as the
/// non-standard receipt field `storageWrites` for gas tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageWrites {
    /// Slots that went from zero to non-zero.
    pub fresh: u32,
    /// Non-zero slots that changed value (to zero included).
    pub updated: u32,
}

impl TxReceipt {
    /// The logs bloom.
    pub fn bloom(&self) -> Bloom {
        let mut bloom = Bloom::default();
        bloom.accrue_logs(&self.logs);
        bloom
    }

    /// The consensus receipt for a transaction of `tx_type`, with logs of type `L`.
    pub fn envelope<L>(&self, tx_type: TxType, logs: Vec<L>) -> ReceiptEnvelope<L> {
        let receipt = ReceiptWithBloom {
            receipt: Receipt {
                status: Eip658Value::Eip658(self.success),
                cumulative_gas_used: self.cumulative_gas_used,
                logs,
            },
            logs_bloom: self.bloom(),
        };
        match tx_type {
            TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
            TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
            TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
            TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
            TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
        }
    }
}

/// A transaction in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinedTx {
    /// EIP-2718 encoding.
    pub raw: Bytes,
    /// Hash.
    pub hash: B256,
    /// Signer.
    pub sender: Address,
    /// Outcome.
    pub receipt: TxReceipt,
}

impl MinedTx {
    /// The decoded transaction (it decoded when it was accepted).
    pub fn envelope(&self) -> Option<TxEnvelope> {
        TxEnvelope::decode_2718(&mut self.raw.as_ref()).ok()
    }
}

/// A mined block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// Header hash.
    pub hash: B256,
    /// Transactions in order.
    pub transactions: Vec<MinedTx>,
}

impl Block {
    /// Builds a block: fills the roots, bloom and gas used into `header`, then hashes it.
    pub fn seal(mut header: Header, transactions: Vec<MinedTx>, state_root: B256) -> Self {
        let envelopes: Vec<TxEnvelope> =
            transactions.iter().filter_map(MinedTx::envelope).collect();
        let receipts: Vec<ReceiptEnvelope> = transactions
            .iter()
            .zip(&envelopes)
            .map(|(tx, env)| tx.receipt.envelope(env.tx_type(), tx.receipt.logs.clone()))
            .collect();
        let mut bloom = Bloom::default();
        for tx in &transactions {
            bloom.accrue_bloom(&tx.receipt.bloom());
        }
        header.transactions_root = calculate_transaction_root(&envelopes);
        header.receipts_root = calculate_receipt_root(&receipts);
        header.logs_bloom = bloom;
        header.gas_used = transactions
            .last()
            .map_or(0, |t| t.receipt.cumulative_gas_used);
        header.state_root = state_root;
        let hash = header.hash_slow();
        Self {
            header,
            hash,
            transactions,
        }
    }

    /// Block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }
}
