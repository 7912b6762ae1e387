//! Basis-point arithmetic (10 000 = 100 %) and small-divisor division, checked.
//!
//! ruint's general 256-bit division costs about 8 KiB of WASM. Every division in the COR
//! contracts is by a small number (10 000 for basis points, N <= 7 miners, a validator
//! count), so [`div_small`] does schoolbook long division by a 32-bit divisor instead.

use core::num::NonZeroU32;

use alloy_primitives::U256;

/// 100 % in basis points.
pub const BPS_DENOMINATOR: u32 = 10_000;

/// `amount / divisor` and `amount % divisor` for a divisor that fits 32 bits.
pub fn div_small(amount: U256, divisor: NonZeroU32) -> (U256, U256) {
    let divisor = u64::from(divisor.get());
    let mut limbs = amount.into_limbs();
    let mut rest: u64 = 0;
    for limb in limbs.iter_mut().rev() {
        // `rest < divisor <= 2^32`, so each partial dividend fits 64 bits and each
        // quotient digit fits 32 bits.
        let high = (rest << 32) | (*limb >> 32);
        let q_high = high / divisor;
        rest = high % divisor;
        let low = (rest << 32) | (*limb & 0xFFFF_FFFF);
        let q_low = low / divisor;
        rest = low % divisor;
        *limb = (q_high << 32) | q_low;
    }
    (U256::from_limbs(limbs), U256::from(rest))
}

/// `amount * bps / 10 000`, rounded down, or `None` on overflow.
///
/// `bps` may exceed 10 000 (multipliers such as 1.5x are 15 000 bps).
pub fn apply(amount: U256, bps: U256) -> Option<U256> {
    let denominator = NonZeroU32::new(BPS_DENOMINATOR)?;
    amount.checked_mul(bps).map(|v| div_small(v, denominator).0)
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

    #[test]
    fn div_small_matches_full_division() {
        let samples = [
            U256::ZERO,
            U256::from(1),
            U256::from(9_999),
            U256::from(123_456_789u64),
            U256::MAX,
            U256::MAX - U256::from(12_345),
            U256::from(u128::MAX) * U256::from(3),
        ];
        for amount in samples {
            for d in [1u32, 2, 3, 7, 10_000, u32::MAX] {
                let (q, r) = div_small(amount, NonZeroU32::new(d).unwrap());
                assert_eq!(q, amount / U256::from(d), "{amount} / {d}");
                assert_eq!(r, amount % U256::from(d), "{amount} % {d}");
            }
        }
    }
}
