//! The node through its JSON-RPC, as wallets, `cast` and `cargo stylus` use it.

mod common;

use alloy_primitives::{address, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolEvent, SolValue};
use common::{address as addr, b256, bytes, constructor_call, contract_code, quantity, Rpc};
use cor_abi::CorToken;
use cor_devnode::{
    chain::genesis::STYLUS_DEPLOYER, stylus::program::deployment_init_code, DevNode, NodeConfig,
};
use serde_json::{json, Value};

sol! {
    function deploy(bytes bytecode, bytes initData, uint256 initValue, bytes32 salt) payable returns (address);
    event ContractDeployed(address deployedContract);
    function activateProgram(address program) payable returns (uint16 version, uint256 dataFee);
}

const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");

fn start() -> (cor_devnode::DevNodeHandle, Rpc) {
    let node = DevNode::start(NodeConfig::for_tests()).expect("node starts");
    let rpc = Rpc::new(node.addr());
    (node, rpc)
}

/// Deploys CorToken through the StylusDeployer (deploy, activate, construct) with the
/// given account as owner; returns the token address and the deployment receipt.
fn deploy_token(rpc: &Rpc, owner: &cor_devnode::chain::keys::DevAccount) -> (Address, Value) {
    let code = contract_code("cor_token");
    let cap = U256::from(10u64).pow(U256::from(24));
    let call = deployCall {
        bytecode: deployment_init_code(&code).into(),
        initData: constructor_call(&(cap, owner.address).abi_encode_params()).into(),
        initValue: U256::ZERO,
        salt: B256::ZERO,
    };
    let receipt = rpc.send(
        owner,
        Some(STYLUS_DEPLOYER),
        U256::from(10u64).pow(U256::from(16)),
        call.abi_encode().into(),
    );
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let deployed = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| b256(&l["topics"][0]) == ContractDeployed::SIGNATURE_HASH)
        .map(|l| Address::from_slice(&bytes(&l["data"])[12..32]))
        .expect("ContractDeployed log");
    (deployed, receipt)
}

fn call_token(rpc: &Rpc, token: Address, data: Vec<u8>) -> Bytes {
    bytes(&rpc.call(
        "eth_call",
        json!([{"to": token, "input": Bytes::from(data)}, "latest"]),
    ))
}

#[test]
fn chain_facts_and_dev_accounts_are_served() {
    let (node, rpc) = start();
    assert_eq!(rpc.u64("eth_chainId", json!([])), 412_346);
    assert_eq!(rpc.call("net_version", json!([])), "412346");
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), 0);
    let accounts = rpc.call("eth_accounts", json!([]));
    assert_eq!(accounts.as_array().unwrap().len(), 10);
    assert_eq!(
        addr(&accounts[0]),
        address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );
    let balance = rpc.u256("eth_getBalance", json!([accounts[0], "latest"]));
    assert_eq!(
        balance,
        U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18))
    );
    assert!(rpc
        .call("web3_clientVersion", json!([]))
        .as_str()
        .unwrap()
        .starts_with("cor-devnode/"));
    assert_eq!(rpc.u64("eth_gasPrice", json!([])), 100_000_000);
    let history = rpc.call("eth_feeHistory", json!(["0x4", "latest", [25.0, 75.0]]));
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 2);
    // The system contracts are there from genesis.
    assert!(bytes(&rpc.call("eth_getCode", json!([STYLUS_DEPLOYER, "latest"]))).len() > 500);
    let factory = "0x4e59b44847b379578588920ca78fbf26c0b4956c";
    assert!(!bytes(&rpc.call("eth_getCode", json!([factory, "latest"]))).is_empty());
    node.stop();
}

