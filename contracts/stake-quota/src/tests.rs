//! Unit tests: staking, unstaking, tiers and buckets, consumption, overage, the rate limit,
//! parameters, administration, the pause, the ABI router; property tests for invariants 1,
//! 5 and 7 of `PROTOCOL.md`.
//!
//! `payment` is [`mock::MockPayment`], a minimal stand-in for SessionPayment's `depositFor`
//! (pull the COR from the caller, credit the account's escrow).

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_testkit::{permit_digest, Account, TestChain};
use cor_token::CorToken;

use super::*;
use mock::MockPayment;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const PAYMENT: Address = address!("00000000000000000000000000000000000c0402");
const SQ: Address = address!("00000000000000000000000000000000000c0403");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const QUEUE: Address = address!("0000000000000000000000000000000000005e00");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const CAROL: Address = address!("000000000000000000000000000000000000ca01");
/// An address with no contract behind it.
const NOWHERE: Address = address!("000000000000000000000000000000000000dead");

/// Period 0 starts when the test chain does.
const GENESIS: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
const WEEK: u64 = 7 * DAY;
const DELAY: u64 = 3_600;
/// COR each funded account holds at setup.
const FUNDS: u64 = 1_000_000;

/// Test-only stand-in for SessionPayment: `depositFor` pulls the COR from the caller and
/// credits the account's escrow. Replace with the real SessionPayment once the suites are
/// wired together.
// `#[public]` needs `pub` methods; the mock is reachable from this module only.
#[allow(unreachable_pub)]
mod mock {
    use alloc::vec::Vec;

    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolError;
    use cor_contract_common::token::{self, TokenTransferFailed};
    use stylus_sdk::{
        prelude::*,
        storage::{StorageAddress, StorageMap, StorageU256, StorageU8},
    };

    /// `depositFor` works as SessionPayment's does.
    pub(super) const HONEST: u8 = 0;
    /// `depositFor` reverts.
    pub(super) const REVERTS: u8 = 1;
    /// `depositFor` pulls one wei less than asked.
    pub(super) const SHORT: u8 = 2;

    /// Escrow per account, funded by whoever calls `depositFor`.
    #[storage]
    #[entrypoint]
    pub struct MockPayment {
        token: StorageAddress,
        mode: StorageU8,
        escrows: StorageMap<Address, StorageU256>,
    }

    #[public]
    impl MockPayment {
        /// Sets the COR token.
        #[constructor]
        pub fn constructor(&mut self, token: Address) {
            self.token.set(token);
        }

        /// Pulls `amount` COR from the caller into `account`'s escrow.
        pub fn deposit_for(&mut self, account: Address, amount: U256) -> Result<(), Vec<u8>> {
            let mode = self.mode.get().to::<u8>();
            if mode == REVERTS {
                return Err(b"rejected".to_vec());
            }
            let pulled = if mode == SHORT {
                amount - U256::from(1)
            } else {
                amount
            };
            let from = self.vm().msg_sender();
            let token = self.token.get();
            token::pull::<_, TokenTransferFailed>(self, token, from, pulled)
                .map_err(|e| e.abi_encode())?;
            let escrow = self.escrows.get(account) + pulled;
            self.escrows.insert(account, escrow);
            Ok(())
        }

        /// `account`'s escrow.
        pub fn escrow_of(&self, account: Address) -> U256 {
            self.escrows.get(account)
        }

        /// Chooses how `depositFor` behaves.
        pub fn set_mode(&mut self, mode: u8) {
            self.mode.set(alloy_primitives::aliases::U8::from(mode));
        }
    }
}

fn u(v: u64) -> U256 {
    U256::from(v)
}

/// `n` whole COR in wei.
fn cor(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

struct Env {
    chain: TestChain,
    token: CorToken,
    sq: StakeQuota,
    pay: MockPayment,
}

impl Env {
    fn as_owner(&self) {
        self.chain.set_sender(OWNER);
    }

    /// Stakes `amount` COR wei as `user`.
    fn stake(&mut self, user: Address, amount: U256) -> Result<(), Error> {
        self.chain.set_sender(user);
        let sq = &mut self.sq;
        self.chain.tx(|| sq.stake(amount))
    }

    /// Consumes as the SessionQueue.
    fn consume(&mut self, user: Address, class: u8, n: u8, price: U256) -> Result<bool, Error> {
        self.chain.set_sender(QUEUE);
        let sq = &mut self.sq;
        self.chain.tx(|| sq.consume(user, class, n, price))
    }

    /// Moves to the start of the next period.
    fn next_period(&self) {
        let (_, _, end) = self.sq.current_period();
        self.chain.set_timestamp(end);
    }

    fn quota(&self, user: Address, class: u8, n: u8) -> (U256, U256, U256, u64) {
        self.sq.quota(user, class, n).unwrap()
    }

    /// The token balance of the contract equals what it owes.
    fn assert_conserved(&self) {
        assert_eq!(self.token.balance_of(SQ), self.sq.total_owed());
    }
}

fn deploy_args(length: u64, delay: u64) -> Vec<u8> {
    (TOKEN, OWNER, PAYMENT, GENESIS, length, delay).abi_encode_params()
}

/// CorToken, MockPayment and StakeQuota (daily periods from the chain's start) deployed,
/// QUEUE as SessionQueue, ALICE and BOB funded and approving StakeQuota, logs cleared.
fn setup_with(length: u64) -> Env {
    let chain = TestChain::new();
    assert_eq!(chain.timestamp(), GENESIS);
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(U256::MAX, OWNER).abi_encode_params())
        .expect("token constructor succeeds");
    chain
        .deploy::<MockPayment>(PAYMENT, &(TOKEN,).abi_encode_params())
        .expect("payment constructor succeeds");
    chain
        .deploy::<StakeQuota>(SQ, &deploy_args(length, DELAY))
        .expect("stake quota constructor succeeds");
    let mut token = chain.at::<CorToken>(TOKEN);
    let mut sq = chain.at::<StakeQuota>(SQ);
    sq.set_session_queue(QUEUE).unwrap();
    for holder in [ALICE, BOB] {
        chain.set_sender(OWNER);
        token.mint(holder, cor(FUNDS)).unwrap();
        chain.set_sender(holder);
        token.approve(SQ, U256::MAX).unwrap();
    }
    chain.set_sender(OWNER);
    chain.take_logs();
    let pay = chain.at::<MockPayment>(PAYMENT);
    Env {
        chain,
        token,
        sq,
        pay,
    }
}

fn setup() -> Env {
    setup_with(DAY)
}

/// `setup` plus ALICE staking `amount` whole COR, then the next period (the stake counts);
/// logs cleared.
fn staked(amount: u64) -> Env {
    let mut env = setup();
    env.stake(ALICE, cor(amount)).unwrap();
    env.next_period();
    env.chain.take_logs();
    env
}

/// Schedules `value` for `id` as the owner and waits out the delay.
fn set_param(env: &mut Env, id: u8, value: U256) {
    env.as_owner();
    env.sq.schedule_param(id, value).unwrap();
    env.chain.advance(DELAY);
}

