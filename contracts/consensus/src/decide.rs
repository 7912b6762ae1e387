//! Picking a task's result from its reveals.
//!
//! Every tie is broken by content (output hash, fingerprint, score), never by the order
//! of the reveals, so that who revealed first cannot change the result.

/// Most reveals one decision takes (redundancy is 1..=7; the agreeing set is a `u8` mask).
pub const MAX_REVEALS: usize = 8;

use alloy_primitives::B256;

use crate::simhash::hamming;

/// How the reveals of a task are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The most common output hash wins; its miners agree.
    Exact,
    /// Fingerprints within a Hamming radius agree; the largest such cluster wins and its
    /// medoid (the member with the smallest total distance to the others) is the result.
    Similarity,
    /// Numeric scores: the (lower) median is the result; scores within a tolerance of it
    /// agree.
    Median,
    /// Like Exact, but each miner's vote counts with its reputation weight.
    Weighted,
}

impl Method {
    /// The method with ABI code `code` (0 Exact, 1 Similarity, 2 Median, 3 Weighted).
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Exact),
            1 => Some(Self::Similarity),
            2 => Some(Self::Median),
            3 => Some(Self::Weighted),
            _ => None,
        }
    }
}

/// One miner's revealed answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reveal {
    /// keccak256 of the output bytes.
    pub output_hash: B256,
    /// SimHash of the output text.
    pub fingerprint: B256,
    /// Numeric score (grading and validation tasks; 0 otherwise).
    pub score: u64,
    /// Vote weight (Weighted only; at least 1).
    pub weight: u64,
}

/// How one task decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The method.
    pub method: Method,
    /// Miners assigned (N).
    pub assigned: u8,
    /// Agreeing miners needed (1..=N). For Weighted, the winner's weight must be at least
    /// `threshold / N` of `total_weight`.
    pub threshold: u8,
    /// Similarity: largest Hamming distance (bits) at which two fingerprints agree.
    pub radius: u32,
    /// Median: largest distance from the median at which a score agrees.
    pub tolerance: u64,
    /// Weighted: the summed weight of all assigned miners, revealed or not (a miner that
    /// did not reveal counts against the winner).
    pub total_weight: u64,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Index (into the reveals) of the reveal that is the result; `None` without reveals.
    pub result: Option<usize>,
    /// Bit i set: reveal i agrees with the result.
    pub agreeing: u8,
    /// Number of agreeing reveals.
    pub support: u8,
    /// Whether the agreement reached the threshold. When false the task is Unresolved
    /// (the payer is refunded) and `result` / `agreeing` are informational.
    pub resolved: bool,
}

/// Decides a task from its reveals (at most [`MAX_REVEALS`]; more, or none, is
/// unresolved).
pub fn decide(rules: &Rules, reveals: &[Reveal]) -> Outcome {
    let unresolved = Outcome {
        result: None,
        agreeing: 0,
        support: 0,
        resolved: false,
    };
    if reveals.is_empty() || reveals.len() > MAX_REVEALS {
        return unresolved;
    }
    let (result, agreeing) = match rules.method {
        Method::Exact => plurality(reveals, |_| 1),
        Method::Weighted => plurality(reveals, |r| r.weight),
        Method::Similarity => medoid(reveals, rules.radius),
        Method::Median => median(reveals, rules.tolerance),
    };
    let support = agreeing.count_ones() as u8;
    let resolved = match rules.method {
        Method::Weighted => {
            let weight: u128 = members(agreeing)
                .map(|i| u128::from(reveals[i].weight))
                .sum();
            // weight / total >= threshold / N, without division.
            rules.assigned > 0
                && weight * u128::from(rules.assigned)
                    >= u128::from(rules.threshold) * u128::from(rules.total_weight)
                && weight > 0
        }
        _ => support >= rules.threshold && rules.threshold > 0,
    };
    Outcome {
        result: Some(result),
        agreeing,
        support,
        resolved,
    }
}

