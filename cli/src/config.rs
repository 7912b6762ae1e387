//! Settings every command shares, in layers: built-in defaults, then a TOML file
//! (`--config`, or `cor.toml` in the current folder when there is one), then the
//! environment (`COR_*`), then flags. The result is checked once into [`Settings`]; a
//! bad value stops with its key, where it came from, and the form expected.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    path::{Path, PathBuf},
};

use clap::Args;
use serde::Deserialize;

use crate::error::CliError;

/// The dev node's default endpoint.
pub(crate) const DEFAULT_RPC: &str = "http://127.0.0.1:8547";
/// The config file read when `--config` is not given and it exists.
const DEFAULT_CONFIG: &str = "cor.toml";

/// Which chain to talk to and where its deployment record is.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Chain")]
pub(crate) struct RpcArgs {
    /// JSON-RPC endpoint: an http(s) URL, or an alias from `[rpc_endpoints]` in cor.toml
    /// or foundry.toml [default: http://127.0.0.1:8547, the dev node]
    #[arg(long, global = true, env = "COR_RPC_URL", value_name = "URL|ALIAS")]
    pub(crate) rpc: Option<String>,
    /// Folder holding `<chain-id>.json` deployment records [default: ./deployments]
    #[arg(long, global = true, env = "COR_DEPLOYMENTS", value_name = "DIR")]
    pub(crate) deployments: Option<PathBuf>,
}

/// Which key signs. At most one of keystore, private key and dev account.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Wallet")]
pub(crate) struct WalletArgs {
    /// Encrypted V3 JSON keystore (what `cast wallet new` writes); the password comes
    /// from --password-file or a prompt
    #[arg(long, global = true, env = "COR_KEYSTORE", value_name = "FILE")]
    pub(crate) keystore: Option<PathBuf>,
    /// File whose first line is the keystore password
    #[arg(long, global = true, env = "COR_PASSWORD_FILE", value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// DEV CHAINS ONLY: a raw hex private key. It ends up in shell history and process
    /// listings; use --keystore on any chain that holds value
    #[arg(
        long,
        global = true,
        env = "COR_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "HEX"
    )]
    pub(crate) private_key: Option<String>,
    /// DEV CHAINS ONLY: the dev node's prefunded account N (the public anvil mnemonic,
    /// 0-9)
    #[arg(long, global = true, env = "COR_DEV_ACCOUNT", value_name = "N")]
    pub(crate) dev_account: Option<String>,
}

/// Output and config-file flags.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output and config")]
pub(crate) struct OutputArgs {
    /// Print JSON instead of text
    #[arg(long, global = true, env = "COR_JSON")]
    pub(crate) json: bool,
    /// TOML config file [default: ./cor.toml when it exists]
    #[arg(long, global = true, env = "COR_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// The config file's keys (every one optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rpc: Option<String>,
    deployments: Option<PathBuf>,
    keystore: Option<PathBuf>,
    password_file: Option<PathBuf>,
    private_key: Option<String>,
    dev_account: Option<u32>,
    json: Option<bool>,
    #[serde(default)]
    rpc_endpoints: BTreeMap<String, String>,
}

/// foundry.toml: only its RPC aliases are read.
#[derive(Debug, Default, Deserialize)]
struct FoundryToml {
    #[serde(default)]
    rpc_endpoints: BTreeMap<String, String>,
}

/// Where the signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalletSource {
    /// No wallet: read-only commands only.
    None,
    /// An encrypted keystore; the password from a file, or prompted for.
    Keystore {
        /// The keystore.
        path: PathBuf,
        /// The password file, if any.
        password_file: Option<PathBuf>,
    },
    /// A raw key (dev chains).
    PrivateKey(String),
    /// A dev node account.
    Dev(u32),
}

/// Settings after every layer, checked.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The RPC URL (aliases resolved).
    pub(crate) rpc: String,
    /// The deployments folder.
    pub(crate) deployments: PathBuf,
    /// The key.
    pub(crate) wallet: WalletSource,
    /// JSON output.
    pub(crate) json: bool,
}

/// Names the layer a flag-or-environment value came from: the variable when it holds
/// exactly this value, otherwise the flag.
fn origin(flag: &str, env: &str, value: &str) -> String {
    match std::env::var(env) {
        Ok(v) if v == value => env.to_owned(),
        _ => flag.to_owned(),
    }
}

fn bad(key: &str, origin: &str, value: &str, expected: &str) -> CliError {
    CliError::Config(format!(
        "{key} = {value:?} (from {origin}): expected {expected}"
    ))
}

