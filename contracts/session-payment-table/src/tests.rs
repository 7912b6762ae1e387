//! Unit and property tests: the quote formula, its guarantees, and bounded delayed
//! parameter changes (invariant 7).

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::SolValue;
use cor_testkit::TestChain;
use proptest::prelude::*;

use super::*;

const TABLE: Address = address!("00000000000000000000000000000000000c0402");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const DELAY: u64 = 3_600;

fn setup() -> (TestChain, SessionPaymentTable) {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<SessionPaymentTable>(TABLE, &(OWNER, DELAY).abi_encode_params())
        .expect("constructor succeeds");
    chain.take_logs();
    let table = chain.at::<SessionPaymentTable>(TABLE);
    (chain, table)
}

fn cor(milli: u64) -> U256 {
    U256::from(milli) * U256::from(1_000_000_000_000_000u64)
}

/// Light, 1 000 tokens, Standard, N = 1, Exact, no depth, no rebate.
fn simple() -> TaskShape {
    TaskShape {
        model_class: 0,
        max_tokens: 1_000,
        sla_tier: 0,
        redundancy: 1,
        consensus: 0,
        validator_depth: 0,
        execution_depth: 0,
        quota_backed: false,
        payer_volume: 0,
    }
}

fn quote(t: &SessionPaymentTable, s: TaskShape) -> Result<(U256, U256, U256, U256), Error> {
    t.quote(
        s.model_class,
        s.max_tokens,
        s.sla_tier,
        s.redundancy,
        s.consensus,
        s.validator_depth,
        s.execution_depth,
        s.quota_backed,
        s.payer_volume,
    )
}

#[test]
fn constructor_sets_defaults_and_emits_one_event_per_param() {
    let chain = TestChain::new();
    chain
        .deploy::<SessionPaymentTable>(TABLE, &(OWNER, DELAY).abi_encode_params())
        .unwrap();
    let t = chain.at::<SessionPaymentTable>(TABLE);
    assert_eq!(t.owner(), OWNER);
    assert_eq!(t.param_delay(), DELAY);
    assert_eq!(t.param(param::BASE_PRICE_LIGHT), Ok(cor(10)));
    assert_eq!(t.param(param::SPLIT_MINERS_BPS), Ok(U256::from(8_000)));
    assert_eq!(
        chain.events::<ParamScheduled>().len(),
        usize::from(param::COUNT)
    );
}

#[test]
fn constructor_rejects_bad_delay_and_zero_owner() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<SessionPaymentTable>(TABLE, &(OWNER, 1u64).abi_encode_params())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(ParamDelayOutOfBounds {
            delay: 1,
            min: 60,
            max: 30 * 24 * 3600
        }))
    );
    let err = chain
        .deploy::<SessionPaymentTable>(TABLE, &(Address::ZERO, DELAY).abi_encode_params())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(OwnableInvalidOwner {
            owner: Address::ZERO
        }))
    );
}

#[test]
fn quote_of_the_simplest_task_is_base_plus_tokens() {
    let (_, t) = setup();
    // 0.01 COR base + 1 x 0.002 COR per started 1 000 tokens.
    let total = cor(12);
    let miners = total * U256::from(8_000) / U256::from(10_000);
    assert_eq!(
        quote(&t, simple()),
        Ok((total, miners, U256::ZERO, total - miners))
    );
}

#[test]
fn quote_follows_the_documented_formula() {
    let (_, t) = setup();
    let shape = TaskShape {
        model_class: 1,
        max_tokens: 2_500,
        sla_tier: 1,
        redundancy: 3,
        consensus: 1,
        validator_depth: 2,
        execution_depth: 1,
        quota_backed: true,
        payer_volume: 150,
    };
    // per miner: 0.05 + 3 x 0.01 = 0.08; x1.5 (Priority) = 0.12; x3 = 0.36; +5% = 0.378
    // + 2 x 0.02 + 1 x 0.01 = 0.428; rebate 20% quota + 5% volume = 25% -> 0.321
    let total = cor(321);
    let miners = total * U256::from(8_000) / U256::from(10_000);
    let validators = total * U256::from(1_000) / U256::from(10_000);
    assert_eq!(
        quote(&t, shape),
        Ok((total, miners, validators, total - miners - validators))
    );
}

