//! Execution: revm with Arbitrum's additions.
//!
//! Calls are handled by revm's frame loop. The precompile provider ([`ArbPrecompiles`])
//! sees every call before revm interprets code; it answers for the Ethereum precompiles,
//! ArbSys and ArbWasm, and runs accounts whose code starts with `0xEFF000` as Stylus
//! programs in wasmi (see [`crate::stylus`]). A program's calls and creates re-enter revm
//! through a nested [`ArbEvm`] on the same journal, so reverts roll back EVM and Stylus
//! state alike. [`ArbEvm`] also lets contract creation return Stylus code (EIP-3541 is
//! relaxed for the `0xEFF000` prefix only, as on Arbitrum) and counts open frames per
//! address for `msg_reentrant`.

pub mod arbsys;
pub mod arbwasm;
pub mod exec;
pub mod precompiles;
pub mod state;

use std::convert::Infallible;

use revm::{
    context::{
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
        BlockEnv, CfgEnv, Context, Evm, FrameStack, Journal, TxEnv,
    },
    context_interface::{context::ContextError, ContextTr},
    handler::{
        instructions::{EthInstructions, InstructionProvider},
        EthFrame, EvmTr, FrameInitOrResult, FrameResult, FrameTr, Handler, ItemOrResult,
        MainnetHandler,
    },
    interpreter::{
        interpreter::EthInterpreter, interpreter_action::FrameInit, CallScheme, FrameInput,
        InstructionResult, InterpreterAction,
    },
    primitives::{hardfork::SpecId, Address},
};

pub use precompiles::ArbPrecompiles;
pub use state::{StateDiff, StateView, WorldState};

use crate::{evm::precompiles::Reentrancy, stylus::program::is_stylus_code};

/// The EVM hard fork the dev node runs (Arbitrum's ArbOS 40 follows Prague).
pub const SPEC: SpecId = SpecId::PRAGUE;

/// The execution context: revm's mainnet context over a [`StateView`].
pub type Ctx = Context<BlockEnv, TxEnv, CfgEnv, StateView, Journal<StateView>, ()>;

/// Errors revm reports for a transaction that cannot be included (bad nonce, funds...).
pub type EvmError = EVMError<Infallible, InvalidTransaction>;

type Instructions = EthInstructions<EthInterpreter, Ctx>;
type Frame = EthFrame<EthInterpreter>;

/// revm with Arbitrum's precompiles and Stylus programs.
pub struct ArbEvm {
    inner: Evm<Ctx, (), Instructions, ArbPrecompiles, Frame>,
}

impl std::fmt::Debug for ArbEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArbEvm").finish_non_exhaustive()
    }
}

impl ArbEvm {
    /// An EVM over `ctx` with `precompiles`.
    pub fn new(ctx: Ctx, precompiles: ArbPrecompiles) -> Self {
        let spec = ctx.cfg.spec;
        Self {
            inner: Evm {
                ctx,
                inspector: (),
                instruction: EthInstructions::new_mainnet_with_spec(spec),
                precompiles,
                frame_stack: FrameStack::new(),
            },
        }
    }

    /// Runs the transaction set in the context (validation, fees, execution, refunds).
    /// The state changes stay in the journal; take them with [`ArbEvm::finalize`].
    ///
    /// # Errors
    /// [`EvmError`] when the transaction is invalid against the state.
    pub fn transact(&mut self) -> Result<ExecutionResult<HaltReason>, EvmError> {
        MainnetHandler::<Self, EvmError, Frame>::default().run(self)
    }

    /// Runs one call or create frame to completion (used for a program's sub-calls).
    ///
    /// # Errors
    /// Only internal failures: a database error or a fatal precompile error.
    pub fn run_frame(&mut self, init: FrameInit) -> Result<FrameResult, EvmError> {
        MainnetHandler::<Self, EvmError, Frame>::default().run_exec_loop(self, init)
    }

    /// The context.
    pub fn ctx_mut(&mut self) -> &mut Ctx {
        &mut self.inner.ctx
    }

    /// Gives the context and precompiles back.
    pub fn into_parts(self) -> (Ctx, ArbPrecompiles) {
        (self.inner.ctx, self.inner.precompiles)
    }
}

