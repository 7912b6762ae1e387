//! Stylus program code: the deployed format, its decompression, the checks activation
//! makes, and the record activation keeps.
//!
//! Deployed code is `0xEFF000`, one dictionary byte, then the brotli-compressed WASM
//! (dictionary 0: none). Activation decompresses it, validates it with Nitro's WASM
//! features, checks the imports (`vm_hooks`, and `console` for debug output) and exports
//! (`user_entrypoint`, `memory`), and estimates the init cost and native size from the
//! module's shape the way Nitro's activation does.

use std::io::Read;

use alloy_primitives::U256;
use wasmparser::{
    CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures,
};

use super::pricing::params;

/// The first three bytes of every Stylus program's code.
pub const STYLUS_PREFIX: [u8; 3] = [0xEF, 0xF0, 0x00];

/// Why a program could not be activated (or decoded).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProgramError {
    /// The code does not start with the Stylus prefix.
    #[error("code is not a Stylus program")]
    NotWasm,
    /// The dictionary byte names a dictionary this node does not have.
    #[error("unsupported compression dictionary {0}")]
    UnknownDictionary(u8),
    /// Brotli decompression failed or the result is too large.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The WASM is not valid under Nitro's feature set.
    #[error("invalid WASM: {0}")]
    Invalid(String),
    /// The program imports something other than the Stylus host functions.
    #[error("import {module}.{name} is not a Stylus host function (or has the wrong type)")]
    BadImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("missing or mistyped export `{0}`")]
    MissingExport(&'static str),
    /// The initial memory is larger than the page limit.
    #[error("initial memory of {0} pages exceeds the limit")]
    MemoryTooLarge(u64),
}

/// Returns true when `code` has the Stylus prefix and a dictionary byte.
pub fn is_stylus_code(code: &[u8]) -> bool {
    code.len() >= 4 && code[..3] == STYLUS_PREFIX
}

/// Deployable code for `wasm`: prefix, dictionary 0, brotli at quality 11.
pub fn encode_code(wasm: &[u8]) -> Vec<u8> {
    let mut out = STYLUS_PREFIX.to_vec();
    out.push(0);
    let mut params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    params.size_hint = wasm.len();
    let mut input = wasm;
    // Writing into a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut input, &mut out, &params);
    out
}

/// EVM init code that deploys `code` as is (what a contract-creation transaction or the
/// StylusDeployer's `bytecode` argument carries for a Stylus program).
///
/// # Panics
/// When `code` is longer than 65 535 bytes (far over the contract size limit).
pub fn deployment_init_code(code: &[u8]) -> Vec<u8> {
    cor_abi::stylus::deployment_init_code(code).expect("code under 64 KiB")
}

/// Extracts the WASM from deployed Stylus code.
///
/// # Errors
/// [`ProgramError::NotWasm`], [`ProgramError::UnknownDictionary`] or
/// [`ProgramError::Decompress`].
pub fn decode_code(code: &[u8]) -> Result<Vec<u8>, ProgramError> {
    if !is_stylus_code(code) {
        return Err(ProgramError::NotWasm);
    }
    if code[3] != 0 {
        return Err(ProgramError::UnknownDictionary(code[3]));
    }
    let mut wasm = Vec::new();
    brotli::Decompressor::new(&code[4..], 4096)
        .take(params::MAX_WASM_SIZE as u64 + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| ProgramError::Decompress(e.to_string()))?;
    if wasm.len() > params::MAX_WASM_SIZE {
        return Err(ProgramError::Decompress(format!(
            "more than {} bytes",
            params::MAX_WASM_SIZE
        )));
    }
    Ok(wasm)
}

/// WASM features Nitro validates programs with.
pub fn nitro_features() -> WasmFeatures {
    WasmFeatures::empty()
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
}

/// What activation learns about a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analysis {
    /// Initial memory, in pages.
    pub footprint: u16,
    /// Init cost units (charged when not cached).
    pub init_cost: u16,
    /// Cached init cost units.
    pub cached_cost: u16,
    /// Estimated native code size in bytes (drives the data fee).
    pub asm_estimate: u32,
}

