//! `cor task`: submit a task, follow it to its result and check the output's hash, and
//! the operator's side by hand: commit, reveal, finalize.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{providers::Provider, rpc::types::Filter};
use alloy_primitives::{hex, keccak256, Address, B256, U256};
use alloy_sol_types::SolEvent;
use clap::{Args, Subcommand};
use cor_abi::{CommitReveal, SessionQueue};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    amount::cor,
    cmd::session::Meta,
    context::{events, tx_json, tx_line, Chain, Ctx, Output},
    error::{task_status, time, CliError},
};
use cor_client::content;

/// The most bytes `task submit --input-uri` and `task wait` read from a URI (outputs are
/// text; a larger answer is refused rather than held in memory).
const MAX_FETCH_BYTES: usize = 16 * 1024 * 1024;

/// `cor task` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TaskCmd {
    /// Submit a task to one of your sessions; prints its id, price and miners
    Submit(SubmitArgs),
    /// A task's round: status, deadlines, each seat, the result
    Show {
        /// Task id
        id: U256,
    },
    /// Wait until a task is finalized, fetch the winning output from its URI and check
    /// its hash against the chain
    Wait(WaitArgs),
    /// Operator: commit an answer to a task you are assigned (salt kept in --store)
    Commit(CommitArgs),
    /// Operator: reveal the answer committed with `cor task commit`
    Reveal(RevealArgs),
    /// Finalize a task (anyone, once every miner revealed or the deadlines passed)
    Finalize {
        /// Task id
        id: U256,
    },
}

/// `cor task submit` flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["prompt", "input_file", "input_uri"]))]
pub(crate) struct SubmitArgs {
    /// Session id (yours)
    #[arg(long, value_name = "ID")]
    session: u64,
    /// The input text, carried on chain as a data: URI
    #[arg(long)]
    prompt: Option<String>,
    /// The input from a file, carried as a data: URI
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// Where miners fetch the input (http(s):// or data:); hashed after fetching unless
    /// --input-hash is given
    #[arg(long, value_name = "URI")]
    input_uri: Option<String>,
    /// keccak-256 of the input bytes, with --input-uri
    #[arg(long, value_name = "HASH", requires = "input_uri")]
    input_hash: Option<B256>,
    /// Most tokens the answer may have
    #[arg(long, default_value_t = 256)]
    max_tokens: u32,
    /// Sampling settings word (0: greedy)
    #[arg(long, default_value_t = B256::ZERO, value_name = "HASH")]
    sampling: B256,
}

/// `cor task wait` flags.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Task id
    id: U256,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
    /// Seconds between polls
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    interval: f64,
    /// Also finalize the task as soon as it is ready (needs a wallet)
    #[arg(long)]
    finalize: bool,
    /// Write the output to FILE instead of printing it
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Where answers (with their salts) are kept between commit and reveal.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Folder for committed answers and their salts [default: ~/.cor/answers]
    #[arg(long, env = "COR_ANSWERS", value_name = "DIR")]
    store: Option<PathBuf>,
}

/// `cor task commit` flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("answer").required(true).args(["output", "output_file"]))]
pub(crate) struct CommitArgs {
    /// Task id
    id: U256,
    /// The output text
    #[arg(long)]
    output: Option<String>,
    /// The output from a file
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Numeric score (grading tasks, median consensus)
    #[arg(long, default_value_t = 0)]
    score: u64,
    /// Salt (32 bytes hex) [default: random]
    #[arg(long, value_name = "HEX")]
    salt: Option<B256>,
    /// Where the output will be served [default: a data: URI of the output]
    #[arg(long, value_name = "URI")]
    uri: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// `cor task reveal` flags.
#[derive(Debug, Args)]
pub(crate) struct RevealArgs {
    /// Task id
    id: U256,
    /// Serve the output from this URI instead of the one stored at commit
    #[arg(long, value_name = "URI")]
    uri: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// An answer as committed, kept until it is revealed.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    task: U256,
    miner: Address,
    output_hash: B256,
    fingerprint: B256,
    score: u64,
    salt: B256,
    uri: String,
    commitment: B256,
}

impl StoreArgs {
    fn dir(&self, chain_id: u64) -> Result<PathBuf, CliError> {
        let base = match &self.store {
            Some(dir) => dir.clone(),
            None => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cor").join("answers"))
                .ok_or_else(|| {
                    CliError::Config("no HOME: pass --store DIR for committed answers".to_owned())
                })?,
        };
        Ok(base.join(chain_id.to_string()))
    }

