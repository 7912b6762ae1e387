//! Signed transactions: decoding, sender recovery, the checks a node makes before
//! accepting one, and their translation into revm's transaction environment.

use alloy_consensus::{transaction::SignerRecoverable, Transaction as _, TxEnvelope, TxType};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use revm::context::TxEnv;

/// Why a transaction was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    /// The bytes are not an EIP-2718 transaction.
    #[error("invalid transaction encoding: {0}")]
    Decode(String),
    /// The signature does not recover.
    #[error("invalid transaction signature")]
    Signature,
    /// Blob and other unsupported types.
    #[error("transaction type {0} is not supported")]
    UnsupportedType(u8),
    /// Signed for another chain.
    #[error("invalid chain id: want {want}, got {got}")]
    ChainId {
        /// This chain's id.
        want: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce was used already.
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// A nonce gap (instant mining cannot hold the transaction).
    #[error("nonce too high: next nonce {expected}, tx nonce {got}")]
    NonceTooHigh {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// Below the intrinsic gas of the transaction.
    #[error("intrinsic gas too low: need {need}, have {have}")]
    IntrinsicGas {
        /// Intrinsic gas.
        need: u64,
        /// Gas limit given.
        have: u64,
    },
    /// Above the block gas limit.
    #[error("exceeds block gas limit {limit}: {gas}")]
    GasLimit {
        /// The block gas limit.
        limit: u64,
        /// The transaction's.
        gas: u64,
    },
    /// The fee cap is under the base fee.
    #[error(
        "max fee per gas less than block base fee: maxFeePerGas {max_fee}, baseFee {base_fee}"
    )]
    FeeTooLow {
        /// The transaction's fee cap.
        max_fee: u128,
        /// The block base fee.
        base_fee: u64,
    },
    /// The sender cannot pay gas and value.
    #[error("insufficient funds for gas * price + value: have {have} want {want}")]
    InsufficientFunds {
        /// Balance.
        have: U256,
        /// Gas limit times fee cap plus value.
        want: U256,
    },
    /// The same transaction was submitted before.
    #[error("already known")]
    AlreadyKnown,
    /// A transaction replacing a pending one with the same nonce pays less than 10 %
    /// more per gas.
    #[error("replacement transaction underpriced: max fee {got} under {needed}")]
    ReplacementUnderpriced {
        /// The least max fee per gas that replaces the pending transaction.
        needed: u128,
        /// The new transaction's max fee per gas.
        got: u128,
    },
}

/// A decoded transaction with its sender.
#[derive(Debug, Clone)]
pub struct SignedTx {
    /// The transaction.
    pub envelope: TxEnvelope,
    /// Its EIP-2718 encoding.
    pub raw: Bytes,
    /// Its hash.
    pub hash: B256,
    /// Who signed it.
    pub sender: Address,
}

impl SignedTx {
    /// Decodes raw EIP-2718 bytes and recovers the sender.
    ///
    /// # Errors
    /// [`TxError::Decode`], [`TxError::Signature`] or [`TxError::UnsupportedType`].
    pub fn decode(raw: &[u8]) -> Result<Self, TxError> {
        let mut buf = raw;
        let envelope =
            TxEnvelope::decode_2718(&mut buf).map_err(|e| TxError::Decode(e.to_string()))?;
        if !buf.is_empty() {
            return Err(TxError::Decode("trailing bytes".into()));
        }
        Self::from_envelope(envelope, Bytes::copy_from_slice(raw))
    }

    /// Wraps an envelope (with its encoding) and recovers the sender.
    ///
    /// # Errors
    /// [`TxError::Signature`] or [`TxError::UnsupportedType`].
    pub fn from_envelope(envelope: TxEnvelope, raw: Bytes) -> Result<Self, TxError> {
        match envelope.tx_type() {
            TxType::Legacy | TxType::Eip2930 | TxType::Eip1559 | TxType::Eip7702 => {}
            other => return Err(TxError::UnsupportedType(other as u8)),
        }
        let sender = envelope.recover_signer().map_err(|_| TxError::Signature)?;
        let hash = *envelope.tx_hash();
        Ok(Self {
            envelope,
            raw,
            hash,
            sender,
        })
    }

