//! What the miner did, as counters and gauges in the Prometheus text format (`/metrics`).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex,
};

use alloy_primitives::U256;
use cor_client::prometheus::{exposition, Metric};

/// The miner's counters. Amounts in wei are `U256`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Assignments recorded.
    pub assigned: AtomicU64,
    /// Commitments mined.
    pub committed: AtomicU64,
    /// Reveals mined.
    pub revealed: AtomicU64,
    /// Tasks whose commit or reveal window closed first.
    pub missed: AtomicU64,
    /// Tasks skipped (bad input, model not served, inference failure).
    pub skipped: AtomicU64,
    /// Finalized tasks where this miner agreed.
    pub agreed: AtomicU64,
    /// Finalized tasks where it did not.
    pub not_agreed: AtomicU64,
    /// Inference wall time, microseconds.
    pub inference_micros: AtomicU64,
    /// Tokens generated.
    pub tokens: AtomicU64,
    /// Decode rate of the last generation, milli-tokens per second.
    pub last_tokens_per_second_milli: AtomicU64,
    /// RPC or transaction errors met (each retried).
    pub rpc_errors: AtomicU64,
    /// Transactions mined.
    pub transactions: AtomicU64,
    /// Gas used by them.
    pub gas_used: AtomicU64,
    /// Last chain head seen.
    pub head: AtomicU64,
    /// Task payments claimable now, COR wei.
    pub pending_payments_wei: Mutex<U256>,
    /// Payments and rewards claimed, COR wei.
    pub claimed_wei: Mutex<U256>,
}

impl Metrics {
    /// Adds a mined transaction.
    pub fn record_tx(&self, gas_used: u64) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.gas_used.fetch_add(gas_used, Ordering::Relaxed);
    }

    /// Adds an inference run.
    pub fn record_inference(&self, micros: u64, tokens: u32, tokens_per_second: Option<f64>) {
        self.inference_micros.fetch_add(micros, Ordering::Relaxed);
        self.tokens.fetch_add(u64::from(tokens), Ordering::Relaxed);
        if let Some(rate) = tokens_per_second {
            self.last_tokens_per_second_milli
                .store((rate * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    /// Adds a claim.
    pub fn record_claim(&self, amount: U256) {
        if let Ok(mut claimed) = self.claimed_wei.lock() {
            *claimed += amount;
        }
    }

    /// The counters in the text format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let pending = self
            .pending_payments_wei
            .lock()
            .map(|v| *v)
            .unwrap_or_default();
        let claimed = self.claimed_wei.lock().map(|v| *v).unwrap_or_default();
        let seconds = get(&self.inference_micros) as f64 / 1e6;
        let rate = get(&self.last_tokens_per_second_milli) as f64 / 1000.0;
        exposition(&[
            Metric::counter(
                "cor_miner_tasks_assigned_total",
                "Tasks assigned to this miner.",
                get(&self.assigned),
            ),
            Metric::counter(
                "cor_miner_tasks_committed_total",
                "Commitments mined.",
                get(&self.committed),
            ),
            Metric::counter(
                "cor_miner_tasks_revealed_total",
                "Reveals mined.",
                get(&self.revealed),
            ),
            Metric::counter(
                "cor_miner_tasks_missed_total",
                "Tasks whose commit or reveal window closed before this miner acted.",
                get(&self.missed),
            ),
            Metric::counter(
                "cor_miner_tasks_skipped_total",
                "Tasks not answered: bad input, model not served, inference failure.",
                get(&self.skipped),
            ),
            Metric::counter(
                "cor_miner_tasks_agreed_total",
                "Finalized tasks where this miner was in the agreeing set.",
                get(&self.agreed),
            ),
            Metric::counter(
                "cor_miner_tasks_not_agreed_total",
                "Finalized tasks where this miner was not in the agreeing set.",
                get(&self.not_agreed),
            ),
            Metric::counter(
                "cor_miner_inference_seconds_total",
                "Time spent generating.",
                seconds,
            ),
            Metric::counter(
                "cor_miner_tokens_generated_total",
                "Tokens generated.",
                get(&self.tokens),
            ),
            Metric::gauge(
                "cor_miner_tokens_per_second",
                "Decode rate of the last generation.",
                rate,
            ),
            Metric::counter(
                "cor_miner_rpc_errors_total",
                "RPC and transaction errors (retried).",
                get(&self.rpc_errors),
            ),
            Metric::counter(
                "cor_miner_transactions_total",
                "Transactions mined.",
                get(&self.transactions),
            ),
            Metric::counter(
                "cor_miner_gas_used_total",
                "Gas used by mined transactions.",
                get(&self.gas_used),
            ),
            Metric::gauge(
                "cor_miner_pending_payments_wei",
                "Task payments claimable now, COR wei.",
                pending,
            ),
            Metric::counter(
                "cor_miner_claimed_wei_total",
                "Payments and rewards claimed, COR wei.",
                claimed,
            ),
            Metric::gauge(
                "cor_miner_head_block",
                "Last chain head seen.",
                get(&self.head),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render() {
        let m = Metrics::default();
        m.record_inference(1_500_000, 20, Some(12.5));
        m.record_claim(U256::from(10u64).pow(U256::from(21u64)));
        m.agreed.fetch_add(2, Ordering::Relaxed);
        let text = m.render();
        assert!(
            text.contains("cor_miner_inference_seconds_total 1.5\n"),
            "{text}"
        );
        assert!(text.contains("cor_miner_tokens_generated_total 20\n"));
        assert!(text.contains("cor_miner_tokens_per_second 12.5\n"));
        assert!(text.contains("cor_miner_tasks_agreed_total 2\n"));
        assert!(text.contains("cor_miner_claimed_wei_total 1000000000000000000000\n"));
    }
}
