//! Benchmarks of the COR stack, run by the `cor-bench` binary and written as Markdown and
//! JSON under `bench/results/`.
//!
//! - [`throughput`]: the dev node against anvil on the same load, and under concurrent
//!   senders with instant and interval mining.
//! - [`gas`]: the gas of every user-facing and keeper call of the contracts, and of a
//!   whole task for each consensus method and N = 1, 3, 5, 7, against the storage floor.
//! - [`scale`]: `submitTask`, `finalizeEpoch` and reward `claim` gas with 10 to 10 000
//!   registered, live nodes, and the keeper's time to catch up 100 ended epochs.
//!
//! The building blocks are shared by every section: [`load`] (a load generator of raw,
//! pre-signed transactions over JSON-RPC), [`nodes`] (the dev node in process, anvil as
//! a child process), [`tools`] (anvil and solcjs from npm, the Solidity build),
//! [`stats`] (percentiles) and [`report`] (machine, versions, tables, files).

pub mod gas;
pub mod load;
pub mod nodes;
pub mod report;
pub mod scale;
pub mod stats;
pub mod throughput;
pub mod tools;

use std::path::PathBuf;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The COR programs are not built.
    #[error("{0} (or point --programs at the directory holding the .code files)")]
    Programs(#[from] cor_client::programs::ProgramsError),
    /// anvil, npm or solcjs.
    #[error(transparent)]
    Tool(#[from] tools::ToolError),
    /// A node did not start.
    #[error(transparent)]
    Start(#[from] nodes::StartError),
    /// The load generator failed.
    #[error(transparent)]
    Load(#[from] load::LoadError),
    /// Deploying the COR suite failed.
    #[error("deploying the COR suite on the dev node: {0}")]
    Deploy(#[from] cor_client::deploy::DeployError),
    /// A setup transaction or call failed.
    #[error("setup: {0}")]
    Client(#[from] cor_client::ClientError),
    /// The keeper could not start or its round failed.
    #[error("keeper: {0}")]
    Keeper(#[from] cor_keeper::KeeperError),
    /// Other setup failures.
    #[error("setup: {0}")]
    Setup(String),
    /// Writing the results failed.
    #[error(transparent)]
    Write(#[from] report::WriteError),
    /// A file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The versions a section measured with: the dev node (in this process, at this git
/// commit when known) and cor-bench.
pub fn versions() -> Vec<(String, String)> {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!(", git {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    vec![
        (
            "cor-devnode".to_owned(),
            format!("{} (in process{commit})", env!("CARGO_PKG_VERSION")),
        ),
        ("cor-bench".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
    ]
}
