//! The whole protocol through the `cor` binary alone, on one dev node: deploy, fund a
//! user, quote, deposit, open a session, submit a task, three miners (simulated here
//! with the CLI's node and task commands) commit and reveal, finalize, read and check
//! the result, claim payments, close the epoch and claim rewards. Each command's main
//! error is checked on the way.

mod common;

use common::{dev_address, Net};
use serde_json::Value;

const USER: &str = "9";

fn as_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn a_user_and_three_miners_run_a_task_end_to_end_with_the_cli_alone() {
    let net = Net::start("flow");
    let store = net.dir.join("answers");
    let store = store.to_str().expect("utf-8 path").to_owned();

    // Before a deployment there is nothing to talk to.
    let err = net.fails(1, &["balance", "--dev-account", USER]);
    assert!(err.contains("no deployment of chain 412346"), "{err}");

    net.deploy();
    let user = dev_address(9);

    // Funding: the owner mints; anyone else is refused with a sentence.
    let err = net.fails(1, &["token", "mint", &user, "5", "--dev-account", USER]);
    assert!(
        err.contains("is not the owner of CorToken: only the owner may do this"),
        "{err}"
    );
    assert!(
        err.contains("reverted with CorToken.OwnableUnauthorizedAccount(account: "),
        "{err}"
    );
    let out = net.ok(&["token", "mint", &user, "1000.5", "--dev-account", "0"]);
    assert!(
        out.starts_with(&format!("minted 1000.5 COR to {user}")),
        "{out}"
    );
    for miner in ["1", "2", "3"] {
        net.ok(&[
            "token",
            "mint",
            &dev_address(miner.parse().unwrap()),
            "1000",
            "--dev-account",
            "0",
        ]);
    }

    // The user signs with an encrypted keystore from here on.
    let keystore_dir = net.dir.join("keys");
    std::fs::create_dir_all(&keystore_dir).unwrap();
    let key = cor_client::wallet::dev_account(9).unwrap();
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        &keystore_dir,
        &mut rand::thread_rng(),
        key.to_bytes(),
        "correct horse",
        Some("user.json"),
    )
    .unwrap();
    std::fs::write(net.dir.join("password"), "correct horse\n").unwrap();
    let ks = keystore_dir.join("user.json");
    let pw = net.dir.join("password");
    let wallet = [
        "--keystore",
        ks.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ];
    let as_user = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(wallet.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run_user =
        |args: &[&str]| net.ok(&as_user(args).iter().map(String::as_str).collect::<Vec<_>>());
    let fail_user = |code: i32, args: &[&str]| {
        net.fails(
            code,
            &as_user(args).iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let out = run_user(&["token", "balance"]);
    assert!(
        out.starts_with(&format!("{user} holds 1000.5 COR")),
        "{out}"
    );
    // A wrong password is refused.
    std::fs::write(net.dir.join("wrong"), "battery staple\n").unwrap();
    let err = net.fails(
        2,
        &[
            "balance",
            "--keystore",
            ks.to_str().unwrap(),
            "--password-file",
            net.dir.join("wrong").to_str().unwrap(),
        ],
    );
    assert!(err.contains("cannot open keystore"), "{err}");

    // Three miners register (approving their stake), one heartbeat each.
    for miner in ["1", "2", "3"] {
        let out = net.ok(&[
            "node",
            "register",
            "--models",
            "1",
            "--metadata",
            "gpu-box",
            "--dev-account",
            miner,
        ]);
        assert!(
            out.contains("with 1000 COR staked, serving models [1]"),
            "{out}"
        );
        net.ok(&["node", "heartbeat", "--dev-account", miner]);
    }
    let err = net.fails(
        1,
        &["node", "register", "--models", "1", "--dev-account", "1"],
    );
    assert!(
        err.contains("is already registered as a node (active)"),
        "{err}"
    );
    let err = net.fails(1, &["node", "heartbeat", "--dev-account", "1"]);
    assert!(
        err.contains("already sent its heartbeat for epoch 0"),
        "{err}"
    );
    let node = net.json(&["node", "show", &dev_address(1)]);
    assert_eq!(node["status"], "active");
    assert_eq!(node["models"], serde_json::json!([1]));

    // Quote, then deposit: too much is refused before anything is sent.
    let quote = net.json(&["quote", "--model", "1", "-n", "3", "--max-tokens", "256"]);
    let price = as_str(&quote["total"]);
    assert_ne!(price, "0");
    let text = net.ok(&["quote", "--model", "1", "-n", "3"]);
    assert!(
        text.contains("Light task, 256 max tokens, standard tier, N = 3, exact consensus"),
        "{text}"
    );
    let err = fail_user(1, &["deposit", "2000"]);
    assert!(err.contains("holds 1000.5 COR, 2000 COR needed"), "{err}");
    let out = run_user(&["deposit", "100"]);
    assert!(out.contains("approved SessionPayment"), "{out}");
    assert!(
        out.contains("deposited 100 COR; escrow now 100 COR available, 0 COR locked"),
        "{out}"
    );

    // A session and a task.
    let session = net.json(
        &as_user(&[
            "session",
            "create",
            "--model",
            "1",
            "-n",
            "3",
            "--commit-window",
            "60",
            "--reveal-window",
            "60",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert_eq!(session["session"], 1);
    let out = net.ok(&["session", "show", "1"]);
    assert!(
        out.contains(&format!(
            "session 1: owner {user}, model 1, paid from escrow"
        )),
        "{out}"
    );
    let err = net.fails(
        1,
        &[
            "task",
            "submit",
            "--session",
            "1",
            "--prompt",
            "hi",
            "--dev-account",
            "4",
        ],
    );
    assert!(err.contains("did not create session 1"), "{err}");
    let submitted = net.json(
        &as_user(&[
            "task",
            "submit",
            "--session",
            "1",
            "--prompt",
            "What is the capital of France?",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    let task = as_str(&submitted["task"]);
    assert_eq!(task, "1");
    assert_eq!(as_str(&submitted["price"]), price, "locked = quoted");
    let miners: Vec<String> = submitted["miners"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_str)
        .collect();
    assert_eq!(miners.len(), 3);
    let index_of = |addr: &str| -> String {
        (1..=3)
            .find(|i| dev_address(*i).eq_ignore_ascii_case(addr))
            .expect("a registered miner")
            .to_string()
    };
    let seats: Vec<String> = miners.iter().map(|m| index_of(m)).collect();
    // Checksummed, as text output and file names write them.
    let miners: Vec<String> = seats
        .iter()
        .map(|i| dev_address(i.parse().unwrap()))
        .collect();

    // Not ready, not assigned, too early to reveal.
    let err = net.fails(1, &["task", "finalize", &task, "--dev-account", "0"]);
    assert!(err.contains("task 1 is not ready to finalize"), "{err}");
    assert!(err.contains("UTC"), "{err}");
    let err = net.fails(
        1,
        &[
            "task",
            "commit",
            &task,
            "--output",
            "Paris",
            "--store",
            &store,
            "--dev-account",
            "5",
        ],
    );
    assert!(
        err.contains(&format!("{} is not assigned to task 1", dev_address(5))),
        "{err}"
    );
    let out = net.ok(&[
        "task",
        "commit",
        &task,
        "--output",
        "Paris",
        "--store",
        &store,
        "--dev-account",
        &seats[0],
    ]);
    assert!(out.contains("committed to task 1"), "{out}");
    let err = net.fails(
        1,
        &[
            "task",
            "reveal",
            &task,
            "--store",
            &store,
            "--dev-account",
            &seats[0],
        ],
    );
    assert!(
        err.contains("outside the time window for this step"),
        "{err}"
    );
    for seat in &seats[1..] {
        net.ok(&[
            "task",
            "commit",
            &task,
            "--output",
            "Paris",
            "--store",
            &store,
            "--dev-account",
            seat,
        ]);
    }

    // A reveal that does not match its commitment (the kept salt tampered with).
    let kept = std::path::Path::new(&store)
        .join("412346")
        .join(format!("1-{}.json", miners[0]));
    let original = std::fs::read_to_string(&kept).expect("answer kept");
    let mut tampered: Value = serde_json::from_str(&original).unwrap();
    tampered["salt"] = Value::String(format!("0x{}", "11".repeat(32)));
    std::fs::write(&kept, tampered.to_string()).unwrap();
    let err = net.fails(
        1,
        &[
            "task",
            "reveal",
            &task,
            "--store",
            &store,
            "--dev-account",
            &seats[0],
        ],
    );
    assert!(err.contains("does not match"), "{err}");
    assert!(err.contains("CommitReveal.CommitmentMismatch("), "{err}");
    std::fs::write(&kept, original).unwrap();
    for seat in &seats {
        let out = net.ok(&[
            "task",
            "reveal",
            &task,
            "--store",
            &store,
            "--dev-account",
            seat,
        ]);
        assert!(out.contains("revealed task 1"), "{out}");
    }

    // Finalize (anyone), then read the result and check the output's hash.
    let out = net.ok(&["task", "finalize", &task, "--dev-account", "0"]);
    assert!(out.contains("task 1 finalized: resolved"), "{out}");
    assert!(out.contains("data:,Paris"), "{out}");
    let out = net.ok(&["task", "wait", &task, "--timeout", "5"]);
    assert_eq!(out.trim_end(), "Paris");
    let waited = net.json(&["task", "wait", &task]);
    assert_eq!(waited["hash_checked"], true);
    let shown = net.json(&["task", "show", &task]);
    assert_eq!(shown["status"], "resolved");
    assert_eq!(
        shown["input_uri"],
        "data:,What%20is%20the%20capital%20of%20France?"
    );
    assert_eq!(shown["seats"].as_array().unwrap().len(), 3);
    let err = net.fails(
        1,
        &[
            "task",
            "commit",
            &task,
            "--output",
            "Lyon",
            "--store",
            &store,
            "--dev-account",
            &seats[0],
        ],
    );
    assert!(
        err.contains("task 1 is already finalized (resolved)"),
        "{err}"
    );

    // A second task whose miners serve the output over HTTP: `wait` fetches and checks
    // it, and refuses bytes that do not hash to the result (exit code 3).
    let server = common::serve(vec!["Paris", "Lyon"]);
    let output_url = format!("{server}/outputs/paris");
    let second = net.json(
        &as_user(&[
            "task",
            "submit",
            "--session",
            "1",
            "--prompt",
            "And of Italy?",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    let task2 = as_str(&second["task"]);
    let seats2: Vec<String> = second["miners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| index_of(&as_str(m)))
        .collect();
    for seat in &seats2 {
        net.ok(&[
            "task",
            "commit",
            &task2,
            "--output",
            "Paris",
            "--store",
            &store,
            "--dev-account",
            seat,
        ]);
    }
    for seat in &seats2 {
        net.ok(&[
            "task",
            "reveal",
            &task2,
            "--uri",
            &output_url,
            "--store",
            &store,
            "--dev-account",
            seat,
        ]);
    }
    let out = net.ok(&[
        "task",
        "wait",
        &task2,
        "--finalize",
        "--interval",
        "0.2",
        "--dev-account",
        "4",
    ]);
    assert_eq!(out.trim_end(), "Paris");
    let err = net.fails(3, &["task", "wait", &task2]);
    assert!(
        err.contains(&format!("the output at {output_url} hashes to")),
        "{err}"
    );
    assert!(err.contains("do not trust it"), "{err}");

    // Miners claim their task payments.
    let balance = net.json(&["balance", &miners[0]]);
    assert_ne!(as_str(&balance["claimable"]), "0");
    let out = net.ok(&["claim", "--payments", "--dev-account", &seats[0]]);
    assert!(out.starts_with("claimed "), "{out}");
    let out = net.ok(&["claim", "--payments", "--dev-account", &seats[0]]);
    assert!(out.contains("no task payments to claim"), "{out}");

    // The epoch: not over yet; then closed by anyone, and rewards claimed once.
    let err = net.fails(1, &["epoch", "finalize", "--dev-account", "4"]);
    assert!(err.contains("epoch 0 has not ended: it ends at"), "{err}");
    net.advance(3_600);
    let out = net.ok(&["epoch", "finalize", "--dev-account", "4"]);
    assert!(out.contains("epoch 0 finalized:"), "{out}");
    let status = net.json(&["epoch", "status", "0", "--node", &miners[1]]);
    assert_eq!(status["epoch"]["finalized"], true);
    assert_eq!(status["node"]["live"], true);
    let out = net.ok(&["claim", "--epochs", "0", "--dev-account", &seats[1]]);
    assert!(out.contains("of rewards for epochs [0]"), "{out}");
    let err = net.fails(1, &["claim", "--epochs", "0", "--dev-account", &seats[1]]);
    assert!(
        err.contains("already claimed its rewards for epoch 0"),
        "{err}"
    );
    // Without --epochs, the finalized epochs are searched for what is still due.
    let out = net.ok(&["claim", "--dev-account", &seats[2]]);
    assert!(out.contains("of task payments"), "{out}");
    assert!(out.contains("of rewards for epochs [0]"), "{out}");

    // Withdraw from escrow: what is available, not more.
    let out = run_user(&["withdraw", "10"]);
    assert!(out.starts_with("withdrew 10 COR"), "{out}");
    let err = fail_user(1, &["withdraw", "1000"]);
    assert!(err.contains("of the escrow is available"), "{err}");

    // Stake for quota: new stake counts from the next period, so a quota task now is
    // refused with the bucket and the units.
    let out = run_user(&["stake", "500"]);
    assert!(out.contains("staked 500 COR"), "{out}");
    let quota = net.json(&["quota", "show", &user, "--class", "light", "-n", "3"]);
    assert_eq!(quota["buckets"][0]["left"], "0");
    let created = net.json(
        &as_user(&["session", "create", "--model", "1", "--pay", "quota"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let quota_session = as_str(&created["session"]);
    let err = fail_user(
        1,
        &[
            "task",
            "submit",
            "--session",
            &quota_session,
            "--prompt",
            "hi",
        ],
    );
    assert!(
        err.contains("quota exhausted for bucket Light x3: needs 3 units, 0 left this period"),
        "{err}"
    );
    // Opting in to overage from the stake lets the same task through.
    let out = run_user(&["quota", "auto-deduct", "--max", "5"]);
    assert!(
        out.contains("overage from stake: on, up to 5 COR per period"),
        "{out}"
    );
    let quota = net.json(&["quota", "show", &user, "--class", "light", "-n", "3"]);
    assert_eq!(quota["auto_deduct"]["enabled"], true);
    let out = run_user(&[
        "task",
        "submit",
        "--session",
        &quota_session,
        "--prompt",
        "hi",
    ]);
    assert!(out.contains("submitted to session"), "{out}");
    let quota = net.json(&["quota", "show", &user, "--class", "light", "-n", "3"]);
    assert_ne!(quota["auto_deduct"]["charged"], "0");
    let out = run_user(&["unstake", "100"]);
    assert!(out.contains("unstaking 100 COR"), "{out}");
    let err = fail_user(1, &["unstake", "--withdraw"]);
    assert!(err.contains("is cooling down until"), "{err}");

    // Parameters: shown, scheduled by the owner only, values checked locally first.
    let out = net.ok(&["params", "show", "node-reward"]);
    assert!(out.contains("finalize_bounty"), "{out}");
    let out = net.ok(&[
        "params",
        "set",
        "node-reward",
        "finalize_bounty",
        "2",
        "--dev-account",
        "0",
    ]);
    assert!(
        out.contains("NodeReward.finalize_bounty will be 2 COR from"),
        "{out}"
    );
    let shown = net.json(&["params", "show", "node-reward"]);
    assert_eq!(
        shown["NodeReward"]["params"][1]["pending"]["value"],
        "2000000000000000000"
    );
    let out = net.ok(&[
        "params",
        "cancel",
        "node-reward",
        "finalize_bounty",
        "--dev-account",
        "0",
    ]);
    assert!(
        out.contains("cancelled the scheduled change of NodeReward.finalize_bounty"),
        "{out}"
    );
    let err = net.fails(
        1,
        &[
            "params",
            "cancel",
            "node-reward",
            "finalize_bounty",
            "--dev-account",
            "0",
        ],
    );
    assert!(err.contains("has no scheduled change"), "{err}");
    let err = net.fails(
        1,
        &[
            "params",
            "set",
            "node-reward",
            "finalize_bounty",
            "2",
            "--dev-account",
            "4",
        ],
    );
    assert!(err.contains("is not the owner of NodeReward"), "{err}");
    let err = net.fails(
        1,
        &[
            "params",
            "set",
            "node-reward",
            "non_live_bps",
            "20000",
            "--dev-account",
            "0",
        ],
    );
    assert!(err.contains("is outside its bounds"), "{err}");
    let err = net.fails(
        2,
        &[
            "params",
            "set",
            "payment-table",
            "split_miners_bps",
            "lots",
            "--dev-account",
            "0",
        ],
    );
    assert!(
        err.contains("split_miners_bps = \"lots\": expected a whole number"),
        "{err}"
    );

    // Transfers, and a node changing its models.
    let out = run_user(&["token", "transfer", &dev_address(4), "1.5"]);
    assert!(
        out.starts_with(&format!("sent 1.5 COR to {}", dev_address(4))),
        "{out}"
    );
    let out = net.ok(&["token", "balance", &dev_address(4)]);
    // Account 4 also holds the 1 COR bounty it earned closing epoch 0.
    assert!(out.contains("holds 2.5 COR"), "{out}");
    let out = net.ok(&["node", "models", "1,2", "--dev-account", "1"]);
    assert!(out.contains("now serving models [1, 2]"), "{out}");
    let err = net.fails(1, &["node", "models", "7", "--dev-account", "1"]);
    assert!(err.contains("model 7 is not enabled"), "{err}");

    // A node leaves: no withdrawal before the unbonding period.
    let out = net.ok(&["node", "exit", "--dev-account", "3"]);
    assert!(out.contains("exiting"), "{out}");
    let err = net.fails(1, &["node", "withdraw", "--dev-account", "3"]);
    assert!(err.contains("is still unbonding"), "{err}");
}
