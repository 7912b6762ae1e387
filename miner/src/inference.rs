//! Local inference with mistral.rs: load a model from disk, generate greedily.
//!
//! A model is always a local file or directory ([`ModelSpec`]); nothing here contacts a model
//! hub. [`Engine::load`] checks the model before handing it to mistral.rs, because
//! mistral.rs panics on some bad inputs (a GGUF architecture it does not know, a
//! `tokenizer.json` that is not JSON): those become typed [`InferenceError`]s. A panic that
//! still escapes mistral.rs while loading is caught and reported as
//! [`InferenceError::LoaderPanicked`].
//!
//! Determinism: decoding is greedy (argmax, no temperature, no penalties) and mistral.rs
//! seeds its sampler with a constant. [`Engine`] runs one request at a time and disables the
//! prefix cache, so neither batch composition nor an earlier request can change the numbers
//! a request sees: the same model, dtype, software and prompt give byte-identical text.
//! Across different hardware, results may still differ slightly (see `DESIGN.md`).

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use mistralrs::{
    Constraint, CustomLogitsProcessor, GgufModelBuilder, Model, ModelDType, MultimodalLoaderType,
    MultimodalModelBuilder, NormalLoaderType, NormalRequest, Request, RequestMessage, Response,
    SamplingParams, TextModelBuilder, TokenSource,
};

use crate::{
    digest::Digest,
    models::gguf::{Gguf, GgufError},
};

/// GGUF architectures mistral.rs 0.8.1 loads (it panics on any other).
pub const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &[
    "llama",
    "mistral3",
    "phi2",
    "phi3",
    "starcoder2",
    "qwen2",
    "qwen3",
];

/// How a model is stored, which decides the mistral.rs loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A single GGUF file (quantised weights, tokenizer in the metadata).
    Gguf,
    /// A directory with `config.json`, `tokenizer.json` and `*.safetensors`, loaded as a text
    /// model (Llama, Mistral, Qwen, Phi, Gemma 1/2...).
    Text,
    /// The same kind of directory loaded through mistral.rs's multimodal loader, which is where
    /// some text-only models live (Gemma 3, `Gemma3ForCausalLM`).
    Multimodal,
}

/// The data type weights and activations use. On CPU, `F32` is the safe choice: BF16 is not
/// supported there and F16 gives NaN for Gemma 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dtype {
    /// Whatever mistral.rs picks for the device.
    Auto,
    /// 32-bit float.
    #[default]
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
}

impl From<Dtype> for ModelDType {
    fn from(d: Dtype) -> Self {
        match d {
            Dtype::Auto => ModelDType::Auto,
            Dtype::F32 => ModelDType::F32,
            Dtype::F16 => ModelDType::F16,
            Dtype::BF16 => ModelDType::BF16,
        }
    }
}

/// Which model to load, from where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// A GGUF file, or a model directory.
    pub path: PathBuf,
    /// How the model is stored.
    pub kind: ModelKind,
    /// Data type (ignored for GGUF, which keeps its quantisation).
    pub dtype: Dtype,
}

impl ModelSpec {
    /// A spec with the default dtype (F32).
    pub fn new(path: impl Into<PathBuf>, kind: ModelKind) -> Self {
        Self {
            path: path.into(),
            kind,
            dtype: Dtype::default(),
        }
    }

    /// Works out the kind from what is on disk: a `.gguf` file (or a directory holding one
    /// GGUF file and no `config.json`) is [`ModelKind::Gguf`]; a directory whose
    /// `config.json` names an architecture of mistral.rs's multimodal loader is
    /// [`ModelKind::Multimodal`]; any other directory is [`ModelKind::Text`].
    ///
    /// # Errors
    /// [`InferenceError::NotFound`], or [`InferenceError::MalformedConfig`] when
    /// `config.json` cannot be read.
    pub fn detect(path: impl Into<PathBuf>) -> Result<Self, InferenceError> {
        let path = path.into();
        if !path.exists() {
            return Err(InferenceError::NotFound { path });
        }
        if path.is_file() || (!path.join("config.json").exists() && find_gguf(&path).is_ok()) {
            return Ok(Self::new(path, ModelKind::Gguf));
        }
        let arch = config_architecture(&path)?;
        let kind = if MultimodalLoaderType::from_causal_lm_name(&arch).is_ok() {
            ModelKind::Multimodal
        } else {
            ModelKind::Text
        };
        Ok(Self::new(path, kind))
    }

