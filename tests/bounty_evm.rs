//! The generated Groth16 verifier and the bounty contract in a real EVM (revm): the committed
//! sources are the generator's and the compiled bytecode is in sync with them; real claim proofs
//! verify on chain; the bounty's flow works and every attack on it fails. Prints the gas.

#[path = "common/bounty.rs"]
mod scenario;

use kerafold::bounty::bn254::to_be32;
use kerafold::bounty::claim::{ClaimProof, NUM_PUBLIC};
use kerafold::bounty::snarkjs::{calldata, proof_words, vk_words};
use kerafold::bounty::solidity::verifier_source;
use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{keccak256, Address, Bytes, TxKind, U256};
use revm::state::AccountInfo;
use revm::{Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext};
use scenario::{cid_bytes, Scenario, THRESHOLD};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

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

fn bytecode(name: &str) -> Vec<u8> {
    let hex_s =
        std::fs::read_to_string(contracts().join("build").join(format!("{name}.bin"))).unwrap();
    hex::decode(hex_s.trim()).unwrap()
}

type Db = CacheDB<EmptyDB>;

struct Chain {
    evm: revm::handler::MainnetEvm<revm::handler::MainnetContext<Db>>,
    now: u64,
}

#[derive(Debug)]
enum Outcome {
    Ok { output: Vec<u8>, gas: u64 },
    Revert(String),
}

impl Outcome {
    fn ok(self) -> (Vec<u8>, u64) {
        match self {
            Outcome::Ok { output, gas } => (output, gas),
            Outcome::Revert(r) => panic!("reverted: {r}"),
        }
    }
    fn revert(self) -> String {
        match self {
            Outcome::Revert(r) => r,
            Outcome::Ok { .. } => panic!("expected a revert"),
        }
    }
}

const HOST: Address = Address::new([0x11; 20]);
const ALICE: Address = Address::new([0xa1; 20]);
const BOB: Address = Address::new([0xb0; 20]);
const MALLORY: Address = Address::new([0x66; 20]);
const ETHER: u128 = 1_000_000_000_000_000_000;

impl Chain {
    fn new() -> Self {
        let mut db = Db::default();
        for a in [HOST, ALICE, BOB, MALLORY] {
            db.insert_account_info(
                a,
                AccountInfo {
                    balance: U256::from(100 * ETHER),
                    ..Default::default()
                },
            );
        }
        let evm = Context::mainnet()
            .modify_cfg_chained(|c| c.disable_nonce_check = true)
            .modify_block_chained(|b| {
                b.timestamp = U256::from(1_000_000u64);
                b.basefee = 0;
            })
            .with_db(db)
            .build_mainnet();
        Self {
            evm,
            now: 1_000_000,
        }
    }

    fn set_time(&mut self, t: u64) {
        self.now = t;
        self.evm.ctx.modify_block(|b| b.timestamp = U256::from(t));
    }

    fn balance(&self, a: Address) -> U256 {
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(a)
            .unwrap()
            .map(|i| i.balance)
            .unwrap_or_default()
    }

