//! Calling other COR contracts with hand-built calldata, for programs close to the size
//! limit.
//!
//! `sol_interface!` generates an encoder and a decoder per function called; a program that
//! calls a dozen functions of five contracts (SessionQueue) pays for each. Every argument
//! and result those calls carry is a static ABI word, or an array of addresses, so one
//! builder ([`Calldata`]) and one reader ([`ret_word`]) serve them all. Selectors come
//! from `sol!` declarations (`fooCall::SELECTOR`), so a signature typo is a compile error
//! in the declaration, and tests against the real callee pin the encoding.
//!
//! A callee's revert is passed up unchanged ([`send`] and [`read`] return its revert data
//! as the error), so a wallet calling SessionQueue sees, for example, StakeQuota's
//! `QuotaExhausted` with its fields, not a generic failure.

use alloc::vec::Vec;

use alloy_primitives::{Address, B256};
use stylus_sdk::{
    call::{call, static_call},
    prelude::*,
    stylus_core::calls::{errors::Error as CallError, Call},
};

use crate::words::ToWord;

/// ABI calldata under construction: a selector, then words.
#[derive(Clone, Debug)]
pub struct Calldata(Vec<u8>);

impl Calldata {
    /// Calldata for the function with `selector`.
    pub fn new(selector: [u8; 4]) -> Self {
        let mut bytes = Vec::with_capacity(4 + 32 * 10);
        bytes.extend_from_slice(&selector);
        Self(bytes)
    }

    /// Appends one static argument.
    pub fn arg(mut self, value: impl ToWord) -> Self {
        self.0.extend_from_slice(value.to_word().as_slice());
        self
    }

    /// Appends a word as is (an offset or length of dynamic data, or an element).
    pub fn raw(mut self, word: B256) -> Self {
        self.0.extend_from_slice(word.as_slice());
        self
    }

    /// Appends the tail of an `address[]` argument (its length, then its elements); the
    /// head must hold its offset.
    pub fn addresses(mut self, values: &[Address]) -> Self {
        self = self.arg(values.len() as u64);
        for &value in values {
            self = self.arg(value);
        }
        self
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The revert data of a failed call (empty when the callee gave none).
fn revert_data(error: CallError) -> Vec<u8> {
    match error {
        CallError::Revert(data) => data,
        _ => Vec::new(),
    }
}

/// Calls `to` with `data` as a state-changing call; the callee's return data, or its
/// revert data as the error.
pub fn send<S>(storage: &mut S, to: Address, data: &Calldata) -> Result<Vec<u8>, Vec<u8>>
where
    S: TopLevelStorage + HostAccess,
{
    let context = Call::new_mutating(storage);
    call(storage.vm(), context, to, data.bytes()).map_err(revert_data)
}

/// Calls `to` with `data` as a static (view) call; the callee's return data, or its
/// revert data as the error.
pub fn read<S: HostAccess>(storage: &S, to: Address, data: &Calldata) -> Result<Vec<u8>, Vec<u8>> {
    static_call(storage.vm(), Call::new(), to, data.bytes()).map_err(revert_data)
}

/// Word `index` of return data; zero past the end (a callee without code returns nothing:
/// callers check addresses at construction).
pub fn ret_word(data: &[u8], index: usize) -> B256 {
    data.get(32 * index..32 * index + 32)
        .map(B256::from_slice)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn calldata_is_selector_then_words() {
        let data = Calldata::new([1, 2, 3, 4])
            .arg(7u64)
            .arg(Address::repeat_byte(0xaa))
            .arg(true);
        let bytes = data.bytes();
        assert_eq!(bytes.len(), 4 + 3 * 32);
        assert_eq!(&bytes[..4], &[1, 2, 3, 4]);
        assert_eq!(U256::from_be_slice(&bytes[4..36]), U256::from(7));
        assert_eq!(&bytes[36 + 12..68], Address::repeat_byte(0xaa).as_slice());
        assert_eq!(bytes[99], 1);
    }

    #[test]
    fn address_array_tail_is_length_then_elements() {
        let a = Address::repeat_byte(1);
        let b = Address::repeat_byte(2);
        let data = Calldata::new([0; 4]).arg(32u64).addresses(&[a, b]);
        let bytes = &data.bytes()[4..];
        assert_eq!(U256::from_be_slice(&bytes[32..64]), U256::from(2));
        assert_eq!(&bytes[64 + 12..96], a.as_slice());
        assert_eq!(&bytes[96 + 12..128], b.as_slice());
    }

    #[test]
    fn ret_word_reads_words_and_zero_past_the_end() {
        let mut data = vec![0u8; 64];
        data[31] = 5;
        data[63] = 9;
        assert_eq!(U256::from_be_bytes(ret_word(&data, 0).0), U256::from(5));
        assert_eq!(U256::from_be_bytes(ret_word(&data, 1).0), U256::from(9));
        assert_eq!(ret_word(&data, 2), B256::ZERO);
        assert_eq!(ret_word(&data[..40], 1), B256::ZERO);
    }
}
