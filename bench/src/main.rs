//! `cor-bench`: benchmarks of the COR stack. One subcommand per section; each prints a
//! Markdown report and writes it, with the raw numbers as JSON, under `bench/results/`.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use cor_bench::{gas, nodes::Kind, report, scale, throughput, tools};

/// Benchmarks of the COR stack (dev node, contracts, tools).
#[derive(Debug, Parser)]
#[command(name = "cor-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// cor-devnode vs anvil: throughput and latency of ETH and ERC-20 transfers, and
    /// concurrent senders with instant and interval mining.
    Throughput(ThroughputArgs),
    /// Gas of every contract call, and of a whole task per consensus method and N, with
    /// the storage slots written and the storage-only floor.
    Gas(GasArgs),
    /// submitTask, finalizeEpoch and reward claim gas with 10 to 10 000 registered, live
    /// nodes; the keeper catching up 100 ended epochs.
    Scale(ScaleArgs),
}

/// Flags every section takes.
#[derive(Debug, Args)]
struct Common {
    /// A short run to check the setup (each section's flags say what it shortens).
    #[arg(long)]
    quick: bool,
    /// Where to write <section>.md and <section>.json (<section>-quick.* with --quick).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    common: Common,
    /// Built COR programs (<name>.code from `cargo contracts build`)
    /// [default: $CARGO_TARGET_DIR/contracts, else target/contracts].
    #[arg(long, value_name = "DIR")]
    programs: Option<PathBuf>,
    /// Where anvil and solcjs are installed with npm [default: ~/.cache/cor/tools].
    #[arg(long, value_name = "DIR")]
    tools_dir: Option<PathBuf>,
    /// Use this anvil binary instead of installing @foundry-rs/anvil.
    #[arg(long, value_name = "PATH")]
    anvil: Option<PathBuf>,
    /// Use this solcjs binary instead of installing the npm `solc` package.
    #[arg(long, value_name = "PATH")]
    solcjs: Option<PathBuf>,
    /// Closed-loop senders in the comparison (dev accounts 1..=N).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=9))]
    senders: u32,
    /// Transactions per workload and node in the comparison [default: 2000; --quick 200].
    #[arg(long, value_name = "N")]
    txs: Option<usize>,
    /// Transactions per concurrency run [default: 3000; --quick 400].
    #[arg(long, value_name = "N")]
    concurrency_txs: Option<usize>,
    /// Run only this part (repeatable) [default: both].
    #[arg(long, value_enum)]
    part: Vec<PartArg>,
    /// Run only on this node (repeatable) [default: both].
    #[arg(long, value_enum)]
    node: Vec<NodeArg>,
    /// Block interval of the interval-mining runs, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    block_time: f64,
}

