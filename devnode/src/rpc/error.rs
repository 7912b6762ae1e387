//! JSON-RPC errors: the codes and messages Ethereum clients expect.

use alloy_primitives::{hex, Bytes};
use alloy_sol_types::{SolError, SolInterface};
use jsonrpsee::types::{error::INVALID_PARAMS_CODE, ErrorObjectOwned};

use crate::chain::{tx::TxError, ChainError};

/// Geth's code for a reverted call, with the revert data in `data`.
pub const EXECUTION_REVERTED: i32 = 3;
/// Generic server error (invalid transaction, missing state...).
pub const SERVER_ERROR: i32 = -32000;
/// The method exists but cannot be served (unknown account, ...).
pub const UNSUPPORTED: i32 = -32004;

/// Invalid parameters, with the reason.
pub fn invalid_params(reason: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        INVALID_PARAMS_CODE,
        format!("invalid params: {reason}"),
        None::<()>,
    )
}

/// A server-side failure.
pub fn server(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message.to_string(), None::<()>)
}

/// A method that cannot do what was asked.
pub fn unsupported(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(UNSUPPORTED, message.to_string(), None::<()>)
}

/// A reverted call: "execution reverted[: reason]" with the revert data as hex.
pub fn reverted(output: &Bytes) -> ErrorObjectOwned {
    let reason = alloy_sol_types::GenericContractError::abi_decode(output)
        .ok()
        .and_then(|e| match e {
            alloy_sol_types::GenericContractError::Revert(r) => Some(r.reason),
            alloy_sol_types::GenericContractError::Panic(p) => Some(p.to_string()),
            _ => None,
        })
        .or_else(|| {
            crate::evm::arbwasm::Error::abi_decode(output)
                .ok()
                .map(|e| e.message)
        });
    let message = match reason {
        Some(reason) => format!("execution reverted: {reason}"),
        None => "execution reverted".to_owned(),
    };
    ErrorObjectOwned::owned(
        EXECUTION_REVERTED,
        message,
        Some(hex::encode_prefixed(output)),
    )
}

/// A halted call (out of gas, invalid opcode...).
pub fn halted(reason: impl std::fmt::Debug) -> ErrorObjectOwned {
    server(format!("execution halted: {reason:?}"))
}

impl From<ChainError> for ErrorObjectOwned {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Tx(TxError::Decode(_)) => invalid_params(e),
            other => server(other),
        }
    }
}
