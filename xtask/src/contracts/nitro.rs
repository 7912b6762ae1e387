//! Making a rustc WASM module acceptable to Arbitrum Nitro, and checking that it is.
//!
//! rustc >= 1.82 writes `call_indirect` table indices with overlong LEB128 encodings and
//! adds a `target_features` custom section; Nitro's validator rejects both. A round trip
//! through the text format (wasmprinter, then wat) re-encodes every instruction
//! minimally, and dropping custom sections removes the rest (names, producers, target
//! features: none of them affect execution).
//!
//! Validation uses the WebAssembly features Nitro enables: the MVP (with its function
//! references for `call_indirect` tables), mutable globals, saturating float-to-int,
//! sign extension, bulk memory and floats. Reference types, multi-value, SIMD, threads,
//! tail calls, multi-memory, memory64, exceptions and GC are off. A program must export
//! `user_entrypoint` (a function) and `memory`, and may import only from `vm_hooks`.

use wasmparser::{ExternalKind, Parser, Payload, Validator, WasmFeatures};

/// Why a module cannot be deployed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum NitroError {
    /// The module could not be printed or re-assembled.
    #[error("round trip through the text format failed: {0}")]
    RoundTrip(String),
    /// The module is not valid WASM under Nitro's features.
    #[error("invalid under Nitro's WebAssembly features: {0}")]
    Invalid(String),
    /// The module is malformed (section layout).
    #[error("malformed module: {0}")]
    Malformed(&'static str),
    /// An import from a module other than `vm_hooks`.
    #[error("imports `{module}::{name}`; Stylus programs may import only from `vm_hooks`")]
    ForeignImport {
        /// Imported module.
        module: String,
        /// Imported name.
        name: String,
    },
    /// A required export is missing.
    #[error("does not export `{0}`")]
    MissingExport(&'static str),
}

/// A module ready for deployment, with what the checks learnt about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The processed module.
    pub(crate) wasm: Vec<u8>,
    /// Number of `vm_hooks` imports.
    pub(crate) hooks: usize,
}

/// The WebAssembly features Nitro's validator accepts.
pub(crate) fn nitro_features() -> WasmFeatures {
    WasmFeatures::MVP
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
}

/// Round-trips, strips, validates and checks a module built by rustc.
pub(crate) fn process(wasm: &[u8]) -> Result<Checked, NitroError> {
    let wasm = strip_custom_sections(&round_trip(wasm)?)?;
    validate(&wasm)?;
    let hooks = check_interface(&wasm)?;
    Ok(Checked { wasm, hooks })
}

/// Re-encodes the module through the text format, which writes every LEB128 minimally.
pub(crate) fn round_trip(wasm: &[u8]) -> Result<Vec<u8>, NitroError> {
    let text = wasmprinter::print_bytes(wasm).map_err(|e| NitroError::RoundTrip(e.to_string()))?;
    wat::parse_str(&text).map_err(|e| NitroError::RoundTrip(e.to_string()))
}

/// Copies every section but the custom ones (id 0).
pub(crate) fn strip_custom_sections(wasm: &[u8]) -> Result<Vec<u8>, NitroError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(NitroError::Malformed("no WASM header"));
    }
    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    while pos < wasm.len() {
        let start = pos;
        let id = wasm[pos];
        pos += 1;
        let (size, len) =
            read_leb_u32(&wasm[pos..]).ok_or(NitroError::Malformed("bad section size"))?;
        pos += len;
        let end = pos
            .checked_add(size as usize)
            .filter(|end| *end <= wasm.len())
            .ok_or(NitroError::Malformed("section runs past the end"))?;
        if id != 0 {
            out.extend_from_slice(&wasm[start..end]);
        }
        pos = end;
    }
    Ok(out)
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// Validates the module with Nitro's feature set.
pub(crate) fn validate(wasm: &[u8]) -> Result<(), NitroError> {
    Validator::new_with_features(nitro_features())
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| NitroError::Invalid(e.to_string()))
}

