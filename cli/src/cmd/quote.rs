//! `cor quote`: what a task costs, from SessionPaymentTable's `quote` view.

use clap::Args;
use cor_abi::{NodePool, SessionPaymentTable, SessionQueue};
use serde_json::json;

use crate::{
    amount::cor,
    cmd::{class_name, consensus_name, session::Meta, tier_name, Class, Consensus, Tier},
    context::{Ctx, Output},
    error::CliError,
};

/// `cor quote` flags.
#[derive(Debug, Args)]
pub(crate) struct QuoteArgs {
    /// Quote a task of this session (its model, N, method, tier, depths and payment mode);
    /// the other shape flags are then ignored
    #[arg(long, value_name = "ID")]
    session: Option<u64>,
    /// Model id; its class sets the price (read from NodePool)
    #[arg(long, value_name = "ID", conflicts_with = "class")]
    model: Option<u32>,
    /// Model class, when no --model is given
    #[arg(long, value_enum, default_value = "light")]
    class: Class,
    /// Most tokens the task may generate
    #[arg(long, default_value_t = 256)]
    max_tokens: u32,
    /// SLA tier
    #[arg(long, value_enum, default_value = "standard")]
    tier: Tier,
    /// Redundancy: how many miners answer (1-7)
    #[arg(long, short, default_value_t = 3)]
    n: u8,
    /// Consensus method
    #[arg(long, value_enum, default_value = "exact")]
    consensus: Consensus,
    /// Validator depth (0-3)
    #[arg(long, default_value_t = 0)]
    validator_depth: u8,
    /// Execution (tool) depth (0-3)
    #[arg(long, default_value_t = 0)]
    execution_depth: u8,
    /// Quote as a quota-backed task (rebated)
    #[arg(long)]
    quota: bool,
    /// The payer's task count so far, for volume rebates
    #[arg(long, default_value_t = 0)]
    volume: u64,
}

/// Runs `cor quote`.
pub(crate) async fn run(ctx: &Ctx, args: QuoteArgs) -> Result<Output, CliError> {
    let chain = ctx.reading().await?;
    let mut call = SessionPaymentTable::quoteCall {
        modelClass: args.class as u8,
        maxTokens: args.max_tokens,
        slaTier: args.tier as u8,
        redundancy: args.n,
        consensus: args.consensus as u8,
        validatorDepth: args.validator_depth,
        executionDepth: args.execution_depth,
        quotaBacked: args.quota,
        payerVolume: args.volume,
    };
    if let Some(model) = args.model {
        let m = chain
            .conn
            .view(
                chain.suite.node_pool,
                &NodePool::modelCall { modelId: model },
            )
            .await?;
        if !m._2 {
            return Err(CliError::Failed(format!("model {model} is not enabled")));
        }
        call.modelClass = m._0;
    }
    if let Some(id) = args.session {
        let s = chain
            .conn
            .view(
                chain.suite.session_queue,
                &SessionQueue::sessionCall { sessionId: id },
            )
            .await?;
        let meta = Meta::unpack(s._6);
        call.modelClass = meta.class;
        call.slaTier = meta.tier;
        call.redundancy = meta.n;
        call.consensus = meta.consensus;
        call.validatorDepth = meta.validator_depth;
        call.executionDepth = meta.execution_depth;
        call.quotaBacked = s._2 == 1;
    }
    let q = chain.conn.view(chain.suite.table, &call).await?;
    let text = format!(
        "{} for a {} task, {} max tokens, {} tier, N = {}, {} consensus{}\n  \
         miners     {}\n  validators {}\n  treasury   {}",
        cor(q._0),
        class_name(call.modelClass),
        call.maxTokens,
        tier_name(call.slaTier),
        call.redundancy,
        consensus_name(call.consensus),
        if call.quotaBacked {
            ", quota-backed"
        } else {
            ""
        },
        cor(q._1),
        cor(q._2),
        cor(q._3),
    );
    Ok(Output::new(
        text,
        json!({
            "total": q._0.to_string(),
            "miners": q._1.to_string(),
            "validators": q._2.to_string(),
            "treasury": q._3.to_string(),
            "model_class": call.modelClass,
            "max_tokens": call.maxTokens,
            "sla_tier": call.slaTier,
            "redundancy": call.redundancy,
            "consensus": call.consensus,
            "validator_depth": call.validatorDepth,
            "execution_depth": call.executionDepth,
            "quota_backed": call.quotaBacked,
        }),
    ))
}
