//! `cor-bench gas`: the gas of every user-facing and keeper call of the COR contracts,
//! measured from the dev node's receipts (the contracts' real WASM, deployed by
//! `cor-client`, called through JSON-RPC), each next to the storage slots it wrote and
//! the storage-only floor those writes cost on any EVM chain.
//!
//! 1. A whole task (submit, a commit and a reveal per seat, finalize) for each consensus
//!    method (Exact, Similarity, Median, Weighted) and N = 1, 3, 5 and 7, every seat
//!    agreeing.
//! 2. Each call of those tasks (and the session each one opens).
//! 3. Accounts, nodes and upkeep: token transfer and approve, escrow deposit and
//!    withdrawal, quota stake, node registration and heartbeat, a miner's payment claim,
//!    `finalizeMany`, `finalizeEpoch`, a reward claim, node exit.
//!
//! The network is `cor_e2e::Network` with seven miners (N = 7 needs seven distinct
//! ones). One unmeasured N = 7 task runs first, so every measured task meets miners that
//! already have reputation, payment and epoch-point records: the figures are a running
//! network's, not a first task's (which writes those slots fresh).

use std::{
    path::PathBuf,
    time::{Instant, SystemTime},
};

use alloy::{providers::Provider, signers::local::PrivateKeySigner};
use alloy_primitives::{keccak256, Address, B256, U256};
use cor_abi::{
    CommitReveal, CorToken, NodePool, NodeReward, SessionPayment, SessionQueue, StakeQuota,
};
use cor_client::{
    params::{cor, DeployParams},
    Connection, Programs,
};
use cor_e2e::{
    events,
    gas::{measure, Measured, BASE_GAS, FRESH_SLOT_GAS, UPDATED_SLOT_GAS},
    network::{Network, Shape, MODEL},
    Answer,
};
use serde::Serialize;

use crate::{
    report::{fixed, Machine, Report, Section, Table},
    BenchError,
};

/// Registered miners: N = 7 needs seven distinct ones.
const MINERS: u32 = 7;
/// The prompt of every measured task.
const PROMPT: &str = "What is the capital of France?";
/// Hamming radius of the Similarity sessions (bits of the 256-bit SimHash).
const SIMILARITY_RADIUS: u64 = 40;
/// Score tolerance of the Median sessions.
const MEDIAN_TOLERANCE: u64 = 2;
/// Seven near-identical answers (one word differs): one Similarity cluster.
const PARAPHRASES: [&str; 7] = [
    "The capital of France is Paris, a large city on the river Seine in the north of the country, known for its museums, its food and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a large city on the river Seine in the north of the country, famous for its museums, its food and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a big city on the river Seine in the north of the country, known for its museums, its food and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a large city on the river Seine in the north of the country, known for its museums, its cuisine and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a large city on the river Seine in the north of the nation, known for its museums, its food and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a large city on the river Seine in the north of the country, known for its galleries, its food and its long history. It has been the seat of the French government for centuries and is home to more than two million people.",
    "The capital of France is Paris, a large city on the river Seine in the north of the country, known for its museums, its food and its rich history. It has been the seat of the French government for centuries and is home to more than two million people.",
];
/// Seven scores within [`MEDIAN_TOLERANCE`] of their median (70).
const SCORES: [u64; 7] = [70, 71, 69, 70, 72, 70, 68];

/// Settings of one `gas` run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Redundancies of the measured tasks.
    pub sizes: Vec<u8>,
    /// Consensus methods of the measured tasks.
    pub methods: Vec<Method>,
    /// The command line, for the report.
    pub command: String,
    /// Whether this is the `--quick` size.
    pub quick: bool,
}

/// A consensus method, as sessions declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Method {
    /// Code 0: identical output hashes.
    Exact,
    /// Code 1: SimHash fingerprints within a Hamming radius.
    Similarity,
    /// Code 2: scores within a tolerance of the median.
    Median,
    /// Code 3: identical output hashes, weighted by reputation.
    Weighted,
}