    /// The same spec with another dtype.
    pub fn with_dtype(mut self, dtype: Dtype) -> Self {
        self.dtype = dtype;
        self
    }
}

/// Errors loading a model or generating with it. None of them is a panic.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// The model path does not exist.
    #[error("model path {path} does not exist")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A model file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is missing or does not have the expected content.
    #[error("malformed model at {path}: {reason}")]
    MalformedConfig {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The GGUF file could not be parsed.
    #[error("GGUF {path}: {source}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: GgufError,
    },
    /// The model's architecture is not one the chosen loader supports.
    #[error("architecture `{architecture}` is not supported by the {loader} loader (supported: {supported})")]
    UnsupportedArchitecture {
        /// The architecture the model declares.
        architecture: String,
        /// Which loader (`GGUF`, `text`, `multimodal`).
        loader: &'static str,
        /// The supported architectures, comma-separated.
        supported: String,
    },
    /// mistral.rs failed to load the model.
    #[error("loading the model failed: {0}")]
    Load(String),
    /// mistral.rs panicked while loading the model (a bug or an input this crate does not
    /// check yet); the panic was contained.
    #[error("the model loader panicked: {0}")]
    LoaderPanicked(String),
    /// The prompt is empty.
    #[error("empty prompt")]
    EmptyPrompt,
    /// `max_tokens` is zero.
    #[error("max_tokens must be at least 1")]
    ZeroMaxTokens,
    /// mistral.rs rejected the request or failed while generating.
    #[error("generation failed: {0}")]
    Generation(String),
    /// The engine stopped before answering.
    #[error("the inference engine is gone")]
    EngineGone,
}

/// The result of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated text (the prompt not included), as mistral.rs returns it: leading
    /// whitespace removed, invalid UTF-8 replaced by U+FFFD.
    pub text: String,
    /// Tokens in the prompt, special tokens (such as BOS) included.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// From sending the request until the first token's logits were ready (the prompt
    /// processed).
    pub time_to_first_token: Duration,
    /// From sending the request to the end of generation.
    pub total: Duration,
    /// Why generation stopped: `stop` (end-of-sequence token), `length` (`max_tokens`), or
    /// another mistral.rs reason.
    pub finish_reason: String,
}

impl Generation {
    /// The first choice of a completion response with the measured times.
    fn from_response(
        done: mistralrs::CompletionResponse,
        time_to_first_token: Duration,
        total: Duration,
    ) -> Result<Self, InferenceError> {
        let Some(choice) = done.choices.into_iter().next() else {
            return Err(InferenceError::Generation(
                "a completion without choices".into(),
            ));
        };
        Ok(Self {
            text: choice.text,
            prompt_tokens: saturating_u32(done.usage.prompt_tokens),
            completion_tokens: saturating_u32(done.usage.completion_tokens),
            time_to_first_token,
            total,
            finish_reason: choice.finish_reason,
        })
    }

    /// The output hash and fingerprint of the text.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.text)
    }

    /// Generated tokens per second after the first one (the decode rate), if there were at
    /// least two tokens.
    pub fn decode_tokens_per_second(&self) -> Option<f64> {
        let decode = self
            .total
            .checked_sub(self.time_to_first_token)?
            .as_secs_f64();
        (self.completion_tokens >= 2 && decode > 0.0)
            .then(|| f64::from(self.completion_tokens - 1) / decode)
    }
}

