//! The bounty commands through the binary: keygen → encrypt-weights → decrypt-weights (exactly
//! the quantized model back) → claim → verify-claim (and its failures' exit codes).

#[path = "common/bounty.rs"]
mod scenario;

use kerafold::bounty::claim::{NovaIo, NovaIoJson};
use kerafold::bounty::weights::{CiphertextFile, ModelOpening};
use kerafold::fold::fe_from_hex;
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

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kerafold-bounty-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn keygen_encrypt_decrypt_claim_verify() {
    let dir = scratch();
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (model, calib) = (
        fixtures.join("mlp.keras").to_str().unwrap().to_string(),
        fixtures.join("mlp.json").to_str().unwrap().to_string(),
    );

    let out = ok(&["keygen", "-o", &p("host.json")]);
    assert!(out.contains("public_key"));
    ok(&["keygen", "-o", &p("hunter.json")]);
    let host_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("host.json")).unwrap()).unwrap();
    assert!(host_file["derivation"]
        .as_str()
        .unwrap()
        .contains("blake512"));

    ok(&[
        "encrypt-weights",
        &model,
        "--calibrate",
        &calib,
        "--host-key",
        &p("host.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct.json"),
    ]);
    ok(&[
        "decrypt-weights",
        &p("ct.json"),
        "--key",
        &p("host.json"),
        "--hunter-key",
        &p("hunter.json"),
        "-o",
        &p("opening.json"),
    ]);
    let opening = ModelOpening::read(Path::new(&p("opening.json"))).unwrap();
    assert_eq!(opening.model, scenario::mlp());
    // the hunter cannot decrypt with their own key as if they were the host
    let o = kerafold(&[
        "decrypt-weights",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("x.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));

    // the claim, with a stand-in Nova IO for the ciphertext's model commitment
    let ct = CiphertextFile::read(Path::new(&p("ct.json"))).unwrap();
    let commitment = fe_from_hex(&ct.model_commitment, "commitment").unwrap();
    let io = NovaIo::standin(
        4 * scenario::SAMPLES,
        commitment,
        scenario::CORRECT,
        scenario::SAMPLES,
        &scenario::CID_DIGEST,
    );
    std::fs::write(
        p("io.json"),
        serde_json::to_vec(&NovaIoJson::new(&io)).unwrap(),
    )
    .unwrap();
    let cid = hex::encode(scenario::CID_DIGEST);
    let params = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kerafold-claim-params");
    let addr = "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    let threshold = scenario::THRESHOLD.to_string();
    ok(&[
        "claim",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
        "--nova-io",
        &p("io.json"),
        "--cid",
        &cid,
        "--threshold",
        &threshold,
        "--address",
        addr,
        "-o",
        &p("claim"),
        "--params-dir",
        params.to_str().unwrap(),
    ]);
    for f in [
        "verification_key.json",
        "proof.json",
        "public.json",
        "calldata.txt",
        "claim.json",
        "verifier_args.json",
    ] {
        assert!(dir.join("claim").join(f).exists(), "{f}");
    }
    let out = ok(&[
        "verify-claim",
        &p("claim/proof.json"),
        "--nova-io",
        &p("io.json"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["nova_io_checked"], true);
    assert_eq!(v["claimant"], addr);

    // a claim above the proven count is refused before proving; another Nova IO does not match
    let o = kerafold(&[
        "claim",
        &p("ct.json"),
        "--key",
        &p("hunter.json"),
        "--nova-io",
        &p("io.json"),
        "--cid",
        &cid,
        "--threshold",
        "30",
        "--address",
        addr,
        "-o",
        &p("claim2"),
        "--params-dir",
        params.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let mut other = io.clone();
    other.num_steps += 1;
    std::fs::write(
        p("io2.json"),
        serde_json::to_vec(&NovaIoJson::new(&other)).unwrap(),
    )
    .unwrap();
    let o = kerafold(&[
        "verify-claim",
        &p("claim/proof.json"),
        "--nova-io",
        &p("io2.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    // the host checks the decrypted model against the Nova proof's commitment
    ok(&[
        "decrypt-weights",
        &p("ct.json"),
        "--key",
        &p("host.json"),
        "--nova-io",
        &p("io.json"),
        "-o",
        &p("opening2.json"),
    ]);
    let mut wrong = io.clone();
    wrong.zn[0] = wrong.zn[1];
    std::fs::write(
        p("io3.json"),
        serde_json::to_vec(&NovaIoJson::new(&wrong)).unwrap(),
    )
    .unwrap();
    let o = kerafold(&[
        "decrypt-weights",
        &p("ct.json"),
        "--key",
        &p("host.json"),
        "--nova-io",
        &p("io3.json"),
        "-o",
        &p("opening3.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    // a tampered public input
    let mut public: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(p("claim/public.json")).unwrap()).unwrap();
    public[2] = "1".into();
    std::fs::write(p("claim/public.json"), serde_json::to_vec(&public).unwrap()).unwrap();
    let o = kerafold(&["verify-claim", &p("claim/proof.json")]);
    assert_eq!(o.status.code(), Some(1));
}
