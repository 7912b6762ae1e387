//! A tiny random-weight Llama model generated from a seed.
//!
//! Tests and local demos need a model that loads in a second, runs fast on a CPU and needs
//! no download. This one is a 2-layer Llama (hidden size 128) with ~0.4 M parameters whose
//! weights come from a seeded generator, and a byte-fallback tokenizer (every ASCII
//! character, some common English pieces, and the 256 byte pieces) so that any prompt
//! tokenizes. It writes nonsense, but the same nonsense for the same seed and software:
//! exactly what consensus tests need. The directory is byte-identical for a given seed.

use std::{io, path::Path};

use serde_json::json;

use super::{
    safetensors::F32Writer,
    tokenizer::{SpmVocab, TokenKind, TokenizerError},
    write_atomic,
};

/// The seed `--model tiny` uses.
pub const DEFAULT_SEED: u64 = 0xC0_12;

/// Hidden size.
pub const HIDDEN: usize = 128;
/// Feed-forward size.
pub const INTERMEDIATE: usize = 256;
/// Decoder layers.
pub const LAYERS: usize = 2;
/// Attention heads.
pub const HEADS: usize = 4;
/// Key/value heads (grouped-query attention).
pub const KV_HEADS: usize = 2;
/// Longest sequence the model accepts.
pub const MAX_POSITIONS: usize = 2048;

/// Common English pieces added to the vocabulary, in merge priority order.
const PIECES: &[&str] = &[
    "▁t",
    "▁a",
    "he",
    "in",
    "er",
    "an",
    "re",
    "on",
    "▁th",
    "▁the",
    "at",
    "en",
    "nd",
    "▁s",
    "▁o",
    "▁w",
    "▁c",
    "is",
    "it",
    "es",
    "or",
    "ed",
    "▁of",
    "▁and",
    "▁to",
    "▁in",
    "ing",
    "▁is",
    "ar",
    "al",
    "▁b",
    "▁f",
    "▁p",
    "▁m",
    "ou",
    "le",
    "▁that",
    "▁it",
    "ion",
    "▁T",
    "▁The",
    "▁C",
    "▁F",
    "▁P",
    "ap",
    "▁cap",
    "ital",
    "▁capital",
    "ce",
    "ance",
    "▁Fr",
    "▁France",
    "▁Par",
    "▁Paris",
];

/// Errors generating the tiny model.
#[derive(Debug, thiserror::Error)]
pub enum TinyError {
    /// Writing the files failed.
    #[error("writing the tiny model: {0}")]
    Io(#[from] io::Error),
    /// The built-in vocabulary is inconsistent (a bug).
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}

/// The tiny model's vocabulary: `<pad> <eos> <bos> <unk>`, the 256 byte pieces, `▁`, the
/// printable ASCII characters, then [`PIECES`].
pub fn vocab() -> SpmVocab {
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"]
        .map(String::from)
        .to_vec();
    let mut kinds = vec![
        TokenKind::Control,
        TokenKind::Control,
        TokenKind::Control,
        TokenKind::Unknown,
    ];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        kinds.push(TokenKind::Byte);
    }
    let chars =
        std::iter::once('▁'.to_string()).chain((b'!'..=b'~').map(|c| char::from(c).to_string()));
    for piece in chars.chain(PIECES.iter().map(|p| p.to_string())) {
        tokens.push(piece);
        kinds.push(TokenKind::Normal);
    }
    // Characters first, then pieces in list order: all score by position, so earlier
    // pieces merge first.
    let scores = (0..tokens.len()).map(|i| -(i as f32)).collect();
    SpmVocab {
        tokens,
        scores,
        kinds,
        bos: 2,
        eos: 1,
        unk: 3,
        pad: Some(0),
        add_bos: true,
        add_space_prefix: false,
    }
}

