//! Builds a Hugging Face `tokenizer.json` for a SentencePiece-style BPE vocabulary (what
//! GGUF calls the `llama` tokenizer model: Llama 2, Gemma), from its pieces, scores and
//! token types.
//!
//! SentencePiece BPE encodes by repeatedly merging the adjacent pair of symbols whose
//! concatenation is the highest-scoring piece in the vocabulary. A Hugging Face BPE model
//! does the same when it is given every pair `(left, right)` whose concatenation is a piece,
//! ranked by that piece's score: that is the merge list written here. Around the model:
//!
//! - spaces become `▁` (U+2581) before the model sees the text, and `▁` becomes a space again
//!   when decoding; with `add_space_prefix` a `▁` is prepended (Llama), without it not (Gemma);
//! - characters missing from the vocabulary fall back to their UTF-8 bytes (`<0xNN>` pieces);
//! - control tokens (`<bos>`, `<eos>`, ...) are special added tokens, matched only as such;
//!   user-defined pieces (Gemma's runs of newlines or spaces) are added tokens matched in
//!   the raw text before the model runs, as llama.cpp does;
//! - with `add_bos` the beginning-of-sequence token is prepended to every encoding.
//!
//! mistral.rs builds its token trie from this file: the decoder shape (Replace `▁`,
//! ByteFallback, Fuse) is the one it recognises as byte-fallback.

use std::collections::HashMap;

use serde::{ser::SerializeMap, Serialize, Serializer};
use serde_json::{json, Value};

/// The word-boundary marker SentencePiece puts in place of spaces.
pub const SPACE_MARKER: char = '\u{2581}';

/// What a vocabulary entry is (GGUF `tokenizer.ggml.token_type`, SentencePiece piece type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An ordinary piece, produced by merges.
    Normal,
    /// The unknown-piece token.
    Unknown,
    /// A control token such as `<bos>`: special, never produced from text.
    Control,
    /// A piece matched literally in the input before BPE runs.
    UserDefined,
    /// A reserved, unused slot (treated like a control token).
    Unused,
    /// A byte-fallback piece `<0xNN>`.
    Byte,
}

impl TokenKind {
    /// The kind for a GGUF token type id (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte); `None` for anything else.
    pub fn from_gguf(id: i64) -> Option<Self> {
        Some(match id {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => return None,
        })
    }

    fn is_special(self) -> bool {
        matches!(self, Self::Control | Self::Unused | Self::Unknown)
    }
}

/// A SentencePiece-style vocabulary: piece `i` has id `i`.
#[derive(Debug, Clone)]
pub struct SpmVocab {
    /// The pieces, by id.
    pub tokens: Vec<String>,
    /// Merge priority of each piece: higher merges first.
    pub scores: Vec<f32>,
    /// The kind of each piece.
    pub kinds: Vec<TokenKind>,
    /// Beginning-of-sequence token id.
    pub bos: u32,
    /// End-of-sequence token id.
    pub eos: u32,
    /// Unknown token id.
    pub unk: u32,
    /// Padding token id, if any.
    pub pad: Option<u32>,
    /// Prepend `bos` to every encoding.
    pub add_bos: bool,
    /// Prepend `▁` to the text (SentencePiece's `add_dummy_prefix`).
    pub add_space_prefix: bool,
}

/// Why a vocabulary cannot become a tokenizer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    /// `tokens`, `scores` and `kinds` differ in length.
    #[error("vocabulary has {tokens} tokens, {scores} scores and {kinds} token types")]
    LengthMismatch {
        /// Number of pieces.
        tokens: usize,
        /// Number of scores.
        scores: usize,
        /// Number of kinds.
        kinds: usize,
    },
    /// A special token id outside the vocabulary.
    #[error("{which} token id {id} is outside the vocabulary of {size}")]
    IdOutOfRange {
        /// Which token (`bos`, `eos`, `unk`, `pad`).
        which: &'static str,
        /// The id.
        id: u32,
        /// The vocabulary size.
        size: usize,
    },
    /// The same piece twice (a Hugging Face vocabulary is a map from piece to id).
    #[error("piece {piece:?} appears twice (ids {first} and {second})")]
    DuplicatePiece {
        /// The piece.
        piece: String,
        /// Its first id.
        first: u32,
        /// Its second id.
        second: u32,
    },
    /// An empty vocabulary.
    #[error("empty vocabulary")]
    Empty,
}

impl SpmVocab {
    /// Checks lengths, special ids and uniqueness.
    ///
    /// # Errors
    /// [`TokenizerError`] naming the first problem found.
    pub fn validate(&self) -> Result<(), TokenizerError> {
        let size = self.tokens.len();
        if size == 0 {
            return Err(TokenizerError::Empty);
        }
        if self.scores.len() != size || self.kinds.len() != size {
            return Err(TokenizerError::LengthMismatch {
                tokens: size,
                scores: self.scores.len(),
                kinds: self.kinds.len(),
            });
        }
        let ids = [
            ("bos", Some(self.bos)),
            ("eos", Some(self.eos)),
            ("unk", Some(self.unk)),
            ("pad", self.pad),
        ];
        for (which, id) in ids {
            if let Some(id) = id {
                if id as usize >= size {
                    return Err(TokenizerError::IdOutOfRange { which, id, size });
                }
            }
        }
        let mut seen: HashMap<&str, u32> = HashMap::with_capacity(size);
        for (id, piece) in self.tokens.iter().enumerate() {
            if let Some(first) = seen.insert(piece, id as u32) {
                return Err(TokenizerError::DuplicatePiece {
                    piece: piece.clone(),
                    first,
                    second: id as u32,
                });
            }
        }
        Ok(())
    }

