//! The generated Groth16 verifier and the bounty contract in a real EVM (revm): the committed
//! sources are the generator's and the compiled bytecode is in sync with them; real claim proofs
//! verify on chain; the bounty's flow works and every attack on it fails. Prints the gas.

use crate::evm;
use crate::scenario;

use ark_ff::{BigInteger, PrimeField};
use evm::*;
use ff::Field;
use kerafold::claim::circuit::{ClaimProof, NUM_PUBLIC};
use kerafold::claim::snarkjs::calldata;
use kerafold::claim::solidity::verifier_source;
use kerafold::claim::weights;
use kerafold::crypto::babyjubjub::{Point, SecretKey, A, D};
use kerafold::crypto::bn254::{to_be32, Fr};
use kerafold::crypto::cipher;
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
         (KERAFOLD_WRITE_VERIFIER=1 cargo test --test suite bounty_evm::) and recompile (contracts/compile.mjs)"
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

// ---- the bounty's flow ------------------------------------------------------------------

/// The windows of the bounties below: the host may approve up to an hour after the deadline, the
/// approved claimant has two hours to reveal the key.
const WINDOWS: Windows = Windows {
    approval: 3600,
    reveal: 2 * 3600,
};
const REWARD: u128 = 3 * ETHER;

/// A chain with the verifier and a bounty contract deployed and bounty 0 open (the scenario's
/// dataset, threshold and host key; the reward `REWARD`; claims until `deadline`).
struct Market {
    chain: Chain,
    bounty: Address,
    deadline: u64,
}

fn open_bounty(windows: Windows) -> Market {
    let s = setup();
    let mut chain = Chain::new();
    let (_, bounty) = deploy(&mut chain, &s.proofs[0].vk);
    let deadline = chain.now + 1000;
    let args = create_args(
        &cid_bytes(),
        THRESHOLD,
        &s.proofs[0].public.host,
        deadline,
        windows,
    );
    let (out, gas) = chain.call(HOST, bounty, CREATE, &args, REWARD).ok();
    assert_eq!(out, word(0));
    println!("createBounty: {gas} gas");
    Market {
        chain,
        bounty,
        deadline,
    }
}

/// `submitClaim` arguments for claim proof `p` on bounty 0, posting the scenario's ciphertext.
fn claim_args(p: &ClaimProof) -> Vec<u8> {
    let e = &setup().scenario.encrypted;
    submit_args(0, p, e.nonce, &e.ciphertext)
}

/// `withdraw` arguments on bounty 0.
fn withdraw_args(key: [u8; 32]) -> Vec<u8> {
    words(&[word(0), key])
}

/// κ as the 32-byte word `withdraw` takes.
fn kappa_word() -> [u8; 32] {
    to_be32(&setup().scenario.kappa)
}

impl Market {
    fn submit(&mut self, from: Address, p: &ClaimProof) -> Outcome {
        self.chain
            .call(from, self.bounty, SUBMIT, &claim_args(p), 0)
    }
    fn approve(&mut self, from: Address, claim: u128) -> Outcome {
        let args = words(&[word(0), word(claim)]);
        self.chain.call(from, self.bounty, APPROVE, &args, 0)
    }
    fn withdraw(&mut self, from: Address, key: [u8; 32]) -> Outcome {
        self.chain
            .call(from, self.bounty, WITHDRAW, &withdraw_args(key), 0)
    }
    fn refund(&mut self, from: Address) -> Outcome {
        self.chain.call(from, self.bounty, REFUND, &word(0), 0)
    }
    /// `claims(0, claim)`: claimant, hunter key, ciphertext hash, IO digest, key hash.
    fn claim(&mut self, claim: u128) -> Vec<[u8; 32]> {
        let args = words(&[word(0), word(claim)]);
        let (out, _) = self
            .chain
            .call(HOST, self.bounty, "claims(uint256,uint256)", &args, 0)
            .ok();
        assert_eq!(out.len(), 6 * 32);
        out.chunks(32).map(|w| w.try_into().unwrap()).collect()
    }
    /// Alice's claim submitted and approved now; returns `revealBy`.
    fn alice_approved(&mut self) -> u64 {
        let pa = &setup().proofs[0];
        assert_eq!(self.submit(ALICE, pa).ok().0, word(0));
        let (_, _, logs) = self.approve(HOST, 0).ok_logs();
        let reveal_by = self.chain.now + WINDOWS.reveal;
        let approved = event(&logs, CLAIM_APPROVED);
        assert_eq!(
            data_words(approved),
            [&addr_word(ALICE)[..], &word(reveal_by as u128)[..]]
        );
        reveal_by
    }
}

