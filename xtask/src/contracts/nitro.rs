//! Making a rustc WASM module acceptable to Arbitrum Nitro, and checking that it is.
//!
//! rustc >= 1.82 writes `call_indirect` table indices with overlong LEB128 encodings and
//! adds a `target_features` custom section; Nitro's validator rejects both. A round trip
//! through the text format (wasmprinter, then wat) re-encodes every instruction
//! minimally, and dropping custom sections (wasmparser finds them, wasm-encoder writes
//! the other sections back unchanged) removes the rest: names, producers, target
//! features, none of which affect execution.
//!
//! Validation uses the WebAssembly features Nitro enables: mutable globals, saturating
//! float-to-int, sign extension, bulk memory and floats (plain `funcref` tables for
//! `call_indirect` need no feature). Reference types, multi-value, SIMD, threads, tail
//! calls, multi-memory, memory64, exceptions, GC and the component model are off. A
//! program must export `user_entrypoint` (a function) and `memory`, and may import only
//! from `vm_hooks`.
//!
//! Everything here is a pure function of the module's bytes.

use wasm_encoder::RawSection;
use wasmparser::{Encoding, ExternalKind, Parser, Payload, Validator, WasmFeatures};

/// Why a module cannot be deployed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum NitroError {
    /// The module could not be printed or re-assembled.
    #[error("round trip through the text format failed: {0}")]
    RoundTrip(String),
    /// The module is not valid WASM under Nitro's features.
    #[error("invalid under Nitro's WebAssembly features: {0}")]
    Invalid(String),
    /// The module could not be parsed (section layout), or is a component.
    #[error("malformed module: {0}")]
    Malformed(String),
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

