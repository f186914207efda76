//! The generated Groth16 verifier and the bounty contract in a real EVM (revm): the committed
//! sources are the generator's and the compiled bytecode is in sync with them; real claim proofs
//! verify on chain; the bounty's flow works and every attack on it fails. Prints the gas.

#[path = "common/evm.rs"]
mod evm;
#[path = "common/bounty.rs"]
mod scenario;

use evm::*;
use kerafold::bounty::bn254::to_be32;
use kerafold::bounty::claim::{ClaimProof, NUM_PUBLIC};
use kerafold::bounty::snarkjs::calldata;
use kerafold::bounty::solidity::verifier_source;
use revm::primitives::U256;
use scenario::{cid_bytes, Scenario, THRESHOLD};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

#[test]
fn committed_verifier_is_the_generators() {
    let committed = std::fs::read_to_string(contracts().join("Groth16Verifier.sol")).unwrap();
    assert!(
        committed == verifier_source(NUM_PUBLIC),
        "contracts/Groth16Verifier.sol differs from src/bounty/solidity.rs's output: regenerate it \
         (KERAFOLD_WRITE_VERIFIER=1 cargo test --test bounty_evm) and recompile (contracts/compile.mjs)"
    );
}

#[test]
fn committed_bytecode_matches_the_sources() {
    // contracts/compile.mjs records the SHA-256 of every source it compiled and of the bytecode
    // it wrote; a source edited without recompiling (or bytecode edited by hand) fails here.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(contracts().join("build/manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(manifest["compiler"]
        .as_str()
        .unwrap()
        .starts_with("solc-js 0.8.37"));
    for (file, sha) in manifest["sources"].as_object().unwrap() {
        let src = std::fs::read(contracts().join(file)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&src)),
            sha.as_str().unwrap(),
            "{file} changed since it was compiled"
        );
    }
    for (file, sha) in manifest["bytecode"].as_object().unwrap() {
        let bin = std::fs::read(contracts().join("build").join(file)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bin)),
            sha.as_str().unwrap(),
            "build/{file} is not compile.mjs's output"
        );
    }
}

/// Writes the generator's verifier into contracts/ when asked (then recompile with compile.mjs).
#[test]
fn write_verifier_when_asked() {
    if std::env::var_os("KERAFOLD_WRITE_VERIFIER").is_some() {
        std::fs::write(
            contracts().join("Groth16Verifier.sol"),
            verifier_source(NUM_PUBLIC),
        )
        .unwrap();
    }
}

/// A deployed verifier and bounty contract, with two claims proved (for Alice and Bob).
struct Setup {
    proofs: [ClaimProof; 2],
    scenario: Scenario,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let scenario = Scenario::new();
        let proofs = [
            scenario.prove(ALICE.into_array()),
            scenario.prove(BOB.into_array()),
        ];
        Setup { proofs, scenario }
    })
}

#[test]
fn verifier_accepts_real_proofs_within_budget() {
    let s = setup();
    let mut chain = Chain::new();
    let (verifier, _) = deploy(&mut chain, &s.proofs[0].vk);
    let sig = format!("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{NUM_PUBLIC}])");
    let p = &s.proofs[0];
    let args = calldata(&p.proof, &p.public.inputs());
    let (out, gas) = chain.call(ALICE, verifier, &sig, &args, 0).ok();
    assert_eq!(out, word(1));
    println!("verifyProof ({NUM_PUBLIC} public inputs): {gas} gas (transaction)");
    assert!(gas < 300_000, "verification costs {gas} gas");
    // another claimant's inputs, an input ≥ r, a corrupted proof: false, never a revert
    let mut other = p.public.clone();
    other.claimant = BOB.into_array();
    let (out, _) = chain
        .call(
            ALICE,
            verifier,
            &sig,
            &calldata(&p.proof, &other.inputs()),
            0,
        )
        .ok();
    assert_eq!(out, word(0));
    let mut big = args.clone();
    let at = 32 * (8 + 2);
    big[at..at + 32].copy_from_slice(&[0xff; 32]);
    assert_eq!(chain.call(ALICE, verifier, &sig, &big, 0).ok().0, word(0));
    let mut bad = args.clone();
    bad[31] ^= 1; // A.x
    assert_eq!(chain.call(ALICE, verifier, &sig, &bad, 0).ok().0, word(0));
}

