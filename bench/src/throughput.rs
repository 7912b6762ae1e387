//! `cor-bench throughput`: the dev node against anvil on the same load.
//!
//! 1. Comparison: ETH transfers and ERC-20 transfers (the Stylus CorToken of a deployed
//!    COR suite on the dev node, `bench/sol/BenchToken.sol` on anvil), closed loop: each
//!    sender waits for its receipt before sending again. Transactions per second and
//!    send → receipt latency.
//! 2. Concurrency: ETH transfers from 1 and from 8 senders, each sending back to back,
//!    with instant mining and with interval blocks: how fast transactions are accepted,
//!    how fast they are mined, and whether every accepted one is mined without anyone
//!    calling `evm_mine`.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_sol_types::{SolCall, SolValue};
use cor_abi::CorToken;
use cor_client::{
    deploy::{deploy, StepState},
    params::{cor, DeployParams},
    wallet::dev_account,
    Connection, Deployment, Programs,
};
use serde::Serialize;

use crate::{
    load::{self, Drain, Fees, RunOutcome, Workload},
    nodes::{Kind, Mining, Node},
    report::{fixed, Machine, Report, Section, Table},
    stats::{self, Latency},
    tools, BenchError,
};

/// Settings of one `throughput` run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Built COR programs (`<artifact>.code`).
    pub programs_dir: PathBuf,
    /// Where anvil and solcjs are installed (and the Solidity build happens).
    pub tools_dir: PathBuf,
    /// An anvil binary to use instead of installing one.
    pub anvil: Option<PathBuf>,
    /// A solcjs binary to use instead of installing one.
    pub solcjs: Option<PathBuf>,
    /// Closed-loop senders in the comparison (1 ..= 9).
    pub senders: usize,
    /// Transactions per workload and node in the comparison.
    pub comparison_txs: usize,
    /// Transactions per run in the concurrency part.
    pub concurrency_txs: usize,
    /// Block interval of the interval-mining runs.
    pub block_time: Duration,
    /// Which parts to run.
    pub parts: Vec<Part>,
    /// Which nodes to run them on.
    pub nodes: Vec<Kind>,
    /// Sender counts of the concurrency part.
    pub concurrency_senders: Vec<usize>,
    /// The command line, for the report.
    pub command: String,
    /// Whether this is the `--quick` size.
    pub quick: bool,
}

/// A part of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Same workload on both nodes, closed loop.
    Comparison,
    /// Concurrent senders, instant and interval mining.
    Concurrency,
}

/// One node on one workload, closed loop.
#[derive(Clone, Debug, Serialize)]
pub struct ComparisonRow {
    /// Workload name.
    pub workload: &'static str,
    /// Node.
    pub node: Kind,
    /// Senders.
    pub senders: usize,
    /// Transactions sent.
    pub txs: usize,
    /// Mined with status 1.
    pub succeeded: usize,
    /// Mined with status 0.
    pub failed: usize,
    /// Refused by the node.
    pub rejected: usize,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Mined transactions per second.
    pub tps: f64,
    /// Send → receipt latency.
    pub latency: Option<Latency>,
    /// First error, if any.
    pub error: Option<String>,
}

/// Dev node over anvil on one workload.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    /// Workload name.
    pub workload: &'static str,
    /// Dev node tx/s ÷ anvil tx/s.
    pub tps: f64,
    /// Dev node p50 ÷ anvil p50.
    pub p50: f64,
}

/// One concurrency run.
#[derive(Clone, Debug, Serialize)]
pub struct ConcurrencyRow {
    /// Node.
    pub node: Kind,
    /// Mining mode, in words.
    pub mining: String,
    /// Senders.
    pub senders: usize,
    /// Transactions prepared.
    pub txs: usize,
    /// Accepted by the node.
    pub accepted: usize,
    /// Refused by the node.
    pub rejected: usize,
    /// Mined.
    pub mined: usize,
    /// Mined with status 0.
    pub failed: usize,
    /// Accepted per second (first send to last acceptance).
    pub accepted_tps: f64,
    /// Mined per second (first send to last seen mined).
    pub mined_tps: f64,
    /// Send → seen mined (watcher resolution).
    pub inclusion: Option<Latency>,
    /// Every accepted transaction was mined, without `evm_mine`.
    pub all_mined: bool,
    /// First error, if any.
    pub error: Option<String>,
}

