//! The COR miner: answers inference tasks with a local model and takes part in the
//! commit-reveal rounds that decide them.
//!
//! The inference half:
//! - [`inference`]: load a local model (GGUF or a safetensors directory) with mistral.rs and
//!   generate text greedily, so identical software gives byte-identical output.
//! - [`models`]: models that need no model-hub download: a tiny random-weight Llama generated
//!   from a seed (for tests and `--model tiny`), and Gemma 3 270M fetched from PyPI and
//!   converted from GGUF to safetensors.
//! - [`digest`]: the output hash and SimHash fingerprint the miner commits to.
//!
//! The chain half:
//! - [`config`]: file, environment and flags, checked;
//! - [`store`]: the durable record of every task (answer, salt, stage), written before
//!   each transaction;
//! - [`watch`]: finding assignments (subscription, polling, catch-up);
//! - [`answer`]: input fetch and check, inference, commitment;
//! - [`round`]: commit, reveal, close, each idempotent against the chain;
//! - [`node`]: registration, heartbeat, claims;
//! - [`http`]: outputs by hash and `/metrics` ([`metrics`]);
//! - [`service`]: the daemon tying them together ([`Miner`]).

pub mod answer;
pub mod config;
pub mod digest;
pub mod http;
pub mod inference;
pub mod metrics;
pub mod models;
pub mod node;
pub mod round;
pub mod service;
pub mod store;
pub mod watch;

pub use digest::{output_hash, Digest};
pub use inference::{Dtype, Engine, Generation, InferenceError, ModelKind, ModelSpec};
pub use service::{Miner, MinerError};
