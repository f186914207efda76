//! The dataset file (`.kfd`): labelled samples in fixed-size records, laid out so that the
//! circuit can hash the file block by block (SHA-256, as IPFS does, see [`super::cid`]) while
//! reading the samples at fixed offsets.
//!
//! # Byte layout (version 1)
//!
//! All integers are little-endian. Let `F = h·w·c` be the number of features per sample and
//! `R` the record size: the smallest power of two with `R ≥ 64` and `R ≥ F + 1`
//! (at most [`MAX_RECORD_SIZE`] = 262144). The file is `count + 1` slots of `R` bytes:
//! slot 0 holds the header, slot `i + 1` holds sample `i`. Its length is `R·(count + 1)`.
//!
//! Header (slot 0):
//!
//! | offset | size | field | value |
//! |-------:|-----:|-------|-------|
//! | 0  | 4 | magic | `4b 46 44 53` (`"KFDS"`) |
//! | 4  | 2 | version | 1 |
//! | 6  | 2 | `h` | ≥ 1 |
//! | 8  | 2 | `w` | ≥ 1 |
//! | 10 | 2 | `c` | ≥ 1 |
//! | 12 | 4 | features per record `F` | `h·w·c` |
//! | 16 | 4 | record size `R` | as above |
//! | 20 | 4 | sample count | ≥ 1 |
//! | 24 | 2 | number of classes `K` | 1 ..= 256 |
//! | 26 | 1 | scale shift `s` | 0 ..= [`MAX_SCALE_SHIFT`] |
//! | 27 | `R − 27` | padding | zero |
//!
//! Record of sample `i`, at file offset `R·(i + 1)`:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | `F` | features, one `u8` each, row-major over `(h, w, c)` (channels last, as Keras) |
//! | `F` | 1 | label, `< K` |
//! | `F + 1` | `R − F − 1` | padding, zero |
//!
//! A model input shape of rank below 3 is stored with leading ones: `(n,)` as `(1, 1, n)`,
//! `(t, c)` as `(1, t, c)`. Every field is determined by the data (no free bytes): one set of
//! samples has exactly one file, hence one CID.
//!
//! Why these choices: `R` is a power of two ≥ 64, so a record is a whole number of SHA-256
//! blocks; the header takes a whole slot, so records start at multiples of `R`, and since `R`
//! divides IPFS' chunk size (262144 bytes), every IPFS leaf holds whole slots (the first leaf
//! starts with the header) and its SHA-256 padding is a single extra block
//! ([`super::sha256::final_block`]).
//!
//! # Feature values
//!
//! Feature byte `b` stands for the real value `b / 2^s` ([`feature_value`]). With activation
//! scale `2^fa` the model's integer input is `b·2^(fa − s)` if `fa ≥ s`, else
//! `⌊b / 2^(s − fa)⌋` ([`quantize_feature`]): the rule the quantizer and the circuit share.
//! The default `s` = [`DEFAULT_SCALE_SHIFT`] = 8 maps bytes to `[0, 1)`.

use std::path::Path;

use crate::model::input::parse_npy_typed;
use crate::{Error, Result};

/// `"KFDS"`.
pub const MAGIC: [u8; 4] = *b"KFDS";
/// The layout version this code reads and writes.
pub const VERSION: u16 = 1;
/// The smallest header slot: the header fields take 27 bytes, zero-padded to the record size
/// (at least 64).
pub const HEADER_LEN: usize = 64;
/// Smallest record size (one SHA-256 block).
pub const MIN_RECORD_SIZE: usize = 64;
/// Largest record size: IPFS' chunk size, so that records never straddle leaves.
pub const MAX_RECORD_SIZE: usize = super::cid::CHUNK_SIZE;
/// Most classes (labels are one byte).
pub const MAX_CLASSES: usize = 256;
/// Largest scale shift.
pub const MAX_SCALE_SHIFT: u8 = 16;
/// Default scale shift: feature = byte / 256.
pub const DEFAULT_SCALE_SHIFT: u8 = 8;