#[derive(Debug, Args)]
struct GasArgs {
    #[command(flatten)]
    common: Common,
    /// Redundancies of the measured tasks, 1 ..= 7 [default: 1,3,5,7; --quick 1,3].
    #[arg(long = "n", value_name = "N", value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=7))]
    sizes: Vec<u8>,
    /// Consensus methods of the measured tasks (repeatable) [default: all four].
    #[arg(long, value_enum)]
    method: Vec<MethodArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum MethodArg {
    /// Identical outputs.
    Exact,
    /// SimHash fingerprints within a radius.
    Similarity,
    /// Scores near the median.
    Median,
    /// Identical outputs weighted by reputation.
    Weighted,
}

#[derive(Debug, Args)]
struct ScaleArgs {
    #[command(flatten)]
    common: Common,
    /// Built COR programs (<name>.code from `cargo contracts build`)
    /// [default: $CARGO_TARGET_DIR/contracts, else target/contracts].
    #[arg(long, value_name = "DIR")]
    programs: Option<PathBuf>,
    /// Registered node counts, measured in turn
    /// [default: 10,100,1000,10000; --quick 10,100].
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    nodes: Vec<usize>,
    /// Ended epochs the keeper catches up [default: 100; --quick 10].
    #[arg(long, value_name = "N")]
    epochs: Option<u64>,
    /// New nodes whose setup transactions (mint, approve, register, heartbeat) go into
    /// one block.
    #[arg(long, value_name = "N", default_value_t = 250)]
    nodes_per_block: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PartArg {
    /// Part 1: the same workloads on both nodes, closed loop.
    Comparison,
    /// Part 2: 1 and 8 senders, instant and interval mining.
    Concurrency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NodeArg {
    /// cor-devnode, in process.
    Devnode,
    /// anvil, installed from npm.
    Anvil,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // The dev node logs every dropped transaction: the report counts them.
                tracing_subscriber::EnvFilter::new("cor_bench=info,cor_devnode=error,warn")
            }),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Throughput(args) => runtime.block_on(run_throughput(args)),
        Command::Gas(args) => runtime.block_on(run_gas(args)),
        Command::Scale(args) => runtime.block_on(run_scale(args)),
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cor-bench {}", args.join(" "))
}

async fn run_throughput(args: ThroughputArgs) -> anyhow::Result<()> {
    if !(args.block_time.is_finite() && args.block_time > 0.0) {
        anyhow::bail!(
            "--block-time must be a positive number of seconds, got {}",
            args.block_time
        );
    }
    let quick = args.common.quick;
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let config = throughput::Config {
        programs_dir: args
            .programs
            .unwrap_or_else(|| cor_client::Programs::default_dir(&root)),
        tools_dir: args.tools_dir.unwrap_or_else(tools::default_tools_dir),
        anvil: args.anvil,
        solcjs: args.solcjs,
        senders: args.senders as usize,
        comparison_txs: args.txs.unwrap_or(if quick { 200 } else { 2_000 }).max(1),
        concurrency_txs: args
            .concurrency_txs
            .unwrap_or(if quick { 400 } else { 3_000 })
            .max(1),
        block_time: Duration::from_secs_f64(args.block_time),
        concurrency_senders: vec![1, 8],
        parts: match args.part.as_slice() {
            [] => vec![throughput::Part::Comparison, throughput::Part::Concurrency],
            parts => parts
                .iter()
                .map(|p| match p {
                    PartArg::Comparison => throughput::Part::Comparison,
                    PartArg::Concurrency => throughput::Part::Concurrency,
                })
                .collect(),
        },
        nodes: match args.node.as_slice() {
            [] => vec![Kind::DevNode, Kind::Anvil],
            nodes => nodes
                .iter()
                .map(|n| match n {
                    NodeArg::Devnode => Kind::DevNode,
                    NodeArg::Anvil => Kind::Anvil,
                })
                .collect(),
        },
        command: command_line(),
        quick,
    };
    let (results, report) = throughput::run(&config).await?;
    write("throughput", &args.common, &report, &results)
}

/// Prints the report and writes `<section>.md` and `.json` (`<section>-quick.*` for a
/// quick run, which does not overwrite the last full one).
fn write(
    section: &str,
    common: &Common,
    report: &report::Report,
    results: &impl serde::Serialize,
) -> anyhow::Result<()> {
    print!("{}", report.to_markdown());
    let stem = if common.quick {
        format!("{section}-quick")
    } else {
        section.to_owned()
    };
    let (md, json) = report::write(&common.out, &stem, report, results)?;
    eprintln!("\nwrote {} and {}", md.display(), json.display());
    Ok(())
}

async fn run_gas(args: GasArgs) -> anyhow::Result<()> {
    let quick = args.common.quick;
    let mut sizes = match args.sizes.as_slice() {
        [] if quick => vec![1, 3],
        [] => vec![1, 3, 5, 7],
        sizes => sizes.to_vec(),
    };
    sizes.dedup();
    let methods = match args.method.as_slice() {
        [] => gas::Method::ALL.to_vec(),
        methods => methods
            .iter()
            .map(|m| match m {
                MethodArg::Exact => gas::Method::Exact,
                MethodArg::Similarity => gas::Method::Similarity,
                MethodArg::Median => gas::Method::Median,
                MethodArg::Weighted => gas::Method::Weighted,
            })
            .collect(),
    };
    let config = gas::Config {
        sizes,
        methods,
        command: command_line(),
        quick,
    };
    let (results, report) = gas::run(&config).await?;
    write("gas", &args.common, &report, &results)
}

async fn run_scale(args: ScaleArgs) -> anyhow::Result<()> {
    let quick = args.common.quick;
    let mut sizes = match args.nodes.as_slice() {
        [] if quick => vec![10, 100],
        [] => vec![10, 100, 1_000, 10_000],
        sizes => sizes.to_vec(),
    };
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.first() == Some(&0) {
        anyhow::bail!("--nodes: a node count must be at least 1");
    }
    if args.nodes_per_block == 0 {
        anyhow::bail!("--nodes-per-block must be at least 1");
    }
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let config = scale::Config {
        programs_dir: args
            .programs
            .unwrap_or_else(|| cor_client::Programs::default_dir(&root)),
        sizes,
        catch_up_epochs: args.epochs.unwrap_or(if quick { 10 } else { 100 }),
        nodes_per_block: args.nodes_per_block,
        command: command_line(),
        quick,
    };
    let (results, report) = scale::run(&config).await?;
    write("scale", &args.common, &report, &results)
}