#[test]
fn quote_rejects_each_bad_input() {
    let (_, t) = setup();
    let cases: [(TaskShape, Error); 8] = [
        (
            TaskShape {
                model_class: 3,
                ..simple()
            },
            InvalidModelClass { modelClass: 3 }.into(),
        ),
        (
            TaskShape {
                sla_tier: 3,
                ..simple()
            },
            InvalidSlaTier { slaTier: 3 }.into(),
        ),
        (
            TaskShape {
                redundancy: 0,
                ..simple()
            },
            InvalidRedundancy {
                n: 0,
                min: 1,
                max: 7,
            }
            .into(),
        ),
        (
            TaskShape {
                redundancy: 8,
                ..simple()
            },
            InvalidRedundancy {
                n: 8,
                min: 1,
                max: 7,
            }
            .into(),
        ),
        (
            TaskShape {
                consensus: 4,
                ..simple()
            },
            InvalidConsensusMethod { consensus: 4 }.into(),
        ),
        (
            TaskShape {
                validator_depth: 4,
                ..simple()
            },
            DepthTooLarge { depth: 4, max: 3 }.into(),
        ),
        (
            TaskShape {
                execution_depth: 9,
                ..simple()
            },
            DepthTooLarge { depth: 9, max: 3 }.into(),
        ),
        (
            TaskShape {
                max_tokens: 0,
                ..simple()
            },
            MaxTokensOutOfRange {
                maxTokens: 0,
                max: MAX_TOKENS,
            }
            .into(),
        ),
    ];
    for (shape, err) in cases {
        assert_eq!(quote(&t, shape), Err(err), "{shape:?}");
    }
    assert_eq!(
        quote(
            &t,
            TaskShape {
                max_tokens: MAX_TOKENS + 1,
                ..simple()
            }
        ),
        Err(MaxTokensOutOfRange {
            maxTokens: MAX_TOKENS + 1,
            max: MAX_TOKENS
        }
        .into())
    );
}

#[test]
fn splits_sum_to_ten_thousand_and_clamp_validators() {
    let (chain, mut t) = setup();
    assert_eq!(
        t.splits(),
        (U256::from(8_000), U256::from(1_000), U256::from(1_000))
    );
    // Raise miners to 9 000 then 9 500 and validators to 1 500: validators clamp to 500.
    t.schedule_param(param::SPLIT_MINERS_BPS, U256::from(9_000))
        .unwrap();
    t.schedule_param(param::SPLIT_VALIDATORS_BPS, U256::from(1_500))
        .unwrap();
    chain.advance(DELAY);
    t.schedule_param(param::SPLIT_MINERS_BPS, U256::from(9_500))
        .unwrap();
    chain.advance(DELAY);
    assert_eq!(t.splits(), (U256::from(9_500), U256::from(500), U256::ZERO));
    let (total, m, v, tr) = quote(
        &t,
        TaskShape {
            validator_depth: 1,
            ..simple()
        },
    )
    .unwrap();
    assert_eq!(m + v + tr, total);
    assert_eq!(tr, total - m - v);
}

