//! `cor stake`, `cor unstake`: staking COR in StakeQuota for free quota.

use alloy_primitives::U256;
use clap::Args;
use cor_abi::StakeQuota;
use serde_json::json;

use crate::{
    amount::cor,
    cmd::amount,
    context::{tx_json, tx_line, Ctx, Output},
    error::{time, CliError},
};

/// `cor stake` flags.
#[derive(Debug, Args)]
pub(crate) struct StakeArgs {
    /// Whole or decimal COR to stake (approves StakeQuota first when needed)
    #[arg(value_parser = amount)]
    amount: U256,
}

/// `cor unstake` flags.
#[derive(Debug, Args)]
pub(crate) struct UnstakeArgs {
    /// Whole or decimal COR to start unstaking (stops counting for quota at once)
    #[arg(value_parser = amount, required_unless_present = "withdraw")]
    amount: Option<U256>,
    /// Withdraw the unstaking balance whose cooldown is over, instead
    #[arg(long, conflicts_with = "amount")]
    withdraw: bool,
}

/// Runs `cor stake`.
pub(crate) async fn stake(ctx: &Ctx, args: StakeArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let approval = chain
        .ensure_allowance(chain.suite.quota, args.amount)
        .await?;
    let r = chain
        .send(
            chain.suite.quota,
            &StakeQuota::stakeCall {
                amount: args.amount,
            },
        )
        .await?;
    let s = chain
        .conn
        .view(
            chain.suite.quota,
            &StakeQuota::stakeOfCall {
                user: chain.conn.address(),
            },
        )
        .await?;
    Ok(Output::new(
        format!(
            "staked {}: {} in all, counting for quota from the next period\n{}",
            cor(args.amount),
            cor(s._0),
            tx_line(&r)
        ),
        json!({
            "staked": args.amount.to_string(),
            "total": s._0.to_string(),
            "approval": approval.as_ref().map(tx_json),
            "tx": tx_json(&r),
        }),
    ))
}

/// Runs `cor unstake`.
pub(crate) async fn unstake(ctx: &Ctx, args: UnstakeArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let user = chain.conn.address();
    if args.withdraw {
        let before = chain
            .conn
            .view(chain.suite.quota, &StakeQuota::stakeOfCall { user })
            .await?;
        let r = chain
            .send(chain.suite.quota, &StakeQuota::withdrawUnstakedCall {})
            .await?;
        return Ok(Output::new(
            format!("withdrew {} unstaked\n{}", cor(before._2), tx_line(&r)),
            json!({"withdrawn": before._2.to_string(), "tx": tx_json(&r)}),
        ));
    }
    let amount = args.amount.unwrap_or_default();
    let r = chain
        .send(
            chain.suite.quota,
            &StakeQuota::requestUnstakeCall { amount },
        )
        .await?;
    let s = chain
        .conn
        .view(chain.suite.quota, &StakeQuota::stakeOfCall { user })
        .await?;
    Ok(Output::new(
        format!(
            "unstaking {} (in all {}); withdraw with `cor unstake --withdraw` from {}\n{}",
            cor(amount),
            cor(s._2),
            time(s._3),
            tx_line(&r)
        ),
        json!({
            "unstaking": s._2.to_string(),
            "unlock_at": s._3,
            "tx": tx_json(&r),
        }),
    ))
}