#[test]
fn value_transfers_produce_blocks_receipts_and_transactions() {
    let (node, rpc) = start();
    let alice = &node.accounts()[0];
    let receipt = rpc.send(alice, Some(BOB), U256::from(12_345u64), Bytes::new());
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(quantity(&receipt["gasUsed"]), 21_000);
    assert_eq!(
        rpc.u256("eth_getBalance", json!([BOB])),
        U256::from(12_345u64)
    );
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), 1);
    assert_eq!(
        rpc.u64("eth_getTransactionCount", json!([alice.address, "latest"])),
        1
    );

    let hash = receipt["transactionHash"].clone();
    let tx = rpc.call("eth_getTransactionByHash", json!([hash]));
    assert_eq!(addr(&tx["from"]), alice.address);
    assert_eq!(quantity(&tx["blockNumber"]), 1);
    let block = rpc.call("eth_getBlockByNumber", json!(["0x1", true]));
    assert_eq!(block["transactions"][0]["hash"], hash);
    let by_hash = rpc.call("eth_getBlockByHash", json!([block["hash"], false]));
    assert_eq!(by_hash["transactions"][0], hash);
    assert_eq!(
        by_hash["parentHash"],
        rpc.call("eth_getBlockByNumber", json!(["0x0", false]))["hash"]
    );

    // An unlocked account can send without signing.
    let sent = rpc.call(
        "eth_sendTransaction",
        json!([{"from": node.accounts()[1].address, "to": BOB, "value": "0x5"}]),
    );
    let receipt = rpc.receipt(sent.as_str().unwrap());
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(
        rpc.u256("eth_getBalance", json!([BOB])),
        U256::from(12_350u64)
    );
    // Unknown accounts cannot.
    let err = rpc
        .try_call("eth_sendTransaction", json!([{"from": BOB, "to": BOB}]))
        .unwrap_err();
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("no unlocked account"));
    node.stop();
}

#[test]
fn invalid_transactions_and_malformed_requests_get_errors() {
    let (node, rpc) = start();
    let alice = &node.accounts()[0];
    // A replayed transaction.
    let raw = rpc.sign(
        alice,
        Some(BOB),
        U256::from(1u64),
        Bytes::new(),
        Some(21_000),
    );
    rpc.call("eth_sendRawTransaction", json!([raw]));
    let err = rpc
        .try_call("eth_sendRawTransaction", json!([raw]))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("already known"),
        "{err}"
    );
    // Garbage bytes, a truncated transaction, too little gas.
    let err = rpc
        .try_call("eth_sendRawTransaction", json!(["0x02c0"]))
        .unwrap_err();
    assert_eq!(err["code"], -32602);
    let err = rpc
        .try_call("eth_sendRawTransaction", json!([&raw[..raw.len() - 4]]))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("invalid"),
        "{err}"
    );
    let low = rpc.sign(alice, Some(BOB), U256::ZERO, Bytes::new(), Some(20_000));
    let err = rpc
        .try_call("eth_sendRawTransaction", json!([low]))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("intrinsic gas"),
        "{err}"
    );
    // Too much value.
    let rich = rpc.sign(
        alice,
        Some(BOB),
        U256::MAX / U256::from(2),
        Bytes::new(),
        Some(21_000),
    );
    let err = rpc
        .try_call("eth_sendRawTransaction", json!([rich]))
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{err}"
    );
    // Malformed JSON-RPC.
    assert_eq!(rpc.post("{not json")["error"]["code"], -32700);
    assert_eq!(
        rpc.post(r#"{"jsonrpc":"2.0","id":1,"method":"eth_nope"}"#)["error"]["code"],
        -32601
    );
    let err = rpc
        .try_call("eth_getBalance", json!(["0x1234"]))
        .unwrap_err();
    assert_eq!(err["code"], -32602);
    let err = rpc.try_call("eth_getBalance", json!([])).unwrap_err();
    assert_eq!(err["code"], -32602);
    let err = rpc
        .try_call("eth_getBlockByNumber", json!([{"x": 1}, false]))
        .unwrap_err();
    assert_eq!(err["code"], -32602);
    let err = rpc
        .try_call(
            "eth_getLogs",
            json!([{"fromBlock": "0x1", "toBlock": "0x0"}]),
        )
        .unwrap_err();
    assert_eq!(err["code"], -32602);
    let future = rpc.call("eth_getLogs", json!([{"fromBlock": "0x50"}]));
    assert_eq!(future, json!([]));
    let batch = rpc.post(
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]"#,
    );
    assert_eq!(batch.as_array().unwrap().len(), 2);
    // Still serving.
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), 1);
    node.stop();
}

