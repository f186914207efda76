//! Dataset accuracy proofs: the proven correct count on exactly the file a CID names. Release
//! mode. BN254 with HyperKZG over the insecure random tau (`common::random_tau`), which
//! compresses several times faster than IPA; the IPA path is what the shard, bounty and
//! verifier-trust tests prove with.

use crate::common;
use kerafold::fold::Srs;

use common::{fixture_file, random_tau, scratch_dir, Format};
use kerafold::accuracy::{
    prove_accuracy, prove_shard, verify_accuracy, AccuracyCheck, AccuracyProof, FoldUnit, ShardSpec,
};
use kerafold::data::cid::cid_of_bytes;
use kerafold::data::Dataset;
use kerafold::model::{self, QuantizedModel};
use kerafold::Error;
use std::path::Path;
use std::process::Command;

fn reference_correct(q: &QuantizedModel, data: &Dataset) -> usize {
    (0..data.len())
        .filter(|&i| {
            let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
            t.class == data.sample(i).1 as usize
        })
        .count()
}

fn check(params: &Path, cid: &str, min: Option<usize>) -> AccuracyCheck {
    AccuracyCheck {
        cid: Some(cid.to_string()),
        min_correct: min,
        model: None,
        arch: None,
        srs: Some(random_tau(params)),
    }
}

/// The proof of `model` on every sample of `data` (HyperKZG, the random tau).
fn prove_all(
    q: &QuantizedModel,
    data: &Dataset,
    blinds: &[kerafold::accuracy::Fr],
    params: &Path,
) -> AccuracyProof {
    prove_shard(
        q,
        data,
        blinds,
        &ShardSpec::whole(data),
        FoldUnit::Sample,
        &Srs::InsecureRandomTau,
        params,
        &mut |_| {},
    )
    .unwrap()
    .0
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
    // the first 6 samples of the digits: the edits reach sample 5
    let data = crate::scenario::first_records(6);
    let published = cid_of_bytes(data.as_bytes()).to_string();
    let q = common::digits_model(&Dataset::read(&fixture_file("digits_16.kfd")).unwrap());
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
        let p = prove_all(&q, &bad, &blinds, &params);
        assert_ne!(p.claim.cid, published);
        assert_eq!(p.claim.correct, reference_correct(&q, &bad));
        // honest about its own data, it verifies for that data only
        verify_accuracy(&p, &params, &check(&params, &p.claim.cid.clone(), None)).unwrap();
        invalid(
            verify_accuracy(&p, &params, &check(&params, &published, None)),
            what,
        );
        // relabelling it with the published CID, or also with the published hash state, fails
        let mut t = p.clone();
        t.claim.cid = published.clone();
        invalid(
            verify_accuracy(&t, &params, &check(&params, &published, None)),
            what,
        );
        let honest = fold_state_of(&data);
        let mut t = p.clone();
        t.claim.sha_state = honest;
        t.claim.cid = published.clone();
        invalid(
            verify_accuracy(&t, &params, &check(&params, &published, None)),
            what,
        );
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
            "--insecure-random-tau",
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
    let dir = scratch_dir("accuracy-cli");
    // Its own parameters and tau, apart from the other test of this file (which proves at the
    // same time): the memory compared here is this test's proofs' alone.
    let params = dir.join("params");
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
    let tau = params.join(kerafold::fold::params::RANDOM_TAU_DIR);
    let tau = tau.to_str().unwrap().to_string();
    let mut rss = vec![];
    let mut proofs = vec![];
    for file in [fixture_file("digits_16.kfd"), packed] {
        let data = Dataset::read(&file).unwrap();
        assert!(data.len() >= 16);
        let out = dir.join(format!("{}.proof", data.len()));
        let v = cli_prove(&model, &file, &out, &params);
        let q = common::digits_model(&data);
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
            "--ptau",
            &tau,
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
            "--ptau",
            &tau,
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("below the threshold"));
        println!(
            "{} samples: peak RSS {:.0} MB folding, {:.0} MB with compression, {} of {} correct, \
             {} constraints per fold, folding {:.1}s, compression {:.1}s",
            data.len(),
            v["fold_peak_rss_mb"].as_f64().unwrap(),
            v["peak_rss_mb"].as_f64().unwrap(),
            v["correct"],
            v["samples"],
            v["step_constraints"],
            v["fold_s"].as_f64().unwrap(),
            v["compress_s"].as_f64().unwrap()
        );
        // Folding is what runs once per sample. Compression proves one folded instance whatever
        // the count, and under load its parallel temporaries peaked ±100 MB from run to run
        // (1.47x once, with folding flat at 200 MB), so the whole-process peak is printed only.
        let fold_rss = v["fold_peak_rss_mb"].as_f64().unwrap();
        assert!(fold_rss > 0.0 && fold_rss <= v["peak_rss_mb"].as_f64().unwrap());
        rss.push(fold_rss);
        proofs.push((AccuracyProof::read(&out).unwrap(), cid));
    }
    let ratio = rss[1] / rss[0];
    println!("peak memory while folding, 64 vs 16 samples: {ratio:.3}×");
    assert!(
        ratio <= 1.2,
        "folding memory grew {ratio:.2}× from 16 to 64 samples"
    );

    // tampering with the claim of the 16-sample proof
    let (proof, published) = &proofs[0];
    let c = proof.claim.correct;
    verify_accuracy(proof, &params, &check(&params, published, Some(c))).unwrap();
    let mut t = proof.clone();
    t.claim.correct += 1;
    invalid(
        verify_accuracy(&t, &params, &check(&params, published, None)),
        "higher count",
    );
    invalid(
        verify_accuracy(proof, &params, &check(&params, &proofs[1].1, None)),
        "other CID",
    );
    let mut t = proof.clone();
    t.claim.samples -= 1;
    invalid(
        verify_accuracy(&t, &params, &check(&params, published, None)),
        "fewer samples",
    );
    let mut t = proof.clone();
    let q = common::digits_model(&Dataset::read(&fixture_file("digits_16.kfd")).unwrap());
    t.claim.model.commitment =
        kerafold::fold::public_model_commitment(&q, kerafold::fold::System::Bn254Ipa).unwrap();
    invalid(
        verify_accuracy(&t, &params, &check(&params, published, None)),
        "model commitment",
    );
    let mut t = proof.clone();
    let mut b = hex::decode(&t.snark).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    t.snark = hex::encode(b);
    invalid(
        verify_accuracy(&t, &params, &check(&params, published, None)),
        "flipped byte",
    );
    // the 16-sample proof is not a proof about the 64-sample file
    let mut t = proof.clone();
    t.claim.cid = proofs[1].1.clone();
    t.claim.sha_state = proofs[1].0.claim.sha_state.clone();
    invalid(
        verify_accuracy(&t, &params, &check(&params, &proofs[1].1, None)),
        "64-sample claim",
    );
}

