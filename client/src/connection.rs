//! A signing connection to a chain: typed views, and transactions that are simulated,
//! signed locally, sent and waited for, with reverts decoded.
//!
//! Nonces are kept here rather than by a provider filler: a transaction whose simulation
//! fails never takes a nonce, so a failed call cannot leave a gap that blocks every later
//! transaction. Sends through one [`Connection`] are serialised; clones share the nonce.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::{RpcError, TransportError},
};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use tokio::sync::Mutex;

use crate::revert::Revert;

/// Why a call or transaction failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The RPC URL could not be parsed.
    #[error("bad RPC URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The node could not be reached or answered with an error that is not a revert.
    #[error("RPC: {0}")]
    Rpc(TransportError),
    /// The call reverted (in simulation, before anything was sent).
    #[error("{0}")]
    Reverted(Box<Revert>),
    /// The transaction was mined but failed.
    #[error("transaction {hash} failed on chain (gas used {gas_used})")]
    FailedOnChain {
        /// The transaction.
        hash: B256,
        /// Gas it used.
        gas_used: u64,
    },
    /// No receipt arrived in time.
    #[error("no receipt for transaction {hash} after {waited:?}")]
    NoReceipt {
        /// The transaction.
        hash: B256,
        /// How long it was waited for.
        waited: Duration,
    },
    /// The return data did not decode as the call's return type.
    #[error("cannot decode the return of {call}: {reason}")]
    Decode {
        /// The call's Solidity signature.
        call: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

impl ClientError {
    /// True for failures that may pass when tried again (the node unreachable, a
    /// timeout); false for reverts and bad input, which will fail the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            // Connection refused, reset, HTTP errors, timeouts: the node may come back.
            ClientError::Rpc(RpcError::Transport(_)) => true,
            ClientError::Rpc(RpcError::ErrorResp(payload)) => payload.is_retry_err(),
            ClientError::Rpc(RpcError::NullResp) | ClientError::NoReceipt { .. } => true,
            _ => false,
        }
    }

    /// The decoded revert, when this is one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            ClientError::Reverted(r) => Some(r),
            _ => None,
        }
    }
}

/// A transaction signed and ready to send; its hash is known before it is sent, so a
/// caller can record it first and find it again after a crash.
#[derive(Clone, Debug)]
pub struct SignedTx {
    /// The transaction hash.
    pub hash: B256,
    /// The sender's nonce it uses.
    pub nonce: u64,
    raw: Bytes,
    request: TransactionRequest,
}

/// How long to wait for receipts and how often to ask.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// First polling interval (doubles up to one second).
    pub poll: Duration,
}

impl Default for ReceiptPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            poll: Duration::from_millis(20),
        }
    }
}

/// A connection to one chain with one signing account.
#[derive(Clone)]
pub struct Connection {
    provider: DynProvider,
    wallet: EthereumWallet,
    address: Address,
    chain_id: u64,
    next_nonce: Arc<Mutex<Option<u64>>>,
    labels: Arc<std::sync::RwLock<HashMap<Address, &'static str>>>,
    receipts: ReceiptPolicy,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

/// Gas limits are the estimate plus this share (percent): Stylus programs' gas depends
/// on cold/warm state and ink rounding that can differ between estimate and inclusion.
const GAS_MARGIN_PERCENT: u64 = 25;

impl Connection {
    /// Connects to the HTTP JSON-RPC at `url` and signs with `signer`.
    ///
    /// # Errors
    /// [`ClientError::BadUrl`], or [`ClientError::Rpc`] when the chain id cannot be read.
    pub async fn connect(url: &str, signer: PrivateKeySigner) -> Result<Self, ClientError> {
        let parsed = url
            .parse::<alloy::transports::http::reqwest::Url>()
            .map_err(|e| ClientError::BadUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl {
                url: url.to_owned(),
                reason: "expected an http:// or https:// URL".to_owned(),
            });
        }
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(parsed)
            .erased();
        let chain_id = provider.get_chain_id().await.map_err(ClientError::Rpc)?;
        let address = signer.address();
        Ok(Self {
            provider,
            wallet: EthereumWallet::from(signer),
            address,
            chain_id,
            next_nonce: Arc::new(Mutex::new(None)),
            labels: Arc::default(),
            receipts: ReceiptPolicy::default(),
        })
    }

    /// Sets how receipts are waited for.
    pub fn with_receipt_policy(mut self, policy: ReceiptPolicy) -> Self {
        self.receipts = policy;
        self
    }

