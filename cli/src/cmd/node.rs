//! `cor node`: a miner node's stake, models, liveness and exit, by hand (the miner
//! daemon does the same calls).

use alloy_primitives::{keccak256, Address, B256, U256};
use clap::Subcommand;
use cor_abi::{NodePool, NodeReputation};
use serde_json::json;

use crate::{
    amount::cor,
    cmd::amount,
    context::{tx_json, tx_line, Chain, Ctx, Output},
    error::{node_status, time, CliError},
};

/// `cor node` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum NodeCmd {
    /// Register the wallet as a node serving MODELS; stakes the minimum stake (approving
    /// NodePool first when needed)
    Register {
        /// Model ids, comma-separated (e.g. 1,2)
        #[arg(long, value_delimiter = ',', required = true)]
        models: Vec<u32>,
        /// Metadata word: 32 bytes hex, or any text (its keccak-256 is stored)
        #[arg(long, default_value = "")]
        metadata: String,
    },
    /// Replace the models the node serves
    Models {
        /// Model ids, comma-separated
        #[arg(value_delimiter = ',', required = true)]
        models: Vec<u32>,
    },
    /// A node's status, stake, models, liveness and reputation
    Show {
        /// The node (default: the wallet)
        address: Option<Address>,
    },
    /// Mark the node live for the current epoch (once per epoch)
    Heartbeat,
    /// Add stake
    TopUp {
        /// Whole or decimal COR
        #[arg(value_parser = amount)]
        amount: U256,
    },
    /// Leave: stop being assigned and start the unbonding period
    Exit,
    /// Take the stake back once unbonding is over
    Withdraw,
}

fn metadata_word(text: &str) -> B256 {
    text.parse::<B256>()
        .unwrap_or_else(|_| keccak256(text.as_bytes()))
}

/// Runs `cor node`.
pub(crate) async fn run(ctx: &Ctx, cmd: NodeCmd) -> Result<Output, CliError> {
    match cmd {
        NodeCmd::Register { models, metadata } => {
            let chain = ctx.signing().await?;
            let pool = chain.suite.node_pool;
            // Checked before the approval, which would otherwise be sent for nothing.
            let current = node(&chain, chain.conn.address()).await?;
            if matches!(current._0, 1 | 2) {
                return Err(CliError::Failed(format!(
                    "{} is already registered as a node ({})",
                    chain.conn.address(),
                    node_status(current._0)
                )));
            }
            let min_stake = chain
                .conn
                .view(pool, &NodePool::paramCall { id: 0 })
                .await?;
            let approval = chain.ensure_allowance(pool, min_stake).await?;
            let r = chain
                .send(
                    pool,
                    &NodePool::registerCall {
                        models: models.clone(),
                        metadata: metadata_word(&metadata),
                    },
                )
                .await?;
            Ok(Output::new(
                format!(
                    "registered {} with {} staked, serving models {:?}\n{}",
                    chain.conn.address(),
                    cor(min_stake),
                    models,
                    tx_line(&r)
                ),
                json!({
                    "node": chain.conn.address(),
                    "stake": min_stake.to_string(),
                    "models": models,
                    "approval": approval.as_ref().map(tx_json),
                    "tx": tx_json(&r),
                }),
            ))
        }
        NodeCmd::Models { models } => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(
                    chain.suite.node_pool,
                    &NodePool::setModelsCall {
                        models: models.clone(),
                    },
                )
                .await?;
            Ok(Output::new(
                format!("now serving models {models:?}\n{}", tx_line(&r)),
                json!({"models": models, "tx": tx_json(&r)}),
            ))
        }
        NodeCmd::Show { address } => show(ctx, address).await,
        NodeCmd::Heartbeat => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(chain.suite.node_pool, &NodePool::heartbeatCall {})
                .await?;
            let epoch = chain
                .conn
                .view(chain.suite.node_pool, &NodePool::epochCall {})
                .await?;
            Ok(Output::new(
                format!("live in epoch {}\n{}", epoch._0, tx_line(&r)),
                json!({"epoch": epoch._0, "tx": tx_json(&r)}),
            ))
        }
        NodeCmd::TopUp { amount } => {
            let chain = ctx.signing().await?;
            let approval = chain
                .ensure_allowance(chain.suite.node_pool, amount)
                .await?;
            let r = chain
                .send(chain.suite.node_pool, &NodePool::topUpCall { amount })
                .await?;
            Ok(Output::new(
                format!("added {} of stake\n{}", cor(amount), tx_line(&r)),
                json!({"added": amount.to_string(), "approval": approval.as_ref().map(tx_json),
                       "tx": tx_json(&r)}),
            ))
        }
        NodeCmd::Exit => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(chain.suite.node_pool, &NodePool::requestExitCall {})
                .await?;
            let n = node(&chain, chain.conn.address()).await?;
            Ok(Output::new(
                format!(
                    "exiting: no new tasks; withdraw the stake with `cor node withdraw` from {}\n{}",
                    time(n._4),
                    tx_line(&r)
                ),
                json!({"unlock_at": n._4, "tx": tx_json(&r)}),
            ))
        }
        NodeCmd::Withdraw => {
            let chain = ctx.signing().await?;
            let before = node(&chain, chain.conn.address()).await?;
            let r = chain
                .send(chain.suite.node_pool, &NodePool::withdrawCall {})
                .await?;
            Ok(Output::new(
                format!("withdrew {} of stake\n{}", cor(before._1), tx_line(&r)),
                json!({"withdrawn": before._1.to_string(), "tx": tx_json(&r)}),
            ))
        }
    }
}

