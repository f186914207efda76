//! `verify`: any proof file, checked against what the verifier holds (a model or architecture
//! file, an input file, a CID and threshold), never against what the prover hands over.

use super::model::sample_of;
use crate::accuracy::{self, AccuracyCheck, AccuracyClaim};
use crate::fold::{Architecture, Srs, Visibility};
use crate::inference::{self, Claim, Opening, VerifyOptions};
use crate::model::QuantizedModel;
use crate::proofs::AnyProof;
use crate::{Error, Result};
use kerafold_step_circuits::spec::FixedPoint;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What `kerafold verify` checks a proof file against.
#[derive(Clone, Debug, Default)]
pub struct VerifyRequest {
    /// The proof file.
    pub proof: PathBuf,
    /// A public model's Keras file: the architecture is rebuilt and the commitment recomputed.
    pub model: Option<PathBuf>,
    /// An architecture file (a bounty's `architecture.json`, a prover's `arch.json`).
    pub arch: Option<PathBuf>,
    /// Inference proofs: the input file and sample a public input must equal.
    pub input: Option<PathBuf>,
    /// Which sample of the input file.
    pub sample: usize,
    /// Accuracy proofs: the published dataset CID and the least correct count.
    pub cid: Option<String>,
    /// The least correct count to accept.
    pub min_correct: Option<usize>,
    /// The parameter cache.
    pub params_dir: PathBuf,
    /// HyperKZG proofs: the powers-of-tau directory the verifier key is derived from.
    pub ptau: Option<PathBuf>,
}

/// What `kerafold verify` reports: the verified claim of either kind.
#[derive(Serialize)]
#[serde(untagged)]
pub enum VerifyReport {
    /// An inference proof.
    Inference(InferenceVerified),
    /// An accuracy proof.
    Accuracy(AccuracyVerified),
}

/// A verified inference proof.
#[derive(Serialize)]
pub struct InferenceVerified {
    /// Always true: a report exists only for a proof that verified.
    pub valid: bool,
    /// The proof system (`bn254-ipa`, `bn254-kzg`, `pasta-ipa`).
    pub system: String,
    /// The verified claim.
    pub claim: Claim,
    /// The model commitment was recomputed from the model file.
    pub model_checked: bool,
    /// The public input was compared with the input file.
    pub input_checked: bool,
}

/// A verified accuracy proof.
#[derive(Serialize)]
pub struct AccuracyVerified {
    /// Always true: a report exists only for a proof that verified.
    pub valid: bool,
    /// The proof kind, `accuracy` or `accuracy-shards`.
    pub kind: &'static str,
    /// The verified claim: the whole file's (joined from the shards), or one shard's.
    pub claim: AccuracyClaim,
    /// Number of shard proofs verified (1 for an unsharded proof or a lone shard).
    pub shards: usize,
    /// The proofs cover every sample of the file, whose CID they rebuilt; false for a lone
    /// shard (its CID and threshold need every shard: `kerafold combine`).
    pub whole: bool,
    /// The dataset is the one named by the given CID.
    pub cid_checked: bool,
    /// Share of samples right.
    pub accuracy: f64,
    /// The least correct count to accept.
    #[serde(skip)]
    pub min_correct: Option<usize>,
}

/// Verifies a proof file of either kind.
pub fn verify(req: &VerifyRequest) -> Result<VerifyReport> {
    match AnyProof::read(&req.proof)? {
        AnyProof::Accuracy(p) => {
            verify_accuracy(std::slice::from_ref(&p), None, req).map(VerifyReport::Accuracy)
        }
        AnyProof::Combined(c) => {
            verify_accuracy(&c.shards, Some(&c.claim), req).map(VerifyReport::Accuracy)
        }
        AnyProof::Inference(p) => verify_inference(&p, req).map(VerifyReport::Inference),
    }
}

/// The model file quantized at the proof's fixed point.
fn model_at(path: Option<&Path>, fp: FixedPoint) -> Result<Option<QuantizedModel>> {
    path.map(|p| {
        let graph = crate::model::load(p)?;
        crate::model::quantize(&crate::model::lower(&graph)?, fp)
    })
    .transpose()
}

fn verify_inference(
    proof: &inference::InferenceProof,
    req: &VerifyRequest,
) -> Result<InferenceVerified> {
    if req.cid.is_some() || req.min_correct.is_some() {
        return Err(Error::Usage(format!(
            "{}: an inference proof has no dataset or correct count: --cid and --min-correct \
             apply to accuracy proofs",
            req.proof.display()
        )));
    }
    let model = model_at(req.model.as_deref(), proof.claim.fixed_point)?;
    let input = match &req.input {
        Some(path) => {
            let m = model.as_ref().ok_or_else(|| {
                Error::Usage("--input needs --model (to read the input's shape)".into())
            })?;
            let xs = crate::model::input::read_inputs(path, &m.input_shape)?;
            Some(m.quantize_input(sample_of(&xs, req.sample, path)?, Some(req.sample))?)
        }
        None => None,
    };
    let opts = VerifyOptions {
        params_dir: req.params_dir.clone(),
        srs: req.ptau.clone().map(Srs::Ptau),
        model,
        arch: req.arch.as_deref().map(Architecture::read).transpose()?,
        input,
    };
    let v = inference::verify(proof, &opts)?;
    Ok(InferenceVerified {
        valid: true,
        system: proof.system.clone(),
        claim: v.claim,
        model_checked: v.model_checked,
        input_checked: v.input_checked,
    })
}

