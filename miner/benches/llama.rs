//! The operator comparison: the miner's inference engine (mistral.rs) next to llama.cpp on the
//! same Gemma 3 270M weights, the same prompt, greedy decoding, the same number of generated
//! tokens, in F32 and quantised to Q8_0.
//!
//! ```sh
//! cargo bench --profile dev -p cor-miner --bench llama                  # 3 runs, 64 tokens
//! cargo bench --profile dev -p cor-miner --bench llama -- --runs 5 --max-tokens 128
//! ```
//!
//! Setup, each step skipped when its result is already there (so only the first run is slow):
//!
//! 1. `bench/llama/setup.sh`: a venv at `~/.cache/cor/tools/llama-venv` (`COR_LLAMA_VENV`)
//!    with `llama-cpp-python` built from source (llama.cpp) and `gguf`;
//! 2. Gemma 3 270M fetched and converted the miner's way ([`models::prepare`]);
//! 3. `bench/llama/convert_gguf.py`: that F32 safetensors directory written as an F32 GGUF,
//!    and quantised to Q8_0 with llama.cpp's `llama_model_quantize`, cached in
//!    `~/.cache/cor/models/gemma3-270m/gguf/`.
//!
//! Then every model is loaded once and warmed up with one generation, and the rows are run
//! in turn, run after run (so drift in the machine's speed hits all of them alike):
//!
//! - mistral.rs, F32: a plain completion request ([`Engine::baseline`]);
//! - the miner's engine, F32 ([`Engine::generate`], what `cor-miner` calls);
//! - mistral.rs, Q8_0: the same plain request to the model loaded with in-situ quantisation
//!   (ISQ) to Q8_0 (the miner's [`Engine`] has no quantised mode: its dtypes are float types);
//! - llama.cpp, F32 and Q8_0: `bench/llama/llama_bench.py serve`, a child process running the
//!   GGUF files through llama.cpp's C API.
//!
//! Prints one Markdown table of medians and writes it, with every sample as JSON, to
//! `bench/results/miner.md` and `bench/results/miner.json` (`--out DIR` to change,
//! `--no-write` not to). Progress goes to stderr.

