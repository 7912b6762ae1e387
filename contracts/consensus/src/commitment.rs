//! The commitment a miner posts before revealing.
//!
//! `c = keccak256(abi.encodePacked(uint256 taskId, address miner, bytes32 outputHash,
//! bytes32 fingerprint, uint64 score, bytes32 salt))`. Binding the task and the miner
//! stops a miner from copying another's commitment (it would not match its own reveal)
//! or replaying one from another task; the secret random salt stops anyone from testing
//! guesses of the output against the commitment before the reveal.

use alloy_primitives::{keccak256, Address, B256, U256};

/// Length of the packed preimage: 32 + 20 + 32 + 32 + 8 + 32 bytes.
pub const COMMITMENT_PREIMAGE_LEN: usize = 156;

/// The packed preimage of a commitment (hash it with the chain's keccak256).
pub fn commitment_preimage(
    task_id: U256,
    miner: Address,
    output_hash: B256,
    fingerprint: B256,
    score: u64,
    salt: B256,
) -> [u8; COMMITMENT_PREIMAGE_LEN] {
    let mut out = [0u8; COMMITMENT_PREIMAGE_LEN];
    let parts: [&[u8]; 6] = [
        &task_id.to_be_bytes::<32>(),
        miner.as_slice(),
        output_hash.as_slice(),
        fingerprint.as_slice(),
        &score.to_be_bytes(),
        salt.as_slice(),
    ];
    let mut at = 0;
    for part in parts {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    out
}

/// The commitment `keccak256(preimage)`, for off-chain code (contracts hash the preimage
/// with the host's keccak).
pub fn commitment(
    task_id: U256,
    miner: Address,
    output_hash: B256,
    fingerprint: B256,
    score: u64,
    salt: B256,
) -> B256 {
    keccak256(commitment_preimage(
        task_id,
        miner,
        output_hash,
        fingerprint,
        score,
        salt,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    /// The preimage is Solidity's `abi.encodePacked` of the six fields, byte for byte.
    #[test]
    fn preimage_is_abi_encode_packed() {
        let task = U256::from(0x0102_0304u64);
        let miner = address!("00000000000000000000000000000000000a11ce");
        let out = B256::repeat_byte(0xaa);
        let fp = B256::repeat_byte(0xbb);
        let salt = B256::repeat_byte(0xcc);
        let pre = commitment_preimage(task, miner, out, fp, 0x1122_3344_5566_7788, salt);
        assert_eq!(&pre[..32], &task.to_be_bytes::<32>());
        assert_eq!(&pre[32..52], miner.as_slice());
        assert_eq!(&pre[52..84], out.as_slice());
        assert_eq!(&pre[84..116], fp.as_slice());
        assert_eq!(
            &pre[116..124],
            &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        );
        assert_eq!(&pre[124..], salt.as_slice());
    }

    #[test]
    fn every_field_changes_the_commitment() {
        let base = (
            U256::from(7),
            Address::repeat_byte(1),
            B256::repeat_byte(2),
            B256::repeat_byte(3),
            4u64,
            B256::repeat_byte(5),
        );
        let c =
            |t: (U256, Address, B256, B256, u64, B256)| commitment(t.0, t.1, t.2, t.3, t.4, t.5);
        let reference = c(base);
        let mut variants = [base; 6];
        variants[0].0 = U256::from(8);
        variants[1].1 = Address::repeat_byte(9);
        variants[2].2 = B256::repeat_byte(9);
        variants[3].3 = B256::repeat_byte(9);
        variants[4].4 = 5;
        variants[5].5 = B256::repeat_byte(9);
        for (i, v) in variants.into_iter().enumerate() {
            assert_ne!(c(v), reference, "field {i}");
        }
    }
}
