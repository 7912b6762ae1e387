//! SessionPaymentTable: the price of a task, and how it is split.
//!
//! Wallets, the router and SessionQueue call [`quote`](SessionPaymentTable::quote) before
//! submitting a task. Every price and ratio is an admin parameter with hard bounds, a
//! maximum step per change and a delay before it takes effect (common `params`, invariant
//! 7 of `PROTOCOL.md`).
//!
//! The formula (all integer arithmetic, checked, rounding down):
//!
//! ```text
//! per_miner  = base[class] + ceil(maxTokens / 1000) * per1k[class]
//! miners     = per_miner * tier_bps / 10 000 * N * (10 000 + surcharge_bps[consensus]) / 10 000
//! gross      = miners + validatorDepth * VALIDATOR_LEVEL_PRICE + executionDepth * EXECUTION_LEVEL_PRICE
//! rebate_bps = min((quotaBacked ? QUOTA_REBATE_BPS : 0) + volume_rebate_bps, 9 000)
//! total      = gross * (10 000 - rebate_bps) / 10 000
//! minersPart = total * SPLIT_MINERS_BPS / 10 000
//! validatorsPart = validatorDepth > 0 ? total * validators_bps / 10 000 : 0
//! treasuryPart   = total - minersPart - validatorsPart
//! ```
//!
//! Guarantees, whatever the admin sets within bounds: the quote is monotone in N, the
//! depths, the SLA tier and `maxTokens` (the Critical multiplier used is
//! `max(critical, priority)`; Standard is always 1x), rebates never decrease as volume
//! grows (tier 2 applies from `max(tier1 tasks, tier2 tasks)` with `max(tier1, tier2)`
//! bps), and the three parts sum to the total exactly. The validators' ratio used is
//! clamped to `10 000 - miners` so the treasury's part is never negative; with no
//! validators (depth 0) the validators' part goes to the treasury.

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// `#[entrypoint]` and `#[public]` emit undocumented items (the WASM export, the ABI printer).
#![cfg_attr(
    any(target_arch = "wasm32", feature = "export-abi"),
    allow(missing_docs)
)]

extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, U256};
use cor_contract_common::{
    access,
    access::Ownable,
    bps,
    params::{self, known, ParamSpec, Params},
    sol_decls,
};
use stylus_sdk::prelude::*;

pub use access::{OwnableInvalidOwner, OwnableUnauthorizedAccount, OwnershipTransferred};
pub use params::{
    NoPendingParam, ParamCancelled, ParamDelayOutOfBounds, ParamOutOfBounds, ParamScheduled,
    ParamStepTooLarge, UnknownParam,
};

sol_decls! {
    error InvalidModelClass(uint8 modelClass);
    error InvalidSlaTier(uint8 slaTier);
    error InvalidRedundancy(uint8 n, uint8 min, uint8 max);
    error InvalidConsensusMethod(uint8 consensus);
    error DepthTooLarge(uint8 depth, uint8 max);
    error MaxTokensOutOfRange(uint32 maxTokens, uint32 max);
    error PriceOverflow();
}

/// Every error SessionPaymentTable reverts with.
#[derive(SolidityError, Debug, PartialEq, Eq)]
pub enum Error {
    /// Model class other than Light (0), Medium (1), Heavy (2).
    InvalidModelClass(InvalidModelClass),
    /// SLA tier other than Standard (0), Priority (1), Critical (2).
    InvalidSlaTier(InvalidSlaTier),
    /// Redundancy N outside 1..=7.
    InvalidRedundancy(InvalidRedundancy),
    /// Consensus method other than Exact (0), Similarity (1), Median (2), Weighted (3).
    InvalidConsensusMethod(InvalidConsensusMethod),
    /// Validator or execution depth above 3.
    DepthTooLarge(DepthTooLarge),
    /// `maxTokens` outside 1..=131 072.
    MaxTokensOutOfRange(MaxTokensOutOfRange),
    /// The price does not fit 256 bits.
    PriceOverflow(PriceOverflow),
    /// A parameter id this contract does not have.
    UnknownParam(UnknownParam),
    /// A parameter value outside its hard bounds.
    ParamOutOfBounds(ParamOutOfBounds),
    /// A parameter change larger than its maximum step.
    ParamStepTooLarge(ParamStepTooLarge),
    /// A parameter delay outside the allowed range, at construction.
    ParamDelayOutOfBounds(ParamDelayOutOfBounds),
    /// `cancelParam` with nothing pending.
    NoPendingParam(NoPendingParam),
    /// The caller is not the owner.
    Unauthorized(OwnableUnauthorizedAccount),
    /// The zero address as owner.
    InvalidOwner(OwnableInvalidOwner),
}