#[test]
fn bounty_flow_and_attacks() {
    let s = setup();
    let (pa, pb) = (&s.proofs[0], &s.proofs[1]);
    let mut chain = Chain::new();
    let (_, bounty) = deploy(&mut chain, &pa.vk);
    let reward = 3 * ETHER;
    let deadline = chain.now + 1000;

    // creating: no reward, a key off the curve, a malformed CID are refused
    assert_eq!(
        chain
            .call(
                HOST,
                bounty,
                CREATE,
                &create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline),
                0
            )
            .revert(),
        "no reward"
    );
    let mut off = create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline);
    off[3 * 32 - 1] ^= 1;
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &off, reward).revert(),
        "host key is not a Baby Jubjub point"
    );
    let mut bad_cid = create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline);
    bad_cid[6 * 32 + 1] = 0x71;
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &bad_cid, reward).revert(),
        "not a CIDv1 with a sha2-256 digest"
    );
    let (out, gas) = chain
        .call(
            HOST,
            bounty,
            CREATE,
            &create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline),
            reward,
        )
        .ok();
    assert_eq!(out, word(0));
    println!("createBounty: {gas} gas");

    // an invalid proof
    let mut bad = submit_args(0, pa);
    bad[32 + 31] ^= 1;
    assert_eq!(
        chain.call(ALICE, bounty, SUBMIT, &bad, 0).revert(),
        "invalid claim proof"
    );
    // Alice's claim replayed by Mallory: the contract binds msg.sender, the proof fails
    assert_eq!(
        chain
            .call(MALLORY, bounty, SUBMIT, &submit_args(0, pa), 0)
            .revert(),
        "invalid claim proof"
    );
    // Alice's proof with Bob's hunter fields (or any other stored field) fails too
    let mut mixed = submit_args(0, pa);
    mixed[9 * 32..10 * 32].copy_from_slice(&to_be32(&pb.public.ciphertext_hash));
    assert_eq!(
        chain.call(ALICE, bounty, SUBMIT, &mixed, 0).revert(),
        "invalid claim proof"
    );

    // Alice claims, then Bob (a second claim)
    let (out, gas) = chain
        .call(ALICE, bounty, SUBMIT, &submit_args(0, pa), 0)
        .ok();
    assert_eq!(out, word(0));
    println!("submitClaim (verifies the proof): {gas} gas");
    let (out, _) = chain.call(BOB, bounty, SUBMIT, &submit_args(0, pb), 0).ok();
    assert_eq!(out, word(1));
    let (out, _) = chain
        .call(BOB, bounty, "claimCount(uint256)", &word(0), 0)
        .ok();
    assert_eq!(out, word(2));

    // only the host approves, one claim
    assert_eq!(
        chain
            .call(
                BOB,
                bounty,
                "approve(uint256,uint256)",
                &words(&[word(0), word(1)]),
                0
            )
            .revert(),
        "not the host"
    );
    assert_eq!(
        chain
            .call(
                HOST,
                bounty,
                "approve(uint256,uint256)",
                &words(&[word(0), word(2)]),
                0
            )
            .revert(),
        "no such claim"
    );
    // nothing to withdraw before approval
    assert_eq!(
        chain
            .call(ALICE, bounty, "withdraw(uint256)", &word(0), 0)
            .revert(),
        "nothing to withdraw"
    );
    let (_, gas) = chain
        .call(
            HOST,
            bounty,
            "approve(uint256,uint256)",
            &words(&[word(0), word(0)]),
            0,
        )
        .ok();
    println!("approve: {gas} gas");
    assert_eq!(
        chain
            .call(
                HOST,
                bounty,
                "approve(uint256,uint256)",
                &words(&[word(0), word(1)]),
                0
            )
            .revert(),
        "bounty settled"
    );
    // no more claims, no refund once approved (even after the deadline)
    assert_eq!(
        chain
            .call(BOB, bounty, SUBMIT, &submit_args(0, pb), 0)
            .revert(),
        "bounty settled"
    );

    // Bob (not approved) cannot withdraw; Alice can, once
    assert_eq!(
        chain
            .call(BOB, bounty, "withdraw(uint256)", &word(0), 0)
            .revert(),
        "not the approved claimant"
    );
    let before = chain.balance(ALICE);
    let (_, gas) = chain
        .call(ALICE, bounty, "withdraw(uint256)", &word(0), 0)
        .ok();
    println!("withdraw: {gas} gas");
    assert_eq!(chain.balance(ALICE) - before, U256::from(reward));
    assert_eq!(
        chain
            .call(ALICE, bounty, "withdraw(uint256)", &word(0), 0)
            .revert(),
        "nothing to withdraw"
    );
    chain.set_time(deadline + 1);
    assert_eq!(
        chain
            .call(HOST, bounty, "refund(uint256)", &word(0), 0)
            .revert(),
        "bounty settled"
    );
}

#[test]
fn refund_only_after_the_deadline_and_claims_only_before() {
    let s = setup();
    let pa = &s.proofs[0];
    let mut chain = Chain::new();
    let (_, bounty) = deploy(&mut chain, &pa.vk);
    let reward = 2 * ETHER;
    let deadline = chain.now + 500;
    chain
        .call(
            HOST,
            bounty,
            CREATE,
            &create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline),
            reward,
        )
        .ok();
    assert_eq!(
        chain
            .call(HOST, bounty, "refund(uint256)", &word(0), 0)
            .revert(),
        "before the deadline"
    );
    chain.set_time(deadline + 1);
    // too late to claim
    assert_eq!(
        chain
            .call(ALICE, bounty, SUBMIT, &submit_args(0, pa), 0)
            .revert(),
        "deadline passed"
    );
    assert_eq!(
        chain
            .call(MALLORY, bounty, "refund(uint256)", &word(0), 0)
            .revert(),
        "not the host"
    );
    let before = chain.balance(HOST);
    chain
        .call(HOST, bounty, "refund(uint256)", &word(0), 0)
        .ok();
    assert_eq!(chain.balance(HOST) - before, U256::from(reward));
    assert_eq!(
        chain
            .call(HOST, bounty, "refund(uint256)", &word(0), 0)
            .revert(),
        "bounty settled"
    );
    let _ = &s.scenario;
}