// ---- Construction ---------------------------------------------------------------------

#[test]
fn constructor_sets_collaborators_clock_and_default_params() {
    let chain = TestChain::new();
    chain.set_sender(QUEUE); // the deployer is not the admin
    chain
        .deploy::<StakeQuota>(SQ, &deploy_args(DAY, DELAY))
        .unwrap();
    let sq = chain.at::<StakeQuota>(SQ);
    assert_eq!(sq.token(), TOKEN);
    assert_eq!(sq.payment(), PAYMENT);
    assert_eq!(sq.owner(), OWNER);
    assert_eq!(sq.session_queue(), Address::ZERO);
    assert!(!sq.paused());
    assert_eq!(sq.param_delay(), DELAY);
    assert_eq!(sq.current_period(), (0, GENESIS, GENESIS + DAY));
    let defaults = [
        cor(1_000),
        cor(10_000),
        cor(100_000),
        u(100),
        u(1_200),
        u(15_000),
        u(20_000),
        u(1),
        u(4),
        u(16),
        u(60),
        u(30),
        u(WEEK),
    ];
    for (id, value) in (0u8..).zip(defaults) {
        assert_eq!(sq.param(id), Ok(value), "param {id}");
        assert_eq!(sq.pending_param(id), Ok((U256::ZERO, 0)));
    }
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: OWNER
        }]
    );
    assert_eq!(
        chain.events::<PaymentChanged>(),
        vec![PaymentChanged {
            previousPayment: Address::ZERO,
            newPayment: PAYMENT
        }]
    );
    let scheduled = chain.events::<ParamScheduled>();
    assert_eq!(scheduled.len(), 13);
    assert_eq!(
        scheduled[12],
        ParamScheduled {
            id: COOLDOWN,
            value: u(WEEK),
            effectiveAt: GENESIS
        }
    );
}

#[test]
fn constructor_rejects_zero_addresses() {
    let chain = TestChain::new();
    let cases = [
        (
            (Address::ZERO, OWNER, PAYMENT),
            Error::from(InvalidToken {
                token: Address::ZERO,
            }),
        ),
        (
            (TOKEN, Address::ZERO, PAYMENT),
            OwnableInvalidOwner {
                owner: Address::ZERO,
            }
            .into(),
        ),
        (
            (TOKEN, OWNER, Address::ZERO),
            InvalidPayment {
                payment: Address::ZERO,
            }
            .into(),
        ),
    ];
    for ((token, owner, payment), expected) in cases {
        let err = chain
            .deploy::<StakeQuota>(
                SQ,
                &(token, owner, payment, GENESIS, DAY, DELAY).abi_encode_params(),
            )
            .unwrap_err();
        assert_eq!(err, Vec::<u8>::from(expected));
    }
}

#[test]
fn constructor_accepts_daily_weekly_and_dev_period_lengths() {
    for length in [60, 3_600, DAY, WEEK] {
        let chain = TestChain::new();
        chain
            .deploy::<StakeQuota>(SQ, &deploy_args(length, DELAY))
            .unwrap();
        let sq = chain.at::<StakeQuota>(SQ);
        assert_eq!(sq.current_period(), (0, GENESIS, GENESIS + length));
    }
}

#[test]
fn constructor_rejects_period_length_out_of_range() {
    for length in [0, 59, WEEK + 1] {
        let chain = TestChain::new();
        let err = chain
            .deploy::<StakeQuota>(SQ, &deploy_args(length, DELAY))
            .unwrap_err();
        assert_eq!(
            err,
            Vec::<u8>::from(Error::from(InvalidPeriodLength { length }))
        );
    }
}

#[test]
fn constructor_rejects_param_delay_out_of_range() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<StakeQuota>(SQ, &deploy_args(DAY, 59))
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(ParamDelayOutOfBounds {
            delay: 59,
            min: params_min_delay(),
            max: params_max_delay(),
        }))
    );
}

fn params_min_delay() -> u64 {
    cor_contract_common::params::MIN_PARAM_DELAY
}

fn params_max_delay() -> u64 {
    cor_contract_common::params::MAX_PARAM_DELAY
}

#[test]
fn constructor_runs_once() {
    let env = setup();
    assert!(env
        .chain
        .deploy::<StakeQuota>(SQ, &deploy_args(DAY, DELAY))
        .is_err());
}

// ---- Staking --------------------------------------------------------------------------

#[test]
fn stake_pulls_tokens_and_emits_staked() {
    let mut env = setup();
    env.stake(ALICE, cor(1_500)).unwrap();
    assert_eq!(env.token.balance_of(SQ), cor(1_500));
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS - 1_500));
    assert_eq!(env.sq.total_staked(), cor(1_500));
    assert_eq!(env.sq.total_owed(), cor(1_500));
    assert_eq!(
        env.chain.events::<Staked>(),
        vec![Staked {
            user: ALICE,
            amount: cor(1_500),
            staked: cor(1_500),
            countsFromPeriod: 1
        }]
    );
    env.assert_conserved();
}

#[test]
fn stake_counts_only_from_the_next_period() {
    let mut env = setup();
    env.stake(ALICE, cor(1_000)).unwrap();
    assert_eq!(
        env.sq.stake_of(ALICE),
        (cor(1_000), U256::ZERO, U256::ZERO, 0)
    );
    assert_eq!(env.quota(ALICE, 0, 1).0, U256::ZERO);
    env.chain.advance(DAY - 1);
    assert_eq!(env.sq.stake_of(ALICE).1, U256::ZERO);
    env.chain.advance(1);
    assert_eq!(
        env.sq.stake_of(ALICE),
        (cor(1_000), cor(1_000), U256::ZERO, 0)
    );
    assert_eq!(env.quota(ALICE, 0, 1).0, u(100));
}

#[test]
fn stake_added_to_a_counted_stake_waits_for_the_next_period() {
    let mut env = staked(1_000);
    env.stake(ALICE, cor(500)).unwrap();
    env.stake(ALICE, cor(9_000)).unwrap();
    assert_eq!(env.sq.stake_of(ALICE).0, cor(10_500));
    assert_eq!(env.sq.stake_of(ALICE).1, cor(1_000));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(100));
    assert_eq!(env.chain.events::<Staked>()[1].staked, cor(10_500));
    env.next_period();
    assert_eq!(env.sq.stake_of(ALICE).1, cor(10_500));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(1_200));
}

#[test]
fn stake_rejects_zero_amount() {
    let mut env = setup();
    assert_eq!(env.stake(ALICE, U256::ZERO), Err(ZeroAmount {}.into()));
}

#[test]
fn stake_rejects_while_paused() {
    let mut env = setup();
    env.sq.pause().unwrap();
    assert_eq!(env.stake(ALICE, cor(1)), Err(EnforcedPause {}.into()));
}

