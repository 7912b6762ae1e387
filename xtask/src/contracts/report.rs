//! The size table printed after a build, and its JSON twin.

use std::fmt::Write as _;

use serde::Serialize;

/// Largest compressed program Arbitrum accepts (24 KiB).
pub(crate) const SIZE_LIMIT: usize = 24_576;

/// One contract's line in the table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Row {
    /// Package name.
    pub(crate) contract: String,
    /// Processed WASM size in bytes (0 when processing failed).
    pub(crate) raw_bytes: usize,
    /// Brotli-compressed size in bytes (0 when processing failed).
    pub(crate) compressed_bytes: usize,
    /// `vm_hooks` imports.
    pub(crate) hooks: usize,
    /// Why the contract cannot be deployed, if it cannot.
    pub(crate) error: Option<String>,
}

impl Row {
    /// Compressed size as a percentage of the limit.
    pub(crate) fn percent_of_limit(&self) -> f64 {
        self.compressed_bytes as f64 * 100.0 / SIZE_LIMIT as f64
    }

    /// True when the contract is deployable.
    pub(crate) fn ok(&self) -> bool {
        self.error.is_none() && self.compressed_bytes <= SIZE_LIMIT
    }

    fn status(&self) -> &str {
        match &self.error {
            Some(_) => "INVALID",
            None if self.compressed_bytes > SIZE_LIMIT => "OVER",
            None => "ok",
        }
    }
}

/// Renders the table.
pub(crate) fn table(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.contract.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>10}  {:>8}  {:>5}  status",
        "contract", "raw B", "brotli B", "% limit", "hooks"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>10}  {:>7.1}%  {:>5}  {}",
            r.contract,
            r.raw_bytes,
            r.compressed_bytes,
            r.percent_of_limit(),
            r.hooks,
            r.status()
        );
    }
    let _ = writeln!(out, "limit: {SIZE_LIMIT} bytes compressed per program");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, compressed: usize, error: Option<&str>) -> Row {
        Row {
            contract: name.into(),
            raw_bytes: compressed * 3,
            compressed_bytes: compressed,
            hooks: 12,
            error: error.map(Into::into),
        }
    }

    #[test]
    fn rows_over_the_limit_or_invalid_are_not_ok() {
        assert!(row("a", SIZE_LIMIT, None).ok());
        assert!(!row("b", SIZE_LIMIT + 1, None).ok());
        assert!(!row("c", 10, Some("bad import")).ok());
    }

    #[test]
    fn table_shows_percent_and_status() {
        let text = table(&[row("cor-token", 12_288, None), row("big", 30_000, None)]);
        assert!(text.contains("50.0%"), "{text}");
        assert!(text.lines().nth(1).unwrap().ends_with("ok"), "{text}");
        assert!(text.lines().nth(2).unwrap().ends_with("OVER"), "{text}");
    }
}
