//! COR dev node: a local chain that runs Arbitrum Stylus programs.
//!
//! Stylus programs (WASM) run in wasmi with the `vm_hooks` host functions over a revm
//! world state, so plain EVM contracts run too and calls go both ways. The chain mines
//! signed transactions into blocks, keeps them on disk when asked, and serves the
//! Ethereum JSON-RPC that alloy, Foundry's `cast` and `cargo stylus` use.

pub mod chain;
pub mod evm;
pub mod node;
pub mod rpc;
pub mod stylus;

#[cfg(test)]
mod testutil;

pub use node::{DevNode, DevNodeHandle, NodeConfig, NodeError};