#[test]
fn stake_without_allowance_fails_and_records_nothing() {
    let mut env = setup();
    env.as_owner();
    env.token.mint(CAROL, cor(10)).unwrap();
    env.chain.take_logs();
    assert_eq!(
        env.stake(CAROL, cor(10)),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: CAROL,
            to: SQ,
            amount: cor(10)
        }
        .into())
    );
    assert_eq!(env.sq.stake_of(CAROL).0, U256::ZERO);
    assert_eq!(env.sq.total_staked(), U256::ZERO);
    assert!(env.chain.logs().is_empty());
}

fn signed_permit(env: &Env, signer: &Account, value: U256, deadline: U256) -> (u8, B256, B256) {
    let digest = permit_digest(
        TOKEN,
        env.chain.chain_id(),
        signer.address,
        SQ,
        value,
        env.token.nonces(signer.address),
        deadline,
    );
    signer.sign(digest)
}

/// `setup` plus a wallet account holding 5 000 COR and no allowance.
fn wallet() -> (Env, Account) {
    let mut env = setup();
    let alice = Account::new(7);
    env.as_owner();
    env.token.mint(alice.address, cor(5_000)).unwrap();
    env.chain.take_logs();
    (env, alice)
}

#[test]
fn stake_with_permit_stakes_in_one_call() {
    let (mut env, alice) = wallet();
    let deadline = u(env.chain.timestamp() + 60);
    let (v, r, s) = signed_permit(&env, &alice, cor(2_000), deadline);
    env.chain.set_sender(alice.address);
    env.sq
        .stake_with_permit(cor(2_000), deadline, v, r, s)
        .unwrap();
    assert_eq!(env.sq.stake_of(alice.address).0, cor(2_000));
    assert_eq!(env.token.balance_of(SQ), cor(2_000));
    assert_eq!(env.token.allowance(alice.address, SQ), U256::ZERO);
    assert_eq!(env.chain.events::<Staked>().len(), 1);
    env.assert_conserved();
}

#[test]
fn stake_with_permit_still_stakes_when_the_permit_was_front_run() {
    let (mut env, alice) = wallet();
    let deadline = u(env.chain.timestamp() + 60);
    let (v, r, s) = signed_permit(&env, &alice, cor(2_000), deadline);
    env.chain.set_sender(BOB);
    env.token
        .permit(alice.address, SQ, cor(2_000), deadline, v, r, s)
        .unwrap();
    env.chain.set_sender(alice.address);
    env.sq
        .stake_with_permit(cor(2_000), deadline, v, r, s)
        .unwrap();
    assert_eq!(env.sq.stake_of(alice.address).0, cor(2_000));
}

#[test]
fn stake_with_permit_signed_for_another_amount_fails() {
    let (mut env, alice) = wallet();
    let deadline = u(env.chain.timestamp() + 60);
    let (v, r, s) = signed_permit(&env, &alice, cor(1_000), deadline);
    env.chain.set_sender(alice.address);
    let sq = &mut env.sq;
    assert_eq!(
        env.chain
            .tx(|| sq.stake_with_permit(cor(2_000), deadline, v, r, s)),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: alice.address,
            to: SQ,
            amount: cor(2_000)
        }
        .into())
    );
    assert_eq!(env.sq.stake_of(alice.address).0, U256::ZERO);
}

#[test]
fn stake_with_permit_rejects_zero_amount_and_pause() {
    let (mut env, alice) = wallet();
    let deadline = u(env.chain.timestamp() + 60);
    let (v, r, s) = signed_permit(&env, &alice, cor(1), deadline);
    env.chain.set_sender(alice.address);
    assert_eq!(
        env.sq.stake_with_permit(U256::ZERO, deadline, v, r, s),
        Err(ZeroAmount {}.into())
    );
    env.as_owner();
    env.sq.pause().unwrap();
    env.chain.set_sender(alice.address);
    assert_eq!(
        env.sq.stake_with_permit(cor(1), deadline, v, r, s),
        Err(EnforcedPause {}.into())
    );
}

// ---- Unstaking ------------------------------------------------------------------------

#[test]
fn request_unstake_moves_stake_to_unstaking_and_emits() {
    let mut env = staked(3_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(1_000)).unwrap();
    let unlock = env.chain.timestamp() + WEEK;
    assert_eq!(
        env.sq.stake_of(ALICE),
        (cor(2_000), cor(2_000), cor(1_000), unlock)
    );
    assert_eq!(env.sq.total_staked(), cor(2_000));
    assert_eq!(env.sq.total_unstaking(), cor(1_000));
    assert_eq!(env.sq.total_owed(), cor(3_000));
    assert_eq!(
        env.chain.events::<UnstakeRequested>(),
        vec![UnstakeRequested {
            user: ALICE,
            amount: cor(1_000),
            unstaking: cor(1_000),
            unlockAt: unlock
        }]
    );
    env.assert_conserved();
}

#[test]
fn request_unstake_takes_the_uncounted_stake_first() {
    let mut env = staked(1_000);
    env.stake(ALICE, cor(500)).unwrap();
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(300)).unwrap();
    assert_eq!(env.sq.stake_of(ALICE).0, cor(1_200));
    assert_eq!(env.sq.stake_of(ALICE).1, cor(1_000));
    env.sq.request_unstake(cor(300)).unwrap();
    assert_eq!(env.sq.stake_of(ALICE).0, cor(900));
    assert_eq!(env.sq.stake_of(ALICE).1, cor(900));
}

#[test]
fn request_unstake_drops_the_quota_at_once() {
    let mut env = staked(1_000);
    assert_eq!(env.quota(ALICE, 0, 1).0, u(100));
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(1)).unwrap();
    assert_eq!(env.quota(ALICE, 0, 1).0, U256::ZERO);
}

#[test]
fn unstake_then_restake_in_the_same_period_does_not_count() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(1_000)).unwrap();
    env.stake(ALICE, cor(1_000)).unwrap();
    assert_eq!(env.sq.stake_of(ALICE).1, U256::ZERO);
    assert_eq!(env.quota(ALICE, 0, 1).0, U256::ZERO);
}

#[test]
fn request_unstake_restarts_the_cooldown() {
    let mut env = staked(3_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(1_000)).unwrap();
    env.chain.advance(DAY);
    env.sq.request_unstake(cor(1_000)).unwrap();
    let unlock = env.chain.timestamp() + WEEK;
    assert_eq!(env.sq.stake_of(ALICE).2, cor(2_000));
    assert_eq!(env.sq.stake_of(ALICE).3, unlock);
    assert_eq!(
        env.chain.events::<UnstakeRequested>()[1].unstaking,
        cor(2_000)
    );
}

#[test]
fn request_unstake_rejects_zero_amount() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.request_unstake(U256::ZERO),
        Err(ZeroAmount {}.into())
    );
}

#[test]
fn request_unstake_rejects_more_than_staked() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.request_unstake(cor(1_001)),
        Err(InsufficientStake {
            user: ALICE,
            staked: cor(1_000),
            needed: cor(1_001)
        }
        .into())
    );
}

