//! The network under faults, with real `cor-miner` processes (tiny model) and the keeper
//! running as a task, on the dev node with the suite deployed from the real WASM build:
//! every consensus method and both payment modes served end to end; a dishonest miner; a
//! miner that commits and never reveals; the dev node stopped and restarted under the
//! running network. After each, every contract's COR balance equals what it owes.

mod process;

use std::time::Duration;

use alloy_primitives::{Address, U256};
use cor_abi::{CommitReveal, NodePool, NodeReward, SessionPayment, StakeQuota};
use cor_client::params::{cor, DeployParams};
use cor_e2e::{
    events, eventually,
    network::{Network, Shape, WINDOW},
};
use cor_keeper::{
    config::{FileConfig, KeeperConfig, Signer},
    Keeper,
};
use process::MinerProcess;

/// How long a task may take from submission to final with three tiny-model miners.
const TASK_LIMIT: Duration = Duration::from_secs(180);

fn params() -> DeployParams {
    DeployParams {
        param_delay: 60,
        ..DeployParams::default()
    }
}

/// The keeper (dev account 8) as a task; dropping the returned sender stops it.
async fn keeper(net: &Network) -> tokio::sync::oneshot::Sender<()> {
    let config = KeeperConfig::try_from(FileConfig {
        rpc_url: Some(net.node.url()),
        deployments: Some(net.deployments_file()),
        signer: Some(Signer::DevAccount(8)),
        poll_seconds: Some(1),
        receipt_timeout_seconds: Some(5),
        ..FileConfig::default()
    })
    .expect("valid keeper config");
    let keeper = Keeper::connect(config).await.expect("keeper connects");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(keeper.run(async move {
        let _ = rx.await;
    }));
    stop
}

/// The miners that agreed on `task`, from its `TaskFinalized` log.
async fn agreeing(net: &Network, task: U256) -> Vec<Address> {
    net.logs::<CommitReveal::TaskFinalized>(net.suite.commit_reveal)
        .await
        .into_iter()
        .find(|e| e.taskId == task)
        .expect("TaskFinalized")
        .agreeingMiners
}

