//! `cor deploy` against the dev node: a deployment killed mid-way resumes where it
//! stopped, `--verify` passes, then fails once a program's code on chain is changed.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
};

use common::{programs_dir, Net};
use serde_json::json;

#[test]
fn a_killed_deploy_resumes_and_verify_catches_changed_code() {
    let net = Net::start("deploy");
    let programs = programs_dir();
    let programs = programs.to_str().expect("utf-8 path");

    // Start a deployment and kill it once four steps are mined.
    let mut child = net
        .command(&["deploy", "--dev-account", "0", "--programs", programs])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cor deploy starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut mined = 0;
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if line.contains("mined in block") {
            mined += 1;
        }
        seen.push(line);
        if mined == 4 {
            break;
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(mined, 4, "{seen:#?}");
    assert!(
        seen[0].starts_with("[ 1/23] deploy and activate CorToken ... mined in block "),
        "{seen:#?}"
    );
    assert!(seen[0].contains(" gas (tx 0x"), "{seen:#?}");
    let record = net.dir.join("deployments").join("412346.json");
    let half: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("record written"))
            .expect("record is JSON");
    assert_eq!(half["complete"], json!(false));

    // Running it again carries on: the first four steps are not repeated.
    let out = net.deploy();
    assert!(
        out.contains("[ 1/23] deploy and activate CorToken ... done earlier"),
        "{out}"
    );
    assert!(
        out.contains("[ 4/23] deploy and activate SessionPayment ... done earlier"),
        "{out}"
    );
    assert!(out.contains("[23/23] NodeReward.fund("), "{out}");
    assert!(out.contains("suite deployed on chain 412346"), "{out}");
    let first_run_mined: Vec<&str> = seen.iter().map(String::as_str).collect();
    let deployed_twice = out
        .lines()
        .filter(|l| l.contains("mined in block"))
        .any(|l| first_run_mined.iter().any(|f| f[..20] == l[..20]));
    assert!(!deployed_twice, "a step ran twice:\n{out}");

    // Verify: every program matches the local build.
    let out = net.ok(&[
        "deploy",
        "--dev-account",
        "0",
        "--programs",
        programs,
        "--verify",
    ]);
    assert_eq!(out.matches(" matches").count(), 10, "{out}");
    assert!(
        !out.contains("mined in block"),
        "nothing is sent again:\n{out}"
    );

    // Put CorToken's code where NodePool is: verify now fails and names it.
    let addresses = net.json(&["addresses"]);
    let pool = addresses["contracts"]["NodePool"]["address"]
        .as_str()
        .expect("NodePool address")
        .to_owned();
    let token_code = std::fs::read(programs_dir().join("cor_token.code")).expect("code");
    net.rpc(
        "anvil_setCode",
        json!([pool, format!("0x{}", alloy::hex::encode(token_code))]),
    );
    let run = net.run(&[
        "deploy",
        "--dev-account",
        "0",
        "--programs",
        programs,
        "--verify",
    ]);
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stdout.contains("NodePool"), "{run:#?}");
    assert!(run.stdout.contains("DIFFERS"), "{run:#?}");
    assert_eq!(run.stdout.matches(" matches").count(), 9, "{run:#?}");
    assert!(
        run.stderr
            .starts_with("error: the code on chain differs from the local build"),
        "{run:#?}"
    );
    assert!(run.stderr.trim_end().ends_with("NodePool"), "{run:#?}");
}
