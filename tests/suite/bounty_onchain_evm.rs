//! On-chain bounties in a real EVM (revm), issue 14 item 3: the on-chain claim proof (the digits
//! model on 4 records, 194 public inputs: the twelve of every claim, the nonce, 181 ciphertext
//! elements) is checked by the bounty contract itself, with the posted calldata as public
//! inputs, and a valid claim is approved in the same transaction. The host sends nothing after
//! `createBounty`; hunters are paid on their reveal; forged, replayed and preempted claims fail.
//! Prints the gas.

use crate::evm;
use crate::scenario;

use evm::*;
use ff::Field;
use kerafold::accuracy::native_claim;
use kerafold::claim::circuit::{self, ClaimInput, ClaimProof, ClaimSpec, NUM_PUBLIC};
use kerafold::claim::groth16;
use kerafold::claim::snarkjs::calldata;
use kerafold::claim::solidity::verifier_source;
use kerafold::claim::weights::{self, Encrypted, Opening};
use kerafold::crypto::babyjubjub::{Point, SecretKey};
use kerafold::crypto::bn254::{to_be32, Fr};
use kerafold::crypto::cipher;
use kerafold::data::cid::cid_of_bytes;
use kerafold::data::Dataset;
use kerafold::fold::{fe_hex, Architecture, Visibility};
use revm::primitives::{keccak256, Address, Log, TxKind, U256};
use std::sync::OnceLock;

/// Records of the bounty dataset (the first ones of the 16-sample digits dataset).
const SAMPLES: usize = 4;
/// Public inputs of the digits model's on-chain claim: 12 + nonce + 181 ciphertext elements.
const INPUTS: usize = 194;
/// The committed verifier for them (`contracts/Groth16Verifier194.sol`, `build/…194.bin`).
const VERIFIER: &str = "Groth16Verifier194";
/// EIP-170's limit on a contract's runtime bytecode.
const EIP170: usize = 24_576;
/// A code-less stand-in for the approval-mode verifier: on-chain bounties never call it.
const NO_APPROVAL_VERIFIER: Address = Address::new([0x22; 20]);

const REWARD: u128 = 2 * ETHER;
/// The host may refund an hour after the deadline at the earliest; an approved claimant has two
/// hours to reveal.
const WINDOWS: Windows = Windows {
    approval: 3600,
    reveal: 2 * 3600,
};
/// Claims are accepted for six hours after creation (room for a reveal window to lapse).
const OPEN_FOR: u64 = 6 * 3600;

// ---- the claims -------------------------------------------------------------------------

/// The first `SAMPLES` records of the digits dataset, as a dataset of their own.
fn small_dataset() -> Dataset {
    scenario::first_records(SAMPLES)
}

/// A hunter's side of a claim: its key, its ciphertext of the model (to the host), its reveal
/// key κ and its proved claim.
struct Hunter {
    key: SecretKey,
    encrypted: Encrypted,
    kappa: Fr,
    proof: ClaimProof,
}

struct Fixture {
    spec: ClaimSpec,
    data: Dataset,
    host: SecretKey,
    opening: Opening,
    /// The model's correct count on the records: the bounties' threshold.
    threshold: u64,
    /// Alice's and Bob's claims, each with its own hunter key, both for `threshold`.
    alice: Hunter,
    bob: Hunter,
}

/// The model, the host key, the on-chain claim circuit's Groth16 keys (drawn once per process)
/// and Alice's and Bob's proved claims.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let model = scenario::digits();
        let data = small_dataset();
        let arch = Architecture::compile(&model).unwrap();
        let opening = Opening::private(model.clone()).unwrap();
        let host = SecretKey::random();
        let commitment = fe_hex(&opening.commitment().unwrap());
        let threshold = native_claim(&model, &data, Visibility::Private, &commitment)
            .unwrap()
            .correct as u64;
        assert!(threshold >= 1, "the model gets none of {SAMPLES} right");
        let spec = ClaimSpec::on_chain(arch, *data.header()).unwrap();
        assert_eq!(spec.num_public(), INPUTS);
        let keys = scenario::claim_keys(&spec);
        let hunter = |claimant: Address| {
            let key = SecretKey::random();
            let (file, _) = weights::encrypt(&opening, &host.public(), &key).unwrap();
            let encrypted: Encrypted = file.parse().unwrap();
            let kappa = weights::reveal_key(&key, encrypted.nonce);
            let input = ClaimInput::on_chain(
                &spec,
                &encrypted,
                &key,
                &data,
                threshold,
                claimant.into_array(),
            )
            .unwrap();
            let t = std::time::Instant::now();
            let proof = circuit::prove_with_key(&spec, &input, &keys).unwrap();
            println!("on-chain claim proved in {:.1}s", t.elapsed().as_secs_f64());
            assert!(proof.verify());
            Hunter {
                key,
                encrypted,
                kappa,
                proof,
            }
        };
        let alice = hunter(ALICE);
        let bob = hunter(BOB);
        Fixture {
            spec,
            data,
            host,
            opening,
            threshold,
            alice,
            bob,
        }
    })
}

