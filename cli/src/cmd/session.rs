//! `cor session`: open a session (the settings every task in it shares) and read one.

use alloy_primitives::B256;
use clap::{Args, Subcommand};
use cor_abi::SessionQueue;
use serde_json::json;

use crate::{
    cmd::{class_name, consensus_name, mode_name, tier_name, Consensus, PayMode, Tier},
    context::{events, tx_json, tx_line, Ctx, Output},
    error::CliError,
};

/// `cor session` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SessionCmd {
    /// Open a session; prints its id
    Create(CreateArgs),
    /// A session's settings
    Show {
        /// Session id
        id: u64,
    },
}

/// `cor session create` flags.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Model id (enabled in NodePool)
    #[arg(long, value_name = "ID")]
    model: u32,
    /// Redundancy: how many miners answer each task (1-7)
    #[arg(long, short, default_value_t = 3)]
    n: u8,
    /// Consensus method
    #[arg(long, value_enum, default_value = "exact")]
    consensus: Consensus,
    /// Agreement threshold, basis points of N (6000 with N = 3: 2 of 3)
    #[arg(long, default_value_t = 6_000, value_name = "BPS")]
    threshold: u16,
    /// Hamming radius in bits (similarity) or score distance (median)
    #[arg(long, default_value_t = 0)]
    tolerance: u64,
    /// SLA tier
    #[arg(long, value_enum, default_value = "standard")]
    tier: Tier,
    /// Validator depth (0-3)
    #[arg(long, default_value_t = 0)]
    validator_depth: u8,
    /// Execution (tool) depth (0-3)
    #[arg(long, default_value_t = 0)]
    execution_depth: u8,
    /// How tasks are paid
    #[arg(long, value_enum, default_value = "escrow")]
    pay: PayMode,
    /// Route hint (opaque to the contracts; recorded with each payment)
    #[arg(long, default_value_t = 0)]
    route: u32,
    /// Seconds miners have to commit
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    commit_window: u64,
    /// Seconds miners have to reveal once reveals open
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    reveal_window: u64,
}

/// A session's packed settings (the layout of `cor_contract_common::task_meta`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) class: u8,
    pub(crate) tier: u8,
    pub(crate) n: u8,
    pub(crate) consensus: u8,
    pub(crate) threshold_bps: u16,
    pub(crate) validator_depth: u8,
    pub(crate) execution_depth: u8,
    pub(crate) route: u32,
}

impl Meta {
    /// Unpacks the word (byte 0 most significant).
    pub(crate) fn unpack(word: B256) -> Self {
        let w = word.0;
        Self {
            class: w[0],
            tier: w[1],
            n: w[2],
            consensus: w[3],
            threshold_bps: u16::from_be_bytes([w[4], w[5]]),
            validator_depth: w[6],
            execution_depth: w[7],
            route: u32::from_be_bytes([w[8], w[9], w[10], w[11]]),
        }
    }

    /// In words.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} class, N = {}, {} consensus, threshold {} bps, {} tier, validator depth {}, \
             execution depth {}, route {}",
            class_name(self.class),
            self.n,
            consensus_name(self.consensus),
            self.threshold_bps,
            tier_name(self.tier),
            self.validator_depth,
            self.execution_depth,
            self.route
        )
    }

    /// As JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        json!({
            "model_class": self.class, "sla_tier": self.tier, "redundancy": self.n,
            "consensus": self.consensus, "threshold_bps": self.threshold_bps,
            "validator_depth": self.validator_depth, "execution_depth": self.execution_depth,
            "route_hint": self.route,
        })
    }
}

/// Runs `cor session`.
pub(crate) async fn run(ctx: &Ctx, cmd: SessionCmd) -> Result<Output, CliError> {
    match cmd {
        SessionCmd::Create(a) => {
            let chain = ctx.signing().await?;
            let r = chain
                .send(
                    chain.suite.session_queue,
                    &SessionQueue::createSessionCall {
                        modelId: a.model,
                        redundancy: a.n,
                        consensus: a.consensus as u8,
                        thresholdBps: a.threshold,
                        tolerance: a.tolerance,
                        slaTier: a.tier as u8,
                        validatorDepth: a.validator_depth,
                        executionDepth: a.execution_depth,
                        paymentMode: a.pay as u8,
                        routeHint: a.route,
                        commitWindow: a.commit_window,
                        revealWindow: a.reveal_window,
                    },
                )
                .await?;
            let id = events::<SessionQueue::SessionCreated>(&r)
                .first()
                .map(|e| e.sessionId)
                .ok_or_else(|| {
                    CliError::Failed("the transaction logged no SessionCreated".to_owned())
                })?;
            Ok(Output::new(
                format!(
                    "session {id} created for model {}: N = {}, {} consensus, paid from {}\n{}",
                    a.model,
                    a.n,
                    consensus_name(a.consensus as u8),
                    mode_name(a.pay as u8),
                    tx_line(&r)
                ),
                json!({"session": id, "tx": tx_json(&r)}),
            ))
        }
        SessionCmd::Show { id } => {
            let chain = ctx.reading().await?;
            let s = chain
                .conn
                .view(
                    chain.suite.session_queue,
                    &SessionQueue::sessionCall { sessionId: id },
                )
                .await?;
            let meta = Meta::unpack(s._6);
            Ok(Output::new(
                format!(
                    "session {id}: owner {}, model {}, paid from {}\n  {}\n  tolerance {}, \
                     commit window {} s, reveal window {} s",
                    s._0,
                    s._1,
                    mode_name(s._2),
                    meta.describe(),
                    s._3,
                    s._4,
                    s._5
                ),
                json!({
                    "session": id, "owner": s._0, "model": s._1, "payment_mode": s._2,
                    "tolerance": s._3, "commit_window": s._4, "reveal_window": s._5,
                    "settings": meta.json(),
                }),
            ))
        }
    }
}
