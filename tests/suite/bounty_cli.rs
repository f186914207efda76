//! A bounty end to end, through the binary and a real EVM (revm): the host publishes a dataset
//! and sets up the claim circuit, deploys the verifier and the bounty contract and creates the
//! bounty; the hunter proves its private model's accuracy on the dataset (Nova), encrypts the
//! weights to the host and proves the claim (Groth16); the contract accepts the claim from the
//! hunter's address only; the host verifies the Nova proof and the claim's link to it and cannot
//! decrypt yet; it approves; the hunter withdraws the reward by revealing its key, and the host
//! decrypts exactly the hunter's quantized model with the key from the contract's event. The
//! ECDH shared key appears in no public file.

use crate::common;
use crate::evm;
use crate::scenario;

use evm::*;
use kerafold::claim::circuit::{ClaimProof, ClaimPublic};
use kerafold::claim::snarkjs::{self, ProofJson, VkJson};
use kerafold::claim::weights::{CiphertextFile, ModelOpening};
use kerafold::crypto::babyjubjub::KeyFile;
use kerafold::crypto::bn254;
use kerafold::data::Dataset;
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

/// Runs a command that must fail with exit code `code` and a message containing every one of
/// `words`; returns the message.
fn refused(args: &[&str], code: i32, words: &[&str]) -> String {
    let o = kerafold(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(code), "kerafold {args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "kerafold {args:?}: '{w}' not in: {err}");
    }
    println!("refused as expected: {}", err.trim());
    err
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
    }
}