#[test]
fn happy_path_the_reveal_pays_the_hunter_and_lets_the_host_decrypt() {
    let s = setup();
    let sc = &s.scenario;
    let pa = &s.proofs[0];
    let mut m = open_bounty(WINDOWS);
    // the claim's key hash is κ's, the scenario's κ the hunter key's reveal key for the nonce
    assert_eq!(pa.public.key_hash, weights::key_hash(&sc.kappa));
    assert_eq!(
        sc.kappa,
        weights::reveal_key(&sc.hunter, sc.encrypted.nonce)
    );

    // Alice claims: the proof is verified, the claim and the ciphertext are posted
    let args = claim_args(pa);
    let (out, gas, logs) = m.chain.call(ALICE, m.bounty, SUBMIT, &args, 0).ok_logs();
    assert_eq!(out, word(0));
    let n = sc.encrypted.ciphertext.len();
    println!(
        "submitClaim (verifies the proof, posts a ciphertext of {n} elements: {} bytes of \
         calldata for the ciphertext, {} in all): {gas} gas",
        32 * (n + 1),
        4 + args.len()
    );
    let submitted = event(&logs, CLAIM_SUBMITTED);
    assert_eq!(submitted.topics()[1].0, word(0)); // bounty
    assert_eq!(submitted.topics()[2].0, word(0)); // claim
    assert_eq!(submitted.topics()[3].0, addr_word(ALICE));
    assert_eq!(data_words(submitted)[4], pa.public.key_hash);
    let (nonce, ct) = posted_ciphertext(event(&logs, CIPHERTEXT_POSTED));
    assert_eq!((nonce, &ct), (sc.encrypted.nonce, &sc.encrypted.ciphertext));
    let stored = m.claim(0);
    assert_eq!(stored[0], addr_word(ALICE));
    assert_eq!(stored[5], pa.public.key_hash);

    // the host approves it
    let (_, gas) = m.approve(HOST, 0).ok();
    println!("approve: {gas} gas");

    // Alice reveals κ and is paid exactly the reward, in one transaction
    let before = m.chain.balance(ALICE);
    let (_, gas, logs) = m.withdraw(ALICE, kappa_word()).ok_logs();
    println!("withdraw (reveals κ, checks its SHA-256, pays): {gas} gas");
    assert_eq!(m.chain.balance(ALICE) - before, U256::from(REWARD));
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].topics()[0], keccak256(KEY_REVEALED.as_bytes()));
    assert_eq!(logs[1].topics()[0], keccak256(REWARD_WITHDRAWN.as_bytes()));
    let revealed = event(&logs, KEY_REVEALED);
    assert_eq!(revealed.topics()[2].0, word(0)); // the approved claim
    let kappa = fr_from_word(data_words(revealed)[0]);
    assert_eq!(kappa, sc.kappa);
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "nothing to withdraw"
    );

    // the host decrypts with κ from the log: exactly the hunter's model and blinds
    let opening = weights::decrypt(&sc.file, &sc.host, &kappa).unwrap();
    assert_eq!(opening.model, sc.opening.model);
    assert_eq!(opening.blinds, sc.opening.blinds);
    // and from the chain alone (posted ciphertext and nonce, the claim's hunter key), with the
    // host's secret key: the plaintext the claim proved
    let hunter = Point {
        x: fr_from_word(&stored[1]),
        y: fr_from_word(&stored[2]),
    };
    let shared = sc.host.ecdh(&hunter);
    let pt = cipher::decrypt(
        &ct,
        weights::session_key(&shared, &kappa),
        nonce,
        sc.file.length,
    )
    .unwrap();
    assert_eq!(
        pt,
        weights::plaintext(&sc.arch, &sc.opening.model, &sc.opening.blinds).unwrap()
    );
}