#[test]
fn a_stylus_contract_deploys_activates_and_runs_through_json_rpc() {
    let (node, rpc) = start();
    let owner = &node.accounts()[0];
    let (token, receipt) = deploy_token(&rpc, owner);
    assert!(
        quantity(&receipt["gasUsed"]) > 1_659_168,
        "activation is paid for"
    );
    // ArbWasm's ProgramActivated and the constructor's OwnershipTransferred are logged.
    let emitters: Vec<Address> = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| addr(&l["address"]))
        .collect();
    assert!(emitters.contains(&address!("0x0000000000000000000000000000000000000071")));
    assert!(emitters.contains(&token));
    let code = bytes(&rpc.call("eth_getCode", json!([token, "latest"])));
    assert_eq!(&code[..3], &[0xEF, 0xF0, 0x00]);

    let owner_of = call_token(&rpc, token, CorToken::ownerCall {}.abi_encode());
    assert_eq!(
        CorToken::ownerCall::abi_decode_returns(&owner_of).unwrap(),
        owner.address
    );

    let mint = CorToken::mintCall {
        to: owner.address,
        value: U256::from(5_000u64),
    };
    let receipt = rpc.send(owner, Some(token), U256::ZERO, mint.abi_encode().into());
    assert_eq!(receipt["status"], "0x1");
    let transfer = CorToken::transferCall {
        to: BOB,
        value: U256::from(1_200u64),
    };
    let receipt = rpc.send(owner, Some(token), U256::ZERO, transfer.abi_encode().into());
    assert_eq!(receipt["status"], "0x1");
    let gas = quantity(&receipt["gasUsed"]);
    assert!(gas > 21_000 && gas < 200_000, "gas {gas}");
    // BOB's balance slot is new; the owner's changes.
    assert_eq!(receipt["storageWrites"], json!({"fresh": 1, "updated": 1}));
    let again = rpc.send(owner, Some(token), U256::ZERO, transfer.abi_encode().into());
    assert_eq!(again["storageWrites"], json!({"fresh": 0, "updated": 2}));
    let log = &receipt["logs"][0];
    assert_eq!(addr(&log["address"]), token);
    assert_eq!(b256(&log["topics"][0]), CorToken::Transfer::SIGNATURE_HASH);
    assert_eq!(
        U256::from_be_slice(&bytes(&log["data"])),
        U256::from(1_200u64)
    );

    let balance = call_token(
        &rpc,
        token,
        CorToken::balanceOfCall { account: BOB }.abi_encode(),
    );
    assert_eq!(
        CorToken::balanceOfCall::abi_decode_returns(&balance).unwrap(),
        U256::from(2_400u64)
    );

    // Logs by address and topic, over a range.
    let logs = rpc.call(
        "eth_getLogs",
        json!([{
            "fromBlock": "0x0",
            "toBlock": "latest",
            "address": token,
            "topics": [CorToken::Transfer::SIGNATURE_HASH]
        }]),
    );
    assert_eq!(logs.as_array().unwrap().len(), 3, "mint and two transfers");
    let to_bob = rpc.call(
        "eth_getLogs",
        json!([{
            "fromBlock": "0x0",
            "address": token,
            "topics": [CorToken::Transfer::SIGNATURE_HASH, null, B256::left_padding_from(BOB.as_slice())]
        }]),
    );
    assert_eq!(to_bob.as_array().unwrap().len(), 2);

    // A failing call reverts with the contract's typed error.
    let too_much = CorToken::transferCall {
        to: BOB,
        value: U256::from(10u64).pow(U256::from(30)),
    };
    let err = rpc
        .try_call(
            "eth_call",
            json!([{"from": owner.address, "to": token, "input": Bytes::from(too_much.abi_encode())}]),
        )
        .unwrap_err();
    assert_eq!(err["code"], 3);
    let data = bytes(&err["data"]);
    assert!(CorToken::ERC20InsufficientBalance::abi_decode(&data).is_ok());
    let err = rpc
        .try_call(
            "eth_estimateGas",
            json!([{"from": owner.address, "to": token, "input": Bytes::from(too_much.abi_encode())}]),
        )
        .unwrap_err();
    assert_eq!(err["code"], 3);
    node.stop();
}

