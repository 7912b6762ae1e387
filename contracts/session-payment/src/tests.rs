//! Unit tests: escrow, locks, settlement, refunds, pull payments, records, administration,
//! the pause, the ABI router; property tests for invariants 1, 2 and 4 of `PROTOCOL.md`.

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_testkit::{permit_digest, Account, TestChain};
use cor_token::CorToken;

use super::*;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const PAYMENT: Address = address!("00000000000000000000000000000000000c0402");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const TREASURY: Address = address!("0000000000000000000000000000000000007e50");
const QUEUE: Address = address!("0000000000000000000000000000000000005e00");
const STAKE_QUOTA: Address = address!("0000000000000000000000000000000000005a00");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const CAROL: Address = address!("000000000000000000000000000000000000ca01");
const MINERS: [Address; 7] = [
    address!("0000000000000000000000000000000000000d01"),
    address!("0000000000000000000000000000000000000d02"),
    address!("0000000000000000000000000000000000000d03"),
    address!("0000000000000000000000000000000000000d04"),
    address!("0000000000000000000000000000000000000d05"),
    address!("0000000000000000000000000000000000000d06"),
    address!("0000000000000000000000000000000000000d07"),
];
const VALIDATORS: [Address; 3] = [
    address!("0000000000000000000000000000000000000e01"),
    address!("0000000000000000000000000000000000000e02"),
    address!("0000000000000000000000000000000000000e03"),
];

/// What each funded account holds at setup.
const FUNDS: u64 = 1_000_000;

fn u(v: u64) -> U256 {
    U256::from(v)
}

fn meta(n: u8) -> B256 {
    TaskMeta {
        model_class: 1,
        sla_tier: 2,
        redundancy: n,
        consensus: 1,
        threshold_bps: 6_667,
        validator_depth: 2,
        execution_depth: 1,
        route_hint: 0xC0FFEE,
    }
    .pack()
}

/// A chain with CorToken and SessionPayment deployed, QUEUE as SessionQueue, ALICE and BOB
/// funded and approving SessionPayment, logs cleared, sender OWNER.
fn setup() -> (TestChain, CorToken, SessionPayment) {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(U256::MAX, OWNER).abi_encode_params())
        .expect("token constructor succeeds");
    chain
        .deploy::<SessionPayment>(PAYMENT, &(TOKEN, OWNER, TREASURY).abi_encode_params())
        .expect("payment constructor succeeds");
    let mut token = chain.at::<CorToken>(TOKEN);
    let mut pay = chain.at::<SessionPayment>(PAYMENT);
    pay.set_session_queue(QUEUE).unwrap();
    for holder in [ALICE, BOB] {
        chain.set_sender(OWNER);
        token.mint(holder, u(FUNDS)).unwrap();
        chain.set_sender(holder);
        token.approve(PAYMENT, U256::MAX).unwrap();
    }
    chain.set_sender(OWNER);
    chain.take_logs();
    (chain, token, pay)
}

/// `setup` plus a deposit of `amount` by ALICE.
fn with_deposit(amount: u64) -> (TestChain, CorToken, SessionPayment) {
    let (chain, token, mut pay) = setup();
    chain.set_sender(ALICE);
    pay.deposit(u(amount)).unwrap();
    chain.set_sender(OWNER);
    chain.take_logs();
    (chain, token, pay)
}

/// Locks task `id` for ALICE: total 1 000 split 700 / 200 / 100, redundancy `n`.
fn lock_task(chain: &TestChain, pay: &mut SessionPayment, id: u64, n: u8) -> Result<(), Error> {
    chain.set_sender(QUEUE);
    let result = chain.tx(|| {
        pay.lock(
            u(id),
            ALICE,
            MODE_ESCROW,
            u(1_000),
            u(700),
            u(200),
            u(100),
            meta(n),
        )
    });
    chain.set_sender(OWNER);
    result
}

/// `with_deposit(10 000)` plus task 1 locked with redundancy 3; logs cleared, sender QUEUE.
fn with_locked_task() -> (TestChain, CorToken, SessionPayment) {
    let (chain, token, mut pay) = with_deposit(10_000);
    lock_task(&chain, &mut pay, 1, 3).unwrap();
    chain.set_sender(QUEUE);
    chain.take_logs();
    (chain, token, pay)
}

fn assert_conserved(token: &CorToken, pay: &SessionPayment) {
    assert_eq!(token.balance_of(PAYMENT), pay.total_owed());
}

// ---- Construction -----------------------------------------------------------------------

#[test]
fn constructor_sets_token_owner_and_treasury() {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<SessionPayment>(PAYMENT, &(TOKEN, OWNER, TREASURY).abi_encode_params())
        .unwrap();
    let pay = chain.at::<SessionPayment>(PAYMENT);
    assert_eq!(pay.token(), TOKEN);
    assert_eq!(pay.owner(), OWNER);
    assert_eq!(pay.treasury(), TREASURY);
    assert_eq!(pay.session_queue(), Address::ZERO);
    assert!(!pay.paused());
    assert_eq!(pay.total_owed(), U256::ZERO);
    assert_eq!(
        chain.events::<TreasuryChanged>(),
        vec![TreasuryChanged {
            previousTreasury: Address::ZERO,
            newTreasury: TREASURY
        }]
    );
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: OWNER
        }]
    );
}

#[test]
fn constructor_rejects_zero_token() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<SessionPayment>(
            PAYMENT,
            &(Address::ZERO, OWNER, TREASURY).abi_encode_params(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(InvalidToken {
            token: Address::ZERO
        }))
    );
}

#[test]
fn constructor_rejects_zero_owner() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<SessionPayment>(
            PAYMENT,
            &(TOKEN, Address::ZERO, TREASURY).abi_encode_params(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(OwnableInvalidOwner {
            owner: Address::ZERO
        }))
    );
}

#[test]
fn constructor_rejects_zero_treasury() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<SessionPayment>(PAYMENT, &(TOKEN, OWNER, Address::ZERO).abi_encode_params())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(InvalidTreasury {
            treasury: Address::ZERO
        }))
    );
}

// ---- Administration ---------------------------------------------------------------------

#[test]
fn set_session_queue_by_owner_grants_role_and_emits() {
    let (chain, _, mut pay) = setup();
    pay.set_session_queue(CAROL).unwrap();
    assert_eq!(pay.session_queue(), CAROL);
    assert_eq!(
        chain.events::<RoleSet>(),
        vec![RoleSet {
            role: SESSION_QUEUE_ROLE,
            account: CAROL
        }]
    );
}

#[test]
fn set_session_queue_rejects_non_owner() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        pay.set_session_queue(BOB),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

#[test]
fn set_session_queue_to_zero_revokes_the_role() {
    let (chain, _, mut pay) = with_deposit(5_000);
    pay.set_session_queue(Address::ZERO).unwrap();
    assert_eq!(
        lock_task(&chain, &mut pay, 1, 1),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: QUEUE
        }
        .into())
    );
}

