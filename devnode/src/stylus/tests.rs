//! Hand-written WAT programs exercising the host functions through revm.

use alloy_primitives::{address, hex, keccak256, Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolError};

use crate::{
    evm::arbwasm::IArbWasm,
    stylus::program::encode_code,
    testutil::{TestChain, SENDER},
};

const COUNTER: Address = address!("0x00000000000000000000000000000000000c0001");
const ENV: Address = address!("0x00000000000000000000000000000000000c0002");
const PROXY: Address = address!("0x00000000000000000000000000000000000c0003");
const REVERTER: Address = address!("0x00000000000000000000000000000000000c0004");
const FORWARDER: Address = address!("0x00000000000000000000000000000000000c0005");
const MISC: Address = address!("0x00000000000000000000000000000000000c0006");

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test program assembles")
}

/// Adds one to slot 0, flushes, logs `Counted(value)` and returns the value.
const COUNTER_WAT: &str = r#"(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "storage_load_bytes32" (func $load (param i32 i32)))
  (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
  (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
  (import "vm_hooks" "emit_log" (func $log (param i32 i32 i32)))
  (import "vm_hooks" "pay_for_memory_grow" (func $grow (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 128) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12\13\14\15\16\17\18\19\1a\1b\1c\1d\1e\1f\20")
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (call $grow (i32.const 0))
    (call $load (i32.const 0) (i32.const 32))
    (i32.store8 (i32.const 63) (i32.add (i32.load8_u (i32.const 63)) (i32.const 1)))
    (call $cache (i32.const 0) (i32.const 32))
    (call $flush (i32.const 0))
    (memory.copy (i32.const 160) (i32.const 32) (i32.const 32))
    (call $log (i32.const 128) (i32.const 64) (i32.const 1))
    (call $write_result (i32.const 32) (i32.const 32))
    (i32.const 0)))"#;

/// Returns the frame and block facts, laid out as the test reads them.
const ENV_WAT: &str = r#"(module
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "msg_sender" (func $msg_sender (param i32)))
  (import "vm_hooks" "contract_address" (func $contract_address (param i32)))
  (import "vm_hooks" "tx_origin" (func $tx_origin (param i32)))
  (import "vm_hooks" "msg_value" (func $msg_value (param i32)))
  (import "vm_hooks" "chainid" (func $chainid (result i64)))
  (import "vm_hooks" "block_number" (func $block_number (result i64)))
  (import "vm_hooks" "block_timestamp" (func $block_timestamp (result i64)))
  (import "vm_hooks" "evm_gas_left" (func $gas_left (result i64)))
  (import "vm_hooks" "msg_reentrant" (func $reentrant (result i32)))
  (import "vm_hooks" "tx_ink_price" (func $ink_price (result i32)))
  (import "vm_hooks" "block_gas_limit" (func $gas_limit (result i64)))
  (import "vm_hooks" "block_coinbase" (func $coinbase (param i32)))
  (import "vm_hooks" "block_basefee" (func $basefee (param i32)))
  (import "vm_hooks" "tx_gas_price" (func $gas_price (param i32)))
  (import "vm_hooks" "evm_ink_left" (func $ink_left (result i64)))
  (memory (export "memory") 1)
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (call $msg_sender (i32.const 0))
    (call $contract_address (i32.const 20))
    (call $tx_origin (i32.const 40))
    (call $msg_value (i32.const 60))
    (i64.store (i32.const 92) (call $chainid))
    (i64.store (i32.const 100) (call $block_number))
    (i64.store (i32.const 108) (call $block_timestamp))
    (i64.store (i32.const 116) (call $gas_left))
    (i32.store (i32.const 124) (call $reentrant))
    (i32.store (i32.const 128) (call $ink_price))
    (i64.store (i32.const 132) (call $gas_limit))
    (call $coinbase (i32.const 140))
    (call $basefee (i32.const 160))
    (call $gas_price (i32.const 192))
    (i64.store (i32.const 224) (call $ink_left))
    (call $write_result (i32.const 0) (i32.const 232))
    (i32.const 0)))"#;

