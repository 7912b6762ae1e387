//! Test accounts with real secp256k1 keys, and EIP-2612 permit signing.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{sol, Eip712Domain, SolStruct};
use k256::ecdsa::SigningKey;

sol! {
    /// The EIP-2612 permit message.
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

/// A test account: a private key derived from a number, and its address.
#[derive(Clone)]
pub struct Account {
    key: SigningKey,
    /// The account's address.
    pub address: Address,
}

impl Account {
    /// The account whose private key is `n` (n > 0) as a 32-byte big-endian number.
    pub fn new(n: u64) -> Self {
        let secret = U256::from(n).to_be_bytes::<32>();
        let key = SigningKey::from_slice(&secret).expect("a small non-zero scalar is a valid key");
        let point = key.verifying_key().to_encoded_point(false);
        let hash = alloy_primitives::keccak256(&point.as_bytes()[1..]);
        Self {
            key,
            address: Address::from_slice(&hash[12..]),
        }
    }

    /// Signs a 32-byte digest; returns `(v, r, s)` with `v` in {27, 28} and low `s`.
    pub fn sign(&self, digest: B256) -> (u8, B256, B256) {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .expect("signing a 32-byte digest succeeds");
        let bytes = sig.to_bytes();
        (
            27 + recid.to_byte(),
            B256::from_slice(&bytes[..32]),
            B256::from_slice(&bytes[32..]),
        )
    }
}

/// The EIP-712 digest of an EIP-2612 permit for the COR token at `token` on `chain_id`,
/// computed independently of the contract (with alloy's EIP-712 implementation).
pub fn permit_digest(
    token: Address,
    chain_id: u64,
    owner: Address,
    spender: Address,
    value: U256,
    nonce: U256,
    deadline: U256,
) -> B256 {
    let domain = Eip712Domain::new(
        Some("COR".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(token),
        None,
    );
    Permit {
        owner,
        spender,
        value,
        nonce,
        deadline,
    }
    .eip712_signing_hash(&domain)
}
