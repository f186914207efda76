//! Dataset accuracy proofs (BN254/Grumpkin, IPA): the proven correct count on exactly the file a
//! CID names. Release mode.

mod common;

use common::{fixture_file, scratch_dir, Format};
use kerafold::bounty::cid::cid_of_bytes;
use kerafold::bounty::Dataset;
use kerafold::fold::accuracy::{prove_accuracy, verify_accuracy, AccuracyCheck, AccuracyProof};
use kerafold::fold::Visibility;
use kerafold::model::{self, QuantizedModel};
use kerafold::Error;
use std::path::Path;
use std::process::Command;

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
    }
}

fn invalid(r: kerafold::Result<kerafold::fold::accuracy::AccuracyClaim>, what: &str) {
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
fn accuracy_on_a_published_dataset_and_every_tampering() {
    let params = scratch_dir("accuracy");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    assert!(data.len() >= 16);
    let published = cid_of_bytes(data.as_bytes()).to_string();
    let q = digits_model(&data);
    let expected = reference_correct(&q, &data);

    let (proof, stats) =
        prove_accuracy(&q, &data, Visibility::Private, &params, &mut |_| {}).unwrap();
    println!(
        "16 samples: {} of 16 correct, {} constraints per fold, folding {:?}, compression {:?}",
        proof.claim.correct,
        stats.step_constraints,
        stats.folds.iter().sum::<std::time::Duration>(),
        stats.compress
    );
    assert_eq!(
        proof.claim.correct, expected,
        "proven count = integer reference count"
    );
    assert_eq!(proof.claim.samples, data.len());
    assert_eq!(proof.claim.cid, published);
    let claim = verify_accuracy(&proof, &params, &check(&published, Some(expected))).unwrap();
    assert_eq!(claim.correct, expected);
    // a threshold above the count fails
    invalid(
        verify_accuracy(&proof, &params, &check(&published, Some(expected + 1))),
        "threshold",
    );
    // claiming a higher count
    let mut t = proof.clone();
    t.claim.correct += 1;
    invalid(
        verify_accuracy(&t, &params, &check(&published, None)),
        "higher count",
    );
    // another dataset's CID
    let other = cid_of_bytes(
        Dataset::read(&fixture_file("digits_test.kfd"))
            .unwrap()
            .as_bytes(),
    )
    .to_string();
    invalid(
        verify_accuracy(&proof, &params, &check(&other, None)),
        "other CID",
    );
    // a private model's commitment cannot be swapped
    let mut t = proof.clone();
    t.claim.model.commitment =
        kerafold::fold::public_model_commitment(&q, kerafold::fold::System::Bn254Ipa).unwrap();
    invalid(
        verify_accuracy(&t, &params, &check(&published, None)),
        "model commitment",
    );
    // flipped proof bytes
    let mut t = proof.clone();
    let mut b = hex::decode(&t.snark).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    t.snark = hex::encode(b);
    invalid(
        verify_accuracy(&t, &params, &check(&published, None)),
        "flipped byte",
    );

    // proofs made on altered data do not verify against the published CID
    let r = data.header().record_size();
    let feature = r * 4 + 10; // sample 3, feature 10
    let label = r * 6 + data.header().features(); // sample 5's label
    let cases = [
        (
            "one feature byte",
            altered(&data, feature, data.as_bytes()[feature] ^ 1),
        ),
        (
            "one label",
            altered(&data, label, (data.as_bytes()[label] + 1) % 10),
        ),
    ];
    for (what, bad) in cases {
        let (p, _) = prove_accuracy(&q, &bad, Visibility::Private, &params, &mut |_| {}).unwrap();
        assert_ne!(p.claim.cid, published);
        // honest about its own data, it verifies for that data only
        verify_accuracy(&p, &params, &check(&p.claim.cid.clone(), None)).unwrap();
        invalid(verify_accuracy(&p, &params, &check(&published, None)), what);
        // relabelling it with the published CID, or the published hash state, fails
        let mut t = p.clone();
        t.claim.cid = published.clone();
        invalid(verify_accuracy(&t, &params, &check(&published, None)), what);
        let mut t = p.clone();
        t.claim.sha_state = proof.claim.sha_state.clone();
        t.claim.cid = published.clone();
        invalid(verify_accuracy(&t, &params, &check(&published, None)), what);
    }
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

#[test]
fn proving_memory_does_not_grow_with_the_number_of_samples() {
    let params = scratch_dir("accuracy-mem");
    let dir = scratch_dir("accuracy-mem-files");
    let model = common::model_path("digits", Format::Keras);
    let mut runs = vec![];
    for file in ["digits_16.kfd", "digits_test.kfd"] {
        let data = Dataset::read(&fixture_file(file)).unwrap();
        let out = dir.join(format!("{file}.proof"));
        let v = cli_prove(&model, &fixture_file(file), &out, &params);
        // the CLI's proof verifies through the CLI against the file's CID and the reference count
        let q = digits_model(&data);
        assert_eq!(
            v["correct"].as_u64().unwrap() as usize,
            reference_correct(&q, &data)
        );
        let cid = cid_of_bytes(data.as_bytes()).to_string();
        let o = Command::new(env!("CARGO_BIN_EXE_kerafold"))
            .args([
                "verify",
                out.to_str().unwrap(),
                "--cid",
                &cid,
                "--params-dir",
                params.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        AccuracyProof::read(&out).unwrap();
        println!(
            "{} samples: peak RSS {:.0} MB, {} of {} correct, fold {:.1}s, compression {:.1}s",
            data.len(),
            v["peak_rss_mb"].as_f64().unwrap(),
            v["correct"],
            v["samples"],
            v["fold_s"].as_f64().unwrap(),
            v["compress_s"].as_f64().unwrap()
        );
        runs.push(v["peak_rss_mb"].as_f64().unwrap());
    }
    let ratio = runs[1] / runs[0];
    println!("peak memory 64 vs 16 samples: {ratio:.3}×");
    assert!(
        ratio <= 1.2,
        "proving memory grew {ratio:.2}× from 16 to 64 samples"
    );
}

#[test]
fn datasets_that_do_not_fit_are_clear_errors() {
    let params = scratch_dir("accuracy-bad");
    let data = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    // a model whose input shape differs
    let graph = model::load(&common::model_path("mlp", Format::Keras)).unwrap();
    let (q, _) = model::calibrate(&model::lower(&graph).unwrap(), &[vec![0.5; 16]]).unwrap();
    match prove_accuracy(&q, &data, Visibility::Private, &params, &mut |_| {}) {
        Err(Error::Shape { msg, .. }) => assert!(msg.contains("[8, 8, 1]"), "{msg}"),
        other => panic!(
            "expected a shape error, got {:?}",
            other.map(|p| p.0.claim.correct)
        ),
    }
    // a file larger than one IPFS chunk
    let big: Vec<u8> = (0..3000 * 64).map(|i| (i % 17) as u8).collect();
    let labels: Vec<u8> = (0..3000).map(|i| (i % 10) as u8).collect();
    let big = Dataset::pack(&big, &labels, &[8, 8, 1], 10, 4).unwrap();
    let q = digits_model(&data);
    match prove_accuracy(&q, &big, Visibility::Private, &params, &mut |_| {}) {
        Err(Error::Usage(m)) => assert!(m.contains("one IPFS chunk"), "{m}"),
        other => panic!(
            "expected a size error, got {:?}",
            other.map(|p| p.0.claim.correct)
        ),
    }
}
