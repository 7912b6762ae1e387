//! Deploying the suite on the dev node: fresh, resumed after an interruption, re-run,
//! verified, and refused against the wrong chain or deployer.

use std::path::{Path, PathBuf};

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use cor_abi::{CommitReveal, NodePool, NodeReward, SessionQueue};
use cor_client::{
    deploy::{deploy, verify, DeployError, StepState},
    deployment::PendingTx,
    params::{cor, DeployParams},
    wallet::dev_account,
    Connection, Deployment, Program, Programs,
};
use cor_devnode::{DevNode, NodeConfig};

fn programs() -> Programs {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Programs::load(&Programs::default_dir(&root)).expect("built programs")
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cor-deploy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Deployment::path_for(&dir, 412_346)
}

async fn nonce(conn: &Connection) -> u64 {
    conn.provider()
        .get_transaction_count(conn.address())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_deployment_is_wired_funded_verified_and_rerunning_it_sends_nothing() {
    let node = DevNode::start(NodeConfig::for_tests()).unwrap();
    let conn = Connection::connect(&node.url(), dev_account(0).unwrap())
        .await
        .unwrap();
    let path = temp_file("fresh");
    let params = DeployParams::default();
    let mut mined = 0;
    let record = deploy(&conn, &programs(), &params, &path, &mut |p| {
        if matches!(p.state, StepState::Mined { .. }) {
            mined += 1;
        }
    })
    .await
    .unwrap();
    assert!(record.complete);
    // 10 programs, 8 roles, 2 models, mint + approve + fund.
    assert_eq!(mined, 23);
    let suite = record.suite().unwrap();
    assert_eq!(Deployment::load(&path).unwrap().unwrap(), record);

    // Wired as the contracts expect.
    let links = conn
        .view(suite.session_queue, &SessionQueue::linksCall {})
        .await
        .unwrap();
    assert_eq!(links._0, suite.node_pool);
    assert_eq!(links._4, suite.commit_reveal);
    let cr = conn
        .view(suite.commit_reveal, &CommitReveal::linksCall {})
        .await
        .unwrap();
    assert_eq!(
        (cr._0, cr._1, cr._2),
        (suite.payment, suite.engine, suite.session_queue)
    );
    let pool = conn
        .view(suite.node_pool, &NodePool::linksCall {})
        .await
        .unwrap();
    assert_eq!((pool._1, pool._2), (suite.reward, suite.engine));
    let model = conn
        .view(suite.node_pool, &NodePool::modelCall { modelId: 1 })
        .await
        .unwrap();
    assert!(model._2, "model 1 enabled");
    let pool_funds = conn
        .view(suite.reward, &NodeReward::poolCall {})
        .await
        .unwrap();
    assert_eq!(pool_funds, cor(10_000));

    let checks = verify(&conn, &programs(), &record).await.unwrap();
    assert_eq!(checks.len(), 10);
    assert!(checks.iter().all(|c| c.matches()), "{checks:?}");

    // Running it again finds everything done and sends nothing.
    let before = nonce(&conn).await;
    let again = deploy(&conn, &programs(), &params, &path, &mut |p| {
        assert_eq!(p.state, StepState::AlreadyDone, "{}", p.step);
    })
    .await
    .unwrap();
    assert_eq!(again.contracts, record.contracts);
    assert_eq!(nonce(&conn).await, before);
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_deployment_resumes_where_it_stopped() {
    let node = DevNode::start(NodeConfig::for_tests()).unwrap();
    let conn = Connection::connect(&node.url(), dev_account(0).unwrap())
        .await
        .unwrap();
    let path = temp_file("resume");
    let params = DeployParams::default();

    // Stop the first run (drop its future, as a kill would) once 12 steps are mined.
    let stop = tokio::sync::Notify::new();
    let mut mined = 0;
    let built = programs();
    let mut on_progress = |p: &cor_client::deploy::Progress<'_>| {
        if matches!(p.state, StepState::Mined { .. }) {
            mined += 1;
            if mined == 12 {
                stop.notify_one();
            }
        }
    };
    let first = deploy(&conn, &built, &params, &path, &mut on_progress);
    tokio::select! {
        _ = first => panic!("the deployment finished before it was interrupted"),
        () = stop.notified() => {}
    }
    let half = Deployment::load(&path).unwrap().unwrap();
    assert!(!half.complete);
    assert_eq!(half.contracts.len(), 10);
    assert_eq!(half.steps.len(), 2);

    // A transaction recorded as pending but never sent is dropped and its step redone.
    let unsent = conn
        .sign(
            Address::with_last_byte(0xee),
            Default::default(),
            U256::from(1u64),
        )
        .await
        .unwrap();
    conn.reset_nonce().await;
    let mut record = half.clone();
    record.pending = Some(PendingTx {
        step: "wire:SessionPayment.setSessionQueue".to_owned(),
        tx_hash: unsent.hash,
        nonce: unsent.nonce,
    });
    record.save(&path).unwrap();

    let mut redone = Vec::new();
    let done = deploy(&conn, &programs(), &params, &path, &mut |p| {
        if matches!(p.state, StepState::Mined { .. }) {
            redone.push(p.step.to_owned());
        }
    })
    .await
    .unwrap();
    assert!(done.complete);
    assert!(done.pending.is_none());
    assert_eq!(
        done.contracts, half.contracts,
        "programs are not deployed twice"
    );
    assert_eq!(redone.len(), 23 - 12);
    assert!(
        redone[0].starts_with("SessionPayment.setSessionQueue"),
        "{redone:?}"
    );
    let checks = verify(&conn, &programs(), &done).await.unwrap();
    assert!(checks.iter().all(|c| c.matches()));
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_changed_code_and_records_refuse_another_deployer() {
    let node = DevNode::start(NodeConfig::for_tests()).unwrap();
    let conn = Connection::connect(&node.url(), dev_account(0).unwrap())
        .await
        .unwrap();
    let path = temp_file("verify");
    let params = DeployParams {
        models: Vec::new(),
        ..DeployParams::default()
    };
    let record = deploy(&conn, &programs(), &params, &path, &mut |_| {})
        .await
        .unwrap();

    // Put another program's code where NodePool is.
    let pool = record.address(Program::NodePool).unwrap();
    let other = programs().code(Program::CorToken).clone();
    let _: serde_json::Value = conn
        .provider()
        .raw_request("anvil_setCode".into(), (pool, other))
        .await
        .unwrap();
    let checks = verify(&conn, &programs(), &record).await.unwrap();
    let bad: Vec<Program> = checks
        .iter()
        .filter(|c| !c.matches())
        .map(|c| c.program)
        .collect();
    assert_eq!(bad, vec![Program::NodePool]);

    // The record belongs to account 0: account 1 may not continue it.
    let other_conn = Connection::connect(&node.url(), dev_account(1).unwrap())
        .await
        .unwrap();
    let err = deploy(&other_conn, &programs(), &params, &path, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, DeployError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("deployer"), "{err}");

    // Changed parameters are refused too, rather than silently mixed.
    let changed = DeployParams {
        param_delay: 7_200,
        ..params
    };
    let err = deploy(&conn, &programs(), &changed, &path, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("different parameters"), "{err}");
    node.stop();
}
