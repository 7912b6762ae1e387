//! Overdue tasks: tasks whose commit deadline passed and that are ready to finalize but
//! nobody finalized (the participants finalize on the fast path when every seat
//! revealed). Found from `TaskSubmitted` logs (minus `TaskFinalized`), finalized with
//! `CommitReveal.finalizeMany` in batches that fit the gas budget.

use std::{collections::BTreeMap, sync::atomic::Ordering};

use alloy::{providers::Provider, rpc::types::Filter};
use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use cor_abi::{CommitReveal, SessionQueue};
use cor_client::{submit::Submitter, ClientError, Suite};

use crate::metrics::Metrics;

/// Blocks per `eth_getLogs` request.
const LOG_CHUNK: u64 = 5_000;

/// The open tasks the keeper knows of.
#[derive(Debug, Default)]
pub struct TaskBook {
    /// Task id -> commit deadline.
    open: BTreeMap<U256, u64>,
    /// The next block to scan.
    next_block: u64,
}

impl TaskBook {
    /// A book that starts scanning at `from_block` (the SessionQueue's deployment).
    pub fn new(from_block: u64) -> Self {
        Self {
            open: BTreeMap::new(),
            next_block: from_block,
        }
    }

    /// Open tasks known.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// True when no open task is known.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Reads new `TaskSubmitted` and `TaskFinalized` logs up to `head`.
    ///
    /// # Errors
    /// [`ClientError::Rpc`].
    pub async fn scan(
        &mut self,
        submitter: &Submitter,
        suite: &Suite,
        head: u64,
    ) -> Result<(), ClientError> {
        let provider = submitter.connection().provider();
        while self.next_block <= head {
            let to = (self.next_block + LOG_CHUNK - 1).min(head);
            let filter = Filter::new()
                .address(vec![suite.session_queue, suite.commit_reveal])
                .event_signature(vec![
                    SessionQueue::TaskSubmitted::SIGNATURE_HASH,
                    CommitReveal::TaskFinalized::SIGNATURE_HASH,
                ])
                .from_block(self.next_block)
                .to_block(to);
            let logs = provider.get_logs(&filter).await.map_err(ClientError::Rpc)?;
            for log in logs {
                let topic = log.topics().first().copied();
                if topic == Some(SessionQueue::TaskSubmitted::SIGNATURE_HASH)
                    && log.address() == suite.session_queue
                {
                    if let Ok(e) = SessionQueue::TaskSubmitted::decode_log_data(log.data()) {
                        self.open.insert(e.taskId, e.commitDeadline);
                    }
                } else if topic == Some(CommitReveal::TaskFinalized::SIGNATURE_HASH)
                    && log.address() == suite.commit_reveal
                {
                    if let Ok(e) = CommitReveal::TaskFinalized::decode_log_data(log.data()) {
                        self.open.remove(&e.taskId);
                    }
                }
            }
            self.next_block = to + 1;
        }
        Ok(())
    }

    /// Finalizes the tasks that are overdue at time `now`, in batches within
    /// `gas_budget`. Returns how many this keeper finalized.
    ///
    /// # Errors
    /// The first error that is not another keeper finalizing the same tasks.
    pub async fn finalize_overdue(
        &mut self,
        submitter: &Submitter,
        suite: &Suite,
        now: u64,
        gas_budget: u64,
        metrics: &Metrics,
    ) -> Result<u64, ClientError> {
        let conn = submitter.connection();
        let mut due = Vec::new();
        let candidates: Vec<U256> = self
            .open
            .iter()
            .filter(|(_, &commit_deadline)| now > commit_deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in candidates {
            let t = conn
                .view(suite.commit_reveal, &CommitReveal::taskCall { taskId: id })
                .await?;
            let (status, n, committed, revealed, commit_deadline, reveal_deadline) =
                (t._0, t._1, t._2, t._3, t._4, t._5);
            if status != 1 {
                self.open.remove(&id);
                continue;
            }
            let ready = revealed == n
                || now > reveal_deadline
                || (now > commit_deadline && revealed == committed);
            if ready {
                due.push(id);
            }
        }
        let mut finalized = 0;
        while !due.is_empty() {
            let mut batch = due.clone();
            loop {
                let call = CommitReveal::finalizeManyCall {
                    taskIds: batch.clone(),
                };
                let gas = conn
                    .estimate(suite.commit_reveal, call.abi_encode().into(), U256::ZERO)
                    .await?;
                if gas <= gas_budget || batch.len() == 1 {
                    break;
                }
                batch.truncate(batch.len() / 2);
            }
            due.drain(..batch.len());
            let call = CommitReveal::finalizeManyCall {
                taskIds: batch.clone(),
            };
            // Another keeper may have closed them meanwhile: then there is nothing to send.
            if conn.view(suite.commit_reveal, &call).await? == 0 {
                for id in &batch {
                    self.open.remove(id);
                }
                continue;
            }
            let receipt = submitter
                .send(suite.commit_reveal, call.abi_encode().into())
                .await?;
            metrics.record_tx(receipt.gas_used, receipt.effective_gas_price);
            for log in receipt.inner.logs() {
                if log.topics().first() == Some(&CommitReveal::TaskFinalized::SIGNATURE_HASH) {
                    if let Ok(e) = CommitReveal::TaskFinalized::decode_log_data(log.data()) {
                        self.open.remove(&e.taskId);
                        finalized += 1;
                        tracing::info!(task_id = %e.taskId, status = e.status, "overdue task finalized");
                    }
                }
            }
            tracing::info!(
                tasks = batch.len(),
                gas_used = receipt.gas_used,
                "finalizeMany mined"
            );
        }
        metrics
            .tasks_finalized
            .fetch_add(finalized, Ordering::Relaxed);
        Ok(finalized)
    }
}
