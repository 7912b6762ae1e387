//! The `cor-devnode` binary with `--state DIR`, killed with SIGKILL and restarted: every
//! mined block, balance, program and log is still there.

mod common;

use std::{
    net::{SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::{address, Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue};
use common::{bytes, constructor_call, contract_code, quantity, Rpc};
use cor_abi::CorToken;
use cor_devnode::{
    chain::{
        genesis::STYLUS_DEPLOYER,
        keys::{derive_accounts, TEST_MNEMONIC},
    },
    stylus::program::deployment_init_code,
};
use serde_json::json;

alloy_sol_types::sol! {
    function deploy(bytes bytecode, bytes initData, uint256 initValue, bytes32 salt) payable returns (address);
}

const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the binary and waits until it answers.
fn spawn(dir: &std::path::Path, port: u16) -> (Child, Rpc) {
    let child = Command::new(env!("CARGO_BIN_EXE_cor-devnode"))
        .args(["--port", &port.to_string(), "--state"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cor-devnode");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "node did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, Rpc::new(addr))
}

#[test]
fn a_killed_node_restarts_with_blocks_balances_code_and_logs() {
    let dir = std::env::temp_dir().join(format!("cor-devnode-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let accounts = derive_accounts(TEST_MNEMONIC, 1).unwrap();
    let owner = &accounts[0];

    let (mut child, rpc) = spawn(&dir, port);
    rpc.send(owner, Some(BOB), U256::from(777u64), Bytes::new());
    let code = contract_code("cor_token");
    let args = (U256::from(10u64).pow(U256::from(24)), owner.address).abi_encode_params();
    let call = deployCall {
        bytecode: deployment_init_code(&code).into(),
        initData: constructor_call(&args).into(),
        initValue: U256::ZERO,
        salt: Default::default(),
    };
    let receipt = rpc.send(
        owner,
        Some(STYLUS_DEPLOYER),
        U256::from(10u64).pow(U256::from(16)),
        call.abi_encode().into(),
    );
    assert_eq!(receipt["status"], "0x1");
    let token = STYLUS_DEPLOYER.create(1);
    let mint = CorToken::mintCall {
        to: BOB,
        value: U256::from(42u64),
    };
    let minted = rpc.send(owner, Some(token), U256::ZERO, mint.abi_encode().into());
    assert_eq!(minted["status"], "0x1");
    let head = rpc.u64("eth_blockNumber", json!([]));
    let head_hash = rpc.call("eth_getBlockByNumber", json!(["latest", false]))["hash"].clone();
    let owner_balance = rpc.u256("eth_getBalance", json!([owner.address]));

    // SIGKILL: no shutdown path runs.
    child.kill().expect("kill -9");
    child.wait().unwrap();

    let (mut child, rpc) = spawn(&dir, port);
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), head);
    assert_eq!(
        rpc.call("eth_getBlockByNumber", json!(["latest", false]))["hash"],
        head_hash
    );
    assert_eq!(rpc.u256("eth_getBalance", json!([BOB])), U256::from(777u64));
    assert_eq!(
        rpc.u256("eth_getBalance", json!([owner.address])),
        owner_balance
    );
    let deployed = bytes(&rpc.call("eth_getCode", json!([token, "latest"])));
    assert_eq!(deployed.as_ref(), code.as_slice());
    let logs = rpc.call(
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "address": token}]),
    );
    assert_eq!(
        logs.as_array().unwrap().len(),
        2,
        "OwnershipTransferred and Transfer"
    );
    let receipt = rpc.call(
        "eth_getTransactionReceipt",
        json!([minted["transactionHash"]]),
    );
    assert_eq!(quantity(&receipt["blockNumber"]), head);
    // The program is still activated and its storage intact: it keeps working.
    let balance = bytes(&rpc.call(
        "eth_call",
        json!([{"to": token, "input": Bytes::from(CorToken::balanceOfCall { account: BOB }.abi_encode())}]),
    ));
    assert_eq!(U256::from_be_slice(&balance), U256::from(42u64));
    let again = rpc.send(owner, Some(BOB), U256::from(1u64), Bytes::new());
    assert_eq!(quantity(&again["blockNumber"]), head + 1);

    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
