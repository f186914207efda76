//! Accuracy proofs folded layer by layer (`--fold-by layer`, docs/DESIGN.md §4.5): one fold per
//! step of the inference circuit, in tiles and row bands. Release mode. Its own test binary: the
//! flat-memory check of `tests/suite/accuracy.rs` must not share the machine with these.

use crate::common;
use kerafold::fold::Srs;

use common::{digits_model, fixture_file, random_tau, scratch_dir};
use kerafold::accuracy::by_layer::{LayerSampleStep, Pieces};
use kerafold::accuracy::{
    prove_shard, verify_one, AccuracyArch, AccuracyCheck, AccuracyProof, FoldUnit, Fr, ShardSpec,
};
use kerafold::data::cid::CHUNK_SIZE;
use kerafold::data::Dataset;
use kerafold::fold::arch::{Architecture, Tiling};
use kerafold::Error;
use kerafold_step_circuits::cs::{CheckingCS, TamperCs};
use kerafold_step_circuits::step::alloc_num;
use nova_snark::traits::circuit::StepCircuit;
use std::sync::Arc;

/// Synthesizes `circuit` into `cs` from state `z`; returns the next state.
fn synthesize_from<CS: nova_snark::frontend::ConstraintSystem<Fr>>(
    cs: &mut CS,
    circuit: &LayerSampleStep<Fr>,
    z: &[Fr],
) -> Vec<Fr> {
    let zv: Vec<_> = z
        .iter()
        .enumerate()
        .map(|(k, v)| alloc_num(cs, &format!("z{k}"), Some(*v)).unwrap())
        .collect();
    let out = circuit.synthesize(cs, &zv).unwrap();
    out.iter().map(|v| v.get_value().unwrap()).collect()
}

