//! End-to-end task latency against inference time: three in-process miners (the same
//! `Miner` service `cor-miner` runs) on the dev node mining a block every second, tasks
//! submitted one after another, each timed from submission to included, all committed,
//! all revealed and finalized; next to the miners' own inference time for it. What is
//! left after inference is the protocol's cost in time: blocks, two rounds of
//! transactions and the finalize.
//!
//! ```sh
//! cargo bench --profile dev -p cor-miner --bench latency                  # tiny model
//! cargo bench --profile dev -p cor-miner --bench latency -- gemma3-270m --tasks 3 --max-tokens 32
//! ```
//!
//! Writes `bench/results/latency.md` and `.json` (`--out DIR` elsewhere).

use std::{
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use alloy_primitives::{keccak256, B256, U256};
use cor_abi::SessionQueue;
use cor_bench::report::{self, fixed, Machine, Report, Section, Table};
use cor_client::{content, params::DeployParams};
use cor_e2e::{events, network::MODEL, Network, Shape};
use cor_miner::{
    config::{MinerConfig, ModelSource, ServedModel},
    metrics::Metrics,
    models, Dtype, Miner,
};
use serde::Serialize;

struct Args {
    model: String,
    tasks: usize,
    max_tokens: u32,
    block_time: f64,
    out: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        model: "tiny".into(),
        tasks: 3,
        max_tokens: 32,
        block_time: 1.0,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/results")),
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match a.as_str() {
            "--tasks" => args.tasks = value().parse().unwrap_or(3).max(1),
            "--max-tokens" => args.max_tokens = value().parse().unwrap_or(32),
            "--block-time" => args.block_time = value().parse().unwrap_or(1.0),
            "--out" => args.out = PathBuf::from(value()),
            other if !other.starts_with('-') => args.model = other.to_owned(),
            _ => {}
        }
    }
    args
}

/// One task's timings, seconds from the moment it was sent.
#[derive(Clone, Debug, Default, Serialize)]
struct Timing {
    included: f64,
    committed: f64,
    revealed: f64,
    finalized: f64,
    blocks: u64,
    /// Mean over the three miners of their inference time for this task.
    inference: f64,
    /// Mean tokens generated per miner.
    tokens: f64,
}

