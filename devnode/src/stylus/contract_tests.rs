//! The project's real contracts, built by `cargo contracts build`, run on the host.

use std::time::Instant;

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use cor_abi::CorToken;

use crate::testutil::{contract_wasm, TestChain, SENDER};

const TOKEN: Address = address!("0x00000000000000000000000000000000000c0de0");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");

/// `stylus_constructor()`'s selector followed by the ABI-encoded arguments.
fn constructor(args: &[u8]) -> Vec<u8> {
    let selector = &alloy_primitives::keccak256(b"stylus_constructor()")[..4];
    [selector, args].concat()
}

#[test]
fn cor_token_deploys_mints_transfers_and_emits() {
    let mut chain = TestChain::new();
    chain.deploy_program(TOKEN, &contract_wasm("cor_token"));
    let cap = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(18));
    let args = alloy_sol_types::SolValue::abi_encode_params(&(cap, SENDER));
    let out = chain.send(TOKEN, constructor(&args));
    assert!(out.success, "constructor: {out:?}");
    assert_eq!(out.logs.len(), 1, "OwnershipTransferred");

    let amount = U256::from(5_000u64);
    let out = chain.send(
        TOKEN,
        CorToken::mintCall {
            to: SENDER,
            value: amount,
        }
        .abi_encode(),
    );
    assert!(out.success, "mint: {out:?}");
    let minted = CorToken::Transfer::decode_log(&out.logs[0]).expect("Transfer");
    assert_eq!(minted.from, Address::ZERO);
    assert_eq!(minted.value, amount);

    let out = chain.send(
        TOKEN,
        CorToken::transferCall {
            to: BOB,
            value: U256::from(1_200u64),
        }
        .abi_encode(),
    );
    assert!(out.success, "transfer: {out:?}");
    let moved = CorToken::Transfer::decode_log(&out.logs[0]).expect("Transfer");
    assert_eq!(
        (moved.from, moved.to, moved.value),
        (SENDER, BOB, U256::from(1_200u64))
    );
    assert!(
        out.gas_used > 21_000 && out.gas_used < 200_000,
        "gas {}",
        out.gas_used
    );

    let balance = |chain: &TestChain, who| {
        let out = chain.call(TOKEN, CorToken::balanceOfCall { account: who }.abi_encode());
        CorToken::balanceOfCall::abi_decode_returns(&out.output).expect("uint256")
    };
    assert_eq!(balance(&chain, BOB), U256::from(1_200u64));
    assert_eq!(balance(&chain, SENDER), U256::from(3_800u64));

    // A typed revert comes back as the contract's error.
    let out = chain.call(
        TOKEN,
        CorToken::transferCall {
            to: BOB,
            value: U256::from(10_000u64),
        }
        .abi_encode(),
    );
    assert!(!out.success);
    let err = CorToken::ERC20InsufficientBalance::abi_decode(&out.output).expect("typed error");
    assert_eq!(err.needed, U256::from(10_000u64));

    // The constructor runs once.
    let out = chain.send(TOKEN, constructor(&args));
    assert!(!out.success);

    // Rough speed of a view call through the whole stack (revm + wasmi).
    let calls = 200;
    let start = Instant::now();
    for _ in 0..calls {
        let _ = chain.call(TOKEN, CorToken::balanceOfCall { account: BOB }.abi_encode());
    }
    let per_call = start.elapsed() / calls;
    eprintln!("cor_token balanceOf via eth_call path: {per_call:?} per call");
}
