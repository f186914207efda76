//! `dataset pack`, `dataset inspect` and `cid`: dataset files and the IPFS CIDs that name them.

use super::shape_str;
use crate::data::{dataset, Dataset, FileDag};
use crate::Result;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What `kerafold dataset pack` reports.
#[derive(Serialize)]
pub struct PackReport {
    /// The dataset file written.
    pub out: PathBuf,
    /// Number of samples.
    pub count: usize,
    /// Feature shape of one sample.
    pub shape: Vec<usize>,
    /// Number of classes.
    pub classes: u16,
    /// Feature byte `b` stands for `b / 2^scale_shift`.
    pub scale_shift: u8,
    /// Bytes per record.
    pub record_size: usize,
    /// Size of the dataset file, bytes.
    pub file_size: usize,
    /// The dataset's CIDv1.
    pub cid: String,
    /// Float features that were not multiples of `2^-s`, and the largest rounding error.
    pub rounded: usize,
    /// Largest rounding error of a float feature.
    pub max_rounding_error: f64,
    /// Things the user should know (e.g. what a defaulted scale means for integer features).
    pub notes: Vec<String>,
}

/// Packs features and labels (`.npy`) into a dataset file. `scale_shift`: feature byte `b`
/// stands for `b / 2^s` (`None`: the default, with a note when the features are integers).
pub fn pack(
    features: &Path,
    labels: &Path,
    scale_shift: Option<u8>,
    classes: Option<usize>,
    out: &Path,
) -> Result<PackReport> {
    let s = scale_shift.unwrap_or(dataset::DEFAULT_SCALE_SHIFT);
    let packed = dataset::pack_npy(features, labels, s, classes)?;
    let d = &packed.dataset;
    d.write(out)?;
    let h = d.header();
    let mut notes = vec![];
    if packed.rounded > 0 {
        notes.push(format!(
            "{} float feature(s) were not multiples of 2^-{} and were rounded (largest error \
             {:.3e})",
            packed.rounded, h.scale_shift, packed.max_rounding_error
        ));
    }
    if scale_shift.is_none() && !packed.from_float {
        notes.push(format!(
            "integer features are stored as they are and byte b stands for the model input \
             b / 2^{s} (--scale-shift {s}, the default); a model trained on b / 255 or on raw \
             bytes sees other inputs: pass --scale-shift, or pack the float features the model \
             was trained on"
        ));
    }
    Ok(PackReport {
        out: out.to_path_buf(),
        count: d.len(),
        shape: h.shape(),
        classes: h.classes,
        scale_shift: h.scale_shift,
        record_size: h.record_size(),
        file_size: d.as_bytes().len(),
        cid: FileDag::of_bytes(d.as_bytes()).cid().to_string(),
        rounded: packed.rounded,
        max_rounding_error: packed.max_rounding_error,
        notes,
    })
}

impl fmt::Display for PackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "packed {} samples of shape {}, {} classes, feature = byte / 2^{}: records of {} \
             bytes, {} bytes -> {}",
            self.count,
            shape_str(&self.shape),
            self.classes,
            self.scale_shift,
            self.record_size,
            self.file_size,
            self.out.display()
        )?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        write!(f, "cid: {}", self.cid)
    }
}

/// What `kerafold dataset inspect` reports.
#[derive(Serialize)]
pub struct DatasetReport {
    /// The file described.
    pub file: PathBuf,
    /// The dataset format version.
    pub version: u16,
    /// Feature shape of one sample.
    pub shape: Vec<usize>,
    /// Features per sample.
    pub features: usize,
    /// Number of samples.
    pub count: usize,
    /// Number of classes.
    pub classes: u16,
    /// Feature byte `b` stands for `b / 2^scale_shift`.
    pub scale_shift: u8,
    /// Bytes per record.
    pub record_size: usize,
    /// Size of the dataset file, bytes.
    pub file_size: usize,
    /// Number of samples of each label.
    pub label_histogram: Vec<usize>,
    /// The dataset's CIDv1.
    pub cid: String,
    /// Number of IPFS leaf blocks.
    pub leaves: usize,
}

/// Checks a dataset file and describes it.
pub fn inspect(path: &Path) -> Result<DatasetReport> {
    let d = Dataset::read(path)?;
    let h = d.header();
    let dag = FileDag::of_bytes(d.as_bytes());
    Ok(DatasetReport {
        file: path.to_path_buf(),
        version: dataset::VERSION,
        shape: h.shape(),
        features: h.features(),
        count: d.len(),
        classes: h.classes,
        scale_shift: h.scale_shift,
        record_size: h.record_size(),
        file_size: d.as_bytes().len(),
        label_histogram: d.label_histogram(),
        cid: dag.cid().to_string(),
        leaves: dag.leaves.len(),
    })
}

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataset {}", self.file.display())?;
        writeln!(
            f,
            "  samples: {} of shape {} ({} features, value = byte / 2^{})",
            self.count,
            shape_str(&self.shape),
            self.features,
            self.scale_shift
        )?;
        writeln!(
            f,
            "  records: {} bytes each, file {} bytes",
            self.record_size, self.file_size
        )?;
        let hist: Vec<String> = self
            .label_histogram
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect();
        writeln!(f, "  labels ({} classes): {}", self.classes, hist.join(" "))?;
        write!(
            f,
            "  cid: {} ({} leaf block{})",
            self.cid,
            self.leaves,
            if self.leaves == 1 { "" } else { "s" }
        )
    }
}

/// What `kerafold cid` reports.
#[derive(Serialize)]
pub struct CidReport {
    /// The file described.
    pub file: PathBuf,
    /// The dataset's CIDv1.
    pub cid: String,
    /// Size of the file, bytes.
    pub size: u64,
    /// Number of IPFS leaf blocks.
    pub leaves: usize,
    /// Number of dag-pb nodes.
    pub nodes: usize,
    /// Depth of the IPFS DAG (0 for a single raw block).
    pub depth: usize,
}

/// The IPFS CID of any file (raw leaves, default chunking).
pub fn cid(path: &Path) -> Result<CidReport> {
    let dag = FileDag::of_file(path)?;
    Ok(CidReport {
        file: path.to_path_buf(),
        cid: dag.cid().to_string(),
        size: dag.size,
        leaves: dag.leaves.len(),
        nodes: dag.nodes.len(),
        depth: dag.depth(),
    })
}

impl fmt::Display for CidReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cid)
    }
}
