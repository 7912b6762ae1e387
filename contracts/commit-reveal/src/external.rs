//! The functions CommitReveal calls on the contracts it drives, declared for their
//! selectors (`fooCall::SELECTOR`); the calldata is built with
//! `cor_contract_common::calls`. The tests run these calls against the real contracts.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol! {
    // SessionPayment
    function lock(uint256 taskId, address payer, uint8 mode, uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart, bytes32 meta) external;
    function settle(uint256 taskId, address[] winners, address[] validators) external;
    function refund(uint256 taskId) external;
    function recordGas(uint256 taskId, uint8 phase, uint64 gas) external;
    // ConsensusEngine
    function score(uint256 taskId, uint8 method, uint8 threshold, uint64 tolerance, uint8 modelClass, address[] miners, uint8[] states, bytes32[] outputHashes, bytes32[] fingerprints, uint64[] scores) external returns (uint8, uint8, bool);
}