    /// The merge list: every split of a normal piece into two normal pieces, highest score
    /// of the merged piece first (ties: lower merged id, then lower left id).
    pub fn merges(&self) -> Vec<(&str, &str)> {
        let index: HashMap<&str, u32> = self
            .tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| self.kinds[*i] == TokenKind::Normal)
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        let mut found: Vec<(f32, u32, u32, &str, &str)> = Vec::new();
        for (id, piece) in self.tokens.iter().enumerate() {
            if self.kinds[id] != TokenKind::Normal {
                continue;
            }
            for (split, _) in piece.char_indices().skip(1) {
                let (left, right) = piece.split_at(split);
                if let (Some(&l), Some(_)) = (index.get(left), index.get(right)) {
                    found.push((self.scores[id], id as u32, l, left, right));
                }
            }
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        found.into_iter().map(|(_, _, _, l, r)| (l, r)).collect()
    }

    /// The `tokenizer.json` document.
    ///
    /// # Errors
    /// [`TokenizerError`] when the vocabulary is inconsistent (see [`SpmVocab::validate`]).
    pub fn to_tokenizer_json(&self) -> Result<Vec<u8>, TokenizerError> {
        self.validate()?;
        let piece = |id: u32| self.tokens[id as usize].as_str();
        let added_tokens: Vec<Value> = self
            .kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| k.is_special() || **k == TokenKind::UserDefined)
            .map(|(id, kind)| {
                json!({
                    "id": id,
                    "content": self.tokens[id],
                    "single_word": false,
                    "lstrip": false,
                    "rstrip": false,
                    "normalized": false,
                    "special": kind.is_special(),
                })
            })
            .collect();

        let mut normalizers = Vec::new();
        if self.add_space_prefix {
            normalizers.push(json!({"type": "Prepend", "prepend": SPACE_MARKER.to_string()}));
        }
        normalizers.push(json!({
            "type": "Replace",
            "pattern": {"String": " "},
            "content": SPACE_MARKER.to_string(),
        }));

        let post_processor = if self.add_bos {
            let bos = piece(self.bos);
            json!({
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": bos, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                ],
                "pair": [
                    {"SpecialToken": {"id": bos, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": bos, "type_id": 1}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                ],
                "special_tokens": {bos: {"id": bos, "ids": [self.bos], "tokens": [bos]}},
            })
        } else {
            Value::Null
        };

        let mut decoders = vec![
            json!({"type": "Replace", "pattern": {"String": SPACE_MARKER.to_string()}, "content": " "}),
            json!({"type": "ByteFallback"}),
            json!({"type": "Fuse"}),
        ];
        if self.add_space_prefix {
            decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
        }

        let file = TokenizerFile {
            version: "1.0",
            truncation: None,
            padding: None,
            added_tokens,
            normalizer: json!({"type": "Sequence", "normalizers": normalizers}),
            pre_tokenizer: None,
            post_processor,
            decoder: json!({"type": "Sequence", "decoders": decoders}),
            model: BpeModel {
                kind: "BPE",
                dropout: None,
                unk_token: piece(self.unk),
                continuing_subword_prefix: None,
                end_of_word_suffix: None,
                fuse_unk: true,
                byte_fallback: true,
                ignore_merges: false,
                vocab: Vocab(&self.tokens),
                merges: self.merges(),
            },
        };
        // Serialising plain data to memory cannot fail.
        Ok(serde_json::to_vec(&file).unwrap_or_default())
    }

    /// A `tokenizer_config.json` naming the special tokens (mistral.rs reads the EOS and BOS
    /// pieces from it). No chat template: the miner sends raw completions.
    pub fn tokenizer_config_json(&self) -> Value {
        let piece = |id: u32| self.tokens[id as usize].clone();
        json!({
            "add_bos_token": self.add_bos,
            "add_eos_token": false,
            "bos_token": piece(self.bos),
            "eos_token": piece(self.eos),
            "unk_token": piece(self.unk),
            "pad_token": self.pad.map(piece),
            "clean_up_tokenization_spaces": false,
            "model_max_length": 1_000_000_000u64,
            "tokenizer_class": "PreTrainedTokenizerFast",
        })
    }
}

#[derive(Serialize)]
struct TokenizerFile<'a> {
    version: &'static str,
    truncation: Option<()>,
    padding: Option<()>,
    added_tokens: Vec<Value>,
    normalizer: Value,
    pre_tokenizer: Option<()>,
    post_processor: Value,
    decoder: Value,
    model: BpeModel<'a>,
}

#[derive(Serialize)]
struct BpeModel<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    dropout: Option<f32>,
    unk_token: &'a str,
    continuing_subword_prefix: Option<()>,
    end_of_word_suffix: Option<()>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    vocab: Vocab<'a>,
    merges: Vec<(&'a str, &'a str)>,
}

