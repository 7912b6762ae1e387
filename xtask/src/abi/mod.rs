//! `cargo contracts abi`: the Solidity interface and JSON ABI of every contract.
//!
//! The Stylus SDK's ABI export lists functions only (errors without parameter names, no
//! events). Wallets and dApps need all three, so the interface is assembled here from
//! two sources that both come from the contract code itself:
//! - functions and the constructor from the SDK's `GenerateAbi` implementation (written
//!   by `#[public]` when the crate is built with its `export-abi` feature);
//! - events and errors from the `sol_decls!` declarations each contract lists in its
//!   `sol_decls()` function.
//!
//! The result is written to `abi/sol/I<Name>.sol` and `abi/json/<Name>.json`; the
//! `cor-abi` crate builds its bindings from those files, and [`check`] (run by the test
//! suite) fails when a contract's interface drifts from them.

mod registry;

use std::{
    fmt, fs,
    path::{Path, PathBuf},
};

use alloy_json_abi::{Constructor, Error as AbiErrorItem, Event, Function, JsonAbi};

pub(crate) use registry::{ContractAbi, CONTRACTS};

/// What can go wrong while exporting or checking interfaces.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AbiError {
    /// A line of the SDK's export or a `sol_decls!` entry did not parse.
    #[error("{contract}: cannot parse `{text}`: {reason}")]
    Parse {
        /// The contract.
        contract: &'static str,
        /// The text that failed.
        text: String,
        /// The parser's message.
        reason: String,
    },
    /// A `sol_decls!` entry is neither an event nor an error.
    #[error("{contract}: `{text}` is neither an event nor an error")]
    UnknownDeclaration {
        /// The contract.
        contract: &'static str,
        /// The declaration.
        text: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Serialising the JSON ABI failed.
    #[error("{contract}: JSON: {source}")]
    Json {
        /// The contract.
        contract: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
}

/// A contract's rendered interface files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Contract name, e.g. `CorToken`.
    pub(crate) name: &'static str,
    /// Contents of `abi/sol/I<Name>.sol`.
    pub(crate) sol: String,
    /// Contents of `abi/json/<Name>.json`.
    pub(crate) json: String,
}

impl Rendered {
    /// Path of the Solidity interface under `abi_dir`.
    pub(crate) fn sol_path(&self, abi_dir: &Path) -> PathBuf {
        abi_dir.join("sol").join(format!("I{}.sol", self.name))
    }

    /// Path of the JSON ABI under `abi_dir`.
    pub(crate) fn json_path(&self, abi_dir: &Path) -> PathBuf {
        abi_dir.join("json").join(format!("{}.json", self.name))
    }
}