#[test]
fn set_treasury_by_owner_changes_it_and_emits() {
    let (chain, _, mut pay) = setup();
    pay.set_treasury(CAROL).unwrap();
    assert_eq!(pay.treasury(), CAROL);
    assert_eq!(
        chain.events::<TreasuryChanged>(),
        vec![TreasuryChanged {
            previousTreasury: TREASURY,
            newTreasury: CAROL
        }]
    );
}

#[test]
fn set_treasury_rejects_non_owner() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        pay.set_treasury(BOB),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

#[test]
fn set_treasury_rejects_zero_address() {
    let (_, _, mut pay) = setup();
    assert_eq!(
        pay.set_treasury(Address::ZERO),
        Err(InvalidTreasury {
            treasury: Address::ZERO
        }
        .into())
    );
}

#[test]
fn pause_and_unpause_by_owner_emit() {
    let (chain, _, mut pay) = setup();
    pay.pause().unwrap();
    assert!(pay.paused());
    pay.unpause().unwrap();
    assert!(!pay.paused());
    assert_eq!(chain.events::<Paused>(), vec![Paused { account: OWNER }]);
    assert_eq!(
        chain.events::<Unpaused>(),
        vec![Unpaused { account: OWNER }]
    );
}

#[test]
fn pause_and_unpause_reject_non_owner() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        pay.pause(),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
    assert_eq!(
        pay.unpause(),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

#[test]
fn pause_twice_reverts_with_enforced_pause() {
    let (_, _, mut pay) = setup();
    pay.pause().unwrap();
    assert_eq!(pay.pause(), Err(EnforcedPause {}.into()));
}

#[test]
fn unpause_when_not_paused_reverts_with_expected_pause() {
    let (_, _, mut pay) = setup();
    assert_eq!(pay.unpause(), Err(ExpectedPause {}.into()));
}

#[test]
fn ownership_transfer_and_renounce() {
    let (chain, _, mut pay) = setup();
    pay.transfer_ownership(BOB).unwrap();
    assert_eq!(pay.owner(), BOB);
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: OWNER,
            newOwner: BOB
        }]
    );
    assert_eq!(
        pay.transfer_ownership(CAROL),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    chain.set_sender(BOB);
    assert_eq!(
        pay.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    pay.renounce_ownership().unwrap();
    assert_eq!(pay.owner(), Address::ZERO);
    assert_eq!(
        pay.pause(),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

// ---- Escrow -----------------------------------------------------------------------------

#[test]
fn deposit_pulls_tokens_credits_escrow_and_emits() {
    let (chain, token, mut pay) = setup();
    chain.set_sender(ALICE);
    pay.deposit(u(400)).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (u(400), U256::ZERO));
    assert_eq!(pay.totals(), (u(400), U256::ZERO, U256::ZERO));
    assert_eq!(token.balance_of(ALICE), u(FUNDS - 400));
    assert_eq!(
        chain.events::<Deposited>(),
        vec![Deposited {
            account: ALICE,
            from: ALICE,
            amount: u(400)
        }]
    );
    assert_conserved(&token, &pay);
}

#[test]
fn deposit_rejects_zero_amount() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(ALICE);
    assert_eq!(pay.deposit(U256::ZERO), Err(ZeroAmount {}.into()));
}

#[test]
fn deposit_rejects_while_paused() {
    let (chain, _, mut pay) = setup();
    pay.pause().unwrap();
    chain.set_sender(ALICE);
    assert_eq!(pay.deposit(u(1)), Err(EnforcedPause {}.into()));
}

#[test]
fn deposit_without_allowance_fails_and_credits_nothing() {
    let (chain, token, mut pay) = setup();
    chain.set_sender(CAROL);
    assert_eq!(
        chain.tx(|| pay.deposit(u(5))),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: CAROL,
            to: PAYMENT,
            amount: u(5)
        }
        .into())
    );
    assert_eq!(pay.escrow_of(CAROL), (U256::ZERO, U256::ZERO));
    assert_conserved(&token, &pay);
}

#[test]
fn deposit_for_credits_the_beneficiary_and_charges_the_caller() {
    let (chain, token, mut pay) = setup();
    chain.set_sender(BOB);
    pay.deposit_for(CAROL, u(300)).unwrap();
    assert_eq!(pay.escrow_of(CAROL), (u(300), U256::ZERO));
    assert_eq!(pay.escrow_of(BOB), (U256::ZERO, U256::ZERO));
    assert_eq!(token.balance_of(BOB), u(FUNDS - 300));
    assert_eq!(
        chain.events::<Deposited>(),
        vec![Deposited {
            account: CAROL,
            from: BOB,
            amount: u(300)
        }]
    );
    assert_conserved(&token, &pay);
}

#[test]
fn deposit_for_rejects_zero_amount() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        pay.deposit_for(CAROL, U256::ZERO),
        Err(ZeroAmount {}.into())
    );
}

#[test]
fn deposit_for_rejects_zero_account() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        pay.deposit_for(Address::ZERO, u(1)),
        Err(InvalidAccount {
            account: Address::ZERO
        }
        .into())
    );
}

#[test]
fn deposit_for_rejects_while_paused() {
    let (chain, _, mut pay) = setup();
    pay.pause().unwrap();
    chain.set_sender(BOB);
    assert_eq!(pay.deposit_for(CAROL, u(1)), Err(EnforcedPause {}.into()));
}

#[test]
fn deposit_for_without_funds_fails_with_token_transfer_failed() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(CAROL);
    assert_eq!(
        pay.deposit_for(ALICE, u(5)),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: CAROL,
            to: PAYMENT,
            amount: u(5)
        }
        .into())
    );
}

/// A fresh key-backed account funded with `FUNDS` COR and no allowance.
fn wallet(chain: &TestChain, token: &mut CorToken) -> Account {
    let wallet = Account::new(7);
    chain.set_sender(OWNER);
    token.mint(wallet.address, u(FUNDS)).unwrap();
    chain.take_logs();
    wallet
}

fn permit(chain: &TestChain, signer: &Account, value: U256, deadline: U256) -> (u8, B256, B256) {
    let digest = permit_digest(
        TOKEN,
        chain.chain_id(),
        signer.address,
        PAYMENT,
        value,
        U256::ZERO,
        deadline,
    );
    signer.sign(digest)
}

#[test]
fn deposit_with_permit_deposits_in_one_call() {
    let (chain, mut token, mut pay) = setup();
    let wallet = wallet(&chain, &mut token);
    let deadline = u(chain.timestamp() + 600);
    let (v, r, s) = permit(&chain, &wallet, u(250), deadline);
    chain.set_sender(wallet.address);
    pay.deposit_with_permit(u(250), deadline, v, r, s).unwrap();
    assert_eq!(pay.escrow_of(wallet.address), (u(250), U256::ZERO));
    assert_eq!(token.nonces(wallet.address), u(1));
    assert_eq!(token.allowance(wallet.address, PAYMENT), U256::ZERO);
    assert_eq!(
        chain.events::<Deposited>(),
        vec![Deposited {
            account: wallet.address,
            from: wallet.address,
            amount: u(250)
        }]
    );
    assert_conserved(&token, &pay);
}