    fn path(&self, chain_id: u64, task: U256, miner: Address) -> Result<PathBuf, CliError> {
        Ok(self.dir(chain_id)?.join(format!("{task}-{miner}.json")))
    }
}

/// Runs `cor task`.
pub(crate) async fn run(ctx: &Ctx, cmd: TaskCmd) -> Result<Output, CliError> {
    match cmd {
        TaskCmd::Submit(a) => submit(ctx, a).await,
        TaskCmd::Show { id } => show(ctx, id).await,
        TaskCmd::Wait(a) => wait(ctx, a).await,
        TaskCmd::Commit(a) => commit(ctx, a).await,
        TaskCmd::Reveal(a) => reveal(ctx, a).await,
        TaskCmd::Finalize { id } => finalize(ctx, id).await,
    }
}

async fn submit(ctx: &Ctx, a: SubmitArgs) -> Result<Output, CliError> {
    let (input_uri, input_hash) = match (&a.prompt, &a.input_file, &a.input_uri) {
        (Some(text), _, _) => (
            content::data_uri(text.as_bytes()),
            keccak256(text.as_bytes()),
        ),
        (_, Some(file), _) => {
            let bytes = std::fs::read(file).map_err(|e| {
                CliError::Config(format!("cannot read --input-file {}: {e}", file.display()))
            })?;
            (content::data_uri(&bytes), keccak256(&bytes))
        }
        (_, _, Some(u)) => match a.input_hash {
            Some(h) => (u.clone(), h),
            None => {
                let bytes = content::fetch(u, MAX_FETCH_BYTES)
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                (u.clone(), keccak256(&bytes))
            }
        },
        _ => {
            return Err(CliError::Config(
                "give the input: --prompt, --input-file or --input-uri".to_owned(),
            ))
        }
    };
    let chain = ctx.signing().await?;
    let r = chain
        .send(
            chain.suite.session_queue,
            &SessionQueue::submitTaskCall {
                sessionId: a.session,
                inputHash: input_hash,
                inputUri: input_uri,
                maxTokens: a.max_tokens,
                sampling: a.sampling,
            },
        )
        .await?;
    let submitted = events::<SessionQueue::TaskSubmitted>(&r)
        .pop()
        .ok_or_else(|| CliError::Failed("the transaction logged no TaskSubmitted".to_owned()))?;
    let mut seats = events::<SessionQueue::TaskAssigned>(&r);
    seats.sort_by_key(|s| s.seat);
    let miners: Vec<Address> = seats.iter().map(|s| s.miner).collect();
    let mut text = format!(
        "task {} submitted to session {}: price {}\n  commit by {}\n  reveal by {}\n  miners:\n",
        submitted.taskId,
        a.session,
        cor(submitted.price),
        time(submitted.commitDeadline),
        time(submitted.revealDeadline)
    );
    for (i, m) in miners.iter().enumerate() {
        text.push_str(&format!("    seat {i}: {m}\n"));
    }
    text.push_str(&tx_line(&r));
    Ok(Output::new(
        text,
        json!({
            "task": submitted.taskId.to_string(),
            "session": a.session,
            "price": submitted.price.to_string(),
            "input_hash": input_hash,
            "input_uri": submitted.inputUri,
            "commit_deadline": submitted.commitDeadline,
            "reveal_deadline": submitted.revealDeadline,
            "miners": miners,
            "tx": tx_json(&r),
        }),
    ))
}

/// A task's round as read from CommitReveal.
struct Round {
    status: u8,
    n: u8,
    committed: u8,
    revealed: u8,
    commit_deadline: u64,
    reveal_deadline: u64,
    agreeing_mask: u8,
    result_seat: u8,
    meta: Meta,
    seats: Vec<CommitReveal::seatReturn>,
}

async fn round(chain: &Chain, id: U256) -> Result<Round, CliError> {
    let t = chain
        .conn
        .view(
            chain.suite.commit_reveal,
            &CommitReveal::taskCall { taskId: id },
        )
        .await?;
    let mut seats = Vec::new();
    for index in 0..t._1 {
        seats.push(
            chain
                .conn
                .view(
                    chain.suite.commit_reveal,
                    &CommitReveal::seatCall { taskId: id, index },
                )
                .await?,
        );
    }
    Ok(Round {
        status: t._0,
        n: t._1,
        committed: t._2,
        revealed: t._3,
        commit_deadline: t._4,
        reveal_deadline: t._5,
        agreeing_mask: t._6,
        result_seat: t._7,
        meta: Meta::unpack(t._8),
        seats,
    })
}

fn seat_state(code: u8) -> &'static str {
    match code {
        0 => "assigned",
        1 => "committed",
        2 => "revealed",
        _ => "unknown",
    }
}