/// Parameter ids.
pub mod param {
    /// Base price per miner per task, Light models (COR wei).
    pub const BASE_PRICE_LIGHT: u8 = 0;
    /// Base price per miner per task, Medium models.
    pub const BASE_PRICE_MEDIUM: u8 = 1;
    /// Base price per miner per task, Heavy models.
    pub const BASE_PRICE_HEAVY: u8 = 2;
    /// Price per started 1 000 max tokens per miner, Light models.
    pub const PRICE_PER_1K_TOKENS_LIGHT: u8 = 3;
    /// Price per started 1 000 max tokens per miner, Medium models.
    pub const PRICE_PER_1K_TOKENS_MEDIUM: u8 = 4;
    /// Price per started 1 000 max tokens per miner, Heavy models.
    pub const PRICE_PER_1K_TOKENS_HEAVY: u8 = 5;
    /// Priority tier multiplier (bps; Standard is 10 000).
    pub const TIER_PRIORITY_BPS: u8 = 6;
    /// Critical tier multiplier (bps; the one used is at least Priority's).
    pub const TIER_CRITICAL_BPS: u8 = 7;
    /// Surcharge for Similarity consensus (bps of the miners' price).
    pub const CONSENSUS_SURCHARGE_SIMILARITY_BPS: u8 = 8;
    /// Surcharge for Median consensus.
    pub const CONSENSUS_SURCHARGE_MEDIAN_BPS: u8 = 9;
    /// Surcharge for Weighted consensus.
    pub const CONSENSUS_SURCHARGE_WEIGHTED_BPS: u8 = 10;
    /// Price per validator level (COR wei).
    pub const VALIDATOR_LEVEL_PRICE: u8 = 11;
    /// Price per execution (tool) level.
    pub const EXECUTION_LEVEL_PRICE: u8 = 12;
    /// Rebate for quota-backed tasks (bps).
    pub const QUOTA_REBATE_BPS: u8 = 13;
    /// Payer volume (tasks) from which the tier-1 volume rebate applies.
    pub const VOLUME_TIER1_TASKS: u8 = 14;
    /// Tier-1 volume rebate (bps).
    pub const VOLUME_TIER1_REBATE_BPS: u8 = 15;
    /// Payer volume from which the tier-2 rebate applies (at least tier 1's).
    pub const VOLUME_TIER2_TASKS: u8 = 16;
    /// Tier-2 volume rebate (bps; the one used is at least tier 1's).
    pub const VOLUME_TIER2_REBATE_BPS: u8 = 17;
    /// Miners' share of a task's price (bps).
    pub const SPLIT_MINERS_BPS: u8 = 18;
    /// Validators' share (bps; clamped to 10 000 - miners).
    pub const SPLIT_VALIDATORS_BPS: u8 = 19;
    /// Number of parameters.
    pub const COUNT: u8 = 20;
}

const COR: u128 = 1_000_000_000_000_000_000;
const BPS: u64 = 10_000;

/// Largest redundancy N.
pub const MAX_REDUNDANCY: u8 = 7;
/// Largest validator or execution depth.
pub const MAX_DEPTH: u8 = 3;
/// Largest `maxTokens` a task may ask for.
pub const MAX_TOKENS: u32 = 131_072;
/// Largest total rebate (bps).
pub const MAX_REBATE_BPS: u64 = 9_000;