use std::{
    io::{BufRead, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use cor_miner::{config::ModelSource, models, Dtype, Engine, Generation, ModelKind, ModelSpec};
use mistralrs::{
    Constraint, IsqType, Model, ModelDType, MultimodalModelBuilder, NormalRequest, Request,
    RequestMessage, Response, SamplingParams, TokenSource,
};
use serde_json::{json, Value};

/// Quantised formats compared: the GGUF type llama.cpp quantises to (by `convert_gguf.py`)
/// and the ISQ type mistral.rs quantises to while loading. Only Q8_0 is the same format on
/// both sides: for the 4-bit types llama.cpp keeps the output projection at higher
/// precision (Q6_K) while mistral.rs quantises it like every other matrix.
const QUANTISED: &[(&str, IsqType)] = &[("q8_0", IsqType::Q8_0)];

/// Pause between rows, so the threads one engine leaves spinning do not slow the next.
const SETTLE: Duration = Duration::from_millis(200);

struct Args {
    runs: usize,
    max_tokens: u32,
    prompt: String,
    dtypes: Vec<String>,
    /// Threads per engine; `None`: each engine's default (all cores).
    threads: Option<usize>,
    out: Option<PathBuf>,
}

fn args(root: &Path) -> anyhow::Result<Args> {
    let mut args = Args {
        runs: 3,
        max_tokens: 64,
        prompt: "The capital of France is".into(),
        dtypes: vec!["f32".into(), "q8_0".into()],
        threads: None,
        out: Some(root.join("bench").join("results")),
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--runs" => args.runs = value()?.parse().context("--runs")?,
            "--max-tokens" => args.max_tokens = value()?.parse().context("--max-tokens")?,
            "--prompt" => args.prompt = value()?,
            "--dtypes" => args.dtypes = value()?.split(',').map(str::to_owned).collect(),
            "--threads" => args.threads = Some(value()?.parse().context("--threads")?),
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--no-write" => args.out = None,
            other => bail!(
                "unknown argument {other} (--runs N, --max-tokens N, --prompt TEXT, \
                 --dtypes f32,q8_0, --threads N, --out DIR, --no-write)"
            ),
        }
    }
    if args.runs == 0 || args.max_tokens == 0 || args.threads == Some(0) {
        bail!("--runs, --max-tokens and --threads must be at least 1");
    }
    for d in &args.dtypes {
        if d != "f32" && !QUANTISED.iter().any(|(name, _)| name == d) {
            bail!("--dtypes: unknown {d} (f32, q8_0)");
        }
    }
    Ok(args)
}

/// One row of the table: who generates, and the samples it produced.
struct Row {
    engine: &'static str,
    dtype: String,
    how: Runner,
    ttft_ms: Vec<f64>,
    total_ms: Vec<f64>,
    decode: Vec<f64>,
    prompt_tokens: Vec<u32>,
    tokens: Vec<u32>,
    texts: Vec<String>,
    extra: Vec<Value>,
}

enum Runner {
    Baseline,
    MinerEngine,
    MistralIsq(usize),
    Llama,
}

impl Row {
    fn new(engine: &'static str, dtype: &str, how: Runner) -> Self {
        Self {
            engine,
            dtype: dtype.to_uppercase(),
            how,
            ttft_ms: vec![],
            total_ms: vec![],
            decode: vec![],
            prompt_tokens: vec![],
            tokens: vec![],
            texts: vec![],
            extra: vec![],
        }
    }

    fn add(&mut self, g: Generation) {
        self.ttft_ms.push(g.time_to_first_token.as_secs_f64() * 1e3);
        self.total_ms.push(g.total.as_secs_f64() * 1e3);
        self.decode
            .push(g.decode_tokens_per_second().unwrap_or(f64::NAN));
        self.prompt_tokens.push(g.prompt_tokens);
        self.tokens.push(g.completion_tokens);
        self.texts.push(g.text);
    }

    fn dtype_key(&self) -> String {
        self.dtype.to_lowercase()
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn median_u32(v: &[u32]) -> u32 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Runs a setup command with its output on our stderr; fails when it fails.
fn run_step(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// The `llama_bench.py serve` child: one JSON request line in, one JSON line out.
struct Llama {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    ready: Value,
}

impl Llama {
    fn start(
        python: &Path,
        script: &Path,
        models: &[(String, String)],
        threads: Option<usize>,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(python);
        cmd.arg(script).arg("serve");
        if let Some(n) = threads {
            cmd.arg("--threads").arg(n.to_string());
        }
        for (name, path) in models {
            cmd.arg("--model").arg(format!("{name}={path}"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let stdin = child.stdin.take().context("llama_bench stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("llama_bench stdout")?);
        let mut llama = Self {
            child,
            stdin,
            stdout,
            ready: Value::Null,
        };
        let hello = llama.read()?;
        llama.ready = hello
            .get("ready")
            .cloned()
            .with_context(|| format!("llama_bench said {hello} instead of ready"))?;
        Ok(llama)
    }

    fn read(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("llama_bench.py exited (its error is above)");
        }
        Ok(serde_json::from_str(&line)?)
    }

    fn generate(
        &mut self,
        dtype: &str,
        prompt: &str,
        max_tokens: u32,
    ) -> anyhow::Result<(Generation, Value)> {
        let request = json!({"dtype": dtype, "prompt": prompt, "max_tokens": max_tokens});
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        let reply = self.read()?;
        if let Some(e) = reply.get("error") {
            bail!("llama_bench: {e}");
        }
        let ms = |k: &str| Duration::from_secs_f64(reply[k].as_f64().unwrap_or(f64::NAN) / 1e3);
        let count = |k: &str| reply[k].as_u64().and_then(|n| u32::try_from(n).ok());
        let g = Generation {
            text: reply["text"].as_str().unwrap_or_default().to_owned(),
            prompt_tokens: count("prompt_tokens").context("prompt_tokens")?,
            completion_tokens: count("completion_tokens").context("completion_tokens")?,
            time_to_first_token: ms("ttft_ms"),
            total: ms("total_ms"),
            finish_reason: reply["finish_reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        Ok((g, reply))
    }
}

impl Drop for Llama {
    fn drop(&mut self) {
        // Closing stdin ends the serve loop; wait so no process is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loads the miner's Gemma directory into mistral.rs with in-situ quantisation, with the
/// settings [`Engine::load`] uses (no prefix cache, one sequence at a time).
async fn load_isq(dir: &Path, isq: IsqType) -> anyhow::Result<Model> {
    MultimodalModelBuilder::new(dir.to_string_lossy())
        .with_token_source(TokenSource::None)
        .with_dtype(ModelDType::F32)
        .with_isq(isq)
        .with_prefix_cache_n(None)
        .with_max_num_seqs(1)
        .build()
        .await
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// The request [`Engine::baseline`] sends (greedy, not streamed, no logits processors), to a
/// model the bench loaded itself; timed the same way (time to first token: mistral.rs's
/// prompt time).
async fn plain_request(model: &Model, prompt: &str, max_tokens: u32) -> anyhow::Result<Generation> {
    let mut sampling = SamplingParams::deterministic();
    sampling.temperature = Some(0.0);
    sampling.top_k = Some(1);
    sampling.max_len = Some(max_tokens as usize);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let request = Request::Normal(Box::new(NormalRequest {
        messages: RequestMessage::Completion {
            text: prompt.to_owned(),
            echo_prompt: false,
            best_of: None,
        },
        sampling_params: sampling,
        response: tx,
        return_logprobs: false,
        is_streaming: false,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        constraint: Constraint::None,
        suffix: None,
        tools: None,
        tool_choice: None,
        logits_processors: None,
        return_raw_logits: false,
        web_search_options: None,
        model_id: None,
        truncate_sequence: false,
    }));
    let started = Instant::now();
    model.inner().get_sender(None)?.send(request).await?;
    let done = match rx.recv().await.context("mistral.rs dropped the request")? {
        Response::CompletionDone(done) => done,
        Response::InternalError(e) | Response::ValidationError(e) => bail!("mistral.rs: {e}"),
        Response::CompletionModelError(msg, _) | Response::ModelError(msg, _) => {
            bail!("mistral.rs: {msg}")
        }
        _ => bail!("mistral.rs answered a completion request with another response kind"),
    };
    let total = started.elapsed();
    let choice = done.choices.into_iter().next().context("no choices")?;
    let prompt_time = Duration::from_secs_f32(done.usage.total_prompt_time_sec.max(0.0));
    Ok(Generation {
        text: choice.text,
        prompt_tokens: u32::try_from(done.usage.prompt_tokens)?,
        completion_tokens: u32::try_from(done.usage.completion_tokens)?,
        time_to_first_token: prompt_time.min(total),
        total,
        finish_reason: choice.finish_reason,
    })
}

/// `name = "<crate>"` followed by its version in the workspace's Cargo.lock.
fn locked_version(root: &Path, krate: &str) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("name = \"{krate}\"") {
            if let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
            {
                return v.trim_matches('"').to_owned();
            }
        }
    }
    "unknown".into()
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// CPU model and logical cores from /proc/cpuinfo, memory from /proc/meminfo, load average.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| {
            l.split_whitespace()
                .filter(|f| {
                    [
                        "avx2",
                        "avx512f",
                        "avx512_vnni",
                        "avx512_bf16",
                        "fma",
                        "f16c",
                    ]
                    .contains(f)
                })
                .collect()
        })
        .unwrap_or_default();
    let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let kib: u64 = m
            .lines()
            .find(|l| l.starts_with("MemTotal:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / (1 << 20))
    });
    json!({"cpu": cpu, "cores": cores, "simd": flags, "memory_gib": memory_gib, "load_average_at_start": load_average()})
}

/// The 1-minute load average: other work on the machine skews every figure.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
}

fn read_json(path: &Path) -> Value {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?
        .to_owned();
    let args = args(&root)?;
    if let Some(n) = args.threads {
        // candle sizes its thread pool (rayon's global one) from this variable; it must be
        // set before any thread that could read the environment exists.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(root, args))
}

async fn bench(root: PathBuf, args: Args) -> anyhow::Result<()> {
    let machine = machine();
    let venv = std::env::var_os("COR_LLAMA_VENV").map_or_else(
        || {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".cache/cor/tools/llama-venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin").join("python");
    let scripts = root.join("bench").join("llama");

    eprintln!("[1/5] llama.cpp: bench/llama/setup.sh");
    run_step(
        Command::new("bash")
            .arg(scripts.join("setup.sh"))
            .env("COR_LLAMA_VENV", &venv),
    )?;

    eprintln!("[2/5] Gemma 3 270M: the miner's model directory");
    let state = tempfile::tempdir()?;
    let model_dir = tokio::task::spawn_blocking({
        let state = state.path().to_owned();
        move || models::prepare(&ModelSource::Gemma3, &state)
    })
    .await??;

    eprintln!("[3/5] GGUF files: bench/llama/convert_gguf.py");
    let out = Command::new(&python)
        .arg(scripts.join("convert_gguf.py"))
        .arg("--model-dir")
        .arg(&model_dir)
        .arg("--types")
        .arg(args.dtypes.join(","))
        .stderr(Stdio::inherit())
        .output()
        .context("running convert_gguf.py")?;
    if !out.status.success() {
        bail!("convert_gguf.py failed ({})", out.status);
    }
    let converted: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .context("convert_gguf.py printed nothing")?,
    )?;
    let gguf_dir = PathBuf::from(converted["out_dir"].as_str().unwrap_or_default());

    eprintln!(
        "[4/5] loading: llama.cpp ({}) and mistral.rs",
        args.dtypes.join(", ")
    );
    let llama_models: Vec<(String, String)> = args
        .dtypes
        .iter()
        .map(|d| {
            let path = converted["files"][d]["path"].as_str().unwrap_or_default();
            (d.clone(), path.to_owned())
        })
        .collect();
    let mut llama = Llama::start(
        &python,
        &scripts.join("llama_bench.py"),
        &llama_models,
        args.threads,
    )?;

    let mut rows = Vec::new();
    let mut load_ms = serde_json::Map::new();
    let mut engine = None;
    let mut isq_models = Vec::new();
    for dtype in &args.dtypes {
        let started = Instant::now();
        if dtype == "f32" {
            let spec = ModelSpec::new(&model_dir, ModelKind::Multimodal).with_dtype(Dtype::F32);
            engine = Some(Engine::load(&spec).await?);
            rows.push(Row::new(
                "mistral.rs (plain request)",
                dtype,
                Runner::Baseline,
            ));
            rows.push(Row::new(
                "cor-miner (Engine::generate)",
                dtype,
                Runner::MinerEngine,
            ));
        } else {
            let isq = QUANTISED
                .iter()
                .find(|(name, _)| name == dtype)
                .map(|(_, t)| *t)
                .context("dtype")?;
            isq_models.push(load_isq(&model_dir, isq).await?);
            let index = isq_models.len() - 1;
            rows.push(Row::new(
                "mistral.rs (plain request, ISQ)",
                dtype,
                Runner::MistralIsq(index),
            ));
        }
        load_ms.insert(
            format!("mistral.rs {dtype}"),
            json!(started.elapsed().as_millis() as u64),
        );
        rows.push(Row::new("llama.cpp", dtype, Runner::Llama));
    }

    eprintln!(
        "[5/5] {} rows x (1 warm-up + {} runs), {} tokens each",
        rows.len(),
        args.runs,
        args.max_tokens
    );
    let started = Instant::now();
    for run in 0..=args.runs {
        if run == 0 {
            eprintln!("warm-up");
        } else {
            eprintln!("run {run}/{}", args.runs);
        }
        for row in &mut rows {
            tokio::time::sleep(SETTLE).await;
            let (prompt, n) = (args.prompt.as_str(), args.max_tokens);
            let (g, extra) = match row.how {
                Runner::Baseline => (
                    engine
                        .as_ref()
                        .context("engine")?
                        .baseline(prompt, n)
                        .await?,
                    Value::Null,
                ),
                Runner::MinerEngine => (
                    engine
                        .as_ref()
                        .context("engine")?
                        .generate(prompt, n)
                        .await?,
                    Value::Null,
                ),
                Runner::MistralIsq(i) => {
                    (plain_request(&isq_models[i], prompt, n).await?, Value::Null)
                }
                Runner::Llama => llama.generate(&row.dtype_key(), prompt, n)?,
            };
            if run > 0 {
                row.add(g);
                row.extra.push(extra);
            }
        }
    }
    let measure_secs = started.elapsed().as_secs_f64();
    eprintln!("measured in {measure_secs:.0} s");

    // The converted tokenizer must split the prompt as mistral.rs's tokenizer.json does.
    let hf = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json"))
        .map_err(|e| anyhow::anyhow!("tokenizer.json: {e}"))?;
    let hf_ids: Vec<u64> = hf
        .encode(args.prompt.as_str(), true)
        .map_err(|e| anyhow::anyhow!("encoding the prompt: {e}"))?
        .get_ids()
        .iter()
        .map(|&i| u64::from(i))
        .collect();
    let llama_ids: Vec<u64> = rows
        .iter()
        .find(|r| matches!(r.how, Runner::Llama))
        .and_then(|r| r.extra.first())
        .and_then(|e| e["prompt_ids"].as_array())
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if let Some(models) = llama.ready["models"].as_object() {
        for (dtype, m) in models {
            load_ms.insert(format!("llama.cpp {dtype}"), m["load_ms"].clone());
        }
    }

    let measured = Measured {
        args: &args,
        rows: &rows,
        machine,
        load_average_at_end: load_average(),
        llama: &llama.ready,
        install: read_json(&venv.join("cor-install.json")),
        gguf: read_json(&gguf_dir.join("manifest.json")),
        load_ms,
        measure_secs,
        hf_ids,
        llama_ids,
        root: &root,
    };
    let (markdown, doc) = render(&measured);
    println!("{markdown}");
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("miner.md"), &markdown)?;
        std::fs::write(
            dir.join("miner.json"),
            serde_json::to_string_pretty(&doc)? + "\n",
        )?;
        eprintln!("wrote {}/miner.md and miner.json", dir.display());
    }
    Ok(())
}

/// Everything a report is made from.
struct Measured<'a> {
    args: &'a Args,
    rows: &'a [Row],
    machine: Value,
    load_average_at_end: Option<f64>,
    /// What `llama_bench.py serve` said when ready (versions, build features, models).
    llama: &'a Value,
    /// `cor-install.json` of the venv (install time, build flags).
    install: Value,
    /// `manifest.json` of the GGUF directory (conversion times).
    gguf: Value,
    load_ms: serde_json::Map<String, Value>,
    measure_secs: f64,
    hf_ids: Vec<u64>,
    llama_ids: Vec<u64>,
    root: &'a Path,
}

/// The Markdown report and the JSON document (the same, plus every sample).
fn render(m: &Measured<'_>) -> (String, Value) {
    use std::fmt::Write as _;
    let (args, rows) = (m.args, m.rows);
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let root = m.root.to_string_lossy();
    let git =
        command_line("git", &["-C", &root, "rev-parse", "--short", "HEAD"]).unwrap_or_default();
    let mistralrs = locked_version(m.root, "mistralrs");
    let llama_version = m.llama["llama_cpp_python"].as_str().unwrap_or("unknown");
    let cores = m.machine["cores"].as_u64().unwrap_or(0);
    let fmt_load = |l: Option<f64>| l.map_or("?".to_owned(), |l| format!("{l:.2}"));
    let seconds = |v: &Value| v.as_f64().map_or("?".to_owned(), |s| format!("{s:.0} s"));

    // Distinct outputs get letters in order of appearance: A is mistral.rs F32's.
    let mut texts: Vec<&str> = Vec::new();
    let mut letters = Vec::new();
    for row in rows {
        let text = row.texts.first().map_or("", String::as_str);
        let i = texts.iter().position(|t| *t == text).unwrap_or_else(|| {
            texts.push(text);
            texts.len() - 1
        });
        letters.push(output_letter(i));
    }
    let stable = rows
        .iter()
        .all(|r| r.texts.windows(2).all(|w| w[0] == w[1]));
    let same_prompt_ids = !m.hf_ids.is_empty() && m.hf_ids == m.llama_ids;

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Miner inference: mistral.rs (cor-miner) vs llama.cpp\n"
    );
    let _ = writeln!(md, "- Date: {date}");
    let mut flags = String::new();
    if args.dtypes != ["f32", "q8_0"] {
        let _ = write!(flags, " --dtypes {}", args.dtypes.join(","));
    }
    if let Some(n) = args.threads {
        let _ = write!(flags, " --threads {n}");
    }
    let threads = args.threads.map_or(cores, |n| n as u64);
    let _ = writeln!(
        md,
        "- Command: `cargo bench --profile dev -p cor-miner --bench llama -- --runs {} --max-tokens {}{flags}`",
        args.runs, args.max_tokens
    );
    let simd = m.machine["simd"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "- Machine: {} ({cores} cores, {} GiB; {simd}), load average {} at start, {} at end (shared with other work)",
        m.machine["cpu"].as_str().unwrap_or("?"),
        m.machine["memory_gib"],
        fmt_load(m.machine["load_average_at_start"].as_f64()),
        fmt_load(m.load_average_at_end),
    );
    let _ = writeln!(
        md,
        "- mistral.rs {mistralrs} (crate, CPU; cargo `dev` profile with the numeric crates at opt-level 3, no `target-cpu`), cor-miner git {git}"
    );
    let _ = writeln!(
        md,
        "- llama.cpp: llama-cpp-python {llama_version}, built from source here with `{}` ({} threads; {})",
        m.install["cmake_args"].as_str().unwrap_or("?"),
        m.llama["threads"],
        m.llama["system_info"].as_str().unwrap_or("?").trim_end_matches(" |"),
    );
    let _ = writeln!(
        md,
        "- Model: Gemma 3 270M, the miner's F32 weights (`~/.cache/cor/models/gemma3-270m/model`); prompt {:?}, greedy, {} generated tokens; runs per row: {} after one warm-up, rows interleaved; medians",
        args.prompt, args.max_tokens, args.runs
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| engine | dtype | prompt tokens | generated tokens | time to first token (ms) | decode (tok/s) | total (ms) | decode ÷ llama.cpp | output |");
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"
    );
    for (row, letter) in rows.iter().zip(&letters) {
        let llama_decode = rows
            .iter()
            .find(|r| matches!(r.how, Runner::Llama) && r.dtype == row.dtype)
            .map_or(f64::NAN, |r| median(&r.decode));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.0} | {:.2}× | {letter} |",
            row.engine,
            row.dtype,
            median_u32(&row.prompt_tokens),
            median_u32(&row.tokens),
            median(&row.ttft_ms),
            median(&row.decode),
            median(&row.total_ms),
            median(&row.decode) / llama_decode,
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Outputs (same letter, same text; every row gave the same text on every run: {}; the prompt has the same token ids in llama.cpp, from the converted GGUF, as in `tokenizer.json`: {}):\n",
        yes(stable),
        yes(same_prompt_ids),
    );
    for (i, text) in texts.iter().enumerate() {
        let _ = writeln!(
            md,
            "- {}: \"{}\"",
            output_letter(i),
            text.replace('\n', "\\n")
        );
    }
    let load: Vec<String> = m
        .load_ms
        .iter()
        .map(|(k, v)| format!("{k} {:.1} s", v.as_f64().unwrap_or(f64::NAN) / 1e3))
        .collect();
    let _ = writeln!(
        md,
        "\nModel load (not in the times above): {}.",
        load.join(", ")
    );
    let quantised: String = args
        .dtypes
        .iter()
        .filter(|d| *d != "f32")
        .map(|d| {
            format!(
                ", {} {}",
                d.to_uppercase(),
                seconds(&m.gguf["files"][d]["seconds"])
            )
        })
        .collect();
    let _ = writeln!(
        md,
        "One-time setup: llama-cpp-python install {} (of which the llama.cpp build {}, {} jobs); GGUF conversion F32 {}{quantised}. This run measured for {:.0} s.",
        seconds(&m.install["install_seconds"]),
        seconds(&m.install["llama_cpp_build_seconds"]),
        m.install["parallel"],
        seconds(&m.gguf["files"]["f32"]["seconds"]),
        m.measure_secs,
    );
    let _ = writeln!(md, "\nHow to read it:\n");
    let _ = writeln!(md, "- Time to first token: the prompt processed and the first token chosen (mistral.rs plain request: its own prompt-processing time; `Engine::generate`: until the first token's logits are ready; llama.cpp: `llama_decode` of the prompt and its greedy sampler). Decode: (generated − 1) ÷ (total − time to first token). Total: the whole request as its caller sees it. Threads: {threads} per engine (llama.cpp `n_threads`; candle's pool, `RAYON_NUM_THREADS`). The machine was shared: compare rows of one run rather than runs.");
    let _ = writeln!(md, "- Same weights: llama.cpp runs GGUF files `bench/llama/convert_gguf.py` wrote from the miner's F32 safetensors; Q8_0 is llama.cpp's own `llama_model_quantize` of that file (every matrix, the token embedding, which is also the output projection, included). mistral.rs quantises while loading (ISQ Q8_0: attention, MLP and the output projection; the embedding lookup stays F32). The miner's `Engine` has no quantised mode (its dtypes are float types), so its row is F32 only.");
    let _ = writeln!(md, "- Builds differ: llama.cpp is compiled with `-O3` for this CPU (`GGML_NATIVE`: AVX-512). mistral.rs runs in the workspace's `dev` profile (the numeric crates at opt-level 3, the rest, the `mistralrs` crate and tokio included, unoptimised; see `docs/miner.md`) for baseline x86-64, so a release build of `cor-miner` is faster than these rows; it was not measured here (building mistral.rs in release takes 15–25 min on 2 cores). mistral.rs's F32 matrix products pick AVX-512/AVX2 at run time (the `gemm` crate), but candle's quantised dot products, which ISQ Q8_0 runs on, are only vectorised when compiled with AVX2 enabled (`#[cfg(target_feature = \"avx2\")]`): the mistral.rs Q8_0 row runs scalar code, hence no faster than F32. `RUSTFLAGS=\"-C target-cpu=native\"` would change both, at the cost of a full rebuild of mistral.rs.");
    let _ = writeln!(md, "- Not compared: F16 and BF16 (mistral.rs gives NaN for Gemma 3 in F16 on CPU and has no BF16 on CPU); the published Q4_K_M GGUF the miner's weights come from (mistral.rs cannot load Gemma 3 from GGUF).");

    let samples: Vec<Value> = rows
        .iter()
        .zip(&letters)
        .map(|(r, letter)| {
            let llama_cpp: Vec<Value> = r
                .extra
                .iter()
                .filter(|e| !e.is_null())
                .map(|e| json!({"perf": e["perf"], "finish_reason": e["finish_reason"]}))
                .collect();
            json!({
                "engine": r.engine,
                "dtype": r.dtype,
                "output": letter.to_string(),
                "median": {
                    "prompt_tokens": median_u32(&r.prompt_tokens),
                    "generated_tokens": median_u32(&r.tokens),
                    "ttft_ms": median(&r.ttft_ms),
                    "decode_tokens_per_s": median(&r.decode),
                    "total_ms": median(&r.total_ms),
                },
                "samples": {
                    "ttft_ms": r.ttft_ms,
                    "decode_tokens_per_s": r.decode,
                    "total_ms": r.total_ms,
                    "prompt_tokens": r.prompt_tokens,
                    "generated_tokens": r.tokens,
                },
                "texts": r.texts,
                "llama_cpp": llama_cpp,
            })
        })
        .collect();
    let mut machine = m.machine.clone();
    machine["load_average_at_end"] = json!(m.load_average_at_end);
    let doc = json!({
        "date": date,
        "machine": machine,
        "git": git,
        "settings": {
            "runs": args.runs,
            "max_tokens": args.max_tokens,
            "prompt": args.prompt,
            "dtypes": args.dtypes,
            "threads": threads,
        },
        "versions": {"mistralrs": mistralrs, "llama_cpp_python": llama_version},
        "llama_cpp": m.llama,
        "install": m.install,
        "gguf": m.gguf,
        "load_ms": m.load_ms,
        "measure_seconds": m.measure_secs,
        "prompt_ids": {"tokenizer.json": m.hf_ids, "llama.cpp": m.llama_ids},
        "same_prompt_ids": same_prompt_ids,
        "outputs_stable": stable,
        "rows": samples,
    });
    (md, doc)
}

/// `A`, `B`, ... for the `i`-th distinct output.
fn output_letter(i: usize) -> char {
    char::from(b'A' + (i % 26) as u8)
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