#[test]
fn deposit_with_permit_rejects_zero_amount() {
    let (chain, mut token, mut pay) = setup();
    let wallet = wallet(&chain, &mut token);
    let deadline = u(chain.timestamp() + 600);
    let (v, r, s) = permit(&chain, &wallet, U256::ZERO, deadline);
    chain.set_sender(wallet.address);
    assert_eq!(
        pay.deposit_with_permit(U256::ZERO, deadline, v, r, s),
        Err(ZeroAmount {}.into())
    );
}

#[test]
fn deposit_with_permit_rejects_while_paused() {
    let (chain, mut token, mut pay) = setup();
    let wallet = wallet(&chain, &mut token);
    let deadline = u(chain.timestamp() + 600);
    let (v, r, s) = permit(&chain, &wallet, u(1), deadline);
    pay.pause().unwrap();
    chain.set_sender(wallet.address);
    assert_eq!(
        pay.deposit_with_permit(u(1), deadline, v, r, s),
        Err(EnforcedPause {}.into())
    );
}

#[test]
fn deposit_with_permit_signed_for_another_amount_fails_and_credits_nothing() {
    let (chain, mut token, mut pay) = setup();
    let wallet = wallet(&chain, &mut token);
    let deadline = u(chain.timestamp() + 600);
    let (v, r, s) = permit(&chain, &wallet, u(100), deadline);
    chain.set_sender(wallet.address);
    assert_eq!(
        chain.tx(|| pay.deposit_with_permit(u(200), deadline, v, r, s)),
        Err(TokenTransferFailed {
            token: TOKEN,
            from: wallet.address,
            to: PAYMENT,
            amount: u(200)
        }
        .into())
    );
    assert_eq!(pay.escrow_of(wallet.address), (U256::ZERO, U256::ZERO));
    assert_eq!(token.nonces(wallet.address), U256::ZERO);
}

#[test]
fn deposit_with_permit_still_deposits_when_the_permit_was_front_run() {
    let (chain, mut token, mut pay) = setup();
    let wallet = wallet(&chain, &mut token);
    let deadline = u(chain.timestamp() + 600);
    let (v, r, s) = permit(&chain, &wallet, u(100), deadline);
    chain.set_sender(BOB);
    token
        .permit(wallet.address, PAYMENT, u(100), deadline, v, r, s)
        .unwrap();
    chain.set_sender(wallet.address);
    pay.deposit_with_permit(u(100), deadline, v, r, s).unwrap();
    assert_eq!(pay.escrow_of(wallet.address), (u(100), U256::ZERO));
}

#[test]
fn withdraw_returns_available_escrow_and_emits() {
    let (chain, token, mut pay) = with_deposit(1_000);
    chain.set_sender(ALICE);
    pay.withdraw(u(600)).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (u(400), U256::ZERO));
    assert_eq!(token.balance_of(ALICE), u(FUNDS - 400));
    assert_eq!(
        chain.events::<Withdrawn>(),
        vec![Withdrawn {
            account: ALICE,
            amount: u(600)
        }]
    );
    assert_conserved(&token, &pay);
}

#[test]
fn withdraw_rejects_zero_amount() {
    let (chain, _, mut pay) = with_deposit(1_000);
    chain.set_sender(ALICE);
    assert_eq!(pay.withdraw(U256::ZERO), Err(ZeroAmount {}.into()));
}

#[test]
fn withdraw_rejects_more_than_available() {
    let (chain, _, mut pay) = with_deposit(1_000);
    chain.set_sender(ALICE);
    assert_eq!(
        pay.withdraw(u(1_001)),
        Err(InsufficientEscrow {
            payer: ALICE,
            available: u(1_000),
            needed: u(1_001)
        }
        .into())
    );
}

#[test]
fn withdraw_cannot_take_locked_funds() {
    let (chain, _, mut pay) = with_deposit(1_500);
    lock_task(&chain, &mut pay, 1, 1).unwrap();
    chain.set_sender(ALICE);
    assert_eq!(
        pay.withdraw(u(501)),
        Err(InsufficientEscrow {
            payer: ALICE,
            available: u(500),
            needed: u(501)
        }
        .into())
    );
    pay.withdraw(u(500)).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (U256::ZERO, u(1_000)));
}

#[test]
fn withdraw_works_while_paused() {
    let (chain, token, mut pay) = with_deposit(1_000);
    pay.pause().unwrap();
    chain.set_sender(ALICE);
    pay.withdraw(u(1_000)).unwrap();
    assert_eq!(token.balance_of(ALICE), u(FUNDS));
    assert_conserved(&token, &pay);
}

// ---- Lock -------------------------------------------------------------------------------

#[test]
fn lock_moves_total_from_available_to_locked_and_records_the_task() {
    let (chain, token, mut pay) = with_deposit(3_000);
    lock_task(&chain, &mut pay, 42, 3).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (u(2_000), u(1_000)));
    assert_eq!(pay.totals(), (u(2_000), u(1_000), U256::ZERO));
    assert_eq!(
        pay.task_payment(u(42)),
        (
            ALICE,
            MODE_ESCROW,
            STATUS_LOCKED,
            u(1_000),
            u(700),
            u(200),
            u(100),
            U256::ZERO
        )
    );
    assert_eq!(pay.task_meta(u(42)), (1, 2, 3, 1, 6_667, 2, 1, 0xC0FFEE));
    assert_eq!(
        chain.events::<PaymentLocked>(),
        vec![PaymentLocked {
            taskId: u(42),
            payer: ALICE,
            mode: MODE_ESCROW,
            total: u(1_000)
        }]
    );
    assert_conserved(&token, &pay);
}

#[test]
fn lock_quota_task_with_zero_total_moves_nothing() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(QUEUE);
    pay.lock(
        u(7),
        CAROL,
        MODE_QUOTA,
        U256::ZERO,
        U256::ZERO,
        U256::ZERO,
        U256::ZERO,
        meta(2),
    )
    .unwrap();
    assert_eq!(pay.escrow_of(CAROL), (U256::ZERO, U256::ZERO));
    assert_eq!(pay.task_payment(u(7)).1, MODE_QUOTA);
    assert_eq!(pay.task_payment(u(7)).2, STATUS_LOCKED);
    assert_eq!(
        chain.events::<PaymentLocked>(),
        vec![PaymentLocked {
            taskId: u(7),
            payer: CAROL,
            mode: MODE_QUOTA,
            total: U256::ZERO
        }]
    );
}

#[test]
fn lock_quota_overage_deposited_by_stake_quota() {
    let (chain, mut token, mut pay) = setup();
    token.mint(STAKE_QUOTA, u(500)).unwrap();
    chain.set_sender(STAKE_QUOTA);
    token.approve(PAYMENT, u(500)).unwrap();
    pay.deposit_for(CAROL, u(500)).unwrap();
    chain.set_sender(QUEUE);
    pay.lock(
        u(8),
        CAROL,
        MODE_QUOTA,
        u(500),
        u(350),
        u(100),
        u(50),
        meta(1),
    )
    .unwrap();
    assert_eq!(pay.escrow_of(CAROL), (U256::ZERO, u(500)));
    assert_conserved(&token, &pay);
}