/// A proof folded layer by layer (one fold per step of the model) proves the same count as the
/// per-sample circuit, and verifies; a claim that counts one more, or folds fewer samples, does
/// not. At the constraint level, each way a prover could skip a sample's bookkeeping fails its
/// named constraint.
#[test]
fn a_proof_folded_layer_by_layer_proves_the_count_and_tampering_fails() {
    let params = scratch_dir("accuracy-by-layer-params");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    let q = digits_model(&data);
    // steps of 16 rows: the convolution and pooling in row bands, the Dense layer in tiles
    let fold = FoldUnit::Layer {
        tiling: Some(Tiling::square(16, &q.fp).unwrap()),
    };
    let blinds = kerafold::accuracy::random_blinds_for(&q, fold).unwrap();
    let shard = ShardSpec {
        samples: 0..2,
        chunk_size: CHUNK_SIZE,
    };
    let (proof, stats) = prove_shard(
        &q,
        &data,
        &blinds,
        &shard,
        fold,
        &Srs::InsecureRandomTau,
        &params,
        &mut |_| {},
    )
    .unwrap();
    let arch = fold.compile(&q).unwrap();
    let steps = arch.steps.len();
    assert!(
        steps > Architecture::compile(&q).unwrap().steps.len(),
        "the digits model in steps of 16 rows has {steps} steps"
    );
    assert_eq!(stats.steps.len(), 2 * steps, "one fold per step per sample");
    assert_eq!(proof.claim.fold, fold);
    let right = (0..2)
        .filter(|&i| {
            let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
            t.class == data.sample(i).1 as usize
        })
        .count();
    assert_eq!(proof.claim.correct, right);
    let no_check = AccuracyCheck {
        srs: Some(random_tau(&params)),
        ..AccuracyCheck::default()
    };
    verify_one(&proof, &params, &no_check).unwrap();
    for (what, tamper) in [
        // (within what the claim's own checks allow: the proof must refuse these)
        (
            "another correct count",
            Box::new(|p: &mut AccuracyProof| {
                p.claim.correct = if p.claim.correct > 0 {
                    p.claim.correct - 1
                } else {
                    1
                }
            }) as Box<dyn Fn(&mut _)>,
        ),
        (
            "samples 1..4",
            Box::new(|p: &mut AccuracyProof| p.claim.first += 1),
        ),
        // the per-sample circuit on the same (tiled) architecture
        (
            "relabelled per sample",
            Box::new(|p: &mut AccuracyProof| p.claim.fold = FoldUnit::Sample),
        ),
    ] {
        let mut forged = proof.clone();
        tamper(&mut forged);
        match verify_one(&forged, &params, &no_check) {
            Err(Error::Invalid(m)) => println!("{what}: rejected ({m})"),
            other => panic!("{what}: expected an invalid proof, got {other:?}"),
        }
    }

    // --- the constraints, on sample 0's folds
    let acc = Arc::new(AccuracyArch::new(arch.clone(), *data.header(), CHUNK_SIZE).unwrap());
    let shape = LayerSampleStep::<Fr>::shape(acc, true);
    // 128-byte records: a compression at each of a sample's first two folds
    assert_eq!(
        shape.pieces(),
        Pieces {
            blocks: 2,
            per_fold: 1,
            folds: 2
        }
    );
    let parts = fold_tally(&kerafold::accuracy::AccuracyStep::Layer(shape.clone()));
    println!(
        "digits in steps of 16 rows: {} constraints a fold by layer ({parts:?})",
        parts.values().sum::<usize>()
    );
    let trace = q.trace(&data.quantized_input(0, q.fp.fa), Some(0)).unwrap();
    let witnesses = kerafold::inference::sample_step_witnesses(&arch, &q, &trace, &blinds);
    let record = Arc::new(data.record(0).to_vec());
    let (z0, _) = kerafold::accuracy::public_io::<Fr>(&proof.claim).unwrap();
    let mut z0 = z0;
    z0.resize(shape.arity(), Fr::from(0));
    // runs fold `j` of sample 0 (reading `record`) from `z` with `overrides`; returns the next
    // state and the first unsatisfied constraint
    let fold_reading = |record: &Arc<Vec<u8>>, j: usize, z: &[Fr], overrides: &[(&str, Fr)]| {
        let circuit = shape.at(record.clone(), Arc::new(witnesses[j].clone()));
        if overrides.is_empty() {
            // the prover's own checker: fast, and it names the first unsatisfied constraint too
            let mut cs = CheckingCS::<Fr>::new();
            let next = synthesize_from(&mut cs, &circuit, z);
            return (next, cs.failure().map(str::to_string));
        }
        let mut cs = TamperCs::<Fr>::new();
        for (path, v) in overrides {
            cs.override_value(*path, *v);
        }
        let next = synthesize_from(&mut cs, &circuit, z);
        assert!(
            cs.unused_overrides().is_empty(),
            "{:?}",
            cs.unused_overrides()
        );
        (next, cs.which_is_unsatisfied().map(str::to_string))
    };
    let fold =
        |j: usize, z: &[Fr], overrides: &[(&str, Fr)]| fold_reading(&record, j, z, overrides);
    let mut states = vec![z0.clone()];
    for j in 0..steps {
        let (next, failed) = fold(j, &states[j], &[]);
        assert_eq!(failed, None, "honest fold {j}");
        states.push(next);
    }
    // after the sample: the next sample, the count, the label and the layer state cleared
    let end = &states[steps];
    assert_eq!(end[0], Fr::from(1));
    assert_eq!(
        end[4],
        Fr::from(u64::from(trace.class == data.sample(0).1 as usize))
    );
    assert!(end[6..].iter().all(|v| *v == Fr::from(0)));
    let (one, zero) = (Fr::from(1), Fr::from(0));
    let last = steps - 1;
    // a flipped bit alone breaks its inverse's constraint; a prover would also zero the inverse
    let eq_flipped: Vec<(&str, Fr)> = if trace.class == data.sample(0).1 as usize {
        vec![("eq/boolean", zero)]
    } else {
        vec![("eq/boolean", one), ("eq_inverse/num", zero)]
    };
    let eq_fails = if trace.class == data.sample(0).1 as usize {
        "eq_inv"
    } else {
        "eq_zero"
    };
    // (what, fold, overrides, the constraint that fails)
    type Case<'a> = (&'a str, usize, Vec<(&'a str, Fr)>, &'a str);
    let cases: Vec<Case> = vec![
        // not reading the record at a sample's first fold (keeping the dataset state)
        (
            "skip the record",
            0,
            vec![("first/boolean", zero)],
            "first_inv",
        ),
        // reading another record in the middle of a sample
        (
            "re-read mid-sample",
            1,
            vec![("first/boolean", one), ("first_inverse/num", zero)],
            "first_zero",
        ),
        // ending the sample early, or not counting it at its end
        (
            "end early",
            0,
            vec![("last/boolean", one), ("last_inverse/num", zero)],
            "last_zero",
        ),
        ("never end", last, vec![("last/boolean", zero)], "last_inv"),
        // counting a sample the model gets wrong (or dropping one it gets right)
        ("flip the match", last, eq_flipped, eq_fails),
        // skipping a fold's piece of the record's hash, or hashing another fold's piece
        (
            "skip the piece",
            0,
            vec![("piece/at0/boolean", zero)],
            "piece/at0_inv",
        ),
        (
            "another piece",
            0,
            vec![("piece/at1/boolean", one), ("piece/at1_inverse/num", zero)],
            "piece/at1_zero",
        ),
        // hashing another byte than the record's, or not taking the compressed state
        (
            "another byte in the piece",
            0,
            vec![("piece/b0_0_0/num", Fr::from(300))],
            "piece/b0_0_0_product",
        ),
        (
            "drop a compression",
            0,
            vec![("piece/hi0/num", Fr::from(12345))],
            "piece/hi0_select",
        ),
    ];
    for (what, j, overrides, constraint) in cases {
        let (_, failed) = fold(j, &states[j], &overrides);
        assert_eq!(failed.as_deref(), Some(constraint), "{what}");
    }
    // another model than the committed one: the model chain differs at the sample's end
    let mut other = states[last].clone();
    other[3] += one;
    let (_, failed) = fold(last, &other, &[]);
    assert_eq!(failed.as_deref(), Some("model_commitment"));
    // another record's bytes in the middle of a sample: not the ones committed at its first fold
    let other_record = Arc::new(data.record(1).to_vec());
    let (_, failed) = fold_reading(&other_record, 1, &states[1], &[]);
    assert_eq!(failed.as_deref(), Some("same_record"));
}

