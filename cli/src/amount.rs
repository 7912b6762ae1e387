//! COR amounts as people write them ("12.5") and as the contracts hold them (18-decimal
//! integers), converted exactly: no floating point anywhere.

use alloy_primitives::U256;

/// Decimals of COR.
const DECIMALS: usize = 18;

/// Parses whole or decimal COR (`12`, `12.5`, `0.000000000000000001`) into the smallest
/// unit. `_` separators are allowed in the whole part.
pub(crate) fn parse_cor(text: &str) -> Result<U256, String> {
    let expected = || {
        format!(
            "{text:?}: expected an amount of COR such as 12 or 12.5 (at most {DECIMALS} decimals)"
        )
    };
    let text_trim = text.trim();
    let (whole, frac) = match text_trim.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text_trim, ""),
    };
    let whole: String = whole.chars().filter(|c| *c != '_').collect();
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty())
        || !digits(&whole)
        || !digits(frac)
        || frac.len() > DECIMALS
        || (text_trim.contains('.') && frac.is_empty())
    {
        return Err(expected());
    }
    let scale = U256::from(10u64).pow(U256::from(DECIMALS));
    let whole = if whole.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(&whole, 10).map_err(|_| expected())?
    };
    let frac = if frac.is_empty() {
        U256::ZERO
    } else {
        let padded = format!("{frac:0<DECIMALS$}");
        U256::from_str_radix(&padded, 10).map_err(|_| expected())?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(expected)
}

/// Formats a smallest-unit amount as COR with as many decimals as it needs
/// (`12.5`, `0`, `1000`).
pub(crate) fn format_cor(amount: U256) -> String {
    let digits = amount.to_string();
    let (whole, frac) = if digits.len() > DECIMALS {
        let (w, f) = digits.split_at(digits.len() - DECIMALS);
        (w.to_owned(), f.to_owned())
    } else {
        ("0".to_owned(), format!("{digits:0>DECIMALS$}"))
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole
    } else {
        format!("{whole}.{frac}")
    }
}

/// [`format_cor`] with the unit: `12.5 COR`.
pub(crate) fn cor(amount: U256) -> String {
    format!("{} COR", format_cor(amount))
}

/// [`cor`] for a field the revert decoder rendered as a decimal string; the text as it
/// is when it is not a number.
pub(crate) fn cor_str(decimal: &str) -> String {
    U256::from_str_radix(decimal, 10)
        .map(cor)
        .unwrap_or_else(|_| decimal.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wei(s: &str) -> U256 {
        U256::from_str_radix(s, 10).unwrap()
    }

    #[test]
    fn decimal_amounts_convert_exactly() {
        assert_eq!(parse_cor("12.5").unwrap(), wei("12500000000000000000"));
        assert_eq!(parse_cor("1").unwrap(), wei("1000000000000000000"));
        assert_eq!(parse_cor("0.000000000000000001").unwrap(), U256::from(1u64));
        assert_eq!(parse_cor(".5").unwrap(), wei("500000000000000000"));
        assert_eq!(parse_cor("1_000").unwrap(), wei("1000000000000000000000"));
        // 0.1 + 0.2 style binary-float traps do not exist here.
        assert_eq!(
            parse_cor("0.3").unwrap(),
            parse_cor("0.1").unwrap() + parse_cor("0.2").unwrap()
        );
    }

    #[test]
    fn bad_amounts_say_what_is_expected() {
        for bad in [
            "",
            "abc",
            "1.2.3",
            "-1",
            "1e18",
            "1.",
            "0.0000000000000000001",
            "1,5",
        ] {
            let e = parse_cor(bad).unwrap_err();
            assert!(e.contains("expected an amount of COR"), "{bad}: {e}");
        }
        assert!(parse_cor(
            "999999999999999999999999999999999999999999999999999999999999999999999999999999"
        )
        .is_err());
    }

    #[test]
    fn amounts_format_without_trailing_zeros_and_round_trip() {
        assert_eq!(format_cor(U256::ZERO), "0");
        assert_eq!(format_cor(wei("12500000000000000000")), "12.5");
        assert_eq!(format_cor(U256::from(1u64)), "0.000000000000000001");
        assert_eq!(format_cor(wei("1000000000000000000000")), "1000");
        for s in ["0.25", "7", "123456.000000000000000001"] {
            assert_eq!(format_cor(parse_cor(s).unwrap()), s);
        }
        assert_eq!(cor_str("1500000000000000000"), "1.5 COR");
        assert_eq!(cor_str("n/a"), "n/a");
    }
}