#[test]
fn lock_rejects_caller_without_the_role() {
    let (chain, _, mut pay) = with_deposit(5_000);
    chain.set_sender(ALICE);
    assert_eq!(
        pay.lock(
            u(1),
            ALICE,
            MODE_ESCROW,
            u(1_000),
            u(700),
            u(200),
            u(100),
            meta(1)
        ),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
}

#[test]
fn lock_rejects_while_paused() {
    let (chain, _, mut pay) = with_deposit(5_000);
    pay.pause().unwrap();
    assert_eq!(
        lock_task(&chain, &mut pay, 1, 1),
        Err(EnforcedPause {}.into())
    );
}

#[test]
fn lock_rejects_invalid_payer_mode() {
    let (chain, _, mut pay) = with_deposit(5_000);
    chain.set_sender(QUEUE);
    assert_eq!(
        pay.lock(u(1), ALICE, 2, u(1_000), u(700), u(200), u(100), meta(1)),
        Err(InvalidPayerMode { mode: 2 }.into())
    );
}

#[test]
fn lock_rejects_redundancy_outside_one_to_seven() {
    let (chain, _, mut pay) = with_deposit(5_000);
    for n in [0, 8, 255] {
        assert_eq!(
            lock_task(&chain, &mut pay, 1, n),
            Err(InvalidTaskMeta {}.into())
        );
    }
    lock_task(&chain, &mut pay, 1, 7).unwrap();
}

#[test]
fn lock_rejects_existing_task_id() {
    let (chain, _, mut pay) = with_deposit(5_000);
    lock_task(&chain, &mut pay, 1, 1).unwrap();
    assert_eq!(
        lock_task(&chain, &mut pay, 1, 1),
        Err(TaskAlreadyExists { taskId: u(1) }.into())
    );
    chain.set_sender(QUEUE);
    pay.refund(u(1)).unwrap();
    assert_eq!(
        lock_task(&chain, &mut pay, 1, 1),
        Err(TaskAlreadyExists { taskId: u(1) }.into())
    );
}

#[test]
fn lock_rejects_parts_that_do_not_sum_to_total() {
    let (chain, _, mut pay) = with_deposit(5_000);
    chain.set_sender(QUEUE);
    assert_eq!(
        pay.lock(
            u(1),
            ALICE,
            MODE_ESCROW,
            u(1_000),
            u(700),
            u(200),
            u(99),
            meta(1)
        ),
        Err(InvalidSplit {
            total: u(1_000),
            minersPart: u(700),
            validatorsPart: u(200),
            treasuryPart: u(99)
        }
        .into())
    );
}

#[test]
fn lock_rejects_parts_whose_sum_overflows() {
    let (chain, _, mut pay) = with_deposit(5_000);
    chain.set_sender(QUEUE);
    assert_eq!(
        pay.lock(
            u(1),
            ALICE,
            MODE_ESCROW,
            u(1),
            U256::MAX,
            u(2),
            U256::ZERO,
            meta(1)
        ),
        Err(InvalidSplit {
            total: u(1),
            minersPart: U256::MAX,
            validatorsPart: u(2),
            treasuryPart: U256::ZERO
        }
        .into())
    );
}

#[test]
fn lock_rejects_zero_total_in_escrow_mode() {
    let (chain, _, mut pay) = with_deposit(5_000);
    chain.set_sender(QUEUE);
    assert_eq!(
        pay.lock(
            u(1),
            ALICE,
            MODE_ESCROW,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            meta(1)
        ),
        Err(ZeroAmount {}.into())
    );
}

#[test]
fn lock_rejects_insufficient_escrow_and_changes_nothing() {
    let (chain, token, mut pay) = with_deposit(999);
    assert_eq!(
        lock_task(&chain, &mut pay, 1, 1),
        Err(InsufficientEscrow {
            payer: ALICE,
            available: u(999),
            needed: u(1_000)
        }
        .into())
    );
    assert_eq!(pay.escrow_of(ALICE), (u(999), U256::ZERO));
    assert_eq!(pay.task_payment(u(1)).2, STATUS_NONE);
    assert!(chain.logs().is_empty());
    assert_conserved(&token, &pay);
}

// ---- Gas records ------------------------------------------------------------------------

#[test]
fn record_gas_accumulates_per_phase_and_emits() {
    let (chain, _, mut pay) = with_locked_task();
    pay.record_gas(u(1), 0, 120_000).unwrap();
    pay.record_gas(u(1), 1, 40_000).unwrap();
    pay.record_gas(u(1), 1, 41_000).unwrap();
    pay.record_gas(u(1), 2, 50_000).unwrap();
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    pay.record_gas(u(1), 3, 90_000).unwrap();
    assert_eq!(pay.task_gas(u(1)), (120_000, 81_000, 50_000, 90_000));
    let events = chain.events::<GasRecorded>();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[2],
        GasRecorded {
            taskId: u(1),
            phase: 1,
            gas: 41_000
        }
    );
}

#[test]
fn record_gas_saturates() {
    let (_, _, mut pay) = with_locked_task();
    pay.record_gas(u(1), 2, u64::MAX).unwrap();
    pay.record_gas(u(1), 2, 5).unwrap();
    assert_eq!(pay.task_gas(u(1)).2, u64::MAX);
}

#[test]
fn record_gas_rejects_caller_without_the_role() {
    let (chain, _, mut pay) = with_locked_task();
    chain.set_sender(BOB);
    assert_eq!(
        pay.record_gas(u(1), 0, 1),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: BOB
        }
        .into())
    );
}

#[test]
fn record_gas_rejects_unknown_task() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.record_gas(u(2), 0, 1),
        Err(TaskNotFound { taskId: u(2) }.into())
    );
}

#[test]
fn record_gas_rejects_unknown_phase() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.record_gas(u(1), 4, 1),
        Err(InvalidPhase { phase: 4 }.into())
    );
}

// ---- Settle -----------------------------------------------------------------------------