#[derive(Serialize)]
struct Data {
    model: String,
    block_time_s: f64,
    max_tokens: u32,
    tasks: Vec<Timing>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn totals(metrics: &[Arc<Metrics>]) -> (u64, u64) {
    metrics.iter().fold((0, 0), |(micros, tokens), m| {
        (
            micros + m.inference_micros.load(Ordering::Relaxed),
            tokens + m.tokens.load(Ordering::Relaxed),
        )
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();
    let started = Instant::now();
    eprintln!("setting up: dev node, suite, three miners ({})", args.model);
    // Set up with a block per transaction, then restart the node mining on a timer.
    let mut net = Network::start_with(
        DeployParams {
            param_delay: 60,
            ..DeployParams::default()
        },
        3,
    )
    .await;
    net.restart_node_with(Some(Duration::from_secs_f64(args.block_time)));
    let state = tempfile::tempdir().expect("a scratch directory");
    let model_dir = {
        let source = ModelSource::from_text(&args.model);
        let dir = state.path().to_owned();
        tokio::task::spawn_blocking(move || models::prepare(&source, &dir))
            .await
            .expect("model preparation")
            .expect("model ready")
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut metrics = Vec::new();
    let mut runs = Vec::new();
    for account in 1..=3u32 {
        let config = MinerConfig::local(
            &net.node.url(),
            Some(&net.node.ws_url()),
            &net.deployments_file(),
            account,
            state.path().join(format!("miner-{account}")),
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ServedModel {
                id: MODEL,
                source: ModelSource::Path(model_dir.clone()),
                dtype: Dtype::F32,
            },
        );
        let miner = Miner::start(config).await.expect("miner starts");
        metrics.push(miner.metrics());
        let mut rx = stop_rx.clone();
        runs.push(tokio::spawn(miner.run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }
    let session = net
        .create_session(Shape {
            commit_window: 900,
            reveal_window: 900,
            ..Shape::default()
        })
        .await
        .expect("session");

    let prompts = [
        "The capital of France is",
        "Water boils at",
        "The largest planet is",
        "One plus one equals",
    ];
    let mut timings = Vec::new();
    for i in 0..args.tasks {
        let prompt = prompts[i % prompts.len()];
        let (micros0, tokens0) = totals(&metrics);
        let block0 = net.user.provider().get_block_number().await.unwrap();
        let sent = Instant::now();
        let receipt = net
            .user
            .send(
                net.suite.session_queue,
                &SessionQueue::submitTaskCall {
                    sessionId: session,
                    inputHash: keccak256(prompt.as_bytes()),
                    inputUri: content::data_uri(prompt.as_bytes()),
                    maxTokens: args.max_tokens,
                    sampling: B256::ZERO,
                },
            )
            .await
            .expect("submitTask");
        let task: U256 = events::<SessionQueue::TaskSubmitted>(&receipt)[0].taskId;
        let mut t = Timing {
            included: sent.elapsed().as_secs_f64(),
            ..Timing::default()
        };
        loop {
            let r = net.round(task).await;
            let now = sent.elapsed().as_secs_f64();
            if t.committed == 0.0 && r._2 >= 3 {
                t.committed = now;
            }
            if t.revealed == 0.0 && r._3 >= 3 {
                t.revealed = now;
            }
            if r._0 >= 2 {
                t.finalized = now;
                break;
            }
            assert!(now < 1_800.0, "task {task} not finalized after 30 min");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (micros1, tokens1) = totals(&metrics);
        t.inference = (micros1 - micros0) as f64 / 3e6;
        t.tokens = (tokens1 - tokens0) as f64 / 3.0;
        t.blocks = net.user.provider().get_block_number().await.unwrap() - block0;
        eprintln!(
            "task {}: finalized after {:.1} s ({:.1} s of inference)",
            i + 1,
            t.finalized,
            t.inference
        );
        timings.push(t);
    }
    let _ = stop_tx.send(true);
    for run in runs {
        let _ = run.await;
    }

    let mut table = Table::new([
        "task",
        "tokens",
        "inference s",
        "included s",
        "all committed s",
        "all revealed s",
        "finalized s",
        "blocks",
        "protocol s (finalized - inference)",
    ]);
    let row = |label: String, t: &Timing, protocol: f64| {
        [
            label,
            fixed(t.tokens, 0),
            fixed(t.inference, 2),
            fixed(t.included, 2),
            fixed(t.committed, 2),
            fixed(t.revealed, 2),
            fixed(t.finalized, 2),
            t.blocks.to_string(),
            fixed(protocol, 2),
        ]
    };
    for (i, t) in timings.iter().enumerate() {
        table.row(row((i + 1).to_string(), t, t.finalized - t.inference));
    }
    let pick = |f: fn(&Timing) -> f64| median(timings.iter().map(f).collect());
    let med = Timing {
        tokens: pick(|t| t.tokens),
        inference: pick(|t| t.inference),
        included: pick(|t| t.included),
        committed: pick(|t| t.committed),
        revealed: pick(|t| t.revealed),
        finalized: pick(|t| t.finalized),
        blocks: median(timings.iter().map(|t| t.blocks as f64).collect()) as u64,
    };
    // Each column's own median (the protocol column too: not a difference of medians).
    table.row(row(
        "**median**".into(),
        &med,
        pick(|t| t.finalized - t.inference),
    ));
    let report = Report {
        title: "End-to-end task latency on the dev node".into(),
        date: report::utc_timestamp(std::time::SystemTime::now()),
        command: format!(
            "cargo bench --profile dev -p cor-miner --bench latency -- {} --tasks {} --max-tokens {} --block-time {}",
            args.model, args.tasks, args.max_tokens, args.block_time
        ),
        machine: Machine::detect(),
        versions: cor_bench::versions(),
        sections: vec![Section {
            heading: format!(
                "Submit to finalized, N = 3 Exact, {} s blocks, {}",
                args.block_time, args.model
            ),
            intro: "Seconds from sending `submitTask` until: its receipt (included), the \
                    third commit, the third reveal, the task final (the last revealer \
                    finalizes). Inference is the mean of the three miners' own generation \
                    time for the task; the three share this machine's cores."
                .into(),
            table,
            notes: vec![format!(
                "Whole run {:.0} s, set-up included.",
                started.elapsed().as_secs_f64()
            )],
        }],
    };
    println!("{}", report.to_markdown());
    let data = Data {
        model: args.model.clone(),
        block_time_s: args.block_time,
        max_tokens: args.max_tokens,
        tasks: timings,
    };
    match report::write(&args.out, "latency", &report, &data) {
        Ok((md, json)) => eprintln!("wrote {} and {}", md.display(), json.display()),
        Err(e) => eprintln!("{e}"),
    }
}
