//! Proving on BN254 with HyperKZG: from a powers-of-tau directory, and with the explicitly
//! insecure random tau; and every layer kind's fixture (`layers`). Release mode.

mod common;
#[path = "prove_kzg/layers.rs"]
mod layers;

use common::{quantized_fixture, scratch_dir};
use kerafold::fold::{Srs, System};
use kerafold::inference::{self, ProveOptions, VerifyOptions};
use kerafold::Error;
use nova_snark::provider::hyperkzg::{CommitmentEngine, CommitmentKey};
use nova_snark::provider::Bn256EngineKZG;
use nova_snark::traits::commitment::CommitmentEngineTrait;
use std::path::Path;

/// Writes a test powers-of-tau file (random tau: insecure, tests only) with `2^power` points.
fn test_ptau(dir: &Path, power: u32) {
    let ck = CommitmentKey::<Bn256EngineKZG>::setup_from_rng(b"test", 1 << power, rand_core::OsRng);
    let path = dir.join(format!("ppot_pruned_{power:02}.ptau"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    CommitmentEngine::<Bn256EngineKZG>::save_setup(&ck, &mut f).unwrap();
}

#[test]
fn mlp_proves_with_hyperkzg_from_ptau_and_with_random_tau() {
    let (q, fx) = quantized_fixture("mlp");
    let x = q.quantize_input(&fx.inputs[4], Some(4)).unwrap();

    // powers of tau from a directory
    let ptau = scratch_dir("kzg-ptau");
    test_ptau(&ptau, 15);
    let params = scratch_dir("kzg-params");
    let opts = ProveOptions {
        system: System::Bn254Kzg,
        srs: Srs::Ptau(ptau.to_path_buf()),
        params_dir: params.to_path_buf(),
        ..ProveOptions::default()
    };
    let (proof, _) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    assert_eq!(proof.system, "bn254-kzg");
    assert_eq!(proof.claim.class, fx.keras_class(4));
    // a verifier with a fresh parameter directory rebuilds its key from the same ptau
    let fresh = scratch_dir("kzg-verifier");
    let vopts = VerifyOptions {
        params_dir: fresh.to_path_buf(),
        srs: Some(Srs::Ptau(ptau.to_path_buf())),
        model: Some(q.clone()),
        arch: None,
        input: Some(x.clone()),
    };
    inference::verify(&proof, &vopts).unwrap();

    // too small a ptau is a clear error, not a panic
    let small = scratch_dir("kzg-small");
    test_ptau(&small, 6);
    let small_params = scratch_dir("kzg-small-params");
    let opts_small = ProveOptions {
        srs: Srs::Ptau(small.to_path_buf()),
        params_dir: small_params.to_path_buf(),
        ..opts.clone()
    };
    match inference::prove(&q, &x, &opts_small, &mut |_| {}) {
        Err(e @ Error::Nova { .. }) => assert!(e.to_string().contains("powers of tau"), "{e}"),
        other => panic!("expected a ptau error, got {:?}", other.map(|p| p.0.system)),
    }

    // insecure random tau: the prover keeps its powers of tau as a .ptau file; a verifier that
    // names that file verifies, one that names other powers of tau (or none) does not, even in
    // the prover's own parameter directory where the random-tau keys are cached
    let params = scratch_dir("kzg-random");
    let opts = ProveOptions {
        system: System::Bn254Kzg,
        srs: Srs::InsecureRandomTau,
        params_dir: params.to_path_buf(),
        ..ProveOptions::default()
    };
    let (proof, _) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    let random_tau = params.join(kerafold::fold::params::RANDOM_TAU_DIR);
    let elsewhere = scratch_dir("kzg-random-elsewhere");
    let vopts = VerifyOptions {
        params_dir: elsewhere.to_path_buf(),
        srs: Some(Srs::Ptau(random_tau)),
        model: Some(q.clone()),
        arch: None,
        input: None,
    };
    inference::verify(&proof, &vopts).unwrap();
    let unnamed = VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: None,
        ..vopts.clone()
    };
    match inference::verify(&proof, &unnamed) {
        Err(Error::Usage(m)) => assert!(m.contains("powers of tau"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    let other_tau = VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: Some(Srs::Ptau(ptau.to_path_buf())),
        ..vopts
    };
    assert!(matches!(
        inference::verify(&proof, &other_tau),
        Err(Error::Invalid(_))
    ));
}

/// Reading powers of tau makes a dependency (halo2curves 0.9) print to stdout; `--json` output
/// must still be exactly one JSON object, for `prove` and for `verify`.
#[test]
fn json_output_stays_one_object_when_powers_of_tau_are_read() {
    use common::{fixture_file, model_path, Format};
    let dir = scratch_dir("kzg-cli");
    let (model, input) = (model_path("mlp", Format::Keras), fixture_file("mlp.json"));
    let proof = dir.join("mlp.proof");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kerafold"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON object ({e})"));
        v
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let params = s(&dir.join("params"));
    let proved = run(&[
        "prove",
        &s(&model),
        "--input",
        &s(&input),
        "-o",
        &s(&proof),
        "--insecure-random-tau",
        "--params-dir",
        &params,
        "--json",
    ]);
    assert_eq!(proved["system"], "bn254-kzg");
    let ptau = s(&dir.join("params").join("insecure-random-tau"));
    let verified = run(&[
        "verify",
        &s(&proof),
        "--model",
        &s(&model),
        "--ptau",
        &ptau,
        "--params-dir",
        &params,
        "--json",
    ]);
    assert_eq!(verified["valid"], true);
}
