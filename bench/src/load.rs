//! The load generator: raw transactions signed ahead of time from prefunded accounts and
//! sent over JSON-RPC, the same way to every node.
//!
//! Signing happens before the clock starts, so the generator's own cost during a run is
//! one HTTP request per transaction (plus receipt or nonce polls): on a two-core machine
//! the node and the generator share the CPU, and signing would otherwise be charged to
//! the node.
//!
//! Two ways to drive a node:
//! - [`closed_loop`]: each sender sends one transaction and waits for its receipt before
//!   the next; gives the send → receipt latency of every transaction.
//! - [`pipelined`]: each sender sends its transactions back to back, waiting only for the
//!   node to accept each one; a watcher follows the senders' mined nonces. Gives the
//!   accept rate, the mining rate, and whether every accepted transaction was mined on
//!   its own (nothing here ever calls `evm_mine`).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    transports::TransportError,
};
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256, U64};
use alloy_sol_types::SolCall;
use serde::Deserialize;

/// Why a load run could not be prepared or finished.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The RPC URL is not a valid http URL.
    #[error("bad RPC URL {0:?}")]
    BadUrl(String),
    /// A JSON-RPC request failed outside the measured sends (setup, polling).
    #[error("{what}: {source}")]
    Rpc {
        /// What was being asked.
        what: &'static str,
        /// The transport's error.
        source: TransportError,
    },
    /// Signing a transaction failed.
    #[error("signing a transaction: {0}")]
    Sign(String),
    /// A setup transaction was not mined, or failed.
    #[error("setup transaction {hash} {problem}")]
    Setup {
        /// The transaction.
        hash: B256,
        /// What went wrong.
        problem: &'static str,
    },
    /// A load task panicked or was cancelled.
    #[error("a load task stopped: {0}")]
    Task(String),
}

fn rpc(what: &'static str) -> impl FnOnce(TransportError) -> LoadError {
    move |source| LoadError::Rpc { what, source }
}

/// An HTTP provider without fillers: the generator sets every field itself.
///
/// # Errors
/// [`LoadError::BadUrl`].
pub fn provider(url: &str) -> Result<DynProvider, LoadError> {
    let parsed = url
        .parse::<alloy::transports::http::reqwest::Url>()
        .map_err(|_| LoadError::BadUrl(url.to_owned()))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(parsed)
        .erased())
}

/// Fee caps of every generated transaction.
#[derive(Clone, Copy, Debug)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Ten times the node's gas price as the cap and no tip: anvil's base fee rises
    /// while blocks are full, and a cap that falls under it would stall the run; the
    /// dev node's base fee is fixed.
    ///
    /// # Errors
    /// [`LoadError::Rpc`].
    pub async fn for_node(provider: &DynProvider) -> Result<Self, LoadError> {
        let price = provider
            .get_gas_price()
            .await
            .map_err(rpc("eth_gasPrice"))?;
        Ok(Self {
            max_fee_per_gas: price.max(1) * 10,
            max_priority_fee_per_gas: 0,
        })
    }
}

/// What each transaction of a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// 1 wei to the sender's fixed recipient (21 000 gas).
    EthTransfer,
    /// `transfer(recipient, 1)` on an ERC-20 token at `token`.
    TokenTransfer {
        /// The token.
        token: Address,
        /// Gas limit of each transfer (an estimate plus margin).
        gas_limit: u64,
    },
}

impl Workload {
    /// Short name used in tables and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::EthTransfer => "ETH transfer",
            Workload::TokenTransfer { .. } => "ERC-20 transfer",
        }
    }

    fn call(&self, sender: usize) -> (TxKind, U256, Bytes, u64) {
        let to = recipient(sender);
        match *self {
            Workload::EthTransfer => (TxKind::Call(to), U256::from(1), Bytes::new(), 21_000),
            Workload::TokenTransfer { token, gas_limit } => {
                let input = cor_abi::CorToken::transferCall {
                    to,
                    value: U256::from(1),
                }
                .abi_encode();
                (TxKind::Call(token), U256::ZERO, input.into(), gas_limit)
            }
        }
    }
}

