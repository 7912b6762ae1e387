//! Unit tests: OpenZeppelin ERC-20 behaviour, EIP-2612 permit, capped minting, ownership.

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_testkit::{permit_digest, Account, TestChain};

use super::*;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const CAROL: Address = address!("000000000000000000000000000000000000ca01");

fn cap() -> U256 {
    U256::from(1_000_000u64)
}

fn setup() -> (TestChain, CorToken) {
    let chain = TestChain::new();
    chain.set_sender(OWNER);
    chain
        .deploy::<CorToken>(TOKEN, &(cap(), OWNER).abi_encode_params())
        .expect("constructor succeeds");
    chain.take_logs();
    let token = chain.at::<CorToken>(TOKEN);
    (chain, token)
}

fn funded(holder: Address, amount: u64) -> (TestChain, CorToken) {
    let (chain, mut token) = setup();
    token.mint(holder, U256::from(amount)).unwrap();
    chain.take_logs();
    (chain, token)
}

#[test]
fn metadata_matches_the_cor_token() {
    let (_, token) = setup();
    assert_eq!(token.name(), "COR");
    assert_eq!(token.symbol(), "COR");
    assert_eq!(token.decimals(), 18);
    assert_eq!(token.cap(), cap());
    assert_eq!(token.owner(), OWNER);
    assert_eq!(token.total_supply(), U256::ZERO);
}

#[test]
fn constructor_rejects_zero_cap_and_zero_owner() {
    let chain = TestChain::new();
    let err = chain
        .deploy::<CorToken>(TOKEN, &(U256::ZERO, OWNER).abi_encode_params())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(ERC20InvalidCap { cap: U256::ZERO }))
    );
    let err = chain
        .deploy::<CorToken>(TOKEN, &(cap(), Address::ZERO).abi_encode_params())
        .unwrap_err();
    assert_eq!(
        err,
        Vec::<u8>::from(Error::from(OwnableInvalidOwner {
            owner: Address::ZERO
        }))
    );
}

#[test]
fn constructor_runs_once() {
    let (chain, _) = setup();
    assert!(chain
        .deploy::<CorToken>(TOKEN, &(cap(), OWNER).abi_encode_params())
        .is_err());
}

#[test]
fn mint_by_owner_credits_and_emits_transfer_from_zero() {
    let (chain, mut token) = setup();
    token.mint(BOB, U256::from(500)).unwrap();
    assert_eq!(token.balance_of(BOB), U256::from(500));
    assert_eq!(token.total_supply(), U256::from(500));
    assert_eq!(
        chain.events::<Transfer>(),
        vec![Transfer {
            from: Address::ZERO,
            to: BOB,
            value: U256::from(500)
        }]
    );
}

#[test]
fn mint_rejects_non_owner() {
    let (chain, mut token) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        token.mint(BOB, U256::from(1)),
        Err(OwnableUnauthorizedAccount { account: BOB }.into())
    );
}

#[test]
fn mint_rejects_zero_receiver() {
    let (_, mut token) = setup();
    assert_eq!(
        token.mint(Address::ZERO, U256::from(1)),
        Err(ERC20InvalidReceiver {
            receiver: Address::ZERO
        }
        .into())
    );
}

#[test]
fn mint_past_cap_reverts_with_exceeded_cap() {
    let (chain, mut token) = setup();
    token.mint(BOB, cap() - U256::from(1)).unwrap();
    chain.take_logs();
    assert_eq!(
        chain.tx(|| token.mint(BOB, U256::from(2))),
        Err(ERC20ExceededCap {
            increasedSupply: cap() + U256::from(1),
            cap: cap()
        }
        .into())
    );
    assert_eq!(token.total_supply(), cap() - U256::from(1));
    assert!(chain.logs().is_empty());
}

#[test]
fn transfer_moves_balance_and_emits() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    assert_eq!(token.transfer(CAROL, U256::from(40)), Ok(true));
    assert_eq!(token.balance_of(BOB), U256::from(60));
    assert_eq!(token.balance_of(CAROL), U256::from(40));
    assert_eq!(
        chain.events::<Transfer>(),
        vec![Transfer {
            from: BOB,
            to: CAROL,
            value: U256::from(40)
        }]
    );
}

