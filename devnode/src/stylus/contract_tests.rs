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

#[test]
fn stylus_deployer_deploys_activates_and_constructs_in_one_transaction() {
    use crate::{
        chain::genesis::STYLUS_DEPLOYER,
        stylus::program::{deployment_init_code, encode_code},
    };
    alloy_sol_types::sol! {
        function deploy(bytes bytecode, bytes initData, uint256 initValue, bytes32 salt) payable returns (address);
        event ContractDeployed(address deployedContract);
    }
    let mut chain = TestChain::new();
    let code = encode_code(&contract_wasm("cor_token"));
    let cap = U256::from(10u64).pow(U256::from(24));
    let args = alloy_sol_types::SolValue::abi_encode_params(&(cap, SENDER));
    let before = chain.world.account(&SENDER).unwrap().balance;
    let fee_budget = U256::from(10u64).pow(U256::from(17));
    let call = deployCall {
        bytecode: deployment_init_code(&code).into(),
        initData: constructor(&args).into(),
        initValue: U256::ZERO,
        salt: alloy_primitives::B256::ZERO,
    };
    let out = chain.send_value(STYLUS_DEPLOYER, call.abi_encode(), fee_budget);
    assert!(out.success, "deploy: {out:?}");
    let deployed = out
        .logs
        .iter()
        .find_map(|l| ContractDeployed::decode_log(l).ok())
        .expect("ContractDeployed")
        .deployedContract;
    assert_eq!(deployed, STYLUS_DEPLOYER.create(1));
    let returned = deployCall::abi_decode_returns(&out.output).unwrap();
    assert_eq!(returned, deployed);
    // Activated and constructed: the owner can mint at once.
    let out = chain.send(
        deployed,
        CorToken::mintCall {
            to: BOB,
            value: U256::from(7u64),
        }
        .abi_encode(),
    );
    assert!(out.success, "mint: {out:?}");
    // Only the data fee was kept (gas price is zero here).
    let after = chain.world.account(&SENDER).unwrap().balance;
    let spent = before - after;
    assert!(spent > U256::ZERO && spent < fee_budget, "spent {spent}");

    // The same code again: already active, so only deployed and constructed.
    let call = deployCall {
        salt: alloy_primitives::B256::repeat_byte(1),
        ..call
    };
    let out = chain.send_value(STYLUS_DEPLOYER, call.abi_encode(), U256::ZERO);
    assert!(out.success, "second deploy: {out:?}");
}

#[test]
fn create2_factory_deploys_at_the_predicted_address() {
    use crate::chain::genesis::CREATE2_FACTORY;
    let mut chain = TestChain::new();
    let init = alloy_primitives::hex::decode("600060005360016000f3").unwrap();
    let salt = alloy_primitives::B256::repeat_byte(7);
    let out = chain.send(CREATE2_FACTORY, [salt.as_slice(), &init].concat());
    assert!(out.success, "{out:?}");
    let expected = CREATE2_FACTORY.create2_from_code(salt, &init);
    assert_eq!(out.output.as_ref(), expected.as_slice());
    assert_eq!(chain.world.code(&expected).as_ref(), &[0x00]);
    // The same salt again fails: the address is taken.
    let out = chain.send(CREATE2_FACTORY, [salt.as_slice(), &init].concat());
    assert!(!out.success);
}
