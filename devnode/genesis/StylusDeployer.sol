// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// The part of ArbWasm (0x71) the deployer uses.
interface IArbWasm {
    function activateProgram(address program) external payable returns (uint16 version, uint256 dataFee);
    function codehashVersion(bytes32 codehash) external view returns (uint16 version);
}

/// Deploys a Stylus program, activates it when its code is not active yet, and calls its
/// constructor, all in one transaction: what `cargo stylus deploy` expects at
/// 0xcEcba2F1DC234f70Dd89F2041029807F8D03A990. Written for the COR dev node.
///
/// `msg.value` pays the constructor's `initValue` and the activation data fee; whatever
/// is left is returned to the sender. A non-zero `salt` deploys with CREATE2 under
/// `keccak256(abi.encode(salt, keccak256(initData)))`, so the address also commits to the
/// constructor arguments.
contract StylusDeployer {
    IArbWasm private constant ARB_WASM = IArbWasm(address(0x71));

    /// A program was deployed (and activated and initialised).
    event ContractDeployed(address deployedContract);

    /// `bytecode` was empty.
    error EmptyBytecode();
    /// Creating the contract failed.
    error ContractDeploymentError(bytes bytecode);
    /// The constructor call failed with `data`.
    error ContractInitializationError(address newContract, bytes data);
    /// `initValue` was given without `initData`.
    error InitValueButNotInitData();
    /// `msg.value` does not cover `initValue`.
    error InsufficientValue(uint256 value, uint256 initValue);
    /// Returning the unused value failed.
    error RefundExcessValueError(uint256 excessValue);

    /// Deploys `bytecode` (init code returning the program), activates it if needed and
    /// calls it with `initData` and `initValue`. Returns the new contract's address.
    function deploy(bytes calldata bytecode, bytes calldata initData, uint256 initValue, bytes32 salt)
        public
        payable
        returns (address)
    {
        if (bytecode.length == 0) revert EmptyBytecode();
        if (initData.length == 0 && initValue != 0) revert InitValueButNotInitData();
        if (msg.value < initValue) revert InsufficientValue(msg.value, initValue);

        address deployed = create(bytecode, salt, initData);
        uint256 spare = msg.value - initValue;

        if (needsActivation(deployed)) {
            uint256 before = address(this).balance;
            ARB_WASM.activateProgram{value: spare}(deployed);
            // ArbWasm returns what the data fee did not use to this contract.
            uint256 paid = before - address(this).balance;
            spare -= paid;
        }

        if (initData.length > 0) {
            (bool ok, bytes memory data) = deployed.call{value: initValue}(initData);
            if (!ok) revert ContractInitializationError(deployed, data);
        }

        emit ContractDeployed(deployed);

        if (spare > 0) {
            (bool sent,) = payable(msg.sender).call{value: spare}("");
            if (!sent) revert RefundExcessValueError(spare);
        }
        return deployed;
    }

    /// True when the code at `program` has no active Stylus activation.
    function needsActivation(address program) private view returns (bool) {
        try ARB_WASM.codehashVersion(program.codehash) returns (uint16) {
            return false;
        } catch {
            return true;
        }
    }

    function create(bytes calldata bytecode, bytes32 salt, bytes calldata initData) private returns (address deployed) {
        bytes memory code = bytecode;
        if (salt == bytes32(0)) {
            assembly {
                deployed := create(0, add(code, 0x20), mload(code))
            }
        } else {
            bytes32 derived = keccak256(abi.encode(salt, keccak256(initData)));
            assembly {
                deployed := create2(0, add(code, 0x20), mload(code), derived)
            }
        }
        if (deployed == address(0)) revert ContractDeploymentError(bytecode);
    }
}