/// A loaded model, ready to generate. Cheap to share behind an `Arc`; requests are served one
/// at a time (see the module documentation for why).
pub struct Engine {
    model: Model,
    spec: ModelSpec,
    serial: tokio::sync::Mutex<()>,
    next_id: AtomicUsize,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Checks and loads the model described by `spec`.
    ///
    /// # Errors
    /// [`InferenceError::NotFound`], [`InferenceError::MalformedConfig`],
    /// [`InferenceError::Gguf`] or [`InferenceError::UnsupportedArchitecture`] when the check
    /// fails; [`InferenceError::Load`] or [`InferenceError::LoaderPanicked`] when mistral.rs
    /// fails.
    pub async fn load(spec: &ModelSpec) -> Result<Self, InferenceError> {
        let checked = check(spec)?;
        let model_id = checked.model_id.clone();
        tracing::info!(path = %spec.path.display(), kind = ?spec.kind, dtype = ?spec.dtype, "loading model");
        let started = Instant::now();
        let dtype = ModelDType::from(spec.dtype);
        // The builders' futures run on their own task so that a panic inside mistral.rs ends
        // that task, not the caller: the JoinError carries it back as a value.
        let task = match (spec.kind, checked.gguf_file) {
            (ModelKind::Gguf, Some(file)) => tokio::spawn(async move {
                GgufModelBuilder::new(model_id, vec![file])
                    .with_token_source(TokenSource::None)
                    .with_prefix_cache_n(None)
                    .with_max_num_seqs(1)
                    .build()
                    .await
            }),
            (ModelKind::Multimodal, _) => tokio::spawn(async move {
                MultimodalModelBuilder::new(model_id)
                    .with_token_source(TokenSource::None)
                    .with_dtype(dtype)
                    .with_prefix_cache_n(None)
                    .with_max_num_seqs(1)
                    .build()
                    .await
            }),
            _ => tokio::spawn(async move {
                TextModelBuilder::new(model_id)
                    .with_token_source(TokenSource::None)
                    .with_dtype(dtype)
                    .with_prefix_cache_n(None)
                    .with_max_num_seqs(1)
                    .build()
                    .await
            }),
        };
        let model = match task.await {
            Ok(Ok(model)) => model,
            Ok(Err(e)) => return Err(InferenceError::Load(format!("{e:#}"))),
            Err(join) => return Err(InferenceError::LoaderPanicked(panic_message(join))),
        };
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "model loaded"
        );
        Ok(Self {
            model,
            spec: spec.clone(),
            serial: tokio::sync::Mutex::new(()),
            next_id: AtomicUsize::new(0),
        })
    }

    /// The spec this engine was loaded from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Continues `prompt` (raw text, no chat template; the tokenizer adds BOS if the model
    /// wants one) with up to `max_tokens` tokens, greedily.
    ///
    /// # Errors
    /// [`InferenceError::EmptyPrompt`], [`InferenceError::ZeroMaxTokens`];
    /// [`InferenceError::Generation`] when mistral.rs rejects the request (for example a
    /// prompt longer than the model's context) or fails; [`InferenceError::EngineGone`].
    pub async fn generate(
        &self,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<Generation, InferenceError> {
        if prompt.is_empty() {
            return Err(InferenceError::EmptyPrompt);
        }
        if max_tokens == 0 {
            return Err(InferenceError::ZeroMaxTokens);
        }
        let _one_at_a_time = self.serial.lock().await;
        let first_token = Arc::new(FirstToken::default());
        let started = Instant::now();
        first_token.start(started);
        let done = self
            .complete(
                prompt,
                max_tokens,
                Some(vec![first_token.clone() as Arc<dyn CustomLogitsProcessor>]),
            )
            .await?;
        let total = started.elapsed();
        let first = first_token.elapsed().unwrap_or(total);
        Generation::from_response(done, first, total)
    }

    /// Sends one greedy completion request to mistral.rs and waits for the whole response.
    async fn complete(
        &self,
        prompt: &str,
        max_tokens: u32,
        logits_processors: Option<Vec<Arc<dyn CustomLogitsProcessor>>>,
    ) -> Result<mistralrs::CompletionResponse, InferenceError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        // Not streamed: mistral.rs 0.8.1 drops the final stream chunk (and with it the finish
        // reason) when the text so far ends in an incomplete UTF-8 sequence, which random
        // and byte-fallback models produce. The complete response also carries exact token
        // counts; the time to first token comes from `FirstToken`.
        let request = Request::Normal(Box::new(NormalRequest {
            messages: RequestMessage::Completion {
                text: prompt.to_owned(),
                echo_prompt: false,
                best_of: None,
            },
            sampling_params: greedy(max_tokens),
            response: tx,
            return_logprobs: false,
            is_streaming: false,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            constraint: Constraint::None,
            suffix: None,
            tools: None,
            tool_choice: None,
            logits_processors,
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: false,
        }));

        let sender = self
            .model
            .inner()
            .get_sender(None)
            .map_err(|e| InferenceError::Generation(e.to_string()))?;
        sender
            .send(request)
            .await
            .map_err(|_| InferenceError::EngineGone)?;

        let done = match rx.recv().await.ok_or(InferenceError::EngineGone)? {
            Response::CompletionDone(done) => done,
            Response::InternalError(e) | Response::ValidationError(e) => {
                return Err(InferenceError::Generation(e.to_string()))
            }
            Response::CompletionModelError(msg, _) | Response::ModelError(msg, _) => {
                return Err(InferenceError::Generation(msg))
            }
            _ => {
                return Err(InferenceError::Generation(
                    "unexpected response kind for a completion request".into(),
                ))
            }
        };
        Ok(done)
    }

    /// The same greedy completion sent to mistral.rs with nothing of the miner's around
    /// it (no first-token probe, no one-at-a-time lock): the baseline the miner's
    /// overhead is measured against (`cargo bench -p cor-miner --bench inference`). The
    /// time to first token is mistral.rs's own prompt-processing time.
    ///
    /// # Errors
    /// As [`Engine::generate`].
    pub async fn baseline(
        &self,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<Generation, InferenceError> {
        let started = Instant::now();
        let done = self.complete(prompt, max_tokens, None).await?;
        let total = started.elapsed();
        let prompt_time = Duration::from_secs_f32(done.usage.total_prompt_time_sec.max(0.0));
        Generation::from_response(done, prompt_time.min(total), total)
    }
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Argmax decoding, no penalties, at most `max_tokens` tokens.
fn greedy(max_tokens: u32) -> SamplingParams {
    let mut params = SamplingParams::deterministic();
    // mistral.rs turns an absent temperature into 1.0 and a (near) zero one into argmax.
    params.temperature = Some(0.0);
    params.top_k = Some(1);
    params.max_len = Some(max_tokens as usize);
    params
}

/// Records when the logits of the first generated token are ready (the prompt has been
/// processed and the first token is about to be picked): the time to first token. It is a
/// logits processor because mistral.rs calls those once per generated token, on the engine's
/// own thread; it leaves the logits as they are.
#[derive(Debug, Default)]
struct FirstToken {
    start: std::sync::OnceLock<Instant>,
    first: std::sync::OnceLock<Instant>,
}

impl FirstToken {
    fn start(&self, at: Instant) {
        let _ = self.start.set(at);
    }

    fn elapsed(&self) -> Option<Duration> {
        Some(self.first.get()?.duration_since(*self.start.get()?))
    }
}

impl CustomLogitsProcessor for FirstToken {
    fn apply(
        &self,
        logits: &mistralrs::Tensor,
        _context: &[u32],
    ) -> mistralrs::Result<mistralrs::Tensor> {
        let _ = self.first.set(Instant::now());
        Ok(logits.clone())
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return join.to_string();
    }
    let payload = join.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "non-string panic payload".into())
}

