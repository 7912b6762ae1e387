//! Dev accounts: keys derived from a BIP-39 mnemonic along `m/44'/60'/0'/0/i` (BIP-32), the
//! same accounts anvil and Hardhat derive from the standard test mnemonic; and signing.
//!
//! These keys are for a local dev chain only: they are printed at start and anyone can
//! derive them.

use alloy_primitives::{Address, Signature, B256};
use hmac::{Hmac, Mac};
use k256::{
    ecdsa::SigningKey,
    elliptic_curve::{sec1::ToEncodedPoint, PrimeField},
    Scalar,
};
use sha2::Sha512;

/// The mnemonic anvil and Hardhat use by default.
pub const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Why keys could not be derived.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Only ASCII mnemonics are supported (no Unicode normalisation is done).
    #[error("the mnemonic must be ASCII words separated by spaces")]
    NonAsciiMnemonic,
    /// A derivation step produced an invalid key (astronomically unlikely).
    #[error("key derivation produced an invalid key at index {0}")]
    InvalidKey(u32),
}

/// A dev account: its address and signing key.
#[derive(Clone)]
pub struct DevAccount {
    /// The account's address.
    pub address: Address,
    key: SigningKey,
}

impl std::fmt::Debug for DevAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAccount")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl DevAccount {
    /// An account from a raw 32-byte secret key.
    ///
    /// # Errors
    /// [`KeyError::InvalidKey`] when the bytes are not a valid secp256k1 scalar.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, KeyError> {
        let key = SigningKey::from_bytes(secret.into()).map_err(|_| KeyError::InvalidKey(0))?;
        Ok(Self {
            address: Address::from_public_key(key.verifying_key()),
            key,
        })
    }

    /// The secret key, hex-encoded with `0x` (for printing at start).
    pub fn secret_hex(&self) -> String {
        format!("0x{}", alloy_primitives::hex::encode(self.key.to_bytes()))
    }

    /// Signs a 32-byte hash (a transaction's signing hash).
    pub fn sign_hash(&self, hash: &B256) -> Signature {
        // Signing a 32-byte prehash with a valid key cannot fail.
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .expect("prehash signing");
        Signature::from((sig, recid))
    }
}

/// The first `count` accounts of `mnemonic` (empty passphrase).
///
/// # Errors
/// A [`KeyError`] for a non-ASCII mnemonic or an invalid derived key.
pub fn derive_accounts(mnemonic: &str, count: u32) -> Result<Vec<DevAccount>, KeyError> {
    if !mnemonic.is_ascii() {
        return Err(KeyError::NonAsciiMnemonic);
    }
    let normalized = mnemonic.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut seed = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(normalized.as_bytes(), b"mnemonic", 2048, &mut seed);

    let (master, chain) = hmac512(b"Bitcoin seed", &[&seed]);
    let hardened = |i: u32| i | 0x8000_0000;
    let mut key = (master, chain);
    for index in [hardened(44), hardened(60), hardened(0), 0] {
        key = child(key, index)?;
    }
    (0..count)
        .map(|i| {
            let (secret, _) = child(key, i)?;
            DevAccount::from_secret(&secret).map_err(|_| KeyError::InvalidKey(i))
        })
        .collect()
}

type ExtendedKey = ([u8; 32], [u8; 32]);

fn hmac512(key: &[u8], parts: &[&[u8]]) -> ExtendedKey {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("hmac key");
    for part in parts {
        mac.update(part);
    }
    let out = mac.finalize().into_bytes();
    let mut left = [0u8; 32];
    let mut right = [0u8; 32];
    left.copy_from_slice(&out[..32]);
    right.copy_from_slice(&out[32..]);
    (left, right)
}

/// BIP-32 private child key derivation.
fn child((secret, chain): ExtendedKey, index: u32) -> Result<ExtendedKey, KeyError> {
    let index_bytes = index.to_be_bytes();
    let (tweak, child_chain) = if index & 0x8000_0000 != 0 {
        hmac512(&chain, &[&[0u8], &secret, &index_bytes])
    } else {
        let key =
            SigningKey::from_bytes((&secret).into()).map_err(|_| KeyError::InvalidKey(index))?;
        let public = key.verifying_key().as_affine().to_encoded_point(true);
        hmac512(&chain, &[public.as_bytes(), &index_bytes])
    };
    let tweak = Option::<Scalar>::from(Scalar::from_repr(tweak.into()))
        .ok_or(KeyError::InvalidKey(index))?;
    let parent = Option::<Scalar>::from(Scalar::from_repr(secret.into()))
        .ok_or(KeyError::InvalidKey(index))?;
    let sum = tweak + parent;
    if bool::from(sum.is_zero()) {
        return Err(KeyError::InvalidKey(index));
    }
    Ok((sum.to_repr().into(), child_chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn the_test_mnemonic_gives_anvils_accounts() {
        let accounts = derive_accounts(TEST_MNEMONIC, 3).unwrap();
        assert_eq!(
            accounts[0].address,
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            accounts[0].secret_hex(),
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            accounts[1].address,
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        assert_eq!(
            accounts[2].address,
            address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
        );
    }

    #[test]
    fn signatures_recover_to_the_account() {
        let account = &derive_accounts(TEST_MNEMONIC, 1).unwrap()[0];
        let hash = alloy_primitives::keccak256(b"message");
        let sig = account.sign_hash(&hash);
        assert_eq!(
            sig.recover_address_from_prehash(&hash).unwrap(),
            account.address
        );
    }

    #[test]
    fn non_ascii_mnemonics_are_refused() {
        assert_eq!(
            derive_accounts("tést", 1).unwrap_err(),
            KeyError::NonAsciiMnemonic
        );
    }
}
