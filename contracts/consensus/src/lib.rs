//! The consensus rules of COR, shared by the SessionQueue contract and the miner.
//!
//! A task is answered by N miners (1..=7). Each commits to its answer, then reveals it:
//! an output hash, a 256-bit SimHash fingerprint of the output text and a numeric score.
//! Once the reveals are in, [`decide`] picks the result and the miners that agree with it
//! by one of four methods ([`Method`]). Both sides need the same rules: the contract to
//! settle, the miner to compute what it commits to ([`commitment`], [`fingerprint`]) and
//! to predict the outcome. The crate is `no_std` and allocation-light so it compiles into
//! a Stylus program.
//!
//! - [`commitment`]: what a miner commits to, binding the task, the miner and its answer.
//! - [`simhash`]: the fingerprint and the Hamming distance between two fingerprints.
//! - [`decide`]: Exact, Similarity, Median and Weighted consensus.

#![no_std]

extern crate alloc;

pub mod commitment;
pub mod decide;
pub mod simhash;

pub use commitment::{commitment, commitment_preimage, COMMITMENT_PREIMAGE_LEN};
pub use decide::{decide, Method, Outcome, Reveal, Rules, MAX_REVEALS};
pub use simhash::{fingerprint, hamming};