/// Writes the tiny model for `seed` into `dir` (created if needed): `config.json`,
/// `generation_config.json`, `tokenizer.json`, `tokenizer_config.json` and
/// `model.safetensors` (F32). Existing files are replaced.
///
/// # Errors
/// [`TinyError::Io`] when the directory or files cannot be written.
pub fn write(dir: &Path, seed: u64) -> Result<(), TinyError> {
    std::fs::create_dir_all(dir)?;
    let vocab = vocab();
    let vocab_size = vocab.tokens.len();
    let head_dim = HIDDEN / HEADS;

    let config = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "vocab_size": vocab_size,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": MAX_POSITIONS,
        "tie_word_embeddings": false,
        "bos_token_id": vocab.bos,
        "eos_token_id": vocab.eos,
        "torch_dtype": "float32",
        "cor_tiny_seed": seed,
    });
    let generation =
        json!({"bos_token_id": vocab.bos, "eos_token_id": vocab.eos, "pad_token_id": 0});
    write_atomic(&dir.join("config.json"), &pretty(&config))?;
    write_atomic(&dir.join("generation_config.json"), &pretty(&generation))?;
    write_atomic(&dir.join("tokenizer.json"), &vocab.to_tokenizer_json()?)?;
    write_atomic(
        &dir.join("tokenizer_config.json"),
        &pretty(&vocab.tokenizer_config_json()),
    )?;

    let mut plan: Vec<(String, Vec<usize>, f32)> = Vec::new();
    let proj = 1.0 / (HIDDEN as f32).sqrt();
    plan.push((
        "model.embed_tokens.weight".into(),
        vec![vocab_size, HIDDEN],
        1.0,
    ));
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        plan.push((format!("{p}.input_layernorm.weight"), vec![HIDDEN], 0.0));
        plan.push((
            format!("{p}.self_attn.q_proj.weight"),
            vec![HEADS * head_dim, HIDDEN],
            proj,
        ));
        plan.push((
            format!("{p}.self_attn.k_proj.weight"),
            vec![KV_HEADS * head_dim, HIDDEN],
            proj,
        ));
        plan.push((
            format!("{p}.self_attn.v_proj.weight"),
            vec![KV_HEADS * head_dim, HIDDEN],
            proj,
        ));
        plan.push((
            format!("{p}.self_attn.o_proj.weight"),
            vec![HIDDEN, HEADS * head_dim],
            proj,
        ));
        plan.push((
            format!("{p}.post_attention_layernorm.weight"),
            vec![HIDDEN],
            0.0,
        ));
        plan.push((
            format!("{p}.mlp.gate_proj.weight"),
            vec![INTERMEDIATE, HIDDEN],
            proj,
        ));
        plan.push((
            format!("{p}.mlp.up_proj.weight"),
            vec![INTERMEDIATE, HIDDEN],
            proj,
        ));
        plan.push((
            format!("{p}.mlp.down_proj.weight"),
            vec![HIDDEN, INTERMEDIATE],
            1.0 / (INTERMEDIATE as f32).sqrt(),
        ));
    }
    plan.push(("model.norm.weight".into(), vec![HIDDEN], 0.0));
    plan.push((
        "lm_head.weight".into(),
        vec![vocab_size, HIDDEN],
        proj * 4.0,
    ));

    let shapes = plan
        .iter()
        .map(|(n, s, _)| (n.clone(), s.clone()))
        .collect();
    let mut writer = F32Writer::create(&dir.join("model.safetensors"), shapes)?;
    let mut rng = SplitMix64(seed);
    for (name, shape, scale) in &plan {
        let n: usize = shape.iter().product();
        // Norm weights (scale 0) are ones; everything else uniform in [-scale, scale].
        let data: Vec<f32> = if *scale == 0.0 {
            vec![1.0; n]
        } else {
            (0..n).map(|_| rng.uniform() * scale).collect()
        };
        writer.write(name, &data)?;
    }
    writer.finish()?;
    Ok(())
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    // Serialising a `Value` to memory cannot fail.
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// SplitMix64: a small, well-mixed generator with a fixed definition, so the weights do not
/// depend on a crate's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), from the top 24 bits (exactly representable in f32).
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u32 << 23) as f32) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_weights() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        write(a.path(), 7).unwrap();
        write(b.path(), 7).unwrap();
        write(c.path(), 8).unwrap();
        let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
        assert_eq!(fa, fb);
        let names: Vec<_> = fa.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "config.json",
                "generation_config.json",
                "model.safetensors",
                "tokenizer.json",
                "tokenizer_config.json"
            ]
        );
        let weights = |f: &[(String, Vec<u8>)]| {
            f.iter()
                .find(|(n, _)| n == "model.safetensors")
                .unwrap()
                .1
                .clone()
        };
        assert_ne!(weights(&fa), weights(&fc));
        let size = weights(&fa).len();
        assert!(size < 4 << 20, "tiny model is {size} bytes");
    }

    #[test]
    fn tokenizer_covers_any_text() {
        let tok = tokenizers::Tokenizer::from_bytes(vocab().to_tokenizer_json().unwrap()).unwrap();
        let text = "The capital of France is Paris. Ünïcödé ✓ 東京\n\ttabs";
        let enc = tok.encode(text, true).unwrap();
        assert_eq!(enc.get_ids()[0], 2, "starts with <bos>");
        assert!(!enc.get_ids().contains(&3), "no <unk>");
        assert_eq!(tok.decode(enc.get_ids(), true).unwrap(), text);
        let pieces = tok.encode(" the capital", false).unwrap();
        assert_eq!(pieces.get_tokens(), ["▁the", "▁capital"]);
    }

    #[test]
    fn uniform_is_in_range() {
        let mut r = SplitMix64(1);
        for _ in 0..10_000 {
            let u = r.uniform();
            assert!((-1.0..1.0).contains(&u));
        }
    }
}
