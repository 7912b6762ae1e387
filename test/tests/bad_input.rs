//! Bad input sent as raw transactions and calls to the deployed suite (the CLI's own checks
//! are in `cli/tests/flow.rs`): malformed calldata, bad session parameters, oversized or
//! empty inputs, wrong commitments, reveals out of their window, calls by the wrong
//! account. Each is refused with the contract's typed error, or, for calldata that names
//! no function, a failed transaction; and the state is what it was before.

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, TransactionBuilder},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use cor_abi::{CommitReveal, CorToken, SessionPayment, SessionQueue, StakeQuota};
use cor_client::{wallet::dev_account, ClientError, Connection};
use cor_e2e::{
    network::{Network, Shape, WINDOW},
    Answer,
};

/// What a bad input must not change: every contract's and account's COR balance, every
/// contract's total owed, the user's escrow, the next session and task ids.
async fn state(net: &Network, task: U256) -> Vec<U256> {
    let s = net.suite;
    let mut accounts = vec![
        s.token,
        s.node_pool,
        s.payment,
        s.quota,
        s.reward,
        s.session_queue,
        s.commit_reveal,
        net.user.address(),
    ];
    accounts.extend(net.miners.keys());
    let mut out = Vec::new();
    for a in accounts {
        out.push(net.balance(a).await);
    }
    let (available, locked) = net.escrow().await;
    out.extend([available, locked]);
    out.push(
        net.user
            .view(s.payment, &SessionPayment::totalOwedCall {})
            .await
            .unwrap(),
    );
    out.push(
        net.user
            .view(s.quota, &StakeQuota::totalOwedCall {})
            .await
            .unwrap(),
    );
    let round = net.round(task).await;
    out.extend([
        U256::from(round._0),
        U256::from(round._2),
        U256::from(round._3),
    ]);
    out
}

/// The name of the typed error `result` was refused with.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    let Err(err) = result else {
        panic!("accepted, not refused");
    };
    let revert = err
        .revert()
        .unwrap_or_else(|| panic!("a revert, not {err}"));
    revert
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("a declared error, not {err}"))
        .name
        .clone()
}

/// Signs `data` to `to` with `conn`'s dev key and a fixed gas limit (no simulation or
/// estimate, so it reaches the chain whatever it does), sends it raw and returns the
/// receipt.
async fn raw_send(conn: &Connection, to: Address, data: Vec<u8>) -> TransactionReceipt {
    let key = (0..10)
        .map(|i| dev_account(i).unwrap())
        .find(|k| k.address() == conn.address())
        .expect("a dev account");
    let provider = conn.provider();
    let nonce = provider
        .get_transaction_count(conn.address())
        .await
        .unwrap();
    let tx = TransactionRequest::default()
        .with_from(conn.address())
        .with_to(to)
        .with_input(Bytes::from(data))
        .with_nonce(nonce)
        .with_chain_id(conn.chain_id())
        .with_gas_limit(2_000_000)
        .with_max_fee_per_gas(10_000_000_000)
        .with_max_priority_fee_per_gas(0)
        .build(&EthereumWallet::from(key))
        .await
        .expect("signed");
    let receipt = provider
        .send_raw_transaction(&tx.encoded_2718())
        .await
        .expect("accepted into the pool")
        .get_receipt()
        .await
        .expect("mined");
    // The connection's next nonce was taken here.
    conn.reset_nonce().await;
    receipt
}

