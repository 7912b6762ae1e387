//! The miner's durable memory: for every assigned task, the answer and the salt are
//! written (and synced to disk by redb's immediate durability) **before** the commit
//! transaction is sent, then each step's transaction hash before it is broadcast. A
//! miner killed at any point restarts from this record: it reveals what it committed,
//! never commits twice, and still serves the outputs it revealed.

use std::path::Path;

use alloy_primitives::{B256, U256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Task id (32 bytes, big-endian) -> JSON [`TaskRecord`].
const TASKS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("tasks");
/// Output hash -> output bytes, served at `/outputs/<hash>`.
const OUTPUTS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("outputs");
/// Named numbers: the last block whose assignments were processed.
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

/// Where a task stands for this miner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Answer computed and stored; nothing sent.
    Answered,
    /// Commit transaction signed and recorded (maybe sent).
    CommitSent(B256),
    /// Commit mined.
    Committed,
    /// Reveal transaction signed and recorded (maybe sent).
    RevealSent(B256),
    /// Reveal mined.
    Revealed,
    /// Nothing more to do (finalized, or the windows closed).
    Done,
}

/// What the miner knows about one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub task_id: U256,
    /// The miner's seat.
    pub seat: u8,
    /// The output's keccak-256.
    pub output_hash: B256,
    /// Its SimHash.
    pub fingerprint: B256,
    /// Its score (grading tasks).
    pub score: u64,
    /// The commitment's salt: secret until the reveal.
    pub salt: B256,
    /// The commitment sent.
    pub commitment: B256,
    /// Commit deadline (unix seconds).
    pub commit_deadline: u64,
    /// Reveal deadline (unix seconds).
    pub reveal_deadline: u64,
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
            if let Some(bytes) = output {
                let mut outputs = tx.open_table(OUTPUTS).map_err(fail)?;
                outputs.insert(&record.output_hash.0, bytes).map_err(fail)?;
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

    /// Every task not [`Stage::Done`], oldest id first: what a restarted miner resumes.
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
            if record.stage != Stage::Done {
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
        Ok(outputs.get(&hash.0).map_err(fail)?.map(|v| v.value().to_vec()))
    }

    /// The last block whose assignments were fully processed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn cursor(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read().map_err(fail)?;
        let meta = tx.open_table(META).map_err(fail)?;
        Ok(meta.get("cursor").map_err(fail)?.map(|v| v.value()))
    }

    /// Records that assignments up to `block` are processed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn set_cursor(&self, block: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(fail)?;
        {
            let mut meta = tx.open_table(META).map_err(fail)?;
            meta.insert("cursor", block).map_err(fail)?;
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
            output_hash: keccak256(b"Paris"),
            fingerprint: B256::with_last_byte(7),
            score: 0,
            salt: B256::with_last_byte(9),
            commitment: B256::with_last_byte(11),
            commit_deadline: 100,
            reveal_deadline: 200,
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
            assert!(store.set_stage(U256::from(2u64), Stage::Done).unwrap());
            assert!(!store.set_stage(U256::from(3u64), Stage::Done).unwrap());
            store.set_cursor(42).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get(U256::from(1u64)).unwrap(), Some(record(1)));
        let unfinished = store.unfinished().unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].task_id, U256::from(1u64));
        assert_eq!(
            store.output(keccak256(b"Paris")).unwrap().as_deref(),
            Some(&b"Paris"[..])
        );
        assert_eq!(store.output(B256::ZERO).unwrap(), None);
        assert_eq!(store.cursor().unwrap(), Some(42));
    }

    #[test]
    fn a_second_process_cannot_open_the_same_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.redb");
        let _first = Store::open(&path).unwrap();
        assert!(matches!(Store::open(&path), Err(StoreError::Db(_))));
    }
}