/// Hard bounds of every parameter and its value at deployment.
pub fn spec(id: u8) -> Option<(ParamSpec, u128)> {
    use param::*;
    let price = ParamSpec::new(1_000_000_000_000, 1_000 * COR, 100 * COR);
    let level = ParamSpec::new(0, 1_000 * COR, 100 * COR);
    let surcharge = ParamSpec::new(0, 5_000, 1_000);
    let tasks = ParamSpec::new(1, 1_000_000_000, 100_000_000);
    let rebate = ParamSpec::new(0, 3_000, 1_000);
    Some(match id {
        BASE_PRICE_LIGHT => (price, COR / 100),
        BASE_PRICE_MEDIUM => (price, COR / 20),
        BASE_PRICE_HEAVY => (price, COR / 5),
        PRICE_PER_1K_TOKENS_LIGHT => (price, COR / 500),
        PRICE_PER_1K_TOKENS_MEDIUM => (price, COR / 100),
        PRICE_PER_1K_TOKENS_HEAVY => (price, COR / 25),
        TIER_PRIORITY_BPS => (ParamSpec::new(10_000, 30_000, 5_000), 15_000),
        TIER_CRITICAL_BPS => (ParamSpec::new(10_000, 50_000, 10_000), 25_000),
        CONSENSUS_SURCHARGE_SIMILARITY_BPS => (surcharge, 500),
        CONSENSUS_SURCHARGE_MEDIAN_BPS => (surcharge, 300),
        CONSENSUS_SURCHARGE_WEIGHTED_BPS => (surcharge, 800),
        VALIDATOR_LEVEL_PRICE => (level, COR / 50),
        EXECUTION_LEVEL_PRICE => (level, COR / 100),
        QUOTA_REBATE_BPS => (ParamSpec::new(0, 5_000, 1_000), 2_000),
        VOLUME_TIER1_TASKS => (tasks, 100),
        VOLUME_TIER1_REBATE_BPS => (rebate, 500),
        VOLUME_TIER2_TASKS => (tasks, 1_000),
        VOLUME_TIER2_REBATE_BPS => (rebate, 1_000),
        SPLIT_MINERS_BPS => (ParamSpec::new(5_000, 9_500, 1_000), 8_000),
        SPLIT_VALIDATORS_BPS => (ParamSpec::new(0, 2_000, 500), 1_000),
        _ => return None,
    })
}

/// A task as priced by the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskShape {
    /// Model class (0 Light, 1 Medium, 2 Heavy).
    pub model_class: u8,
    /// Largest number of tokens the task may produce.
    pub max_tokens: u32,
    /// SLA tier (0 Standard, 1 Priority, 2 Critical).
    pub sla_tier: u8,
    /// Number of miners N.
    pub redundancy: u8,
    /// Consensus method (0 Exact, 1 Similarity, 2 Median, 3 Weighted).
    pub consensus: u8,
    /// Validator depth.
    pub validator_depth: u8,
    /// Execution (tool) depth.
    pub execution_depth: u8,
    /// Paid from a stake-backed quota.
    pub quota_backed: bool,
    /// Tasks the payer already submitted (for volume rebates).
    pub payer_volume: u64,
}

/// SessionPaymentTable storage.
#[storage]
#[entrypoint]
pub struct SessionPaymentTable {
    ownable: Ownable,
    params: Params,
}

#[public]
impl SessionPaymentTable {
    /// Sets the owner, the parameter delay and every parameter's default.
    ///
    /// Errors: `OwnableInvalidOwner`, `ParamDelayOutOfBounds`. Emits
    /// `OwnershipTransferred` and one `ParamScheduled` per parameter.
    #[constructor]
    pub fn constructor(&mut self, owner: Address, param_delay: u64) -> Result<(), Error> {
        self.ownable.init::<Error>(owner)?;
        self.params.init_delay::<Error>(param_delay)?;
        let now = self.vm().block_timestamp();
        for id in 0..param::COUNT {
            let (spec, value) = spec(id).ok_or(UnknownParam { id })?;
            self.params
                .init::<Error>(id, spec, U256::from(value), now)?;
        }
        Ok(())
    }

    /// The price of a task and its split: `(total, minersPart, validatorsPart,
    /// treasuryPart)`, the parts summing to the total.
    ///
    /// Errors: `InvalidModelClass`, `InvalidSlaTier`, `InvalidRedundancy`,
    /// `InvalidConsensusMethod`, `DepthTooLarge`, `MaxTokensOutOfRange`, `PriceOverflow`.
    #[allow(clippy::too_many_arguments)]
    pub fn quote(
        &self,
        model_class: u8,
        max_tokens: u32,
        sla_tier: u8,
        redundancy: u8,
        consensus: u8,
        validator_depth: u8,
        execution_depth: u8,
        quota_backed: bool,
        payer_volume: u64,
    ) -> Result<(U256, U256, U256, U256), Error> {
        self.price(TaskShape {
            model_class,
            max_tokens,
            sla_tier,
            redundancy,
            consensus,
            validator_depth,
            execution_depth,
            quota_backed,
            payer_volume,
        })
    }

