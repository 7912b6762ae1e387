//! How a Stylus program is deployed: the StylusDeployer's interface and address, the
//! init code that carries a program, and the constructor call. Shared by the dev node
//! (which runs the deployer) and every client that deploys.

use alloy_primitives::{address, keccak256, Address};

/// Where the StylusDeployer lives on Arbitrum chains (and on the dev node); what
/// `cargo stylus deploy` uses.
pub const STYLUS_DEPLOYER: Address = address!("0xcEcba2F1DC234f70Dd89F2041029807F8D03A990");

alloy_sol_types::sol! {
    /// The StylusDeployer: deploys, activates and constructs a program in one transaction.
    #[derive(Debug, PartialEq, Eq)]
    interface IStylusDeployer {
        /// A program was deployed, activated when needed, and constructed.
        event ContractDeployed(address deployedContract);
        /// `bytecode` was empty.
        error EmptyBytecode();
        /// Creating the contract failed.
        error ContractDeploymentError(bytes bytecode);
        /// The constructor failed with `data`.
        error ContractInitializationError(address newContract, bytes data);
        /// `initValue` was given without `initData`.
        error InitValueButNotInitData();
        /// `msg.value` does not cover `initValue`.
        error InsufficientValue(uint256 value, uint256 initValue);
        /// Returning the unused value failed.
        error RefundExcessValueError(uint256 excessValue);
        /// Deploys `bytecode`, activates it if needed, calls it with `initData` and
        /// `initValue`; the rest of `msg.value` pays activation and is refunded.
        function deploy(bytes bytecode, bytes initData, uint256 initValue, bytes32 salt) external payable returns (address);
    }
}

/// EVM init code that deploys `code` (prefixed, compressed Stylus code) as is: what a
/// contract-creation transaction or the StylusDeployer's `bytecode` argument carries.
/// `None` when `code` is longer than 65 535 bytes (far over the contract size limit).
pub fn deployment_init_code(code: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(code.len()).ok()?;
    // PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN; then the code.
    let [hi, lo] = len.to_be_bytes();
    let mut init = vec![
        0x61, hi, lo, 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    init.extend_from_slice(code);
    Some(init)
}

/// The calldata of a Stylus constructor taking the ABI-encoded `args`
/// (`stylus_constructor()`'s selector, then the arguments).
pub fn constructor_call(args: &[u8]) -> Vec<u8> {
    let selector = &keccak256(b"stylus_constructor()")[..4];
    [selector, args].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_code_returns_the_code_that_follows_it() {
        let init = deployment_init_code(&[0xef, 0xf0, 0x00, 0x00, 0x42]).unwrap();
        assert_eq!(&init[..3], &[0x61, 0x00, 0x05]);
        assert_eq!(&init[12..], &[0xef, 0xf0, 0x00, 0x00, 0x42]);
        assert!(deployment_init_code(&vec![0; 70_000]).is_none());
    }

    #[test]
    fn constructor_call_is_selector_then_args() {
        let call = constructor_call(&[1, 2, 3]);
        assert_eq!(call.len(), 7);
        assert_eq!(&call[4..], &[1, 2, 3]);
    }
}