    fn tx(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: u128) -> Outcome {
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(Bytes::from(data))
            .value(U256::from(value))
            .gas_limit(10_000_000)
            .gas_price(0)
            .build()
            .unwrap();
        match self.evm.transact_commit(tx).unwrap() {
            ExecutionResult::Success { output, gas, .. } => {
                let output = match output {
                    Output::Call(b) => b.to_vec(),
                    Output::Create(_, a) => a.unwrap().to_vec(),
                };
                Outcome::Ok {
                    output,
                    gas: gas.tx_gas_used(),
                }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(revert_reason(&output)),
            ExecutionResult::Halt { reason, .. } => Outcome::Revert(format!("halt: {reason:?}")),
        }
    }

    fn deploy(&mut self, code: Vec<u8>) -> (Address, u64) {
        let (out, gas) = self.tx(HOST, TxKind::Create, code, 0).ok();
        (Address::from_slice(&out), gas)
    }

    fn call(&mut self, from: Address, to: Address, sig: &str, args: &[u8], value: u128) -> Outcome {
        let mut data = keccak256(sig.as_bytes())[..4].to_vec();
        data.extend_from_slice(args);
        self.tx(from, TxKind::Call(to), data, value)
    }
}

fn revert_reason(out: &[u8]) -> String {
    if out.len() >= 68 && out[..4] == [0x08, 0xc3, 0x79, 0xa0] {
        let len = U256::from_be_slice(&out[36..68]).to::<usize>();
        return String::from_utf8_lossy(&out[68..68 + len]).into_owned();
    }
    format!("0x{}", hex::encode(out))
}

fn word(v: u128) -> [u8; 32] {
    U256::from(v).to_be_bytes()
}

fn addr_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn words(ws: &[[u8; 32]]) -> Vec<u8> {
    ws.concat()
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

fn deploy(chain: &mut Chain, p: &ClaimProof) -> (Address, Address) {
    let (vk, ic) = vk_words(&p.vk);
    let mut code = bytecode("Groth16Verifier");
    code.extend(words(&vk));
    code.extend(words(&ic));
    let (verifier, gas) = chain.deploy(code);
    println!("deploy Groth16Verifier: {gas} gas");
    let mut code = bytecode("Bounty");
    code.extend(addr_word(verifier));
    let (bounty, gas) = chain.deploy(code);
    println!("deploy Bounty: {gas} gas");
    (verifier, bounty)
}

fn create_args(p: &ClaimProof, deadline: u64) -> Vec<u8> {
    let cid = cid_bytes();
    let mut a = words(&[
        word(5 * 32),
        word(THRESHOLD as u128),
        to_be32(&p.public.host.x),
        to_be32(&p.public.host.y),
        word(deadline as u128),
        word(cid.len() as u128),
    ]);
    let mut c = cid.clone();
    c.resize(64, 0);
    a.extend(c);
    a
}

const CREATE: &str = "createBounty(bytes,uint64,uint256,uint256,uint64)";
const SUBMIT: &str =
    "submitClaim(uint256,uint256[2],uint256[2][2],uint256[2],uint256,uint256,uint256,uint256)";

fn submit_args(id: u128, p: &ClaimProof) -> Vec<u8> {
    let mut a = word(id).to_vec();
    a.extend(words(&proof_words(&p.proof)));
    a.extend(words(&[
        to_be32(&p.public.hunter.x),
        to_be32(&p.public.hunter.y),
        to_be32(&p.public.ciphertext_hash),
        to_be32(&p.public.io_digest),
    ]));
    a
}

#[test]
fn verifier_accepts_real_proofs_within_budget() {
    let s = setup();
    let mut chain = Chain::new();
    let (verifier, _) = deploy(&mut chain, &s.proofs[0]);
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
    let (_, bounty) = deploy(&mut chain, pa);
    let reward = 3 * ETHER;
    let deadline = chain.now + 1000;

    // creating: no reward, a key off the curve, a malformed CID are refused
    assert_eq!(
        chain
            .call(HOST, bounty, CREATE, &create_args(pa, deadline), 0)
            .revert(),
        "no reward"
    );
    let mut off = create_args(pa, deadline);
    off[3 * 32 - 1] ^= 1;
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &off, reward).revert(),
        "host key is not a Baby Jubjub point"
    );
    let mut bad_cid = create_args(pa, deadline);
    bad_cid[6 * 32 + 1] = 0x71;
    assert_eq!(
        chain.call(HOST, bounty, CREATE, &bad_cid, reward).revert(),
        "not a CIDv1 with a sha2-256 digest"
    );
    let (out, gas) = chain
        .call(HOST, bounty, CREATE, &create_args(pa, deadline), reward)
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
    let (_, bounty) = deploy(&mut chain, pa);
    let reward = 2 * ETHER;
    let deadline = chain.now + 500;
    chain
        .call(HOST, bounty, CREATE, &create_args(pa, deadline), reward)
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
