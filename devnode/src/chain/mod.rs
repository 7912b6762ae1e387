//! The chain: genesis, dev keys, blocks and transactions, mining and persistence.

pub mod genesis;
pub mod keys;
