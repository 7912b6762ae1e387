//! One module per subcommand, and the value types their flags share.

pub(crate) mod claim;
pub(crate) mod deploy;
pub(crate) mod epoch;
pub(crate) mod escrow;
pub(crate) mod node;
pub(crate) mod params;
pub(crate) mod quota;
pub(crate) mod quote;
pub(crate) mod session;
pub(crate) mod stake;
pub(crate) mod task;
pub(crate) mod token;
pub(crate) mod up;

use alloy_primitives::U256;
use clap::ValueEnum;

/// Parses a COR amount flag (`12.5`).
pub(crate) fn amount(text: &str) -> Result<U256, String> {
    crate::amount::parse_cor(text)
}

/// A model's pricing class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Class {
    /// Small models.
    Light = 0,
    /// Mid-sized models.
    Medium = 1,
    /// Large models.
    Heavy = 2,
}

/// An SLA tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Tier {
    /// The base price.
    Standard = 0,
    /// 1.5x by default.
    Priority = 1,
    /// 2.5x by default.
    Critical = 2,
}

/// A consensus method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Consensus {
    /// Majority of identical output hashes.
    Exact = 0,
    /// Largest cluster of SimHash fingerprints within --tolerance bits.
    Similarity = 1,
    /// Median of numeric scores; agreeing within --tolerance.
    Median = 2,
    /// Votes weighted by reputation level.
    Weighted = 3,
}

/// How a session's tasks are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PayMode {
    /// From the escrow deposit.
    Escrow = 0,
    /// From the stake-backed quota.
    Quota = 1,
}

/// A code's name from an enum's value list.
pub(crate) fn name_of<E: ValueEnum>(code: u8, all: &[E], to_code: impl Fn(&E) -> u8) -> String {
    all.iter()
        .find(|e| to_code(e) == code)
        .and_then(|e| e.to_possible_value())
        .map(|v| v.get_name().to_owned())
        .unwrap_or_else(|| format!("unknown ({code})"))
}

/// The class name of a code, capitalised as the protocol writes it (`Light`).
pub(crate) fn class_name(code: u8) -> String {
    let name = name_of(code, Class::value_variants(), |c| *c as u8);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name,
    }
}

/// The tier name of a code.
pub(crate) fn tier_name(code: u8) -> String {
    name_of(code, Tier::value_variants(), |c| *c as u8)
}

/// The consensus method name of a code.
pub(crate) fn consensus_name(code: u8) -> String {
    name_of(code, Consensus::value_variants(), |c| *c as u8)
}

/// The payment mode name of a code.
pub(crate) fn mode_name(code: u8) -> String {
    name_of(code, PayMode::value_variants(), |c| *c as u8)
}