/// Args `[kind][address: 20][calldata]`: calls (0), delegate-calls (1) or static-calls (2)
/// the address and returns or reverts with what it returned. Empty args: returns the
/// reentrancy flag. Kind 3: stores 7 in slot 1 first, then calls.
const PROXY_WAT: &str = r#"(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "call_contract" (func $call (param i32 i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "delegate_call_contract" (func $dcall (param i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "static_call_contract" (func $scall (param i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "read_return_data" (func $read_return (param i32 i32 i32) (result i32)))
  (import "vm_hooks" "return_data_size" (func $return_size (result i32)))
  (import "vm_hooks" "msg_reentrant" (func $reentrant (result i32)))
  (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
  (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
  (memory (export "memory") 1)
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (local $kind i32) (local $status i32) (local $rlen i32)
    (if (i32.eqz (local.get $len))
      (then
        (i32.store (i32.const 0) (call $reentrant))
        (call $write_result (i32.const 0) (i32.const 4))
        (return (i32.const 0))))
    (call $read_args (i32.const 0))
    (local.set $kind (i32.load8_u (i32.const 0)))
    (if (i32.eq (local.get $kind) (i32.const 3))
      (then
        (i32.store8 (i32.const 20031) (i32.const 1))
        (i32.store8 (i32.const 20063) (i32.const 7))
        (call $cache (i32.const 20000) (i32.const 20032))
        (call $flush (i32.const 1))
        (local.set $kind (i32.const 0))))
    (if (i32.eqz (local.get $kind))
      (then (local.set $status (call $call (i32.const 1) (i32.const 21)
        (i32.sub (local.get $len) (i32.const 21)) (i32.const 4096) (i64.const -1) (i32.const 4200)))))
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then (local.set $status (call $dcall (i32.const 1) (i32.const 21)
        (i32.sub (local.get $len) (i32.const 21)) (i64.const -1) (i32.const 4200)))))
    (if (i32.eq (local.get $kind) (i32.const 2))
      (then (local.set $status (call $scall (i32.const 1) (i32.const 21)
        (i32.sub (local.get $len) (i32.const 21)) (i64.const -1) (i32.const 4200)))))
    (local.set $rlen (call $return_size))
    (drop (call $read_return (i32.const 8192) (i32.const 0) (local.get $rlen)))
    (call $write_result (i32.const 8192) (local.get $rlen))
    (i32.ne (local.get $status) (i32.const 0))))"#;

/// Stores 1 in slot 0, then reverts with "no".
const REVERTER_WAT: &str = r#"(module
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
  (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "no")
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (i32.store8 (i32.const 63) (i32.const 1))
    (call $cache (i32.const 0) (i32.const 32))
    (call $flush (i32.const 0))
    (call $write_result (i32.const 100) (i32.const 2))
    (i32.const 1)))"#;