/// Offsets of the header fields (see the module documentation).
pub mod offsets {
    /// Magic, 4 bytes.
    pub const MAGIC: usize = 0;
    /// Version, u16.
    pub const VERSION: usize = 4;
    /// `h`, `w`, `c`: three u16.
    pub const SHAPE: usize = 6;
    /// Features per record, u32.
    pub const FEATURES: usize = 12;
    /// Record size, u32.
    pub const RECORD_SIZE: usize = 16;
    /// Sample count, u32.
    pub const COUNT: usize = 20;
    /// Number of classes, u16.
    pub const CLASSES: usize = 24;
    /// Scale shift, u8.
    pub const SCALE_SHIFT: usize = 26;
    /// First padding byte.
    pub const PADDING: usize = 27;
}

/// The record size for `features` features per sample: the smallest power of two ≥ 64 that
/// holds the features and the label.
pub fn record_size_for(features: usize) -> usize {
    (features + 1).next_power_of_two().max(MIN_RECORD_SIZE)
}

/// The real value of feature byte `b` at scale shift `s`: `b / 2^s`.
pub fn feature_value(b: u8, scale_shift: u8) -> f32 {
    f32::from(b) / (1u32 << scale_shift) as f32
}

/// The model's integer input for feature byte `b` at scale shift `s`, with activations at scale
/// `2^fa`: `b·2^(fa − s)` if `fa ≥ s`, else `⌊b / 2^(s − fa)⌋`.
///
/// # Panics
/// If `fa − s` ≥ 55 (the result would not fit an i64).
pub fn quantize_feature(b: u8, scale_shift: u8, fa: u32) -> i64 {
    let s = u32::from(scale_shift);
    if fa >= s {
        assert!(fa - s < 55, "quantize_feature: shift {} too large", fa - s);
        i64::from(b) << (fa - s)
    } else {
        i64::from(b) >> (s - fa)
    }
}

/// The header of a dataset file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Feature shape `(h, w, c)`.
    pub shape: [u16; 3],
    /// Number of samples.
    pub count: u32,
    /// Number of classes (labels are `0 .. classes`).
    pub classes: u16,
    /// Scale shift `s`: feature = byte / 2^s.
    pub scale_shift: u8,
}

impl Header {
    /// Features per sample, `h·w·c`.
    pub fn features(&self) -> usize {
        self.shape.iter().map(|&d| usize::from(d)).product()
    }

    /// Bytes per record (and of the header slot).
    pub fn record_size(&self) -> usize {
        record_size_for(self.features())
    }

    /// File offset of sample `i`'s record: `R·(i + 1)`.
    pub fn record_offset(&self, i: usize) -> usize {
        self.record_size() * (i + 1)
    }

    /// Slots (header or records) per IPFS leaf: `262144 / R`. Leaf `k` holds slots
    /// `k·(262144 / R)` onwards; leaf 0 starts with the header slot.
    pub fn slots_per_chunk(&self) -> usize {
        super::cid::CHUNK_SIZE / self.record_size()
    }

    /// Length of the file: `R·(count + 1)`.
    pub fn file_len(&self) -> u64 {
        self.record_size() as u64 * (u64::from(self.count) + 1)
    }

    /// The feature shape as a list `[h, w, c]`.
    pub fn shape(&self) -> Vec<usize> {
        self.shape.iter().map(|&d| usize::from(d)).collect()
    }

