//! Closing reward epochs: every ended epoch that is not finalized, oldest first, so a
//! keeper that was down for several epochs catches up in one round. Another keeper
//! closing the same epoch first is not an error: the epoch is read as finalized before
//! sending, and a no-op `finalizeEpoch` (no `EpochFinalized` event) counts as done.

use std::sync::atomic::Ordering;

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use cor_abi::NodeReward;
use cor_client::{submit::Submitter, ClientError, Suite};

use crate::metrics::Metrics;

/// An epoch this keeper finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedEpoch {
    /// The epoch.
    pub epoch: u64,
    /// Bounty paid to the keeper (COR wei).
    pub bounty: U256,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// Finalizes every ended, unfinalized epoch, oldest first. Returns the epochs this
/// keeper finalized (not those another keeper finalized meanwhile).
///
/// # Errors
/// The first error that is not "another keeper got there first".
pub async fn close_epochs(
    submitter: &Submitter,
    suite: &Suite,
    metrics: &Metrics,
) -> Result<Vec<ClosedEpoch>, ClientError> {
    let conn = submitter.connection();
    let mut closed = Vec::new();
    loop {
        let next = conn
            .view(suite.reward, &NodeReward::nextEpochToFinalizeCall {})
            .await?;
        let current = conn
            .view(suite.reward, &NodeReward::currentEpochCall {})
            .await?;
        if next >= current {
            return Ok(closed);
        }
        let info = conn
            .view(suite.reward, &NodeReward::epochInfoCall { epoch: next })
            .await?;
        if info._3 {
            // Finalized, and `next` moves on by the next read.
            continue;
        }
        let call = NodeReward::finalizeEpochCall { epoch: next };
        let receipt = match submitter.send(suite.reward, call.abi_encode().into()).await {
            Ok(receipt) => {
                metrics.record_tx(receipt.gas_used, receipt.effective_gas_price);
                receipt
            }
            // Another keeper closed it between our read and our simulation.
            Err(ClientError::Reverted(r)) if r.is("EpochOutOfOrder") => continue,
            Err(e) => return Err(e),
        };
        let event = receipt.inner.logs().iter().find_map(|log| {
            (log.address() == suite.reward
                && log.topics().first() == Some(&NodeReward::EpochFinalized::SIGNATURE_HASH))
            .then(|| NodeReward::EpochFinalized::decode_log_data(log.data()).ok())
            .flatten()
        });
        match event {
            Some(e) if e.keeper == conn.address() => {
                metrics.epochs_finalized.fetch_add(1, Ordering::Relaxed);
                metrics.record_bounty(e.bounty);
                tracing::info!(
                    epoch = next,
                    bounty = %e.bounty,
                    gas_used = receipt.gas_used,
                    points = %e.totalPoints,
                    emission = %e.emission,
                    "epoch finalized"
                );
                closed.push(ClosedEpoch {
                    epoch: next,
                    bounty: e.bounty,
                    gas_used: receipt.gas_used,
                });
            }
            _ => tracing::info!(epoch = next, "epoch already finalized by another keeper"),
        }
    }
}
