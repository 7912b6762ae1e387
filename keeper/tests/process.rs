//! The `cor-keeper` binary against the dev node with the suite deployed from the real WASM
//! build: killed with SIGKILL in the middle of an epoch while a task goes overdue, then
//! restarted: it catches up, every epoch is finalized exactly once and the overdue task
//! once.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use alloy_primitives::U256;
use cor_abi::{CommitReveal, NodeReward};
use cor_client::params::DeployParams;
use cor_e2e::{
    eventually,
    network::{Network, Shape, WINDOW},
};

const LIMIT: Duration = Duration::from_secs(120);

/// Starts `cor-keeper` as dev account 8, appending its output to `log`.
fn spawn(net: &Network, log: &Path) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_cor-keeper"))
        .arg("--rpc-url")
        .arg(net.node.url())
        .arg("--deployments")
        .arg(net.deployments_file())
        .arg("--dev-account")
        .arg("8")
        .arg("--poll-seconds")
        .arg("1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("cor-keeper starts")
}

async fn epochs_finalized(net: &Network) -> Vec<u64> {
    net.logs::<NodeReward::EpochFinalized>(net.suite.reward)
        .await
        .iter()
        .map(|e| e.epoch)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_killed_mid_epoch_and_restarted_finalizes_each_epoch_and_task_once() {
    let net = Network::start_with(
        DeployParams {
            param_delay: 60,
            ..DeployParams::default()
        },
        3,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keeper.log");
    let epoch = net.deployment.params.nodes.epoch_length;
    let mut keeper = spawn(&net, &log);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    net.advance(epoch).await;
    eventually("epoch 0 to be closed", LIMIT, || async {
        (epochs_finalized(&net).await == [0]).then_some(())
    })
    .await;

    // Half way through epoch 1: a task nobody answers, then the keeper dies.
    net.advance(epoch / 2).await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, _, _) = net.submit(session, "Anyone there?").await.unwrap();
    keeper.kill().expect("SIGKILL");
    keeper.wait().unwrap();

    // While it is down the task goes overdue and three more epochs end.
    net.advance(3 * epoch).await;
    assert!(2 * WINDOW < 3 * epoch, "the task's deadlines have passed");
    assert_eq!(epochs_finalized(&net).await, [0], "nobody closed them yet");

    let mut keeper = spawn(&net, &log);
    eventually("the epochs missed to be closed", LIMIT, || async {
        (epochs_finalized(&net).await.len() >= 4).then_some(())
    })
    .await;
    let r = net.finalized_within(task, LIMIT).await;
    assert_eq!(r._0, 3, "unresolved: nobody answered");
    // A few more rounds: nothing is finalized twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        matches!(keeper.try_wait(), Ok(None)),
        "still running:\n{}",
        read_log()
    );
    keeper.kill().unwrap();
    keeper.wait().unwrap();

    assert_eq!(
        epochs_finalized(&net).await,
        [0, 1, 2, 3],
        "each epoch once"
    );
    let finals = net
        .logs::<CommitReveal::TaskFinalized>(net.suite.commit_reveal)
        .await;
    assert_eq!(
        finals.iter().filter(|e| e.taskId == task).count(),
        1,
        "the task once"
    );
    let keeper_address = cor_client::wallet::dev_account(8).unwrap().address();
    let bounties: U256 = net
        .logs::<NodeReward::EpochFinalized>(net.suite.reward)
        .await
        .iter()
        .filter(|e| e.keeper == keeper_address)
        .map(|e| e.bounty)
        .sum();
    assert_eq!(
        net.balance(keeper_address).await,
        bounties,
        "the keeper holds exactly the bounties it earned:\n{}",
        read_log()
    );
    net.assert_conserved().await;
}
