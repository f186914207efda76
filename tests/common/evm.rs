//! A revm chain for the contract tests: funded accounts, transactions, the generated verifier
//! and the bounty contract's calls.
#![allow(dead_code)]

use kerafold::claim::circuit::ClaimProof;
use kerafold::claim::snarkjs::{proof_words, vk_words};
use kerafold::crypto::babyjubjub::Point;
use kerafold::crypto::bn254::to_be32;
use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{keccak256, Address, Bytes, TxKind, U256};
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
}

#[derive(Debug)]
pub enum Outcome {
    Ok { output: Vec<u8>, gas: u64 },
    Revert(String),
}

impl Outcome {
    pub fn ok(self) -> (Vec<u8>, u64) {
        match self {
            Outcome::Ok { output, gas } => (output, gas),
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

    pub fn tx(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: u128) -> Outcome {
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

/// Deploys the verifier (with `vk`) and a bounty contract over it.
pub fn deploy(
    chain: &mut Chain,
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
) -> (Address, Address) {
    let (vk, ic) = vk_words(vk);
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

/// Deploys a bounty contract alone over `verifier` (enough for `createBounty`, which never calls
/// the verifier).
pub fn deploy_bounty(chain: &mut Chain, verifier: Address) -> Address {
    let mut code = bytecode("Bounty");
    code.extend(addr_word(verifier));
    chain.deploy(code).0
}

/// `createBounty` arguments: the dataset's binary CID, threshold, host key, deadline.
pub fn create_args(cid: &[u8], threshold: u64, host: &Point, deadline: u64) -> Vec<u8> {
    let cid = cid.to_vec();
    let mut a = words(&[
        word(5 * 32),
        word(threshold as u128),
        to_be32(&host.x),
        to_be32(&host.y),
        word(deadline as u128),
        word(cid.len() as u128),
    ]);
    let mut c = cid.clone();
    c.resize(64, 0);
    a.extend(c);
    a
}

pub const CREATE: &str = "createBounty(bytes,uint64,uint256,uint256,uint64)";
pub const SUBMIT: &str =
    "submitClaim(uint256,uint256[2],uint256[2][2],uint256[2],uint256,uint256,uint256,uint256)";

/// `submitClaim` arguments for claim proof `p` on bounty `id`.
pub fn submit_args(id: u128, p: &ClaimProof) -> Vec<u8> {
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
