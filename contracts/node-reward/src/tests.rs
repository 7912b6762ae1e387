//! Unit tests with the real CorToken, NodePool and NodeReputation on one test chain:
//! construction, funding, credits (the points formula, the cap, liveness snapshots),
//! finalization (emission, carry, remainders, the bounty, inflows, ordering, idempotence,
//! O(1) in the number of nodes), claims (uptime, double claims), parameters,
//! administration and the ABI router; property tests for invariants 1 and 6 of
//! `PROTOCOL.md`.
//!
//! QUEUE stands in for SessionQueue in all three contracts. Events go through the untyped
//! word encoder, so the tests decode each with its `sol!` type: that pins the encoding.

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_testkit::TestChain;
use cor_token::CorToken;
use node_pool::NodePool;
use node_reputation::NodeReputation;

use super::*;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const NP: Address = address!("00000000000000000000000000000000000c0402");
const REP: Address = address!("00000000000000000000000000000000000c0501");
const NR: Address = address!("00000000000000000000000000000000000c0502");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const QUEUE: Address = address!("0000000000000000000000000000000000005e00");
const KEEPER: Address = address!("0000000000000000000000000000000000000c0c");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const CAROL: Address = address!("000000000000000000000000000000000000ca01");
/// An address with no contract behind it.
const NOWHERE: Address = address!("000000000000000000000000000000000000dead");

/// Epoch 0 starts when the test chain does.
const GENESIS: u64 = 1_700_000_000;
const EPOCH: u64 = 3_600;
const DELAY: u64 = 3_600;
const MIN_STAKE: u64 = 10_000;
/// COR each node operator and the owner hold at setup.
const FUNDS: u64 = 1_000_000;

fn u(v: u64) -> U256 {
    U256::from(v)
}

/// `n` whole COR in wei.
fn cor(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

/// Default parameters, for expected values.
const EMISSION: u64 = 1_000;
const BOUNTY: u64 = 1;
/// Points of one unit of task weight at 1.0x.
const UNIT: u64 = 10_000;

struct Env {
    chain: TestChain,
    token: CorToken,
    np: NodePool,
    rep: NodeReputation,
    nr: NodeReward,
}

impl Env {
    fn credit(&mut self, node: Address, weight: u64) -> Result<(), Error> {
        self.chain.set_sender(QUEUE);
        let nr = &mut self.nr;
        self.chain.tx(|| nr.credit(node, weight))
    }

    fn finalize(&mut self, epoch: u64) -> Result<U256, Error> {
        self.chain.set_sender(KEEPER);
        let nr = &mut self.nr;
        self.chain.tx(|| nr.finalize_epoch(epoch))
    }

    fn claim(&mut self, node: Address, epochs: &[u64]) -> Result<U256, Error> {
        self.chain.set_sender(node);
        let nr = &mut self.nr;
        let epochs = epochs.to_vec();
        self.chain.tx(|| nr.claim(epochs))
    }

    fn fund(&mut self, amount: U256) -> Result<(), Error> {
        self.chain.set_sender(OWNER);
        let nr = &mut self.nr;
        self.chain.tx(|| nr.fund(amount))
    }

    fn heartbeat(&mut self, node: Address) {
        self.chain.set_sender(node);
        self.np.heartbeat().unwrap();
    }

    /// Records `n` agreed tasks for `node` in NodeReputation.
    fn agree(&mut self, node: Address, n: usize) -> u8 {
        self.chain.set_sender(QUEUE);
        let mut level = 0;
        for _ in 0..n {
            level = self.rep.record_task(node, true, true, true).unwrap();
        }
        level
    }

    /// Moves to the first second of the next epoch.
    fn next_epoch(&self) {
        let e = self.nr.current_epoch();
        self.chain.set_timestamp(GENESIS + (e + 1) * EPOCH);
    }

    fn epoch(&self) -> u64 {
        self.nr.current_epoch()
    }

    fn set_param(&mut self, id: u8, value: U256) {
        self.chain.set_sender(OWNER);
        self.nr.schedule_param(id, value).unwrap();
        self.chain.advance(DELAY);
    }

    /// Invariant 1 with nothing waiting to be absorbed.
    fn assert_conserved(&self) {
        assert_eq!(self.token.balance_of(NR), self.nr.total_owed());
        let (pool, unclaimed, carried) = self.nr.accounts();
        assert_eq!(pool + unclaimed, self.nr.total_owed());
        assert!(carried <= pool);
    }
}

fn reward_args(genesis: u64, length: u64, delay: u64) -> Vec<u8> {
    (OWNER, TOKEN, NP, REP, genesis, length, delay).abi_encode_params()
}

/// The token, NodePool (models 1..=16), NodeReputation and NodeReward deployed, QUEUE as
/// SessionQueue everywhere, NodeReward as NodePool's reward pool; ALICE (1 model), BOB
/// (4 models) and CAROL (16 models) registered; the owner holds COR and approved
/// NodeReward; logs cleared. The pool is empty.
fn setup() -> Env {
    let chain = TestChain::new();
    assert_eq!(chain.timestamp(), GENESIS);
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(U256::MAX, OWNER).abi_encode_params())
        .unwrap();
    chain
        .deploy::<NodePool>(
            NP,
            &(
                TOKEN,
                OWNER,
                cor(MIN_STAKE),
                7 * 86_400u64,
                GENESIS,
                EPOCH,
                DELAY,
            )
                .abi_encode_params(),
        )
        .unwrap();
    chain
        .deploy::<NodeReputation>(REP, &OWNER.abi_encode())
        .unwrap();
    chain
        .deploy::<NodeReward>(NR, &reward_args(GENESIS, EPOCH, DELAY))
        .unwrap();
    let mut token = chain.at::<CorToken>(TOKEN);
    let mut np = chain.at::<NodePool>(NP);
    let mut rep = chain.at::<NodeReputation>(REP);
    let mut nr = chain.at::<NodeReward>(NR);
    for model in 1..=16u32 {
        np.set_model(model, 0, B256::with_last_byte(model as u8), true)
            .unwrap();
    }
    np.set_session_queue(QUEUE).unwrap();
    np.set_reward_pool(NR).unwrap();
    rep.set_session_queue(QUEUE).unwrap();
    nr.set_session_queue(QUEUE).unwrap();
    token.mint(OWNER, cor(FUNDS)).unwrap();
    token.approve(NR, U256::MAX).unwrap();
    for (node, models) in [(ALICE, 1u32), (BOB, 4), (CAROL, 16)] {
        chain.set_sender(OWNER);
        token.mint(node, cor(FUNDS)).unwrap();
        chain.set_sender(node);
        token.approve(NP, U256::MAX).unwrap();
        np.register((1..=models).collect(), B256::ZERO).unwrap();
    }
    chain.take_logs();
    Env {
        chain,
        token,
        np,
        rep,
        nr,
    }
}

