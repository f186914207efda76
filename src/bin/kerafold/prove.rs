//! `prove` and `prove-accuracy`, with a progress bar on stderr.

use crate::args::{Curve, ParamsArgs, QuantArgs, SrsArgs, Vis};
use crate::print;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kerafold::commands::prove::{self, ProveAccuracyRequest, ProveRequest};
use kerafold::fold::{Progress, StepSize, Stepping, Visibility};
use kerafold::inference::ProveOptions;
use kerafold::{Error, Result};
use std::path::PathBuf;

#[derive(Args)]
#[command(
    after_help = "Privacy: `--input-visibility private` commits to the input with a random \
    blinding (only the commitment is in the proof); `--model-visibility private` publishes only a \
    blinded commitment to the weights; `--output-visibility private` publishes a blinded \
    commitment to the logits, and the class.\n\n\
    Public parameters depend only on the architecture; they are set up once and cached in \
    --params-dir (default ./kerafold-params or $KERAFOLD_PARAMS)."
)]
pub(crate) struct ProveArgs {
    /// Keras model (.keras or legacy .h5).
    model: PathBuf,
    /// The input file: JSON {"input": [...]} / {"inputs": [[...], ...]}, or .npy.
    #[arg(long)]
    input: PathBuf,
    /// Which sample of the input file to prove.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Proof file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Who may see the input (private: only a blinded commitment is in the proof).
    #[arg(long, value_enum, default_value_t = Vis::Public)]
    input_visibility: Vis,
    /// Who may see the weights (private: only a blinded commitment is in the proof).
    #[arg(long, alias = "model", value_enum, default_value_t = Vis::Public)]
    model_visibility: Vis,
    /// Who may see the logits (private: only a commitment to them, plus the class).
    #[arg(long, alias = "output", value_enum, default_value_t = Vis::Public)]
    output_visibility: Vis,
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
    #[command(flatten)]
    srs: SrsArgs,
    /// Cut every Dense layer into steps of N input rows × N outputs (N rounded up to whole
    /// commitment blocks, 60–88 values), convolution and pooling layers into row bands of
    /// about N outputs, and recurrent layers into a step a timestep: the step circuit, memory and
    /// verification follow N (or one cell), not the widest layer or the sequence length. `layer`: one step per layer. `auto` (default): tiles and bands of one block where a
    /// step per layer would exceed 65,536 constraints or they are estimated to prove faster (a
    /// public model), else a step per layer; the proof records which (`inspect` shows it).
    #[arg(long, value_name = "N|layer|auto", default_value = "auto")]
    step_size: StepSize,
    /// Prove K steps (layers or tiles) in each fold: Nova's fixed cost per fold (~11.5k
    /// constraints and its second circuit) is paid once for K narrow steps. Default: chosen from
    /// the step circuit's size (`inspect` shows it).
    #[arg(long, value_name = "K")]
    steps_per_fold: Option<usize>,
    #[command(flatten)]
    params: ParamsArgs,
    #[command(flatten)]
    quant: QuantArgs,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// A progress bar on stderr that follows the folding engine's events.
fn progress_bar() -> (ProgressBar, impl FnMut(Progress)) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:40} [{bar:30}] {pos}/{len} {elapsed}, about {eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let b = bar.clone();
    let on = move |p: Progress| match p {
        Progress::Setup => b.set_message("public parameters"),
        Progress::Fold { step, of, name } => {
            b.set_length(of as u64);
            b.set_position(step as u64 + 1);
            b.set_message(format!("fold {name}"));
        }
        Progress::Compress => b.set_message("compress (zero-knowledge SNARK)"),
    };
    (bar, on)
}

pub(crate) fn prove(a: ProveArgs) -> Result<()> {
    if ["public", "private"].contains(&a.input.to_string_lossy().as_ref()) && !a.input.exists() {
        return Err(Error::Usage(format!(
            "--input takes the input file; its visibility is --input-visibility {}",
            a.input.display()
        )));
    }
    let system = a.srs.system(a.curve)?;
    let srs = a.srs.srs();
    let req = ProveRequest {
        options: ProveOptions {
            system,
            srs,
            input: a.input_visibility.into(),
            model: a.model_visibility.into(),
            output: a.output_visibility.into(),
            params_dir: a.params.dir(),
            tiling: None,
            steps_per_fold: None,
        },
        model: a.model,
        input: a.input,
        sample: a.sample,
        quant: a.quant.options(),
        out: a.out,
        stepping: Stepping {
            step_size: a.step_size,
            steps_per_fold: a.steps_per_fold,
        },
    };
    let (bar, mut on) = progress_bar();
    let report = prove::prove(&req, &mut on);
    bar.finish_and_clear();
    let report = report?;
    print(&report, a.json)?;
    note_random_tau(report.insecure_tau_dir.as_deref());
    Ok(())
}

/// Where a verifier finds the insecure random tau a proof was made with.
fn note_random_tau(dir: Option<&std::path::Path>) {
    if let Some(dir) = dir {
        eprintln!(
            "note: verify with --ptau {} (the random tau's powers; insecure)",
            dir.display()
        );
    }
}

