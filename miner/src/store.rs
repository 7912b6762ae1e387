//! The miner's durable memory. Every assignment is recorded when first seen (before the
//! block cursor moves past it); the answer, its salt and the commitment are written (and
//! synced to disk: redb commits with immediate durability) **before** the commit
//! transaction is sent; each later step after its receipt. A miner killed at any point
//! restarts from this record and the chain's view of its seat: it reveals what it
//! committed, never commits twice, and still serves the outputs it revealed.

use std::path::Path;

use alloy_primitives::{B256, U256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Task id (32 bytes, big-endian) -> JSON [`TaskRecord`].
const TASKS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("tasks");
/// Output hash -> output bytes, served at `/outputs/<hash>`.
const OUTPUTS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("outputs");
/// Named numbers: `cursor` (the last block whose assignments were processed),
/// `reward_epoch` (the first epoch whose rewards are not claimed yet).
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("miner store: {0}")]
    Db(String),
    /// A record did not decode (written by an incompatible version).
    #[error("miner store: record for task {task} is unreadable: {reason}")]
    Corrupt {
        /// The task.
        task: U256,
        /// The decoder's message.
        reason: String,
    },
}

fn fail<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// How a task ended for this miner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Finalized with this miner's output among the agreeing ones.
    Agreed,
    /// Finalized (resolved or not) without this miner agreeing.
    NotAgreed,
    /// Not answered: bad input, unserved model, inference failure (the reason).
    Skipped(String),
    /// The commit window closed before the commitment was sent.
    MissedCommit,
    /// The reveal window closed before the reveal was sent.
    MissedReveal,
}

/// Where a task stands for this miner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Assigned; no answer yet.
    Assigned,
    /// Answer, salt and commitment stored; commitment not known to be on chain.
    Answered,
    /// Commitment on chain.
    Committed,
    /// Reveal on chain.
    Revealed,
    /// Nothing more to do.
    Done(Outcome),
}

/// What the miner committed to (secret until the reveal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The output's keccak-256 (the output bytes are kept by hash).
    pub output_hash: B256,
    /// Its SimHash.
    pub fingerprint: B256,
    /// Its score (Median tasks).
    pub score: u64,
    /// The commitment's salt.
    pub salt: B256,
    /// The commitment.
    pub commitment: B256,
    /// Tokens generated.
    pub tokens: u32,
    /// Inference wall time, milliseconds.
    pub inference_ms: u64,
}

/// What the miner knows about one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub task_id: U256,
    /// The miner's seat.
    pub seat: u8,
    /// The session.
    pub session_id: u64,
    /// The model.
    pub model_id: u32,
    /// The session's consensus method (0 Exact, 1 Similarity, 2 Median, 3 Weighted).
    pub consensus: u8,
    /// keccak-256 of the input.
    pub input_hash: B256,
    /// Where the input is.
    pub input_uri: String,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Commit deadline (unix seconds).
    pub commit_deadline: u64,
    /// Reveal deadline (unix seconds).
    pub reveal_deadline: u64,
    /// The answer, once computed.
    pub answer: Option<Answer>,
    /// Progress.
    pub stage: Stage,
}