/// The host functions a program may import, with their WASM types.
pub fn hook_signature(
    module: &str,
    name: &str,
) -> Option<(&'static [ValType], &'static [ValType])> {
    use ValType::{F32, F64, I32, I64};
    let sig: (&[ValType], &[ValType]) = match (module, name) {
        ("vm_hooks", name) => match name {
            "read_args"
            | "exit_early"
            | "storage_flush_cache"
            | "block_basefee"
            | "block_coinbase"
            | "contract_address"
            | "msg_sender"
            | "msg_value"
            | "tx_gas_price"
            | "tx_origin"
            | "pay_for_memory_grow" => (&[I32], &[]),
            "write_result"
            | "storage_load_bytes32"
            | "storage_cache_bytes32"
            | "transient_load_bytes32"
            | "transient_store_bytes32"
            | "account_balance"
            | "account_codehash"
            | "math_div"
            | "math_mod"
            | "math_pow" => (&[I32, I32], &[]),
            "call_contract" => (&[I32, I32, I32, I32, I64, I32], &[I32]),
            "delegate_call_contract" | "static_call_contract" => {
                (&[I32, I32, I32, I64, I32], &[I32])
            }
            "create1" => (&[I32, I32, I32, I32, I32], &[]),
            "create2" => (&[I32, I32, I32, I32, I32, I32], &[]),
            "read_return_data" => (&[I32, I32, I32], &[I32]),
            "return_data_size" | "msg_reentrant" | "tx_ink_price" => (&[], &[I32]),
            "emit_log" | "math_add_mod" | "math_mul_mod" | "native_keccak256" => {
                (&[I32, I32, I32], &[])
            }
            "account_code" => (&[I32, I32, I32, I32], &[I32]),
            "account_code_size" => (&[I32], &[I32]),
            "evm_gas_left" | "evm_ink_left" | "chainid" | "block_gas_limit" | "block_number"
            | "block_timestamp" => (&[], &[I64]),
            _ => return None,
        },
        ("console", name) => match name {
            "log_txt" => (&[I32, I32], &[]),
            "log_i32" => (&[I32], &[]),
            "log_i64" => (&[I64], &[]),
            "log_f32" => (&[F32], &[]),
            "log_f64" => (&[F64], &[]),
            "tee_i32" => (&[I32], &[I32]),
            "tee_i64" => (&[I64], &[I64]),
            "tee_f32" => (&[F32], &[F32]),
            "tee_f64" => (&[F64], &[F64]),
            _ => return None,
        },
        _ => return None,
    };
    Some(sig)
}