/// The WebAssembly features Nitro's validator accepts (everything else is off).
pub(crate) fn nitro_features() -> WasmFeatures {
    WasmFeatures::empty()
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

/// Copies every section but the custom ones (id 0), byte for byte and in order.
pub(crate) fn strip_custom_sections(wasm: &[u8]) -> Result<Vec<u8>, NitroError> {
    let mut module = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| NitroError::Malformed(e.to_string()))?;
        match payload {
            Payload::Version {
                encoding: Encoding::Component,
                ..
            } => return Err(NitroError::Malformed("a component, not a module".into())),
            Payload::CustomSection(_) => {}
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    let data = usize::try_from(range.start)
                        .ok()
                        .zip(usize::try_from(range.end).ok())
                        .and_then(|(start, end)| wasm.get(start..end))
                        .ok_or_else(|| NitroError::Malformed("section out of bounds".into()))?;
                    module.section(&RawSection { id, data });
                }
            }
        }
    }
    Ok(module.finish())
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

    fn module(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("test module assembles")
    }

    /// Shaped like a Stylus program: hooks, memory, entrypoint, a `call_indirect` through
    /// a funcref table, and the custom sections rustc writes.
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

    /// `call_indirect` with type 0 and table 0, both written minimally.
    const CALL_INDIRECT: [u8; 3] = [0x11, 0x00, 0x00];
    /// The table index 0 as rustc >= 1.82 writes it: a 5-byte LEB128.
    const OVERLONG_ZERO: [u8; 5] = [0x80, 0x80, 0x80, 0x80, 0x00];

    /// Rewrites every function body's `call_indirect` to use an overlong table index,
    /// the way rustc does, keeping every other section as it is.
    fn with_overlong_table_index(wasm: &[u8]) -> Vec<u8> {
        let mut out = wasm_encoder::Module::new();
        let mut code = wasm_encoder::CodeSection::new();
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload.unwrap();
            match &payload {
                Payload::CodeSectionStart { .. } => {}
                Payload::CodeSectionEntry(body) => {
                    let bytes = body.as_bytes();
                    let at = bytes
                        .windows(3)
                        .position(|w| w == CALL_INDIRECT)
                        .expect("call_indirect in the body");
                    let mut patched = bytes[..at + 2].to_vec();
                    patched.extend_from_slice(&OVERLONG_ZERO);
                    patched.extend_from_slice(&bytes[at + 3..]);
                    code.raw(&patched);
                }
                Payload::End(_) => {
                    out.section(&code);
                }
                _ => {
                    if let Some((id, range)) = payload.as_section() {
                        let data = &wasm[range.start as usize..range.end as usize];
                        out.section(&RawSection { id, data });
                    }
                }
            }
        }
        out.finish()
    }

    fn custom_section_names(wasm: &[u8]) -> Vec<String> {
        Parser::new(0)
            .parse_all(wasm)
            .filter_map(|p| match p.unwrap() {
                Payload::CustomSection(c) => Some(c.name().to_owned()),
                _ => None,
            })
            .collect()
    }

    /// Every function body's operators, printed, in order.
    fn operators(wasm: &[u8]) -> Vec<String> {
        let mut ops = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut reader = body.get_operators_reader().unwrap();
                while !reader.eof() {
                    ops.push(format!("{:?}", reader.read().unwrap()));
                }
            }
        }
        ops
    }

    #[test]
    fn a_stylus_shaped_module_passes_and_counts_its_hooks() {
        let checked = process(&module(GOOD)).unwrap();
        assert_eq!(checked.hooks, 2);
    }

    #[test]
    fn rustc_style_output_with_overlong_leb_and_custom_sections_is_made_deployable() {
        let rustc_like = with_overlong_table_index(&module(GOOD));
        assert!(rustc_like.windows(5).any(|w| w == OVERLONG_ZERO));
        // As it comes from rustc, Nitro's feature set rejects it.
        match validate(&rustc_like) {
            Err(NitroError::Invalid(e)) => assert!(e.contains("zero byte expected"), "{e}"),
            other => panic!("unprocessed module validated: {other:?}"),
        }
        let checked = process(&rustc_like).unwrap();
        assert!(!checked.wasm.windows(5).any(|w| w == OVERLONG_ZERO));
        assert!(checked.wasm.windows(3).any(|w| w == CALL_INDIRECT));
        assert!(custom_section_names(&checked.wasm).is_empty());
        assert_eq!(checked.hooks, 2);
    }

    #[test]
    fn custom_sections_are_stripped_and_other_sections_kept_byte_for_byte() {
        let wasm = module(GOOD);
        // wat writes a `name` section for the `$` identifiers after the two given ones.
        assert_eq!(
            custom_section_names(&wasm),
            ["target_features", "producers", "name"]
        );
        let stripped = strip_custom_sections(&wasm).unwrap();
        assert!(custom_section_names(&stripped).is_empty());

        let sections = |bytes: &[u8]| -> Vec<(u8, Vec<u8>)> {
            Parser::new(0)
                .parse_all(bytes)
                .filter_map(|p| {
                    let (id, r) = p.unwrap().as_section()?;
                    (id != 0).then(|| (id, bytes[r.start as usize..r.end as usize].to_vec()))
                })
                .collect()
        };
        assert_eq!(sections(&stripped), sections(&wasm));
        assert_eq!(operators(&stripped), operators(&wasm));
    }

    #[test]
    fn round_trip_shortens_overlong_leb_and_keeps_every_operator() {
        let wasm = module(GOOD);
        let overlong = with_overlong_table_index(&wasm);
        let again = round_trip(&overlong).unwrap();
        assert!(again.windows(3).any(|w| w == CALL_INDIRECT));
        assert!(!again.windows(5).any(|w| w == OVERLONG_ZERO));
        assert_eq!(operators(&again), operators(&overlong));
        assert_eq!(operators(&again), operators(&wasm));
        assert!(!operators(&wasm).is_empty());
    }

    #[test]
    fn an_import_outside_vm_hooks_is_rejected_with_its_name() {
        let wasm = module(
            r#"(module (import "env" "abort" (func)) (memory (export "memory") 1)
                (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        );
        let err = process(&wasm).unwrap_err();
        assert_eq!(
            err,
            NitroError::ForeignImport {
                module: "env".into(),
                name: "abort".into()
            }
        );
        assert!(err.to_string().contains("env::abort"), "{err}");
    }

    #[test]
    fn a_module_without_user_entrypoint_is_rejected() {
        let no_entry = module(r#"(module (memory (export "memory") 1))"#);
        assert_eq!(
            process(&no_entry),
            Err(NitroError::MissingExport("user_entrypoint"))
        );
        // An export of that name that is not a function does not count.
        let global_entry = module(
            r#"(module (memory (export "memory") 1)
                (global (export "user_entrypoint") i32 (i32.const 0)))"#,
        );
        assert_eq!(
            process(&global_entry),
            Err(NitroError::MissingExport("user_entrypoint"))
        );
    }

    #[test]
    fn a_module_without_exported_memory_is_rejected() {
        let no_memory = module(
            r#"(module (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        );
        assert_eq!(
            process(&no_memory),
            Err(NitroError::MissingExport("memory"))
        );
    }

    #[test]
    fn multi_value_reference_types_and_simd_fail_validation() {
        for text in [
            r#"(module (func (result i32 i32) i32.const 1 i32.const 2))"#,
            r#"(module (func (result externref) ref.null extern))"#,
            r#"(module (func (result funcref) ref.null func))"#,
            r#"(module (table 1 funcref) (table 1 funcref))"#,
            r#"(module (func (result v128) v128.const i32x4 0 0 0 0))"#,
            r#"(module (func return_call 0))"#,
            r#"(module (memory i64 1))"#,
        ] {
            assert!(
                matches!(validate(&module(text)), Err(NitroError::Invalid(_))),
                "accepted: {text}"
            );
        }
    }

    #[test]
    fn nitro_features_are_accepted() {
        let text = r#"(module
            (memory 1)
            (global $g (mut i32) (i32.const 0))
            (data $d "abc")
            (func (param f64) (result i32)
                local.get 0
                i32.trunc_sat_f64_s
                i32.extend8_s
                global.set $g
                i32.const 0 i32.const 0 i32.const 3 memory.init $d
                i32.const 0 i32.const 1 i32.const 3 memory.copy
                i32.const 0 i32.const 0 i32.const 3 memory.fill
                global.get $g))"#;
        assert_eq!(validate(&module(text)), Ok(()));
    }

    #[test]
    fn bytes_that_are_not_a_module_are_malformed() {
        assert!(matches!(
            strip_custom_sections(b"not wasm"),
            Err(NitroError::Malformed(_))
        ));
        assert!(matches!(process(b"\0asm"), Err(NitroError::RoundTrip(_))));
    }
}