#[test]
fn the_host_cannot_decrypt_before_the_reveal() {
    let s = setup();
    let sc = &s.scenario;
    let mut m = open_bounty(WINDOWS);
    let (_, _, logs) = m
        .chain
        .call(ALICE, m.bounty, SUBMIT, &claim_args(&s.proofs[0]), 0)
        .ok_logs();
    let posted = posted_ciphertext(event(&logs, CIPHERTEXT_POSTED));
    m.approve(HOST, 0).ok();

    // everything on chain: the posted nonce and ciphertext (the file's), the claim's key hash
    // and hunter key
    let (nonce, ct) = posted;
    assert_eq!(nonce, sc.encrypted.nonce);
    assert_eq!(ct, sc.encrypted.ciphertext);
    assert_eq!(
        weights::ciphertext_hash(nonce, &ct),
        sc.encrypted.hash,
        "the posted ciphertext is the claim's"
    );
    let stored = m.claim(0);
    let key_hash = stored[5];
    assert_eq!(key_hash, sc.encrypted.key_hash);
    let hunter = Point {
        x: fr_from_word(&stored[1]),
        y: fr_from_word(&stored[2]),
    };
    assert_eq!(hunter, sc.hunter.public());

    // and in the host's hands: its secret key, hence the ECDH point, and the ciphertext file.
    // The old scheme's key, the ECDH point alone, no longer opens the ciphertext:
    let shared = sc.host.ecdh(&hunter);
    assert!(cipher::decrypt(&ct, (shared.x, shared.y), nonce, sc.file.length).is_err());
    // nor do guesses of κ: 0, 1, the key hash read as a number (its low 248 bits), the ECDH
    // point's coordinates, the host's own reveal key for the nonce
    let mut low = key_hash;
    low[0] = 0;
    let guesses = [
        Fr::ZERO,
        Fr::ONE,
        fr_from_word(&low),
        shared.x,
        shared.y,
        weights::reveal_key(&sc.host, nonce),
    ];
    for guess in guesses {
        assert_ne!(guess, sc.kappa);
        assert_ne!(weights::key_hash(&guess), key_hash);
        assert!(
            weights::decrypt(&sc.file, &sc.host, &guess).is_err(),
            "κ guessed as {guess:?} decrypts"
        );
        assert!(cipher::decrypt(
            &ct,
            weights::session_key(&shared, &guess),
            nonce,
            sc.file.length
        )
        .is_err());
    }
    // (what the reveal adds: κ, and with it the weights)
    assert!(weights::decrypt(&sc.file, &sc.host, &sc.kappa).is_ok());
}

#[test]
fn an_approved_hunter_who_never_reveals_lets_the_host_refund_after_the_reveal_window() {
    let mut m = open_bounty(WINDOWS);
    let reveal_by = m.alice_approved();
    // the reward is locked for Alice until revealBy
    assert_eq!(
        m.refund(HOST).revert(),
        "the approved claim may still reveal"
    );
    m.chain.set_time(m.deadline + WINDOWS.approval + 1);
    assert_eq!(
        m.refund(HOST).revert(),
        "the approved claim may still reveal"
    );
    m.chain.set_time(reveal_by);
    assert_eq!(
        m.refund(HOST).revert(),
        "the approved claim may still reveal"
    );
    // once it has passed, the host takes it back
    m.chain.set_time(reveal_by + 1);
    assert_eq!(m.refund(MALLORY).revert(), "not the host");
    let before = m.chain.balance(HOST);
    let (_, gas, logs) = m.refund(HOST).ok_logs();
    println!("refund (approved claim not revealed): {gas} gas");
    assert_eq!(m.chain.balance(HOST) - before, U256::from(REWARD));
    assert_eq!(data_words(event(&logs, BOUNTY_REFUNDED))[0], word(REWARD));
    // Alice's late reveal finds nothing; no second refund
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "nothing to withdraw"
    );
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}

#[test]
fn a_wrong_key_or_a_key_over_248_bits_is_rejected() {
    let mut m = open_bounty(WINDOWS);
    m.alice_approved();
    let kappa = setup().scenario.kappa;
    for wrong in [kappa + Fr::ONE, Fr::ZERO, -kappa] {
        let mut w = to_be32(&wrong);
        w[0] = 0; // below 2^248, so the hash check answers
        assert_eq!(m.withdraw(ALICE, w).revert(), "wrong key");
    }
    // the key hash itself is no key
    let key_hash = setup().proofs[0].public.key_hash;
    let mut w = key_hash;
    w[0] = 0;
    assert_eq!(m.withdraw(ALICE, w).revert(), "wrong key");
    // κ + 2^248, 2^248, 2^256 − 1: over 248 bits
    let mut over = kappa_word();
    over[0] = 1;
    let mut two_248 = [0u8; 32];
    two_248[0] = 1;
    for key in [over, two_248, [0xff; 32]] {
        assert_eq!(m.withdraw(ALICE, key).revert(), "key over 248 bits");
    }
    // none of it settled anything: κ still pays
    m.withdraw(ALICE, kappa_word()).ok();
}