#[test]
fn schedule_param_waits_for_its_delay_and_emits() {
    let (chain, mut t) = setup();
    let at = t.schedule_param(param::BASE_PRICE_LIGHT, cor(20)).unwrap();
    assert_eq!(at, chain.timestamp() + DELAY);
    assert_eq!(
        chain.events::<ParamScheduled>(),
        vec![ParamScheduled {
            id: param::BASE_PRICE_LIGHT,
            value: cor(20),
            effectiveAt: at
        }]
    );
    assert_eq!(t.param(param::BASE_PRICE_LIGHT), Ok(cor(10)));
    assert_eq!(t.pending_param(param::BASE_PRICE_LIGHT), Ok((cor(20), at)));
    chain.advance(DELAY - 1);
    assert_eq!(t.param(param::BASE_PRICE_LIGHT), Ok(cor(10)));
    chain.advance(1);
    assert_eq!(t.param(param::BASE_PRICE_LIGHT), Ok(cor(20)));
    assert_eq!(
        t.pending_param(param::BASE_PRICE_LIGHT),
        Ok((U256::ZERO, 0))
    );
}

#[test]
fn schedule_param_rejects_out_of_bounds_too_large_steps_unknown_ids_and_strangers() {
    let (chain, mut t) = setup();
    assert_eq!(
        t.schedule_param(param::TIER_PRIORITY_BPS, U256::from(9_999)),
        Err(ParamOutOfBounds {
            id: param::TIER_PRIORITY_BPS,
            value: U256::from(9_999),
            min: U256::from(10_000),
            max: U256::from(30_000)
        }
        .into())
    );
    assert_eq!(
        t.schedule_param(param::TIER_PRIORITY_BPS, U256::from(25_000)),
        Err(ParamStepTooLarge {
            id: param::TIER_PRIORITY_BPS,
            current: U256::from(15_000),
            value: U256::from(25_000),
            maxStep: U256::from(5_000)
        }
        .into())
    );
    assert_eq!(
        t.schedule_param(param::COUNT, U256::from(1)),
        Err(UnknownParam { id: param::COUNT }.into())
    );
    chain.set_sender(BOB);
    assert_eq!(
        t.schedule_param(param::TIER_PRIORITY_BPS, U256::from(16_000)),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
    assert!(chain.events::<ParamScheduled>().is_empty());
}

#[test]
fn cancel_param_drops_the_pending_change() {
    let (chain, mut t) = setup();
    t.schedule_param(param::QUOTA_REBATE_BPS, U256::from(2_500))
        .unwrap();
    t.cancel_param(param::QUOTA_REBATE_BPS).unwrap();
    assert_eq!(
        chain.events::<ParamCancelled>(),
        vec![ParamCancelled {
            id: param::QUOTA_REBATE_BPS
        }]
    );
    chain.advance(DELAY);
    assert_eq!(t.param(param::QUOTA_REBATE_BPS), Ok(U256::from(2_000)));
    assert_eq!(
        t.cancel_param(param::QUOTA_REBATE_BPS),
        Err(NoPendingParam {
            id: param::QUOTA_REBATE_BPS
        }
        .into())
    );
    assert_eq!(
        t.cancel_param(param::COUNT),
        Err(UnknownParam { id: param::COUNT }.into())
    );
    chain.set_sender(BOB);
    assert_eq!(
        t.cancel_param(param::QUOTA_REBATE_BPS),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
    assert_eq!(chain.events::<ParamCancelled>().len(), 1);
}

#[test]
fn param_views_reject_unknown_ids() {
    let (_, t) = setup();
    let unknown: Error = UnknownParam { id: 200 }.into();
    assert_eq!(t.param(200), Err(unknown));
    assert_eq!(t.pending_param(200), Err(UnknownParam { id: 200 }.into()));
    assert_eq!(t.param_spec(200), Err(UnknownParam { id: 200 }.into()));
    assert_eq!(
        t.param_spec(param::SPLIT_MINERS_BPS),
        Ok((U256::from(5_000), U256::from(9_500), U256::from(1_000)))
    );
}

#[test]
fn ownership_transfer_and_renounce() {
    let (chain, mut t) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        t.transfer_ownership(BOB),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
    chain.set_sender(OWNER);
    t.transfer_ownership(BOB).unwrap();
    assert_eq!(t.owner(), BOB);
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: OWNER,
            newOwner: BOB
        }]
    );
    assert_eq!(
        t.renounce_ownership(),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    chain.set_sender(BOB);
    assert_eq!(
        t.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    t.renounce_ownership().unwrap();
    assert_eq!(t.owner(), Address::ZERO);
}

#[test]
fn critical_never_costs_less_than_priority() {
    let (chain, mut t) = setup();
    // Walk Critical down to its floor while Priority rises: Critical's price follows Priority.
    t.schedule_param(param::TIER_CRITICAL_BPS, U256::from(15_000))
        .unwrap();
    t.schedule_param(param::TIER_PRIORITY_BPS, U256::from(20_000))
        .unwrap();
    chain.advance(DELAY);
    let priority = quote(
        &t,
        TaskShape {
            sla_tier: 1,
            ..simple()
        },
    )
    .unwrap()
    .0;
    let critical = quote(
        &t,
        TaskShape {
            sla_tier: 2,
            ..simple()
        },
    )
    .unwrap()
    .0;
    assert_eq!(priority, critical);
}

#[test]
fn volume_rebates_never_fall_as_volume_grows() {
    let (chain, mut t) = setup();
    // Tier 2 below tier 1 in both threshold and rebate: the contract uses the larger ones.
    t.schedule_param(param::VOLUME_TIER2_TASKS, U256::from(50))
        .unwrap();
    t.schedule_param(param::VOLUME_TIER2_REBATE_BPS, U256::from(100))
        .unwrap();
    chain.advance(DELAY);
    let mut last = U256::MAX;
    for volume in [0u64, 49, 50, 99, 100, 101, 10_000] {
        let total = quote(
            &t,
            TaskShape {
                payer_volume: volume,
                ..simple()
            },
        )
        .unwrap()
        .0;
        assert!(total <= last, "volume {volume}: {total} > {last}");
        last = total;
    }
}

#[test]
fn validators_part_goes_to_the_treasury_without_validators() {
    let (_, t) = setup();
    let (total, miners, validators, treasury) = quote(&t, simple()).unwrap();
    assert_eq!(validators, U256::ZERO);
    // Treasury keeps its own 10 % and the validators' 10 %.
    assert_eq!(treasury, total - miners);
    assert_eq!(treasury, total * U256::from(2_000) / U256::from(10_000));
}

#[test]
fn quote_fits_with_every_parameter_at_its_maximum() {
    let (chain, mut t) = setup();
    // Walk every parameter up to its hard maximum, one allowed step per delay.
    for _ in 0..12 {
        for id in 0..param::COUNT {
            let (s, _) = spec(id).unwrap();
            let current = t.param(id).unwrap();
            let next = current.saturating_add(s.max_step).min(s.max);
            if next != current {
                t.schedule_param(id, next).unwrap();
            }
        }
        chain.advance(DELAY);
    }
    for id in 0..param::COUNT {
        assert_eq!(t.param(id), Ok(spec(id).unwrap().0.max), "param {id}");
    }
    let largest = TaskShape {
        model_class: 2,
        max_tokens: MAX_TOKENS,
        sla_tier: 2,
        redundancy: MAX_REDUNDANCY,
        consensus: 1,
        validator_depth: MAX_DEPTH,
        execution_depth: MAX_DEPTH,
        quota_backed: false,
        payer_volume: 0,
    };
    // per miner: 1 000 + 132 x 1 000 = 133 000 COR; x5 (Critical) x7 (N) x1.5 (surcharge)
    // = 6 982 500; + 3 x 1 000 + 3 x 1 000 = 6 988 500 COR: far from 2^256, so with
    // bounded parameters `PriceOverflow` is a guard, never reached.
    let total = U256::from(6_988_500u64) * U256::from(10u64).pow(U256::from(18u64));
    let (got, m, v, tr) = quote(&t, largest).unwrap();
    assert_eq!(got, total);
    // Splits at their maxima: miners 9 500, validators clamped to 500, treasury 0.
    assert_eq!(m, total * U256::from(9_500) / U256::from(10_000));
    assert_eq!(v, total * U256::from(500) / U256::from(10_000));
    assert_eq!(tr, U256::ZERO);
}

#[test]
fn price_overflow_is_a_typed_error_not_a_panic() {
    let overflow: Error = PriceOverflow {}.into();
    assert_eq!(mul(U256::MAX, U256::from(2)), Err(overflow));
    assert_eq!(add(U256::MAX, U256::from(1)), Err(PriceOverflow {}.into()));
    assert_eq!(
        scale(U256::MAX, U256::from(10_001)),
        Err(PriceOverflow {}.into())
    );
    assert_eq!(scale(U256::from(3), U256::from(5_000)), Ok(U256::from(1)));
}

mod abi {
    //! The interface wallets and SessionQueue call, through the real ABI router.
    use alloy_sol_types::{SolCall, SolError};

    use super::*;

    alloy_sol_types::sol! {
        function quote(uint8 modelClass, uint32 maxTokens, uint8 slaTier, uint8 redundancy, uint8 consensus, uint8 validatorDepth, uint8 executionDepth, bool quotaBacked, uint64 payerVolume) external view returns (uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart);
        function scheduleParam(uint8 id, uint256 value) external returns (uint64 effectiveAt);
        function splits() external view returns (uint256 minersBps, uint256 validatorsBps, uint256 treasuryBps);
    }

    fn call(s: TaskShape) -> quoteCall {
        quoteCall {
            modelClass: s.model_class,
            maxTokens: s.max_tokens,
            slaTier: s.sla_tier,
            redundancy: s.redundancy,
            consensus: s.consensus,
            validatorDepth: s.validator_depth,
            executionDepth: s.execution_depth,
            quotaBacked: s.quota_backed,
            payerVolume: s.payer_volume,
        }
    }

    #[test]
    fn quote_through_the_router_matches_the_direct_call_and_reverts_typed() {
        let (chain, t) = setup();
        let shape = TaskShape {
            redundancy: 3,
            consensus: 3,
            validator_depth: 1,
            ..simple()
        };
        let out = chain.call(BOB, TABLE, call(shape).abi_encode()).unwrap();
        let r = quoteCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            Ok((r.total, r.minersPart, r.validatorsPart, r.treasuryPart)),
            quote(&t, shape)
        );
        let err = chain
            .call(
                BOB,
                TABLE,
                call(TaskShape {
                    consensus: 4,
                    ..shape
                })
                .abi_encode(),
            )
            .unwrap_err();
        assert_eq!(
            InvalidConsensusMethod::abi_decode(&err).unwrap(),
            InvalidConsensusMethod { consensus: 4 }
        );
    }

    #[test]
    fn schedule_param_through_the_router_is_owner_only() {
        let (chain, _) = setup();
        let schedule = scheduleParamCall {
            id: param::SPLIT_VALIDATORS_BPS,
            value: U256::from(1_500),
        };
        let err = chain.call(BOB, TABLE, schedule.abi_encode()).unwrap_err();
        assert_eq!(
            OwnableUnauthorizedAccount::abi_decode(&err).unwrap(),
            OwnableUnauthorizedAccount { account: BOB }
        );
        let out = chain.call(OWNER, TABLE, schedule.abi_encode()).unwrap();
        assert_eq!(
            scheduleParamCall::abi_decode_returns(&out).unwrap(),
            chain.timestamp() + DELAY
        );
        chain.advance(DELAY);
        let out = chain.call(BOB, TABLE, splitsCall {}.abi_encode()).unwrap();
        let r = splitsCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            (r.minersBps, r.validatorsBps, r.treasuryBps),
            (U256::from(8_000), U256::from(1_500), U256::from(500))
        );
    }
}

