//! The chain: genesis, dev keys, transactions, blocks, mining and persistence.

pub mod block;
pub mod genesis;
pub mod keys;
pub mod ledger;
pub mod store;
pub mod tx;

pub use ledger::{Chain, ChainConfig, ChainError};
