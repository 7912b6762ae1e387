//! Revert data decoded into the contracts' typed errors.
//!
//! Every COR contract reverts with a typed Solidity error. [`Revert::decode`] finds the
//! error by its selector in the contracts' JSON ABIs (the callee's first, since several
//! contracts share error names) and names its fields, so a failure reads
//! `StakeQuota.QuotaExhausted(user: 0x…, modelClass: 1, redundancy: 3, needed: 12,
//! left: 4)` instead of hex. The
//! StylusDeployer's `ContractInitializationError` is unwrapped to the constructor's own
//! error.

use std::{fmt, sync::OnceLock};

use alloy::{
    dyn_abi::{DynSolValue, JsonAbiExt},
    json_abi::JsonAbi,
};
use alloy_primitives::{hex, Bytes};
use alloy_sol_types::{GenericContractError, SolInterface};
use cor_abi::stylus::IStylusDeployer::IStylusDeployerErrors;

/// A revert: the raw data and, when an ABI knows it, the decoded error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revert {
    /// The revert data as returned by the node.
    pub data: Bytes,
    /// The decoded error, when the data matches one the contracts declare.
    pub error: Option<DecodedError>,
}

/// A contract error with its fields named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedError {
    /// The contract that declares the error (`"StakeQuota"`), `"StylusDeployer"`, or
    /// `"Solidity"` for `Error(string)` and `Panic(uint256)`.
    pub contract: &'static str,
    /// The error's name (`"QuotaExhausted"`).
    pub name: String,
    /// Each field's name and value, rendered (decimal integers, hex bytes, checksummed
    /// addresses).
    pub fields: Vec<(String, String)>,
    /// For a failed constructor behind the StylusDeployer, the constructor's own error.
    pub cause: Option<Box<Revert>>,
}

impl DecodedError {
    /// The value of the field called `name`, rendered.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Abis(Vec<(&'static str, JsonAbi)>);

fn abis() -> &'static Abis {
    static ABIS: OnceLock<Abis> = OnceLock::new();
    ABIS.get_or_init(|| {
        Abis(
            cor_abi::JSON_ABIS
                .iter()
                // The files are checked against the contracts by `cargo contracts abi`'s
                // drift test; an unparsable one is left out rather than failing decoding.
                .filter_map(|(name, json)| Some((*name, serde_json::from_str(json).ok()?)))
                .collect(),
        )
    })
}

impl Revert {
    /// Decodes `data`, looking first in the ABI of `callee` (a contract name), then in
    /// every other contract's.
    pub fn decode(data: Bytes, callee: Option<&str>) -> Self {
        let error = decode_error(&data, callee);
        Self { data, error }
    }

    /// The error's name, when decoded.
    pub fn name(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.name.as_str())
    }

    /// True when the decoded error (or the constructor error it wraps) is called `name`.
    pub fn is(&self, name: &str) -> bool {
        match &self.error {
            Some(e) if e.name == name => true,
            Some(DecodedError {
                cause: Some(cause), ..
            }) => cause.is(name),
            _ => false,
        }
    }
}