#[test]
fn settle_pays_winners_validators_treasury_and_refunds_missing_miners() {
    let (chain, token, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[0], MINERS[1]], VALIDATORS.to_vec())
        .unwrap();
    // minersPart 700 / N 3 = 233 (rest 1); validatorsPart 200 / 3 = 66 (rest 2).
    assert_eq!(pay.claimable(MINERS[0]), u(233));
    assert_eq!(pay.claimable(MINERS[1]), u(233));
    assert_eq!(pay.claimable(MINERS[2]), U256::ZERO);
    for v in VALIDATORS {
        assert_eq!(pay.claimable(v), u(66));
    }
    assert_eq!(pay.claimable(TREASURY), u(100 + 1 + 2));
    assert_eq!(pay.escrow_of(ALICE), (u(9_000 + 233), U256::ZERO));
    assert_eq!(
        pay.task_payment(u(1)),
        (
            ALICE,
            MODE_ESCROW,
            STATUS_SETTLED,
            u(1_000),
            u(700),
            u(200),
            u(100),
            u(233)
        )
    );
    assert_eq!(
        chain.events::<TaskSettled>(),
        vec![TaskSettled {
            taskId: u(1),
            paidMiners: u(466),
            paidValidators: u(198),
            paidTreasury: u(103),
            refunded: u(233),
        }]
    );
    assert_eq!(
        chain.events::<Accrued>(),
        vec![
            Accrued {
                account: MINERS[0],
                amount: u(233)
            },
            Accrued {
                account: MINERS[1],
                amount: u(233)
            },
            Accrued {
                account: VALIDATORS[0],
                amount: u(66)
            },
            Accrued {
                account: VALIDATORS[1],
                amount: u(66)
            },
            Accrued {
                account: VALIDATORS[2],
                amount: u(66)
            },
            Accrued {
                account: TREASURY,
                amount: u(103)
            },
        ]
    );
    assert_eq!(pay.totals(), (u(9_233), U256::ZERO, u(767)));
    assert_conserved(&token, &pay);
}

#[test]
fn settle_with_all_winners_refunds_nothing() {
    let (_, token, mut pay) = with_locked_task();
    pay.settle(u(1), MINERS[..3].to_vec(), vec![VALIDATORS[0]])
        .unwrap();
    assert_eq!(pay.claimable(VALIDATORS[0]), u(200));
    assert_eq!(pay.claimable(TREASURY), u(101));
    assert_eq!(pay.escrow_of(ALICE), (u(9_000), U256::ZERO));
    assert_eq!(pay.task_payment(u(1)).7, U256::ZERO);
    assert_conserved(&token, &pay);
}

#[test]
fn settle_without_validators_gives_their_part_to_the_treasury() {
    let (chain, _, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[4]], vec![]).unwrap();
    assert_eq!(pay.claimable(TREASURY), u(100 + 200 + 1));
    assert_eq!(
        chain.events::<TaskSettled>(),
        vec![TaskSettled {
            taskId: u(1),
            paidMiners: u(233),
            paidValidators: U256::ZERO,
            paidTreasury: u(301),
            refunded: u(466),
        }]
    );
}

#[test]
fn settle_of_zero_total_quota_task_pays_nothing() {
    let (chain, _, mut pay) = setup();
    chain.set_sender(QUEUE);
    pay.lock(
        u(3),
        CAROL,
        MODE_QUOTA,
        U256::ZERO,
        U256::ZERO,
        U256::ZERO,
        U256::ZERO,
        meta(1),
    )
    .unwrap();
    chain.take_logs();
    pay.settle(u(3), vec![MINERS[0]], vec![VALIDATORS[0]])
        .unwrap();
    assert!(chain.events::<Accrued>().is_empty());
    assert_eq!(pay.task_payment(u(3)).2, STATUS_SETTLED);
    assert_eq!(pay.total_owed(), U256::ZERO);
}

#[test]
fn settle_uses_the_current_treasury() {
    let (chain, _, mut pay) = with_locked_task();
    chain.set_sender(OWNER);
    pay.set_treasury(CAROL).unwrap();
    chain.set_sender(QUEUE);
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    assert_eq!(pay.claimable(CAROL), u(301));
    assert_eq!(pay.claimable(TREASURY), U256::ZERO);
}

#[test]
fn settle_rejects_caller_without_the_role() {
    let (chain, _, mut pay) = with_locked_task();
    chain.set_sender(MINERS[0]);
    assert_eq!(
        pay.settle(u(1), vec![MINERS[0]], vec![]),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: MINERS[0]
        }
        .into())
    );
}

#[test]
fn settle_rejects_unknown_task() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.settle(u(9), vec![MINERS[0]], vec![]),
        Err(TaskNotLocked {
            taskId: u(9),
            status: STATUS_NONE
        }
        .into())
    );
}

#[test]
fn settle_rejects_no_winners() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.settle(u(1), vec![], vec![]),
        Err(InvalidWinners {
            count: U256::ZERO,
            n: 3
        }
        .into())
    );
}

#[test]
fn settle_rejects_more_winners_than_redundancy() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.settle(u(1), MINERS[..4].to_vec(), vec![]),
        Err(InvalidWinners { count: u(4), n: 3 }.into())
    );
}

#[test]
fn settle_rejects_duplicate_winner_and_changes_nothing() {
    let (chain, token, mut pay) = with_locked_task();
    assert_eq!(
        chain.tx(|| pay.settle(u(1), vec![MINERS[0], MINERS[1], MINERS[0]], vec![])),
        Err(DuplicateWinner { winner: MINERS[0] }.into())
    );
    assert_eq!(pay.task_payment(u(1)).2, STATUS_LOCKED);
    assert_eq!(pay.escrow_of(ALICE), (u(9_000), u(1_000)));
    assert_conserved(&token, &pay);
}

#[test]
fn settle_twice_reverts_with_task_not_locked() {
    let (chain, _, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    let before = (pay.totals(), pay.claimable(MINERS[0]), pay.escrow_of(ALICE));
    assert_eq!(
        chain.tx(|| pay.settle(u(1), vec![MINERS[0]], vec![])),
        Err(TaskNotLocked {
            taskId: u(1),
            status: STATUS_SETTLED
        }
        .into())
    );
    assert_eq!(
        chain.tx(|| pay.refund(u(1))),
        Err(TaskNotLocked {
            taskId: u(1),
            status: STATUS_SETTLED
        }
        .into())
    );
    assert_eq!(
        before,
        (pay.totals(), pay.claimable(MINERS[0]), pay.escrow_of(ALICE))
    );
}

#[test]
fn settle_works_while_paused() {
    let (chain, token, mut pay) = with_locked_task();
    chain.set_sender(OWNER);
    pay.pause().unwrap();
    chain.set_sender(QUEUE);
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    assert_conserved(&token, &pay);
}

// ---- Refund -----------------------------------------------------------------------------

#[test]
fn refund_returns_the_full_total_to_available_and_emits() {
    let (chain, token, mut pay) = with_locked_task();
    pay.refund(u(1)).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (u(10_000), U256::ZERO));
    assert_eq!(
        pay.task_payment(u(1)),
        (
            ALICE,
            MODE_ESCROW,
            STATUS_REFUNDED,
            u(1_000),
            u(700),
            u(200),
            u(100),
            u(1_000)
        )
    );
    assert_eq!(
        chain.events::<TaskRefunded>(),
        vec![TaskRefunded {
            taskId: u(1),
            payer: ALICE,
            amount: u(1_000)
        }]
    );
    assert!(chain.events::<Accrued>().is_empty());
    assert_conserved(&token, &pay);
}

