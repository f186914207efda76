//! `prove` and `prove-accuracy`: a model file and its input (or dataset) to a proof file.

use super::model::{describe_fp, sample_of};
use super::{file_size, ModelFile, QuantOptions};
use crate::accuracy::{self, AccuracyClaim, FoldUnit, ShardSpec};
use crate::claim::weights::{ModelOpening, Opening};
use crate::data::Dataset;
use crate::fold::{self, Progress, ProveStats, Srs, Stepping, System, Tiling, Visibility};
use crate::inference::{self, ProveOptions};
use crate::model::QuantizedModel;
use crate::{Error, Result};
use kerafold_step_circuits::spec::FixedPoint;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to prove with `kerafold prove`.
pub struct ProveRequest {
    /// The Keras model.
    pub model: PathBuf,
    /// The input file (JSON or `.npy`) and which of its samples to prove.
    pub input: PathBuf,
    /// Which sample of the input file.
    pub sample: usize,
    /// How the model is quantized.
    pub quant: QuantOptions,
    /// System, SRS, the three visibilities and the parameter cache.
    pub options: ProveOptions,
    /// The proof file to write.
    pub out: PathBuf,
    /// Dense tiles and steps a fold (`prove --step-size`, `--steps-per-fold`).
    pub stepping: Stepping,
}

/// What `kerafold prove` reports.
#[derive(Serialize)]
pub struct ProveReport {
    /// The proof file written.
    pub proof: PathBuf,
    /// The proof system (`bn254-ipa`, `bn254-kzg`, `pasta-ipa`).
    pub system: String,
    /// Number of steps (layers and tiles).
    pub steps: usize,
    /// Steps proven in one fold.
    pub steps_per_fold: usize,
    /// Number of folds.
    pub folds: usize,
    /// How Dense layers were tiled, if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
    /// The class the integer model picks (ArgMax of the logits).
    pub class: usize,
    /// The fixed point the model was quantized at.
    pub fixed_point: FixedPoint,
    /// Seconds spent loading or setting up the public parameters.
    pub setup_s: f64,
    /// The public parameters came from the cache.
    pub params_cached: bool,
    /// Seconds spent folding.
    pub prove_s: f64,
    /// Mean seconds per fold.
    pub per_step_s: f64,
    /// Seconds spent compressing into the zero-knowledge SNARK.
    pub compress_s: f64,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
    /// Peak resident memory when folding ended, before compression, MB: what grows with depth
    /// or sample count, if anything does.
    pub fold_peak_rss_mb: f64,
    /// Constraints of one step circuit (without Nova's verifier circuit).
    pub step_constraints: usize,
    /// Constraints of one step with Nova's verifier circuit.
    pub primary_constraints: usize,
    /// Constraints of the secondary (cycle) circuit.
    pub secondary_constraints: usize,
    /// Size of the proof file, bytes.
    pub proof_bytes: u64,
    /// The prover's label for the model (its Keras name).
    #[serde(skip)]
    pub model_name: String,
    /// Where the insecure random tau's powers are (to verify with), if one was drawn.
    #[serde(skip)]
    pub insecure_tau_dir: Option<PathBuf>,
}

/// Proves one inference and writes the proof file.
pub fn prove(req: &ProveRequest, progress: &mut dyn FnMut(Progress)) -> Result<ProveReport> {
    let file = ModelFile::open(&req.model)?;
    let inputs = crate::model::input::read_inputs(&req.input, file.input_shape())?;
    let x = sample_of(&inputs, req.sample, &req.input)?;
    let q = file.prepare(&req.quant, &inputs)?.model;
    let xq = q.quantize_input(x, Some(req.sample))?;
    let mut options = req.options.clone();
    options.tiling =
        inference::resolve_tiling(&q, options.system, options.model, req.stepping.step_size)?;
    options.steps_per_fold = req.stepping.steps_per_fold;
    let (proof, stats) = inference::prove(&q, &xq, &options, progress)?;
    proof.write(&req.out)?;
    let (prove_s, per_step_s) = fold_seconds(&stats);
    Ok(ProveReport {
        proof: req.out.clone(),
        system: proof.system.clone(),
        steps: proof.claim.steps,
        steps_per_fold: proof.claim.steps_per_fold,
        folds: stats.steps.len(),
        tiling: proof.claim.tiling,
        class: proof.claim.class,
        fixed_point: q.fp,
        setup_s: stats.setup.as_secs_f64(),
        params_cached: stats.params_cached,
        prove_s,
        per_step_s,
        compress_s: stats.compress.as_secs_f64(),
        peak_rss_mb: crate::sys::peak_rss_mb(),
        fold_peak_rss_mb: stats.fold_peak_rss_mb,
        step_constraints: stats.step_constraints,
        primary_constraints: stats.primary_constraints,
        secondary_constraints: stats.secondary_constraints,
        proof_bytes: file_size(&req.out),
        model_name: q.name.clone(),
        insecure_tau_dir: req.options.srs.random_tau_dir(&req.options.params_dir),
    })
}