    /// The nonce.
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }

    /// The fee cap (gas price for legacy transactions).
    pub fn max_fee(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }

    /// What the sender pays per gas at `base_fee`.
    pub fn effective_gas_price(&self, base_fee: u64) -> u128 {
        self.envelope.effective_gas_price(Some(base_fee))
    }

    /// The most the transaction can cost: gas limit times fee cap, plus value.
    pub fn max_cost(&self) -> U256 {
        U256::from(self.gas_limit()) * U256::from(self.max_fee()) + self.envelope.value()
    }

    /// Stateless checks: chain id, gas limits, fee cap.
    ///
    /// # Errors
    /// The first [`TxError`] that applies.
    pub fn check(&self, chain_id: u64, block_gas_limit: u64, base_fee: u64) -> Result<(), TxError> {
        if let Some(got) = self.envelope.chain_id() {
            if got != chain_id {
                return Err(TxError::ChainId {
                    want: chain_id,
                    got,
                });
            }
        }
        let need = intrinsic_gas(&self.envelope);
        if self.gas_limit() < need {
            return Err(TxError::IntrinsicGas {
                need,
                have: self.gas_limit(),
            });
        }
        if self.gas_limit() > block_gas_limit {
            return Err(TxError::GasLimit {
                limit: block_gas_limit,
                gas: self.gas_limit(),
            });
        }
        if self.max_fee() < u128::from(base_fee) {
            return Err(TxError::FeeTooLow {
                max_fee: self.max_fee(),
                base_fee,
            });
        }
        Ok(())
    }

    /// revm's view of the transaction.
    pub fn to_tx_env(&self) -> TxEnv {
        let tx = &self.envelope;
        let access_list = tx.access_list().cloned().unwrap_or_default();
        let authorization_list = tx
            .authorization_list()
            .map(|list| {
                list.iter()
                    .cloned()
                    .map(revm::context::either::Either::Left)
                    .collect()
            })
            .unwrap_or_default();
        TxEnv {
            tx_type: tx.tx_type() as u8,
            caller: self.sender,
            gas_limit: tx.gas_limit(),
            gas_price: tx.max_fee_per_gas(),
            kind: tx.kind(),
            value: tx.value(),
            data: tx.input().clone(),
            nonce: tx.nonce(),
            chain_id: tx.chain_id(),
            access_list,
            gas_priority_fee: tx.max_priority_fee_per_gas(),
            authorization_list,
            ..Default::default()
        }
    }

    /// The recipient, if any.
    pub fn to(&self) -> Option<Address> {
        match self.envelope.kind() {
            TxKind::Call(to) => Some(to),
            TxKind::Create => None,
        }
    }
}

/// Intrinsic gas: 21 000 (53 000 for creates), calldata, access list, init code words and
/// authorizations.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let input = tx.input();
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let non_zeros = input.len() as u64 - zeros;
    let mut gas = 21_000 + zeros * 4 + non_zeros * 16;
    if tx.is_create() {
        gas += 32_000 + 2 * (input.len() as u64).div_ceil(32);
    }
    if let Some(list) = tx.access_list() {
        for item in list.iter() {
            gas += 2_400 + 1_900 * item.storage_keys.len() as u64;
        }
    }
    if let Some(auths) = tx.authorization_list() {
        gas += 25_000 * auths.len() as u64;
    }
    gas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::keys::{derive_accounts, TEST_MNEMONIC};
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;

    fn sign_1559(nonce: u64, chain_id: u64) -> Bytes {
        let account = &derive_accounts(TEST_MNEMONIC, 1).unwrap()[0];
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(5),
            ..Default::default()
        };
        let sig = account.sign_hash(&tx.signature_hash());
        TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
    }

    #[test]
    fn signed_transactions_decode_and_recover() {
        let raw = sign_1559(0, 412_346);
        let tx = SignedTx::decode(&raw).unwrap();
        assert_eq!(
            tx.sender,
            derive_accounts(TEST_MNEMONIC, 1).unwrap()[0].address
        );
        assert_eq!(tx.to(), Some(Address::repeat_byte(1)));
        assert!(tx.check(412_346, 30_000_000, 100_000_000).is_ok());
        assert_eq!(
            tx.check(1, 30_000_000, 100_000_000),
            Err(TxError::ChainId {
                want: 1,
                got: 412_346
            })
        );
        assert!(matches!(
            tx.check(412_346, 30_000_000, 2_000_000_000),
            Err(TxError::FeeTooLow { .. })
        ));
    }

    #[test]
    fn garbage_and_truncated_bytes_are_refused() {
        assert!(matches!(SignedTx::decode(&[]), Err(TxError::Decode(_))));
        assert!(matches!(
            SignedTx::decode(&[0x02, 0xc0]),
            Err(TxError::Decode(_))
        ));
        let raw = sign_1559(0, 412_346);
        assert!(SignedTx::decode(&raw[..raw.len() - 1]).is_err());
    }

    #[test]
    fn access_list_transactions_decode_and_carry_their_list() {
        use alloy_consensus::TxEip2930;
        use alloy_eips::eip2930::{AccessList, AccessListItem};
        let account = &derive_accounts(TEST_MNEMONIC, 1).unwrap()[0];
        let list = AccessList(vec![AccessListItem {
            address: Address::repeat_byte(3),
            storage_keys: vec![B256::ZERO],
        }]);
        let tx = TxEip2930 {
            chain_id: 412_346,
            nonce: 0,
            gas_price: 1_000_000_000,
            gas_limit: 30_000,
            to: TxKind::Call(Address::repeat_byte(3)),
            value: U256::ZERO,
            access_list: list.clone(),
            input: Bytes::new(),
        };
        let sig = account.sign_hash(&tx.signature_hash());
        let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
        let decoded = SignedTx::decode(&raw).unwrap();
        assert_eq!(decoded.to_tx_env().tx_type, 1);
        assert_eq!(decoded.to_tx_env().access_list, list);
        assert_eq!(intrinsic_gas(&decoded.envelope), 21_000 + 2_400 + 1_900);
        assert!(decoded.check(412_346, 30_000_000, 100_000_000).is_ok());
    }

    #[test]
    fn legacy_transactions_without_chain_id_are_accepted() {
        let account = &derive_accounts(TEST_MNEMONIC, 1).unwrap()[0];
        let tx = TxLegacy {
            chain_id: None,
            nonce: 0,
            gas_price: 1_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(2)),
            value: U256::from(1),
            input: Bytes::new(),
        };
        let sig = account.sign_hash(&tx.signature_hash());
        let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
        let decoded = SignedTx::decode(&raw).unwrap();
        assert!(decoded.check(412_346, 30_000_000, 100_000_000).is_ok());
        assert_eq!(decoded.to_tx_env().chain_id, None);
    }
}
