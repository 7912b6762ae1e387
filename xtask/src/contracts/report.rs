//! The size table printed after a build, and its JSON twin.

use std::fmt::Write as _;

use serde::Serialize;

/// Largest compressed program Arbitrum accepts (24 KiB).
pub(crate) const SIZE_LIMIT: usize = 24_576;

/// One contract's line in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// `ok`, `OVER` (too large) or `INVALID` (missing, or failing Nitro's checks).
    pub(crate) fn status(&self) -> &'static str {
        match &self.error {
            Some(_) => "INVALID",
            None if self.compressed_bytes > SIZE_LIMIT => "OVER",
            None => "ok",
        }
    }

    /// Why the contract cannot be deployed, naming it; `None` when it can.
    pub(crate) fn failure(&self) -> Option<String> {
        match &self.error {
            Some(e) => Some(format!("{}: {e}", self.contract)),
            None if self.compressed_bytes > SIZE_LIMIT => Some(format!(
                "{}: {} bytes compressed, over the {SIZE_LIMIT} byte limit",
                self.contract, self.compressed_bytes
            )),
            None => None,
        }
    }
}

/// `sizes.json`: the limit and the rows.
#[derive(Serialize)]
struct JsonTable<'a> {
    limit_bytes: usize,
    contracts: Vec<JsonRow<'a>>,
}

/// A row as written to `sizes.json`.
#[derive(Serialize)]
struct JsonRow<'a> {
    contract: &'a str,
    raw_bytes: usize,
    compressed_bytes: usize,
    percent_of_limit: f64,
    vm_hooks_imports: usize,
    status: &'static str,
    error: Option<&'a str>,
}

/// The table as pretty JSON (`sizes.json`): the limit and one object per contract.
pub(crate) fn json(rows: &[Row]) -> String {
    let contracts = rows
        .iter()
        .map(|r| JsonRow {
            contract: &r.contract,
            raw_bytes: r.raw_bytes,
            compressed_bytes: r.compressed_bytes,
            percent_of_limit: (r.percent_of_limit() * 10.0).round() / 10.0,
            vm_hooks_imports: r.hooks,
            status: r.status(),
            error: r.error.as_deref(),
        })
        .collect();
    let table = JsonTable {
        limit_bytes: SIZE_LIMIT,
        contracts,
    };
    serde_json::to_string_pretty(&table).expect("plain data serialises") + "\n"
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
        "{:<width$}  {:>9}  {:>10}  {:>8}  {:>8}  status",
        "contract", "raw B", "brotli B", "% limit", "vm_hooks"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>10}  {:>7.1}%  {:>8}  {}",
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
    fn rows_over_the_limit_or_invalid_are_not_ok_and_say_why() {
        assert_eq!(row("a", SIZE_LIMIT, None).failure(), None);
        assert_eq!(row("a", SIZE_LIMIT, None).status(), "ok");
        assert_eq!(row("b", SIZE_LIMIT + 1, None).status(), "OVER");
        assert_eq!(
            row("b", SIZE_LIMIT + 1, None).failure().unwrap(),
            "b: 24577 bytes compressed, over the 24576 byte limit"
        );
        assert_eq!(row("c", 10, Some("bad import")).status(), "INVALID");
        assert_eq!(
            row("c", 10, Some("bad import")).failure().unwrap(),
            "c: bad import"
        );
    }

    #[test]
    fn json_has_every_column_of_the_table() {
        let text = json(&[row("cor-token", 12_288, None), row("bad", 0, Some("x"))]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["limit_bytes"], 24_576);
        let first = &value["contracts"][0];
        assert_eq!(first["contract"], "cor-token");
        assert_eq!(first["raw_bytes"], 36_864);
        assert_eq!(first["compressed_bytes"], 12_288);
        assert_eq!(first["percent_of_limit"], 50.0);
        assert_eq!(first["vm_hooks_imports"], 12);
        assert_eq!(first["status"], "ok");
        assert!(first["error"].is_null());
        assert_eq!(value["contracts"][1]["status"], "INVALID");
        assert_eq!(value["contracts"][1]["error"], "x");
    }

    #[test]
    fn table_shows_percent_and_status() {
        let text = table(&[row("cor-token", 12_288, None), row("big", 30_000, None)]);
        assert!(text.contains("50.0%"), "{text}");
        assert!(text.lines().nth(1).unwrap().ends_with("ok"), "{text}");
        assert!(text.lines().nth(2).unwrap().ends_with("OVER"), "{text}");
    }
}
