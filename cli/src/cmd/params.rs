//! `cor params`: the admin-tunable numbers of NodePool, SessionPaymentTable, StakeQuota
//! and NodeReward. Changes are scheduled, bounded and wait each contract's delay; the
//! contracts enforce all three, this command names the parameters and their units.

use alloy_primitives::{Address, U256};
use clap::{Subcommand, ValueEnum};
// The four contracts share the parameter interface (`param`, `pendingParam`,
// `paramDelay`, `scheduleParam`, `cancelParam`, same selectors); NodePool's bindings
// encode it for all of them.
use cor_abi::NodePool as Params;
use cor_client::Suite;
use serde_json::json;

use crate::{
    amount::{format_cor, parse_cor},
    context::{tx_json, tx_line, Ctx, Output},
    error::{time, CliError},
};

/// A contract with parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Contract {
    /// NodePool: node stake and exit.
    NodePool,
    /// SessionPaymentTable: prices and splits.
    PaymentTable,
    /// StakeQuota: tiers, units, rate limit, cooldown.
    StakeQuota,
    /// NodeReward: emission, bounty, caps, level multipliers.
    NodeReward,
}

/// What a parameter's number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Cor,
    Seconds,
    Bps,
    Count,
}

impl Contract {
    fn all() -> [Contract; 4] {
        [
            Contract::NodePool,
            Contract::PaymentTable,
            Contract::StakeQuota,
            Contract::NodeReward,
        ]
    }

    fn name(self) -> &'static str {
        match self {
            Contract::NodePool => "NodePool",
            Contract::PaymentTable => "SessionPaymentTable",
            Contract::StakeQuota => "StakeQuota",
            Contract::NodeReward => "NodeReward",
        }
    }

    fn address(self, suite: &Suite) -> Address {
        match self {
            Contract::NodePool => suite.node_pool,
            Contract::PaymentTable => suite.table,
            Contract::StakeQuota => suite.quota,
            Contract::NodeReward => suite.reward,
        }
    }

    /// `(name, unit)` by id.
    fn params(self) -> &'static [(&'static str, Unit)] {
        use Unit::*;
        match self {
            Contract::NodePool => &[
                ("min_stake", Cor),
                ("unbonding_period", Seconds),
                ("max_models_per_node", Count),
            ],
            Contract::PaymentTable => &[
                ("base_price_light", Cor),
                ("base_price_medium", Cor),
                ("base_price_heavy", Cor),
                ("price_per_1k_tokens_light", Cor),
                ("price_per_1k_tokens_medium", Cor),
                ("price_per_1k_tokens_heavy", Cor),
                ("tier_priority_bps", Bps),
                ("tier_critical_bps", Bps),
                ("consensus_surcharge_similarity_bps", Bps),
                ("consensus_surcharge_median_bps", Bps),
                ("consensus_surcharge_weighted_bps", Bps),
                ("validator_level_price", Cor),
                ("execution_level_price", Cor),
                ("quota_rebate_bps", Bps),
                ("volume_tier1_tasks", Count),
                ("volume_tier1_rebate_bps", Bps),
                ("volume_tier2_tasks", Count),
                ("volume_tier2_rebate_bps", Bps),
                ("split_miners_bps", Bps),
                ("split_validators_bps", Bps),
            ],
            Contract::StakeQuota => &[
                ("tier1_stake", Cor),
                ("tier2_stake", Cor),
                ("tier3_stake", Cor),
                ("tier1_units", Count),
                ("tier2_units", Count),
                ("tier3_units", Count),
                ("max_free_units", Count),
                ("class_units_light", Count),
                ("class_units_medium", Count),
                ("class_units_heavy", Count),
                ("rate_limit_window", Seconds),
                ("rate_limit_max_tasks", Count),
                ("cooldown", Seconds),
            ],
            Contract::NodeReward => &[
                ("emission_per_epoch", Cor),
                ("finalize_bounty", Cor),
                ("node_epoch_cap", Count),
                ("level_base_bps", Bps),
                ("level_step_bps", Bps),
                ("non_live_bps", Bps),
            ],
        }
    }

    fn find(self, name: &str) -> Result<(u8, Unit), CliError> {
        self.params()
            .iter()
            .position(|(n, _)| *n == name)
            .map(|i| (i as u8, self.params()[i].1))
            .ok_or_else(|| {
                let names: Vec<&str> = self.params().iter().map(|(n, _)| *n).collect();
                CliError::Config(format!(
                    "{} has no parameter {name:?}: expected one of {}",
                    self.name(),
                    names.join(", ")
                ))
            })
    }
}