/// What [`check`] hands to the loader.
struct Checked {
    /// The model id mistral.rs gets: the directory, as a string.
    model_id: String,
    /// For GGUF: the file name inside `model_id`.
    gguf_file: Option<String>,
}

/// Validates `spec` against what mistral.rs would otherwise panic or fail obscurely on.
fn check(spec: &ModelSpec) -> Result<Checked, InferenceError> {
    let path = &spec.path;
    if !path.exists() {
        return Err(InferenceError::NotFound { path: path.clone() });
    }
    let path = path.canonicalize().map_err(|source| InferenceError::Io {
        path: path.clone(),
        source,
    })?;
    match spec.kind {
        ModelKind::Gguf => check_gguf(&path),
        ModelKind::Text | ModelKind::Multimodal => check_dir(&path, spec.kind),
    }
}

fn check_gguf(path: &Path) -> Result<Checked, InferenceError> {
    let file = if path.is_dir() {
        find_gguf(path)?
    } else {
        path.to_owned()
    };
    let gguf = Gguf::open(&file).map_err(|source| InferenceError::Gguf {
        path: file.clone(),
        source,
    })?;
    let architecture = gguf.architecture().map_err(|source| InferenceError::Gguf {
        path: file.clone(),
        source,
    })?;
    if !SUPPORTED_GGUF_ARCHITECTURES.contains(&architecture) {
        return Err(InferenceError::UnsupportedArchitecture {
            architecture: architecture.to_owned(),
            loader: "GGUF",
            supported: SUPPORTED_GGUF_ARCHITECTURES.join(", "),
        });
    }
    if gguf.get("tokenizer.ggml.tokens").is_none() {
        return Err(InferenceError::MalformedConfig {
            path: file,
            reason: "the GGUF carries no tokenizer (tokenizer.ggml.tokens)".into(),
        });
    }
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return Err(InferenceError::MalformedConfig {
            path: file,
            reason: "not a file path".into(),
        });
    };
    Ok(Checked {
        model_id: dir.to_string_lossy().into_owned(),
        gguf_file: Some(name.to_string_lossy().into_owned()),
    })
}

