//! End to end through the Rust API: load the shipped Keras model, quantize it, prove one
//! inference (one Nova fold per layer, then the zero-knowledge compressed SNARK), and verify.
//!
//! `cargo run --release --example prove_mnist [SAMPLE]`

use kerafold::fold::{self, Visibility};
use kerafold::inference::{self, ProveOptions, VerifyOptions};
use kerafold::model;
use std::path::Path;

fn main() -> kerafold::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mnist");
    let sample: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);

    // 1. import and quantize (calibrating on the example inputs)
    let graph = model::load(&dir.join("mnist.keras"))?;
    let inputs = model::read_inputs(&dir.join("digits.json"), &graph.input_shape)?;
    let program = model::lower(&graph)?;
    let (q, cal) = model::calibrate(&program, &inputs)?;
    println!(
        "{}: {} steps, fixed point fa={} fw={} bits={} (top-1 agreement with float {:.0}%)",
        q.name,
        q.steps.len(),
        q.fp.fa,
        q.fp.fw,
        q.fp.bits,
        cal.top1_agreement * 100.0
    );
    let x = inputs
        .get(sample)
        .ok_or_else(|| kerafold::Error::Usage(format!("sample {sample} out of range")))?;
    let float = model::forward(&graph, x)?;

    // 2. prove: private input, public model
    let opts = ProveOptions {
        input: Visibility::Private,
        ..ProveOptions::default()
    };
    let xq = q.quantize_input(x, Some(sample))?;
    let (proof, stats) = inference::prove(&q, &xq, &opts, &mut |p| {
        if let fold::Progress::Fold { step, of, name } = p {
            eprintln!("  fold {}/{of}: {name}", step + 1);
        }
    })?;
    println!(
        "proved class {} (float model: {}) in {:.1}s folding + {:.1}s compression, {} constraints per step",
        proof.claim.class,
        model::quant::argmax_f(&float.logits),
        stats.steps.iter().map(|d| d.as_secs_f64()).sum::<f64>(),
        stats.compress.as_secs_f64(),
        stats.step_constraints
    );

    // 3. verify, recomputing the public model's commitment from the file
    let verified = inference::verify(
        &proof,
        &VerifyOptions {
            model: Some(q.clone()),
            ..VerifyOptions::default()
        },
    )?;
    println!(
        "verified: class {}, model commitment {} (checked against the model file: {})",
        verified.claim.class, verified.claim.model.commitment, verified.model_checked
    );
    Ok(())
}
