//! The ten COR programs and their built code.
//!
//! `cargo contracts build` writes each program's deployable code (the Stylus prefix and the
//! brotli-compressed WASM) to `<target>/contracts/<artifact>.code`. Deployment sends that
//! code; verification compares the code hash on chain with the hash of that file.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use alloy_primitives::{keccak256, Bytes, B256};
use serde::{Deserialize, Serialize};

/// One of the suite's programs, in deployment order (each one's constructor only names
/// programs before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Program {
    /// The COR ERC-20 token.
    CorToken,
    /// Node registration, stakes, models and the epoch clock.
    NodePool,
    /// Prices and payment splits.
    SessionPaymentTable,
    /// Escrow, settlement and payouts.
    SessionPayment,
    /// Staking for quota.
    StakeQuota,
    /// Node counters, agreement rate and levels.
    NodeReputation,
    /// Epoch rewards.
    NodeReward,
    /// Scores a finished round and applies its consequences.
    ConsensusEngine,
    /// The commit-reveal round of each task.
    CommitReveal,
    /// Sessions, task intake and miner assignment.
    SessionQueue,
}

impl Program {
    /// Every program, in deployment order.
    pub const ALL: [Program; 10] = [
        Program::CorToken,
        Program::NodePool,
        Program::SessionPaymentTable,
        Program::SessionPayment,
        Program::StakeQuota,
        Program::NodeReputation,
        Program::NodeReward,
        Program::ConsensusEngine,
        Program::CommitReveal,
        Program::SessionQueue,
    ];

    /// The contract's name, as in the ABI files and the deployments file.
    pub const fn name(self) -> &'static str {
        match self {
            Program::CorToken => "CorToken",
            Program::NodePool => "NodePool",
            Program::SessionPaymentTable => "SessionPaymentTable",
            Program::SessionPayment => "SessionPayment",
            Program::StakeQuota => "StakeQuota",
            Program::NodeReputation => "NodeReputation",
            Program::NodeReward => "NodeReward",
            Program::ConsensusEngine => "ConsensusEngine",
            Program::CommitReveal => "CommitReveal",
            Program::SessionQueue => "SessionQueue",
        }
    }

    /// The stem of the build's files (`<artifact>.code`, `<artifact>.wasm`).
    pub const fn artifact(self) -> &'static str {
        match self {
            Program::CorToken => "cor_token",
            Program::NodePool => "node_pool",
            Program::SessionPaymentTable => "session_payment_table",
            Program::SessionPayment => "session_payment",
            Program::StakeQuota => "stake_quota",
            Program::NodeReputation => "node_reputation",
            Program::NodeReward => "node_reward",
            Program::ConsensusEngine => "consensus_engine",
            Program::CommitReveal => "commit_reveal",
            Program::SessionQueue => "session_queue",
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the built programs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProgramsError {
    /// A program's code file is missing or unreadable.
    #[error(
        "cannot read {program}'s built code at {path}: {source}; build the contracts first \
         with `cargo contracts build` (same CARGO_TARGET_DIR)"
    )]
    Read {
        /// The program.
        program: Program,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A code file does not start with the Stylus prefix, or is too long to deploy.
    #[error("{path} is not deployable Stylus code (no EFF000 prefix, or over 64 KiB)")]
    NotStylus {
        /// The file.
        path: PathBuf,
    },
}

/// The deployable code of every program.
#[derive(Clone, Debug)]
pub struct Programs {
    codes: Vec<Bytes>,
}

impl Programs {
    /// Where `cargo contracts build` puts the code: `$CARGO_TARGET_DIR/contracts`, or
    /// `target/contracts` under `workspace_root`.
    pub fn default_dir(workspace_root: &Path) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir).join("contracts"),
            None => workspace_root.join("target").join("contracts"),
        }
    }

    /// Reads every program's code from `dir`.
    ///
    /// # Errors
    /// [`ProgramsError::Read`] for a missing file, [`ProgramsError::NotStylus`] for a file
    /// that is not Stylus code.
    pub fn load(dir: &Path) -> Result<Self, ProgramsError> {
        let mut codes = Vec::with_capacity(Program::ALL.len());
        for program in Program::ALL {
            let path = dir.join(format!("{}.code", program.artifact()));
            let code = std::fs::read(&path).map_err(|source| ProgramsError::Read {
                program,
                path: path.clone(),
                source,
            })?;
            if !code.starts_with(&[0xef, 0xf0, 0x00]) || code.len() > usize::from(u16::MAX) {
                return Err(ProgramsError::NotStylus { path });
            }
            codes.push(code.into());
        }
        Ok(Self { codes })
    }

    /// The deployable code of `program`.
    pub fn code(&self, program: Program) -> &Bytes {
        &self.codes[program as usize]
    }

    /// The hash of `program`'s code, what `eth_getCode` returns hashed once deployed.
    pub fn code_hash(&self, program: Program) -> B256 {
        keccak256(self.code(program))
    }

    /// EVM init code that returns `program`'s code (the StylusDeployer's `bytecode`).
    pub fn init_code(&self, program: Program) -> Bytes {
        // `load` refuses code over 64 KiB, so this always has a value.
        cor_abi::stylus::deployment_init_code(self.code(program))
            .unwrap_or_default()
            .into()
    }
}
