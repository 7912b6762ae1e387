//! A native, in-process chain for testing COR contracts together.
//!
//! The Stylus SDK's `TestVM` runs one contract and mocks every call it makes, and two
//! contracts on one `TestVM` share one storage map. The contracts of this project call
//! each other for real (SessionPayment pulls COR from CorToken, SessionQueue settles
//! through SessionPayment), and the invariants of `PROTOCOL.md` are about those calls, so
//! tests need the real thing: [`TestChain`] keeps a storage map per address, routes calls
//! between registered contracts through their real ABI routers, rolls back a call's
//! storage and logs when it reverts, and implements the `ecrecover` precompile so
//! EIP-2612 permits verify.
//!
//! Contracts are compiled natively (not to WASM) here; the dev node runs the WASM.
//!
//! ```ignore
//! let chain = TestChain::new();
//! let token: CorToken = chain.deploy(TOKEN, (cap, owner))?;   // runs the constructor
//! chain.set_sender(owner);
//! chain.tx(|| token_mut.mint(alice, amount))?;              // rolled back on error
//! ```

mod chain;
mod frame;
mod keys;

pub use chain::{Entry, Log, StorageOps, TestChain};
pub use frame::Frame;
pub use keys::{permit_digest, Account};
