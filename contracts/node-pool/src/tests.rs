//! Unit tests: construction, the model registry, registration, model changes, top-ups,
//! exit and withdrawal, heartbeats, slashing and sweeping, jailing, the eligible sets,
//! parameters, administration, the pause and the ABI router; property tests for
//! invariants 1 and 7 of `PROTOCOL.md` and for the eligible sets.
//!
//! Every event NodePool emits goes through the untyped word encoder, so the tests decode
//! each one with its `sol!` type: that pins the encoding.

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_testkit::TestChain;
use cor_token::CorToken;

use super::*;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const NP: Address = address!("00000000000000000000000000000000000c0402");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const QUEUE: Address = address!("0000000000000000000000000000000000005e00");
const POOL: Address = address!("00000000000000000000000000000000000c0a11");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const CAROL: Address = address!("000000000000000000000000000000000000ca01");
const DAVE: Address = address!("000000000000000000000000000000000000da7e");

/// Epoch 0 starts when the test chain does.
const GENESIS: u64 = 1_700_000_000;
const EPOCH: u64 = 3_600;
const DAY: u64 = 86_400;
const UNBONDING: u64 = 7 * DAY;
const DELAY: u64 = 3_600;
/// Minimum stake at construction, whole COR.
const MIN: u64 = 10_000;
/// COR each operator holds at setup.
const FUNDS: u64 = 1_000_000;

/// Registered models: 1 and 2 Light, 3 Heavy.
const M1: u32 = 1;
const M2: u32 = 2;
const M3: u32 = 3;

fn u(v: u64) -> U256 {
    U256::from(v)
}

/// `n` whole COR in wei.
fn cor(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

fn name(model: u32) -> B256 {
    B256::with_last_byte(model as u8)
}

struct Env {
    chain: TestChain,
    token: CorToken,
    np: NodePool,
}

impl Env {
    fn as_owner(&self) {
        self.chain.set_sender(OWNER);
    }

    fn register(&mut self, node: Address, models: &[u32]) -> Result<(), Error> {
        self.chain.set_sender(node);
        let np = &mut self.np;
        let models = models.to_vec();
        self.chain
            .tx(|| np.register(models, B256::repeat_byte(0x11)))
    }

    fn slash(&mut self, node: Address, amount: U256) -> Result<U256, Error> {
        self.chain.set_sender(QUEUE);
        let np = &mut self.np;
        self.chain.tx(|| np.slash(node, amount, 7))
    }

    fn as_node<T>(
        &mut self,
        node: Address,
        f: impl FnOnce(&mut NodePool) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.chain.set_sender(node);
        let np = &mut self.np;
        self.chain.tx(|| f(np))
    }

    fn status(&self, node: Address) -> u8 {
        self.np.node(node).0
    }

    fn stake(&self, node: Address) -> U256 {
        self.np.node(node).1
    }

    /// The members of `model`'s eligible set, sorted.
    fn eligible(&self, model: u32) -> Vec<Address> {
        let count = self.np.eligible_count(model);
        let mut members: Vec<Address> = (0..count)
            .map(|i| self.np.eligible_at(model, i).unwrap())
            .collect();
        members.sort();
        members
    }

    /// The token balance of the contract equals what it owes.
    fn assert_conserved(&self) {
        assert_eq!(self.token.balance_of(NP), self.np.total_owed());
        let (_, staked, slashed) = self.np.totals();
        assert_eq!(staked + slashed, self.np.total_owed());
    }

    fn set_param(&mut self, id: u8, value: U256) {
        self.as_owner();
        self.np.schedule_param(id, value).unwrap();
        self.chain.advance(DELAY);
    }
}

fn deploy_args(
    token: Address,
    owner: Address,
    min: U256,
    unbonding: u64,
    length: u64,
    delay: u64,
) -> Vec<u8> {
    (token, owner, min, unbonding, GENESIS, length, delay).abi_encode_params()
}

/// CorToken and NodePool deployed, models 1..=3 registered, QUEUE as SessionQueue, POOL as
/// reward pool, the operators funded and approving NodePool, logs cleared.
fn setup() -> Env {
    let chain = TestChain::new();
    assert_eq!(chain.timestamp(), GENESIS);
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(U256::MAX, OWNER).abi_encode_params())
        .expect("token constructor succeeds");
    chain
        .deploy::<NodePool>(
            NP,
            &deploy_args(TOKEN, OWNER, cor(MIN), UNBONDING, EPOCH, DELAY),
        )
        .expect("node pool constructor succeeds");
    let mut token = chain.at::<CorToken>(TOKEN);
    let mut np = chain.at::<NodePool>(NP);
    np.set_session_queue(QUEUE).unwrap();
    np.set_reward_pool(POOL).unwrap();
    np.set_model(M1, CLASS_LIGHT, name(M1), true).unwrap();
    np.set_model(M2, CLASS_LIGHT, name(M2), true).unwrap();
    np.set_model(M3, CLASS_HEAVY, name(M3), true).unwrap();
    for holder in [ALICE, BOB, CAROL, DAVE] {
        chain.set_sender(OWNER);
        token.mint(holder, cor(FUNDS)).unwrap();
        chain.set_sender(holder);
        token.approve(NP, U256::MAX).unwrap();
    }
    chain.set_sender(OWNER);
    chain.take_logs();
    Env { chain, token, np }
}

/// `setup` plus ALICE registered for models 1 and 2; logs cleared.
fn registered() -> Env {
    let mut env = setup();
    env.register(ALICE, &[M1, M2]).unwrap();
    env.chain.take_logs();
    env
}

