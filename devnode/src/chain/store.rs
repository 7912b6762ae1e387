//! Persistence: an append-only log of chain records in the state directory.
//!
//! Each record is `u32 length (LE) | 32-byte keccak of the payload | JSON payload`, and is
//! fsynced before the call that produced it returns, so a mined block survives `kill -9`.
//! On open, records are replayed in order; a torn or corrupt tail (a crash mid-write) is
//! cut off, and everything before it is kept.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use alloy_primitives::keccak256;
use serde::{Deserialize, Serialize};

use super::block::Block;
use crate::evm::state::StateDiff;

/// File name of the log inside the state directory.
pub const LOG_FILE: &str = "chain.log";

/// Largest record accepted when reading (guards against a corrupt length).
const MAX_RECORD: u32 = 512 * 1024 * 1024;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("state directory {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("encoding a record: {0}")]
    Encode(#[from] serde_json::Error),
    /// A complete record does not decode (written by another version?).
    #[error("state log record at byte {offset} does not decode: {reason}")]
    Corrupt {
        /// Where the record starts.
        offset: usize,
        /// The decoder's complaint.
        reason: String,
    },
}

/// One entry of the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// The chain's identity and genesis state (always first).
    Genesis {
        /// Chain id.
        chain_id: u64,
        /// Genesis block.
        block: Block,
        /// Genesis state.
        state: StateDiff,
    },
    /// A mined block and the state changes of its transactions, in order.
    Block {
        /// The block.
        block: Block,
        /// The state changes of each transaction.
        diffs: Vec<StateDiff>,
    },
    /// A state change outside a transaction (`anvil_setBalance`, `anvil_setCode`).
    State {
        /// The change.
        diff: StateDiff,
    },
    /// A rollback (`evm_revert`): blocks after `head` are dropped and the state replaced.
    Revert {
        /// The block that is the head after the revert.
        head: u64,
        /// The full state after the revert.
        state: StateDiff,
    },
    /// The clock offset (`evm_increaseTime`).
    Clock {
        /// Seconds added to the wall clock.
        offset: i64,
    },
}

/// The open log.
#[derive(Debug)]
pub struct Store {
    file: File,
    path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens (creating if needed) the log in `dir` and returns it with the records it holds.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory or file cannot be used.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Record>), StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let (records, good) = parse(&bytes)?;
        if good < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                kept = good,
                dropped = bytes.len() - good,
                "state log has a torn tail (crash during a write); dropping it"
            );
            file.set_len(good as u64).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(&path))?;
        if let Ok(dir_handle) = File::open(dir) {
            let _ = dir_handle.sync_all();
        }
        Ok((Self { file, path }, records))
    }

    /// Appends a record and waits until it is on disk.
    ///
    /// # Errors
    /// [`StoreError`] when encoding or writing fails.
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        let payload = serde_json::to_vec(record)?;
        let mut frame = Vec::with_capacity(payload.len() + 36);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(keccak256(&payload).as_slice());
        frame.extend_from_slice(&payload);
        self.file.write_all(&frame).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Replaces the whole log with `records` (atomically, through a temporary file).
    ///
    /// # Errors
    /// [`StoreError`] when encoding or writing fails.
    pub fn rewrite(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("log.tmp");
        {
            let mut out = File::create(&tmp).map_err(io(&tmp))?;
            for record in records {
                let payload = serde_json::to_vec(record)?;
                out.write_all(&(payload.len() as u32).to_le_bytes())
                    .map_err(io(&tmp))?;
                out.write_all(keccak256(&payload).as_slice())
                    .map_err(io(&tmp))?;
                out.write_all(&payload).map_err(io(&tmp))?;
            }
            out.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        if let Some(dir) = self.path.parent() {
            if let Ok(dir_handle) = File::open(dir) {
                let _ = dir_handle.sync_all();
            }
        }
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        Ok(())
    }
}

/// Parses records from the start of `bytes`; returns them and the length of the good part.
/// A record whose checksum holds but which does not decode is an error, not a torn tail:
/// it is never cut off.
fn parse(bytes: &[u8]) -> Result<(Vec<Record>, usize), StoreError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= 36 {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if len > MAX_RECORD {
            break;
        }
        let start = at + 36;
        let Some(end) = start
            .checked_add(len as usize)
            .filter(|e| *e <= bytes.len())
        else {
            break;
        };
        let payload = &bytes[start..end];
        if keccak256(payload).as_slice() != &bytes[at + 4..at + 36] {
            break;
        }
        match serde_json::from_slice::<Record>(payload) {
            Ok(record) => records.push(record),
            Err(e) => {
                return Err(StoreError::Corrupt {
                    offset: at,
                    reason: e.to_string(),
                })
            }
        }
        at = end;
    }
    Ok((records, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cor-devnode-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn records_survive_reopening_and_torn_tails_are_cut() {
        let dir = temp_dir("torn");
        let (mut store, records) = Store::open(&dir).unwrap();
        assert!(records.is_empty());
        store.append(&Record::Clock { offset: 5 }).unwrap();
        store.append(&Record::Clock { offset: 9 }).unwrap();
        drop(store);
        // Simulate a crash in the middle of a third write.
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(file);
        let (mut store, records) = Store::open(&dir).unwrap();
        assert_eq!(
            records,
            vec![Record::Clock { offset: 5 }, Record::Clock { offset: 9 }]
        );
        store.append(&Record::Clock { offset: 1 }).unwrap();
        drop(store);
        let (_, records) = Store::open(&dir).unwrap();
        assert_eq!(records.len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rewrite_replaces_the_log() {
        let dir = temp_dir("rewrite");
        let (mut store, _) = Store::open(&dir).unwrap();
        store.append(&Record::Clock { offset: 5 }).unwrap();
        store.rewrite(&[Record::Clock { offset: 7 }]).unwrap();
        store.append(&Record::Clock { offset: 8 }).unwrap();
        drop(store);
        let (_, records) = Store::open(&dir).unwrap();
        assert_eq!(
            records,
            vec![Record::Clock { offset: 7 }, Record::Clock { offset: 8 }]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_payloads_stop_the_replay() {
        let dir = temp_dir("corrupt");
        let (mut store, _) = Store::open(&dir).unwrap();
        store.append(&Record::Clock { offset: 5 }).unwrap();
        store.append(&Record::Clock { offset: 6 }).unwrap();
        drop(store);
        let path = dir.join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = Store::open(&dir).unwrap();
        assert_eq!(records, vec![Record::Clock { offset: 5 }]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