/// `setup` with 100 000 COR in the pool; logs cleared.
fn funded() -> Env {
    let mut env = setup();
    env.fund(cor(100_000)).unwrap();
    env.chain.take_logs();
    env
}

// ---- Construction ----------------------------------------------------------------------

#[test]
fn constructor_sets_links_clock_defaults_and_the_first_epoch() {
    let env = setup();
    assert_eq!(env.nr.links(), (TOKEN, NP, REP, QUEUE));
    assert_eq!(env.nr.owner(), OWNER);
    assert_eq!(env.nr.epoch_clock(), (GENESIS, EPOCH));
    assert_eq!(env.nr.current_epoch(), 0);
    assert_eq!(env.nr.next_epoch_to_finalize(), 0);
    assert_eq!(env.nr.param_delay(), DELAY);
    for id in 0..6u8 {
        assert_eq!(env.nr.param(id), Ok(param_default(id).unwrap()));
    }
    assert_eq!(env.nr.param(EMISSION_PER_EPOCH), Ok(cor(EMISSION)));
    assert_eq!(env.nr.param(FINALIZE_BOUNTY), Ok(cor(BOUNTY)));
    assert_eq!(env.nr.accounts(), (U256::ZERO, U256::ZERO, U256::ZERO));
    assert_eq!(env.nr.total_owed(), U256::ZERO);
}

#[test]
fn constructor_starts_finalizing_at_the_epoch_of_deployment() {
    let env = setup();
    env.chain.set_timestamp(GENESIS + 5 * EPOCH + 7);
    env.chain.set_sender(OWNER);
    let other = address!("00000000000000000000000000000000000c0503");
    env.chain
        .deploy::<NodeReward>(other, &reward_args(GENESIS, EPOCH, DELAY))
        .unwrap();
    let nr = env.chain.at::<NodeReward>(other);
    assert_eq!(nr.next_epoch_to_finalize(), 5);
    let events = env.chain.events::<ParamScheduled>();
    assert_eq!(events.len(), 6);
    assert!(events
        .iter()
        .all(|e| e.effectiveAt == GENESIS + 5 * EPOCH + 7));
    assert_eq!(
        env.chain.events::<OwnershipTransferred>().last(),
        Some(&OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: OWNER
        })
    );
}

#[test]
fn constructor_rejects_zero_links_and_owner() {
    let env = setup();
    let other = address!("00000000000000000000000000000000000c0503");
    for (token, np, rep) in [
        (Address::ZERO, NP, REP),
        (TOKEN, Address::ZERO, REP),
        (TOKEN, NP, Address::ZERO),
    ] {
        let args = (OWNER, token, np, rep, GENESIS, EPOCH, DELAY).abi_encode_params();
        assert_eq!(
            env.chain.deploy::<NodeReward>(other, &args),
            Err(Vec::<u8>::from(Error::from(InvalidLinks {
                token,
                nodePool: np,
                reputation: rep
            })))
        );
    }
    let args = (Address::ZERO, TOKEN, NP, REP, GENESIS, EPOCH, DELAY).abi_encode_params();
    assert_eq!(
        env.chain.deploy::<NodeReward>(other, &args),
        Err(Vec::<u8>::from(Error::from(OwnableInvalidOwner {
            owner: Address::ZERO
        })))
    );
}

#[test]
fn constructor_rejects_a_clock_other_than_node_pools() {
    let env = setup();
    let other = address!("00000000000000000000000000000000000c0503");
    for (genesis, length) in [(GENESIS + 1, EPOCH), (GENESIS, EPOCH * 2), (0, 0)] {
        assert_eq!(
            env.chain
                .deploy::<NodeReward>(other, &reward_args(genesis, length, DELAY)),
            Err(Vec::<u8>::from(Error::from(EpochClockMismatch {
                genesis,
                length,
                poolGenesis: GENESIS,
                poolLength: EPOCH
            })))
        );
    }
    // A NodePool address without the contract.
    let args = (OWNER, TOKEN, NOWHERE, REP, GENESIS, EPOCH, DELAY).abi_encode_params();
    assert_eq!(
        env.chain.deploy::<NodeReward>(other, &args),
        Err(Vec::<u8>::from(Error::from(LinkCallFailed {
            target: NOWHERE
        })))
    );
}

#[test]
fn constructor_rejects_a_param_delay_out_of_bounds() {
    let env = setup();
    let other = address!("00000000000000000000000000000000000c0503");
    assert_eq!(
        env.chain
            .deploy::<NodeReward>(other, &reward_args(GENESIS, EPOCH, 59)),
        Err(Vec::<u8>::from(Error::from(ParamDelayOutOfBounds {
            delay: 59,
            min: 60,
            max: 30 * 86_400
        })))
    );
}

// ---- Funding ---------------------------------------------------------------------------

#[test]
fn fund_pulls_cor_into_the_pool() {
    let mut env = setup();
    env.fund(cor(500)).unwrap();
    env.fund(cor(250)).unwrap();
    assert_eq!(env.nr.pool(), cor(750));
    assert_eq!(env.token.balance_of(NR), cor(750));
    assert_eq!(
        env.chain.events::<Funded>(),
        vec![
            Funded {
                from: OWNER,
                amount: cor(500),
                pool: cor(500)
            },
            Funded {
                from: OWNER,
                amount: cor(250),
                pool: cor(750)
            }
        ]
    );
    env.assert_conserved();
}

#[test]
fn fund_rejects_zero_and_a_missing_allowance() {
    let mut env = setup();
    assert_eq!(env.fund(U256::ZERO), Err(ZeroAmount {}.into()));
    env.chain.set_sender(ALICE);
    let nr = &mut env.nr;
    assert_eq!(
        env.chain.tx(|| nr.fund(cor(1))),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: ALICE,
            to: NR,
            amount: cor(1)
        }
        .into())
    );
    assert_eq!(env.nr.pool(), U256::ZERO);
    assert!(env.chain.logs().is_empty());
    env.assert_conserved();
}

// ---- Credits ---------------------------------------------------------------------------

#[test]
fn credit_is_session_queue_only() {
    let mut env = funded();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.nr.credit(ALICE, 1),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
    assert_eq!(env.nr.points_of(ALICE, 0), U256::ZERO);
}