#[test]
fn refund_rejects_caller_without_the_role() {
    let (chain, _, mut pay) = with_locked_task();
    chain.set_sender(ALICE);
    assert_eq!(
        pay.refund(u(1)),
        Err(UnauthorizedCaller {
            role: SESSION_QUEUE_ROLE,
            caller: ALICE
        }
        .into())
    );
}

#[test]
fn refund_rejects_unknown_task() {
    let (_, _, mut pay) = with_locked_task();
    assert_eq!(
        pay.refund(u(2)),
        Err(TaskNotLocked {
            taskId: u(2),
            status: STATUS_NONE
        }
        .into())
    );
}

#[test]
fn refund_twice_reverts_with_task_not_locked() {
    let (chain, _, mut pay) = with_locked_task();
    pay.refund(u(1)).unwrap();
    assert_eq!(
        chain.tx(|| pay.refund(u(1))),
        Err(TaskNotLocked {
            taskId: u(1),
            status: STATUS_REFUNDED
        }
        .into())
    );
    assert_eq!(
        chain.tx(|| pay.settle(u(1), vec![MINERS[0]], vec![])),
        Err(TaskNotLocked {
            taskId: u(1),
            status: STATUS_REFUNDED
        }
        .into())
    );
    assert_eq!(pay.escrow_of(ALICE), (u(10_000), U256::ZERO));
}

#[test]
fn refund_works_while_paused() {
    let (chain, _, mut pay) = with_locked_task();
    chain.set_sender(OWNER);
    pay.pause().unwrap();
    chain.set_sender(QUEUE);
    pay.refund(u(1)).unwrap();
    assert_eq!(pay.escrow_of(ALICE), (u(10_000), U256::ZERO));
}

// ---- Claim ------------------------------------------------------------------------------

#[test]
fn claim_sends_everything_claimable_and_emits() {
    let (chain, token, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    chain.take_logs();
    chain.set_sender(MINERS[0]);
    assert_eq!(pay.claim(), Ok(u(233)));
    assert_eq!(token.balance_of(MINERS[0]), u(233));
    assert_eq!(pay.claimable(MINERS[0]), U256::ZERO);
    assert_eq!(
        chain.events::<Claimed>(),
        vec![Claimed {
            account: MINERS[0],
            amount: u(233)
        }]
    );
    chain.set_sender(TREASURY);
    assert_eq!(pay.claim(), Ok(u(301)));
    assert_eq!(pay.totals().2, U256::ZERO);
    assert_conserved(&token, &pay);
}

#[test]
fn claim_rejects_nothing_to_claim() {
    let (chain, _, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    chain.set_sender(MINERS[1]);
    assert_eq!(pay.claim(), Err(NothingToClaim {}.into()));
    chain.set_sender(MINERS[0]);
    pay.claim().unwrap();
    assert_eq!(pay.claim(), Err(NothingToClaim {}.into()));
}

#[test]
fn claim_works_while_paused() {
    let (chain, token, mut pay) = with_locked_task();
    pay.settle(u(1), vec![MINERS[0]], vec![]).unwrap();
    chain.set_sender(OWNER);
    pay.pause().unwrap();
    chain.set_sender(MINERS[0]);
    assert_eq!(pay.claim(), Ok(u(233)));
    assert_conserved(&token, &pay);
}

// ---- Records ----------------------------------------------------------------------------

#[test]
fn records_of_unknown_task_are_zero() {
    let (_, _, pay) = setup();
    assert_eq!(
        pay.task_payment(u(5)),
        (
            Address::ZERO,
            0,
            STATUS_NONE,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO
        )
    );
    assert_eq!(pay.task_meta(u(5)), (0, 0, 0, 0, 0, 0, 0, 0));
    assert_eq!(pay.task_gas(u(5)), (0, 0, 0, 0));
}

#[test]
fn split_divides_evenly_and_keeps_the_remainder() {
    assert_eq!(split(u(700), 3), (u(233), u(1)));
    assert_eq!(split(u(6), 3), (u(2), U256::ZERO));
    assert_eq!(split(u(2), 3), (U256::ZERO, u(2)));
    assert_eq!(split(u(200), 0), (U256::ZERO, u(200)));
    assert_eq!(split(U256::MAX, 1), (U256::MAX, U256::ZERO));
    assert_eq!(split(U256::MAX, 7), (U256::MAX / u(7), U256::MAX % u(7)));
    assert_eq!(split(u(5), u32::MAX as usize), (U256::ZERO, u(5)));
}

// ---- ABI router -------------------------------------------------------------------------

mod abi {
    //! The interface other contracts and wallets call, through the real ABI router.
    use alloy_sol_types::{SolCall, SolError};

    use super::*;

    alloy_sol_types::sol! {
        function depositFor(address account, uint256 amount) external;
        function lock(uint256 taskId, address payer, uint8 mode, uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart, bytes32 meta) external;
        function recordGas(uint256 taskId, uint8 phase, uint64 gas) external;
        function settle(uint256 taskId, address[] winners, address[] validators) external;
        function refund(uint256 taskId) external;
        function escrowOf(address account) external view returns (uint256 available, uint256 locked);
        function taskPayment(uint256 taskId) external view returns (address payer, uint8 mode, uint8 status, uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart, uint256 refunded);
        function taskMeta(uint256 taskId) external view returns (uint8 modelClass, uint8 slaTier, uint8 redundancy, uint8 consensus, uint16 thresholdBps, uint8 validatorDepth, uint8 executionDepth, uint32 routeHint);
        function taskGas(uint256 taskId) external view returns (uint64 submit, uint64 commit, uint64 reveal, uint64 finalize);
        function totals() external view returns (uint256 available, uint256 locked, uint256 claimable);
        function totalOwed() external view returns (uint256);
        function claim() external returns (uint256);
    }

    #[test]
    fn session_queue_flow_through_the_router() {
        let (chain, _, _) = setup();
        chain
            .call(
                ALICE,
                PAYMENT,
                depositForCall {
                    account: ALICE,
                    amount: u(2_000),
                }
                .abi_encode(),
            )
            .unwrap();
        let lock = lockCall {
            taskId: u(5),
            payer: ALICE,
            mode: MODE_ESCROW,
            total: u(1_000),
            minersPart: u(700),
            validatorsPart: u(200),
            treasuryPart: u(100),
            meta: meta(2),
        };
        chain.call(QUEUE, PAYMENT, lock.abi_encode()).unwrap();
        chain
            .call(
                QUEUE,
                PAYMENT,
                recordGasCall {
                    taskId: u(5),
                    phase: 0,
                    gas: 77,
                }
                .abi_encode(),
            )
            .unwrap();
        let settle = settleCall {
            taskId: u(5),
            winners: vec![MINERS[0]],
            validators: vec![VALIDATORS[0]],
        };
        chain.call(QUEUE, PAYMENT, settle.abi_encode()).unwrap();

        let out = chain
            .call(ALICE, PAYMENT, escrowOfCall { account: ALICE }.abi_encode())
            .unwrap();
        let escrow = escrowOfCall::abi_decode_returns(&out).unwrap();
        assert_eq!((escrow.available, escrow.locked), (u(1_350), U256::ZERO));

        let out = chain
            .call(
                ALICE,
                PAYMENT,
                taskPaymentCall { taskId: u(5) }.abi_encode(),
            )
            .unwrap();
        let record = taskPaymentCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            (record.payer, record.status, record.refunded),
            (ALICE, STATUS_SETTLED, u(350))
        );

        let out = chain
            .call(ALICE, PAYMENT, taskMetaCall { taskId: u(5) }.abi_encode())
            .unwrap();
        let m = taskMetaCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            (m.redundancy, m.thresholdBps, m.routeHint),
            (2, 6_667, 0xC0FFEE)
        );

        let out = chain
            .call(ALICE, PAYMENT, taskGasCall { taskId: u(5) }.abi_encode())
            .unwrap();
        assert_eq!(taskGasCall::abi_decode_returns(&out).unwrap().submit, 77);

        let out = chain
            .call(MINERS[0], PAYMENT, claimCall {}.abi_encode())
            .unwrap();
        assert_eq!(claimCall::abi_decode_returns(&out).unwrap(), u(350));

        let out = chain
            .call(ALICE, PAYMENT, totalsCall {}.abi_encode())
            .unwrap();
        let totals = totalsCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            (totals.available, totals.locked, totals.claimable),
            (u(1_350), U256::ZERO, u(300))
        );
        let out = chain
            .call(ALICE, PAYMENT, totalOwedCall {}.abi_encode())
            .unwrap();
        assert_eq!(totalOwedCall::abi_decode_returns(&out).unwrap(), u(1_650));
    }

    #[test]
    fn reverts_decode_as_typed_errors() {
        let (chain, _, _) = setup();
        alloy_sol_types::sol! {
            error UnauthorizedCaller(uint8 role, address caller);
            error TaskNotLocked(uint256 taskId, uint8 status);
        }
        let err = chain
            .call(ALICE, PAYMENT, refundCall { taskId: u(1) }.abi_encode())
            .unwrap_err();
        let decoded = UnauthorizedCaller::abi_decode(&err).unwrap();
        assert_eq!((decoded.role, decoded.caller), (SESSION_QUEUE_ROLE, ALICE));
        let err = chain
            .call(QUEUE, PAYMENT, refundCall { taskId: u(1) }.abi_encode())
            .unwrap_err();
        let decoded = TaskNotLocked::abi_decode(&err).unwrap();
        assert_eq!((decoded.taskId, decoded.status), (u(1), STATUS_NONE));
    }
}

