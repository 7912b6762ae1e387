//! `cor quota`: the free units a stake gives this period, and the overage opt-in.

use alloy_primitives::{Address, U256};
use clap::Subcommand;
use cor_abi::StakeQuota;
use serde_json::json;

use crate::{
    amount::cor,
    cmd::{amount, class_name, Class},
    context::{tx_json, tx_line, Ctx, Output},
    error::{time, CliError},
};

/// `cor quota` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum QuotaCmd {
    /// Units left this period per bucket (model class x N), tier and period end
    Show {
        /// The account (default: the wallet)
        address: Option<Address>,
        /// Only this model class
        #[arg(long, value_enum)]
        class: Option<Class>,
        /// Only this redundancy N (1-7)
        #[arg(long, short)]
        n: Option<u8>,
    },
    /// Opt in to (or out of) paying overage from your stake when the quota runs out
    AutoDeduct {
        /// Opt out instead
        #[arg(long)]
        disable: bool,
        /// Most COR taken from the stake per period
        #[arg(long, value_parser = amount, required_unless_present = "disable")]
        max: Option<U256>,
    },
}

/// Runs `cor quota`.
pub(crate) async fn run(ctx: &Ctx, cmd: QuotaCmd) -> Result<Output, CliError> {
    match cmd {
        QuotaCmd::Show { address, class, n } => {
            let chain = ctx.reading().await?;
            let user = chain.who(address, ctx.has_wallet())?;
            let q = chain.suite.quota;
            let tier = chain.conn.view(q, &StakeQuota::tierOfCall { user }).await?;
            let period = chain
                .conn
                .view(q, &StakeQuota::currentPeriodCall {})
                .await?;
            let auto = chain
                .conn
                .view(q, &StakeQuota::autoDeductCall { user })
                .await?;
            let classes: Vec<u8> = match class {
                Some(c) => vec![c as u8],
                None => vec![0, 1, 2],
            };
            let ns: Vec<u8> = match n {
                Some(n) => vec![n],
                None => (1..=7).collect(),
            };
            let mut text = format!(
                "{user}: tier {} ({} free units per bucket), period {} ends {}\n",
                tier._0,
                tier._1,
                period._0,
                time(period._2)
            );
            text.push_str(&format!(
                "overage from stake: {}\n",
                if auto._0 {
                    format!(
                        "on, up to {} per period ({} charged this period)",
                        cor(auto._1),
                        cor(auto._2)
                    )
                } else {
                    "off".to_owned()
                }
            ));
            text.push_str("units left / allowance:\n");
            let mut buckets = Vec::new();
            for c in classes {
                text.push_str(&format!("  {:<7}", class_name(c)));
                for n in &ns {
                    let b = chain
                        .conn
                        .view(
                            q,
                            &StakeQuota::quotaCall {
                                user,
                                modelClass: c,
                                redundancy: *n,
                            },
                        )
                        .await?;
                    text.push_str(&format!("  x{n}: {}/{}", b._2, b._0));
                    buckets.push(json!({
                        "model_class": c, "redundancy": n,
                        "allowance": b._0.to_string(), "used": b._1.to_string(),
                        "left": b._2.to_string(),
                    }));
                }
                text.push('\n');
            }
            Ok(Output::new(
                text,
                json!({
                    "address": user,
                    "tier": tier._0,
                    "tier_units": tier._1.to_string(),
                    "period": period._0,
                    "period_ends": period._2,
                    "auto_deduct": {"enabled": auto._0, "max_per_period": auto._1.to_string(),
                                    "charged": auto._2.to_string()},
                    "buckets": buckets,
                }),
            ))
        }
        QuotaCmd::AutoDeduct { disable, max } => {
            let chain = ctx.signing().await?;
            let max = max.unwrap_or_default();
            let r = chain
                .send(
                    chain.suite.quota,
                    &StakeQuota::setAutoDeductCall {
                        enabled: !disable,
                        maxPerPeriod: max,
                    },
                )
                .await?;
            let text = if disable {
                format!("overage from stake: off\n{}", tx_line(&r))
            } else {
                format!(
                    "overage from stake: on, up to {} per period\n{}",
                    cor(max),
                    tx_line(&r)
                )
            };
            Ok(Output::new(
                text,
                json!({"enabled": !disable, "max_per_period": max.to_string(), "tx": tx_json(&r)}),
            ))
        }
    }
}
