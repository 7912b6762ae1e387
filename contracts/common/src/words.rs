//! Emitting events from hand-listed ABI words, for contracts close to the size limit.
//!
//! [`crate::events::emit`] is generic over the event type, so each event a contract emits
//! adds its own copy of the encoder (NodePool's thirteen events cost about 1.7 KiB of the
//! 24 KiB compressed budget that way). [`emit`] is one function for every event: the
//! caller passes the signature hash and the fields as 32-byte words. The declarations stay
//! `sol!` types (signature hashes and the ABI export come from them), and the contract's
//! tests decode every event it emits with those types, which pins the encoding.
//!
//! The same trick does not pay for errors: a hand-written `From<Error> for Vec<u8>` came
//! out larger after compression than the SDK's `SolidityError` derive (measured on
//! NodePool: 24 958 against 24 838 bytes).

use alloc::vec::Vec;

use alloy_primitives::{Address, B256, U256};
use stylus_sdk::stylus_core::RawLogAccess;

/// A value that is one ABI word: an address, an unsigned integer, a bool or a `bytes32`.
pub trait ToWord {
    /// The value's 32-byte ABI encoding.
    fn to_word(self) -> B256;
}

impl ToWord for B256 {
    fn to_word(self) -> B256 {
        self
    }
}

impl ToWord for Address {
    fn to_word(self) -> B256 {
        self.into_word()
    }
}

impl ToWord for U256 {
    fn to_word(self) -> B256 {
        self.into()
    }
}

impl ToWord for u64 {
    fn to_word(self) -> B256 {
        U256::from(self).into()
    }
}

impl ToWord for u32 {
    fn to_word(self) -> B256 {
        u64::from(self).to_word()
    }
}

impl ToWord for u16 {
    fn to_word(self) -> B256 {
        u64::from(self).to_word()
    }
}

impl ToWord for u8 {
    fn to_word(self) -> B256 {
        u64::from(self).to_word()
    }
}

impl ToWord for bool {
    fn to_word(self) -> B256 {
        u64::from(self).to_word()
    }
}

/// `value` as one ABI word.
pub fn word(value: impl ToWord) -> B256 {
    value.to_word()
}

/// Emits an event: its signature hash, its indexed fields (`topics`, at most three), then
/// its other fields (`data`, already ABI-encoded as words).
pub fn emit(vm: &impl RawLogAccess, signature: B256, topics: &[B256], data: &[B256]) {
    let mut bytes = Vec::with_capacity(32 * (1 + topics.len() + data.len()));
    bytes.extend_from_slice(signature.as_slice());
    for word in topics.iter().chain(data) {
        bytes.extend_from_slice(word.as_slice());
    }
    vm.emit_log(&bytes, 1 + topics.len());
}

/// The tail of a `bytes` or `string` field: its length, then its bytes right-padded to
/// whole words. The head holds its offset.
pub fn bytes_tail(value: &[u8]) -> Vec<B256> {
    let mut data = Vec::with_capacity(value.len() / 32 + 2);
    data.push(word(value.len() as u64));
    for chunk in value.chunks(32) {
        let mut w = B256::ZERO;
        w.0[..chunk.len()].copy_from_slice(chunk);
        data.push(w);
    }
    data
}

/// The data of a `uint32[]` as an event's only dynamic field after `head` static words:
/// the offset, the length, then the elements.
pub fn uint32_array(head: usize, values: &[u32]) -> Vec<B256> {
    let mut data = Vec::with_capacity(values.len() + 2);
    data.push(word(32 * (head as u64 + 1)));
    data.push(word(values.len() as u64));
    data.extend(values.iter().map(|&v| word(v)));
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_abi_words() {
        assert_eq!(word(true), B256::with_last_byte(1));
        assert_eq!(word(7u8), B256::with_last_byte(7));
        assert_eq!(word(u64::MAX), B256::from(U256::from(u64::MAX)));
        let a = Address::repeat_byte(0xab);
        assert_eq!(word(a), a.into_word());
    }

    #[test]
    fn uint32_array_after_head_words_matches_alloy() {
        use alloy_sol_types::SolValue;
        let values = [3u32, 1, 4];
        let head = 2;
        let mut ours = Vec::new();
        for w in [word(5u64), word(6u64)]
            .iter()
            .chain(&uint32_array(head, &values))
        {
            ours.extend_from_slice(w.as_slice());
        }
        let theirs = (U256::from(5), U256::from(6), values.to_vec()).abi_encode_params();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn bytes_tail_after_head_words_matches_alloy() {
        use alloy_sol_types::SolValue;
        for text in [
            "",
            "a",
            "exactly thirty-two bytes long!!!",
            "a string longer than one word, two",
        ] {
            let mut ours = Vec::new();
            for w in [word(9u64), word(64u64)]
                .iter()
                .chain(&bytes_tail(text.as_bytes()))
            {
                ours.extend_from_slice(w.as_slice());
            }
            let theirs = (U256::from(9), text.to_string()).abi_encode_params();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }
}
