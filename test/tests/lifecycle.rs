//! Whole task lifecycles on the real WASM programs through the dev node's JSON-RPC:
//! each consensus method with N = 3, a dishonest minority, an unresolved task, a miner
//! that commits and never reveals, one that never commits, and an epoch closed and
//! claimed. After each, every contract's COR balance equals what it owes.

use alloy_primitives::{Address, U256};
use cor_abi::{CommitReveal, NodePool, NodeReward, SessionPayment};
use cor_client::params::cor;
use cor_e2e::{
    events,
    network::{Network, Shape, USER_ESCROW, WINDOW},
    Answer,
};

const PROMPT: &str = "What is the capital of France?";
const RESOLVED: u8 = 2;
const UNRESOLVED: u8 = 3;

/// Commits then reveals one answer per seat (`None` sits the seat out).
async fn play(net: &Network, task: U256, seats: &[Address], answers: &[Option<Answer>]) {
    for (miner, answer) in seats.iter().zip(answers) {
        if let Some(answer) = answer {
            net.commit(task, *miner, answer).await.expect("commit");
        }
    }
    if answers.iter().any(Option::is_none) {
        // Reveals open at the commit deadline when a seat never commits.
        net.advance(WINDOW + 1).await;
    }
    for (miner, answer) in seats.iter().zip(answers) {
        if let Some(answer) = answer {
            net.reveal(task, *miner, answer).await.expect("reveal");
        }
    }
}

/// Finalizes and returns the `TaskFinalized` event.
async fn finalize(net: &Network, task: U256) -> CommitReveal::TaskFinalized {
    let receipt = net.finalize(task).await.expect("finalize");
    events::<CommitReveal::TaskFinalized>(&receipt)
        .pop()
        .expect("TaskFinalized")
}

