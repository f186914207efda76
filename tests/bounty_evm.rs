//! The generated Groth16 verifier and the bounty contract in a real EVM (revm): the committed
//! sources are the generator's and the compiled bytecode is in sync with them; real claim proofs
//! verify on chain; the bounty's flow works and every attack on it fails. Prints the gas.

#[path = "common/evm.rs"]
mod evm;
#[path = "common/bounty.rs"]
mod scenario;

use ark_ff::{BigInteger, PrimeField};
use evm::*;
use ff::Field;
use kerafold::claim::circuit::{ClaimProof, NUM_PUBLIC};
use kerafold::claim::snarkjs::calldata;
use kerafold::claim::solidity::verifier_source;
use kerafold::crypto::babyjubjub::{Point, SecretKey, A, D};
use kerafold::crypto::bn254::{to_be32, Fr};
use kerafold::data::cid::Cid;
use revm::primitives::{keccak256, Address, U256};
use scenario::{cid_bytes, cid_digest, Scenario, THRESHOLD};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

#[test]
fn committed_verifier_is_the_generators() {
    let committed = std::fs::read_to_string(contracts().join("Groth16Verifier.sol")).unwrap();
    assert!(
        committed == verifier_source(NUM_PUBLIC),
        "contracts/Groth16Verifier.sol differs from src/claim/solidity.rs's output: regenerate it \
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

    // creating: no reward, a key off the curve, a malformed CID, a codec other than raw are refused
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
    bad_cid[6 * 32 + 2] = 0x13; // sha2-512's multihash code
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &bad_cid, reward).revert(),
        "not a CIDv1 with a sha2-256 digest"
    );
    let mut bad_cid = create_args(&cid_bytes(), THRESHOLD, &pa.public.host, deadline);
    bad_cid[6 * 32 + 1] = 0x71; // dag-cbor
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &bad_cid, reward).revert(),
        NOT_RAW
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

// createBounty's checks of the CID and of the host key. These need no claim proof (createBounty
// never calls the verifier), so the bounty contract is deployed alone, over a code-less address.

const NOT_RAW: &str =
    "CID codec is not raw (0x55): claims only prove single-block raw files, not dag-pb roots";
const IDENTITY: &str = "host key is the identity (0, 1)";
const NOT_IN_SUBGROUP: &str = "host key is not in Baby Jubjub's prime-order subgroup";

fn bounty_alone() -> (Chain, Address) {
    let mut chain = Chain::new();
    let bounty = deploy_bounty(&mut chain, Address::new([0x22; 20]));
    (chain, bounty)
}

/// `createBounty(cid, THRESHOLD, key, now + 1000)` from the host, with a reward of 1 ether.
fn create(chain: &mut Chain, bounty: Address, cid: &[u8], key: &Point) -> Outcome {
    let args = create_args(cid, THRESHOLD, key, chain.now + 1000);
    chain.call(HOST, bounty, CREATE, &args, ETHER)
}

/// `k·P` for a small `k`.
fn times(p: &Point, k: u64) -> Point {
    let bits: Vec<bool> = (0..64).map(|i| k >> i & 1 == 1).collect();
    p.mul_bits(&bits)
}

/// The curve point with this x coordinate (and either y), if there is one.
fn point_at(x: Fr) -> Option<Point> {
    let (a, d) = (Fr::from(A), Fr::from(D));
    // from the curve equation: y² = (1 − a·x²) / (1 − d·x²) (1 − d·x² ≠ 0: d is not a square)
    let y2 = (Fr::ONE - a * x.square()) * (Fr::ONE - d * x.square()).invert().unwrap();
    let y = Option::<Fr>::from(y2.sqrt())?;
    Some(Point { x, y })
}

/// A point of order 8: `[l]·P` for a curve point `P` outside the prime-order subgroup (the curve
/// has `8·l` points and the part of order dividing 8 is cyclic, so the first `P` whose `[l]·P`
/// has order 8 gives a generator of it).
fn order8() -> Point {
    let l = taceo_ark_babyjubjub::Fr::MODULUS.to_bits_le();
    for i in 1u64.. {
        let Some(p) = point_at(Fr::from(i)) else {
            continue;
        };
        let t = p.mul_bits(&l);
        if times(&t, 4) != Point::identity() {
            assert_eq!(times(&t, 8), Point::identity());
            return t;
        }
    }
    unreachable!()
}

