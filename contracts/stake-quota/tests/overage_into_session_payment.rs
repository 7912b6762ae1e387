//! StakeQuota, SessionPayment, SessionPaymentTable and CorToken together, as SessionQueue
//! will drive them: free quota first, then opted-in overage deducted from the stake,
//! deposited into the user's escrow, locked at the quoted price and settled; COR is
//! conserved in every contract throughout (invariant 1) and the lock equals the quote
//! (invariant 4).

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::SolValue;
use cor_contract_common::task_meta::TaskMeta;
use cor_testkit::TestChain;
use cor_token::CorToken;
use session_payment::SessionPayment;
use session_payment_table::SessionPaymentTable;
use stake_quota::{QuotaExhausted, StakeQuota};

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const TABLE: Address = address!("00000000000000000000000000000000000c0402");
const PAYMENT: Address = address!("00000000000000000000000000000000000c0403");
const QUOTA: Address = address!("00000000000000000000000000000000000c0404");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const TREASURY: Address = address!("000000000000000000000000000000000000a002");
/// Stands in for SessionQueue: holds the role in both SessionPayment and StakeQuota.
const QUEUE: Address = address!("000000000000000000000000000000000000a003");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const MINERS: [Address; 3] = [
    address!("0000000000000000000000000000000000000001"),
    address!("0000000000000000000000000000000000000002"),
    address!("0000000000000000000000000000000000000003"),
];
const DAY: u64 = 86_400;
const HEAVY: u8 = 2;
const N: u8 = 3;

fn cor(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

fn assert_conserved(chain: &TestChain) {
    let token = chain.at::<CorToken>(TOKEN);
    let payment = chain.at::<SessionPayment>(PAYMENT);
    let quota = chain.at::<StakeQuota>(QUOTA);
    assert_eq!(token.balance_of(PAYMENT), payment.total_owed());
    assert_eq!(token.balance_of(QUOTA), quota.total_owed());
}

#[test]
fn quota_then_overage_then_settlement_conserves_cor() {
    let chain = TestChain::new();
    let genesis = chain.timestamp();
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(cor(1_000_000), OWNER).abi_encode_params())
        .unwrap();
    chain
        .deploy::<SessionPaymentTable>(TABLE, &(OWNER, 3_600u64).abi_encode_params())
        .unwrap();
    chain
        .deploy::<SessionPayment>(PAYMENT, &(TOKEN, OWNER, TREASURY).abi_encode_params())
        .unwrap();
    chain
        .deploy::<StakeQuota>(
            QUOTA,
            &(TOKEN, OWNER, PAYMENT, genesis, DAY, 3_600u64).abi_encode_params(),
        )
        .unwrap();
    let mut token = chain.at::<CorToken>(TOKEN);
    let table = chain.at::<SessionPaymentTable>(TABLE);
    let mut payment = chain.at::<SessionPayment>(PAYMENT);
    let mut quota = chain.at::<StakeQuota>(QUOTA);
    payment.set_session_queue(QUEUE).unwrap();
    quota.set_session_queue(QUEUE).unwrap();
    token.mint(ALICE, cor(2_000)).unwrap();

    // Alice stakes 1 000 COR (tier 1: 100 units per bucket); it counts from the next day.
    chain.set_sender(ALICE);
    token.approve(QUOTA, U256::MAX).unwrap();
    quota.stake(cor(1_000)).unwrap();
    assert_eq!(quota.quota(ALICE, HEAVY, N).unwrap().0, U256::ZERO);
    chain.advance(DAY);
    assert_eq!(quota.quota(ALICE, HEAVY, N).unwrap().0, U256::from(100));

    // Two Heavy x3 tasks (48 units each) come out of the free quota.
    let (price, miners_part, validators_part, treasury_part) =
        table.quote(HEAVY, 2_000, 0, N, 1, 0, 0, false, 0).unwrap();
    chain.set_sender(QUEUE);
    assert_eq!(quota.consume(ALICE, HEAVY, N, price), Ok(true));
    assert_eq!(quota.consume(ALICE, HEAVY, N, price), Ok(true));
    // The third does not fit and Alice has not opted in.
    assert_eq!(
        chain.tx(|| quota.consume(ALICE, HEAVY, N, price)),
        Err(QuotaExhausted {
            user: ALICE,
            modelClass: HEAVY,
            redundancy: N,
            needed: U256::from(48),
            left: U256::from(4),
        }
        .into())
    );
    assert_conserved(&chain);

    // Alice opts in to overage of up to 10 COR per day.
    chain.set_sender(ALICE);
    quota.set_auto_deduct(true, cor(10));
    chain.set_sender(QUEUE);
    assert_eq!(quota.consume(ALICE, HEAVY, N, price), Ok(false));
    assert_eq!(quota.stake_of(ALICE).0, cor(1_000) - price);
    assert_eq!(payment.escrow_of(ALICE), (price, U256::ZERO));
    assert_conserved(&chain);

    // SessionQueue locks exactly the quoted price from the overage now in escrow...
    let task = U256::from(7);
    let meta = TaskMeta {
        model_class: HEAVY,
        redundancy: N,
        consensus: 1,
        threshold_bps: 6_667,
        ..TaskMeta::default()
    };
    payment
        .lock(
            task,
            ALICE,
            1,
            price,
            miners_part,
            validators_part,
            treasury_part,
            meta.pack(),
        )
        .unwrap();
    assert_eq!(payment.escrow_of(ALICE), (U256::ZERO, price));
    assert_conserved(&chain);

    // ...and settles it with two of the three miners agreeing.
    payment
        .settle(task, MINERS[..2].to_vec(), Vec::new())
        .unwrap();
    let share = miners_part / U256::from(N);
    assert_eq!(payment.claimable(MINERS[0]), share);
    assert_eq!(payment.claimable(MINERS[1]), share);
    assert_eq!(payment.claimable(MINERS[2]), U256::ZERO);
    let refunded = payment.escrow_of(ALICE).0;
    assert_eq!(refunded, share);
    assert_eq!(
        payment.claimable(TREASURY),
        price - share * U256::from(2) - refunded
    );
    assert_conserved(&chain);

    // Everyone takes their COR out; the contracts end owing exactly what they hold.
    for miner in &MINERS[..2] {
        chain.set_sender(*miner);
        payment.claim().unwrap();
        assert_eq!(token.balance_of(*miner), share);
    }
    chain.set_sender(ALICE);
    payment.withdraw(refunded).unwrap();
    assert_conserved(&chain);
    assert_eq!(token.total_supply(), cor(2_000));
}