/// Selected by the first argument byte:
/// 0 keccak of the rest; 1 math (div, mod, pow, addmod, mulmod); 2 loop forever;
/// 3 exit_early(0) after writing "ok"; 4 exit_early(1) after writing "bad";
/// 5 tstore then tload a word; 6 balance, codehash and code size of args[1..21];
/// 7 grow memory by args[1] pages; 8 create1 with init code args[1..];
/// 9 unreachable.
const MISC_WAT: &str = r#"(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "exit_early" (func $exit (param i32)))
  (import "vm_hooks" "native_keccak256" (func $keccak (param i32 i32 i32)))
  (import "vm_hooks" "math_div" (func $div (param i32 i32)))
  (import "vm_hooks" "math_mod" (func $mod (param i32 i32)))
  (import "vm_hooks" "math_pow" (func $pow (param i32 i32)))
  (import "vm_hooks" "math_add_mod" (func $addmod (param i32 i32 i32)))
  (import "vm_hooks" "math_mul_mod" (func $mulmod (param i32 i32 i32)))
  (import "vm_hooks" "transient_store_bytes32" (func $tstore (param i32 i32)))
  (import "vm_hooks" "transient_load_bytes32" (func $tload (param i32 i32)))
  (import "vm_hooks" "account_balance" (func $balance (param i32 i32)))
  (import "vm_hooks" "account_codehash" (func $codehash (param i32 i32)))
  (import "vm_hooks" "account_code_size" (func $code_size (param i32) (result i32)))
  (import "vm_hooks" "create1" (func $create1 (param i32 i32 i32 i32 i32)))
  (import "vm_hooks" "pay_for_memory_grow" (func $pay (param i32)))
  (memory (export "memory") 1 128)
  (data (i32.const 900) "okbad")
  (func $word (param $at i32) (param $v i32)
    (i32.store8 (i32.add (local.get $at) (i32.const 31)) (local.get $v)))
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (local $op i32)
    (call $pay (i32.const 0))
    (call $read_args (i32.const 0))
    (local.set $op (i32.load8_u (i32.const 0)))
    (block $done
      (if (i32.eqz (local.get $op)) (then
        (call $keccak (i32.const 1) (i32.sub (local.get $len) (i32.const 1)) (i32.const 1000))
        (call $write_result (i32.const 1000) (i32.const 32))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 1)) (then
        (call $word (i32.const 1000) (i32.const 100)) (call $word (i32.const 1032) (i32.const 7))
        (call $div (i32.const 1000) (i32.const 1032))
        (call $word (i32.const 1064) (i32.const 100)) (call $word (i32.const 1096) (i32.const 7))
        (call $mod (i32.const 1064) (i32.const 1096))
        (call $word (i32.const 1128) (i32.const 2)) (call $word (i32.const 1160) (i32.const 10))
        (call $pow (i32.const 1128) (i32.const 1160))
        (call $word (i32.const 1192) (i32.const 5)) (call $word (i32.const 1224) (i32.const 6))
        (call $word (i32.const 1256) (i32.const 7))
        (call $addmod (i32.const 1192) (i32.const 1224) (i32.const 1256))
        (call $word (i32.const 1288) (i32.const 5)) (call $word (i32.const 1320) (i32.const 6))
        (call $word (i32.const 1352) (i32.const 7))
        (call $mulmod (i32.const 1288) (i32.const 1320) (i32.const 1352))
        (memory.copy (i32.const 2000) (i32.const 1000) (i32.const 32))
        (memory.copy (i32.const 2032) (i32.const 1064) (i32.const 32))
        (memory.copy (i32.const 2064) (i32.const 1128) (i32.const 32))
        (memory.copy (i32.const 2096) (i32.const 1192) (i32.const 32))
        (memory.copy (i32.const 2128) (i32.const 1288) (i32.const 32))
        (call $write_result (i32.const 2000) (i32.const 160))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 2)) (then
        (loop $forever (br $forever))))
      (if (i32.eq (local.get $op) (i32.const 3)) (then
        (call $write_result (i32.const 900) (i32.const 2))
        (call $exit (i32.const 0))))
      (if (i32.eq (local.get $op) (i32.const 4)) (then
        (call $write_result (i32.const 902) (i32.const 3))
        (call $exit (i32.const 1))))
      (if (i32.eq (local.get $op) (i32.const 5)) (then
        (call $word (i32.const 1032) (i32.const 42))
        (call $tstore (i32.const 1000) (i32.const 1032))
        (call $tload (i32.const 1000) (i32.const 1064))
        (call $write_result (i32.const 1064) (i32.const 32))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 6)) (then
        (call $balance (i32.const 1) (i32.const 1000))
        (call $codehash (i32.const 1) (i32.const 1032))
        (i32.store (i32.const 1064) (call $code_size (i32.const 1)))
        (call $write_result (i32.const 1000) (i32.const 68))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 7)) (then
        (i32.store (i32.const 1000) (memory.grow (i32.load8_u (i32.const 1))))
        (call $write_result (i32.const 1000) (i32.const 4))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 8)) (then
        (call $word (i32.const 3000) (i32.const 0))
        (call $create1 (i32.const 1) (i32.sub (local.get $len) (i32.const 1)) (i32.const 3000)
          (i32.const 3100) (i32.const 3200))
        (call $write_result (i32.const 3100) (i32.const 20))
        (br $done)))
      (if (i32.eq (local.get $op) (i32.const 9)) (then unreachable)))
    (i32.const 0)))"#;

/// EVM code: calls the address in the first calldata word with the rest of the calldata
/// and returns (or reverts with) what it returned.
const FORWARDER_EVM: &str =
    "60203603806020600037600060008260006000600035 5af13d600060003e3d906027573d6000fd5b3d6000f3";

fn forwarder_code() -> Bytes {
    hex::decode(FORWARDER_EVM.replace(' ', ""))
        .expect("hex")
        .into()
}

fn word(address: Address) -> Vec<u8> {
    let mut w = vec![0u8; 12];
    w.extend_from_slice(address.as_slice());
    w
}

