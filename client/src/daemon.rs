//! What the daemons (keeper, miner) share besides the chain: their configuration files'
//! errors and loading, and the shutdown signal service managers send.

use std::path::{Path, PathBuf};

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this config (the message names the key).
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is missing or out of range.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key (as in the file; flags and variables map to it).
        key: &'static str,
        /// What is wrong and what is expected.
        problem: String,
    },
}

/// The JSON-RPC URL setting: the local dev node when unset, else an http(s) URL.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `rpc_url`.
pub fn rpc_url(value: Option<String>) -> Result<String, ConfigError> {
    let url = value.unwrap_or_else(|| "http://127.0.0.1:8547".to_owned());
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::Invalid {
            key: "rpc_url",
            problem: "expected an http:// or https:// URL".to_owned(),
        });
    }
    Ok(url)
}

/// The `deployments` and `signer` settings every daemon needs.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the missing key.
pub fn deployment_and_signer(
    deployments: Option<PathBuf>,
    signer: Option<crate::wallet::Signer>,
) -> Result<(PathBuf, crate::wallet::Signer), ConfigError> {
    let deployments = deployments.ok_or_else(|| ConfigError::Invalid {
        key: "deployments",
        problem:
            "missing: the deployments file written by `cor deploy` (deployments/<chain-id>.json)"
                .to_owned(),
    })?;
    let signer = signer.ok_or_else(|| ConfigError::Invalid {
        key: "signer",
        problem: "missing: keystore + password file, or a dev account on a dev chain".to_owned(),
    })?;
    Ok((deployments, signer))
}

/// Reads a TOML config file into `T` (unknown keys refused when `T` says so, the key
/// named in the message).
///
/// # Errors
/// [`ConfigError::Read`], [`ConfigError::Parse`].
pub fn load_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Resolves on Ctrl-C or SIGTERM (what service managers send to stop a daemon).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
