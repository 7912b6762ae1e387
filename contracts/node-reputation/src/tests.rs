//! Unit tests: construction, the writer role, every outcome of `recordTask` and its
//! errors, the EWMA, streaks, promotion through all levels, the demotion rule, the views,
//! administration and the ABI router; property tests for the record's consistency and
//! the one-level-per-task rule.
//!
//! Events go through the untyped word encoder, so the tests decode each with its `sol!`
//! type: that pins the encoding.

use alloy_primitives::{address, Address};
use alloy_sol_types::SolValue;
use cor_testkit::TestChain;

use super::*;

const REP: Address = address!("00000000000000000000000000000000000c0501");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const QUEUE: Address = address!("0000000000000000000000000000000000005e00");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");

const T0: u64 = 1_700_000_000;

/// The three consistent outcomes and the miss without commitment.
const AGREED: (bool, bool, bool) = (true, true, true);
const DISAGREED: (bool, bool, bool) = (true, true, false);
const NO_REVEAL: (bool, bool, bool) = (true, false, false);
const NO_COMMIT: (bool, bool, bool) = (false, false, false);

struct Env {
    chain: TestChain,
    rep: NodeReputation,
}

impl Env {
    fn record(&mut self, node: Address, outcome: (bool, bool, bool)) -> Result<u8, Error> {
        self.chain.set_sender(QUEUE);
        let rep = &mut self.rep;
        let (c, r, a) = outcome;
        self.chain.tx(|| rep.record_task(node, c, r, a))
    }

    fn record_n(&mut self, node: Address, outcome: (bool, bool, bool), n: usize) -> u8 {
        let mut level = 0;
        for _ in 0..n {
            level = self.record(node, outcome).unwrap();
        }
        level
    }

    fn ewma(&self, node: Address) -> u16 {
        self.rep.reputation(node).6
    }

    fn streak(&self, node: Address) -> u32 {
        self.rep.reputation(node).7
    }
}

/// NodeReputation deployed by OWNER with QUEUE as SessionQueue; logs cleared.
fn setup() -> Env {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<NodeReputation>(REP, &OWNER.abi_encode())
        .expect("constructor succeeds");
    let mut rep = chain.at::<NodeReputation>(REP);
    rep.set_session_queue(QUEUE).unwrap();
    chain.take_logs();
    Env { chain, rep }
}

/// A node brought to level 10 with an unbroken streak (EWMA 10 000).
fn at_level_ten(env: &mut Env, node: Address) {
    let level = env.record_n(node, AGREED, LEVELS[10].min_tasks as usize);
    assert_eq!(level, 10);
    assert_eq!(env.ewma(node), FULL_RATE_BPS);
    env.chain.take_logs();
}

// ---- Construction and the writer role --------------------------------------------------

#[test]
fn constructor_sets_owner_and_leaves_the_writer_unset() {
    let chain = TestChain::new();
    chain.set_sender(QUEUE); // the deployer is not the admin
    chain
        .deploy::<NodeReputation>(REP, &OWNER.abi_encode())
        .unwrap();
    let rep = chain.at::<NodeReputation>(REP);
    assert_eq!(rep.owner(), OWNER);
    assert_eq!(rep.session_queue(), Address::ZERO);
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: OWNER
        }]
    );
}

#[test]
fn constructor_rejects_the_zero_owner() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<NodeReputation>(REP, &Address::ZERO.abi_encode())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(OwnableInvalidOwner {
            owner: Address::ZERO
        }))
    );
}

#[test]
fn set_session_queue_is_owner_only_and_emits_role_set() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.rep.set_session_queue(ALICE),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
    env.chain.set_sender(OWNER);
    env.rep.set_session_queue(BOB).unwrap();
    assert_eq!(env.rep.session_queue(), BOB);
    assert_eq!(
        env.chain.events::<RoleSet>(),
        vec![RoleSet {
            role: SESSION_QUEUE_ROLE,
            account: BOB
        }]
    );
    // The previous writer is out.
    assert_eq!(
        env.record(ALICE, AGREED),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: QUEUE
        }
        .into())
    );
}