/// Total folding time and its mean per fold, seconds.
fn fold_seconds(stats: &ProveStats) -> (f64, f64) {
    let total: f64 = stats.steps.iter().map(|d| d.as_secs_f64()).sum();
    (total, total / stats.steps.len().max(1) as f64)
}

fn cached(c: bool) -> &'static str {
    if c {
        " (cached)"
    } else {
        ""
    }
}

impl fmt::Display for ProveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let folds = if self.steps_per_fold > 1 {
            format!(" in {} folds of {}", self.folds, self.steps_per_fold)
        } else {
            String::new()
        };
        let tiles = match self.tiling {
            Some(t) => format!(", Dense layers in tiles of {} rows", t.rows),
            None => String::new(),
        };
        writeln!(
            f,
            "proved {} steps{folds}{tiles} of '{}' ({}): class {}",
            self.steps, self.model_name, self.system, self.class
        )?;
        writeln!(f, "fixed point: {}", describe_fp(&self.fixed_point))?;
        writeln!(
            f,
            "setup {:.1}s{}, folding {:.1}s ({:.2}s/fold), compression {:.1}s",
            self.setup_s,
            cached(self.params_cached),
            self.prove_s,
            self.per_step_s,
            self.compress_s
        )?;
        write!(
            f,
            "constraints per fold: {} (layer circuit) / {} (with Nova's verifier circuit); proof \
             {} bytes -> {}",
            self.step_constraints,
            self.primary_constraints,
            self.proof_bytes,
            self.proof.display()
        )
    }
}

/// What to prove with `kerafold prove-accuracy`.
pub struct ProveAccuracyRequest {
    /// The Keras model (or a model opening).
    pub model: PathBuf,
    /// The dataset file (`.kfd`).
    pub data: PathBuf,
    /// Quantization; calibrated on the dataset's samples by default.
    pub quant: QuantOptions,
    /// Accuracy proofs are on BN254 (the field of the bounty's Groth16 claim): IPA, or HyperKZG
    /// with `srs`'s powers of tau.
    pub system: System,
    /// Where the commitment key comes from: transparent for IPA, powers of tau for HyperKZG.
    pub srs: Srs,
    /// Who may see the weights.
    pub model_visibility: Visibility,
    /// The parameter cache.
    pub params_dir: PathBuf,
    /// The file (or directory) written.
    pub out: PathBuf,
    /// For a private model: where to write the model opening (the quantized model and the
    /// commitment's blindings), which a bounty claim needs.
    pub opening: Option<PathBuf>,
    /// Prove only shard `i` (from 1) of `n` contiguous shards of the samples.
    pub shard: Option<(usize, usize)>,
    /// Bytes per IPFS leaf the dataset's CID is computed with.
    pub chunk_size: usize,
    /// Fold one step of the model at a time instead of a whole sample.
    pub by_layer: bool,
    /// For folds by layer: how large a step is (tiles and bands, or a step per layer).
    pub step_size: fold::StepSize,
}

/// What `kerafold prove-accuracy` reports.
#[derive(Serialize)]
pub struct ProveAccuracyReport {
    /// The proof file written.
    pub proof: PathBuf,
    /// The dataset's CIDv1.
    pub cid: String,
    /// The shard proven (`i/n`), if the proof is one shard of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The first sample proven.
    pub first: usize,
    /// Number of samples proven.
    pub samples: usize,
    /// The dataset's number of samples.
    pub dataset_samples: usize,
    /// Number of samples the model gets right.
    pub correct: usize,
    /// The model commitment (hex, or decimal for the claim's field elements).
    pub model_commitment: String,
    /// The fixed point the model was quantized at.
    pub fixed_point: FixedPoint,
    /// Seconds spent loading or setting up the public parameters.
    pub setup_s: f64,
    /// The public parameters came from the cache.
    pub params_cached: bool,
    /// Seconds spent folding.
    pub fold_s: f64,
    /// Seconds spent compressing into the zero-knowledge SNARK.
    pub compress_s: f64,
    /// Constraints of one step circuit (without Nova's verifier circuit).
    pub step_constraints: usize,
    /// Constraints of one step with Nova's verifier circuit.
    pub primary_constraints: usize,
    /// What one fold runs: a whole sample, or one step of the model.
    pub fold: FoldUnit,
    /// Number of folds.
    pub folds: usize,
    /// Size of the proof file, bytes.
    pub proof_bytes: u64,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
    /// Peak resident memory when folding ended, before compression, MB: what grows with depth
    /// or sample count, if anything does.
    pub fold_peak_rss_mb: f64,
    /// The model opening written, if any (keep it private).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening: Option<PathBuf>,
    /// The proof system (`bn254-ipa`, `bn254-kzg`).
    pub system: String,
    /// Where the insecure random tau's powers are (to verify with), if one was drawn.
    #[serde(skip)]
    pub insecure_tau_dir: Option<PathBuf>,
    /// The prover's label for the model (its Keras name).
    #[serde(skip)]
    pub model_name: String,
    /// Who may see the weights.
    #[serde(skip)]
    pub model_visibility: Visibility,
}