fn session_call(
    edit: impl FnOnce(&mut SessionQueue::createSessionCall),
) -> SessionQueue::createSessionCall {
    let mut call = Shape::default().create_call();
    edit(&mut call);
    call
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_typed_error_and_changes_nothing() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, seats, _) = net.submit(session, "What is 2 + 2?").await.unwrap();
    let answer = Answer::text("4");
    net.commit(task, seats[0], &answer).await.unwrap();
    let before = state(&net, task).await;
    let queue = net.suite.session_queue;

    // Malformed calldata: a selector no contract has, and a real one cut short. Both fail
    // on chain (sent raw, with a fixed gas limit) and in simulation.
    for data in [
        vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3],
        SessionQueue::submitTaskCall::SELECTOR.to_vec(),
        SessionQueue::submitTaskCall {
            sessionId: session,
            inputHash: B256::ZERO,
            inputUri: "data:,x".into(),
            maxTokens: 8,
            sampling: B256::ZERO,
        }
        .abi_encode()[..40]
            .to_vec(),
    ] {
        let receipt = raw_send(&net.user, queue, data.clone()).await;
        assert!(!receipt.status(), "malformed calldata fails on chain");
        let call = TransactionRequest::default()
            .with_to(queue)
            .with_input(Bytes::from(data));
        assert!(net.user.provider().call(call).await.is_err());
    }
    assert_eq!(state(&net, task).await, before, "malformed calldata");

    // Bad session parameters.
    let cases: [(&str, SessionQueue::createSessionCall); 8] = [
        ("InvalidRedundancy", session_call(|c| c.redundancy = 0)),
        ("InvalidRedundancy", session_call(|c| c.redundancy = 8)),
        (
            "InvalidThreshold",
            session_call(|c| c.thresholdBps = 10_001),
        ),
        ("InvalidPaymentMode", session_call(|c| c.paymentMode = 7)),
        ("InvalidWindow", session_call(|c| c.commitWindow = 0)),
        (
            "InvalidWindow",
            session_call(|c| c.revealWindow = 365 * 86_400),
        ),
        (
            "InvalidTolerance",
            session_call(|c| {
                c.consensus = 1;
                c.tolerance = 1_000;
            }),
        ),
        ("ModelUnavailable", session_call(|c| c.modelId = 999)),
    ];
    for (expected, call) in cases {
        let name = refused(net.user.send(queue, &call).await);
        assert_eq!(name, expected, "{call:?}");
    }

    // Bad tasks: unknown session, someone else's session, no input hash, an input URI
    // over the limit.
    let submit = |session_id: u64, uri: String| SessionQueue::submitTaskCall {
        sessionId: session_id,
        inputHash: keccak256(uri.as_bytes()),
        inputUri: uri,
        maxTokens: 8,
        sampling: B256::ZERO,
    };
    let ok_uri = || "data:,hello".to_string();
    assert_eq!(
        refused(net.user.send(queue, &submit(9_999, ok_uri())).await),
        "UnknownSession"
    );
    assert_eq!(
        refused(net.owner.send(queue, &submit(session, ok_uri())).await),
        "NotSessionOwner"
    );
    let mut no_hash = submit(session, ok_uri());
    no_hash.inputHash = B256::ZERO;
    assert_eq!(refused(net.user.send(queue, &no_hash).await), "EmptyInput");
    let huge = format!("data:,{}", "x".repeat(64 * 1024));
    assert_eq!(
        refused(net.user.send(queue, &submit(session, huge)).await),
        "UriTooLong"
    );

    // The round: a commit by a miner not seated, a second commit, a reveal before the
    // reveal window, a reveal that does not match its commitment, a finalize too early.
    let outsider = net
        .miners
        .keys()
        .find(|m| !seats.contains(m))
        .copied()
        .expect("five miners, three seats");
    assert_eq!(
        refused(net.commit(task, outsider, &answer).await),
        "NotAssigned"
    );
    assert_eq!(
        refused(net.commit(task, seats[0], &answer).await),
        "AlreadyCommitted"
    );
    assert_eq!(
        refused(net.reveal(task, seats[0], &answer).await),
        "OutsideWindow"
    );
    assert_eq!(refused(net.finalize(task).await), "NotReady");
    assert_eq!(
        refused(
            net.owner
                .send(
                    net.suite.commit_reveal,
                    &CommitReveal::finalizeCall {
                        taskId: U256::from(12_345u64)
                    }
                )
                .await
        ),
        "UnknownTask"
    );
    assert_eq!(state(&net, task).await, before, "refused calls");

    // Both other seats commit: the reveal window opens.
    for miner in &seats[1..] {
        net.commit(task, *miner, &answer).await.unwrap();
    }
    let before = state(&net, task).await;
    let mut wrong = answer.clone();
    wrong.salt = B256::repeat_byte(7);
    assert_eq!(
        refused(net.reveal(task, seats[0], &wrong).await),
        "CommitmentMismatch"
    );
    let mut wrong = answer.clone();
    wrong.output_hash = keccak256(b"5");
    assert_eq!(
        refused(net.reveal(task, seats[0], &wrong).await),
        "CommitmentMismatch"
    );
    // The same mismatch sent raw reaches the chain and fails there.
    let data = wrong.reveal_call(task).abi_encode();
    let receipt = raw_send(net.miner(seats[0]), net.suite.commit_reveal, data).await;
    assert!(!receipt.status());
    assert_eq!(state(&net, task).await, before, "wrong reveals");

    // After the reveal window nobody can reveal: the round only finalizes.
    net.advance(2 * WINDOW + 1).await;
    let before = state(&net, task).await;
    assert_eq!(
        refused(net.reveal(task, seats[0], &answer).await),
        "OutsideWindow"
    );
    assert_eq!(state(&net, task).await, before, "a late reveal");

    // Token misuse: moving more than a balance.
    assert!(net
        .user
        .send(
            net.suite.token,
            &CorToken::transferCall {
                to: Address::repeat_byte(1),
                value: U256::MAX,
            },
        )
        .await
        .unwrap_err()
        .revert()
        .is_some());
    assert_eq!(
        state(&net, task).await,
        before,
        "a transfer over the balance"
    );
    net.assert_conserved().await;
}