/// The bounty dataset's binary CID.
fn cid() -> Vec<u8> {
    cid_of_bytes(fixture().data.as_bytes()).to_bytes().to_vec()
}

/// `submitClaim` arguments for `h`'s claim on bounty 0, posting its ciphertext.
fn claim_args(h: &Hunter) -> Vec<u8> {
    submit_args(0, &h.proof, h.encrypted.nonce, &h.encrypted.ciphertext)
}

// ---- the market ---------------------------------------------------------------------------

/// A chain with the on-chain verifier, a bounty contract over it and bounty 0 (on chain) open.
struct Market {
    chain: Chain,
    bounty: Address,
    deadline: u64,
    /// Transactions sent before the bounty's creation was done (`chain.senders[..created]`).
    created: usize,
    /// Gas of the deployments of the verifier and the bounty contract, and of `createBounty`.
    gas: [u64; 3],
}

/// Opens on-chain bounty 0 with `threshold`, `REWARD`, claims for `OPEN_FOR` seconds: deploys
/// the on-chain verifier (with the fixture's key) and a bounty contract over it, and creates the
/// bounty.
fn open(threshold: u64) -> Market {
    let f = fixture();
    let mut chain = Chain::new();
    let (verifier, verifier_gas) = deploy_verifier(&mut chain, VERIFIER, &f.alice.proof.vk);
    let ct_len = f.alice.encrypted.ciphertext.len();
    let (bounty, bounty_gas) = chain.deploy(bounty_code(NO_APPROVAL_VERIFIER, verifier, ct_len));
    let deadline = chain.now + OPEN_FOR;
    let args = create_args_in_mode(&cid(), threshold, &f.host.public(), deadline, WINDOWS, true);
    let (out, create_gas) = chain.call(HOST, bounty, CREATE, &args, REWARD).ok();
    assert_eq!(out, word(0));
    Market {
        created: chain.senders.len(),
        chain,
        bounty,
        deadline,
        gas: [verifier_gas, bounty_gas, create_gas],
    }
}

impl Market {
    fn submit(&mut self, from: Address, h: &Hunter) -> Outcome {
        self.submit_raw(from, claim_args(h))
    }
    fn submit_raw(&mut self, from: Address, args: Vec<u8>) -> Outcome {
        self.chain.call(from, self.bounty, SUBMIT, &args, 0)
    }
    fn approve(&mut self, from: Address, claim: u128) -> Outcome {
        let args = words(&[word(0), word(claim)]);
        self.chain.call(from, self.bounty, APPROVE, &args, 0)
    }
    fn withdraw(&mut self, from: Address, kappa: &Fr) -> Outcome {
        let args = words(&[word(0), to_be32(kappa)]);
        self.chain.call(from, self.bounty, WITHDRAW, &args, 0)
    }
    fn refund(&mut self, from: Address) -> Outcome {
        self.chain.call(from, self.bounty, REFUND, &word(0), 0)
    }
    /// `h`'s claim submitted by `from` now and approved by the contract as claim `claim`;
    /// returns its `revealBy` and the transaction's logs.
    fn approved(&mut self, from: Address, h: &Hunter, claim: u128) -> (u64, Vec<Log>) {
        let (out, _, logs) = self.submit(from, h).ok_logs();
        assert_eq!(out, word(claim));
        let reveal_by = self.chain.now + WINDOWS.reveal;
        let approved = event(&logs, CLAIM_APPROVED);
        assert_eq!(approved.topics()[2].0, word(claim));
        assert_eq!(
            data_words(approved),
            [&addr_word(from)[..], &word(reveal_by as u128)[..]]
        );
        (reveal_by, logs)
    }
    /// How many transactions the host sent since the bounty's creation.
    fn host_sent_since_creation(&self) -> usize {
        self.chain.senders[self.created..]
            .iter()
            .filter(|s| **s == HOST)
            .count()
    }
}