impl Method {
    /// Every method, by code.
    pub const ALL: [Method; 4] = [
        Method::Exact,
        Method::Similarity,
        Method::Median,
        Method::Weighted,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "Exact",
            Method::Similarity => "Similarity",
            Method::Median => "Median",
            Method::Weighted => "Weighted",
        }
    }

    /// The session of a task of this method with redundancy `n` (escrow, the default
    /// 60 % threshold; 50 % for Weighted, as the end-to-end tests use).
    pub fn shape(self, n: u8) -> Shape {
        let base = Shape {
            n,
            ..Shape::default()
        };
        match self {
            Method::Exact => Shape {
                consensus: 0,
                ..base
            },
            Method::Similarity => Shape {
                consensus: 1,
                tolerance: SIMILARITY_RADIUS,
                ..base
            },
            Method::Median => Shape {
                consensus: 2,
                tolerance: MEDIAN_TOLERANCE,
                ..base
            },
            Method::Weighted => Shape {
                consensus: 3,
                threshold_bps: 5_000,
                ..base
            },
        }
    }

    /// One answer per seat, all agreeing under this method: the same text (Exact,
    /// Weighted), paraphrases one word apart (Similarity), nearby scores (Median).
    pub fn answers(self, n: u8) -> Vec<Answer> {
        let n = usize::from(n);
        match self {
            Method::Exact | Method::Weighted => vec![Answer::text("Paris"); n],
            Method::Similarity => PARAPHRASES
                .iter()
                .take(n)
                .map(|t| Answer::text(t))
                .collect(),
            Method::Median => SCORES
                .iter()
                .take(n)
                .map(|&s| Answer::scored(&format!("{s}/100"), s))
                .collect(),
        }
    }
}

/// The largest Hamming distance between two of the paraphrases' fingerprints: the
/// Similarity tasks only measure agreement when it is within [`SIMILARITY_RADIUS`].
pub fn paraphrase_spread() -> u32 {
    let prints: Vec<B256> = PARAPHRASES
        .iter()
        .map(|t| cor_consensus::fingerprint(t))
        .collect();
    let mut spread = 0;
    for a in &prints {
        for b in &prints {
            spread = spread.max(cor_consensus::hamming(a, b));
        }
    }
    spread
}

/// One measured transaction, or the sum of a whole task's.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// What was called (`submitTask`, `whole task`, `CorToken.transfer (to a new holder)`).
    pub call: String,
    /// Consensus method, for a task's calls.
    pub method: Option<Method>,
    /// Redundancy, for a task's calls.
    pub n: Option<u8>,
    /// Transactions summed (1 but for a whole task).
    pub txs: usize,
    /// Gas used.
    pub gas: u64,
    /// Storage slots written from zero.
    pub fresh: u32,
    /// Non-zero storage slots changed.
    pub updated: u32,
    /// 21 000 + 22 100 per fresh slot + 5 000 per updated slot.
    pub floor: u64,
    /// `gas / floor`.
    pub ratio: f64,
}

impl Row {
    fn new(call: impl Into<String>, task: Option<(Method, u8)>, txs: usize, m: Measured) -> Self {
        Self {
            call: call.into(),
            method: task.map(|t| t.0),
            n: task.map(|t| t.1),
            txs,
            gas: m.gas,
            fresh: m.fresh,
            updated: m.updated,
            floor: m.floor(),
            ratio: m.ratio(),
        }
    }

    fn cells(&self) -> [String; 5] {
        [
            self.gas.to_string(),
            self.fresh.to_string(),
            self.updated.to_string(),
            self.floor.to_string(),
            fixed(self.ratio, 2),
        ]
    }
}

/// Everything a run measured, as written to `gas.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// When.
    pub date: String,
    /// The command line.
    pub command: String,
    /// `--quick` or the default size.
    pub quick: bool,
    /// The machine.
    pub machine: Machine,
    /// Versions.
    pub versions: Vec<(String, String)>,
    /// Wall time of the whole section, seconds.
    pub seconds: f64,
    /// The largest Hamming distance between the Similarity answers, bits.
    pub paraphrase_spread: u32,
    /// Each task's calls and its whole, by method and N.
    pub tasks: Vec<Row>,
    /// Every other call.
    pub calls: Vec<Row>,
}

