//! Proof files of any kind: what a verifier holds before it knows which statement a file
//! proves (docs/DESIGN.md §5.1).

use crate::fold::proof::{kind_of, ProofFile};
use crate::{Error, Result};
use std::path::Path;

/// A proof file of either kind.
#[derive(Clone, Debug)]
pub enum AnyProof {
    /// An inference proof.
    Inference(crate::inference::InferenceProof),
    /// An accuracy proof (of a whole dataset, or one shard).
    Accuracy(crate::accuracy::AccuracyProof),
    /// Shard accuracy proofs combined (`kerafold combine`).
    Combined(crate::accuracy::CombinedProof),
}

impl AnyProof {
    /// Parses a proof file of any kind.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        match kind_of(bytes, path)?.as_deref() {
            Some(crate::inference::INFERENCE) => Ok(AnyProof::Inference(ProofFile::from_bytes(
                bytes,
                path,
                crate::inference::INFERENCE,
            )?)),
            Some(crate::accuracy::ACCURACY) => Ok(AnyProof::Accuracy(ProofFile::from_bytes(
                bytes,
                path,
                crate::accuracy::ACCURACY,
            )?)),
            Some(crate::accuracy::shards::COMBINED) => Ok(AnyProof::Combined(
                crate::accuracy::CombinedProof::from_bytes(bytes, path)?,
            )),
            Some(k) => Err(Error::format(path, format!("unknown proof kind '{k}'"))),
            None => Err(Error::format(path, "the proof file has no kind")),
        }
    }

    /// Reads a proof file of any kind.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// The shard proofs in an accuracy proof file: the one proof of a whole dataset (or a lone
    /// shard), or every shard of a combined proof, in sample order.
    pub fn read_accuracy(path: &Path) -> Result<Vec<crate::accuracy::AccuracyProof>> {
        match Self::read(path)? {
            AnyProof::Accuracy(p) => Ok(vec![p]),
            AnyProof::Combined(c) => Ok(c.shards),
            AnyProof::Inference(_) => Err(Error::Usage(format!(
                "{} is an inference proof, not an accuracy proof (prove-accuracy, or combine of its shards)",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_proofs_say_so() {
        let p = Path::new("x.proof");
        let e = AnyProof::from_bytes(b"{\"format\": \"kerafold-pro", p).unwrap_err();
        assert!(e.to_string().contains("not a kerafold proof file"), "{e}");
        let e = AnyProof::from_bytes(br#"{"format":"kerafold-proof","version":1}"#, p).unwrap_err();
        assert!(e.to_string().contains("version 1 is not supported"), "{e}");
        let e = AnyProof::from_bytes(
            br#"{"format":"kerafold-accuracy-proof","version":1,"system":"bn254-ipa"}"#,
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("version 1 is not supported"), "{e}");
        // version 2 committed tensors as one sponge: its proofs are not this kerafold's
        let e = AnyProof::from_bytes(br#"{"format":"kerafold-proof","version":2}"#, p).unwrap_err();
        assert!(e.to_string().contains("version 2 is not supported"), "{e}");
        // version 3 hashed an accuracy proof's dataset as one leaf, without shards
        let e = AnyProof::from_bytes(br#"{"format":"kerafold-proof","version":3}"#, p).unwrap_err();
        assert!(e.to_string().contains("version 3 is not supported"), "{e}");
        let e = AnyProof::from_bytes(
            br#"{"format":"kerafold-proof","version":4,"kind":"other"}"#,
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown proof kind"), "{e}");
        let e = AnyProof::from_bytes(
            br#"{"format":"kerafold-proof","version":4,"kind":"accuracy","claim":{}}"#,
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("malformed accuracy proof"), "{e}");
    }
}
