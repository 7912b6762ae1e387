//! Deploying the suite: ten programs through the StylusDeployer (deploy, activate,
//! construct in one transaction each), the roles that wire them, the models, and the
//! reward pool's first funds, on any chain the connection reaches.
//!
//! Every step is recorded in the [`Deployment`] file before and after its transaction
//! (see [`crate::deployment`]), so [`deploy`] called again on a half-finished record
//! carries on where it stopped: a step already done is skipped, a transaction in flight
//! is looked up by its hash (and sent again if the node never saw it), and wiring steps
//! also check the chain, so nothing is set twice. [`verify`] compares the code on chain
//! with the local build.

use std::path::Path;

use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolEvent, SolValue};
use cor_abi::{
    stylus::{constructor_call, IStylusDeployer, STYLUS_DEPLOYER},
    CommitReveal, ConsensusEngine, CorToken, NodePool, NodeReputation, NodeReward, SessionPayment,
    StakeQuota,
};

use crate::{
    connection::{ClientError, Connection},
    deployment::{DeployedProgram, Deployment, DeploymentFileError, DoneStep, PendingTx},
    params::{cor, DeployParams},
    programs::{Program, Programs},
};

/// Why a deployment stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A transaction or call failed.
    #[error("step {step}: {source}")]
    Step {
        /// The step's key.
        step: String,
        /// What failed.
        source: ClientError,
    },
    /// The deployments file could not be read or written.
    #[error(transparent)]
    File(#[from] DeploymentFileError),
    /// The file belongs to another chain or deployer, or to other parameters.
    #[error("{path} records {what}; move it away to deploy afresh, or use the same settings")]
    Mismatch {
        /// The file.
        path: String,
        /// What differs.
        what: String,
    },
    /// A deployment transaction succeeded but logged no `ContractDeployed`.
    #[error("step {step}: the StylusDeployer logged no ContractDeployed in {tx_hash}")]
    NoAddress {
        /// The step.
        step: String,
        /// The transaction.
        tx_hash: B256,
    },
    /// Reading chain state failed.
    #[error("reading the chain: {0}")]
    Chain(ClientError),
}

/// What a step is doing, reported to the caller's progress callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Starting.
    Started,
    /// Nothing to do: recorded as done, or the chain already has the state it sets.
    AlreadyDone,
    /// A transaction recorded by an earlier run is being waited for.
    Recovering(B256),
    /// The step's transaction was mined.
    Mined {
        /// The transaction.
        tx_hash: B256,
        /// Gas it used.
        gas_used: u64,
        /// Its block.
        block: u64,
    },
}

/// One progress report.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// 1-based position of the step.
    pub index: usize,
    /// Number of steps.
    pub total: usize,
    /// The step, in words.
    pub step: &'a str,
    /// Its state.
    pub state: StepState,
}

/// A role given to one program in another.
#[derive(Clone, Copy, Debug)]
struct Wire {
    on: Program,
    setter: &'static str,
    to: Program,
}

const WIRES: [Wire; 8] = [
    Wire {
        on: Program::NodePool,
        setter: "setSessionQueue",
        to: Program::ConsensusEngine,
    },
    Wire {
        on: Program::NodePool,
        setter: "setRewardPool",
        to: Program::NodeReward,
    },
    Wire {
        on: Program::SessionPayment,
        setter: "setSessionQueue",
        to: Program::CommitReveal,
    },
    Wire {
        on: Program::StakeQuota,
        setter: "setSessionQueue",
        to: Program::SessionQueue,
    },
    Wire {
        on: Program::NodeReputation,
        setter: "setSessionQueue",
        to: Program::ConsensusEngine,
    },
    Wire {
        on: Program::NodeReward,
        setter: "setSessionQueue",
        to: Program::ConsensusEngine,
    },
    Wire {
        on: Program::ConsensusEngine,
        setter: "setCommitReveal",
        to: Program::CommitReveal,
    },
    Wire {
        on: Program::CommitReveal,
        setter: "setSessionQueue",
        to: Program::SessionQueue,
    },
];