fn proxy_args(kind: u8, to: Address, data: &[u8]) -> Vec<u8> {
    let mut args = vec![kind];
    args.extend_from_slice(to.as_slice());
    args.extend_from_slice(data);
    args
}

fn chain() -> TestChain {
    let mut chain = TestChain::new();
    chain.deploy_program(COUNTER, &wat(COUNTER_WAT));
    chain.deploy_program(ENV, &wat(ENV_WAT));
    chain.deploy_program(PROXY, &wat(PROXY_WAT));
    chain.deploy_program(REVERTER, &wat(REVERTER_WAT));
    chain.deploy_program(MISC, &wat(MISC_WAT));
    chain.set_code(FORWARDER, forwarder_code());
    chain
}

#[test]
fn storage_persists_and_logs_are_emitted() {
    let mut chain = chain();
    let first = chain.send(COUNTER, vec![]);
    assert!(first.success, "{first:?}");
    assert_eq!(U256::from_be_slice(&first.output), U256::from(1));
    assert_eq!(first.logs.len(), 1);
    assert_eq!(first.logs[0].address, COUNTER);
    assert_eq!(first.logs[0].topics()[0].0[0], 1);
    assert_eq!(U256::from_be_slice(&first.logs[0].data.data), U256::from(1));
    let second = chain.send(COUNTER, vec![]);
    assert_eq!(U256::from_be_slice(&second.output), U256::from(2));
    assert_eq!(chain.storage(COUNTER, 0), U256::from(2));
    // The first write to a fresh slot costs an EVM SSTORE (20 000) plus the cold load.
    assert!(first.gas_used > 21_000 + 22_100, "gas {}", first.gas_used);
    assert!(second.gas_used < first.gas_used, "rewrites are cheaper");
}

#[test]
fn environment_hooks_report_frame_and_block() {
    let chain = chain();
    let out = chain.call(ENV, vec![]);
    assert!(out.success, "{out:?}");
    let o = &out.output;
    assert_eq!(&o[0..20], SENDER.as_slice());
    assert_eq!(&o[20..40], ENV.as_slice());
    assert_eq!(&o[40..60], SENDER.as_slice());
    assert_eq!(U256::from_be_slice(&o[60..92]), U256::ZERO);
    let le = |r: std::ops::Range<usize>| u64::from_le_bytes(o[r].try_into().unwrap());
    assert_eq!(le(92..100), 412_346);
    assert_eq!(le(100..108), chain.block.number);
    assert_eq!(le(108..116), chain.block.timestamp);
    let gas_left = le(116..124);
    assert!(gas_left > 29_000_000 && gas_left < 30_000_000, "{gas_left}");
    assert_eq!(u32::from_le_bytes(o[124..128].try_into().unwrap()), 0);
    assert_eq!(u32::from_le_bytes(o[128..132].try_into().unwrap()), 10_000);
    assert_eq!(le(132..140), chain.block.gas_limit);
    let ink_left = le(224..232);
    assert!(ink_left / 10_000 <= gas_left, "ink left is measured later");
}

#[test]
fn stylus_calls_stylus_and_evm_both_ways() {
    let mut chain = chain();
    // Stylus -> Stylus.
    let out = chain.send(PROXY, proxy_args(0, COUNTER, &[]));
    assert!(out.success, "{out:?}");
    assert_eq!(U256::from_be_slice(&out.output), U256::from(1));
    // EVM -> Stylus.
    let out = chain.send(FORWARDER, word(COUNTER));
    assert!(out.success, "{out:?}");
    assert_eq!(U256::from_be_slice(&out.output), U256::from(2));
    // Stylus -> EVM -> Stylus.
    let out = chain.send(PROXY, proxy_args(0, FORWARDER, &word(COUNTER)));
    assert!(out.success, "{out:?}");
    assert_eq!(U256::from_be_slice(&out.output), U256::from(3));
    assert_eq!(chain.storage(COUNTER, 0), U256::from(3));
    assert_eq!(
        out.logs.len(),
        1,
        "the inner program's log reaches the receipt"
    );
}

