//! Proving and verifying on BN254/Grumpkin with IPA (the default configuration): real fixtures,
//! the four privacy settings, and tampering. Release mode. (The 64-layer MLP: `bench_cli.rs`.)

use crate::common;

use common::{quantized_fixture, scratch_dir};
use kerafold::fold::{self, System, Visibility};
use kerafold::inference::{self, Opening, ProofFile, ProveOptions, VerifyOptions};
use kerafold::model::{QStep, QuantizedModel};
use kerafold::Error;
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::spec::{Act, DenseSpec, FixedPoint, Op};
use std::path::{Path, PathBuf};

fn options(params: &Path) -> ProveOptions {
    ProveOptions {
        system: System::Bn254Ipa,
        params_dir: params.to_path_buf(),
        ..ProveOptions::default()
    }
}

fn verify_opts(
    params: &Path,
    model: Option<&QuantizedModel>,
    input: Option<Vec<i64>>,
) -> VerifyOptions {
    VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: None,
        model: model.cloned(),
        arch: None,
        input,
    }
}

fn assert_invalid(r: kerafold::Result<inference::Verified>, what: &str) {
    match r {
        Err(Error::Invalid(_)) => {}
        Err(e) => panic!("{what}: expected an invalid proof, got error {e}"),
        Ok(_) => panic!("{what}: a tampered proof verified"),
    }
}

/// A synthetic MLP: `depth` Dense 16→16 ReLU layers (near-identity weights) and the ArgMax.
fn deep_mlp(depth: usize) -> QuantizedModel {
    let fp = FixedPoint {
        fa: 8,
        fw: 8,
        bits: 16,
        guard: 1,
    };
    let n = 16;
    let mut steps: Vec<QStep> = (0..depth)
        .map(|l| QStep {
            name: format!("dense_{l}"),
            views: vec![],
            op: Op::Dense(DenseSpec { n_in: n, n_out: n }),
            act: Act::Relu,
            save_input: false,
            save_depth: 0,
            weights: Weights {
                w: (0..n * n)
                    .map(|k| {
                        let (i, o) = (k / n, k % n);
                        let id = if i == o { 256 } else { 0 };
                        id + ((i * 7 + o * 13 + l) % 5) as i64 - 2
                    })
                    .collect(),
                b: (0..n).map(|o| (o as i64 % 3) * 64).collect(),
            },
            output_shape: vec![n],
        })
        .collect();
    steps.push(QStep {
        name: "argmax".into(),
        views: vec![],
        op: Op::ArgMax { n },
        act: Act::Linear,
        save_input: false,
        save_depth: 0,
        weights: Weights::default(),
        output_shape: vec![n],
    });
    let fp = FixedPoint {
        guard: kerafold::model::quant::required_guard(&steps, &fp),
        ..fp
    };
    QuantizedModel {
        name: format!("mlp{depth}"),
        fp,
        input_shape: vec![n],
        output_shape: vec![n],
        softmax: false,
        log_softmax: false,
        sigmoid: false,
        steps,
    }
}

fn write(proof: &ProofFile, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    proof.write(&p).unwrap();
    p
}

