//! Shared building blocks of the COR Stylus contracts.
//!
//! Every COR contract is its own Stylus program; what they have in common lives here so
//! that each rule (who may call what, how a parameter changes, how COR moves) is written
//! once:
//!
//! - [`access`]: a single owner (OpenZeppelin `Ownable` semantics and error names).
//! - [`role`]: a configurable privileged caller (the contract that drives another one).
//! - [`pause`]: an emergency stop for user entry points (OpenZeppelin `Pausable` names).
//! - [`params`]: admin parameters with hard bounds, a maximum step and a delay before a
//!   change takes effect (invariant 7 of `PROTOCOL.md`).
//! - [`token`]: moving COR in and out of a contract through the ERC-20 interface,
//!   including EIP-2612 permits.
//! - [`bps`]: basis-point arithmetic, checked.
//! - [`calls`]: calls to other contracts with hand-built calldata, reverts passed up.
//! - [`events`]: emitting events without linking the formatting machinery.
//! - [`words`]: one untyped event encoder for contracts close to the size limit.
//! - [`clock`]: fixed-length periods (epochs, quota periods) from a genesis time.
//! - [`task_meta`]: the per-task payment metadata, packed in one word.
//!
//! Events and errors are declared with [`sol_decls!`], which also records their Solidity
//! text so the ABI exporter can write complete interfaces (the Stylus SDK's own export
//! lists functions only).

extern crate alloc;

pub mod access;
pub mod bps;
pub mod calls;
pub mod clock;
pub mod events;
pub mod params;
pub mod pause;
pub mod role;
pub mod task_meta;
pub mod token;
pub mod words;

/// Declares Solidity events and errors with `alloy_sol_types::sol!` and, when the crate is
/// built with its `export-abi` feature, records their declarations in a `SOL_DECLS`
/// constant of the calling module for the ABI exporter.
///
/// Each item is `event Name(...);` or `error Name(...);` without attributes; every item
/// derives `Debug`, `PartialEq` and `Eq` so tests can compare decoded values. The calling
/// crate must depend on `alloy-sol-types`.
#[macro_export]
macro_rules! sol_decls {
    ($($kind:ident $name:ident ( $($args:tt)* ) ;)*) => {
        ::alloy_sol_types::sol! {
            $(
                #[derive(Debug, PartialEq, Eq)]
                $kind $name ( $($args)* ) ;
            )*
        }

        /// Solidity text of the events and errors declared in this module, for ABI export.
        #[cfg(feature = "export-abi")]
        pub const SOL_DECLS: &[&str] = &[$(stringify!($kind $name ( $($args)* ))),*];
    };
}