/// The recipient of sender `index`'s transfers: an address no one holds a key for and
/// that is not a precompile, the same on every node.
pub fn recipient(index: usize) -> Address {
    Address::from_word(keccak256(format!("cor-bench recipient {index}")))
}

/// One signed transaction, ready to send.
#[derive(Clone, Debug)]
pub struct RawTx {
    /// Its hash.
    pub hash: B256,
    /// Its EIP-2718 encoding.
    pub raw: Bytes,
}

/// Signs an EIP-1559 transaction.
///
/// # Errors
/// [`LoadError::Sign`].
#[allow(clippy::too_many_arguments)]
pub fn sign(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    fees: Fees,
) -> Result<RawTx, LoadError> {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    let signature = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|e| LoadError::Sign(e.to_string()))?;
    let signed = tx.into_signed(signature);
    let hash = *signed.hash();
    let raw = TxEnvelope::Eip1559(signed).encoded_2718().into();
    Ok(RawTx { hash, raw })
}

/// One sender's share of a run.
#[derive(Clone, Debug)]
pub struct SenderTxs {
    /// The sender.
    pub address: Address,
    /// Its mined nonce before the run.
    pub start_nonce: u64,
    /// Its transactions, in nonce order from `start_nonce`.
    pub txs: Vec<RawTx>,
}