/// A text classifier (the `embedding` fixture) over records of token ids (bytes read as
/// integers, scale shift 0): the accuracy circuit's one-hot wires prove the lookup, sample by
/// sample, and the count is the integer model's.
#[test]
fn a_text_classifier_proves_its_accuracy_over_token_records() {
    let params = scratch_dir("accuracy-embedding");
    let fx = common::Fixture::load("embedding");
    let graph = model::load(&common::model_path("embedding", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    let fp = model::calibrate(&program, &fx.inputs).unwrap().0.fp;
    // a record's bytes may be any of 0..=255, so the activation range must hold 255·2^fa
    let q = model::quantize(
        &program,
        kerafold_step_circuits::FixedPoint {
            bits: fp.fa + 9,
            ..fp
        },
    )
    .unwrap();
    let ids: Vec<u8> = fx.inputs[..3]
        .iter()
        .flat_map(|x| x.iter().map(|&v| v as u8))
        .collect();
    // the first record with another label than Keras' class: one of three is wrong
    let labels: Vec<u8> = (0..3)
        .map(|i| (fx.keras_class(i) + usize::from(i == 0)) as u8 % 4)
        .collect();
    let data = Dataset::pack(&ids, &labels, &[10], 4, 0).unwrap();
    let correct = reference_correct(&q, &data);
    assert_eq!(correct, 2);
    let p = prove_all(&q, &data, &[], &params);
    assert_eq!(p.claim.correct, correct);
    let check = AccuracyCheck {
        model: Some(q.clone()),
        ..check(&params, &cid_of_bytes(data.as_bytes()).to_string(), None)
    };
    let verified =
        kerafold::accuracy::verify_shards(std::slice::from_ref(&p), &params, &check).unwrap();
    assert_eq!(verified.correct, correct);
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
    let q = common::digits_model(&data);
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
            &Srs::Transparent,
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
