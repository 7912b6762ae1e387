//! ConsensusEngine adapts `cor_consensus::decide` to the ABI; these tests check the
//! adaptation (index + 1, masks, errors) against the library and through the router.

use alloy_primitives::{address, keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;
use cor_consensus::fingerprint;
use cor_testkit::TestChain;

use super::*;

const ENGINE: Address = address!("00000000000000000000000000000000000c0e00");

fn engine() -> (TestChain, ConsensusEngine) {
    let chain = TestChain::new();
    chain.register::<ConsensusEngine>(ENGINE);
    let engine = chain.at::<ConsensusEngine>(ENGINE);
    (chain, engine)
}

fn h(text: &str) -> B256 {
    keccak256(text.as_bytes())
}

#[test]
fn exact_majority_with_index_plus_one_and_mask() {
    let (_, e) = engine();
    let hashes = vec![h("b"), h("a"), h("a")];
    let fps = vec![B256::ZERO; 3];
    assert_eq!(
        e.decide(0, 3, 2, 0, 3, hashes, fps, vec![0; 3], vec![1; 3]),
        Ok((2, 0b110, 2, true))
    );
}

#[test]
fn below_threshold_is_unresolved_and_no_reveals_have_no_result() {
    let (_, e) = engine();
    let hashes = vec![h("a"), h("b"), h("c")];
    let out = e
        .decide(
            0,
            3,
            2,
            0,
            3,
            hashes,
            vec![B256::ZERO; 3],
            vec![0; 3],
            vec![1; 3],
        )
        .unwrap();
    assert_eq!((out.2, out.3), (1, false));
    assert_eq!(
        e.decide(1, 3, 2, 10, 3, vec![], vec![], vec![], vec![]),
        Ok((0, 0, 0, false))
    );
}

#[test]
fn similarity_and_median_follow_the_library() {
    let (_, e) = engine();
    let texts = [
        "The capital of France is Paris, on the Seine.",
        "The capital of France is Paris, on the river Seine.",
        "Completely unrelated words about bananas and trains.",
    ];
    let hashes: Vec<B256> = texts.iter().map(|t| h(t)).collect();
    let fps: Vec<B256> = texts.iter().map(|t| fingerprint(t)).collect();
    let reveals: Vec<cor_consensus::Reveal> = (0..3)
        .map(|i| cor_consensus::Reveal {
            output_hash: hashes[i],
            fingerprint: fps[i],
            score: 0,
            weight: 1,
        })
        .collect();
    let rules = cor_consensus::Rules {
        method: Method::Similarity,
        assigned: 3,
        threshold: 2,
        radius: 40,
        tolerance: 40,
        total_weight: 3,
    };
    let lib = cor_consensus::decide(&rules, &reveals);
    let ours = e
        .decide(1, 3, 2, 40, 3, hashes, fps, vec![0; 3], vec![1; 3])
        .unwrap();
    assert_eq!(
        ours,
        (
            lib.result.unwrap() as u8 + 1,
            lib.agreeing,
            lib.support,
            lib.resolved
        )
    );
    assert_eq!(ours.1, 0b011);
    // Median: 70 and 71 agree within 2; 10 does not.
    let scores = vec![70, 10, 71];
    let out = e
        .decide(
            2,
            3,
            2,
            2,
            3,
            vec![h("x"), h("y"), h("z")],
            vec![B256::ZERO; 3],
            scores,
            vec![1; 3],
        )
        .unwrap();
    assert_eq!((out.1, out.3), (0b101, true));
}

#[test]
fn weighted_needs_the_weight_share() {
    let (_, e) = engine();
    let hashes = vec![h("a"), h("b"), h("b")];
    // One heavy voter outweighs two light ones.
    let out = e
        .decide(
            3,
            3,
            2,
            0,
            12,
            hashes.clone(),
            vec![B256::ZERO; 3],
            vec![0; 3],
            vec![10, 1, 1],
        )
        .unwrap();
    assert_eq!((out.0, out.1, out.3), (1, 0b001, true));
    // With equal weights the pair wins.
    let out = e
        .decide(
            3,
            3,
            2,
            0,
            3,
            hashes,
            vec![B256::ZERO; 3],
            vec![0; 3],
            vec![1, 1, 1],
        )
        .unwrap();
    assert_eq!((out.1, out.3), (0b110, true));
}

#[test]
fn bad_method_and_mismatched_arrays_are_typed_errors() {
    let (_, e) = engine();
    assert_eq!(
        e.decide(4, 1, 1, 0, 1, vec![], vec![], vec![], vec![]),
        Err(InvalidMethod { method: 4 }.into())
    );
    assert_eq!(
        e.decide(0, 1, 1, 0, 1, vec![h("a")], vec![], vec![0], vec![1]),
        Err(InvalidReveals {
            outputHashes: U256::from(1),
            fingerprints: U256::ZERO,
            scores: U256::from(1),
            weights: U256::from(1),
        }
        .into())
    );
    let nine = vec![h("a"); 9];
    assert!(matches!(
        e.decide(0, 7, 1, 0, 7, nine.clone(), nine, vec![0; 9], vec![1; 9]),
        Err(Error::InvalidReveals(_))
    ));
}

#[test]
fn commitment_and_hamming_match_the_library() {
    let (_, e) = engine();
    let miner = Address::with_last_byte(7);
    let (out, fp, salt) = (h("out"), fingerprint("some output"), h("salt"));
    assert_eq!(
        e.commitment(U256::from(42), miner, out, fp, 9, salt),
        cor_consensus::commitment(U256::from(42), miner, out, fp, 9, salt)
    );
    assert_eq!(e.hamming(B256::ZERO, B256::repeat_byte(0xff)), 256);
    assert_eq!(e.hamming(fp, fp), 0);
}

#[test]
fn decide_through_the_router() {
    let (chain, _) = engine();
    let mut data =
        keccak256("decide(uint8,uint8,uint8,uint64,uint64,bytes32[],bytes32[],uint64[],uint64[])")
            [..4]
            .to_vec();
    data.extend(
        (
            U256::ZERO,
            U256::from(2),
            U256::from(2),
            U256::ZERO,
            U256::from(2),
            vec![h("a"), h("a")],
            vec![B256::ZERO, B256::ZERO],
            vec![0u64, 0],
            vec![1u64, 1],
        )
            .abi_encode_params(),
    );
    let out = chain
        .call(Address::with_last_byte(1), ENGINE, data)
        .unwrap();
    assert_eq!(
        <(U256, U256, U256, bool)>::abi_decode_params(&out).unwrap(),
        (U256::from(1), U256::from(0b11), U256::from(2), true)
    );
}
