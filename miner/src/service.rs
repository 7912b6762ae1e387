//! The miner daemon: start-up (store, models, connection, registration, HTTP) and the
//! main loop.
//!
//! Two tasks share the durable [`Store`]:
//! - the **inference worker** answers assigned tasks one at a time (the engine is serial)
//!   and stores each answer with its salt and commitment before anything is sent;
//! - the **chain loop** records new assignments (pushed by the subscription, and polled
//!   from the block cursor), then takes every unfinished task a step further (commit,
//!   reveal, close) and periodically sends the heartbeat and claims. It is the only
//!   sender, so transactions go out one after another from one nonce sequence.
//!
//! On shutdown the loop makes one last pass (reveals whose window is open go out), then
//! stops; an answer being generated is redone after the restart if its window allows.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use cor_client::{
    deployment::DeploymentFileError, submit::Submitter, ClientError, Connection, Deployment,
    Program, Suite,
};
use tokio::sync::{mpsc, watch, Notify};

use crate::{
    answer::Answerer,
    config::MinerConfig,
    http,
    inference::{Engine, InferenceError, ModelSpec},
    metrics::Metrics,
    models::{self, PrepareError},
    node::{self, NodeError, Upkeep},
    round::Rounds,
    store::{Outcome, Stage, Store, StoreError},
    watch::{self as assignments, Seen},
};