/// Runs the section and returns the results and their report.
///
/// # Errors
/// [`BenchError`]: the programs are not built, or a call failed.
///
/// # Panics
/// When the network cannot start (`cor_e2e::Network` is the tests' harness: it panics
/// with what failed).
pub async fn run(config: &Config) -> Result<(Results, Report), BenchError> {
    let started = Instant::now();
    let date = crate::report::utc_timestamp(SystemTime::now());
    let machine = Machine::detect();
    // The harness loads the programs from the default place: fail early, and typed.
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    Programs::load(&Programs::default_dir(&root))?;
    let spread = paraphrase_spread();
    if u64::from(spread) > SIMILARITY_RADIUS {
        return Err(BenchError::Setup(format!(
            "the Similarity answers are {spread} bits apart, over the {SIMILARITY_RADIUS}-bit radius"
        )));
    }

    tracing::info!("starting the dev node, deploying the suite, registering {MINERS} miners");
    let params = DeployParams {
        param_delay: 60,
        ..DeployParams::default()
    };
    let mut net = Network::start_with(params, MINERS).await;
    let mut calls = account_rows(&net).await?;

    tracing::info!("warm-up task (N = {MINERS}, unmeasured)");
    let warm_up = Method::Exact;
    lifecycle(&net, warm_up, MINERS as u8).await?;

    let mut tasks = Vec::new();
    for &method in &config.methods {
        for &n in &config.sizes {
            tracing::info!("{} N = {n}", method.name());
            tasks.extend(lifecycle(&net, method, n).await?);
        }
    }
    calls.extend(upkeep_rows(&mut net).await?);

    let results = Results {
        date,
        command: config.command.clone(),
        quick: config.quick,
        machine,
        versions: crate::versions(),
        seconds: started.elapsed().as_secs_f64(),
        paraphrase_spread: spread,
        tasks,
        calls,
    };
    let report = report(&results);
    Ok((results, report))
}

/// Opens a session of `method` and N = `n`, submits a task, commits and reveals an
/// agreeing answer per seat, finalizes; returns each call and the whole task.
async fn lifecycle(net: &Network, method: Method, n: u8) -> Result<Vec<Row>, BenchError> {
    let task_key = Some((method, n));
    let create = net.open_session(method.shape(n)).await?;
    let session = events::<SessionQueue::SessionCreated>(&create)[0].sessionId;
    let created = measure(&net.user, &create).await;
    let (task, seats, submit) = net.submit(session, PROMPT).await?;
    let submitted = measure(&net.user, &submit).await;
    let answers = method.answers(n);
    let mut commits = Vec::new();
    for (miner, answer) in seats.iter().zip(&answers) {
        let r = net.commit(task, *miner, answer).await?;
        commits.push(measure(&net.user, &r).await);
    }
    let mut reveals = Vec::new();
    for (miner, answer) in seats.iter().zip(&answers) {
        let r = net.reveal(task, *miner, answer).await?;
        reveals.push(measure(&net.user, &r).await);
    }
    let fin = net.finalize(task).await?;
    let done = events::<CommitReveal::TaskFinalized>(&fin);
    let agreeing = done.first().map_or(0, |d| d.agreeingMiners.len());
    if agreeing != seats.len() {
        return Err(BenchError::Setup(format!(
            "{} N = {n}: {agreeing} of {} seats agreed; every seat should",
            method.name(),
            seats.len()
        )));
    }
    let finalized = measure(&net.user, &fin).await;
    let mut whole = vec![submitted, finalized];
    whole.extend(&commits);
    whole.extend(&reveals);
    let last = seats.len() - 1;
    let mut rows = vec![
        Row::new("createSession", task_key, 1, created),
        Row::new("submitTask", task_key, 1, submitted),
        Row::new("commit, first seat", task_key, 1, commits[0]),
    ];
    if last > 0 {
        rows.push(Row::new("commit, last seat", task_key, 1, commits[last]));
    }
    rows.push(Row::new("reveal, first seat", task_key, 1, reveals[0]));
    if last > 0 {
        rows.push(Row::new("reveal, last seat", task_key, 1, reveals[last]));
    }
    rows.push(Row::new("finalize", task_key, 1, finalized));
    rows.push(Row::new(
        "whole task",
        task_key,
        whole.len(),
        Measured::sum(&whole),
    ));
    Ok(rows)
}

