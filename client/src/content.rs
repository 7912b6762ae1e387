//! Where task inputs and outputs live: `data:` URIs (small payloads carried on chain),
//! `http(s)://` URLs (a miner serving outputs by content hash), and `cor:<hash>`: the
//! content with that keccak-256, from any node that serves it at `/outputs/<hash>` (an
//! earlier task's output as the input of the next, without copying it on chain). Used by
//! the CLI (`task submit`, `task wait`) and the miner (fetching inputs).

use std::time::Duration;

use alloy_primitives::{keccak256, B256};
use base64::Engine;

/// Why content could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A `data:` URI that does not decode.
    #[error("{0}")]
    BadDataUri(String),
    /// A scheme other than `data:`, `http://`, `https://`, `cor:`.
    #[error("cannot fetch {0:?}: only data:, http://, https:// and cor:<hash> URIs are supported")]
    UnsupportedScheme(String),
    /// A `cor:` URI whose content no peer served.
    #[error("no peer serves {uri} (asked: {asked})")]
    NoPeer {
        /// The URI.
        uri: String,
        /// The peers asked, with what each answered.
        asked: String,
    },
    /// The HTTP request failed or answered with an error status.
    #[error("fetching {uri}: {reason}")]
    Http {
        /// The URL.
        uri: String,
        /// What failed.
        reason: String,
    },
    /// The content is larger than the caller accepts.
    #[error("{uri} holds more than {limit} bytes")]
    TooLarge {
        /// The URI.
        uri: String,
        /// The limit.
        limit: usize,
    },
    /// The bytes do not hash to what the chain recorded.
    #[error("{uri} does not match its hash: expected {expected}, got {actual}")]
    HashMismatch {
        /// The URI.
        uri: String,
        /// The hash on chain.
        expected: B256,
        /// keccak-256 of what was fetched.
        actual: B256,
    },
}