fn wrong_status(node: Address, status: u8, required: u8) -> Error {
    WrongNodeStatus {
        node,
        status,
        required,
    }
    .into()
}

// ---- Construction ---------------------------------------------------------------------

#[test]
fn constructor_sets_links_clock_and_default_params() {
    let chain = TestChain::new();
    chain.set_sender(QUEUE); // the deployer is not the admin
    chain
        .deploy::<NodePool>(
            NP,
            &deploy_args(TOKEN, OWNER, cor(MIN), UNBONDING, EPOCH, DELAY),
        )
        .unwrap();
    let np = chain.at::<NodePool>(NP);
    assert_eq!(np.links(), (TOKEN, Address::ZERO, Address::ZERO));
    assert_eq!(np.owner(), OWNER);
    assert!(!np.paused());
    assert_eq!(np.param_delay(), DELAY);
    assert_eq!(np.epoch(), (0, GENESIS, EPOCH));
    assert_eq!(np.param(PARAM_MIN_STAKE), Ok(cor(MIN)));
    assert_eq!(np.param(PARAM_UNBONDING_PERIOD), Ok(u(UNBONDING)));
    assert_eq!(
        np.param(PARAM_MAX_MODELS_PER_NODE),
        Ok(u(DEFAULT_MAX_MODELS_PER_NODE.into()))
    );
    assert_eq!(np.param(3), Err(UnknownParam { id: 3 }.into()));
    assert_eq!(np.totals(), (0, U256::ZERO, U256::ZERO));
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: OWNER
        }]
    );
    assert_eq!(chain.events::<ParamScheduled>().len(), 3);
}

#[test]
fn constructor_rejects_bad_arguments() {
    let chain = TestChain::new();
    let cases: [(Vec<u8>, Error); 6] = [
        (
            deploy_args(Address::ZERO, OWNER, cor(MIN), UNBONDING, EPOCH, DELAY),
            InvalidToken {
                token: Address::ZERO,
            }
            .into(),
        ),
        (
            deploy_args(TOKEN, Address::ZERO, cor(MIN), UNBONDING, EPOCH, DELAY),
            OwnableInvalidOwner {
                owner: Address::ZERO,
            }
            .into(),
        ),
        (
            deploy_args(TOKEN, OWNER, U256::ZERO, UNBONDING, EPOCH, DELAY),
            ParamOutOfBounds {
                id: PARAM_MIN_STAKE,
                value: U256::ZERO,
                min: cor(1),
                max: cor(1_000_000),
            }
            .into(),
        ),
        (
            deploy_args(TOKEN, OWNER, cor(MIN), 59, EPOCH, DELAY),
            ParamOutOfBounds {
                id: PARAM_UNBONDING_PERIOD,
                value: u(59),
                min: u(60),
                max: u(60 * DAY),
            }
            .into(),
        ),
        (
            deploy_args(TOKEN, OWNER, cor(MIN), UNBONDING, 0, DELAY),
            InvalidPeriod {
                genesis: GENESIS,
                length: 0,
            }
            .into(),
        ),
        (
            deploy_args(TOKEN, OWNER, cor(MIN), UNBONDING, EPOCH, 1),
            ParamDelayOutOfBounds {
                delay: 1,
                min: 60,
                max: 30 * DAY,
            }
            .into(),
        ),
    ];
    for (i, (args, expected)) in cases.into_iter().enumerate() {
        let at = Address::with_last_byte(0x40 + i as u8);
        let err = chain.deploy::<NodePool>(at, &args).unwrap_err();
        assert_eq!(err, Vec::<u8>::from(expected), "case {i}");
    }
}

// ---- Model registry -------------------------------------------------------------------

#[test]
fn owner_registers_updates_and_disables_models() {
    let mut env = setup();
    assert_eq!(env.np.model(M3), (CLASS_HEAVY, name(M3), true));
    assert_eq!(env.np.model(99), (0, B256::ZERO, false));
    env.as_owner();
    env.np.set_model(M3, CLASS_MEDIUM, name(30), false).unwrap();
    assert_eq!(env.np.model(M3), (CLASS_MEDIUM, name(30), false));
    assert_eq!(
        env.chain.events::<ModelSet>(),
        vec![ModelSet {
            modelId: M3,
            class: CLASS_MEDIUM,
            nameHash: name(30),
            enabled: false
        }]
    );
    assert_eq!(
        env.np.set_model(0, CLASS_LIGHT, name(0), true),
        Err(InvalidModel {
            modelId: 0,
            class: CLASS_LIGHT
        }
        .into())
    );
    assert_eq!(
        env.np.set_model(9, 3, name(9), true),
        Err(InvalidModel {
            modelId: 9,
            class: 3
        }
        .into())
    );
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.np.set_model(9, CLASS_LIGHT, name(9), true),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

// ---- Registration ---------------------------------------------------------------------

#[test]
fn register_pulls_the_min_stake_and_lists_the_node() {
    let mut env = setup();
    env.register(ALICE, &[M1, M3]).unwrap();
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS - MIN));
    assert_eq!(env.token.balance_of(NP), cor(MIN));
    assert_eq!(
        env.np.node(ALICE),
        (
            STATUS_ACTIVE,
            cor(MIN),
            2,
            GENESIS,
            0,
            0,
            0,
            false,
            B256::repeat_byte(0x11)
        )
    );
    assert_eq!(env.np.node_models(ALICE), vec![M1, M3]);
    assert_eq!(env.np.totals(), (1, cor(MIN), U256::ZERO));
    assert_eq!(env.eligible(M1), vec![ALICE]);
    assert_eq!(env.eligible(M3), vec![ALICE]);
    assert!(env.eligible(M2).is_empty());
    assert_eq!(
        env.chain.events::<NodeRegistered>(),
        vec![NodeRegistered {
            node: ALICE,
            stake: cor(MIN),
            metadata: B256::repeat_byte(0x11)
        }]
    );
    assert_eq!(
        env.chain.events::<ModelsUpdated>(),
        vec![ModelsUpdated {
            node: ALICE,
            models: vec![M1, M3]
        }]
    );
    assert_eq!(
        env.chain.events::<EligibilityChanged>(),
        vec![EligibilityChanged {
            node: ALICE,
            eligible: true
        }]
    );
    env.assert_conserved();
}

