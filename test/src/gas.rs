//! Gas figures from the dev node's receipts: gas used, and the storage slots the
//! transaction wrote (the dev node's `storageWrites` receipt field), next to the
//! storage-only floor those writes cost on any EVM chain. `cor-bench gas` and
//! `cor-bench scale` report them.

use alloy::{providers::Provider, rpc::types::TransactionReceipt};

use cor_client::Connection;

/// Gas of a fresh slot (zero to non-zero): SSTORE 20 000 + cold access 2 100.
pub const FRESH_SLOT_GAS: u64 = 22_100;
/// Gas of an update to a cold non-zero slot: SSTORE 2 900 + cold access 2 100.
pub const UPDATED_SLOT_GAS: u64 = 5_000;
/// Base cost of a transaction.
pub const BASE_GAS: u64 = 21_000;

/// One transaction's gas and storage writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    /// Gas used.
    pub gas: u64,
    /// Slots written from zero.
    pub fresh: u32,
    /// Non-zero slots changed.
    pub updated: u32,
}

impl Measured {
    /// What the storage writes alone cost, plus the base: no implementation of the call
    /// can use less.
    pub fn floor(&self) -> u64 {
        BASE_GAS
            + FRESH_SLOT_GAS * u64::from(self.fresh)
            + UPDATED_SLOT_GAS * u64::from(self.updated)
    }

    /// Gas used over the storage floor: how much a call spends beyond the storage it
    /// cannot avoid.
    pub fn ratio(&self) -> f64 {
        self.gas as f64 / self.floor() as f64
    }

    /// The sum of several measurements.
    pub fn sum(items: &[Measured]) -> Measured {
        items.iter().fold(Measured::default(), |a, m| Measured {
            gas: a.gas + m.gas,
            fresh: a.fresh + m.fresh,
            updated: a.updated + m.updated,
        })
    }
}

/// Reads the gas and storage writes of a mined transaction.
///
/// # Panics
/// When the node does not answer or is not a COR dev node (no `storageWrites`).
pub async fn measure(conn: &Connection, receipt: &TransactionReceipt) -> Measured {
    let raw: serde_json::Value = conn
        .provider()
        .raw_request(
            "eth_getTransactionReceipt".into(),
            (receipt.transaction_hash,),
        )
        .await
        .expect("receipt");
    let writes = &raw["storageWrites"];
    let count = |key: &str| {
        writes[key]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .expect("a COR dev node receipt with storageWrites")
    };
    Measured {
        gas: receipt.gas_used,
        fresh: count("fresh"),
        updated: count("updated"),
    }
}
