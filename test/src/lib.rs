//! A whole COR network in one process for tests and benchmarks: the dev node, the suite
//! deployed from the real WASM build through `cor-client`, funded accounts, and actors
//! that play users and miners through JSON-RPC exactly as wallets and daemons do.

pub mod answer;
pub mod gas;
pub mod network;
pub mod wait;

pub use answer::Answer;
pub use network::{events, Network, Shape};
pub use wait::eventually;