/// The host's decryption from the chain alone: the claim's hunter key (`ClaimSubmitted`), the
/// posted nonce and ciphertext (`CiphertextPosted`), κ (`KeyRevealed`) and its own secret key;
/// the architecture it published gives the skeleton.
fn host_decrypts(submit_logs: &[Log], kappa: Fr) -> (Vec<Fr>, Opening) {
    let f = fixture();
    let submitted = data_words(event(submit_logs, CLAIM_SUBMITTED));
    let hunter = Point {
        x: fr_from_word(submitted[0]),
        y: fr_from_word(submitted[1]),
    };
    let (nonce, ct) = posted_ciphertext(event(submit_logs, CIPHERTEXT_POSTED));
    let shared = f.host.ecdh(&hunter);
    let pt = cipher::decrypt(
        &ct,
        weights::session_key(&shared, &kappa),
        nonce,
        f.spec.layout.len,
    )
    .unwrap();
    let skeleton = weights::skeleton(&scenario::digits());
    let (model, blinds) = weights::model_from_plaintext(
        &skeleton,
        &kerafold::fold::Architecture::compile(&skeleton).unwrap(),
        &pt,
    )
    .unwrap();
    (
        pt,
        Opening {
            model,
            blinds,
            tiling: None,
        },
    )
}

/// The κ of a `withdraw`'s `KeyRevealed` log, after checking its claim index.
fn revealed_kappa(logs: &[Log], claim: u128) -> Fr {
    let revealed = event(logs, KEY_REVEALED);
    assert_eq!(revealed.topics()[2].0, word(claim));
    fr_from_word(data_words(revealed)[0])
}

// ---- the committed verifier -------------------------------------------------------------------

/// The on-chain verifier deployed with zero words for its key (for tests that never verify).
fn deploy_zero_key_verifier(chain: &mut Chain) -> (Address, u64) {
    let mut code = bytecode(VERIFIER);
    code.extend(vec![0u8; 32 * (14 + 2 * (INPUTS + 1))]);
    chain.deploy(code)
}

#[test]
fn committed_on_chain_verifier_is_the_generators() {
    // the digits architecture's on-chain claim has 194 public inputs
    let model = scenario::digits();
    let arch = Architecture::compile(&model).unwrap();
    let spec = ClaimSpec::on_chain(arch, *small_dataset().header()).unwrap();
    assert_eq!(spec.num_public(), INPUTS);
    // the twelve, the nonce, 3·⌈L/3⌉ + 1 ciphertext elements for a plaintext of L
    assert_eq!(INPUTS, NUM_PUBLIC + 1 + 3 * spec.layout.len.div_ceil(3) + 1);
    if std::env::var_os("KERAFOLD_WRITE_VERIFIER").is_some() {
        std::fs::write(
            contracts().join(format!("{VERIFIER}.sol")),
            verifier_source(INPUTS),
        )
        .unwrap();
    }
    let committed = std::fs::read_to_string(contracts().join(format!("{VERIFIER}.sol"))).unwrap();
    assert!(
        committed == verifier_source(INPUTS),
        "contracts/{VERIFIER}.sol differs from src/claim/solidity.rs's output: regenerate it \
         (KERAFOLD_WRITE_VERIFIER=1 cargo test --test suite bounty_onchain_evm:: \
         committed_on_chain_verifier) and recompile (contracts/compile.mjs)"
    );
}

#[test]
fn the_on_chain_verifier_fits_eip_170() {
    // the runtime code does not depend on the key (immutables have fixed slots): deploy it with
    // zero words in place of a key
    let mut chain = Chain::new();
    let init = bytecode(VERIFIER).len();
    let (verifier, gas) = deploy_zero_key_verifier(&mut chain);
    let size = chain.code_size(verifier);
    println!(
        "{VERIFIER}: {size} bytes of runtime code (EIP-170: {EIP170}), {init} bytes of creation \
         code and {} of key (EIP-3860: 49152); deployed with a zero key for {gas} gas",
        32 * (14 + 2 * (INPUTS + 1))
    );
    assert!(size > 0 && size <= EIP170, "{size} bytes of runtime code");
    let (bounty, _) = chain.deploy(bounty_code(NO_APPROVAL_VERIFIER, verifier, 181));
    let bounty = chain.code_size(bounty);
    println!("Bounty: {bounty} bytes of runtime code");
    assert!(bounty <= EIP170);
}

