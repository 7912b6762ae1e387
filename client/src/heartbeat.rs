//! A node's liveness signal: one `NodePool.heartbeat()` per epoch, sent only when the
//! node is not live in the current epoch yet (a second one would revert
//! `HeartbeatAlreadySent`). Shared by the miner (its own heartbeat) and the keeper
//! (heartbeats for nodes it is told to keep live).

use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use cor_abi::NodePool;

use crate::{submit::Submitter, ClientError};

/// Sends the submitter's heartbeat to `node_pool` unless its node is live in the current
/// epoch; returns the epoch and the receipt when one was sent.
///
/// # Errors
/// [`ClientError`] from the reads or the transaction.
pub async fn send_if_due(
    node: &Submitter,
    node_pool: Address,
) -> Result<Option<(u64, TransactionReceipt)>, ClientError> {
    let conn = node.connection();
    let epoch = conn.view(node_pool, &NodePool::epochCall {}).await?._0;
    let live = conn
        .view(
            node_pool,
            &NodePool::isLiveCall {
                node: conn.address(),
                epoch,
            },
        )
        .await?;
    if live {
        return Ok(None);
    }
    let receipt = node
        .send(node_pool, NodePool::heartbeatCall {}.abi_encode().into())
        .await?;
    tracing::info!(node = %conn.address(), epoch, "heartbeat sent");
    Ok(Some((epoch, receipt)))
}