/// Waits until `miner` has claimed everything SessionPayment holds for it.
async fn claimed_all(net: &Network, miner: Address) {
    eventually("the miner to claim its pay", TASK_LIMIT, || async {
        (net.claimable(miner).await.is_zero() && net.balance(miner).await > U256::ZERO)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_consensus_method_and_both_payment_modes_are_served_end_to_end() {
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let mut miners = MinerProcess::three(&net, dir.path()).await;

    // Escrow, one session per consensus method (Similarity with a Hamming radius, Median
    // with a score tolerance): the same software gives the same answer, so all agree.
    for (consensus, tolerance) in [(0u8, 0u64), (1, 64), (2, 5), (3, 0)] {
        let session = net
            .create_session(Shape {
                consensus,
                tolerance,
                ..Shape::default()
            })
            .await
            .unwrap();
        let (task, seats, _) = net.submit(session, "Count to three:").await.unwrap();
        assert_eq!(seats.len(), 3);
        let r = net.finalized_within(task, TASK_LIMIT).await;
        assert_eq!((r._0, r._6), (2, 0b111), "consensus method {consensus}");
    }

    // Quota: a stake above tier 1's 1 000 COR, which counts from the next period, so the
    // first quota task is refused with a typed error and nothing changes.
    let user = net.user.address();
    net.user
        .send(
            net.suite.quota,
            &StakeQuota::stakeCall { amount: cor(1_500) },
        )
        .await
        .unwrap();
    let session = net
        .create_session(Shape {
            mode: 1,
            ..Shape::default()
        })
        .await
        .unwrap();
    let escrow = net.escrow().await;
    let err = net.submit(session, "Count to three:").await.unwrap_err();
    let revert = err.revert().expect("a revert");
    assert!(revert.is("QuotaExhausted"), "{err}");
    assert_eq!(
        revert.error.as_ref().unwrap().field("left"),
        Some("0"),
        "{err}"
    );
    assert_eq!(net.escrow().await, escrow, "escrow untouched");

    // Opting in to overage: the task's price comes out of the stake into the escrow, and
    // the task is served.
    net.user
        .send(
            net.suite.quota,
            &StakeQuota::setAutoDeductCall {
                enabled: true,
                maxPerPeriod: cor(5),
            },
        )
        .await
        .unwrap();
    let (task, _, receipt) = net.submit(session, "Count to three:").await.unwrap();
    let overage = events::<StakeQuota::OverageCharged>(&receipt);
    assert_eq!(overage.len(), 1, "charged from the stake");
    assert_eq!(overage[0].user, user);
    let r = net.finalized_within(task, TASK_LIMIT).await;
    assert_eq!((r._0, r._6), (2, 0b111), "the overage task");

    // Next period the stake counts: the task's units come out of the free bucket.
    let period = net
        .user
        .view(net.suite.quota, &StakeQuota::currentPeriodCall {})
        .await
        .unwrap();
    net.advance(period._2 - net.now().await + 1).await;
    let (task, _, receipt) = net.submit(session, "Count to three:").await.unwrap();
    let consumed = events::<StakeQuota::QuotaConsumed>(&receipt);
    assert_eq!(consumed.len(), 1, "units from the bucket");
    assert_eq!(consumed[0].units, U256::from(3u64), "light class x N = 3");
    assert!(events::<StakeQuota::OverageCharged>(&receipt).is_empty());
    let r = net.finalized_within(task, TASK_LIMIT).await;
    assert_eq!((r._0, r._6), (2, 0b111), "the quota task");

    for m in &mut miners {
        claimed_all(&net, m.address()).await;
        assert!(m.alive(), "miner {} still running", m.account);
    }
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dishonest_miner_loses_consensus_is_not_paid_and_its_reputation_falls() {
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    // Miner 3 declares the model but runs other weights: its answers differ.
    let other = dir.path().join("other-weights");
    cor_miner::models::tiny::write(&other, cor_miner::models::tiny::DEFAULT_SEED + 1).unwrap();
    let mut miners: Vec<MinerProcess> = (1..=3)
        .map(|i| MinerProcess::new(&net, i, dir.path(), false))
        .collect();
    miners[2].model = other.display().to_string();
    MinerProcess::start_all(&mut miners).await;
    let liar = miners[2].address();
    let before = net.reputation(liar).await;

    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, _, _) = net.submit(session, "Count to three:").await.unwrap();
    let r = net.finalized_within(task, TASK_LIMIT).await;
    assert_eq!(r._0, 2, "resolved by the two honest miners");
    let agreed = agreeing(&net, task).await;
    assert_eq!(agreed.len(), 2);
    assert!(!agreed.contains(&liar));

    for m in &miners[..2] {
        claimed_all(&net, m.address()).await;
    }
    let accrued = net.logs::<SessionPayment::Accrued>(net.suite.payment).await;
    assert!(
        accrued.iter().all(|a| a.account != liar),
        "nothing accrued to the dishonest miner"
    );
    assert_eq!(net.claimable(liar).await, U256::ZERO);
    assert_eq!(net.balance(liar).await, U256::ZERO);
    // Record: (assigned, committed, revealed, agreed, disagreed, missed, ewmaBps, ...).
    let after = net.reputation(liar).await;
    assert_eq!(after._4, before._4 + 1, "one more disagreement recorded");
    assert_eq!(after._3, before._3, "no agreement recorded");
    let honest = net.reputation(miners[0].address()).await;
    assert!(
        after._6 < honest._6,
        "its score is below an honest miner's: {} vs {}",
        after._6,
        honest._6
    );
    assert!(
        miners[2].metric("cor_miner_tasks_not_agreed_total").await >= Some(1.0),
        "{}",
        miners[2].log()
    );
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miner_that_never_reveals_is_slashed_and_the_task_is_finalized_without_it() {
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let (miners, task) =
        MinerProcess::one_killed_after_commit(&net, dir.path(), "Count to three:").await;
    let victim = miners[0].address();
    let staked = net.stake(victim).await;

    // The keeper closes the task once its reveal deadline has passed.
    let _keeper = keeper(&net).await;
    net.advance(2 * WINDOW + 1).await;
    let r = net.finalized_within(task, TASK_LIMIT).await;
    assert_eq!(r._0, 2, "resolved by the two that revealed");
    let agreed = agreeing(&net, task).await;
    assert_eq!(agreed.len(), 2);
    assert!(!agreed.contains(&victim));
    let slashed = net.logs::<NodePool::Slashed>(net.suite.node_pool).await;
    assert_eq!(slashed.len(), 1, "one slash");
    assert_eq!(slashed[0].node, victim);
    assert_eq!(
        slashed[0].amount,
        cor(net.deployment.params.consensus.slash_amount)
    );
    assert_eq!(net.stake(victim).await, staked - slashed[0].amount);
    for m in &miners[1..] {
        claimed_all(&net, m.address()).await;
    }
    assert_eq!(
        net.claimable(victim).await,
        U256::ZERO,
        "the victim earned nothing"
    );
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dev_node_restarted_under_a_running_network_loses_no_task_and_pays_once() {
    let mut net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let mut miners = MinerProcess::three(&net, dir.path()).await;
    let _keeper = keeper(&net).await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (first, _, _) = net.submit(session, "Count to three:").await.unwrap();
    let (second, _, _) = net.submit(session, "Name a colour:").await.unwrap();

    // Down while the round is under way: the chain keeps what it mined (every block is
    // on disk before it is announced); the daemons retry until it is back.
    eventually("a commit", TASK_LIMIT, || async {
        (net.round(second).await._2 >= 1).then_some(())
    })
    .await;
    net.stop_node();
    tokio::time::sleep(Duration::from_secs(3)).await;
    net.restart_node();

    for task in [first, second] {
        let r = net.finalized_within(task, TASK_LIMIT).await;
        assert_eq!((r._0, r._6), (2, 0b111), "task {task}");
    }
    let finalized = net
        .logs::<CommitReveal::TaskFinalized>(net.suite.commit_reveal)
        .await;
    assert_eq!(finalized.len(), 2, "each task finalized once");

    // The epoch ends; the keeper closes it once and the miners claim their rewards.
    net.advance(net.deployment.params.nodes.epoch_length).await;
    let rewards = eventually("every miner's reward claim", TASK_LIMIT, || async {
        let claims = net.logs::<NodeReward::Claimed>(net.suite.reward).await;
        let all = miners
            .iter()
            .all(|m| claims.iter().any(|c| c.node == m.address()));
        all.then_some(claims)
    })
    .await;
    let epochs = net
        .logs::<NodeReward::EpochFinalized>(net.suite.reward)
        .await;
    assert_eq!(epochs.len(), 1, "epoch 0 closed once");

    let accrued = net.logs::<SessionPayment::Accrued>(net.suite.payment).await;
    for m in &mut miners {
        let a = m.address();
        claimed_all(&net, a).await;
        let earned: U256 = accrued
            .iter()
            .filter(|e| e.account == a)
            .map(|e| e.amount)
            .sum();
        assert_eq!(
            accrued.iter().filter(|e| e.account == a).count(),
            2,
            "one payment per task"
        );
        let payments = net.logs::<SessionPayment::Claimed>(net.suite.payment).await;
        let paid: U256 = payments
            .iter()
            .filter(|c| c.account == a)
            .map(|c| c.amount)
            .sum();
        assert_eq!(paid, earned, "claimed what it earned, once");
        let reward: U256 = rewards
            .iter()
            .filter(|c| c.node == a)
            .map(|c| c.amount)
            .sum();
        assert_eq!(
            net.balance(a).await,
            paid + reward,
            "the balance is the payments and the reward, nothing twice"
        );
        let commits = net
            .logs::<CommitReveal::Committed>(net.suite.commit_reveal)
            .await;
        assert_eq!(commits.iter().filter(|c| c.miner == a).count(), 2);
        assert!(m.alive(), "miner {} survived the outage", m.account);
    }
    net.assert_conserved().await;
}