/// Everything a run measured, as written to `throughput.json`.
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
    /// Versions of the nodes and tools.
    pub versions: Vec<(String, String)>,
    /// Watcher polling interval of the concurrency part, ms.
    pub watcher_poll_ms: u64,
    /// Part 1.
    pub comparison: Vec<ComparisonRow>,
    /// Part 1, dev node ÷ anvil.
    pub ratios: Vec<Ratio>,
    /// Part 2.
    pub concurrency: Vec<ConcurrencyRow>,
}

/// How often the concurrency watcher reads nonces.
const WATCH_POLL: Duration = Duration::from_millis(20);
/// Whole COR (or BenchToken) given to each sender.
const SENDER_TOKENS: u64 = 1_000_000;

/// Runs both parts and returns the results and their report.
///
/// # Errors
/// [`BenchError`] naming what failed and what to install or build.
pub async fn run(config: &Config) -> Result<(Results, Report), BenchError> {
    let date = crate::report::utc_timestamp(SystemTime::now());
    let machine = Machine::detect();
    let programs = Programs::load(&config.programs_dir)?;

    let anvil = tools::anvil(&config.tools_dir, config.anvil.as_deref()).await?;
    let solcjs = tools::solcjs(&config.tools_dir, config.solcjs.as_deref()).await?;
    let work = config.tools_dir.join("work");
    std::fs::create_dir_all(&work).map_err(|source| BenchError::Io {
        path: work.clone(),
        source,
    })?;
    tracing::info!("compiling bench/sol/BenchToken.sol with solcjs");
    let bench_token = tools::compile_bench_token(&solcjs, &work).await?;
    // The dev node and cor-bench, with anvil and solc between them.
    let mut versions = crate::versions();
    versions.insert(
        1,
        ("anvil".to_owned(), tools::version("anvil", &anvil).await?),
    );
    versions.insert(
        2,
        (
            "solc (solcjs)".to_owned(),
            tools::version("solcjs", &solcjs).await?,
        ),
    );

    let mut comparison = Vec::new();
    let comparing = config.parts.contains(&Part::Comparison);
    for &kind in config.nodes.iter().filter(|_| comparing) {
        let node = start(kind, Mining::Instant, &anvil, &work).await?;
        let rows = compare_on(&node, config, &programs, &bench_token, &work).await;
        node.stop().await;
        comparison.extend(rows?);
    }
    let ratios = ratios(&comparison);

    let mut concurrency = Vec::new();
    let concurrent = config.parts.contains(&Part::Concurrency);
    for &kind in config.nodes.iter().filter(|_| concurrent) {
        for mining in [Mining::Instant, Mining::Interval(config.block_time)] {
            // A fresh node per run: a run that leaves a node stuck must not decide the
            // next one's result.
            for &count in &config.concurrency_senders {
                let node = start(kind, mining, &anvil, &work).await?;
                let row = concurrency_run(&node, config, count).await;
                node.stop().await;
                concurrency.push(row?);
            }
        }
    }

    let results = Results {
        date,
        command: config.command.clone(),
        quick: config.quick,
        machine,
        versions,
        watcher_poll_ms: WATCH_POLL.as_millis() as u64,
        comparison,
        ratios,
        concurrency,
    };
    let report = report(&results, config);
    Ok((results, report))
}

async fn start(kind: Kind, mining: Mining, anvil: &Path, work: &Path) -> Result<Node, BenchError> {
    tracing::info!("starting {} ({})", kind.name(), mining.name());
    Ok(match kind {
        Kind::DevNode => Node::devnode(mining)?,
        Kind::Anvil => Node::anvil(anvil, mining, work).await?,
    })
}

fn senders(count: usize) -> Result<Vec<PrivateKeySigner>, BenchError> {
    (1..=count as u32)
        .map(|i| dev_account(i).map_err(|e| BenchError::Setup(e.to_string())))
        .collect()
}