    /// The header slot: the 27 field bytes, then zeros up to the record size.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.record_size()];
        b[offsets::MAGIC..offsets::MAGIC + 4].copy_from_slice(&MAGIC);
        b[offsets::VERSION..offsets::VERSION + 2].copy_from_slice(&VERSION.to_le_bytes());
        for (k, d) in self.shape.iter().enumerate() {
            let o = offsets::SHAPE + 2 * k;
            b[o..o + 2].copy_from_slice(&d.to_le_bytes());
        }
        let f = self.features() as u32;
        b[offsets::FEATURES..offsets::FEATURES + 4].copy_from_slice(&f.to_le_bytes());
        let r = self.record_size() as u32;
        b[offsets::RECORD_SIZE..offsets::RECORD_SIZE + 4].copy_from_slice(&r.to_le_bytes());
        b[offsets::COUNT..offsets::COUNT + 4].copy_from_slice(&self.count.to_le_bytes());
        b[offsets::CLASSES..offsets::CLASSES + 2].copy_from_slice(&self.classes.to_le_bytes());
        b[offsets::SCALE_SHIFT] = self.scale_shift;
        b
    }

    /// Checks the header's own invariants; `Err` holds the problem. A header read from a claim
    /// (not from a dataset file) is checked with this too.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.shape.contains(&0) {
            return Err(format!(
                "feature shape {:?} has a zero dimension",
                self.shape
            ));
        }
        if self.features() + 1 > MAX_RECORD_SIZE {
            return Err(format!(
                "{} features per sample: a record (features + label) must fit {MAX_RECORD_SIZE} \
                 bytes",
                self.features()
            ));
        }
        if self.count == 0 {
            return Err("the dataset holds no samples".into());
        }
        if self.classes == 0 || usize::from(self.classes) > MAX_CLASSES {
            return Err(format!(
                "{} classes: must be 1 to {MAX_CLASSES} (labels are one byte)",
                self.classes
            ));
        }
        if self.scale_shift > MAX_SCALE_SHIFT {
            return Err(format!(
                "scale shift {} is larger than {MAX_SCALE_SHIFT}",
                self.scale_shift
            ));
        }
        Ok(())
    }

    /// Parses and checks the header at the start of `b`.
    fn parse(b: &[u8]) -> std::result::Result<Header, String> {
        if b.len() < HEADER_LEN {
            return Err(format!(
                "truncated: {} bytes, a dataset header has {HEADER_LEN}",
                b.len()
            ));
        }
        if b[..4] != MAGIC {
            return Err(format!(
                "not a kerafold dataset: bad magic \"{}\" (expected \"KFDS\")",
                b[..4].escape_ascii()
            ));
        }
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let version = u16_at(offsets::VERSION);
        if version != VERSION {
            return Err(format!(
                "unsupported dataset version {version} (this kerafold reads version {VERSION})"
            ));
        }
        let h = Header {
            shape: [
                u16_at(offsets::SHAPE),
                u16_at(offsets::SHAPE + 2),
                u16_at(offsets::SHAPE + 4),
            ],
            count: u32_at(offsets::COUNT),
            classes: u16_at(offsets::CLASSES),
            scale_shift: b[offsets::SCALE_SHIFT],
        };
        h.check()?;
        let features = u32_at(offsets::FEATURES);
        if features as usize != h.features() {
            return Err(format!(
                "header says {features} features per record, but shape {:?} has {}",
                h.shape,
                h.features()
            ));
        }
        let record = u32_at(offsets::RECORD_SIZE);
        if record as usize != h.record_size() {
            return Err(format!(
                "header says record size {record}, but {} features need {} (the smallest \
                 power of two ≥ 64 that holds features + label)",
                h.features(),
                h.record_size()
            ));
        }
        Ok(h)
    }
}

/// A dataset: a header and its records. Always valid (every constructor checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    header: Header,
    /// The whole file, header slot included.
    bytes: Vec<u8>,
}