#[test]
fn only_the_claimant_says_where_its_claim_files_are() {
    let s = setup();
    let mut m = open_bounty(WINDOWS);
    assert_eq!(m.submit(ALICE, &s.proofs[0]).ok().0, word(0));
    // postClaimFiles(id, claim, bytes cid): a CIDv1 of the claim's files (36 bytes)
    let files_cid = cid_bytes();
    let post = |claim: u128| {
        let mut a = words(&[
            word(0),
            word(claim),
            word(0x60),
            word(files_cid.len() as u128),
        ]);
        let mut data = files_cid.clone();
        data.resize(files_cid.len().div_ceil(32) * 32, 0);
        a.extend(data);
        a
    };
    const POST: &str = "postClaimFiles(uint256,uint256,bytes)";
    // another sender cannot point the host at other files for Alice's claim
    assert_eq!(
        m.chain.call(MALLORY, m.bounty, POST, &post(0), 0).revert(),
        "not the claimant"
    );
    assert_eq!(
        m.chain.call(ALICE, m.bounty, POST, &post(1), 0).revert(),
        "no such claim"
    );
    let (_, gas, logs) = m.chain.call(ALICE, m.bounty, POST, &post(0), 0).ok_logs();
    println!("postClaimFiles (a 36-byte CID): {gas} gas");
    let posted = event(&logs, "ClaimFilesPosted(uint256,uint256,bytes)");
    assert_eq!(posted.topics()[1].0, word(0));
    assert_eq!(posted.topics()[2].0, word(0));
    let d = data_words(posted);
    assert_eq!(d[1], word(files_cid.len() as u128));
    assert_eq!(&[d[2], d[3]].concat()[..files_cid.len()], &files_cid[..]);
}

#[test]
fn replays_by_another_sender_fail() {
    let s = setup();
    let (pa, pb) = (&s.proofs[0], &s.proofs[1]);
    let mut m = open_bounty(WINDOWS);
    // Alice's submitClaim replayed by Mallory (same calldata): the contract binds msg.sender as
    // the claimant, the proof fails
    assert_eq!(m.submit(MALLORY, pa).revert(), "invalid claim proof");
    assert_eq!(m.submit(ALICE, pa).ok().0, word(0));
    assert_eq!(m.submit(MALLORY, pa).revert(), "invalid claim proof");
    assert_eq!(m.submit(BOB, pb).ok().0, word(1));
    m.approve(HOST, 0).ok();
    // Alice's withdraw (with κ) replayed by Mallory, or by Bob (a claimant, not the approved
    // one): only the approved claimant is paid
    for thief in [MALLORY, BOB] {
        assert_eq!(
            m.withdraw(thief, kappa_word()).revert(),
            "not the approved claimant"
        );
    }
    let before = m.chain.balance(ALICE);
    m.withdraw(ALICE, kappa_word()).ok();
    assert_eq!(m.chain.balance(ALICE) - before, U256::from(REWARD));
    assert_eq!(
        m.withdraw(MALLORY, kappa_word()).revert(),
        "nothing to withdraw"
    );
}