#[test]
fn transfer_rejects_insufficient_balance() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    assert_eq!(
        token.transfer(CAROL, U256::from(101)),
        Err(ERC20InsufficientBalance {
            sender: BOB,
            balance: U256::from(100),
            needed: U256::from(101)
        }
        .into())
    );
}

#[test]
fn transfer_rejects_zero_receiver() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    assert_eq!(
        token.transfer(Address::ZERO, U256::from(1)),
        Err(ERC20InvalidReceiver {
            receiver: Address::ZERO
        }
        .into())
    );
}

#[test]
fn self_transfer_keeps_balance() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    token.transfer(BOB, U256::from(70)).unwrap();
    assert_eq!(token.balance_of(BOB), U256::from(100));
}

#[test]
fn approve_sets_allowance_and_emits() {
    let (chain, mut token) = setup();
    chain.set_sender(BOB);
    assert_eq!(token.approve(CAROL, U256::from(7)), Ok(true));
    assert_eq!(token.allowance(BOB, CAROL), U256::from(7));
    assert_eq!(
        chain.events::<Approval>(),
        vec![Approval {
            owner: BOB,
            spender: CAROL,
            value: U256::from(7)
        }]
    );
}

#[test]
fn approve_rejects_zero_spender() {
    let (chain, mut token) = setup();
    chain.set_sender(BOB);
    assert_eq!(
        token.approve(Address::ZERO, U256::from(7)),
        Err(ERC20InvalidSpender {
            spender: Address::ZERO
        }
        .into())
    );
}

#[test]
fn transfer_from_spends_allowance_without_approval_event() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    token.approve(CAROL, U256::from(50)).unwrap();
    chain.take_logs();
    chain.set_sender(CAROL);
    assert_eq!(token.transfer_from(BOB, CAROL, U256::from(30)), Ok(true));
    assert_eq!(token.allowance(BOB, CAROL), U256::from(20));
    assert_eq!(token.balance_of(CAROL), U256::from(30));
    assert!(chain.events::<Approval>().is_empty());
    assert_eq!(chain.events::<Transfer>().len(), 1);
}

#[test]
fn transfer_from_with_infinite_allowance_does_not_decrease_it() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    token.approve(CAROL, U256::MAX).unwrap();
    chain.set_sender(CAROL);
    token.transfer_from(BOB, CAROL, U256::from(30)).unwrap();
    assert_eq!(token.allowance(BOB, CAROL), U256::MAX);
}

#[test]
fn transfer_from_rejects_insufficient_allowance() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    token.approve(CAROL, U256::from(10)).unwrap();
    chain.set_sender(CAROL);
    assert_eq!(
        token.transfer_from(BOB, CAROL, U256::from(11)),
        Err(ERC20InsufficientAllowance {
            spender: CAROL,
            allowance: U256::from(10),
            needed: U256::from(11)
        }
        .into())
    );
}

#[test]
fn burn_reduces_supply_and_emits_transfer_to_zero() {
    let (chain, mut token) = funded(BOB, 100);
    chain.set_sender(BOB);
    token.burn(U256::from(25)).unwrap();
    assert_eq!(token.total_supply(), U256::from(75));
    assert_eq!(
        chain.events::<Transfer>(),
        vec![Transfer {
            from: BOB,
            to: Address::ZERO,
            value: U256::from(25)
        }]
    );
    assert_eq!(
        token.burn(U256::from(76)),
        Err(ERC20InsufficientBalance {
            sender: BOB,
            balance: U256::from(75),
            needed: U256::from(76)
        }
        .into())
    );
}

fn signed_permit(
    chain: &TestChain,
    signer: &Account,
    owner: Address,
    value: U256,
    nonce: U256,
    deadline: U256,
) -> (u8, B256, B256) {
    let digest = permit_digest(
        TOKEN,
        chain.chain_id(),
        owner,
        CAROL,
        value,
        nonce,
        deadline,
    );
    signer.sign(digest)
}