impl Dataset {
    /// Reads and checks a dataset file.
    pub fn read(path: &Path) -> Result<Dataset> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(bytes, path)
    }

    /// Parses and checks the bytes of a dataset file; `origin` names it in errors.
    ///
    /// Every deviation from the layout is an [`Error::Format`]: truncation or trailing bytes,
    /// a wrong magic or version, inconsistent header fields, non-zero padding, a label outside
    /// `0 .. classes`.
    pub fn from_bytes(bytes: Vec<u8>, origin: &Path) -> Result<Dataset> {
        let header = Header::parse(&bytes).map_err(|m| Error::format(origin, m))?;
        let want = header.file_len();
        let got = bytes.len() as u64;
        if got != want {
            let what = if got < want {
                "truncated"
            } else {
                "trailing bytes"
            };
            return Err(Error::format(
                origin,
                format!(
                    "{what}: {got} bytes, but {} samples of {} bytes plus the header slot make \
                     {want}",
                    header.count,
                    header.record_size()
                ),
            ));
        }
        let r = header.record_size();
        if let Some(p) = bytes[offsets::PADDING..r].iter().position(|&b| b != 0) {
            return Err(Error::format(
                origin,
                format!("non-zero header padding at offset {}", offsets::PADDING + p),
            ));
        }
        let f = header.features();
        for (i, rec) in bytes[r..].chunks_exact(r).enumerate() {
            let label = rec[f];
            if u16::from(label) >= header.classes {
                return Err(Error::format(
                    origin,
                    format!(
                        "sample {i} (offset {}): label {label} is not below the number of \
                         classes {}",
                        r * (i + 1) + f,
                        header.classes
                    ),
                ));
            }
            if let Some(p) = rec[f + 1..].iter().position(|&b| b != 0) {
                return Err(Error::format(
                    origin,
                    format!(
                        "sample {i}: non-zero record padding at offset {}",
                        r * (i + 1) + f + 1 + p
                    ),
                ));
            }
        }
        Ok(Dataset { header, bytes })
    }

    /// Builds a dataset from samples: `features` holds `n·h·w·c` bytes (sample after sample,
    /// row-major), `labels` holds `n` labels below `classes`; `shape` is the feature shape of
    /// rank 1 to 3 (padded with leading ones to `(h, w, c)`).
    pub fn pack(
        features: &[u8],
        labels: &[u8],
        shape: &[usize],
        classes: usize,
        scale_shift: u8,
    ) -> Result<Dataset> {
        let usage = |m: String| Error::Usage(format!("dataset: {m}"));
        if shape.is_empty() || shape.len() > 3 {
            return Err(usage(format!(
                "feature shape {shape:?}: must have 1 to 3 dimensions"
            )));
        }
        let mut dims = [1u16; 3];
        for (k, &d) in shape.iter().enumerate() {
            dims[3 - shape.len() + k] = u16::try_from(d)
                .map_err(|_| usage(format!("feature shape {shape:?}: dimensions are u16")))?;
        }
        let count = u32::try_from(labels.len())
            .map_err(|_| usage(format!("{} samples is too many", labels.len())))?;
        let classes_u16 = u16::try_from(classes)
            .map_err(|_| usage(format!("{classes} classes: at most {MAX_CLASSES}")))?;
        let header = Header {
            shape: dims,
            count,
            classes: classes_u16,
            scale_shift,
        };
        header.check().map_err(usage)?;
        let f = header.features();
        if features.len() != f * labels.len() {
            return Err(Error::Shape {
                context: "dataset".into(),
                msg: format!(
                    "{} feature bytes for {} samples of shape {shape:?} ({f} each)",
                    features.len(),
                    labels.len()
                ),
            });
        }
        if let Some(i) = labels.iter().position(|&l| usize::from(l) >= classes) {
            return Err(usage(format!(
                "label {} of sample {i} is not below the number of classes {classes}",
                labels[i]
            )));
        }
        let r = header.record_size();
        let mut bytes = header.to_bytes();
        bytes.reserve(r * labels.len());
        for (x, &y) in features.chunks_exact(f.max(1)).zip(labels) {
            let start = bytes.len();
            bytes.extend_from_slice(x);
            bytes.push(y);
            bytes.resize(start + r, 0);
        }
        debug_assert_eq!(bytes.len() as u64, header.file_len());
        Ok(Dataset { header, bytes })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.header.count as usize
    }

    /// Never true (a dataset holds at least one sample); for API symmetry with [`Dataset::len`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's bytes, owned.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, &self.bytes).map_err(|e| Error::io(path, e))
    }

    /// The whole record of sample `i` (`R` bytes: features, label, padding).
    ///
    /// # Panics
    /// If `i ≥ len()`.
    pub fn record(&self, i: usize) -> &[u8] {
        assert!(i < self.len(), "sample {i} of {}", self.len());
        let o = self.header.record_offset(i);
        &self.bytes[o..o + self.header.record_size()]
    }

    /// Sample `i`: its feature bytes and its label.
    ///
    /// # Panics
    /// If `i ≥ len()`.
    pub fn sample(&self, i: usize) -> (&[u8], u8) {
        let f = self.header.features();
        let rec = self.record(i);
        (&rec[..f], rec[f])
    }

    /// Every sample, in order.
    pub fn samples(&self) -> impl Iterator<Item = (&[u8], u8)> + '_ {
        (0..self.len()).map(|i| self.sample(i))
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<u8> {
        self.samples().map(|(_, y)| y).collect()
    }

    /// How many samples carry each label (`classes` entries).
    pub fn label_histogram(&self) -> Vec<usize> {
        let mut h = vec![0; usize::from(self.header.classes)];
        for (_, y) in self.samples() {
            h[usize::from(y)] += 1;
        }
        h
    }

    /// The model inputs: each feature byte `b` as `b / 2^s` ([`feature_value`]), one flat
    /// vector per sample.
    pub fn inputs_f32(&self) -> Vec<Vec<f32>> {
        let s = self.header.scale_shift;
        self.samples()
            .map(|(x, _)| x.iter().map(|&b| feature_value(b, s)).collect())
            .collect()
    }

    /// The integer model input of sample `i` at activation scale `2^fa`
    /// ([`quantize_feature`] of each byte).
    pub fn quantized_input(&self, i: usize, fa: u32) -> Vec<i64> {
        let s = self.header.scale_shift;
        self.sample(i)
            .0
            .iter()
            .map(|&b| quantize_feature(b, s, fa))
            .collect()
    }

    /// Checks that the samples fit a model with this input shape (without the batch axis):
    /// equal after padding both to rank 3 with leading ones.
    pub fn check_input_shape(&self, input_shape: &[usize]) -> Result<()> {
        let mine = self.header.shape();
        let mut theirs = input_shape.to_vec();
        while theirs.len() < 3 {
            theirs.insert(0, 1);
        }
        if theirs != mine {
            return Err(Error::Shape {
                context: "dataset".into(),
                msg: format!("the samples have shape {mine:?}, the model takes {input_shape:?}"),
            });
        }
        Ok(())
    }
}