#[test]
fn reverts_roll_back_nested_state() {
    let mut chain = chain();
    // The proxy writes slot 1 then calls the reverter, then reverts with its data.
    let out = chain.send(PROXY, proxy_args(3, REVERTER, &[]));
    assert!(!out.success);
    assert_eq!(out.output.as_ref(), b"no");
    assert_eq!(chain.storage(PROXY, 1), U256::ZERO);
    assert_eq!(chain.storage(REVERTER, 0), U256::ZERO);
    // Called from EVM, the program's revert reaches the EVM caller with its data.
    let out = chain.send(FORWARDER, word(REVERTER));
    assert!(!out.success);
    assert_eq!(out.output.as_ref(), b"no");
}

#[test]
fn static_calls_forbid_writes_and_delegate_calls_act_for_the_caller() {
    let mut chain = chain();
    let out = chain.send(PROXY, proxy_args(2, COUNTER, &[]));
    assert!(!out.success, "a static call into a writer fails");
    assert_eq!(chain.storage(COUNTER, 0), U256::ZERO);
    // Delegate call: the counter's code runs on the proxy's storage.
    let out = chain.send(PROXY, proxy_args(1, COUNTER, &[]));
    assert!(out.success, "{out:?}");
    assert_eq!(chain.storage(PROXY, 0), U256::from(1));
    assert_eq!(chain.storage(COUNTER, 0), U256::ZERO);
    assert_eq!(out.logs[0].address, PROXY);
}

#[test]
fn reentrancy_is_visible_to_the_program() {
    let chain = chain();
    let direct = chain.call(PROXY, vec![]);
    assert_eq!(direct.output.as_ref(), &[0, 0, 0, 0]);
    // Proxy -> forwarder (EVM) -> proxy: the inner frame is reentrant.
    let out = chain.call(PROXY, proxy_args(0, FORWARDER, &word(PROXY)));
    assert!(out.success, "{out:?}");
    assert_eq!(out.output.as_ref(), &[1, 0, 0, 0]);
}

#[test]
fn keccak_and_math_hooks_compute() {
    let chain = chain();
    let out = chain.call(MISC, [&[0u8][..], b"hello"].concat());
    assert_eq!(out.output.as_ref(), keccak256(b"hello").as_slice());
    let out = chain.call(MISC, vec![1]);
    assert!(out.success, "{out:?}");
    let words: Vec<U256> = out.output.chunks(32).map(U256::from_be_slice).collect();
    assert_eq!(
        words,
        [14u64, 2, 1024, 4, 2].map(U256::from).to_vec(),
        "div, mod, pow, addmod, mulmod"
    );
}

#[test]
fn runaway_programs_run_out_of_gas() {
    let chain = chain();
    let out = chain.call(MISC, vec![2]);
    assert!(!out.success);
    assert_eq!(out.gas_used, 30_000_000);
}

#[test]
fn exit_early_returns_or_reverts() {
    let chain = chain();
    let ok = chain.call(MISC, vec![3]);
    assert!(ok.success);
    assert_eq!(ok.output.as_ref(), b"ok");
    let bad = chain.call(MISC, vec![4]);
    assert!(!bad.success);
    assert_eq!(bad.output.as_ref(), b"bad");
    let trap = chain.call(MISC, vec![9]);
    assert!(!trap.success);
    assert!(trap.output.is_empty());
    assert!(
        trap.gas_used < 30_000_000,
        "a trap keeps the gas left, like a revert"
    );
}

#[test]
fn transient_storage_and_account_views_work() {
    let chain = chain();
    let out = chain.call(MISC, vec![5]);
    assert_eq!(U256::from_be_slice(&out.output), U256::from(42));
    let out = chain.call(MISC, proxy_args(6, FORWARDER, &[]));
    assert!(out.success, "{out:?}");
    assert_eq!(U256::from_be_slice(&out.output[0..32]), U256::ZERO);
    assert_eq!(&out.output[32..64], keccak256(forwarder_code()).as_slice());
    let size = u32::from_le_bytes(out.output[64..68].try_into().unwrap());
    assert_eq!(size as usize, forwarder_code().len());
    let out = chain.call(MISC, proxy_args(6, SENDER, &[]));
    let balance = chain.world.account(&SENDER).unwrap().balance;
    assert_eq!(U256::from_be_slice(&out.output[0..32]), balance);
    assert!(
        balance < U256::from(10u128.pow(24)),
        "activation fees were paid"
    );
}

