//! The deployments file (`deployments/<chain-id>.json`): where each program lives, the
//! hash of its code, and the transactions that built and wired the suite. It is written
//! after every step (to a temporary file, synced, then renamed), and a transaction's hash
//! is recorded before the transaction is sent, so a deployment killed at any point
//! resumes without repeating or losing a step.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{params::DeployParams, programs::Program};

/// Why the deployments file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a deployments record.
    #[error("{path} is not a COR deployments file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A program the caller needs is not in the file.
    #[error("{path} has no address for {program}: the deployment is not finished")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The program.
        program: Program,
    },
}

/// A deployed program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedProgram {
    /// Its address.
    pub address: Address,
    /// keccak-256 of its code (what `eth_getCode` returns).
    pub code_hash: B256,
    /// The deploying transaction.
    pub tx_hash: B256,
    /// The block it was deployed in.
    pub block: u64,
}

/// A finished step other than a program deployment (wiring, models, funding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneStep {
    /// Its transaction; `None` when the chain already had the state it sets.
    pub tx_hash: Option<B256>,
    /// The block it was mined in.
    pub block: Option<u64>,
}

/// A transaction signed and recorded but not yet known to be mined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTx {
    /// The step it belongs to.
    pub step: String,
    /// Its hash.
    pub tx_hash: B256,
    /// Its nonce.
    pub nonce: u64,
}

/// The whole record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The chain's id.
    pub chain_id: u64,
    /// The account that deployed and owns the suite.
    pub deployer: Address,
    /// The parameters, as resolved at the first run (epoch genesis filled in).
    pub params: DeployParams,
    /// Deployed programs by name.
    pub contracts: BTreeMap<Program, DeployedProgram>,
    /// Other finished steps by key.
    pub steps: BTreeMap<String, DoneStep>,
    /// The transaction in flight, if the last run stopped while one was.
    pub pending: Option<PendingTx>,
    /// True once every step is done.
    pub complete: bool,
}

impl Deployment {
    /// A new, empty record.
    pub fn new(chain_id: u64, deployer: Address, params: DeployParams) -> Self {
        Self {
            chain_id,
            deployer,
            params,
            contracts: BTreeMap::new(),
            steps: BTreeMap::new(),
            pending: None,
            complete: false,
        }
    }

    /// The default path for a chain: `<dir>/<chain-id>.json`.
    pub fn path_for(dir: &Path, chain_id: u64) -> PathBuf {
        dir.join(format!("{chain_id}.json"))
    }

    /// Reads a record; `Ok(None)` when the file does not exist.
    ///
    /// # Errors
    /// [`DeploymentFileError::Io`], [`DeploymentFileError::Format`].
    pub fn load(path: &Path) -> Result<Option<Self>, DeploymentFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(DeploymentFileError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| DeploymentFileError::Format {
                path: path.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Writes the record durably: a synced temporary file renamed over `path`.
    ///
    /// # Errors
    /// [`DeploymentFileError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), DeploymentFileError> {
        let io = |source| DeploymentFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(e.into()))?;
        text.push('\n');
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// The address of `program`, if deployed.
    pub fn address(&self, program: Program) -> Option<Address> {
        self.contracts.get(&program).map(|c| c.address)
    }

    /// Every program's address, when all are deployed.
    ///
    /// # Errors
    /// [`DeploymentFileError::Missing`] naming the first program that is not.
    pub fn suite(&self) -> Result<Suite, DeploymentFileError> {
        let get = |program| {
            self.address(program)
                .ok_or_else(|| DeploymentFileError::Missing {
                    path: PathBuf::from(format!("deployments/{}.json", self.chain_id)),
                    program,
                })
        };
        Ok(Suite {
            token: get(Program::CorToken)?,
            node_pool: get(Program::NodePool)?,
            table: get(Program::SessionPaymentTable)?,
            payment: get(Program::SessionPayment)?,
            quota: get(Program::StakeQuota)?,
            reputation: get(Program::NodeReputation)?,
            reward: get(Program::NodeReward)?,
            engine: get(Program::ConsensusEngine)?,
            commit_reveal: get(Program::CommitReveal)?,
            session_queue: get(Program::SessionQueue)?,
        })
    }
}

/// The addresses of a deployed suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    /// CorToken.
    pub token: Address,
    /// NodePool.
    pub node_pool: Address,
    /// SessionPaymentTable.
    pub table: Address,
    /// SessionPayment.
    pub payment: Address,
    /// StakeQuota.
    pub quota: Address,
    /// NodeReputation.
    pub reputation: Address,
    /// NodeReward.
    pub reward: Address,
    /// ConsensusEngine.
    pub engine: Address,
    /// CommitReveal.
    pub commit_reveal: Address,
    /// SessionQueue.
    pub session_queue: Address,
}

impl Suite {
    /// The address of `program`.
    pub fn address(&self, program: Program) -> Address {
        match program {
            Program::CorToken => self.token,
            Program::NodePool => self.node_pool,
            Program::SessionPaymentTable => self.table,
            Program::SessionPayment => self.payment,
            Program::StakeQuota => self.quota,
            Program::NodeReputation => self.reputation,
            Program::NodeReward => self.reward,
            Program::ConsensusEngine => self.engine,
            Program::CommitReveal => self.commit_reveal,
            Program::SessionQueue => self.session_queue,
        }
    }

    /// Names every address on `connection`, so reverts decode with the callee's ABI.
    pub fn label(&self, connection: &crate::Connection) {
        for program in Program::ALL {
            connection.label(self.address(program), program.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_file() {
        let dir = std::env::temp_dir().join(format!("cor-deployment-test-{}", std::process::id()));
        let path = Deployment::path_for(&dir, 412_346);
        assert!(Deployment::load(&path).unwrap().is_none());
        let mut record =
            Deployment::new(412_346, Address::with_last_byte(1), DeployParams::default());
        record.contracts.insert(
            Program::NodePool,
            DeployedProgram {
                address: Address::with_last_byte(2),
                code_hash: B256::with_last_byte(3),
                tx_hash: B256::with_last_byte(4),
                block: 5,
            },
        );
        record.pending = Some(PendingTx {
            step: "wire".to_owned(),
            tx_hash: B256::with_last_byte(6),
            nonce: 7,
        });
        record.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap().unwrap(), record);
        assert!(record.suite().is_err());
        std::fs::write(&path, "{\"chain_id\": 1}").unwrap();
        assert!(matches!(
            Deployment::load(&path),
            Err(DeploymentFileError::Format { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
