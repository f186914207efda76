//! The proof file: one envelope for every statement proven by folding (docs/DESIGN.md §5.1).
//!
//! ```json
//! {"format": "kerafold-proof", "version": 3, "kind": "inference" | "accuracy",
//!  "system": "bn254-ipa", "architecture": "<sha-256 hex>", "claim": {…}, "snark": "<hex>"}
//! ```
//!
//! A file that is not JSON, not a kerafold proof, of another version or of another kind is an
//! [`Error::Format`] naming the file, never a complaint about the flags that came with it
//! (`crate::proofs::AnyProof` reads a file of either kind).

use crate::{Error, Result};
use ff::PrimeField;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag of proof files.
pub const PROOF_FORMAT: &str = "kerafold-proof";
/// Current proof file version (4: accuracy proofs hash the dataset leaf by leaf and may be
/// shards; 3: tensor commitments are chains of blocks,
/// `kerafold_step_circuits::commit`; 2: one envelope with a kind tag, model commitments bind the
/// architecture, private weights are proven well-formed).
pub const PROOF_VERSION: u32 = 4;
/// The accuracy proofs' format tag of version 1, recognised to say what it is.
const V1_ACCURACY_FORMAT: &str = "kerafold-accuracy-proof";

/// A proof file of claim type `C` (module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofFile<C> {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// [`PROOF_VERSION`].
    pub version: u32,
    /// The statement: `inference` or `accuracy`.
    pub kind: String,
    /// Proof system id (`bn254-ipa`, `bn254-kzg`, `pasta-ipa`).
    pub system: String,
    /// SHA-256 of the model's architecture (hex, names excluded): the verifier checks the
    /// architecture it trusts against it.
    pub architecture: String,
    /// What the proof states.
    pub claim: C,
    /// The compressed SNARK (hex of nova-snark's bincode encoding).
    pub snark: String,
}

/// The fields every proof file has, read before the claim's type is known.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
    #[serde(default)]
    kind: Option<String>,
}

/// Checks the fields every proof file has: a kerafold proof of this version. Returns its kind.
pub fn kind_of(bytes: &[u8], path: &Path) -> Result<Option<String>> {
    header(bytes, path).map(|h| h.kind)
}

fn header(bytes: &[u8], path: &Path) -> Result<Header> {
    let h: Header = serde_json::from_slice(bytes)
        .map_err(|e| Error::format(path, format!("not a kerafold proof file: {e}")))?;
    if h.format == V1_ACCURACY_FORMAT || (h.format == PROOF_FORMAT && h.version != PROOF_VERSION) {
        return Err(Error::format(
            path,
            format!(
                "proof format version {} is not supported (this kerafold reads version {PROOF_VERSION}; prove again)",
                h.version
            ),
        ));
    }
    if h.format != PROOF_FORMAT {
        return Err(Error::format(
            path,
            format!("format is '{}', not '{PROOF_FORMAT}'", h.format),
        ));
    }
    Ok(h)
}

impl<C: Serialize + DeserializeOwned> ProofFile<C> {
    /// A proof file of `kind`.
    pub fn new(kind: &str, system: &str, architecture: &[u8; 32], claim: C, snark: String) -> Self {
        Self {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            kind: kind.into(),
            system: system.into(),
            architecture: hex::encode(architecture),
            claim,
            snark,
        }
    }

    /// Parses a proof file of `kind`.
    pub fn from_bytes(bytes: &[u8], path: &Path, kind: &str) -> Result<Self> {
        let h = header(bytes, path)?;
        if h.kind.as_deref() != Some(kind) {
            return Err(Error::format(
                path,
                format!(
                    "a proof of kind '{}', not '{kind}'",
                    h.kind.as_deref().unwrap_or("?")
                ),
            ));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| Error::format(path, format!("malformed {kind} proof: {e}")))
    }

    /// Reads a proof file of `kind`.
    pub fn read_kind(path: &Path, kind: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path, kind)
    }

    /// Writes the proof file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("proof serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }
}

/// Hex of a field element's canonical representation.
pub fn fe_hex<F: PrimeField>(f: &F) -> String {
    hex::encode(f.to_repr().as_ref())
}

/// Parses [`fe_hex`], rejecting non-canonical encodings ([`Error::Invalid`]: a claim whose value
/// does not parse is a claim that does not verify).
pub fn fe_from_hex<F: PrimeField>(s: &str, what: &str) -> Result<F> {
    let bytes = hex::decode(s).map_err(|_| Error::Invalid(format!("{what} is not hex")))?;
    let mut repr = F::Repr::default();
    if bytes.len() != repr.as_ref().len() {
        return Err(Error::Invalid(format!("{what} has the wrong length")));
    }
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(F::from_repr(repr))
        .ok_or_else(|| Error::Invalid(format!("{what} is not a canonical field element")))
}
