//! `cor deposit`, `cor withdraw`, `cor balance`: the user's escrow in SessionPayment.

use alloy_primitives::{Address, U256};
use clap::Args;
use cor_abi::{CorToken, SessionPayment, StakeQuota};
use serde_json::json;

use crate::{
    amount::cor,
    cmd::amount,
    context::{tx_json, tx_line, Ctx, Output},
    error::CliError,
};

/// `cor deposit` flags.
#[derive(Debug, Args)]
pub(crate) struct DepositArgs {
    /// Whole or decimal COR, e.g. 12.5
    #[arg(value_parser = amount)]
    amount: U256,
}

/// `cor withdraw` flags.
#[derive(Debug, Args)]
pub(crate) struct WithdrawArgs {
    /// Whole or decimal COR
    #[arg(value_parser = amount)]
    amount: U256,
}

/// `cor balance` flags.
#[derive(Debug, Args)]
pub(crate) struct BalanceArgs {
    /// The account (default: the wallet)
    address: Option<Address>,
}

/// Runs `cor deposit`.
pub(crate) async fn deposit(ctx: &Ctx, args: DepositArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let approval = chain
        .ensure_allowance(chain.suite.payment, args.amount)
        .await?;
    let r = chain
        .send(
            chain.suite.payment,
            &SessionPayment::depositCall {
                amount: args.amount,
            },
        )
        .await?;
    let (available, locked) =
        escrow(&chain.conn, chain.suite.payment, chain.conn.address()).await?;
    let mut text = String::new();
    if let Some(a) = &approval {
        text.push_str(&format!("approved SessionPayment: {}\n", tx_line(a)));
    }
    text.push_str(&format!(
        "deposited {}; escrow now {} available, {} locked\n{}",
        cor(args.amount),
        cor(available),
        cor(locked),
        tx_line(&r)
    ));
    Ok(Output::new(
        text,
        json!({
            "deposited": args.amount.to_string(),
            "available": available.to_string(),
            "locked": locked.to_string(),
            "approval": approval.as_ref().map(tx_json),
            "tx": tx_json(&r),
        }),
    ))
}

/// Runs `cor withdraw`.
pub(crate) async fn withdraw(ctx: &Ctx, args: WithdrawArgs) -> Result<Output, CliError> {
    let chain = ctx.signing().await?;
    let (available, _) = escrow(&chain.conn, chain.suite.payment, chain.conn.address()).await?;
    if available < args.amount {
        return Err(CliError::Failed(format!(
            "only {} of the escrow is available (not locked by a task), {} asked for",
            cor(available),
            cor(args.amount)
        )));
    }
    let r = chain
        .send(
            chain.suite.payment,
            &SessionPayment::withdrawCall {
                amount: args.amount,
            },
        )
        .await?;
    Ok(Output::new(
        format!("withdrew {}\n{}", cor(args.amount), tx_line(&r)),
        json!({"withdrawn": args.amount.to_string(), "tx": tx_json(&r)}),
    ))
}

async fn escrow(
    conn: &cor_client::Connection,
    payment: Address,
    account: Address,
) -> Result<(U256, U256), CliError> {
    let e = conn
        .view(payment, &SessionPayment::escrowOfCall { account })
        .await?;
    Ok((e._0, e._1))
}

/// Runs `cor balance`.
pub(crate) async fn balance(ctx: &Ctx, args: BalanceArgs) -> Result<Output, CliError> {
    let chain = ctx.reading().await?;
    let who = chain.who(args.address, ctx.has_wallet())?;
    let s = chain.suite;
    let wallet = chain
        .conn
        .view(s.token, &CorToken::balanceOfCall { account: who })
        .await?;
    let (available, locked) = escrow(&chain.conn, s.payment, who).await?;
    let claimable = chain
        .conn
        .view(s.payment, &SessionPayment::claimableCall { account: who })
        .await?;
    let stake = chain
        .conn
        .view(s.quota, &StakeQuota::stakeOfCall { user: who })
        .await?;
    let text = format!(
        "{who}\n  wallet     {}\n  escrow     {} available, {} locked\n  claimable  {} (task \
         payments)\n  staked     {} ({} counting this period, {} unstaking)",
        cor(wallet),
        cor(available),
        cor(locked),
        cor(claimable),
        cor(stake._0),
        cor(stake._1),
        cor(stake._2),
    );
    Ok(Output::new(
        text,
        json!({
            "address": who,
            "wallet": wallet.to_string(),
            "escrow_available": available.to_string(),
            "escrow_locked": locked.to_string(),
            "claimable": claimable.to_string(),
            "staked": stake._0.to_string(),
            "stake_counted": stake._1.to_string(),
            "unstaking": stake._2.to_string(),
            "unstake_unlock_at": stake._3,
        }),
    ))
}
