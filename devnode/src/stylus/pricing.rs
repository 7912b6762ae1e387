//! What Stylus execution costs: ink prices of the host functions, the EVM gas they
//! forward, the WASM memory model and activation's init-gas and data-fee estimates.
//!
//! The figures follow Nitro's published pricing (ArbOS 32+, Stylus version 2): one gas
//! buys [`INK_PER_GAS`] ink; each host function has a base ink price plus per-byte
//! read/write prices; storage, calls, logs and account access cost what the EVM charges
//! (EIP-2929/2200 via revm); memory pages follow an exponential model. Where the dev node
//! approximates (WASM opcode prices, see [`crate::stylus::runtime`]), docs/devnode.md says so.

/// Ink bought by one unit of gas (Nitro's default `inkPrice`).
pub const INK_PER_GAS: u64 = 10_000;

/// Ink a unit of wasmi fuel stands for. WASM operators are charged in fuel from a table
/// scaled from Nitro's per-opcode ink prices by this factor.
pub const INK_PER_FUEL: u64 = 100;

/// Fuel bought by one unit of gas.
pub const FUEL_PER_GAS: u64 = INK_PER_GAS / INK_PER_FUEL;

/// Base price of a host function that may return something.
pub const HOSTIO_INK: u64 = 8_400;
/// Extra price of each pointer a host function takes.
pub const PTR_INK: u64 = 13_440 - HOSTIO_INK;
/// Extra price of a host function that goes to the EVM.
pub const EVM_API_INK: u64 = 59_673;
/// Extra price of a 256-bit division or modulo.
pub const DIV_INK: u64 = 20_000;
/// Extra price of a 256-bit mulmod.
pub const MUL_MOD_INK: u64 = 24_100;
/// Extra price of a 256-bit addmod.
pub const ADD_MOD_INK: u64 = 21_000;

/// Gas a storage access must have available beyond its price (Nitro's cache access gas).
pub const STORAGE_CACHE_REQUIRED_ACCESS_GAS: u64 = 10;
/// The SSTORE sentry of EIP-2200: a flush or cache write needs this much gas left.
pub const SSTORE_SENTRY_GAS: u64 = 2_300;
/// EIP-2929 cold account access.
pub const COLD_ACCOUNT_GAS: u64 = 2_600;
/// EIP-2929 cold storage access.
pub const COLD_SLOAD_GAS: u64 = 2_100;
/// EIP-2929 warm storage access; also what TLOAD/TSTORE cost.
pub const WARM_SLOAD_GAS: u64 = 100;
/// EVM log prices.
pub const LOG_TOPIC_GAS: u64 = 375;
/// EVM log data price per byte.
pub const LOG_DATA_GAS: u64 = 8;

/// Stylus parameters the dev node runs with (Nitro's initial values).
pub mod params {
    /// The Stylus version programs are activated at.
    pub const STYLUS_VERSION: u16 = 2;
    /// Largest decompressed WASM accepted at activation.
    pub const MAX_WASM_SIZE: usize = 128 * 1024;
    /// Stack depth budget (reported by ArbWasm; wasmi enforces its own limits).
    pub const MAX_STACK_DEPTH: u32 = 4 * 65_536;
    /// Pages every transaction gets for free.
    pub const FREE_PAGES: u16 = 2;
    /// Linear gas per page beyond the free ones.
    pub const PAGE_GAS: u16 = 1_000;
    /// Exponential growth factor of the page price, in 2^-32 units.
    pub const PAGE_RAMP: u64 = 620_674_314;
    /// Most pages a transaction's programs may have open (8 MiB).
    pub const PAGE_LIMIT: u16 = 128;
    /// Minimum init gas, in units of 128 gas.
    pub const MIN_INIT_GAS: u8 = 69;
    /// Minimum cached init gas, in units of 32 gas.
    pub const MIN_CACHED_INIT_GAS: u8 = 11;
    /// Init cost scalar, in units of 2 %.
    pub const INIT_COST_SCALAR: u8 = 50;
    /// Cached cost scalar, in units of 2 %.
    pub const CACHED_COST_SCALAR: u8 = 50;
    /// Days an activation lasts.
    pub const EXPIRY_DAYS: u16 = 365;
    /// Days before a keepalive is allowed.
    pub const KEEPALIVE_DAYS: u16 = 31;
    /// Recently used programs that count as cached.
    pub const BLOCK_CACHE_SIZE: u16 = 32;
    /// Gas activation burns on top of storage writes (Nitro's fixed activation charge).
    pub const ACTIVATION_FIXED_GAS: u64 = 1_659_168;
    /// Wei per byte of estimated native code at zero demand (Nitro's `minPrice`).
    pub const DATA_MIN_PRICE: u64 = 82_928_201;
    /// Demand, in bytes, at which the data price grows by a factor of e.
    pub const DATA_INERTIA: u64 = 21_360_419;
    /// Bytes of demand that drain each second.
    pub const DATA_BYTES_PER_SECOND: u64 = (1u64 << 40) / (365 * 24) / 3_600;
}

/// Ink to write `bytes` into the program's memory.
pub fn write_price(bytes: u32) -> u64 {
    5_040u64.saturating_add(30u64.saturating_mul(u64::from(bytes.saturating_sub(32))))
}

/// Ink to read `bytes` from the program's memory.
pub fn read_price(bytes: u32) -> u64 {
    16_381u64.saturating_add(55u64.saturating_mul(u64::from(bytes.saturating_sub(32))))
}

/// Ink of `native_keccak256` over `bytes`.
pub fn keccak_price(bytes: u32) -> u64 {
    let words = u64::from(bytes.div_ceil(32)).saturating_sub(2);
    121_800u64.saturating_add(21_000u64.saturating_mul(words))
}

