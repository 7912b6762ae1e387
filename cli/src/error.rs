//! What goes wrong, as the user reads it: reverts decoded by `cor-client` and turned into
//! a sentence for the errors people meet most, the decoded `Contract.Error(field: value)`
//! otherwise; bad settings with their key and expected form. Never a Rust debug dump.

use std::{fmt, process::ExitCode};

use cor_client::{
    deploy::DeployError,
    revert::{DecodedError, Revert},
    ClientError,
};

use crate::amount::cor_str;

/// A failed command.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A bad flag, environment variable or config value (exit code 2).
    Config(String),
    /// A call or transaction failed (exit code 1).
    Chain(ClientError),
    /// Anything else that stopped the command (exit code 1).
    Failed(String),
    /// A check found a difference: code on chain, or an output's hash (exit code 3).
    Mismatch(String),
}

impl CliError {
    /// The process exit code.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Config(_) => 2,
            CliError::Chain(_) | CliError::Failed(_) => 1,
            CliError::Mismatch(_) => 3,
        })
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Chain(e)
    }
}

impl From<DeployError> for CliError {
    fn from(e: DeployError) -> Self {
        match e {
            DeployError::Step { step, source } => match source.revert() {
                Some(revert) => CliError::Failed(format!("step {step}: {}", explain(revert))),
                None => CliError::Failed(format!("step {step}: {}", chain_message(&source))),
            },
            DeployError::Chain(source) => CliError::Chain(source),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Config(m) | CliError::Failed(m) | CliError::Mismatch(m) => f.write_str(m),
            CliError::Chain(e) => match e.revert() {
                Some(revert) => f.write_str(&explain(revert)),
                None => f.write_str(&chain_message(e)),
            },
        }
    }
}

fn chain_message(e: &ClientError) -> String {
    match e {
        ClientError::Rpc(inner) if e.is_transient() => {
            format!(
                "the RPC endpoint did not answer ({inner}); is the node running and --rpc right?"
            )
        }
        other => other.to_string(),
    }
}

/// A Unix time as `2024-12-02 00:40:00 UTC (1733100000)`.
pub(crate) fn time(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC ({unix})",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

fn time_str(field: Option<&str>) -> String {
    field
        .and_then(|v| v.parse::<u64>().ok())
        .map(time)
        .unwrap_or_else(|| "an unknown time".to_owned())
}

/// Model class names by code.
pub(crate) fn class_name(code: &str) -> &str {
    match code {
        "0" => "Light",
        "1" => "Medium",
        "2" => "Heavy",
        other => other,
    }
}

/// Task status names by code.
pub(crate) fn task_status(code: u8) -> &'static str {
    match code {
        0 => "none",
        1 => "open",
        2 => "resolved",
        3 => "unresolved",
        _ => "unknown",
    }
}

/// Node status names by code.
pub(crate) fn node_status(code: u8) -> &'static str {
    match code {
        0 => "not registered",
        1 => "active",
        2 => "unbonding",
        3 => "exited",
        _ => "unknown",
    }
}

/// A revert as a sentence, followed by the decoded error on its own line.
pub(crate) fn explain(revert: &Revert) -> String {
    let Some(error) = &revert.error else {
        return format!("the call reverted: {revert}");
    };
    // A constructor failure behind the StylusDeployer: explain the constructor's error.
    if let Some(cause) = &error.cause {
        return format!("a constructor failed: {}", explain(cause));
    }
    match sentence(error) {
        Some(s) => format!("{s}\n  reverted with {error}"),
        None => format!("the call reverted with {error}"),
    }
}

