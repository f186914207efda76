//! A revm chain for the contract tests: funded accounts, transactions, the generated verifier
//! and the bounty contract's calls.
#![allow(dead_code)]

use ff::PrimeField;
use kerafold::claim::circuit::ClaimProof;
use kerafold::claim::snarkjs::{proof_words, vk_words};
use kerafold::crypto::babyjubjub::Point;
use kerafold::crypto::bn254::{to_be32, Fr};
use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{keccak256, Address, Bytes, Log, TxKind, U256};
use revm::state::AccountInfo;
use revm::{Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext};
use std::path::{Path, PathBuf};

/// `contracts/`.
pub fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

pub fn bytecode(name: &str) -> Vec<u8> {
    let hex_s =
        std::fs::read_to_string(contracts().join("build").join(format!("{name}.bin"))).unwrap();
    hex::decode(hex_s.trim()).unwrap()
}

pub type Db = CacheDB<EmptyDB>;

pub struct Chain {
    pub evm: revm::handler::MainnetEvm<revm::handler::MainnetContext<Db>>,
    pub now: u64,
    /// The sender of every transaction so far, in order (views included).
    pub senders: Vec<Address>,
}

#[derive(Debug)]
pub enum Outcome {
    Ok {
        output: Vec<u8>,
        gas: u64,
        logs: Vec<Log>,
    },
    Revert(String),
}

impl Outcome {
    /// The output and gas of a successful transaction.
    pub fn ok(self) -> (Vec<u8>, u64) {
        let (output, gas, _) = self.ok_logs();
        (output, gas)
    }
    /// The output, gas and logs of a successful transaction.
    pub fn ok_logs(self) -> (Vec<u8>, u64, Vec<Log>) {
        match self {
            Outcome::Ok { output, gas, logs } => (output, gas, logs),
            Outcome::Revert(r) => panic!("reverted: {r}"),
        }
    }
    pub fn revert(self) -> String {
        match self {
            Outcome::Revert(r) => r,
            Outcome::Ok { .. } => panic!("expected a revert"),
        }
    }
}

pub const HOST: Address = Address::new([0x11; 20]);
pub const ALICE: Address = Address::new([0xa1; 20]);
pub const BOB: Address = Address::new([0xb0; 20]);
pub const MALLORY: Address = Address::new([0x66; 20]);
pub const ETHER: u128 = 1_000_000_000_000_000_000;

impl Chain {
    pub fn new() -> Self {
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
            senders: Vec::new(),
        }
    }

    pub fn set_time(&mut self, t: u64) {
        self.now = t;
        self.evm.ctx.modify_block(|b| b.timestamp = U256::from(t));
    }

    pub fn balance(&self, a: Address) -> U256 {
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(a)
            .unwrap()
            .map(|i| i.balance)
            .unwrap_or_default()
    }

    /// The size of the code deployed at `a` (its runtime bytecode).
    pub fn code_size(&self, a: Address) -> usize {
        let db = &self.evm.ctx.journaled_state.database;
        let info = db.basic_ref(a).unwrap().unwrap_or_default();
        match info.code {
            Some(code) => code.len(),
            None => db.code_by_hash_ref(info.code_hash).unwrap().len(),
        }
    }

    pub fn tx(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: u128) -> Outcome {
        self.senders.push(from);
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
            ExecutionResult::Success {
                output, gas, logs, ..
            } => {
                let output = match output {
                    Output::Call(b) => b.to_vec(),
                    Output::Create(_, a) => a.unwrap().to_vec(),
                };
                Outcome::Ok {
                    output,
                    gas: gas.tx_gas_used(),
                    logs,
                }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(revert_reason(&output)),
            ExecutionResult::Halt { reason, .. } => Outcome::Revert(format!("halt: {reason:?}")),
        }
    }

    pub fn deploy(&mut self, code: Vec<u8>) -> (Address, u64) {
        let (out, gas) = self.tx(HOST, TxKind::Create, code, 0).ok();
        (Address::from_slice(&out), gas)
    }

    pub fn call(
        &mut self,
        from: Address,
        to: Address,
        sig: &str,
        args: &[u8],
        value: u128,
    ) -> Outcome {
        let mut data = keccak256(sig.as_bytes())[..4].to_vec();
        data.extend_from_slice(args);
        self.tx(from, TxKind::Call(to), data, value)
    }
}