#[test]
fn bounty_end_to_end_through_the_cli_and_the_evm() {
    let dir = common::scratch_dir("bounty-e2e");
    let p = |f: &str| -> String { dir.join(f).to_str().unwrap().to_string() };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let model = fixtures.join("digits.keras").to_str().unwrap().to_string();
    let data_path: PathBuf = fixtures.join("digits_16.kfd");
    let data = data_path.to_str().unwrap().to_string();
    let params = p("params");

    // --- the host: a key, the published dataset and architecture, the claim circuit
    ok(&["keygen", "-o", &p("host.json")]);
    let host_pub_file = p("host.pub.json");
    let cid = ok(&["cid", &data]).trim().to_string();
    let fp = scenario::digits().fp;
    // the bounty fixes the quantization (one guard bit of margin for the hunter's weights)
    let quant = scenario::bounty_quant_args();
    let quant: Vec<&str> = quant.iter().map(String::as_str).collect();
    let host_dir = p("host");
    let mut args = vec!["claim-setup", &model, "--data", &data, "-o", &host_dir];
    args.extend(&quant);
    let setup: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    println!("claim circuit: {} constraints", setup["constraints"]);
    let host_vk = dir.join("host/verification_key.json");
    assert_eq!(
        std::fs::read_to_string(dir.join("host/ClaimVerifier.sol")).unwrap(),
        std::fs::read_to_string(contracts().join("Groth16Verifier.sol")).unwrap(),
        "an approval-mode setup's verifier is the committed 12-input one"
    );
    let arch = p("host/architecture.json");

    let mut chain = Chain::new();
    let vk: VkJson = read(&host_vk);
    let (_, bounty) = deploy(&mut chain, &vk.to_ark().unwrap());
    let host_pub = KeyFile::read(Path::new(&host_pub_file))
        .unwrap()
        .public_key()
        .unwrap();
    let cid_bytes = cid.parse::<kerafold::data::Cid>().unwrap().to_bytes();
    let reward = 2 * ETHER;
    let deadline = chain.now + 10_000;
    let threshold = scenario::THRESHOLD;
    let threshold_s = threshold.to_string();
    chain
        .call(
            HOST,
            bounty,
            CREATE,
            &create_args(
                &cid_bytes,
                threshold,
                &host_pub,
                deadline,
                Windows {
                    approval: 1000,
                    reveal: 3600,
                },
            ),
            reward,
        )
        .ok();

    // --- the hunter: a private model's accuracy on exactly that file, quantized as the bounty's
    //     architecture says, the weights encrypted to the host, the claim bound to its address
    ok(&["keygen", "-o", &p("hunter.json")]);
    let (acc, opening) = (p("acc.proof"), p("opening.json"));
    let proved: serde_json::Value = serde_json::from_str(&ok(&[
        "prove-accuracy",
        &model,
        "--data",
        &data,
        "--model",
        "private",
        "--arch",
        &arch,
        "-o",
        &acc,
        "--opening",
        &opening,
        "--params-dir",
        &params,
        "--json",
    ]))
    .unwrap();
    let correct = proved["correct"].as_u64().unwrap();
    assert!(correct >= threshold, "the model gets {correct}");
    assert_eq!(proved["cid"], cid.as_str());
    ok(&[
        "encrypt-weights",
        &opening,
        "--host-key",
        &host_pub_file,
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct.json"),
    ]);
    let alice = format!("0x{}", hex::encode(ALICE.as_slice()));
    let bounty_args = |setup: &str, address: &str| -> Vec<String> {
        [
            "--setup",
            setup,
            "--cid",
            &cid,
            "--threshold",
            &threshold_s,
            "--address",
            address,
            "--params-dir",
            &params,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(tail.iter().cloned())
            .collect()
    };
    let run = |v: &[String]| ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let run_refused = |v: &[String], code: i32, words: &[&str]| {
        refused(
            &v.iter().map(String::as_str).collect::<Vec<_>>(),
            code,
            words,
        )
    };
    let claim_cmd = |ct: &str, setup: &str, out: &str, address: &str| {
        with(
            &[
                "claim",
                ct,
                "--key",
                &p("hunter.json"),
                "--accuracy",
                &acc,
                "--host-key",
                &host_pub_file,
                "--trust-host-key",
                "-o",
                out,
            ],
            &bounty_args(setup, address),
        )
    };
    run(&claim_cmd(&p("ct.json"), &host_dir, &p("claim"), &alice));
    hunter_refuses_unverifiable_keys(
        &claim_cmd(&p("ct.json"), &host_dir, &p("claim-refused"), &alice),
        Path::new(&host_dir),
        &dir,
    );
    let claim = exported_claim(Path::new(&p("claim")), &host_vk);

    // --- the contract: the same calldata from another sender fails; the hunter's succeeds and
    //     posts the ciphertext
    let posted = CiphertextFile::read(Path::new(&p("ct.json")))
        .unwrap()
        .parse()
        .unwrap();
    let submit = submit_args(0, &claim, posted.nonce, &posted.ciphertext);
    assert!(!chain
        .call(MALLORY, bounty, SUBMIT, &submit, 0)
        .revert()
        .is_empty());
    let (_, gas) = chain.call(ALICE, bounty, SUBMIT, &submit, 0).ok();
    println!("submitClaim: {gas} gas");

    // --- the host: the Nova proof holds for the published CID and the threshold (with the
    //     bounty's architecture), the claim verifies for the bounty's terms, the decrypted model
    //     is the hunter's; then approval
    ok(&[
        "verify",
        &acc,
        "--arch",
        &arch,
        "--cid",
        &cid,
        "--min-correct",
        &threshold_s,
        "--params-dir",
        &params,
    ]);
    let verify_claim = |claim: &str, ct: &str, address: &str| {
        with(
            &[
                "verify-claim",
                claim,
                "--host-key",
                &host_pub_file,
                "--ciphertext",
                ct,
                "--accuracy",
                &acc,
                "--json",
            ],
            &bounty_args(&host_dir, address),
        )
    };
    let v: serde_json::Value =
        serde_json::from_str(&run(&verify_claim(&p("claim"), &p("ct.json"), &alice))).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["cid"], cid.as_str());
    assert_eq!(v["correct"].as_u64(), Some(correct));
    // this setup takes transparent accuracy proofs: a verifier naming powers of tau is told so
    let mut over_ptau = verify_claim(&p("claim"), &p("ct.json"), &alice);
    over_ptau.extend(["--accuracy-ptau".to_string(), params.clone()]);
    run_refused(
        &over_ptau,
        2,
        &["transparent accuracy proofs", "drop --accuracy-ptau"],
    );
    let decrypt = |claim: &str, out: &str, address: &str, key: &str| {
        with(
            &[
                "decrypt-weights",
                &p("ct.json"),
                "--key",
                &p("host.json"),
                "--reveal-key",
                key,
                "--claim",
                claim,
                "--accuracy",
                &acc,
                "-o",
                out,
            ],
            &bounty_args(&host_dir, address),
        )
    };
    // before the reveal the host has no key that opens the weights: a guess is refused
    let key_hash = format!("0x{}", hex::encode(posted.key_hash));
    run_refused(
        &decrypt(&p("claim"), &p("early.json"), &alice, "1"),
        1,
        &["reveal key"],
    );
    assert!(!Path::new(&p("early.json")).exists());
    chain
        .call(
            HOST,
            bounty,
            "approve(uint256,uint256)",
            &words(&[word(0), word(0)]),
            0,
        )
        .ok();

    // --- the hunter reveals its key in withdraw, and is paid
    let reveal: serde_json::Value = serde_json::from_str(&ok(&[
        "reveal-key",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
    ]))
    .unwrap();
    assert_eq!(reveal["key_hash"], key_hash.as_str());
    let kappa = bn254::from_dec::<bn254::Fr>(reveal["key"].as_str().unwrap(), "key").unwrap();
    let before = chain.balance(ALICE);
    let (_, _, logs) = chain
        .call(
            ALICE,
            bounty,
            WITHDRAW,
            &words(&[word(0), bn254::to_be32(&kappa)]),
            0,
        )
        .ok_logs();
    assert_eq!(chain.balance(ALICE) - before, U256::from(reward));
    // --- the host takes the key from the KeyRevealed event and decrypts
    let revealed = fr_from_word(data_words(event(&logs, KEY_REVEALED))[0]);
    assert_eq!(revealed, kappa);
    let revealed = bn254::to_dec(&revealed);
    run(&decrypt(
        &p("claim"),
        &p("decrypted.json"),
        &alice,
        &revealed,
    ));
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

    // ===== attacks and mistakes (security issue: foreign setups, wrong host keys, other
    //       fixed-point parameters, missing keys): each refused with what to do

    // an unmet threshold is refused before proving
    let mut unmet = claim_cmd(&p("ct.json"), &host_dir, &p("claim2"), &alice);
    let at = unmet.iter().position(|a| a == "--threshold").unwrap();
    unmet[at + 1] = (correct + 1).to_string();
    run_refused(&unmet, 1, &["threshold"]);

    // the claim verifies for its claimant only, and for the bounty's threshold only
    let bob = format!("0x{}", hex::encode(BOB.as_slice()));
    run_refused(
        &verify_claim(&p("claim"), &p("ct.json"), &bob),
        1,
        &["does not verify"],
    );
    run_refused(
        &decrypt(&p("claim"), &p("stolen.json"), &bob, &revealed),
        1,
        &[],
    );
    assert!(!Path::new(&p("stolen.json")).exists());

    // `claim` never makes keys of its own: without the host's claim.pk it refuses and names it
    let no_pk = p("host-without-pk");
    std::fs::create_dir_all(&no_pk).unwrap();
    for f in [
        "setup.json",
        "architecture.json",
        "verification_key.json",
        "verifier_args.json",
    ] {
        std::fs::copy(dir.join("host").join(f), Path::new(&no_pk).join(f)).unwrap();
    }
    run_refused(
        &claim_cmd(&p("ct.json"), &no_pk, &p("claim3"), &alice),
        2,
        &["claim.pk", "claim-setup"],
    );

    // an impostor's claim from a Groth16 setup of its own (same circuit, other keys) verifies
    // under that setup only: the host's verify-claim and decrypt-weights use the host's key and
    // refuse it, whatever verification_key.json comes with the claim
    let other = p("other-setup");
    let mut args = vec!["claim-setup", &model, "--data", &data, "-o", &other];
    args.extend(&quant);
    ok(&args);
    run(&claim_cmd(&p("ct.json"), &other, &p("claim-other"), &alice));
    run_refused(
        &verify_claim(&p("claim-other"), &p("ct.json"), &alice),
        1,
        &["does not verify under the bounty's key"],
    );
    run_refused(
        &decrypt(&p("claim-other"), &p("impostor.json"), &alice, &revealed),
        1,
        &["does not verify"],
    );

    // weights encrypted to another key than the bounty host's (here the hunter's own): the claim
    // refuses, and so would verify-claim
    ok(&[
        "encrypt-weights",
        &opening,
        "--host-key",
        &p("hunter.pub.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct-self.json"),
    ]);
    run_refused(
        &claim_cmd(&p("ct-self.json"), &host_dir, &p("claim4"), &alice),
        2,
        &["host"],
    );
    run_refused(
        &verify_claim(&p("claim"), &p("ct-self.json"), &alice),
        1,
        &["host"],
    );

    // weights quantized with other fixed-point parameters than the bounty's (fw − 1): refused,
    // pointing at the bounty's architecture.json
    let fw_other = (fp.fw - 1).to_string();
    ok(&[
        "encrypt-weights",
        &model,
        "--fa",
        &fp.fa.to_string(),
        "--fw",
        &fw_other,
        "--bits",
        &fp.bits.to_string(),
        "--host-key",
        &host_pub_file,
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct-fw.json"),
    ]);
    run_refused(
        &claim_cmd(&p("ct-fw.json"), &host_dir, &p("claim5"), &alice),
        2,
        &["architecture.json"],
    );
    run_refused(
        &verify_claim(&p("claim"), &p("ct-fw.json"), &alice),
        1,
        &["architecture"],
    );
    // and an accuracy proof checked against the bounty's architecture must be of it
    let mut args = vec!["prove-accuracy", &model, "--data", &data, "--arch", &arch];
    args.extend(["-o", "/dev/null", "--fw", &fw_other]);
    refused(&args, 2, &["cannot be used with"]);
}