#[derive(Clone, Debug)]
enum Step {
    Deploy(Program),
    Wire(Wire),
    Model(usize),
    MintRewardFund,
    ApproveRewardFund,
    FundRewards,
}

impl Step {
    fn key(&self, params: &DeployParams) -> String {
        match self {
            Step::Deploy(p) => format!("deploy:{p}"),
            Step::Wire(w) => format!("wire:{}.{}", w.on, w.setter),
            Step::Model(i) => format!("model:{}", params.models[*i].id),
            Step::MintRewardFund => "rewards:mint".to_owned(),
            Step::ApproveRewardFund => "rewards:approve".to_owned(),
            Step::FundRewards => "rewards:fund".to_owned(),
        }
    }

    fn describe(&self, params: &DeployParams) -> String {
        match self {
            Step::Deploy(p) => format!("deploy and activate {p}"),
            Step::Wire(w) => format!("{}.{}({})", w.on, w.setter, w.to),
            Step::Model(i) => {
                let m = &params.models[*i];
                format!(
                    "NodePool.setModel({}, class {}, {:?})",
                    m.id, m.class, m.name
                )
            }
            Step::MintRewardFund => format!("mint {} COR for the reward pool", params.rewards.fund),
            Step::ApproveRewardFund => "approve NodeReward to take the fund".to_owned(),
            Step::FundRewards => format!("NodeReward.fund({} COR)", params.rewards.fund),
        }
    }
}

fn plan(params: &DeployParams) -> Vec<Step> {
    let mut steps: Vec<Step> = Program::ALL.into_iter().map(Step::Deploy).collect();
    steps.extend(WIRES.into_iter().map(Step::Wire));
    steps.extend((0..params.models.len()).map(Step::Model));
    if params.rewards.fund > 0 {
        steps.extend([
            Step::MintRewardFund,
            Step::ApproveRewardFund,
            Step::FundRewards,
        ]);
    }
    steps
}

/// Deploys the suite, or finishes a half-done deployment recorded at `path`, and returns
/// the complete record (also written to `path`).
///
/// # Errors
/// [`DeployError`]; the record at `path` then says how far it got, and calling again
/// resumes.
pub async fn deploy(
    conn: &Connection,
    programs: &Programs,
    params: &DeployParams,
    path: &Path,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Deployment, DeployError> {
    params.check().map_err(|e| DeployError::Mismatch {
        path: path.display().to_string(),
        what: format!("invalid parameters ({e})"),
    })?;
    let mut record = match Deployment::load(path)? {
        Some(record) => {
            check_same(&record, conn, params, path)?;
            record
        }
        None => {
            let mut resolved = params.clone();
            if resolved.nodes.epoch_genesis == 0 {
                resolved.nodes.epoch_genesis = head_time(conn).await?;
            }
            if resolved.payments.treasury == Address::ZERO {
                resolved.payments.treasury = conn.address();
            }
            let record = Deployment::new(conn.chain_id(), conn.address(), resolved);
            record.save(path)?;
            record
        }
    };
    let steps = plan(&record.params);
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let key = step.key(&record.params);
        let what = step.describe(&record.params);
        let report = |state| Progress {
            index: i + 1,
            total,
            step: &what,
            state,
        };
        let done = match step {
            Step::Deploy(p) => record.contracts.contains_key(p),
            _ => record.steps.contains_key(&key),
        };
        if done {
            progress(&report(StepState::AlreadyDone));
            continue;
        }
        progress(&report(StepState::Started));
        let receipt = match recover_pending(conn, &mut record, &key, path).await? {
            Some(receipt) => Some(receipt),
            None => {
                if already_set(conn, &record, step).await? {
                    None
                } else {
                    let (to, data, value) = transaction(&record, programs, step);
                    let signed =
                        conn.sign(to, data, value)
                            .await
                            .map_err(|source| DeployError::Step {
                                step: key.clone(),
                                source,
                            })?;
                    record.pending = Some(PendingTx {
                        step: key.clone(),
                        tx_hash: signed.hash,
                        nonce: signed.nonce,
                    });
                    record.save(path)?;
                    Some(
                        conn.submit(&signed)
                            .await
                            .map_err(|source| DeployError::Step {
                                step: key.clone(),
                                source,
                            })?,
                    )
                }
            }
        };
        if record.pending.as_ref().is_some_and(|p| p.step == key) {
            record.pending = None;
        }
        match (step, &receipt) {
            (Step::Deploy(program), Some(receipt)) => {
                let address = deployed_address(receipt).ok_or(DeployError::NoAddress {
                    step: key.clone(),
                    tx_hash: receipt.transaction_hash,
                })?;
                record.contracts.insert(
                    *program,
                    DeployedProgram {
                        address,
                        code_hash: programs.code_hash(*program),
                        tx_hash: receipt.transaction_hash,
                        block: receipt.block_number.unwrap_or_default(),
                    },
                );
            }
            _ => {
                record.steps.insert(
                    key.clone(),
                    DoneStep {
                        tx_hash: receipt.as_ref().map(|r| r.transaction_hash),
                        block: receipt.as_ref().and_then(|r| r.block_number),
                    },
                );
            }
        }
        record.save(path)?;
        progress(&report(match receipt {
            Some(r) => StepState::Mined {
                tx_hash: r.transaction_hash,
                gas_used: r.gas_used,
                block: r.block_number.unwrap_or_default(),
            },
            None => StepState::AlreadyDone,
        }));
    }
    record.complete = true;
    record.save(path)?;
    Ok(record)
}

