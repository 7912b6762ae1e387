//! Where the signing key comes from: an encrypted keystore, a raw key (dev chains only),
//! or one of the dev node's well-known accounts.

use std::path::{Path, PathBuf};

use alloy::signers::local::{coins_bip39::English, MnemonicBuilder, PrivateKeySigner};

/// The mnemonic of the dev node's (and anvil's) prefunded accounts. Public: never hold
/// value with these keys on a real chain.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The keystore file could not be read or decrypted.
    #[error("cannot open keystore {path}: {reason} (wrong password, or not a V3 keystore)")]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The password file could not be read.
    #[error("cannot read password file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A private key was not 32 bytes of hex.
    #[error("private key must be 32 bytes of hex (0x + 64 hex digits)")]
    BadPrivateKey,
    /// A dev account index past the mnemonic's derivations.
    #[error("dev account index {0} is not derivable")]
    BadDevIndex(u32),
}

/// Decrypts a V3 JSON keystore (what `cast wallet new` and geth write).
///
/// # Errors
/// [`WalletError::Keystore`].
pub fn from_keystore(path: &Path, password: &str) -> Result<PrivateKeySigner, WalletError> {
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| WalletError::Keystore {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Reads a keystore password from a file (its first line, without the line end).
///
/// # Errors
/// [`WalletError::PasswordFile`].
pub fn read_password_file(path: &Path) -> Result<String, WalletError> {
    let text = std::fs::read_to_string(path).map_err(|source| WalletError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// A signer from a hex private key. For dev chains: a key on a command line or in an
/// environment variable ends up in shell history and process listings.
///
/// # Errors
/// [`WalletError::BadPrivateKey`].
pub fn from_private_key(hex_key: &str) -> Result<PrivateKeySigner, WalletError> {
    hex_key
        .trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| WalletError::BadPrivateKey)
}

/// The dev node's account `index` (derivation `m/44'/60'/0'/0/index` of
/// [`DEV_MNEMONIC`]), prefunded at genesis.
///
/// # Errors
/// [`WalletError::BadDevIndex`].
pub fn dev_account(index: u32) -> Result<PrivateKeySigner, WalletError> {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)
        .and_then(|b| b.build())
        .map_err(|_| WalletError::BadDevIndex(index))
}

/// Where a daemon's key comes from (a config file's `signer` key).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Signer {
    /// An encrypted V3 keystore and the file holding its password.
    Keystore {
        /// The keystore.
        path: PathBuf,
        /// The password file.
        password_file: PathBuf,
    },
    /// One of the dev node's prefunded accounts (dev chains only).
    DevAccount(u32),
    /// A raw hex private key (dev chains only).
    PrivateKey(String),
}

impl Signer {
    /// Loads the key.
    ///
    /// # Errors
    /// [`WalletError`] naming the file or the problem.
    pub fn load(&self) -> Result<PrivateKeySigner, WalletError> {
        match self {
            Signer::Keystore {
                path,
                password_file,
            } => {
                let password = read_password_file(password_file)?;
                from_keystore(path, &password)
            }
            Signer::DevAccount(index) => dev_account(*index),
            Signer::PrivateKey(key) => from_private_key(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn dev_accounts_are_the_well_known_ones() {
        assert_eq!(
            dev_account(0).unwrap().address(),
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            dev_account(1).unwrap().address(),
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
    }

    #[test]
    fn private_keys_parse_and_bad_ones_are_refused() {
        let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        assert_eq!(
            from_private_key(key).unwrap().address(),
            dev_account(0).unwrap().address()
        );
        assert!(matches!(
            from_private_key("0x1234"),
            Err(WalletError::BadPrivateKey)
        ));
    }

    #[test]
    fn keystores_round_trip_and_wrong_passwords_fail() {
        let dir = std::env::temp_dir().join(format!("cor-wallet-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = rand::thread_rng();
        let (signer, _uuid) =
            PrivateKeySigner::new_keystore(&dir, &mut rng, "hunter2", Some("key.json")).unwrap();
        let path = dir.join("key.json");
        assert_eq!(
            from_keystore(&path, "hunter2").unwrap().address(),
            signer.address()
        );
        assert!(matches!(
            from_keystore(&path, "wrong"),
            Err(WalletError::Keystore { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