fn shape() -> impl Strategy<Value = TaskShape> {
    (
        0..3u8,
        1..=MAX_TOKENS,
        0..3u8,
        1..=MAX_REDUNDANCY,
        0..4u8,
        0..=MAX_DEPTH,
        0..=MAX_DEPTH,
        any::<bool>(),
        0..2_000u64,
    )
        .prop_map(|(c, m, s, n, k, v, e, q, vol)| TaskShape {
            model_class: c,
            max_tokens: m,
            sla_tier: s,
            redundancy: n,
            consensus: k,
            validator_depth: v,
            execution_depth: e,
            quota_backed: q,
            payer_volume: vol,
        })
}

/// The same task with one of N, validator depth, execution depth, SLA tier or
/// `maxTokens` raised (staying valid).
fn bigger(s: TaskShape, which: usize) -> TaskShape {
    let mut b = s;
    match which {
        0 => b.redundancy = (s.redundancy + 1).min(MAX_REDUNDANCY),
        1 => b.validator_depth = (s.validator_depth + 1).min(MAX_DEPTH),
        2 => b.execution_depth = (s.execution_depth + 1).min(MAX_DEPTH),
        3 => b.sla_tier = (s.sla_tier + 1).min(2),
        _ => b.max_tokens = s.max_tokens.saturating_add(1_000).min(MAX_TOKENS),
    }
    b
}

