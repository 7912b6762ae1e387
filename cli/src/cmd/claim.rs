//! `cor claim`: a node's (or the treasury's) pull payments from SessionPayment and its
//! epoch rewards from NodeReward.

use alloy_primitives::U256;
use clap::Args;
use cor_abi::{NodeReward, SessionPayment};
use serde_json::json;

use crate::{
    amount::cor,
    context::{events, tx_json, tx_line, Ctx, Output},
    error::CliError,
};

/// `cor claim` flags.
#[derive(Debug, Args)]
pub(crate) struct ClaimArgs {
    /// Claim rewards for exactly these epochs (comma-separated), and no task payments
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "EPOCHS",
        conflicts_with = "payments"
    )]
    epochs: Vec<u64>,
    /// Claim task payments only
    #[arg(long)]
    payments: bool,
    /// Without --epochs: how many of the latest finalized epochs to look through for
    /// unclaimed rewards
    #[arg(long, default_value_t = 64, value_name = "N")]
    scan: u64,
}

/// Runs `cor claim`.
pub(crate) async fn run(ctx: &Ctx, a: ClaimArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let me = chain.conn.address();
    let mut text = String::new();
    let mut payments_json = serde_json::Value::Null;
    let mut rewards_json = serde_json::Value::Null;

    if a.epochs.is_empty() {
        let due = chain
            .conn
            .view(
                chain.suite.payment,
                &SessionPayment::claimableCall { account: me },
            )
            .await?;
        if due > U256::ZERO {
            let r = chain
                .send(chain.suite.payment, &SessionPayment::claimCall {})
                .await?;
            let paid = events::<SessionPayment::Claimed>(&r)
                .first()
                .map(|e| e.amount)
                .unwrap_or(due);
            text.push_str(&format!(
                "claimed {} of task payments\n{}\n",
                cor(paid),
                tx_line(&r)
            ));
            payments_json = json!({"amount": paid.to_string(), "tx": tx_json(&r)});
        } else {
            text.push_str("no task payments to claim\n");
        }
    }

    if !a.payments {
        let epochs = if a.epochs.is_empty() {
            let next = chain
                .conn
                .view(chain.suite.reward, &NodeReward::nextEpochToFinalizeCall {})
                .await?;
            let mut due = Vec::new();
            for epoch in next.saturating_sub(a.scan)..next {
                let c = chain
                    .conn
                    .view(
                        chain.suite.reward,
                        &NodeReward::claimableCall { node: me, epoch },
                    )
                    .await?;
                if c._0 > U256::ZERO && !c._2 {
                    due.push(epoch);
                }
            }
            due
        } else {
            a.epochs.clone()
        };
        if epochs.is_empty() {
            text.push_str("no epoch rewards to claim\n");
        } else {
            let r = chain
                .send(
                    chain.suite.reward,
                    &NodeReward::claimCall {
                        epochs: epochs.clone(),
                    },
                )
                .await?;
            let claimed = events::<NodeReward::Claimed>(&r);
            let total: U256 = claimed.iter().map(|c| c.amount).sum();
            text.push_str(&format!(
                "claimed {} of rewards for epochs {epochs:?}\n",
                cor(total)
            ));
            for c in &claimed {
                text.push_str(&format!(
                    "  epoch {}: {}{}\n",
                    c.epoch,
                    cor(c.amount),
                    if c.live {
                        String::new()
                    } else {
                        format!(" (not live: {} returned to the pool)", cor(c.returned))
                    }
                ));
            }
            text.push_str(&tx_line(&r));
            rewards_json = json!({
                "total": total.to_string(),
                "epochs": claimed.iter().map(|c| json!({
                    "epoch": c.epoch, "amount": c.amount.to_string(), "live": c.live,
                    "returned": c.returned.to_string()})).collect::<Vec<_>>(),
                "tx": tx_json(&r),
            });
        }
    }
    Ok(Output::new(
        text,
        json!({"account": me, "payments": payments_json, "rewards": rewards_json}),
    ))
}
