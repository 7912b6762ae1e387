//! Basis-point arithmetic (10 000 = 100 %), checked.

use alloy_primitives::U256;

/// 100 % in basis points.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// `amount * bps / 10 000`, rounded down, or `None` on overflow.
///
/// `bps` may exceed 10 000 (multipliers such as 1.5x are 15 000 bps).
pub fn apply(amount: U256, bps: U256) -> Option<U256> {
    amount
        .checked_mul(bps)
        .map(|v| v / U256::from(BPS_DENOMINATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_rounds_down_and_scales() {
        assert_eq!(
            apply(U256::from(1_000), U256::from(2_500)),
            Some(U256::from(250))
        );
        assert_eq!(apply(U256::from(3), U256::from(5_000)), Some(U256::from(1)));
        assert_eq!(
            apply(U256::from(10), U256::from(15_000)),
            Some(U256::from(15))
        );
    }

    #[test]
    fn apply_reports_overflow() {
        assert_eq!(apply(U256::MAX, U256::from(2)), None);
    }
}
