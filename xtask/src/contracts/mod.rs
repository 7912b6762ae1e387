//! `cargo contracts ...`: building the Stylus programs and exporting their interfaces.

mod build;
mod compress;
mod discover;
mod nitro;
mod report;

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::abi;

/// Subcommands of `cargo contracts`.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Build every contract for Stylus and print the size table (fails over the limit).
    Build {
        /// Only these contract crates (package names); default: all.
        #[arg(long = "contract")]
        contracts: Vec<String>,
        /// Where processed modules and deployable code go (default: <target>/contracts).
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Write the Solidity interfaces and JSON ABIs under `abi/` from the contract code.
    Abi {
        /// Only check that the committed files are up to date; change nothing.
        #[arg(long)]
        check: bool,
    },
}

/// Runs one `cargo contracts` subcommand.
pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Build { contracts, out_dir } => build::run(&contracts, out_dir),
        Command::Abi { check } => {
            let abi_dir = discover::workspace_root()?.join("abi");
            if check {
                let drifted = abi::check(&abi_dir)?;
                if !drifted.is_empty() {
                    bail!(
                        "interfaces drifted from the contract code (run `cargo contracts abi`): {}",
                        drifted
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                println!("abi/ is up to date with the contracts");
            } else {
                for path in abi::write_all(&abi_dir).context("exporting interfaces")? {
                    println!("wrote {}", path.display());
                }
            }
            Ok(())
        }
    }
}
