//! Model inputs from files: JSON or NumPy `.npy`.
//!
//! * JSON: `{"input": sample}` (one sample) or `{"inputs": [sample, ...]}`, where a sample is a
//!   nested array of the model's input shape or a flat array of its length.
//! * `.npy` (format versions 1–3, C order, dtypes `<f4 <f8 |u1 |i1 <i2 <i4 <i8`): the leading
//!   axis is the batch (`[n, ...input shape]` or `[n, input length]`); an array of exactly the
//!   input shape is one sample. Integer values are taken as they are (no scaling).
//!
//! Samples come back flat, row-major over the input shape.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Reads the samples of an input file for a model with input shape `input_shape` (without the
/// batch axis). The format is told by content (`.npy` magic) or else taken to be JSON.
pub fn read_inputs(path: &Path, input_shape: &[usize]) -> Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_inputs(&bytes, path, input_shape)
}

/// [`read_inputs`] from the bytes of an input file. `origin` names the file in errors, and its
/// extension decides, as in `read_inputs`, whether bytes without the `.npy` magic are an error
/// (`.npy`) or JSON (anything else).
pub fn parse_inputs(bytes: &[u8], origin: &Path, input_shape: &[usize]) -> Result<Vec<Vec<f32>>> {
    let path = origin;
    if bytes.starts_with(NPY_MAGIC) {
        let arr = parse_npy(bytes).map_err(|m| Error::format(path, m))?;
        samples_from_npy(path, arr, input_shape)
    } else {
        let is_npy_name = path
            .extension()
            .map(|e| e.eq_ignore_ascii_case("npy"))
            .unwrap_or(false);
        if is_npy_name {
            return Err(Error::format(path, "not a NumPy .npy file (bad magic)"));
        }
        samples_from_json(path, bytes, input_shape)
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn samples_from_json(path: &Path, bytes: &[u8], input_shape: &[usize]) -> Result<Vec<Vec<f32>>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::format(
            path,
            format!("not valid JSON ({e}); expected {{\"input\": [...]}} or {{\"inputs\": [...]}}"),
        )
    })?;
    let (samples, single): (Vec<&Value>, bool) = match (v.get("input"), v.get("inputs")) {
        (Some(one), None) => (vec![one], true),
        (None, Some(Value::Array(many))) => (many.iter().collect(), false),
        (None, Some(_)) => {
            return Err(Error::format(
                path,
                "\"inputs\" must be an array of samples",
            ))
        }
        _ => {
            return Err(Error::format(
                path,
                "expected a JSON object with \"input\" (one sample) or \"inputs\" (a list of \
                 samples)",
            ))
        }
    };
    if samples.is_empty() {
        return Err(Error::format(path, "\"inputs\" holds no samples"));
    }
    let want: usize = input_shape.iter().product();
    let mut out = Vec::with_capacity(samples.len());
    for (i, s) in samples.into_iter().enumerate() {
        let label = if single {
            "\"input\"".to_string()
        } else {
            format!("sample {i}")
        };
        let mut shape = Vec::new();
        let mut flat = Vec::new();
        flatten_json(s, 0, &mut shape, &mut flat)
            .map_err(|m| Error::format(path, format!("{label}: {m}")))?;
        if shape != input_shape && shape != [want] {
            return Err(Error::Shape {
                context: format!("{}: {label}", path.display()),
                msg: format!(
                    "got shape {shape:?}, expected {input_shape:?} (or a flat array of {want} \
                     values)"
                ),
            });
        }
        let mut sample = Vec::with_capacity(flat.len());
        for (j, v) in flat.into_iter().enumerate() {
            let f = v as f32;
            if !f.is_finite() {
                return Err(Error::format(
                    path,
                    format!("{label}: value {v} at index {j} is out of the float32 range"),
                ));
            }
            sample.push(f);
        }
        out.push(sample);
    }
    Ok(out)
}

