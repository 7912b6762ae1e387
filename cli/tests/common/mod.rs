//! Running the real `cor` binary against an in-process dev node.
#![allow(dead_code, unreachable_pub)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use alloy::providers::{Provider, ProviderBuilder};
use cor_devnode::{DevNode, DevNodeHandle, NodeConfig};
use serde_json::Value;

/// The `COR_*` variables the binary reads, cleared so the caller's shell cannot leak in.
const COR_VARS: [&str; 10] = [
    "COR_RPC_URL",
    "COR_DEPLOYMENTS",
    "COR_KEYSTORE",
    "COR_PASSWORD_FILE",
    "COR_PRIVATE_KEY",
    "COR_DEV_ACCOUNT",
    "COR_JSON",
    "COR_CONFIG",
    "COR_ANSWERS",
    "COR_UNUSED",
];

/// What a run of `cor` left.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A fresh, empty folder under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cor-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Where `cargo contracts build` left the programs.
pub fn programs_dir() -> PathBuf {
    cor_client::Programs::default_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// A `cor` command run in `cwd` with no `COR_*` variables set.
pub fn cor_in(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cor"));
    cmd.current_dir(cwd).stdin(std::process::Stdio::null());
    for var in COR_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// A dev node and a working folder (its deployments, answers and files).
pub struct Net {
    pub node: DevNodeHandle,
    pub dir: PathBuf,
}

impl Net {
    pub fn start(name: &str) -> Self {
        let node = DevNode::start(NodeConfig::for_tests()).expect("dev node starts");
        Self {
            node,
            dir: temp_dir(name),
        }
    }

    /// `cor --rpc <node> --deployments <dir>/deployments ARGS`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = cor_in(&self.dir);
        cmd.arg("--rpc")
            .arg(self.node.url())
            .arg("--deployments")
            .arg(self.dir.join("deployments"))
            .args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("cor runs").into()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "cor {args:?} failed:\n{run:#?}");
        run.stdout
    }

    /// Runs with `--json` and expects success.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Runs and expects failure with `code`; returns stderr, checked to be a message
    /// and not a panic or a debug dump.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(code), "cor {args:?}:\n{run:#?}");
        assert!(run.stderr.starts_with("error: "), "{run:#?}");
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        assert!(!run.stderr.contains("Reverted("), "{run:#?}");
        run.stderr
    }

    /// Deploys the suite with dev account 0.
    pub fn deploy(&self) -> String {
        let programs = programs_dir();
        self.ok(&[
            "deploy",
            "--dev-account",
            "0",
            "--programs",
            programs.to_str().expect("utf-8 path"),
        ])
    }

    /// A JSON-RPC call to the node.
    pub fn rpc(&self, method: &'static str, params: Value) -> Value {
        let url = self.node.url();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move {
                let provider = ProviderBuilder::new().connect_http(url.parse().expect("url"));
                provider
                    .raw_request::<_, Value>(method.into(), params)
                    .await
                    .expect("rpc call")
            })
    }

    /// Moves the chain's clock forward and mines a block.
    pub fn advance(&self, seconds: u64) {
        self.rpc("evm_increaseTime", serde_json::json!([seconds]));
        self.rpc("evm_mine", serde_json::json!([]));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The dev accounts' addresses by index.
pub fn dev_address(index: u32) -> String {
    cor_client::wallet::dev_account(index)
        .expect("dev key")
        .address()
        .to_string()
}

/// Serves `bodies` over HTTP on a free local port, one per request in order (the last
/// one again after that), as a miner serves its outputs. Returns the base URL.
pub fn serve(bodies: Vec<&'static str>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = bodies[i.min(bodies.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
