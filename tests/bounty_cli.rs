//! A bounty end to end, through the binary and a real EVM (revm): the host publishes a dataset
//! and sets up the claim circuit, deploys the verifier and the bounty contract and creates the
//! bounty; the hunter proves its private model's accuracy on the dataset (Nova), encrypts the
//! weights to the host and proves the claim (Groth16); the contract accepts the claim from the
//! hunter's address only; the host verifies the Nova proof and the claim's link to it, approves,
//! and decrypts exactly the hunter's quantized model; the hunter withdraws the reward. The ECDH
//! shared key appears in no public file.

#[path = "common/evm.rs"]
mod evm;
#[path = "common/bounty.rs"]
mod scenario;

use evm::*;
use kerafold::bounty::babyjubjub::KeyFile;
use kerafold::bounty::claim::{ClaimProof, ClaimPublic};
use kerafold::bounty::snarkjs::{self, ProofJson, VkJson};
use kerafold::bounty::weights::ModelOpening;
use kerafold::bounty::{bn254, Dataset};
use revm::primitives::U256;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kerafold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .expect("run kerafold")
}

fn ok(args: &[&str]) -> String {
    let o = kerafold(args);
    assert!(
        o.status.success(),
        "kerafold {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn read<T: serde::de::DeserializeOwned>(p: &Path) -> T {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The claim proof in `dir` (as `kerafold claim` exported it), checked against the host's key.
fn exported_claim(dir: &Path, host_vk: &Path) -> ClaimProof {
    let proof: ProofJson = read(&dir.join("proof.json"));
    let public: Vec<String> = read(&dir.join("public.json"));
    let vk: VkJson = read(host_vk);
    let x = snarkjs::parse_public(&public).unwrap();
    ClaimProof {
        proof: proof.to_ark().unwrap(),
        vk: vk.to_ark().unwrap(),
        public: ClaimPublic::from_inputs(&x).unwrap(),
        constraints: 0,
        keys_cached: true,
    }
}

#[test]
fn bounty_end_to_end_through_the_cli_and_the_evm() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kerafold-bounty-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| -> String { dir.join(f).to_str().unwrap().to_string() };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let model = fixtures.join("digits.keras").to_str().unwrap().to_string();
    let data_path: PathBuf = fixtures.join("digits_16.kfd");
    let data = data_path.to_str().unwrap().to_string();
    let params = p("params");

    // --- the host: a key, the published dataset and architecture, the claim circuit
    ok(&["keygen", "-o", &p("host.json")]);
    let cid = ok(&["cid", &data]).trim().to_string();
    let q = scenario::digits();
    let fp = q.fp;
    // the bounty fixes the quantization (one guard bit of margin for the hunter's weights)
    let quant = [
        "--fa".to_string(),
        fp.fa.to_string(),
        "--fw".to_string(),
        fp.fw.to_string(),
        "--bits".to_string(),
        fp.bits.to_string(),
        "--guard".to_string(),
        (fp.guard + 1).to_string(),
    ];
    let quant: Vec<&str> = quant.iter().map(String::as_str).collect();
    let mut args = vec!["claim-setup", &model, "--data", &data, "-o"];
    let host_dir = p("host");
    args.extend([host_dir.as_str(), "--params-dir", &params]);
    args.extend(&quant);
    let setup: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    println!("claim circuit: {} constraints", setup["constraints"]);
    let host_vk = dir.join("host/verification_key.json");

    let mut chain = Chain::new();
    let vk: VkJson = read(&host_vk);
    let (_, bounty) = deploy(&mut chain, &vk.to_ark().unwrap());
    let host_pub = KeyFile::read(Path::new(&p("host.json")))
        .unwrap()
        .public_key()
        .unwrap();
    let cid_bytes = cid.parse::<kerafold::bounty::Cid>().unwrap().to_bytes();
    let reward = 2 * ETHER;
    let deadline = chain.now + 10_000;
    let threshold = scenario::THRESHOLD;
    chain
        .call(
            HOST,
            bounty,
            CREATE,
            &create_args(&cid_bytes, threshold, &host_pub, deadline),
            reward,
        )
        .ok();

    // --- the hunter: a private model's accuracy on exactly that file, the weights encrypted to
    //     the host, the claim bound to the hunter's address
    ok(&["keygen", "-o", &p("hunter.json")]);
    let mut args = vec![
        "prove-accuracy",
        &model,
        "--data",
        &data,
        "--model",
        "private",
    ];
    let (acc, opening) = (p("acc.proof"), p("opening.json"));
    args.extend([
        "-o",
        &acc,
        "--opening",
        &opening,
        "--params-dir",
        &params,
        "--json",
    ]);
    args.extend(&quant);
    let proved: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    let correct = proved["correct"].as_u64().unwrap();
    assert!(correct >= threshold, "the model gets {correct}");
    assert_eq!(proved["cid"], cid.as_str());
    ok(&[
        "encrypt-weights",
        &opening,
        "--host-key",
        &p("host.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct.json"),
    ]);
    let alice = format!("0x{}", hex::encode(ALICE.as_slice()));
    ok(&[
        "claim",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
        "--accuracy",
        &acc,
        "--cid",
        &cid,
        "--threshold",
        &threshold.to_string(),
        "--address",
        &alice,
        "-o",
        &p("claim"),
        "--params-dir",
        &params,
    ]);
    let claim = exported_claim(Path::new(&p("claim")), &host_vk);

    // --- the contract: the same calldata from another sender fails; the hunter's succeeds
    let submit = submit_args(0, &claim);
    assert!(!chain
        .call(MALLORY, bounty, SUBMIT, &submit, 0)
        .revert()
        .is_empty());
    let (_, gas) = chain.call(ALICE, bounty, SUBMIT, &submit, 0).ok();
    println!("submitClaim: {gas} gas");

    // --- the host: the Nova proof holds for the published CID and the threshold, the claim is
    //     linked to it, the decrypted model is the hunter's; then approval
    ok(&[
        "verify",
        &acc,
        "--cid",
        &cid,
        "--min-correct",
        &threshold.to_string(),
        "--params-dir",
        &params,
    ]);
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "verify-claim",
        &p("claim/proof.json"),
        "--vk",
        host_vk.to_str().unwrap(),
        "--accuracy",
        &acc,
        "--params-dir",
        &params,
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["nova_io_checked"], true);
    ok(&[
        "decrypt-weights",
        &p("ct.json"),
        "--key",
        &p("host.json"),
        "--hunter-key",
        &p("hunter.json"),
        "--accuracy",
        &acc,
        "-o",
        &p("decrypted.json"),
    ]);
    let decrypted = ModelOpening::read(Path::new(&p("decrypted.json"))).unwrap();
    let hunters = ModelOpening::read(Path::new(&opening)).unwrap();
    assert_eq!(
        decrypted.model, hunters.model,
        "the host gets exactly the quantized model"
    );
    assert_eq!(
        decrypted.commitment().unwrap(),
        hunters.commitment().unwrap()
    );
    // the decrypted model reproduces the proven count on the dataset
    let ds = Dataset::read(&data_path).unwrap();
    let recount = (0..ds.len())
        .filter(|&i| {
            let t = decrypted
                .model
                .trace(&ds.quantized_input(i, decrypted.model.fp.fa), Some(i))
                .unwrap();
            t.class == ds.sample(i).1 as usize
        })
        .count() as u64;
    assert_eq!(recount, correct);
    chain
        .call(
            HOST,
            bounty,
            "approve(uint256,uint256)",
            &words(&[word(0), word(0)]),
            0,
        )
        .ok();

    // --- the hunter withdraws
    let before = chain.balance(ALICE);
    chain
        .call(ALICE, bounty, "withdraw(uint256)", &word(0), 0)
        .ok();
    assert_eq!(chain.balance(ALICE) - before, U256::from(reward));

    // --- the shared key is in no public file
    let hunter = KeyFile::read(Path::new(&p("hunter.json")))
        .unwrap()
        .secret_key(Path::new(&p("hunter.json")))
        .unwrap();
    let shared = hunter.ecdh(&host_pub);
    for x in [shared.x, shared.y] {
        let (dec, hx) = (bn254::to_dec(&x), hex::encode(bn254::to_be32(&x)));
        for f in [
            "ct.json",
            "claim/proof.json",
            "claim/public.json",
            "claim/claim.json",
            "claim/calldata.txt",
            "acc.proof",
        ] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            assert!(
                !text.contains(&dec) && !text.contains(&hx),
                "the shared key is in {f}"
            );
        }
    }

    // --- a claim for another dataset or an unmet threshold is refused before proving
    let o = kerafold(&[
        "claim",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
        "--accuracy",
        &acc,
        "--cid",
        &cid,
        "--threshold",
        &(correct + 1).to_string(),
        "--address",
        &alice,
        "-o",
        &p("claim2"),
        "--params-dir",
        &params,
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
