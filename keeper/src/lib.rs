//! The COR keeper: turns the protocol's permissionless upkeep into automation.
//!
//! Each round it reads the chain head, closes every ended reward epoch oldest first
//! ([`epoch`]), finalizes overdue tasks in gas-bounded batches ([`tasks`]) and sends
//! heartbeats for the nodes it is told to. Every transaction is simulated before it is
//! sent and every action is checked against the chain first, so several keepers, or a
//! keeper restarted at any point, cause no double effect and no failed transactions.
//! Transient RPC errors are retried with backoff ([`cor_client::submit::RetryPolicy`]); a round that
//! fails is retried the next round.

pub mod config;
pub mod epoch;
pub mod metrics;
pub mod tasks;

use std::{future::Future, sync::atomic::Ordering, sync::Arc};

use alloy::providers::Provider;
use cor_client::{
    deployment::DeploymentFileError, submit::Submitter, ClientError, Connection, Deployment,
    Program, Suite,
};

use crate::{config::KeeperConfig, epoch::ClosedEpoch, metrics::Metrics, tasks::TaskBook};

/// Why the keeper could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The deployments file is missing, unreadable or incomplete.
    #[error(transparent)]
    Deployment(#[from] DeploymentFileError),
    /// The deployments file does not exist.
    #[error("no deployments file at {0}: run `cor deploy` first")]
    NoDeployment(String),
    /// A key could not be loaded.
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
    /// The metrics server could not bind.
    #[error("metrics server: {0}")]
    Metrics(std::io::Error),
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Chain head.
    pub head: u64,
    /// Epochs this keeper finalized.
    pub epochs: Vec<ClosedEpoch>,
    /// Tasks this keeper finalized.
    pub tasks: u64,
    /// Heartbeats sent.
    pub heartbeats: u32,
}

/// The keeper service.
pub struct Keeper {
    config: KeeperConfig,
    submitter: Submitter,
    suite: Suite,
    tasks: TaskBook,
    heartbeats: Vec<Submitter>,
    metrics: Arc<Metrics>,
    low_balance_warned: bool,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("address", &self.submitter.connection().address())
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// Loads the deployment and keys and connects.
    ///
    /// # Errors
    /// [`KeeperError`] naming what is missing or wrong.
    pub async fn connect(config: KeeperConfig) -> Result<Self, KeeperError> {
        let deployment = Deployment::load(&config.deployments)?
            .ok_or_else(|| KeeperError::NoDeployment(config.deployments.display().to_string()))?;
        let suite = deployment.suite()?;
        let connect = |signer: &config::Signer| {
            let url = config.rpc_url.clone();
            let key = signer.load();
            async move {
                let conn = Connection::connect(&url, key?).await?;
                Ok::<_, KeeperError>(conn)
            }
        };
        let conn = connect(&config.signer).await?;
        if conn.chain_id() != deployment.chain_id {
            return Err(KeeperError::WrongChain {
                rpc: conn.chain_id(),
                deployment: deployment.chain_id,
            });
        }
        suite.label(&conn);
        let mut heartbeats = Vec::new();
        for signer in &config.heartbeat {
            let node = connect(signer).await?;
            suite.label(&node);
            heartbeats.push(Submitter::new(
                node,
                config.receipt_timeout,
                config.max_bumps,
            ));
        }
        let from_block = deployment
            .contracts
            .get(&Program::SessionQueue)
            .map_or(0, |c| c.block);
        Ok(Self {
            submitter: Submitter::new(conn, config.receipt_timeout, config.max_bumps),
            suite,
            tasks: TaskBook::new(from_block),
            heartbeats,
            metrics: Arc::new(Metrics::default()),
            low_balance_warned: false,
            config,
        })
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The keeper's account.
    pub fn address(&self) -> alloy_primitives::Address {
        self.submitter.connection().address()
    }

    /// One round: head, balance check, epochs, overdue tasks, heartbeats.
    ///
    /// # Errors
    /// The first failure; what was done before it stays done.
    pub async fn round(&mut self) -> Result<RoundReport, KeeperError> {
        let conn = self.submitter.connection().clone();
        let head = conn
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(ClientError::Rpc)?
            .ok_or(ClientError::Rpc(alloy::transports::RpcError::NullResp))?;
        let (number, now) = (head.header.number, head.header.timestamp);
        self.metrics.head.store(number, Ordering::Relaxed);
        let mut report = RoundReport {
            head: number,
            ..RoundReport::default()
        };
        self.check_balance(&conn).await?;
        if self.config.epochs {
            report.epochs =
                epoch::close_epochs(&self.submitter, &self.suite, &self.metrics).await?;
        }
        if self.config.tasks {
            self.tasks
                .scan(&self.submitter, &self.suite, number)
                .await?;
            report.tasks = self
                .tasks
                .finalize_overdue(
                    &self.submitter,
                    &self.suite,
                    now,
                    self.config.task_gas_budget,
                    &self.metrics,
                )
                .await?;
        }
        for node in &self.heartbeats {
            if send_heartbeat(node, &self.suite, &self.metrics).await? {
                report.heartbeats += 1;
            }
        }
        Ok(report)
    }

    async fn check_balance(&mut self, conn: &Connection) -> Result<(), ClientError> {
        let balance = conn
            .provider()
            .get_balance(conn.address())
            .await
            .map_err(ClientError::Rpc)?;
        let low = balance < self.config.low_balance_wei;
        if low && !self.low_balance_warned {
            tracing::warn!(%balance, threshold = %self.config.low_balance_wei, address = %conn.address(), "keeper balance is low: top it up or transactions will fail");
        }
        self.low_balance_warned = low;
        Ok(())
    }

    /// Runs rounds every poll interval until `shutdown` resolves; a failed round is
    /// logged, counted and retried after a growing pause (up to a minute). Serves
    /// `/metrics` when configured.
    ///
    /// # Errors
    /// [`KeeperError::Metrics`] when the metrics address cannot be bound.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), KeeperError> {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        if let Some(addr) = self.config.metrics_addr {
            let mut rx = stop_rx.clone();
            let bound = metrics::serve(self.metrics.clone(), addr, async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
            .map_err(KeeperError::Metrics)?;
            tracing::info!(%bound, "serving /metrics");
        }
        tracing::info!(address = %self.address(), rpc = %self.config.rpc_url, "keeper started");
        let mut pause = self.config.poll;
        loop {
            match self.round().await {
                Ok(report) => {
                    pause = self.config.poll;
                    tracing::debug!(?report, "round done");
                }
                Err(e) => {
                    self.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    pause = (pause * 2).min(std::time::Duration::from_secs(60));
                    tracing::warn!(error = %e, retry_in = ?pause, "round failed");
                }
            }
            tokio::select! {
                _ = stop_rx.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("keeper stopped");
        Ok(())
    }
}

/// Sends a heartbeat for `node` unless it is live in the current epoch already.
async fn send_heartbeat(
    node: &Submitter,
    suite: &Suite,
    metrics: &Metrics,
) -> Result<bool, ClientError> {
    let Some((_, receipt)) = cor_client::heartbeat::send_if_due(node, suite.node_pool).await?
    else {
        return Ok(false);
    };
    metrics.record_tx(receipt.gas_used, receipt.effective_gas_price);
    Ok(true)
}
