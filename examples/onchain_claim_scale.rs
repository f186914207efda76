//! How far an on-chain-accuracy claim (a bounty paid without the host's approval) scales on this
//! machine: the shipped digits model on the first N records of its test set, as one Groth16
//! claim that runs every record. Prints one JSON line: constraints, public inputs, setup, prove
//! and verify seconds, and the process's peak RSS (run one N per process to measure each alone).
//!
//! `cargo run --release --example onchain_claim_scale -- N`

use kerafold::claim::circuit::{self, ClaimCircuit, ClaimInput, ClaimSpec};
use kerafold::claim::groth16::{self, R1cs};
use kerafold::claim::weights::{self, Opening};
use kerafold::crypto::babyjubjub::SecretKey;
use kerafold::data::dataset::{pack_npy, Dataset};
use kerafold::fold::Architecture;
use kerafold::model;
use std::path::Path;
use std::time::Instant;

fn main() -> kerafold::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits");
    let full = pack_npy(
        &dir.join("test_x.npy"),
        &dir.join("test_y.npy"),
        4,
        Some(10),
    )?
    .dataset;
    if n == 0 || n > full.len() {
        return Err(kerafold::Error::Usage(format!(
            "N must be 1..={} (the test set's records)",
            full.len()
        )));
    }
    let h = *full.header();
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        features.extend_from_slice(full.sample(i).0);
        labels.push(full.sample(i).1);
    }
    let data = Dataset::pack(
        &features,
        &labels,
        &h.shape(),
        usize::from(h.classes),
        h.scale_shift,
    )?;

    let graph = model::load(&dir.join("digits.keras"))?;
    let program = model::lower(&graph)?;
    let (q, _) = model::calibrate(&program, &full.inputs_f32())?;
    let opening = Opening::private(q.clone())?;
    let (host, hunter) = (SecretKey::random(), SecretKey::random());
    let (file, _) = weights::encrypt(&opening, &host.public(), &hunter)?;
    let spec = ClaimSpec::on_chain(Architecture::compile(&q)?, *data.header())?;
    let encrypted = file.parse()?;
    // the threshold is the model's own count: the claim that just holds
    let correct = (0..n)
        .filter(|&i| {
            q.trace(&data.quantized_input(i, q.fp.fa), Some(i))
                .map(|t| t.class == usize::from(data.sample(i).1))
                .unwrap_or(false)
        })
        .count() as u64;
    let input = ClaimInput::on_chain(&spec, &encrypted, &hunter, &data, correct, [0xa1; 20])?;

    let t = Instant::now();
    let r1cs = R1cs::of(&ClaimCircuit {
        spec: &spec,
        public: None,
        witness: None,
    })?;
    let keys = groth16::setup(&r1cs, &mut rand_core::OsRng)?;
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let proof = circuit::prove_with_key(&spec, &input, &keys)?;
    let prove_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ok = proof.verify();
    let verify_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "samples": n,
            "correct": correct,
            "constraints": proof.constraints,
            "public_inputs": input.public.inputs().len(),
            "setup_s": setup_s,
            "prove_s": prove_s,
            "verify_s": verify_s,
            "verified": ok,
            "peak_rss_mb": kerafold::sys::peak_rss_mb(),
        })
    );
    if !ok {
        return Err(kerafold::Error::Prover("the claim does not verify".into()));
    }
    Ok(())
}