/// Flattens a rectangular nested array of numbers, recording its shape.
fn flatten_json(
    v: &Value,
    depth: usize,
    shape: &mut Vec<usize>,
    out: &mut Vec<f64>,
) -> Result<(), String> {
    if depth > 32 {
        return Err("arrays nested too deeply".into());
    }
    match v {
        Value::Number(n) => {
            if depth != shape.len() {
                return Err("ragged nested arrays (a number where an array is expected)".into());
            }
            out.push(n.as_f64().ok_or("a number that is not a float")?);
            Ok(())
        }
        Value::Array(items) => {
            if depth == shape.len() {
                if !out.is_empty() {
                    return Err("ragged nested arrays (an array where a number is expected)".into());
                }
                shape.push(items.len());
            } else if depth > shape.len() || shape[depth] != items.len() {
                return Err("ragged nested arrays (rows of different lengths)".into());
            }
            for it in items {
                flatten_json(it, depth + 1, shape, out)?;
            }
            Ok(())
        }
        other => Err(format!("expected numbers, found {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// NPY
// ---------------------------------------------------------------------------------------------

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// A parsed `.npy` array, converted to f64.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The array's shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values, flat in C order.
    pub data: Vec<f64>,
}

/// Parses a `.npy` file (versions 1–3, C order, little-endian numeric dtypes).
pub(crate) fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    parse_npy_typed(bytes).map(|(a, _)| a)
}

/// [`parse_npy`], also returning the array's dtype (`descr`, e.g. `|u1` or `<f4`).
pub fn parse_npy_typed(bytes: &[u8]) -> Result<(NpyArray, String), String> {
    if !bytes.starts_with(NPY_MAGIC) {
        return Err("not a NumPy .npy file (bad magic)".into());
    }
    let major = *bytes.get(6).ok_or("truncated .npy header")?;
    let (header_len, start): (usize, usize) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or("truncated .npy header")?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated .npy header")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated .npy header")?;
    let header =
        std::str::from_utf8(&bytes[start..end]).map_err(|_| "the .npy header is not text")?;
    let dict = HeaderParser::new(header).dict()?;
    let descr = dict.descr.ok_or("the .npy header has no 'descr'")?;
    if dict
        .fortran_order
        .ok_or("the .npy header has no 'fortran_order'")?
    {
        return Err(
            "Fortran-order arrays are not supported; save a C-order array \
                    (np.ascontiguousarray)"
                .into(),
        );
    }
    let shape = dict.shape.ok_or("the .npy header has no 'shape'")?;
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr.as_str() {
        "<f4" => (4, |b| {
            f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        "<f8" => (8, |b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        }),
        "|u1" => (1, |b| f64::from(b[0])),
        "|i1" => (1, |b| f64::from(b[0] as i8)),
        "<i2" => (2, |b| f64::from(i16::from_le_bytes([b[0], b[1]]))),
        "<i4" => (4, |b| {
            f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        "<i8" => (8, |b| {
            i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64
        }),
        other => {
            return Err(format!(
                "unsupported .npy dtype '{other}'; use one of <f4 <f8 |u1 |i1 <i2 <i4 <i8"
            ))
        }
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("the .npy shape is too large")?;
    let nbytes = count
        .checked_mul(size)
        .ok_or("the .npy shape is too large")?;
    let body = &bytes[end..];
    if body.len() != nbytes {
        return Err(format!(
            "the .npy data holds {} bytes, but shape {shape:?} of '{descr}' needs {nbytes} \
             (truncated file?)",
            body.len()
        ));
    }
    let arr = NpyArray {
        shape,
        data: body.chunks_exact(size).map(conv).collect(),
    };
    Ok((arr, descr))
}

#[derive(Default)]
struct NpyHeader {
    descr: Option<String>,
    fortran_order: Option<bool>,
    shape: Option<Vec<usize>>,
}

/// A parser for the Python dict literal of a `.npy` header.
struct HeaderParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> HeaderParser<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            s: s.as_bytes(),
            i: 0,
        }
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("malformed .npy header: expected '{}'", c as char))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or("malformed .npy header: unexpected end")?;
        if q != b'\'' && q != b'"' {
            return Err("malformed .npy header: expected a string".into());
        }
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err("malformed .npy header: unterminated string".into());
        }
        let out = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(out)
    }
    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b')') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b',') if !out.is_empty() => self.i += 1,
                Some(c) if c.is_ascii_digit() => {
                    let w = self.word();
                    let w = w.trim_end_matches('L');
                    out.push(
                        w.parse()
                            .map_err(|_| format!("malformed .npy header: bad dimension '{w}'"))?,
                    );
                }
                _ => return Err("malformed .npy header: bad shape tuple".into()),
            }
        }
    }
    fn dict(&mut self) -> Result<NpyHeader, String> {
        let mut h = NpyHeader::default();
        self.expect(b'{')?;
        loop {
            match self.peek() {
                Some(b'}') => return Ok(h),
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                None => return Err("malformed .npy header: unexpected end".into()),
                _ => {}
            }
            let key = self.string()?;
            self.expect(b':')?;
            match key.as_str() {
                "descr" => h.descr = Some(self.string()?),
                "fortran_order" => {
                    h.fortran_order = Some(match self.word().as_str() {
                        "True" => true,
                        "False" => false,
                        w => return Err(format!("malformed .npy header: fortran_order '{w}'")),
                    })
                }
                "shape" => h.shape = Some(self.tuple()?),
                other => return Err(format!("unexpected key '{other}' in the .npy header")),
            }
        }
    }
}