// ---- recordTask ------------------------------------------------------------------------

#[test]
fn record_task_rejects_callers_other_than_the_session_queue() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.rep.record_task(ALICE, true, true, true),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
    assert_eq!(env.rep.reputation(ALICE).0, 0);
}

#[test]
fn record_task_with_the_role_unset_rejects_everyone() {
    let mut env = setup();
    env.chain.set_sender(OWNER);
    env.rep.set_session_queue(Address::ZERO).unwrap();
    env.chain.set_sender(Address::ZERO);
    assert!(matches!(
        env.rep.record_task(ALICE, true, true, true),
        Err(Error::UnauthorizedCaller(_))
    ));
}

#[test]
fn record_task_rejects_inconsistent_outcomes() {
    let mut env = setup();
    for (c, r, a) in [
        (false, true, false),
        (false, true, true),
        (true, false, true),
        (false, false, true),
    ] {
        assert_eq!(
            env.record(ALICE, (c, r, a)),
            Err(InconsistentOutcome {
                node: ALICE,
                committed: c,
                revealed: r,
                agreed: a
            }
            .into())
        );
    }
    assert_eq!(env.rep.reputation(ALICE).0, 0);
    assert!(env.chain.logs().is_empty());
}

#[test]
fn record_task_counts_each_outcome() {
    let mut env = setup();
    env.record(ALICE, AGREED).unwrap();
    env.record(ALICE, DISAGREED).unwrap();
    env.record(ALICE, NO_REVEAL).unwrap();
    env.record(ALICE, NO_COMMIT).unwrap();
    env.record(ALICE, AGREED).unwrap();
    let (assigned, committed, revealed, agreed, disagreed, missed, _, streak, _, level) =
        env.rep.reputation(ALICE);
    assert_eq!(
        (assigned, committed, revealed, agreed, disagreed, missed),
        (5, 4, 3, 2, 1, 2)
    );
    assert_eq!(streak, 1);
    assert_eq!(level, 0);
    // Another node's record is separate.
    assert_eq!(env.rep.reputation(BOB).0, 0);
}

#[test]
fn record_task_emits_task_recorded_with_the_new_rate_streak_and_level() {
    let mut env = setup();
    assert_eq!(env.record(ALICE, AGREED), Ok(0));
    env.record(ALICE, DISAGREED).unwrap();
    let events = env.chain.events::<TaskRecorded>();
    assert_eq!(
        events,
        vec![
            TaskRecorded {
                node: ALICE,
                committed: true,
                revealed: true,
                agreed: true,
                ewmaBps: 1_250,
                streak: 1,
                level: 0
            },
            TaskRecorded {
                node: ALICE,
                committed: true,
                revealed: true,
                agreed: false,
                ewmaBps: 1_250 - 157,
                streak: 0,
                level: 0
            },
        ]
    );
    assert!(env.chain.events::<LevelChanged>().is_empty());
    assert!(env.chain.logs().iter().all(|l| l.address == REP));
}

#[test]
fn last_active_moves_only_when_the_node_committed() {
    let mut env = setup();
    env.record(ALICE, NO_REVEAL).unwrap();
    assert_eq!(env.rep.reputation(ALICE).8, T0);
    env.chain.advance(100);
    env.record(ALICE, NO_COMMIT).unwrap();
    assert_eq!(env.rep.reputation(ALICE).8, T0);
    env.chain.advance(100);
    env.record(ALICE, DISAGREED).unwrap();
    assert_eq!(env.rep.reputation(ALICE).8, T0 + 200);
}

#[test]
fn streak_counts_consecutive_agreements_and_resets_on_anything_else() {
    let mut env = setup();
    for miss in [DISAGREED, NO_REVEAL, NO_COMMIT] {
        env.record_n(ALICE, AGREED, 4);
        assert_eq!(env.streak(ALICE), 4);
        env.record(ALICE, miss).unwrap();
        assert_eq!(env.streak(ALICE), 0);
    }
}

// ---- The EWMA --------------------------------------------------------------------------