/// The vocabulary as a JSON object from piece to id, in id order.
struct Vocab<'a>(&'a [String]);

impl Serialize for Vocab<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (id, piece) in self.0.iter().enumerate() {
            map.serialize_entry(piece, &id)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<pad> <eos> <bos> <unk>`, the 256 byte pieces, then normal pieces and one
    /// user-defined newline piece.
    fn vocab(add_space_prefix: bool) -> SpmVocab {
        let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"]
            .map(String::from)
            .to_vec();
        let mut kinds = vec![
            TokenKind::Control,
            TokenKind::Control,
            TokenKind::Control,
            TokenKind::Unknown,
        ];
        for b in 0..=255u8 {
            tokens.push(format!("<0x{b:02X}>"));
            kinds.push(TokenKind::Byte);
        }
        tokens.push("\n".into());
        kinds.push(TokenKind::UserDefined);
        for p in [
            "▁", "t", "h", "e", "c", "a", "s", "▁t", "he", "▁the", "▁c", "at", "▁cat", "T", "▁T",
            "▁The",
        ] {
            tokens.push(p.into());
            kinds.push(TokenKind::Normal);
        }
        let scores = (0..tokens.len()).map(|i| -(i as f32)).collect();
        SpmVocab {
            tokens,
            scores,
            kinds,
            bos: 2,
            eos: 1,
            unk: 3,
            pad: Some(0),
            add_bos: true,
            add_space_prefix,
        }
    }

    fn load(v: &SpmVocab) -> tokenizers::Tokenizer {
        tokenizers::Tokenizer::from_bytes(v.to_tokenizer_json().unwrap()).unwrap()
    }

    fn ids_to_pieces(v: &SpmVocab, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| v.tokens[i as usize].clone()).collect()
    }

    #[test]
    fn merges_follow_scores() {
        let v = vocab(false);
        let merges = v.merges();
        // "▁t"+"he" makes "▁the"; "▁t" is ranked above "he" because it scores higher.
        let pos = |l: &str, r: &str| merges.iter().position(|m| *m == (l, r));
        assert!(pos("▁", "t") < pos("h", "e"));
        assert!(pos("h", "e") < pos("▁t", "he"));
        assert!(pos("▁", "the").is_none(), "\"the\" is not a piece");
        assert!(merges
            .iter()
            .all(|(l, r)| !l.starts_with("<0x") && !r.starts_with("<0x")));
    }

    #[test]
    fn encodes_like_sentencepiece_with_bos_and_byte_fallback() {
        let v = vocab(false);
        let tok = load(&v);
        let enc = tok.encode("The cat\né", true).unwrap();
        assert_eq!(
            ids_to_pieces(&v, enc.get_ids()),
            ["<bos>", "T", "he", "▁cat", "\n", "<0xC3>", "<0xA9>"]
        );
        let text = tok.decode(enc.get_ids(), true).unwrap();
        assert_eq!(text, "The cat\né");
        // Without special tokens requested, no BOS.
        let plain = tok.encode(" the", false).unwrap();
        assert_eq!(ids_to_pieces(&v, plain.get_ids()), ["▁the"]);
        // A control token in the text is matched as itself.
        let ctrl = tok.encode("<eos>", false).unwrap();
        assert_eq!(ctrl.get_ids(), [1]);
    }

    #[test]
    fn space_prefix_is_added_and_stripped() {
        let v = vocab(true);
        let tok = load(&v);
        let enc = tok.encode("The cat", false).unwrap();
        assert_eq!(ids_to_pieces(&v, enc.get_ids()), ["▁The", "▁cat"]);
        assert_eq!(tok.decode(enc.get_ids(), true).unwrap(), "The cat");
    }

    #[test]
    fn same_vocabulary_same_bytes() {
        assert_eq!(
            vocab(false).to_tokenizer_json(),
            vocab(false).to_tokenizer_json()
        );
    }

    #[test]
    fn inconsistent_vocabularies_are_rejected() {
        let mut v = vocab(false);
        v.scores.pop();
        assert!(matches!(
            v.validate(),
            Err(TokenizerError::LengthMismatch { .. })
        ));
        let mut v = vocab(false);
        v.eos = 100_000;
        assert!(matches!(
            v.to_tokenizer_json(),
            Err(TokenizerError::IdOutOfRange { which: "eos", .. })
        ));
        let mut v = vocab(false);
        v.tokens[262] = "▁".into();
        assert!(matches!(
            v.validate(),
            Err(TokenizerError::DuplicatePiece { .. })
        ));
        assert_eq!(TokenKind::from_gguf(6), Some(TokenKind::Byte));
        assert_eq!(TokenKind::from_gguf(9), None);
    }
}
