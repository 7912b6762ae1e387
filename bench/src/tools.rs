//! External tools the comparison needs: anvil (from npm's `@foundry-rs/anvil`) and the
//! Solidity compiler (npm's `solc`, i.e. solcjs), installed once under a cache directory,
//! and the Solidity ERC-20 compiled from `bench/sol/`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::process::Command;

/// The anvil release compared against (npm package and version).
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil@1.7.1";
/// The Solidity compiler (solcjs) used for `bench/sol/`.
pub const SOLC_PACKAGE: &str = "solc@0.8.37";
/// The Solidity ERC-20 that anvil runs, embedded so the binary runs from any directory.
pub const BENCH_TOKEN_SOURCE: &str = include_str!("../sol/BenchToken.sol");

/// Why a tool could not be installed, run or used.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// npm is not on PATH.
    #[error(
        "`npm` was not found on PATH; it installs anvil ({ANVIL_PACKAGE}) and solcjs \
         ({SOLC_PACKAGE}). Install Node.js 18+ with npm (e.g. `apt-get install nodejs npm`), \
         or pass --anvil and --solcjs with binaries you already have"
    )]
    NpmMissing,
    /// `npm install` failed.
    #[error("`npm install -g --prefix {prefix} {package}` failed ({status}): {output}")]
    NpmFailed {
        /// The package.
        package: &'static str,
        /// The install prefix.
        prefix: PathBuf,
        /// Exit status.
        status: String,
        /// The end of npm's output.
        output: String,
    },
    /// A tool binary exists but does not run.
    #[error("{tool} at {path} does not run: {reason}")]
    NotRunnable {
        /// The tool.
        tool: &'static str,
        /// The binary.
        path: PathBuf,
        /// What happened.
        reason: String,
    },
    /// solcjs refused the source.
    #[error("solcjs could not compile {source_path}: {output}")]
    Compile {
        /// The Solidity file.
        source_path: PathBuf,
        /// The compiler's output.
        output: String,
    },
    /// solcjs ran but wrote no bytecode for the contract.
    #[error("solcjs wrote no bytecode for {contract} under {dir}")]
    NoBytecode {
        /// The contract.
        contract: &'static str,
        /// Its output directory.
        dir: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ToolError + '_ {
    move |source| ToolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The default cache of installed tools: `$XDG_CACHE_HOME/cor/tools`, else
/// `~/.cache/cor/tools`, else `.cache/cor/tools` in the working directory.
pub fn default_tools_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("cor")
        .join("tools")
}

/// The last `max` characters of `text`, for error messages.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    // Non-empty here, so max >= 1 and the index exists.
    let cut = text
        .char_indices()
        .rev()
        .nth(max.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    format!("…{}", &text[cut..])
}