#[test]
fn ewma_moves_an_eighth_of_the_way_rounded_towards_the_sample() {
    assert_eq!(next_ewma(0, true), 1_250);
    assert_eq!(next_ewma(1_250, true), 1_250 + 1_094);
    assert_eq!(next_ewma(10_000, false), 8_750);
    assert_eq!(next_ewma(8_750, false), 8_750 - 1_094);
    // Rounding away from the current value reaches both ends.
    assert_eq!(next_ewma(9_999, true), 10_000);
    assert_eq!(next_ewma(10_000, true), 10_000);
    assert_eq!(next_ewma(1, false), 0);
    assert_eq!(next_ewma(0, false), 0);
    // Out-of-range input is clamped, never overflows.
    assert_eq!(next_ewma(u16::MAX, true), 10_000);
}

#[test]
fn ewma_of_a_node_that_always_agrees_reaches_full_rate() {
    let mut env = setup();
    let mut expected = 0u16;
    let mut rates = Vec::new();
    for _ in 0..80 {
        env.record(ALICE, AGREED).unwrap();
        expected = next_ewma(expected, true);
        assert_eq!(env.ewma(ALICE), expected);
        rates.push(expected);
    }
    assert!(rates.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*rates.last().unwrap(), FULL_RATE_BPS);
    // The figures the level table is built on.
    assert!((4_800..5_000).contains(&rates[4]));
    assert!((7_300..7_500).contains(&rates[9]));
    assert!((9_300..9_400).contains(&rates[19]));
}

#[test]
fn ewma_of_misses_falls_to_zero() {
    let mut env = setup();
    env.record_n(ALICE, AGREED, 60);
    for outcome in [DISAGREED, NO_REVEAL, NO_COMMIT]
        .into_iter()
        .cycle()
        .take(90)
    {
        let before = env.ewma(ALICE);
        env.record(ALICE, outcome).unwrap();
        assert_eq!(env.ewma(ALICE), next_ewma(before, false));
    }
    assert_eq!(env.ewma(ALICE), 0);
}

// ---- Levels ----------------------------------------------------------------------------

#[test]
fn level_table_is_monotone_and_reachable() {
    for pair in LEVELS.windows(2) {
        assert!(pair[0].min_tasks < pair[1].min_tasks);
        assert!(pair[0].min_rate_bps < pair[1].min_rate_bps);
        assert!(pair[0].min_streak < pair[1].min_streak);
        assert!(pair[1].min_rate_bps <= FULL_RATE_BPS);
        // A streak can only be as long as the tasks recorded.
        assert!(u64::from(pair[1].min_streak) <= pair[1].min_tasks);
    }
    assert_eq!(LEVELS[0], req(0, 0, 0));
}

#[test]
fn level_requirement_reports_the_table_and_rejects_levels_above_ten() {
    let env = setup();
    for (level, r) in (0u8..).zip(LEVELS) {
        assert_eq!(
            env.rep.level_requirement(level),
            Ok((r.min_tasks, r.min_rate_bps, r.min_streak))
        );
    }
    assert_eq!(env.rep.level_requirement(10), Ok((3_200, 9_500, 50)));
    for level in [11, 200, u8::MAX] {
        assert_eq!(
            env.rep.level_requirement(level),
            Err(InvalidLevel { level }.into())
        );
    }
}