/// What one fold of `req`'s accuracy proof runs. A model opening fixes how the model is cut
/// into steps (its commitment chains one digest per step): one committed in tiles
/// (`commit --step-size N`) folds by layer in those tiles, a private one committed a step per
/// layer folds without tiles.
fn fold_of(
    req: &ProveAccuracyRequest,
    q: &QuantizedModel,
    opening_tiling: Option<Tiling>,
    private_opening: bool,
) -> Result<FoldUnit> {
    let model = req.model.display();
    if !req.by_layer {
        if let fold::StepSize::Rows(n) = req.step_size {
            return Err(Error::Usage(format!(
                "--step-size {n}: a fold per sample runs whole layers; tiles and bands are for \
                 folds by layer (add --fold-by layer)"
            )));
        }
        if let Some(t) = opening_tiling {
            return Err(Error::Usage(format!(
                "{model}: the opening commits to the model in tiles of {} rows: prove it with \
                 --fold-by layer",
                t.rows
            )));
        }
        return Ok(FoldUnit::Sample);
    }
    let tiling = match (opening_tiling, req.step_size) {
        (Some(t), fold::StepSize::Auto) => Some(t),
        (Some(t), fold::StepSize::Rows(n)) if Tiling::square(n, &q.fp)? == t => Some(t),
        (Some(t), _) => {
            return Err(Error::Usage(format!(
                "{model}: the opening commits to the model in tiles of {} rows: prove with \
                 --step-size {} (or without --step-size)",
                t.rows, t.rows
            )))
        }
        (None, step_size) => {
            let tiling = inference::resolve_tiling(q, req.system, req.model_visibility, step_size)?;
            if private_opening && tiling.is_some() {
                return Err(Error::Usage(format!(
                    "{model}: the opening commits to the model a step per layer, so it proves \
                     without tiles: leave out --step-size, or write an opening in tiles \
                     (kerafold commit MODEL --opening OPENING.json --step-size N)"
                )));
            }
            tiling
        }
    };
    Ok(FoldUnit::Layer { tiling })
}

