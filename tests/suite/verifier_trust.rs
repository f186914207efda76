//! Attacks on what a verifier reads from disk (security issue, path 1): a prover who can write
//! into the verifier's parameter directory replaces the cached public parameters and verifier key
//! with those of a circuit that outputs whatever final state the verifier expects. A verifier
//! that trusts those files accepts any claim. Release mode, BN254/IPA only.

use crate::common;

use common::{fixture_file, quantized_fixture, scratch_dir, Format};
use kerafold::accuracy::{self, AccuracyCheck, AccuracyProof};
use kerafold::data::Dataset;
use kerafold::fold::backend::{self, Backend, Bn254Ipa, PpOf, Scalar, SnarkOf};
use kerafold::fold::Srs;
use kerafold::fold::{self};
use kerafold::inference::{self, Opening, ProveOptions, VerifyOptions};
use kerafold::model;
use kerafold::Error;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{ConstraintSystem, SynthesisError};
use nova_snark::nova::RecursiveSNARK;
use nova_snark::traits::circuit::StepCircuit;
use std::path::Path;

type Fr = Scalar<Bn254Ipa>;

/// A step circuit that ignores its input and outputs fixed constants: folded any number of times
/// from any `z0`, it "proves" the final state `out`.
#[derive(Clone, Debug)]
struct ConstStep {
    out: Vec<Fr>,
}

impl StepCircuit<Fr> for ConstStep {
    fn arity(&self) -> usize {
        self.out.len()
    }

    fn synthesize<CS: ConstraintSystem<Fr>>(
        &self,
        cs: &mut CS,
        _z: &[AllocatedNum<Fr>],
    ) -> Result<Vec<AllocatedNum<Fr>>, SynthesisError> {
        self.out
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let n = AllocatedNum::alloc(cs.namespace(|| format!("out{i}")), || Ok(*v))?;
                cs.enforce(
                    || format!("const{i}"),
                    |lc| lc + n.get_variable(),
                    |lc| lc + CS::one(),
                    |lc| lc + (*v, CS::one()),
                );
                Ok(n)
            })
            .collect()
    }
}

/// The forger's own parameters, verifier key and compressed proof of `steps` folds of
/// [`ConstStep`] from `z0` to `zn`: (snark, pp, vk) as bincode, the cache's encoding.
fn forge(z0: &[Fr], zn: &[Fr], steps: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let c = ConstStep { out: zn.to_vec() };
    let pp: PpOf<Bn254Ipa, ConstStep> = Bn254Ipa::setup(&c, &Srs::Transparent).unwrap();
    let mut rs = RecursiveSNARK::new(&pp, &c, z0).unwrap();
    for _ in 0..steps {
        rs.prove_step(&pp, &c).unwrap();
    }
    assert_eq!(rs.verify(&pp, steps, z0).unwrap(), zn);
    let (pk, vk) = SnarkOf::<Bn254Ipa, ConstStep>::setup(&pp).unwrap();
    let snark = SnarkOf::<Bn254Ipa, ConstStep>::prove(&pp, &pk, &rs).unwrap();
    (
        backend::encode(&snark).unwrap(),
        backend::encode(&pp).unwrap(),
        backend::encode(&vk).unwrap(),
    )
}

/// Overwrites every cached `pp.bin` and `vk.bin` under `dir` with the forger's, and writes them
/// into `entry` (where an older kerafold looked for them) too. Returns how many files it wrote.
fn plant(dir: &Path, entry: &Path, pp: &[u8], vk: &[u8]) -> usize {
    let mut planted = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n == "pp.bin" || n == "vk.bin")
            {
                let bytes = if p.ends_with("pp.bin") { pp } else { vk };
                std::fs::write(&p, bytes).unwrap();
                planted += 1;
            }
        }
    }
    std::fs::create_dir_all(entry).unwrap();
    std::fs::write(entry.join("pp.bin"), pp).unwrap();
    std::fs::write(entry.join("vk.bin"), vk).unwrap();
    planted + 2
}

fn rejected<T>(r: kerafold::Result<T>, what: &str) {
    match r {
        Err(Error::Invalid(m)) | Err(Error::Malformed(m)) => println!("{what}: rejected ({m})"),
        Err(e) => panic!("{what}: expected an invalid proof, got {e}"),
        Ok(_) => panic!("{what}: the forged proof verified"),
    }
}

#[test]
fn a_forged_verifier_key_in_the_params_dir_does_not_make_a_false_inference_claim_verify() {
    let (q, fx) = quantized_fixture("mlp");
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let params = scratch_dir("trust-inference");
    let opts = ProveOptions {
        params_dir: params.to_path_buf(),
        ..ProveOptions::default()
    };
    let (honest, _) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    let vopts = VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: None,
        model: Some(q.clone()),
        arch: None,
        input: Some(x.clone()),
    };
    inference::verify(&honest, &vopts).unwrap();

    // The false claim: another class, with logits whose ArgMax is that class.
    let arch = fold::Architecture::compile(&q).unwrap();
    let fa = arch.fp.fa;
    let n_out = arch.output_len();
    let class = (honest.claim.class + 1) % n_out;
    let mut logits = vec![0i64; n_out];
    logits[class] = 1 << fa;
    let mut claim = honest.claim.clone();
    claim.class = class;
    claim.output = Opening::Public {
        values: logits.clone(),
    };
    // The initial and final state the verifier derives from that claim.
    let (z0, zn) = inference::public_io::<Fr>(&arch, &claim).unwrap();
    let (snark, pp, vk) = forge(&z0, &zn, arch.steps.len());
    let mut forged = honest.clone();
    forged.claim = claim;
    forged.snark = hex::encode(snark);

    let entry = params.join(format!("{}-{}", Bn254Ipa::ID, &honest.architecture[..32]));
    assert!(plant(&params, &entry, &pp, &vk) >= 2);
    // a verifier in a new process: nothing held in memory, the planted files are what it reads
    fold::params::release_kept();
    rejected(
        inference::verify(&forged, &vopts),
        "forged vk.bin, verifier with --model",
    );
    let no_model = VerifyOptions {
        model: None,
        input: None,
        ..vopts.clone()
    };
    rejected(
        inference::verify(&forged, &no_model),
        "forged vk.bin, verifier without --model",
    );
    // the honest proof still verifies with the planted files present
    inference::verify(&honest, &vopts).unwrap();
}