#[test]
fn eth_call_honours_code_and_balance_overrides_like_cargo_stylus_check() {
    let (node, rpc) = start();
    let code = contract_code("cor_token");
    let program = address!("0x00000000000000000000000000000000c0ffee00");
    let sender = address!("0x00000000000000000000000000000000000fee00");
    let call = activateProgramCall { program };
    let params = json!([
        {"from": sender, "to": "0x0000000000000000000000000000000000000071",
         "input": Bytes::from(call.abi_encode()), "value": "0xde0b6b3a7640000"},
        "latest",
        {
            program.to_string(): {"code": Bytes::from(code.clone())},
            sender.to_string(): {"balance": "0x56bc75e2d63100000"}
        }
    ]);
    let out = bytes(&rpc.call("eth_call", params.clone()));
    let result = activateProgramCall::abi_decode_returns(&out).unwrap();
    assert_eq!(result.version, 2);
    assert!(result.dataFee > U256::ZERO);
    let gas = rpc.u64("eth_estimateGas", params);
    assert!(gas > 1_659_168, "{gas}");
    // Nothing was written.
    assert!(bytes(&rpc.call("eth_getCode", json!([program, "latest"]))).is_empty());
    // Without the override the sender has no funds and the address no code.
    let err = rpc
        .try_call(
            "eth_call",
            json!([{"from": sender, "to": "0x0000000000000000000000000000000000000071",
                    "input": Bytes::from(call.abi_encode())}]),
        )
        .unwrap_err();
    assert_eq!(err["code"], 3, "{err}");
    node.stop();
}

#[test]
fn dev_methods_snapshot_revert_time_and_balances() {
    let (node, rpc) = start();
    let alice = &node.accounts()[0];
    let snapshot = rpc.call("evm_snapshot", json!([]));
    rpc.send(alice, Some(BOB), U256::from(1u64), Bytes::new());
    rpc.call("anvil_setBalance", json!([BOB, "0x1000"]));
    assert_eq!(
        rpc.u256("eth_getBalance", json!([BOB])),
        U256::from(0x1000u64)
    );
    assert_eq!(rpc.call("evm_revert", json!([snapshot])), true);
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), 0);
    assert_eq!(rpc.u256("eth_getBalance", json!([BOB])), U256::ZERO);
    assert_eq!(rpc.call("evm_revert", json!([snapshot])), false);

    let head = rpc.call("eth_getBlockByNumber", json!(["latest", false]));
    let t0 = quantity(&head["timestamp"]);
    rpc.call("evm_setNextBlockTimestamp", json!([t0 + 1_000]));
    rpc.call("evm_mine", json!([]));
    let block = rpc.call("eth_getBlockByNumber", json!(["latest", false]));
    assert_eq!(quantity(&block["timestamp"]), t0 + 1_000);
    rpc.call("evm_increaseTime", json!([86_400]));
    rpc.call("evm_mine", json!([]));
    let block = rpc.call("eth_getBlockByNumber", json!(["latest", false]));
    assert!(quantity(&block["timestamp"]) >= t0 + 86_400);
    rpc.call("anvil_mine", json!(["0x3"]));
    assert_eq!(rpc.u64("eth_blockNumber", json!([])), 5);
    let err = rpc
        .try_call("evm_setNextBlockTimestamp", json!([1]))
        .unwrap_err();
    assert_eq!(err["code"], -32000);
    node.stop();
}