#[test]
fn capacity_factor_is_a_square_root_in_basis_points() {
    assert_eq!(capacity_bps(0), 10_000);
    assert_eq!(capacity_bps(1), 10_000);
    assert_eq!(capacity_bps(2), 14_142);
    assert_eq!(capacity_bps(4), 20_000);
    assert_eq!(capacity_bps(9), 30_000);
    assert_eq!(capacity_bps(16), 40_000);
    assert_eq!(capacity_bps(64), 80_000);
    assert_eq!(capacity_bps(u32::MAX), 655_359_999);
    // Diminishing returns: each extra model adds less.
    let gains: Vec<u64> = (1..64)
        .map(|m| capacity_bps(m + 1) - capacity_bps(m))
        .collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn div_u128_matches_the_division_operator() {
    let samples = [
        0u128,
        1,
        2,
        3,
        7,
        10_000,
        u128::from(u64::MAX),
        u128::from(u64::MAX) + 1,
        1 << 127,
        (1 << 127) + 12_345,
        u128::MAX - 1,
        u128::MAX,
    ];
    for n in samples {
        for d in samples.into_iter().filter(|&d| d != 0) {
            assert_eq!(div_u128(n, d), n / d, "{n} / {d}");
        }
        assert_eq!(div_u128(n, 0), 0);
    }
}

#[test]
fn points_follow_weight_level_multiplier_and_capacity() {
    let env = setup();
    assert_eq!(env.nr.points_for(1, 0, 1), u(UNIT));
    assert_eq!(env.nr.points_for(3, 0, 1), u(3 * UNIT));
    assert_eq!(env.nr.points_for(1, 1, 1), u(11_000));
    assert_eq!(env.nr.points_for(1, 10, 1), u(20_000));
    assert_eq!(env.nr.points_for(2, 5, 4), u(2 * 15_000 * 2));
    assert_eq!(env.nr.points_for(1, 0, 2), u(14_142));
    // A level above 10 counts as 10; zero models as one.
    assert_eq!(env.nr.points_for(1, 200, 0), u(20_000));
    // The largest inputs do not overflow.
    assert!(env.nr.points_for(u64::MAX, u8::MAX, u32::MAX) > U256::from(u128::from(u64::MAX)));
}

#[test]
fn credit_accrues_points_from_level_and_models_and_emits() {
    let mut env = funded();
    env.credit(ALICE, 5).unwrap();
    env.credit(BOB, 5).unwrap();
    env.credit(CAROL, 5).unwrap();
    assert_eq!(env.nr.points_of(ALICE, 0), u(5 * UNIT));
    assert_eq!(env.nr.points_of(BOB, 0), u(5 * 2 * UNIT));
    assert_eq!(env.nr.points_of(CAROL, 0), u(5 * 4 * UNIT));
    // ALICE reaches level 2 in NodeReputation: 1.2x.
    assert_eq!(env.agree(ALICE, 10), 2);
    env.credit(ALICE, 5).unwrap();
    assert_eq!(env.nr.points_of(ALICE, 0), u(5 * UNIT + 5 * 12_000));
    let total = 5 * UNIT + 5 * 12_000 + 5 * 2 * UNIT + 5 * 4 * UNIT;
    assert_eq!(
        env.nr.epoch_info(0),
        (u(total), U256::ZERO, U256::ZERO, false)
    );
    let events = env.chain.events::<Credited>();
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[3],
        Credited {
            node: ALICE,
            epoch: 0,
            taskWeight: 5,
            points: u(60_000),
            nodePoints: u(110_000)
        }
    );
    // Points go to the current epoch.
    env.next_epoch();
    env.credit(ALICE, 1).unwrap();
    assert_eq!(env.nr.points_of(ALICE, 1), u(12_000));
    assert_eq!(env.nr.epoch_info(1).0, u(12_000));
    assert_eq!(env.nr.epoch_info(0).0, u(total));
}

#[test]
fn credit_of_an_unregistered_node_counts_one_model() {
    let mut env = funded();
    env.credit(NOWHERE, 2).unwrap();
    assert_eq!(env.nr.points_of(NOWHERE, 0), u(2 * UNIT));
}

#[test]
fn credit_caps_points_per_node_per_epoch() {
    let mut env = funded();
    env.set_param(NODE_EPOCH_CAP, u(25_000));
    let e = env.epoch();
    env.credit(ALICE, 2).unwrap();
    env.credit(ALICE, 2).unwrap();
    env.credit(ALICE, 2).unwrap();
    env.credit(BOB, 1).unwrap();
    assert_eq!(env.nr.points_of(ALICE, e), u(25_000));
    assert_eq!(env.nr.points_of(BOB, e), u(20_000));
    assert_eq!(env.nr.epoch_info(e).0, u(45_000));
    let added: Vec<U256> = env
        .chain
        .events::<Credited>()
        .iter()
        .map(|e| e.points)
        .collect();
    assert_eq!(added, vec![u(20_000), u(5_000), U256::ZERO, u(20_000)]);
    // A new epoch starts from zero.
    env.next_epoch();
    env.credit(ALICE, 2).unwrap();
    assert_eq!(env.nr.points_of(ALICE, e + 1), u(20_000));
}

#[test]
fn lowering_the_cap_below_points_earned_keeps_them() {
    let mut env = funded();
    // Scheduled in the middle of epoch 0: takes effect in the middle of epoch 1.
    env.chain.advance(EPOCH / 2);
    env.chain.set_sender(OWNER);
    env.nr.schedule_param(NODE_EPOCH_CAP, u(50_000)).unwrap();
    env.next_epoch();
    env.credit(ALICE, 8).unwrap();
    env.chain.advance(EPOCH / 2);
    assert_eq!(env.epoch(), 1);
    assert_eq!(env.nr.param(NODE_EPOCH_CAP), Ok(u(50_000)));
    env.credit(ALICE, 1).unwrap();
    assert_eq!(env.nr.points_of(ALICE, 1), u(80_000));
    assert_eq!(env.nr.epoch_info(1).0, u(80_000));
}

#[test]
fn credit_fails_when_reputation_does_not_answer() {
    let env = funded();
    let other = address!("00000000000000000000000000000000000c0503");
    env.chain.set_sender(OWNER);
    let args = (OWNER, TOKEN, NP, NOWHERE, GENESIS, EPOCH, DELAY).abi_encode_params();
    env.chain.deploy::<NodeReward>(other, &args).unwrap();
    let mut broken = env.chain.at::<NodeReward>(other);
    broken.set_session_queue(QUEUE).unwrap();
    env.chain.set_sender(QUEUE);
    assert_eq!(
        broken.credit(ALICE, 1),
        Err(LinkCallFailed { target: NOWHERE }.into())
    );
}

// ---- Finalization ----------------------------------------------------------------------

