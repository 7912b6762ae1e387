//! Moving one task through commit-reveal. Each step reads the chain's view of the seat
//! first, so a step repeated after a crash or a duplicate event sends nothing twice:
//! a commitment already on chain moves the record on; a window that closed ends it.

use std::sync::{atomic::Ordering, Arc};

use alloy::rpc::types::TransactionReceipt;
use alloy_sol_types::SolCall;
use cor_abi::CommitReveal;
use cor_client::{submit::Submitter, ClientError, Suite};

use crate::{
    metrics::Metrics,
    store::{Answer, Outcome, Stage, Store, StoreError, TaskRecord},
};

/// Why a step failed (it is tried again next round).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A call or transaction failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record in a stage that needs an answer has none.
    #[error("task {0}: stored without its answer")]
    NoAnswer(alloy_primitives::U256),
}

/// Seat states in `CommitReveal.seat`.
const SEAT_COMMITTED: u8 = 1;
const SEAT_REVEALED: u8 = 2;
/// Round statuses in `CommitReveal.task` from which the round is over.
const ROUND_FINAL: u8 = 2;

/// Sends commits and reveals and records each step.
#[derive(Debug)]
pub struct Rounds {
    submitter: Submitter,
    suite: Suite,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    output_base: String,
}

impl Rounds {
    /// Steps signed by `submitter`; reveals point at `output_base/outputs/<hash>`.
    pub fn new(
        submitter: Submitter,
        suite: Suite,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        output_base: String,
    ) -> Self {
        Self {
            submitter,
            suite,
            store,
            metrics,
            output_base,
        }
    }

    /// Where the output with `hash` is served.
    pub fn output_uri(&self, hash: alloy_primitives::B256) -> String {
        format!("{}/outputs/{hash}", self.output_base)
    }

    /// Takes `record` as far as the chain allows now (chain time `now`): commit an
    /// answered task, reveal a committed one once the reveal window opens, close a
    /// revealed one once it is finalized. Assigned tasks are the inference worker's.
    ///
    /// # Errors
    /// [`StepError`]; the record stays where it was.
    pub async fn advance(&self, record: &mut TaskRecord, now: u64) -> Result<(), StepError> {
        match record.stage {
            Stage::Answered => self.commit(record).await,
            Stage::Committed => self.reveal(record, now).await,
            Stage::Revealed => self.settle(record).await,
            Stage::Assigned | Stage::Done(_) => Ok(()),
        }
    }

