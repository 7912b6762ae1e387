//! Reports: the machine and versions a result was measured with, Markdown tables, and the
//! `.md` + `.json` pair written under `bench/results/`.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;

/// The machine a benchmark ran on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Machine {
    /// CPU model (`model name` in /proc/cpuinfo).
    pub cpu: String,
    /// Logical cores (`processor` entries in /proc/cpuinfo).
    pub cores: usize,
    /// Total memory, GiB (from /proc/meminfo), when known.
    pub memory_gib: Option<u64>,
    /// 1-minute load average when the run started (other work on the machine skews
    /// every figure), when known.
    pub load_average: Option<f64>,
}

impl Machine {
    /// Reads /proc/cpuinfo and /proc/meminfo; "unknown" where they cannot be read.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (cpu, cores) = parse_cpuinfo(&cpuinfo);
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| parse_meminfo_gib(&m));
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next()?.parse().ok());
        Self {
            cpu,
            load_average,
            cores: match cores {
                0 => std::thread::available_parallelism().map_or(0, |n| n.get()),
                n => n,
            },
            memory_gib,
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        let mut text = format!("{} ({} cores", self.cpu, self.cores);
        if let Some(gib) = self.memory_gib {
            let _ = write!(text, ", {gib} GiB");
        }
        text.push(')');
        if let Some(load) = self.load_average {
            let _ = write!(text, ", load average {load:.2} at start");
        }
        text
    }
}

/// The CPU model and the number of logical processors in a /proc/cpuinfo text.
pub fn parse_cpuinfo(text: &str) -> (String, usize) {
    let value = |line: &str| line.split_once(':').map(|(_, v)| v.trim().to_owned());
    let mut model = None;
    let mut cores = 0;
    for line in text.lines() {
        let key = line.split(':').next().unwrap_or_default().trim();
        match key {
            "processor" => cores += 1,
            "model name" if model.is_none() => model = value(line),
            _ => {}
        }
    }
    (model.unwrap_or_else(|| "unknown CPU".to_owned()), cores)
}

fn parse_meminfo_gib(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib + (1 << 19)) >> 20)
}