/// Proves a model's accuracy on a dataset file and writes the proof file (and the opening).
pub fn prove_accuracy(
    req: &ProveAccuracyRequest,
    progress: &mut dyn FnMut(Progress),
) -> Result<ProveAccuracyReport> {
    let want = match req.srs {
        Srs::Transparent => System::Bn254Ipa,
        Srs::Ptau(_) | Srs::InsecureRandomTau => System::Bn254Kzg,
    };
    if req.system != want {
        return Err(Error::Usage(format!(
            "accuracy proofs are on bn254 (the field of the bounty's Groth16 claim), with IPA or \
             with HyperKZG from powers of tau (--ptau), not {}",
            req.system.id()
        )));
    }
    let data = Dataset::read(&req.data)?;
    let file = ModelFile::open(&req.model)?;
    data.check_input_shape(file.input_shape())?;
    let prepared = file.prepare(&req.quant, &data.inputs_f32())?;
    let q = prepared.model;
    let shard = match req.shard {
        Some((i, n)) => ShardSpec::nth(i, n, data.len())?,
        None => ShardSpec::whole(&data),
    };
    let shard = ShardSpec {
        chunk_size: req.chunk_size,
        ..shard
    };
    let fold = fold_of(req, &q, prepared.tiling, !prepared.blinds.is_empty())?;
    let blinds = match req.model_visibility {
        Visibility::Public => vec![],
        Visibility::Private if !prepared.blinds.is_empty() => prepared.blinds,
        Visibility::Private if req.shard.is_some() => {
            return Err(Error::Usage(format!(
                "{}: the shards of a private model must prove one commitment: write the model's \
                 opening once (kerafold commit {} --data {} --opening OPENING.json) and prove \
                 every shard from OPENING.json",
                req.model.display(),
                req.model.display(),
                req.data.display()
            )))
        }
        Visibility::Private => accuracy::random_blinds_for(&q, fold)?,
    };
    let (proof, stats) = accuracy::prove_shard(
        &q,
        &data,
        &blinds,
        &shard,
        fold,
        &req.srs,
        &req.params_dir,
        progress,
    )?;
    proof.write(&req.out)?;
    if let Some(path) = &req.opening {
        let opening = Opening {
            model: q.clone(),
            blinds,
            tiling: fold.tiling(),
        };
        ModelOpening::new(&opening)?.write(path)?;
    }
    let AccuracyClaim {
        cid,
        first,
        samples,
        correct,
        model,
        header,
        ..
    } = proof.claim;
    Ok(ProveAccuracyReport {
        proof: req.out.clone(),
        cid,
        shard: req.shard.map(|(i, n)| format!("{i}/{n}")),
        first,
        samples,
        dataset_samples: header.count as usize,
        correct,
        model_commitment: model.commitment,
        fixed_point: q.fp,
        setup_s: stats.setup.as_secs_f64(),
        params_cached: stats.params_cached,
        fold_s: fold_seconds(&stats).0,
        compress_s: stats.compress.as_secs_f64(),
        step_constraints: stats.step_constraints,
        primary_constraints: stats.primary_constraints,
        fold,
        folds: stats.steps.len(),
        proof_bytes: file_size(&req.out),
        peak_rss_mb: crate::sys::peak_rss_mb(),
        fold_peak_rss_mb: stats.fold_peak_rss_mb,
        opening: req.opening.clone(),
        system: req.system.id().to_string(),
        insecure_tau_dir: req.srs.random_tau_dir(&req.params_dir),
        model_name: q.name.clone(),
        model_visibility: model.visibility,
    })
}

impl fmt::Display for ProveAccuracyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shard {
            Some(shard) => writeln!(
                f,
                "proved shard {shard}: '{}' is right on {} of samples {}..{} of dataset {} (combine \
                 every shard with kerafold combine)",
                self.model_name,
                self.correct,
                self.first,
                self.first + self.samples,
                self.cid
            )?,
            None => writeln!(
                f,
                "proved: '{}' is right on {} of {} samples of dataset {}",
                self.model_name, self.correct, self.samples, self.cid
            )?,
        }
        writeln!(
            f,
            "model commitment ({}): {}",
            self.model_visibility, self.model_commitment
        )?;
        writeln!(f, "fixed point: {}", describe_fp(&self.fixed_point))?;
        if let Some(o) = &self.opening {
            writeln!(f, "model opening (keep it private) -> {}", o.display())?;
        }
        write!(
            f,
            "setup {:.1}s{}, folding {:.1}s ({:.2}s/sample, {} folds{}), compression {:.1}s; {} \
             constraints per fold; proof {} bytes -> {}",
            self.setup_s,
            cached(self.params_cached),
            self.fold_s,
            self.fold_s / self.samples.max(1) as f64,
            self.folds,
            match self.fold {
                FoldUnit::Sample => "",
                FoldUnit::Layer { .. } => " by layer",
            },
            self.compress_s,
            self.step_constraints,
            self.proof_bytes,
            self.proof.display()
        )
    }
}

/// What `kerafold combine` reports.
#[derive(Serialize)]
pub struct CombineReport {
    /// The combined proof file written.
    pub proof: PathBuf,
    /// Number of shards.
    pub shards: usize,
    /// The claim the shards join into (checked again by every `verify`).
    pub claim: AccuracyClaim,
}

/// Reads shard proofs (in any order), checks that they join into one proof of the whole dataset
/// (contiguous, covering every sample, one model, the leaves rebuilding the CID) and writes the
/// combined proof. The shards' SNARKs are checked by `verify`, which also repeats the join.
pub fn combine(shards: &[PathBuf], out: &Path) -> Result<CombineReport> {
    let proofs = shards
        .iter()
        .map(|p| accuracy::AccuracyProof::read(p))
        .collect::<Result<Vec<_>>>()?;
    let combined = accuracy::CombinedProof::combine(proofs)?;
    combined.write(out)?;
    Ok(CombineReport {
        proof: out.to_path_buf(),
        shards: combined.shards.len(),
        claim: combined.claim,
    })
}

impl fmt::Display for CombineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.claim;
        write!(
            f,
            "combined {} shards: '{}' is right on {} of {} samples of dataset {} (the shards join \
             and rebuild its CID; verify checks every shard's proof) -> {}",
            self.shards,
            c.model_name,
            c.correct,
            c.samples,
            c.cid,
            self.proof.display()
        )
    }
}
