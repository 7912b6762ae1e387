//! `cor epoch`: the reward epochs of NodeReward: where the clock is, what an epoch holds,
//! and closing the next one (permissionless; the caller earns the bounty).

use alloy_primitives::Address;
use clap::Subcommand;
use cor_abi::NodeReward;
use serde_json::json;

use crate::{
    amount::cor,
    context::{events, tx_json, tx_line, Ctx, Output},
    error::{time, CliError},
};

/// `cor epoch` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum EpochCmd {
    /// The clock, the reward pool, and one epoch's points and rewards
    Status {
        /// The epoch to describe [default: the current one]
        epoch: Option<u64>,
        /// Also show this node's points and claim in that epoch [default: the wallet]
        #[arg(long)]
        node: Option<Address>,
    },
    /// Close an ended epoch and set its reward per point (anyone; earns the bounty)
    Finalize {
        /// The epoch [default: the next one to finalize]
        epoch: Option<u64>,
    },
}

/// Runs `cor epoch`.
pub(crate) async fn run(ctx: &Ctx, cmd: EpochCmd) -> Result<Output, CliError> {
    match cmd {
        EpochCmd::Status { epoch, node } => {
            let chain = ctx.reading().await?;
            let reward = chain.suite.reward;
            let current = chain
                .conn
                .view(reward, &NodeReward::currentEpochCall {})
                .await?;
            let clock = chain
                .conn
                .view(reward, &NodeReward::epochClockCall {})
                .await?;
            let next = chain
                .conn
                .view(reward, &NodeReward::nextEpochToFinalizeCall {})
                .await?;
            let accounts = chain
                .conn
                .view(reward, &NodeReward::accountsCall {})
                .await?;
            let e = epoch.unwrap_or(current);
            let info = chain
                .conn
                .view(reward, &NodeReward::epochInfoCall { epoch: e })
                .await?;
            let start = clock._0 + e * clock._1;
            let mut text = format!(
                "current epoch {current} (epochs of {} s from {}); next to finalize: {next}\n\
                 pool {}, unclaimed {}, carried {}\n\
                 epoch {e}: {} to {}, {}\n  {} points{}\n",
                clock._1,
                time(clock._0),
                cor(accounts._0),
                cor(accounts._1),
                cor(accounts._2),
                time(start),
                time(start + clock._1),
                if info._3 { "finalized" } else { "open" },
                info._0,
                if info._3 {
                    format!(", emission {}, {} wei per point", cor(info._1), info._2)
                } else {
                    String::new()
                }
            );
            let mut node_json = serde_json::Value::Null;
            let who = node.or(ctx.has_wallet().then(|| chain.conn.address()));
            if let Some(who) = who {
                let points = chain
                    .conn
                    .view(
                        reward,
                        &NodeReward::pointsOfCall {
                            node: who,
                            epoch: e,
                        },
                    )
                    .await?;
                let claim = chain
                    .conn
                    .view(
                        reward,
                        &NodeReward::claimableCall {
                            node: who,
                            epoch: e,
                        },
                    )
                    .await?;
                text.push_str(&format!(
                    "  {who}: {points} points, claimable {}{}{}\n",
                    cor(claim._0),
                    if claim._1 { "" } else { " (not live)" },
                    if claim._2 { ", claimed" } else { "" }
                ));
                node_json = json!({"node": who, "points": points.to_string(),
                    "claimable": claim._0.to_string(), "live": claim._1, "claimed": claim._2});
            }
            Ok(Output::new(
                text,
                json!({
                    "current_epoch": current,
                    "genesis": clock._0,
                    "length": clock._1,
                    "next_to_finalize": next,
                    "pool": accounts._0.to_string(),
                    "unclaimed": accounts._1.to_string(),
                    "carried": accounts._2.to_string(),
                    "epoch": {
                        "epoch": e, "starts": start, "ends": start + clock._1,
                        "total_points": info._0.to_string(), "emission": info._1.to_string(),
                        "reward_per_point": info._2.to_string(), "finalized": info._3,
                    },
                    "node": node_json,
                }),
            ))
        }
        EpochCmd::Finalize { epoch } => {
            let chain = ctx.signing().await?;
            let reward = chain.suite.reward;
            let e = match epoch {
                Some(e) => e,
                None => {
                    chain
                        .conn
                        .view(reward, &NodeReward::nextEpochToFinalizeCall {})
                        .await?
                }
            };
            let r = chain
                .send(reward, &NodeReward::finalizeEpochCall { epoch: e })
                .await?;
            let text;
            let json;
            match events::<NodeReward::EpochFinalized>(&r).pop() {
                Some(f) => {
                    text = format!(
                        "epoch {e} finalized: {} points, emission {}, bounty {} to the caller\n{}",
                        f.totalPoints,
                        cor(f.emission),
                        cor(f.bounty),
                        tx_line(&r)
                    );
                    json = json!({"epoch": e, "total_points": f.totalPoints.to_string(),
                        "emission": f.emission.to_string(),
                        "reward_per_point": f.rewardPerPoint.to_string(),
                        "bounty": f.bounty.to_string(), "tx": tx_json(&r)});
                }
                None => {
                    text = format!(
                        "epoch {e} was already finalized; nothing changed\n{}",
                        tx_line(&r)
                    );
                    json = json!({"epoch": e, "already": true, "tx": tx_json(&r)});
                }
            }
            Ok(Output::new(text, json))
        }
    }
}
