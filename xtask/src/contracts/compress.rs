//! Brotli compression and the deployable code prefix.

use std::io::Write;

/// Stylus code prefix: `0xEFF000` marks a Stylus program, the next byte names the brotli
/// dictionary (0: none).
pub(crate) const STYLUS_PREFIX: [u8; 4] = [0xEF, 0xF0, 0x00, 0x00];

/// Brotli quality 11, window 22: what `cargo stylus` uses, so sizes compare.
pub(crate) fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer
            .write_all(data)
            .expect("writing into a Vec cannot fail");
    }
    out
}

/// The code to deploy: the Stylus prefix followed by the compressed module.
pub(crate) fn deployable(compressed: &[u8]) -> Vec<u8> {
    let mut code = STYLUS_PREFIX.to_vec();
    code.extend_from_slice(compressed);
    code
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compression_round_trips() {
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let packed = brotli(&data);
        assert!(packed.len() < data.len());
        let mut unpacked = Vec::new();
        brotli::Decompressor::new(&packed[..], 4096)
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, data);
    }

    #[test]
    fn deployable_code_is_ef_f0_00_00_then_the_brotli_payload() {
        let code = deployable(&[1, 2, 3]);
        assert_eq!(code, vec![0xEF, 0xF0, 0x00, 0x00, 1, 2, 3]);

        let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
        let code = deployable(&brotli(&wasm));
        assert_eq!(code[..4], [0xEF, 0xF0, 0x00, 0x00]);
        let mut unpacked = Vec::new();
        brotli::Decompressor::new(&code[4..], 4096)
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, wasm);
    }
}
