//! The functions SessionQueue calls on the contracts it drives, declared for their
//! selectors (`fooCall::SELECTOR`); the calldata is built with
//! `cor_contract_common::calls`. The tests run these calls against the real contracts.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol! {
    // NodePool
    function model(uint32 modelId) external view returns (uint8, bytes32, bool);
    function eligibleCount(uint32 modelId) external view returns (uint32);
    function eligibleAt(uint32 modelId, uint32 index) external view returns (address);
    // SessionPaymentTable
    function quote(uint8 modelClass, uint32 maxTokens, uint8 slaTier, uint8 redundancy, uint8 consensus, uint8 validatorDepth, uint8 executionDepth, bool quotaBacked, uint64 payerVolume) external view returns (uint256, uint256, uint256, uint256);
    // StakeQuota
    function consume(address user, uint8 modelClass, uint8 redundancy, uint256 price) external returns (bool);
    // NodeReputation
    function levelOf(address node) external view returns (uint8);
    // CommitReveal
    function open(uint256 taskId, address payer, uint256 mode, uint256 total, uint256 minersPart, uint256 validatorsPart, uint256 treasuryPart, bytes32 meta, uint256 tolerance, uint256 commitDeadline, uint256 revealDeadline, uint256 submitGas, address[] miners) external;
}
