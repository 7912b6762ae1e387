//! The inference engine on the tiny model: determinism, digests, token accounting, and typed
//! errors for bad models and requests.

mod common;

use std::path::Path;

use cor_miner::{
    inference::SUPPORTED_GGUF_ARCHITECTURES,
    models::{
        gguf::{writer, Value},
        tiny,
    },
    Digest, Engine, InferenceError, ModelKind, ModelSpec,
};

const PROMPT: &str = "The capital of France is";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_model_generates_identical_text_every_time() {
    common::offline();
    let dir = tempfile::tempdir().unwrap();
    tiny::write(dir.path(), tiny::DEFAULT_SEED).unwrap();
    let spec = ModelSpec::detect(dir.path()).unwrap();
    assert_eq!(spec.kind, ModelKind::Text);
    let engine = Engine::load(&spec).await.unwrap();

    let a = engine.generate(PROMPT, 24).await.unwrap();
    let b = engine.generate(PROMPT, 24).await.unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.digest(), Digest::of(&a.text));
    assert!(!a.text.is_empty());

    // <bos> "T" "he" "▁capital" "▁of" "▁France" "▁is" (no "▁" before the first word).
    assert_eq!(a.prompt_tokens, 7);
    assert!((1..=24).contains(&a.completion_tokens), "{a:?}");
    if a.finish_reason == "length" {
        assert_eq!(a.completion_tokens, 24);
    }
    assert!(a.time_to_first_token <= a.total);

    // A different prompt leads elsewhere, and the first prompt is unaffected by it.
    let c = engine
        .generate("Paris is the capital of", 24)
        .await
        .unwrap();
    let d = engine.generate(PROMPT, 24).await.unwrap();
    assert_eq!(d.text, a.text);
    assert_ne!(c.digest().output_hash, a.digest().output_hash);

    // A second engine over an identically generated directory agrees byte for byte.
    let dir2 = tempfile::tempdir().unwrap();
    tiny::write(dir2.path(), tiny::DEFAULT_SEED).unwrap();
    let engine2 = Engine::load(&ModelSpec::new(dir2.path(), ModelKind::Text))
        .await
        .unwrap();
    let e = engine2.generate(PROMPT, 24).await.unwrap();
    assert_eq!(e.text, a.text);

    // Shorter limits give a prefix of the same greedy continuation.
    let short = engine.generate(PROMPT, 4).await.unwrap();
    assert!(short.completion_tokens <= 4);
    assert!(
        a.text.starts_with(short.text.trim_end()),
        "{short:?} vs {a:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_typed_errors() {
    common::offline();
    let dir = tempfile::tempdir().unwrap();
    tiny::write(dir.path(), 1).unwrap();
    let engine = Engine::load(&ModelSpec::new(dir.path(), ModelKind::Text))
        .await
        .unwrap();
    assert!(matches!(
        engine.generate("", 8).await,
        Err(InferenceError::EmptyPrompt)
    ));
    assert!(matches!(
        engine.generate("hi", 0).await,
        Err(InferenceError::ZeroMaxTokens)
    ));
    // Longer than the model's context.
    let long = "a ".repeat(tiny::MAX_POSITIONS * 2);
    assert!(matches!(
        engine.generate(&long, 8).await,
        Err(InferenceError::Generation(_))
    ));
    // The engine still works afterwards.
    assert!(engine.generate("hi", 2).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_paths_are_not_found() {
    common::offline();
    let missing = Path::new("/nonexistent/cor/model");
    for kind in [ModelKind::Gguf, ModelKind::Text, ModelKind::Multimodal] {
        let err = Engine::load(&ModelSpec::new(missing, kind))
            .await
            .unwrap_err();
        assert!(matches!(err, InferenceError::NotFound { .. }), "{err}");
    }
    assert!(matches!(
        ModelSpec::detect(missing),
        Err(InferenceError::NotFound { .. })
    ));
}

fn gguf_with_architecture(arch: &str) -> Vec<u8> {
    writer::to_bytes(
        &[
            ("general.architecture", Value::String(arch.into())),
            ("tokenizer.ggml.model", Value::String("llama".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(vec![
                    Value::String("<unk>".into()),
                    Value::String("a".into()),
                ]),
            ),
        ],
        &[("token_embd.weight", vec![4, 2], vec![0.0; 8])],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_gguf_architecture_is_refused_before_mistralrs() {
    common::offline();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, gguf_with_architecture("gemma3")).unwrap();
    let spec = ModelSpec::detect(&path).unwrap();
    assert_eq!(spec.kind, ModelKind::Gguf);
    match Engine::load(&spec).await.unwrap_err() {
        InferenceError::UnsupportedArchitecture {
            architecture,
            loader,
            supported,
        } => {
            assert_eq!(architecture, "gemma3");
            assert_eq!(loader, "GGUF");
            assert!(supported.contains("llama"));
        }
        other => panic!("expected UnsupportedArchitecture, got {other}"),
    }
    // The directory form finds the one GGUF in it.
    let err = Engine::load(&ModelSpec::new(dir.path(), ModelKind::Gguf))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InferenceError::UnsupportedArchitecture { .. }),
        "{err}"
    );
    assert!(SUPPORTED_GGUF_ARCHITECTURES.contains(&"qwen3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_gguf_files_are_typed_errors() {
    common::offline();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gguf");
    std::fs::write(&path, b"GGUF\x03\0\0\0 truncated").unwrap();
    let err = Engine::load(&ModelSpec::new(&path, ModelKind::Gguf))
        .await
        .unwrap_err();
    assert!(matches!(err, InferenceError::Gguf { .. }), "{err}");
    std::fs::write(&path, b"not a gguf at all").unwrap();
    let err = Engine::load(&ModelSpec::new(&path, ModelKind::Gguf))
        .await
        .unwrap_err();
    assert!(matches!(err, InferenceError::Gguf { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supported_gguf_that_cannot_load_fails_without_crashing() {
    common::offline();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    // "llama" passes the check, but the file has no real weights or hyperparameters.
    std::fs::write(&path, gguf_with_architecture("llama")).unwrap();
    let err = Engine::load(&ModelSpec::new(&path, ModelKind::Gguf))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            InferenceError::Load(_) | InferenceError::LoaderPanicked(_)
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_model_directories_are_typed_errors() {
    common::offline();
    let load = |dir: std::path::PathBuf| async move {
        Engine::load(&ModelSpec::new(dir, ModelKind::Text))
            .await
            .unwrap_err()
    };
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        tiny::write(dir.path(), 3).unwrap();
        dir
    };

    let d = fresh();
    std::fs::write(d.path().join("config.json"), b"{ not json").unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(&err, InferenceError::MalformedConfig { reason, .. } if reason.contains("JSON")),
        "{err}"
    );
    assert!(matches!(
        ModelSpec::detect(d.path()),
        Err(InferenceError::MalformedConfig { .. })
    ));

    let d = fresh();
    std::fs::write(d.path().join("config.json"), br#"{"hidden_size": 8}"#).unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(&err, InferenceError::MalformedConfig { reason, .. } if reason.contains("architectures")),
        "{err}"
    );

    let d = fresh();
    std::fs::write(
        d.path().join("config.json"),
        br#"{"architectures": ["NoSuchForCausalLM"]}"#,
    )
    .unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(&err, InferenceError::UnsupportedArchitecture { architecture, .. } if architecture == "NoSuchForCausalLM"),
        "{err}"
    );

    let d = fresh();
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(&err, InferenceError::MalformedConfig { reason, .. } if reason == "missing"),
        "{err}"
    );

    let d = fresh();
    std::fs::write(d.path().join("tokenizer.json"), b"[]").unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(err, InferenceError::MalformedConfig { .. }),
        "{err}"
    );

    let d = fresh();
    std::fs::remove_file(d.path().join("model.safetensors")).unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(&err, InferenceError::MalformedConfig { reason, .. } if reason.contains("safetensors")),
        "{err}"
    );

    // A config mistral.rs itself rejects (a required field missing) is a load error.
    let d = fresh();
    std::fs::write(
        d.path().join("config.json"),
        br#"{"architectures": ["LlamaForCausalLM"]}"#,
    )
    .unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(
            err,
            InferenceError::Load(_) | InferenceError::LoaderPanicked(_)
        ),
        "{err}"
    );

    // Weights that do not match the config.
    let d = fresh();
    std::fs::write(
        d.path().join("model.safetensors"),
        b"\x08\0\0\0\0\0\0\0{}      ",
    )
    .unwrap();
    let err = load(d.path().to_owned()).await;
    assert!(
        matches!(
            err,
            InferenceError::Load(_) | InferenceError::LoaderPanicked(_)
        ),
        "{err}"
    );
}
