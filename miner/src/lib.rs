//! The COR miner: the inference half.
//!
//! A miner answers tasks by running an open model locally and committing to what it produced.
//! This crate holds the parts that do not touch the chain:
//!
//! - [`inference`]: load a local model (GGUF or a safetensors directory) with mistral.rs and
//!   generate text greedily, so identical software gives byte-identical output.
//! - [`models`]: models that need no model-hub download: a tiny random-weight Llama generated
//!   from a seed (for tests and `--model tiny`), and Gemma 3 270M fetched from PyPI and
//!   converted from GGUF to safetensors.
//! - [`digest`]: the output hash and SimHash fingerprint the miner commits to.
//! - [`store`]: the durable record of every task's answer, salt and progress, written
//!   before the commit is sent (the chain half builds on it).

pub mod digest;
pub mod inference;
pub mod models;
pub mod store;

pub use digest::{output_hash, Digest};
pub use inference::{Dtype, Engine, Generation, InferenceError, ModelKind, ModelSpec};