#[test]
fn withdraw_unstaked_after_the_cooldown_pays_out_and_emits() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(400)).unwrap();
    env.chain.advance(WEEK);
    env.sq.withdraw_unstaked().unwrap();
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS - 600));
    assert_eq!(env.sq.stake_of(ALICE), (cor(600), cor(600), U256::ZERO, 0));
    assert_eq!(env.sq.total_unstaking(), U256::ZERO);
    assert_eq!(
        env.chain.events::<Unstaked>(),
        vec![Unstaked {
            user: ALICE,
            amount: cor(400)
        }]
    );
    env.assert_conserved();
}

#[test]
fn withdraw_unstaked_rejects_during_the_cooldown() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(400)).unwrap();
    let unlock = env.chain.timestamp() + WEEK;
    env.chain.advance(WEEK - 1);
    assert_eq!(
        env.sq.withdraw_unstaked(),
        Err(StillCoolingDown {
            user: ALICE,
            unlockAt: unlock
        }
        .into())
    );
}

#[test]
fn withdraw_unstaked_rejects_when_nothing_is_unstaking() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    assert_eq!(env.sq.withdraw_unstaked(), Err(NothingToWithdraw {}.into()));
}

#[test]
fn unstaking_and_withdrawing_keep_working_while_paused() {
    let mut env = staked(1_000);
    env.as_owner();
    env.sq.pause().unwrap();
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(1_000)).unwrap();
    env.chain.advance(WEEK);
    env.sq.withdraw_unstaked().unwrap();
    assert_eq!(env.token.balance_of(ALICE), cor(FUNDS));
    env.assert_conserved();
}

// ---- Tiers and buckets ----------------------------------------------------------------

#[test]
fn quota_follows_the_tier_of_the_counted_stake() {
    for (stake, allowance, tier) in [
        (0, 0, 0),
        (999, 0, 0),
        (1_000, 100, 1),
        (9_999, 100, 1),
        (10_000, 1_200, 2),
        (100_000, 15_000, 3),
    ] {
        let mut env = setup();
        if stake > 0 {
            env.stake(ALICE, cor(stake)).unwrap();
        }
        env.next_period();
        assert_eq!(env.quota(ALICE, 1, 3).0, u(allowance), "stake {stake}");
        assert_eq!(env.sq.tier_of(ALICE), (tier, u(allowance)));
    }
}

#[test]
fn quota_reports_used_left_and_period_end() {
    let mut env = staked(1_000);
    env.consume(ALICE, 1, 3, U256::ZERO).unwrap();
    let (_, _, end) = env.sq.current_period();
    assert_eq!(env.quota(ALICE, 1, 3), (u(100), u(12), u(88), end));
    assert_eq!(end, GENESIS + 2 * DAY);
    // Every other bucket is untouched.
    assert_eq!(env.quota(ALICE, 1, 2), (u(100), u(0), u(100), end));
    assert_eq!(env.quota(ALICE, 0, 3), (u(100), u(0), u(100), end));
}

#[test]
fn quota_rejects_invalid_buckets() {
    let env = setup();
    for (class, n) in [(3, 1), (0, 0), (2, 8), (255, 255)] {
        assert_eq!(
            env.sq.quota(ALICE, class, n),
            Err(InvalidBucket {
                modelClass: class,
                redundancy: n
            }
            .into())
        );
    }
}

#[test]
fn free_units_are_capped_per_address_whatever_the_stake() {
    let mut env = staked(100_000);
    assert_eq!(env.quota(ALICE, 0, 1).0, u(15_000));
    set_param(&mut env, MAX_FREE_UNITS, u(5_000));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(5_000));
    assert_eq!(env.sq.tier_of(ALICE), (3, u(5_000)));
}

#[test]
fn more_stake_never_means_fewer_units_with_odd_tier_params() {
    let mut env = staked(10_000);
    // Tier 2 now gives fewer units than tier 1: the larger one applies.
    set_param(&mut env, TIER2_UNITS, u(50));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(100));
    assert_eq!(env.sq.tier_of(ALICE), (2, u(100)));
}

// ---- Consumption ----------------------------------------------------------------------

#[test]
fn consume_takes_class_units_times_n_and_emits() {
    let mut env = staked(1_000);
    assert_eq!(env.consume(ALICE, 2, 5, cor(3)), Ok(true));
    assert_eq!(env.quota(ALICE, 2, 5).1, u(80));
    assert_eq!(
        env.chain.events::<QuotaConsumed>(),
        vec![QuotaConsumed {
            user: ALICE,
            modelClass: 2,
            redundancy: 5,
            units: u(80),
            left: u(20)
        }]
    );
    // Quota-backed: no COR moved.
    assert_eq!(env.sq.stake_of(ALICE).0, cor(1_000));
    assert_eq!(env.token.balance_of(PAYMENT), U256::ZERO);
}

#[test]
fn consume_uses_up_a_bucket_exactly() {
    let mut env = staked(1_000);
    for _ in 0..6 {
        assert_eq!(env.consume(ALICE, 2, 1, U256::ZERO), Ok(true));
    }
    assert_eq!(env.quota(ALICE, 2, 1).2, u(4));
    env.chain.take_logs();
    assert_eq!(
        env.consume(ALICE, 2, 1, U256::ZERO),
        Err(QuotaExhausted {
            user: ALICE,
            modelClass: 2,
            redundancy: 1,
            needed: u(16),
            left: u(4)
        }
        .into())
    );
    assert!(env.chain.logs().is_empty());
    // Other buckets are unaffected.
    assert_eq!(env.consume(ALICE, 0, 4, U256::ZERO), Ok(true));
}

#[test]
fn consume_usage_resets_in_the_next_period() {
    let mut env = staked(1_000);
    for _ in 0..6 {
        env.consume(ALICE, 2, 1, U256::ZERO).unwrap();
    }
    env.next_period();
    assert_eq!(env.quota(ALICE, 2, 1).1, U256::ZERO);
    assert_eq!(env.consume(ALICE, 2, 1, U256::ZERO), Ok(true));
    assert_eq!(env.quota(ALICE, 2, 1).1, u(16));
}

#[test]
fn consume_without_stake_reverts_with_quota_exhausted() {
    let mut env = setup();
    assert_eq!(
        env.consume(BOB, 0, 1, cor(1)),
        Err(QuotaExhausted {
            user: BOB,
            modelClass: 0,
            redundancy: 1,
            needed: u(1),
            left: U256::ZERO
        }
        .into())
    );
}

#[test]
fn consume_rejects_callers_other_than_the_session_queue() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.consume(ALICE, 0, 1, U256::ZERO),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
}

#[test]
fn consume_rejects_while_paused() {
    let mut env = staked(1_000);
    env.as_owner();
    env.sq.pause().unwrap();
    assert_eq!(
        env.consume(ALICE, 0, 1, U256::ZERO),
        Err(EnforcedPause {}.into())
    );
}

#[test]
fn consume_rejects_invalid_buckets() {
    let mut env = staked(1_000);
    for (class, n) in [(3, 1), (0, 0), (1, 8)] {
        assert_eq!(
            env.consume(ALICE, class, n, U256::ZERO),
            Err(InvalidBucket {
                modelClass: class,
                redundancy: n
            }
            .into())
        );
    }
}