#[test]
fn first_promotion_needs_tasks_rate_and_streak() {
    let mut env = setup();
    // 4 agreed tasks: streak 4 and rate ~4 100 but only 4 tasks.
    assert_eq!(env.record_n(ALICE, AGREED, 4), 0);
    assert!(env.ewma(ALICE) >= LEVELS[1].min_rate_bps);
    assert_eq!(env.record(ALICE, AGREED), Ok(1));
    assert_eq!(
        env.chain.events::<LevelChanged>(),
        vec![LevelChanged {
            node: ALICE,
            oldLevel: 0,
            newLevel: 1
        }]
    );
    assert_eq!(env.rep.level_of(ALICE), 1);

    // Enough tasks and rate but a broken streak: no promotion until the streak is back.
    let mut env = setup();
    env.record_n(BOB, AGREED, 10);
    env.record(BOB, NO_COMMIT).unwrap();
    // BOB reached level 2 after 10 agreements (rate ~7 400, streak 10).
    assert_eq!(env.rep.level_of(BOB), 2);
    // Level 2 needs 10 tasks, a rate of 5 000 and a streak of 5: after a break, tasks and
    // rate are there at once but the streak has to be rebuilt.
    let mut env = setup();
    assert_eq!(env.record_n(BOB, AGREED, 9), 1);
    env.record(BOB, DISAGREED).unwrap();
    assert_eq!(env.record_n(BOB, AGREED, 4), 1);
    assert!(env.ewma(BOB) >= LEVELS[2].min_rate_bps);
    assert_eq!(env.streak(BOB), 4);
    assert_eq!(env.record(BOB, AGREED), Ok(2));
}

#[test]
fn a_perfect_node_climbs_one_level_at_a_time_to_ten() {
    let mut env = setup();
    let mut level = 0u8;
    for task in 1..=3_300u64 {
        let new = env.record(ALICE, AGREED).unwrap();
        assert!(new == level || new == level + 1);
        if new == level + 1 {
            // Promoted exactly when the requirements were first met.
            let r = LEVELS[usize::from(new)];
            assert!(task >= r.min_tasks);
            assert!(env.ewma(ALICE) >= r.min_rate_bps);
        }
        level = new;
    }
    assert_eq!(level, MAX_LEVEL);
    let changes = env.chain.events::<LevelChanged>();
    assert_eq!(changes.len(), 10);
    for (i, c) in changes.iter().enumerate() {
        assert_eq!((c.oldLevel, c.newLevel), (i as u8, i as u8 + 1));
    }
    // The higher levels are gated by the task count.
    let (assigned, ..) = env.rep.reputation(ALICE);
    assert_eq!(assigned, 3_300);
}

#[test]
fn one_miss_does_not_demote_a_level_ten_node() {
    for miss in [DISAGREED, NO_REVEAL, NO_COMMIT] {
        let mut env = setup();
        at_level_ten(&mut env, ALICE);
        assert_eq!(env.record(ALICE, miss), Ok(10));
        assert_eq!(env.ewma(ALICE), 8_750);
        assert!(env.chain.events::<LevelChanged>().is_empty());
    }
}

#[test]
fn consecutive_misses_demote_one_level_per_task() {
    let mut env = setup();
    at_level_ten(&mut env, ALICE);
    let mut levels = Vec::new();
    for _ in 0..12 {
        levels.push(env.record(ALICE, NO_REVEAL).unwrap());
    }
    // 8 750 keeps 10; 7 656 < 8 000 drops to 9; then one level per miss while the rate
    // is under the floor of the current level.
    assert_eq!(levels[0], 10);
    assert_eq!(levels[1], 9);
    for w in levels.windows(2) {
        assert!(w[1] == w[0] || w[1] + 1 == w[0]);
    }
    assert!(levels[11] < 5);
    let changes = env.chain.events::<LevelChanged>();
    assert!(changes.iter().all(|c| c.oldLevel == c.newLevel + 1));
}

#[test]
fn demotion_follows_the_margin_rule() {
    // At level 10 (floor 9 500 - 1 500 = 8 000).
    assert_eq!(next_level(10, 5_000, 8_000, 0, false), 10);
    assert_eq!(next_level(10, 5_000, 7_999, 0, false), 9);
    // Level 0 never goes lower.
    assert_eq!(next_level(0, 10, 0, 0, false), 0);
    // Level 1's floor is 2 500.
    assert_eq!(next_level(1, 10, 2_500, 0, false), 1);
    assert_eq!(next_level(1, 10, 2_499, 0, false), 0);
    // An agreed task never demotes, even with a low rate.
    assert_eq!(next_level(10, 5_000, 0, 1, true), 10);
    // Level 10 is the top.
    assert_eq!(next_level(10, u64::MAX, 10_000, u32::MAX, true), 10);
    assert_eq!(next_level(u8::MAX, u64::MAX, 10_000, u32::MAX, true), 10);
}

