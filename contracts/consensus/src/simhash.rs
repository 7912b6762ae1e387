//! The 256-bit SimHash fingerprint of an output text, and the distance between two.
//!
//! Outputs of the same model on different hardware can differ in a few tokens; their
//! hashes then differ completely, but their fingerprints differ in few bits. The
//! fingerprint is defined here once, so that every miner and every verifier computes the
//! same bits:
//!
//! 1. The text is lowercased (Unicode) and split into tokens: maximal runs of
//!    alphanumeric characters. Everything else separates tokens.
//! 2. The features are every token and every pair of adjacent tokens (the two tokens
//!    joined by one space), each occurrence counting once. Pairs make word order count.
//! 3. Each feature is hashed with keccak256. For each of the 256 bit positions, a counter
//!    adds 1 for every feature whose hash has that bit set and subtracts 1 otherwise.
//! 4. Bit i of the fingerprint is set when counter i is positive. Bit 0 is the most
//!    significant bit of byte 0. A text without tokens has the zero fingerprint.
//!
//! Identical texts have distance 0; texts sharing most features have small distances;
//! unrelated texts are about 128 bits apart.

use alloc::{string::String, vec::Vec};

use alloy_primitives::{keccak256, B256};

/// The SimHash fingerprint of `text` (see the module documentation for the definition).
pub fn fingerprint(text: &str) -> B256 {
    let tokens = tokens(text);
    if tokens.is_empty() {
        return B256::ZERO;
    }
    let mut counters = [0i64; 256];
    let mut add = |feature: &[u8]| {
        let hash = keccak256(feature);
        for (i, counter) in counters.iter_mut().enumerate() {
            if hash[i / 8] & (0x80 >> (i % 8)) != 0 {
                *counter += 1;
            } else {
                *counter -= 1;
            }
        }
    };
    let mut pair = String::new();
    for (i, token) in tokens.iter().enumerate() {
        add(token.as_bytes());
        if let Some(next) = tokens.get(i + 1) {
            pair.clear();
            pair.push_str(token);
            pair.push(' ');
            pair.push_str(next);
            add(pair.as_bytes());
        }
    }
    let mut out = [0u8; 32];
    for (i, counter) in counters.iter().enumerate() {
        if *counter > 0 {
            out[i / 8] |= 0x80 >> (i % 8);
        }
    }
    B256::from(out)
}

/// The number of bits in which `a` and `b` differ (0..=256).
pub fn hamming(a: &B256, b: &B256) -> u32 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x ^ y).count_ones())
        .sum()
}

/// Lowercased alphanumeric runs of `text`.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            tokens.push(core::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "The capital of France is Paris. It lies on the Seine, in the north of \
        the country, and with about two million inhabitants in the city proper it is the \
        largest city of France. Paris is known for its museums, among them the Louvre, \
        for the Eiffel Tower, and for its cafes, bridges and long boulevards.";

    #[test]
    fn case_and_punctuation_do_not_matter() {
        assert_eq!(fingerprint("Hello, World!"), fingerprint("hello   world"));
        assert_ne!(fingerprint("hello world"), fingerprint("world hello"));
    }

    #[test]
    fn empty_text_has_the_zero_fingerprint() {
        assert_eq!(fingerprint(""), B256::ZERO);
        assert_eq!(fingerprint(" ,.;!? "), B256::ZERO);
    }

    #[test]
    fn a_small_edit_moves_few_bits_and_another_text_about_half() {
        let base = fingerprint(TEXT);
        let edited = fingerprint(&TEXT.replace("two million", "2.1 million"));
        let other = fingerprint(
            "Photosynthesis converts light energy into chemical energy stored in sugars; \
             chlorophyll in the chloroplasts absorbs mostly blue and red light while green \
             light is reflected, which is why most leaves look green to us.",
        );
        let near = hamming(&base, &edited);
        let far = hamming(&base, &other);
        assert!(near > 0 && near <= 40, "near {near}");
        assert!((80..=176).contains(&far), "far {far}");
    }

    #[test]
    fn hamming_counts_differing_bits() {
        let a = B256::ZERO;
        let mut b = [0u8; 32];
        b[0] = 0b1000_0001;
        b[31] = 0xff;
        assert_eq!(hamming(&a, &B256::from(b)), 10);
        assert_eq!(hamming(&B256::repeat_byte(0xff), &a), 256);
    }

    /// A fixed vector, so that a change of the definition cannot go unnoticed: miners
    /// running different versions would stop agreeing.
    #[test]
    fn the_definition_is_pinned() {
        let fp = fingerprint("The QUICK brown fox.");
        assert_eq!(
            fp,
            alloy_primitives::b256!(
                "78d6fe6f323f3997f02cc37847269a809708e2d3654c43eb6c1a999aaca39ab9"
            )
        );
        assert_eq!(fp, majority_vote(&["the", "quick", "brown", "fox"]));
    }

    /// The definition restated as a majority vote over features for each bit: a second,
    /// independent formulation of steps 2 to 4.
    fn majority_vote(tokens: &[&str]) -> B256 {
        let mut features: Vec<String> = tokens.iter().map(|t| String::from(*t)).collect();
        for w in tokens.windows(2) {
            features.push(alloc::format!("{} {}", w[0], w[1]));
        }
        let mut out = [0u8; 32];
        for bit in 0..256 {
            let set = features
                .iter()
                .filter(|f| keccak256(f.as_bytes())[bit / 8] & (0x80 >> (bit % 8)) != 0)
                .count();
            if 2 * set > features.len() {
                out[bit / 8] |= 0x80 >> (bit % 8);
            }
        }
        B256::from(out)
    }
}
