//! Deployment parameters: what `cor deploy` reads from a TOML file, with defaults that
//! suit a dev chain and are sane for a testnet.
//!
//! Amounts of COR are whole tokens (18 decimals are added); durations are seconds. The
//! contracts check every bound again at construction.

use std::path::Path;

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// One whole COR in its smallest unit.
pub const COR: u128 = 1_000_000_000_000_000_000;

/// Why a parameter file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML did not parse or has an unknown key or a wrongly typed value.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, naming the key.
        message: String,
    },
    /// A value is outside what the contracts accept.
    #[error("{key} = {value}: expected {expected}")]
    Bound {
        /// The key, as in the file (`nodes.epoch_length`).
        key: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
}

/// Everything a deployment needs to know besides the code and the deployer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeployParams {
    /// The COR token.
    pub token: TokenParams,
    /// Node registration and the epoch clock.
    pub nodes: NodeParams,
    /// Payments and quotas.
    pub payments: PaymentParams,
    /// Task rounds and consensus.
    pub consensus: ConsensusParams,
    /// Epoch rewards.
    pub rewards: RewardParams,
    /// Delay of every later parameter change (seconds, 60 ..= 30 days).
    pub param_delay: u64,
    /// Wei sent with each program deployment to pay its activation; the StylusDeployer
    /// refunds what activation does not use.
    pub activation_value: U256,
    /// Models miners may serve, enabled at deployment.
    pub models: Vec<ModelParams>,
}

/// COR token parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenParams {
    /// Supply cap, whole COR.
    pub cap: u64,
}

/// NodePool parameters and the epoch clock NodeReward shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeParams {
    /// Stake a node needs, whole COR (1 ..= 1 000 000).
    pub min_stake: u64,
    /// Seconds between `exit` and `withdraw` (60 ..= 60 days).
    pub unbonding_period: u64,
    /// Epoch length, seconds.
    pub epoch_length: u64,
    /// Epoch 0's start (Unix seconds); 0 means the chain head's time at deployment.
    pub epoch_genesis: u64,
}

/// SessionPayment and StakeQuota parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentParams {
    /// Who receives the treasury share; the zero address means the deployer.
    pub treasury: Address,
    /// Length of a quota period, seconds (60 ..= 604 800).
    pub quota_period: u64,
}

/// CommitReveal, ConsensusEngine and SessionQueue parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    /// COR slashed from a miner that committed and did not reveal, whole COR (≤ 1 000).
    pub slash_amount: u64,
    /// Longest commit or reveal window a session may ask for, seconds.
    pub max_window: u64,
    /// Longest input or output URI, bytes.
    pub max_uri_bytes: u32,
}

/// NodeReward funding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardParams {
    /// COR minted to the deployer and put in the reward pool at deployment, whole COR.
    pub fund: u64,
}

/// A model that miners may serve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// The id sessions and nodes use.
    pub id: u32,
    /// Pricing class (0 Light, 1 Standard, 2 Heavy).
    pub class: u8,
    /// The model's name; its keccak-256 is stored.
    pub name: String,
}

impl Default for DeployParams {
    fn default() -> Self {
        Self {
            token: TokenParams::default(),
            nodes: NodeParams::default(),
            payments: PaymentParams::default(),
            consensus: ConsensusParams::default(),
            rewards: RewardParams::default(),
            param_delay: 3_600,
            activation_value: U256::from(10_000_000_000_000_000u64),
            models: vec![
                ModelParams {
                    id: 1,
                    class: 0,
                    name: "gemma-3-270m".to_owned(),
                },
                ModelParams {
                    id: 2,
                    class: 0,
                    name: "cor-tiny-llama".to_owned(),
                },
            ],
        }
    }
}

impl Default for TokenParams {
    fn default() -> Self {
        Self { cap: 1_000_000_000 }
    }
}

impl Default for NodeParams {
    fn default() -> Self {
        Self {
            min_stake: 1_000,
            unbonding_period: 600,
            epoch_length: 3_600,
            epoch_genesis: 0,
        }
    }
}

impl Default for PaymentParams {
    fn default() -> Self {
        Self {
            treasury: Address::ZERO,
            quota_period: 86_400,
        }
    }
}

impl Default for ConsensusParams {
    fn default() -> Self {
        Self {
            slash_amount: 10,
            max_window: 86_400,
            max_uri_bytes: 2_048,
        }
    }
}

impl Default for RewardParams {
    fn default() -> Self {
        Self { fund: 10_000 }
    }
}