    fn set(&self, record: &mut TaskRecord, stage: Stage) -> Result<(), StepError> {
        match &stage {
            Stage::Done(Outcome::MissedCommit | Outcome::MissedReveal) => {
                self.metrics.missed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(task = %record.task_id, outcome = ?stage, "task missed");
            }
            Stage::Done(Outcome::Agreed) => {
                self.metrics.agreed.fetch_add(1, Ordering::Relaxed);
            }
            Stage::Done(Outcome::NotAgreed) => {
                self.metrics.not_agreed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        record.stage = stage;
        self.store.put(record, None)?;
        Ok(())
    }

    async fn seat_state(&self, record: &TaskRecord) -> Result<u8, ClientError> {
        Ok(self
            .submitter
            .connection()
            .view(
                self.suite.commit_reveal,
                &CommitReveal::seatCall {
                    taskId: record.task_id,
                    index: record.seat,
                },
            )
            .await?
            ._1)
    }

    async fn round(&self, record: &TaskRecord) -> Result<CommitReveal::taskReturn, ClientError> {
        self.submitter
            .connection()
            .view(
                self.suite.commit_reveal,
                &CommitReveal::taskCall {
                    taskId: record.task_id,
                },
            )
            .await
    }

    /// Sends `call` to CommitReveal through the node's one submitter (one nonce
    /// sequence) and counts the transaction and its gas.
    async fn send<C: SolCall>(&self, call: &C) -> Result<TransactionReceipt, ClientError> {
        let receipt = self
            .submitter
            .send(self.suite.commit_reveal, call.abi_encode().into())
            .await?;
        self.metrics.record_tx(receipt.gas_used);
        Ok(receipt)
    }

    async fn commit(&self, record: &mut TaskRecord) -> Result<(), StepError> {
        let answer = answer_of(record)?;
        if self.seat_state(record).await? >= SEAT_COMMITTED {
            // Sent before a restart, or by a duplicate: the chain has it.
            return self.set(record, Stage::Committed);
        }
        let call = CommitReveal::commitCall {
            taskId: record.task_id,
            commitment: answer.commitment,
        };
        match self.send(&call).await {
            Ok(receipt) => {
                self.metrics.committed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(task = %record.task_id, seat = record.seat, commitment = %answer.commitment, gas = receipt.gas_used, "committed");
                self.set(record, Stage::Committed)
            }
            Err(e) if reverted_with(&e, "AlreadyCommitted") => self.set(record, Stage::Committed),
            Err(e) if reverted_with(&e, "OutsideWindow") || reverted_with(&e, "TaskClosed") => {
                self.set(record, Stage::Done(Outcome::MissedCommit))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn reveal(&self, record: &mut TaskRecord, now: u64) -> Result<(), StepError> {
        let answer = answer_of(record)?;
        if self.seat_state(record).await? >= SEAT_REVEALED {
            self.set(record, Stage::Revealed)?;
            return self.settle(record).await;
        }
        let round = self.round(record).await?;
        if round._0 >= ROUND_FINAL || now >= record.reveal_deadline {
            return self.set(record, Stage::Done(Outcome::MissedReveal));
        }
        let all_committed = round._2 >= round._1;
        if !all_committed && now < round._4 {
            return Ok(()); // the reveal window opens at the commit deadline
        }
        let uri = self.output_uri(answer.output_hash);
        let call = CommitReveal::revealCall {
            taskId: record.task_id,
            outputHash: answer.output_hash,
            fingerprint: answer.fingerprint,
            score: answer.score,
            outputUri: uri.clone().into_bytes().into(),
            salt: answer.salt,
        };
        match self.send(&call).await {
            Ok(receipt) => {
                self.metrics.revealed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(task = %record.task_id, seat = record.seat, output = %answer.output_hash, %uri, gas = receipt.gas_used, "revealed");
                self.set(record, Stage::Revealed)?;
                self.finalize_if_last(record).await;
                self.settle(record).await
            }
            Err(e) if reverted_with(&e, "AlreadyRevealed") => self.set(record, Stage::Revealed),
            Err(e) if reverted_with(&e, "TaskClosed") => {
                self.set(record, Stage::Done(Outcome::MissedReveal))
            }
            Err(e) if reverted_with(&e, "OutsideWindow") && now >= record.reveal_deadline => {
                self.set(record, Stage::Done(Outcome::MissedReveal))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After this miner's reveal completed the set, closes the task at once (otherwise
    /// the keeper does after the reveal deadline). Best effort: a failure is logged.
    async fn finalize_if_last(&self, record: &TaskRecord) {
        let ready = match self.round(record).await {
            Ok(round) => round._0 < ROUND_FINAL && round._3 >= round._1,
            Err(_) => false,
        };
        if !ready {
            return;
        }
        let call = CommitReveal::finalizeCall {
            taskId: record.task_id,
        };
        match self.send(&call).await {
            Ok(receipt) => {
                tracing::info!(task = %record.task_id, gas = receipt.gas_used, "finalized (last reveal)");
            }
            Err(e) => {
                self.metrics.rpc_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(task = %record.task_id, error = %e, "finalize after the last reveal failed; the keeper will close it");
            }
        }
    }

    async fn settle(&self, record: &mut TaskRecord) -> Result<(), StepError> {
        let round = self.round(record).await?;
        if round._0 < ROUND_FINAL {
            return Ok(());
        }
        let agreed = round._6 & (1u8 << record.seat) != 0;
        tracing::info!(task = %record.task_id, agreed, status = round._0, "task finalized");
        let outcome = if agreed {
            Outcome::Agreed
        } else {
            Outcome::NotAgreed
        };
        self.set(record, Stage::Done(outcome))
    }
}

/// The answer computed for the task: every step after `Answered` needs it.
fn answer_of(record: &TaskRecord) -> Result<Answer, StepError> {
    record
        .answer
        .clone()
        .ok_or(StepError::NoAnswer(record.task_id))
}

fn reverted_with(e: &ClientError, name: &str) -> bool {
    e.revert().is_some_and(|r| r.is(name))
}