#[test]
fn finalize_rejects_the_running_epoch_and_later_ones() {
    let mut env = funded();
    env.credit(ALICE, 1).unwrap();
    for epoch in [0, 1, 9] {
        assert_eq!(
            env.finalize(epoch),
            Err(EpochNotEnded {
                epoch,
                endsAt: GENESIS + (epoch + 1) * EPOCH
            }
            .into())
        );
    }
    // The last second of epoch 0 is still epoch 0.
    env.chain.set_timestamp(GENESIS + EPOCH - 1);
    assert!(matches!(env.finalize(0), Err(Error::EpochNotEnded(_))));
    env.chain.set_timestamp(GENESIS + EPOCH);
    assert_eq!(env.finalize(0), Ok(cor(BOUNTY)));
}

#[test]
fn finalize_goes_oldest_first_and_keepers_catch_up() {
    let mut env = funded();
    env.chain.set_timestamp(GENESIS + 4 * EPOCH);
    assert_eq!(
        env.finalize(2),
        Err(EpochOutOfOrder { epoch: 2, next: 0 }.into())
    );
    for epoch in 0..4 {
        assert_eq!(env.nr.next_epoch_to_finalize(), epoch);
        assert_eq!(env.finalize(epoch), Ok(cor(BOUNTY)));
    }
    assert_eq!(env.nr.next_epoch_to_finalize(), 4);
    assert!(matches!(env.finalize(4), Err(Error::EpochNotEnded(_))));
    assert_eq!(env.token.balance_of(KEEPER), cor(4 * BOUNTY));
    env.assert_conserved();
}

#[test]
fn finalize_sets_reward_per_point_and_carries_the_remainder() {
    let mut env = funded();
    // 3 points-units that do not divide the emission: 10 000 + 20 000 + 40 000 points.
    env.credit(ALICE, 1).unwrap();
    env.credit(BOB, 1).unwrap();
    env.credit(CAROL, 1).unwrap();
    let total = 70_000u64;
    env.next_epoch();
    env.chain.take_logs();
    assert_eq!(env.finalize(0), Ok(cor(BOUNTY)));
    let emission = cor(EMISSION);
    let rpp = emission / u(total);
    let distributed = rpp * u(total);
    let remainder = emission - distributed;
    assert!(!remainder.is_zero());
    assert_eq!(env.nr.epoch_info(0), (u(total), emission, rpp, true));
    let pool = cor(100_000) - cor(BOUNTY) - distributed;
    assert_eq!(env.nr.accounts(), (pool, distributed, remainder));
    assert_eq!(
        env.chain.events::<EpochFinalized>(),
        vec![EpochFinalized {
            epoch: 0,
            keeper: KEEPER,
            totalPoints: u(total),
            emission,
            rewardPerPoint: rpp,
            carried: remainder,
            bounty: cor(BOUNTY)
        }]
    );
    assert!(env.chain.events::<InflowAbsorbed>().is_empty());
    env.assert_conserved();
    // The remainder is part of the next epoch's emission.
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    env.finalize(1).unwrap();
    assert_eq!(env.nr.epoch_info(1).1, emission + remainder);
    assert_eq!(env.nr.epoch_info(1).2, (emission + remainder) / u(UNIT));
}

#[test]
fn empty_epochs_roll_their_emission_forward() {
    let mut env = funded();
    env.next_epoch();
    env.finalize(0).unwrap();
    assert_eq!(
        env.nr.epoch_info(0),
        (U256::ZERO, cor(EMISSION), U256::ZERO, true)
    );
    assert_eq!(env.nr.accounts().2, cor(EMISSION));
    env.next_epoch();
    env.finalize(1).unwrap();
    assert_eq!(env.nr.accounts().2, cor(2 * EMISSION));
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    env.finalize(2).unwrap();
    let (total, emission, rpp, _) = env.nr.epoch_info(2);
    assert_eq!(emission, cor(3 * EMISSION));
    assert_eq!(rpp * total, emission);
    assert_eq!(env.nr.accounts().2, U256::ZERO);
    assert_eq!(env.claim(ALICE, &[2]), Ok(cor(3 * EMISSION) / u(2)));
}

#[test]
fn emission_is_bounded_by_the_pool() {
    let mut env = setup();
    env.fund(cor(300)).unwrap();
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    env.finalize(0).unwrap();
    let (_, emission, rpp, _) = env.nr.epoch_info(0);
    assert_eq!(emission, cor(299));
    assert_eq!(rpp * u(UNIT), cor(299));
    assert_eq!(env.nr.accounts(), (U256::ZERO, cor(299), U256::ZERO));
    // Nothing left: the next epoch can pay neither bounty nor emission, and carries
    // nothing (unfunded emission is not a debt).
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    assert_eq!(env.finalize(1), Ok(U256::ZERO));
    assert_eq!(
        env.nr.epoch_info(1),
        (u(UNIT), U256::ZERO, U256::ZERO, true)
    );
    assert_eq!(env.nr.accounts().2, U256::ZERO);
    assert_eq!(env.token.balance_of(KEEPER), cor(1));
    env.assert_conserved();
}

#[test]
fn finalize_is_idempotent() {
    let mut env = funded();
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    env.finalize(0).unwrap();
    let info = env.nr.epoch_info(0);
    let accounts = env.nr.accounts();
    let keeper = env.token.balance_of(KEEPER);
    env.chain.take_logs();
    env.chain.advance(10 * EPOCH);
    for _ in 0..3 {
        assert_eq!(env.finalize(0), Ok(U256::ZERO));
    }
    assert!(env.chain.logs().is_empty());
    assert_eq!(env.nr.epoch_info(0), info);
    assert_eq!(env.nr.accounts(), accounts);
    assert_eq!(env.token.balance_of(KEEPER), keeper);
}

#[test]
fn finalize_pays_at_most_the_pool_as_bounty() {
    let mut env = setup();
    // Empty pool: no bounty, no transfer.
    env.next_epoch();
    assert_eq!(env.finalize(0), Ok(U256::ZERO));
    assert_eq!(env.chain.events::<EpochFinalized>()[0].bounty, U256::ZERO);
    // Less than the bounty in the pool.
    env.fund(u(7)).unwrap();
    env.next_epoch();
    assert_eq!(env.finalize(1), Ok(u(7)));
    assert_eq!(env.token.balance_of(KEEPER), u(7));
    // A bigger bounty, scheduled.
    env.fund(cor(100)).unwrap();
    env.set_param(FINALIZE_BOUNTY, cor(5));
    env.next_epoch();
    assert_eq!(env.finalize(2), Ok(cor(5)));
    env.assert_conserved();
}