/// Signs `total` transactions of `workload`, split evenly over `senders` (the first ones
/// take the remainder), with nonces read from the node.
///
/// # Errors
/// [`LoadError::Rpc`], [`LoadError::Sign`].
pub async fn prepare(
    provider: &DynProvider,
    senders: &[PrivateKeySigner],
    total: usize,
    workload: Workload,
    fees: Fees,
) -> Result<Vec<SenderTxs>, LoadError> {
    let chain_id = provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
    let mut batch = Vec::with_capacity(senders.len());
    for (index, signer) in senders.iter().enumerate() {
        let count = total / senders.len() + usize::from(index < total % senders.len());
        let start_nonce = provider
            .get_transaction_count(signer.address())
            .pending()
            .await
            .map_err(rpc("eth_getTransactionCount"))?;
        let (to, value, input, gas) = workload.call(index);
        let txs = (0..count as u64)
            .map(|k| {
                sign(
                    signer,
                    chain_id,
                    start_nonce + k,
                    to,
                    value,
                    input.clone(),
                    gas,
                    fees,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        batch.push(SenderTxs {
            address: signer.address(),
            start_nonce,
            txs,
        });
    }
    Ok(batch)
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    /// Transactions prepared.
    pub planned: usize,
    /// Accepted by `eth_sendRawTransaction`.
    pub accepted: usize,
    /// Refused by `eth_sendRawTransaction` (a sender stops at its first refusal: its
    /// later nonces could not be mined).
    pub rejected: usize,
    /// Mined (successful or not).
    pub mined: usize,
    /// Mined with status 0.
    pub failed: usize,
    /// From the first send to the last acceptance.
    pub accept_elapsed: Duration,
    /// From the first send to the last transaction seen mined.
    pub mined_elapsed: Duration,
    /// Per mined transaction: from just before its send to its receipt (closed loop) or
    /// to the watcher seeing it mined (pipelined).
    pub latencies: Vec<Duration>,
    /// The first refusal or receipt timeout, for the report.
    pub first_error: Option<String>,
}

impl RunOutcome {
    /// True when every accepted transaction was mined.
    pub fn all_mined(&self) -> bool {
        self.mined == self.accepted
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptLite {
    status: Option<U64>,
    contract_address: Option<Address>,
}

impl ReceiptLite {
    fn succeeded(&self) -> bool {
        self.status.is_none_or(|s| s == U64::from(1))
    }
}

async fn receipt(provider: &DynProvider, hash: B256) -> Result<Option<ReceiptLite>, LoadError> {
    provider
        .raw_request("eth_getTransactionReceipt".into(), (hash,))
        .await
        .map_err(rpc("eth_getTransactionReceipt"))
}

/// Polls for a receipt: at once, then backing off from 1 ms to 10 ms, for `timeout`.
async fn wait_receipt(
    provider: &DynProvider,
    hash: B256,
    timeout: Duration,
) -> Result<Option<ReceiptLite>, LoadError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(r) = receipt(provider, hash).await? {
            return Ok(Some(r));
        }
        if started.elapsed() > timeout {
            return Ok(None);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Sends a setup transaction and waits (up to a minute) for its successful receipt;
/// returns the created contract's address, if any.
///
/// # Errors
/// [`LoadError::Rpc`], [`LoadError::Setup`].
pub async fn send_and_wait(
    provider: &DynProvider,
    tx: &RawTx,
) -> Result<Option<Address>, LoadError> {
    // The receipt is polled below, the same way as in the runs.
    let _pending = provider
        .send_raw_transaction(&tx.raw)
        .await
        .map_err(rpc("eth_sendRawTransaction"))?;
    match wait_receipt(provider, tx.hash, Duration::from_secs(60)).await? {
        None => Err(LoadError::Setup {
            hash: tx.hash,
            problem: "was not mined within 60 s",
        }),
        Some(r) if !r.succeeded() => Err(LoadError::Setup {
            hash: tx.hash,
            problem: "failed (status 0)",
        }),
        Some(r) => Ok(r.contract_address),
    }
}

/// Gas estimate of `input` sent from `from` to `to` (contract creation when `to` is
/// `None`).
///
/// # Errors
/// [`LoadError::Rpc`].
pub async fn estimate(
    provider: &DynProvider,
    from: Address,
    to: Option<Address>,
    input: Bytes,
) -> Result<u64, LoadError> {
    let mut request = TransactionRequest::default().from(from).input(input.into());
    if let Some(to) = to {
        request = request.to(to);
    }
    provider
        .estimate_gas(request)
        .await
        .map_err(rpc("eth_estimateGas"))
}

/// Logs progress every few seconds until dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    fn start(label: String, total: usize, done: Arc<AtomicUsize>, what: &'static str) -> Self {
        Self(tokio::spawn(async move {
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                tracing::info!(
                    "{label}: {}/{total} {what} after {:.0} s",
                    done.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
            }
        }))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Default)]
struct SenderReport {
    accepted: usize,
    rejected: usize,
    mined: usize,
    failed: usize,
    last_accept: Option<Instant>,
    last_mined: Option<Instant>,
    latencies: Vec<Duration>,
    first_error: Option<String>,
    /// Pipelined: when each accepted transaction's send started.
    sent_at: Vec<Instant>,
}

/// Each sender sends one transaction, waits for its receipt, sends the next.
///
/// # Errors
/// [`LoadError::Rpc`] when receipt polling fails, [`LoadError::Task`].
pub async fn closed_loop(
    provider: &DynProvider,
    batch: Vec<SenderTxs>,
    label: &str,
) -> Result<RunOutcome, LoadError> {
    let planned = batch.iter().map(|s| s.txs.len()).sum();
    let done = Arc::new(AtomicUsize::new(0));
    let _ticker = Ticker::start(label.to_owned(), planned, done.clone(), "mined");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for sender in batch {
        let provider = provider.clone();
        let done = done.clone();
        tasks.spawn(async move {
            let mut report = SenderReport::default();
            for tx in &sender.txs {
                let t0 = Instant::now();
                if let Err(e) = provider.send_raw_transaction(&tx.raw).await {
                    report.rejected += 1;
                    report.first_error = Some(e.to_string());
                    break;
                }
                report.accepted += 1;
                report.last_accept = Some(Instant::now());
                match wait_receipt(&provider, tx.hash, Duration::from_secs(60)).await? {
                    Some(r) => {
                        let now = Instant::now();
                        report.latencies.push(now - t0);
                        report.last_mined = Some(now);
                        report.mined += 1;
                        report.failed += usize::from(!r.succeeded());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        report.first_error = Some(format!("no receipt for {} in 60 s", tx.hash));
                        break;
                    }
                }
            }
            Ok::<_, LoadError>(report)
        });
    }
    let mut reports = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        reports.push(joined.map_err(|e| LoadError::Task(e.to_string()))??);
    }
    Ok(combine(planned, started, reports))
}

/// How long [`pipelined`] waits for transactions still unmined after the last send.
#[derive(Clone, Copy, Debug)]
pub struct Drain {
    /// Give up when no transaction has been mined for this long after the senders
    /// finished.
    pub idle: Duration,
    /// How often the watcher reads the senders' nonces.
    pub poll: Duration,
}

/// Each sender sends all its transactions back to back; a watcher reads the senders'
/// mined nonces every `drain.poll` and records when each transaction was mined.
///
/// # Errors
/// [`LoadError::Rpc`] when the watcher's polls fail, [`LoadError::Task`].
pub async fn pipelined(
    provider: &DynProvider,
    batch: Vec<SenderTxs>,
    drain: Drain,
    label: &str,
) -> Result<RunOutcome, LoadError> {
    let planned: usize = batch.iter().map(|s| s.txs.len()).sum();
    let accepted: Arc<Vec<AtomicUsize>> =
        Arc::new(batch.iter().map(|_| AtomicUsize::new(0)).collect());
    let finished = Arc::new(AtomicBool::new(false));
    let mined_total = Arc::new(AtomicUsize::new(0));
    let _ticker = Ticker::start(label.to_owned(), planned, mined_total.clone(), "mined");

    let started = Instant::now();
    let watcher = {
        let provider = provider.clone();
        let senders: Vec<(Address, u64, usize)> = batch
            .iter()
            .map(|s| (s.address, s.start_nonce, s.txs.len()))
            .collect();
        let accepted = accepted.clone();
        let finished = finished.clone();
        let mined_total = mined_total.clone();
        tokio::spawn(async move {
            watch(
                &provider,
                &senders,
                &accepted,
                &finished,
                &mined_total,
                drain,
            )
            .await
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    for (index, sender) in batch.iter().enumerate() {
        let provider = provider.clone();
        let txs = sender.txs.clone();
        let accepted = accepted.clone();
        tasks.spawn(async move {
            let mut report = SenderReport::default();
            for tx in &txs {
                let t0 = Instant::now();
                if let Err(e) = provider.send_raw_transaction(&tx.raw).await {
                    report.rejected += 1;
                    report.first_error = Some(e.to_string());
                    break;
                }
                report.sent_at.push(t0);
                report.accepted += 1;
                report.last_accept = Some(Instant::now());
                accepted[index].fetch_add(1, Ordering::Release);
            }
            (index, report)
        });
    }
    let mut reports: Vec<SenderReport> = batch.iter().map(|_| SenderReport::default()).collect();
    while let Some(joined) = tasks.join_next().await {
        let (index, report) = joined.map_err(|e| LoadError::Task(e.to_string()))?;
        reports[index] = report;
    }
    finished.store(true, Ordering::Release);
    let mined_at = watcher
        .await
        .map_err(|e| LoadError::Task(e.to_string()))??;

    // Latencies from the watcher's observations; statuses from the receipts (after the
    // clock stopped).
    for (report, mined) in reports.iter_mut().zip(&mined_at) {
        let count = mined.len().min(report.accepted);
        report.mined = count;
        report.last_mined = mined[..count].iter().max().copied();
        report.latencies = (0..count).map(|k| mined[k] - report.sent_at[k]).collect();
    }
    for (report, sender) in reports.iter_mut().zip(&batch) {
        for tx in &sender.txs[..report.mined] {
            match receipt(provider, tx.hash).await? {
                Some(r) => report.failed += usize::from(!r.succeeded()),
                None => {
                    report.first_error.get_or_insert_with(|| {
                        format!("nonce advanced but no receipt for {}", tx.hash)
                    });
                }
            }
        }
    }
    Ok(combine(planned, started, reports))
}

/// Reads each sender's mined nonce until every accepted transaction is mined, or the
/// senders are done and nothing was mined for `drain.idle`. Returns, per sender, when
/// each of its transactions was first seen mined.
async fn watch(
    provider: &DynProvider,
    senders: &[(Address, u64, usize)],
    accepted: &[AtomicUsize],
    finished: &AtomicBool,
    mined_total: &AtomicUsize,
    drain: Drain,
) -> Result<Vec<Vec<Instant>>, LoadError> {
    let mut mined_at: Vec<Vec<Instant>> = senders.iter().map(|s| Vec::with_capacity(s.2)).collect();
    let mut last_progress = Instant::now();
    loop {
        tokio::time::sleep(drain.poll).await;
        // Read before polling: everything accepted by now must show up eventually.
        let done_sending = finished.load(Ordering::Acquire);
        let mut progressed = false;
        for (i, &(address, start, _)) in senders.iter().enumerate() {
            let nonce = provider
                .get_transaction_count(address)
                .latest()
                .await
                .map_err(rpc("eth_getTransactionCount"))?;
            let mined = nonce.saturating_sub(start) as usize;
            let now = Instant::now();
            while mined_at[i].len() < mined {
                mined_at[i].push(now);
                progressed = true;
            }
        }
        let total: usize = mined_at.iter().map(Vec::len).sum();
        mined_total.store(total, Ordering::Relaxed);
        if progressed {
            last_progress = Instant::now();
        }
        let all_in = mined_at
            .iter()
            .zip(accepted)
            .all(|(m, a)| m.len() >= a.load(Ordering::Acquire));
        if done_sending && all_in {
            return Ok(mined_at);
        }
        if done_sending && last_progress.elapsed() > drain.idle {
            return Ok(mined_at);
        }
    }
}

fn combine(planned: usize, started: Instant, reports: Vec<SenderReport>) -> RunOutcome {
    let since = |t: Option<Instant>| t.map_or(Duration::ZERO, |t| t - started);
    let mut out = RunOutcome {
        planned,
        ..RunOutcome::default()
    };
    for r in reports {
        out.accepted += r.accepted;
        out.rejected += r.rejected;
        out.mined += r.mined;
        out.failed += r.failed;
        out.accept_elapsed = out.accept_elapsed.max(since(r.last_accept));
        out.mined_elapsed = out.mined_elapsed.max(since(r.last_mined));
        out.latencies.extend(r.latencies);
        if out.first_error.is_none() {
            out.first_error = r.first_error;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_transfers_recover_to_their_sender_and_hash() {
        use alloy::consensus::transaction::SignerRecoverable;
        use alloy::eips::Decodable2718;
        let signer = cor_client::wallet::dev_account(1).unwrap();
        let fees = Fees {
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 0,
        };
        let (to, value, input, gas) = Workload::EthTransfer.call(3);
        let tx = sign(&signer, 31_337, 7, to, value, input, gas, fees).unwrap();
        let decoded = TxEnvelope::decode_2718(&mut tx.raw.as_ref()).unwrap();
        assert_eq!(*decoded.tx_hash(), tx.hash);
        assert_eq!(decoded.recover_signer().unwrap(), signer.address());
        assert_eq!(alloy::consensus::Transaction::nonce(&decoded), 7);
        assert_eq!(
            alloy::consensus::Transaction::to(&decoded),
            Some(recipient(3))
        );
    }

    #[test]
    fn recipients_differ_per_sender_and_are_not_precompiles() {
        assert_ne!(recipient(0), recipient(1));
        for i in 0..8 {
            // Precompiles and Arbitrum's system contracts live under 0x…ffff.
            assert!(recipient(i).as_slice()[..18].iter().any(|&b| b != 0));
        }
    }
}