/// Validates a program and estimates its costs.
///
/// # Errors
/// A [`ProgramError`] naming the first problem found.
pub fn analyze(wasm: &[u8]) -> Result<Analysis, ProgramError> {
    Validator::new_with_features(nitro_features())
        .validate_all(wasm)
        .map_err(|e| ProgramError::Invalid(e.to_string()))?;

    let invalid = |e: wasmparser::BinaryReaderError| ProgramError::Invalid(e.to_string());
    let mut types: Vec<(usize, Vec<ValType>, Vec<ValType>)> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported_funcs: Vec<u32> = Vec::new();
    let mut globals = 0u64;
    let mut data_len = 0u64;
    let mut memory_min: Option<u64> = None;
    let mut entrypoint: Option<u32> = None;
    let mut memory_export = false;

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        if let CompositeInnerType::Func(f) = &sub.composite_type.inner {
                            types.push((types.len(), f.params().to_vec(), f.results().to_vec()));
                        } else {
                            return Err(ProgramError::Invalid("non-function type".into()));
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let bad = || ProgramError::BadImport {
                        module: import.module.to_owned(),
                        name: import.name.to_owned(),
                    };
                    let TypeRef::Func(ty) = import.ty else {
                        return Err(bad());
                    };
                    let (want_params, want_results) =
                        hook_signature(import.module, import.name).ok_or_else(bad)?;
                    let (_, params, results) = types.get(ty as usize).ok_or_else(bad)?;
                    if params.as_slice() != want_params || results.as_slice() != want_results {
                        return Err(bad());
                    }
                    imported_funcs.push(ty);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty.map_err(invalid)?);
                }
            }
            Payload::GlobalSection(reader) => globals += u64::from(reader.count()),
            Payload::MemorySection(reader) => {
                for memory in reader {
                    memory_min = Some(memory.map_err(invalid)?.initial);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    match (export.name, export.kind) {
                        ("user_entrypoint", ExternalKind::Func) => entrypoint = Some(export.index),
                        ("memory", ExternalKind::Memory) => memory_export = true,
                        _ => {}
                    }
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    data_len += data.map_err(invalid)?.data.len() as u64;
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    let range = element.map_err(invalid)?.range;
                    data_len += range.end - range.start;
                }
            }
            _ => {}
        }
    }

    let entry_index = entrypoint.ok_or(ProgramError::MissingExport("user_entrypoint"))?;
    let entry_type = if (entry_index as usize) < imported_funcs.len() {
        imported_funcs[entry_index as usize]
    } else {
        *func_types
            .get(entry_index as usize - imported_funcs.len())
            .ok_or(ProgramError::MissingExport("user_entrypoint"))?
    };
    match types.get(entry_type as usize) {
        Some((_, p, r)) if p.as_slice() == [ValType::I32] && r.as_slice() == [ValType::I32] => {}
        _ => return Err(ProgramError::MissingExport("user_entrypoint")),
    }
    if !memory_export {
        return Err(ProgramError::MissingExport("memory"));
    }
    let footprint = memory_min.unwrap_or(0);
    if footprint > u64::from(params::PAGE_LIMIT) {
        return Err(ProgramError::MemoryTooLarge(footprint));
    }

    let funcs = func_types.len() as u64;
    let type_len: u64 = func_types
        .iter()
        .filter_map(|t| types.get(*t as usize))
        .map(|(_, p, r)| (p.len() + r.len()) as u64)
        .sum();
    let wasm_len = wasm.len() as u64;

    // Nitro's activation cost model: linear in the module's shape.
    let asm_estimate =
        512_000 + funcs * 996_829 / 1_000 + type_len * 11_416 / 1_000 + wasm_len * 62_628 / 10_000;
    let cached = funcs * 13_420 / 100_000
        + type_len * 89 / 100_000
        + wasm_len * 122 / 100_000
        + globals * 1_628 / 1_000
        + data_len * 75_244 / 100_000
        + footprint * 5;
    let init = funcs * 8_252 / 1_000 + type_len * 1_059 / 1_000 + wasm_len * 1_286 / 10_000;

    let too_costly = |_| ProgramError::Invalid("program too costly to initialise".into());
    Ok(Analysis {
        footprint: footprint as u16,
        init_cost: u16::try_from(init).map_err(too_costly)?,
        cached_cost: u16::try_from(cached).map_err(too_costly)?,
        asm_estimate: u32::try_from(asm_estimate).map_err(too_costly)?,
    })
}

/// The activation record of a program, kept in the ArbWasm precompile's storage under the
/// program's code hash so that it follows the state (reverts, snapshots, persistence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramRecord {
    /// Stylus version it was activated at (0: not activated).
    pub version: u16,
    /// Init cost units.
    pub init_cost: u16,
    /// Cached init cost units.
    pub cached_cost: u16,
    /// Initial memory pages.
    pub footprint: u16,
    /// Estimated native size in KiB.
    pub asm_estimate_kb: u32,
    /// Block timestamp of the activation.
    pub activated_at: u64,
}

impl ProgramRecord {
    /// Packs the record into one storage word.
    pub fn to_word(self) -> U256 {
        let mut bytes = [0u8; 32];
        bytes[0..2].copy_from_slice(&self.version.to_be_bytes());
        bytes[2..4].copy_from_slice(&self.init_cost.to_be_bytes());
        bytes[4..6].copy_from_slice(&self.cached_cost.to_be_bytes());
        bytes[6..8].copy_from_slice(&self.footprint.to_be_bytes());
        bytes[8..12].copy_from_slice(&self.asm_estimate_kb.to_be_bytes());
        bytes[12..20].copy_from_slice(&self.activated_at.to_be_bytes());
        U256::from_be_bytes(bytes)
    }