/// An address no one holds a key for, named by `label`.
fn address(label: &str) -> Address {
    Address::from_word(keccak256(format!("cor-bench gas {label}")))
}

/// Token, escrow and quota calls of the user (and the owner's mint).
async fn account_rows(net: &Network) -> Result<Vec<Row>, BenchError> {
    let (s, user, owner) = (net.suite, &net.user, &net.owner);
    let mut rows = Vec::new();
    let mut row = |call: &str, m: Measured| rows.push(Row::new(call, None, 1, m));

    let r = owner
        .send(
            s.token,
            &CorToken::mintCall {
                to: address("minted"),
                value: cor(1),
            },
        )
        .await?;
    row(
        "CorToken.mint (owner, to a new holder)",
        measure(owner, &r).await,
    );
    let holder = address("holder");
    for call in [
        "CorToken.transfer (to a new holder)",
        "CorToken.transfer (to an existing holder)",
    ] {
        let r = user
            .send(
                s.token,
                &CorToken::transferCall {
                    to: holder,
                    value: cor(1),
                },
            )
            .await?;
        row(call, measure(user, &r).await);
    }
    for (call, value) in [
        ("CorToken.approve (new allowance)", cor(5)),
        ("CorToken.approve (changed allowance)", cor(7)),
    ] {
        let r = user
            .send(
                s.token,
                &CorToken::approveCall {
                    spender: address("spender"),
                    value,
                },
            )
            .await?;
        row(call, measure(user, &r).await);
    }
    let r = user
        .send(s.payment, &SessionPayment::depositCall { amount: cor(100) })
        .await?;
    row(
        "SessionPayment.deposit (add to an escrow)",
        measure(user, &r).await,
    );
    let r = user
        .send(s.payment, &SessionPayment::withdrawCall { amount: cor(50) })
        .await?;
    row(
        "SessionPayment.withdraw (part of an escrow)",
        measure(user, &r).await,
    );
    for call in ["StakeQuota.stake (first stake)", "StakeQuota.stake (add)"] {
        let r = user
            .send(s.quota, &StakeQuota::stakeCall { amount: cor(100) })
            .await?;
        row(call, measure(user, &r).await);
    }
    Ok(rows)
}

