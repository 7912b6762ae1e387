//! A minimal chain for unit tests: a world state, transactions applied one by one.

use std::sync::Arc;

use alloy_primitives::{address, Address, Bytes, TxKind, B256, U256};
use alloy_sol_types::SolCall;
use revm::context::TxEnv;

use crate::{
    evm::{
        arbwasm::IArbWasm,
        exec::{execute, BlockContext, ExecOptions, Outcome},
        precompiles::ARB_WASM,
        state::{BlockHashes, StateDiff, StateOverrides, WorldState},
    },
    stylus::{program::encode_code, runtime::StylusRuntime},
};

/// The funded sender of test transactions.
pub(crate) const SENDER: Address = address!("0x00000000000000000000000000000000005e4de4");

pub(crate) struct TestChain {
    pub(crate) world: Arc<WorldState>,
    pub(crate) runtime: Arc<StylusRuntime>,
    pub(crate) block: BlockContext,
    nonce: u64,
}

impl TestChain {
    pub(crate) fn new() -> Self {
        let mut world = WorldState::default();
        world.apply(&crate::chain::genesis::genesis_state(
            &[SENDER],
            U256::from(10u128.pow(24)),
        ));
        Self {
            world: Arc::new(world),
            runtime: Arc::new(StylusRuntime::new().expect("runtime")),
            block: BlockContext {
                number: 1,
                timestamp: 1_700_000_000,
                gas_limit: 1_000_000_000,
                base_fee: 0,
                coinbase: Address::ZERO,
                prevrandao: B256::ZERO,
            },
            nonce: 0,
        }
    }

    pub(crate) fn set_code(&mut self, address: Address, code: Bytes) {
        let diff = StateDiff::set_code(&self.world, address, code);
        Arc::make_mut(&mut self.world).apply(&diff);
    }

    /// Puts a WASM program at `address` and activates it through ArbWasm.
    pub(crate) fn deploy_program(&mut self, address: Address, wasm: &[u8]) {
        self.set_code(address, encode_code(wasm).into());
        let data = IArbWasm::activateProgramCall { program: address }.abi_encode();
        let out = self.send_value(ARB_WASM, data, U256::from(10u128.pow(18)));
        assert!(out.success, "activation failed: {out:?}");
    }

    pub(crate) fn tx(&self, to: Address, data: Vec<u8>, value: U256) -> TxEnv {
        TxEnv {
            caller: SENDER,
            kind: TxKind::Call(to),
            data: data.into(),
            value,
            gas_limit: 30_000_000,
            gas_price: 0,
            nonce: self.nonce,
            chain_id: Some(412_346),
            ..Default::default()
        }
    }

    /// Sends a transaction and keeps its changes when it is valid.
    pub(crate) fn send_value(&mut self, to: Address, data: Vec<u8>, value: U256) -> Outcome {
        let tx = self.tx(to, data, value);
        self.send_tx(tx)
    }

    pub(crate) fn send(&mut self, to: Address, data: Vec<u8>) -> Outcome {
        self.send_value(to, data, U256::ZERO)
    }

    pub(crate) fn send_tx(&mut self, tx: TxEnv) -> Outcome {
        let out = execute(
            &self.runtime,
            &self.world,
            &BlockHashes::default(),
            412_346,
            &self.block,
            tx,
            StateOverrides::new(),
            ExecOptions::default(),
        )
        .expect("valid transaction");
        Arc::make_mut(&mut self.world).apply(&out.diff);
        self.nonce += 1;
        out
    }

    /// A call that changes nothing.
    pub(crate) fn call(&self, to: Address, data: Vec<u8>) -> Outcome {
        execute(
            &self.runtime,
            &self.world,
            &BlockHashes::default(),
            412_346,
            &self.block,
            self.tx(to, data, U256::ZERO),
            StateOverrides::new(),
            ExecOptions::CALL,
        )
        .expect("valid call")
    }

    pub(crate) fn storage(&self, address: Address, slot: u64) -> U256 {
        self.world.storage(&address, &U256::from(slot))
    }
}

/// Where `cargo contracts build` wrote the programs: `$CARGO_TARGET_DIR/contracts`, else
/// the workspace's `target/contracts`.
pub(crate) fn contracts_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("contracts"),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/contracts"),
    }
}

/// The processed WASM of a project contract (`cor_token`, `node_pool`...).
///
/// # Panics
/// When the contracts have not been built, with the command that builds them.
pub(crate) fn contract_wasm(name: &str) -> Vec<u8> {
    let path = contracts_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the contracts first: `cargo contracts build` (with the same \
             CARGO_TARGET_DIR as the tests)",
            path.display()
        )
    })
}
