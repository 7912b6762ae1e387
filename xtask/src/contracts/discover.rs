//! Finding the workspace, its target directory and its contract crates.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;

/// What can go wrong while asking cargo about the workspace.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoverError {
    /// `cargo metadata` could not run or failed.
    #[error("cargo metadata failed: {0}")]
    Cargo(String),
    /// Its output was not the expected JSON.
    #[error("cargo metadata output: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    crate_types: Vec<String>,
}

/// A contract crate: a workspace member under `contracts/` built as a `cdylib`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContractCrate {
    /// Package name, e.g. `cor-token`.
    pub(crate) package: String,
}

impl ContractCrate {
    /// File stem cargo gives the crate's WASM output (`cor_token`).
    pub(crate) fn artifact_stem(&self) -> String {
        self.package.replace('-', "_")
    }
}

/// The workspace as far as contract builds care.
pub(crate) struct Workspace {
    /// The workspace root.
    pub(crate) root: PathBuf,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR`).
    pub(crate) target_dir: PathBuf,
    /// Contract crates, sorted by name.
    pub(crate) contracts: Vec<ContractCrate>,
}

fn metadata() -> Result<Metadata, DiscoverError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| DiscoverError::Cargo(e.to_string()))?;
    if !out.status.success() {
        return Err(DiscoverError::Cargo(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Reads the workspace layout from `cargo metadata`.
pub(crate) fn workspace() -> Result<Workspace, DiscoverError> {
    let meta = metadata()?;
    let contracts_dir = meta.workspace_root.join("contracts");
    let mut contracts: Vec<ContractCrate> = meta
        .packages
        .iter()
        .filter(|p| is_contract(&p.manifest_path, &contracts_dir, &p.targets))
        .map(|p| ContractCrate {
            package: p.name.clone(),
        })
        .collect();
    contracts.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(Workspace {
        root: meta.workspace_root,
        target_dir: meta.target_directory,
        contracts,
    })
}

/// The workspace root.
pub(crate) fn workspace_root() -> Result<PathBuf, DiscoverError> {
    Ok(metadata()?.workspace_root)
}

fn is_contract(manifest: &Path, contracts_dir: &Path, targets: &[Target]) -> bool {
    manifest.starts_with(contracts_dir)
        && targets
            .iter()
            .any(|t| t.crate_types.iter().any(|c| c == "cdylib"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cdylib_crates_under_contracts_are_contracts() {
        let dir = Path::new("/ws/contracts");
        let cdylib = [Target {
            crate_types: vec!["lib".into(), "cdylib".into()],
        }];
        let lib = [Target {
            crate_types: vec!["lib".into()],
        }];
        assert!(is_contract(
            Path::new("/ws/contracts/token/Cargo.toml"),
            dir,
            &cdylib
        ));
        assert!(!is_contract(
            Path::new("/ws/contracts/common/Cargo.toml"),
            dir,
            &lib
        ));
        assert!(!is_contract(
            Path::new("/ws/xtask/Cargo.toml"),
            dir,
            &cdylib
        ));
    }

    #[test]
    fn the_workspace_has_the_core_contracts() {
        let ws = workspace().expect("cargo metadata runs");
        let names: Vec<_> = ws.contracts.iter().map(|c| c.package.as_str()).collect();
        assert!(names.contains(&"cor-token"), "{names:?}");
        assert!(!names.contains(&"cor-contract-common"), "{names:?}");
        assert_eq!(
            ContractCrate {
                package: "cor-token".into()
            }
            .artifact_stem(),
            "cor_token"
        );
    }
}