fn check_same(
    record: &Deployment,
    conn: &Connection,
    params: &DeployParams,
    path: &Path,
) -> Result<(), DeployError> {
    let mismatch = |what: String| DeployError::Mismatch {
        path: path.display().to_string(),
        what,
    };
    if record.chain_id != conn.chain_id() {
        return Err(mismatch(format!(
            "chain {} but the RPC serves chain {}",
            record.chain_id,
            conn.chain_id()
        )));
    }
    if record.deployer != conn.address() {
        return Err(mismatch(format!(
            "deployer {} but the wallet is {}",
            record.deployer,
            conn.address()
        )));
    }
    // Parameters resolved at the first run (genesis, treasury) are compared as given.
    let mut given = params.clone();
    if given.nodes.epoch_genesis == 0 {
        given.nodes.epoch_genesis = record.params.nodes.epoch_genesis;
    }
    if given.payments.treasury == Address::ZERO {
        given.payments.treasury = record.params.payments.treasury;
    }
    if given != record.params {
        return Err(mismatch(
            "different parameters from the ones given now".to_owned(),
        ));
    }
    Ok(())
}

async fn head_time(conn: &Connection) -> Result<u64, DeployError> {
    let block = conn
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| DeployError::Chain(ClientError::Rpc(e)))?;
    Ok(block.map(|b| b.header.timestamp).unwrap_or_default())
}

/// For a transaction recorded by an earlier run for `key`: its receipt if it was mined
/// successfully, after sending it again when the node does not know it. `None` when
/// there is none (or it failed on chain: the step then runs afresh).
async fn recover_pending(
    conn: &Connection,
    record: &mut Deployment,
    key: &str,
    path: &Path,
) -> Result<Option<TransactionReceipt>, DeployError> {
    let Some(pending) = record.pending.clone().filter(|p| p.step == key) else {
        return Ok(None);
    };
    let chain = |source| DeployError::Step {
        step: key.to_owned(),
        source,
    };
    if let Some(receipt) = conn.receipt(pending.tx_hash).await.map_err(chain)? {
        if receipt.status() {
            return Ok(Some(receipt));
        }
    } else {
        let known = conn
            .provider()
            .get_transaction_by_hash(pending.tx_hash)
            .await
            .map_err(|e| chain(ClientError::Rpc(e)))?
            .is_some();
        if known {
            return conn.wait(pending.tx_hash).await.map(Some).map_err(chain);
        }
    }
    // Never mined (or failed): forget it; the step is simulated and sent again.
    record.pending = None;
    record.save(path)?;
    conn.reset_nonce().await;
    Ok(None)
}

