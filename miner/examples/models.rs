//! Fetch, generate and run the miner's local models by hand.
//!
//! ```text
//! cargo run -p cor-miner --example models -- tiny <dir> [--seed N]
//! cargo run -p cor-miner --example models -- fetch gemma [--cache <dir>]
//! cargo run -p cor-miner --example models -- generate <model path> "The capital of France is" [--max-tokens 32]
//! ```
//!
//! `generate` accepts a GGUF file or a model directory (the kind is detected), or the
//! words `tiny` / `gemma` for the built-in models.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cor_miner::{
    models::{gemma, tiny},
    Engine, ModelSpec,
};

#[derive(Parser)]
#[command(about = "COR miner models: fetch, generate, run")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the tiny random-weight model into a directory.
    Tiny {
        /// Output directory.
        dir: PathBuf,
        /// Weight seed.
        #[arg(long, default_value_t = tiny::DEFAULT_SEED)]
        seed: u64,
    },
    /// Download and convert a model (only `gemma` for now).
    Fetch {
        /// Which model.
        model: String,
        /// Cache directory (default ~/.cache/cor/models/gemma3-270m).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Load a model and continue a prompt greedily.
    Generate {
        /// GGUF file, model directory, `tiny` or `gemma`.
        model: String,
        /// The prompt.
        prompt: String,
        /// Most tokens to generate.
        #[arg(long, default_value_t = 32)]
        max_tokens: u32,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mistralrs_core=warn".into()),
        )
        .init();
    // Keep mistral.rs away from any model hub and the user's Hugging Face cache. Set before
    // the runtime starts its threads.
    let hf_home = std::env::temp_dir().join("cor-hf-home");
    std::env::set_var("HF_HOME", &hf_home);
    std::env::set_var("HF_HUB_OFFLINE", "1");

    let cli = Cli::parse();
    match cli.command {
        Cmd::Tiny { dir, seed } => {
            tiny::write(&dir, seed)?;
            println!("{}", dir.display());
        }
        Cmd::Fetch { model, cache } => {
            anyhow::ensure!(model == "gemma", "unknown model `{model}` (known: gemma)");
            let dir = gemma::fetch(&cache.unwrap_or_else(gemma::default_cache_dir))?;
            println!("{}", dir.display());
        }
        Cmd::Generate {
            model,
            prompt,
            max_tokens,
        } => {
            let path = match model.as_str() {
                "tiny" => {
                    let dir = std::env::temp_dir().join(format!("cor-tiny-{}", tiny::DEFAULT_SEED));
                    tiny::write(&dir, tiny::DEFAULT_SEED)?;
                    dir
                }
                "gemma" => gemma::fetch(&gemma::default_cache_dir())?,
                other => PathBuf::from(other),
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(async {
                let engine = Engine::load(&ModelSpec::detect(&path)?).await?;
                let g = engine.generate(&prompt, max_tokens).await?;
                let digest = g.digest();
                println!("prompt             {prompt}");
                println!("output             {}", g.text);
                println!("prompt tokens      {}", g.prompt_tokens);
                println!(
                    "completion tokens  {} ({})",
                    g.completion_tokens, g.finish_reason
                );
                println!(
                    "time to first tok  {:.1} ms",
                    g.time_to_first_token.as_secs_f64() * 1e3
                );
                println!("total              {:.1} ms", g.total.as_secs_f64() * 1e3);
                if let Some(rate) = g.decode_tokens_per_second() {
                    println!("decode             {rate:.1} tokens/s");
                }
                println!("output hash        {}", digest.output_hash);
                println!("fingerprint        {}", digest.fingerprint);
                anyhow::Ok(())
            })?;
        }
    }
    Ok(())
}