#[test]
fn register_rejects_bad_declarations_and_changes_nothing() {
    let mut env = setup();
    let max = DEFAULT_MAX_MODELS_PER_NODE;
    let too_many: Vec<u32> = (1..=max + 1).collect();
    let cases: [(Vec<u32>, Error); 5] = [
        (vec![], ModelCountOutOfRange { count: 0, max }.into()),
        (
            too_many,
            ModelCountOutOfRange {
                count: max + 1,
                max,
            }
            .into(),
        ),
        (vec![M1, 42], ModelUnavailable { modelId: 42 }.into()),
        (vec![M1, M2, M1], DuplicateModel { modelId: M1 }.into()),
        (vec![0], ModelUnavailable { modelId: 0 }.into()),
    ];
    for (models, expected) in cases {
        assert_eq!(env.register(ALICE, &models), Err(expected));
    }
    env.as_owner();
    env.np.set_model(M2, CLASS_LIGHT, name(M2), false).unwrap();
    assert_eq!(
        env.register(ALICE, &[M2]),
        Err(ModelUnavailable { modelId: M2 }.into())
    );
    assert_eq!(env.status(ALICE), STATUS_NONE);
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS));
    assert_eq!(env.np.totals(), (0, U256::ZERO, U256::ZERO));
    assert!(env
        .chain
        .logs()
        .iter()
        .all(|l| l.address != NP || l.decode::<ModelSet>().is_some()));
}

#[test]
fn register_twice_or_without_allowance_fails() {
    let mut env = registered();
    assert_eq!(
        env.register(ALICE, &[M1]),
        Err(NodeAlreadyRegistered { node: ALICE }.into())
    );
    env.chain.set_sender(BOB);
    env.token.approve(NP, U256::ZERO).unwrap();
    let err = env.register(BOB, &[M1]).unwrap_err();
    assert!(matches!(err, Error::TokenTransferFailed(_)), "{err:?}");
    assert_eq!(env.status(BOB), STATUS_NONE);
    assert_eq!(env.eligible(M1), vec![ALICE]);
    env.assert_conserved();
}

#[test]
fn a_node_registers_again_after_withdrawing() {
    let mut env = registered();
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    assert_eq!(
        env.register(ALICE, &[M1]),
        Err(NodeAlreadyRegistered { node: ALICE }.into())
    );
    env.chain.advance(UNBONDING);
    env.as_node(ALICE, |np| np.withdraw()).unwrap();
    assert_eq!(env.np.node_models(ALICE), Vec::<u32>::new());
    env.register(ALICE, &[M3]).unwrap();
    assert_eq!(env.status(ALICE), STATUS_ACTIVE);
    assert_eq!(env.eligible(M3), vec![ALICE]);
    assert!(env.eligible(M1).is_empty());
    assert_eq!(env.np.totals().0, 1);
    env.assert_conserved();
}

// ---- Models of a node -----------------------------------------------------------------

#[test]
fn set_models_moves_the_node_between_eligible_sets() {
    let mut env = registered();
    env.register(BOB, &[M1]).unwrap();
    env.chain.take_logs();
    env.as_node(ALICE, |np| np.set_models(vec![M2, M3]))
        .unwrap();
    assert_eq!(env.np.node_models(ALICE), vec![M2, M3]);
    assert_eq!(env.eligible(M1), vec![BOB]);
    assert_eq!(env.eligible(M2), vec![ALICE]);
    assert_eq!(env.eligible(M3), vec![ALICE]);
    assert_eq!(env.np.node(ALICE).2, 2);
    assert_eq!(
        env.chain.events::<ModelsUpdated>(),
        vec![ModelsUpdated {
            node: ALICE,
            models: vec![M2, M3]
        }]
    );
    assert_eq!(
        env.as_node(CAROL, |np| np.set_models(vec![M1])),
        Err(wrong_status(CAROL, STATUS_NONE, STATUS_ACTIVE))
    );
    assert_eq!(
        env.as_node(ALICE, |np| np.set_models(vec![M1, 7])),
        Err(ModelUnavailable { modelId: 7 }.into())
    );
    assert_eq!(env.np.node_models(ALICE), vec![M2, M3]);
}

#[test]
fn a_jailed_node_changes_models_without_joining_sets() {
    let mut env = registered();
    env.as_owner();
    env.np.set_jailed(ALICE, true).unwrap();
    env.as_node(ALICE, |np| np.set_models(vec![M3])).unwrap();
    assert!(env.eligible(M3).is_empty());
    env.as_owner();
    env.np.set_jailed(ALICE, false).unwrap();
    assert_eq!(env.eligible(M3), vec![ALICE]);
    assert!(env.eligible(M1).is_empty());
}

