//! `cor-miner` processes for the integration tests: started with the real binary against
//! a test network, stopped with SIGKILL (no shutdown path runs), observed through their
//! HTTP routes and logs.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::{Address, U256};
use cor_client::content;
use cor_e2e::{eventually, network::MODEL, Network, Shape};

/// A `cor-miner` process for dev account `account`.
pub(crate) struct MinerProcess {
    child: Option<Child>,
    pub(crate) account: u32,
    dir: PathBuf,
    port: u16,
    ws: Option<String>,
    rpc: String,
    deployments: PathBuf,
    /// What it serves as [`MODEL`]: `tiny`, `gemma3-270m` or a model directory.
    pub(crate) model: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl MinerProcess {
    /// A miner for dev account `account` with its state under `dir`, serving the tiny
    /// model; `ws` also subscribes over WebSocket.
    pub(crate) fn new(net: &Network, account: u32, dir: &Path, ws: bool) -> Self {
        Self {
            child: None,
            account,
            dir: dir.join(format!("miner-{account}")),
            port: free_port(),
            ws: ws.then(|| net.node.ws_url()),
            rpc: net.node.url(),
            deployments: net.deployments_file(),
            model: "tiny".into(),
        }
    }

    /// Three miners (dev accounts 1..=3) under `dir`, started and ready; miner 1 also
    /// takes pushed assignments over WebSocket.
    pub(crate) async fn three(net: &Network, dir: &Path) -> Vec<MinerProcess> {
        let mut miners: Vec<MinerProcess> = (1..=3)
            .map(|i| MinerProcess::new(net, i, dir, i == 1))
            .collect();
        Self::start_all(&mut miners).await;
        miners
    }

    /// Starts every miner, then waits until each is ready (they load in parallel).
    pub(crate) async fn start_all(miners: &mut [MinerProcess]) {
        for m in miners.iter_mut() {
            m.start();
        }
        for m in miners.iter_mut() {
            m.ready().await;
        }
    }

    /// Miner 1 SIGKILLed between its commit and its reveal. Only miners 1 and 2 run at
    /// first, so the reveal window of a task (a new default session, `prompt`) stays shut:
    /// it opens once every seat has committed. Miner 1 is killed once its commit is on
    /// chain; miner 3 then starts, and the other two reveal. Returns the three miners
    /// (miner 1 down) and the task, still open.
    pub(crate) async fn one_killed_after_commit(
        net: &Network,
        dir: &Path,
        prompt: &str,
    ) -> (Vec<MinerProcess>, U256) {
        let limit = Duration::from_secs(180);
        let mut miners: Vec<MinerProcess> = (1..=3)
            .map(|i| MinerProcess::new(net, i, dir, false))
            .collect();
        Self::start_all(&mut miners[..2]).await;
        let victim = miners[0].address();
        let session = net.create_session(Shape::default()).await.unwrap();
        let (task, _, _) = net.submit(session, prompt).await.unwrap();
        eventually("the victim's commit", limit, || async {
            net.committed(task, victim).await.then_some(())
        })
        .await;
        miners[0].kill();
        Self::start_all(&mut miners[2..]).await;
        eventually("the two live reveals", limit, || async {
            (net.round(task).await._3 == 2).then_some(())
        })
        .await;
        assert!(net.round(task).await._0 < 2, "open while a reveal is due");
        (miners, task)
    }

    /// Starts the process (again, after [`MinerProcess::kill`]: same state directory).
    pub(crate) fn start(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("miner.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cor-miner"));
        cmd.arg("--rpc-url")
            .arg(&self.rpc)
            .arg("--deployments")
            .arg(&self.deployments)
            .arg("--dev-account")
            .arg(self.account.to_string())
            .arg("--state-dir")
            .arg(&self.dir)
            .arg("--listen-addr")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--model")
            .arg(format!("{MODEL}={}", self.model))
            .arg("--poll-seconds")
            .arg("1")
            .arg("--claim-seconds")
            .arg("1")
            .env("RUST_LOG", "info,mistralrs_core=warn")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        if let Some(ws) = &self.ws {
            cmd.arg("--ws-url").arg(ws);
        }
        self.child = Some(cmd.spawn().expect("cor-miner starts"));
    }

    /// SIGKILL: no shutdown path runs.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is running.
    pub(crate) fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Everything it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("miner.log")).unwrap_or_default()
    }

    /// Its account.
    pub(crate) fn address(&self) -> Address {
        cor_client::wallet::dev_account(self.account)
            .unwrap()
            .address()
    }

    async fn get(&self, path: &str) -> Option<String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let bytes = content::fetch(&url, 1 << 20).await.ok()?;
        String::from_utf8(bytes).ok()
    }

    /// The value of a metric.
    pub(crate) async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.get("/metrics").await?;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
    }

    /// Waits until the HTTP server answers (models loaded, node registered).
    pub(crate) async fn ready(&mut self) {
        let start = Instant::now();
        while self.get("/health").await.is_none() {
            assert!(
                self.alive(),
                "miner {} exited:\n{}",
                self.account,
                self.log()
            );
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "miner {} not ready:\n{}",
                self.account,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for MinerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