// ---- Properties -------------------------------------------------------------------------

mod properties {
    //! Invariants 1, 2 and 4 over random operation sequences by several actors, with
    //! valid and invalid amounts.
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// Payers: ALICE and BOB approve SessionPayment; CAROL has COR but no allowance.
    const USERS: [Address; 3] = [ALICE, BOB, CAROL];

    /// Every account that can hold escrow or a claimable balance.
    fn accounts() -> Vec<Address> {
        let mut all = USERS.to_vec();
        all.extend(MINERS);
        all.extend(VALIDATORS);
        all.push(TREASURY);
        all
    }

    #[derive(Debug, Clone)]
    enum Op {
        Deposit {
            user: usize,
            amount: u64,
        },
        DepositFor {
            from: usize,
            to: usize,
            amount: u64,
        },
        Withdraw {
            user: usize,
            amount: u64,
        },
        Lock {
            task: u64,
            payer: usize,
            mode: u8,
            total: u64,
            split_ok: bool,
            n: u8,
            by_queue: bool,
        },
        Settle {
            task: u64,
            offset: usize,
            count: usize,
            duplicate: bool,
            validators: usize,
        },
        Refund {
            task: u64,
        },
        RecordGas {
            task: u64,
            phase: u8,
            gas: u64,
        },
        Claim {
            who: usize,
        },
        Pause,
        Unpause,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Mostly valid arguments so that sequences reach settlements; some invalid ones.
        let mode = prop_oneof![8 => 0..2u8, 1 => Just(2u8)];
        let n = prop_oneof![8 => 1..8u8, 1 => Just(0u8), 1 => Just(8u8)];
        prop_oneof![
            3 => (0..3usize, 0..5_000u64).prop_map(|(user, amount)| Op::Deposit { user, amount }),
            1 => (0..3usize, 0..3usize, 0..2_000u64)
                .prop_map(|(from, to, amount)| Op::DepositFor { from, to, amount }),
            2 => (0..3usize, 0..3_000u64).prop_map(|(user, amount)| Op::Withdraw { user, amount }),
            5 => (0..4u64, 0..3usize, mode, 0..1_500u64, prop::bool::weighted(0.9), n, prop::bool::weighted(0.95))
                .prop_map(|(task, payer, mode, total, split_ok, n, by_queue)| Op::Lock {
                    task, payer, mode, total, split_ok, n, by_queue,
                }),
            4 => (0..4u64, 0..7usize, 0..8usize, prop::bool::weighted(0.1), 0..4usize)
                .prop_map(|(task, offset, count, duplicate, validators)| Op::Settle {
                    task, offset, count, duplicate, validators,
                }),
            2 => (0..4u64).prop_map(|task| Op::Refund { task }),
            1 => (0..4u64, 0..5u8, 0..1_000_000u64).prop_map(|(task, phase, gas)| Op::RecordGas { task, phase, gas }),
            2 => (0..14usize).prop_map(|who| Op::Claim { who }),
            1 => Just(Op::Pause),
            3 => Just(Op::Unpause),
        ]
    }

