//! Project automation for COR, run through cargo aliases (`.cargo/config.toml`):
//!
//! - `cargo contracts build [--contract NAME]... [--out-dir DIR]`: builds every contract for
//!   Stylus, makes it loadable by Nitro, validates it, compresses it, prints the size table;
//! - `cargo contracts abi [--check]`: exports (or checks) the Solidity interfaces and JSON
//!   ABIs under `abi/`.

mod abi;
mod contracts;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "COR project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Contract programs: build and size them, export their interfaces.
    Contracts {
        #[command(subcommand)]
        command: contracts::Command,
    },
}

/// Runs the parsed command line.
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Contracts { command } => Ok(contracts::run(command)?),
    }
}

/// Prints a failure as its message only (every error type here already names its cause):
/// returning the error from `main` would print anyhow's backtrace too whenever
/// `RUST_BACKTRACE` is set, burying the message.
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
