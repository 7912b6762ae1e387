//! The contracts whose interfaces are exported, in deployment order.

use std::fmt;

use stylus_sdk::abi::GenerateAbi;

/// Where one contract's interface comes from.
pub(crate) struct ContractAbi {
    /// Contract name (files are `I<name>.sol` and `<name>.json`).
    pub(crate) name: &'static str,
    /// Crate folder under `contracts/`.
    pub(crate) krate: &'static str,
    /// The SDK's function listing.
    pub(crate) functions: fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    /// The SDK's constructor signature.
    pub(crate) constructor: fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    /// The contract's event and error declarations.
    pub(crate) decls: fn() -> Vec<&'static str>,
}

macro_rules! contract {
    ($name:literal, $krate:literal, $module:ident :: $ty:ident) => {
        ContractAbi {
            name: $name,
            krate: $krate,
            functions: <$module::$ty as GenerateAbi>::fmt_abi,
            constructor: <$module::$ty as GenerateAbi>::fmt_constructor_signature,
            decls: $module::sol_decls,
        }
    };
}

/// Every exported contract.
pub(crate) const CONTRACTS: &[ContractAbi] = &[
    contract!("CorToken", "cor-token", cor_token::CorToken),
    contract!("NodePool", "node-pool", node_pool::NodePool),
    contract!(
        "SessionPaymentTable",
        "session-payment-table",
        session_payment_table::SessionPaymentTable
    ),
    contract!(
        "SessionPayment",
        "session-payment",
        session_payment::SessionPayment
    ),
    contract!("StakeQuota", "stake-quota", stake_quota::StakeQuota),
    contract!(
        "NodeReputation",
        "node-reputation",
        node_reputation::NodeReputation
    ),
    contract!("NodeReward", "node-reward", node_reward::NodeReward),
    contract!(
        "ConsensusEngine",
        "consensus-engine",
        consensus_engine::ConsensusEngine
    ),
    contract!("CommitReveal", "commit-reveal", commit_reveal::CommitReveal),
    contract!("SessionQueue", "session-queue", session_queue::SessionQueue),
];
