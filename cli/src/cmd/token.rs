//! `cor token`: the COR ERC-20.

use alloy_primitives::{Address, U256};
use clap::Subcommand;
use cor_abi::CorToken;
use serde_json::json;

use crate::{
    amount::cor,
    cmd::amount,
    context::{tx_json, tx_line, Ctx, Output},
    error::CliError,
};

/// `cor token` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCmd {
    /// COR held by ADDRESS (default: the wallet), and the supply
    Balance {
        /// The account
        address: Option<Address>,
    },
    /// Mint AMOUNT COR to TO (the token's owner only; up to the cap)
    Mint {
        /// The receiver
        to: Address,
        /// Whole or decimal COR, e.g. 12.5
        #[arg(value_parser = amount)]
        amount: U256,
    },
    /// Send AMOUNT COR to TO
    Transfer {
        /// The receiver
        to: Address,
        /// Whole or decimal COR
        #[arg(value_parser = amount)]
        amount: U256,
    },
    /// Let SPENDER pull up to AMOUNT of your COR
    Approve {
        /// The spender (a contract address)
        spender: Address,
        /// Whole or decimal COR
        #[arg(value_parser = amount)]
        amount: U256,
    },
}

/// Runs `cor token`.
pub(crate) async fn run(ctx: &Ctx, cmd: TokenCmd) -> Result<Output, CliError> {
    match cmd {
        TokenCmd::Balance { address } => {
            let chain = ctx.reading().await?;
            let who = chain.who(address, ctx.has_wallet())?;
            let token = chain.suite.token;
            let balance = chain
                .conn
                .view(token, &CorToken::balanceOfCall { account: who })
                .await?;
            let supply = chain
                .conn
                .view(token, &CorToken::totalSupplyCall {})
                .await?;
            let cap = chain.conn.view(token, &CorToken::capCall {}).await?;
            Ok(Output::new(
                format!(
                    "{who} holds {}\nsupply {} of a cap of {}",
                    cor(balance),
                    cor(supply),
                    cor(cap)
                ),
                json!({"address": who, "balance": balance.to_string(),
                       "total_supply": supply.to_string(), "cap": cap.to_string()}),
            ))
        }
        TokenCmd::Mint { to, amount } => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(chain.suite.token, &CorToken::mintCall { to, value: amount })
                .await?;
            Ok(Output::new(
                format!("minted {} to {to}\n{}", cor(amount), tx_line(&r)),
                json!({"minted": amount.to_string(), "to": to, "tx": tx_json(&r)}),
            ))
        }
        TokenCmd::Transfer { to, amount } => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(
                    chain.suite.token,
                    &CorToken::transferCall { to, value: amount },
                )
                .await?;
            Ok(Output::new(
                format!("sent {} to {to}\n{}", cor(amount), tx_line(&r)),
                json!({"sent": amount.to_string(), "to": to, "tx": tx_json(&r)}),
            ))
        }
        TokenCmd::Approve { spender, amount } => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(
                    chain.suite.token,
                    &CorToken::approveCall {
                        spender,
                        value: amount,
                    },
                )
                .await?;
            Ok(Output::new(
                format!("{spender} may spend {}\n{}", cor(amount), tx_line(&r)),
                json!({"spender": spender, "allowance": amount.to_string(), "tx": tx_json(&r)}),
            ))
        }
    }
}
