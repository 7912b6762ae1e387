//! The keeper against the dev node: epochs close on time and once; two keepers race
//! without double effects or failed transactions; a keeper that was down catches up
//! oldest first; overdue tasks are finalized in gas-bounded batches; an RPC outage is
//! survived.

use std::{sync::atomic::Ordering, time::Duration};

use alloy::{providers::Provider, rpc::types::Filter};
use alloy_sol_types::SolEvent;
use cor_abi::{CommitReveal, NodeReward};
use cor_e2e::network::{Network, Shape, WINDOW};
use cor_keeper::{
    config::{FileConfig, KeeperConfig, Signer},
    Keeper,
};

fn config(net: &Network, account: u32) -> KeeperConfig {
    KeeperConfig::try_from(FileConfig {
        rpc_url: Some(net.node.url()),
        deployments: Some(net.deployments_file()),
        signer: Some(Signer::DevAccount(account)),
        poll_seconds: Some(1),
        receipt_timeout_seconds: Some(5),
        ..FileConfig::default()
    })
    .expect("valid config")
}

async fn epoch_length(net: &Network) -> u64 {
    net.deployment.params.nodes.epoch_length
}

async fn next_to_finalize(net: &Network) -> u64 {
    net.owner
        .view(net.suite.reward, &NodeReward::nextEpochToFinalizeCall {})
        .await
        .unwrap()
}

/// `EpochFinalized` events on chain, by epoch.
async fn finalized_events(net: &Network) -> Vec<u64> {
    let filter = Filter::new()
        .address(net.suite.reward)
        .event_signature(NodeReward::EpochFinalized::SIGNATURE_HASH)
        .from_block(0);
    net.owner
        .provider()
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            NodeReward::EpochFinalized::decode_log_data(l.data())
                .unwrap()
                .epoch
        })
        .collect()
}

async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_epoch_is_closed_once_with_its_bounty() {
    let net = Network::start().await;
    let mut keeper = Keeper::connect(config(&net, 8)).await.unwrap();
    let report = keeper.round().await.unwrap();
    assert!(report.epochs.is_empty(), "epoch 0 has not ended");
    net.advance(epoch_length(&net).await).await;
    let report = keeper.round().await.unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(report.epochs[0].epoch, 0);
    assert!(report.epochs[0].bounty > alloy_primitives::U256::ZERO);
    assert!(report.epochs[0].gas_used > 0);
    let again = keeper.round().await.unwrap();
    assert!(again.epochs.is_empty());
    let m = keeper.metrics();
    assert_eq!(m.epochs_finalized.load(Ordering::Relaxed), 1);
    assert_eq!(
        m.transactions.load(Ordering::Relaxed),
        1,
        "no transaction for a closed epoch"
    );
    assert!(m.render().contains("cor_keeper_epochs_finalized_total 1"));
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_down_for_three_epochs_catches_up_oldest_first() {
    let net = Network::start().await;
    net.advance(3 * epoch_length(&net).await).await;
    let mut keeper = Keeper::connect(config(&net, 8)).await.unwrap();
    let report = keeper.round().await.unwrap();
    let epochs: Vec<u64> = report.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, vec![0, 1, 2]);
    assert_eq!(finalized_events(&net).await, vec![0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_keepers_finalize_each_epoch_once_without_failures() {
    let net = Network::start().await;
    let a = Keeper::connect(config(&net, 7)).await.unwrap();
    let b = Keeper::connect(config(&net, 8)).await.unwrap();
    let (ma, mb) = (a.metrics(), b.metrics());
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut runs = Vec::new();
    for keeper in [a, b] {
        let mut rx = stop.subscribe();
        runs.push(tokio::spawn(keeper.run(async move {
            let _ = rx.recv().await;
        })));
    }
    for target in 1..=3u64 {
        net.advance(epoch_length(&net).await).await;
        wait_until("the epoch is closed", || async {
            next_to_finalize(&net).await == target
        })
        .await;
    }
    let _ = stop.send(());
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert_eq!(
        finalized_events(&net).await,
        vec![0, 1, 2],
        "each epoch once"
    );
    let closed =
        ma.epochs_finalized.load(Ordering::Relaxed) + mb.epochs_finalized.load(Ordering::Relaxed);
    assert_eq!(closed, 3);
    assert_eq!(ma.errors.load(Ordering::Relaxed), 0);
    assert_eq!(mb.errors.load(Ordering::Relaxed), 0);
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_tasks_are_finalized_in_batches_within_the_gas_budget() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..4 {
        tasks.push(
            net.submit(session, &format!("question {i}"))
                .await
                .unwrap()
                .0,
        );
    }
    let mut cfg = config(&net, 8);
    cfg.epochs = false;
    cfg.task_gas_budget = 1_000_000;
    let mut keeper = Keeper::connect(cfg).await.unwrap();
    assert_eq!(keeper.round().await.unwrap().tasks, 0, "not overdue yet");
    net.advance(WINDOW + 1).await;
    let report = keeper.round().await.unwrap();
    assert_eq!(report.tasks, 4);
    let txs = keeper.metrics().transactions.load(Ordering::Relaxed);
    assert!(
        txs >= 2,
        "split into batches under 1 M gas, got {txs} transaction(s)"
    );
    for task in tasks {
        let t = net
            .owner
            .view(
                net.suite.commit_reveal,
                &CommitReveal::taskCall { taskId: task },
            )
            .await
            .unwrap();
        assert_eq!(t._0, 3, "unresolved and refunded");
    }
    assert_eq!(keeper.round().await.unwrap().tasks, 0);
    assert_eq!(
        net.escrow().await.1,
        alloy_primitives::U256::ZERO,
        "nothing stays locked"
    );
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_outage_is_survived() {
    let mut net = Network::start().await;
    let keeper = Keeper::connect(config(&net, 8)).await.unwrap();
    let metrics = keeper.metrics();
    let (stop, mut rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(keeper.run(async move {
        let _ = (&mut rx).await;
    }));
    wait_until("the keeper ran a round", || async {
        metrics.head.load(Ordering::Relaxed) > 0
    })
    .await;
    net.stop_node();
    wait_until("a round failed", || async {
        metrics.errors.load(Ordering::Relaxed) > 0
    })
    .await;
    net.restart_node();
    net.advance(epoch_length(&net).await).await;
    wait_until("epoch 0 is closed after the outage", || async {
        metrics.epochs_finalized.load(Ordering::Relaxed) == 1
    })
    .await;
    let _ = stop.send(());
    run.await.unwrap().unwrap();
    assert_eq!(finalized_events(&net).await, vec![0]);
}