pub fn revert_reason(out: &[u8]) -> String {
    if out.len() >= 68 && out[..4] == [0x08, 0xc3, 0x79, 0xa0] {
        let len = U256::from_be_slice(&out[36..68]).to::<usize>();
        return String::from_utf8_lossy(&out[68..68 + len]).into_owned();
    }
    format!("0x{}", hex::encode(out))
}

pub fn word(v: u128) -> [u8; 32] {
    U256::from(v).to_be_bytes()
}

pub fn addr_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

pub fn words(ws: &[[u8; 32]]) -> Vec<u8> {
    ws.concat()
}

/// Deploys a generated verifier (`build/<name>.bin`, e.g. `Groth16Verifier` for 12 inputs) with
/// `vk`; returns its address and the deployment's gas.
pub fn deploy_verifier(
    chain: &mut Chain,
    name: &str,
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
) -> (Address, u64) {
    let (vk, ic) = vk_words(vk);
    let mut code = bytecode(name);
    code.extend(words(&vk));
    code.extend(words(&ic));
    chain.deploy(code)
}

/// Deploys the verifier (with `vk`) and a bounty contract over it (no on-chain bounties).
pub fn deploy(
    chain: &mut Chain,
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
) -> (Address, Address) {
    let (verifier, gas) = deploy_verifier(chain, "Groth16Verifier", vk);
    println!("deploy Groth16Verifier: {gas} gas");
    let (bounty, gas) = chain.deploy(bounty_code(verifier, Address::ZERO, 0));
    println!("deploy Bounty: {gas} gas");
    (verifier, bounty)
}

/// The bounty contract's creation code with its constructor arguments: the approval-mode
/// verifier, the on-chain verifier (`Address::ZERO`: none) and its ciphertext length.
pub fn bounty_code(verifier: Address, on_chain_verifier: Address, ct_len: usize) -> Vec<u8> {
    let mut code = bytecode("Bounty");
    code.extend(addr_word(verifier));
    code.extend(addr_word(on_chain_verifier));
    code.extend(word(ct_len as u128));
    code
}

/// Deploys a bounty contract alone over `verifier` (enough for `createBounty`, which never calls
/// the verifier).
pub fn deploy_bounty(chain: &mut Chain, verifier: Address) -> Address {
    chain.deploy(bounty_code(verifier, Address::ZERO, 0)).0
}

/// The words of a dynamic ABI value (`bytes`, or `uint256[]` as 32-byte words): its length,
/// then its content zero-padded to whole words.
pub fn dynamic(len: usize, content: &[u8]) -> Vec<u8> {
    let mut a = word(len as u128).to_vec();
    a.extend(content);
    a.resize(32 * (1 + content.len().div_ceil(32)), 0);
    a
}

/// The bounty's windows: after the deadline, how long the host may approve a claim; after an
/// approval, how long the approved claimant has to reveal the key.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    pub approval: u64,
    pub reveal: u64,
}

/// `createBounty` arguments for an approval-mode bounty: the dataset's binary CID, threshold,
/// host key, deadline, windows.
pub fn create_args(
    cid: &[u8],
    threshold: u64,
    host: &Point,
    deadline: u64,
    windows: Windows,
) -> Vec<u8> {
    create_args_in_mode(cid, threshold, host, deadline, windows, false)
}

/// `createBounty` arguments, for an on-chain bounty if `on_chain`.
pub fn create_args_in_mode(
    cid: &[u8],
    threshold: u64,
    host: &Point,
    deadline: u64,
    windows: Windows,
    on_chain: bool,
) -> Vec<u8> {
    let mut a = words(&[
        word(8 * 32), // where `cid` starts, after the 8 head words
        word(threshold as u128),
        to_be32(&host.x),
        to_be32(&host.y),
        word(deadline as u128),
        word(windows.approval as u128),
        word(windows.reveal as u128),
        word(on_chain as u128),
    ]);
    a.extend(dynamic(cid.len(), cid));
    a
}