impl Settings {
    /// Resolves the layers.
    ///
    /// # Errors
    /// [`CliError::Config`] naming the key, its origin and the expected form.
    pub(crate) fn resolve(
        rpc: &RpcArgs,
        wallet: &WalletArgs,
        output: &OutputArgs,
    ) -> Result<Self, CliError> {
        let (file, file_name) = match &output.config {
            Some(path) => (read_config(path)?, path.display().to_string()),
            None if Path::new(DEFAULT_CONFIG).exists() => (
                read_config(Path::new(DEFAULT_CONFIG))?,
                DEFAULT_CONFIG.to_owned(),
            ),
            None => (FileConfig::default(), String::new()),
        };

        let (rpc_value, rpc_origin) = match (&rpc.rpc, &file.rpc) {
            (Some(v), _) => (v.clone(), origin("--rpc", "COR_RPC_URL", v)),
            (None, Some(v)) => (v.clone(), format!("{file_name} key `rpc`")),
            (None, None) => (DEFAULT_RPC.to_owned(), "the default".to_owned()),
        };
        let rpc_url = resolve_rpc(&rpc_value, &rpc_origin, &file.rpc_endpoints)?;

        let deployments = rpc
            .deployments
            .clone()
            .or(file.deployments.clone())
            .unwrap_or_else(|| PathBuf::from("deployments"));

        let from_cli = wallet_source(
            wallet.keystore.clone(),
            wallet.password_file.clone(),
            wallet.private_key.clone(),
            match &wallet.dev_account {
                Some(v) => Some(v.trim().parse::<u32>().map_err(|_| {
                    bad(
                        "dev_account",
                        &origin("--dev-account", "COR_DEV_ACCOUNT", v),
                        v,
                        "a dev account index, a whole number such as 0 (the dev node funds 0-9)",
                    )
                })?),
                None => None,
            },
            "flags and environment",
        )?;
        let wallet = match from_cli {
            WalletSource::None => wallet_source(
                file.keystore.clone(),
                wallet.password_file.clone().or(file.password_file.clone()),
                file.private_key.clone(),
                file.dev_account,
                &file_name,
            )?,
            chosen => chosen,
        };
        Ok(Self {
            rpc: rpc_url,
            deployments,
            wallet,
            json: output.json || file.json.unwrap_or(false),
        })
    }
}

fn read_config(path: &Path) -> Result<FileConfig, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Config(format!("cannot read config {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "config {}: {} (keys: rpc, deployments, keystore, password_file, private_key, \
             dev_account, json, [rpc_endpoints])",
            path.display(),
            e.to_string().trim_end()
        ))
    })
}

fn wallet_source(
    keystore: Option<PathBuf>,
    password_file: Option<PathBuf>,
    private_key: Option<String>,
    dev_account: Option<u32>,
    layer: &str,
) -> Result<WalletSource, CliError> {
    let given = [
        keystore.is_some().then_some("keystore"),
        private_key.is_some().then_some("private_key"),
        dev_account.is_some().then_some("dev_account"),
    ];
    let given: Vec<&str> = given.into_iter().flatten().collect();
    if given.len() > 1 {
        return Err(CliError::Config(format!(
            "{} are both set in {layer}: expected one wallet (--keystore, --private-key or \
             --dev-account)",
            given.join(" and ")
        )));
    }
    Ok(match (keystore, private_key, dev_account) {
        (Some(path), _, _) => WalletSource::Keystore {
            path,
            password_file,
        },
        (_, Some(key), _) => WalletSource::PrivateKey(key),
        (_, _, Some(index)) => WalletSource::Dev(index),
        _ => WalletSource::None,
    })
}

/// An http(s) URL as given, or an alias looked up in the config file's
/// `[rpc_endpoints]`, then foundry.toml's.
fn resolve_rpc(
    value: &str,
    origin: &str,
    aliases: &BTreeMap<String, String>,
) -> Result<String, CliError> {
    let mut known: BTreeMap<String, String> = Path::new("foundry.toml")
        .exists()
        .then(|| std::fs::read_to_string("foundry.toml").ok())
        .flatten()
        .and_then(|text| toml::from_str::<FoundryToml>(&text).ok())
        .map(|f| f.rpc_endpoints)
        .unwrap_or_default();
    known.extend(aliases.clone());
    let url = if value.contains("://") {
        value.to_owned()
    } else {
        match known.get(value) {
            Some(url) => url.clone(),
            None => {
                let names: Vec<&str> = known.keys().map(String::as_str).collect();
                let expected = if names.is_empty() {
                    "an http:// or https:// URL, or an alias from [rpc_endpoints]".to_owned()
                } else {
                    format!(
                        "an http:// or https:// URL, or one of the aliases {}",
                        names.join(", ")
                    )
                };
                return Err(bad("rpc", origin, value, &expected));
            }
        }
    };
    match alloy::transports::http::reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url),
        _ => Err(bad(
            "rpc",
            origin,
            &url,
            "an http:// or https:// URL such as http://127.0.0.1:8547",
        )),
    }
}

/// The keystore password: from its file, or asked for on the terminal.
pub(crate) fn keystore_password(password_file: Option<&Path>) -> Result<String, CliError> {
    match password_file {
        Some(path) => cor_client::wallet::read_password_file(path)
            .map_err(|e| CliError::Config(e.to_string())),
        None if std::io::stdin().is_terminal() => rpassword::prompt_password("Keystore password: ")
            .map_err(|e| CliError::Failed(format!("reading the password: {e}"))),
        None => Err(CliError::Config(
            "keystore needs a password: pass --password-file FILE (or COR_PASSWORD_FILE); \
             there is no terminal to prompt on"
                .to_owned(),
        )),
    }
}
