//! `bench` (proving cost against depth, one child process per depth) and its hidden worker
//! `bench-run`.

use crate::args::{Curve, SrsArgs};
use crate::emit;
use clap::{Args, ValueEnum};
use kerafold::fold::{StepSize, Stepping};
use kerafold::{bench, Error, Result};
use std::path::PathBuf;

pub(crate) const BENCH_HELP: &str = "\
Each depth is proven in its own child process with a fresh parameter directory, so setup is \
measured from scratch and the peak RSS is that depth's alone. Per-step costs (prove_s, \
per_step_s) grow with depth; setup, compression, verification, proof size and memory should not. \
The raw-Nova baseline folds a synthetic circuit of the same size (constraints, variables, \
non-zeros, witness value sizes) with nova-snark directly; ratio = per_step_s / baseline_step_s.

IPA (transparent) by default; --ptau or --insecure-random-tau measure HyperKZG on BN254, the \
system of on-chain verifiers (compression and verification several times faster).

Examples:
  kerafold bench --kind dense --width 4 --depths 1,2 --csv dense.csv --plot dense.svg
  kerafold bench --kind cnn-block --width 2 --size 4 --depths 1 --json";

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum BenchKind {
    /// DEPTH x Dense(WIDTH -> WIDTH, ReLU).
    Dense,
    /// DEPTH x Conv2D 3x3 same, WIDTH filters, ReLU, on SIZE x SIZE x WIDTH.
    Conv,
    /// DEPTH residual blocks (conv-ReLU-conv, Add, ReLU) on SIZE x SIZE x WIDTH.
    CnnBlock,
    /// DEPTH x Dense(WIDTH -> WIDTH, ReLU), then Dense(WIDTH -> 10): narrow logits, so with
    /// --step-size no step is as wide as the network.
    Classifier,
}

impl From<BenchKind> for bench::Kind {
    fn from(k: BenchKind) -> Self {
        match k {
            BenchKind::Dense => bench::Kind::Dense,
            BenchKind::Conv => bench::Kind::Conv,
            BenchKind::CnnBlock => bench::Kind::CnnBlock,
            BenchKind::Classifier => bench::Kind::Classifier,
        }
    }
}

#[derive(Args)]
pub(crate) struct BenchArgs {
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
    #[command(flatten)]
    srs: SrsArgs,
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
    /// Prove with Dense layers in tiles of N rows × N outputs and convolution and pooling layers
    /// in row bands of about N outputs, as `prove --step-size N`. A list
    /// (`60,120,240`) sweeps: every depth at every step size, then a table comparing them
    /// (JSON: {"sweep": [report, ...]}; CSV: a step_size column in front).
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
    step_size: Vec<usize>,
    /// Prove K steps in each fold, as `prove --steps-per-fold K`. Default 1 (not `prove`'s
    /// depth-dependent choice), so that every depth folds the same circuit.
    #[arg(long, value_name = "K", default_value_t = 1)]
    steps_per_fold: usize,
}

pub(crate) fn bench(a: BenchArgs) -> Result<()> {
    let system = a.srs.system(a.curve)?;
    let kind: bench::Kind = a.kind.into();
    if a.step_size.len() > 1 && a.plot.is_some() {
        return Err(Error::Usage(
            "--plot draws one step size: give one --step-size, or drop --plot for the sweep".into(),
        ));
    }
    // a step per layer unless asked: every depth folds the same layer circuit
    let sizes: Vec<StepSize> = if a.step_size.is_empty() {
        vec![StepSize::PerLayer]
    } else {
        a.step_size.iter().map(|&n| StepSize::Rows(n)).collect()
    };
    let opts = bench::BenchOptions {
        kind,
        width: a.width.unwrap_or_else(|| kind.default_width()),
        size: a.size,
        depths: bench::parse_depths(&a.depths)?,
        system,
        srs: a.srs.srs(),
        seed: a.seed,
        params_dir: a.params_dir,
        keep_params: a.keep_params,
        baseline_steps: a.baseline_steps,
        stepping: Stepping {
            step_size: StepSize::PerLayer,
            steps_per_fold: Some(a.steps_per_fold),
        },
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the kerafold binary: {e}")))?;
    let mut reports = vec![];
    for step_size in sizes {
        let opts = bench::BenchOptions {
            stepping: Stepping {
                step_size,
                ..opts.stepping
            },
            ..opts.clone()
        };
        if let StepSize::Rows(n) = step_size {
            eprintln!("bench: step size {n}");
        }
        reports.push(bench::run(&opts, &exe, &mut |line| {
            eprintln!("bench: {line}")
        })?);
    }
    if reports.len() > 1 {
        if let Some(path) = &a.csv {
            let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            bench::write_sweep_csv(&reports, &mut f).map_err(|e| Error::io(path, e))?;
        }
        return if a.json {
            emit(&serde_json::json!({ "sweep": reports }).to_string())
        } else {
            let tables: Vec<String> = reports.iter().map(bench::table).collect();
            emit(
                format!(
                    "{}
{}",
                    tables.join("\n"),
                    bench::sweep_table(&reports)
                )
                .trim_end(),
            )
        };
    }
    let report = reports.pop().expect("one step size");
    if let Some(path) = &a.csv {
        let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        bench::write_csv(&report.rows, &mut f).map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = &a.plot {
        bench::plot::plot_svg(&report, path)?;
    }
    if a.json {
        emit(&serde_json::to_string(&report).expect("report serializes"))
    } else {
        emit(bench::table(&report).trim_end())
    }
}

#[derive(Args)]
pub(crate) struct BenchRunArgs {
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
    #[command(flatten)]
    srs: SrsArgs,
    /// Parameter directory (required unless --baseline).
    #[arg(long, required_unless_present = "baseline")]
    params_dir: Option<PathBuf>,
    /// Run the raw-Nova baseline for this model's step instead.
    #[arg(long)]
    baseline: bool,
    #[arg(long, default_value_t = 5)]
    baseline_steps: usize,
    /// Rows of a tile, `layer` or `auto` (as `prove --step-size`).
    #[arg(long, default_value = "layer")]
    step_size: StepSize,
    #[arg(long)]
    steps_per_fold: Option<usize>,
}

pub(crate) fn bench_run(a: BenchRunArgs) -> Result<()> {
    let spec = bench::SynthSpec {
        kind: a.kind.into(),
        width: a.width,
        size: a.size,
        depth: a.depth,
        seed: a.seed,
    };
    let system = a.srs.system(a.curve)?;
    // `bench` warned about a random tau: not again from each child
    let srs = a.srs.srs_unwarned();
    let stepping = Stepping {
        step_size: a.step_size,
        steps_per_fold: a.steps_per_fold,
    };
    let json = match (a.baseline, a.params_dir) {
        (true, _) => serde_json::to_string(&bench::run_baseline(
            &spec,
            system,
            a.baseline_steps,
            stepping,
        )?),
        (false, Some(dir)) => {
            let tag = format!("depth {}", spec.depth);
            let m = bench::measure(&spec, system, &srs, &dir, stepping, &mut |s| {
                eprintln!("bench: {tag}: {s}")
            })?;
            serde_json::to_string(&m)
        }
        (false, None) => return Err(Error::Usage("bench-run needs --params-dir".into())),
    };
    emit(&json.expect("results serialize"))
}
