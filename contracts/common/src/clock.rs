//! Fixed-length periods (reward epochs, quota periods) counted from a genesis time.

use crate::sol_decls;

sol_decls! {
    error InvalidPeriod(uint64 genesis, uint64 length);
}

/// A clock of fixed-length periods: period 0 starts at `genesis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    /// Start of period 0 (unix seconds).
    pub genesis: u64,
    /// Length of every period in seconds (> 0).
    pub length: u64,
}

impl Periods {
    /// A clock; fails for a zero length.
    ///
    /// Errors: `InvalidPeriod`.
    pub fn new<E: From<InvalidPeriod>>(genesis: u64, length: u64) -> Result<Self, E> {
        if length == 0 {
            return Err(InvalidPeriod { genesis, length }.into());
        }
        Ok(Self { genesis, length })
    }

    /// The period containing `now`; times before genesis are in period 0.
    pub fn index(&self, now: u64) -> u64 {
        now.saturating_sub(self.genesis) / self.length.max(1)
    }

    /// Start time of period `index` (saturating).
    pub fn start(&self, index: u64) -> u64 {
        self.genesis
            .saturating_add(index.saturating_mul(self.length))
    }

    /// End time (exclusive) of period `index`: the start of the next one.
    pub fn end(&self, index: u64) -> u64 {
        self.start(index.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_counts_whole_periods_from_genesis() {
        let p = Periods {
            genesis: 1_000,
            length: 100,
        };
        assert_eq!(p.index(0), 0);
        assert_eq!(p.index(1_000), 0);
        assert_eq!(p.index(1_099), 0);
        assert_eq!(p.index(1_100), 1);
        assert_eq!(p.start(3), 1_300);
        assert_eq!(p.end(3), 1_400);
    }

    #[test]
    fn zero_length_is_rejected() {
        assert_eq!(
            Periods::new::<InvalidPeriod>(5, 0),
            Err(InvalidPeriod {
                genesis: 5,
                length: 0
            })
        );
    }
}