/// A random admin action: schedule (param id, value as a fraction of the bounds) or
/// cancel, by the owner or a stranger, or time passing. Ids run past the last one.
#[derive(Clone, Debug)]
enum Op {
    Schedule(Address, u8, u64),
    Cancel(Address, u8),
    Advance(u64),
}

fn caller() -> impl Strategy<Value = Address> {
    prop_oneof![5 => Just(OWNER), 1 => Just(BOB)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (caller(), 0..param::COUNT + 2, 0..=10_000u64).prop_map(|(c, i, f)| Op::Schedule(c, i, f)),
        1 => (caller(), 0..param::COUNT + 2).prop_map(|(c, i)| Op::Cancel(c, i)),
        3 => (0..2 * DELAY).prop_map(Op::Advance),
    ]
}

/// A value spread over (and a little beyond) the parameter's bounds.
fn value_for(id: u8, fraction: u64) -> U256 {
    match spec(id) {
        Some((s, _)) => {
            let span = s.max - s.min + s.max_step;
            (s.min + span * U256::from(fraction) / U256::from(10_000u64))
                .saturating_sub(s.max_step / U256::from(2u64))
        }
        None => U256::from(fraction),
    }
}

/// The model of one parameter: value in effect and the pending change.
#[derive(Clone, Copy)]
struct Model {
    current: U256,
    pending: Option<(U256, u64)>,
}