/// Whole COR as the contracts' 18-decimal amount.
pub fn cor(whole: u64) -> U256 {
    U256::from(whole) * U256::from(COR)
}

impl DeployParams {
    /// Reads a TOML file over the defaults and checks it.
    ///
    /// # Errors
    /// [`ParamsError`] naming the file and key.
    pub fn from_file(path: &Path) -> Result<Self, ParamsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ParamsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ParamsError::Parse { message, .. } => ParamsError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML over the defaults and checks it.
    ///
    /// # Errors
    /// [`ParamsError::Parse`] or [`ParamsError::Bound`].
    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let params: Self = toml::from_str(text).map_err(|e| ParamsError::Parse {
            path: "<params>".to_owned(),
            message: e.to_string(),
        })?;
        params.check()?;
        Ok(params)
    }

    /// Checks the bounds the contracts would otherwise refuse one transaction in.
    ///
    /// # Errors
    /// [`ParamsError::Bound`] for the first value out of bounds.
    pub fn check(&self) -> Result<(), ParamsError> {
        let bound = |ok: bool, key, value: &dyn ToString, expected| {
            if ok {
                Ok(())
            } else {
                Err(ParamsError::Bound {
                    key,
                    value: value.to_string(),
                    expected,
                })
            }
        };
        bound(
            self.token.cap > 0,
            "token.cap",
            &self.token.cap,
            "more than 0",
        )?;
        bound(
            (1..=1_000_000).contains(&self.nodes.min_stake),
            "nodes.min_stake",
            &self.nodes.min_stake,
            "1 ..= 1000000 (whole COR)",
        )?;
        bound(
            (60..=60 * 86_400).contains(&self.nodes.unbonding_period),
            "nodes.unbonding_period",
            &self.nodes.unbonding_period,
            "60 ..= 5184000 seconds",
        )?;
        bound(
            self.nodes.epoch_length >= 60,
            "nodes.epoch_length",
            &self.nodes.epoch_length,
            "at least 60 seconds",
        )?;
        bound(
            (60..=604_800).contains(&self.payments.quota_period),
            "payments.quota_period",
            &self.payments.quota_period,
            "60 ..= 604800 seconds",
        )?;
        bound(
            self.consensus.slash_amount <= 1_000,
            "consensus.slash_amount",
            &self.consensus.slash_amount,
            "at most 1000 (whole COR)",
        )?;
        bound(
            (60..=7 * 86_400).contains(&self.consensus.max_window),
            "consensus.max_window",
            &self.consensus.max_window,
            "60 ..= 604800 seconds",
        )?;
        bound(
            (64..=8_192).contains(&self.consensus.max_uri_bytes),
            "consensus.max_uri_bytes",
            &self.consensus.max_uri_bytes,
            "64 ..= 8192 bytes",
        )?;
        bound(
            (60..=30 * 86_400).contains(&self.param_delay),
            "param_delay",
            &self.param_delay,
            "60 ..= 2592000 seconds",
        )?;
        bound(
            self.rewards.fund <= self.token.cap,
            "rewards.fund",
            &self.rewards.fund,
            "at most token.cap",
        )?;
        for model in &self.models {
            bound(
                model.class <= 2,
                "models.class",
                &model.class,
                "0 (Light), 1 (Standard) or 2 (Heavy)",
            )?;
            bound(model.id > 0, "models.id", &model.id, "more than 0")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(
            DeployParams::from_toml("").unwrap(),
            DeployParams::default()
        );
    }

    #[test]
    fn values_override_the_defaults() {
        let p = DeployParams::from_toml(
            "param_delay = 120\n[nodes]\nepoch_length = 600\n[[models]]\nid = 7\nclass = 2\nname = \"big\"\n",
        )
        .unwrap();
        assert_eq!(p.param_delay, 120);
        assert_eq!(p.nodes.epoch_length, 600);
        assert_eq!(p.nodes.min_stake, 1_000);
        assert_eq!(p.models.len(), 1);
        assert_eq!(p.models[0].class, 2);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = DeployParams::from_toml("[nodes]\nepoch_lenght = 5\n").unwrap_err();
        assert!(e.to_string().contains("epoch_lenght"), "{e}");
        let e = DeployParams::from_toml("[nodes]\nepoch_length = \"long\"\n").unwrap_err();
        assert!(e.to_string().contains("epoch_length"), "{e}");
        let e = DeployParams::from_toml("[consensus]\nmax_window = 10\n").unwrap_err();
        assert!(
            matches!(
                e,
                ParamsError::Bound {
                    key: "consensus.max_window",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("60 ..= 604800"));
    }
}
