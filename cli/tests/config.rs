//! Settings in layers (defaults, cor.toml, COR_* environment, flags) and bad values that
//! stop with the key, where it came from, and the expected form. No chain is needed:
//! every run here stops before or at the connection.

mod common;

use common::{cor_in, temp_dir, Run};

fn run(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = cor_in(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("cor runs").into()
}

fn config_error(run: &Run) -> &str {
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    &run.stderr
}

#[test]
fn bad_values_name_their_key_origin_and_expected_form() {
    let dir = temp_dir("config-bad");
    let r = run(&dir, &[], &["--rpc", "ftp://example.org", "quote"]);
    let e = config_error(&r);
    assert!(
        e.contains("rpc = \"ftp://example.org\" (from --rpc)"),
        "{e}"
    );
    assert!(e.contains("expected an http:// or https:// URL"), "{e}");

    let r = run(&dir, &[("COR_DEV_ACCOUNT", "abc")], &["balance"]);
    let e = config_error(&r);
    assert!(
        e.contains("dev_account = \"abc\" (from COR_DEV_ACCOUNT): expected a dev account index"),
        "{e}"
    );

    let r = run(&dir, &[], &["deposit", "1.2.3", "--dev-account", "1"]);
    assert_eq!(r.code, Some(2), "{r:#?}");
    assert!(
        r.stderr
            .contains("expected an amount of COR such as 12 or 12.5"),
        "{r:#?}"
    );

    let r = run(
        &dir,
        &[],
        &["balance", "--dev-account", "1", "--private-key", "0x01"],
    );
    let e = config_error(&r);
    assert!(
        e.contains("private_key and dev_account are both set"),
        "{e}"
    );

    std::fs::write(dir.join("cor.toml"), "rpcc = \"http://x\"\n").unwrap();
    let r = run(&dir, &[], &["quote"]);
    let e = config_error(&r);
    assert!(e.contains("config cor.toml"), "{e}");
    assert!(e.contains("unknown field `rpcc`"), "{e}");

    std::fs::write(dir.join("cor.toml"), "dev_account = \"one\"\n").unwrap();
    let e = config_error(&run(&dir, &[], &["quote"])).to_owned();
    assert!(e.contains("dev_account"), "{e}");

    std::fs::write(dir.join("cor.toml"), "rpc = \"nowhere\"\n").unwrap();
    let r = run(&dir, &[], &["quote"]);
    let e = config_error(&r);
    assert!(
        e.contains("rpc = \"nowhere\" (from cor.toml key `rpc`)"),
        "{e}"
    );

    let r = run(&dir, &[], &["--config", "missing.toml", "quote"]);
    let e = config_error(&r);
    assert!(e.contains("cannot read config missing.toml"), "{e}");

    // A transaction without a wallet says how to choose one.
    std::fs::remove_file(dir.join("cor.toml")).unwrap();
    let r = run(&dir, &[], &["--rpc", "http://127.0.0.1:9", "deposit", "1"]);
    let e = config_error(&r);
    assert!(e.contains("choose a wallet with --keystore FILE"), "{e}");
    // A keystore with no password file and no terminal.
    let r = run(&dir, &[], &["--keystore", "k.json", "deposit", "1"]);
    let e = config_error(&r);
    assert!(e.contains("pass --password-file FILE"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flags_beat_environment_beat_the_file_beat_defaults() {
    let dir = temp_dir("config-layers");
    // Nothing listens on port 9 (discard): each run fails to connect and names the URL
    // it chose.
    let connect = |env: &[(&str, &str)], args: &[&str]| -> String {
        let r = run(&dir, env, args);
        assert_eq!(r.code, Some(1), "{r:#?}");
        r.stderr
    };
    let e = connect(&[], &["quote"]);
    assert!(
        e.contains("cannot connect to http://127.0.0.1:8547"),
        "default: {e}"
    );

    std::fs::write(
        dir.join("cor.toml"),
        "rpc = \"http://127.0.0.1:9/file\"\n[rpc_endpoints]\nmine = \"http://127.0.0.1:9/alias\"\n",
    )
    .unwrap();
    let e = connect(&[], &["quote"]);
    assert!(e.contains("http://127.0.0.1:9/file"), "file: {e}");
    let e = connect(&[("COR_RPC_URL", "http://127.0.0.1:9/env")], &["quote"]);
    assert!(e.contains("http://127.0.0.1:9/env"), "env over file: {e}");
    let e = connect(
        &[("COR_RPC_URL", "http://127.0.0.1:9/env")],
        &["--rpc", "http://127.0.0.1:9/flag", "quote"],
    );
    assert!(e.contains("http://127.0.0.1:9/flag"), "flag over env: {e}");
    let e = connect(&[], &["--rpc", "mine", "quote"]);
    assert!(e.contains("http://127.0.0.1:9/alias"), "alias: {e}");

    // foundry.toml's aliases work too.
    std::fs::remove_file(dir.join("cor.toml")).unwrap();
    std::fs::write(
        dir.join("foundry.toml"),
        "[profile.default]\nsrc = \"src\"\n\n[rpc_endpoints]\nlocal = \"http://127.0.0.1:9/foundry\"\n",
    )
    .unwrap();
    let e = connect(&[], &["--rpc", "local", "quote"]);
    assert!(
        e.contains("http://127.0.0.1:9/foundry"),
        "foundry alias: {e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