async fn points(net: &Network, node: Address) -> U256 {
    net.user
        .view(
            net.suite.reward,
            &NodeReward::pointsOfCall { node, epoch: 0 },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_consensus_pays_agreeing_miners_and_records_reputation_gas_and_points() {
    let net = Network::start().await;
    let shape = Shape::default();
    let session = net.create_session(shape).await.unwrap();
    let (total, miners_part, validators_part, treasury_part) = net.quote(shape).await;
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    assert_eq!(seats.len(), 3);
    let mut distinct = seats.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "distinct miners");
    assert_eq!(net.escrow().await, (cor(USER_ESCROW) - total, total));

    // Not ready before anyone answered: a typed error, decoded.
    let early = net.finalize(task).await.unwrap_err();
    assert!(early.revert().unwrap().is("NotReady"), "{early}");

    let paris = Answer::text("Paris");
    play(
        &net,
        task,
        &seats,
        &[
            Some(paris.clone()),
            Some(paris.clone()),
            Some(paris.clone()),
        ],
    )
    .await;
    let done = finalize(&net, task).await;
    assert_eq!(done.status, RESOLVED);
    assert_eq!(done.outputHash, paris.output_hash);
    assert_eq!(done.outputUri, paris.uri);
    assert_eq!(done.agreeingMiners, seats);

    let share = miners_part / U256::from(3u64);
    for miner in &seats {
        assert_eq!(net.claimable(*miner).await, share);
        let r = net.reputation(*miner).await;
        assert_eq!((r._0, r._1, r._2, r._3, r._4, r._5), (1, 1, 1, 1, 0, 0));
        assert!(points(&net, *miner).await > U256::ZERO);
    }
    let treasury = net.deployment.params.payments.treasury;
    assert_eq!(
        net.claimable(treasury).await,
        treasury_part + validators_part + (miners_part - share * U256::from(3u64))
    );
    assert_eq!(net.escrow().await, (cor(USER_ESCROW) - total, U256::ZERO));

    // The payment record holds the gas of every phase, measured by the chain.
    let gas = net
        .user
        .view(
            net.suite.payment,
            &SessionPayment::taskGasCall { taskId: task },
        )
        .await
        .unwrap();
    assert!(gas._0 > 100_000, "submit gas {}", gas._0);
    assert!(gas._1 > 0 && gas._2 > 0 && gas._3 > 0, "{gas:?}");

    // Finalizing again is a no-op that succeeds; committing now is refused.
    let again = net.finalize(task).await.unwrap();
    assert!(events::<CommitReveal::TaskFinalized>(&again).is_empty());
    assert_eq!(net.claimable(seats[0]).await, share);
    let late = net.commit(task, seats[0], &paris).await.unwrap_err();
    assert!(late.revert().unwrap().is("TaskClosed"), "{late}");

    // A miner takes its pay out of SessionPayment.
    let miner = net.miner(seats[0]);
    let paid = miner
        .send(net.suite.payment, &SessionPayment::claimCall {})
        .await
        .unwrap();
    assert_eq!(events::<SessionPayment::Claimed>(&paid)[0].amount, share);
    assert_eq!(net.claimable(seats[0]).await, U256::ZERO);
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similarity_consensus_takes_the_medoid_of_the_near_identical_cluster() {
    let net = Network::start().await;
    let shape = Shape {
        consensus: 1,
        tolerance: 40,
        ..Shape::default()
    };
    let session = net.create_session(shape).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let a = Answer::text("The capital of France is Paris, a city on the Seine.");
    let b = Answer::text("The capital of France is Paris, a city on the Seine river.");
    let c = Answer::text("Bananas are yellow and grow in tropical climates worldwide.");
    assert!(cor_consensus::hamming(&a.fingerprint, &b.fingerprint) <= 40);
    assert!(cor_consensus::hamming(&a.fingerprint, &c.fingerprint) > 40);
    play(
        &net,
        task,
        &seats,
        &[Some(a.clone()), Some(b.clone()), Some(c)],
    )
    .await;
    let done = finalize(&net, task).await;
    assert_eq!(done.status, RESOLVED);
    assert_eq!(done.agreeingMiners, vec![seats[0], seats[1]]);
    assert!([a.output_hash, b.output_hash].contains(&done.outputHash));
    assert_eq!(net.claimable(seats[2]).await, U256::ZERO);
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn median_consensus_agrees_within_the_tolerance() {
    let net = Network::start().await;
    let shape = Shape {
        consensus: 2,
        tolerance: 2,
        ..Shape::default()
    };
    let session = net.create_session(shape).await.unwrap();
    let (task, seats, _) = net
        .submit(session, "Grade this essay from 0 to 100")
        .await
        .unwrap();
    let (x, y, z) = (
        Answer::scored("70/100", 70),
        Answer::scored("71/100", 71),
        Answer::scored("10/100", 10),
    );
    play(&net, task, &seats, &[Some(x.clone()), Some(y), Some(z)]).await;
    let done = finalize(&net, task).await;
    assert_eq!(done.status, RESOLVED);
    assert_eq!(done.agreeingMiners, vec![seats[0], seats[1]]);
    assert_eq!(done.outputHash, x.output_hash);
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_consensus_resolves_by_vote_weight() {
    let net = Network::start().await;
    let shape = Shape {
        consensus: 3,
        threshold_bps: 5_000,
        ..Shape::default()
    };
    let session = net.create_session(shape).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let (good, bad) = (Answer::text("Paris"), Answer::text("Lyon"));
    play(
        &net,
        task,
        &seats,
        &[Some(good.clone()), Some(bad), Some(good.clone())],
    )
    .await;
    let done = finalize(&net, task).await;
    assert_eq!(done.status, RESOLVED);
    assert_eq!(done.outputHash, good.output_hash);
    assert_eq!(done.agreeingMiners, vec![seats[0], seats[2]]);
    let scored = events::<cor_abi::ConsensusEngine::TaskScored>(&net.finalize(task).await.unwrap());
    assert!(scored.is_empty(), "scored once");
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_minority_loses_consensus_is_not_paid_and_its_share_is_refunded() {
    let net = Network::start().await;
    let shape = Shape::default();
    let session = net.create_session(shape).await.unwrap();
    let (total, miners_part, ..) = net.quote(shape).await;
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let (good, bad) = (Answer::text("Paris"), Answer::text("Buy COR now"));
    play(
        &net,
        task,
        &seats,
        &[Some(good.clone()), Some(bad), Some(good)],
    )
    .await;
    assert_eq!(finalize(&net, task).await.status, RESOLVED);
    let share = miners_part / U256::from(3u64);
    assert_eq!(net.claimable(seats[1]).await, U256::ZERO);
    assert_eq!(net.claimable(seats[0]).await, share);
    assert_eq!(
        net.escrow().await,
        (cor(USER_ESCROW) - total + share, U256::ZERO)
    );
    let liar = net.reputation(seats[1]).await;
    assert_eq!((liar._3, liar._4), (0, 1));
    assert_eq!(points(&net, seats[1]).await, U256::ZERO);
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agreement_is_unresolved_and_refunded_in_full() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let answers = ["one", "two", "three"].map(|t| Some(Answer::text(t)));
    play(&net, task, &seats, &answers).await;
    let done = finalize(&net, task).await;
    assert_eq!(done.status, UNRESOLVED);
    assert!(done.agreeingMiners.is_empty());
    assert_eq!(net.escrow().await, (cor(USER_ESCROW), U256::ZERO));
    for miner in &seats {
        assert_eq!(net.claimable(*miner).await, U256::ZERO);
    }
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_that_commits_and_never_reveals_is_slashed_and_the_others_finalize() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let paris = Answer::text("Paris");
    for miner in &seats {
        net.commit(task, *miner, &paris).await.unwrap();
    }
    net.reveal(task, seats[0], &paris).await.unwrap();
    net.reveal(task, seats[1], &paris).await.unwrap();
    let early = net.finalize(task).await.unwrap_err();
    assert!(early.revert().unwrap().is("NotReady"), "{early}");
    net.advance(2 * WINDOW + 1).await;
    let receipt = net.finalize(task).await.unwrap();
    let done = events::<CommitReveal::TaskFinalized>(&receipt);
    assert_eq!(done[0].status, RESOLVED);
    assert_eq!(done[0].agreeingMiners, vec![seats[0], seats[1]]);
    let slashed = events::<NodePool::Slashed>(&receipt);
    assert_eq!(slashed.len(), 1);
    assert_eq!(slashed[0].node, seats[2]);
    let slash = cor(net.deployment.params.consensus.slash_amount);
    assert_eq!(slashed[0].amount, slash);
    let min_stake = cor(net.deployment.params.nodes.min_stake);
    assert_eq!(net.stake(seats[2]).await, min_stake - slash);
    let r = net.reputation(seats[2]).await;
    assert_eq!((r._1, r._2, r._5), (1, 0, 1));
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_that_never_commits_loses_reputation_only() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    let paris = Answer::text("Paris");
    play(
        &net,
        task,
        &seats,
        &[Some(paris.clone()), Some(paris), None],
    )
    .await;
    let receipt = net.finalize(task).await.unwrap();
    assert!(events::<NodePool::Slashed>(&receipt).is_empty());
    assert_eq!(
        events::<CommitReveal::TaskFinalized>(&receipt)[0].status,
        RESOLVED
    );
    let min_stake = cor(net.deployment.params.nodes.min_stake);
    assert_eq!(net.stake(seats[2]).await, min_stake);
    let r = net.reputation(seats[2]).await;
    assert_eq!((r._0, r._1, r._5), (1, 0, 1));
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_closes_once_and_agreeing_miners_claim_their_rewards_once() {
    let net = Network::start().await;
    let session = net.create_session(Shape::default()).await.unwrap();
    let (task, seats, _) = net.submit(session, PROMPT).await.unwrap();
    // Each miner is live in epoch 0.
    for miner in &seats {
        net.miner(*miner)
            .send(net.suite.node_pool, &NodePool::heartbeatCall {})
            .await
            .unwrap();
    }
    let paris = Answer::text("Paris");
    play(
        &net,
        task,
        &seats,
        &[Some(paris.clone()), Some(paris.clone()), Some(paris)],
    )
    .await;
    assert_eq!(finalize(&net, task).await.status, RESOLVED);

    let early = net
        .owner
        .send(
            net.suite.reward,
            &NodeReward::finalizeEpochCall { epoch: 0 },
        )
        .await
        .unwrap_err();
    assert!(early.revert().unwrap().is("EpochNotEnded"), "{early}");
    net.advance(net.deployment.params.nodes.epoch_length).await;
    let keeper = net.miner(seats[0]);
    let receipt = keeper
        .send(
            net.suite.reward,
            &NodeReward::finalizeEpochCall { epoch: 0 },
        )
        .await
        .unwrap();
    let closed = events::<NodeReward::EpochFinalized>(&receipt);
    assert_eq!(closed.len(), 1);
    assert!(closed[0].totalPoints > U256::ZERO);
    assert!(closed[0].bounty > U256::ZERO);
    // A second keeper's call succeeds and does nothing.
    let second = net
        .owner
        .send(
            net.suite.reward,
            &NodeReward::finalizeEpochCall { epoch: 0 },
        )
        .await
        .unwrap();
    assert!(events::<NodeReward::EpochFinalized>(&second).is_empty());

    let miner = net.miner(seats[1]);
    let due = net
        .user
        .view(
            net.suite.reward,
            &NodeReward::claimableCall {
                node: seats[1],
                epoch: 0,
            },
        )
        .await
        .unwrap();
    assert!(due._0 > U256::ZERO && due._1, "{due:?}");
    let claimed = miner
        .send(net.suite.reward, &NodeReward::claimCall { epochs: vec![0] })
        .await
        .unwrap();
    assert_eq!(events::<NodeReward::Claimed>(&claimed)[0].amount, due._0);
    let twice = miner
        .send(net.suite.reward, &NodeReward::claimCall { epochs: vec![0] })
        .await
        .unwrap_err();
    assert!(twice.revert().unwrap().is("AlreadyClaimed"), "{twice}");
    net.assert_conserved().await;
}