    /// Everything the contract and the token say about the accounts, to compare before and
    /// after an operation.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Snapshot {
        balance: U256,
        totals: (U256, U256, U256),
        escrows: Vec<(U256, U256)>,
        claimables: Vec<U256>,
    }

    struct Harness {
        chain: TestChain,
        token: CorToken,
        pay: SessionPayment,
        accounts: Vec<Address>,
    }

    impl Harness {
        fn new() -> Self {
            let (chain, mut token, pay) = setup();
            chain.set_sender(OWNER);
            token.mint(CAROL, u(FUNDS)).unwrap();
            // Start with some escrow so that early locks can succeed.
            let mut pay = pay;
            for user in [ALICE, BOB] {
                chain.set_sender(user);
                pay.deposit(u(4_000)).unwrap();
            }
            chain.take_logs();
            Self {
                chain,
                token,
                pay,
                accounts: accounts(),
            }
        }

        fn snapshot(&self) -> Snapshot {
            Snapshot {
                balance: self.token.balance_of(PAYMENT),
                totals: self.pay.totals(),
                escrows: self
                    .accounts
                    .iter()
                    .map(|a| self.pay.escrow_of(*a))
                    .collect(),
                claimables: self
                    .accounts
                    .iter()
                    .map(|a| self.pay.claimable(*a))
                    .collect(),
            }
        }

        /// `count` distinct miners from `offset` on, plus a repeat of the first if
        /// `duplicate`.
        fn winners(offset: usize, count: usize, duplicate: bool) -> Vec<Address> {
            let mut winners: Vec<Address> = (0..count).map(|k| MINERS[(offset + k) % 7]).collect();
            if duplicate {
                if let Some(first) = winners.first().copied() {
                    winners.push(first);
                }
            }
            winners
        }

        /// Runs `op` as one transaction (rolled back on error).
        fn apply(&mut self, op: &Op) -> Result<(), Error> {
            let Self { chain, pay, .. } = self;
            chain.take_logs();
            chain.tx(|| match *op {
                Op::Deposit { user, amount } => {
                    chain.set_sender(USERS[user]);
                    pay.deposit(u(amount))
                }
                Op::DepositFor { from, to, amount } => {
                    chain.set_sender(USERS[from]);
                    pay.deposit_for(USERS[to], u(amount))
                }
                Op::Withdraw { user, amount } => {
                    chain.set_sender(USERS[user]);
                    pay.withdraw(u(amount))
                }
                Op::Lock {
                    task,
                    payer,
                    mode,
                    total,
                    split_ok,
                    n,
                    by_queue,
                } => {
                    chain.set_sender(if by_queue { QUEUE } else { BOB });
                    let miners = total * 7 / 10;
                    let validators = total * 2 / 10;
                    let treasury = total - miners - validators + u64::from(!split_ok);
                    pay.lock(
                        u(task),
                        USERS[payer],
                        mode,
                        u(total),
                        u(miners),
                        u(validators),
                        u(treasury),
                        meta(n),
                    )
                }
                Op::Settle {
                    task,
                    offset,
                    count,
                    duplicate,
                    validators,
                } => {
                    chain.set_sender(QUEUE);
                    pay.settle(
                        u(task),
                        Self::winners(offset, count, duplicate),
                        VALIDATORS[..validators].to_vec(),
                    )
                }
                Op::Refund { task } => {
                    chain.set_sender(QUEUE);
                    pay.refund(u(task))
                }
                Op::RecordGas { task, phase, gas } => {
                    chain.set_sender(QUEUE);
                    pay.record_gas(u(task), phase, gas)
                }
                Op::Claim { who } => {
                    chain.set_sender(accounts()[who]);
                    pay.claim().map(|_| ())
                }
                Op::Pause => {
                    chain.set_sender(OWNER);
                    pay.pause()
                }
                Op::Unpause => {
                    chain.set_sender(OWNER);
                    pay.unpause()
                }
            })
        }
    }

    fn index_of(accounts: &[Address], a: Address) -> usize {
        accounts
            .iter()
            .position(|x| *x == a)
            .expect("known account")
    }

    proptest! {
        /// The small-divisor long division agrees with 256-bit division.
        #[test]
        fn split_matches_division(limbs in any::<[u64; 4]>(), ways in 1..100_000usize) {
            let amount = U256::from_limbs(limbs);
            let ways_u = U256::from(ways);
            prop_assert_eq!(split(amount, ways), (amount / ways_u, amount % ways_u));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Invariant 1: the token balance equals `totalOwed`, which equals the sums over
        /// accounts of available + locked + claimable, after every operation.
        #[test]
        fn cor_is_conserved_after_every_op(ops in proptest::collection::vec(op(), 1..40)) {
            let mut h = Harness::new();
            for op in &ops {
                let _ = h.apply(op);
                let s = h.snapshot();
                let (available, locked, claimable) = s.totals;
                prop_assert_eq!(s.balance, h.pay.total_owed());
                prop_assert_eq!(h.pay.total_owed(), available + locked + claimable);
                prop_assert_eq!(available, s.escrows.iter().map(|e| e.0).sum::<U256>());
                prop_assert_eq!(locked, s.escrows.iter().map(|e| e.1).sum::<U256>());
                prop_assert_eq!(claimable, s.claimables.iter().copied().sum::<U256>());
            }
        }

        /// Invariant 2: a task settles or refunds at most once; repeat calls fail with
        /// `TaskNotLocked` naming the final status and move nothing.
        #[test]
        fn a_task_is_finalized_at_most_once(ops in proptest::collection::vec(op(), 1..40)) {
            let mut h = Harness::new();
            let mut closed: HashMap<u64, u8> = HashMap::new();
            for op in &ops {
                let task = match op {
                    Op::Settle { task, .. } | Op::Refund { task } => Some(*task),
                    _ => None,
                };
                let before = h.snapshot();
                let result = h.apply(op);
                let Some(task) = task else { continue };
                if let Some(status) = closed.get(&task) {
                    prop_assert_eq!(result, Err(TaskNotLocked { taskId: u(task), status: *status }.into()));
                    prop_assert_eq!(h.snapshot(), before);
                    prop_assert!(h.chain.logs().is_empty());
                } else if result.is_ok() {
                    let status = if matches!(op, Op::Settle { .. }) { STATUS_SETTLED } else { STATUS_REFUNDED };
                    prop_assert_eq!(h.pay.task_payment(u(task)).2, status);
                    closed.insert(task, status);
                }
            }
        }

        /// Invariant 4: `lock` takes exactly `total` from the payer's available escrow, and
        /// what a task's settlement or refund pays out plus refunds equals `total`.
        #[test]
        fn lock_takes_the_total_and_finalization_pays_it_out_exactly(ops in proptest::collection::vec(op(), 1..40)) {
            let mut h = Harness::new();
            for op in &ops {
                let before = h.snapshot();
                let record_before = match op {
                    Op::Settle { task, .. } | Op::Refund { task } => Some(h.pay.task_payment(u(*task))),
                    _ => None,
                };
                if h.apply(op).is_err() {
                    continue;
                }
                let after = h.snapshot();
                match *op {
                    Op::Lock { task, payer, total, .. } => {
                        let i = index_of(&h.accounts, USERS[payer]);
                        prop_assert_eq!(before.escrows[i].0 - after.escrows[i].0, u(total));
                        prop_assert_eq!(after.escrows[i].1 - before.escrows[i].1, u(total));
                        prop_assert_eq!(h.pay.task_payment(u(task)).3, u(total));
                        prop_assert_eq!(after.balance, before.balance);
                    }
                    Op::Settle { task, .. } | Op::Refund { task } => {
                        let (payer, _, _, total, ..) = record_before.expect("recorded above");
                        let i = index_of(&h.accounts, payer);
                        let refunded = after.escrows[i].0 - before.escrows[i].0;
                        let accrued = after.claimables.iter().copied().sum::<U256>()
                            - before.claimables.iter().copied().sum::<U256>();
                        prop_assert_eq!(before.escrows[i].1 - after.escrows[i].1, total);
                        prop_assert_eq!(refunded + accrued, total);
                        prop_assert_eq!(h.pay.task_payment(u(task)).7, refunded);
                        prop_assert_eq!(after.balance, before.balance);
                        if let Some(e) = h.chain.events::<TaskSettled>().first() {
                            prop_assert_eq!(e.paidMiners + e.paidValidators + e.paidTreasury + e.refunded, total);
                            prop_assert_eq!(e.refunded, refunded);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
