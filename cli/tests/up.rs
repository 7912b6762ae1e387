//! `cor up` end to end with the tiny model: the whole network in one command, twice on the
//! same state directory (the second run resumes the chain and the deployment).

mod common;

use common::{cor_in, programs_dir, temp_dir};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn up(dir: &std::path::Path, port: u16) -> String {
    let programs = programs_dir();
    let out = cor_in(dir)
        .args([
            "up",
            "--dir",
            "state",
            "--port",
            &port.to_string(),
            "--model",
            "tiny",
            "--max-tokens",
            "12",
            "--exit-after-demo",
            "--programs",
            programs.to_str().expect("utf-8 path"),
        ])
        .output()
        .expect("cor runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cor up failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn up_runs_the_whole_protocol_and_resumes_its_state() {
    let dir = temp_dir("up");
    // Miners listen on port + 100..=102: keep clear of the other tests' ports.
    let port = free_port();
    let first = up(&dir, port);
    for expected in [
        "suite deployed (23 transactions this run)",
        "session 1: N = 3, Similarity",
        "task 1:",
        "assigned seat 2",
        "resolved: 3 of 3 agree",
        "hash checked",
        "miners 0.",
        "tasks agreed 0 -> 1",
        "epoch 0 closed by the keeper",
        "in rewards for epoch 0",
        "of task payments",
        "Demonstration complete",
    ] {
        assert!(
            first.contains(expected),
            "missing {expected:?} in:\n{first}"
        );
    }
    assert_eq!(first.matches(" committed 0x").count(), 3, "{first}");
    assert_eq!(first.matches(" revealed output ").count(), 3, "{first}");

    // The same directory again: nothing redeployed, the history continues.
    let second = up(&dir, port);
    for expected in [
        "suite deployed (0 transactions this run)",
        "session 2:",
        "task 2:",
        "resolved: 3 of 3 agree",
        "tasks agreed 1 -> 2",
        "epoch 1 closed by the keeper",
    ] {
        assert!(
            second.contains(expected),
            "missing {expected:?} in:\n{second}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