/// Ink of `math_pow`'s exponent-dependent part: cheaper for each leading zero byte.
pub fn pow_price(exponent: &[u8; 32]) -> u64 {
    let leading_zeros = exponent.iter().take_while(|b| **b == 0).count() as u64;
    3_000 + (33 - leading_zeros) * 17_500
}

/// EVM memory cost of `size` bytes (what returning data from a program costs).
pub fn evm_memory_cost(size: u64) -> u64 {
    let words = size.div_ceil(32);
    words
        .saturating_mul(3)
        .saturating_add(words.saturating_mul(words) / 512)
}

/// Gas for `new` pages given the transaction's `open` and high-water `ever` pages.
pub fn memory_gas(new: u16, open: u16, ever: u16) -> u64 {
    let new_open = open.saturating_add(new);
    let new_ever = ever.max(new_open);
    if new_ever <= params::FREE_PAGES {
        return 0;
    }
    let sub_free = |pages: u16| pages.saturating_sub(params::FREE_PAGES);
    let adding = sub_free(new_open).saturating_sub(sub_free(open));
    let linear = u64::from(adding) * u64::from(params::PAGE_GAS);
    let expand = page_exp(new_ever).saturating_sub(page_exp(ever));
    linear.saturating_add(expand)
}

/// `floor((1 + ramp / 2^32) ^ pages)`: the exponential part of the memory price. Pages
/// past the limit are unaffordable.
fn page_exp(pages: u16) -> u64 {
    if pages > params::PAGE_LIMIT {
        return u64::MAX;
    }
    const ONE: u128 = 1 << 32;
    let factor = ONE + u128::from(params::PAGE_RAMP);
    let mut acc = ONE;
    for _ in 0..pages {
        acc = acc * factor / ONE;
    }
    (acc / ONE) as u64
}

/// Gas a call into a program pays before it runs, beyond memory: the cached part always
/// (version 2), the init part when the program is not in the recent-programs cache.
pub fn program_call_gas(init_cost: u16, cached_cost: u16, cached: bool) -> u64 {
    let cached_gas = u64::from(params::MIN_CACHED_INIT_GAS) * 32
        + (u64::from(cached_cost) * u64::from(params::CACHED_COST_SCALAR) * 2).div_ceil(100);
    let init_gas = u64::from(params::MIN_INIT_GAS) * 128
        + (u64::from(init_cost) * u64::from(params::INIT_COST_SCALAR) * 2).div_ceil(100);
    if cached {
        cached_gas
    } else {
        cached_gas + init_gas
    }
}

/// The init gas views report: (not cached, cached).
pub fn program_init_gas_views(init_cost: u16, cached_cost: u16) -> (u64, u64) {
    let cached = program_call_gas(init_cost, cached_cost, true);
    (program_call_gas(init_cost, cached_cost, false), cached)
}

/// The activation data fee in wei for `asm_bytes` of estimated native code given the
/// current `demand` (bytes), following Nitro's data pricer.
pub fn data_fee(asm_bytes: u64, demand: u64) -> u128 {
    let exponent_bips = demand.saturating_mul(10_000) / params::DATA_INERTIA;
    let multiplier_bips = approx_exp_bips(exponent_bips);
    let cost_per_byte = u128::from(params::DATA_MIN_PRICE) * u128::from(multiplier_bips) / 10_000;
    cost_per_byte.saturating_mul(u128::from(asm_bytes))
}

/// `e^(x / 10000) * 10000` by a 12-term Taylor series, saturating.
fn approx_exp_bips(x_bips: u64) -> u64 {
    let x = u128::from(x_bips);
    let one = 10_000u128;
    let mut term = one;
    let mut sum = one;
    for k in 1..=12u128 {
        term = term.saturating_mul(x) / (one * k);
        sum = sum.saturating_add(term);
    }
    u64::try_from(sum).unwrap_or(u64::MAX)
}

/// Demand left after `elapsed` seconds of draining.
pub fn drain_demand(demand: u64, elapsed: u64) -> u64 {
    demand.saturating_sub(params::DATA_BYTES_PER_SECOND.saturating_mul(elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_exponent_tracks_the_ramp() {
        assert_eq!(page_exp(0), 1);
        assert_eq!(page_exp(5), 1);
        assert_eq!(page_exp(6), 2);
        assert_eq!(page_exp(10), 3);
        // 8 MiB should cost about 32 million gas minus the linear part.
        let top = page_exp(128);
        assert!((31_800_000..31_900_000).contains(&top), "{top}");
    }

    #[test]
    fn free_pages_cost_nothing_and_growth_costs_more() {
        assert_eq!(memory_gas(2, 0, 0), 0);
        let one = memory_gas(1, 2, 2);
        assert_eq!(one, 1_000);
        assert!(memory_gas(30, 2, 2) > 30 * 1_000);
        // Reopening pages already paid for in the transaction only pays the linear part.
        assert_eq!(memory_gas(1, 2, 10), 1_000);
    }

    #[test]
    fn data_fee_is_min_price_at_zero_demand() {
        assert_eq!(data_fee(1_000, 0), 82_928_201_000);
        assert!(data_fee(1_000, params::DATA_INERTIA) > 2 * 82_928_201_000);
    }

    #[test]
    fn io_prices_grow_with_length() {
        assert_eq!(read_price(32), 16_381);
        assert_eq!(write_price(64), 5_040 + 30 * 32);
        assert_eq!(keccak_price(64), 121_800);
        assert_eq!(keccak_price(96), 121_800 + 21_000);
        assert_eq!(pow_price(&[0u8; 32]), 3_000 + 17_500);
    }
}