/// Constraints of one fold of `circuit` (its shape, counted).
fn fold_constraints(circuit: &kerafold::accuracy::AccuracyStep<Fr>) -> usize {
    fold_tally(circuit).values().sum()
}

/// Constraints of one fold of `circuit` by top-level namespace (`record`, `piece`, `layer`, …).
fn fold_tally(
    circuit: &kerafold::accuracy::AccuracyStep<Fr>,
) -> std::collections::BTreeMap<String, usize> {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = kerafold_step_circuits::cs::CountingCs::<Fr>::with_tally();
    let z: Vec<_> = (0..circuit.arity())
        .map(|i| AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || Ok(Fr::from(0))).unwrap())
        .collect();
    circuit.synthesize(&mut cs, &z).unwrap();
    let mut by_part = std::collections::BTreeMap::new();
    for (path, n) in cs.tally() {
        let part = path.split('/').next().unwrap_or_default();
        let part = if path.contains('/') { part } else { "(top)" };
        *by_part.entry(part.to_string()).or_insert(0) += n;
    }
    assert_eq!(by_part.values().sum::<usize>(), cs.num_constraints());
    by_part
}

/// What folding by layer is for: a fold of the per-sample circuit grows with the model's depth,
/// a fold by layer does not (the same circuit for 2, 8 and 32 Dense layers of 16 values).
#[cfg(feature = "bench")] // the synthetic models
#[test]
fn a_fold_by_layer_does_not_grow_with_the_model() {
    use kerafold::accuracy::AccuracyStep;
    use kerafold::bench::synth::{Kind, SynthSpec};
    let data = Dataset::pack(&[7u8; 16], &[3], &[16], 10, 8).unwrap();
    let mut by_sample = vec![];
    let mut by_layer = vec![];
    for depth in [2, 8, 32] {
        let model = SynthSpec::new(Kind::Classifier, 16, 0, depth)
            .model()
            .unwrap();
        let arch = Architecture::compile(&model).unwrap();
        let acc = Arc::new(AccuracyArch::new(arch, *data.header(), CHUNK_SIZE).unwrap());
        let count = |fold| fold_constraints(&AccuracyStep::shape(fold, acc.clone(), true));
        by_sample.push(count(FoldUnit::Sample));
        by_layer.push(count(FoldUnit::Layer { tiling: None }));
        println!(
            "{depth} layers: {} constraints a fold per sample, {} a fold by layer",
            by_sample.last().unwrap(),
            by_layer.last().unwrap()
        );
    }
    assert!(
        by_layer.iter().all(|&c| c == by_layer[0]),
        "by layer: {by_layer:?}"
    );
    assert!(
        by_sample.windows(2).all(|w| w[1] > w[0]),
        "per sample: {by_sample:?}"
    );
    // at 32 layers the per-sample fold is several layer folds
    assert!(
        by_sample[2] > 4 * by_layer[2],
        "{by_sample:?} vs {by_layer:?}"
    );
}

fn kerafold(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .expect("run kerafold")
}

/// `stderr` of a run that must fail with a clear error, not a panic.
fn refused(o: &std::process::Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{what}: {:?}\n{err}", o.status);
    assert!(!err.contains("panicked"), "{what}: {err}");
    err
}