#[test]
fn the_on_chain_verifier_accepts_the_claim() {
    let f = fixture();
    let mut chain = Chain::new();
    let (verifier, _) = deploy_verifier(&mut chain, VERIFIER, &f.alice.proof.vk);
    let sig = format!("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{INPUTS}])");
    let p = &f.alice.proof;
    let x = p.public.inputs();
    assert_eq!(x.len(), INPUTS);
    let (out, gas) = chain
        .call(ALICE, verifier, &sig, &calldata(&p.proof, &x), 0)
        .ok();
    assert_eq!(out, word(1));
    println!("verifyProof ({INPUTS} public inputs): {gas} gas (transaction)");
    // Bob's claim inputs with Alice's proof: false, not a revert
    let (out, _) = chain
        .call(
            ALICE,
            verifier,
            &sig,
            &calldata(&p.proof, &f.bob.proof.public.inputs()),
            0,
        )
        .ok();
    assert_eq!(out, word(0));
    // natively too: Alice's proof verifies, and not with a threshold above the count she
    // proved or with another posted ciphertext
    assert!(p.verify());
    let mut other = p.public.clone();
    other.threshold += 1;
    assert!(!groth16::verify(&p.vk, &other.inputs(), &p.proof));
    let mut other = p.public.clone();
    other.posted.as_mut().unwrap().ciphertext[0] += Fr::ONE;
    assert!(!groth16::verify(&p.vk, &other.inputs(), &p.proof));
}

// ---- deployment and creation ---------------------------------------------------------------

#[test]
fn the_constructor_and_create_bounty_check_the_on_chain_mode() {
    let mut chain = Chain::new();
    let code_less = Address::new([0x33; 20]);
    let refused = |chain: &mut Chain, on_chain: Address, len: usize| {
        chain
            .tx(
                HOST,
                TxKind::Create,
                bounty_code(NO_APPROVAL_VERIFIER, on_chain, len),
                0,
            )
            .revert()
    };
    assert_eq!(
        refused(&mut chain, Address::ZERO, 181),
        "a ciphertext length without an on-chain verifier"
    );
    assert_eq!(
        refused(&mut chain, code_less, 181),
        "the on-chain verifier has no code"
    );
    let (verifier, _) = deploy_zero_key_verifier(&mut chain);
    for len in [0, 180, 182] {
        assert_eq!(
            refused(&mut chain, verifier, len),
            "not a Poseidon-cipher ciphertext length",
            "{len}"
        );
    }
    let key = SecretKey::random().public();
    let deadline = chain.now + 1000;
    let create = |on_chain| {
        create_args_in_mode(&scenario::cid_bytes(), 3, &key, deadline, WINDOWS, on_chain)
    };

    // a deployment without an on-chain verifier takes approval-mode bounties only
    let plain = deploy_bounty(&mut chain, NO_APPROVAL_VERIFIER);
    assert_eq!(
        chain
            .call(HOST, plain, CREATE, &create(true), ETHER)
            .revert(),
        "no on-chain verifier in this deployment"
    );
    chain.call(HOST, plain, CREATE, &create(false), ETHER).ok();

    // one with it takes both; the getters show the mode, the verifier and its length
    let with = chain
        .deploy(bounty_code(NO_APPROVAL_VERIFIER, verifier, 181))
        .0;
    let (out, _) = chain.call(HOST, with, CREATE, &create(false), ETHER).ok();
    assert_eq!(out, word(0));
    let (out, _) = chain.call(HOST, with, CREATE, &create(true), ETHER).ok();
    assert_eq!(out, word(1));
    for (id, on_chain) in [(0, 0), (1, 1)] {
        let (out, _) = chain
            .call(HOST, with, "bounties(uint256)", &word(id), 0)
            .ok();
        assert_eq!(out.len(), 14 * 32);
        assert_eq!(
            &out[4 * 32..5 * 32],
            word(on_chain),
            "bounty {id}'s onChain"
        );
    }
    let (out, _) = chain.call(HOST, with, "onChainVerifier()", &[], 0).ok();
    assert_eq!(out, addr_word(verifier));
    let (out, _) = chain
        .call(HOST, with, "onChainCiphertextLength()", &[], 0)
        .ok();
    assert_eq!(out, word(181));
}