#[test]
fn domain_separator_matches_eip712() {
    let (chain, token) = setup();
    let expected = alloy_sol_types::Eip712Domain::new(
        Some("COR".into()),
        Some("1".into()),
        Some(U256::from(chain.chain_id())),
        Some(TOKEN),
        None,
    )
    .separator();
    assert_eq!(token.domain_separator(), expected);
}

#[test]
fn permit_sets_allowance_and_bumps_nonce() {
    let (chain, mut token) = setup();
    let alice = Account::new(7);
    let deadline = U256::from(chain.timestamp() + 60);
    let (v, r, s) = signed_permit(
        &chain,
        &alice,
        alice.address,
        U256::from(99),
        U256::ZERO,
        deadline,
    );
    chain.set_sender(BOB); // anyone may submit the signature
    token
        .permit(alice.address, CAROL, U256::from(99), deadline, v, r, s)
        .unwrap();
    assert_eq!(token.allowance(alice.address, CAROL), U256::from(99));
    assert_eq!(token.nonces(alice.address), U256::from(1));
    assert_eq!(
        chain.events::<Approval>(),
        vec![Approval {
            owner: alice.address,
            spender: CAROL,
            value: U256::from(99)
        }]
    );
}

#[test]
fn permit_replay_fails_with_invalid_signer() {
    let (chain, mut token) = setup();
    let alice = Account::new(7);
    let deadline = U256::from(chain.timestamp() + 60);
    let (v, r, s) = signed_permit(
        &chain,
        &alice,
        alice.address,
        U256::from(99),
        U256::ZERO,
        deadline,
    );
    token
        .permit(alice.address, CAROL, U256::from(99), deadline, v, r, s)
        .unwrap();
    let err = chain
        .tx(|| token.permit(alice.address, CAROL, U256::from(99), deadline, v, r, s))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidSigner(ERC2612InvalidSigner { owner, .. }) if owner == alice.address)
    );
    assert_eq!(token.nonces(alice.address), U256::from(1));
}

#[test]
fn permit_rejects_expired_deadline() {
    let (chain, mut token) = setup();
    let alice = Account::new(7);
    let deadline = U256::from(chain.timestamp() - 1);
    let (v, r, s) = signed_permit(
        &chain,
        &alice,
        alice.address,
        U256::from(1),
        U256::ZERO,
        deadline,
    );
    assert_eq!(
        token.permit(alice.address, CAROL, U256::from(1), deadline, v, r, s),
        Err(ERC2612ExpiredSignature { deadline }.into())
    );
}

#[test]
fn permit_rejects_signature_by_someone_else() {
    let (chain, mut token) = setup();
    let alice = Account::new(7);
    let mallory = Account::new(8);
    let deadline = U256::from(chain.timestamp() + 60);
    let (v, r, s) = signed_permit(
        &chain,
        &mallory,
        alice.address,
        U256::from(1),
        U256::ZERO,
        deadline,
    );
    assert_eq!(
        token.permit(alice.address, CAROL, U256::from(1), deadline, v, r, s),
        Err(ERC2612InvalidSigner {
            signer: mallory.address,
            owner: alice.address
        }
        .into())
    );
}

#[test]
fn permit_rejects_high_s_and_garbage_signatures() {
    let (chain, mut token) = setup();
    let alice = Account::new(7);
    let deadline = U256::from(chain.timestamp() + 60);
    let high_s = B256::repeat_byte(0xff);
    assert_eq!(
        token.permit(
            alice.address,
            CAROL,
            U256::from(1),
            deadline,
            27,
            B256::repeat_byte(1),
            high_s
        ),
        Err(ECDSAInvalidSignatureS { s: high_s }.into())
    );
    assert_eq!(
        token.permit(
            alice.address,
            CAROL,
            U256::from(1),
            deadline,
            30,
            B256::repeat_byte(1),
            B256::repeat_byte(1)
        ),
        Err(ECDSAInvalidSignature {}.into())
    );
}