fn verify_accuracy(
    proofs: &[accuracy::AccuracyProof],
    stated: Option<&AccuracyClaim>,
    req: &VerifyRequest,
) -> Result<AccuracyVerified> {
    if req.input.is_some() {
        return Err(Error::Usage(format!(
            "{}: an accuracy proof is about a dataset, not an input: --input applies to \
             inference proofs; accuracy proofs take --cid",
            req.proof.display()
        )));
    }
    let Some(head) = proofs.first() else {
        return Err(Error::Usage("a combined proof without shards".into()));
    };
    let check = AccuracyCheck {
        cid: req.cid.clone(),
        min_correct: req.min_correct,
        model: model_at(req.model.as_deref(), head.claim.fixed_point)?,
        arch: req.arch.as_deref().map(Architecture::read).transpose()?,
        srs: req.ptau.clone().map(Srs::Ptau),
    };
    let lone_shard = stated.is_none() && !head.claim.is_whole();
    let claim = if lone_shard {
        if req.cid.is_some() || req.min_correct.is_some() {
            return Err(Error::Usage(format!(
                "{}: a shard proof of samples {}..{} of {}: the CID and the threshold are checked on all shards together (kerafold combine, then verify the combined proof)",
                req.proof.display(),
                head.claim.first,
                head.claim.first + head.claim.samples,
                head.claim.header.count
            )));
        }
        accuracy::verify_one(head, &req.params_dir, &check)?;
        head.claim.clone()
    } else {
        let claim = accuracy::verify_shards(proofs, &req.params_dir, &check)?;
        if stated.is_some_and(|s| *s != claim) {
            return Err(Error::Invalid(
                "the combined proof's claim is not what its shards prove".into(),
            ));
        }
        claim
    };
    Ok(AccuracyVerified {
        valid: true,
        kind: if stated.is_some() {
            accuracy::shards::COMBINED
        } else {
            accuracy::ACCURACY
        },
        shards: proofs.len(),
        whole: !lone_shard,
        cid_checked: req.cid.is_some(),
        accuracy: claim.correct as f64 / claim.samples.max(1) as f64,
        claim,
        min_correct: req.min_correct,
    })
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyReport::Inference(v) => v.fmt(f),
            VerifyReport::Accuracy(v) => v.fmt(f),
        }
    }
}

impl fmt::Display for InferenceVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.claim;
        writeln!(
            f,
            "valid proof ({}) of {} steps (model labelled '{}' by the prover; names are not \
             proven)",
            self.system, c.steps, c.model_name
        )?;
        writeln!(f, "  class: {}", c.class)?;
        match &c.output {
            Opening::Public { values } => {
                let s = (1u64 << c.fixed_point.fa) as f64;
                let logits: Vec<String> = values
                    .iter()
                    .map(|v| format!("{:.4}", *v as f64 / s))
                    .collect();
                writeln!(f, "  logits: {}", logits.join(" "))?;
            }
            Opening::Private { commitment } => {
                writeln!(f, "  output: private, commitment {commitment}")?
            }
        }
        match &c.input {
            Opening::Public { .. } if self.input_checked => {
                writeln!(f, "  input: public, matches the input file")?
            }
            Opening::Public { .. } => writeln!(f, "  input: public")?,
            Opening::Private { commitment } => {
                writeln!(f, "  input: private, commitment {commitment}")?
            }
        }
        write!(
            f,
            "  model: {}, commitment {}{}",
            c.model.visibility,
            c.model.commitment,
            if self.model_checked {
                " (recomputed from the model file)"
            } else if c.model.visibility == Visibility::Public {
                " (not checked against a file: pass --model)"
            } else {
                ""
            }
        )
    }
}

impl fmt::Display for AccuracyVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.claim;
        if !self.whole {
            return write!(
                f,
                "valid shard proof: the model (labelled '{}' by the prover) is right on {} of \
                 samples {}..{} ({} of the dataset's {})\n  dataset: {} (checked once every \
                 shard is combined: kerafold combine)\n  model: {}, commitment {}",
                c.model_name,
                c.correct,
                c.first,
                c.first + c.samples,
                c.samples,
                c.header.count,
                c.cid,
                c.model.visibility,
                c.model.commitment
            );
        }
        if self.shards > 1 {
            writeln!(f, "{} shard proofs verified and joined", self.shards)?;
        }
        writeln!(
            f,
            "valid accuracy proof: the model (labelled '{}' by the prover) is right on {} of {} \
             samples ({:.1}%)",
            c.model_name,
            c.correct,
            c.samples,
            100.0 * self.accuracy
        )?;
        writeln!(
            f,
            "  dataset: {}{}",
            c.cid,
            if self.cid_checked {
                " (matches --cid)"
            } else {
                " (pass --cid to check it is the published one)"
            }
        )?;
        if let Some(k) = self.min_correct {
            writeln!(f, "  threshold: at least {k} correct: met")?;
        }
        write!(
            f,
            "  model: {}, commitment {}",
            c.model.visibility, c.model.commitment
        )
    }
}