/// Key files: the secret is private to its owner, never silently replaced, and the public key is
/// written beside it (the README's `host.pub.json`).
#[test]
fn keygen_protects_the_secret_key_and_writes_the_public_one() {
    let dir = common::scratch_dir("keygen");
    let key = dir.join("host.json");
    let k = key.to_str().unwrap();
    let printed: serde_json::Value = serde_json::from_str(&ok(&["keygen", "-o", k])).unwrap();
    let public = KeyFile::read(&dir.join("host.pub.json")).unwrap();
    assert!(public.private_key.is_none());
    assert_eq!(printed["public_key"], serde_json::json!(public.public_key));
    let secret = KeyFile::read(&key).unwrap();
    assert_eq!(
        secret.secret_key(&key).unwrap().public(),
        public.public_key().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "secret key mode {mode:o}");
    }
    let before = std::fs::read(&key).unwrap();
    refused(&["keygen", "-o", k], 2, &["exists", "--force"]);
    assert_eq!(std::fs::read(&key).unwrap(), before, "the key was replaced");
    ok(&["keygen", "-o", k, "--force"]);
    assert_ne!(std::fs::read(&key).unwrap(), before);
}

/// A dataset whose labels are not the model's classes (packed without --classes, label 12 in a
/// 10-class problem) is refused by the claim setup and by the accuracy prover.
#[test]
fn a_dataset_with_other_classes_than_the_model_is_refused() {
    let dir = common::scratch_dir("classes");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let ds = Dataset::read(&fixtures.join("digits_16.kfd")).unwrap();
    let mut labels: Vec<u8> = (0..ds.len()).map(|i| ds.sample(i).1).collect();
    labels[3] = 12;
    let features: Vec<u8> = (0..ds.len())
        .flat_map(|i| ds.sample(i).0.to_vec())
        .collect();
    let h = ds.header();
    let shape = [
        usize::from(h.shape[0]),
        usize::from(h.shape[1]),
        usize::from(h.shape[2]),
    ];
    let bad = Dataset::pack(&features, &labels, &shape, 13, h.scale_shift).unwrap();
    let path = dir.join("bad.kfd");
    std::fs::write(&path, bad.to_bytes()).unwrap();
    let model = fixtures.join("digits.keras");
    let (m, d) = (model.to_str().unwrap(), path.to_str().unwrap());
    let out = dir.join("setup");
    refused(
        &["claim-setup", m, "--data", d, "-o", out.to_str().unwrap()],
        2,
        &["13 classes", "10 outputs", "with 10 classes"],
    );
    refused(
        &[
            "prove-accuracy",
            m,
            "--data",
            d,
            "-o",
            dir.join("acc.proof").to_str().unwrap(),
        ],
        2,
        &["13 classes", "10 outputs"],
    );
}