/// Bad input to a fold by layer is refused before any proving, with the way out: a step size
/// without folding by layer, a private model's opening made for another cut of the model, and
/// (inside the circuit) an architecture without an ArgMax step.
#[test]
fn bad_input_to_a_fold_by_layer_is_refused() {
    let dir = scratch_dir("accuracy-by-layer-bad");
    let model = common::model_path("digits", common::Format::Keras);
    let data_path = fixture_file("digits_16.kfd");
    let (model_s, data_s) = (model.to_str().unwrap(), data_path.to_str().unwrap());
    let out = dir.join("proof.json");
    let params = dir.join("params");
    let common_args = [
        "--data",
        data_s,
        "-o",
        out.to_str().unwrap(),
        "--params-dir",
        params.to_str().unwrap(),
    ];

    // a step size means nothing to a fold per sample
    let o = kerafold(
        &[
            &["prove-accuracy", model_s, "--step-size", "16"][..],
            &common_args,
        ]
        .concat(),
    );
    let err = refused(&o, "--step-size without --fold-by layer");
    assert!(err.contains("add --fold-by layer"), "{err}");
    assert!(!out.exists(), "no proof is written");

    // an opening committed a step per layer, proven in steps of 16 rows: its blindings are for
    // another architecture (the CLI says how to commit in tiles; the library counts them)
    let opening = dir.join("opening.json");
    let o = kerafold(&[
        "commit",
        model_s,
        "--data",
        data_s,
        "--opening",
        opening.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = Dataset::read(&data_path).unwrap();
    let q = digits_model(&data);
    let per_layer = Architecture::compile(&q).unwrap().steps.len();
    let tiled = FoldUnit::Layer {
        tiling: Some(Tiling::square(16, &q.fp).unwrap()),
    }
    .compile(&q)
    .unwrap()
    .steps
    .len();
    assert_ne!(per_layer, tiled);
    let o = kerafold(
        &[
            &[
                "prove-accuracy",
                opening.to_str().unwrap(),
                "--fold-by",
                "layer",
                "--step-size",
                "16",
            ][..],
            &common_args,
        ]
        .concat(),
    );
    let err = refused(&o, "an opening for another architecture");
    assert!(
        err.contains("commits to the model a step per layer") && err.contains("--step-size N"),
        "{err}"
    );
    assert!(!out.exists(), "no proof is written");
    let e = prove_shard(
        &q,
        &data,
        &vec![Fr::from(1); per_layer],
        &ShardSpec {
            samples: 0..1,
            chunk_size: CHUNK_SIZE,
        },
        FoldUnit::Layer {
            tiling: Some(Tiling::square(16, &q.fp).unwrap()),
        },
        &Srs::Transparent,
        &params,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "{per_layer} blindings for an architecture of {tiled} steps"
        )),
        "{e}"
    );

    // the circuit itself refuses an architecture without an ArgMax (its class would stay 0, so
    // every sample would count as class 0)
    let mut arch = Architecture::compile(&q).unwrap();
    let argmax = arch.argmax_slot().unwrap();
    assert_eq!(argmax + 1, arch.slots.len(), "the ArgMax is the last slot");
    arch.slots.pop();
    arch.steps.pop();
    let acc = Arc::new(AccuracyArch::new(arch, *data.header(), CHUNK_SIZE).unwrap());
    let shape = LayerSampleStep::<Fr>::shape(acc, true);
    let mut cs = CheckingCS::<Fr>::new();
    let z: Vec<_> = (0..shape.arity())
        .map(|k| alloc_num(&mut cs, &format!("z{k}"), Some(Fr::from(0))).unwrap())
        .collect();
    match shape.synthesize(&mut cs, &z) {
        Err(e) => assert!(e.to_string().contains("no ArgMax"), "{e}"),
        Ok(_) => panic!("an architecture without an ArgMax synthesized"),
    }
}

/// A public model's proof names its tiling, and the verifier compiles the model file with it: a
/// claim that names another cut of the model than the one proven is refused (the architecture
/// digest differs), before any SNARK work.
#[test]
fn a_public_proof_by_layer_binds_its_tiling() {
    let params = scratch_dir("accuracy-by-layer-public");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    let q = digits_model(&data);
    let fold = FoldUnit::Layer { tiling: None };
    let shard = ShardSpec {
        samples: 0..1,
        chunk_size: CHUNK_SIZE,
    };
    let (proof, _) = prove_shard(
        &q,
        &data,
        &[],
        &shard,
        fold,
        &Srs::InsecureRandomTau,
        &params,
        &mut |_| {},
    )
    .unwrap();
    let with_model = AccuracyCheck {
        model: Some(q.clone()),
        srs: Some(random_tau(&params)),
        ..AccuracyCheck::default()
    };
    verify_one(&proof, &params, &with_model).unwrap();
    for tiling in [Some(16), Some(8)] {
        let mut forged = proof.clone();
        forged.claim.fold = FoldUnit::Layer {
            tiling: tiling.map(|n| Tiling::square(n, &q.fp).unwrap()),
        };
        match verify_one(&forged, &params, &with_model) {
            Err(Error::Invalid(m)) => assert!(m.contains("architecture"), "{m}"),
            other => panic!("a claim naming steps of {tiling:?} rows: {other:?}"),
        }
    }
}
