//! ConsensusEngine: COR's consensus rules as a stateless library program.
//!
//! SessionQueue holds the task lifecycle; deciding a task's result from its reveals is
//! pure computation, and SessionQueue with the decision inside does not fit Stylus's
//! 24 KiB program limit, so the decision lives here and SessionQueue calls [`decide`]
//! (a static call) when it finalizes a task. The rules are `cor_consensus::decide`, the
//! same code the miner links to predict outcomes; this program only adapts the ABI.
//!
//! Wallets and scripts use the other two views: [`commitment`] computes the value a miner
//! commits to (so a commitment can be made with `cast call`), and [`hamming`] the
//! distance between two SimHash fingerprints.
//!
//! [`decide`]: ConsensusEngine::decide
//! [`commitment`]: ConsensusEngine::commitment
//! [`hamming`]: ConsensusEngine::hamming

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, B256, U256};
use cor_consensus::{commitment_preimage, Method, Reveal, Rules, MAX_REVEALS};
use cor_contract_common::sol_decls;
use stylus_sdk::prelude::*;

sol_decls! {
    error InvalidMethod(uint8 method);
    error InvalidReveals(uint256 outputHashes, uint256 fingerprints, uint256 scores, uint256 weights);
}

/// Every error ConsensusEngine reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// A method code other than 0 Exact, 1 Similarity, 2 Median, 3 Weighted.
    InvalidMethod(InvalidMethod),
    /// The reveal arrays differ in length, or hold more than eight reveals.
    InvalidReveals(InvalidReveals),
}

/// ConsensusEngine has no storage.
#[storage]
#[entrypoint]
pub struct ConsensusEngine {}

#[public]
impl ConsensusEngine {
    /// Decides a task from its reveals (index `i` of each array is reveal `i`).
    ///
    /// `method`: 0 Exact, 1 Similarity, 2 Median, 3 Weighted. `assigned`: miners assigned
    /// (N). `threshold`: agreeing miners needed (for Weighted, the winner's weight must be
    /// at least `threshold / assigned` of `totalWeight`). `tolerance`: the Hamming radius
    /// for Similarity (capped at 256), the largest distance from the median for Median.
    /// `weights`: vote weights (Weighted; others may pass ones).
    ///
    /// Returns `(result, agreeing, support, resolved)`: the result's reveal index + 1 (0
    /// without reveals), a mask of agreeing reveals, their number, and whether they reach
    /// the threshold.
    ///
    /// Errors: `InvalidMethod`, `InvalidReveals`.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        method: u8,
        assigned: u8,
        threshold: u8,
        tolerance: u64,
        total_weight: u64,
        output_hashes: Vec<B256>,
        fingerprints: Vec<B256>,
        scores: Vec<u64>,
        weights: Vec<u64>,
    ) -> Result<(u8, u8, u8, bool), Error> {
        let method = Method::from_code(method).ok_or(InvalidMethod { method })?;
        let count = output_hashes.len();
        if fingerprints.len() != count
            || scores.len() != count
            || weights.len() != count
            || count > MAX_REVEALS
        {
            return Err(InvalidReveals {
                outputHashes: U256::from(count),
                fingerprints: U256::from(fingerprints.len()),
                scores: U256::from(scores.len()),
                weights: U256::from(weights.len()),
            }
            .into());
        }
        let reveals: Vec<Reveal> = output_hashes
            .into_iter()
            .zip(fingerprints)
            .zip(scores.into_iter().zip(weights))
            .map(|((output_hash, fingerprint), (score, weight))| Reveal {
                output_hash,
                fingerprint,
                score,
                weight,
            })
            .collect();
        let rules = Rules {
            method,
            assigned,
            threshold,
            radius: tolerance.min(256) as u32,
            tolerance,
            total_weight,
        };
        let outcome = cor_consensus::decide(&rules, &reveals);
        Ok((
            outcome.result.map_or(0, |i| i as u8 + 1),
            outcome.agreeing,
            outcome.support,
            outcome.resolved,
        ))
    }

    /// The commitment `keccak256(abi.encodePacked(taskId, miner, outputHash, fingerprint,
    /// score, salt))` a miner posts to SessionQueue before revealing.
    pub fn commitment(
        &self,
        task_id: U256,
        miner: Address,
        output_hash: B256,
        fingerprint: B256,
        score: u64,
        salt: B256,
    ) -> B256 {
        let preimage = commitment_preimage(task_id, miner, output_hash, fingerprint, score, salt);
        self.vm().native_keccak256(&preimage)
    }

    /// The Hamming distance (bits) between two fingerprints.
    pub fn hamming(&self, a: B256, b: B256) -> u32 {
        cor_consensus::hamming(&a, &b)
    }
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    SOL_DECLS.to_vec()
}

#[cfg(test)]
mod tests;