/// Runs `bin args…` and returns its stdout.
async fn output(tool: &'static str, bin: &Path, args: &[&str]) -> Result<String, ToolError> {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ToolError::NotRunnable {
            tool,
            path: bin.to_owned(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ToolError::NotRunnable {
            tool,
            path: bin.to_owned(),
            reason: format!(
                "{}: {}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 400)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The first line of `bin --version`.
///
/// # Errors
/// [`ToolError::NotRunnable`].
pub async fn version(tool: &'static str, bin: &Path) -> Result<String, ToolError> {
    let text = output(tool, bin, &["--version"]).await?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Installs `package` under `prefix` with npm unless `prefix/bin/<bin>` already runs;
/// returns the binary.
async fn npm_tool(
    tool: &'static str,
    package: &'static str,
    bin: &str,
    prefix: &Path,
) -> Result<PathBuf, ToolError> {
    let path = prefix.join("bin").join(bin);
    if path.exists() && version(tool, &path).await.is_ok() {
        return Ok(path);
    }
    tracing::info!("installing {package} under {} (npm)", prefix.display());
    std::fs::create_dir_all(prefix).map_err(io(prefix))?;
    let prefix_arg = prefix.to_string_lossy().into_owned();
    let out = Command::new("npm")
        .args(["install", "-g", "--no-fund", "--no-audit", "--prefix"])
        .arg(&prefix_arg)
        .arg(package)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ToolError::NpmMissing,
            _ => ToolError::Io {
                path: PathBuf::from("npm"),
                source: e,
            },
        })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(ToolError::NpmFailed {
            package,
            prefix: prefix.to_owned(),
            status: out.status.to_string(),
            output: tail(&text, 800),
        });
    }
    // The install succeeded: the binary must now run, or say why not.
    version(tool, &path).await?;
    Ok(path)
}

/// anvil: `explicit` when given, else installed under `tools_dir/foundry`.
///
/// # Errors
/// [`ToolError`] naming what to install.
pub async fn anvil(tools_dir: &Path, explicit: Option<&Path>) -> Result<PathBuf, ToolError> {
    match explicit {
        Some(path) => {
            version("anvil", path).await?;
            Ok(path.to_owned())
        }
        None => {
            let prefix = tools_dir.join("foundry");
            let wrapper = npm_tool("anvil", ANVIL_PACKAGE, "anvil", &prefix).await?;
            // npm's `bin/anvil` is a Node script that spawns the real binary: stopping the
            // script would leave anvil running. Run the platform package's binary itself.
            Ok(native_binary(&prefix, "anvil").unwrap_or(wrapper))
        }
    }
}

/// The executable (ELF) `name` inside npm's `@foundry-rs/<name>` platform package under
/// `prefix`, if there is one.
fn native_binary(prefix: &Path, name: &str) -> Option<PathBuf> {
    let packages = prefix
        .join("lib/node_modules/@foundry-rs")
        .join(name)
        .join("node_modules/@foundry-rs");
    std::fs::read_dir(packages)
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .find(|path| std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF")))
}

/// solcjs: `explicit` when given, else installed under `tools_dir/solc`.
///
/// # Errors
/// [`ToolError`] naming what to install.
pub async fn solcjs(tools_dir: &Path, explicit: Option<&Path>) -> Result<PathBuf, ToolError> {
    match explicit {
        Some(path) => {
            version("solcjs", path).await?;
            Ok(path.to_owned())
        }
        None => npm_tool("solcjs", SOLC_PACKAGE, "solcjs", &tools_dir.join("solc")).await,
    }
}

/// Compiles [`BENCH_TOKEN_SOURCE`] with solcjs (optimizer on) in `work_dir` and returns
/// the creation bytecode of `BenchToken`.
///
/// # Errors
/// [`ToolError::Compile`], [`ToolError::NoBytecode`], [`ToolError::Io`].
pub async fn compile_bench_token(solcjs: &Path, work_dir: &Path) -> Result<Vec<u8>, ToolError> {
    const CONTRACT: &str = "BenchToken";
    let out_dir = work_dir.join("out");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).map_err(io(&out_dir))?;
    let source = work_dir.join("BenchToken.sol");
    std::fs::write(&source, BENCH_TOKEN_SOURCE).map_err(io(&source))?;
    // solcjs names its outputs after the path it was given: run it in the directory.
    let out = Command::new(solcjs)
        .current_dir(work_dir)
        .args([
            "--bin",
            "--optimize",
            "--output-dir",
            "out",
            "BenchToken.sol",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ToolError::NotRunnable {
            tool: "solcjs",
            path: solcjs.to_owned(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ToolError::Compile {
            source_path: source,
            output: tail(
                &format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
                800,
            ),
        });
    }
    let suffix = format!("_{CONTRACT}.bin");
    let entries = std::fs::read_dir(&out_dir).map_err(io(&out_dir))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(&suffix) {
            let path = entry.path();
            let hex = std::fs::read_to_string(&path).map_err(io(&path))?;
            return alloy_primitives::hex::decode(hex.trim()).map_err(|e| ToolError::Compile {
                source_path: source.clone(),
                output: format!("{} is not hex: {e}", path.display()),
            });
        }
    }
    Err(ToolError::NoBytecode {
        contract: CONTRACT,
        dir: out_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_of_long_output() {
        assert_eq!(tail("  short \n", 10), "short");
        assert_eq!(tail("abcdefghij", 3), "…hij");
        assert_eq!(tail("abc", 3), "abc");
    }
}
