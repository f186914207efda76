//! `verify`: any proof file.

use crate::args::ParamsArgs;
use crate::print;
use clap::Args;
use kerafold::commands::verify::{self, VerifyRequest};
use kerafold::Result;
use std::path::PathBuf;

#[derive(Args)]
#[command(
    after_help = "For an accuracy proof, --cid checks that it is about the published dataset and \
    --min-correct that the model reaches the threshold. Exit codes: 0 valid, 1 invalid (or below \
    the threshold), 2 usage or I/O error."
)]
pub(crate) struct VerifyArgs {
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
    #[command(flatten)]
    params: ParamsArgs,
    /// Powers of tau directory (snarkjs/PPOT .ptau files): required for bn254-kzg proofs, whose
    /// verifier key is derived from the powers of tau you name, never taken from the prover.
    #[arg(long)]
    ptau: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn verify(a: VerifyArgs) -> Result<()> {
    let req = VerifyRequest {
        params_dir: a.params.dir(),
        proof: a.proof,
        model: a.model,
        arch: a.arch,
        input: a.input,
        sample: a.sample,
        cid: a.cid,
        min_correct: a.min_correct,
        ptau: a.ptau,
    };
    print(&verify::verify(&req)?, a.json)
}