struct Printer(fn(&mut fmt::Formatter<'_>) -> fmt::Result);

impl fmt::Display for Printer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

fn parse_err(contract: &'static str, text: &str, reason: impl fmt::Display) -> AbiError {
    AbiError::Parse {
        contract,
        text: text.to_owned(),
        reason: reason.to_string(),
    }
}

/// Assembles the JSON ABI of one contract from its code.
pub(crate) fn generate(contract: &ContractAbi) -> Result<JsonAbi, AbiError> {
    let name = contract.name;
    let mut abi = JsonAbi::new();
    for line in Printer(contract.functions).to_string().lines() {
        let line = line.trim().trim_end_matches(';');
        if line.starts_with("function ") {
            let mut f = Function::parse(line).map_err(|e| parse_err(name, line, e))?;
            f.inputs
                .iter_mut()
                .for_each(|p| p.name = camel_case(&p.name));
            abi.functions.entry(f.name.clone()).or_default().push(f);
        }
    }
    let ctor = Printer(contract.constructor).to_string();
    let ctor = ctor.trim();
    if !ctor.is_empty() {
        let mut c = Constructor::parse(ctor).map_err(|e| parse_err(name, ctor, e))?;
        c.inputs
            .iter_mut()
            .for_each(|p| p.name = camel_case(&p.name));
        abi.constructor = Some(c);
    }
    for decl in (contract.decls)() {
        let decl = &normalize(decl);
        if decl.starts_with("event") {
            let e = Event::parse(decl).map_err(|e| parse_err(name, decl, e))?;
            let list = abi.events.entry(e.name.clone()).or_default();
            if !list.contains(&e) {
                list.push(e);
            }
        } else if decl.starts_with("error") {
            let e = AbiErrorItem::parse(decl).map_err(|e| parse_err(name, decl, e))?;
            let list = abi.errors.entry(e.name.clone()).or_default();
            if !list.contains(&e) {
                list.push(e);
            }
        } else {
            return Err(AbiError::UnknownDeclaration {
                contract: name,
                text: decl.to_owned(),
            });
        }
    }
    Ok(abi)
}

/// Solidity's parameter naming (`newOwner`) for Rust's (`new_owner`); names do not
/// change selectors, only what wallets display.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for (i, ch) in name.chars().enumerate() {
        if ch == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Turns `stringify!` output (`error Foo\n(address a , uint256 b)`) into the plain
/// one-line Solidity the parser expects (`error Foo(address a, uint256 b)`).
fn normalize(decl: &str) -> String {
    decl.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
}

/// Renders one contract's interface files.
pub(crate) fn render(contract: &ContractAbi) -> Result<Rendered, AbiError> {
    let abi = generate(contract)?;
    let sol = format!(
        "// SPDX-License-Identifier: MIT OR Apache-2.0\n\
         // Generated by `cargo contracts abi` from contracts/{krate}: do not edit by hand.\n\
         pragma solidity ^0.8.23;\n\n{body}\n",
        krate = contract.krate,
        body = abi.to_sol(&format!("I{}", contract.name), None).trim_end(),
    );
    let json = serde_json::to_string_pretty(&abi).map_err(|source| AbiError::Json {
        contract: contract.name,
        source,
    })? + "\n";
    Ok(Rendered {
        name: contract.name,
        sol,
        json,
    })
}

/// Writes every contract's interface files under `abi_dir`; returns the files written.
pub(crate) fn write_all(abi_dir: &Path) -> Result<Vec<PathBuf>, AbiError> {
    let mut written = Vec::new();
    for contract in CONTRACTS {
        let r = render(contract)?;
        for (path, text) in [
            (r.sol_path(abi_dir), &r.sol),
            (r.json_path(abi_dir), &r.json),
        ] {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|source| AbiError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
            fs::write(&path, text).map_err(|source| AbiError::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The committed files that differ from what the contracts export now (missing files
/// count as different).
pub(crate) fn check(abi_dir: &Path) -> Result<Vec<PathBuf>, AbiError> {
    let mut drifted = Vec::new();
    for contract in CONTRACTS {
        let r = render(contract)?;
        for (path, text) in [
            (r.sol_path(abi_dir), &r.sol),
            (r.json_path(abi_dir), &r.json),
        ] {
            if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                drifted.push(path);
            }
        }
    }
    Ok(drifted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../abi")
    }

    #[test]
    fn committed_abi_files_match_the_contracts() {
        let drifted = check(&abi_dir()).expect("every contract's interface exports");
        assert!(
            drifted.is_empty(),
            "contract interfaces drifted from the committed files (run `cargo contracts abi`): {drifted:?}"
        );
    }

    #[test]
    fn normalize_joins_stringified_declarations() {
        assert_eq!(
            normalize("error Foo\n(address a , uint256 b )"),
            "error Foo(address a, uint256 b)"
        );
        assert_eq!(normalize("event E( )"), "event E()");
    }

    #[test]
    fn camel_case_follows_solidity_naming() {
        assert_eq!(camel_case("new_owner"), "newOwner");
        assert_eq!(camel_case("max_per_period"), "maxPerPeriod");
        assert_eq!(camel_case("_reserved"), "_reserved");
        assert_eq!(camel_case("value"), "value");
    }

    #[test]
    fn every_contract_exports_functions_events_and_errors() {
        for contract in CONTRACTS {
            let abi = generate(contract).expect("interface exports");
            assert!(
                !abi.functions.is_empty(),
                "{} has no functions",
                contract.name
            );
            assert!(!abi.events.is_empty(), "{} has no events", contract.name);
            assert!(!abi.errors.is_empty(), "{} has no errors", contract.name);
            assert!(
                abi.constructor.is_some(),
                "{} has no constructor",
                contract.name
            );
        }
    }

    #[test]
    fn token_interface_keeps_erc20_names_and_indexed_fields() {
        let token = CONTRACTS.iter().find(|c| c.name == "CorToken").unwrap();
        let abi = generate(token).unwrap();
        let transfer = &abi.events["Transfer"][0];
        assert_eq!(transfer.signature(), "Transfer(address,address,uint256)");
        assert!(
            transfer.inputs[0].indexed && transfer.inputs[1].indexed && !transfer.inputs[2].indexed
        );
        assert_eq!(transfer.inputs[0].name, "from");
        assert_eq!(
            abi.errors["ERC20InsufficientBalance"][0].signature(),
            "ERC20InsufficientBalance(address,uint256,uint256)"
        );
        assert_eq!(
            abi.functions["transferFrom"][0].selector().to_string(),
            "0x23b872dd"
        );
        assert_eq!(
            abi.functions["DOMAIN_SEPARATOR"][0].selector().to_string(),
            "0x3644e515"
        );
    }
}