#[test]
fn a_forged_verifier_key_in_the_params_dir_does_not_make_a_false_accuracy_claim_verify() {
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    let graph = model::load(&common::model_path("digits", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    let q = model::calibrate(&program, &data.inputs_f32()).unwrap().0;
    let commitment = fold::public_model_commitment(&q, fold::System::Bn254Ipa).unwrap();
    // The false claim: every sample right.
    let mut claim =
        accuracy::native_claim(&q, &data, fold::Visibility::Public, &commitment).unwrap();
    assert!(claim.correct < claim.samples, "the model is not perfect");
    claim.correct = claim.samples;
    let (z0, zn) = accuracy::public_io::<Fr>(&claim).unwrap();
    let (snark, pp, vk) = forge(&z0, &zn, claim.samples);
    let arch = fold::Architecture::compile(&q).unwrap();
    let digest = hex::encode(arch.digest());
    let forged = AccuracyProof::new(
        accuracy::ACCURACY,
        Bn254Ipa::ID,
        &arch.digest(),
        claim.clone(),
        hex::encode(snark),
    );

    // The prover leaves the architecture beside its parameters (verifiers without the model file
    // read it from there); the verifier derives and caches its key once, then the forger
    // overwrites every cached file.
    let params = scratch_dir("trust-accuracy");
    let entry = params.join(format!("{}-{}", Bn254Ipa::ID, &digest[..32]));
    std::fs::create_dir_all(&entry).unwrap();
    std::fs::write(
        entry.join("arch.json"),
        serde_json::to_vec_pretty(&arch).unwrap(),
    )
    .unwrap();
    let check = AccuracyCheck {
        cid: Some(claim.cid.clone()),
        min_correct: Some(claim.samples),
        model: None,
        arch: None,
        srs: None,
    };
    rejected(
        accuracy::verify_accuracy(&forged, &params, &check),
        "forged accuracy proof, no planted key",
    );
    assert!(plant(&params, &entry, &pp, &vk) >= 2);
    // a verifier in a new process: nothing held in memory, the planted files are what it reads
    fold::params::release_kept();
    rejected(
        accuracy::verify_accuracy(&forged, &params, &check),
        "forged vk.bin, accuracy verifier without --model",
    );
    let with_model = AccuracyCheck {
        model: Some(q.clone()),
        ..check
    };
    rejected(
        accuracy::verify_accuracy(&forged, &params, &with_model),
        "forged vk.bin, accuracy verifier with --model",
    );
}

/// Security issue, path 5: the verifier of a proof whose model it does not have reads the
/// architecture the proof names (from the parameter directory, or a file it is given). A hostile
/// architecture — here one slot wider than the bus, which made synthesis index past the bus — is
/// a `Malformed` error that names the problem, never a panic.
#[test]
fn a_hostile_architecture_file_is_refused_not_a_panic() {
    let (q, fx) = quantized_fixture("mlp");
    let x = q.quantize_input(&fx.inputs[1], Some(1)).unwrap();
    let params = scratch_dir("trust-hostile-arch");
    let opts = ProveOptions {
        params_dir: params.to_path_buf(),
        model: fold::Visibility::Private,
        ..ProveOptions::default()
    };
    let (honest, _) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    let no_model = VerifyOptions {
        params_dir: params.to_path_buf(),
        ..VerifyOptions::default()
    };
    inference::verify(&honest, &no_model).unwrap();

    let arch = fold::Architecture::compile(&q).unwrap();
    let mut hostile = arch.clone();
    let dense = hostile
        .slots
        .iter()
        .position(|s| matches!(s.op, kerafold_step_circuits::Op::Dense(_)))
        .unwrap();
    if let kerafold_step_circuits::Op::Dense(d) = &mut hostile.slots[dense].op {
        d.n_in = arch.width + 5;
    }
    let mut forged = honest.clone();
    forged.architecture = hex::encode(hostile.digest());
    fold::ParamsStore::new(params.to_path_buf())
        .save_arch(Bn254Ipa::ID, &hostile.digest(), &hostile)
        .unwrap();
    rejected(
        inference::verify(&forged, &no_model),
        "hostile arch.json in the parameter directory",
    );
    let given = VerifyOptions {
        arch: Some(hostile.clone()),
        ..no_model.clone()
    };
    rejected(inference::verify(&forged, &given), "hostile --arch file");
    match inference::verify(&forged, &given) {
        Err(Error::Malformed(m)) => assert!(m.contains("wider than the bus"), "{m}"),
        other => panic!("{other:?}"),
    }
    // an architecture that is valid but not the proof's is refused by its digest
    let other = VerifyOptions {
        arch: Some(arch),
        ..no_model
    };
    rejected(inference::verify(&forged, &other), "another architecture");
}