#[test]
fn finalize_absorbs_slashed_cor_swept_from_node_pool() {
    let mut env = funded();
    env.chain.set_sender(QUEUE);
    env.np.slash(BOB, cor(40), 1).unwrap();
    env.chain.set_sender(KEEPER);
    env.np.sweep_slashed().unwrap();
    // A plain transfer: the balance runs ahead of what is owed until the next finalize.
    assert_eq!(env.token.balance_of(NR), env.nr.total_owed() + cor(40));
    env.next_epoch();
    env.chain.take_logs();
    env.finalize(0).unwrap();
    assert_eq!(
        env.chain.events::<InflowAbsorbed>(),
        vec![InflowAbsorbed {
            amount: cor(40),
            pool: cor(100_040)
        }]
    );
    assert_eq!(
        env.nr.accounts().0,
        cor(100_040) - cor(BOUNTY),
        "empty epoch: emission carried, not distributed"
    );
    env.assert_conserved();
}

#[test]
fn finalize_storage_work_does_not_depend_on_the_number_of_nodes() {
    let mut counts = Vec::new();
    for nodes in [10u64, 100, 1_000] {
        let mut env = funded();
        for i in 0..nodes {
            env.credit(
                Address::left_padding_from(&(0x1_0000 + i).to_be_bytes()),
                1 + i % 5,
            )
            .unwrap();
        }
        env.next_epoch();
        let before = env.chain.storage_ops();
        let logs = env.chain.logs().len();
        let started = std::time::Instant::now();
        env.finalize(0).unwrap();
        let elapsed = started.elapsed();
        let after = env.chain.storage_ops();
        let ops = (
            after.loads - before.loads,
            after.stores - before.stores,
            env.chain.logs().len() - logs,
        );
        eprintln!(
            "finalizeEpoch with {nodes:>5} credited nodes: {} slot loads, {} slot stores, {} logs, {elapsed:?}",
            ops.0, ops.1, ops.2
        );
        counts.push(ops);
        env.assert_conserved();
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}

// ---- Claims ----------------------------------------------------------------------------

/// `funded` with ALICE 1 unit and BOB 2 units (4 models: 2x) of weight in epoch 0,
/// finalized from epoch 1; logs cleared. Neither sent a heartbeat.
fn finalized_epoch() -> Env {
    let mut env = funded();
    env.credit(ALICE, 1).unwrap();
    env.credit(BOB, 1).unwrap();
    env.next_epoch();
    env.finalize(0).unwrap();
    env.chain.take_logs();
    env
}

#[test]
fn claim_pays_a_live_node_its_points_worth() {
    let mut env = funded();
    env.heartbeat(ALICE);
    env.credit(ALICE, 1).unwrap();
    env.credit(BOB, 1).unwrap();
    env.next_epoch();
    env.finalize(0).unwrap();
    let (_, _, rpp, _) = env.nr.epoch_info(0);
    let owed_before = env.nr.accounts().1;
    let before = env.token.balance_of(ALICE);
    assert_eq!(env.nr.claimable(ALICE, 0), Ok((rpp * u(UNIT), true, false)));
    env.chain.take_logs();
    assert_eq!(env.claim(ALICE, &[0]), Ok(rpp * u(UNIT)));
    assert_eq!(env.token.balance_of(ALICE), before + rpp * u(UNIT));
    assert_eq!(
        env.chain.events::<Claimed>(),
        vec![Claimed {
            node: ALICE,
            epoch: 0,
            amount: rpp * u(UNIT),
            returned: U256::ZERO,
            live: true
        }]
    );
    assert_eq!(env.nr.accounts().1, owed_before - rpp * u(UNIT));
    assert_eq!(env.nr.claimable(ALICE, 0), Ok((U256::ZERO, true, true)));
    env.assert_conserved();
}

#[test]
fn claim_of_a_node_not_live_pays_the_non_live_share_and_returns_the_rest() {
    let mut env = finalized_epoch();
    let (_, _, rpp, _) = env.nr.epoch_info(0);
    let full = rpp * u(2 * UNIT);
    let pool = env.nr.pool();
    assert_eq!(env.nr.claimable(BOB, 0), Ok((full / u(2), false, false)));
    assert_eq!(env.claim(BOB, &[0]), Ok(full / u(2)));
    assert_eq!(env.nr.pool(), pool + (full - full / u(2)));
    assert_eq!(
        env.chain.events::<Claimed>(),
        vec![Claimed {
            node: BOB,
            epoch: 0,
            amount: full / u(2),
            returned: full - full / u(2),
            live: false
        }]
    );
    env.assert_conserved();
}

#[test]
fn non_live_share_is_a_parameter() {
    let mut env = finalized_epoch();
    env.set_param(NON_LIVE_BPS, u(2_500));
    let (_, _, rpp, _) = env.nr.epoch_info(0);
    assert_eq!(env.claim(ALICE, &[0]), Ok(rpp * u(UNIT) / u(4)));
    env.assert_conserved();
}

#[test]
fn liveness_seen_at_credit_time_survives_later_heartbeats() {
    let mut env = funded();
    env.heartbeat(ALICE);
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    env.heartbeat(ALICE); // NodePool now only remembers epoch 1
    assert!(!env.np.is_live(ALICE, 0));
    env.finalize(0).unwrap();
    let (_, _, rpp, _) = env.nr.epoch_info(0);
    assert_eq!(env.claim(ALICE, &[0]), Ok(rpp * u(UNIT)));
}

#[test]
fn a_heartbeat_after_the_last_credit_counts_while_it_is_the_last() {
    let mut env = funded();
    env.credit(ALICE, 1).unwrap();
    env.heartbeat(ALICE); // after the credit: not in the snapshot
    env.next_epoch();
    env.finalize(0).unwrap();
    let (_, _, rpp, _) = env.nr.epoch_info(0);
    assert_eq!(env.nr.claimable(ALICE, 0), Ok((rpp * u(UNIT), true, false)));
    assert_eq!(env.claim(ALICE, &[0]), Ok(rpp * u(UNIT)));
}

#[test]
fn claim_twice_reverts_already_claimed() {
    let mut env = finalized_epoch();
    env.claim(ALICE, &[0]).unwrap();
    let balance = env.token.balance_of(ALICE);
    assert_eq!(
        env.claim(ALICE, &[0]),
        Err(AlreadyClaimed {
            node: ALICE,
            epoch: 0
        }
        .into())
    );
    // Listed twice in one call: the whole call reverts.
    assert_eq!(
        env.claim(BOB, &[0, 0]),
        Err(AlreadyClaimed {
            node: BOB,
            epoch: 0
        }
        .into())
    );
    assert!(!env.nr.claimable(BOB, 0).unwrap().2);
    assert_eq!(env.token.balance_of(ALICE), balance);
    env.assert_conserved();
}

#[test]
fn claim_rejects_unfinalized_epochs_and_epochs_without_points() {
    let mut env = finalized_epoch();
    env.credit(ALICE, 1).unwrap();
    assert_eq!(
        env.claim(ALICE, &[1]),
        Err(EpochNotFinalized { epoch: 1 }.into())
    );
    assert_eq!(env.nr.claimable(ALICE, 1), Ok((U256::ZERO, false, false)));
    assert_eq!(
        env.claim(CAROL, &[0]),
        Err(NothingToClaim {
            node: CAROL,
            epoch: 0
        }
        .into())
    );
    // A valid epoch first does not save the call.
    assert!(env.claim(ALICE, &[0, 1]).is_err());
    assert!(!env.nr.claimable(ALICE, 0).unwrap().2);
    // Nothing listed: nothing paid.
    assert_eq!(env.claim(ALICE, &[]), Ok(U256::ZERO));
    assert!(env.chain.events::<Claimed>().is_empty());
}

#[test]
fn claim_of_several_epochs_pays_once_and_unclaimed_rewards_stay_claimable() {
    let mut env = funded();
    for _ in 0..5 {
        env.heartbeat(ALICE);
        env.credit(ALICE, 1).unwrap();
        env.credit(CAROL, 1).unwrap();
        env.next_epoch();
    }
    // Many epochs later, finalize and claim everything.
    env.chain.advance(50 * EPOCH);
    for epoch in 0..10 {
        env.finalize(epoch).unwrap();
    }
    let expected: U256 = (0..5u64)
        .map(|e| env.nr.epoch_info(e).2 * u(UNIT))
        .fold(U256::ZERO, |a, b| a + b);
    let before = env.token.balance_of(ALICE);
    env.chain.take_logs();
    assert_eq!(env.claim(ALICE, &[4, 0, 2, 1, 3]), Ok(expected));
    assert_eq!(env.token.balance_of(ALICE), before + expected);
    assert_eq!(env.chain.events::<Claimed>().len(), 5);
    // One transfer for the whole claim.
    let transfers = env
        .chain
        .logs()
        .iter()
        .filter(|l| l.address == TOKEN)
        .count();
    assert_eq!(transfers, 1);
    env.claim(CAROL, &[0, 1, 2, 3, 4]).unwrap();
    env.assert_conserved();
}

#[test]
fn all_points_of_an_epoch_claimed_leave_nothing_owed() {
    let mut env = finalized_epoch();
    env.claim(ALICE, &[0]).unwrap();
    env.claim(BOB, &[0]).unwrap();
    assert_eq!(env.nr.accounts().1, U256::ZERO);
    env.assert_conserved();
}

#[test]
fn a_finalized_task_flows_into_reputation_slashing_points_and_rewards() {
    // What SessionQueue does when a task with N = 3 finalizes: ALICE and CAROL agreed,
    // BOB committed and did not reveal.
    let mut env = funded();
    for node in [ALICE, BOB, CAROL] {
        env.heartbeat(node);
    }
    env.chain.set_sender(QUEUE);
    env.rep.record_task(ALICE, true, true, true).unwrap();
    env.rep.record_task(BOB, true, false, false).unwrap();
    env.rep.record_task(CAROL, true, true, true).unwrap();
    env.np.slash(BOB, cor(5), 1).unwrap();
    env.credit(ALICE, 4).unwrap();
    env.credit(CAROL, 4).unwrap();
    assert_eq!(env.rep.reputation(BOB).5, 1);
    assert_eq!(env.nr.points_of(ALICE, 0), u(4 * UNIT));
    assert_eq!(env.nr.points_of(CAROL, 0), u(4 * 4 * UNIT));
    assert_eq!(env.nr.points_of(BOB, 0), U256::ZERO);
    // A keeper sweeps the slash in and closes the epoch.
    env.chain.set_sender(KEEPER);
    env.np.sweep_slashed().unwrap();
    env.next_epoch();
    env.finalize(0).unwrap();
    let (total, emission, rpp, _) = env.nr.epoch_info(0);
    assert_eq!(total, u(20 * UNIT));
    assert_eq!(emission, cor(EMISSION));
    assert_eq!(env.claim(ALICE, &[0]), Ok(rpp * u(4 * UNIT)));
    assert_eq!(env.claim(CAROL, &[0]), Ok(rpp * u(16 * UNIT)));
    assert_eq!(
        env.claim(BOB, &[0]),
        Err(NothingToClaim {
            node: BOB,
            epoch: 0
        }
        .into())
    );
    // The slash is in the pool; the epoch paid out all of its emission.
    assert_eq!(
        env.nr.pool(),
        cor(100_000) + cor(5) - cor(BOUNTY) - cor(EMISSION)
    );
    env.assert_conserved();
}

// ---- Parameters ------------------------------------------------------------------------

#[test]
fn params_are_owner_only_bounded_stepped_and_delayed() {
    let mut env = funded();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.nr.schedule_param(EMISSION_PER_EPOCH, cor(2_000)),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
    env.chain.set_sender(OWNER);
    assert_eq!(
        env.nr.schedule_param(6, u(1)),
        Err(UnknownParam { id: 6 }.into())
    );
    assert_eq!(env.nr.param(6), Err(UnknownParam { id: 6 }.into()));
    assert_eq!(
        env.nr.schedule_param(NON_LIVE_BPS, u(10_001)),
        Err(ParamOutOfBounds {
            id: NON_LIVE_BPS,
            value: u(10_001),
            min: U256::ZERO,
            max: u(10_000)
        }
        .into())
    );
    assert_eq!(
        env.nr.schedule_param(EMISSION_PER_EPOCH, cor(200_000)),
        Err(ParamStepTooLarge {
            id: EMISSION_PER_EPOCH,
            current: cor(EMISSION),
            value: cor(200_000),
            maxStep: cor(100_000)
        }
        .into())
    );
    let at = env
        .nr
        .schedule_param(EMISSION_PER_EPOCH, cor(2_000))
        .unwrap();
    assert_eq!(at, GENESIS + DELAY);
    assert_eq!(
        env.nr.pending_param(EMISSION_PER_EPOCH),
        Ok((cor(2_000), at))
    );
    assert_eq!(env.nr.param(EMISSION_PER_EPOCH), Ok(cor(EMISSION)));
    assert_eq!(
        env.chain.events::<ParamScheduled>().last(),
        Some(&ParamScheduled {
            id: EMISSION_PER_EPOCH,
            value: cor(2_000),
            effectiveAt: at
        })
    );
    // Epoch 0 ends exactly when the change takes effect: its finalization uses it.
    env.credit(ALICE, 1).unwrap();
    env.next_epoch();
    assert_eq!(env.nr.param(EMISSION_PER_EPOCH), Ok(cor(2_000)));
    env.finalize(0).unwrap();
    assert_eq!(env.nr.epoch_info(0).1, cor(2_000));
    // Cancel.
    env.chain.set_sender(OWNER);
    assert_eq!(
        env.nr.cancel_param(LEVEL_STEP_BPS),
        Err(NoPendingParam { id: LEVEL_STEP_BPS }.into())
    );
    env.nr.schedule_param(LEVEL_STEP_BPS, u(2_000)).unwrap();
    env.nr.cancel_param(LEVEL_STEP_BPS).unwrap();
    assert_eq!(
        env.chain.events::<ParamCancelled>(),
        vec![ParamCancelled { id: LEVEL_STEP_BPS }]
    );
    env.chain.advance(DELAY);
    assert_eq!(env.nr.param(LEVEL_STEP_BPS), Ok(u(1_000)));
}

#[test]
fn level_multiplier_parameters_change_points() {
    let mut env = funded();
    env.set_param(LEVEL_BASE_BPS, u(12_000));
    env.set_param(LEVEL_STEP_BPS, u(2_000));
    assert_eq!(env.nr.points_for(1, 0, 1), u(12_000));
    assert_eq!(env.nr.points_for(1, 10, 1), u(32_000));
}

// ---- Administration --------------------------------------------------------------------

#[test]
fn set_session_queue_is_owner_only_and_moves_the_role() {
    let mut env = funded();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.nr.set_session_queue(ALICE),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
    env.chain.set_sender(OWNER);
    env.nr.set_session_queue(BOB).unwrap();
    assert_eq!(
        env.chain.events::<RoleSet>(),
        vec![RoleSet {
            role: SESSION_QUEUE_ROLE,
            account: BOB
        }]
    );
    assert_eq!(env.nr.links().3, BOB);
    assert!(matches!(
        env.credit(ALICE, 1),
        Err(Error::UnauthorizedCaller(_))
    ));
    env.chain.set_sender(BOB);
    env.nr.credit(ALICE, 1).unwrap();
}

#[test]
fn ownership_transfers_and_renounces() {
    let mut env = setup();
    env.chain.set_sender(OWNER);
    assert_eq!(
        env.nr.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    env.nr.transfer_ownership(ALICE).unwrap();
    assert_eq!(env.nr.owner(), ALICE);
    assert_eq!(
        env.nr.renounce_ownership(),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    env.chain.set_sender(ALICE);
    env.nr.renounce_ownership().unwrap();
    assert_eq!(env.nr.owner(), Address::ZERO);
    assert!(env.nr.schedule_param(FINALIZE_BOUNTY, u(0)).is_err());
}

// ---- The ABI router --------------------------------------------------------------------

#[test]
fn calls_through_the_abi_router_match_the_interface_session_queue_uses() {
    use alloy_sol_types::{SolCall, SolError};
    alloy_sol_types::sol! {
        function credit(address node, uint64 taskWeight) external;
        function finalizeEpoch(uint64 epoch) external returns (uint256);
        function claim(uint64[] epochs) external returns (uint256);
        function epochInfo(uint64 epoch) external view returns (uint256, uint256, uint256, bool);
        function pointsOf(address node, uint64 epoch) external view returns (uint256);
    }
    // The selectors SessionQueue and keepers call.
    assert_eq!(creditCall::SELECTOR, [0xf5, 0xae, 0x9f, 0x3f]);
    assert_eq!(finalizeEpochCall::SELECTOR, [0x4f, 0x6e, 0xc9, 0x9b]);
    assert_eq!(claimCall::SELECTOR, [0x35, 0x44, 0x2c, 0x43]);
    let env = funded();
    env.chain
        .call(
            QUEUE,
            NR,
            creditCall {
                node: ALICE,
                taskWeight: 3,
            }
            .abi_encode(),
        )
        .unwrap();
    let out = env
        .chain
        .call(
            ALICE,
            NR,
            pointsOfCall {
                node: ALICE,
                epoch: 0,
            }
            .abi_encode(),
        )
        .unwrap();
    assert_eq!(pointsOfCall::abi_decode_returns(&out).unwrap(), u(3 * UNIT));
    let err = env
        .chain
        .call(KEEPER, NR, finalizeEpochCall { epoch: 0 }.abi_encode())
        .unwrap_err();
    assert_eq!(
        EpochNotEnded::abi_decode(&err).unwrap(),
        EpochNotEnded {
            epoch: 0,
            endsAt: GENESIS + EPOCH
        }
    );
    env.next_epoch();
    let out = env
        .chain
        .call(KEEPER, NR, finalizeEpochCall { epoch: 0 }.abi_encode())
        .unwrap();
    assert_eq!(
        finalizeEpochCall::abi_decode_returns(&out).unwrap(),
        cor(BOUNTY)
    );
    let out = env
        .chain
        .call(KEEPER, NR, epochInfoCall { epoch: 0 }.abi_encode())
        .unwrap();
    let info = epochInfoCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        (info._0, info._1, info._3),
        (u(3 * UNIT), cor(EMISSION), true)
    );
    let out = env
        .chain
        .call(ALICE, NR, claimCall { epochs: vec![0] }.abi_encode())
        .unwrap();
    // Not live: half of the points' worth.
    let rpp = cor(EMISSION) / u(3 * UNIT);
    assert_eq!(info._2, rpp);
    assert_eq!(
        claimCall::abi_decode_returns(&out).unwrap(),
        rpp * u(3 * UNIT) / u(2)
    );
    let err = env
        .chain
        .call(ALICE, NR, claimCall { epochs: vec![0] }.abi_encode())
        .unwrap_err();
    assert_eq!(
        AlreadyClaimed::abi_decode(&err).unwrap(),
        AlreadyClaimed {
            node: ALICE,
            epoch: 0
        }
    );
    let err = env
        .chain
        .call(
            ALICE,
            NR,
            creditCall {
                node: ALICE,
                taskWeight: 3,
            }
            .abi_encode(),
        )
        .unwrap_err();
    assert_eq!(
        UnauthorizedCaller::abi_decode(&err).unwrap(),
        UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
    );
}

mod properties {
    //! Invariants 1 and 6 over random sequences of credits, funding, slashes swept in,
    //! heartbeats, time, finalizations (in and out of order, repeated) and claims.
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const NODES: [Address; 3] = [ALICE, BOB, CAROL];

    #[derive(Debug, Clone)]
    enum Op {
        Credit(usize, u64),
        Fund(u64),
        SlashAndSweep(usize, u64),
        Heartbeat(usize),
        Advance(u64),
        Finalize(u64),
        Claim(usize, Vec<u64>),
        Agree(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..3usize, 1..50u64).prop_map(|(n, w)| Op::Credit(n, w)),
            2 => (1..3_000u64).prop_map(Op::Fund),
            1 => (0..3usize, 1..100u64).prop_map(|(n, a)| Op::SlashAndSweep(n, a)),
            2 => (0..3usize).prop_map(Op::Heartbeat),
            3 => (1..2 * EPOCH).prop_map(Op::Advance),
            4 => (0..12u64).prop_map(Op::Finalize),
            4 => (0..3usize, proptest::collection::vec(0..12u64, 0..4))
                .prop_map(|(n, e)| Op::Claim(n, e)),
            1 => (0..3usize, 1..30usize).prop_map(|(n, k)| Op::Agree(n, k)),
        ]
    }

    /// Per epoch: what claims paid, returned, and the points claimed.
    #[derive(Default, Debug)]
    struct Paid {
        paid: U256,
        returned: U256,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn cor_is_conserved_and_epochs_pay_at_most_their_emission(
            initial in 0..5_000u64,
            ops in proptest::collection::vec(op(), 1..60)
        ) {
            let mut env = setup();
            if initial > 0 {
                env.fund(cor(initial)).unwrap();
            }
            // COR transferred in and not absorbed yet.
            let mut inflow = U256::ZERO;
            let mut paid: BTreeMap<u64, Paid> = BTreeMap::new();
            let mut claimed: BTreeMap<(usize, u64), U256> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Credit(n, w) => {
                        let before = env.nr.epoch_info(env.epoch()).0;
                        env.credit(NODES[n], w).unwrap();
                        prop_assert!(env.nr.epoch_info(env.epoch()).0 >= before);
                    }
                    Op::Fund(v) => env.fund(cor(v)).unwrap(),
                    Op::SlashAndSweep(n, a) => {
                        env.chain.set_sender(QUEUE);
                        env.np.slash(NODES[n], cor(a), 1).unwrap();
                        env.chain.set_sender(KEEPER);
                        let np = &mut env.np;
                        if let Ok(swept) = env.chain.tx(|| np.sweep_slashed()) {
                            inflow += swept;
                        }
                    }
                    Op::Heartbeat(n) => {
                        env.chain.set_sender(NODES[n]);
                        let np = &mut env.np;
                        let _ = env.chain.tx(|| np.heartbeat());
                    }
                    Op::Advance(s) => env.chain.advance(s),
                    Op::Finalize(e) => {
                        let next = env.nr.next_epoch_to_finalize();
                        let was = env.nr.epoch_info(e);
                        let accounts = env.nr.accounts();
                        match env.finalize(e) {
                            Ok(bounty) if e < next => {
                                prop_assert_eq!(bounty, U256::ZERO);
                                prop_assert_eq!(env.nr.epoch_info(e), was);
                                prop_assert_eq!(env.nr.accounts(), accounts);
                            }
                            Ok(_) => {
                                prop_assert_eq!(e, next);
                                prop_assert!(!was.3);
                                inflow = U256::ZERO;
                                let (total, emission, rpp, done) = env.nr.epoch_info(e);
                                prop_assert!(done);
                                prop_assert_eq!(total, was.0);
                                prop_assert!(rpp * total <= emission);
                                prop_assert_eq!(env.nr.next_epoch_to_finalize(), e + 1);
                            }
                            Err(Error::EpochNotEnded(_)) => prop_assert!(e >= env.epoch()),
                            Err(Error::EpochOutOfOrder(err)) => {
                                prop_assert!(e > next && e < env.epoch());
                                prop_assert_eq!(err.next, next);
                            }
                            Err(other) => prop_assert!(false, "finalize: {:?}", other),
                        }
                    }
                    Op::Claim(n, epochs) => {
                        env.chain.take_logs();
                        let before = env.token.balance_of(NODES[n]);
                        match env.claim(NODES[n], &epochs) {
                            Ok(total) => {
                                prop_assert_eq!(env.token.balance_of(NODES[n]), before + total);
                                for c in env.chain.events::<Claimed>() {
                                    let p = paid.entry(c.epoch).or_default();
                                    p.paid += c.amount;
                                    p.returned += c.returned;
                                    prop_assert!(claimed.insert((n, c.epoch), c.amount).is_none());
                                }
                            }
                            Err(Error::AlreadyClaimed(c)) => {
                                prop_assert!(
                                    claimed.contains_key(&(n, c.epoch))
                                        || epochs.iter().filter(|&&e| e == c.epoch).count() > 1
                                );
                            }
                            Err(Error::EpochNotFinalized(c)) => prop_assert!(!env.nr.epoch_info(c.epoch).3),
                            Err(Error::NothingToClaim(c)) => {
                                prop_assert_eq!(env.nr.points_of(NODES[n], c.epoch), U256::ZERO);
                            }
                            Err(other) => prop_assert!(false, "claim: {:?}", other),
                        }
                    }
                    Op::Agree(n, k) => {
                        env.agree(NODES[n], k);
                    }
                }
                // Invariant 1: the balance is what is owed plus what has not been
                // absorbed yet; carried emission is part of the pool.
                let (pool, unclaimed, carried) = env.nr.accounts();
                prop_assert_eq!(env.token.balance_of(NR), pool + unclaimed + inflow);
                prop_assert!(carried <= pool);
                // Invariant 6: per finalized epoch, payouts (and what returned to the
                // pool) stay within what it distributed, itself within its emission;
                // unclaimed is exactly what finalized epochs still owe.
                let mut owed = U256::ZERO;
                for e in 0..env.nr.next_epoch_to_finalize() {
                    let (total, emission, rpp, done) = env.nr.epoch_info(e);
                    prop_assert!(done);
                    let distributed = rpp * total;
                    prop_assert!(distributed <= emission);
                    let p = paid.get(&e).map_or((U256::ZERO, U256::ZERO), |p| (p.paid, p.returned));
                    prop_assert!(p.0 + p.1 <= distributed);
                    prop_assert!(p.0 <= emission);
                    owed += distributed - p.0 - p.1;
                }
                prop_assert_eq!(unclaimed, owed);
            }
            // Unclaimed rewards stay claimable: finalize everything that ended and claim
            // every node's every epoch with points; nothing stays owed.
            env.next_epoch();
            while env.nr.next_epoch_to_finalize() < env.epoch() {
                let next = env.nr.next_epoch_to_finalize();
                env.finalize(next).unwrap();
            }
            for (n, node) in NODES.iter().enumerate() {
                let epochs: Vec<u64> = (0..env.epoch())
                    .filter(|&e| !claimed.contains_key(&(n, e)))
                    .filter(|&e| env.nr.points_of(*node, e) > U256::ZERO)
                    .collect();
                env.claim(*node, &epochs).unwrap();
            }
            prop_assert_eq!(env.nr.accounts().1, U256::ZERO);
            env.assert_conserved();
        }
    }
}