/// True when the chain already has what a wiring or model step would set.
async fn already_set(
    conn: &Connection,
    record: &Deployment,
    step: &Step,
) -> Result<bool, DeployError> {
    let addr = |p| record.address(p).unwrap_or_default();
    let view = |e| DeployError::Chain(e);
    Ok(match step {
        Step::Wire(w) => {
            let on = addr(w.on);
            let current = match (w.on, w.setter) {
                (Program::NodePool, "setSessionQueue") => {
                    conn.view(on, &NodePool::linksCall {})
                        .await
                        .map_err(view)?
                        ._2
                }
                (Program::NodePool, _) => {
                    conn.view(on, &NodePool::linksCall {})
                        .await
                        .map_err(view)?
                        ._1
                }
                (Program::SessionPayment, _) => conn
                    .view(on, &SessionPayment::sessionQueueCall {})
                    .await
                    .map_err(view)?,
                (Program::StakeQuota, _) => conn
                    .view(on, &StakeQuota::sessionQueueCall {})
                    .await
                    .map_err(view)?,
                (Program::NodeReputation, _) => conn
                    .view(on, &NodeReputation::sessionQueueCall {})
                    .await
                    .map_err(view)?,
                (Program::NodeReward, _) => {
                    conn.view(on, &NodeReward::linksCall {})
                        .await
                        .map_err(view)?
                        ._3
                }
                (Program::ConsensusEngine, _) => {
                    conn.view(on, &ConsensusEngine::linksCall {})
                        .await
                        .map_err(view)?
                        ._3
                }
                _ => {
                    conn.view(on, &CommitReveal::linksCall {})
                        .await
                        .map_err(view)?
                        ._2
                }
            };
            current == addr(w.to)
        }
        Step::Model(i) => {
            let m = &record.params.models[*i];
            let current = conn
                .view(
                    addr(Program::NodePool),
                    &NodePool::modelCall { modelId: m.id },
                )
                .await
                .map_err(view)?;
            current._0 == m.class && current._1 == keccak256(m.name.as_bytes()) && current._2
        }
        _ => false,
    })
}

/// The transaction a step sends: `(to, calldata, value)`.
fn transaction(record: &Deployment, programs: &Programs, step: &Step) -> (Address, Bytes, U256) {
    let p = &record.params;
    let owner = record.deployer;
    let addr = |program| record.address(program).unwrap_or_default();
    let fund = cor(p.rewards.fund);
    match step {
        Step::Deploy(program) => {
            let args = constructor_args(record, *program);
            let call = IStylusDeployer::deployCall {
                bytecode: programs.init_code(*program),
                initData: constructor_call(&args).into(),
                initValue: U256::ZERO,
                salt: B256::ZERO,
            };
            (
                STYLUS_DEPLOYER,
                call.abi_encode().into(),
                p.activation_value,
            )
        }
        Step::Wire(w) => {
            let account = addr(w.to);
            let data = match w.setter {
                "setRewardPool" => NodePool::setRewardPoolCall { pool: account }.abi_encode(),
                "setCommitReveal" => ConsensusEngine::setCommitRevealCall { account }.abi_encode(),
                // Every `setSessionQueue(address account)` has the same selector.
                _ => NodePool::setSessionQueueCall { account }.abi_encode(),
            };
            (addr(w.on), data.into(), U256::ZERO)
        }
        Step::Model(i) => {
            let m = &p.models[*i];
            let call = NodePool::setModelCall {
                modelId: m.id,
                class: m.class,
                nameHash: keccak256(m.name.as_bytes()),
                enabled: true,
            };
            (
                addr(Program::NodePool),
                call.abi_encode().into(),
                U256::ZERO,
            )
        }
        Step::MintRewardFund => (
            addr(Program::CorToken),
            CorToken::mintCall {
                to: owner,
                value: fund,
            }
            .abi_encode()
            .into(),
            U256::ZERO,
        ),
        Step::ApproveRewardFund => (
            addr(Program::CorToken),
            CorToken::approveCall {
                spender: addr(Program::NodeReward),
                value: fund,
            }
            .abi_encode()
            .into(),
            U256::ZERO,
        ),
        Step::FundRewards => (
            addr(Program::NodeReward),
            NodeReward::fundCall { amount: fund }.abi_encode().into(),
            U256::ZERO,
        ),
    }
}

