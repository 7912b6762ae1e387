//! The nodes under test: the dev node in this process, anvil as a child process. Both
//! are reached the same way, over JSON-RPC on loopback.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use cor_devnode::{DevNode, DevNodeHandle, NodeConfig, NodeError};
use serde::Serialize;
use tokio::process::{Child, Command};

/// Dev accounts each node starts with: account 0 deploys, 1..=8 send.
pub const ACCOUNTS: u32 = 10;
/// Block gas limit of both nodes (the dev node's default; anvil is told the same).
pub const BLOCK_GAS_LIMIT: u64 = cor_devnode::node::DEFAULT_BLOCK_GAS_LIMIT;

/// Which node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// `cor-devnode`, in process.
    #[serde(rename = "cor-devnode")]
    DevNode,
    /// anvil, a child process.
    #[serde(rename = "anvil")]
    Anvil,
}

impl Kind {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::DevNode => "cor-devnode",
            Kind::Anvil => "anvil",
        }
    }
}

/// When blocks are mined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mining {
    /// A block per transaction, at once.
    Instant,
    /// A block every interval, with whatever is pending.
    Interval(Duration),
}

impl Mining {
    /// Name in tables.
    pub fn name(self) -> String {
        match self {
            Mining::Instant => "instant".to_owned(),
            Mining::Interval(d) => format!("{} s blocks", d.as_secs_f64()),
        }
    }
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The dev node refused to start.
    #[error("the dev node did not start: {0}")]
    DevNode(#[from] NodeError),
    /// No free port for anvil.
    #[error("no free loopback port for anvil: {0}")]
    Port(std::io::Error),
    /// anvil could not be spawned.
    #[error("cannot run anvil at {path}: {source}; reinstall it (delete the tools directory) or pass --anvil")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// anvil exited or did not answer in time.
    #[error("anvil failed to start ({why}); its log {log} ends with: {tail}")]
    Anvil {
        /// What was seen.
        why: String,
        /// The log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
}

/// A running node; dropping it stops it.
#[derive(Debug)]
pub struct Node {
    /// Which node.
    pub kind: Kind,
    /// Its HTTP JSON-RPC endpoint.
    pub url: String,
    /// How it mines.
    pub mining: Mining,
    process: Process,
}

#[derive(Debug)]
enum Process {
    Dev(Box<DevNodeHandle>),
    Anvil(Child),
}

impl Node {
    /// Starts the dev node in this process, in memory, on a free port.
    ///
    /// # Errors
    /// [`StartError::DevNode`].
    pub fn devnode(mining: Mining) -> Result<Self, StartError> {
        let handle = DevNode::start(NodeConfig {
            port: 0,
            accounts: ACCOUNTS,
            block_time: match mining {
                Mining::Instant => None,
                Mining::Interval(d) => Some(d),
            },
            block_gas_limit: BLOCK_GAS_LIMIT,
            ..NodeConfig::default()
        })?;
        Ok(Self {
            kind: Kind::DevNode,
            url: handle.url(),
            mining,
            process: Process::Dev(Box::new(handle)),
        })
    }

    /// Starts anvil with the dev mnemonic on a free loopback port, logging to
    /// `log_dir/anvil-<mining>.log`, and waits (up to 30 s) until it answers.
    ///
    /// # Errors
    /// [`StartError`] with the end of anvil's log.
    pub async fn anvil(bin: &Path, mining: Mining, log_dir: &Path) -> Result<Self, StartError> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(StartError::Port)?
            .port();
        let log = log_dir.join(match mining {
            Mining::Instant => "anvil-instant.log".to_owned(),
            Mining::Interval(d) => format!("anvil-{}s.log", d.as_secs_f64()),
        });
        let file = std::fs::File::create(&log).map_err(|source| StartError::Spawn {
            path: log.clone(),
            source,
        })?;
        let err_file = file.try_clone().map_err(|source| StartError::Spawn {
            path: log.clone(),
            source,
        })?;
        let mut command = Command::new(bin);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--accounts", &ACCOUNTS.to_string(), "--balance", "10000"])
            .args(["--mnemonic", cor_client::wallet::DEV_MNEMONIC])
            .args(["--gas-limit", &BLOCK_GAS_LIMIT.to_string()])
            // anvil otherwise logs every request; the dev node logs none.
            .arg("--silent");
        if let Mining::Interval(d) = mining {
            command.args(["--block-time", &d.as_secs_f64().to_string()]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: bin.to_owned(),
                source,
            })?;
        let url = format!("http://127.0.0.1:{port}");
        let fail = |why: String| StartError::Anvil {
            why,
            tail: std::fs::read_to_string(&log)
                .map(|t| {
                    t.lines()
                        .rev()
                        .take(10)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default(),
            log: log.clone(),
        };
        let provider = crate::load::provider(&url).map_err(|e| fail(e.to_string()))?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(fail(format!("it exited with {status}")));
            }
            if provider.get_chain_id().await.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.start_kill();
                return Err(fail(format!("no answer on {url} after 30 s")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            kind: Kind::Anvil,
            url,
            mining,
            process: Process::Anvil(child),
        })
    }

    /// Stops the node and waits for it.
    pub async fn stop(self) {
        match self.process {
            // Joining the node's threads blocks: keep it off the async workers.
            Process::Dev(handle) => {
                let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
            }
            Process::Anvil(mut child) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}
