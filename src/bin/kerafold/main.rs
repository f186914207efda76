//! The `kerafold` command line: flags in, one library call per command
//! (`kerafold::commands`), its report out as text or JSON.

mod args;
mod bench;
mod bounty;
mod data;
mod model;
mod prove;
mod serve;
mod verify;

use clap::{Parser, Subcommand};
use kerafold::Result;
use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};

const AFTER_HELP: &str = "\
Examples (from the repository's root):
  kerafold inspect examples/mnist/mnist.keras
  kerafold run examples/mnist/mnist.keras --input examples/mnist/digits.json
  kerafold prove examples/mnist/mnist.keras --input examples/mnist/digits.json -o mnist.proof
  kerafold verify mnist.proof --model examples/mnist/mnist.keras --input examples/mnist/digits.json
  kerafold dataset pack --features examples/digits/test_x.npy --labels examples/digits/test_y.npy --scale-shift 4 -o test.kfd
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
    Inspect(model::InspectArgs),
    /// Run the integer model and compare it with the float model.
    Run(model::RunArgs),
    /// Prove one inference and write a proof file.
    Prove(prove::ProveArgs),
    /// Verify a proof file (inference or accuracy) and print its claim.
    Verify(verify::VerifyArgs),
    /// Prove a model's accuracy on a dataset file (.kfd): the correct count on exactly the file
    /// the dataset's CID names.
    ProveAccuracy(prove::ProveAccuracyArgs),
    /// Join shard accuracy proofs (`prove-accuracy --shard I/N`) of one dataset into one proof:
    /// checks they are contiguous, cover every sample and prove one model.
    Combine(prove::CombineArgs),
    /// Measure proving cost against depth on synthetic models (one child process per depth).
    #[command(after_help = bench::BENCH_HELP)]
    Bench(bench::BenchArgs),
    /// One depth of `kerafold bench` (or its baseline) in this process: prints one JSON line.
    #[command(hide = true)]
    BenchRun(bench::BenchRunArgs),
    /// Print the commitment of a public model (to publish before proving), or draw a private
    /// model's and write its opening (--opening: what the shards of its accuracy proof share).
    Commit(model::CommitArgs),
    /// Build and examine dataset files (.kfd) for accuracy proofs.
    #[command(subcommand)]
    Dataset(data::DatasetCommand),
    /// Print the IPFS CID of a file (as `ipfs add --cid-version 1 --raw-leaves` gives it).
    Cid(data::CidArgs),
    /// Generate a Baby Jubjub key pair for bounties (prints the public key).
    Keygen(bounty::KeygenArgs),
    /// Encrypt a model's quantized weights to a bounty host (hunter).
    EncryptWeights(bounty::EncryptArgs),
    /// Decrypt a hunter's weights with the host key and the key the hunter revealed to be paid,
    /// once its claim verifies for the bounty (host): writes a model opening.
    DecryptWeights(bounty::DecryptArgs),
    /// Print the reveal key of a ciphertext: what `withdraw` takes once the host approved the
    /// claim (hunter).
    RevealKey(bounty::RevealKeyArgs),
    /// Write a bounty's claim circuit as circom's .r1cs, for the snarkjs phase-2 ceremony of its
    /// keys (host; scripts/claim-ceremony.sh runs the ceremony).
    ClaimCircuit(bounty::ClaimCircuitArgs),
    /// Set up the claim circuit of a bounty: its architecture and dataset, and the keys of a
    /// ceremony (--zkey, verified) or drawn here (host, before deploying the verifier).
    ClaimSetup(bounty::ClaimSetupArgs),
    /// Verify a setup's ceremony key over a powers of tau and list its contributions (anyone;
    /// `claim` does it before proving).
    VerifyCeremony(bounty::VerifyCeremonyArgs),
    /// Prove a bounty claim (Groth16) with the bounty's ceremony key, verified first, and export
    /// it for snarkjs and the EVM (hunter).
    Claim(bounty::ClaimArgs),
    /// Verify a claim against the bounty: the host's key, the CID, threshold, host key and
    /// claimant, the ciphertext and the accuracy proof (host, before approving).
    VerifyClaim(bounty::VerifyClaimArgs),
    /// Serve the JSON API for the bounty web app on localhost: CIDs, model and dataset
    /// descriptions, accuracy proofs and claims verified against a bounty's terms.
    Serve(serve::ServeArgs),
}

/// Standard output, kept for reports alone (`kerafold::sys::take_stdout`).
static REPORTS: OnceLock<Mutex<File>> = OnceLock::new();

/// Writes `text` and a newline to the reports' standard output.
fn emit(text: &str) -> Result<()> {
    let written = match REPORTS.get() {
        Some(out) => writeln!(out.lock().unwrap_or_else(|e| e.into_inner()), "{text}"),
        None => writeln!(std::io::stdout(), "{text}"),
    };
    written.map_err(|e| kerafold::Error::io("standard output", e))
}

/// Prints a command's report: its JSON, or its text.
fn print<R: serde::Serialize + std::fmt::Display>(report: &R, json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string(report)
            .map_err(|e| kerafold::Error::Prover(format!("serializing the report: {e}")))?;
        emit(&text)
    } else {
        emit(&report.to_string())
    }
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    if let Some(out) = kerafold::sys::take_stdout() {
        let _ = REPORTS.set(Mutex::new(out));
    }
    let result = match command {
        Command::Inspect(a) => model::inspect(a),
        Command::Run(a) => model::run(a),
        Command::Prove(a) => prove::prove(a),
        Command::Verify(a) => verify::verify(a),
        Command::ProveAccuracy(a) => prove::prove_accuracy(a),
        Command::Combine(a) => prove::combine(a),
        Command::Bench(a) => bench::bench(a),
        Command::BenchRun(a) => bench::bench_run(a),
        Command::Commit(a) => model::commit(a),
        Command::Dataset(c) => data::dataset(c),
        Command::Cid(a) => data::cid(a),
        Command::Keygen(a) => bounty::keygen(a),
        Command::EncryptWeights(a) => bounty::encrypt(a),
        Command::DecryptWeights(a) => bounty::decrypt(a),
        Command::RevealKey(a) => bounty::reveal_key(a),
        Command::ClaimCircuit(a) => bounty::claim_circuit(a),
        Command::ClaimSetup(a) => bounty::claim_setup(a),
        Command::VerifyCeremony(a) => bounty::verify_ceremony(a),
        Command::Claim(a) => bounty::claim(a),
        Command::VerifyClaim(a) => bounty::verify_claim(a),
        Command::Serve(a) => serve::serve(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
