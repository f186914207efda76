//! The `kerafold` command line: a thin layer over the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kerafold::data::{dataset, Dataset, FileDag};
use kerafold::fold::{self, Srs, System, Visibility};
use kerafold::inference::{self, ProveOptions, VerifyOptions};
use kerafold::model::{self, graph::Graph, Program, QuantizedModel};
use kerafold::proofs::AnyProof;
use kerafold::{bench, Error, Result};
use kerafold_step_circuits::spec::FixedPoint;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bounty_cli;

const AFTER_HELP: &str = "\
Examples:
  kerafold inspect examples/models/cnn.keras
  kerafold run examples/models/cnn.keras --input examples/models/cnn_input.json
  kerafold prove examples/models/cnn.keras --input examples/models/cnn_input.json -o cnn.proof
  kerafold verify cnn.proof --model examples/models/cnn.keras
  kerafold dataset pack --features x.npy --labels y.npy -o test.kfd
  kerafold dataset inspect test.kfd
  kerafold cid test.kfd

Exit codes: 0 success, 1 a proof that does not verify, 2 bad usage or input.";

/// Zero-knowledge proofs of Keras model inference, folded layer by layer with Nova.
#[derive(Parser)]
#[command(name = "kerafold", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's layers, their cost, and the chosen quantization.
    #[command(
        after_help = "Each row is one step of the proof (one fold): a compute layer with the \
    relabellings before it and the activation (and folded BatchNormalization) after it."
    )]
    Inspect {
        /// Keras model (.keras or legacy .h5).
        model: PathBuf,
        #[command(flatten)]
        quant: QuantArgs,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the integer model and compare it with the float model.
    Run {
        /// Keras model (.keras or legacy .h5).
        model: PathBuf,
        /// Inputs: JSON {"input": [...]} / {"inputs": [[...], ...]}, or .npy with a batch axis.
        #[arg(long)]
        input: PathBuf,
        #[command(flatten)]
        quant: QuantArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Prove one inference and write a proof file.
    #[command(
        after_help = "Privacy: `--input private` commits to the input with a random blinding \
    (only the commitment is in the proof); `--model private` publishes only a blinded commitment to \
    the weights; `--output private` publishes a blinded commitment to the logits and the class.\n\n\
    Public parameters depend only on the architecture; they are set up once and cached in \
    --params-dir (default ./kerafold-params or $KERAFOLD_PARAMS)."
    )]
    Prove(ProveArgs),
    /// Verify a proof file (inference or accuracy) and print its claim.
    #[command(
        after_help = "For an accuracy proof, --cid checks that it is about the published dataset and \
    --min-correct that the model reaches the threshold. Exit codes: 0 valid, 1 invalid (or below \
    the threshold), 2 usage or I/O error."
    )]
    Verify(VerifyArgs),
    /// Prove a model's accuracy on a dataset file (.kfd): the correct count on exactly the file
    /// the dataset's CID names.
    #[command(
        after_help = "One fold per sample: the sample's bytes extend the SHA-256 of the file and \
    run through the whole model; the count of ArgMax = label is proven. BN254 (the field of the \
    bounty's Groth16 claim). The model is private by default: only a blinded commitment to its \
    weights is published."
    )]
    ProveAccuracy(ProveAccuracyArgs),
    /// Measure proving cost against depth on synthetic models (one child process per depth).
    #[command(after_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// One depth of `kerafold bench` (or its baseline) in this process: prints one JSON line.
    #[command(hide = true)]
    BenchRun(BenchRunArgs),
    /// Print the commitment of a public model (to publish before proving).
    Commit {
        /// Keras model (.keras or legacy .h5).
        model: PathBuf,
        #[command(flatten)]
        quant: QuantArgs,
        #[arg(long, value_enum, default_value_t = Curve::Bn254)]
        curve: Curve,
    },
    /// Build and examine dataset files (.kfd) for accuracy proofs.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Print the IPFS CID of a file (as `ipfs add --cid-version 1 --raw-leaves` gives it).
    #[command(
        after_help = "The CIDv1 (base32 'b…') of the file added to IPFS with raw leaves and the \
    default chunking (262144-byte chunks, balanced DAG of at most 174 links per node): a raw \
    block (bafkrei…) for files up to 256 KiB, a dag-pb root (bafybei…) for larger ones."
    )]
    Cid {
        /// Any file.
        file: PathBuf,
        /// Print one JSON object (CID, size, leaves, nodes, depth) instead of the CID alone.
        #[arg(long)]
        json: bool,
    },
    /// Generate a Baby Jubjub key pair for bounties (prints the public key).
    Keygen(bounty_cli::KeygenArgs),
    /// Encrypt a model's quantized weights to a bounty host (hunter).
    EncryptWeights(bounty_cli::EncryptArgs),
    /// Decrypt a hunter's weights with the host key, once its claim verifies for the bounty
    /// (host): writes a model opening.
    DecryptWeights(bounty_cli::DecryptArgs),
    /// Set up the claim circuit of a bounty: its architecture and dataset (host, before deploying
    /// the verifier).
    #[command(
        after_help = "The claim circuit depends on the model architecture (with its fixed-point \
    parameters: pass --fa --fw --bits --guard, with a guard bit or two to spare for hunters' \
    weights) and on the dataset's header. Writes, to publish: setup.json, architecture.json \
    (hunters quantize with it: --arch), claim.pk (the Groth16 proving key hunters prove with), \
    verification_key.json and verifier_args.json (the Solidity verifier's constructor \
    arguments). The keys are drawn here: whoever runs the setup could forge claims."
    )]
    ClaimSetup(ClaimSetupArgs),
    /// Prove a bounty claim (Groth16) with the host's proving key and export it for snarkjs and
    /// the EVM (hunter).
    Claim(bounty_cli::ClaimArgs),
    /// Verify a claim against the bounty: the host's key, the CID, threshold, host key and
    /// claimant, the ciphertext and the accuracy proof (host, before approving).
    VerifyClaim(bounty_cli::VerifyClaimArgs),
}

