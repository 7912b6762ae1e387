//! `cargo contracts ...`: building the Stylus programs and exporting their interfaces.

mod build;
mod compress;
mod discover;
mod nitro;
mod report;

use std::path::PathBuf;

use clap::Subcommand;

use crate::abi;

/// Why a `cargo contracts` subcommand failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ContractsError {
    /// `cargo contracts build` failed, or some contract cannot be deployed.
    #[error(transparent)]
    Build(#[from] build::BuildError),
    /// The workspace could not be read.
    #[error(transparent)]
    Discover(#[from] discover::DiscoverError),
    /// Exporting or checking the interfaces failed.
    #[error("exporting interfaces: {0}")]
    Abi(#[from] abi::AbiError),
    /// The committed interface files differ from what the contract code exports.
    #[error(
        "interfaces drifted from the contract code (run `cargo contracts abi`): {}",
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    AbiDrift(Vec<PathBuf>),
}

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
pub(crate) fn run(command: Command) -> Result<(), ContractsError> {
    match command {
        Command::Build { contracts, out_dir } => Ok(build::run(&contracts, out_dir)?),
        Command::Abi { check } => {
            let abi_dir = discover::workspace_root()?.join("abi");
            if check {
                let drifted = abi::check(&abi_dir)?;
                if !drifted.is_empty() {
                    return Err(ContractsError::AbiDrift(drifted));
                }
                println!("abi/ is up to date with the contracts");
            } else {
                for path in abi::write_all(&abi_dir)? {
                    println!("wrote {}", path.display());
                }
            }
            Ok(())
        }
    }
}
