//! Project automation for COR, run through cargo aliases (`.cargo/config.toml`):
//!
//! - `cargo contracts build [--contract NAME]... [--out-dir DIR]`: builds every contract for
//!   Stylus, makes it loadable by Nitro, validates it, compresses it, prints the size table;
//! - `cargo contracts abi [--check]`: exports (or checks) the Solidity interfaces and JSON
//!   ABIs under `abi/`.

mod abi;
mod contracts;

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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Contracts { command } => contracts::run(command),
    }
}
