//! Finding this miner's assignments: `TaskAssigned(taskId, miner, seat)` logs of the
//! SessionQueue with the miner's address as the indexed `miner` topic.
//!
//! Two paths feed the same store, which drops duplicates:
//! - a WebSocket subscription (optional) for low latency, reconnecting with backoff;
//! - polling `eth_getLogs` from the store's block cursor to the head, in bounded ranges:
//!   the fallback when there is no subscription and the catch-up after a restart or an
//!   outage. The cursor moves only after every assignment up to it is recorded.

use std::time::Duration;

use alloy::{
    providers::{Provider, ProviderBuilder, WsConnect},
    rpc::types::{Filter, Log},
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use cor_abi::{CommitReveal, SessionQueue};
use cor_client::{ClientError, Connection, Suite};
use tokio::sync::{mpsc, watch};

use crate::store::{Stage, TaskRecord};

/// Most blocks asked for in one `eth_getLogs`.
pub const MAX_LOG_RANGE: u64 = 5_000;

/// One assignment as logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The task.
    pub task_id: U256,
    /// The miner's seat.
    pub seat: u8,
    /// The submitting transaction.
    pub tx_hash: B256,
}

impl Seen {
    /// Decodes a `TaskAssigned` log.
    pub fn from_log(log: &Log) -> Option<Self> {
        let event = SessionQueue::TaskAssigned::decode_log(&log.inner).ok()?;
        Some(Self {
            task_id: event.taskId,
            seat: event.seat,
            tx_hash: log.transaction_hash?,
        })
    }
}

/// The filter for `miner`'s assignments.
pub fn filter(session_queue: Address, miner: Address) -> Filter {
    Filter::new()
        .address(session_queue)
        .event_signature(SessionQueue::TaskAssigned::SIGNATURE_HASH)
        .topic2(miner.into_word())
}

/// `miner`'s assignments in blocks `from ..= to`, asked in ranges of at most
/// [`MAX_LOG_RANGE`] blocks.
///
/// # Errors
/// [`ClientError::Rpc`].
pub async fn scan(
    conn: &Connection,
    session_queue: Address,
    miner: Address,
    from: u64,
    to: u64,
) -> Result<Vec<Seen>, ClientError> {
    let mut seen = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(MAX_LOG_RANGE - 1));
        let logs = conn
            .provider()
            .get_logs(&filter(session_queue, miner).from_block(start).to_block(end))
            .await
            .map_err(ClientError::Rpc)?;
        seen.extend(logs.iter().filter_map(Seen::from_log));
        start = end + 1;
    }
    Ok(seen)
}

/// Reads what the miner needs about an assignment: the task's input, limits and
/// deadlines from the `TaskSubmitted` log of the same transaction (from the SessionQueue
/// only), its model from the session, its consensus method from the round.
///
/// # Errors
/// [`ClientError`]; [`ClientError::Decode`] when the transaction holds no matching
/// `TaskSubmitted` (not a SessionQueue submission).
pub async fn describe(
    conn: &Connection,
    suite: &Suite,
    seen: Seen,
) -> Result<TaskRecord, ClientError> {
    let missing = |reason: &str| ClientError::Decode {
        call: "TaskSubmitted",
        reason: format!("task {}: {reason}", seen.task_id),
    };
    let receipt = conn
        .receipt(seen.tx_hash)
        .await?
        .ok_or_else(|| missing("the submitting transaction has no receipt"))?;
    let submitted = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == suite.session_queue)
        .filter_map(|log| SessionQueue::TaskSubmitted::decode_log(&log.inner).ok())
        .find(|e| e.taskId == seen.task_id)
        .ok_or_else(|| missing("no TaskSubmitted in the submitting transaction"))?;
    let session = conn
        .view(
            suite.session_queue,
            &SessionQueue::sessionCall {
                sessionId: submitted.sessionId,
            },
        )
        .await?;
    let round = conn
        .view(
            suite.commit_reveal,
            &CommitReveal::taskCall {
                taskId: seen.task_id,
            },
        )
        .await?;
    Ok(TaskRecord {
        task_id: seen.task_id,
        seat: seen.seat,
        session_id: submitted.sessionId,
        model_id: session._1,
        consensus: round._8.0[3],
        input_hash: submitted.inputHash,
        input_uri: submitted.inputUri.clone(),
        max_tokens: submitted.maxTokens,
        commit_deadline: submitted.commitDeadline,
        reveal_deadline: submitted.revealDeadline,
        answer: None,
        stage: Stage::Assigned,
    })
}

/// Forwards pushed assignments from a WebSocket subscription to `out` until `stop` turns
/// true, reconnecting (1 s, doubling to 30 s) when the connection drops.
pub async fn subscribe(
    ws_url: String,
    session_queue: Address,
    miner: Address,
    out: mpsc::UnboundedSender<Seen>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pause = Duration::from_secs(1);
    loop {
        let attempt = async {
            let provider = ProviderBuilder::new()
                .connect_ws(WsConnect::new(ws_url.clone()))
                .await?;
            let mut sub = provider
                .subscribe_logs(&filter(session_queue, miner))
                .await?;
            tracing::info!(url = %ws_url, "subscribed to assignments");
            loop {
                let log = sub.recv().await.map_err(|e| {
                    alloy::transports::TransportErrorKind::custom_str(&e.to_string())
                })?;
                if let Some(seen) = Seen::from_log(&log) {
                    if out.send(seen).is_err() {
                        return Ok::<(), alloy::transports::TransportError>(());
                    }
                }
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            result = attempt => {
                match result {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, retry_in = ?pause, "assignment subscription lost; polling continues"),
                }
            }
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}