#[test]
fn ownership_transfer_and_renounce() {
    let (chain, mut token) = setup();
    token.transfer_ownership(BOB).unwrap();
    assert_eq!(token.owner(), BOB);
    assert_eq!(
        chain.events::<OwnershipTransferred>(),
        vec![OwnershipTransferred {
            previousOwner: OWNER,
            newOwner: BOB
        }]
    );
    assert_eq!(
        token.transfer_ownership(CAROL),
        Err(OwnableUnauthorizedAccount { account: OWNER }.into())
    );
    chain.set_sender(BOB);
    assert_eq!(
        token.transfer_ownership(Address::ZERO),
        Err(OwnableInvalidOwner {
            owner: Address::ZERO
        }
        .into())
    );
    token.renounce_ownership().unwrap();
    assert_eq!(token.owner(), Address::ZERO);
    assert!(token.mint(BOB, U256::from(1)).is_err());
}

#[test]
fn calls_through_the_abi_router_decode_typed_errors() {
    let (chain, _) = funded(BOB, 100);
    use alloy_sol_types::{SolCall, SolError};
    alloy_sol_types::sol! {
        function transfer(address to, uint256 value) external returns (bool);
    }
    let ok = chain
        .call(
            BOB,
            TOKEN,
            transferCall {
                to: CAROL,
                value: U256::from(1),
            }
            .abi_encode(),
        )
        .unwrap();
    assert!(transferCall::abi_decode_returns(&ok).unwrap());
    let err = chain
        .call(
            BOB,
            TOKEN,
            transferCall {
                to: CAROL,
                value: U256::from(1_000),
            }
            .abi_encode(),
        )
        .unwrap_err();
    alloy_sol_types::sol! {
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    }
    let decoded = ERC20InsufficientBalance::abi_decode(&err).unwrap();
    assert_eq!(decoded.balance, U256::from(99));
}

mod properties {
    //! Supply conservation over random operation sequences.
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Mint(usize, u64),
        Transfer(usize, usize, u64),
        Approve(usize, usize, u64),
        TransferFrom(usize, usize, usize, u64),
        Burn(usize, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize, 0..400_000u64).prop_map(|(a, v)| Op::Mint(a, v)),
            (0..3usize, 0..3usize, 0..300u64).prop_map(|(a, b, v)| Op::Transfer(a, b, v)),
            (0..3usize, 0..3usize, 0..300u64).prop_map(|(a, b, v)| Op::Approve(a, b, v)),
            (0..3usize, 0..3usize, 0..3usize, 0..300u64)
                .prop_map(|(s, a, b, v)| Op::TransferFrom(s, a, b, v)),
            (0..3usize, 0..300u64).prop_map(|(a, v)| Op::Burn(a, v)),
        ]
    }

    const HOLDERS: [Address; 3] = [OWNER, BOB, CAROL];

    proptest! {
        #[test]
        fn balances_always_sum_to_supply_within_cap(ops in proptest::collection::vec(op(), 1..40)) {
            let (chain, mut token) = setup();
            for op in ops {
                let _ = chain.tx(|| match op {
                    Op::Mint(a, v) => { chain.set_sender(OWNER); token.mint(HOLDERS[a], U256::from(v)) }
                    Op::Transfer(a, b, v) => { chain.set_sender(HOLDERS[a]); token.transfer(HOLDERS[b], U256::from(v)).map(|_| ()) }
                    Op::Approve(a, b, v) => { chain.set_sender(HOLDERS[a]); token.approve(HOLDERS[b], U256::from(v)).map(|_| ()) }
                    Op::TransferFrom(s, a, b, v) => { chain.set_sender(HOLDERS[s]); token.transfer_from(HOLDERS[a], HOLDERS[b], U256::from(v)).map(|_| ()) }
                    Op::Burn(a, v) => { chain.set_sender(HOLDERS[a]); token.burn(U256::from(v)) }
                });
                let sum = HOLDERS.iter().map(|h| token.balance_of(*h)).fold(U256::ZERO, |a, b| a + b);
                prop_assert_eq!(sum, token.total_supply());
                prop_assert!(token.total_supply() <= token.cap());
            }
        }
    }
}