impl Model {
    fn at(&self, now: u64) -> U256 {
        match self.pending {
            Some((v, at)) if now >= at => v,
            _ => self.current,
        }
    }

    /// What `pendingParam` should answer at `now`.
    fn waiting(&self, now: u64) -> (U256, u64) {
        match self.pending {
            Some((v, at)) if now < at => (v, at),
            _ => (U256::ZERO, 0),
        }
    }
}

/// What `scheduleParam(id, value)` from `caller` must return, by the model.
fn expected_schedule(
    models: &[Model],
    caller: Address,
    id: u8,
    value: U256,
    now: u64,
) -> Result<u64, Error> {
    if caller != OWNER {
        return Err(OwnableUnauthorizedAccount { account: caller }.into());
    }
    let Some((s, _)) = spec(id) else {
        return Err(UnknownParam { id }.into());
    };
    if value < s.min || value > s.max {
        return Err(ParamOutOfBounds {
            id,
            value,
            min: s.min,
            max: s.max,
        }
        .into());
    }
    let current = models[usize::from(id)].at(now);
    let step = if value > current {
        value - current
    } else {
        current - value
    };
    if step > s.max_step {
        return Err(ParamStepTooLarge {
            id,
            current,
            value,
            maxStep: s.max_step,
        }
        .into());
    }
    Ok(now + DELAY)
}

