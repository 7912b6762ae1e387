//! Emitting events without a panic path.
//!
//! The SDK's `vm().log(event)` unwraps a `Result` whose error type has a `Debug`
//! implementation; that one `unwrap` links `core::fmt`'s debug machinery (string
//! escaping, unicode tables) into every program, a few KiB of the 24 KiB budget. Topic
//! encoding cannot fail here (the buffer holds the maximum of four topics), so [`emit`]
//! does the same work and simply skips a log that could not be encoded.

use alloc::vec::Vec;

use alloy_sol_types::{abi::token::WordToken, SolEvent, TopicList};
use stylus_sdk::stylus_core::RawLogAccess;

/// Emits `event` from the running contract.
pub fn emit<E: SolEvent>(vm: &impl RawLogAccess, event: E) {
    let mut topics = [WordToken::default(); 4];
    if event.encode_topics_raw(&mut topics).is_err() {
        return;
    }
    let count = E::TopicList::COUNT;
    let mut bytes = Vec::with_capacity(32 * count + 64);
    for topic in topics.iter().take(count) {
        bytes.extend_from_slice(topic.as_slice());
    }
    event.encode_data_to(&mut bytes);
    vm.emit_log(&bytes, count);
}
