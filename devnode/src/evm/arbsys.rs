//! ArbSys (`0x…64`): the views callers use to learn about the chain. The dev node has no
//! parent chain: the Arbitrum block number is the block number, nothing is aliased, and
//! messages to L1 are not supported (those calls revert).

use alloy_primitives::{Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};
use revm::{
    context_interface::{Block, ContextTr, JournalTr},
    interpreter::{CallInputs, InstructionResult, InterpreterResult},
};

use super::{
    precompiles::{outcome, view_cost},
    Ctx,
};

/// ArbOS version the node claims to run (the Stylus and Prague behaviour it emulates).
pub const ARBOS_VERSION: u64 = 40;

sol! {
    /// The ArbSys views implemented here.
    interface IArbSys {
        function arbBlockNumber() external view returns (uint256);
        function arbBlockHash(uint256 arbBlockNum) external view returns (bytes32);
        function arbChainID() external view returns (uint256);
        function arbOSVersion() external view returns (uint256);
        function getStorageGasAvailable() external view returns (uint256);
        function isTopLevelCall() external view returns (bool);
        function wasMyCallersAddressAliased() external view returns (bool);
    }
}

/// Answers a call to ArbSys.
pub fn call(ctx: &mut Ctx, inputs: &CallInputs) -> InterpreterResult {
    use IArbSys::IArbSysCalls as C;
    let input = inputs.input.bytes(ctx);
    let limit = inputs.gas_limit;
    let Ok(call) = C::abi_decode(&input) else {
        return outcome(limit, 0, InstructionResult::Revert, Bytes::new());
    };
    let number = ctx.block().number();
    let output: Vec<u8> = match call {
        C::arbBlockNumber(_) => IArbSys::arbBlockNumberCall::abi_encode_returns(&number),
        C::arbBlockHash(c) => {
            // Like BLOCKHASH: the last 256 blocks, excluding the current one.
            let hash = if c.arbBlockNum < number && number - c.arbBlockNum <= U256::from(256) {
                let n = c.arbBlockNum.saturating_to::<u64>();
                ctx.journal_mut().db_mut().block_hash_of(n)
            } else {
                return outcome(
                    limit,
                    view_cost(input.len(), 0),
                    InstructionResult::Revert,
                    Bytes::new(),
                );
            };
            IArbSys::arbBlockHashCall::abi_encode_returns(&hash)
        }
        C::arbChainID(_) => {
            IArbSys::arbChainIDCall::abi_encode_returns(&U256::from(ctx.cfg().chain_id))
        }
        C::arbOSVersion(_) => {
            // Nitro reports 55 + the ArbOS version.
            IArbSys::arbOSVersionCall::abi_encode_returns(&U256::from(55 + ARBOS_VERSION))
        }
        C::getStorageGasAvailable(_) => {
            IArbSys::getStorageGasAvailableCall::abi_encode_returns(&U256::ZERO)
        }
        C::isTopLevelCall(_) => {
            let top = ctx.journal_ref().depth() <= 2;
            IArbSys::isTopLevelCallCall::abi_encode_returns(&top)
        }
        C::wasMyCallersAddressAliased(_) => {
            IArbSys::wasMyCallersAddressAliasedCall::abi_encode_returns(&false)
        }
    };
    let cost = view_cost(input.len(), output.len());
    outcome(limit, cost, InstructionResult::Return, output.into())
}

/// Reads a block hash through the view.
pub(crate) trait BlockHashOf {
    /// The hash of block `number` (zero when unknown).
    fn block_hash_of(&mut self, number: u64) -> B256;
}

impl BlockHashOf for super::StateView {
    fn block_hash_of(&mut self, number: u64) -> B256 {
        use revm::database_interface::Database;
        self.block_hash(number).unwrap_or_default()
    }
}
