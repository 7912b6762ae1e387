//! The off-chain side of the COR contracts, shared by the `cor` CLI, the miner, the
//! keeper and the end-to-end tests:
//!
//! - [`wallet`]: keys from an encrypted keystore, a raw key (dev chains) or the dev
//!   node's accounts;
//! - [`connection`]: a signing connection that simulates before it sends, keeps its own
//!   nonce and decodes reverts ([`revert`]) into the contracts' typed errors;
//! - [`programs`], [`params`], [`deployment`], [`deploy`]: deploying the suite on any
//!   Arbitrum chain (resumable, verifiable) and the `deployments/<chain-id>.json` record
//!   the other tools read addresses from;
//! - [`submit`]: how daemons send (retry policy, fee bumps); [`heartbeat`]: a node's
//!   once-per-epoch liveness signal; [`prometheus`]: the `/metrics` text format;
//!   [`daemon`]: config files and the shutdown signal;
//! - [`content`]: task inputs and outputs behind `data:`, `http(s)://` and `cor:<hash>`
//!   URIs, fetched with a size limit and checked against their hash.

pub mod connection;
pub mod content;
pub mod daemon;
pub mod deploy;
pub mod deployment;
pub mod heartbeat;
pub mod params;
pub mod programs;
pub mod prometheus;
pub mod revert;
pub mod submit;
pub mod wallet;

pub use connection::{events, ClientError, Connection};
pub use deployment::{Deployment, Suite};
pub use programs::{Program, Programs};