#[test]
fn consume_is_rate_limited_per_window() {
    let mut env = staked(100_000);
    for _ in 0..30 {
        env.consume(ALICE, 0, 1, U256::ZERO).unwrap();
    }
    let window_end = env.chain.timestamp() + 60;
    assert_eq!(env.sq.rate_limit_of(ALICE), (30, window_end));
    env.chain.advance(59);
    assert_eq!(
        env.consume(ALICE, 0, 1, U256::ZERO),
        Err(RateLimited {
            user: ALICE,
            retryAt: window_end
        }
        .into())
    );
    // Another user has their own window (BOB has no stake, so no quota either).
    assert!(matches!(
        env.consume(BOB, 0, 1, U256::ZERO),
        Err(Error::QuotaExhausted(_))
    ));
    env.chain.advance(1);
    assert_eq!(env.sq.rate_limit_of(ALICE), (0, 0));
    assert_eq!(env.consume(ALICE, 0, 1, U256::ZERO), Ok(true));
    assert_eq!(env.sq.rate_limit_of(ALICE), (1, window_end + 60));
}

#[test]
fn rejected_tasks_do_not_count_against_the_rate_limit() {
    let mut env = setup();
    for _ in 0..40 {
        assert!(env.consume(ALICE, 0, 1, U256::ZERO).is_err());
    }
    assert_eq!(env.sq.rate_limit_of(ALICE), (0, 0));
}

#[test]
fn a_stake_in_the_current_period_does_not_raise_its_quota() {
    let mut env = staked(1_000);
    for _ in 0..6 {
        env.consume(ALICE, 2, 1, U256::ZERO).unwrap();
    }
    env.stake(ALICE, cor(500_000)).unwrap();
    assert_eq!(env.quota(ALICE, 2, 1).0, u(100));
    assert!(matches!(
        env.consume(ALICE, 2, 1, U256::ZERO),
        Err(Error::QuotaExhausted(_))
    ));
}

// ---- Overage --------------------------------------------------------------------------

#[test]
fn set_auto_deduct_records_the_opt_in_and_emits() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    env.sq.set_auto_deduct(true, cor(50));
    assert_eq!(env.sq.auto_deduct(ALICE), (true, cor(50), U256::ZERO));
    assert_eq!(
        env.chain.events::<AutoDeductSet>(),
        vec![AutoDeductSet {
            user: ALICE,
            enabled: true,
            maxPerPeriod: cor(50)
        }]
    );
    env.sq.set_auto_deduct(false, U256::ZERO);
    assert_eq!(env.sq.auto_deduct(ALICE), (false, U256::ZERO, U256::ZERO));
}

/// `staked(1 000)` with ALICE's Heavy N=1 bucket down to 4 units and auto-deduct on with a
/// cap of 10 COR per period; logs cleared.
fn exhausted_with_overage() -> Env {
    let mut env = staked(1_000);
    for _ in 0..6 {
        env.consume(ALICE, 2, 1, U256::ZERO).unwrap();
    }
    env.chain.set_sender(ALICE);
    env.sq.set_auto_deduct(true, cor(10));
    env.chain.take_logs();
    env
}

#[test]
fn consume_charges_overage_from_the_stake_into_the_payment_escrow() {
    let mut env = exhausted_with_overage();
    assert_eq!(env.consume(ALICE, 2, 1, cor(4)), Ok(false));
    assert_eq!(env.sq.stake_of(ALICE).0, cor(996));
    assert_eq!(env.sq.total_staked(), cor(996));
    assert_eq!(env.token.balance_of(SQ), cor(996));
    assert_eq!(env.token.balance_of(PAYMENT), cor(4));
    assert_eq!(env.pay.escrow_of(ALICE), cor(4));
    assert_eq!(env.token.allowance(SQ, PAYMENT), U256::ZERO);
    assert_eq!(env.sq.auto_deduct(ALICE), (true, cor(10), cor(4)));
    assert_eq!(
        env.chain.events::<OverageCharged>(),
        vec![OverageCharged {
            user: ALICE,
            price: cor(4),
            chargedThisPeriod: cor(4)
        }]
    );
    assert!(env.chain.events::<QuotaConsumed>().is_empty());
    // The bucket itself is untouched.
    assert_eq!(env.quota(ALICE, 2, 1).1, u(96));
    env.assert_conserved();
}

#[test]
fn overage_is_taken_from_the_uncounted_stake_first() {
    let mut env = exhausted_with_overage();
    env.stake(ALICE, cor(5)).unwrap();
    env.consume(ALICE, 2, 1, cor(4)).unwrap();
    assert_eq!(env.sq.stake_of(ALICE).0, cor(1_001));
    assert_eq!(env.sq.stake_of(ALICE).1, cor(1_000));
}

#[test]
fn overage_stops_at_the_cap_per_period_and_resets_next_period() {
    let mut env = exhausted_with_overage();
    assert_eq!(env.consume(ALICE, 2, 1, cor(6)), Ok(false));
    // The deduction took ALICE's counted stake below tier 1: no free units are left.
    assert_eq!(
        env.consume(ALICE, 2, 1, cor(5)),
        Err(QuotaExhausted {
            user: ALICE,
            modelClass: 2,
            redundancy: 1,
            needed: u(16),
            left: U256::ZERO
        }
        .into())
    );
    assert_eq!(env.consume(ALICE, 2, 1, cor(4)), Ok(false));
    assert_eq!(env.sq.auto_deduct(ALICE).2, cor(10));
    env.next_period();
    assert_eq!(env.sq.auto_deduct(ALICE).2, U256::ZERO);
}

#[test]
fn overage_needs_an_opt_in() {
    let mut env = exhausted_with_overage();
    env.chain.set_sender(ALICE);
    env.sq.set_auto_deduct(false, cor(10));
    assert!(matches!(
        env.consume(ALICE, 2, 1, cor(1)),
        Err(Error::QuotaExhausted(_))
    ));
}

#[test]
fn overage_needs_enough_stake() {
    let mut env = exhausted_with_overage();
    env.chain.set_sender(ALICE);
    env.sq.set_auto_deduct(true, cor(10_000));
    assert!(matches!(
        env.consume(ALICE, 2, 1, cor(1_001)),
        Err(Error::QuotaExhausted(_))
    ));
    assert_eq!(env.consume(ALICE, 2, 1, cor(1_000)), Ok(false));
    assert_eq!(env.sq.stake_of(ALICE).0, U256::ZERO);
    env.assert_conserved();
}

#[test]
fn overage_of_a_zero_price_is_refused() {
    let mut env = exhausted_with_overage();
    assert!(matches!(
        env.consume(ALICE, 2, 1, U256::ZERO),
        Err(Error::QuotaExhausted(_))
    ));
}

