//! What a miner commits to about an output text: its hash and its SimHash fingerprint.
//!
//! The output hash is `keccak256` of the UTF-8 bytes of the text, exactly as generated (no
//! trimming or normalisation: two miners agree under the Exact method only when their texts
//! are byte-identical). The fingerprint is [`cor_consensus::simhash::fingerprint`], which the
//! contracts' Similarity method compares by Hamming distance.

use alloy_primitives::{keccak256, B256};

/// The output hash and fingerprint of one output text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    /// `keccak256(text bytes)`.
    pub output_hash: B256,
    /// The 256-bit SimHash fingerprint of the text.
    pub fingerprint: B256,
}

impl Digest {
    /// The digest of `text`.
    pub fn of(text: &str) -> Self {
        Self {
            output_hash: output_hash(text),
            fingerprint: cor_consensus::simhash::fingerprint(text),
        }
    }
}

/// `keccak256` of the UTF-8 bytes of `text`.
pub fn output_hash(text: &str) -> B256 {
    keccak256(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_hash_is_keccak_of_the_exact_bytes() {
        // keccak256("") is the well-known empty hash.
        assert_eq!(
            output_hash("").to_string(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_ne!(output_hash("Paris"), output_hash(" Paris"));
    }

    #[test]
    fn digest_uses_the_consensus_fingerprint() {
        let d = Digest::of("The capital of France is Paris.");
        assert_eq!(
            d.output_hash,
            output_hash("The capital of France is Paris.")
        );
        assert_eq!(
            d.fingerprint,
            cor_consensus::fingerprint("The capital of France is Paris.")
        );
        assert_eq!(Digest::of("").fingerprint, B256::ZERO);
        // Similar texts have close fingerprints, and distinct hashes.
        let e = Digest::of("The capital of France is Paris!");
        assert_ne!(d.output_hash, e.output_hash);
        assert!(cor_consensus::hamming(&d.fingerprint, &e.fingerprint) < 40);
    }
}