/// The address whose open-frame count a frame changes (`msg_reentrant`): the callee of a
/// call that is not a delegate call or call code.
fn reentrancy_key(input: &FrameInput) -> Option<Address> {
    match input {
        FrameInput::Call(call) => match call.scheme {
            CallScheme::DelegateCall | CallScheme::CallCode => None,
            CallScheme::Call | CallScheme::StaticCall => Some(call.target_address),
        },
        FrameInput::Create(_) | FrameInput::Empty => None,
    }
}

/// EIP-3541 as Arbitrum has it: new code may not start with `0xEF` unless it is a Stylus
/// program. revm's own check is disabled in the config; this applies the Arbitrum rule.
fn check_created_code(frame: &Frame, action: &mut InterpreterAction) {
    if !matches!(frame.input, FrameInput::Create(_)) {
        return;
    }
    if let InterpreterAction::Return(result) = action {
        if result.result.is_ok()
            && result.output.first() == Some(&0xEF)
            && !is_stylus_code(&result.output)
        {
            result.result = InstructionResult::CreateContractStartingWithEF;
        }
    }
}

impl EvmTr for ArbEvm {
    type Context = Ctx;
    type Instructions = Instructions;
    type Precompiles = ArbPrecompiles;
    type Frame = Frame;

    fn all(
        &self,
    ) -> (
        &Self::Context,
        &Self::Instructions,
        &Self::Precompiles,
        &FrameStack<Self::Frame>,
    ) {
        self.inner.all()
    }

    fn all_mut(
        &mut self,
    ) -> (
        &mut Self::Context,
        &mut Self::Instructions,
        &mut Self::Precompiles,
        &mut FrameStack<Self::Frame>,
    ) {
        self.inner.all_mut()
    }

    fn frame_init(
        &mut self,
        frame_input: <Self::Frame as FrameTr>::FrameInit,
    ) -> Result<revm::handler::evm::FrameInitResult<'_, Self::Frame>, ContextError<Infallible>>
    {
        let key = reentrancy_key(&frame_input.frame_input);
        let reentrancy: Reentrancy = self.inner.precompiles.reentrancy();
        if let Some(address) = key {
            reentrancy.enter(address);
        }
        match self.inner.frame_init(frame_input)? {
            ItemOrResult::Item(frame) => Ok(ItemOrResult::Item(frame)),
            ItemOrResult::Result(result) => {
                if let Some(address) = key {
                    reentrancy.exit(address);
                }
                Ok(ItemOrResult::Result(result))
            }
        }
    }

    fn frame_run(&mut self) -> Result<FrameInitOrResult<Self::Frame>, ContextError<Infallible>> {
        let reentrancy = self.inner.precompiles.reentrancy();
        let evm = &mut self.inner;
        let frame = evm.frame_stack.get();
        let ctx = &mut evm.ctx;
        let instructions = &mut evm.instruction;
        let mut action = frame.interpreter.run_plain(
            instructions.instruction_table(),
            instructions.gas_table(),
            ctx,
        );
        check_created_code(frame, &mut action);
        let next = frame.process_next_action::<_, ContextError<Infallible>>(ctx, action)?;
        if next.is_result() {
            frame.set_finished(true);
            if let Some(address) = reentrancy_key(&frame.input) {
                reentrancy.exit(address);
            }
        }
        Ok(next)
    }

    fn frame_return_result(
        &mut self,
        result: <Self::Frame as FrameTr>::FrameResult,
    ) -> Result<Option<<Self::Frame as FrameTr>::FrameResult>, ContextError<Infallible>> {
        self.inner.frame_return_result(result)
    }
}

/// A cheap stand-in context, left in place while a Stylus program owns the real one.
pub(crate) fn placeholder_ctx() -> Ctx {
    Context::new(StateView::default(), SPEC)
}

/// Reads the journal depth of a context (the depth of the frame being executed).
pub(crate) fn depth(ctx: &Ctx) -> usize {
    use revm::context_interface::JournalTr;
    ctx.journal_ref().depth()
}