/// Indices set in `mask`.
fn members(mask: u8) -> impl Iterator<Item = usize> {
    (0..MAX_REVEALS).filter(move |i| mask & (1 << i) != 0)
}

/// Reveals with `reveals[i]`'s output hash, as a mask.
fn same_output(reveals: &[Reveal], i: usize) -> u8 {
    let mut mask = 0u8;
    for (j, r) in reveals.iter().enumerate() {
        if r.output_hash == reveals[i].output_hash {
            mask |= 1 << j;
        }
    }
    mask
}

/// A reveal's content, the last tie-break everywhere: reveals equal in it are
/// interchangeable.
fn content(r: &Reveal) -> (B256, B256, u64) {
    (r.output_hash, r.fingerprint, r.score)
}

/// The output hash with the most votes (`vote` per reveal); ties go to the smallest
/// content. The result is the smallest-content reveal of the winning hash.
fn plurality(reveals: &[Reveal], vote: impl Fn(&Reveal) -> u64) -> (usize, u8) {
    let mut best: Option<(u128, usize, u8)> = None;
    for (i, r) in reveals.iter().enumerate() {
        let mask = same_output(reveals, i);
        let votes: u128 = members(mask).map(|j| u128::from(vote(&reveals[j]))).sum();
        let better = match best {
            None => true,
            Some((v, b, _)) => votes > v || (votes == v && content(r) < content(&reveals[b])),
        };
        if better {
            best = Some((votes, i, mask));
        }
    }
    match best {
        Some((_, i, mask)) => (i, mask),
        None => (0, 0),
    }
}

/// The medoid of the largest cluster of fingerprints within `radius` of a member.
///
/// Each reveal's cluster is the reveals within `radius` of it (itself included). The
/// winner has the largest cluster, then the smallest total distance to its cluster, then
/// the smallest content.
fn medoid(reveals: &[Reveal], radius: u32) -> (usize, u8) {
    let mut best: Option<(u32, u32, usize, u8)> = None;
    for (i, r) in reveals.iter().enumerate() {
        let mut mask = 0u8;
        let mut size = 0u32;
        let mut spread = 0u32;
        for (j, other) in reveals.iter().enumerate() {
            let d = hamming(&r.fingerprint, &other.fingerprint);
            if d <= radius {
                mask |= 1 << j;
                size += 1;
                spread += d;
            }
        }
        let better = match best {
            None => true,
            Some((s, sp, b, _)) => {
                size > s
                    || (size == s
                        && (spread < sp || (spread == sp && content(r) < content(&reveals[b]))))
            }
        };
        if better {
            best = Some((size, spread, i, mask));
        }
    }
    match best {
        Some((_, _, i, mask)) => (i, mask),
        None => (0, 0),
    }
}