/// `finalizeMany`, a miner's payment claim, a node's registration, heartbeat and exit,
/// `finalizeEpoch` with and without points, and a reward claim.
async fn upkeep_rows(net: &mut Network) -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    let s = net.suite;

    // Three answered N = 3 Exact tasks nobody finalized: what a keeper closes.
    tracing::info!("finalizeMany, claims, a new node, epochs");
    let session = net.create_session(Method::Exact.shape(3)).await?;
    let answer = Answer::text("Paris");
    let mut batch = Vec::new();
    for i in 0..3 {
        let (task, seats, _) = net.submit(session, &format!("{PROMPT} ({i})")).await?;
        for miner in &seats {
            net.commit(task, *miner, &answer).await?;
        }
        for miner in &seats {
            net.reveal(task, *miner, &answer).await?;
        }
        batch.push(task);
    }
    let r = net
        .owner
        .send(
            s.commit_reveal,
            &CommitReveal::finalizeManyCall {
                taskIds: batch.clone(),
            },
        )
        .await?;
    let finalized = events::<CommitReveal::TaskFinalized>(&r).len();
    if finalized != batch.len() {
        return Err(BenchError::Setup(format!(
            "finalizeMany finalized {finalized} of {} tasks",
            batch.len()
        )));
    }
    rows.push(Row::new(
        "CommitReveal.finalizeMany (3 answered N = 3 Exact tasks)",
        None,
        1,
        measure(&net.owner, &r).await,
    ));

    // A miner takes its task payments out.
    let miner = net
        .miners
        .values()
        .next()
        .cloned()
        .ok_or_else(|| BenchError::Setup("the network has no miners".to_owned()))?;
    let r = miner.send(s.payment, &SessionPayment::claimCall {}).await?;
    rows.push(Row::new(
        "SessionPayment.claim (a miner's payments)",
        None,
        1,
        measure(&miner, &r).await,
    ));

    // A new node: funded, staked, registered, live.
    let node = new_node(net).await?;
    let r = node
        .send(
            s.node_pool,
            &NodePool::registerCall {
                models: vec![MODEL],
                metadata: B256::with_last_byte(0xbe),
            },
        )
        .await?;
    rows.push(Row::new(
        "NodePool.register (1 model)",
        None,
        1,
        measure(&node, &r).await,
    ));
    let r = node.send(s.node_pool, &NodePool::heartbeatCall {}).await?;
    rows.push(Row::new(
        "NodePool.heartbeat",
        None,
        1,
        measure(&node, &r).await,
    ));

    // Epoch 0 (every task above) ends; a keeper closes it, a miner claims it.
    let length = net.deployment.params.nodes.epoch_length;
    net.advance(length).await;
    let epoch = net
        .owner
        .view(s.reward, &NodeReward::nextEpochToFinalizeCall {})
        .await?;
    let r = net
        .owner
        .send(s.reward, &NodeReward::finalizeEpochCall { epoch })
        .await?;
    rows.push(Row::new(
        "NodeReward.finalizeEpoch (an epoch with points)",
        None,
        1,
        measure(&net.owner, &r).await,
    ));
    let r = miner
        .send(
            s.reward,
            &NodeReward::claimCall {
                epochs: vec![epoch],
            },
        )
        .await?;
    rows.push(Row::new(
        "NodeReward.claim (1 epoch)",
        None,
        1,
        measure(&miner, &r).await,
    ));
    net.advance(length).await;
    let r = net
        .owner
        .send(
            s.reward,
            &NodeReward::finalizeEpochCall { epoch: epoch + 1 },
        )
        .await?;
    rows.push(Row::new(
        "NodeReward.finalizeEpoch (an epoch without points)",
        None,
        1,
        measure(&net.owner, &r).await,
    ));

    // The new node leaves: exit, unbonding, withdrawal.
    let r = node
        .send(s.node_pool, &NodePool::requestExitCall {})
        .await?;
    rows.push(Row::new(
        "NodePool.requestExit",
        None,
        1,
        measure(&node, &r).await,
    ));
    net.advance(net.deployment.params.nodes.unbonding_period + 1)
        .await;
    let r = node.send(s.node_pool, &NodePool::withdrawCall {}).await?;
    rows.push(Row::new(
        "NodePool.withdraw (after unbonding)",
        None,
        1,
        measure(&node, &r).await,
    ));
    Ok(rows)
}

/// A new account with gas money, the minimum stake and NodePool's allowance.
async fn new_node(net: &Network) -> Result<Connection, BenchError> {
    let signer = PrivateKeySigner::from_bytes(&keccak256("cor-bench gas node"))
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let address = signer.address();
    let _: serde_json::Value = net
        .owner
        .provider()
        .raw_request(
            "anvil_setBalance".into(),
            (address, U256::from(10u64).pow(U256::from(20u64))),
        )
        .await
        .map_err(|e| BenchError::Setup(format!("anvil_setBalance: {e}")))?;
    let node = Connection::connect(&net.node.url(), signer).await?;
    net.suite.label(&node);
    let stake = cor(net.deployment.params.nodes.min_stake);
    net.mint(address, stake).await;
    node.send(
        net.suite.token,
        &CorToken::approveCall {
            spender: net.suite.node_pool,
            value: stake,
        },
    )
    .await?;
    Ok(node)
}