    /// The split in effect: `(minersBps, validatorsBps, treasuryBps)`, summing to 10 000.
    pub fn splits(&self) -> (U256, U256, U256) {
        let (miners, validators) = self.split_bps();
        let treasury = U256::from(BPS) - miners - validators;
        (miners, validators, treasury)
    }

    /// A parameter's value in effect now.
    ///
    /// Errors: `UnknownParam`.
    pub fn param(&self, id: u8) -> Result<U256, Error> {
        bounds(id)?;
        Ok(self.value(id))
    }

    /// A parameter's scheduled value and when it takes effect (`(0, 0)` when none).
    ///
    /// Errors: `UnknownParam`.
    pub fn pending_param(&self, id: u8) -> Result<(U256, u64), Error> {
        bounds(id)?;
        Ok(self.params.pending(id, self.vm().block_timestamp()))
    }

    /// A parameter's hard bounds: `(min, max, maxStep)`.
    ///
    /// Errors: `UnknownParam`.
    pub fn param_spec(&self, id: u8) -> Result<(U256, U256, U256), Error> {
        let s = bounds(id)?;
        Ok((s.min, s.max, s.max_step))
    }

    /// Seconds between scheduling a parameter change and its effect.
    pub fn param_delay(&self) -> u64 {
        self.params.delay()
    }

    /// Schedules a new value for parameter `id`; returns when it takes effect.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `UnknownParam`, `ParamOutOfBounds`,
    /// `ParamStepTooLarge`. Emits `ParamScheduled`.
    pub fn schedule_param(&mut self, id: u8, value: U256) -> Result<u64, Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        let spec = bounds(id)?;
        let now = self.vm().block_timestamp();
        self.params.schedule::<Error>(id, spec, value, now)
    }

    /// Cancels the change waiting for parameter `id`.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `UnknownParam`, `NoPendingParam`. Emits
    /// `ParamCancelled`.
    pub fn cancel_param(&mut self, id: u8) -> Result<(), Error> {
        self.ownable.only_owner::<Error>(self.vm().msg_sender())?;
        bounds(id)?;
        let now = self.vm().block_timestamp();
        self.params.cancel::<Error>(id, now)
    }

    /// The owner (admin).
    pub fn owner(&self) -> Address {
        self.ownable.owner()
    }

    /// Hands ownership to `new_owner`.
    ///
    /// Errors: `OwnableUnauthorizedAccount`, `OwnableInvalidOwner`. Emits
    /// `OwnershipTransferred`.
    pub fn transfer_ownership(&mut self, new_owner: Address) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.transfer::<Error>(caller, new_owner)
    }

    /// Gives up ownership: parameters are frozen for good.
    ///
    /// Errors: `OwnableUnauthorizedAccount`. Emits `OwnershipTransferred`.
    pub fn renounce_ownership(&mut self) -> Result<(), Error> {
        let caller = self.vm().msg_sender();
        self.ownable.renounce::<Error>(caller)
    }
}

/// A parameter's hard bounds.
///
/// Errors: `UnknownParam`.
fn bounds(id: u8) -> Result<ParamSpec, Error> {
    known::<Error>(id, spec(id).map(|(s, _)| s))
}

impl SessionPaymentTable {
    fn value(&self, id: u8) -> U256 {
        self.params.value(id, self.vm().block_timestamp())
    }

    /// `(miners_bps, validators_bps)` in effect, validators clamped to 10 000 - miners.
    fn split_bps(&self) -> (U256, U256) {
        let bps = U256::from(BPS);
        let miners = self.value(param::SPLIT_MINERS_BPS).min(bps);
        let validators = self.value(param::SPLIT_VALIDATORS_BPS).min(bps - miners);
        (miners, validators)
    }

