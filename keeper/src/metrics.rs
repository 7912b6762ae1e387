//! What the keeper did, as counters served in the Prometheus text format on `/metrics`.

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    sync::{Arc, Mutex},
};

use alloy_primitives::U256;
use cor_client::prometheus::{exposition, Metric};

/// The keeper's counters. Amounts in wei are kept as `U256` (they overflow `u64` after
/// ~18 COR or ETH).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Epochs this keeper finalized.
    pub epochs_finalized: AtomicU64,
    /// Tasks this keeper finalized.
    pub tasks_finalized: AtomicU64,
    /// Transactions sent.
    pub transactions: AtomicU64,
    /// Gas used by those transactions.
    pub gas_used: AtomicU64,
    /// Errors met in rounds (each retried later).
    pub errors: AtomicU64,
    /// Last chain head seen.
    pub head: AtomicU64,
    /// Bounty earned, wei of COR.
    pub bounty_wei: Mutex<U256>,
    /// Fees paid, wei of ETH.
    pub gas_spent_wei: Mutex<U256>,
}

impl Metrics {
    /// Adds a mined transaction's gas and fee.
    pub fn record_tx(&self, gas_used: u64, price: u128) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.gas_used.fetch_add(gas_used, Ordering::Relaxed);
        if let Ok(mut spent) = self.gas_spent_wei.lock() {
            *spent += U256::from(gas_used) * U256::from(price);
        }
    }

    /// Adds a bounty.
    pub fn record_bounty(&self, amount: U256) {
        if let Ok(mut bounty) = self.bounty_wei.lock() {
            *bounty += amount;
        }
    }

    /// The counters in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let bounty = self.bounty_wei.lock().map(|v| *v).unwrap_or_default();
        let spent = self.gas_spent_wei.lock().map(|v| *v).unwrap_or_default();
        exposition(&[
            Metric::counter(
                "cor_keeper_epochs_finalized_total",
                "Epochs this keeper finalized.",
                get(&self.epochs_finalized),
            ),
            Metric::counter(
                "cor_keeper_tasks_finalized_total",
                "Overdue tasks this keeper finalized.",
                get(&self.tasks_finalized),
            ),
            Metric::counter(
                "cor_keeper_transactions_total",
                "Transactions mined.",
                get(&self.transactions),
            ),
            Metric::counter(
                "cor_keeper_gas_used_total",
                "Gas used by mined transactions.",
                get(&self.gas_used),
            ),
            Metric::counter("cor_keeper_gas_spent_wei_total", "Fees paid, wei.", spent),
            Metric::counter(
                "cor_keeper_bounty_wei_total",
                "finalizeEpoch bounties earned, COR wei.",
                bounty,
            ),
            Metric::counter(
                "cor_keeper_errors_total",
                "Errors met (retried in later rounds).",
                get(&self.errors),
            ),
            Metric::gauge(
                "cor_keeper_head_block",
                "Last chain head seen.",
                get(&self.head),
            ),
        ])
    }
}

/// Serves `GET /metrics` on `addr` until `shutdown` resolves.
///
/// # Errors
/// The bind error when the address is taken.
pub async fn serve(
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_the_text_format() {
        let m = Metrics::default();
        m.record_tx(100, 2);
        m.record_bounty(U256::from(10u64).pow(U256::from(20u64)));
        m.epochs_finalized.fetch_add(1, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("cor_keeper_epochs_finalized_total 1\n"));
        assert!(text.contains("cor_keeper_gas_spent_wei_total 200\n"));
        assert!(text.contains("cor_keeper_bounty_wei_total 100000000000000000000\n"));
        assert!(text.contains("# TYPE cor_keeper_head_block gauge\n"));
    }
}