// ---- Top-up ---------------------------------------------------------------------------

#[test]
fn top_up_adds_stake_and_restores_eligibility() {
    let mut env = registered();
    env.slash(ALICE, cor(1)).unwrap();
    assert!(
        env.eligible(M1).is_empty(),
        "below the minimum after a slash"
    );
    env.chain.take_logs();
    env.as_node(ALICE, |np| np.top_up(cor(5))).unwrap();
    assert_eq!(env.stake(ALICE), cor(MIN + 4));
    assert_eq!(env.eligible(M1), vec![ALICE]);
    assert_eq!(
        env.chain.events::<StakeAdded>(),
        vec![StakeAdded {
            node: ALICE,
            amount: cor(5),
            stake: cor(MIN + 4)
        }]
    );
    assert_eq!(
        env.chain.events::<EligibilityChanged>(),
        vec![EligibilityChanged {
            node: ALICE,
            eligible: true
        }]
    );
    assert_eq!(
        env.as_node(ALICE, |np| np.top_up(U256::ZERO)),
        Err(ZeroAmount {}.into())
    );
    assert_eq!(
        env.as_node(BOB, |np| np.top_up(cor(1))),
        Err(wrong_status(BOB, STATUS_NONE, STATUS_ACTIVE))
    );
    env.assert_conserved();
}

// ---- Exit -----------------------------------------------------------------------------

#[test]
fn exit_unlists_at_once_and_withdraw_waits_for_the_unbonding_period() {
    let mut env = registered();
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    let unlock = GENESIS + UNBONDING;
    assert_eq!(env.status(ALICE), STATUS_UNBONDING);
    assert_eq!(env.np.node(ALICE).4, unlock);
    assert!(env.eligible(M1).is_empty() && env.eligible(M2).is_empty());
    assert_eq!(
        env.chain.events::<ExitRequested>(),
        vec![ExitRequested {
            node: ALICE,
            unlockAt: unlock
        }]
    );
    assert_eq!(
        env.as_node(ALICE, |np| np.request_exit()),
        Err(wrong_status(ALICE, STATUS_UNBONDING, STATUS_ACTIVE))
    );
    assert_eq!(
        env.as_node(ALICE, |np| np.heartbeat()),
        Err(wrong_status(ALICE, STATUS_UNBONDING, STATUS_ACTIVE))
    );
    env.chain.advance(UNBONDING - 1);
    assert_eq!(
        env.as_node(ALICE, |np| np.withdraw()),
        Err(StillUnbonding {
            node: ALICE,
            unlockAt: unlock
        }
        .into())
    );
    env.chain.advance(1);
    env.chain.take_logs();
    assert_eq!(env.as_node(ALICE, |np| np.withdraw()), Ok(cor(MIN)));
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS));
    assert_eq!(env.status(ALICE), STATUS_EXITED);
    assert_eq!(env.np.totals(), (0, U256::ZERO, U256::ZERO));
    assert_eq!(
        env.chain.events::<Withdrawn>(),
        vec![Withdrawn {
            node: ALICE,
            amount: cor(MIN)
        }]
    );
    assert_eq!(
        env.as_node(ALICE, |np| np.withdraw()),
        Err(wrong_status(ALICE, STATUS_EXITED, STATUS_UNBONDING))
    );
    assert_eq!(
        env.as_node(BOB, |np| np.withdraw()),
        Err(wrong_status(BOB, STATUS_NONE, STATUS_UNBONDING))
    );
    env.assert_conserved();
}

#[test]
fn the_unbonding_period_is_the_one_in_effect_at_the_request() {
    let mut env = registered();
    env.set_param(PARAM_UNBONDING_PERIOD, u(DAY));
    let now = env.chain.timestamp();
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    assert_eq!(env.np.node(ALICE).4, now + DAY);
}

// ---- Liveness -------------------------------------------------------------------------

#[test]
fn heartbeat_counts_once_per_epoch() {
    let mut env = registered();
    env.chain.advance(2 * EPOCH + 10);
    env.as_node(ALICE, |np| np.heartbeat()).unwrap();
    assert!(env.np.is_live(ALICE, 2));
    assert!(!env.np.is_live(ALICE, 1));
    assert_eq!(
        env.as_node(ALICE, |np| np.heartbeat()),
        Err(HeartbeatAlreadySent {
            node: ALICE,
            epoch: 2
        }
        .into())
    );
    assert_eq!(
        env.chain.events::<Heartbeat>(),
        vec![Heartbeat {
            node: ALICE,
            epoch: 2
        }]
    );
    env.chain.advance(EPOCH);
    env.as_node(ALICE, |np| np.heartbeat()).unwrap();
    let record = env.np.node(ALICE);
    assert_eq!((record.5, record.6), (3, 2), "last live epoch, live epochs");
    assert!(!env.np.is_live(BOB, 0), "never live");
    assert_eq!(
        env.as_node(BOB, |np| np.heartbeat()),
        Err(wrong_status(BOB, STATUS_NONE, STATUS_ACTIVE))
    );
}

#[test]
fn epoch_follows_the_clock() {
    let env = setup();
    assert_eq!(env.np.epoch().0, 0);
    env.chain.advance(EPOCH - 1);
    assert_eq!(env.np.epoch().0, 0);
    env.chain.advance(1);
    assert_eq!(env.np.epoch().0, 1);
    env.chain.advance(10 * EPOCH);
    assert_eq!(env.np.epoch(), (11, GENESIS, EPOCH));
}