fn render(value: U256, unit: Unit) -> String {
    match unit {
        Unit::Cor => format!("{} COR", format_cor(value)),
        Unit::Seconds => format!("{value} s"),
        Unit::Bps => format!("{value} bps"),
        Unit::Count => value.to_string(),
    }
}

fn parse(text: &str, name: &str, unit: Unit) -> Result<U256, CliError> {
    match unit {
        Unit::Cor => parse_cor(text).map_err(|e| CliError::Config(format!("{name} = {e}"))),
        _ => U256::from_str_radix(text.trim(), 10).map_err(|_| {
            CliError::Config(format!(
                "{name} = {text:?}: expected a whole number ({})",
                match unit {
                    Unit::Seconds => "seconds",
                    Unit::Bps => "basis points, 10000 = 100 %",
                    _ => "a count",
                }
            ))
        }),
    }
}

/// `cor params` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ParamsCmd {
    /// Every parameter's value in effect and any scheduled change
    Show {
        /// Only this contract
        #[arg(value_enum)]
        contract: Option<Contract>,
    },
    /// Schedule a change (the contract's owner; takes effect after its delay, within its
    /// bounds and largest step)
    Set {
        /// The contract
        #[arg(value_enum)]
        contract: Contract,
        /// The parameter's name (see `cor params show`)
        name: String,
        /// The new value: COR (12.5) for prices and stakes, else a whole number
        value: String,
    },
    /// Cancel a scheduled change (the owner)
    Cancel {
        /// The contract
        #[arg(value_enum)]
        contract: Contract,
        /// The parameter's name
        name: String,
    },
}

/// Runs `cor params`.
pub(crate) async fn run(ctx: &Ctx, cmd: ParamsCmd) -> Result<Output, CliError> {
    match cmd {
        ParamsCmd::Show { contract } => {
            let chain = ctx.reading().await?;
            let contracts = match contract {
                Some(c) => vec![c],
                None => Contract::all().to_vec(),
            };
            let mut text = String::new();
            let mut out = serde_json::Map::new();
            for c in contracts {
                let at = c.address(&chain.suite);
                let delay = chain.conn.view(at, &Params::paramDelayCall {}).await?;
                text.push_str(&format!("{} {at} (changes wait {delay} s)\n", c.name()));
                let mut rows = Vec::new();
                for (id, (name, unit)) in c.params().iter().enumerate() {
                    let id = id as u8;
                    let value = chain.conn.view(at, &Params::paramCall { id }).await?;
                    let pending = chain
                        .conn
                        .view(at, &Params::pendingParamCall { id })
                        .await?;
                    text.push_str(&format!("  {name:<36} {}", render(value, *unit)));
                    if pending._1 > 0 {
                        text.push_str(&format!(
                            "  -> {} from {}",
                            render(pending._0, *unit),
                            time(pending._1)
                        ));
                    }
                    text.push('\n');
                    rows.push(json!({
                        "id": id, "name": name, "value": value.to_string(),
                        "pending": (pending._1 > 0).then(|| json!({
                            "value": pending._0.to_string(), "effective_at": pending._1})),
                    }));
                }
                out.insert(
                    c.name().to_owned(),
                    json!({"address": at, "delay": delay, "params": rows}),
                );
            }
            Ok(Output::new(text, serde_json::Value::Object(out)))
        }
        ParamsCmd::Set {
            contract,
            name,
            value,
        } => {
            let (id, unit) = contract.find(&name)?;
            let value = parse(&value, &name, unit)?;
            let chain = ctx.signing().await?;
            let at = contract.address(&chain.suite);
            let r = chain
                .send(at, &Params::scheduleParamCall { id, value })
                .await?;
            let pending = chain
                .conn
                .view(at, &Params::pendingParamCall { id })
                .await?;
            Ok(Output::new(
                format!(
                    "{}.{name} will be {} from {}\n{}",
                    contract.name(),
                    render(value, unit),
                    time(pending._1),
                    tx_line(&r)
                ),
                json!({"contract": contract.name(), "name": name, "id": id,
                       "value": value.to_string(), "effective_at": pending._1,
                       "tx": tx_json(&r)}),
            ))
        }
        ParamsCmd::Cancel { contract, name } => {
            let (id, _) = contract.find(&name)?;
            let chain = ctx.signing().await?;
            let r = chain
                .send(
                    contract.address(&chain.suite),
                    &Params::cancelParamCall { id },
                )
                .await?;
            Ok(Output::new(
                format!(
                    "cancelled the scheduled change of {}.{name}\n{}",
                    contract.name(),
                    tx_line(&r)
                ),
                json!({"contract": contract.name(), "name": name, "tx": tx_json(&r)}),
            ))
        }
    }
}
