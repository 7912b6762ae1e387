//! The JSON-RPC server (HTTP and WebSocket on one port, jsonrpsee): the `eth_*` methods
//! alloy, `cast` and `cargo stylus` use, subscriptions, and anvil-style dev methods.
//! Every method validates its parameters; bad input gets a JSON-RPC error.

pub mod convert;
pub mod dev;
pub mod error;
pub mod eth;
pub mod filters;
pub mod pubsub;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use jsonrpsee::{
    server::{Server, ServerConfig, ServerHandle},
    RpcModule,
};

use crate::chain::Chain;

/// Largest request body accepted (a contract deployment with a 24 KiB program fits easily).
const MAX_REQUEST_BYTES: u32 = 16 * 1024 * 1024;

/// What every method sees.
#[derive(Debug, Clone)]
pub struct RpcContext {
    chain: Arc<Mutex<Chain>>,
    filters: Arc<Mutex<filters::Filters>>,
    /// `web3_clientVersion`.
    pub client_version: String,
}

impl RpcContext {
    /// A context over `chain`.
    pub fn new(chain: Arc<Mutex<Chain>>) -> Self {
        Self {
            chain,
            filters: Arc::default(),
            client_version: format!("cor-devnode/v{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Locks the chain. A panic in another request cannot leave it half-updated (state
    /// changes are applied whole), so a poisoned lock is used as is.
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Binding the port failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Registering methods failed (a bug).
    #[error("registering methods: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
}

/// Every method, over `ctx`.
///
/// # Errors
/// [`RpcError::Register`] when two methods share a name (a bug).
pub fn module(ctx: RpcContext) -> Result<RpcModule<RpcContext>, RpcError> {
    let mut module = RpcModule::new(ctx);
    eth::register(&mut module)?;
    dev::register(&mut module)?;
    filters::register(&mut module)?;
    pubsub::register(&mut module)?;
    Ok(module)
}

/// Starts serving on `addr`; returns the bound address and the handle that stops it.
///
/// # Errors
/// An [`RpcError`] when the port cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    ctx: RpcContext,
) -> Result<(SocketAddr, ServerHandle), RpcError> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_REQUEST_BYTES * 4)
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|source| RpcError::Bind { addr, source })?;
    let bound = server
        .local_addr()
        .map_err(|source| RpcError::Bind { addr, source })?;
    let handle = server.start(module(ctx)?);
    Ok((bound, handle))
}