async fn node(chain: &Chain, who: Address) -> Result<NodePool::nodeReturn, CliError> {
    Ok(chain
        .conn
        .view(chain.suite.node_pool, &NodePool::nodeCall { node: who })
        .await?)
}

async fn show(ctx: &Ctx, address: Option<Address>) -> Result<Output, CliError> {
    let chain = ctx.reading().await?;
    let who = chain.who(address, ctx.has_wallet())?;
    let n = node(&chain, who).await?;
    let models = chain
        .conn
        .view(
            chain.suite.node_pool,
            &NodePool::nodeModelsCall { node: who },
        )
        .await?;
    let rep = chain
        .conn
        .view(
            chain.suite.reputation,
            &NodeReputation::reputationCall { node: who },
        )
        .await?;
    let mut text = format!(
        "node {who}: {}{}\n  stake {}, models {models:?}\n  live in {} epochs (last: {})\n",
        node_status(n._0),
        if n._7 { ", JAILED" } else { "" },
        cor(n._1),
        n._6,
        n._5
    );
    if n._0 == 2 {
        text.push_str(&format!("  unbonding until {}\n", time(n._4)));
    }
    text.push_str(&format!(
        "  reputation: level {}, {} tasks ({} agreed, {} disagreed, {} missed), agreement \
         {}.{:02} %, streak {}",
        rep._9,
        rep._0,
        rep._3,
        rep._4,
        rep._5,
        rep._6 / 100,
        rep._6 % 100,
        rep._7
    ));
    Ok(Output::new(
        text,
        json!({
            "node": who,
            "status": node_status(n._0),
            "stake": n._1.to_string(),
            "models": models,
            "registered_at": n._3,
            "unlock_at": n._4,
            "last_live_epoch": n._5,
            "live_epochs": n._6,
            "jailed": n._7,
            "metadata": n._8,
            "reputation": {
                "level": rep._9, "assigned": rep._0, "committed": rep._1, "revealed": rep._2,
                "agreed": rep._3, "disagreed": rep._4, "missed": rep._5, "ewma_bps": rep._6,
                "streak": rep._7, "last_active": rep._8,
            },
        }),
    ))
}
