//! Polling filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_getFilterChanges`...), as
//! HTTP clients (viem, ethers, alloy's block watcher) use them.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::Filter;
use jsonrpsee::{types::ErrorObjectOwned, RpcModule};
use serde_json::{json, Value};

use super::{error::server, eth::logs, RpcContext};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Filters not polled for this long are dropped (as geth does).
const FILTER_TTL: Duration = Duration::from_secs(300);
/// Most filters kept at once.
const MAX_FILTERS: usize = 1_024;

#[derive(Debug, Clone)]
enum Kind {
    Blocks,
    Logs(Box<Filter>),
    PendingTransactions,
}

#[derive(Debug, Clone)]
struct Installed {
    kind: Kind,
    /// The last block whose changes were returned.
    seen: u64,
    polled: Instant,
}

/// The installed filters.
#[derive(Debug, Default)]
pub struct Filters {
    next: u64,
    installed: HashMap<u64, Installed>,
}

impl Filters {
    fn install(&mut self, kind: Kind, head: u64) -> RpcResult<U256> {
        self.installed
            .retain(|_, f| f.polled.elapsed() < FILTER_TTL);
        if self.installed.len() >= MAX_FILTERS {
            return Err(server("too many filters installed"));
        }
        self.next += 1;
        self.installed.insert(
            self.next,
            Installed {
                kind,
                seen: head,
                polled: Instant::now(),
            },
        );
        Ok(U256::from(self.next))
    }
}

fn lock(filters: &Mutex<Filters>) -> MutexGuard<'_, Filters> {
    filters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn id_of(value: U256) -> RpcResult<u64> {
    u64::try_from(value).map_err(|_| server("filter not found"))
}

/// Registers the filter methods.
///
/// # Errors
/// A jsonrpsee registration error (a name registered twice: a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("eth_newBlockFilter", |_, ctx, _| {
        let head = ctx.chain().head().number();
        lock(&ctx.filters).install(Kind::Blocks, head)
    })?;
    module.register_method("eth_newPendingTransactionFilter", |_, ctx, _| {
        let head = ctx.chain().head().number();
        lock(&ctx.filters).install(Kind::PendingTransactions, head)
    })?;
    module.register_method("eth_newFilter", |params, ctx, _| {
        let mut seq = params.sequence();
        let filter: Filter = seq.next()?;
        let chain = ctx.chain();
        // A filter starting in the past reports that past on the first poll.
        let head = chain.head().number();
        let seen = filter
            .get_from_block()
            .map_or(head, |from| from.saturating_sub(1).min(head));
        let id = lock(&ctx.filters).install(Kind::Logs(Box::new(filter)), head)?;
        if let Some(f) = lock(&ctx.filters).installed.get_mut(&id_of(id)?) {
            f.seen = seen;
        }
        RpcResult::Ok(id)
    })?;
    module.register_method("eth_uninstallFilter", |params, ctx, _| {
        let mut seq = params.sequence();
        let id: U256 = seq.next()?;
        let Ok(id) = u64::try_from(id) else {
            return RpcResult::Ok(false);
        };
        RpcResult::Ok(lock(&ctx.filters).installed.remove(&id).is_some())
    })?;
    module.register_blocking_method("eth_getFilterChanges", |params, ctx, _| {
        let mut seq = params.sequence();
        let id = id_of(seq.next()?)?;
        let chain = ctx.chain();
        let head = chain.head().number();
        let mut filters = lock(&ctx.filters);
        let installed = filters
            .installed
            .get_mut(&id)
            .ok_or_else(|| server("filter not found"))?;
        installed.polled = Instant::now();
        let from = installed.seen + 1;
        installed.seen = head.max(installed.seen);
        let kind = installed.kind.clone();
        drop(filters);
        let changes: Value = match kind {
            Kind::Blocks => json!(chain
                .blocks(from, head)
                .map(|b| b.hash)
                .collect::<Vec<B256>>()),
            Kind::PendingTransactions => json!(Vec::<B256>::new()),
            Kind::Logs(filter) => {
                if from > head {
                    json!([])
                } else {
                    let window = (*filter).clone().from_block(from).to_block(head);
                    json!(logs(&chain, &window)?)
                }
            }
        };
        RpcResult::Ok(changes)
    })?;
    module.register_blocking_method("eth_getFilterLogs", |params, ctx, _| {
        let mut seq = params.sequence();
        let id = id_of(seq.next()?)?;
        let kind = lock(&ctx.filters)
            .installed
            .get(&id)
            .map(|f| f.kind.clone())
            .ok_or_else(|| server("filter not found"))?;
        match kind {
            Kind::Logs(filter) => RpcResult::Ok(json!(logs(&ctx.chain(), &filter)?)),
            _ => Err(server("not a log filter")),
        }
    })?;
    Ok(())
}
