//! Dataset accuracy proofs (BN254/Grumpkin, IPA): the proven correct count on exactly the file a
//! CID names. Release mode.

mod common;

use common::{fixture_file, scratch_dir, Format};
use kerafold::accuracy::by_layer::LayerSampleStep;
use kerafold::accuracy::{
    prove_accuracy, prove_shard, verify_accuracy, verify_one, AccuracyArch, AccuracyCheck,
    AccuracyProof, FoldUnit, Fr, ShardSpec,
};
use kerafold::data::cid::cid_of_bytes;
use kerafold::data::cid::CHUNK_SIZE;
use kerafold::data::Dataset;
use kerafold::fold::arch::{Architecture, Tiling};
use kerafold::model::{self, QuantizedModel};
use kerafold::Error;
use kerafold_step_circuits::cs::{CheckingCS, TamperCs};
use kerafold_step_circuits::step::alloc_num;
use nova_snark::traits::circuit::StepCircuit;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// The digits model, calibrated on `data`'s samples.
fn digits_model(data: &Dataset) -> QuantizedModel {
    let graph = model::load(&common::model_path("digits", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    model::calibrate(&program, &data.inputs_f32()).unwrap().0
}

fn reference_correct(q: &QuantizedModel, data: &Dataset) -> usize {
    (0..data.len())
        .filter(|&i| {
            let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
            t.class == data.sample(i).1 as usize
        })
        .count()
}

fn check(cid: &str, min: Option<usize>) -> AccuracyCheck {
    AccuracyCheck {
        cid: Some(cid.to_string()),
        min_correct: min,
        model: None,
        arch: None,
    }
}

fn invalid(r: kerafold::Result<kerafold::accuracy::AccuracyClaim>, what: &str) {
    match r {
        Err(Error::Invalid(m)) => println!("{what}: rejected ({m})"),
        Err(e) => panic!("{what}: expected an invalid proof, got {e}"),
        Ok(_) => panic!("{what}: verified"),
    }
}

/// A copy of `data` with byte `offset` of the file changed.
fn altered(data: &Dataset, offset: usize, value: u8) -> Dataset {
    let mut bytes = data.to_bytes();
    assert_ne!(bytes[offset], value);
    bytes[offset] = value;
    Dataset::from_bytes(bytes, Path::new("altered.kfd")).unwrap()
}

#[test]
fn proofs_on_altered_data_do_not_verify_against_the_published_cid() {
    let params = scratch_dir("accuracy-params");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    let published = cid_of_bytes(data.as_bytes()).to_string();
    let q = digits_model(&data);
    let blinds = kerafold::accuracy::random_blinds(&q).unwrap();
    let r = data.header().record_size();
    let feature = r * 4 + 10; // sample 3, feature 10
    let label = r * 6 + data.header().features(); // sample 5's label
                                                  // one feature byte and one label changed: one proof for both (each alone changes the CID
                                                  // just as well; the label also changes the count)
    let cases = [(
        "one feature byte and one label",
        altered(
            &altered(&data, feature, data.as_bytes()[feature] ^ 1),
            label,
            (data.as_bytes()[label] + 1) % 10,
        ),
    )];
    for (what, bad) in cases {
        let (p, _) = prove_accuracy(&q, &bad, &blinds, &params, &mut |_| {}).unwrap();
        assert_ne!(p.claim.cid, published);
        assert_eq!(p.claim.correct, reference_correct(&q, &bad));
        // honest about its own data, it verifies for that data only
        verify_accuracy(&p, &params, &check(&p.claim.cid.clone(), None)).unwrap();
        invalid(verify_accuracy(&p, &params, &check(&published, None)), what);
        // relabelling it with the published CID, or also with the published hash state, fails
        let mut t = p.clone();
        t.claim.cid = published.clone();
        invalid(verify_accuracy(&t, &params, &check(&published, None)), what);
        let honest = fold_state_of(&data);
        let mut t = p.clone();
        t.claim.sha_state = honest;
        t.claim.cid = published.clone();
        invalid(verify_accuracy(&t, &params, &check(&published, None)), what);
    }
}

/// The SHA-256 state (hex words) after every record of `data`: what an honest claim holds.
fn fold_state_of(data: &Dataset) -> String {
    let mut st = kerafold::accuracy::header_state(data.header());
    for i in 0..data.len() {
        for blk in data.record(i).chunks(64) {
            kerafold::data::sha256::compress(&mut st, blk.try_into().unwrap());
        }
    }
    st.iter().map(|w| format!("{w:08x}")).collect()
}

fn cli_prove(model: &Path, data: &Path, out: &Path, params: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args([
            "prove-accuracy",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ])
        .args([
            "-o",
            out.to_str().unwrap(),
            "--params-dir",
            params.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn kerafold(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn accuracy_through_the_cli_with_flat_memory_and_every_claim_tampering() {
    let params = scratch_dir("accuracy-params");
    let dir = scratch_dir("accuracy-cli");
    let model = common::model_path("digits", Format::Keras);
    // pack the 64-sample test set from .npy, as a bounty host would
    let packed = dir.join("digits_64.kfd");
    let o = kerafold(&[
        "dataset",
        "pack",
        "--features",
        fixture_file("digits_test_x.npy").to_str().unwrap(),
        "--labels",
        fixture_file("digits_test_y.npy").to_str().unwrap(),
        "--scale-shift",
        "4",
        "--classes",
        "10",
        "-o",
        packed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&packed).unwrap(),
        std::fs::read(fixture_file("digits_test.kfd")).unwrap()
    );
    let mut rss = vec![];
    let mut proofs = vec![];
    for file in [fixture_file("digits_16.kfd"), packed] {
        let data = Dataset::read(&file).unwrap();
        assert!(data.len() >= 16);
        let out = dir.join(format!("{}.proof", data.len()));
        let v = cli_prove(&model, &file, &out, &params);
        let q = digits_model(&data);
        // the proven count is the integer reference's
        assert_eq!(
            v["correct"].as_u64().unwrap() as usize,
            reference_correct(&q, &data)
        );
        let cid = cid_of_bytes(data.as_bytes()).to_string();
        let min = v["correct"].to_string();
        let o = kerafold(&[
            "verify",
            out.to_str().unwrap(),
            "--cid",
            &cid,
            "--min-correct",
            &min,
            "--params-dir",
            params.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // one more than proven: exit 1 with the reason
        let above = (v["correct"].as_u64().unwrap() + 1).to_string();
        let o = kerafold(&[
            "verify",
            out.to_str().unwrap(),
            "--cid",
            &cid,
            "--min-correct",
            &above,
            "--params-dir",
            params.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("below the threshold"));
        println!(
            "{} samples: peak RSS {:.0} MB, {} of {} correct, {} constraints per fold, folding {:.1}s, compression {:.1}s",
            data.len(),
            v["peak_rss_mb"].as_f64().unwrap(),
            v["correct"],
            v["samples"],
            v["step_constraints"],
            v["fold_s"].as_f64().unwrap(),
            v["compress_s"].as_f64().unwrap()
        );
        rss.push(v["peak_rss_mb"].as_f64().unwrap());
        proofs.push((AccuracyProof::read(&out).unwrap(), cid));
    }
    let ratio = rss[1] / rss[0];
    println!("peak memory, 64 vs 16 samples: {ratio:.3}×");
    assert!(
        ratio <= 1.2,
        "proving memory grew {ratio:.2}× from 16 to 64 samples"
    );

    // tampering with the claim of the 16-sample proof
    let (proof, published) = &proofs[0];
    let c = proof.claim.correct;
    verify_accuracy(proof, &params, &check(published, Some(c))).unwrap();
    let mut t = proof.clone();
    t.claim.correct += 1;
    invalid(
        verify_accuracy(&t, &params, &check(published, None)),
        "higher count",
    );
    invalid(
        verify_accuracy(proof, &params, &check(&proofs[1].1, None)),
        "other CID",
    );
    let mut t = proof.clone();
    t.claim.samples -= 1;
    invalid(
        verify_accuracy(&t, &params, &check(published, None)),
        "fewer samples",
    );
    let mut t = proof.clone();
    let q = digits_model(&Dataset::read(&fixture_file("digits_16.kfd")).unwrap());
    t.claim.model.commitment =
        kerafold::fold::public_model_commitment(&q, kerafold::fold::System::Bn254Ipa).unwrap();
    invalid(
        verify_accuracy(&t, &params, &check(published, None)),
        "model commitment",
    );
    let mut t = proof.clone();
    let mut b = hex::decode(&t.snark).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    t.snark = hex::encode(b);
    invalid(
        verify_accuracy(&t, &params, &check(published, None)),
        "flipped byte",
    );
    // the 16-sample proof is not a proof about the 64-sample file
    let mut t = proof.clone();
    t.claim.cid = proofs[1].1.clone();
    t.claim.sha_state = proofs[1].0.claim.sha_state.clone();
    invalid(
        verify_accuracy(&t, &params, &check(&proofs[1].1, None)),
        "64-sample claim",
    );
}

#[test]
fn datasets_that_do_not_fit_are_clear_errors() {
    let params = scratch_dir("accuracy-bad");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    // a model whose input shape differs
    let graph = model::load(&common::model_path("mlp", Format::Keras)).unwrap();
    let (q, _) = model::calibrate(&model::lower(&graph).unwrap(), &[vec![0.5; 16]]).unwrap();
    match prove_accuracy(&q, &data, &[], &params, &mut |_| {}) {
        Err(Error::Shape { msg, .. }) => assert!(msg.contains("[8, 8, 1]"), "{msg}"),
        other => panic!(
            "expected a shape error, got {:?}",
            other.map(|p| p.0.claim.correct)
        ),
    }
    // leaves that would cut records: a leaf size that is not a power of two, or below a record
    let q = digits_model(&data);
    for chunk_size in [100, 64, 3 << 16] {
        let shard = ShardSpec {
            samples: 0..data.len(),
            chunk_size,
        };
        match prove_shard(
            &q,
            &data,
            &[],
            &shard,
            FoldUnit::Sample,
            &params,
            &mut |_| {},
        ) {
            Err(Error::Usage(m)) => assert!(m.contains("leaves hold whole records"), "{m}"),
            other => panic!(
                "expected a leaf size error, got {:?}",
                other.map(|p| p.0.claim.correct)
            ),
        }
    }
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
        samples: 0..3,
        chunk_size: CHUNK_SIZE,
    };
    let (proof, stats) =
        prove_shard(&q, &data, &blinds, &shard, fold, &params, &mut |_| {}).unwrap();
    let arch = fold.compile(&q).unwrap();
    let steps = arch.steps.len();
    assert!(
        steps > Architecture::compile(&q).unwrap().steps.len(),
        "the digits model in steps of 16 rows has {steps} steps"
    );
    assert_eq!(stats.steps.len(), 3 * steps, "one fold per step per sample");
    assert_eq!(proof.claim.fold, fold);
    let right = (0..3)
        .filter(|&i| {
            let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
            t.class == data.sample(i).1 as usize
        })
        .count();
    assert_eq!(proof.claim.correct, right);
    let no_check = AccuracyCheck::default();
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
            let zv: Vec<_> = z
                .iter()
                .enumerate()
                .map(|(k, v)| alloc_num(&mut cs, &format!("z{k}"), Some(*v)).unwrap())
                .collect();
            let out = circuit.synthesize(&mut cs, &zv).unwrap();
            let next: Vec<Fr> = out.iter().map(|v| v.get_value().unwrap()).collect();
            return (next, cs.failure().map(str::to_string));
        }
        let mut cs = TamperCs::<Fr>::new();
        for (path, v) in overrides {
            cs.override_value(*path, *v);
        }
        let zv: Vec<_> = z
            .iter()
            .enumerate()
            .map(|(k, v)| alloc_num(&mut cs, &format!("z{k}"), Some(*v)).unwrap())
            .collect();
        let out = circuit.synthesize(&mut cs, &zv).unwrap();
        assert!(
            cs.unused_overrides().is_empty(),
            "{:?}",
            cs.unused_overrides()
        );
        let next: Vec<Fr> = out.iter().map(|v| v.get_value().unwrap()).collect();
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
        vec![("eq/boolean", one), ("inv/num", zero)]
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
    // features that are not the record's: the steps reading the input cannot open it (a row band
    // compares what it read with the input commitment at its layer's last band)
    let other_record = Arc::new(data.record(1).to_vec());
    let mut z = states[0].clone();
    let mut caught = None;
    for j in 0..steps {
        let rec = if j == 0 { &other_record } else { &record };
        let (next, failed) = fold_reading(rec, j, &z, &[]);
        if let Some(c) = failed {
            caught = Some((j, c));
            break;
        }
        z = next;
    }
    let (j, c) = caught.expect("another record's features are refused within the sample");
    assert!(c.starts_with("layer/"), "fold {j}: {c}");
    println!("another record's features: fold {j} fails '{c}'");
}

/// Constraints of one fold of `circuit` (its shape, counted).
fn fold_constraints(circuit: &kerafold::accuracy::AccuracyStep<Fr>) -> usize {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = kerafold_step_circuits::cs::CountingCs::<Fr>::new();
    let z: Vec<_> = (0..circuit.arity())
        .map(|i| AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || Ok(Fr::from(0))).unwrap())
        .collect();
    circuit.synthesize(&mut cs, &z).unwrap();
    cs.num_constraints()
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
