// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// A CREATE2 factory with the calling convention of the deterministic deployment proxy
/// that Arbitrum's dev setup has at 0x4e59b44847b379578588920ca78fbf26c0b4956c: calldata
/// is a 32-byte salt followed by the init code; the call value is forwarded; the result is
/// the 20-byte address of the new contract, and the call reverts when creation fails.
/// Written for the COR dev node.
contract Create2Factory {
    fallback() external payable {
        assembly {
            if lt(calldatasize(), 32) { revert(0, 0) }
            let size := sub(calldatasize(), 32)
            calldatacopy(0, 32, size)
            let deployed := create2(callvalue(), 0, size, calldataload(0))
            if iszero(deployed) { revert(0, 0) }
            mstore(0, shl(96, deployed))
            return(0, 20)
        }
    }
}