#[test]
fn bounty_flow_and_attacks() {
    let s = setup();
    let sc = &s.scenario;
    let (pa, pb) = (&s.proofs[0], &s.proofs[1]);
    let mut chain = Chain::new();
    let (_, bounty) = deploy(&mut chain, &pa.vk);
    let deadline = chain.now + 1000;
    let create = |cid: &[u8], host: &Point| create_args(cid, THRESHOLD, host, deadline, WINDOWS);

    // creating: no reward, a key off the curve, a malformed CID, a codec other than raw are refused
    let host = pa.public.host;
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &create(&cid_bytes(), &host), 0)
            .revert(),
        "no reward"
    );
    let off = Point {
        x: host.x + Fr::ONE,
        y: host.y,
    };
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &create(&cid_bytes(), &off), REWARD)
            .revert(),
        "host key is not a Baby Jubjub point"
    );
    let mut bad_cid = cid_bytes();
    bad_cid[2] = 0x13; // sha2-512's multihash code
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &create(&bad_cid, &host), REWARD)
            .revert(),
        "not a CIDv1 with a sha2-256 digest"
    );
    let mut bad_cid = cid_bytes();
    bad_cid[1] = 0x71; // dag-cbor
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &create(&bad_cid, &host), REWARD)
            .revert(),
        NOT_RAW
    );
    let (out, _) = chain
        .call(HOST, bounty, CREATE, &create(&cid_bytes(), &host), REWARD)
        .ok();
    assert_eq!(out, word(0));
    let mut m = Market {
        chain,
        bounty,
        deadline,
    };

    // an invalid proof
    let mut bad = claim_args(pa);
    bad[32 + 31] ^= 1;
    assert_eq!(
        m.chain.call(ALICE, bounty, SUBMIT, &bad, 0).revert(),
        "invalid claim proof"
    );
    // Alice's proof with any stored field changed fails: Bob's (another hunter key's) key hash,
    // another hunter key, ciphertext hash or IO digest
    let other_hunter = SecretKey::random();
    let bobs_key_hash = weights::key_hash(&weights::reveal_key(&other_hunter, sc.encrypted.nonce));
    assert_ne!(bobs_key_hash, pa.public.key_hash);
    let fields: [(usize, [u8; 32]); 5] = [
        (13, bobs_key_hash),
        (9, to_be32(&other_hunter.public().x)),
        (10, to_be32(&other_hunter.public().y)),
        (11, to_be32(&(pa.public.ciphertext_hash + Fr::ONE))),
        (12, to_be32(&(pa.public.io_digest + Fr::ONE))),
    ];
    for (at, value) in fields {
        let mut mixed = claim_args(pa);
        mixed[32 * at..32 * (at + 1)].copy_from_slice(&value);
        assert_eq!(
            m.chain.call(ALICE, bounty, SUBMIT, &mixed, 0).revert(),
            "invalid claim proof",
            "word {at} changed"
        );
    }
    // a posted nonce over 128 bits, a ciphertext of a length no Poseidon cipher gives
    let e = &sc.encrypted;
    let mut big_nonce = claim_args(pa);
    big_nonce[32 * 14 + 15] = 1; // 2^128 + nonce
    assert_eq!(
        m.chain.call(ALICE, bounty, SUBMIT, &big_nonce, 0).revert(),
        "nonce over 128 bits"
    );
    for len in [0, e.ciphertext.len() - 1, e.ciphertext.len() + 1] {
        let mut ct = e.ciphertext.clone();
        ct.resize(len, Fr::ZERO);
        assert_eq!(
            m.chain
                .call(ALICE, bounty, SUBMIT, &submit_args(0, pa, e.nonce, &ct), 0)
                .revert(),
            "not a Poseidon-cipher ciphertext",
            "{len} elements"
        );
    }
    // a claim on a bounty that does not exist
    assert_eq!(
        m.chain
            .call(
                ALICE,
                bounty,
                SUBMIT,
                &submit_args(1, pa, e.nonce, &e.ciphertext),
                0
            )
            .revert(),
        "no such bounty"
    );

    // Alice claims, then Bob (a second claim)
    assert_eq!(m.submit(ALICE, pa).ok().0, word(0));
    assert_eq!(m.submit(BOB, pb).ok().0, word(1));
    let (out, _) = m
        .chain
        .call(BOB, bounty, "claimCount(uint256)", &word(0), 0)
        .ok();
    assert_eq!(out, word(2));

    // only the host approves, one claim
    assert_eq!(m.approve(BOB, 1).revert(), "not the host");
    assert_eq!(m.approve(HOST, 2).revert(), "no such claim");
    // nothing to withdraw before approval
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "nothing to withdraw"
    );
    m.approve(HOST, 0).ok();
    assert_eq!(m.approve(HOST, 1).revert(), "bounty settled");
    // no more claims once approved
    assert_eq!(m.submit(BOB, pb).revert(), "bounty settled");

    // Bob (not approved) cannot withdraw; Alice can, once
    assert_eq!(
        m.withdraw(BOB, kappa_word()).revert(),
        "not the approved claimant"
    );
    let before = m.chain.balance(ALICE);
    m.withdraw(ALICE, kappa_word()).ok();
    assert_eq!(m.chain.balance(ALICE) - before, U256::from(REWARD));
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "nothing to withdraw"
    );
    // no refund once paid, even after every window
    m.chain
        .set_time(m.deadline + WINDOWS.approval + WINDOWS.reveal + 1);
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}