/// The UTC date and time of `t`, as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A table: a header row and rows of already formatted cells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows (each as long as `headers`).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// GitHub-flavoured Markdown, columns padded to line up in a terminal; columns whose
    /// cells are all numbers are right-aligned.
    pub fn to_markdown(&self) -> String {
        let cols = self.headers.len();
        let cell =
            |row: &[String], i: usize| row.get(i).map_or("", String::as_str).replace('|', "\\|");
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| cell(r, i).chars().count())
                    .chain([self.headers[i].chars().count(), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let numeric: Vec<bool> = (0..cols)
            .map(|i| {
                // Blank and "-" cells (nothing measured) do not decide the alignment.
                let cells: Vec<String> = self
                    .rows
                    .iter()
                    .map(|r| cell(r, i))
                    .filter(|c| !matches!(c.trim(), "" | "-"))
                    .collect();
                !cells.is_empty() && cells.iter().all(|c| is_number(c))
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if numeric[i] {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(self.headers.clone());
        let rule: Vec<String> = (0..cols)
            .map(|i| {
                if numeric[i] {
                    format!("{}:", "-".repeat(widths[i] - 1))
                } else {
                    "-".repeat(widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            out.push_str(&line((0..cols).map(|i| cell(row, i)).collect()));
        }
        out
    }
}

fn is_number(s: &str) -> bool {
    let s = s.trim().trim_end_matches(['×', 'x', '%']);
    !s.is_empty() && s.replace(',', "").parse::<f64>().is_ok()
}

/// A number with `decimals` decimals.
pub fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

/// One section of a report: a heading, an explanation, a table and notes under it.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    /// Heading (level 2).
    pub heading: String,
    /// Paragraph before the table.
    pub intro: String,
    /// The table.
    pub table: Table,
    /// Lines after the table.
    pub notes: Vec<String>,
}

/// A whole report: where and how it was measured, then its sections.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Title (level 1).
    pub title: String,
    /// When it was measured.
    pub date: String,
    /// The command that produced it.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// Tool and crate versions, in order.
    pub versions: Vec<(String, String)>,
    /// The sections.
    pub sections: Vec<Section>,
}

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        let _ = writeln!(out, "- Date: {}", self.date);
        let _ = writeln!(out, "- Command: `{}`", self.command);
        let _ = writeln!(out, "- Machine: {}", self.machine.describe());
        for (name, version) in &self.versions {
            let _ = writeln!(out, "- {name}: {version}");
        }
        for section in &self.sections {
            let _ = write!(out, "\n## {}\n\n", section.heading);
            if !section.intro.is_empty() {
                let _ = write!(out, "{}\n\n", section.intro);
            }
            out.push_str(&section.table.to_markdown());
            if !section.notes.is_empty() {
                out.push('\n');
                for note in &section.notes {
                    let _ = writeln!(out, "{note}");
                }
            }
        }
        out
    }
}

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Writes `dir/<stem>.md` (the report) and `dir/<stem>.json` (`data`); returns both paths.
///
/// # Errors
/// [`WriteError`].
pub fn write(
    dir: &Path,
    stem: &str,
    report: &Report,
    data: &impl Serialize,
) -> Result<(PathBuf, PathBuf), WriteError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| WriteError { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let md = dir.join(format!("{stem}.md"));
    std::fs::write(&md, report.to_markdown()).map_err(err(&md))?;
    let json = dir.join(format!("{stem}.json"));
    let text = serde_json::to_string_pretty(data)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        .map_err(err(&json))?;
    std::fs::write(&json, text + "\n").map_err(err(&json))?;
    Ok((md, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_aligned_markdown_with_numbers_on_the_right() {
        let mut table = Table::new(["node", "tx/s", "ok"]);
        table.row(["cor-devnode", "812.5", "yes"]);
        table.row(["anvil", "1520.0", "no | 3 left"]);
        assert_eq!(
            table.to_markdown(),
            "| node        |   tx/s | ok           |\n\
             | ----------- | -----: | ------------ |\n\
             | cor-devnode |  812.5 | yes          |\n\
             | anvil       | 1520.0 | no \\| 3 left |\n"
        );
    }

    #[test]
    fn short_rows_are_padded_and_ratios_count_as_numbers() {
        let mut table = Table::new(["a", "ratio"]);
        table.row(["x", "0.42×"]);
        table.row(["y"]);
        table.row(["z", "n/a"]);
        let md = table.to_markdown();
        // "n/a" is not a number: the column is left-aligned, blanks padded.
        assert!(md.contains("| y   |       |"), "{md}");
        assert!(md.contains("| ----- |"), "{md}");
        let mut blanks = Table::new(["a", "ratio"]);
        blanks.row(["x", "0.42×"]);
        blanks.row(["y"]);
        // Blank cells do not stop a column of numbers being right-aligned.
        assert!(blanks.to_markdown().contains("| y   |       |\n"));
        assert!(blanks.to_markdown().contains("| x   | 0.42× |\n"));
        assert!(blanks.to_markdown().contains("| ----: |"));
        assert!(is_number("0.42×"));
        assert!(!is_number(""));
    }

    #[test]
    fn reports_list_the_context_before_the_sections() {
        let mut table = Table::new(["k"]);
        table.row(["1"]);
        let report = Report {
            title: "T".into(),
            date: "2026-01-02 03:04 UTC".into(),
            command: "cor-bench throughput --quick".into(),
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                memory_gib: Some(24),
                load_average: Some(1.5),
            },
            versions: vec![("anvil".into(), "1.7.1".into())],
            sections: vec![Section {
                heading: "S".into(),
                intro: "Intro.".into(),
                table,
                notes: vec!["Note.".into()],
            }],
        };
        assert_eq!(
            report.to_markdown(),
            "# T\n\n- Date: 2026-01-02 03:04 UTC\n- Command: `cor-bench throughput --quick`\n\
             - Machine: Test CPU (2 cores, 24 GiB), load average 1.50 at start\n- anvil: 1.7.1\n\n## S\n\nIntro.\n\n\
             |   k |\n| --: |\n|   1 |\n\nNote.\n"
        );
    }

    #[test]
    fn cpuinfo_gives_the_model_and_the_processor_count() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 9654 96-Core Processor\n";
        assert_eq!(
            parse_cpuinfo(text),
            ("AMD EPYC 9654 96-Core Processor".to_owned(), 2)
        );
        assert_eq!(parse_cpuinfo(""), ("unknown CPU".to_owned(), 0));
        assert_eq!(parse_meminfo_gib("MemTotal:       24576000 kB\n"), Some(23));
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:30:00 UTC (a leap day).
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_709_209_800);
        assert_eq!(utc_timestamp(t), "2024-02-29 12:30 UTC");
    }
}