/// Part 1 on one node: token setup, then each workload closed loop.
async fn compare_on(
    node: &Node,
    config: &Config,
    programs: &Programs,
    bench_token: &[u8],
    work: &Path,
) -> Result<Vec<ComparisonRow>, BenchError> {
    let provider = load::provider(&node.url)?;
    let senders = senders(config.senders)?;
    let token = match node.kind {
        Kind::DevNode => cor_token(node, programs, &senders, work).await?,
        Kind::Anvil => solidity_token(node, &provider, bench_token, &senders).await?,
    };
    let transfer = CorToken::transferCall {
        to: load::recipient(0),
        value: U256::from(1),
    }
    .abi_encode();
    let estimate = load::estimate(
        &provider,
        senders[0].address(),
        Some(token),
        transfer.into(),
    )
    .await?;
    let workloads = [
        Workload::EthTransfer,
        Workload::TokenTransfer {
            token,
            gas_limit: estimate + estimate / 2,
        },
    ];
    let fees = Fees::for_node(&provider).await?;
    let mut rows = Vec::new();
    for workload in workloads {
        let label = format!("{} {}", node.kind.name(), workload.name());
        tracing::info!("{label}: signing {} transactions", config.comparison_txs);
        let batch =
            load::prepare(&provider, &senders, config.comparison_txs, workload, fees).await?;
        tracing::info!(
            "{label}: sending from {} senders, closed loop",
            senders.len()
        );
        let outcome = load::closed_loop(&provider, batch, &label).await?;
        let row = comparison_row(node.kind, workload, senders.len(), outcome);
        tracing::info!(
            "{label}: {:.1} tx/s, p50 {:.2} ms",
            row.tps,
            row.latency.map_or(0.0, |l| l.p50_ms)
        );
        rows.push(row);
    }
    Ok(rows)
}

fn comparison_row(
    kind: Kind,
    workload: Workload,
    senders: usize,
    mut o: RunOutcome,
) -> ComparisonRow {
    ComparisonRow {
        workload: workload.name(),
        node: kind,
        senders,
        txs: o.planned,
        succeeded: o.mined - o.failed,
        failed: o.failed,
        rejected: o.rejected,
        seconds: o.mined_elapsed.as_secs_f64(),
        tps: stats::rate(o.mined, o.mined_elapsed),
        latency: stats::summarize(&mut o.latencies),
        error: o.first_error,
    }
}