#[test]
fn a_posted_ciphertext_that_is_not_the_claims_is_caught_by_the_host_before_approving() {
    // The contract checks the posted ciphertext's shape only (its Poseidon hash would cost too
    // much gas); the claim proof binds its hash, and the host recomputes it before approving.
    let s = setup();
    let e = &s.scenario.encrypted;
    let mut m = open_bounty(WINDOWS);
    let mut ct = e.ciphertext.clone();
    ct[0] += Fr::ONE;
    let args = submit_args(0, &s.proofs[0], e.nonce, &ct);
    let (_, _, logs) = m.chain.call(ALICE, m.bounty, SUBMIT, &args, 0).ok_logs();
    let (nonce, posted) = posted_ciphertext(event(&logs, CIPHERTEXT_POSTED));
    let claimed = fr_from_word(&m.claim(0)[3]);
    assert_eq!(claimed, e.hash);
    assert_ne!(weights::ciphertext_hash(nonce, &posted), claimed);
}

#[test]
fn claims_approvals_and_refunds_follow_the_windows() {
    let s = setup();
    let (pa, pb) = (&s.proofs[0], &s.proofs[1]);
    let mut m = open_bounty(WINDOWS);
    let (d, w) = (m.deadline, WINDOWS.approval);
    // claims up to the deadline, not after
    m.chain.set_time(d);
    m.submit(ALICE, pa).ok();
    m.chain.set_time(d + 1);
    assert_eq!(m.submit(BOB, pb).revert(), "deadline passed");
    // no refund of an unapproved bounty until the approval window has closed
    assert_eq!(m.refund(HOST).revert(), "before the approval window closes");
    m.chain.set_time(d + w);
    assert_eq!(m.refund(HOST).revert(), "before the approval window closes");
    // no approval once it has
    m.chain.set_time(d + w + 1);
    assert_eq!(m.approve(HOST, 0).revert(), "approval window closed");
    let before = m.chain.balance(HOST);
    let (_, gas) = m.refund(HOST).ok();
    println!("refund (no approved claim): {gas} gas");
    assert_eq!(m.chain.balance(HOST) - before, U256::from(REWARD));
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "nothing to withdraw"
    );
}

#[test]
fn an_approval_at_the_end_of_the_window_leaves_the_full_reveal_window() {
    let mut m = open_bounty(WINDOWS);
    m.submit(ALICE, &setup().proofs[0]).ok();
    // the last second of the approval window
    m.chain.set_time(m.deadline + WINDOWS.approval);
    let (_, _, logs) = m.approve(HOST, 0).ok_logs();
    let reveal_by = m.chain.now + WINDOWS.reveal;
    assert_eq!(
        data_words(event(&logs, CLAIM_APPROVED))[1],
        word(reveal_by as u128)
    );
    // a reveal after revealBy fails (and has published κ for nothing: hunters reveal early)
    m.chain.set_time(reveal_by + 1);
    assert_eq!(
        m.withdraw(ALICE, kappa_word()).revert(),
        "reveal window closed"
    );
    m.refund(HOST).ok();
}

#[test]
fn a_reveal_in_the_last_second_of_the_window_pays() {
    let mut m = open_bounty(WINDOWS);
    let reveal_by = m.alice_approved();
    m.chain.set_time(reveal_by);
    m.withdraw(ALICE, kappa_word()).ok();
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}

#[test]
fn a_zero_approval_window_ends_approvals_at_the_deadline() {
    let mut m = open_bounty(Windows {
        approval: 0,
        reveal: 3600,
    });
    m.submit(ALICE, &setup().proofs[0]).ok();
    m.chain.set_time(m.deadline + 1);
    assert_eq!(m.approve(HOST, 0).revert(), "approval window closed");
    m.refund(HOST).ok();
}