#[test]
fn interval_mining_queues_transactions_until_the_next_block() {
    let config = NodeConfig {
        block_time: Some(std::time::Duration::from_millis(300)),
        ..NodeConfig::for_tests()
    };
    let node = DevNode::start(config).unwrap();
    let rpc = Rpc::new(node.addr());
    let alice = &node.accounts()[0];
    let raw = rpc.sign(
        alice,
        Some(BOB),
        U256::from(3u64),
        Bytes::new(),
        Some(21_000),
    );
    let hash = rpc.call("eth_sendRawTransaction", json!([raw]));
    let pending = rpc.call("eth_getTransactionByHash", json!([hash]));
    assert!(pending["blockNumber"].is_null() || quantity(&pending["blockNumber"]) >= 1);
    let receipt = rpc.receipt(hash.as_str().unwrap());
    assert_eq!(receipt["status"], "0x1");
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        rpc.u64("eth_blockNumber", json!([])) >= 2,
        "empty blocks keep coming"
    );
    node.stop();
}

#[test]
fn websocket_subscriptions_deliver_heads_and_logs() {
    use jsonrpsee::{
        core::client::{ClientBuilder, SubscriptionClientT},
        rpc_params,
    };
    let (node, rpc) = start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url: jsonrpsee::client_transport::ws::Url = node.ws_url().parse().unwrap();
        let (tx, rx) = jsonrpsee::client_transport::ws::WsTransportClientBuilder::default()
            .build(url)
            .await
            .unwrap();
        let client = ClientBuilder::default().build_with_tokio(tx, rx);
        let mut heads = client
            .subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
            .await
            .unwrap();
        let mut logs = client
            .subscribe::<Value, _>(
                "eth_subscribe",
                rpc_params!["logs", json!({})],
                "eth_unsubscribe",
            )
            .await
            .unwrap();
        let owner = node.accounts()[0].clone();
        let rpc2 = rpc.clone();
        let token = tokio::task::spawn_blocking(move || deploy_token(&rpc2, &owner).0)
            .await
            .unwrap();
        let head = heads.next().await.unwrap().unwrap();
        assert_eq!(quantity(&head["number"]), 1);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let log = logs.next().await.unwrap().unwrap();
            seen.push(addr(&log["address"]));
        }
        assert!(seen.contains(&token), "{seen:?}");
    });
    node.stop();
}

#[test]
fn polling_filters_report_new_blocks_and_logs() {
    let (node, rpc) = start();
    let owner = &node.accounts()[0];
    let blocks = rpc.call("eth_newBlockFilter", json!([]));
    let logs = rpc.call(
        "eth_newFilter",
        json!([{"topics": [CorToken::Transfer::SIGNATURE_HASH]}]),
    );
    assert_eq!(rpc.call("eth_getFilterChanges", json!([blocks])), json!([]));
    let (token, _) = deploy_token(&rpc, owner);
    let mint = CorToken::mintCall {
        to: BOB,
        value: U256::from(9u64),
    };
    rpc.send(owner, Some(token), U256::ZERO, mint.abi_encode().into());
    let hashes = rpc.call("eth_getFilterChanges", json!([blocks]));
    assert_eq!(hashes.as_array().unwrap().len(), 2);
    assert_eq!(
        rpc.call("eth_getFilterChanges", json!([blocks])),
        json!([]),
        "only new ones"
    );
    let changes = rpc.call("eth_getFilterChanges", json!([logs]));
    assert_eq!(changes.as_array().unwrap().len(), 1, "{changes}");
    assert_eq!(addr(&changes[0]["address"]), token);
    assert_eq!(
        rpc.call("eth_getFilterLogs", json!([logs]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(rpc.call("eth_uninstallFilter", json!([logs])), true);
    let err = rpc
        .try_call("eth_getFilterChanges", json!([logs]))
        .unwrap_err();
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("filter not found"));
    node.stop();
}
