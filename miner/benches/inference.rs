//! The miner's inference overhead: the same model, prompt and greedy settings run as
//!
//! 1. a plain mistral.rs completion request ([`Engine::baseline`]),
//! 2. the miner's engine call ([`Engine::generate`]: first-token probe, one-at-a-time),
//! 3. the miner's whole answer path ([`Answerer::answer`]: input fetched from a `data:`
//!    URI and checked against its hash, generation, output hash, SimHash fingerprint,
//!    salt and commitment),
//!
//! interleaved run by run so drift in the machine's speed hits all three alike. Prints a
//! Markdown table of medians.
//!
//! ```sh
//! cargo bench -p cor-miner --bench inference                       # tiny model
//! cargo bench -p cor-miner --bench inference -- gemma3-270m --runs 5 --max-tokens 64
//! ```

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy_primitives::{keccak256, Address, B256, U256};
use cor_miner::{
    answer::Answerer,
    config::ModelSource,
    models,
    store::{Stage, TaskRecord},
    Engine, Generation, ModelSpec,
};

struct Args {
    model: String,
    runs: usize,
    max_tokens: u32,
    prompt: String,
}

fn args() -> Args {
    let mut args = Args {
        model: "tiny".into(),
        runs: 5,
        max_tokens: 64,
        prompt: "The capital of France is".into(),
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => args.runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--max-tokens" => {
                args.max_tokens = it.next().and_then(|v| v.parse().ok()).unwrap_or(64)
            }
            "--prompt" => args.prompt = it.next().unwrap_or_default(),
            other if !other.starts_with('-') => args.model = other.to_owned(),
            _ => {}
        }
    }
    args
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

#[derive(Default)]
struct Row {
    ttft_ms: Vec<f64>,
    total_ms: Vec<f64>,
    decode: Vec<f64>,
    tokens: Vec<f64>,
}

impl Row {
    fn add(&mut self, g: &Generation, total: Duration) {
        self.ttft_ms.push(g.time_to_first_token.as_secs_f64() * 1e3);
        self.total_ms.push(total.as_secs_f64() * 1e3);
        self.tokens.push(f64::from(g.completion_tokens));
        if let Some(r) = g.decode_tokens_per_second() {
            self.decode.push(r);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let state = tempfile::tempdir()?;
    let source = ModelSource::from_text(&args.model);
    eprintln!("preparing model {} ...", args.model);
    let path = models::prepare(&source, state.path())?;
    let spec = ModelSpec::detect(path)?;
    let engine = Arc::new(Engine::load(&spec).await?);
    let answerer = Answerer::new(
        HashMap::from([(1, engine.clone())]),
        1 << 20,
        args.max_tokens,
        vec![],
    );
    let record = TaskRecord {
        task_id: U256::from(1u64),
        seat: 0,
        session_id: 1,
        model_id: 1,
        consensus: 0,
        input_hash: keccak256(args.prompt.as_bytes()),
        input_uri: cor_client::content::data_uri(args.prompt.as_bytes()),
        max_tokens: args.max_tokens,
        commit_deadline: 0,
        reveal_deadline: 0,
        answer: None,
        stage: Stage::Assigned,
    };
    // Warm-up: the first request pays one-off costs.
    engine.generate(&args.prompt, args.max_tokens).await?;

    let (mut plain, mut engine_row, mut miner) = (Row::default(), Row::default(), Row::default());
    let mut texts = Vec::new();
    for run in 1..=args.runs {
        eprintln!("run {run}/{}", args.runs);
        let g = engine.baseline(&args.prompt, args.max_tokens).await?;
        plain.add(&g, g.total);
        texts.push(g.text);
        let g = engine.generate(&args.prompt, args.max_tokens).await?;
        engine_row.add(&g, g.total);
        texts.push(g.text);
        let started = std::time::Instant::now();
        let a = answerer.answer(&record, Address::ZERO).await?;
        let total = started.elapsed();
        miner.add(&a.generation, total);
        texts.push(a.generation.text);
        assert_ne!(a.answer.commitment, B256::ZERO);
    }
    let identical = texts.windows(2).all(|w| w[0] == w[1]);

    let base_total = median(plain.total_ms.clone());
    println!(
        "\nModel: {} ({:?}), prompt {:?}, max_tokens {}, {} runs each, medians; outputs identical across paths and runs: {identical}\n",
        args.model, spec.kind, args.prompt, args.max_tokens, args.runs
    );
    println!(
        "| path | tokens | time to first token (ms) | decode (tok/s) | total (ms) | vs plain |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, row) in [
        ("mistral.rs, plain completion request", &plain),
        ("miner engine (Engine::generate)", &engine_row),
        (
            "miner answer path (fetch + check + generate + digest + commitment)",
            &miner,
        ),
    ] {
        let total = median(row.total_ms.clone());
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:.1} | {:+.1} % |",
            median(row.tokens.clone()),
            median(row.ttft_ms.clone()),
            median(row.decode.clone()),
            total,
            (total / base_total - 1.0) * 100.0
        );
    }
    Ok(())
}
