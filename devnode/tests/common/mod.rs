//! Helpers for the node's integration tests: a minimal JSON-RPC-over-HTTP client (std
//! only), signing, and the built contracts.
#![allow(dead_code, unreachable_pub)]

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{hex, Address, Bytes, TxKind, B256, U256};
use cor_devnode::chain::keys::DevAccount;
use serde_json::{json, Value};

/// JSON-RPC over HTTP with nothing but a TCP socket.
#[derive(Debug, Clone)]
pub struct Rpc {
    addr: SocketAddr,
}

impl Rpc {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// Posts `body` and returns the parsed response.
    pub fn post(&self, body: &str) -> Value {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.addr,
            body.len(),
            body
        );
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let text = String::from_utf8(response).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("http response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// Calls `method`; `Ok(result)` or `Err(error object)`.
    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut response = self.post(&body.to_string());
        if let Some(error) = response.get_mut("error") {
            return Err(error.take());
        }
        Ok(response["result"].take())
    }

    /// Calls `method` and expects success.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    pub fn u64(&self, method: &str, params: Value) -> u64 {
        quantity(&self.call(method, params))
    }

    pub fn u256(&self, method: &str, params: Value) -> U256 {
        self.call(method, params)
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("quantity")
    }

    /// Sends a signed EIP-1559 transaction and returns its receipt.
    pub fn send(&self, from: &DevAccount, to: Option<Address>, value: U256, input: Bytes) -> Value {
        let raw = self.sign(from, to, value, input, None);
        let hash = self.call("eth_sendRawTransaction", json!([raw]));
        self.receipt(hash.as_str().unwrap())
    }

    /// Signs an EIP-1559 transaction (nonce from the node, gas estimated unless given).
    pub fn sign(
        &self,
        from: &DevAccount,
        to: Option<Address>,
        value: U256,
        input: Bytes,
        gas: Option<u64>,
    ) -> String {
        let chain_id = self.u64("eth_chainId", json!([]));
        let nonce = self.u64("eth_getTransactionCount", json!([from.address, "pending"]));
        let gas = gas.unwrap_or_else(|| {
            let mut request = json!({"from": from.address, "value": value, "input": input});
            if let Some(to) = to {
                request["to"] = json!(to);
            }
            self.u64("eth_estimateGas", json!([request]))
        });
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 0,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value,
            input,
            ..Default::default()
        };
        let sig = from.sign_hash(&tx.signature_hash());
        let envelope = TxEnvelope::from(tx.into_signed(sig));
        hex::encode_prefixed(envelope.encoded_2718())
    }

    /// The receipt of `hash` (the node mines instantly).
    pub fn receipt(&self, hash: &str) -> Value {
        for _ in 0..200 {
            let receipt = self.call("eth_getTransactionReceipt", json!([hash]));
            if !receipt.is_null() {
                return receipt;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no receipt for {hash}");
    }
}

pub fn quantity(value: &Value) -> u64 {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("not a quantity: {value}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex quantity")
}

pub fn bytes(value: &Value) -> Bytes {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("hex bytes")
}

pub fn b256(value: &Value) -> B256 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("32-byte hex")
}

pub fn address(value: &Value) -> Address {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("address")
}

/// Deployable code of a project contract, from `cargo contracts build`.
pub fn contract_code(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("contracts"),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/contracts"),
    };
    let path = dir.join(format!("{name}.wasm"));
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the contracts first: `cargo contracts build` (with the same \
             CARGO_TARGET_DIR as the tests)",
            path.display()
        )
    });
    cor_devnode::stylus::program::encode_code(&wasm)
}

pub use cor_abi::stylus::constructor_call;
