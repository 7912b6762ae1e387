//! Where task inputs and outputs live: `data:` URIs (small payloads carried on chain)
//! and `http(s)://` URLs (a miner serving outputs by content hash).

use std::time::Duration;

use base64::Engine;

/// Bytes as a `data:` URI: percent-encoded text, which stays readable for text outputs.
pub(crate) fn data_uri(bytes: &[u8]) -> String {
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
pub(crate) fn decode_data_uri(uri: &str) -> Result<Vec<u8>, String> {
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

/// Fetches the bytes behind `uri` (`data:`, `http://`, `https://`).
pub(crate) async fn fetch(uri: &str) -> Result<Vec<u8>, String> {
    if uri.starts_with("data:") {
        return decode_data_uri(uri);
    }
    if !(uri.starts_with("http://") || uri.starts_with("https://")) {
        return Err(format!(
            "cannot fetch {uri:?}: only data:, http:// and https:// URIs are supported"
        ));
    }
    use alloy::transports::http::reqwest;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let response = client
        .get(uri)
        .send()
        .await
        .map_err(|e| format!("fetching {uri}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("fetching {uri}: HTTP {status}"));
    }
    response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| format!("reading {uri}: {e}"))
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
}