#[test]
fn create_bounty_refuses_a_reveal_window_under_an_hour() {
    let (mut chain, bounty) = bounty_alone();
    let key = SecretKey::random().public();
    let deadline = chain.now + 1000;
    let args = |approval, reveal| {
        create_args(
            &cid_bytes(),
            THRESHOLD,
            &key,
            deadline,
            Windows { approval, reveal },
        )
    };
    for reveal in [0, 60, 3599] {
        assert_eq!(
            chain
                .call(HOST, bounty, CREATE, &args(3600, reveal), ETHER)
                .revert(),
            "reveal window under an hour"
        );
    }
    // windows that end past 2^64 seconds
    assert_eq!(
        chain
            .call(
                HOST,
                bounty,
                CREATE,
                &args(u64::MAX - deadline, 3600),
                ETHER
            )
            .revert(),
        "windows past 2^64"
    );
    // an hour, and no approval window at all, are fine
    let (out, _) = chain.call(HOST, bounty, CREATE, &args(0, 3600), ETHER).ok();
    assert_eq!(out, word(0));
    // the getter has the windows (revealBy is set by approve)
    let (out, _) = chain
        .call(HOST, bounty, "bounties(uint256)", &word(0), 0)
        .ok();
    let w: Vec<&[u8]> = out.chunks(32).collect();
    assert_eq!(w.len(), 14);
    assert_eq!(w[0], addr_word(HOST));
    assert_eq!(w[1], word(THRESHOLD as u128));
    assert_eq!(w[2..5], [word(0), word(0), word(0)]); // approved, closed, onChain
    assert_eq!(w[5], word(deadline as u128));
    assert_eq!(w[6], word(0)); // approvalWindow
    assert_eq!(w[7], word(3600)); // revealWindow
    assert_eq!(w[8], word(0)); // revealBy
    assert_eq!(w[9], word(ETHER)); // reward
}

// createBounty's checks of the CID and of the host key. These need no claim proof (createBounty
// never calls the verifier), so the bounty contract is deployed alone, over a code-less address.

const NOT_RAW: &str = "CID codec is not raw (0x55), or dag-pb (0x70) for an approval bounty";
const IDENTITY: &str = "host key is the identity (0, 1)";
const NOT_IN_SUBGROUP: &str = "host key is not in Baby Jubjub's prime-order subgroup";

fn bounty_alone() -> (Chain, Address) {
    let mut chain = Chain::new();
    let bounty = deploy_bounty(&mut chain, Address::new([0x22; 20]));
    (chain, bounty)
}

/// `createBounty(cid, THRESHOLD, key, now + 1000, WINDOWS)` from the host, with a reward of 1
/// ether.
fn create(chain: &mut Chain, bounty: Address, cid: &[u8], key: &Point) -> Outcome {
    let args = create_args(cid, THRESHOLD, key, chain.now + 1000, WINDOWS);
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
fn create_bounty_takes_a_dag_pb_cid_for_approval_bounties_only() {
    let key = SecretKey::random().public();
    // a dag-pb root (bafybei…, a file over one IPFS chunk): approval claims rebuild it from the
    // leaves their accuracy proofs hashed
    let dag_pb = Cid::dag_pb(cid_digest()).to_bytes().to_vec();
    assert_eq!(dag_pb[..4], [0x01, 0x70, 0x12, 0x20]);
    let (mut chain, bounty) = bounty_alone();
    assert_eq!(create(&mut chain, bounty, &dag_pb, &key).ok().0, word(0));
    let raw = cid_bytes();
    assert_eq!(raw[..4], [0x01, 0x55, 0x12, 0x20]);
    assert_eq!(create(&mut chain, bounty, &raw, &key).ok().0, word(1));
    // an on-chain bounty runs every record in its claim: one raw block only
    let mut chain = Chain::new();
    // createBounty never calls the verifiers; the constructor wants code at the on-chain one
    let on_chain_verifier = deploy_bounty(&mut chain, Address::new([0x22; 20]));
    let bounty = chain
        .deploy(bounty_code(Address::new([0x22; 20]), on_chain_verifier, 1))
        .0;
    let args =
        |cid: &[u8], now: u64| create_args_in_mode(cid, THRESHOLD, &key, now + 1000, WINDOWS, true);
    let now = chain.now;
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &args(&dag_pb, now), ETHER)
            .revert(),
        NOT_RAW
    );
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &args(&raw, now), ETHER)
            .ok()
            .0,
        word(0)
    );
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
