//! One depth, measured in this process (run it in a fresh process: the peak RSS is the
//! process's).

use super::synth::SynthSpec;
use crate::fold::{self, Srs, Stepping, System, Visibility};
use crate::inference::{self, ProofFile, ProveOptions, VerifyOptions};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Everything measured for one depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The model measured.
    pub spec: SynthSpec,
    /// Proof system id (`bn254-ipa`, `pasta-ipa`).
    pub system: String,
    /// Folds (compute steps and the ArgMax).
    pub steps: usize,
    /// Public-parameter setup, seconds (from scratch unless `params_cached`).
    pub setup_s: f64,
    /// The parameters were found in the cache (the setup time is then a load time).
    pub params_cached: bool,
    /// Everything done per step, seconds: the integer trace, building every witness,
    /// `RecursiveSNARK::new`, every fold and the check of the folded instances. That is the whole
    /// `fold::prove` call less setup and compression.
    pub prove_s: f64,
    /// `prove_s / steps`.
    pub per_step_s: f64,
    /// The Nova folds alone (`prove_step`, including witness synthesis), seconds.
    pub fold_s: f64,
    /// Steady-state fold: mean `prove_step` time from the third fold on (the last fold when the
    /// proof has fewer), seconds. Comparable with the baseline's `step_s`.
    pub fold_step_s: f64,
    /// Compression: compression keys and the zero-knowledge `CompressedSNARK`, seconds.
    pub compress_s: f64,
    /// Verification as `kerafold verify PROOF --params-dir DIR` does it: reading the proof
    /// file, the architecture and the verifier key, recomputing the public commitments and
    /// verifying the SNARK, seconds; the best of [`VERIFY_RUNS`] runs (verification is short,
    /// so one run is at the mercy of whatever else the machine does in those seconds).
    pub verify_s: f64,
    /// Size of the proof file (JSON with the hex SNARK and the public claim), bytes.
    pub proof_bytes: u64,
    /// Peak resident memory of the process up to the end of proving (setup, folding,
    /// compression), MB.
    pub peak_rss_mb: f64,
    /// CPU seconds (user + system, all threads) of the whole proving call: setup, per-step
    /// work and compression. On a shared machine, wall time above `cpu_s / cores` is waiting.
    pub cpu_s: f64,
    /// CPU seconds of the folds alone (`prove_step` calls after `RecursiveSNARK::new`).
    pub fold_cpu_s: f64,
    /// Steady-state CPU seconds per fold (as `fold_step_s`). Comparable with the baseline's
    /// `step_cpu_s`, and much less sensitive to other processes than wall time.
    pub fold_step_cpu_s: f64,
    /// One-minute load average when proving ended (above the core count, other processes were
    /// competing for the CPU).
    pub load_avg: f64,
    /// Constraints of the step circuit (without Nova's augmentation).
    pub constraints_per_step: usize,
    /// Constraints of Nova's primary and secondary augmented circuits.
    pub primary_constraints: usize,
    /// See `primary_constraints`.
    pub secondary_constraints: usize,
}

/// Verification runs per depth (the fastest is reported).
pub(crate) const VERIFY_RUNS: usize = 3;

/// Mean of the steady-state part of per-fold durations: from the third fold on, or the last.
fn steady(folds: &[f64]) -> f64 {
    let tail = if folds.len() > 2 {
        &folds[2..]
    } else {
        &folds[folds.len().saturating_sub(1)..]
    };
    tail.iter().sum::<f64>() / tail.len().max(1) as f64
}

pub use crate::sys::{cpu_seconds, peak_rss_mb};

/// The one-minute load average (`/proc/loadavg`), or 0 where there is none.
pub(crate) fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Proves, writes and verifies the synthetic model of `spec` with parameters in `params_dir`
/// (which should be empty, so that setup is measured), reporting each stage to `progress`.
/// `srs` is HyperKZG's for [`System::Bn254Kzg`] (a random tau is drawn into `params_dir`, and
/// verification names it), [`Srs::Transparent`] otherwise.
pub fn measure(
    spec: &SynthSpec,
    system: System,
    srs: &Srs,
    params_dir: &Path,
    stepping: Stepping,
    progress: &mut dyn FnMut(&str),
) -> Result<Measurement> {
    let model = spec.model()?;
    let tiling =
        crate::inference::resolve_tiling(&model, system, Visibility::Public, stepping.step_size)?;
    let input = spec.input();
    std::fs::create_dir_all(params_dir).map_err(|e| Error::io(params_dir, e))?;
    let opts = ProveOptions {
        system,
        srs: srs.clone(),
        input: Visibility::Public,
        model: Visibility::Public,
        output: Visibility::Public,
        params_dir: params_dir.to_path_buf(),
        tiling,
        steps_per_fold: stepping.steps_per_fold,
    };
    let every = (spec.steps() / 8).max(1);
    // CPU time at the start of each fold and at the start of compression
    let mut fold_cpu = vec![];
    let mut on = |p: fold::Progress| match p {
        fold::Progress::Setup => progress("public parameters"),
        fold::Progress::Fold { step, of, .. } => {
            fold_cpu.push(cpu_seconds());
            if step % every == 0 || step + 1 == of {
                progress(&format!("fold {}/{of}", step + 1))
            }
        }
        fold::Progress::Compress => {
            fold_cpu.push(cpu_seconds());
            progress("compressing")
        }
    };
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    let (proof, stats) = inference::prove(&model, &input, &opts, &mut on)?;
    let total = t.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds() - cpu0;
    let load_avg = load_average();
    let peak_rss_mb = peak_rss_mb();
    let path = params_dir.join("proof.json");
    proof.write(&path)?;
    let proof_bytes = std::fs::metadata(&path)
        .map_err(|e| Error::io(&path, e))?
        .len();

    progress("verifying");
    let verifier_srs = srs.for_verifier(params_dir);
    let mut verify_s = f64::INFINITY;
    for _ in 0..VERIFY_RUNS {
        let t = Instant::now();
        let read = ProofFile::read(&path)?;
        let verified = inference::verify(
            &read,
            &VerifyOptions {
                params_dir: params_dir.to_path_buf(),
                srs: verifier_srs.clone(),
                ..VerifyOptions::default()
            },
        )?;
        verify_s = verify_s.min(t.elapsed().as_secs_f64());
        if verified.claim.class != proof.claim.class {
            return Err(Error::Prover("verified class differs".into()));
        }
    }

    let secs = |d: &std::time::Duration| d.as_secs_f64();
    let setup_s = secs(&stats.setup);
    let compress_s = secs(&stats.compress);
    let prove_s = (total - setup_s - compress_s).max(0.0);
    let folds: Vec<f64> = stats.steps.iter().map(secs).collect();
    let fold_cpu_steps: Vec<f64> = fold_cpu.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(Measurement {
        spec: *spec,
        system: system.id().into(),
        steps: folds.len(),
        setup_s,
        params_cached: stats.params_cached,
        prove_s,
        per_step_s: prove_s / folds.len() as f64,
        fold_s: folds.iter().sum(),
        fold_step_s: steady(&folds),
        compress_s,
        verify_s,
        proof_bytes,
        peak_rss_mb,
        cpu_s,
        fold_cpu_s: fold_cpu_steps.iter().sum(),
        fold_step_cpu_s: steady(&fold_cpu_steps),
        load_avg,
        constraints_per_step: stats.step_constraints,
        primary_constraints: stats.primary_constraints,
        secondary_constraints: stats.secondary_constraints,
    })
}