// ---- Slashing and sweeping ------------------------------------------------------------

#[test]
fn slash_takes_at_most_the_stake_and_unlists_an_under_staked_node() {
    let mut env = registered();
    assert_eq!(env.slash(ALICE, cor(100)), Ok(cor(100)));
    assert_eq!(env.stake(ALICE), cor(MIN - 100));
    assert!(env.eligible(M1).is_empty());
    assert_eq!(
        env.chain.events::<Slashed>(),
        vec![Slashed {
            node: ALICE,
            amount: cor(100),
            reason: 7,
            remainingStake: cor(MIN - 100)
        }]
    );
    assert_eq!(
        env.chain.events::<EligibilityChanged>(),
        vec![EligibilityChanged {
            node: ALICE,
            eligible: false
        }]
    );
    assert_eq!(env.slash(ALICE, cor(1_000_000)), Ok(cor(MIN - 100)));
    assert_eq!(env.stake(ALICE), U256::ZERO);
    assert_eq!(env.np.totals(), (1, U256::ZERO, cor(MIN)));
    env.assert_conserved();
    assert_eq!(
        env.slash(BOB, cor(1)),
        Err(wrong_status(BOB, STATUS_NONE, STATUS_NONE))
    );
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.np.slash(ALICE, cor(1), 1),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
}

#[test]
fn unbonding_nodes_are_slashed_and_exited_nodes_are_slashed_zero() {
    let mut env = registered();
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    assert_eq!(env.slash(ALICE, cor(1)), Ok(cor(1)));
    env.chain.advance(UNBONDING);
    assert_eq!(env.as_node(ALICE, |np| np.withdraw()), Ok(cor(MIN - 1)));
    assert_eq!(env.slash(ALICE, cor(1)), Ok(U256::ZERO));
    env.assert_conserved();
}

#[test]
fn sweep_sends_the_slashed_balance_to_the_reward_pool() {
    let mut env = registered();
    assert_eq!(env.np.sweep_slashed(), Err(NothingToSweep {}.into()));
    env.slash(ALICE, cor(40)).unwrap();
    env.chain.set_sender(CAROL); // anyone
    assert_eq!(env.np.sweep_slashed(), Ok(cor(40)));
    assert_eq!(env.token.balance_of(POOL), cor(40));
    assert_eq!(env.np.totals().2, U256::ZERO);
    assert_eq!(
        env.chain.events::<SlashedSwept>(),
        vec![SlashedSwept {
            rewardPool: POOL,
            amount: cor(40)
        }]
    );
    env.assert_conserved();
}

#[test]
fn sweep_needs_a_reward_pool() {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<NodePool>(
            NP,
            &deploy_args(TOKEN, OWNER, cor(MIN), UNBONDING, EPOCH, DELAY),
        )
        .unwrap();
    let mut np = chain.at::<NodePool>(NP);
    assert_eq!(np.sweep_slashed(), Err(RewardPoolNotSet {}.into()));
}

// ---- Jailing and eligibility ----------------------------------------------------------