/// Checks imports (only `vm_hooks`) and exports (`user_entrypoint`, `memory`); returns
/// the number of hooks imported.
pub(crate) fn check_interface(wasm: &[u8]) -> Result<usize, NitroError> {
    let mut hooks = 0;
    let mut entrypoint = false;
    let mut memory = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| NitroError::Invalid(e.to_string()))? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| NitroError::Invalid(e.to_string()))?;
                    if import.module != "vm_hooks" {
                        return Err(NitroError::ForeignImport {
                            module: import.module.to_owned(),
                            name: import.name.to_owned(),
                        });
                    }
                    hooks += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| NitroError::Invalid(e.to_string()))?;
                    match (export.name, export.kind) {
                        ("user_entrypoint", ExternalKind::Func) => entrypoint = true,
                        ("memory", ExternalKind::Memory) => memory = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !entrypoint {
        return Err(NitroError::MissingExport("user_entrypoint"));
    }
    if !memory {
        return Err(NitroError::MissingExport("memory"));
    }
    Ok(hooks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &str) -> Vec<u8> {
        wat::parse_str(body).expect("test module assembles")
    }

    const GOOD: &str = r#"(module
        (import "vm_hooks" "read_args" (func $read_args (param i32)))
        (import "vm_hooks" "write_result" (func (param i32 i32)))
        (memory (export "memory") 1)
        (table 1 funcref)
        (type $t (func (param i32) (result i32)))
        (func (export "user_entrypoint") (param i32) (result i32)
            local.get 0
            call $read_args
            i32.const 0
            i32.const 0
            call_indirect (type $t))
        (@custom "target_features" "+mutable-globals")
        (@custom "producers" "rustc"))"#;

    #[test]
    fn a_stylus_shaped_module_passes_and_counts_hooks() {
        let checked = process(&module(GOOD)).unwrap();
        assert_eq!(checked.hooks, 2);
    }

    #[test]
    fn custom_sections_are_stripped() {
        let wasm = module(GOOD);
        let stripped = strip_custom_sections(&wasm).unwrap();
        assert!(stripped.len() < wasm.len());
        let customs = Parser::new(0)
            .parse_all(&stripped)
            .filter(|p| matches!(p, Ok(Payload::CustomSection(_))))
            .count();
        assert_eq!(customs, 0);
    }

    #[test]
    fn round_trip_shortens_overlong_leb_and_keeps_the_code() {
        // `call_indirect` with table index 0 written as a 5-byte LEB (0x80 0x80 0x80 0x80 0x00),
        // the way rustc >= 1.82 writes it.
        let wasm = module(GOOD);
        let needle = [0x11, 0x00, 0x00]; // call_indirect type 0, table 0 (minimal)
        let at = wasm
            .windows(3)
            .position(|w| w == needle)
            .expect("call_indirect present");
        let mut overlong = wasm[..at + 2].to_vec();
        overlong.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x00]);
        overlong.extend_from_slice(&wasm[at + 3..]);
        // Fix the code section and function body sizes (+4 bytes each).
        let fixed = bump_code_sizes(&overlong, 4);
        let again = round_trip(&fixed).unwrap();
        assert!(again.windows(3).any(|w| w == needle));
        assert!(!again
            .windows(5)
            .any(|w| w == [0x80, 0x80, 0x80, 0x80, 0x00]));
        assert_eq!(operators(&again), operators(&wasm));
    }

    /// Adds `extra` to the code section's size and its first body's size (both one-byte LEBs
    /// in the test module).
    fn bump_code_sizes(wasm: &[u8], extra: u8) -> Vec<u8> {
        let mut out = wasm.to_vec();
        let mut pos = 8;
        while pos < out.len() {
            let id = out[pos];
            let (size, len) = read_leb_u32(&out[pos + 1..]).unwrap();
            if id == 10 {
                out[pos + 1] += extra; // section size
                out[pos + 1 + len + 1] += extra; // first body size (after the count byte)
                return out;
            }
            pos += 1 + len + size as usize;
        }
        panic!("no code section");
    }

    fn operators(wasm: &[u8]) -> Vec<String> {
        let mut ops = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Ok(Payload::CodeSectionEntry(body)) = payload {
                let mut reader = body.get_operators_reader().unwrap();
                while !reader.eof() {
                    ops.push(format!("{:?}", reader.read().unwrap()));
                }
            }
        }
        ops
    }

    #[test]
    fn an_import_outside_vm_hooks_is_named() {
        let wasm = module(
            r#"(module (import "env" "abort" (func)) (memory (export "memory") 1)
                (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        );
        assert_eq!(
            process(&wasm),
            Err(NitroError::ForeignImport {
                module: "env".into(),
                name: "abort".into()
            })
        );
    }

    #[test]
    fn a_module_without_entrypoint_or_memory_is_rejected() {
        let no_entry = module(r#"(module (memory (export "memory") 1))"#);
        assert_eq!(
            process(&no_entry),
            Err(NitroError::MissingExport("user_entrypoint"))
        );
        let no_memory = module(
            r#"(module (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        );
        assert_eq!(
            process(&no_memory),
            Err(NitroError::MissingExport("memory"))
        );
    }

    #[test]
    fn multi_value_and_reference_types_fail_validation() {
        let multi = module(r#"(module (func (result i32 i32) i32.const 1 i32.const 2))"#);
        assert!(matches!(validate(&multi), Err(NitroError::Invalid(_))));
        let reftypes = module(r#"(module (func (result externref) ref.null extern))"#);
        assert!(matches!(validate(&reftypes), Err(NitroError::Invalid(_))));
        let simd = module(r#"(module (func (result v128) v128.const i32x4 0 0 0 0))"#);
        assert!(matches!(validate(&simd), Err(NitroError::Invalid(_))));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(
            strip_custom_sections(b"not wasm"),
            Err(NitroError::Malformed("no WASM header"))
        );
    }
}
