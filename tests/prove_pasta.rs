//! Proving on Pallas/Vesta (transparent IPA): the MNIST-like CNN fixture. Release mode. (The
//! layer-coverage fixtures prove on BN254 with HyperKZG, `prove_kzg/layers.rs`.)

mod common;

use common::{quantized_fixture, scratch_dir};
use kerafold::fold::System;
use kerafold::inference::{self, Opening, ProveOptions, VerifyOptions};
use kerafold::Error;

#[test]
fn cnn_fixture_proves_and_verifies_on_pasta() {
    let params = scratch_dir("pasta-cnn");
    let (q, fx) = quantized_fixture("cnn");
    let x = q.quantize_input(&fx.inputs[3], Some(3)).unwrap();
    let reference = q.trace(&x, Some(3)).unwrap();
    let opts = ProveOptions {
        system: System::PastaIpa,
        params_dir: params.to_path_buf(),
        ..ProveOptions::default()
    };
    let (proof, stats) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    println!(
        "cnn on pasta: {} steps, {} constraints per step, setup {:?}, folding {:?}, compression {:?}",
        proof.claim.steps,
        stats.step_constraints,
        stats.setup,
        stats.steps.iter().sum::<std::time::Duration>(),
        stats.compress
    );
    assert_eq!(proof.system, "pasta-ipa");
    assert_eq!(proof.claim.class, reference.class);
    assert_eq!(proof.claim.class, fx.keras_class(3));
    assert_eq!(
        proof.claim.output,
        Opening::Public {
            values: reference.logits
        }
    );
    let vopts = VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: None,
        model: Some(q.clone()),
        arch: None,
        input: Some(x),
    };
    let v = inference::verify(&proof, &vopts).unwrap();
    assert!(v.model_checked && v.input_checked);
    let mut t = proof.clone();
    let mut b = hex::decode(&t.snark).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x80;
    t.snark = hex::encode(b);
    assert!(matches!(
        inference::verify(&t, &vopts),
        Err(Error::Invalid(_))
    ));
    // a Pasta proof does not verify as a BN254 one
    let mut t = proof.clone();
    t.system = "bn254-ipa".into();
    assert!(inference::verify(&t, &vopts).is_err());
}