fn sentence(e: &DecodedError) -> Option<String> {
    let f = |name: &str| e.field(name).unwrap_or("?").to_owned();
    let amount = |name: &str| cor_str(e.field(name).unwrap_or("?"));
    Some(match e.name.as_str() {
        "QuotaExhausted" => format!(
            "quota exhausted for bucket {} x{}: needs {} units, {} left this period (stake \
             more, wait for the next period, or opt in to overage with `cor quota \
             auto-deduct`)",
            class_name(&f("modelClass")),
            f("redundancy"),
            f("needed"),
            f("left")
        ),
        "InsufficientEscrow" => format!(
            "not enough COR in escrow: {} available, {} needed (deposit with `cor deposit`)",
            amount("available"),
            amount("needed")
        ),
        "ERC20InsufficientBalance" => format!(
            "{} holds {}, {} needed (get COR first, e.g. `cor token mint` by the owner on a \
             dev chain)",
            f("sender"),
            amount("balance"),
            amount("needed")
        ),
        "ERC20InsufficientAllowance" => format!(
            "{} may spend only {} of the account's COR, {} needed (approve it first)",
            f("spender"),
            amount("allowance"),
            amount("needed")
        ),
        "ERC20ExceededCap" => format!(
            "minting would take the supply to {}, over the cap of {}",
            amount("increasedSupply"),
            amount("cap")
        ),
        "InsufficientStake" => format!(
            "{} has {} staked, {} needed",
            f("user"),
            amount("staked"),
            amount("needed")
        ),
        "NotReady" => format!(
            "task {} is not ready to finalize: every assigned miner must reveal first, or wait \
             until {}",
            f("taskId"),
            time_str(e.field("readyAt"))
        ),
        "OutsideWindow" => format!(
            "task {}: outside the time window for this step, which opens at {} and closes \
             at {}",
            f("taskId"),
            time_str(e.field("opensAt")),
            time_str(e.field("closesAt"))
        ),
        "CommitmentMismatch" => format!(
            "the reveal does not match {}'s commitment for task {} (different output, score or \
             salt)",
            f("miner"),
            f("taskId")
        ),
        "NotAssigned" => format!("{} is not assigned to task {}", f("caller"), f("taskId")),
        "AlreadyCommitted" => format!("{} already committed to task {}", f("miner"), f("taskId")),
        "AlreadyRevealed" => format!("{} already revealed task {}", f("miner"), f("taskId")),
        "NotCommitted" => format!(
            "{} never committed to task {}: there is nothing to reveal",
            f("miner"),
            f("taskId")
        ),
        "TaskClosed" => format!(
            "task {} is already finalized ({})",
            f("taskId"),
            task_status(f("status").parse().unwrap_or(u8::MAX))
        ),
        "UnknownTask" => format!("there is no task {}", f("taskId")),
        "UnknownSession" => format!("there is no session {}", f("sessionId")),
        "NotSessionOwner" => format!(
            "{} did not create session {}: only its creator submits tasks to it",
            f("caller"),
            f("sessionId")
        ),
        "NotEnoughMiners" => format!(
            "only {} eligible miners serve model {}, the session needs {}",
            f("available"),
            f("modelId"),
            f("needed")
        ),
        "ModelUnavailable" => format!("model {} is not enabled", f("modelId")),
        "UriTooLong" => format!(
            "the URI is {} bytes long, the limit is {} (serve the output over http and pass \
             --uri)",
            f("length"),
            f("max")
        ),
        "AlreadyClaimed" => format!(
            "{} already claimed its rewards for epoch {}",
            f("node"),
            f("epoch")
        ),
        "EpochNotEnded" => format!(
            "epoch {} has not ended: it ends at {}",
            f("epoch"),
            time_str(e.field("endsAt"))
        ),
        "EpochNotFinalized" => format!(
            "epoch {} is not finalized yet (`cor epoch finalize`)",
            f("epoch")
        ),
        "EpochOutOfOrder" => format!(
            "epochs finalize in order: epoch {} is next, not {}",
            f("next"),
            f("epoch")
        ),
        "NothingToClaim" if e.contract == "NodeReward" => format!(
            "{} earned no reward points in epoch {}",
            f("node"),
            f("epoch")
        ),
        "NothingToClaim" => "there is nothing to claim".to_owned(),
        "NothingToWithdraw" => "there is nothing to withdraw".to_owned(),
        "OwnableUnauthorizedAccount" => format!(
            "{} is not the owner of {}: only the owner may do this",
            f("account"),
            e.contract
        ),
        "UnauthorizedCaller" => format!(
            "{} may not call this entry point of {} (it is reserved for another contract)",
            f("caller"),
            e.contract
        ),
        "EnforcedPause" => format!("{} is paused", e.contract),
        "ParamOutOfBounds" => format!(
            "parameter {} of {}: {} is outside its bounds {} ..= {}",
            f("id"),
            e.contract,
            f("value"),
            f("min"),
            f("max")
        ),
        "ParamStepTooLarge" => format!(
            "parameter {} of {}: moving from {} to {} is more than the largest step {}",
            f("id"),
            e.contract,
            f("current"),
            f("value"),
            f("maxStep")
        ),
        "UnknownParam" => format!("{} has no parameter {}", e.contract, f("id")),
        "NoPendingParam" => format!(
            "parameter {} of {} has no scheduled change",
            f("id"),
            e.contract
        ),
        "NodeAlreadyRegistered" => format!("{} is already registered as a node", f("node")),
        "WrongNodeStatus" => {
            let code = |n: &str| f(n).parse::<u8>().unwrap_or(u8::MAX);
            let required = match code("required") {
                0 => "registered".to_owned(),
                other => node_status(other).to_owned(),
            };
            format!(
                "node {} is {}, this needs it {}",
                f("node"),
                node_status(code("status")),
                required
            )
        }
        "StillUnbonding" => format!(
            "node {} is still unbonding: withdraw from {}",
            f("node"),
            time_str(e.field("unlockAt"))
        ),
        "HeartbeatAlreadySent" => format!(
            "node {} already sent its heartbeat for epoch {}",
            f("node"),
            f("epoch")
        ),
        "DuplicateModel" => format!("model {} is listed twice", f("modelId")),
        "StillCoolingDown" => format!(
            "the unstaked COR of {} is cooling down until {}",
            f("user"),
            time_str(e.field("unlockAt"))
        ),
        "RateLimited" => format!(
            "{} sent too many tasks in this window: retry at {}",
            f("user"),
            time_str(e.field("retryAt"))
        ),
        "TokenTransferFailed" => format!(
            "moving {} from {} to {} failed: the balance or the allowance is too low",
            amount("amount"),
            f("from"),
            f("to")
        ),
        "ZeroAmount" => "the amount must be more than 0".to_owned(),
        "InvalidRedundancy" => format!(
            "redundancy {} is outside {} ..= {}",
            f("n"),
            f("min"),
            f("max")
        ),
        "InvalidThreshold" => format!(
            "threshold {} bps is not a share of N (1 ..= 10000)",
            f("thresholdBps")
        ),
        "InvalidWindow" => format!(
            "commit window {} s / reveal window {} s: each must be 1 ..= {} seconds",
            f("commitWindow"),
            f("revealWindow"),
            f("max")
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolError;
    use cor_abi::{CommitReveal, SessionPayment, StakeQuota};

    use super::*;

    #[test]
    fn common_reverts_read_as_sentences_with_the_decoded_error_after() {
        let data = StakeQuota::QuotaExhausted {
            user: Address::with_last_byte(1),
            modelClass: 2,
            redundancy: 3,
            needed: U256::from(12u64),
            left: U256::from(4u64),
        }
        .abi_encode();
        let text = explain(&Revert::decode(data.into(), Some("SessionQueue")));
        assert!(
            text.starts_with(
                "quota exhausted for bucket Heavy x3: needs 12 units, 4 left this period"
            ),
            "{text}"
        );
        assert!(
            text.contains("reverted with StakeQuota.QuotaExhausted("),
            "{text}"
        );

        let data = SessionPayment::InsufficientEscrow {
            payer: Address::with_last_byte(1),
            available: U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64)),
            needed: U256::from(2u64) * U256::from(10u64).pow(U256::from(18u64)),
        }
        .abi_encode();
        let text = explain(&Revert::decode(data.into(), None));
        assert!(text.contains("0.5 COR available, 2 COR needed"), "{text}");

        let data = CommitReveal::NotReady {
            taskId: U256::from(3u64),
            readyAt: 1_733_100_000,
        }
        .abi_encode();
        let text = explain(&Revert::decode(data.into(), Some("CommitReveal")));
        assert!(
            text.contains("2024-12-02 00:40:00 UTC (1733100000)"),
            "{text}"
        );
    }

    #[test]
    fn unknown_errors_fall_back_to_the_decoded_form() {
        let data = CommitReveal::InvalidRound {
            taskId: U256::from(9u64),
        }
        .abi_encode();
        let text = explain(&Revert::decode(data.into(), Some("CommitReveal")));
        assert_eq!(
            text,
            "the call reverted with CommitReveal.InvalidRound(taskId: 9)"
        );
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC (0)");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00 UTC (951782400)");
    }
}
