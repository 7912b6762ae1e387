//! Sending a daemon's transactions (keeper, miner): simulated first (a revert never
//! reaches the chain), retried on transient RPC errors with exponential backoff, and
//! replaced with a higher fee when a receipt does not come.

use std::time::Duration;

use crate::{connection::ReceiptPolicy, ClientError, Connection};
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, Bytes, U256};

/// Which failures are tried again, how often and how long apart.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds, fails with a non-transient error, or the attempts run
    /// out.
    ///
    /// # Errors
    /// The last error.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut delay = self.base;
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    tracing::warn!(error = %e, attempt, ?delay, "transient error, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Sends transactions for a daemon.
#[derive(Clone, Debug)]
pub struct Submitter {
    conn: Connection,
    retry: RetryPolicy,
    max_bumps: u32,
}

impl Submitter {
    /// A submitter over `conn`, waiting `receipt_timeout` per attempt before a fee bump.
    pub fn new(conn: Connection, receipt_timeout: Duration, max_bumps: u32) -> Self {
        let conn = conn.with_receipt_policy(ReceiptPolicy {
            timeout: receipt_timeout,
            ..ReceiptPolicy::default()
        });
        Self {
            conn,
            retry: RetryPolicy::default(),
            max_bumps,
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Simulates, signs, sends and waits; bumps the fee up to `max_bumps` times when no
    /// receipt comes. The receipt is of whichever version was mined.
    ///
    /// # Errors
    /// [`ClientError::Reverted`] from the simulation (nothing sent), or the last
    /// transient error once retries are exhausted.
    pub async fn send(&self, to: Address, data: Bytes) -> Result<TransactionReceipt, ClientError> {
        let signed = self
            .retry
            .run(|| self.conn.sign(to, data.clone(), U256::ZERO))
            .await?;
        let mut current = signed;
        // Every version sent; an earlier one may still be the one that gets mined.
        let mut sent = Vec::new();
        loop {
            if let Err(e) = self.retry.run(|| self.conn.broadcast(&current)).await {
                match self.mined_earlier(&sent).await {
                    Some(receipt) => return Ok(receipt),
                    None => return Err(e),
                }
            }
            sent.push(current.hash);
            match self.conn.wait(current.hash).await {
                Ok(receipt) => return Ok(receipt),
                Err(ClientError::NoReceipt { hash, waited })
                    if sent.len() <= self.max_bumps as usize =>
                {
                    if let Some(receipt) = self.mined_earlier(&sent).await {
                        return Ok(receipt);
                    }
                    tracing::warn!(%hash, ?waited, "no receipt yet, bumping the fee");
                    current = self.conn.bump(&current).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The receipt of whichever earlier version of a bumped transaction was mined.
    async fn mined_earlier(&self, sent: &[alloy_primitives::B256]) -> Option<TransactionReceipt> {
        for hash in sent {
            if let Ok(Some(receipt)) = self.conn.receipt(*hash).await {
                return Some(receipt);
            }
        }
        None
    }
}