/// An on-chain-accuracy bounty through the binary (issue 14, item 3): the host's setup proves
/// accuracy inside the claim, the hunter claims with the dataset instead of a Nova proof, anyone
/// verifies the claim from the terms and the posted ciphertext alone (as the contract does), and
/// the host decrypts with the revealed key. snarkjs verifies the exported claim.
#[test]
fn an_on_chain_accuracy_bounty_through_the_cli() {
    let dir = common::scratch_dir("onchain");
    let p = |f: &str| -> String { dir.join(f).to_str().unwrap().to_string() };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let model = fixtures.join("digits.keras").to_str().unwrap().to_string();
    // two records of the digits test set: the claim circuit runs each one
    let small = scenario::first_records(2);
    let data = p("small.kfd");
    small.write(Path::new(&data)).unwrap();
    let quant = scenario::bounty_quant_args();

    ok(&["keygen", "-o", &p("host.json")]);
    ok(&["keygen", "-o", &p("hunter.json")]);
    let cid = ok(&["cid", &data]).trim().to_string();
    let host_dir = p("host");
    let mut args = vec![
        "claim-setup",
        &model,
        "--data",
        &data,
        "--on-chain",
        "-o",
        &host_dir,
    ];
    args.extend(quant.iter().map(String::as_str));
    let setup: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_eq!(setup["mode"], "on-chain");
    println!(
        "on-chain claim circuit: {} constraints",
        setup["constraints"]
    );

    // the hunter: a public model quantized as the bounty says, encrypted to the host
    let arch = p("host/architecture.json");
    ok(&[
        "encrypt-weights",
        &model,
        "--arch",
        &arch,
        "--host-key",
        &p("host.pub.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct.json"),
    ]);
    let alice = format!("0x{}", hex::encode(ALICE.as_slice()));
    let terms = |setup: &str| -> Vec<String> {
        [
            "--setup",
            setup,
            "--cid",
            &cid,
            "--threshold",
            "1",
            "--address",
            &alice,
            "--params-dir",
            &p("params"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |head: &[&str], setup: &str| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(terms(setup))
            .collect()
    };
    let call = |v: Vec<String>| ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let base = |out: &str| {
        vec![
            "claim".to_string(),
            p("ct.json"),
            "--key".into(),
            p("hunter.json"),
            "--host-key".into(),
            p("host.pub.json"),
            "--trust-host-key".into(),
            "-o".into(),
            p(out),
        ]
    };
    // an accuracy proof is not what an on-chain setup takes: refused, naming --data
    let mut wrong = base("claim-wrong");
    wrong.extend(["--accuracy".to_string(), p("missing.proof")]);
    wrong.extend(terms(&host_dir));
    refused(
        &wrong.iter().map(String::as_str).collect::<Vec<_>>(),
        2,
        &["--data"],
    );
    let mut claim = base("claim");
    claim.extend(["--data".to_string(), data.clone()]);
    claim.extend(terms(&host_dir));
    call(claim);

    // anyone verifies it from the terms and the posted ciphertext, as the contract does
    let v: serde_json::Value = serde_json::from_str(&call(run(
        &[
            "verify-claim",
            &p("claim"),
            "--host-key",
            &p("host.pub.json"),
            "--ciphertext",
            &p("ct.json"),
            "--json",
        ],
        &host_dir,
    )))
    .unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["mode"], "on-chain");
    assert!(v["correct"].is_null());
    let public: Vec<String> = read(&dir.join("claim/public.json"));
    let ct = CiphertextFile::read(Path::new(&p("ct.json"))).unwrap();
    assert_eq!(public.len(), 12 + 1 + ct.ciphertext.len());
    assert_eq!(public[13..], ct.ciphertext[..], "the ciphertext is public");

    // the host decrypts with the revealed key, and gets exactly the quantized model
    let reveal: serde_json::Value = serde_json::from_str(&ok(&[
        "reveal-key",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
    ]))
    .unwrap();
    call(run(
        &[
            "decrypt-weights",
            &p("ct.json"),
            "--key",
            &p("host.json"),
            "--reveal-key",
            reveal["key"].as_str().unwrap(),
            "--claim",
            &p("claim"),
            "-o",
            &p("model.json"),
        ],
        &host_dir,
    ));
    let got = ModelOpening::read(Path::new(&p("model.json"))).unwrap();
    let want = kerafold::claim::weights::decrypt(
        &ct,
        &KeyFile::read(Path::new(&p("host.json")))
            .unwrap()
            .secret_key(Path::new(&p("host.json")))
            .unwrap(),
        &bn254::from_dec(reveal["key"].as_str().unwrap(), "key").unwrap(),
    )
    .unwrap();
    assert_eq!(got.model, want.model);

    // snarkjs verifies the exported on-chain claim (and its calldata is snarkjs')
    let npm = Command::new("npm").arg("--version").output();
    if npm.map(|o| o.status.success()).unwrap_or(false) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/snarkjs-verify.sh");
        let o = Command::new("bash")
            .arg(script)
            .arg(dir.join("claim"))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.contains("OK"),
            "snarkjs: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        println!(
            "snarkjs groth16 verify (on-chain claim, {} inputs): OK",
            public.len()
        );
    } else {
        println!("npm is not installed: the snarkjs cross-check was skipped");
    }
}

