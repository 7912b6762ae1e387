//! The signing connection against the dev node: reverts decoded before anything is
//! sent (and no nonce used), and a stuck transaction replaced by a fee bump.

use alloy::providers::Provider;
use alloy_primitives::{Address, Bytes, U256};
use cor_abi::CorToken;
use cor_client::{wallet::dev_account, ClientError, Connection};
use cor_devnode::{DevNode, NodeConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reverting_call_is_decoded_and_uses_no_nonce() {
    let node = DevNode::start(NodeConfig::for_tests()).unwrap();
    let conn = Connection::connect(&node.url(), dev_account(0).unwrap())
        .await
        .unwrap();
    // No code at this address: a call "succeeds" with empty return data, which does
    // not decode as the call's return type.
    let nowhere = Address::with_last_byte(0x42);
    let err = conn
        .view(nowhere, &CorToken::totalSupplyCall {})
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err}");
    // A value transfer larger than the balance is refused by the node, not signed.
    let before = conn
        .provider()
        .get_transaction_count(conn.address())
        .await
        .unwrap();
    let huge = U256::from(10u64).pow(U256::from(30u64));
    let err = conn
        .send_value(nowhere, Bytes::new(), huge)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Rpc(_)), "{err}");
    assert!(!err.is_transient(), "{err}");
    let ok = conn
        .send_value(nowhere, Bytes::new(), U256::from(1u64))
        .await
        .unwrap();
    assert!(ok.status());
    let after = conn
        .provider()
        .get_transaction_count(conn.address())
        .await
        .unwrap();
    assert_eq!(after, before + 1, "the failed send left no nonce gap");
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_by_a_fee_bump() {
    let node = DevNode::start(NodeConfig::for_tests()).unwrap();
    let conn = Connection::connect(&node.url(), dev_account(0).unwrap())
        .await
        .unwrap();
    let provider = conn.provider().clone();
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let to = Address::with_last_byte(0x77);
    let stuck = conn.sign(to, Bytes::new(), U256::from(5u64)).await.unwrap();
    conn.broadcast(&stuck).await.unwrap();
    assert!(conn.receipt(stuck.hash).await.unwrap().is_none());
    // Sending the very same transaction again is harmless.
    conn.broadcast(&stuck).await.unwrap();

    let bumped = conn.bump(&stuck).await.unwrap();
    assert_eq!(bumped.nonce, stuck.nonce);
    assert_ne!(bumped.hash, stuck.hash);
    conn.broadcast(&bumped).await.unwrap();
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    let receipt = conn.wait(bumped.hash).await.unwrap();
    assert!(receipt.status());
    assert!(
        conn.receipt(stuck.hash).await.unwrap().is_none(),
        "replaced"
    );
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(5u64));
    // The original cannot come back: its nonce is used.
    assert!(conn.broadcast(&stuck).await.is_err());
    node.stop();
}