/// The Markdown report of `results`.
pub fn report(results: &Results) -> Report {
    const MEASURES: [&str; 5] = [
        "gas",
        "fresh slots",
        "updated slots",
        "storage floor",
        "gas / floor",
    ];
    let task = |r: &Row| {
        (
            r.method.map_or("", Method::name).to_owned(),
            r.n.map_or(String::new(), |n| n.to_string()),
        )
    };
    let mut whole = Table::new(["method", "N", "txs"].into_iter().chain(MEASURES));
    for r in results.tasks.iter().filter(|r| r.call == "whole task") {
        let (method, n) = task(r);
        whole.row([method, n, r.txs.to_string()].into_iter().chain(r.cells()));
    }
    let mut calls = Table::new(["method", "N", "call"].into_iter().chain(MEASURES));
    for r in &results.tasks {
        let (method, n) = task(r);
        let call = if r.call == "whole task" {
            format!("**whole task** ({} txs)", r.txs)
        } else {
            r.call.clone()
        };
        calls.row([method, n, call].into_iter().chain(r.cells()));
    }
    let mut other = Table::new(["call"].into_iter().chain(MEASURES));
    for r in &results.calls {
        other.row([r.call.clone()].into_iter().chain(r.cells()));
    }
    let floor = format!(
        "Storage floor = {BASE_GAS} + {FRESH_SLOT_GAS} per fresh slot + {UPDATED_SLOT_GAS} per \
         updated slot: what those writes cost on any EVM chain, so `gas / floor` is what a call \
         spends beyond its unavoidable storage."
    );
    Report {
        title: "Gas per call of the COR contracts".to_owned(),
        date: results.date.clone(),
        command: results.command.clone(),
        machine: results.machine.clone(),
        versions: results.versions.clone(),
        sections: vec![
            Section {
                heading: "1. A whole task, by consensus method and N".to_owned(),
                intro: format!(
                    "Escrow sessions on the COR dev node (real WASM, receipts): submitTask, a \
                     commit and a reveal per seat, finalize; every seat agrees (Exact and \
                     Weighted: the same answer; Similarity: paraphrases one word apart, radius \
                     {SIMILARITY_RADIUS} bits; Median: scores 68..72, tolerance \
                     {MEDIAN_TOLERANCE}). The session (createSession, section 2) is not \
                     counted: one session serves many tasks."
                ),
                table: whole,
                notes: vec![
                    floor.clone(),
                    "submitTask varies from task to task with the seat draw (each seat draws \
                     two candidates and reads both reputations unless they coincide; a \
                     collision draws again), by up to ~0.2 M gas: compare the methods by \
                     finalize (section 2)."
                        .to_owned(),
                    format!(
                        "Seven registered miners; one unmeasured N = 7 task ran first, so the \
                         miners' reputation, payment and epoch-point slots exist (a running \
                         network). The Similarity answers are at most {} bits apart. \
                         Measured in {:.0} s.",
                        results.paraphrase_spread, results.seconds
                    ),
                ],
            },
            Section {
                heading: "2. Each call of a task".to_owned(),
                intro: "The same tasks, call by call; \"first\" and \"last\" seat are the seat \
                        order of the assignment (later seats scan the earlier ones)."
                    .to_owned(),
                table: calls,
                notes: Vec::new(),
            },
            Section {
                heading: "3. Accounts, nodes and upkeep".to_owned(),
                intro: "The user's token, escrow and quota calls; a new node's registration, \
                        heartbeat and exit; a keeper's finalizeMany and finalizeEpoch; a \
                        miner's payment and reward claims."
                    .to_owned(),
                table: other,
                notes: vec![
                    floor,
                    "Dev node gas follows Nitro's Stylus pricing (ink, host-call costs, storage \
                     through the EVM's SSTORE rules; docs/devnode.md); on Arbitrum an L1 data \
                     component is added per transaction."
                        .to_owned(),
                ],
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_similarity_answers_form_one_cluster_within_the_radius() {
        let spread = paraphrase_spread();
        assert!(
            u64::from(spread) <= SIMILARITY_RADIUS,
            "{spread} bits apart"
        );
        assert!(spread > 0, "the paraphrases differ");
    }

    #[test]
    fn every_method_gives_n_agreeing_answers_for_up_to_seven_seats() {
        for method in Method::ALL {
            let answers = method.answers(7);
            assert_eq!(answers.len(), 7, "{}", method.name());
            assert_eq!(method.shape(7).n, 7);
        }
        let scores: Vec<u64> = Method::Median.answers(7).iter().map(|a| a.score).collect();
        let mut sorted = scores.clone();
        sorted.sort_unstable();
        let median = sorted[3];
        assert!(scores
            .iter()
            .all(|s| s.abs_diff(median) <= MEDIAN_TOLERANCE));
    }
}