/// The hunter's CLI proves only with a key it can verify (issue 14, item 4). `claim` is a
/// working claim command with `--trust-host-key`, for the host-drawn setup `host_dir`.
fn hunter_refuses_unverifiable_keys(claim: &[String], host_dir: &Path, dir: &Path) {
    let args = |v: &[String]| -> Vec<String> { v.to_vec() };
    let refused_v = |v: &[String], code: i32, words: &[&str]| {
        refused(
            &v.iter().map(String::as_str).collect::<Vec<_>>(),
            code,
            words,
        )
    };
    // a key the host drew alone, without the hunter's explicit trust
    let untrusting: Vec<String> = claim
        .iter()
        .filter(|a| *a != "--trust-host-key")
        .cloned()
        .collect();
    refused_v(
        &untrusting,
        2,
        &["claim.pk", "drew alone", "--trust-host-key"],
    );
    // ... and there is no ceremony to verify in it
    refused_v(
        &[
            "verify-ceremony".to_string(),
            "--setup".into(),
            host_dir.to_str().unwrap().into(),
            "--ptau".into(),
            seed_path("ptau", "seed-pot3.ptau"),
            "--ptau-unpublished".into(),
        ],
        2,
        &["no ceremony", "claim.pk"],
    );

    // a setup that says its key is a ceremony's, with a ceremony key of another circuit
    let fake = dir.join("fake-ceremony-setup");
    std::fs::create_dir_all(&fake).unwrap();
    for f in [
        "architecture.json",
        "verification_key.json",
        "verifier_args.json",
    ] {
        std::fs::copy(host_dir.join(f), fake.join(f)).unwrap();
    }
    let mut setup: serde_json::Value = read(&host_dir.join("setup.json"));
    setup["key"] = "ceremony".into();
    std::fs::write(fake.join("setup.json"), setup.to_string()).unwrap();
    std::fs::copy(
        seed_path("zkey", "seed-beacon.zkey"),
        fake.join("claim.zkey"),
    )
    .unwrap();
    let on_fake: Vec<String> = untrusting
        .iter()
        .map(|a| {
            if a == host_dir.to_str().unwrap() {
                fake.to_str().unwrap().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    // no powers of tau to verify it over
    refused_v(&args(&on_fake), 2, &["ceremony key", "--ptau"]);
    // a powers of tau that is not a published one, unless explicitly accepted
    let mut with_ptau = on_fake.clone();
    with_ptau.extend(["--ptau".to_string(), seed_path("ptau", "seed-pot3.ptau")]);
    refused_v(
        &with_ptau,
        2,
        &["seed-pot3.ptau", "not a published powers of tau"],
    );
    // accepted, the key is still not this circuit's
    with_ptau.push("--ptau-unpublished".into());
    refused_v(&with_ptau, 2, &["claim.zkey", "not for this circuit"]);
}

/// A committed fuzz seed (a real snarkjs file).
fn seed_path(target: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}