#[test]
fn recovering_after_a_demotion_needs_the_streak_again() {
    let mut env = setup();
    at_level_ten(&mut env, ALICE);
    env.record_n(ALICE, NO_REVEAL, 2);
    assert_eq!(env.rep.level_of(ALICE), 9);
    // Rate climbs back above 9 500 within ~15 tasks, but level 10 needs a streak of 50.
    assert_eq!(env.record_n(ALICE, AGREED, 49), 9);
    assert_eq!(env.record(ALICE, AGREED), Ok(10));
}

// ---- Views -----------------------------------------------------------------------------

#[test]
fn unknown_nodes_have_level_zero_weight_one_and_an_empty_record() {
    let env = setup();
    assert_eq!(env.rep.level_of(BOB), 0);
    assert_eq!(env.rep.vote_weight(BOB), 1);
    assert_eq!(env.rep.reputation(BOB), (0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}

#[test]
fn vote_weight_is_one_plus_level() {
    let mut env = setup();
    let mut seen = Vec::new();
    for _ in 0..3_200 {
        let level = env.record(ALICE, AGREED).unwrap();
        assert_eq!(env.rep.vote_weight(ALICE), 1 + u64::from(level));
        if seen.last() != Some(&level) {
            seen.push(level);
        }
    }
    assert_eq!(seen, (0..=10).collect::<Vec<u8>>());
    assert_eq!(env.rep.vote_weight(ALICE), 11);
}

// ---- Administration --------------------------------------------------------------------

#[test]
fn ownership_transfers_and_renounces() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.rep.transfer_ownership(ALICE),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
    env.chain.set_sender(OWNER);
    assert_eq!(
        env.rep.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    env.rep.transfer_ownership(ALICE).unwrap();
    assert_eq!(env.rep.owner(), ALICE);
    assert!(env.rep.set_session_queue(BOB).is_err());
    env.chain.set_sender(ALICE);
    env.rep.renounce_ownership().unwrap();
    assert_eq!(env.rep.owner(), Address::ZERO);
    assert_eq!(
        env.chain.events::<OwnershipTransferred>(),
        vec![
            OwnershipTransferred {
                previousOwner: OWNER,
                newOwner: ALICE
            },
            OwnershipTransferred {
                previousOwner: ALICE,
                newOwner: Address::ZERO
            }
        ]
    );
    assert_eq!(
        env.rep.set_session_queue(BOB),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

// ---- The ABI router --------------------------------------------------------------------

#[test]
fn calls_through_the_abi_router_encode_the_interface_session_queue_uses() {
    use alloy_sol_types::{SolCall, SolError};
    alloy_sol_types::sol! {
        function recordTask(address node, bool committed, bool revealed, bool agreed) external returns (uint8 level);
        function levelOf(address node) external view returns (uint8);
        function voteWeight(address node) external view returns (uint64);
        function reputation(address node) external view returns (uint64, uint64, uint64, uint64, uint64, uint64, uint16, uint32, uint64, uint8);
        function levelRequirement(uint8 level) external view returns (uint64, uint16, uint32);
    }
    // The selectors SessionQueue and wallets call.
    assert_eq!(recordTaskCall::SELECTOR, [0x99, 0x2a, 0x07, 0x90]);
    assert_eq!(levelOfCall::SELECTOR, [0x5c, 0x13, 0x8c, 0x9d]);
    assert_eq!(voteWeightCall::SELECTOR, [0x7e, 0xad, 0xeb, 0xfe]);
    let env = setup();
    for _ in 0..5 {
        let call = recordTaskCall {
            node: ALICE,
            committed: true,
            revealed: true,
            agreed: true,
        };
        let out = env.chain.call(QUEUE, REP, call.abi_encode()).unwrap();
        let _ = recordTaskCall::abi_decode_returns(&out).unwrap();
    }
    let out = env
        .chain
        .call(BOB, REP, levelOfCall { node: ALICE }.abi_encode())
        .unwrap();
    assert_eq!(levelOfCall::abi_decode_returns(&out).unwrap(), 1);
    let out = env
        .chain
        .call(BOB, REP, voteWeightCall { node: ALICE }.abi_encode())
        .unwrap();
    assert_eq!(voteWeightCall::abi_decode_returns(&out).unwrap(), 2);
    let out = env
        .chain
        .call(BOB, REP, reputationCall { node: ALICE }.abi_encode())
        .unwrap();
    let r = reputationCall::abi_decode_returns(&out).unwrap();
    assert_eq!((r._0, r._3, r._7, r._8, r._9), (5, 5, 5, T0, 1));
    let out = env
        .chain
        .call(BOB, REP, levelRequirementCall { level: 3 }.abi_encode())
        .unwrap();
    let r = levelRequirementCall::abi_decode_returns(&out).unwrap();
    assert_eq!((r._0, r._1, r._2), (25, 6_000, 8));
    let err = env
        .chain
        .call(
            BOB,
            REP,
            recordTaskCall {
                node: ALICE,
                committed: false,
                revealed: true,
                agreed: false,
            }
            .abi_encode(),
        )
        .unwrap_err();
    assert_eq!(
        UnauthorizedCaller::abi_decode(&err).unwrap(),
        UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: BOB
        }
    );
    let err = env
        .chain
        .call(
            QUEUE,
            REP,
            recordTaskCall {
                node: ALICE,
                committed: false,
                revealed: true,
                agreed: false,
            }
            .abi_encode(),
        )
        .unwrap_err();
    assert_eq!(
        InconsistentOutcome::abi_decode(&err).unwrap(),
        InconsistentOutcome {
            node: ALICE,
            committed: false,
            revealed: true,
            agreed: false
        }
    );
}

mod properties {
    //! The record stays consistent and levels move one step at a time by the documented
    //! rules over random outcome sequences.
    use proptest::prelude::*;

    use super::*;

    fn outcome() -> impl Strategy<Value = (bool, bool, bool)> {
        prop_oneof![
            12 => Just(AGREED),
            1 => Just(DISAGREED),
            1 => Just(NO_REVEAL),
            1 => Just(NO_COMMIT),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn record_stays_consistent_and_levels_move_by_the_rules(
            outcomes in proptest::collection::vec(outcome(), 1..400)
        ) {
            let mut env = setup();
            let mut streak = 0u32;
            let mut ewma = 0u16;
            for (i, o) in outcomes.into_iter().enumerate() {
                let old = env.rep.level_of(ALICE);
                let level = env.record(ALICE, o).unwrap();
                let agreed = o.2;
                streak = if agreed { streak + 1 } else { 0 };
                ewma = next_ewma(ewma, agreed);
                let (assigned, committed, revealed, agreed_n, disagreed, missed, rate, s, _, l) =
                    env.rep.reputation(ALICE);
                prop_assert_eq!(assigned, i as u64 + 1);
                prop_assert_eq!(assigned, agreed_n + disagreed + missed);
                prop_assert!(committed >= revealed);
                prop_assert_eq!(revealed, agreed_n + disagreed);
                prop_assert_eq!((rate, s, l), (ewma, streak, level));
                prop_assert!(rate <= FULL_RATE_BPS);
                prop_assert!(level <= MAX_LEVEL);
                if agreed {
                    prop_assert!(level == old || level == old + 1);
                    if level > old {
                        let r = LEVELS[usize::from(level)];
                        prop_assert!(assigned >= r.min_tasks);
                        prop_assert!(rate >= r.min_rate_bps);
                        prop_assert!(streak >= r.min_streak);
                    }
                } else {
                    prop_assert!(level == old || level + 1 == old);
                    if level < old {
                        prop_assert!(rate + DEMOTION_MARGIN_BPS < LEVELS[usize::from(old)].min_rate_bps);
                    }
                }
                prop_assert_eq!(env.rep.vote_weight(ALICE), 1 + u64::from(level));
            }
        }
    }
}