/// The store (one redb file).
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens or creates the store at `path`.
    ///
    /// # Errors
    /// [`StoreError::Db`] (also when another process has it open).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let db = Database::create(path).map_err(fail)?;
        let tx = db.begin_write().map_err(fail)?;
        tx.open_table(TASKS).map_err(fail)?;
        tx.open_table(OUTPUTS).map_err(fail)?;
        tx.open_table(META).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(Self { db })
    }

    /// Records a newly seen assignment unless the task is known already; `false` for a
    /// duplicate (an event seen twice, by the subscription and the poll).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn insert_new(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(record).map_err(fail)?;
        let tx = self.db.begin_write().map_err(fail)?;
        let fresh = {
            let mut tasks = tx.open_table(TASKS).map_err(fail)?;
            let key = record.task_id.to_be_bytes::<32>();
            let known = tasks.get(&key).map_err(fail)?.is_some();
            if !known {
                tasks.insert(&key, json.as_slice()).map_err(fail)?;
            }
            !known
        };
        tx.commit().map_err(fail)?;
        Ok(fresh)
    }

    /// Records `record` and, when given, its output, in one durable transaction.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn put(&self, record: &TaskRecord, output: Option<&[u8]>) -> Result<(), StoreError> {
        let json = serde_json::to_vec(record).map_err(fail)?;
        let tx = self.db.begin_write().map_err(fail)?;
        {
            let mut tasks = tx.open_table(TASKS).map_err(fail)?;
            tasks
                .insert(&record.task_id.to_be_bytes::<32>(), json.as_slice())
                .map_err(fail)?;
            if let (Some(bytes), Some(answer)) = (output, &record.answer) {
                let mut outputs = tx.open_table(OUTPUTS).map_err(fail)?;
                outputs.insert(&answer.output_hash.0, bytes).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }

    /// Moves a recorded task to `stage`.
    ///
    /// # Errors
    /// [`StoreError`]; `Ok(false)` when the task is unknown.
    pub fn set_stage(&self, task: U256, stage: Stage) -> Result<bool, StoreError> {
        let Some(mut record) = self.get(task)? else {
            return Ok(false);
        };
        record.stage = stage;
        self.put(&record, None)?;
        Ok(true)
    }

    /// The record of `task`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn get(&self, task: U256) -> Result<Option<TaskRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(fail)?;
        let tasks = tx.open_table(TASKS).map_err(fail)?;
        let Some(value) = tasks.get(&task.to_be_bytes::<32>()).map_err(fail)? else {
            return Ok(None);
        };
        serde_json::from_slice(value.value())
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                task,
                reason: e.to_string(),
            })
    }

    /// Every task not [`Stage::Done`], lowest id first: what a restarted miner resumes.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn unfinished(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(fail)?;
        let tasks = tx.open_table(TASKS).map_err(fail)?;
        let mut out = Vec::new();
        for entry in tasks.iter().map_err(fail)? {
            let (key, value) = entry.map_err(fail)?;
            let task = U256::from_be_bytes(*key.value());
            let record: TaskRecord =
                serde_json::from_slice(value.value()).map_err(|e| StoreError::Corrupt {
                    task,
                    reason: e.to_string(),
                })?;
            if !matches!(record.stage, Stage::Done(_)) {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The output whose keccak-256 is `hash`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn output(&self, hash: B256) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(fail)?;
        let outputs = tx.open_table(OUTPUTS).map_err(fail)?;
        Ok(outputs
            .get(&hash.0)
            .map_err(fail)?
            .map(|v| v.value().to_vec()))
    }

    /// The last block whose assignments were fully processed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn cursor(&self) -> Result<Option<u64>, StoreError> {
        self.meta("cursor")
    }

    /// Records that assignments up to `block` are processed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn set_cursor(&self, block: u64) -> Result<(), StoreError> {
        self.set_meta("cursor", block)
    }

    /// The first epoch whose rewards may still be unclaimed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn reward_epoch(&self) -> Result<Option<u64>, StoreError> {
        self.meta("reward_epoch")
    }

    /// Records that every epoch before `epoch` is claimed or had nothing.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn set_reward_epoch(&self, epoch: u64) -> Result<(), StoreError> {
        self.set_meta("reward_epoch", epoch)
    }

    fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read().map_err(fail)?;
        let meta = tx.open_table(META).map_err(fail)?;
        Ok(meta.get(name).map_err(fail)?.map(|v| v.value()))
    }

    fn set_meta(&self, name: &str, value: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(fail)?;
        {
            let mut meta = tx.open_table(META).map_err(fail)?;
            meta.insert(name, value).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::keccak256;

    use super::*;

    fn record(id: u64) -> TaskRecord {
        TaskRecord {
            task_id: U256::from(id),
            seat: 1,
            session_id: 1,
            model_id: 1,
            consensus: 0,
            input_hash: keccak256(b"capital of France?"),
            input_uri: "data:,capital%20of%20France%3F".into(),
            max_tokens: 16,
            commit_deadline: 100,
            reveal_deadline: 200,
            answer: Some(Answer {
                output_hash: keccak256(b"Paris"),
                fingerprint: B256::with_last_byte(7),
                score: 0,
                salt: B256::with_last_byte(9),
                commitment: B256::with_last_byte(11),
                tokens: 1,
                inference_ms: 5,
            }),
            stage: Stage::Answered,
        }
    }

    #[test]
    fn records_outputs_and_the_cursor_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.redb");
        {
            let store = Store::open(&path).unwrap();
            store.put(&record(1), Some(b"Paris")).unwrap();
            store.put(&record(2), None).unwrap();
            let done = Stage::Done(Outcome::Agreed);
            assert!(store.set_stage(U256::from(2u64), done.clone()).unwrap());
            assert!(!store.set_stage(U256::from(3u64), done).unwrap());
            // A duplicate assignment changes nothing.
            let mut again = record(1);
            again.stage = Stage::Assigned;
            assert!(!store.insert_new(&again).unwrap());
            assert!(store.insert_new(&record(4)).unwrap());
            store.set_cursor(42).unwrap();
            store.set_reward_epoch(3).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get(U256::from(1u64)).unwrap(), Some(record(1)));
        let unfinished = store.unfinished().unwrap();
        let ids: Vec<U256> = unfinished.iter().map(|r| r.task_id).collect();
        assert_eq!(ids, vec![U256::from(1u64), U256::from(4u64)]);
        assert_eq!(
            store.output(keccak256(b"Paris")).unwrap().as_deref(),
            Some(&b"Paris"[..])
        );
        assert_eq!(store.output(B256::ZERO).unwrap(), None);
        assert_eq!(store.cursor().unwrap(), Some(42));
        assert_eq!(store.reward_epoch().unwrap(), Some(3));
    }

    #[test]
    fn a_second_process_cannot_open_the_same_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.redb");
        let _first = Store::open(&path).unwrap();
        assert!(matches!(Store::open(&path), Err(StoreError::Db(_))));
    }
}