fn decode_error(data: &[u8], callee: Option<&str>) -> Option<DecodedError> {
    if data.len() < 4 {
        return None;
    }
    if let Ok(generic) = GenericContractError::abi_decode(data) {
        let (name, value) = match generic {
            GenericContractError::Revert(r) => ("Error", format!("{:?}", r.reason)),
            GenericContractError::Panic(p) => ("Panic", p.to_string()),
            _ => return None,
        };
        return Some(DecodedError {
            contract: "Solidity",
            name: name.to_owned(),
            fields: vec![("reason".to_owned(), value)],
            cause: None,
        });
    }
    if let Ok(IStylusDeployerErrors::ContractInitializationError(e)) =
        IStylusDeployerErrors::abi_decode(data)
    {
        return Some(DecodedError {
            contract: "StylusDeployer",
            name: "ContractInitializationError".to_owned(),
            fields: vec![("newContract".to_owned(), e.newContract.to_string())],
            cause: Some(Box::new(Revert::decode(e.data, None))),
        });
    }
    let selector = &data[..4];
    let ordered = abis()
        .0
        .iter()
        .filter(|(name, _)| Some(*name) == callee)
        .chain(abis().0.iter().filter(|(name, _)| Some(*name) != callee));
    for (contract, abi) in ordered {
        for error in abi.errors() {
            if error.selector().as_slice() != selector {
                continue;
            }
            let Ok(values) = error.abi_decode_input(&data[4..]) else {
                continue;
            };
            let fields = error
                .inputs
                .iter()
                .zip(&values)
                .map(|(param, value)| (param.name.clone(), render(value)))
                .collect();
            return Some(DecodedError {
                contract,
                name: error.name.clone(),
                fields,
                cause: None,
            });
        }
    }
    if let Ok(e) = IStylusDeployerErrors::abi_decode(data) {
        return Some(DecodedError {
            contract: "StylusDeployer",
            name: format!("{e:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned(),
            fields: Vec::new(),
            cause: None,
        });
    }
    None
}

/// A value as a person reads it: integers in decimal, addresses checksummed, bytes in hex.
fn render(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(word, size) => hex::encode_prefixed(&word[..*size]),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Function(f) => hex::encode_prefixed(f),
        DynSolValue::Bytes(b) => hex::encode_prefixed(b),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            let inner: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", inner.join(", "))
        }
        DynSolValue::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(render).collect();
            format!("({})", inner.join(", "))
        }
    }
}

impl fmt::Display for DecodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}(", self.contract, self.name)?;
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if name.is_empty() {
                write!(f, "{value}")?;
            } else {
                write!(f, "{name}: {value}")?;
            }
        }
        f.write_str(")")?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(error) => write!(f, "{error}"),
            None if self.data.is_empty() => f.write_str("reverted without data"),
            None => write!(f, "reverted with unknown data {}", self.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolError;
    use cor_abi::{stylus::IStylusDeployer, CorToken, StakeQuota};

    use super::*;

    #[test]
    fn a_contract_error_decodes_with_named_fields() {
        let data = StakeQuota::QuotaExhausted {
            user: Address::with_last_byte(0xa1),
            modelClass: 1,
            redundancy: 3,
            needed: U256::from(12u64),
            left: U256::from(4u64),
        }
        .abi_encode();
        let revert = Revert::decode(data.into(), Some("SessionQueue"));
        assert!(revert.is("QuotaExhausted"));
        let error = revert.error.as_ref().unwrap();
        assert_eq!(error.contract, "StakeQuota");
        assert_eq!(error.field("needed"), Some("12"));
        assert!(revert
            .to_string()
            .starts_with("StakeQuota.QuotaExhausted(user: 0x"));
        assert!(revert
            .to_string()
            .ends_with("modelClass: 1, redundancy: 3, needed: 12, left: 4)"));
    }

    #[test]
    fn the_callee_abi_wins_for_shared_errors() {
        let data = CorToken::OwnableUnauthorizedAccount {
            account: Address::with_last_byte(7),
        }
        .abi_encode();
        let revert = Revert::decode(data.into(), Some("NodeReward"));
        assert_eq!(revert.error.unwrap().contract, "NodeReward");
    }

    #[test]
    fn constructor_failures_unwrap_to_the_constructor_error() {
        let inner = CorToken::OwnableInvalidOwner {
            owner: Address::ZERO,
        }
        .abi_encode();
        let data = IStylusDeployer::ContractInitializationError {
            newContract: Address::with_last_byte(1),
            data: inner.into(),
        }
        .abi_encode();
        let revert = Revert::decode(data.into(), None);
        assert!(revert.is("OwnableInvalidOwner"));
        assert!(revert
            .to_string()
            .starts_with("StylusDeployer.ContractInitializationError("));
    }

    #[test]
    fn unknown_and_empty_data_say_so() {
        assert_eq!(
            Revert::decode(Bytes::new(), None).to_string(),
            "reverted without data"
        );
        let unknown = Revert::decode(Bytes::from(vec![1, 2, 3, 4, 5]), None);
        assert!(unknown.error.is_none());
        assert!(unknown.to_string().contains("0x0102030405"));
    }
}