#[test]
fn jail_unlists_and_outlives_an_exit() {
    let mut env = registered();
    env.as_owner();
    env.np.set_jailed(ALICE, true).unwrap();
    assert!(env.eligible(M1).is_empty());
    assert!(env.np.node(ALICE).7);
    assert_eq!(
        env.chain.events::<Jailed>(),
        vec![Jailed {
            node: ALICE,
            jailed: true
        }]
    );
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    env.chain.advance(UNBONDING);
    env.as_node(ALICE, |np| np.withdraw()).unwrap();
    env.register(ALICE, &[M1]).unwrap();
    assert!(env.eligible(M1).is_empty(), "still jailed");
    env.as_owner();
    env.np.set_jailed(ALICE, false).unwrap();
    assert_eq!(env.eligible(M1), vec![ALICE]);
    assert_eq!(
        env.np.set_jailed(BOB, true),
        Err(wrong_status(BOB, STATUS_NONE, STATUS_NONE))
    );
    env.chain.set_sender(BOB);
    assert_eq!(
        env.np.set_jailed(ALICE, true),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

#[test]
fn removal_swaps_the_last_member_into_the_gap() {
    let mut env = setup();
    for node in [ALICE, BOB, CAROL, DAVE] {
        env.register(node, &[M1]).unwrap();
    }
    assert_eq!(env.np.eligible_at(M1, 0), Ok(ALICE));
    assert_eq!(env.np.eligible_at(M1, 3), Ok(DAVE));
    env.as_node(BOB, |np| np.request_exit()).unwrap();
    assert_eq!(env.np.eligible_count(M1), 3);
    assert_eq!(env.np.eligible_at(M1, 1), Ok(DAVE), "the last member moved");
    assert_eq!(
        env.np.eligible_at(M1, 3),
        Err(IndexOutOfRange {
            modelId: M1,
            index: 3,
            count: 3
        }
        .into())
    );
    // DAVE's new position is tracked: removing it now removes the right entry.
    env.as_node(DAVE, |np| np.request_exit()).unwrap();
    assert_eq!(env.eligible(M1), vec![ALICE, CAROL]);
}

#[test]
fn a_raised_min_stake_unlists_nodes_on_sync() {
    let mut env = registered();
    env.register(BOB, &[M1]).unwrap();
    env.as_node(BOB, |np| np.top_up(cor(10_000))).unwrap();
    env.set_param(PARAM_MIN_STAKE, cor(MIN + 5_000));
    // Until synced, ALICE stays listed; the sync returns the exact eligibility.
    assert_eq!(env.eligible(M1), vec![ALICE, BOB]);
    env.chain.set_sender(CAROL);
    assert_eq!(env.np.sync_eligibility(ALICE), Ok(false));
    assert_eq!(env.np.sync_eligibility(BOB), Ok(true));
    assert_eq!(env.eligible(M1), vec![BOB]);
    // Lowered again: ALICE's sync brings it back.
    env.set_param(PARAM_MIN_STAKE, cor(MIN));
    assert_eq!(env.np.sync_eligibility(ALICE), Ok(true));
    assert_eq!(env.eligible(M1), vec![ALICE, BOB]);
    // A new registration pays the minimum in effect.
    env.set_param(PARAM_MIN_STAKE, cor(MIN + 1));
    env.register(CAROL, &[M2]).unwrap();
    assert_eq!(env.stake(CAROL), cor(MIN + 1));
}

// ---- Parameters -----------------------------------------------------------------------

#[test]
fn max_models_per_node_limits_declarations() {
    let mut env = setup();
    env.set_param(PARAM_MAX_MODELS_PER_NODE, u(2));
    assert_eq!(
        env.register(ALICE, &[M1, M2, M3]),
        Err(ModelCountOutOfRange { count: 3, max: 2 }.into())
    );
    env.register(ALICE, &[M1, M2]).unwrap();
}

#[test]
fn parameter_changes_are_owner_only_bounded_and_cancellable() {
    let mut env = setup();
    env.as_owner();
    env.np
        .schedule_param(PARAM_MIN_STAKE, cor(MIN + 10_000))
        .unwrap();
    assert_eq!(
        env.np.pending_param(PARAM_MIN_STAKE),
        Ok((cor(MIN + 10_000), GENESIS + DELAY))
    );
    assert_eq!(env.np.param(PARAM_MIN_STAKE), Ok(cor(MIN)));
    env.np.cancel_param(PARAM_MIN_STAKE).unwrap();
    assert_eq!(
        env.np.cancel_param(PARAM_MIN_STAKE),
        Err(NoPendingParam {
            id: PARAM_MIN_STAKE
        }
        .into())
    );
    assert_eq!(env.chain.events::<ParamCancelled>().len(), 1);
    assert!(matches!(
        env.np.schedule_param(PARAM_MIN_STAKE, cor(MIN + 10_001)),
        Err(Error::ParamStepTooLarge(_))
    ));
    assert!(matches!(
        env.np.schedule_param(PARAM_MAX_MODELS_PER_NODE, u(65)),
        Err(Error::ParamOutOfBounds(_))
    ));
    assert_eq!(
        env.np.schedule_param(9, u(1)),
        Err(UnknownParam { id: 9 }.into())
    );
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.np.schedule_param(PARAM_MIN_STAKE, cor(MIN)),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

// ---- Administration and pause ---------------------------------------------------------

#[test]
fn links_are_set_by_the_owner() {
    let mut env = setup();
    assert_eq!(env.np.links(), (TOKEN, POOL, QUEUE));
    env.as_owner();
    env.np.set_reward_pool(CAROL).unwrap();
    assert_eq!(
        env.chain.events::<RewardPoolChanged>(),
        vec![RewardPoolChanged {
            previousPool: POOL,
            newPool: CAROL
        }]
    );
    assert_eq!(
        env.np.set_reward_pool(Address::ZERO),
        Err(InvalidRewardPool {
            pool: Address::ZERO
        }
        .into())
    );
    env.np.set_session_queue(DAVE).unwrap();
    assert_eq!(
        env.chain.events::<RoleSet>(),
        vec![RoleSet {
            role: SESSION_QUEUE_ROLE,
            account: DAVE
        }]
    );
    assert_eq!(env.np.links(), (TOKEN, CAROL, DAVE));
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.np.set_session_queue(ALICE),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn pause_blocks_joining_but_not_leaving() {
    let mut env = registered();
    env.register(BOB, &[M1]).unwrap();
    env.as_owner();
    env.np.pause().unwrap();
    assert_eq!(
        env.chain.events::<Paused>(),
        vec![Paused { account: OWNER }]
    );
    let paused = || Err(Error::from(EnforcedPause {}));
    assert_eq!(env.register(CAROL, &[M1]), paused());
    assert_eq!(env.as_node(ALICE, |np| np.top_up(cor(1))), paused());
    assert_eq!(env.as_node(ALICE, |np| np.set_models(vec![M3])), paused());
    assert_eq!(env.as_node(ALICE, |np| np.heartbeat()), paused());
    // Leaving, slashing and sweeping keep working.
    env.as_node(ALICE, |np| np.request_exit()).unwrap();
    env.slash(BOB, cor(1)).unwrap();
    env.np.sweep_slashed().unwrap();
    env.chain.advance(UNBONDING);
    env.as_node(ALICE, |np| np.withdraw()).unwrap();
    env.as_owner();
    env.np.unpause().unwrap();
    assert_eq!(env.np.unpause(), Err(ExpectedPause {}.into()));
    env.register(CAROL, &[M1]).unwrap();
    env.assert_conserved();
}

#[test]
fn ownership_moves_and_can_be_renounced() {
    let mut env = setup();
    env.as_owner();
    env.np.transfer_ownership(ALICE).unwrap();
    assert_eq!(env.np.owner(), ALICE);
    assert_eq!(
        env.np.pause(),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    env.chain.set_sender(ALICE);
    env.np.renounce_ownership().unwrap();
    assert_eq!(env.np.owner(), Address::ZERO);
    assert_eq!(
        env.np.set_model(9, CLASS_LIGHT, name(9), true),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

// ---- The ABI router -------------------------------------------------------------------

#[test]
fn calls_through_the_abi_router_decode_arrays_tuples_and_typed_errors() {
    use alloy_sol_types::{SolCall, SolError};
    alloy_sol_types::sol! {
        function register(uint32[] models, bytes32 metadata) external;
        function node(address node) external view returns (uint8, uint256, uint32, uint64, uint64, uint64, uint64, bool, bytes32);
        function nodeModels(address node) external view returns (uint32[]);
        function withdraw() external returns (uint256);
    }
    let env = setup();
    let call = registerCall {
        models: vec![M3, M1],
        metadata: B256::repeat_byte(7),
    };
    env.chain.call(BOB, NP, call.abi_encode()).unwrap();
    let out = env
        .chain
        .call(BOB, NP, nodeCall { node: BOB }.abi_encode())
        .unwrap();
    let record = nodeCall::abi_decode_returns(&out).unwrap();
    assert_eq!(record._0, STATUS_ACTIVE);
    assert_eq!(record._1, cor(MIN));
    assert_eq!(record._8, B256::repeat_byte(7));
    let out = env
        .chain
        .call(BOB, NP, nodeModelsCall { node: BOB }.abi_encode())
        .unwrap();
    assert_eq!(
        nodeModelsCall::abi_decode_returns(&out).unwrap(),
        vec![M3, M1]
    );
    let err = env
        .chain
        .call(BOB, NP, withdrawCall {}.abi_encode())
        .unwrap_err();
    assert_eq!(
        WrongNodeStatus::abi_decode(&err).unwrap(),
        WrongNodeStatus {
            node: BOB,
            status: STATUS_ACTIVE,
            required: STATUS_UNBONDING
        }
    );
    // Truncated calldata is rejected, not misread.
    let mut short = call.abi_encode();
    short.truncate(short.len() - 1);
    assert!(env.chain.call(CAROL, NP, short).is_err());
    assert_eq!(env.np.node(CAROL).0, STATUS_NONE);
}

mod properties {
    //! Invariant 1 (conservation) and the eligible sets over random operation sequences;
    //! invariant 7 over random parameter changes.
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    const NODES: [Address; 4] = [ALICE, BOB, CAROL, DAVE];
    const MODELS: [u32; 3] = [M1, M2, M3];

    #[derive(Debug, Clone)]
    enum Op {
        Register(usize, Vec<usize>),
        SetModels(usize, Vec<usize>),
        TopUp(usize, u64),
        Exit(usize),
        Withdraw(usize),
        Slash(usize, u64),
        Jail(usize, bool),
        Heartbeat(usize),
        Sweep,
        Advance(u64),
    }

    fn models() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0..3usize, 0..4)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..4usize, models()).prop_map(|(n, m)| Op::Register(n, m)),
            2 => (0..4usize, models()).prop_map(|(n, m)| Op::SetModels(n, m)),
            2 => (0..4usize, 0..3_000u64).prop_map(|(n, v)| Op::TopUp(n, v)),
            1 => (0..4usize).prop_map(Op::Exit),
            1 => (0..4usize).prop_map(Op::Withdraw),
            2 => (0..4usize, 0..12_000u64).prop_map(|(n, v)| Op::Slash(n, v)),
            1 => (0..4usize, any::<bool>()).prop_map(|(n, j)| Op::Jail(n, j)),
            1 => (0..4usize).prop_map(Op::Heartbeat),
            1 => Just(Op::Sweep),
            1 => prop_oneof![Just(EPOCH), Just(UNBONDING), 1..2 * EPOCH].prop_map(Op::Advance),
        ]
    }

    /// Whether `node` should be in the eligible sets right now.
    fn should_be_listed(env: &Env, node: Address) -> bool {
        let record = env.np.node(node);
        record.0 == STATUS_ACTIVE && !record.7 && record.1 >= env.np.param(PARAM_MIN_STAKE).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Invariant 1 and the eligible sets: after every operation the contract's COR
        /// balance equals what it owes (stakes plus the slashed balance), the stakes add up
        /// to `totalStaked`, the node count matches, and each model's eligible set holds
        /// exactly the Active, unjailed, sufficiently staked nodes serving it, each once.
        #[test]
        fn stake_is_conserved_and_eligible_sets_stay_exact(
            ops in proptest::collection::vec(op(), 1..40)
        ) {
            let mut env = setup();
            for op in ops {
                let result = match op {
                    Op::Register(n, m) => {
                        let models: Vec<u32> = m.iter().map(|&i| MODELS[i]).collect();
                        env.register(NODES[n], &models).map(|_| ())
                    }
                    Op::SetModels(n, m) => {
                        let models: Vec<u32> = m.iter().map(|&i| MODELS[i]).collect();
                        env.as_node(NODES[n], |np| np.set_models(models))
                    }
                    Op::TopUp(n, v) => env.as_node(NODES[n], |np| np.top_up(cor(v))),
                    Op::Exit(n) => env.as_node(NODES[n], |np| np.request_exit()),
                    Op::Withdraw(n) => env.as_node(NODES[n], |np| np.withdraw()).map(|_| ()),
                    Op::Slash(n, v) => env.slash(NODES[n], cor(v)).map(|_| ()),
                    Op::Jail(n, j) => {
                        env.as_owner();
                        let np = &mut env.np;
                        env.chain.tx(|| np.set_jailed(NODES[n], j))
                    }
                    Op::Heartbeat(n) => env.as_node(NODES[n], |np| np.heartbeat()),
                    Op::Sweep => {
                        let np = &mut env.np;
                        env.chain.tx(|| np.sweep_slashed()).map(|_| ())
                    }
                    Op::Advance(secs) => {
                        env.chain.advance(secs);
                        Ok(())
                    }
                };
                // Only typed errors; no operation may break what follows.
                let _ = result;
                prop_assert_eq!(env.token.balance_of(NP), env.np.total_owed());
                let (count, staked, _) = env.np.totals();
                let mut sum = U256::ZERO;
                let mut live = 0u64;
                for node in NODES {
                    let record = env.np.node(node);
                    sum += record.1;
                    if record.0 == STATUS_ACTIVE || record.0 == STATUS_UNBONDING {
                        live += 1;
                    }
                }
                prop_assert_eq!(sum, staked);
                prop_assert_eq!(live, count);
                for model in MODELS {
                    let members = env.eligible(model);
                    let distinct: BTreeSet<Address> = members.iter().copied().collect();
                    prop_assert_eq!(distinct.len(), members.len(), "a node listed twice");
                    let expected: BTreeSet<Address> = NODES
                        .into_iter()
                        .filter(|&n| should_be_listed(&env, n) && env.np.node_models(n).contains(&model))
                        .collect();
                    prop_assert_eq!(distinct, expected, "model {}", model);
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum ParamOp {
        Schedule(u8, u64, bool),
        Cancel(u8),
        Advance(u64),
    }

    fn param_op() -> impl Strategy<Value = ParamOp> {
        prop_oneof![
            4 => (0..4u8, any::<u64>(), any::<bool>())
                .prop_map(|(id, v, near)| ParamOp::Schedule(id, v, near)),
            1 => (0..4u8).prop_map(ParamOp::Cancel),
            2 => prop_oneof![1..DELAY, Just(DELAY), DELAY..3 * DELAY].prop_map(ParamOp::Advance),
        ]
    }

    /// A candidate value: near the current one (within about two steps) or anywhere up to
    /// twice the maximum.
    fn candidate(spec: ParamSpec, current: U256, seed: u64, near: bool) -> U256 {
        if near {
            let span = spec.max_step * u(4);
            (current + u(seed) % span).saturating_sub(spec.max_step * u(2))
        } else {
            U256::from(seed) * spec.max / u(u64::MAX / 2).max(u(1))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Invariant 7: every parameter stays within its bounds, changes by at most its
        /// step, and only once its delay has passed.
        #[test]
        fn params_stay_in_bounds_and_wait_their_delay(
            ops in proptest::collection::vec(param_op(), 1..30)
        ) {
            let mut env = setup();
            let mut model: Vec<(U256, Option<(U256, u64)>)> = (0..3u8)
                .map(|id| (env.np.param(id).unwrap(), None))
                .collect();
            for op in ops {
                let now = env.chain.timestamp();
                env.as_owner();
                match op {
                    ParamOp::Schedule(id, seed, near) => {
                        let Some(spec) = param_spec(id) else {
                            prop_assert_eq!(env.np.schedule_param(id, u(seed)), Err(UnknownParam { id }.into()));
                            continue;
                        };
                        let current = env.np.param(id).unwrap();
                        let value = candidate(spec, current, seed, near);
                        let step = if value > current { value - current } else { current - value };
                        let np = &mut env.np;
                        match env.chain.tx(|| np.schedule_param(id, value)) {
                            Ok(()) => {
                                prop_assert!(value >= spec.min && value <= spec.max);
                                prop_assert!(step <= spec.max_step);
                                model[usize::from(id)] = (current, Some((value, now + DELAY)));
                            }
                            Err(Error::ParamOutOfBounds(_)) => {
                                prop_assert!(value < spec.min || value > spec.max);
                            }
                            Err(Error::ParamStepTooLarge(_)) => prop_assert!(step > spec.max_step),
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    ParamOp::Cancel(id) => {
                        let np = &mut env.np;
                        let result = env.chain.tx(|| np.cancel_param(id));
                        match model.get_mut(usize::from(id)) {
                            None => prop_assert_eq!(result, Err(UnknownParam { id }.into())),
                            Some(slot) => match slot.1 {
                                Some((_, at)) if now < at => {
                                    prop_assert_eq!(result, Ok(()));
                                    slot.1 = None;
                                }
                                _ => prop_assert_eq!(result, Err(NoPendingParam { id }.into())),
                            },
                        }
                    }
                    ParamOp::Advance(secs) => env.chain.advance(secs),
                }
                let now = env.chain.timestamp();
                for (id, slot) in (0u8..).zip(model.iter_mut()) {
                    if let Some((value, at)) = slot.1 {
                        if now >= at {
                            *slot = (value, None);
                        }
                    }
                    let spec = param_spec(id).unwrap();
                    let value = env.np.param(id).unwrap();
                    prop_assert_eq!(value, slot.0);
                    prop_assert!(value >= spec.min && value <= spec.max);
                    prop_assert_eq!(env.np.pending_param(id).unwrap(), slot.1.unwrap_or((U256::ZERO, 0)));
                }
            }
        }
    }
}