/// The checks of the mlp fixture's proof with everything public (input `x`, `fx.inputs[2]`): the
/// claimed output, verification with and without the files, and every tampering refused.
fn public_mlp_proof_rejects_every_tampering(
    (q, fx, x): (&QuantizedModel, &common::Fixture, &[i64]),
    proof: &ProofFile,
    stats: &kerafold::fold::pipeline::ProveStats,
    params: &Path,
) {
    let (params, x) = (params.to_path_buf(), x.to_vec());
    let reference = q.trace(&x, Some(2)).unwrap();
    assert_eq!(proof.claim.steps, q.steps.len());
    assert_eq!(stats.steps.len(), q.steps.len(), "one fold per step");
    // the claimed output is the integer reference
    assert_eq!(proof.claim.class, reference.class);
    assert_eq!(proof.claim.class, fx.keras_class(2));
    assert_eq!(
        proof.claim.output,
        Opening::Public {
            values: reference.logits.clone()
        }
    );
    assert_eq!(proof.claim.input, Opening::Public { values: x.clone() });
    // it verifies, with and without the model and input files
    let v = inference::verify(proof, &verify_opts(&params, Some(q), Some(x.clone()))).unwrap();
    assert!(v.model_checked && v.input_checked);
    inference::verify(proof, &verify_opts(&params, None, None)).unwrap();
    // the proof file round-trips
    let dir = scratch_dir("bn254-mlp-files");
    let path = write(proof, &dir, "mlp.proof");
    assert_eq!(&ProofFile::read(&path).unwrap(), proof);

    // flipped proof bytes (several positions)
    let bytes = hex::decode(&proof.snark).unwrap();
    for pos in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        let mut t = proof.clone();
        t.snark = hex::encode(b);
        assert_invalid(
            inference::verify(&t, &verify_opts(&params, None, None)),
            "flipped byte",
        );
    }
    // changed class
    let mut t = proof.clone();
    t.claim.class = (t.claim.class + 1) % 10;
    assert_invalid(
        inference::verify(&t, &verify_opts(&params, None, None)),
        "class",
    );
    // changed logits, keeping the class the ArgMax
    let mut t = proof.clone();
    if let Opening::Public { values } = &mut t.claim.output {
        let c = reference.class;
        let other = (c + 1) % values.len();
        values[other] -= 1;
    }
    assert_invalid(
        inference::verify(&t, &verify_opts(&params, None, None)),
        "logits",
    );
    // wrong model file: one weight changed (same architecture, different commitment)
    let mut wrong = q.clone();
    wrong.steps[1].weights.w[5] += 1;
    wrong.fp.guard = kerafold::model::quant::required_guard(&wrong.steps, &wrong.fp);
    assert_eq!(wrong.fp, q.fp, "the change keeps the architecture");
    assert_invalid(
        inference::verify(proof, &verify_opts(&params, Some(&wrong), None)),
        "wrong model",
    );
    // wrong input for a public input
    let x1 = q.quantize_input(&fx.inputs[1], Some(1)).unwrap();
    assert_invalid(
        inference::verify(proof, &verify_opts(&params, Some(q), Some(x1.clone()))),
        "wrong input",
    );
    // a different public input in the claim
    let mut t = proof.clone();
    t.claim.input = Opening::Public { values: x1 };
    assert_invalid(
        inference::verify(&t, &verify_opts(&params, None, None)),
        "claimed input",
    );
    // a different model commitment in the claim
    let mut t = proof.clone();
    t.claim.model.commitment = fold::public_model_commitment(&wrong, System::Bn254Ipa).unwrap();
    assert_invalid(
        inference::verify(&t, &verify_opts(&params, None, None)),
        "claimed model",
    );
    // fewer steps
    let mut t = proof.clone();
    t.claim.steps -= 1;
    assert_invalid(
        inference::verify(&t, &verify_opts(&params, None, None)),
        "steps",
    );

    // the CLI says why and exits with 1
    let mut t = proof.clone();
    t.claim.class = (t.claim.class + 1) % 10;
    let bad = write(&t, &dir, "bad.proof");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args([
            "verify",
            bad.to_str().unwrap(),
            "--params-dir",
            params.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: verification failed"));

    // zero knowledge is randomized: the same statement proves to different bytes
    let (again, _) = inference::prove(q, &x, &options(&params), &mut |_| {}).unwrap();
    assert_eq!(again.claim, proof.claim);
    assert_ne!(again.snark, proof.snark);
}

/// The mlp fixture proven once in each privacy setting (every setting of input and model, and a
/// private output with everything private); the all-public proof also meets every tampering and
/// the private-model one is searched for weights.
#[test]
fn all_privacy_settings_prove_and_verify() {
    let params = scratch_dir("bn254-privacy");
    let (q, fx) = quantized_fixture("mlp");
    let x = q.quantize_input(&fx.inputs[2], Some(2)).unwrap();
    let public = fold::public_model_commitment(&q, System::Bn254Ipa).unwrap();
    let vis = [Visibility::Public, Visibility::Private];
    for input in vis {
        for model in vis {
            for output in vis {
                if output == Visibility::Private
                    && (input, model) != (Visibility::Private, Visibility::Private)
                {
                    continue; // private output: tested with everything private
                }
                let opts = ProveOptions {
                    input,
                    model,
                    output,
                    ..options(&params)
                };
                let (proof, stats) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
                match (input, model, output) {
                    (Visibility::Public, Visibility::Public, Visibility::Public) => {
                        public_mlp_proof_rejects_every_tampering(
                            (&q, &fx, &x),
                            &proof,
                            &stats,
                            &params,
                        )
                    }
                    (Visibility::Public, Visibility::Private, Visibility::Public) => {
                        assert_no_weights(&proof, &q, &params)
                    }
                    _ => {}
                }
                let c = &proof.claim;
                assert_eq!(
                    matches!(c.input, Opening::Private { .. }),
                    input == Visibility::Private
                );
                assert_eq!(
                    matches!(c.output, Opening::Private { .. }),
                    output == Visibility::Private
                );
                assert_eq!(c.model.visibility, model);
                assert_eq!(c.model.commitment == public, model == Visibility::Public);
                // verifies; with the model file the architecture is rebuilt, and a public
                // model's commitment recomputed; a private model's proof refuses a model file
                // (its weights cannot be checked) and takes the architecture instead
                let with_model = |input: Option<Vec<i64>>| match model {
                    Visibility::Public => verify_opts(&params, Some(&q), input),
                    Visibility::Private => VerifyOptions {
                        arch: Some(fold::Architecture::compile(&q).unwrap()),
                        ..verify_opts(&params, None, input)
                    },
                };
                let v = inference::verify(&proof, &with_model(None)).unwrap();
                assert_eq!(v.model_checked, model == Visibility::Public);
                if model == Visibility::Private {
                    assert!(matches!(
                        inference::verify(&proof, &verify_opts(&params, Some(&q), None)),
                        Err(Error::Usage(_))
                    ));
                }
                // the visibility is bound: the other visibility's circuit does not verify it
                let mut t = proof.clone();
                t.claim.model.visibility = match model {
                    Visibility::Public => Visibility::Private,
                    Visibility::Private => Visibility::Public,
                };
                assert_invalid(
                    inference::verify(&t, &verify_opts(&params, None, None)),
                    "model visibility",
                );
                // a public input can be checked against the file, a private one cannot
                let with_input = inference::verify(&proof, &with_model(Some(x.clone())));
                match input {
                    Visibility::Public => assert!(with_input.unwrap().input_checked),
                    Visibility::Private => assert!(matches!(with_input, Err(Error::Usage(_)))),
                }
                // tampering with a commitment is caught
                let mut t = proof.clone();
                if let Opening::Private { commitment } = &mut t.claim.input {
                    *commitment = public.clone();
                    assert_invalid(
                        inference::verify(&t, &verify_opts(&params, None, None)),
                        "input commitment",
                    );
                }
                if model == Visibility::Private {
                    let mut t = proof.clone();
                    t.claim.model.commitment = public.clone();
                    assert_invalid(
                        inference::verify(&t, &verify_opts(&params, None, None)),
                        "model commitment",
                    );
                }
                // class is proven even when the logits are private
                assert_eq!(c.class, fx.keras_class(2));
            }
        }
    }
}

/// A private model's proof (file, SNARK bytes and claim) holds none of the model's packed
/// weights.
fn assert_no_weights(proof: &ProofFile, q: &QuantizedModel, params: &Path) {
    let dir = scratch_dir("bn254-private-files");
    let text = std::fs::read_to_string(write(proof, &dir, "private.proof")).unwrap();
    let snark = hex::decode(&proof.snark).unwrap();
    let arch = fold::Architecture::compile(q).unwrap();
    type F = <nova_snark::provider::Bn256EngineIPA as nova_snark::traits::Engine>::Scalar;
    let mut checked = 0;
    for (step, layer) in arch.layers().into_iter().enumerate() {
        for p in arch.packed_weights::<F>(step, layer, q) {
            for e in p.w.iter().chain(&p.b) {
                let enc = fold::fe_hex(e);
                // a short encoding (a lone small bias lane: 30 zero bytes and a value) also
                // occurs in the proof's own framing — zero elements next to length prefixes —
                // and says nothing about leaks; packed weights span many bytes, and a leak
                // would show in them
                let significant = hex::decode(&enc)
                    .unwrap()
                    .iter()
                    .rev()
                    .skip_while(|&&b| b == 0)
                    .count();
                if significant < 16 {
                    continue;
                }
                assert!(
                    !text.contains(&enc),
                    "a packed weight element is in the proof file"
                );
                let le = hex::decode(&enc).unwrap();
                assert!(
                    !snark.windows(le.len()).any(|w| w == le.as_slice()),
                    "a packed weight element is in the SNARK bytes"
                );
                let mut be = le.clone();
                be.reverse();
                assert!(!snark.windows(be.len()).any(|w| w == be.as_slice()));
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "checked {checked} weight encodings");
    // nor does the claim carry any weight values
    let claim = serde_json::to_string(&proof.claim).unwrap();
    assert!(!claim.contains("weights"));
    inference::verify(proof, &verify_opts(params, None, None)).unwrap();
}

#[test]
fn residual_fixture_proves_and_verifies() {
    let params = scratch_dir("bn254-residual");
    let (q, fx) = quantized_fixture("residual");
    assert!(q.steps.iter().any(|s| s.save_input));
    assert!(q.steps.iter().any(|s| s.op.reads_saved()));
    let x = q.quantize_input(&fx.inputs[5], Some(5)).unwrap();
    let reference = q.trace(&x, Some(5)).unwrap();
    let (proof, _) = inference::prove(&q, &x, &options(&params), &mut |_| {}).unwrap();
    assert_eq!(proof.claim.class, reference.class);
    assert_eq!(
        proof.claim.output,
        Opening::Public {
            values: reference.logits
        }
    );
    inference::verify(&proof, &verify_opts(&params, Some(&q), Some(x))).unwrap();
}

/// `prove_step` checks nothing: the prover verifies the folded instances before compressing, and
/// a bad witness is reported by its step and layer and the constraint it breaks, and never
/// compressed (here the input of step 0 or 2 is changed after the fact, so it no longer opens
/// the state's commitment).
#[test]
fn a_bad_step_witness_is_named_and_not_compressed() {
    use kerafold::fold::backend::Bn254Ipa;
    use kerafold::fold::pipeline::{self, Folding, Progress};
    use kerafold::fold::{ParamsStore, Srs};
    use kerafold::inference::circuit::LayerStep;
    use std::sync::Arc;
    let params = scratch_dir("bn254-bad-witness");
    let q = deep_mlp(4);
    let x: Vec<i64> = (0..16).map(|i| i as i64 * 3 - 20).collect();
    let arch = Arc::new(fold::Architecture::compile(&q).unwrap());
    let trace = q.trace(&x, None).unwrap();
    let z0 = inference::public_initial_state(&arch, &trace);
    for bad in [0, 2] {
        let witness = |i: usize| {
            let mut w = inference::public_step_witness(&arch, &q, &trace, i);
            if i == bad {
                w.x[0] += 1;
            }
            w
        };
        let circuit = |i: usize| LayerStep {
            arch: arch.clone(),
            private_weights: false,
            witness: Some(Arc::new(witness(i))),
        };
        let what = |i: usize| format!("step {i} ('{}')", arch.steps[i].name);
        let folding = Folding {
            digest: arch.digest(),
            shape: LayerStep::shape(arch.clone()),
            n: arch.steps.len(),
            circuit: &circuit,
            what: &what,
        };
        let mut compressed = false;
        let r = pipeline::prove::<Bn254Ipa, _>(
            &ParamsStore::new(params.to_path_buf()),
            &Srs::Transparent,
            &folding,
            &z0,
            &mut |p| compressed |= matches!(p, Progress::Compress),
        );
        let name = &arch.steps[bad].name;
        match r {
            Err(Error::Prover(m)) => {
                assert!(m.starts_with(&format!("step {bad} ('{name}'): ")), "{m}");
                assert!(m.contains("is not satisfied"), "{m}");
            }
            Err(e) => panic!("expected a prover error, got {e}"),
            Ok(_) => panic!("a bad witness was proven"),
        }
        assert!(!compressed, "a bad witness reached the compression");
    }
}
