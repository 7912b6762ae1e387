//! The keeper's configuration: defaults, then a TOML file, then environment variables
//! and flags (resolved by the binary), checked once into [`KeeperConfig`].

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy_primitives::U256;
use serde::Deserialize;

pub use cor_client::{daemon::ConfigError, wallet::Signer};

/// The keeper's settings as a file holds them; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// JSON-RPC URL.
    pub rpc_url: Option<String>,
    /// The deployments file (`deployments/<chain-id>.json`).
    pub deployments: Option<PathBuf>,
    /// The keeper's key.
    pub signer: Option<Signer>,
    /// Seconds between rounds.
    pub poll_seconds: Option<u64>,
    /// Close reward epochs.
    pub epochs: Option<bool>,
    /// Finalize overdue tasks.
    pub tasks: Option<bool>,
    /// Most gas one `finalizeMany` transaction may use.
    pub task_gas_budget: Option<u64>,
    /// Seconds to wait for a receipt before bumping the fee.
    pub receipt_timeout_seconds: Option<u64>,
    /// Fee bumps before giving a transaction up.
    pub max_bumps: Option<u32>,
    /// Warn when the keeper's balance falls under this many wei.
    pub low_balance_wei: Option<U256>,
    /// Serve `/metrics` here.
    pub metrics_addr: Option<SocketAddr>,
    /// Nodes to send heartbeats for, once per epoch.
    #[serde(default)]
    pub heartbeat: Vec<Signer>,
}

impl FileConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`], [`ConfigError::Parse`].
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        cor_client::daemon::load_toml(path)
    }

    /// `other`'s values where it has them, else this one's (later layers win).
    pub fn overlay(self, other: FileConfig) -> FileConfig {
        FileConfig {
            rpc_url: other.rpc_url.or(self.rpc_url),
            deployments: other.deployments.or(self.deployments),
            signer: other.signer.or(self.signer),
            poll_seconds: other.poll_seconds.or(self.poll_seconds),
            epochs: other.epochs.or(self.epochs),
            tasks: other.tasks.or(self.tasks),
            task_gas_budget: other.task_gas_budget.or(self.task_gas_budget),
            receipt_timeout_seconds: other
                .receipt_timeout_seconds
                .or(self.receipt_timeout_seconds),
            max_bumps: other.max_bumps.or(self.max_bumps),
            low_balance_wei: other.low_balance_wei.or(self.low_balance_wei),
            metrics_addr: other.metrics_addr.or(self.metrics_addr),
            heartbeat: if other.heartbeat.is_empty() {
                self.heartbeat
            } else {
                other.heartbeat
            },
        }
    }
}

/// The checked configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeeperConfig {
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// The deployments file.
    pub deployments: PathBuf,
    /// The keeper's key.
    pub signer: Signer,
    /// Time between rounds.
    pub poll: Duration,
    /// Close reward epochs.
    pub epochs: bool,
    /// Finalize overdue tasks.
    pub tasks: bool,
    /// Most gas one `finalizeMany` transaction may use.
    pub task_gas_budget: u64,
    /// How long to wait for a receipt before bumping the fee.
    pub receipt_timeout: Duration,
    /// Fee bumps before giving a transaction up.
    pub max_bumps: u32,
    /// Warn under this balance (wei).
    pub low_balance_wei: U256,
    /// Serve `/metrics` here.
    pub metrics_addr: Option<SocketAddr>,
    /// Nodes to heartbeat for.
    pub heartbeat: Vec<Signer>,
}

impl TryFrom<FileConfig> for KeeperConfig {
    type Error = ConfigError;

    fn try_from(f: FileConfig) -> Result<Self, ConfigError> {
        let invalid = |key, problem: &str| ConfigError::Invalid {
            key,
            problem: problem.to_owned(),
        };
        let rpc_url = cor_client::daemon::rpc_url(f.rpc_url)?;
        let (deployments, signer) =
            cor_client::daemon::deployment_and_signer(f.deployments, f.signer)?;
        let poll_seconds = f.poll_seconds.unwrap_or(5);
        if !(1..=3_600).contains(&poll_seconds) {
            return Err(invalid("poll_seconds", "expected 1 ..= 3600"));
        }
        let task_gas_budget = f.task_gas_budget.unwrap_or(10_000_000);
        if task_gas_budget < 1_000_000 {
            return Err(invalid(
                "task_gas_budget",
                "expected at least 1000000 (one finalize of N = 7 uses ~1.5 M)",
            ));
        }
        let receipt_timeout_seconds = f.receipt_timeout_seconds.unwrap_or(60);
        if receipt_timeout_seconds == 0 {
            return Err(invalid("receipt_timeout_seconds", "expected at least 1"));
        }
        Ok(Self {
            rpc_url,
            deployments,
            signer,
            poll: Duration::from_secs(poll_seconds),
            epochs: f.epochs.unwrap_or(true),
            tasks: f.tasks.unwrap_or(true),
            task_gas_budget,
            receipt_timeout: Duration::from_secs(receipt_timeout_seconds),
            max_bumps: f.max_bumps.unwrap_or(3),
            low_balance_wei: f
                .low_balance_wei
                .unwrap_or(U256::from(10_000_000_000_000_000u64)),
            metrics_addr: f.metrics_addr,
            heartbeat: f.heartbeat,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_minimal_file_gets_the_defaults() {
        let c = KeeperConfig::try_from(parse(
            "deployments = \"deployments/412346.json\"\nsigner = { dev_account = 3 }\n",
        ))
        .unwrap();
        assert_eq!(c.rpc_url, "http://127.0.0.1:8547");
        assert_eq!(c.signer, Signer::DevAccount(3));
        assert_eq!(c.poll, Duration::from_secs(5));
        assert!(c.epochs && c.tasks);
    }

    #[test]
    fn later_layers_win_and_bad_values_name_their_key() {
        let file = parse("poll_seconds = 9\nrpc_url = \"http://a:1\"\n");
        let flags = FileConfig {
            poll_seconds: Some(2),
            ..FileConfig::default()
        };
        let merged = file.overlay(flags);
        assert_eq!(merged.poll_seconds, Some(2));
        assert_eq!(merged.rpc_url.as_deref(), Some("http://a:1"));
        let err = KeeperConfig::try_from(merged).unwrap_err();
        assert!(err.to_string().starts_with("deployments: missing"), "{err}");
        let err = toml::from_str::<FileConfig>("pol_seconds = 1").unwrap_err();
        assert!(err.to_string().contains("pol_seconds"), "{err}");
        let bad = FileConfig {
            deployments: Some("d.json".into()),
            signer: Some(Signer::DevAccount(0)),
            rpc_url: Some("ws://x".into()),
            ..FileConfig::default()
        };
        let err = KeeperConfig::try_from(bad).unwrap_err();
        assert!(err.to_string().starts_with("rpc_url:"), "{err}");
    }
}