    fn price(&self, t: TaskShape) -> Result<(U256, U256, U256, U256), Error> {
        if t.model_class > 2 {
            return Err(InvalidModelClass {
                modelClass: t.model_class,
            }
            .into());
        }
        if t.sla_tier > 2 {
            return Err(InvalidSlaTier {
                slaTier: t.sla_tier,
            }
            .into());
        }
        if t.redundancy == 0 || t.redundancy > MAX_REDUNDANCY {
            return Err(InvalidRedundancy {
                n: t.redundancy,
                min: 1,
                max: MAX_REDUNDANCY,
            }
            .into());
        }
        if t.consensus > 3 {
            return Err(InvalidConsensusMethod {
                consensus: t.consensus,
            }
            .into());
        }
        for depth in [t.validator_depth, t.execution_depth] {
            if depth > MAX_DEPTH {
                return Err(DepthTooLarge {
                    depth,
                    max: MAX_DEPTH,
                }
                .into());
            }
        }
        if t.max_tokens == 0 || t.max_tokens > MAX_TOKENS {
            return Err(MaxTokensOutOfRange {
                maxTokens: t.max_tokens,
                max: MAX_TOKENS,
            }
            .into());
        }

        let bps = U256::from(BPS);
        let base = self.value(param::BASE_PRICE_LIGHT + t.model_class);
        let per_1k = self.value(param::PRICE_PER_1K_TOKENS_LIGHT + t.model_class);
        let thousands = U256::from(t.max_tokens.div_ceil(1_000));
        let per_miner = mul(per_1k, thousands).and_then(|p| add(base, p))?;

        let priority = self.value(param::TIER_PRIORITY_BPS);
        let tier_bps = match t.sla_tier {
            0 => bps,
            1 => priority,
            _ => self.value(param::TIER_CRITICAL_BPS).max(priority),
        };
        let surcharge = match t.consensus {
            0 => U256::ZERO,
            c => self.value(param::CONSENSUS_SURCHARGE_SIMILARITY_BPS + c - 1),
        };
        let miners = scale(per_miner, tier_bps)
            .and_then(|v| mul(v, U256::from(t.redundancy)))
            .and_then(|v| scale(v, bps + surcharge))?;
        let validation = mul(
            self.value(param::VALIDATOR_LEVEL_PRICE),
            U256::from(t.validator_depth),
        )?;
        let execution = mul(
            self.value(param::EXECUTION_LEVEL_PRICE),
            U256::from(t.execution_depth),
        )?;
        let gross = add(miners, validation).and_then(|v| add(v, execution))?;

        let rebate = self.rebate_bps(t.quota_backed, t.payer_volume);
        let total = scale(gross, bps - rebate)?;

        let (miners_bps, validators_bps) = self.split_bps();
        let miners_part = scale(total, miners_bps)?;
        let validators_part = if t.validator_depth == 0 {
            U256::ZERO
        } else {
            scale(total, validators_bps)?
        };
        // Cannot underflow: miners_bps + validators_bps <= 10 000 (see `split_bps`), so
        // the two parts, each rounded down, sum to at most `total`.
        let treasury_part = total - miners_part - validators_part;
        Ok((total, miners_part, validators_part, treasury_part))
    }

    /// Total rebate in bps: quota rebate plus the volume tier reached, capped.
    fn rebate_bps(&self, quota_backed: bool, volume: u64) -> U256 {
        let volume = U256::from(volume);
        let tier1_tasks = self.value(param::VOLUME_TIER1_TASKS);
        let tier1 = self.value(param::VOLUME_TIER1_REBATE_BPS);
        let tier2_tasks = self.value(param::VOLUME_TIER2_TASKS).max(tier1_tasks);
        let tier2 = self.value(param::VOLUME_TIER2_REBATE_BPS).max(tier1);
        let volume_rebate = if volume >= tier2_tasks {
            tier2
        } else if volume >= tier1_tasks {
            tier1
        } else {
            U256::ZERO
        };
        let quota = if quota_backed {
            self.value(param::QUOTA_REBATE_BPS)
        } else {
            U256::ZERO
        };
        // Bounded parameters: the sum is at most 5 000 + 3 000.
        (quota + volume_rebate).min(U256::from(MAX_REBATE_BPS))
    }
}

fn scale(amount: U256, ratio_bps: U256) -> Result<U256, Error> {
    bps::apply(amount, ratio_bps).ok_or_else(|| PriceOverflow {}.into())
}

fn mul(a: U256, b: U256) -> Result<U256, Error> {
    a.checked_mul(b).ok_or_else(|| PriceOverflow {}.into())
}

fn add(a: U256, b: U256) -> Result<U256, Error> {
    a.checked_add(b).ok_or_else(|| PriceOverflow {}.into())
}

/// Events and errors of this contract's interface, for the ABI exporter.
#[cfg(feature = "export-abi")]
pub fn sol_decls() -> Vec<&'static str> {
    [SOL_DECLS, access::SOL_DECLS, params::SOL_DECLS].concat()
}

#[cfg(test)]
mod tests;