/// The lower median by score, then content; scores within `tolerance` of it agree.
fn median(reveals: &[Reveal], tolerance: u64) -> (usize, u8) {
    let mut order = [0usize; MAX_REVEALS];
    let n = reveals.len();
    for (slot, i) in order.iter_mut().zip(0..n) {
        *slot = i;
    }
    // Insertion sort: at most eight elements, and no formatting or panicking paths.
    for k in 1..n {
        let mut j = k;
        while j > 0 {
            let (a, b) = (&reveals[order[j - 1]], &reveals[order[j]]);
            if (a.score, content(a)) <= (b.score, content(b)) {
                break;
            }
            order.swap(j - 1, j);
            j -= 1;
        }
    }
    let m = order[(n - 1) / 2];
    let center = reveals[m].score;
    let mut mask = 0u8;
    for (j, r) in reveals.iter().enumerate() {
        if r.score.abs_diff(center) <= tolerance {
            mask |= 1 << j;
        }
    }
    (m, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reveal(out: u8, fp: B256, score: u64, weight: u64) -> Reveal {
        Reveal {
            output_hash: B256::repeat_byte(out),
            fingerprint: fp,
            score,
            weight,
        }
    }

    fn rules(method: Method, assigned: u8, threshold: u8) -> Rules {
        Rules {
            method,
            assigned,
            threshold,
            radius: 16,
            tolerance: 5,
            total_weight: 0,
        }
    }

    /// A fingerprint with the low `bits` bits of byte 31 set.
    fn fp(bits: u32) -> B256 {
        let mut b = [0u8; 32];
        let mut left = bits;
        let mut i = 31;
        while left > 0 {
            let take = left.min(8);
            b[i] = (0xffu16 >> (8 - take)) as u8;
            left -= take;
            i -= 1;
        }
        B256::from(b)
    }

    #[test]
    fn exact_majority_wins_and_the_minority_disagrees() {
        let reveals = [
            reveal(1, B256::ZERO, 0, 1),
            reveal(2, B256::ZERO, 0, 1),
            reveal(1, B256::ZERO, 0, 1),
        ];
        let o = decide(&rules(Method::Exact, 3, 2), &reveals);
        assert_eq!(o.agreeing, 0b101);
        assert_eq!(o.support, 2);
        assert!(o.resolved);
        assert_eq!(reveals[o.result.unwrap()].output_hash, B256::repeat_byte(1));
    }

    #[test]
    fn exact_below_threshold_is_unresolved() {
        let reveals = [
            reveal(1, B256::ZERO, 0, 1),
            reveal(2, B256::ZERO, 0, 1),
            reveal(3, B256::ZERO, 0, 1),
        ];
        let o = decide(&rules(Method::Exact, 3, 2), &reveals);
        assert!(!o.resolved);
        assert_eq!(o.support, 1);
        // The tie is broken by the smallest hash, not by order.
        assert_eq!(reveals[o.result.unwrap()].output_hash, B256::repeat_byte(1));
    }

    #[test]
    fn similarity_clusters_near_fingerprints_and_picks_the_medoid() {
        // Three near each other (0, 4 and 8 bits from zero), one far away.
        let reveals = [
            reveal(1, fp(8), 0, 1),
            reveal(2, fp(0), 0, 1),
            reveal(3, fp(4), 0, 1),
            reveal(4, B256::repeat_byte(0xf0), 0, 1),
        ];
        let o = decide(&rules(Method::Similarity, 4, 3), &reveals);
        assert!(o.resolved);
        assert_eq!(o.agreeing, 0b0111);
        // fp(4) is 4 bits from each of the others: the smallest total distance.
        assert_eq!(o.result, Some(2));
        let strict = Rules {
            radius: 3,
            ..rules(Method::Similarity, 4, 3)
        };
        assert!(!decide(&strict, &reveals).resolved);
    }

    #[test]
    fn median_is_robust_to_an_outlier() {
        let reveals = [
            reveal(1, B256::ZERO, 70, 1),
            reveal(2, B256::ZERO, 72, 1),
            reveal(3, B256::ZERO, 1_000, 1),
            reveal(4, B256::ZERO, 68, 1),
            reveal(5, B256::ZERO, 74, 1),
        ];
        let o = decide(&rules(Method::Median, 5, 3), &reveals);
        assert_eq!(o.result, Some(1), "sorted: 68 70 72 74 1000");
        assert_eq!(o.agreeing, 0b11011, "within 5 of 72: 68, 70, 72, 74");
        assert_eq!(o.support, 4);
        assert!(o.resolved);
    }

    #[test]
    fn weighted_counts_reputation_and_missing_miners() {
        // Two light miners agree on 1, one heavy miner says 2.
        let reveals = [
            reveal(1, B256::ZERO, 0, 1),
            reveal(1, B256::ZERO, 0, 1),
            reveal(2, B256::ZERO, 0, 5),
        ];
        let mut r = rules(Method::Weighted, 3, 2);
        r.total_weight = 7;
        let o = decide(&r, &reveals);
        assert_eq!(o.agreeing, 0b100);
        assert_eq!(o.support, 1);
        // 5 of 7 >= 2 of 3.
        assert!(o.resolved);
        // With a fourth assigned miner of weight 3 that did not reveal: 5 of 10 < 2 of 3.
        r.assigned = 4;
        r.total_weight = 10;
        r.threshold = 3;
        assert!(!decide(&r, &reveals).resolved);
    }

    #[test]
    fn no_reveals_or_too_many_is_unresolved() {
        let r = rules(Method::Exact, 3, 1);
        assert!(!decide(&r, &[]).resolved);
        let many = [reveal(1, B256::ZERO, 0, 1); MAX_REVEALS + 1];
        assert_eq!(decide(&r, &many).result, None);
    }

    #[test]
    fn method_codes_round_trip() {
        for code in 0..4 {
            assert!(Method::from_code(code).is_some());
        }
        assert_eq!(Method::from_code(4), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn reveals() -> impl Strategy<Value = alloc::vec::Vec<Reveal>> {
            proptest::collection::vec(
                (0..3u8, 0..40u32, 0..100u64, 1..10u64)
                    .prop_map(|(o, f, s, w)| reveal(o, fp(f), s, w)),
                1..=7,
            )
        }

        fn method() -> impl Strategy<Value = Method> {
            (0..4u8).prop_map(|c| Method::from_code(c).unwrap())
        }

        proptest! {
            /// The result agrees with itself, support counts the agreeing set, and the
            /// threshold decides resolution.
            #[test]
            fn outcome_is_consistent(rs in reveals(), m in method(), t in 1..=7u8, radius in 0..40u32) {
                let n = rs.len() as u8;
                let total: u64 = rs.iter().map(|r| r.weight).sum();
                let rules = Rules { method: m, assigned: n, threshold: t.min(n), radius, tolerance: 10, total_weight: total };
                let o = decide(&rules, &rs);
                let result = o.result.unwrap();
                prop_assert!(o.agreeing & (1 << result) != 0);
                prop_assert!(u32::from(o.agreeing) < (1u32 << rs.len()));
                prop_assert_eq!(u32::from(o.support), o.agreeing.count_ones());
                if m != Method::Weighted {
                    prop_assert_eq!(o.resolved, o.support >= rules.threshold);
                }
                if m == Method::Exact {
                    // A plurality: no output hash has more reveals than the winner's.
                    for r in &rs {
                        let count = rs.iter().filter(|x| x.output_hash == r.output_hash).count();
                        prop_assert!(count <= usize::from(o.support));
                    }
                }
            }

            /// The order of the reveals does not change the result or who agrees.
            #[test]
            fn order_does_not_matter(rs in reveals(), m in method(), rot in 0..7usize) {
                let n = rs.len() as u8;
                let total: u64 = rs.iter().map(|r| r.weight).sum();
                let rules = Rules { method: m, assigned: n, threshold: 1, radius: 12, tolerance: 10, total_weight: total };
                let mut turned = rs.clone();
                turned.rotate_left(rot % rs.len());
                turned.reverse();
                let a = decide(&rules, &rs);
                let b = decide(&rules, &turned);
                let (ra, rb) = (rs[a.result.unwrap()], turned[b.result.unwrap()]);
                prop_assert_eq!((ra.output_hash, ra.fingerprint, ra.score), (rb.output_hash, rb.fingerprint, rb.score));
                let agreeing = |rs: &[Reveal], mask: u8| {
                    let mut v: alloc::vec::Vec<(B256, B256, u64, u64)> = members(mask)
                        .map(|i| (rs[i].output_hash, rs[i].fingerprint, rs[i].score, rs[i].weight))
                        .collect();
                    v.sort();
                    v
                };
                prop_assert_eq!(agreeing(&rs, a.agreeing), agreeing(&turned, b.agreeing));
                prop_assert_eq!(a.resolved, b.resolved);
            }
        }
    }
}