/// The `TaskSubmitted` event of a task, looked up in recent logs (best effort: RPCs limit
/// log ranges).
async fn submitted_event(chain: &Chain, id: U256) -> Option<SessionQueue::TaskSubmitted> {
    let head = chain.conn.provider().get_block_number().await.ok()?;
    let deployed = chain
        .deployment
        .contracts
        .get(&cor_client::Program::SessionQueue)
        .map(|c| c.block)
        .unwrap_or_default();
    let filter = Filter::new()
        .address(chain.suite.session_queue)
        .event_signature(SessionQueue::TaskSubmitted::SIGNATURE_HASH)
        .topic1(B256::from(id))
        .from_block(deployed.max(head.saturating_sub(99_999)))
        .to_block(head);
    let logs = chain.conn.provider().get_logs(&filter).await.ok()?;
    logs.iter()
        .find_map(|log| SessionQueue::TaskSubmitted::decode_log_data(log.data()).ok())
}

async fn show(ctx: &Ctx, id: U256) -> Result<Output, CliError> {
    let chain = ctx.reading().await?;
    let t = chain
        .conn
        .view(
            chain.suite.session_queue,
            &SessionQueue::taskCall { taskId: id },
        )
        .await?;
    let r = round(&chain, id).await?;
    let submitted = submitted_event(&chain, id).await;
    let mut text = format!(
        "task {id} in session {}: {}\n  {}\n  input hash {}\n",
        t._0,
        task_status(r.status),
        r.meta.describe(),
        t._1
    );
    if let Some(s) = &submitted {
        text.push_str(&format!(
            "  input {}\n  price {}, payer {}\n",
            s.inputUri,
            cor(s.price),
            s.payer
        ));
    }
    text.push_str(&format!(
        "  {} of {} committed (until {}), {} revealed (until {})\n",
        r.committed,
        r.n,
        time(r.commit_deadline),
        r.revealed,
        time(r.reveal_deadline)
    ));
    let mut seats = Vec::new();
    for (i, s) in r.seats.iter().enumerate() {
        let agreed = r.agreeing_mask & (1 << i) != 0;
        let uri = String::from_utf8_lossy(&s._6).into_owned();
        text.push_str(&format!("  seat {i}: {} {}", s._0, seat_state(s._1)));
        if s._1 == 2 {
            text.push_str(&format!(" output {} score {} at {uri}", s._3, s._5));
        }
        if r.status == 2 && agreed {
            text.push_str(" (agreed)");
        }
        text.push('\n');
        seats.push(json!({
            "miner": s._0, "state": seat_state(s._1), "commitment": s._2,
            "output_hash": s._3, "fingerprint": s._4, "score": s._5, "output_uri": uri,
            "agreed": agreed,
        }));
    }
    let result = result_of(&r);
    if let Some((hash, uri)) = &result {
        text.push_str(&format!("  result: output {hash} at {uri}\n"));
    }
    Ok(Output::new(
        text,
        json!({
            "task": id.to_string(),
            "session": t._0,
            "input_hash": t._1,
            "input_uri": submitted.as_ref().map(|s| s.inputUri.clone()),
            "price": submitted.as_ref().map(|s| s.price.to_string()),
            "status": task_status(r.status),
            "committed": r.committed,
            "revealed": r.revealed,
            "commit_deadline": r.commit_deadline,
            "reveal_deadline": r.reveal_deadline,
            "settings": r.meta.json(),
            "seats": seats,
            "result": result.map(|(h, u)| json!({"output_hash": h, "output_uri": u})),
        }),
    ))
}