/// Why the miner could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// The deployments file is unreadable or incomplete.
    #[error(transparent)]
    Deployment(#[from] DeploymentFileError),
    /// The deployments file does not exist.
    #[error("no deployments file at {0}: run `cor deploy` first")]
    NoDeployment(String),
    /// The key could not be loaded.
    #[error(transparent)]
    Wallet(#[from] cor_client::wallet::WalletError),
    /// The RPC serves another chain than the deployment's.
    #[error("the RPC serves chain {rpc} but the deployment is for chain {deployment}")]
    WrongChain {
        /// The RPC's chain id.
        rpc: u64,
        /// The deployment's.
        deployment: u64,
    },
    /// A call or transaction failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The task store failed (or another miner holds it).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A model could not be prepared.
    #[error("model {id}: {source}")]
    Prepare {
        /// The model id.
        id: u32,
        /// What failed.
        source: PrepareError,
    },
    /// A model could not be loaded.
    #[error("model {id}: {source}")]
    Load {
        /// The model id.
        id: u32,
        /// What failed.
        source: InferenceError,
    },
    /// Registration or the node's state stops it from serving.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The HTTP server could not bind.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The address.
        addr: std::net::SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
}

/// A started miner, ready to [`run`](Miner::run).
pub struct Miner {
    config: MinerConfig,
    submitter: Submitter,
    suite: Suite,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    answerer: Arc<Answerer>,
    first_block: u64,
}

impl std::fmt::Debug for Miner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Miner")
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

impl Miner {
    /// Opens the store, prepares and loads the models, connects, and registers the node
    /// (or updates its models).
    ///
    /// # Errors
    /// [`MinerError`] naming what is missing or wrong.
    pub async fn start(config: MinerConfig) -> Result<Self, MinerError> {
        let deployment = Deployment::load(&config.deployments)?
            .ok_or_else(|| MinerError::NoDeployment(config.deployments.display().to_string()))?;
        let suite = deployment.suite()?;
        let store = Arc::new(Store::open(&config.state_dir.join("miner.redb"))?);
        let conn = Connection::connect(&config.rpc_url, config.signer.load()?).await?;
        if conn.chain_id() != deployment.chain_id {
            return Err(MinerError::WrongChain {
                rpc: conn.chain_id(),
                deployment: deployment.chain_id,
            });
        }
        suite.label(&conn);
        let mut engines = HashMap::new();
        for model in &config.models {
            let source = model.source.clone();
            let state_dir = config.state_dir.clone();
            let path = tokio::task::spawn_blocking(move || models::prepare(&source, &state_dir))
                .await
                .unwrap_or_else(|join| Err(PrepareError::Panicked(join.to_string())))
                .map_err(|source| MinerError::Prepare {
                    id: model.id,
                    source,
                })?;
            let load = |source| MinerError::Load {
                id: model.id,
                source,
            };
            let spec = ModelSpec::detect(path)
                .map_err(load)?
                .with_dtype(model.dtype);
            let engine = Engine::load(&spec).await.map_err(load)?;
            tracing::info!(model = model.id, path = %spec.path.display(), "model ready");
            engines.insert(model.id, Arc::new(engine));
        }
        let answerer = Answerer::new(
            engines,
            config.max_input_bytes,
            config.max_tokens_limit,
            config.peers.clone(),
        );
        let submitter = Submitter::new(conn, config.receipt_timeout, config.max_bumps);
        node::ensure_registered(
            &submitter,
            &suite,
            &answerer.model_ids(),
            node::metadata_word(&config.metadata),
            config.register,
        )
        .await?;
        let first_block = config.from_block.unwrap_or_else(|| {
            deployment
                .contracts
                .get(&Program::SessionQueue)
                .map_or(0, |c| c.block)
        });
        Ok(Self {
            config,
            submitter,
            suite,
            store,
            metrics: Arc::new(Metrics::default()),
            answerer: Arc::new(answerer),
            first_block,
        })
    }

    /// The node's account.
    pub fn address(&self) -> Address {
        self.submitter.connection().address()
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Serves HTTP, then runs the inference worker and the chain loop until `shutdown`
    /// resolves (see the module documentation).
    ///
    /// # Errors
    /// [`MinerError::Http`] when the listen address cannot be bound.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), MinerError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let addr = self.config.listen_addr;
        let mut http_stop = stop_rx.clone();
        let bound = http::serve(self.store.clone(), self.metrics.clone(), addr, async move {
            let _ = http_stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|source| MinerError::Http { addr, source })?;
        let base = self
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        tracing::info!(address = %self.address(), %bound, outputs = %format!("{base}/outputs/<hash>"), "miner serving");

        let wake = Arc::new(Notify::new());
        let (work_tx, work_rx) = mpsc::unbounded_channel();
        let worker = tokio::spawn(infer(
            work_rx,
            self.answerer.clone(),
            self.store.clone(),
            self.metrics.clone(),
            self.address(),
            wake.clone(),
        ));
        let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
        if let Some(ws) = self.config.ws_url.clone() {
            tokio::spawn(assignments::subscribe(
                ws,
                self.suite.session_queue,
                self.address(),
                seen_tx.clone(),
                stop_rx.clone(),
            ));
        } else {
            tracing::info!(every = ?self.config.poll, "no ws_url: polling for assignments");
        }

        let rounds = Rounds::new(
            self.submitter.clone(),
            self.suite,
            self.store.clone(),
            self.metrics.clone(),
            base,
        );
        let upkeep = Upkeep::new(
            self.submitter.clone(),
            self.suite,
            self.store.clone(),
            self.metrics.clone(),
        );
        let mut chain = ChainLoop {
            miner: &self,
            rounds,
            queued: HashSet::new(),
            work: work_tx,
        };
        let mut stop = stop_rx.clone();
        let mut last_upkeep: Option<Instant> = None;
        let mut pause = self.config.poll;
        loop {
            let mut pushed = Vec::new();
            while let Ok(seen) = seen_rx.try_recv() {
                pushed.push(seen);
            }
            match chain.round(&pushed).await {
                Ok(()) => pause = self.config.poll,
                Err(e) => {
                    self.metrics.rpc_errors.fetch_add(1, Ordering::Relaxed);
                    pause = (pause * 2).min(Duration::from_secs(30));
                    tracing::warn!(error = %e, retry_in = ?pause, "round failed");
                }
            }
            if last_upkeep.is_none_or(|t| t.elapsed() >= self.config.claim_every) {
                last_upkeep = Some(Instant::now());
                if let Err(e) = upkeep.run().await {
                    self.metrics.rpc_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "heartbeat or claims failed; retried later");
                }
            }
            tokio::select! {
                // The guard `wait_for` returns must not live on in the other branches.
                () = async { let _ = stop.wait_for(|s| *s).await; } => break,
                () = wake.notified() => {}
                Some(seen) = seen_rx.recv() => {
                    // Handled at the top of the next round with anything else queued.
                    if let Err(e) = chain.record_seen(seen).await {
                        tracing::warn!(error = %e, "recording a pushed assignment failed; polling will find it");
                    }
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("stopping: last pass over open tasks");
        if let Err(e) = chain.advance_all().await {
            tracing::warn!(error = %e, "last pass failed");
        }
        drop(chain);
        worker.abort();
        drop(seen_tx);
        tracing::info!("miner stopped");
        Ok(())
    }
}

/// The chain side of the main loop.
struct ChainLoop<'a> {
    miner: &'a Miner,
    rounds: Rounds,
    queued: HashSet<U256>,
    work: mpsc::UnboundedSender<U256>,
}

impl ChainLoop<'_> {
    fn conn(&self) -> &Connection {
        self.miner.submitter.connection()
    }

    /// Records pushed and polled assignments, then advances every open task.
    async fn round(&mut self, pushed: &[Seen]) -> Result<(), MinerError> {
        for seen in pushed {
            self.record_seen(*seen).await?;
        }
        self.poll().await?;
        self.advance_all().await
    }

    /// Records one assignment unless known.
    async fn record_seen(&mut self, seen: Seen) -> Result<(), MinerError> {
        if self.miner.store.get(seen.task_id)?.is_some() {
            return Ok(());
        }
        let record = assignments::describe(self.conn(), &self.miner.suite, seen).await?;
        if self.miner.store.insert_new(&record)? {
            self.miner.metrics.assigned.fetch_add(1, Ordering::Relaxed);
            tracing::info!(task = %record.task_id, seat = record.seat, model = record.model_id, session = record.session_id, "assigned");
        }
        Ok(())
    }

    /// Scans the blocks after the cursor for assignments, then moves the cursor.
    async fn poll(&mut self) -> Result<(), MinerError> {
        let head = self
            .conn()
            .provider()
            .get_block_number()
            .await
            .map_err(ClientError::Rpc)?;
        self.miner.metrics.head.store(head, Ordering::Relaxed);
        let from = match self.miner.store.cursor()? {
            Some(cursor) => cursor + 1,
            None => self.miner.first_block,
        };
        if from > head {
            return Ok(());
        }
        let seen = assignments::scan(
            self.conn(),
            self.miner.suite.session_queue,
            self.miner.address(),
            from,
            head,
        )
        .await?;
        for s in seen {
            self.record_seen(s).await?;
        }
        self.miner.store.set_cursor(head)?;
        Ok(())
    }

    /// Queues unanswered tasks for inference and takes the others a step further. A task
    /// whose step fails is logged and retried next round; the others go on.
    async fn advance_all(&mut self) -> Result<(), MinerError> {
        let now = self
            .conn()
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(ClientError::Rpc)?
            .map_or(0, |b| b.header.timestamp);
        for mut record in self.miner.store.unfinished()? {
            if record.stage == Stage::Assigned {
                if self.queued.insert(record.task_id) {
                    let _ = self.work.send(record.task_id);
                }
                continue;
            }
            if let Err(e) = self.rounds.advance(&mut record, now).await {
                self.miner
                    .metrics
                    .rpc_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(task = %record.task_id, stage = ?record.stage, error = %e, "step failed; retried next round");
            }
        }
        Ok(())
    }
}

/// The inference worker: answers queued tasks one at a time.
async fn infer(
    mut queue: mpsc::UnboundedReceiver<U256>,
    answerer: Arc<Answerer>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    miner: Address,
    wake: Arc<Notify>,
) {
    while let Some(task) = queue.recv().await {
        let mut record = match store.get(task) {
            Ok(Some(record)) if record.stage == Stage::Assigned => record,
            Ok(_) => continue,
            Err(e) => {
                tracing::error!(%task, error = %e, "reading the task store");
                continue;
            }
        };
        let output = match answerer.answer(&record, miner).await {
            Ok(answered) => {
                let g = &answered.generation;
                metrics.record_inference(
                    u64::try_from(g.total.as_micros()).unwrap_or(u64::MAX),
                    g.completion_tokens,
                    g.decode_tokens_per_second(),
                );
                tracing::info!(%task, tokens = g.completion_tokens, ms = g.total.as_millis() as u64, output = %answered.answer.output_hash, "answered");
                record.answer = Some(answered.answer);
                record.stage = Stage::Answered;
                Some(answered.output)
            }
            Err(e) => {
                metrics.skipped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%task, reason = %e, "task skipped");
                record.stage = Stage::Done(Outcome::Skipped(e.to_string()));
                None
            }
        };
        if let Err(e) = store.put(&record, output.as_deref()) {
            tracing::error!(%task, error = %e, "storing the answer failed; the task is retried after a restart");
            continue;
        }
        wake.notify_one();
    }
}