/// The single `*.gguf` file in `dir`.
fn find_gguf(dir: &Path) -> Result<PathBuf, InferenceError> {
    let malformed = |reason: String| InferenceError::MalformedConfig {
        path: dir.to_owned(),
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|source| InferenceError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(malformed("no .gguf file in the directory".into())),
        n => Err(malformed(format!(
            "{n} .gguf files in the directory: name one"
        ))),
    }
}

fn check_dir(dir: &Path, kind: ModelKind) -> Result<Checked, InferenceError> {
    if !dir.is_dir() {
        return Err(InferenceError::MalformedConfig {
            path: dir.to_owned(),
            reason:
                "a safetensors model is a directory (config.json, tokenizer.json, *.safetensors)"
                    .into(),
        });
    }
    let architecture = config_architecture(dir)?;
    let (supported, loader) = match kind {
        ModelKind::Multimodal => (
            MultimodalLoaderType::from_causal_lm_name(&architecture).is_ok(),
            "multimodal",
        ),
        _ => (
            NormalLoaderType::from_causal_lm_name(&architecture).is_ok(),
            "text",
        ),
    };
    if !supported {
        return Err(InferenceError::UnsupportedArchitecture {
            architecture,
            loader,
            supported: "see mistral.rs's supported models".into(),
        });
    }

    // mistral.rs unwraps the parse of tokenizer.json and of these two fields.
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = read_json(&tokenizer_path)?;
    if !tokenizer["model"]["vocab"].is_object() || !tokenizer["added_tokens"].is_array() {
        return Err(InferenceError::MalformedConfig {
            path: tokenizer_path,
            reason: "expected `model.vocab` (object) and `added_tokens` (array)".into(),
        });
    }
    for optional in ["generation_config.json", "tokenizer_config.json"] {
        let p = dir.join(optional);
        if p.exists() {
            read_json(&p)?;
        }
    }

    let has_weights = std::fs::read_dir(dir)
        .map_err(|source| InferenceError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "safetensors"));
    if !has_weights {
        return Err(InferenceError::MalformedConfig {
            path: dir.to_owned(),
            reason: "no *.safetensors weights".into(),
        });
    }
    Ok(Checked {
        model_id: dir.to_string_lossy().into_owned(),
        gguf_file: None,
    })
}

/// `architectures[0]` of `dir/config.json`.
fn config_architecture(dir: &Path) -> Result<String, InferenceError> {
    let path = dir.join("config.json");
    let config = read_json(&path)?;
    match config["architectures"].get(0).and_then(|a| a.as_str()) {
        Some(a) => Ok(a.to_owned()),
        None => Err(InferenceError::MalformedConfig {
            path,
            reason: "expected `architectures`: a non-empty array of strings".into(),
        }),
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, InferenceError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            InferenceError::MalformedConfig {
                path: path.to_owned(),
                reason: "missing".into(),
            }
        } else {
            InferenceError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| InferenceError::MalformedConfig {
            path: path.to_owned(),
            reason: format!("not valid JSON: {e}"),
        })?;
    if !value.is_object() {
        return Err(InferenceError::MalformedConfig {
            path: path.to_owned(),
            reason: "expected a JSON object".into(),
        });
    }
    Ok(value)
}