#[derive(Args)]
#[command(
    after_help = "One fold per sample: the sample's bytes extend the SHA-256 of the file and \
    run through the whole model (with --fold-by layer, one fold per step of the model instead); \
    the count of ArgMax = label is proven. BN254 (the field of the \
    bounty's Groth16 claim). The model is private by default: only a blinded commitment to its \
    weights is published."
)]
pub(crate) struct ProveAccuracyArgs {
    /// Keras model (.keras or legacy .h5), or a model opening (.json).
    model: PathBuf,
    /// Dataset file (`kerafold dataset pack`).
    #[arg(long)]
    data: PathBuf,
    /// Proof file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Who may see the weights.
    #[arg(long, alias = "model", value_enum, default_value_t = Vis::Private)]
    model_visibility: Vis,
    /// Curve (accuracy proofs are on BN254).
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
    /// IPA (default, transparent; what a bounty's claim takes) or HyperKZG.
    #[command(flatten)]
    srs: SrsArgs,
    #[command(flatten)]
    params: ParamsArgs,
    /// Quantization (default: calibrated on the dataset's samples).
    #[command(flatten)]
    quant: QuantArgs,
    /// For a private model: write the model opening (the quantized model and the commitment's
    /// blindings) here; `encrypt-weights` needs it to claim a bounty.
    #[arg(long)]
    opening: Option<PathBuf>,
    /// Prove only shard I of N (from 1): a contiguous range of about 1/N of the samples. Prove
    /// every shard (on as many machines as you like), then `kerafold combine` them; a private
    /// model's shards all prove from one model opening (`kerafold commit --opening`).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Bytes per IPFS leaf the dataset is named with (`ipfs add --chunker size-N`); a power of
    /// two, at least the record size.
    #[arg(long, value_name = "BYTES", default_value_t = kerafold::data::cid::CHUNK_SIZE)]
    chunk_size: usize,
    /// What one fold runs: `sample` folds the whole model once per sample (fewest folds);
    /// `layer` folds one step of the model at a time, so a fold's circuit (and the prover's
    /// memory) is set by the model's largest step plus a piece of one record's hash, not by its
    /// depth: for models whose per-sample circuit is too large.
    #[arg(long, value_enum, default_value_t = FoldBy::Sample)]
    fold_by: FoldBy,
    /// With --fold-by layer: cut every Dense layer into steps of N input rows × N outputs,
    /// convolution and pooling layers into row bands of about N outputs and recurrent layers into
    /// a step a timestep, so a fold follows N, not the widest layer. `layer`: one step per layer. `auto` (default): as `prove` chooses (tiles
    /// and bands where a step per layer would exceed 65,536 constraints or they are estimated to
    /// prove faster, for a public model; a private model a step per layer).
    #[arg(long, value_name = "N|layer|auto", default_value = "auto")]
    step_size: StepSize,
    /// Write progress as JSON lines on stderr (`{"event":"progress","phase":…,"done":…,
    /// "total":…,"elapsed_s":…,"eta_s":…}`) instead of a progress bar: for drivers (ray/).
    #[arg(long)]
    progress_json: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// What one fold of an accuracy proof runs (`kerafold::accuracy::FoldUnit`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum FoldBy {
    /// One fold per sample, through the whole model.
    Sample,
    /// One fold per step of the model.
    Layer,
}

/// `I/N` with 1 ≤ I ≤ N.
fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not I/N (e.g. 2/8)"))?;
    let i: usize = i
        .parse()
        .map_err(|_| format!("'{i}' is not a shard number"))?;
    let n: usize = n
        .parse()
        .map_err(|_| format!("'{n}' is not a shard count"))?;
    if i == 0 || i > n {
        return Err(format!("shard {i}/{n}: shards are numbered 1 to {n}"));
    }
    Ok((i, n))
}

/// Progress as JSON lines on stderr, with the time left estimated from the folds so far.
fn progress_json() -> impl FnMut(Progress) {
    let start = std::time::Instant::now();
    let mut folding: Option<std::time::Instant> = None;
    move |p: Progress| {
        let elapsed = start.elapsed().as_secs_f64();
        let (phase, done, total, eta) = match p {
            Progress::Setup => ("setup", 0, 0, None),
            Progress::Fold { step, of, .. } => {
                let t0 = *folding.get_or_insert_with(std::time::Instant::now);
                let per = t0.elapsed().as_secs_f64() / step.max(1) as f64;
                let eta = (step > 0).then(|| per * (of - step) as f64);
                ("fold", step, of, eta)
            }
            Progress::Compress => ("compress", 0, 0, None),
        };
        eprintln!(
            "{}",
            serde_json::json!({
                "event": "progress",
                "phase": phase,
                "done": done,
                "total": total,
                "elapsed_s": elapsed,
                "eta_s": eta,
            })
        );
    }
}

/// `kerafold combine`: shard proofs into one.
#[derive(Args)]
pub(crate) struct CombineArgs {
    /// The shard proofs (`prove-accuracy --shard I/N`), in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Combined proof file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn combine(a: CombineArgs) -> Result<()> {
    print(&prove::combine(&a.shards, &a.out)?, a.json)
}

pub(crate) fn prove_accuracy(a: ProveAccuracyArgs) -> Result<()> {
    let req = ProveAccuracyRequest {
        model: a.model,
        data: a.data,
        quant: a.quant.options(),
        system: a.curve.system(a.srs.kzg()),
        srs: a.srs.srs(),
        model_visibility: a.model_visibility.into(),
        params_dir: a.params.dir(),
        out: a.out,
        opening: a.opening,
        shard: a.shard,
        chunk_size: a.chunk_size,
        by_layer: matches!(a.fold_by, FoldBy::Layer),
        step_size: a.step_size,
    };
    let report = if a.progress_json {
        prove::prove_accuracy(&req, &mut progress_json())
    } else {
        let (bar, mut on) = progress_bar();
        let report = prove::prove_accuracy(&req, &mut on);
        bar.finish_and_clear();
        report
    };
    let report = report?;
    print(&report, a.json)?;
    note_random_tau(report.insecure_tau_dir.as_deref());
    if req.opening.is_none() && req.model_visibility == Visibility::Private && !a.json {
        eprintln!(
            "note: without --opening FILE the commitment's blindings are not kept; the weights \
             cannot be encrypted for a bounty claim"
        );
    }
    Ok(())
}
