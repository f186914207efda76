//! `inspect`, `run`, `commit`.

use crate::args::{Curve, QuantArgs};
use crate::print;
use clap::Args;
use kerafold::commands::model;
use kerafold::Result;
use std::path::PathBuf;

#[derive(Args)]
#[command(
    after_help = "Each row is one step of the proof (one fold): a compute layer with the \
    relabellings before it and the activation (and folded BatchNormalization) after it. A model \
    opening (JSON, from prove-accuracy --opening or decrypt-weights) is shown as it is quantized."
)]
pub(crate) struct InspectArgs {
    /// Keras model (.keras or legacy .h5), or a model opening (.json).
    model: PathBuf,
    #[command(flatten)]
    quant: QuantArgs,
    /// Show the step circuit with Dense layers cut into steps of N input rows × N outputs and
    /// convolution and pooling layers into row bands of about N outputs, recurrent layers into a
    /// step a timestep, a step per layer (`layer`), or as `prove` chooses by default (`auto`, for a public model on the default
    /// system); as `prove --step-size`.
    #[arg(long, value_name = "N|layer|auto", default_value = "auto")]
    step_size: kerafold::fold::StepSize,
    /// Show the folds with K steps each (as `prove --steps-per-fold K`); default: the number
    /// `prove` chooses on its default system, BN254 with IPA (with --ptau, where compression is
    /// cheaper, it packs more).
    #[arg(long, value_name = "K")]
    steps_per_fold: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn inspect(a: InspectArgs) -> Result<()> {
    print(
        &model::inspect(
            &a.model,
            &a.quant.options(),
            kerafold::fold::Stepping {
                step_size: a.step_size,
                steps_per_fold: a.steps_per_fold,
            },
        )?,
        a.json,
    )
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Keras model (.keras or legacy .h5), or a model opening (.json: the integer model only).
    model: PathBuf,
    /// Inputs: JSON {"input": [...]} / {"inputs": [[...], ...]}, or .npy with a batch axis.
    #[arg(long)]
    input: PathBuf,
    #[command(flatten)]
    quant: QuantArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: RunArgs) -> Result<()> {
    print(&model::run(&a.model, &a.input, &a.quant.options())?, a.json)
}

#[derive(Args)]
pub(crate) struct CommitArgs {
    /// Keras model (.keras or legacy .h5).
    model: PathBuf,
    /// A private model: draw the commitment's blindings and write the model opening (the
    /// quantized model and its blindings; keep it private) here. Every shard of an accuracy
    /// proof then proves from this file (`prove-accuracy OPENING --shard I/N`).
    #[arg(long, requires = "data")]
    opening: Option<PathBuf>,
    /// The dataset (.kfd) the opening's model is calibrated on, as `prove-accuracy` would.
    #[arg(long, requires = "opening")]
    data: Option<PathBuf>,
    /// Commit to the model in tiles of N input rows (Dense layers) and row bands of about N
    /// outputs (convolution, pooling), as `prove-accuracy --fold-by layer --step-size N` runs it:
    /// for a model whose layers are too large for one fold. The commitment chains a digest per
    /// step, so it differs from the per-layer one; a bounty takes the one its `claim-setup
    /// --step-size` names.
    #[arg(long, value_name = "N", requires = "opening")]
    step_size: Option<usize>,
    #[command(flatten)]
    quant: QuantArgs,
    #[arg(long, value_enum, default_value_t = Curve::Bn254)]
    curve: Curve,
}

pub(crate) fn commit(a: CommitArgs) -> Result<()> {
    let quant = a.quant.options();
    if let (Some(out), Some(data)) = (&a.opening, &a.data) {
        return print(
            &model::commit_private(&a.model, &quant, data, a.step_size, out)?,
            false,
        );
    }
    if quant.calibrates() && quant.calibrate.is_none() {
        eprintln!(
            "note: the commitment depends on the fixed-point parameters; pass --fa/--fw/--bits \
             (or --calibrate) and prove with the same ones"
        );
    }
    print(
        &model::commit(&a.model, &quant, a.curve.system(false))?,
        false,
    )
}