#[test]
fn overage_fails_when_the_payment_contract_rejects_it() {
    let mut env = exhausted_with_overage();
    for mode in [mock::REVERTS, mock::SHORT] {
        env.pay.set_mode(mode);
        assert_eq!(
            env.consume(ALICE, 2, 1, cor(4)),
            Err(PaymentDepositFailed {
                payment: PAYMENT,
                user: ALICE,
                amount: cor(4)
            }
            .into())
        );
        assert_eq!(env.sq.stake_of(ALICE).0, cor(1_000));
        assert_eq!(env.token.balance_of(PAYMENT), U256::ZERO);
        assert_eq!(env.token.allowance(SQ, PAYMENT), U256::ZERO);
        env.assert_conserved();
    }
    env.pay.set_mode(mock::HONEST);
    assert_eq!(env.consume(ALICE, 2, 1, cor(4)), Ok(false));
    assert_eq!(env.pay.escrow_of(ALICE), cor(4));
}

#[test]
fn overage_fails_when_the_payment_address_has_no_contract() {
    let mut env = exhausted_with_overage();
    env.as_owner();
    env.sq.set_payment(NOWHERE).unwrap();
    assert_eq!(
        env.consume(ALICE, 2, 1, cor(4)),
        Err(PaymentDepositFailed {
            payment: NOWHERE,
            user: ALICE,
            amount: cor(4)
        }
        .into())
    );
    assert_eq!(env.token.allowance(SQ, NOWHERE), U256::ZERO);
    env.assert_conserved();
}

// ---- Periods --------------------------------------------------------------------------

#[test]
fn current_period_moves_with_time() {
    let env = setup_with(WEEK);
    assert_eq!(env.sq.current_period(), (0, GENESIS, GENESIS + WEEK));
    env.chain.advance(WEEK + 5);
    assert_eq!(
        env.sq.current_period(),
        (1, GENESIS + WEEK, GENESIS + 2 * WEEK)
    );
}

// ---- Parameters -----------------------------------------------------------------------

#[test]
fn schedule_param_takes_effect_after_the_delay() {
    let mut env = staked(1_000);
    env.as_owner();
    let at = env.chain.timestamp() + DELAY;
    assert_eq!(env.sq.schedule_param(TIER1_UNITS, u(300)), Ok(at));
    assert_eq!(env.sq.pending_param(TIER1_UNITS), Ok((u(300), at)));
    assert_eq!(
        env.chain.events::<ParamScheduled>(),
        vec![ParamScheduled {
            id: TIER1_UNITS,
            value: u(300),
            effectiveAt: at
        }]
    );
    env.chain.advance(DELAY - 1);
    assert_eq!(env.sq.param(TIER1_UNITS), Ok(u(100)));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(100));
    env.chain.advance(1);
    assert_eq!(env.sq.param(TIER1_UNITS), Ok(u(300)));
    assert_eq!(env.sq.pending_param(TIER1_UNITS), Ok((U256::ZERO, 0)));
    assert_eq!(env.quota(ALICE, 0, 1).0, u(300));
}

#[test]
fn schedule_param_rejects_non_owner() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.schedule_param(COOLDOWN, u(DAY)),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn schedule_param_rejects_unknown_ids() {
    let mut env = setup();
    assert_eq!(
        env.sq.schedule_param(13, u(1)),
        Err(UnknownParam { id: 13 }.into())
    );
}

#[test]
fn schedule_param_rejects_values_out_of_bounds() {
    let mut env = setup();
    assert_eq!(
        env.sq.schedule_param(COOLDOWN, u(59)),
        Err(ParamOutOfBounds {
            id: COOLDOWN,
            value: u(59),
            min: u(60),
            max: u(60 * DAY)
        }
        .into())
    );
    assert_eq!(
        env.sq.schedule_param(CLASS_UNITS_HEAVY, U256::ZERO),
        Err(ParamOutOfBounds {
            id: CLASS_UNITS_HEAVY,
            value: U256::ZERO,
            min: u(1),
            max: u(1_000)
        }
        .into())
    );
}

#[test]
fn schedule_param_rejects_steps_too_large() {
    let mut env = setup();
    assert_eq!(
        env.sq.schedule_param(CLASS_UNITS_LIGHT, u(102)),
        Err(ParamStepTooLarge {
            id: CLASS_UNITS_LIGHT,
            current: u(1),
            value: u(102),
            maxStep: u(100)
        }
        .into())
    );
}

#[test]
fn cancel_param_drops_the_pending_change_and_emits() {
    let mut env = setup();
    env.sq.schedule_param(RATE_LIMIT_MAX_TASKS, u(60)).unwrap();
    env.chain.take_logs();
    env.sq.cancel_param(RATE_LIMIT_MAX_TASKS).unwrap();
    assert_eq!(
        env.chain.events::<ParamCancelled>(),
        vec![ParamCancelled {
            id: RATE_LIMIT_MAX_TASKS
        }]
    );
    env.chain.advance(DELAY);
    assert_eq!(env.sq.param(RATE_LIMIT_MAX_TASKS), Ok(u(30)));
}