    /// Unpacks a storage word; `None` for an empty slot.
    pub fn from_word(word: U256) -> Option<Self> {
        if word.is_zero() {
            return None;
        }
        let b = word.to_be_bytes::<32>();
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        Some(Self {
            version: u16_at(0),
            init_cost: u16_at(2),
            cached_cost: u16_at(4),
            footprint: u16_at(6),
            asm_estimate_kb: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            activated_at: u64::from_be_bytes([
                b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19],
            ]),
        })
    }

    /// Seconds left before the activation expires at `now`.
    pub fn time_left(&self, now: u64) -> u64 {
        let expiry = u64::from(params::EXPIRY_DAYS) * 86_400;
        expiry.saturating_sub(now.saturating_sub(self.activated_at))
    }

    /// Whether the activation has expired at `now`.
    pub fn expired(&self, now: u64) -> bool {
        self.time_left(now) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("test module assembles")
    }

    const MINIMAL: &str = r#"(module
        (import "vm_hooks" "read_args" (func (param i32)))
        (memory (export "memory") 1)
        (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;

    #[test]
    fn code_round_trips_through_brotli() {
        let wasm = wat(MINIMAL);
        let code = encode_code(&wasm);
        assert!(is_stylus_code(&code));
        assert_eq!(decode_code(&code).unwrap(), wasm);
    }

    #[test]
    fn non_stylus_code_and_unknown_dictionaries_are_rejected() {
        assert_eq!(decode_code(&[0x60, 0x00]), Err(ProgramError::NotWasm));
        let mut code = encode_code(&wat(MINIMAL));
        code[3] = 1;
        assert_eq!(decode_code(&code), Err(ProgramError::UnknownDictionary(1)));
        let garbage = [0xEF, 0xF0, 0x00, 0x00, 0xFF, 0xFF, 0xFF];
        assert!(matches!(
            decode_code(&garbage),
            Err(ProgramError::Decompress(_))
        ));
    }

    #[test]
    fn analysis_estimates_costs_from_the_module_shape() {
        let a = analyze(&wat(MINIMAL)).unwrap();
        assert_eq!(a.footprint, 1);
        assert!(a.asm_estimate >= 512_000);
        assert_eq!(a.cached_cost, 5);
    }

    #[test]
    fn foreign_imports_and_wrong_types_are_rejected() {
        let foreign = r#"(module (import "env" "f" (func)) (memory (export "memory") 1)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;
        assert!(matches!(
            analyze(&wat(foreign)),
            Err(ProgramError::BadImport { .. })
        ));
        let mistyped = r#"(module (import "vm_hooks" "read_args" (func (param i64)))
            (memory (export "memory") 1)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;
        assert!(matches!(
            analyze(&wat(mistyped)),
            Err(ProgramError::BadImport { .. })
        ));
    }

    #[test]
    fn missing_exports_and_big_memories_are_rejected() {
        let no_entry = r#"(module (memory (export "memory") 1))"#;
        assert_eq!(
            analyze(&wat(no_entry)),
            Err(ProgramError::MissingExport("user_entrypoint"))
        );
        let no_memory = r#"(module (memory 1)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;
        assert_eq!(
            analyze(&wat(no_memory)),
            Err(ProgramError::MissingExport("memory"))
        );
        let big = r#"(module (memory (export "memory") 129)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#;
        assert_eq!(analyze(&wat(big)), Err(ProgramError::MemoryTooLarge(129)));
    }

    #[test]
    fn records_pack_into_one_word() {
        let r = ProgramRecord {
            version: 2,
            init_cost: 300,
            cached_cost: 40,
            footprint: 3,
            asm_estimate_kb: 700,
            activated_at: 1_700_000_000,
        };
        assert_eq!(ProgramRecord::from_word(r.to_word()), Some(r));
        assert_eq!(ProgramRecord::from_word(U256::ZERO), None);
        assert!(!r.expired(1_700_000_000 + 86_400));
        assert!(r.expired(1_700_000_000 + 366 * 86_400));
    }
}