fn samples_from_npy(path: &Path, arr: NpyArray, input_shape: &[usize]) -> Result<Vec<Vec<f32>>> {
    let want: usize = input_shape.iter().product();
    let shape = &arr.shape;
    let batch = if shape.as_slice() == input_shape {
        1
    } else if (shape.len() == input_shape.len() + 1 && shape[1..] == *input_shape)
        || (shape.len() == 2 && shape[1] == want)
    {
        shape[0]
    } else {
        return Err(Error::Shape {
            context: path.display().to_string(),
            msg: format!(
                "got an array of shape {shape:?}, expected [n, {}] (a batch), {input_shape:?} \
                 (one sample) or [n, {want}] (flat samples)",
                input_shape
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    if batch == 0 || want == 0 {
        return Err(Error::format(path, "the array holds no samples"));
    }
    let mut out = Vec::with_capacity(batch);
    for (i, chunk) in arr.data.chunks_exact(want).enumerate() {
        let mut s = Vec::with_capacity(want);
        for (j, &v) in chunk.iter().enumerate() {
            let f = v as f32;
            if !f.is_finite() {
                return Err(Error::format(
                    path,
                    format!("sample {i}: value {v} at index {j} is not a finite float32"),
                ));
            }
            s.push(f);
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a `.npy` file (version `major`) from a header dict and raw data.
    fn npy(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut header = dict.to_string();
        let pre = if major == 1 { 10 } else { 12 };
        while !(pre + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend([major, 0]);
        if major == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn npy_dtypes() {
        let f4: Vec<u8> = [1.5f32, -2.0, 0.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            &f4,
        ))
        .unwrap();
        assert_eq!(
            a,
            NpyArray {
                shape: vec![3],
                data: vec![1.5, -2.0, 0.25]
            }
        );

        let f8: Vec<u8> = [0.5f64, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy(
            2,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }",
            &f8,
        ))
        .unwrap();
        assert_eq!(
            a,
            NpyArray {
                shape: vec![1, 2],
                data: vec![0.5, 3.0]
            }
        );

        let a = parse_npy(&npy(
            1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }",
            &[0, 1, 128, 255],
        ))
        .unwrap();
        assert_eq!(a.data, vec![0.0, 1.0, 128.0, 255.0]);
        let a = parse_npy(&npy(
            1,
            "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }",
            &[0xff, 0x80],
        ))
        .unwrap();
        assert_eq!(a.data, vec![-1.0, -128.0]);
        let i2: Vec<u8> = [-300i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy(
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }",
            &i2,
        ))
        .unwrap();
        assert_eq!(a.data, vec![-300.0, 7.0]);
        let i4: Vec<u8> = [-70000i32].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy(
            3,
            "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (1,)}",
            &i4,
        ))
        .unwrap();
        assert_eq!(a.data, vec![-70000.0]);
        let i8b: Vec<u8> = [-5i64, 1 << 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&npy(
            1,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
            &i8b,
        ))
        .unwrap();
        assert_eq!(a.data, vec![-5.0, (1u64 << 40) as f64]);
        // A scalar (empty shape) holds one value.
        let a = parse_npy(&npy(
            1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (), }",
            &[9],
        ))
        .unwrap();
        assert_eq!(
            a,
            NpyArray {
                shape: vec![],
                data: vec![9.0]
            }
        );
    }

    #[test]
    fn npy_rejects_bad_files() {
        let d = [0u8; 8];
        let err = |bytes: Vec<u8>| parse_npy(&bytes).unwrap_err();
        assert!(err(npy(
            1,
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
            &d
        ))
        .contains("dtype"));
        assert!(err(npy(
            1,
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
            &d
        ))
        .contains("dtype"));
        assert!(err(npy(
            1,
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
            &d
        ))
        .contains("Fortran"));
        assert!(err(npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            &d
        ))
        .contains("truncated"));
        assert!(err(npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &d
        ))
        .contains("needs 4"));
        assert!(err(npy(1, "{'descr': '<f4', 'shape': (2,), }", &d)).contains("fortran_order"));
        assert!(err(npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,",
            &d
        ))
        .contains("malformed"));
        assert!(err(npy(4, "{}", &d)).contains("version"));
        assert!(err(b"\x93NUMPY\x01\x00\xff\xff{".to_vec()).contains("truncated"));
        assert!(err(b"\x93NUMPY".to_vec()).contains("truncated"));
        assert!(err(b"PK\x03\x04".to_vec()).contains("magic"));
        let huge = npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", &d);
        assert!(err(huge).contains("too large"));
    }

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kerafold-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn npy_batches_and_single_samples() {
        let data: Vec<u8> = (0..12).map(|v| v as u8).collect();
        // [2, 2, 3, 1] is a batch of two [2, 3, 1] samples.
        let p = tmp(
            "batch.npy",
            &npy(
                1,
                "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3, 1), }",
                &data,
            ),
        );
        let s = read_inputs(&p, &[2, 3, 1]).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], vec![6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        // [2, 6] is a batch of flat samples.
        let p = tmp(
            "flat.npy",
            &npy(
                1,
                "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 6), }",
                &data,
            ),
        );
        assert_eq!(read_inputs(&p, &[2, 3, 1]).unwrap().len(), 2);
        // Exactly the input shape: one sample.
        let p = tmp(
            "one.npy",
            &npy(
                1,
                "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), }",
                &data,
            ),
        );
        assert_eq!(read_inputs(&p, &[4, 3]).unwrap().len(), 1);
        // Wrong shape.
        let e = read_inputs(&p, &[5, 3]).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        assert!(
            e.to_string().contains("[4, 3]") && e.to_string().contains("[5, 3]"),
            "{e}"
        );
        // Zero samples.
        let p = tmp(
            "empty.npy",
            &npy(
                1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }",
                &[],
            ),
        );
        assert!(matches!(read_inputs(&p, &[3]), Err(Error::Format { .. })));
        // NaN is refused.
        let nan: Vec<u8> = [1.0f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = tmp(
            "nan.npy",
            &npy(
                1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                &nan,
            ),
        );
        assert!(matches!(read_inputs(&p, &[2]), Err(Error::Format { .. })));
        // A .npy name without the magic.
        let p = tmp("fake.npy", b"{\"input\": [1, 2]}");
        assert!(matches!(read_inputs(&p, &[2]), Err(Error::Format { .. })));
    }

    #[test]
    fn json_inputs() {
        let p = tmp("one.json", br#"{"input": [[1, 2, 3], [4, 5, 6.5]]}"#);
        assert_eq!(
            read_inputs(&p, &[2, 3]).unwrap(),
            vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]]
        );
        let p = tmp(
            "many.json",
            br#"{"inputs": [[[1, 2, 3], [4, 5, 6]], [1, 2, 3, 4, 5, 6]]}"#,
        );
        let s = read_inputs(&p, &[2, 3]).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], s[1]);
        let p = tmp("vec.json", br#"{"inputs": [[0.015625, -1], [2, 3]]}"#);
        assert_eq!(read_inputs(&p, &[2]).unwrap()[0], vec![0.015625, -1.0]);
    }

    #[test]
    fn json_errors() {
        let shape_err = |text: &str, shape: &[usize]| {
            let p = tmp("bad.json", text.as_bytes());
            let e = read_inputs(&p, shape).unwrap_err();
            assert!(matches!(e, Error::Shape { .. }), "{text}: {e}");
            e.to_string()
        };
        let m = shape_err(r#"{"input": [[1, 2], [3, 4]]}"#, &[2, 3]);
        assert!(
            m.contains("got shape [2, 2]") && m.contains("expected [2, 3]"),
            "{m}"
        );
        let m = shape_err(r#"{"inputs": [[1, 2, 3, 4, 5, 6], [1, 2, 3]]}"#, &[2, 3]);
        assert!(m.contains("sample 1"), "{m}");
        shape_err(r#"{"input": 5}"#, &[1, 1]);

        let format_err = |text: &str| {
            let p = tmp("bad.json", text.as_bytes());
            let e = read_inputs(&p, &[2]).unwrap_err();
            assert!(matches!(e, Error::Format { .. }), "{text}: {e}");
            e.to_string()
        };
        assert!(format_err("not json").contains("not valid JSON"));
        assert!(format_err(r#"{"x": [1, 2]}"#).contains("\"inputs\""));
        assert!(format_err(r#"{"inputs": []}"#).contains("no samples"));
        assert!(format_err(r#"{"inputs": 3}"#).contains("array"));
        assert!(format_err(r#"{"input": [[1, 2], [3]]}"#).contains("ragged"));
        assert!(format_err(r#"{"input": [[1, 2], 3]}"#).contains("ragged"));
        assert!(format_err(r#"{"input": [1, [2, 3]]}"#).contains("ragged"));
        assert!(format_err(r#"{"input": [1, "a"]}"#).contains("expected numbers"));
        assert!(format_err(r#"{"input": [1, 1e300]}"#).contains("float32"));
        let missing = read_inputs(Path::new("/nonexistent/in.json"), &[2]).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }
}
