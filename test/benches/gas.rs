//! The gas table: every call of a task's lifecycle for N = 1, 3 and 5 (Exact consensus,
//! escrow), and `finalizeEpoch` with 10, 100 and 1 000 registered nodes, each with the
//! storage slots it writes and the storage-only floor. Run with
//! `cargo bench -p cor-e2e --bench gas` (after `cargo contracts build`); prints Markdown.

use alloy::{providers::Provider, signers::local::PrivateKeySigner};
use alloy_primitives::{B256, U256};
use cor_abi::{CorToken, NodePool, NodeReward};
use cor_client::{params::cor, Connection};
use cor_e2e::{
    gas::{measure, table, Measured},
    network::{Network, Shape},
    Answer,
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let started = std::time::Instant::now();
    let net = Network::start().await;
    let mut rows = lifecycle_rows(&net).await;
    rows.extend(epoch_rows(&net).await);
    println!("## Gas per call on the COR dev node (real WASM, receipts)\n");
    println!("{}", table(&rows));
    println!(
        "Floor = 21 000 + 22 100 per fresh slot + 5 000 per updated slot. Measured in {:.0} s.",
        started.elapsed().as_secs_f64()
    );
}

/// Create a session, submit, commit and reveal per seat, finalize, for N = 1, 3, 5.
async fn lifecycle_rows(net: &Network) -> Vec<(String, Measured)> {
    let mut rows = Vec::new();
    for n in [1u8, 3, 5] {
        let shape = Shape {
            n,
            ..Shape::default()
        };
        let create = net.open_session(shape).await.expect("createSession");
        let session =
            cor_e2e::events::<cor_abi::SessionQueue::SessionCreated>(&create)[0].sessionId;
        let created = measure(&net.user, &create).await;
        let (task, seats, submit) = net.submit(session, "What is 2 + 2?").await.expect("submit");
        let submitted = measure(&net.user, &submit).await;
        let answer = Answer::text("4");
        let mut commits = Vec::new();
        for miner in &seats {
            let r = net.commit(task, *miner, &answer).await.expect("commit");
            commits.push(measure(&net.user, &r).await);
        }
        let mut reveals = Vec::new();
        for miner in &seats {
            let r = net.reveal(task, *miner, &answer).await.expect("reveal");
            reveals.push(measure(&net.user, &r).await);
        }
        let fin = net.finalize(task).await.expect("finalize");
        let finalized = measure(&net.user, &fin).await;
        rows.push((format!("createSession (N={n})"), created));
        rows.push((format!("submitTask (N={n})"), submitted));
        rows.push((format!("commit, first seat (N={n})"), commits[0]));
        rows.push((
            format!("commit, last seat (N={n})"),
            commits[seats.len() - 1],
        ));
        rows.push((format!("reveal, first seat (N={n})"), reveals[0]));
        rows.push((
            format!("reveal, last seat (N={n})"),
            reveals[seats.len() - 1],
        ));
        rows.push((format!("finalize (N={n})"), finalized));
        let mut whole = vec![submitted, finalized];
        whole.extend(&commits);
        whole.extend(&reveals);
        rows.push((
            format!("**whole task** (N={n}, {} txs)", whole.len()),
            Measured::sum(&whole),
        ));
    }
    rows
}

/// Grows the node set to 10, 100 and 1 000 registered, live nodes; in each size's epoch
/// one task is answered, then the epoch is closed and `finalizeEpoch` measured.
async fn epoch_rows(net: &Network) -> Vec<(String, Measured)> {
    let mut rows = Vec::new();
    let mut nodes: Vec<Connection> = Vec::new();
    let registered_before = net.miners.len();
    for target in [10usize, 100, 1_000] {
        let adding = target - registered_before - nodes.len();
        let t = std::time::Instant::now();
        for _ in 0..adding {
            nodes.push(register_random_node(net).await);
        }
        for node in &nodes {
            node.send(net.suite.node_pool, &NodePool::heartbeatCall {})
                .await
                .expect("heartbeat");
        }
        for miner in net.miners.values() {
            let _ = miner
                .send(net.suite.node_pool, &NodePool::heartbeatCall {})
                .await;
        }
        eprintln!(
            "{target} nodes registered and live ({:.0} s)",
            t.elapsed().as_secs_f64()
        );
        // One answered task, so the epoch has points to distribute.
        let session = net
            .create_session(Shape {
                n: 1,
                ..Shape::default()
            })
            .await
            .expect("session");
        let (task, seats, _) = net.submit(session, "ping").await.expect("submit");
        let answer = Answer::text("pong");
        match net.miners.get(&seats[0]) {
            Some(_) => {
                net.commit(task, seats[0], &answer).await.expect("commit");
                net.reveal(task, seats[0], &answer).await.expect("reveal");
            }
            None => {
                let node = nodes
                    .iter()
                    .find(|c| c.address() == seats[0])
                    .expect("assigned node");
                net.commit_as(node, task, &answer).await.expect("commit");
                net.reveal_as(node, task, &answer).await.expect("reveal");
            }
        }
        net.finalize(task).await.expect("finalize");
        net.advance(net.deployment.params.nodes.epoch_length).await;
        let epoch = net
            .owner
            .view(net.suite.reward, &NodeReward::nextEpochToFinalizeCall {})
            .await
            .expect("next epoch");
        let current = net
            .owner
            .view(net.suite.reward, &NodeReward::currentEpochCall {})
            .await
            .expect("current epoch");
        let mut last = None;
        for e in epoch..current {
            let r = net
                .owner
                .send(
                    net.suite.reward,
                    &NodeReward::finalizeEpochCall { epoch: e },
                )
                .await
                .expect("finalizeEpoch");
            last = Some(measure(&net.owner, &r).await);
        }
        rows.push((
            format!("finalizeEpoch ({target} nodes registered and live)"),
            last.expect("an epoch to finalize"),
        ));
    }
    rows
}

/// A new account with gas money and the minimum stake, registered for the test model.
async fn register_random_node(net: &Network) -> Connection {
    let signer = PrivateKeySigner::random();
    let address = signer.address();
    let _: serde_json::Value = net
        .owner
        .provider()
        .raw_request(
            "anvil_setBalance".into(),
            (address, U256::from(10u64).pow(U256::from(20u64))),
        )
        .await
        .expect("anvil_setBalance");
    let node = Connection::connect(&net.node.url(), signer)
        .await
        .expect("connect");
    let stake = cor(net.deployment.params.nodes.min_stake);
    net.mint(address, stake).await;
    node.send(
        net.suite.token,
        &CorToken::approveCall {
            spender: net.suite.node_pool,
            value: stake,
        },
    )
    .await
    .expect("approve");
    node.send(
        net.suite.node_pool,
        &NodePool::registerCall {
            models: vec![cor_e2e::network::MODEL],
            metadata: B256::ZERO,
        },
    )
    .await
    .expect("register");
    node
}