// ---- the flow -------------------------------------------------------------------------------

#[test]
fn happy_path_the_contract_approves_and_the_reveal_pays_with_no_host_transaction() {
    let f = fixture();
    let a = &f.alice;
    let mut m = open(f.threshold);
    let [verifier_gas, bounty_gas, create_gas] = m.gas;
    println!("deploy {VERIFIER} ({INPUTS} inputs): {verifier_gas} gas");
    println!("deploy Bounty (with an on-chain verifier): {bounty_gas} gas");
    println!("createBounty (on chain): {create_gas} gas");

    // Alice claims: the contract verifies the on-chain proof over the posted calldata and
    // approves the claim in the same transaction
    let args = claim_args(a);
    let n = a.encrypted.ciphertext.len();
    let (out, gas, logs) = m.submit_raw(ALICE, args.clone()).ok_logs();
    assert_eq!(out, word(0));
    println!(
        "submitClaim on chain ({INPUTS} public inputs: verifies the proof, posts a ciphertext \
         of {n} elements, approves; {} bytes of calldata): {gas} gas",
        4 + args.len()
    );
    assert_eq!(4 + args.len(), 4 + 32 * (SUBMIT_HEAD + 1 + n));
    let topics: Vec<_> = logs.iter().map(|l| l.topics()[0]).collect();
    assert_eq!(
        topics,
        [CLAIM_SUBMITTED, CIPHERTEXT_POSTED, CLAIM_APPROVED].map(|s| keccak256(s.as_bytes()))
    );
    let reveal_by = m.chain.now + WINDOWS.reveal;
    assert_eq!(
        data_words(event(&logs, CLAIM_APPROVED)),
        [&addr_word(ALICE)[..], &word(reveal_by as u128)[..]]
    );
    let submit_logs = logs;

    // Alice reveals κ and is paid exactly the reward
    let before = m.chain.balance(ALICE);
    let (_, gas, logs) = m.withdraw(ALICE, &a.kappa).ok_logs();
    println!("withdraw on chain (reveals κ, checks its SHA-256, pays): {gas} gas");
    assert_eq!(m.chain.balance(ALICE) - before, U256::from(REWARD));
    assert_eq!(data_words(event(&logs, REWARD_WITHDRAWN))[0], word(REWARD));
    let kappa = revealed_kappa(&logs, 0);
    assert_eq!(kappa, a.kappa);

    // the host decrypts from the logs alone: exactly the proven model and its blinds
    let (pt, opening) = host_decrypts(&submit_logs, kappa);
    assert_eq!(
        pt,
        weights::plaintext(&f.spec.arch, &f.opening.model, &f.opening.blinds).unwrap()
    );
    assert_eq!(opening.model, f.opening.model);
    assert_eq!(opening.blinds, f.opening.blinds);

    // and it did so without a transaction of its own after createBounty
    assert_eq!(m.host_sent_since_creation(), 0);
    assert_eq!(
        m.chain.senders[m.created..],
        [ALICE, ALICE],
        "submitClaim and withdraw only"
    );

    // settled: no second payment, claim or refund
    assert_eq!(m.withdraw(ALICE, &a.kappa).revert(), "nothing to withdraw");
    assert_eq!(m.submit(BOB, &f.bob).revert(), "bounty settled");
    m.chain
        .set_time(m.deadline + WINDOWS.approval + WINDOWS.reveal + 1);
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}