/// The 7 points of order 2, 4 and 8 (`k·T` for `k = 1..7`, `T` of order 8), with their orders.
fn low_order_points() -> Vec<(Point, u64)> {
    let t = order8();
    let order2 = Point {
        x: Fr::ZERO,
        y: -Fr::ONE,
    };
    assert_eq!(times(&t, 4), order2, "(0, r − 1) is the point of order 2");
    (1..8).map(|k| (times(&t, k), 8 / gcd(k, 8))).collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn create_bounty_refuses_a_dag_pb_cid() {
    let (mut chain, bounty) = bounty_alone();
    let key = SecretKey::random().public();
    // a dag-pb root (bafybei…, a file over 256 KiB): no accuracy proof reaches its digest
    let dag_pb = Cid::dag_pb(cid_digest()).to_bytes().to_vec();
    assert_eq!(dag_pb[..4], [0x01, 0x70, 0x12, 0x20]);
    assert_eq!(create(&mut chain, bounty, &dag_pb, &key).revert(), NOT_RAW);
    // the raw CID is accepted
    let raw = cid_bytes();
    assert_eq!(raw[..4], [0x01, 0x55, 0x12, 0x20]);
    assert_eq!(create(&mut chain, bounty, &raw, &key).ok().0, word(0));
}

#[test]
fn create_bounty_refuses_the_identity_as_host_key() {
    let (mut chain, bounty) = bounty_alone();
    // (0, 1) is on the curve and [l]·(0, 1) = (0, 1): the curve and subgroup checks both pass it
    let id = Point::identity();
    assert!(id.is_on_curve() && id.is_in_subgroup());
    assert_eq!(
        create(&mut chain, bounty, &cid_bytes(), &id).revert(),
        IDENTITY
    );
}

#[test]
fn create_bounty_refuses_low_order_host_keys() {
    // the contract's projective formulas are complete (no exceptional points, Z never 0) because
    // a is a square mod r and d is not
    assert!(bool::from(Fr::from(A).sqrt().is_some()));
    assert!(bool::from(Fr::from(D).sqrt().is_none()));
    let (mut chain, bounty) = bounty_alone();
    let mut orders = vec![];
    for (p, order) in low_order_points() {
        assert!(p.is_on_curve() && !p.is_in_subgroup());
        assert_eq!(
            create(&mut chain, bounty, &cid_bytes(), &p).revert(),
            NOT_IN_SUBGROUP,
            "a point of order {order}"
        );
        orders.push(order);
    }
    orders.sort();
    assert_eq!(orders, [2, 4, 4, 8, 8, 8, 8]);
}

#[test]
fn create_bounty_refuses_host_keys_outside_the_subgroup() {
    let (mut chain, bounty) = bounty_alone();
    let key = SecretKey::random().public();
    // a valid key plus a point of order 2, 4 or 8: on the curve, of order 2·l, 4·l or 8·l
    for (t, order) in low_order_points() {
        let p = key.add(&t);
        assert!(p.is_on_curve() && !p.is_in_subgroup());
        assert_eq!(
            create(&mut chain, bounty, &cid_bytes(), &p).revert(),
            NOT_IN_SUBGROUP,
            "a valid key plus a point of order {order}"
        );
    }
}

#[test]
fn create_bounty_accepts_real_host_keys() {
    let (mut chain, bounty) = bounty_alone();
    let keys = [
        SecretKey::random().public(),
        SecretKey::random().public(),
        Point::base8(),
    ];
    for (i, key) in keys.iter().enumerate() {
        let (out, gas) = create(&mut chain, bounty, &cid_bytes(), key).ok();
        assert_eq!(out, word(i as u128));
        println!("createBounty (subgroup-checked host key): {gas} gas");
    }
    // the subgroup check alone, through the contract's public view
    let sig = "inSubgroup(uint256,uint256)";
    let point_args = |p: &Point| words(&[to_be32(&p.x), to_be32(&p.y)]);
    let (out, gas) = chain.call(HOST, bounty, sig, &point_args(&keys[0]), 0).ok();
    assert_eq!(out, word(1));
    // intrinsic cost: 21000 and the calldata (4 gas a zero byte, 16 a nonzero one)
    let mut data = keccak256(sig.as_bytes())[..4].to_vec();
    data.extend(point_args(&keys[0]));
    let intrinsic = 21_000
        + data
            .iter()
            .map(|&b| if b == 0 { 4 } else { 16 })
            .sum::<u64>();
    println!(
        "inSubgroup (on-curve check, then [l]·P = O): {gas} gas (transaction), {} gas without \
         the intrinsic cost",
        gas - intrinsic
    );
    assert!(
        gas - intrinsic < 200_000,
        "the subgroup check costs {gas} gas"
    );
    let (t, _) = low_order_points()[0];
    let (out, _) = chain
        .call(HOST, bounty, sig, &point_args(&keys[0].add(&t)), 0)
        .ok();
    assert_eq!(out, word(0));
    // against arkworks' subgroup check: random curve points P (in the subgroup with probability
    // 1/8) and 8·P (always in it)
    let mut checked = [0, 0];
    while checked[0] + checked[1] < 32 {
        let Some(p) = point_at(Fr::random(rand_core::OsRng)) else {
            continue;
        };
        for p in [p, times(&p, 8)] {
            let expected = p.is_in_subgroup();
            let (out, _) = chain.call(HOST, bounty, sig, &point_args(&p), 0).ok();
            assert_eq!(out, word(expected as u128), "inSubgroup{:?}", p.to_dec());
            checked[expected as usize] += 1;
        }
    }
    println!("inSubgroup agrees with arkworks on {checked:?} points (outside, inside)");
}
