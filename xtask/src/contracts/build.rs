//! `cargo contracts build`: compile, process, compress, report.

use std::{
    fs, io,
    path::{Path, PathBuf},
    process::Command,
};

use super::{
    compress,
    discover::{self, ContractCrate, DiscoverError},
    nitro,
    report::{self, Row},
};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "contract";

/// Why `cargo contracts build` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// The workspace could not be read.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--contract` named a crate that is not a contract.
    #[error("no contract crate `{name}` (known: {known})")]
    UnknownContract {
        /// The name given.
        name: String,
        /// The contract crates there are, comma-separated.
        known: String,
    },
    /// A tool (rustup, cargo) could not run or failed.
    #[error("`{command}` failed: {reason}")]
    Tool {
        /// The command line.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Some contracts cannot be deployed: each line names one and says why.
    #[error("{} contract(s) cannot be deployed:\n  {}", .0.len(), .0.join("\n  "))]
    Undeployable(Vec<String>),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Builds the selected contracts (all when `only` is empty) and writes their programs.
///
/// Every selected contract is processed before failing, so the table is complete.
pub(crate) fn run(only: &[String], out_dir: Option<PathBuf>) -> Result<(), BuildError> {
    let ws = discover::workspace()?;
    let selected = select(&ws.contracts, only)?;
    ensure_wasm_target()?;
    compile(&ws.root, &selected)?;

    let out_dir = out_dir.unwrap_or_else(|| ws.target_dir.join("contracts"));
    fs::create_dir_all(&out_dir).map_err(io_error(&out_dir))?;
    let built = ws.target_dir.join(TARGET).join(PROFILE);

    let rows = selected
        .iter()
        .map(|contract| package(contract, &built, &out_dir))
        .collect::<Result<Vec<Row>, _>>()?;
    print!("{}", report::table(&rows));
    let sizes = out_dir.join("sizes.json");
    fs::write(&sizes, report::json(&rows)).map_err(io_error(&sizes))?;
    println!("programs written to {}", out_dir.display());

    let failed: Vec<String> = rows.iter().filter_map(Row::failure).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(BuildError::Undeployable(failed))
    }
}

fn select(all: &[ContractCrate], only: &[String]) -> Result<Vec<ContractCrate>, BuildError> {
    if only.is_empty() {
        return Ok(all.to_vec());
    }
    only.iter()
        .map(|name| {
            all.iter()
                .find(|c| &c.package == name)
                .cloned()
                .ok_or_else(|| BuildError::UnknownContract {
                    name: name.clone(),
                    known: all
                        .iter()
                        .map(|c| c.package.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

/// Installs the WASM target when rustup lacks it (CI machines may; it is idempotent).
fn ensure_wasm_target() -> Result<(), BuildError> {
    let installed = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) => out,
        // No rustup: assume the toolchain was set up some other way; cargo will say if not.
        Err(_) => return Ok(()),
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    let command = format!("rustup target add {TARGET}");
    eprintln!("{command}");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(BuildError::Tool {
            command,
            reason: s.to_string(),
        }),
        Err(e) => Err(BuildError::Tool {
            command,
            reason: e.to_string(),
        }),
    }
}

/// The arguments of the one `cargo build` that compiles every selected contract.
fn build_args(contracts: &[ContractCrate]) -> Vec<String> {
    let mut args: Vec<String> = ["build", "--target", TARGET, "--profile", PROFILE, "--lib"]
        .map(String::from)
        .to_vec();
    for c in contracts {
        args.push("-p".into());
        args.push(c.package.clone());
    }
    args
}

/// Runs cargo for the WASM target, its output streaming to the terminal.
fn compile(root: &Path, contracts: &[ContractCrate]) -> Result<(), BuildError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = build_args(contracts);
    let command = format!("cargo {}", args.join(" "));
    eprintln!("{command}");
    let status = Command::new(cargo).current_dir(root).args(&args).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(BuildError::Tool {
            command,
            reason: s.to_string(),
        }),
        Err(e) => Err(BuildError::Tool {
            command,
            reason: e.to_string(),
        }),
    }
}

/// Processes one compiled contract into its row; writes its files when it is valid.
///
/// A module that is missing or fails Nitro's checks gives a row with its error; only
/// failing to write the outputs aborts.
fn package(contract: &ContractCrate, built: &Path, out_dir: &Path) -> Result<Row, BuildError> {
    let stem = contract.artifact_stem();
    let mut row = Row {
        contract: contract.package.clone(),
        raw_bytes: 0,
        compressed_bytes: 0,
        hooks: 0,
        error: None,
    };
    let input = built.join(format!("{stem}.wasm"));
    let wasm = match fs::read(&input) {
        Ok(wasm) => wasm,
        Err(e) => {
            row.error = Some(format!("{}: {e}", input.display()));
            return Ok(row);
        }
    };
    let checked = match nitro::process(&wasm) {
        Ok(checked) => checked,
        Err(e) => {
            row.error = Some(e.to_string());
            return Ok(row);
        }
    };
    let compressed = compress::brotli(&checked.wasm);
    let code = compress::deployable(&compressed);
    row.raw_bytes = checked.wasm.len();
    row.compressed_bytes = compressed.len();
    row.hooks = checked.hooks;

    let write = |name: String, bytes: &[u8]| {
        let path = out_dir.join(name);
        fs::write(&path, bytes).map_err(io_error(&path))
    };
    write(format!("{stem}.wasm"), &checked.wasm)?;
    write(format!("{stem}.code"), &code)?;
    write(
        format!("{stem}.code.hex"),
        format!("0x{}\n", hex(&code)).as_bytes(),
    )?;
    Ok(row)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_named(name: &str) -> ContractCrate {
        ContractCrate {
            package: name.into(),
        }
    }

    #[test]
    fn selecting_an_unknown_contract_names_the_known_ones() {
        let all = vec![crate_named("cor-token")];
        let err = select(&all, &["nope".into()]).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("cor-token"), "{err}");
        assert_eq!(select(&all, &[]).unwrap(), all);
    }

    #[test]
    fn one_cargo_build_covers_every_contract_for_wasm_in_the_contract_profile() {
        let args = build_args(&[crate_named("cor-token"), crate_named("node-pool")]);
        assert_eq!(
            args.join(" "),
            "build --target wasm32-unknown-unknown --profile contract --lib \
             -p cor-token -p node-pool"
        );
    }

    #[test]
    fn a_missing_module_is_a_failed_row_not_an_abort() {
        let dir = std::env::temp_dir().join(format!("xtask-missing-{}", std::process::id()));
        let row = package(&crate_named("no-such-contract"), &dir, &dir).unwrap();
        assert_eq!(row.status(), "INVALID");
        let why = row.failure().unwrap();
        assert!(
            why.starts_with("no-such-contract: ") && why.contains("no_such_contract.wasm"),
            "{why}"
        );
    }

    #[test]
    fn the_undeployable_error_names_every_failing_contract() {
        let err = BuildError::Undeployable(vec!["a: over".into(), "b: bad import".into()]);
        assert_eq!(
            err.to_string(),
            "2 contract(s) cannot be deployed:\n  a: over\n  b: bad import"
        );
    }

    #[test]
    fn hex_is_lowercase_without_separators() {
        assert_eq!(hex(&[0xEF, 0xF0, 0x00, 0x0a]), "eff0000a");
    }
}