fn result_of(r: &Round) -> Option<(B256, String)> {
    if r.status != 2 || r.result_seat == 0 {
        return None;
    }
    let seat = r.seats.get(usize::from(r.result_seat - 1))?;
    Some((seat._3, String::from_utf8_lossy(&seat._6).into_owned()))
}

async fn wait(ctx: &Ctx, a: WaitArgs) -> Result<Output, CliError> {
    let chain = if a.finalize {
        ctx.signing().await?
    } else {
        ctx.reading().await?
    };
    let interval = Duration::try_from_secs_f64(a.interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Config(format!(
                "--interval {}: expected a positive number of seconds",
                a.interval
            ))
        })?;
    let started = Instant::now();
    let r = loop {
        let r = round(&chain, a.id).await?;
        if r.status >= 2 {
            break r;
        }
        if a.finalize {
            // Finalizing is simulated first: NotReady costs nothing and is retried.
            match chain
                .conn
                .send(
                    chain.suite.commit_reveal,
                    &CommitReveal::finalizeCall { taskId: a.id },
                )
                .await
            {
                Ok(_) => continue,
                Err(e) if e.revert().is_some_and(|r| r.is("NotReady")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if started.elapsed() >= Duration::from_secs(a.timeout) {
            return Err(CliError::Failed(format!(
                "task {} is still {} after {} s ({} of {} revealed)",
                a.id,
                task_status(r.status),
                a.timeout,
                r.revealed,
                r.n
            )));
        }
        tokio::time::sleep(interval).await;
    };
    let Some((hash, uri)) = result_of(&r) else {
        return Err(CliError::Failed(format!(
            "task {} finalized unresolved: the miners did not reach the threshold and the \
             payer was refunded",
            a.id
        )));
    };
    let bytes = content::fetch(&uri, MAX_FETCH_BYTES)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let got = keccak256(&bytes);
    if got != hash {
        return Err(CliError::Mismatch(format!(
            "the output at {uri} hashes to {got}, the chain says {hash}: do not trust it"
        )));
    }
    let text = match &a.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
            format!(
                "task {} resolved; output ({} bytes, hash {hash} checked) written to {}",
                a.id,
                bytes.len(),
                path.display()
            )
        }
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Ok(Output::new(
        text,
        json!({
            "task": a.id.to_string(),
            "status": task_status(r.status),
            "output_hash": hash,
            "output_uri": uri,
            "hash_checked": true,
            "output": String::from_utf8_lossy(&bytes),
        }),
    ))
}

async fn commit(ctx: &Ctx, a: CommitArgs) -> Result<Output, CliError> {
    let bytes = match (&a.output, &a.output_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (_, Some(file)) => std::fs::read(file).map_err(|e| {
            CliError::Config(format!("cannot read --output-file {}: {e}", file.display()))
        })?,
        _ => {
            return Err(CliError::Config(
                "give --output or --output-file".to_owned(),
            ))
        }
    };
    let chain = ctx.signing().await?;
    let miner = chain.conn.address();
    let salt = a
        .salt
        .unwrap_or_else(|| B256::from(rand::random::<[u8; 32]>()));
    let output_hash = keccak256(&bytes);
    let fingerprint = cor_consensus::fingerprint(&String::from_utf8_lossy(&bytes));
    let commitment =
        cor_consensus::commitment(a.id, miner, output_hash, fingerprint, a.score, salt);
    let answer = Answer {
        task: a.id,
        miner,
        output_hash,
        fingerprint,
        score: a.score,
        salt,
        uri: a.uri.clone().unwrap_or_else(|| content::data_uri(&bytes)),
        commitment,
    };
    // The salt is kept before the commitment is sent: a crash in between loses nothing.
    let path = a.store.path(chain.conn.chain_id(), a.id, miner)?;
    save(&path, &answer)?;
    let r = chain
        .send(
            chain.suite.commit_reveal,
            &CommitReveal::commitCall {
                taskId: a.id,
                commitment,
            },
        )
        .await?;
    Ok(Output::new(
        format!(
            "committed to task {} as {miner}: output {output_hash}, commitment {commitment}\n  \
             answer and salt kept in {} for `cor task reveal {}`\n{}",
            a.id,
            path.display(),
            a.id,
            tx_line(&r)
        ),
        json!({
            "task": a.id.to_string(),
            "miner": miner,
            "output_hash": output_hash,
            "fingerprint": fingerprint,
            "commitment": commitment,
            "store": path.display().to_string(),
            "tx": tx_json(&r),
        }),
    ))
}

fn save(path: &Path, answer: &Answer) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::Failed(format!("cannot keep the answer in {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(answer).unwrap_or_default();
    std::fs::write(path, text).map_err(fail)
}

async fn reveal(ctx: &Ctx, a: RevealArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let miner = chain.conn.address();
    let path = a.store.path(chain.conn.chain_id(), a.id, miner)?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Failed(format!(
            "no committed answer of {miner} for task {} in {} ({e}): commit with `cor task \
             commit` first, or pass the same --store",
            a.id,
            path.display()
        ))
    })?;
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|e| CliError::Failed(format!("{} is not an answer file: {e}", path.display())))?;
    let uri = a.uri.unwrap_or(answer.uri);
    let r = chain
        .send(
            chain.suite.commit_reveal,
            &CommitReveal::revealCall {
                taskId: a.id,
                outputHash: answer.output_hash,
                fingerprint: answer.fingerprint,
                score: answer.score,
                outputUri: uri.clone().into_bytes().into(),
                salt: answer.salt,
            },
        )
        .await?;
    Ok(Output::new(
        format!(
            "revealed task {} as {miner}: output {} at {uri}\n{}",
            a.id,
            answer.output_hash,
            tx_line(&r)
        ),
        json!({
            "task": a.id.to_string(),
            "miner": miner,
            "output_hash": answer.output_hash,
            "output_uri": uri,
            "salt": hex::encode_prefixed(answer.salt),
            "tx": tx_json(&r),
        }),
    ))
}

