//! Answering an assigned task: fetch the input and check its hash, run the model, and
//! compute what the commitment binds (output hash, SimHash fingerprint, score, a fresh
//! salt). Every way this can fail is an [`AnswerError`]: the task is skipped (reputation
//! takes the miss), the miner carries on.

use std::{collections::HashMap, sync::Arc};

use alloy_primitives::{Address, B256};
use cor_client::content::{self, FetchError};

use crate::{
    inference::{Engine, Generation, InferenceError},
    store::{Answer, TaskRecord},
    Digest,
};

/// The consensus method whose miners commit a numeric score.
pub const MEDIAN: u8 = 2;

/// Why a task was not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The task's model is not one this miner serves.
    #[error("model {0} is not served by this miner")]
    ModelNotServed(u32),
    /// The task asks for more tokens than the operator allows.
    #[error("the task asks for {asked} tokens, more than max_tokens_limit {limit}")]
    TooManyTokens {
        /// `maxTokens` of the task.
        asked: u32,
        /// The configured limit.
        limit: u32,
    },
    /// The input could not be fetched, was too large, or does not match its hash.
    #[error("input: {0}")]
    Input(#[from] FetchError),
    /// The input is not UTF-8 text.
    #[error("input is not UTF-8 text")]
    NotText,
    /// The model failed.
    #[error("inference: {0}")]
    Inference(#[from] InferenceError),
}

/// A computed answer with the output and the generation's figures.
#[derive(Debug)]
pub struct Answered {
    /// What is committed to.
    pub answer: Answer,
    /// The output bytes (served by hash).
    pub output: Vec<u8>,
    /// The model's figures.
    pub generation: Generation,
}

/// The models and limits tasks are answered with.
#[derive(Debug, Clone)]
pub struct Answerer {
    engines: HashMap<u32, Arc<Engine>>,
    max_input_bytes: usize,
    max_tokens_limit: u32,
    peers: Vec<String>,
}

impl Answerer {
    /// An answerer serving `engines` by model id.
    pub fn new(
        engines: HashMap<u32, Arc<Engine>>,
        max_input_bytes: usize,
        max_tokens_limit: u32,
        peers: Vec<String>,
    ) -> Self {
        Self {
            engines,
            max_input_bytes,
            max_tokens_limit,
            peers,
        }
    }

    /// The ids of the models served, ascending.
    pub fn model_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.engines.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Answers `task` for `miner`.
    ///
    /// # Errors
    /// [`AnswerError`]: the task is to be skipped.
    pub async fn answer(&self, task: &TaskRecord, miner: Address) -> Result<Answered, AnswerError> {
        let engine = self
            .engines
            .get(&task.model_id)
            .ok_or(AnswerError::ModelNotServed(task.model_id))?;
        if task.max_tokens > self.max_tokens_limit {
            return Err(AnswerError::TooManyTokens {
                asked: task.max_tokens,
                limit: self.max_tokens_limit,
            });
        }
        let input = content::fetch_verified_from(
            &task.input_uri,
            task.input_hash,
            self.max_input_bytes,
            &self.peers,
        )
        .await?;
        let prompt = String::from_utf8(input).map_err(|_| AnswerError::NotText)?;
        let generation = engine.generate(&prompt, task.max_tokens).await?;
        let digest = Digest::of(&generation.text);
        let score = if task.consensus == MEDIAN {
            score_of(&generation.text)
        } else {
            0
        };
        let salt = B256::from(rand::random::<[u8; 32]>());
        let commitment = cor_consensus::commitment(
            task.task_id,
            miner,
            digest.output_hash,
            digest.fingerprint,
            score,
            salt,
        );
        Ok(Answered {
            answer: Answer {
                output_hash: digest.output_hash,
                fingerprint: digest.fingerprint,
                score,
                salt,
                commitment,
                tokens: generation.completion_tokens,
                inference_ms: u64::try_from(generation.total.as_millis()).unwrap_or(u64::MAX),
            },
            output: generation.text.clone().into_bytes(),
            generation,
        })
    }
}

/// The score a grading (Median) task's output states: its first whole number, saturated
/// to `u64`; 0 when it has none.
pub fn score_of(text: &str) -> u64 {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return 0;
    }
    digits.parse().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_is_the_first_whole_number() {
        assert_eq!(score_of("Score: 87/100"), 87);
        assert_eq!(score_of("no number"), 0);
        assert_eq!(score_of("7"), 7);
        assert_eq!(score_of("x 99999999999999999999999 y"), u64::MAX);
    }
}