    /// Names the contract at `address`, so its reverts are decoded with its ABI first.
    pub fn label(&self, address: Address, contract: &'static str) {
        if let Ok(mut labels) = self.labels.write() {
            labels.insert(address, contract);
        }
    }

    fn label_of(&self, address: Address) -> Option<&'static str> {
        self.labels.read().ok()?.get(&address).copied()
    }

    /// The signing account.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The chain's id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The underlying provider, for reads this type does not wrap (blocks, logs).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn classify(&self, error: TransportError, to: Option<Address>) -> ClientError {
        if let RpcError::ErrorResp(payload) = &error {
            if let Some(data) = payload.as_revert_data() {
                return ClientError::Reverted(Box::new(Revert::decode(
                    data,
                    to.and_then(|a| self.label_of(a)),
                )));
            }
        }
        ClientError::Rpc(error)
    }

    /// Calls `call` on `to` at the latest block and decodes the result.
    ///
    /// # Errors
    /// [`ClientError::Reverted`] with the decoded error, [`ClientError::Rpc`],
    /// [`ClientError::Decode`].
    pub async fn view<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, ClientError> {
        self.view_at(to, call, alloy::eips::BlockId::latest()).await
    }

    /// [`Connection::view`] at `block`: several views at one block see one state, even
    /// while others send transactions.
    ///
    /// # Errors
    /// As [`Connection::view`].
    pub async fn view_at<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        block: alloy::eips::BlockId,
    ) -> Result<C::Return, ClientError> {
        let request = TransactionRequest::default()
            .from(self.address)
            .to(to)
            .input(call.abi_encode().into());
        let out = self
            .provider
            .call(request)
            .block(block)
            .await
            .map_err(|e| self.classify(e, Some(to)))?;
        C::abi_decode_returns(&out).map_err(|e| ClientError::Decode {
            call: C::SIGNATURE,
            reason: e.to_string(),
        })
    }

    /// Sends `call` to `to` and waits for its successful receipt.
    ///
    /// # Errors
    /// As [`Connection::sign`] and [`Connection::submit`].
    pub async fn send<C: SolCall>(
        &self,
        to: Address,
        call: &C,
    ) -> Result<TransactionReceipt, ClientError> {
        self.send_value(to, call.abi_encode().into(), U256::ZERO)
            .await
    }

    /// Sends `data` with `value` to `to` and waits for its successful receipt.
    ///
    /// # Errors
    /// As [`Connection::sign`] and [`Connection::submit`].
    pub async fn send_value(
        &self,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<TransactionReceipt, ClientError> {
        let signed = self.sign(to, data, value).await?;
        self.submit(&signed).await
    }

    /// Estimates the gas of a transaction from this account (a revert is decoded).
    ///
    /// # Errors
    /// [`ClientError::Reverted`], [`ClientError::Rpc`].
    pub async fn estimate(
        &self,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<u64, ClientError> {
        let request = TransactionRequest::default()
            .from(self.address)
            .to(to)
            .value(value)
            .input(data.into());
        self.provider
            .estimate_gas(request)
            .await
            .map_err(|e| self.classify(e, Some(to)))
    }

    /// Simulates the transaction (a revert stops here, decoded, without using a nonce),
    /// then takes the next nonce and signs. The transaction must then be passed to
    /// [`Connection::submit`] before anything else is signed through this connection, or
    /// its nonce is reused.
    ///
    /// # Errors
    /// [`ClientError::Reverted`], [`ClientError::Rpc`], [`ClientError::Sign`].
    pub async fn sign(
        &self,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<SignedTx, ClientError> {
        let request = TransactionRequest::default()
            .from(self.address)
            .to(to)
            .value(value)
            .input(data.into());
        let estimate = self
            .provider
            .estimate_gas(request.clone())
            .await
            .map_err(|e| self.classify(e, Some(to)))?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(ClientError::Rpc)?;
        let mut next = self.next_nonce.lock().await;
        let nonce = match *next {
            Some(nonce) => nonce,
            None => self
                .provider
                .get_transaction_count(self.address)
                .pending()
                .await
                .map_err(ClientError::Rpc)?,
        };
        let request = request
            .nonce(nonce)
            .with_chain_id(self.chain_id)
            .gas_limit(estimate + estimate * GAS_MARGIN_PERCENT / 100)
            .max_fee_per_gas(fees.max_fee_per_gas)
            .max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let signed = self.sign_request(request).await?;
        *next = Some(nonce + 1);
        Ok(signed)
    }

    async fn sign_request(&self, request: TransactionRequest) -> Result<SignedTx, ClientError> {
        let envelope = request
            .clone()
            .build(&self.wallet)
            .await
            .map_err(|e| ClientError::Sign(e.to_string()))?;
        Ok(SignedTx {
            hash: *envelope.tx_hash(),
            nonce: request.nonce.unwrap_or_default(),
            raw: alloy::eips::Encodable2718::encoded_2718(&envelope).into(),
            request,
        })
    }

    /// The same transaction (same nonce) paying 12.5 % more per gas, to replace one that
    /// is stuck in the pool: nodes accept a replacement that pays at least 10 % more.
    ///
    /// # Errors
    /// [`ClientError::Sign`].
    pub async fn bump(&self, tx: &SignedTx) -> Result<SignedTx, ClientError> {
        let raise = |fee: Option<u128>| {
            let fee = fee.unwrap_or_default();
            fee + fee / 8 + 1
        };
        let request = tx
            .request
            .clone()
            .max_fee_per_gas(raise(tx.request.max_fee_per_gas))
            .max_priority_fee_per_gas(raise(tx.request.max_priority_fee_per_gas));
        self.sign_request(request).await
    }

    /// Sends a signed transaction without waiting for it; returns once the node accepted
    /// it (or already had it).
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the node refuses it; the nonce is then read afresh.
    pub async fn broadcast(&self, tx: &SignedTx) -> Result<(), ClientError> {
        if let Err(error) = self.provider.send_raw_transaction(&tx.raw).await {
            let known = matches!(&error, RpcError::ErrorResp(p)
                if p.message.contains("already known"));
            if !known {
                *self.next_nonce.lock().await = None;
                return Err(ClientError::Rpc(error));
            }
        }
        Ok(())
    }

    /// Sends a signed transaction (again, after a restart, is fine: a node that has it
    /// already answers with its hash or "already known") and waits for its receipt.
    ///
    /// # Errors
    /// [`ClientError::FailedOnChain`] for a mined failure, [`ClientError::NoReceipt`],
    /// [`ClientError::Rpc`].
    pub async fn submit(&self, tx: &SignedTx) -> Result<TransactionReceipt, ClientError> {
        if let Err(error) = self.provider.send_raw_transaction(&tx.raw).await {
            let known = matches!(&error, RpcError::ErrorResp(p)
                if p.message.contains("already known"));
            let mined = matches!(&error, RpcError::ErrorResp(p)
                if p.message.contains("nonce too low"))
                && self.receipt(tx.hash).await?.is_some();
            if !known && !mined {
                // The nonce was not used: the next transaction reads it from the node.
                *self.next_nonce.lock().await = None;
                return Err(ClientError::Rpc(error));
            }
        }
        self.wait(tx.hash).await
    }

    /// Waits for the receipt of `hash` under the connection's [`ReceiptPolicy`].
    ///
    /// # Errors
    /// [`ClientError::FailedOnChain`], [`ClientError::NoReceipt`], [`ClientError::Rpc`].
    pub async fn wait(&self, hash: B256) -> Result<TransactionReceipt, ClientError> {
        let started = std::time::Instant::now();
        let mut poll = self.receipts.poll;
        loop {
            if let Some(receipt) = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(ClientError::Rpc)?
            {
                if !receipt.status() {
                    return Err(ClientError::FailedOnChain {
                        hash,
                        gas_used: receipt.gas_used,
                    });
                }
                return Ok(receipt);
            }
            if started.elapsed() >= self.receipts.timeout {
                return Err(ClientError::NoReceipt {
                    hash,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(Duration::from_secs(1));
        }
    }

    /// The receipt of `hash` if it is mined (successful or not), without waiting.
    ///
    /// # Errors
    /// [`ClientError::Rpc`].
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ClientError> {
        self.provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ClientError::Rpc)
    }

    /// Forgets the cached nonce, so the next transaction reads it from the node (after
    /// transactions were sent from this account by someone else).
    pub async fn reset_nonce(&self) {
        *self.next_nonce.lock().await = None;
    }
}

/// Every event of type `E` in a receipt, in log order (matched by signature, from any
/// emitter).
pub fn events<E: alloy_sol_types::SolEvent>(receipt: &TransactionReceipt) -> Vec<E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.topics().first() == Some(&E::SIGNATURE_HASH))
        .filter_map(|log| E::decode_log_data(log.data()).ok())
        .collect()
}
