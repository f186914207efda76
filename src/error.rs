//! The one error type of the library. Every variant says what is wrong and where; the CLI prints
//! it on one line (a list of unsupported layers one layer a line) and exits with
//! [`Error::exit_code`].

use std::path::PathBuf;
use thiserror::Error;

/// Errors from importing, quantizing, running, proving and verifying.
#[derive(Debug, Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be (corrupt zip, missing HDF5 dataset, bad JSON, ...).
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A layer (or layer option) kerafold does not support.
    #[error("layer '{layer}' ({class}): {msg}")]
    Unsupported {
        /// The layer's name.
        layer: String,
        /// The layer's Keras class name.
        class: String,
        /// What is not supported.
        msg: String,
    },
    /// Every layer of a model that kerafold does not support, found in one pass over the model
    /// (each an [`Error::Unsupported`]; see [`Error::unsupported_layers`]).
    #[error(
        "{} layers of the model cannot be proven:{}",
        .0.len(),
        .0.iter().map(|e| format!("\n  {e}")).collect::<String>()
    )]
    UnsupportedLayers(Vec<Error>),
    /// Shapes that do not fit (wrong input size, inconsistent weights, ...).
    #[error("{context}: {msg}")]
    Shape {
        /// Where: a layer, the model input or an input file.
        context: String,
        /// The shapes or sizes that do not fit.
        msg: String,
    },
    /// A value left the fixed-point range, or a weight is not finite.
    #[error("layer '{layer}'{}: {msg}", sample.map(|s| format!(", sample {s}")).unwrap_or_default())]
    Overflow {
        /// The layer (or `input`, `model`).
        layer: String,
        /// Index of the sample in a batch or data set, if any.
        sample: Option<usize>,
        /// Which value, and the range it left.
        msg: String,
    },
    /// Bad command-line usage or arguments.
    #[error("{0}")]
    Usage(String),
    /// Bytes or fields that cannot be parsed (a value that is not hex, not a canonical field
    /// element, not a valid architecture): bad input, not a proof that fails.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A proof or claim did not verify.
    #[error("verification failed: {0}")]
    Invalid(String),
    /// nova-snark failed while setting up, folding or compressing.
    #[error("{what}: {source}")]
    Nova {
        /// What was being done.
        what: String,
        /// The nova-snark error.
        #[source]
        source: nova_snark::errors::NovaError,
    },
    /// A circuit could not be synthesized (a gadget refused its witness, or a value is missing).
    #[error("{what}: {source}")]
    Synthesis {
        /// What was being synthesized.
        what: String,
        /// The synthesis error.
        #[source]
        source: nova_snark::frontend::SynthesisError,
    },
    /// The prover failed in kerafold's own code (a step that does not check, a report that
    /// cannot be written).
    #[error("prover: {0}")]
    Prover(String),
}

impl Error {
    /// Process exit code: 1 for a well-formed proof or claim that does not verify, 2 for
    /// everything else (usage, malformed input, I/O errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) => 1,
            _ => 2,
        }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// The error for the unsupported layers `found` (none: `None`): the one
    /// [`Error::Unsupported`], or [`Error::UnsupportedLayers`] listing them all.
    pub fn unsupported_layers(mut found: Vec<Error>) -> Option<Self> {
        match found.len() {
            0 => None,
            1 => found.pop(),
            _ => Some(Error::UnsupportedLayers(found)),
        }
    }

    /// Shorthand for [`Error::Nova`].
    pub fn nova(what: impl Into<String>, source: nova_snark::errors::NovaError) -> Self {
        Error::Nova {
            what: what.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Synthesis`].
    pub fn synthesis(
        what: impl Into<String>,
        source: nova_snark::frontend::SynthesisError,
    ) -> Self {
        Error::Synthesis {
            what: what.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