/// Deploys the COR suite on the dev node and mints COR to the senders; returns the
/// token.
async fn cor_token(
    node: &Node,
    programs: &Programs,
    senders: &[PrivateKeySigner],
    work: &Path,
) -> Result<Address, BenchError> {
    let owner = Connection::connect(
        &node.url,
        dev_account(0).map_err(|e| BenchError::Setup(e.to_string()))?,
    )
    .await?;
    let dir = work.join(format!("deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = Deployment::path_for(&dir, owner.chain_id());
    tracing::info!("cor-devnode: deploying the COR suite");
    let deployment = deploy(
        &owner,
        programs,
        &DeployParams::default(),
        &path,
        &mut |p| {
            if let StepState::Mined { .. } = p.state {
                tracing::debug!("deploy step {}/{}: {}", p.index, p.total, p.step);
            }
        },
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let token = deployment?
        .suite()
        .map_err(|e| BenchError::Setup(e.to_string()))?
        .token;
    for sender in senders {
        owner
            .send(
                token,
                &CorToken::mintCall {
                    to: sender.address(),
                    value: cor(SENDER_TOKENS),
                },
            )
            .await?;
    }
    Ok(token)
}

/// Deploys `BenchToken` on anvil and gives the senders tokens; returns the token.
async fn solidity_token(
    node: &Node,
    provider: &DynProvider,
    bytecode: &[u8],
    senders: &[PrivateKeySigner],
) -> Result<Address, BenchError> {
    use alloy::providers::Provider;
    let deployer = dev_account(0).map_err(|e| BenchError::Setup(e.to_string()))?;
    let supply = cor(1_000_000_000);
    let mut input = bytecode.to_vec();
    input.extend(supply.abi_encode());
    let input = Bytes::from(input);
    let gas = load::estimate(provider, deployer.address(), None, input.clone()).await?;
    let nonce = provider
        .get_transaction_count(deployer.address())
        .pending()
        .await
        .map_err(|e| BenchError::Setup(format!("eth_getTransactionCount: {e}")))?;
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| BenchError::Setup(format!("eth_chainId: {e}")))?;
    let fees = Fees::for_node(provider).await?;
    let tx = load::sign(
        &deployer,
        chain_id,
        nonce,
        TxKind::Create,
        U256::ZERO,
        input,
        gas * 2,
        fees,
    )?;
    tracing::info!("anvil: deploying BenchToken");
    let token = load::send_and_wait(provider, &tx)
        .await?
        .ok_or_else(|| BenchError::Setup("BenchToken's receipt has no contract address".into()))?;
    let owner = Connection::connect(&node.url, deployer).await?;
    for sender in senders {
        owner
            .send(
                token,
                &CorToken::transferCall {
                    to: sender.address(),
                    value: cor(SENDER_TOKENS),
                },
            )
            .await?;
    }
    Ok(token)
}

fn ratios(rows: &[ComparisonRow]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for dev in rows.iter().filter(|r| r.node == Kind::DevNode) {
        let Some(anvil) = rows
            .iter()
            .find(|r| r.node == Kind::Anvil && r.workload == dev.workload)
        else {
            continue;
        };
        let p50 = |r: &ComparisonRow| r.latency.map_or(f64::NAN, |l| l.p50_ms);
        out.push(Ratio {
            workload: dev.workload,
            tps: dev.tps / anvil.tps,
            p50: p50(dev) / p50(anvil),
        });
    }
    out
}

/// How long a concurrency run waits, after the last send, for a block with its
/// transactions before it counts the rest as never mined.
fn drain_idle(mining: Mining) -> Duration {
    match mining {
        Mining::Instant => Duration::from_secs(5),
        Mining::Interval(t) => (t * 5).max(Duration::from_secs(5)),
    }
}

/// One part-2 run on `node`: ETH transfers from `count` senders, pipelined.
async fn concurrency_run(
    node: &Node,
    config: &Config,
    count: usize,
) -> Result<ConcurrencyRow, BenchError> {
    let provider = load::provider(&node.url)?;
    let fees = Fees::for_node(&provider).await?;
    let label = format!(
        "{} {} {count} sender(s)",
        node.kind.name(),
        node.mining.name()
    );
    let senders = senders(count)?;
    let batch = load::prepare(
        &provider,
        &senders,
        config.concurrency_txs,
        Workload::EthTransfer,
        fees,
    )
    .await?;
    tracing::info!(
        "{label}: sending {} transactions back to back",
        config.concurrency_txs
    );
    let drain = Drain {
        idle: drain_idle(node.mining),
        poll: WATCH_POLL,
    };
    let mut o = load::pipelined(&provider, batch, drain, &label).await?;
    let row = ConcurrencyRow {
        node: node.kind,
        mining: node.mining.name(),
        senders: count,
        txs: o.planned,
        accepted: o.accepted,
        rejected: o.rejected,
        mined: o.mined,
        failed: o.failed,
        accepted_tps: stats::rate(o.accepted, o.accept_elapsed),
        mined_tps: stats::rate(o.mined, o.mined_elapsed),
        inclusion: stats::summarize(&mut o.latencies),
        all_mined: o.all_mined(),
        error: o.first_error.take(),
    };
    tracing::info!(
        "{label}: accepted {:.0} tx/s, mined {:.0} tx/s, {}/{} mined",
        row.accepted_tps,
        row.mined_tps,
        row.mined,
        row.accepted
    );
    Ok(row)
}

fn ms(latency: Option<Latency>, pick: fn(&Latency) -> f64) -> String {
    latency.map_or_else(|| "-".to_owned(), |l| fixed(pick(&l), 2))
}

/// The Markdown report of `results`.
pub fn report(results: &Results, config: &Config) -> Report {
    let mut t1 = Table::new([
        "workload", "node", "senders", "txs", "ok", "failed", "tx/s", "mean ms", "p50 ms", "p99 ms",
    ]);
    for r in &results.comparison {
        t1.row([
            r.workload.to_owned(),
            r.node.name().to_owned(),
            r.senders.to_string(),
            r.txs.to_string(),
            r.succeeded.to_string(),
            (r.failed + r.rejected).to_string(),
            fixed(r.tps, 1),
            ms(r.latency, |l| l.mean_ms),
            ms(r.latency, |l| l.p50_ms),
            ms(r.latency, |l| l.p99_ms),
        ]);
    }
    for r in &results.ratios {
        t1.row([
            r.workload.to_owned(),
            "devnode ÷ anvil".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            format!("{}×", fixed(r.tps, 2)),
            String::new(),
            format!("{}×", fixed(r.p50, 2)),
            String::new(),
        ]);
    }
    let mut notes1: Vec<String> = results
        .comparison
        .iter()
        .filter_map(|r| {
            r.error
                .as_ref()
                .map(|e| format!("- {} / {}: {e}", r.node.name(), r.workload))
        })
        .collect();
    notes1.push(
        "ERC-20: the Stylus CorToken of a full COR suite deployment on cor-devnode; \
         bench/sol/BenchToken.sol (solc, optimizer on) on anvil. Same calldata."
            .to_owned(),
    );

    let mut t2 = Table::new([
        "node",
        "mining",
        "senders",
        "txs",
        "accepted",
        "mined",
        "accepted tx/s",
        "mined tx/s",
        "p50 incl. ms",
        "all mined",
    ]);
    for r in &results.concurrency {
        t2.row([
            r.node.name().to_owned(),
            r.mining.clone(),
            r.senders.to_string(),
            r.txs.to_string(),
            r.accepted.to_string(),
            r.mined.to_string(),
            fixed(r.accepted_tps, 0),
            fixed(r.mined_tps, 0),
            ms(r.inclusion, |l| l.p50_ms),
            if r.all_mined && r.failed == 0 {
                "yes"
            } else {
                "NO"
            }
            .to_owned(),
        ]);
    }
    let mut notes2: Vec<String> = results
        .concurrency
        .iter()
        .filter(|r| !r.all_mined || r.error.is_some() || r.failed > 0)
        .map(|r| {
            format!(
                "- {} {} {} sender(s): {} of {} accepted were mined, {} failed{}",
                r.node.name(),
                r.mining,
                r.senders,
                r.mined,
                r.accepted,
                r.failed,
                r.error
                    .as_ref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    notes2.push(format!(
        "Inclusion latency is send → the watcher seeing the sender's nonce advance \
         (polled every {} ms), so it includes up to one poll interval.",
        results.watcher_poll_ms
    ));

    Report {
        title: "Throughput: cor-devnode vs anvil".to_owned(),
        date: results.date.clone(),
        command: results.command.clone(),
        machine: results.machine.clone(),
        versions: results.versions.clone(),
        sections: vec![
            Section {
                heading: "1. Same workload, instant mining".to_owned(),
                intro: format!(
                    "{} transactions per workload and node from {} dev account(s), each \
                     sending its next transaction once the previous one's receipt is seen \
                     (closed loop). Latency is send → receipt.",
                    config.comparison_txs, config.senders
                ),
                table: t1,
                notes: notes1,
            },
            Section {
                heading: "2. Concurrency: ETH transfers sent back to back".to_owned(),
                intro: format!(
                    "{} transactions per run, split over the senders, each sending without \
                     waiting for receipts. Interval mining: a block every {} s. Nothing calls \
                     `evm_mine`; each run has a fresh node; a run ends when every accepted transaction is mined or \
                     nothing was mined for {} s after the last send.",
                    config.concurrency_txs,
                    config.block_time.as_secs_f64(),
                    drain_idle(Mining::Interval(config.block_time)).as_secs_f64()
                ),
                table: t2,
                notes: notes2,
            },
        ],
    }
}
