//! `cargo contracts build`: compile, process, compress, report.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

use super::{
    compress,
    discover::{self, ContractCrate},
    nitro,
    report::{self, Row},
};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "contract";

/// Builds the selected contracts (all when `only` is empty) and writes their programs.
pub(crate) fn run(only: &[String], out_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let ws = discover::workspace()?;
    let selected = select(&ws.contracts, only)?;
    ensure_wasm_target()?;
    compile(&ws.root, &selected)?;

    let out_dir = out_dir.unwrap_or_else(|| ws.target_dir.join("contracts"));
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let built = ws.target_dir.join(TARGET).join(PROFILE);

    let mut rows = Vec::new();
    for contract in &selected {
        rows.push(package(contract, &built, &out_dir)?);
    }
    print!("{}", report::table(&rows));
    let json = serde_json::to_string_pretty(&rows)? + "\n";
    fs::write(out_dir.join("sizes.json"), json)?;
    println!("programs written to {}", out_dir.display());

    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.ok())
        .map(|r| match &r.error {
            Some(e) => format!("{}: {e}", r.contract),
            None => format!(
                "{}: {} bytes compressed, over the {} byte limit",
                r.contract,
                r.compressed_bytes,
                report::SIZE_LIMIT
            ),
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} contract(s) cannot be deployed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}

fn select(all: &[ContractCrate], only: &[String]) -> anyhow::Result<Vec<ContractCrate>> {
    if only.is_empty() {
        return Ok(all.to_vec());
    }
    only.iter()
        .map(|name| {
            all.iter()
                .find(|c| &c.package == name)
                .cloned()
                .with_context(|| {
                    let known: Vec<_> = all.iter().map(|c| c.package.as_str()).collect();
                    format!("no contract crate `{name}` (known: {})", known.join(", "))
                })
        })
        .collect()
}

/// Installs the WASM target when rustup lacks it (CI machines may; it is idempotent).
fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            eprintln!("installing the {TARGET} target with rustup");
            let status = Command::new("rustup")
                .args(["target", "add", TARGET])
                .status()?;
            if !status.success() {
                bail!("`rustup target add {TARGET}` failed");
            }
            Ok(())
        }
        // No rustup: assume the toolchain was set up some other way; cargo will say if not.
        Err(_) => Ok(()),
    }
}

fn compile(root: &Path, contracts: &[ContractCrate]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--target", TARGET, "--profile", PROFILE, "--lib"]);
    for c in contracts {
        cmd.args(["-p", &c.package]);
    }
    eprintln!(
        "building {} contract(s) for Stylus: {:?}",
        contracts.len(),
        cmd
    );
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build for {TARGET} failed");
    }
    Ok(())
}

fn package(contract: &ContractCrate, built: &Path, out_dir: &Path) -> anyhow::Result<Row> {
    let stem = contract.artifact_stem();
    let input = built.join(format!("{stem}.wasm"));
    let wasm = fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
    let mut row = Row {
        contract: contract.package.clone(),
        raw_bytes: 0,
        compressed_bytes: 0,
        hooks: 0,
        error: None,
    };
    match nitro::process(&wasm) {
        Ok(checked) => {
            let compressed = compress::brotli(&checked.wasm);
            let code = compress::deployable(&compressed);
            row.raw_bytes = checked.wasm.len();
            row.compressed_bytes = compressed.len();
            row.hooks = checked.hooks;
            fs::write(out_dir.join(format!("{stem}.wasm")), &checked.wasm)?;
            fs::write(out_dir.join(format!("{stem}.code")), &code)?;
            fs::write(
                out_dir.join(format!("{stem}.code.hex")),
                format!("0x{}\n", hex(&code)),
            )?;
        }
        Err(e) => row.error = Some(e.to_string()),
    }
    Ok(row)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selecting_an_unknown_contract_names_the_known_ones() {
        let all = vec![ContractCrate {
            package: "cor-token".into(),
        }];
        let err = select(&all, &["nope".into()]).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("cor-token"), "{err}");
        assert_eq!(select(&all, &[]).unwrap(), all);
    }

    #[test]
    fn hex_is_lowercase_without_separators() {
        assert_eq!(hex(&[0xEF, 0xF0, 0x00, 0x0a]), "eff0000a");
    }
}