#[test]
fn a_count_below_the_threshold_can_be_neither_proved_nor_claimed() {
    let f = fixture();
    let a = &f.alice;
    // natively: no claim input, hence no proof, for a threshold above the model's count
    let e = ClaimInput::on_chain(
        &f.spec,
        &a.encrypted,
        &a.key,
        &f.data,
        f.threshold + 1,
        ALICE.into_array(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("below the threshold"), "{e}");
    // on chain: Alice's valid proof for the threshold T fails on a bounty asking for T + 1 (the
    // contract puts the bounty's threshold into the public inputs)
    let mut m = open(f.threshold + 1);
    assert_eq!(m.submit(ALICE, a).revert(), "invalid claim proof");
    // and holds on one asking for T
    let mut m = open(f.threshold);
    m.approved(ALICE, a, 0);
}

#[test]
fn a_changed_posted_ciphertext_or_claim_field_is_rejected() {
    let f = fixture();
    let a = &f.alice;
    let e = &a.encrypted;
    let mut m = open(f.threshold);
    let n = e.ciphertext.len();
    // one posted ciphertext element changed (first, middle, the authentication element last)
    for at in [0, n / 2, n - 1] {
        let mut ct = e.ciphertext.clone();
        ct[at] += Fr::ONE;
        let args = submit_args(0, &a.proof, e.nonce, &ct);
        assert_eq!(
            m.submit_raw(ALICE, args).revert(),
            "invalid claim proof",
            "element {at}"
        );
    }
    // an element replaced by the same value plus r (not a field element: the verifier says no)
    let mut args = claim_args(a);
    let at = 32 * (SUBMIT_HEAD + 1 + 5);
    let r = U256::from_str_radix(
        "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        10,
    )
    .unwrap();
    let plus_r = U256::from_be_slice(&args[at..at + 32]) + r;
    args[at..at + 32].copy_from_slice(&plus_r.to_be_bytes::<32>());
    assert_eq!(m.submit_raw(ALICE, args).revert(), "invalid claim proof");
    // the nonce, the hunter key, the ciphertext hash, the IO digest, the key hash changed
    for (word_at, name) in [
        (14, "nonce"),
        (9, "hunter x"),
        (11, "ciphertext hash"),
        (12, "io digest"),
        (13, "key hash"),
    ] {
        let mut args = claim_args(a);
        args[32 * word_at + 31] ^= 1;
        assert_eq!(
            m.submit_raw(ALICE, args).revert(),
            "invalid claim proof",
            "{name}"
        );
    }
    // a proof bit flipped
    let mut args = claim_args(a);
    args[32 + 31] ^= 1;
    assert_eq!(m.submit_raw(ALICE, args).revert(), "invalid claim proof");
    // a ciphertext of another length (still of the cipher's shape) is not the circuit's
    for len in [n - 3, n + 3] {
        let mut ct = e.ciphertext.clone();
        ct.resize(len, Fr::ONE);
        assert_eq!(
            m.submit_raw(ALICE, submit_args(0, &a.proof, e.nonce, &ct))
                .revert(),
            "ciphertext length is not the on-chain circuit's",
            "{len} elements"
        );
    }
    // none of it recorded a claim: the honest one is claim 0, approved
    m.approved(ALICE, a, 0);
}

#[test]
fn replays_by_another_sender_fail() {
    let f = fixture();
    let (a, b) = (&f.alice, &f.bob);
    let mut m = open(f.threshold);
    // Alice's submitClaim sent by Mallory or Bob: the contract binds msg.sender as the claimant
    for thief in [MALLORY, BOB] {
        assert_eq!(
            m.submit_raw(thief, claim_args(a)).revert(),
            "invalid claim proof",
            "{thief}"
        );
    }
    // Bob's own claim is Bob's only
    assert_eq!(m.submit(ALICE, b).revert(), "invalid claim proof");
    m.approved(ALICE, a, 0);
    // Alice's withdraw replayed by Mallory, or by Bob: only the approved claimant is paid
    for thief in [MALLORY, BOB] {
        assert_eq!(
            m.withdraw(thief, &a.kappa).revert(),
            "not the approved claimant"
        );
    }
    let before = m.chain.balance(ALICE);
    m.withdraw(ALICE, &a.kappa).ok();
    assert_eq!(m.chain.balance(ALICE) - before, U256::from(REWARD));
}

#[test]
fn a_claim_that_never_reveals_gives_way_to_the_next_after_its_reveal_window() {
    let f = fixture();
    let (a, b) = (&f.alice, &f.bob);
    let mut m = open(f.threshold);
    // Alice's claim is approved, and she never reveals
    let (alice_by, _) = m.approved(ALICE, a, 0);
    // Bob's valid claim waits while Alice may still reveal, up to her last second
    for t in [m.chain.now + 1, alice_by] {
        m.chain.set_time(t);
        assert_eq!(m.submit(BOB, b).revert(), "a claim is pending its reveal");
    }
    // the host can neither refund meanwhile nor approve another claim instead
    assert_eq!(m.refund(HOST).revert(), "before the approval window closes");
    assert_eq!(
        m.approve(HOST, 0).revert(),
        "on-chain bounties approve themselves"
    );
    // once Alice's window has lapsed (before the deadline) Bob's claim takes her place
    m.chain.set_time(alice_by + 1);
    assert!(m.chain.now <= m.deadline);
    assert_eq!(m.withdraw(ALICE, &a.kappa).revert(), "reveal window closed");
    let (bob_by, bob_logs) = m.approved(BOB, b, 1);
    // Alice's late reveal finds the reward locked for Bob
    assert_eq!(
        m.withdraw(ALICE, &a.kappa).revert(),
        "not the approved claimant"
    );
    assert_eq!(m.submit(ALICE, a).revert(), "a claim is pending its reveal");
    // Bob reveals and is paid; the host decrypts Bob's weights with Bob's κ
    m.chain.set_time(bob_by);
    let before = m.chain.balance(BOB);
    let (_, _, logs) = m.withdraw(BOB, &b.kappa).ok_logs();
    assert_eq!(m.chain.balance(BOB) - before, U256::from(REWARD));
    let kappa = revealed_kappa(&logs, 1);
    assert_eq!(kappa, b.kappa);
    assert_ne!(kappa, a.kappa);
    let (_, opening) = host_decrypts(&bob_logs, kappa);
    assert_eq!(opening.model, f.opening.model);
    assert_eq!(opening.blinds, f.opening.blinds);
    assert_eq!(
        m.host_sent_since_creation(),
        2,
        "the refused refund and approval only"
    );
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}

#[test]
fn approve_is_refused_and_refunds_wait_for_the_windows() {
    let f = fixture();
    let a = &f.alice;

    // no claim: no approval, no refund until deadline + approvalWindow
    let mut m = open(f.threshold);
    assert_eq!(
        m.approve(HOST, 0).revert(),
        "on-chain bounties approve themselves"
    );
    for t in [m.chain.now + 1, m.deadline, m.deadline + WINDOWS.approval] {
        m.chain.set_time(t);
        assert_eq!(
            m.refund(HOST).revert(),
            "before the approval window closes",
            "at {t}"
        );
    }
    // claims end at the deadline
    assert_eq!(m.submit(ALICE, a).revert(), "deadline passed");
    m.chain.set_time(m.deadline + WINDOWS.approval + 1);
    assert_eq!(m.refund(MALLORY).revert(), "not the host");
    let before = m.chain.balance(HOST);
    let (_, gas) = m.refund(HOST).ok();
    println!("refund on chain (no claim): {gas} gas");
    assert_eq!(m.chain.balance(HOST) - before, U256::from(REWARD));
    assert_eq!(m.refund(HOST).revert(), "bounty settled");

    // a claim in the deadline's last second: approved, its reveal window runs past the
    // approval window, and the host waits for it
    let mut m = open(f.threshold);
    m.chain.set_time(m.deadline);
    let (reveal_by, _) = m.approved(ALICE, a, 0);
    assert_eq!(
        m.approve(HOST, 0).revert(),
        "on-chain bounties approve themselves"
    );
    assert!(reveal_by > m.deadline + WINDOWS.approval);
    for t in [m.deadline + WINDOWS.approval + 1, reveal_by] {
        m.chain.set_time(t);
        assert_eq!(
            m.refund(HOST).revert(),
            "the approved claim may still reveal",
            "at {t}"
        );
    }
    // after the deadline nobody takes over a lapsed claim; the host refunds
    m.chain.set_time(reveal_by + 1);
    assert_eq!(m.submit(BOB, &f.bob).revert(), "deadline passed");
    let (_, gas) = m.refund(HOST).ok();
    println!("refund on chain (approved claim not revealed): {gas} gas");
    assert_eq!(m.withdraw(ALICE, &a.kappa).revert(), "nothing to withdraw");

    // a claim approved early and revealed: the refund is refused for good
    let mut m = open(f.threshold);
    m.approved(ALICE, a, 0);
    m.withdraw(ALICE, &a.kappa).ok();
    m.chain.set_time(m.deadline + WINDOWS.approval + 1);
    assert_eq!(m.refund(HOST).revert(), "bounty settled");
}
