//! What a miner reveals for a task, built from an output text.

use alloy_primitives::{keccak256, Address, B256, U256};
use cor_abi::CommitReveal;

/// An output and everything its commitment binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The output text.
    pub text: String,
    /// keccak-256 of the text.
    pub output_hash: B256,
    /// 256-bit SimHash of the text.
    pub fingerprint: B256,
    /// Numeric score (grading tasks; 0 otherwise).
    pub score: u64,
    /// Where the output can be fetched.
    pub uri: String,
    /// The commitment's salt.
    pub salt: B256,
}

impl Answer {
    /// An answer with score 0.
    pub fn text(text: &str) -> Self {
        Self::scored(text, 0)
    }

    /// An answer with a score.
    pub fn scored(text: &str, score: u64) -> Self {
        let output_hash = keccak256(text.as_bytes());
        Self {
            text: text.to_owned(),
            output_hash,
            fingerprint: cor_consensus::fingerprint(text),
            score,
            uri: format!("http://127.0.0.1:9/outputs/{output_hash}"),
            salt: keccak256(format!("salt/{text}/{score}").as_bytes()),
        }
    }

    /// The commitment `miner` posts for `task`.
    pub fn commitment(&self, task: U256, miner: Address) -> B256 {
        cor_consensus::commitment(
            task,
            miner,
            self.output_hash,
            self.fingerprint,
            self.score,
            self.salt,
        )
    }

    /// `CommitReveal.commit` of this answer by `miner` for `task`.
    pub fn commit_call(&self, task: U256, miner: Address) -> CommitReveal::commitCall {
        CommitReveal::commitCall {
            taskId: task,
            commitment: self.commitment(task, miner),
        }
    }

    /// `CommitReveal.reveal` of this answer for `task`.
    pub fn reveal_call(&self, task: U256) -> CommitReveal::revealCall {
        CommitReveal::revealCall {
            taskId: task,
            outputHash: self.output_hash,
            fingerprint: self.fingerprint,
            score: self.score,
            outputUri: self.uri.clone().into_bytes().into(),
            salt: self.salt,
        }
    }
}