/// A dataset packed from `.npy` files, with what the conversion did.
#[derive(Clone, Debug)]
pub struct Packed {
    /// The dataset.
    pub dataset: Dataset,
    /// Whether the features were floats (scaled by `2^s` and rounded) rather than bytes.
    pub from_float: bool,
    /// How many float features were not exact multiples of `2^-s`.
    pub rounded: usize,
    /// The largest `|x − byte / 2^s|` over the float features.
    pub max_rounding_error: f64,
}

const INT_DTYPES: &[&str] = &["|u1", "|i1", "<i2", "<i4", "<i8"];

/// Packs features and labels from `.npy` files.
///
/// * `features`: an array `[n, ...shape]` (`shape` of rank 1 to 3). Integer dtypes are taken as
///   the bytes themselves (each value must be 0 ..= 255); float dtypes as real values `x`,
///   stored as `round(x·2^s)` (half up), which must be 0 ..= 255.
/// * `labels`: an integer array `[n]` (or `[n, 1]`).
/// * `classes`: the number of classes, by default the largest label + 1.
pub fn pack_npy(
    features: &Path,
    labels: &Path,
    scale_shift: u8,
    classes: Option<usize>,
) -> Result<Packed> {
    if scale_shift > MAX_SCALE_SHIFT {
        return Err(Error::Usage(format!(
            "scale shift {scale_shift}: at most {MAX_SCALE_SHIFT}"
        )));
    }
    let read = |p: &Path| -> Result<_> {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        parse_npy_typed(&bytes).map_err(|m| Error::format(p, m))
    };
    let (xa, xdt) = read(features)?;
    let (ya, ydt) = read(labels)?;

    if xa.shape.len() < 2 || xa.shape.len() > 4 {
        return Err(Error::format(
            features,
            format!(
                "features of shape {:?}: expected [n, ...sample shape] with a sample shape of \
                 rank 1 to 3",
                xa.shape
            ),
        ));
    }
    let n = xa.shape[0];
    let shape = &xa.shape[1..];
    if n == 0 {
        return Err(Error::format(features, "the array holds no samples"));
    }
    let f: usize = shape.iter().product();
    let from_float = !INT_DTYPES.contains(&xdt.as_str());
    let scale = f64::from(1u32 << scale_shift);
    let (mut rounded, mut max_err) = (0usize, 0f64);
    let mut fbytes = Vec::with_capacity(xa.data.len());
    for (k, &v) in xa.data.iter().enumerate() {
        let (i, j) = (k / f.max(1), k % f.max(1));
        let b = if from_float {
            let q = (v * scale + 0.5).floor();
            if !(0.0..=255.0).contains(&q) {
                return Err(Error::format(
                    features,
                    format!(
                        "sample {i}, feature {j}: value {v} becomes {q} at scale 2^{scale_shift}, \
                         which does not fit a byte; float features must lie in [0, {}) (use \
                         a smaller scale shift, or save byte values as an integer array)",
                        255.5 / scale
                    ),
                ));
            }
            let err = (v - q / scale).abs();
            if err > 0.0 {
                rounded += 1;
                max_err = max_err.max(err);
            }
            q as u8
        } else {
            if !(0.0..=255.0).contains(&v) {
                return Err(Error::format(
                    features,
                    format!(
                        "sample {i}, feature {j}: value {v} does not fit a byte (integer \
                         features are stored as they are and must be 0 to 255)"
                    ),
                ));
            }
            v as u8
        };
        fbytes.push(b);
    }

    if !INT_DTYPES.contains(&ydt.as_str()) {
        return Err(Error::format(
            labels,
            format!("labels must be an integer array, got dtype '{ydt}'"),
        ));
    }
    let flat_labels = ya.shape.len() == 1 || (ya.shape.len() == 2 && ya.shape[1] == 1);
    if !flat_labels || ya.shape[0] != n {
        return Err(Error::format(
            labels,
            format!(
                "labels of shape {:?}: expected [{n}] (one per sample of {})",
                ya.shape,
                features.display()
            ),
        ));
    }
    let max_label = ya.data.iter().cloned().fold(0f64, f64::max);
    if let Some(i) = ya
        .data
        .iter()
        .position(|&v| !(0.0..MAX_CLASSES as f64).contains(&v))
    {
        return Err(Error::format(
            labels,
            format!(
                "label {} of sample {i} is outside 0 to {}",
                ya.data[i],
                MAX_CLASSES - 1
            ),
        ));
    }
    let classes = classes.unwrap_or(max_label as usize + 1);
    if let Some(i) = ya.data.iter().position(|&v| v as usize >= classes) {
        return Err(Error::format(
            labels,
            format!(
                "label {} of sample {i} is not below the number of classes, {classes}",
                ya.data[i]
            ),
        ));
    }
    let ybytes: Vec<u8> = ya.data.iter().map(|&v| v as u8).collect();
    let dataset = Dataset::pack(&fbytes, &ybytes, shape, classes, scale_shift)?;
    Ok(Packed {
        dataset,
        from_float,
        rounded,
        max_rounding_error: max_err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let x: Vec<u8> = (0..3 * 8).map(|v| v as u8).collect();
        Dataset::pack(&x, &[0, 2, 1], &[2, 4], 3, 4).unwrap()
    }

    #[test]
    fn layout() {
        let d = tiny();
        let b = d.as_bytes();
        assert_eq!(d.header().shape, [1, 2, 4]);
        assert_eq!(d.header().record_size(), 64);
        assert_eq!(d.header().slots_per_chunk(), 4096);
        assert_eq!(b.len(), 64 * 4);
        assert_eq!(&b[..4], b"KFDS");
        assert_eq!(&b[4..6], &[1, 0]);
        assert_eq!(&b[6..12], &[1, 0, 2, 0, 4, 0]);
        assert_eq!(&b[12..16], &[8, 0, 0, 0]);
        assert_eq!(&b[16..20], &[64, 0, 0, 0]);
        assert_eq!(&b[20..24], &[3, 0, 0, 0]);
        assert_eq!(&b[24..26], &[3, 0]);
        assert_eq!(b[26], 4);
        assert!(b[27..64].iter().all(|&v| v == 0));
        assert_eq!(&b[128..136], &[8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(b[136], 2);
        assert_eq!(d.sample(2), (&[16u8, 17, 18, 19, 20, 21, 22, 23][..], 1));
        assert_eq!(d.labels(), vec![0, 2, 1]);
        assert_eq!(d.label_histogram(), vec![1, 1, 1]);
        assert_eq!(d.inputs_f32()[0][3], 3.0 / 16.0);
        let again = Dataset::from_bytes(d.to_bytes(), Path::new("x")).unwrap();
        assert_eq!(again, d);
        d.check_input_shape(&[2, 4]).unwrap();
        d.check_input_shape(&[1, 2, 4]).unwrap();
        assert!(d.check_input_shape(&[8]).is_err());
    }

    #[test]
    fn record_sizes() {
        assert_eq!(record_size_for(1), 64);
        assert_eq!(record_size_for(63), 64);
        assert_eq!(record_size_for(64), 128);
        assert_eq!(record_size_for(784), 1024);
        assert_eq!(record_size_for(262_143), 262_144);
    }

    #[test]
    fn quantize_rule() {
        // fa >= s: exact multiply.
        assert_eq!(quantize_feature(16, 4, 6), 64);
        assert_eq!(quantize_feature(255, 8, 8), 255);
        // fa < s: floor division.
        assert_eq!(quantize_feature(255, 8, 4), 15);
        assert_eq!(quantize_feature(7, 4, 2), 1);
        assert_eq!(quantize_feature(255, 16, 4), 0);
        assert_eq!(quantize_feature(200, 16, 0), 0);
        assert_eq!(
            tiny().quantized_input(1, 6),
            vec![32, 36, 40, 44, 48, 52, 56, 60]
        );
        // Matches byte / 2^s at scale 2^fa whenever that is exact.
        for b in 0..=255u8 {
            assert_eq!(
                quantize_feature(b, 4, 7) as f32,
                feature_value(b, 4) * 128.0
            );
        }
    }

    #[test]
    fn pack_rejects_bad_arguments() {
        let e = |r: Result<Dataset>| r.unwrap_err().to_string();
        assert!(e(Dataset::pack(&[0; 4], &[0], &[4], 0, 8)).contains("classes"));
        assert!(e(Dataset::pack(&[0; 4], &[0], &[4], 257, 8)).contains("classes"));
        assert!(e(Dataset::pack(&[0; 4], &[3], &[4], 3, 8)).contains("label 3"));
        assert!(e(Dataset::pack(&[0; 4], &[0], &[4], 3, 17)).contains("scale shift"));
        assert!(e(Dataset::pack(&[0; 5], &[0], &[4], 3, 8)).contains("feature bytes"));
        assert!(e(Dataset::pack(&[], &[], &[4], 3, 8)).contains("no samples"));
        assert!(e(Dataset::pack(&[0; 4], &[0], &[1, 1, 2, 2], 3, 8)).contains("1 to 3"));
        assert!(e(Dataset::pack(&[0; 4], &[0], &[0], 3, 8)).contains("zero"));
        let big = vec![0u8; 262_144];
        assert!(e(Dataset::pack(&big, &[0], &[512, 512], 3, 8)).contains("must fit"));
        assert!(e(Dataset::pack(&big, &[0], &[262_144], 3, 8)).contains("u16"));
    }
}