/// What `cancelParam(id)` from `caller` must return, by the model.
fn expected_cancel(models: &[Model], caller: Address, id: u8, now: u64) -> Result<(), Error> {
    if caller != OWNER {
        return Err(OwnableUnauthorizedAccount { account: caller }.into());
    }
    if spec(id).is_none() {
        return Err(UnknownParam { id }.into());
    }
    if models[usize::from(id)].waiting(now).1 == 0 {
        return Err(NoPendingParam { id }.into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// (a) and (b) at the default parameters.
    #[test]
    fn quote_is_monotone_and_parts_sum_to_total(s in shape(), which in 0..5usize) {
        let (_, t) = setup();
        let (total, m, v, tr) = quote(&t, s).unwrap();
        prop_assert_eq!(m + v + tr, total);
        let b = bigger(s, which);
        let more = quote(&t, b).unwrap().0;
        prop_assert!(more >= total, "{:?} -> {:?}: {} < {}", s, b, more, total);
    }

    /// (c) invariant 7, plus (a) and (b) under whatever parameters the admin reaches.
    #[test]
    fn params_stay_in_bounds_and_wait_their_delay(
        ops in proptest::collection::vec(op(), 1..40),
        probe in shape(),
        which in 0..5usize,
    ) {
        let (chain, mut t) = setup();
        let mut model: Vec<Model> = (0..param::COUNT)
            .map(|id| Model { current: t.param(id).unwrap(), pending: None })
            .collect();
        for op in ops {
            let now = chain.timestamp();
            let logs_before = chain.logs().len();
            let accepted = match op {
                Op::Schedule(caller, id, f) => {
                    let value = value_for(id, f);
                    chain.set_sender(caller);
                    let result = chain.tx(|| t.schedule_param(id, value));
                    let expected = expected_schedule(&model, caller, id, value, now);
                    prop_assert_eq!(&result, &expected, "{:?} value {}", op, value);
                    if let Ok(at) = expected {
                        let m = &mut model[usize::from(id)];
                        m.current = m.at(now);
                        m.pending = Some((value, at));
                        prop_assert_eq!(
                            chain.events::<ParamScheduled>().pop(),
                            Some(ParamScheduled { id, value, effectiveAt: at })
                        );
                    }
                    expected.is_ok()
                }
                Op::Cancel(caller, id) => {
                    chain.set_sender(caller);
                    let result = chain.tx(|| t.cancel_param(id));
                    let expected = expected_cancel(&model, caller, id, now);
                    prop_assert_eq!(&result, &expected, "{:?}", op);
                    if expected.is_ok() {
                        model[usize::from(id)].pending = None;
                        prop_assert_eq!(
                            chain.events::<ParamCancelled>().pop(),
                            Some(ParamCancelled { id })
                        );
                    }
                    expected.is_ok()
                }
                Op::Advance(secs) => {
                    chain.advance(secs);
                    false
                }
            };
            chain.set_sender(OWNER);
            // One event per accepted call; a rejected one (or time passing) emits nothing.
            prop_assert_eq!(chain.logs().len(), logs_before + usize::from(accepted));
            let now = chain.timestamp();
            for id in 0..param::COUNT {
                let (s, _) = spec(id).unwrap();
                let m = model[usize::from(id)];
                let value = t.param(id).unwrap();
                prop_assert_eq!(value, m.at(now), "param {}", id);
                prop_assert!(value >= s.min && value <= s.max, "param {} = {}", id, value);
                prop_assert_eq!(t.pending_param(id), Ok(m.waiting(now)), "pending {}", id);
            }
            let (total, m, v, tr) = quote(&t, probe).unwrap();
            prop_assert_eq!(m + v + tr, total);
            let more = quote(&t, bigger(probe, which)).unwrap().0;
            prop_assert!(more >= total, "{:?} ({}): {} < {}", probe, which, more, total);
            let (mb, vb, tb) = t.splits();
            prop_assert_eq!(mb + vb + tb, U256::from(10_000u64));
        }
    }
}
