//! Benchmarks of the COR stack, run by the `cor-bench` binary and written as Markdown and
//! JSON under `bench/results/`.
//!
//! - [`throughput`]: the dev node against anvil on the same load, and under concurrent
//!   senders with instant and interval mining.
//!
//! The building blocks are shared by every section: [`load`] (a load generator of raw,
//! pre-signed transactions over JSON-RPC), [`nodes`] (the dev node in process, anvil as
//! a child process), [`tools`] (anvil and solcjs from npm, the Solidity build),
//! [`stats`] (percentiles) and [`report`] (machine, versions, tables, files).

pub mod load;
pub mod nodes;
pub mod report;
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