#[test]
fn memory_growth_is_priced() {
    let chain = chain();
    let small = chain.call(MISC, vec![7, 1]);
    let large = chain.call(MISC, vec![7, 40]);
    assert_eq!(small.output.as_ref(), &1u32.to_le_bytes());
    assert_eq!(large.output.as_ref(), &1u32.to_le_bytes());
    assert!(
        large.gas_used > small.gas_used + 39_000,
        "{} vs {}",
        large.gas_used,
        small.gas_used
    );
    let too_large = chain.call(MISC, vec![7, 200]);
    assert_eq!(too_large.output.as_ref(), &(-1i32).to_le_bytes());
}

#[test]
fn programs_create_contracts() {
    let mut chain = chain();
    // Init code returning one STOP byte: PUSH1 0 PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN.
    let init = hex::decode("600060005360016000f3").unwrap();
    let out = chain.send(MISC, [&[8u8][..], &init].concat());
    assert!(out.success, "{out:?}");
    let created = Address::from_slice(&out.output);
    // Accounts given code directly keep nonce 0.
    assert_eq!(created, MISC.create(0));
    assert_eq!(chain.world.code(&created).as_ref(), &[0x00]);
}

#[test]
fn unactivated_programs_revert_like_arbitrum() {
    let mut chain = chain();
    let lazy = address!("0x00000000000000000000000000000000000c0099");
    let idle = r#"(module (memory (export "memory") 1)
        (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;
    chain.set_code(lazy, encode_code(&wat(idle)).into());
    let out = chain.call(lazy, vec![]);
    assert!(!out.success);
    assert_eq!(
        out.output.as_ref(),
        IArbWasm::ProgramNotActivated {}.abi_encode().as_slice()
    );
    // Activating the same code again is rejected as up to date.
    let data = IArbWasm::activateProgramCall { program: COUNTER }.abi_encode();
    let again = chain.send_value(
        crate::evm::precompiles::ARB_WASM,
        data,
        U256::from(10u128.pow(18)),
    );
    assert!(!again.success);
    assert_eq!(
        again.output.as_ref(),
        IArbWasm::ProgramUpToDate {}.abi_encode().as_slice()
    );
}

/// Calls itself with `n - 1` until `n` (a little-endian u32 argument) is zero; returns the
/// depth reached.
const RECURSE_WAT: &str = r#"(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "contract_address" (func $me (param i32)))
  (import "vm_hooks" "call_contract" (func $call (param i32 i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "read_return_data" (func $read_return (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (local $n i32)
    (call $read_args (i32.const 0))
    (local.set $n (i32.load (i32.const 0)))
    (if (i32.eqz (local.get $n))
      (then
        (call $write_result (i32.const 0) (i32.const 4))
        (return (i32.const 0))))
    (call $me (i32.const 100))
    (i32.store (i32.const 200) (i32.sub (local.get $n) (i32.const 1)))
    (drop (call $call (i32.const 100) (i32.const 200) (i32.const 4) (i32.const 300)
      (i64.const -1) (i32.const 400)))
    (drop (call $read_return (i32.const 500) (i32.const 0) (i32.const 4)))
    (i32.store (i32.const 500) (i32.add (i32.load (i32.const 500)) (i32.const 1)))
    (call $write_result (i32.const 500) (i32.const 4))
    (i32.const 0)))"#;

#[test]
fn deep_program_recursion_is_bounded_by_gas_and_depth_not_the_native_stack() {
    // Each nested program call nests native frames. With the gas a transaction can have,
    // the 63/64 rule stops recursion long before the 1024-frame limit; even a 16 MiB
    // stack holds it in a debug build (the node's threads have 256 MiB).
    let handle = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(|| {
            let mut chain = TestChain::new();
            let me = address!("0x00000000000000000000000000000000000c0777");
            chain.deploy_program(me, &wat(RECURSE_WAT));
            let shallow = chain.call(me, 10u32.to_le_bytes().to_vec());
            assert_eq!(shallow.output.as_ref(), &10u32.to_le_bytes());
            let start = std::time::Instant::now();
            let deep = chain.call(me, 2_000u32.to_le_bytes().to_vec());
            assert!(deep.success, "{deep:?}");
            let depth = u32::from_le_bytes(deep.output[..4].try_into().unwrap());
            eprintln!(
                "nested program calls reached depth {depth} in {:?}",
                start.elapsed()
            );
            assert!(depth < 1_025, "the EVM call depth limit applies");
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}
