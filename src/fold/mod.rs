//! The folding engine (docs/DESIGN.md §4–5): the compiled architecture, commitments, Nova
//! backends and the one prove pipeline ([`pipeline::prove`]), parameters and derived keys
//! ([`params`]), the proof envelope ([`proof`]), and the one verifier of every statement proven
//! by folding ([`statement`]). The statements themselves are [`crate::inference`] and
//! [`crate::accuracy`].

pub mod arch;
pub mod backend;
pub mod commit;
pub mod packed;
pub mod params;
pub mod pipeline;
pub mod proof;
mod random_tau;
pub mod statement;

pub use arch::{Architecture, TileDesc, Tiling};
pub use params::{ParamsStore, Srs};
pub use pipeline::{Progress, ProveStats};
pub use proof::{fe_from_hex, fe_hex, PROOF_FORMAT, PROOF_VERSION};
pub use statement::{claimed_architecture, Statement, VerifyContext};

use crate::model::QuantizedModel;
use crate::Result;
use backend::{Backend, Bn254Ipa, Bn254Kzg, PastaIpa, Scalar};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Who may see a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// In the claim; the verifier recomputes its commitment.
    Public,
    /// Only a blinded commitment is in the claim.
    Private,
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        })
    }
}

/// The proof system: curve cycle and commitment scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum System {
    /// BN254/Grumpkin, IPA (transparent). The default.
    Bn254Ipa,
    /// BN254/Grumpkin, HyperKZG on BN254 from powers of tau.
    Bn254Kzg,
    /// Pallas/Vesta, IPA (transparent).
    PastaIpa,
}

impl System {
    /// Identifier in proof files and the parameter cache.
    pub fn id(&self) -> &'static str {
        match self {
            System::Bn254Ipa => Bn254Ipa::ID,
            System::Bn254Kzg => Bn254Kzg::ID,
            System::PastaIpa => PastaIpa::ID,
        }
    }
    /// Parses an identifier.
    pub fn from_id(id: &str) -> Option<Self> {
        [System::Bn254Ipa, System::Bn254Kzg, System::PastaIpa]
            .into_iter()
            .find(|s| s.id() == id)
    }
}

/// How big a step is: Dense layers cut into tiles, or a step per layer (docs/DESIGN.md §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StepSize {
    /// Tiles of one commitment block where the cost model says they are cheaper (public models
    /// only; [`crate::inference::resolve_tiling`]), else a step per layer.
    #[default]
    Auto,
    /// One step per layer: the step circuit is as wide as the widest layer.
    PerLayer,
    /// Tiles of this many input rows × outputs (rounded up to whole commitment blocks).
    Rows(usize),
}

impl std::fmt::Display for StepSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepSize::Auto => f.write_str("auto"),
            StepSize::PerLayer => f.write_str("layer"),
            StepSize::Rows(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for StepSize {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(StepSize::Auto),
            "layer" => Ok(StepSize::PerLayer),
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(StepSize::Rows(n)),
                _ => Err(format!(
                    "'{s}' is not a step size: give a number of rows (e.g. 88), 'layer' (a step \
                     per layer) or 'auto'"
                )),
            },
        }
    }
}

/// JSON: a number of rows, or `"layer"` / `"auto"`.
impl Serialize for StepSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            StepSize::Rows(n) => s.serialize_u64(*n as u64),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for StepSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Rows(usize),
            Word(String),
        }
        match Repr::deserialize(d)? {
            Repr::Rows(n) => Ok(StepSize::Rows(n)),
            Repr::Word(w) => w.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How a proof's steps are cut and folded (docs/DESIGN.md §7): Dense layers in tiles
/// (`step_size`), and `steps_per_fold` steps (layers or tiles) in one fold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stepping {
    /// The step size.
    #[serde(default)]
    pub step_size: StepSize,
    /// Steps in one fold (`None`: chosen from the step circuit's size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_per_fold: Option<usize>,
}

/// The default parameter cache: `$KERAFOLD_PARAMS`, else `kerafold-params` in the working
/// directory.
pub fn default_params_dir() -> PathBuf {
    std::env::var_os("KERAFOLD_PARAMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kerafold-params"))
}

/// The model part of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelClaim {
    /// Whether the weights are public or committed.
    pub visibility: Visibility,
    /// The model chain (hex): unblinded for a public model, blinded for a private one.
    pub commitment: String,
}

/// The model commitment of a public model under `system`: what a model publisher announces.
pub fn public_model_commitment(model: &QuantizedModel, system: System) -> Result<String> {
    let arch = Architecture::compile(model)?;
    Ok(match system {
        System::Bn254Ipa => fe_hex(&commit::model_commitment::<Scalar<Bn254Ipa>>(
            &arch,
            model,
            &[],
        )),
        System::Bn254Kzg => fe_hex(&commit::model_commitment::<Scalar<Bn254Kzg>>(
            &arch,
            model,
            &[],
        )),
        System::PastaIpa => fe_hex(&commit::model_commitment::<Scalar<PastaIpa>>(
            &arch,
            model,
            &[],
        )),
    })
}