/// The ABI-encoded constructor arguments of `program`, from the parameters and the
/// programs deployed before it.
fn constructor_args(record: &Deployment, program: Program) -> Vec<u8> {
    let p = &record.params;
    let owner = record.deployer;
    let addr = |program| record.address(program).unwrap_or_default();
    let genesis = p.nodes.epoch_genesis;
    match program {
        Program::CorToken => (cor(p.token.cap), owner).abi_encode_params(),
        Program::NodePool => (
            addr(Program::CorToken),
            owner,
            cor(p.nodes.min_stake),
            p.nodes.unbonding_period,
            genesis,
            p.nodes.epoch_length,
            p.param_delay,
        )
            .abi_encode_params(),
        Program::SessionPaymentTable => (owner, p.param_delay).abi_encode_params(),
        Program::SessionPayment => {
            (addr(Program::CorToken), owner, p.payments.treasury).abi_encode_params()
        }
        Program::StakeQuota => (
            addr(Program::CorToken),
            owner,
            addr(Program::SessionPayment),
            genesis,
            p.payments.quota_period,
            p.param_delay,
        )
            .abi_encode_params(),
        Program::NodeReputation => (owner,).abi_encode_params(),
        Program::NodeReward => (
            owner,
            addr(Program::CorToken),
            addr(Program::NodePool),
            addr(Program::NodeReputation),
            genesis,
            p.nodes.epoch_length,
            p.param_delay,
        )
            .abi_encode_params(),
        Program::ConsensusEngine => (
            owner,
            addr(Program::NodePool),
            addr(Program::NodeReputation),
            addr(Program::NodeReward),
            cor(p.consensus.slash_amount),
        )
            .abi_encode_params(),
        Program::CommitReveal => (
            owner,
            addr(Program::SessionPayment),
            addr(Program::ConsensusEngine),
            p.consensus.max_uri_bytes,
        )
            .abi_encode_params(),
        Program::SessionQueue => (
            addr(Program::NodePool),
            addr(Program::SessionPaymentTable),
            addr(Program::StakeQuota),
            addr(Program::NodeReputation),
            addr(Program::CommitReveal),
            p.consensus.max_window,
            p.consensus.max_uri_bytes,
        )
            .abi_encode_params(),
    }
}

fn deployed_address(receipt: &TransactionReceipt) -> Option<Address> {
    receipt.inner.logs().iter().find_map(|log| {
        (log.address() == STYLUS_DEPLOYER)
            .then(|| IStylusDeployer::ContractDeployed::decode_log_data(log.data()).ok())
            .flatten()
            .map(|e| e.deployedContract)
    })
}

/// One program's verification result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeCheck {
    /// The program.
    pub program: Program,
    /// Where it is deployed.
    pub address: Address,
    /// keccak-256 of the local build's code.
    pub local: B256,
    /// keccak-256 of the code on chain (the empty-code hash when there is none).
    pub on_chain: B256,
}

impl CodeCheck {
    /// True when the chain has exactly the local build's code.
    pub fn matches(&self) -> bool {
        self.local == self.on_chain
    }
}

/// Compares the code of every deployed program with the local build.
///
/// # Errors
/// [`DeployError::Chain`] when the code cannot be read; a mismatch is a result, not an
/// error (see [`CodeCheck::matches`]).
pub async fn verify(
    conn: &Connection,
    programs: &Programs,
    record: &Deployment,
) -> Result<Vec<CodeCheck>, DeployError> {
    let mut checks = Vec::new();
    for (program, deployed) in &record.contracts {
        let code = conn
            .provider()
            .get_code_at(deployed.address)
            .await
            .map_err(|e| DeployError::Chain(ClientError::Rpc(e)))?;
        checks.push(CodeCheck {
            program: *program,
            address: deployed.address,
            local: programs.code_hash(*program),
            on_chain: keccak256(&code),
        });
    }
    Ok(checks)
}
