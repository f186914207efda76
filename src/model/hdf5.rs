//! Read-only HDF5 access for Keras files: the only module that uses the `hdf5-pure` crate.
//!
//! Keras writes a small subset of HDF5 (superblock v0, symbol-table groups, contiguous `<f4`
//! datasets, variable-length string attributes). This module exposes just what the importer
//! needs, so another reader (`hdf5-reader`) can replace `hdf5-pure` by rewriting this file:
//! open from bytes, group/dataset lookup, child lists, float data with its shape, and string /
//! string-array attributes (including the quirk that h5py stores an empty string list as a
//! float64 array of shape `(0,)`).
//!
//! Every error is an [`Error::Format`] naming the file, the HDF5 object and what is wrong. Calls
//! into the crate are guarded against panics, since it parses untrusted bytes.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use hdf5_pure::{AttrValue, DType};

use crate::error::{Error, Result};

/// An n-dimensional float array read from a dataset (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An open HDF5 file held in memory.
pub struct H5File {
    file: hdf5_pure::File,
    /// The file on disk, for error messages.
    origin: PathBuf,
    /// What the HDF5 bytes are within `origin` (`model.weights.h5` inside a `.keras` zip), or
    /// empty when the file itself is HDF5.
    member: String,
}

/// Runs a call into the HDF5 crate, turning its errors and panics into messages.
fn guarded<T>(f: impl FnOnce() -> Result<T, hdf5_pure::Error>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the HDF5 reader failed on malformed data".to_string()),
    }
}

/// Whether `bytes` start like an HDF5 file (signature at offset 0 or a power-of-two user-block
/// offset from 512 on, as the HDF5 specification allows).
pub(crate) fn looks_like_hdf5(bytes: &[u8]) -> bool {
    const SIG: &[u8] = b"\x89HDF\r\n\x1a\n";
    let mut off = 0usize;
    loop {
        match bytes.get(off..off + SIG.len()) {
            Some(s) if s == SIG => return true,
            Some(_) => {}
            None => return false,
        }
        off = if off == 0 { 512 } else { off * 2 };
    }
}

fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

impl H5File {
    /// Opens HDF5 bytes. `origin` is the file they came from and `member` the zip member name
    /// (empty for a plain `.h5` file); both only label error messages.
    pub fn from_bytes(bytes: Vec<u8>, origin: &Path, member: &str) -> Result<Self> {
        let label = if member.is_empty() {
            String::new()
        } else {
            format!("{member}: ")
        };
        let len = bytes.len() as u64;
        let file = guarded(|| hdf5_pure::File::from_bytes(bytes)).map_err(|e| {
            Error::format(
                origin,
                format!("{label}not a readable HDF5 file (truncated or corrupt?): {e}"),
            )
        })?;
        // The superblock records where the file ends: a shorter file lost its tail.
        let sb = file.superblock();
        let eof = sb.base_address.get().saturating_add(sb.eof_address);
        if eof > len {
            return Err(Error::format(
                origin,
                format!("{label}truncated HDF5 file: {len} bytes, its superblock says {eof}"),
            ));
        }
        Ok(Self {
            file,
            origin: origin.to_path_buf(),
            member: member.to_string(),
        })
    }

    /// A format error about the object at `path` inside this file.
    pub fn error(&self, path: &str, msg: impl std::fmt::Display) -> Error {
        let obj = format!("/{}", normalize(path));
        let msg = if self.member.is_empty() {
            format!("HDF5 object {obj}: {msg}")
        } else {
            format!("{}: HDF5 object {obj}: {msg}", self.member)
        };
        Error::format(&self.origin, msg)
    }

    fn group(&self, path: &str) -> Result<hdf5_pure::Group> {
        let p = normalize(path);
        if p.is_empty() {
            return Ok(self.file.root());
        }
        guarded(|| self.file.group(p)).map_err(|e| self.error(path, format!("missing group ({e})")))
    }

    /// Whether `path` names a group.
    pub fn is_group(&self, path: &str) -> bool {
        let p = normalize(path);
        p.is_empty() || guarded(|| self.file.group(p)).is_ok()
    }

    /// Names of the groups directly inside the group `path`.
    pub fn groups(&self, path: &str) -> Result<Vec<String>> {
        let g = self.group(path)?;
        guarded(|| g.groups()).map_err(|e| self.error(path, format!("cannot list groups: {e}")))
    }

    /// Names of the datasets directly inside the group `path`.
    pub fn datasets(&self, path: &str) -> Result<Vec<String>> {
        let g = self.group(path)?;
        guarded(|| g.datasets()).map_err(|e| self.error(path, format!("cannot list datasets: {e}")))
    }

    /// Reads a numeric dataset as f32 with its shape: f32, or f64 converted; integers too (Keras
    /// stores a few counters among the weights, e.g. Normalization's sample count), converted
    /// exactly up to 2^24.
    pub fn read_f32(&self, path: &str) -> Result<Array> {
        let p = normalize(path);
        let ds = guarded(|| self.file.dataset(p))
            .map_err(|e| self.error(path, format!("missing dataset ({e})")))?;
        let dtype = guarded(|| ds.dtype()).map_err(|e| self.error(path, e))?;
        let integer = matches!(
            dtype,
            DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        );
        if !integer && !matches!(dtype, DType::F32 | DType::F64) {
            return Err(self.error(
                path,
                format!("holds {dtype} values; kerafold reads numeric (float32) weights"),
            ));
        }
        let shape = guarded(|| ds.shape()).map_err(|e| self.error(path, e))?;
        let shape = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<Vec<usize>, _>>()
            .map_err(|_| self.error(path, "dimension too large"))?;
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| self.error(path, "dataset too large"))?;
        let data = if integer {
            let ints = guarded(|| ds.read_i64()).map_err(|e| self.error(path, e))?;
            ints.into_iter().map(|v| v as f32).collect()
        } else {
            guarded(|| ds.read_f32()).map_err(|e| self.error(path, e))?
        };
        if data.len() != len {
            return Err(self.error(
                path,
                format!(
                    "holds {} values but its shape {shape:?} needs {len}",
                    data.len()
                ),
            ));
        }
        Ok(Array { shape, data })
    }

    fn attrs(&self, path: &str) -> Result<HashMap<String, AttrValue>> {
        let g = self.group(path)?;
        guarded(|| g.attrs()).map_err(|e| self.error(path, format!("cannot read attributes: {e}")))
    }

    /// A string attribute of the group `path` (`None` if absent).
    pub fn attr_string(&self, path: &str, name: &str) -> Result<Option<String>> {
        let attrs = self.attrs(path)?;
        match attrs.get(name) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) => Ok(Some(s.to_string())),
                None => Err(self.error(path, format!("attribute '{name}' is not a string"))),
            },
        }
    }

    /// A string-array attribute of the group `path` (`None` if absent). An empty float array
    /// (h5py's encoding of an empty string list) reads as an empty list.
    pub fn attr_strings(&self, path: &str, name: &str) -> Result<Option<Vec<String>>> {
        let attrs = self.attrs(path)?;
        match attrs.get(name) {
            None => Ok(None),
            Some(AttrValue::F64Array(v)) if v.is_empty() => Ok(Some(Vec::new())),
            Some(AttrValue::F32Array(v)) if v.is_empty() => Ok(Some(Vec::new())),
            Some(v) => match v.as_strings() {
                Some(s) => Ok(Some(s.to_vec())),
                None => {
                    Err(self.error(path, format!("attribute '{name}' is not a list of strings")))
                }
            },
        }
    }
}