pub const CREATE: &str = "createBounty(bytes,uint64,uint256,uint256,uint64,uint64,uint64,bool)";
pub const SUBMIT: &str = "submitClaim(uint256,uint256[2],uint256[2][2],uint256[2],uint256,uint256,\
                          uint256,uint256,bytes32,uint256,uint256[])";
pub const APPROVE: &str = "approve(uint256,uint256)";
pub const WITHDRAW: &str = "withdraw(uint256,uint256)";
pub const REFUND: &str = "refund(uint256)";

/// Words of `submitClaim`'s arguments before the ciphertext: id, proof (8), hunter key (2),
/// ciphertext hash, IO digest, key hash, nonce, the ciphertext's offset.
pub const SUBMIT_HEAD: usize = 16;

/// `submitClaim` arguments for claim proof `p` on bounty `id`, posting the ciphertext `ct` with
/// its `nonce`.
pub fn submit_args(id: u128, p: &ClaimProof, nonce: u128, ct: &[Fr]) -> Vec<u8> {
    let mut a = word(id).to_vec();
    a.extend(words(&proof_words(&p.proof)));
    a.extend(words(&[
        to_be32(&p.public.hunter.x),
        to_be32(&p.public.hunter.y),
        to_be32(&p.public.ciphertext_hash),
        to_be32(&p.public.io_digest),
        p.public.key_hash,
        word(nonce),
        word(32 * SUBMIT_HEAD as u128),
    ]));
    assert_eq!(a.len(), 32 * SUBMIT_HEAD);
    let ct: Vec<[u8; 32]> = ct.iter().map(to_be32).collect();
    a.extend(dynamic(ct.len(), &words(&ct)));
    a
}

/// A field element from a 32-byte big-endian word (panics if it is not below r).
pub fn fr_from_word(w: &[u8]) -> Fr {
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(w);
    repr.as_mut().reverse();
    Option::from(Fr::from_repr(repr)).expect("a word below r")
}

/// The 32-byte words of a log's data.
pub fn data_words(log: &Log) -> Vec<&[u8]> {
    log.data.data.chunks(32).collect()
}

/// The one log of event `sig` (its topic 0 is the signature's hash) among `logs`.
pub fn event<'a>(logs: &'a [Log], sig: &str) -> &'a Log {
    let topic = keccak256(sig.as_bytes());
    let found: Vec<&Log> = logs.iter().filter(|l| l.topics()[0] == topic).collect();
    assert_eq!(found.len(), 1, "{sig}: {} logs", found.len());
    found[0]
}

pub const CLAIM_SUBMITTED: &str =
    "ClaimSubmitted(uint256,uint256,address,uint256,uint256,uint256,uint256,bytes32)";
pub const CIPHERTEXT_POSTED: &str = "CiphertextPosted(uint256,uint256,uint256,uint256[])";
pub const CLAIM_APPROVED: &str = "ClaimApproved(uint256,uint256,address,uint64)";
pub const KEY_REVEALED: &str = "KeyRevealed(uint256,uint256,uint256)";
pub const REWARD_WITHDRAWN: &str = "RewardWithdrawn(uint256,address,uint256)";
pub const BOUNTY_REFUNDED: &str = "BountyRefunded(uint256,address,uint256)";

/// `CiphertextPosted`'s nonce and ciphertext.
pub fn posted_ciphertext(log: &Log) -> (u128, Vec<Fr>) {
    let w = data_words(log);
    let nonce = U256::from_be_slice(w[0]).to::<u128>();
    assert_eq!(
        U256::from_be_slice(w[1]),
        U256::from(64),
        "the array's offset"
    );
    let len = U256::from_be_slice(w[2]).to::<usize>();
    assert_eq!(w.len(), 3 + len);
    (nonce, w[3..].iter().map(|x| fr_from_word(x)).collect())
}