#[derive(Subcommand)]
enum DatasetCommand {
    /// Pack features and labels (.npy) into a dataset file.
    #[command(
        after_help = "Features: an array [n, ...sample shape] (rank 1 to 3 per sample). Integer \
    arrays are stored as they are (values 0..255); float arrays are stored as round(x·2^s), which \
    must fit a byte. A feature byte b stands for the model input b / 2^s.\n\
    Labels: an integer array [n] with values below the number of classes."
    )]
    Pack {
        /// Features, .npy.
        #[arg(long)]
        features: PathBuf,
        /// Labels, .npy.
        #[arg(long)]
        labels: PathBuf,
        /// Scale shift s: feature byte b stands for b / 2^s.
        #[arg(long, default_value_t = kerafold::data::dataset::DEFAULT_SCALE_SHIFT)]
        scale_shift: u8,
        /// Number of classes (default: the largest label + 1).
        #[arg(long)]
        classes: Option<usize>,
        /// Dataset file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Check a dataset file and show its shape, labels and CID.
    Inspect {
        /// Dataset file (.kfd).
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Quantization options.
#[derive(Args, Clone, Default)]
pub(crate) struct QuantArgs {
    /// Calibration inputs (same formats as --input). Default: the inputs being run or proven.
    #[arg(long)]
    calibrate: Option<PathBuf>,
    /// Fractional bits of activations (overrides calibration).
    #[arg(long, requires_all = ["fw", "bits"])]
    fa: Option<u32>,
    /// Fractional bits of weights (overrides calibration).
    #[arg(long, requires_all = ["fa", "bits"])]
    fw: Option<u32>,
    /// Activation range in bits (overrides calibration).
    #[arg(long, requires_all = ["fa", "fw"])]
    bits: Option<u32>,
    /// Least number of guard bits between packed weight lanes (with --fa/--fw/--bits): fixes the
    /// architecture in advance, e.g. for a bounty; the weights may need more.
    #[arg(long, requires_all = ["fa", "fw", "bits"])]
    guard: Option<u32>,
    /// Quantize exactly as this architecture file says (e.g. a bounty setup's
    /// architecture.json), and check the model has that very architecture.
    #[arg(long, conflicts_with_all = ["fa", "fw", "bits", "guard", "calibrate"])]
    arch: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Curve {
    /// BN254/Grumpkin (the field of Groth16 and the EVM).
    Bn254,
    /// Pallas/Vesta.
    Pasta,
}

#[derive(Args)]
struct ProveArgs {
    /// Keras model (.keras or legacy .h5).
    model: PathBuf,
    /// The input file (JSON or .npy), and/or `public` | `private` (default public).
    #[arg(long = "input", value_name = "FILE|public|private", required = true)]
    input: Vec<String>,
    /// Which sample of the input file to prove.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Proof file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Model visibility.
    #[arg(long = "model", value_enum, default_value_t = Vis::Public)]
    model_vis: Vis,
    /// Output visibility (private: only a commitment to the logits, plus the class).
    #[arg(long = "output", value_enum, default_value_t = Vis::Public)]
    output_vis: Vis,
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
    /// Use HyperKZG on BN254 with powers of tau from this directory (snarkjs/PPOT .ptau files).
    #[arg(long, conflicts_with = "insecure_random_tau")]
    ptau: Option<PathBuf>,
    /// Use HyperKZG with a random tau drawn here and kept in PARAMS_DIR/insecure-random-tau/
    /// (verify with --ptau that directory). INSECURE: whoever reads it can forge proofs; for
    /// tests and demos only.
    #[arg(long)]
    insecure_random_tau: bool,
    /// Parameter cache.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    #[command(flatten)]
    quant: QuantArgs,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

const BENCH_HELP: &str = "\
Each depth is proven in its own child process with a fresh parameter directory, so setup is \
measured from scratch and the peak RSS is that depth's alone. Per-step costs (prove_s, \
per_step_s) grow with depth; setup, compression, verification, proof size and memory should not. \
The raw-Nova baseline folds a synthetic circuit of the same size (constraints, variables, \
non-zeros, witness value sizes) with nova-snark directly; ratio = per_step_s / baseline_step_s.

Examples:
  kerafold bench --kind dense --width 16 --depths 1,2,4 --csv out.csv
  kerafold bench --kind dense --width 64 --depths 1-256 --csv dense.csv --plot dense.svg
  kerafold bench --kind cnn-block --width 4 --size 8 --depths 1-32";

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum BenchKind {
    /// DEPTH x Dense(WIDTH -> WIDTH, ReLU).
    Dense,
    /// DEPTH x Conv2D 3x3 same, WIDTH filters, ReLU, on SIZE x SIZE x WIDTH.
    Conv,
    /// DEPTH residual blocks (conv-ReLU-conv, Add, ReLU) on SIZE x SIZE x WIDTH.
    CnnBlock,
}

impl From<BenchKind> for bench::Kind {
    fn from(k: BenchKind) -> Self {
        match k {
            BenchKind::Dense => bench::Kind::Dense,
            BenchKind::Conv => bench::Kind::Conv,
            BenchKind::CnnBlock => bench::Kind::CnnBlock,
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    #[arg(long, value_enum, default_value_t = BenchKind::Dense)]
    kind: BenchKind,
    /// Dense units, or channels of conv / cnn-block [default: 16 for dense, 4 otherwise].
    #[arg(long)]
    width: Option<usize>,
    /// Height and width of the conv / cnn-block input.
    #[arg(long, default_value_t = 8)]
    size: usize,
    /// Depths (layers, or residual blocks): a list `1,2,4` or powers of two `1-256`.
    #[arg(long, default_value = "1,2,4,8")]
    depths: String,
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
    /// Write the results as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Draw prove time, verify time and peak memory against depth (SVG).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Where each depth's fresh parameter directory is made [default: a temporary directory].
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Keep each depth's parameters and proof file.
    #[arg(long)]
    keep_params: bool,
    /// Seed of the synthetic weights and input.
    #[arg(long, default_value_t = bench::synth::DEFAULT_SEED)]
    seed: u64,
    /// Steady-state folds the raw-Nova baseline times.
    #[arg(long, default_value_t = 5)]
    baseline_steps: usize,
}

#[derive(Args)]
struct BenchRunArgs {
    #[arg(long, value_enum)]
    kind: BenchKind,
    #[arg(long)]
    width: usize,
    #[arg(long)]
    size: usize,
    #[arg(long)]
    depth: usize,
    #[arg(long)]
    seed: u64,
    #[arg(long, value_enum)]
    curve: Curve,
    /// Parameter directory (required unless --baseline).
    #[arg(long, required_unless_present = "baseline")]
    params_dir: Option<PathBuf>,
    /// Run the raw-Nova baseline for this model's step instead.
    #[arg(long)]
    baseline: bool,
    #[arg(long, default_value_t = 5)]
    baseline_steps: usize,
}

#[derive(Args)]
struct VerifyArgs {
    /// Proof file written by `kerafold prove` or `kerafold prove-accuracy`.
    proof: PathBuf,
    /// The model file (public models): rebuilds the architecture and recomputes the model
    /// commitment. A private-model proof refuses it (its weights cannot be checked): give
    /// --arch instead.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The architecture file (JSON, e.g. `architecture.json` from `kerafold claim-setup`, or the
    /// prover's `arch.json`): checked against the proof's architecture digest.
    #[arg(long, conflicts_with = "model")]
    arch: Option<PathBuf>,
    /// The input file: compared with a public input (sample --sample).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Which sample of the input file.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Accuracy proofs: the published CID of the dataset.
    #[arg(long)]
    cid: Option<String>,
    /// Accuracy proofs: the least number of correct samples to accept.
    #[arg(long)]
    min_correct: Option<usize>,
    /// Parameter cache.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Powers of tau directory (snarkjs/PPOT .ptau files): required for bn254-kzg proofs, whose
    /// verifier key is derived from the powers of tau you name, never taken from the prover.
    #[arg(long)]
    ptau: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ClaimSetupArgs {
    /// A Keras model of the bounty's architecture (its weights are not used).
    model: PathBuf,
    /// The bounty's dataset file.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    quant: QuantArgs,
    /// Directory to write the setup into (the files to publish).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

#[derive(Args)]
struct ProveAccuracyArgs {
    /// Keras model (.keras or legacy .h5).
    model: PathBuf,
    /// Dataset file (`kerafold dataset pack`).
    #[arg(long)]
    data: PathBuf,
    /// Proof file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Model visibility.
    #[arg(long = "model", value_enum, default_value_t = Vis::Private)]
    model_vis: Vis,
    /// Curve (accuracy proofs are on BN254).
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
    /// Parameter cache.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Quantization (default: calibrated on the dataset's samples).
    #[command(flatten)]
    quant: QuantArgs,
    /// For a private model: write the model opening (the quantized model and the commitment's
    /// blindings) here; `encrypt-weights` needs it to claim a bounty.
    #[arg(long)]
    opening: Option<PathBuf>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Vis {
    Public,
    Private,
}

impl From<Vis> for Visibility {
    fn from(v: Vis) -> Self {
        match v {
            Vis::Public => Visibility::Public,
            Vis::Private => Visibility::Private,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { model, quant, json } => inspect(&model, &quant, json),
        Command::Run {
            model,
            input,
            quant,
            json,
        } => run(&model, &input, &quant, json),
        Command::Prove(args) => prove(args),
        Command::Verify(args) => verify(args),
        Command::ProveAccuracy(args) => prove_accuracy(args),
        Command::Commit {
            model,
            quant,
            curve,
        } => commit(&model, &quant, curve),
        Command::Bench(args) => bench_cmd(args),
        Command::BenchRun(args) => bench_run(args),
        Command::Dataset(DatasetCommand::Pack {
            features,
            labels,
            scale_shift,
            classes,
            out,
        }) => dataset_pack(&features, &labels, scale_shift, classes, &out),
        Command::Dataset(DatasetCommand::Inspect { file, json }) => dataset_inspect(&file, json),
        Command::Cid { file, json } => cid(&file, json),
        Command::Keygen(a) => bounty_cli::keygen(a),
        Command::EncryptWeights(a) => bounty_cli::encrypt(a, |m, q| Ok(load_model(m, q, &[])?.2)),
        Command::DecryptWeights(a) => bounty_cli::decrypt(a),
        Command::ClaimSetup(a) => claim_setup(a),
        Command::Claim(a) => bounty_cli::claim(a),
        Command::VerifyClaim(a) => bounty_cli::verify_claim(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Loads, lowers and quantizes a model. Calibration inputs: `--calibrate`, else `fallback`.
fn load_model(
    path: &Path,
    quant: &QuantArgs,
    fallback: &[Vec<f32>],
) -> Result<(
    Graph,
    Program,
    QuantizedModel,
    Option<model::quant::Calibration>,
)> {
    let graph = model::load(path)?;
    let program = model::lower(&graph)?;
    if let Some(arch_path) = &quant.arch {
        let want = fold::Architecture::read(arch_path)?;
        let q = model::quantize(&program, want.fp)?;
        let got = fold::Architecture::compile(&q)?;
        if got.digest() != want.digest() {
            return Err(Error::Usage(if got.fp != want.fp {
                format!(
                    "{}: the weights need {} guard bits, {} allows {}: the model cannot be proven with this architecture",
                    path.display(),
                    got.fp.guard,
                    arch_path.display(),
                    want.fp.guard
                )
            } else {
                format!(
                    "{}: the model's layers differ from the architecture in {}",
                    path.display(),
                    arch_path.display()
                )
            }));
        }
        return Ok((graph, program, q, None));
    }
    if let (Some(fa), Some(fw), Some(bits)) = (quant.fa, quant.fw, quant.bits) {
        let q = model::quantize(
            &program,
            FixedPoint {
                fa,
                fw,
                bits,
                guard: quant.guard.unwrap_or(1),
            },
        )?;
        return Ok((graph, program, q, None));
    }
    let calib = match &quant.calibrate {
        Some(p) => model::input::read_inputs(p, &graph.input_shape)?,
        None => fallback.to_vec(),
    };
    if calib.is_empty() {
        return Err(Error::Usage(
            "no calibration inputs: pass --calibrate FILE or --fa/--fw/--bits".into(),
        ));
    }
    let (q, cal) = model::calibrate(&program, &calib)?;
    Ok((graph, program, q, Some(cal)))
}

fn shape_str(s: &[usize]) -> String {
    format!(
        "({})",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("×")
    )
}

fn inspect(path: &Path, quant: &QuantArgs, json_out: bool) -> Result<()> {
    let graph = model::load(path)?;
    // Without calibration data, calibrate on a neutral input (all 0.5) so the report has numbers.
    let neutral = vec![vec![0.5f32; graph.input_len()]];
    let (_, program, q, cal) = load_model(path, quant, &neutral)?;
    let report = kerafold::inspect::report(&graph, &program, &q)?;
    if json_out {
        let mut v = serde_json::to_value(&report).expect("report serializes");
        if let Some(c) = cal {
            v["calibration"] = serde_json::to_value(c).expect("calibration serializes");
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "model '{}': input {}, {} steps",
        graph.name,
        shape_str(&graph.input_shape),
        report.layers.len()
    );
    println!(
        "{:<32} {:<10} {:>14} {:>14} {:>8} {:>9} {:>8} {:>11}",
        "step (layers)", "kind", "input", "output", "params", "MACs", "outputs", "constraints"
    );
    for l in &report.layers {
        println!(
            "{:<32} {:<10} {:>14} {:>14} {:>8} {:>9} {:>8} {:>11}",
            l.name,
            l.kind,
            shape_str(&l.input_shape),
            shape_str(&l.output_shape),
            l.params,
            l.macs,
            l.outputs,
            l.constraints
        );
    }
    let fp = q.fp;
    println!(
        "\nquantization: activations 2^-{} ({}-bit range ±{:.3}), weights 2^-{}",
        fp.fa,
        fp.bits,
        fp.max() as f64 / (1u64 << fp.fa) as f64,
        fp.fw
    );
    if let Some(c) = cal {
        println!(
            "calibration on {} input(s): largest activation {:.3}, top-1 agreement {:.1}%, relative logit error {:.2e}{}",
            c.samples,
            c.max_activation,
            c.top1_agreement * 100.0,
            c.relative_error,
            if quant.calibrate.is_none() { " (neutral input; pass --calibrate FILE for real data)" } else { "" }
        );
    }
    let s = &report.step_circuit;
    println!(
        "step circuit: {} constraints per step ({} slots, bus of {} values); idle share per step {:.0}%–{:.0}%",
        s.constraints_per_step,
        s.slots,
        s.bus_width,
        s.idle_share_min * 100.0,
        s.idle_share_max * 100.0
    );
    Ok(())
}

fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

fn run(path: &Path, input: &Path, quant: &QuantArgs, json_out: bool) -> Result<()> {
    let graph = model::load(path)?;
    let inputs = model::input::read_inputs(input, &graph.input_shape)?;
    let (_, _, q, _) = load_model(path, quant, &inputs)?;
    let mut samples = vec![];
    let (mut max_err, mut agree) = (0f64, 0usize);
    for (i, x) in inputs.iter().enumerate() {
        let fl = model::float::forward(&graph, x)?;
        let t = q.trace(&q.quantize_input(x, Some(i))?, Some(i))?;
        let logits: Vec<f64> = t.logits.iter().map(|&v| q.dequantize(v)).collect();
        let out = if q.softmax {
            softmax(&logits)
        } else {
            logits.clone()
        };
        let fclass = model::quant::argmax_f(&fl.logits);
        for (a, b) in out.iter().zip(&fl.output) {
            max_err = max_err.max((a - b).abs());
        }
        if fclass == t.class {
            agree += 1;
        }
        samples.push(json!({
            "output": out,
            "float_output": fl.output,
            "class": t.class,
            "float_class": fclass,
        }));
    }
    let agreement = agree as f64 / inputs.len().max(1) as f64;
    if json_out {
        println!(
            "{}",
            json!({"samples": samples, "max_abs_error": max_err, "top1_agreement": agreement})
        );
        return Ok(());
    }
    for (i, s) in samples.iter().enumerate() {
        let fmt = |v: &serde_json::Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| format!("{:.4}", x.as_f64().unwrap_or(f64::NAN)))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        println!(
            "sample {i}: class {} (float {})",
            s["class"], s["float_class"]
        );
        println!("  integer: {}", fmt(&s["output"]));
        println!("  float:   {}", fmt(&s["float_output"]));
    }
    println!(
        "max abs error {max_err:.3e}, top-1 agreement {:.1}% ({agree}/{}), fixed point fa={} fw={} bits={}",
        agreement * 100.0,
        inputs.len(),
        q.fp.fa,
        q.fp.fw,
        q.fp.bits
    );
    Ok(())
}

fn system(curve: Curve, kzg: bool) -> System {
    match (curve, kzg) {
        (Curve::Pasta, _) => System::PastaIpa,
        (Curve::Bn254, true) => System::Bn254Kzg,
        (Curve::Bn254, false) => System::Bn254Ipa,
    }
}

fn prove(a: ProveArgs) -> Result<()> {
    let mut file = None;
    let mut input_vis = Visibility::Public;
    for v in &a.input {
        match v.as_str() {
            "public" => input_vis = Visibility::Public,
            "private" => input_vis = Visibility::Private,
            f => {
                if file.replace(PathBuf::from(f)).is_some() {
                    return Err(Error::Usage("give one input file".into()));
                }
            }
        }
    }
    let file = file.ok_or_else(|| Error::Usage("--input FILE is required".into()))?;
    if a.curve == Curve::Pasta && (a.ptau.is_some() || a.insecure_random_tau) {
        return Err(Error::Usage(
            "--ptau and --insecure-random-tau apply to --curve bn254 only".into(),
        ));
    }
    let graph = model::load(&a.model)?;
    let inputs = model::input::read_inputs(&file, &graph.input_shape)?;
    let x = inputs.get(a.sample).ok_or_else(|| {
        Error::Usage(format!(
            "sample {} requested, {} has {}",
            a.sample,
            file.display(),
            inputs.len()
        ))
    })?;
    let (_, _, q, _) = load_model(&a.model, &a.quant, &inputs)?;
    let xq = q.quantize_input(x, Some(a.sample))?;
    let kzg = a.ptau.is_some() || a.insecure_random_tau;
    let random_tau = a.insecure_random_tau;
    let srs = match (&a.ptau, a.insecure_random_tau) {
        (Some(d), _) => Srs::Ptau(d.clone()),
        (None, true) => {
            eprintln!("warning: --insecure-random-tau: anyone who saw this machine's tau can forge proofs; for tests only");
            Srs::InsecureRandomTau
        }
        _ => Srs::Transparent,
    };
    let opts = ProveOptions {
        system: system(a.curve, kzg),
        srs,
        input: input_vis,
        model: a.model_vis.into(),
        output: a.output_vis.into(),
        params_dir: a.params_dir.unwrap_or_else(fold::default_params_dir),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:40} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut on = |p: fold::Progress| match p {
        fold::Progress::Setup => bar.set_message("public parameters"),
        fold::Progress::Fold { step, of, name } => {
            bar.set_length(of as u64);
            bar.set_position(step as u64 + 1);
            bar.set_message(format!("fold {name}"));
        }
        fold::Progress::Compress => bar.set_message("compress (zero-knowledge SNARK)"),
    };
    let (proof, stats) = inference::prove(&q, &xq, &opts, &mut on)?;
    bar.finish_and_clear();
    proof.write(&a.out)?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let per_step: f64 = if stats.steps.is_empty() {
        0.0
    } else {
        stats.steps.iter().map(|d| d.as_secs_f64()).sum::<f64>() / stats.steps.len() as f64
    };
    if a.json {
        println!(
            "{}",
            json!({
                "proof": a.out, "system": proof.system, "steps": proof.claim.steps,
                "class": proof.claim.class,
                "setup_s": stats.setup.as_secs_f64(), "params_cached": stats.params_cached,
                "prove_s": stats.steps.iter().map(|d| d.as_secs_f64()).sum::<f64>(),
                "per_step_s": per_step, "compress_s": stats.compress.as_secs_f64(),
                "peak_rss_mb": peak_rss_mb(),
                "step_constraints": stats.step_constraints,
                "primary_constraints": stats.primary_constraints,
                "secondary_constraints": stats.secondary_constraints,
                "proof_bytes": size,
            })
        );
    } else {
        println!(
            "proved {} steps of '{}' ({}): class {}",
            proof.claim.steps, q.name, proof.system, proof.claim.class
        );
        println!(
            "setup {:.1}s{}, folding {:.1}s ({:.2}s/step), compression {:.1}s",
            stats.setup.as_secs_f64(),
            if stats.params_cached { " (cached)" } else { "" },
            stats.steps.iter().map(|d| d.as_secs_f64()).sum::<f64>(),
            per_step,
            stats.compress.as_secs_f64()
        );
        println!(
            "constraints per step: {} (layer circuit) / {} (with Nova's verifier circuit); proof {} bytes -> {}",
            stats.step_constraints,
            stats.primary_constraints,
            size,
            a.out.display()
        );
    }
    if random_tau {
        eprintln!(
            "note: verify with --ptau {} (the random tau's powers; insecure)",
            opts.params_dir.join(fold::params::RANDOM_TAU_DIR).display()
        );
    }
    Ok(())
}

/// Peak resident memory of this process in MB (getrusage).
fn peak_rss_mb() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the zeroed struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    ru.ru_maxrss as f64 / 1024.0
}

fn verify(a: VerifyArgs) -> Result<()> {
    let VerifyArgs {
        proof: proof_path,
        model: model_path,
        arch: arch_path,
        input: input_path,
        sample,
        cid,
        min_correct,
        params_dir,
        ptau,
        json: json_out,
    } = a;
    let (proof_path, model_path, input_path) = (
        proof_path.as_path(),
        model_path.as_deref(),
        input_path.as_deref(),
    );
    let proof = match AnyProof::read(proof_path)? {
        AnyProof::Accuracy(p) => {
            if input_path.is_some() {
                return Err(Error::Usage(
                    "--input applies to inference proofs; accuracy proofs take --cid".into(),
                ));
            }
            return verify_accuracy(
                &p,
                model_path,
                arch_path.as_deref(),
                cid,
                min_correct,
                params_dir,
                json_out,
            );
        }
        AnyProof::Inference(p) => p,
    };
    if cid.is_some() || min_correct.is_some() {
        return Err(Error::Usage(
            "--cid and --min-correct apply to accuracy proofs; this is an inference proof".into(),
        ));
    }
    let fp = proof.claim.fixed_point;
    let model = match model_path {
        Some(p) => {
            let graph = model::load(p)?;
            Some(model::quantize(&model::lower(&graph)?, fp)?)
        }
        None => None,
    };
    let input = match input_path {
        Some(p) => {
            let shape = model
                .as_ref()
                .map(|m| m.input_shape.clone())
                .ok_or_else(|| {
                    Error::Usage("--input needs --model (to read the input's shape)".into())
                })?;
            let xs = model::input::read_inputs(p, &shape)?;
            let x = xs.get(sample).ok_or_else(|| {
                Error::Usage(format!(
                    "sample {sample} requested, the file has {}",
                    xs.len()
                ))
            })?;
            Some(
                model
                    .as_ref()
                    .expect("checked")
                    .quantize_input(x, Some(sample))?,
            )
        }
        None => None,
    };
    let opts = VerifyOptions {
        params_dir: params_dir.unwrap_or_else(fold::default_params_dir),
        srs: ptau.map(Srs::Ptau),
        model,
        arch: arch_path
            .as_deref()
            .map(fold::Architecture::read)
            .transpose()?,
        input,
    };
    let v = inference::verify(&proof, &opts)?;
    let c = &v.claim;
    if json_out {
        println!(
            "{}",
            json!({"valid": true, "system": proof.system, "claim": c,
                   "model_checked": v.model_checked, "input_checked": v.input_checked})
        );
        return Ok(());
    }
    println!(
        "valid proof ({}) of {} steps (model labelled '{}' by the prover; names are not proven)",
        proof.system, c.steps, c.model_name
    );
    println!("  class: {}", c.class);
    match &c.output {
        inference::Opening::Public { values } => {
            let s = (1u64 << fp.fa) as f64;
            println!(
                "  logits: {}",
                values
                    .iter()
                    .map(|v| format!("{:.4}", *v as f64 / s))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        inference::Opening::Private { commitment } => {
            println!("  output: private, commitment {commitment}")
        }
    }
    match &c.input {
        inference::Opening::Public { .. } => println!(
            "  input: public{}",
            if v.input_checked {
                ", matches the input file"
            } else {
                ""
            }
        ),
        inference::Opening::Private { commitment } => {
            println!("  input: private, commitment {commitment}")
        }
    }
    println!(
        "  model: {}, commitment {}{}",
        c.model.visibility,
        c.model.commitment,
        if v.model_checked {
            " (recomputed from the model file)"
        } else if c.model.visibility == Visibility::Public {
            " (not checked against a file: pass --model)"
        } else {
            ""
        }
    );
    Ok(())
}

fn commit(path: &Path, quant: &QuantArgs, curve: Curve) -> Result<()> {
    let graph = model::load(path)?;
    let neutral = vec![vec![0.5f32; graph.input_len()]];
    if quant.fa.is_none() && quant.calibrate.is_none() {
        eprintln!("note: the commitment depends on the fixed-point parameters; pass --fa/--fw/--bits (or --calibrate) and prove with the same ones");
    }
    let (_, _, q, _) = load_model(path, quant, &neutral)?;
    let c = fold::public_model_commitment(&q, system(curve, false))?;
    println!(
        "{}",
        json!({"model": q.name, "curve": match curve { Curve::Bn254 => "bn254", Curve::Pasta => "pasta" },
               "fa": q.fp.fa, "fw": q.fp.fw, "bits": q.fp.bits, "commitment": c})
    );
    Ok(())
}

fn curve_system(curve: Curve) -> System {
    system(curve, false)
}

fn bench_cmd(a: BenchArgs) -> Result<()> {
    let kind: bench::Kind = a.kind.into();
    let opts = bench::BenchOptions {
        kind,
        width: a.width.unwrap_or_else(|| kind.default_width()),
        size: a.size,
        depths: bench::parse_depths(&a.depths)?,
        system: curve_system(a.curve),
        seed: a.seed,
        params_dir: a.params_dir,
        keep_params: a.keep_params,
        baseline_steps: a.baseline_steps,
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the kerafold binary: {e}")))?;
    let report = bench::run(&opts, &exe, &mut |line| eprintln!("bench: {line}"))?;
    if let Some(path) = &a.csv {
        let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        bench::write_csv(&report.rows, &mut f).map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = &a.plot {
        bench::plot::plot_svg(&report, path)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serializes")
        );
    } else {
        print!("{}", bench::table(&report));
    }
    Ok(())
}

fn dataset_pack(
    features: &Path,
    labels: &Path,
    scale_shift: u8,
    classes: Option<usize>,
    out: &Path,
) -> Result<()> {
    let packed = dataset::pack_npy(features, labels, scale_shift, classes)?;
    let d = &packed.dataset;
    d.write(out)?;
    let h = d.header();
    println!(
        "packed {} samples of shape {}, {} classes, feature = byte / 2^{}: records of {} bytes, \
         {} bytes -> {}",
        d.len(),
        shape_str(&h.shape()),
        h.classes,
        h.scale_shift,
        h.record_size(),
        d.as_bytes().len(),
        out.display()
    );
    if packed.rounded > 0 {
        println!(
            "note: {} float feature(s) were not multiples of 2^-{} and were rounded (largest \
             error {:.3e})",
            packed.rounded, h.scale_shift, packed.max_rounding_error
        );
    }
    println!("cid: {}", FileDag::of_bytes(d.as_bytes()).cid());
    Ok(())
}

fn dataset_inspect(path: &Path, json_out: bool) -> Result<()> {
    let d = Dataset::read(path)?;
    let h = d.header();
    let dag = FileDag::of_bytes(d.as_bytes());
    let hist = d.label_histogram();
    if json_out {
        println!(
            "{}",
            json!({
                "file": path, "version": kerafold::data::dataset::VERSION,
                "shape": h.shape(), "features": h.features(), "count": d.len(),
                "classes": h.classes, "scale_shift": h.scale_shift,
                "record_size": h.record_size(), "file_size": d.as_bytes().len(),
                "label_histogram": hist, "cid": dag.cid(), "leaves": dag.leaves.len(),
            })
        );
        return Ok(());
    }
    println!("dataset {}", path.display());
    println!(
        "  samples: {} of shape {} ({} features, value = byte / 2^{})",
        d.len(),
        shape_str(&h.shape()),
        h.features(),
        h.scale_shift
    );
    println!(
        "  records: {} bytes each, file {} bytes",
        h.record_size(),
        d.as_bytes().len()
    );
    println!(
        "  labels ({} classes): {}",
        h.classes,
        hist.iter()
            .enumerate()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  cid: {} ({} leaf block{})",
        dag.cid(),
        dag.leaves.len(),
        if dag.leaves.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

fn cid(path: &Path, json_out: bool) -> Result<()> {
    let dag = FileDag::of_file(path)?;
    if json_out {
        println!(
            "{}",
            json!({"file": path, "cid": dag.cid(), "size": dag.size, "leaves": dag.leaves.len(),
                   "nodes": dag.nodes.len(), "depth": dag.depth()})
        );
    } else {
        println!("{}", dag.cid());
    }
    Ok(())
}

fn prove_accuracy(a: ProveAccuracyArgs) -> Result<()> {
    if a.curve != Curve::Bn254 {
        return Err(Error::Usage(
            "accuracy proofs are on BN254 (the field of the bounty's Groth16 claim)".into(),
        ));
    }
    let data = Dataset::read(&a.data)?;
    let graph = model::load(&a.model)?;
    data.check_input_shape(&graph.input_shape)?;
    let (_, _, q, _) = load_model(&a.model, &a.quant, &data.inputs_f32())?;
    let bar = ProgressBar::new(data.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:28} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let params = a.params_dir.unwrap_or_else(fold::default_params_dir);
    let mut on = |p: fold::Progress| match p {
        fold::Progress::Setup => bar.set_message("public parameters"),
        fold::Progress::Fold { step, .. } => {
            bar.set_position(step as u64 + 1);
            bar.set_message("fold samples");
        }
        fold::Progress::Compress => bar.set_message("compress (zero-knowledge SNARK)"),
    };
    let blinds = match a.model_vis {
        Vis::Public => vec![],
        Vis::Private => kerafold::accuracy::random_blinds(&q)?,
    };
    let (proof, stats) = kerafold::accuracy::prove_accuracy(&q, &data, &blinds, &params, &mut on)?;
    bar.finish_and_clear();
    proof.write(&a.out)?;
    if let Some(path) = &a.opening {
        let opening = kerafold::claim::weights::Opening {
            model: q.clone(),
            blinds,
        };
        kerafold::claim::weights::ModelOpening::new(&opening)?.write(path)?;
    } else if a.model_vis == Vis::Private && !a.json {
        eprintln!("note: without --opening FILE the commitment's blindings are not kept; the weights cannot be encrypted for a bounty claim");
    }
    let c = &proof.claim;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let fold_s: f64 = stats.steps.iter().map(|d| d.as_secs_f64()).sum();
    if a.json {
        println!(
            "{}",
            json!({
                "proof": a.out, "cid": c.cid, "samples": c.samples, "correct": c.correct,
                "model_commitment": c.model.commitment, "setup_s": stats.setup.as_secs_f64(),
                "params_cached": stats.params_cached, "fold_s": fold_s,
                "compress_s": stats.compress.as_secs_f64(), "step_constraints": stats.step_constraints,
                "primary_constraints": stats.primary_constraints, "proof_bytes": size,
                "peak_rss_mb": peak_rss_mb(),
            })
        );
    } else {
        println!(
            "proved: '{}' is right on {} of {} samples of dataset {}",
            q.name, c.correct, c.samples, c.cid
        );
        println!(
            "model commitment ({:?}): {}",
            c.model.visibility, c.model.commitment
        );
        println!(
            "setup {:.1}s{}, folding {:.1}s ({:.2}s/sample), compression {:.1}s; {} constraints per fold; proof {} bytes -> {}",
            stats.setup.as_secs_f64(),
            if stats.params_cached { " (cached)" } else { "" },
            fold_s,
            fold_s / c.samples.max(1) as f64,
            stats.compress.as_secs_f64(),
            stats.step_constraints,
            size,
            a.out.display()
        );
    }
    Ok(())
}

fn bench_run(a: BenchRunArgs) -> Result<()> {
    let spec = bench::SynthSpec {
        kind: a.kind.into(),
        width: a.width,
        size: a.size,
        depth: a.depth,
        seed: a.seed,
    };
    let system = curve_system(a.curve);
    let json = if a.baseline {
        let r = bench::run_baseline(&spec, system, a.baseline_steps)?;
        serde_json::to_string(&r)
    } else {
        let dir = a.params_dir.expect("clap requires it");
        let tag = format!("depth {}", spec.depth);
        let m = bench::measure(&spec, system, &dir, &mut |s| eprintln!("bench: {tag}: {s}"))?;
        serde_json::to_string(&m)
    };
    println!("{}", json.expect("results serialize"));
    Ok(())
}

fn verify_accuracy(
    proof: &kerafold::accuracy::AccuracyProof,
    model_path: Option<&Path>,
    arch_path: Option<&Path>,
    cid: Option<String>,
    min_correct: Option<usize>,
    params_dir: Option<PathBuf>,
    json_out: bool,
) -> Result<()> {
    let model = match model_path {
        Some(p) => {
            let graph = model::load(p)?;
            Some(model::quantize(
                &model::lower(&graph)?,
                proof.claim.fixed_point,
            )?)
        }
        None => None,
    };
    let check = kerafold::accuracy::AccuracyCheck {
        cid: cid.clone(),
        min_correct,
        model,
        arch: arch_path.map(fold::Architecture::read).transpose()?,
    };
    let params = params_dir.unwrap_or_else(fold::default_params_dir);
    let c = kerafold::accuracy::verify_accuracy(proof, &params, &check)?;
    if json_out {
        println!(
            "{}",
            json!({"valid": true, "kind": "accuracy", "claim": c, "cid_checked": cid.is_some(),
                   "accuracy": c.correct as f64 / c.samples.max(1) as f64})
        );
        return Ok(());
    }
    println!(
        "valid accuracy proof: the model (labelled '{}' by the prover) is right on {} of {} samples ({:.1}%)",
        c.model_name,
        c.correct,
        c.samples,
        100.0 * c.correct as f64 / c.samples.max(1) as f64
    );
    println!(
        "  dataset: {}{}",
        c.cid,
        if cid.is_some() {
            " (matches --cid)"
        } else {
            " (pass --cid to check it is the published one)"
        }
    );
    if let Some(k) = min_correct {
        println!("  threshold: at least {k} correct: met");
    }
    println!(
        "  model: {}, commitment {}",
        c.model.visibility, c.model.commitment
    );
    Ok(())
}

fn claim_setup(a: ClaimSetupArgs) -> Result<()> {
    let data = Dataset::read(&a.data)?;
    let graph = model::load(&a.model)?;
    data.check_input_shape(&graph.input_shape)?;
    if a.quant.guard.is_none() && a.quant.arch.is_none() {
        eprintln!("note: pass --fa --fw --bits --guard to fix the architecture hunters must match (see architecture.json)");
    }
    let (_, _, q, _) = load_model(&a.model, &a.quant, &data.inputs_f32())?;
    let r = kerafold::claim::flow::Setup::create(&q, &data, &a.out)?;
    eprintln!(
        "publish these files for hunters and verifiers: {}",
        r.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{}",
        json!({"constraints": r.constraints, "architecture": r.architecture, "out": a.out,
               "files": r.files, "fa": q.fp.fa, "fw": q.fp.fw, "bits": q.fp.bits,
               "guard": q.fp.guard})
    );
    Ok(())
}