#[test]
fn cancel_param_rejects_non_owner_unknown_ids_and_nothing_pending() {
    let mut env = setup();
    assert_eq!(
        env.sq.cancel_param(COOLDOWN),
        Err(NoPendingParam { id: COOLDOWN }.into())
    );
    assert_eq!(
        env.sq.cancel_param(200),
        Err(UnknownParam { id: 200 }.into())
    );
    env.sq.schedule_param(COOLDOWN, u(DAY)).unwrap();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.cancel_param(COOLDOWN),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn param_views_reject_unknown_ids() {
    let env = setup();
    assert_eq!(env.sq.param(13), Err(UnknownParam { id: 13 }.into()));
    assert_eq!(
        env.sq.pending_param(13),
        Err(UnknownParam { id: 13 }.into())
    );
}

#[test]
fn cooldown_change_applies_to_later_requests_only() {
    let mut env = staked(1_000);
    env.chain.set_sender(ALICE);
    env.sq.request_unstake(cor(100)).unwrap();
    let unlock = env.sq.stake_of(ALICE).3;
    set_param(&mut env, COOLDOWN, u(WEEK - DAY));
    assert_eq!(env.sq.stake_of(ALICE).3, unlock);
}

// ---- Administration -------------------------------------------------------------------

#[test]
fn set_payment_changes_the_payment_contract_and_emits() {
    let mut env = setup();
    env.sq.set_payment(CAROL).unwrap();
    assert_eq!(env.sq.payment(), CAROL);
    assert_eq!(
        env.chain.events::<PaymentChanged>(),
        vec![PaymentChanged {
            previousPayment: PAYMENT,
            newPayment: CAROL
        }]
    );
}

#[test]
fn set_payment_rejects_non_owner_and_zero_address() {
    let mut env = setup();
    assert_eq!(
        env.sq.set_payment(Address::ZERO),
        Err(InvalidPayment {
            payment: Address::ZERO
        }
        .into())
    );
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.set_payment(CAROL),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn set_session_queue_sets_the_role_and_emits() {
    let mut env = setup();
    env.sq.set_session_queue(CAROL).unwrap();
    assert_eq!(env.sq.session_queue(), CAROL);
    assert_eq!(
        env.chain.events::<RoleSet>(),
        vec![RoleSet {
            role: SESSION_QUEUE_ROLE,
            account: CAROL
        }]
    );
    // The old queue lost the role.
    assert!(matches!(
        env.consume(ALICE, 0, 1, U256::ZERO),
        Err(Error::UnauthorizedCaller(_))
    ));
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.set_session_queue(ALICE),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn pause_and_unpause_by_the_owner_emit() {
    let mut env = setup();
    env.sq.pause().unwrap();
    assert!(env.sq.paused());
    assert_eq!(env.sq.pause(), Err(EnforcedPause {}.into()));
    env.sq.unpause().unwrap();
    assert!(!env.sq.paused());
    assert_eq!(env.sq.unpause(), Err(ExpectedPause {}.into()));
    assert_eq!(
        env.chain.events::<Paused>(),
        vec![Paused { account: OWNER }]
    );
    assert_eq!(
        env.chain.events::<Unpaused>(),
        vec![Unpaused { account: OWNER }]
    );
}

#[test]
fn pause_and_unpause_reject_non_owner() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    assert_eq!(
        env.sq.pause(),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
    assert_eq!(
        env.sq.unpause(),
        Err(OwnableUnauthorizedAccount { account: ALICE }.into())
    );
}

#[test]
fn ownership_transfer_and_renounce() {
    let mut env = setup();
    env.sq.transfer_ownership(BOB).unwrap();
    assert_eq!(env.sq.owner(), BOB);
    assert_eq!(
        env.chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: OWNER,
            newOwner: BOB
        }]
    );
    assert_eq!(
        env.sq.transfer_ownership(CAROL),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    env.chain.set_sender(BOB);
    assert_eq!(
        env.sq.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    env.sq.renounce_ownership().unwrap();
    assert_eq!(env.sq.owner(), Address::ZERO);
    assert!(env.sq.pause().is_err());
}

// ---- ABI router -----------------------------------------------------------------------

#[test]
fn calls_through_the_abi_router_decode_typed_errors() {
    use alloy_sol_types::{SolCall, SolError};
    alloy_sol_types::sol! {
        function stake(uint256 amount) external;
        function consume(address user, uint8 modelClass, uint8 redundancy, uint256 price) external returns (bool);
        function stakeOf(address user) external view returns (uint256, uint256, uint256, uint64);
    }
    let env = setup();
    env.chain
        .call(ALICE, SQ, stakeCall { amount: cor(1_000) }.abi_encode())
        .unwrap();
    let out = env
        .chain
        .call(ALICE, SQ, stakeOfCall { user: ALICE }.abi_encode())
        .unwrap();
    let view = stakeOfCall::abi_decode_returns(&out).unwrap();
    assert_eq!(view._0, cor(1_000));
    let call = consumeCall {
        user: ALICE,
        modelClass: 1,
        redundancy: 2,
        price: cor(1),
    };
    let err = env.chain.call(QUEUE, SQ, call.abi_encode()).unwrap_err();
    let decoded = QuotaExhausted::abi_decode(&err).unwrap();
    assert_eq!(decoded.needed, u(8));
    env.next_period();
    let ok = env.chain.call(QUEUE, SQ, call.abi_encode()).unwrap();
    assert!(consumeCall::abi_decode_returns(&ok).unwrap());
}

mod properties {
    //! Invariants 1, 5 and 7 over random operation sequences.
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    const USERS: [Address; 2] = [ALICE, BOB];
    /// Short periods so sequences cross many of them.
    const PERIOD: u64 = 3_600;

    #[derive(Debug, Clone)]
    enum Op {
        Stake(usize, u64),
        RequestUnstake(usize, u64),
        Withdraw(usize),
        SetAutoDeduct(usize, bool, u64),
        Consume(usize, u8, u8, u64),
        Advance(u64),
    }

    /// Stake sizes around the tier thresholds (whole COR), mostly the low tiers so buckets
    /// run out.
    fn stake_amount() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => Just(1_000u64),
            2 => Just(10_000),
            1 => Just(100_000),
            3 => 1..2_000u64,
            2 => 1..12_000u64,
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..2usize, stake_amount()).prop_map(|(a, v)| Op::Stake(a, v)),
            1 => (0..2usize, 0..3_000u64).prop_map(|(a, v)| Op::RequestUnstake(a, v)),
            1 => (0..2usize).prop_map(Op::Withdraw),
            2 => (0..2usize, prop::bool::weighted(0.8), 0..200u64)
                .prop_map(|(a, e, m)| Op::SetAutoDeduct(a, e, m)),
            8 => (0..2usize, prop_oneof![0..3u8, Just(2)], 1..=7u8, 0..40u64)
                .prop_map(|(a, c, n, p)| Op::Consume(a, c, n, p)),
            3 => prop_oneof![1..120u64, Just(PERIOD), 1..3 * PERIOD].prop_map(Op::Advance),
        ]
    }

    /// What the test expects: units used per (user, bucket) in the period they were used
    /// in, and overage charged per user per period.
    #[derive(Default)]
    struct Model {
        used: HashMap<(usize, u8, u8), (u64, U256)>,
        charged: HashMap<usize, (u64, U256)>,
        paid_out: U256,
    }

    fn allowance(env: &Env, user: Address) -> U256 {
        env.quota(user, 0, 1).0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Invariants 5 and 1: a bucket's units used in a period never exceed its
        /// allowance; overage charged in a period never exceeds the opted-in cap; a stake
        /// never raises the current period's allowance; COR is conserved and overage
        /// arrives exactly in the payment contract.
        #[test]
        fn quota_never_exceeds_allowance_plus_opted_in_overage(
            initial in (stake_amount(), stake_amount()),
            ops in proptest::collection::vec(op(), 1..40)
        ) {
            let mut env = setup_with(PERIOD);
            // A cooldown of two periods, so withdrawals happen within a sequence.
            set_param(&mut env, COOLDOWN, u(2 * PERIOD));
            env.stake(ALICE, cor(initial.0)).unwrap();
            env.stake(BOB, cor(initial.1)).unwrap();
            env.next_period();
            let mut model = Model::default();
            for op in ops {
                let period = env.sq.current_period().0;
                match op {
                    Op::Stake(a, v) => {
                        let before = allowance(&env, USERS[a]);
                        let (staked, counted, _, _) = env.sq.stake_of(USERS[a]);
                        let funded = env.token.balance_of(USERS[a]) >= cor(v);
                        match env.stake(USERS[a], cor(v)) {
                            Ok(()) => prop_assert_eq!(env.sq.stake_of(USERS[a]).0, staked + cor(v)),
                            Err(e) => {
                                prop_assert!(!funded);
                                prop_assert!(matches!(e, Error::TokenTransferFailed(_)));
                            }
                        }
                        prop_assert_eq!(allowance(&env, USERS[a]), before);
                        prop_assert_eq!(env.sq.stake_of(USERS[a]).1, counted);
                    }
                    Op::RequestUnstake(a, v) => {
                        env.chain.set_sender(USERS[a]);
                        let sq = &mut env.sq;
                        let _ = env.chain.tx(|| sq.request_unstake(cor(v)));
                    }
                    Op::Withdraw(a) => {
                        env.chain.set_sender(USERS[a]);
                        let sq = &mut env.sq;
                        let _ = env.chain.tx(|| sq.withdraw_unstaked());
                    }
                    Op::SetAutoDeduct(a, e, m) => {
                        env.chain.set_sender(USERS[a]);
                        env.sq.set_auto_deduct(e, cor(m));
                    }
                    Op::Consume(a, c, n, p) => {
                        let user = USERS[a];
                        let stake_before = env.sq.stake_of(user).0;
                        let escrow_before = env.pay.escrow_of(user);
                        let used_before = env.quota(user, c, n).1;
                        match env.consume(user, c, n, cor(p)) {
                            Ok(true) => {
                                let (allowance, used, _, _) = env.quota(user, c, n);
                                prop_assert!(used <= allowance);
                                let cost = env.sq.param(CLASS_UNITS_LIGHT + c).unwrap() * u(n.into());
                                prop_assert_eq!(used, used_before + cost);
                                model.used.insert((a, c, n), (period, used));
                                prop_assert_eq!(env.sq.stake_of(user).0, stake_before);
                            }
                            Ok(false) => {
                                let price = cor(p);
                                let (enabled, max, charged) = env.sq.auto_deduct(user);
                                prop_assert!(enabled);
                                prop_assert!(charged <= max);
                                let entry = model.charged.entry(a).or_insert((period, U256::ZERO));
                                if entry.0 != period {
                                    *entry = (period, U256::ZERO);
                                }
                                entry.1 += price;
                                prop_assert_eq!(charged, entry.1);
                                prop_assert_eq!(env.sq.stake_of(user).0, stake_before - price);
                                prop_assert_eq!(env.pay.escrow_of(user), escrow_before + price);
                                prop_assert_eq!(env.quota(user, c, n).1, used_before);
                                model.paid_out += price;
                            }
                            Err(_) => {
                                prop_assert_eq!(env.sq.stake_of(user).0, stake_before);
                                prop_assert_eq!(env.quota(user, c, n).1, used_before);
                            }
                        }
                    }
                    Op::Advance(secs) => env.chain.advance(secs),
                }
                // Units used only grow through successful consumes, each checked above.
                let period = env.sq.current_period().0;
                for (&(a, c, n), &(p, used)) in &model.used {
                    let expected = if p == period { used } else { U256::ZERO };
                    prop_assert_eq!(env.quota(USERS[a], c, n).1, expected);
                }
                for (&a, &(p, charged)) in &model.charged {
                    let expected = if p == period { charged } else { U256::ZERO };
                    prop_assert_eq!(env.sq.auto_deduct(USERS[a]).2, expected);
                }
                env.assert_conserved();
                prop_assert_eq!(env.token.balance_of(PAYMENT), model.paid_out);
                let held: U256 = USERS.iter().map(|&a| env.token.balance_of(a)).sum();
                prop_assert_eq!(held + env.token.balance_of(SQ) + model.paid_out, cor(2 * FUNDS));
            }
        }
    }

    #[derive(Debug, Clone)]
    enum ParamOp {
        Schedule(u8, u64, bool),
        Cancel(u8),
        ScheduleAsStranger(u8),
        Advance(u64),
    }

    fn param_op() -> impl Strategy<Value = ParamOp> {
        prop_oneof![
            4 => (0..15u8, any::<u64>(), any::<bool>())
                .prop_map(|(id, v, near)| ParamOp::Schedule(id, v, near)),
            1 => (0..15u8).prop_map(ParamOp::Cancel),
            1 => (0..13u8).prop_map(ParamOp::ScheduleAsStranger),
            2 => prop_oneof![1..DELAY, Just(DELAY), DELAY..3 * DELAY].prop_map(ParamOp::Advance),
        ]
    }

    /// A candidate value: near the current one (within about two steps) or anywhere up to
    /// twice the maximum.
    fn candidate(spec: ParamSpec, current: U256, seed: u64, near: bool) -> U256 {
        if near {
            let span = spec.max_step * u(4);
            let offset = if span.is_zero() {
                U256::ZERO
            } else {
                u(seed) % span
            };
            (current + offset).saturating_sub(spec.max_step * u(2))
        } else {
            u(seed) % (spec.max * u(2) + u(1))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Invariant 7: every parameter stays within its bounds, changes by at most its
        /// step, only through the owner, and only once its delay has passed.
        #[test]
        fn params_stay_in_bounds_and_wait_their_delay(
            ops in proptest::collection::vec(param_op(), 1..40)
        ) {
            let mut env = setup();
            // Per id: (value in effect, pending (value, effective time)).
            let mut model: Vec<(U256, Option<(U256, u64)>)> = (0..13u8)
                .map(|id| (env.sq.param(id).unwrap(), None))
                .collect();
            for op in ops {
                let now = env.chain.timestamp();
                match op {
                    ParamOp::Schedule(id, seed, near) => {
                        env.as_owner();
                        let Some(spec) = param_spec(id) else {
                            prop_assert_eq!(
                                env.sq.schedule_param(id, u(seed)),
                                Err(UnknownParam { id }.into())
                            );
                            continue;
                        };
                        let current = env.sq.param(id).unwrap();
                        let value = candidate(spec, current, seed, near);
                        let step = if value > current { value - current } else { current - value };
                        let sq = &mut env.sq;
                        match env.chain.tx(|| sq.schedule_param(id, value)) {
                            Ok(at) => {
                                prop_assert!(value >= spec.min && value <= spec.max);
                                prop_assert!(step <= spec.max_step);
                                prop_assert_eq!(at, now + DELAY);
                                model[usize::from(id)] = (current, Some((value, at)));
                            }
                            Err(Error::ParamOutOfBounds(_)) => {
                                prop_assert!(value < spec.min || value > spec.max);
                            }
                            Err(Error::ParamStepTooLarge(_)) => {
                                prop_assert!(step > spec.max_step);
                            }
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    ParamOp::Cancel(id) => {
                        env.as_owner();
                        let sq = &mut env.sq;
                        let result = env.chain.tx(|| sq.cancel_param(id));
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
                    ParamOp::ScheduleAsStranger(id) => {
                        env.chain.set_sender(ALICE);
                        let sq = &mut env.sq;
                        prop_assert_eq!(
                            env.chain.tx(|| sq.schedule_param(id, u(1))),
                            Err(OwnableUnauthorizedAccount { account: ALICE }.into())
                        );
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
                    let value = env.sq.param(id).unwrap();
                    prop_assert_eq!(value, slot.0);
                    prop_assert!(value >= spec.min && value <= spec.max);
                    let pending = env.sq.pending_param(id).unwrap();
                    prop_assert_eq!(pending, slot.1.unwrap_or((U256::ZERO, 0)));
                }
            }
        }
    }
}