async fn finalize(ctx: &Ctx, id: U256) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let r = chain
        .send(
            chain.suite.commit_reveal,
            &CommitReveal::finalizeCall { taskId: id },
        )
        .await?;
    let Some(done) = events::<CommitReveal::TaskFinalized>(&r).pop() else {
        let round = round(&chain, id).await?;
        return Ok(Output::new(
            format!(
                "task {id} was already finalized ({}); nothing changed\n{}",
                task_status(round.status),
                tx_line(&r)
            ),
            json!({"task": id.to_string(), "status": task_status(round.status),
                   "already": true, "tx": tx_json(&r)}),
        ));
    };
    let mut text = format!("task {id} finalized: {}\n", task_status(done.status));
    if done.status == 2 {
        text.push_str(&format!(
            "  output {} at {}\n  agreeing miners: {}\n",
            done.outputHash,
            done.outputUri,
            done.agreeingMiners
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        text.push_str("  no result reached the threshold: the payer is refunded\n");
    }
    text.push_str(&tx_line(&r));
    Ok(Output::new(
        text,
        json!({
            "task": id.to_string(),
            "status": task_status(done.status),
            "output_hash": done.outputHash,
            "output_uri": done.outputUri,
            "agreeing_miners": done.agreeingMiners,
            "tx": tx_json(&r),
        }),
    ))
}