/// Bytes as a `data:` URI: percent-encoded text, which stays readable for text outputs.
pub fn data_uri(bytes: &[u8]) -> String {
    let mut out = String::from("data:,");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a `data:[<type>][;base64],<data>` URI.
///
/// # Errors
/// [`FetchError::BadDataUri`].
pub fn decode_data_uri(uri: &str) -> Result<Vec<u8>, FetchError> {
    decode_data(uri).map_err(FetchError::BadDataUri)
}

fn decode_data(uri: &str) -> Result<Vec<u8>, String> {
    let rest = uri
        .strip_prefix("data:")
        .ok_or_else(|| format!("{uri:?} is not a data: URI"))?;
    let (header, data) = rest
        .split_once(',')
        .ok_or_else(|| format!("data: URI without a comma: {uri:?}"))?;
    if header.split(';').any(|p| p == "base64") {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("data: URI with bad base64: {e}"));
    }
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("data: URI with a bad %-escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// The `cor:` URI of the content whose keccak-256 is `hash`.
pub fn hash_uri(hash: B256) -> String {
    format!("cor:{hash}")
}

/// The hash a `cor:` URI names.
///
/// # Errors
/// [`FetchError::UnsupportedScheme`] for another scheme or a malformed hash.
pub fn parse_hash_uri(uri: &str) -> Result<B256, FetchError> {
    uri.strip_prefix("cor:")
        .and_then(|h| h.parse::<B256>().ok())
        .ok_or_else(|| FetchError::UnsupportedScheme(uri.to_owned()))
}

/// Fetches the bytes behind `uri` (`data:`, `http://`, `https://`), at most `limit`
/// bytes. `cor:` URIs need peers: see [`fetch_verified_from`].
///
/// # Errors
/// [`FetchError`].
pub async fn fetch(uri: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    let bytes = if uri.starts_with("data:") {
        decode_data_uri(uri)?
    } else if uri.starts_with("http://") || uri.starts_with("https://") {
        fetch_http(uri, limit).await?
    } else {
        return Err(FetchError::UnsupportedScheme(uri.to_owned()));
    };
    if bytes.len() > limit {
        return Err(FetchError::TooLarge {
            uri: uri.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// [`fetch`], then checks that the bytes hash (keccak-256) to `expected`.
///
/// # Errors
/// [`FetchError`], [`FetchError::HashMismatch`] when they do not.
pub async fn fetch_verified(
    uri: &str,
    expected: B256,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let bytes = fetch(uri, limit).await?;
    let actual = keccak256(&bytes);
    if actual != expected {
        return Err(FetchError::HashMismatch {
            uri: uri.to_owned(),
            expected,
            actual,
        });
    }
    Ok(bytes)
}

/// [`fetch_verified`], where a `cor:<hash>` URI is asked of each of `peers` (base URLs
/// of nodes serving `/outputs/<hash>`) in turn until one serves bytes with that hash.
///
/// # Errors
/// [`FetchError`]; [`FetchError::NoPeer`] when no peer had it.
pub async fn fetch_verified_from(
    uri: &str,
    expected: B256,
    limit: usize,
    peers: &[String],
) -> Result<Vec<u8>, FetchError> {
    if !uri.starts_with("cor:") {
        return fetch_verified(uri, expected, limit).await;
    }
    let hash = parse_hash_uri(uri)?;
    if hash != expected {
        return Err(FetchError::HashMismatch {
            uri: uri.to_owned(),
            expected,
            actual: hash,
        });
    }
    let mut asked = Vec::new();
    for peer in peers {
        let url = format!("{}/outputs/{hash}", peer.trim_end_matches('/'));
        match fetch_verified(&url, expected, limit).await {
            Ok(bytes) => return Ok(bytes),
            Err(e @ FetchError::TooLarge { .. }) => return Err(e),
            Err(e) => asked.push(format!("{peer}: {e}")),
        }
    }
    Err(FetchError::NoPeer {
        uri: uri.to_owned(),
        asked: if asked.is_empty() {
            "no peers configured".to_owned()
        } else {
            asked.join("; ")
        },
    })
}

async fn fetch_http(uri: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    use alloy::transports::http::reqwest;
    let http = |reason: String| FetchError::Http {
        uri: uri.to_owned(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| http(format!("HTTP client: {e}")))?;
    let mut response = client
        .get(uri)
        .send()
        .await
        .map_err(|e| http(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(http(format!("HTTP {status}")));
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http(e.to_string()))? {
        if out.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge {
                uri: uri.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_round_trip_text_and_bytes() {
        for text in [
            "Paris",
            "The capital is Paris, 100% sure.\n",
            "é ü \u{1f600}",
            "",
        ] {
            let uri = data_uri(text.as_bytes());
            assert!(!uri.contains(' ') && !uri.contains('\n'), "{uri}");
            assert_eq!(decode_data_uri(&uri).unwrap(), text.as_bytes());
        }
        assert_eq!(
            decode_data_uri("data:text/plain;base64,UGFyaXM=").unwrap(),
            b"Paris"
        );
        assert_eq!(
            decode_data_uri("data:,What%20is%20it%3F").unwrap(),
            b"What is it?"
        );
        assert!(decode_data_uri("data:,bad%zz").is_err());
        assert!(decode_data_uri("http://x").is_err());
    }

    #[tokio::test]
    async fn fetching_checks_the_scheme_the_size_and_the_hash() {
        let uri = data_uri(b"Paris");
        assert_eq!(fetch(&uri, 5).await.unwrap(), b"Paris");
        assert!(matches!(
            fetch(&uri, 4).await,
            Err(FetchError::TooLarge { limit: 4, .. })
        ));
        assert!(matches!(
            fetch("ftp://x/y", 10).await,
            Err(FetchError::UnsupportedScheme(_))
        ));
        assert!(fetch_verified(&uri, keccak256(b"Paris"), 10).await.is_ok());
        let err = fetch_verified(&uri, keccak256(b"Lyon"), 10)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
        let hash_uri = hash_uri(keccak256(b"Paris"));
        assert_eq!(parse_hash_uri(&hash_uri).unwrap(), keccak256(b"Paris"));
        assert!(matches!(
            fetch(&hash_uri, 10).await,
            Err(FetchError::UnsupportedScheme(_))
        ));
        let err = fetch_verified_from(&hash_uri, keccak256(b"Paris"), 10, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::NoPeer { .. }), "{err}");
        let err = fetch_verified_from(&hash_uri, keccak256(b"Lyon"), 10, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
        // Nothing listens on port 9 of loopback.
        assert!(matches!(
            fetch("http://127.0.0.1:9/x", 10).await,
            Err(FetchError::Http { .. })
        ));
    }
}
