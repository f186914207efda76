//! Native twins: the exact integer semantics of every gadget (docs/DESIGN.md §3), on plain integers.
//!
//! The integer reference inference computes every activation with these functions, and the
//! gadgets compute their witnesses with them, so the reference and the circuits cannot drift.

use crate::packing::split_parts;
use crate::spec::{
    Act, AffineSpec, CellKind, CellSpec, ConcatSpec, ConvSpec, DenseSpec, DepthwiseSpec,
    FixedPoint, Merge, NormSpec, Op, PoolSpec, RecurrentSpec,
};
use thiserror::Error;

/// What can go wrong when running an integer layer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NativeError {
    /// An activation left the `bits`-bit signed range: quantization would wrap.
    #[error("output {index} = {value} leaves the {bits}-bit activation range [{min}, {max}]")]
    OutOfRange {
        /// Flat index of the offending output.
        index: usize,
        /// The value that left the range.
        value: i128,
        /// Activation bits.
        bits: u32,
        /// Smallest activation.
        min: i64,
        /// Largest activation.
        max: i64,
    },
    /// Inputs or weights of the wrong length.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An activation parameter outside its domain.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// An input of a one-hot encoding that is not a token id of its vocabulary.
    #[error("input {index} = {value} is not a token id below {vocab} (at scale 2^{fa})")]
    NotAToken {
        /// Index of the token in the input.
        index: usize,
        /// Its value at activation scale.
        value: i64,
        /// Vocabulary size.
        vocab: usize,
        /// Activation fractional bits: a token `id` is the value `id·2^fa`.
        fa: u32,
    },
}

/// The id of token `index` at activation scale (`value = id·2^fa`, `id < vocab`).
pub fn token_id(
    value: i64,
    vocab: usize,
    fp: &FixedPoint,
    index: usize,
) -> Result<usize, NativeError> {
    let unit = 1i64 << fp.fa;
    let id = value / unit;
    if value < 0 || value % unit != 0 || id as u64 >= vocab as u64 {
        return Err(NativeError::NotAToken {
            index,
            value,
            vocab,
            fa: fp.fa,
        });
    }
    Ok(id as usize)
}

/// One-hot rows of the tokens `x` over `vocab` ids, `2^fa` for the hot entry (1.0).
pub fn one_hot(x: &[i64], vocab: usize, fp: &FixedPoint) -> Result<Vec<i64>, NativeError> {
    let mut out = vec![0; x.len() * vocab];
    for (j, &v) in x.iter().enumerate() {
        out[j * vocab + token_id(v, vocab, fp, j)?] = 1 << fp.fa;
    }
    Ok(out)
}

/// One group of a layer normalization: the centred values `D_i = n·x_i − Σ x`, `V = n·Σ D_i² +
/// E` and `r = ⌊2^k / √V⌋` ([`NormSpec`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormGroup {
    /// `D_i` (`n·x_i` where the kind does not center the variance).
    pub d: Vec<i128>,
    /// `V`.
    pub v: u128,
    /// `r`, the largest integer with `r²·V ≤ 2^(2k)`.
    pub r: u128,
}

/// Result of a layer normalization: per group its [`NormGroup`], per value the output and the
/// remainder of its requantization by `2^(k − fa)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// Per group.
    pub groups: Vec<NormGroup>,
    /// `round(D_i·n·r / 2^(k − fa))`, in the activation range.
    pub q: Vec<i64>,
    /// `D_i·n·r + 2^(k − fa − 1) − q·2^(k − fa)`, in `[0, 2^(k − fa))`.
    pub rem: Vec<i64>,
}

/// Layer normalization without scale and offset (see [`NormSpec`]).
pub fn layer_norm(spec: &NormSpec, x: &[i64], fp: &FixedPoint) -> Result<Normalized, NativeError> {
    check_len("layer normalization input", x.len(), spec.groups * spec.n)?;
    for (i, &v) in x.iter().enumerate() {
        range_check(fp, i, v as i128)?;
    }
    let k = spec.shift(fp).map_err(NativeError::InvalidParam)?;
    let e = spec.epsilon_term(fp).map_err(NativeError::InvalidParam)?;
    let s = k - fp.fa;
    let n = spec.n as i128;
    let mut out = Normalized {
        groups: Vec::with_capacity(spec.groups),
        q: Vec::with_capacity(x.len()),
        rem: Vec::with_capacity(x.len()),
    };
    for (g, xs) in x.chunks(spec.n).enumerate() {
        let sum: i128 = xs.iter().map(|&v| v as i128).sum();
        let about = |centered: bool| -> Vec<i128> {
            let mean = if centered { sum } else { 0 };
            xs.iter().map(|&v| n * v as i128 - mean).collect()
        };
        let d = about(spec.kind.centers_variance());
        let v = spec.n as u128 * d.iter().map(|&d| (d * d) as u128).sum::<u128>() + e;
        let r = ((1u128 << (2 * k)) / v).isqrt();
        for (i, &mi) in about(spec.kind.centers_output()).iter().enumerate() {
            let (q, rem) = requantize(mi * n * r as i128, s);
            out.q.push(range_check(fp, g * spec.n + i, q)?);
            out.rem.push(rem);
        }
        out.groups.push(NormGroup { d, v, r });
    }
    Ok(out)
}

fn out_of_range(fp: &FixedPoint, index: usize, value: i128) -> NativeError {
    NativeError::OutOfRange {
        index,
        value,
        bits: fp.bits,
        min: fp.min(),
        max: fp.max(),
    }
}

fn check_len(what: &str, got: usize, want: usize) -> Result<(), NativeError> {
    if got != want {
        return Err(NativeError::Shape(format!(
            "{what}: {got} values, expected {want}"
        )));
    }
    Ok(())
}

/// Checks that `v` is an activation and returns it as `i64`.
pub fn range_check(fp: &FixedPoint, index: usize, v: i128) -> Result<i64, NativeError> {
    if v < fp.min() as i128 || v > fp.max() as i128 {
        Err(out_of_range(fp, index, v))
    } else {
        Ok(v as i64)
    }
}

/// Half-up requantization by `2^shift`: `acc + 2^(shift−1) = q·2^shift + r`, `0 ≤ r < 2^shift`.
pub fn requantize(acc: i128, shift: u32) -> (i128, i64) {
    let t = acc + (1i128 << (shift - 1));
    let q = t >> shift; // arithmetic shift = floor division
    let r = t - (q << shift);
    (q, r as i64)
}

/// Result of a linear layer: the accumulator, the requantized value and its remainder per output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linear {
    /// `Σ w·x + b` at scale `2^(fa+fw)`.
    pub acc: Vec<i128>,
    /// `floor((acc + 2^(fw−1)) / 2^fw)`, in the activation range.
    pub q: Vec<i64>,
    /// `acc + 2^(fw−1) − q·2^fw`, in `[0, 2^fw)`.
    pub r: Vec<i64>,
}

fn requantize_all(acc: Vec<i128>, fp: &FixedPoint) -> Result<Linear, NativeError> {
    let mut q = Vec::with_capacity(acc.len());
    let mut r = Vec::with_capacity(acc.len());
    for (i, &a) in acc.iter().enumerate() {
        let (qi, ri) = requantize(a, fp.fw);
        q.push(range_check(fp, i, qi)?);
        r.push(ri);
    }
    Ok(Linear { acc, q, r })
}

/// Dense: `acc[o] = Σ_i x[i]·w[i·n_out + o] + b[o]`.
pub fn dense(
    spec: &DenseSpec,
    x: &[i64],
    w: &[i64],
    b: &[i64],
    fp: &FixedPoint,
) -> Result<Linear, NativeError> {
    // the whole layer is its own first and last tile
    let t = dense_tile(spec, x, w, b, &vec![0; spec.n_out], (true, true), fp)?;
    Ok(t.out.expect("a last tile requantizes"))
}

/// What one tile of a Dense layer computes ([`dense_tile`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// The partial sums after the tile, one per output.
    pub acc: Vec<i128>,
    /// On the last tile, the layer's requantized outputs.
    pub out: Option<Linear>,
}

/// One tile of a Dense layer (the twin of [`crate::tile::dense_tile`]): rows `x` of the input
/// against the tile's kernel rows `w` (`x.len() × n_out`),
/// `acc[o] = [¬first]·acc_in[o] + Σ_i x[i]·w[i·n_out + o] + b[o]`, with the bias `b` non-zero on
/// the first tile only; the last tile requantizes.
pub fn dense_tile(
    spec: &DenseSpec,
    x: &[i64],
    w: &[i64],
    b: &[i64],
    acc_in: &[i128],
    (first, last): (bool, bool),
    fp: &FixedPoint,
) -> Result<Tile, NativeError> {
    check_len("dense input", x.len(), spec.n_in)?;
    check_len("dense kernel", w.len(), spec.n_in * spec.n_out)?;
    check_len("dense bias", b.len(), spec.n_out)?;
    check_len("dense tile partial sums", acc_in.len(), spec.n_out)?;
    if !first && b.iter().any(|&v| v != 0) {
        return Err(NativeError::Shape(
            "a bias on a Dense tile other than the first".into(),
        ));
    }
    let mut acc: Vec<i128> = b
        .iter()
        .zip(acc_in)
        .map(|(&b, &a)| b as i128 + if first { 0 } else { a })
        .collect();
    for (i, &xi) in x.iter().enumerate() {
        let row = &w[i * spec.n_out..(i + 1) * spec.n_out];
        for (a, &wv) in acc.iter_mut().zip(row) {
            *a += xi as i128 * wv as i128;
        }
    }
    let out = if last {
        Some(requantize_all(acc.clone(), fp)?)
    } else {
        None
    };
    Ok(Tile { acc, out })
}

/// Convolution: `acc[oy,ox,co] = Σ_{ky,kx,ci} x[tap]·w[ky,kx,ci,co] + b[co]` (zero padding).
pub fn conv(
    spec: &ConvSpec,
    x: &[i64],
    w: &[i64],
    b: &[i64],
    fp: &FixedPoint,
) -> Result<Linear, NativeError> {
    let win = &spec.window;
    let (cin, cout) = (win.input.c, spec.c_out);
    check_len("conv input", x.len(), win.input.len())?;
    check_len("conv kernel", w.len(), win.kh * win.kw * cin * cout)?;
    check_len("conv bias", b.len(), cout)?;
    let mut acc = Vec::with_capacity(win.out_h * win.out_w * cout);
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            let base = acc.len();
            acc.extend(b.iter().map(|&v| v as i128));
            for ky in 0..win.kh {
                for kx in 0..win.kw {
                    let Some((iy, ix)) = win.tap(oy, ox, ky, kx) else {
                        continue;
                    };
                    for ci in 0..cin {
                        let xv = x[win.input.index(iy, ix, ci)] as i128;
                        let wrow = &w[((ky * win.kw + kx) * cin + ci) * cout..][..cout];
                        for (co, &wv) in wrow.iter().enumerate() {
                            acc[base + co] += xv * wv as i128;
                        }
                    }
                }
            }
        }
    }
    requantize_all(acc, fp)
}

/// Depthwise convolution: `acc[oy,ox,c·mult+m] = Σ_{ky,kx} x[tap,c]·w[ky,kx,c,m] + b[c·mult+m]`.
pub fn depthwise(
    spec: &DepthwiseSpec,
    x: &[i64],
    w: &[i64],
    b: &[i64],
    fp: &FixedPoint,
) -> Result<Linear, NativeError> {
    let win = &spec.window;
    let (c, mult) = (win.input.c, spec.mult);
    check_len("depthwise input", x.len(), win.input.len())?;
    check_len("depthwise kernel", w.len(), win.kh * win.kw * c * mult)?;
    check_len("depthwise bias", b.len(), c * mult)?;
    let mut acc = Vec::with_capacity(win.out_h * win.out_w * c * mult);
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            let base = acc.len();
            acc.extend(b.iter().map(|&v| v as i128));
            for ky in 0..win.kh {
                for kx in 0..win.kw {
                    let Some((iy, ix)) = win.tap(oy, ox, ky, kx) else {
                        continue;
                    };
                    for ch in 0..c {
                        let xv = x[win.input.index(iy, ix, ch)] as i128;
                        for m in 0..mult {
                            acc[base + ch * mult + m] +=
                                xv * w[((ky * win.kw + kx) * c + ch) * mult + m] as i128;
                        }
                    }
                }
            }
        }
    }
    requantize_all(acc, fp)
}

/// Per-channel affine: `acc[j] = a[j mod ch]·x[j] + b[j mod ch]`.
pub fn affine(
    spec: &AffineSpec,
    x: &[i64],
    a: &[i64],
    b: &[i64],
    fp: &FixedPoint,
) -> Result<Linear, NativeError> {
    check_len("affine input", x.len(), spec.n)?;
    check_len("affine scale", a.len(), spec.channels)?;
    check_len("affine offset", b.len(), spec.channels)?;
    if spec.channels == 0 || !spec.n.is_multiple_of(spec.channels) {
        return Err(NativeError::Shape(format!(
            "affine: {} values do not split into {} channels",
            spec.n, spec.channels
        )));
    }
    let acc = x
        .iter()
        .enumerate()
        .map(|(j, &xv)| {
            let ch = j % spec.channels;
            xv as i128 * a[ch] as i128 + b[ch] as i128
        })
        .collect();
    requantize_all(acc, fp)
}

/// Max pooling: the maximum over the valid taps of each window (padding is −∞).
pub fn max_pool(spec: &PoolSpec, x: &[i64]) -> Result<Vec<i64>, NativeError> {
    let win = &spec.window;
    check_len("max pool input", x.len(), win.input.len())?;
    let mut out = Vec::with_capacity(win.out_h * win.out_w * win.input.c);
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            for ch in 0..win.input.c {
                let m = pool_taps(spec, oy, ox)
                    .map(|(iy, ix)| x[win.input.index(iy, ix, ch)])
                    .max()
                    .ok_or_else(|| NativeError::Shape("pooling window with no valid tap".into()))?;
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The valid input positions of pooling window `(oy, ox)`, in row-major tap order.
pub fn pool_taps(
    spec: &PoolSpec,
    oy: usize,
    ox: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let win = &spec.window;
    (0..win.kh)
        .flat_map(move |ky| (0..win.kw).map(move |kx| (ky, kx)))
        .filter_map(move |(ky, kx)| win.tap(oy, ox, ky, kx))
}

/// Result of average pooling: `sum = q·count + r`, `0 ≤ r < count` (floor division).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvgPool {
    /// Sum over the valid taps of each output.
    pub sum: Vec<i128>,
    /// Number of valid taps of each output.
    pub count: Vec<usize>,
    /// Quotient `floor(sum / count)`, in range.
    pub q: Vec<i64>,
    /// Remainder `sum − q·count`, in `[0, count)`.
    pub r: Vec<i64>,
}

/// Average pooling over the valid taps, floor division by their count.
pub fn avg_pool(spec: &PoolSpec, x: &[i64], fp: &FixedPoint) -> Result<AvgPool, NativeError> {
    let win = &spec.window;
    check_len("average pool input", x.len(), win.input.len())?;
    let n = win.out_h * win.out_w * win.input.c;
    let mut res = AvgPool {
        sum: Vec::with_capacity(n),
        count: Vec::with_capacity(n),
        q: Vec::with_capacity(n),
        r: Vec::with_capacity(n),
    };
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            let taps: Vec<_> = pool_taps(spec, oy, ox).collect();
            if taps.is_empty() {
                return Err(NativeError::Shape(
                    "pooling window with no valid tap".into(),
                ));
            }
            for ch in 0..win.input.c {
                let s: i128 = taps
                    .iter()
                    .map(|&(iy, ix)| x[win.input.index(iy, ix, ch)] as i128)
                    .sum();
                let cnt = taps.len() as i128;
                let q = s.div_euclid(cnt);
                let r = s.rem_euclid(cnt);
                res.q.push(range_check(fp, res.q.len(), q)?);
                res.r.push(r as i64);
                res.sum.push(s);
                res.count.push(taps.len());
            }
        }
    }
    Ok(res)
}

/// One merged value of operands `a`, `b` (first and second in Keras' order) and the remainder
/// its division left (Multiply's requantization, Average's halving; 0 otherwise), range-checked.
pub fn merge_one(
    merge: Merge,
    a: i64,
    b: i64,
    fp: &FixedPoint,
    index: usize,
) -> Result<(i64, i64), NativeError> {
    if merge == Merge::Multiply && fp.fa == 0 {
        return Err(NativeError::InvalidParam("multiply needs fa ≥ 1".into()));
    }
    let (a, b) = (a as i128, b as i128);
    let (v, r) = match merge {
        Merge::Add => (a + b, 0),
        Merge::Subtract => (a - b, 0),
        Merge::Multiply => requantize(a * b, fp.fa),
        Merge::Average => ((a + b).div_euclid(2), (a + b).rem_euclid(2) as i64),
        Merge::Maximum => (a.max(b), 0),
        Merge::Minimum => (a.min(b), 0),
    };
    Ok((range_check(fp, index, v)?, r))
}

/// A merge of the step's input `x` with the saved tensor `skip` (the first operand if
/// `saved_first`), range-checked.
pub fn merge(
    merge: Merge,
    saved_first: bool,
    x: &[i64],
    skip: &[i64],
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    check_len("saved tensor", skip.len(), x.len())?;
    x.iter()
        .zip(skip)
        .enumerate()
        .map(|(i, (&x, &s))| {
            let (a, b) = if saved_first { (s, x) } else { (x, s) };
            merge_one(merge, a, b, fp, i).map(|(v, _)| v)
        })
        .collect()
}

/// The concatenation of the step's input `x` and the saved tensor `skip` (values range-checked).
pub fn concat(
    spec: &ConcatSpec,
    x: &[i64],
    skip: &[i64],
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    check_len("saved tensor", skip.len(), spec.saved.len())?;
    spec.gather(x, skip)
        .into_iter()
        .enumerate()
        .map(|(i, v)| range_check(fp, i, v as i128))
        .collect()
}

/// First index of the maximum (0 for an empty slice); of one logit (a binary classifier's),
/// `[x > 0]`, the first maximum of `(0, x)`.
pub fn argmax(x: &[i64]) -> usize {
    if let [logit] = x {
        return (*logit > 0) as usize;
    }
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}

/// An activation's result and, for activations that requantize again (LeakyReLU's negative
/// branch, the polynomial), that second quotient and remainder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActOut {
    /// The activation's output.
    pub y: i64,
    /// Second quotient (LeakyReLU's negative branch, polynomial); 0 otherwise.
    pub q2: i64,
    /// Second remainder; 0 otherwise.
    pub r2: i64,
}

/// Applies `act` to `q` (element `index`, for error messages).
///
/// Parameters outside their domain are an error: `Clip` needs `hi ≥ 0` (as Keras' ReLU
/// `max_value`), `Leaky` needs `1 ≤ m ≤ 62`, `Poly` needs `fa ≥ 1`, `Pwl` a valid table.
pub fn activation(act: &Act, q: i64, fp: &FixedPoint, index: usize) -> Result<ActOut, NativeError> {
    match *act {
        Act::Clip { hi } if hi < 0 => {
            return Err(NativeError::InvalidParam(format!(
                "clip upper bound {hi} < 0"
            )));
        }
        Act::Leaky { m, .. } if !(1..=62).contains(&m) => {
            return Err(NativeError::InvalidParam(format!(
                "leaky relu shift {m} outside 1..=62"
            )));
        }
        Act::Poly { .. } if fp.fa == 0 => {
            return Err(NativeError::InvalidParam("poly needs fa ≥ 1".into()));
        }
        Act::Pwl(ref p) => p.validate(fp).map_err(NativeError::InvalidParam)?,
        _ => {}
    }
    let plain = |y| ActOut { y, q2: 0, r2: 0 };
    Ok(match *act {
        Act::Linear => plain(q),
        Act::Relu => plain(q.max(0)),
        Act::Clip { hi } => plain(q.max(0).min(hi)),
        Act::Leaky { k, m } => {
            let (q2, r2) = requantize(k as i128 * q as i128, m);
            let q2 = range_check(fp, index, q2)?;
            ActOut {
                y: if q >= 0 { q } else { q2 },
                q2,
                r2,
            }
        }
        Act::Poly { c } => {
            let t = q as i128 * q as i128 + c as i128 * q as i128;
            let (q2, r2) = requantize(t, fp.fa);
            let q2 = range_check(fp, index, q2)?;
            ActOut { y: q2, q2, r2 }
        }
        Act::Pwl(ref p) => {
            let (q2, r2) = requantize(p.line(q), p.shift);
            let q2 = range_check(fp, index, q2)?;
            ActOut { y: q2, q2, r2 }
        }
        Act::Cell { .. } => {
            return Err(NativeError::InvalidParam(
                "a recurrent cell's activations apply inside its layer, not to an output".into(),
            ))
        }
    })
}

/// The cell's integer form on one timestep: the next state (`h'`, then the LSTM's `c'`) from the
/// input `x` and the state. `gate` is σ, `act` is φ (`crate::recurrent`'s docs). A masked cell's
/// `x` ends with the timestep's token id: where it is 0 the state is kept (the update is still
/// computed, as the gadget computes it).
pub fn cell_step(
    spec: &CellSpec,
    gate: &Act,
    act: &Act,
    x: &[i64],
    state: &[i64],
    weights: &Weights,
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    spec.validate().map_err(NativeError::InvalidParam)?;
    let (wl, bl) = spec.weight_lens();
    if x.len() != spec.input_len() || state.len() != spec.state_len() {
        return Err(NativeError::Shape(format!(
            "recurrent cell: {} inputs and {} state values, expected {} and {}",
            x.len(),
            state.len(),
            spec.input_len(),
            spec.state_len()
        )));
    }
    if weights.w.len() != wl || weights.b.len() != bl {
        return Err(NativeError::Shape(format!(
            "recurrent cell: {} + {} weights, expected {wl} + {bl}",
            weights.w.len(),
            weights.b.len()
        )));
    }
    let update = cell_update(spec, gate, act, &x[..spec.features], state, weights, fp)?;
    Ok(if spec.masked && x[spec.features] == 0 {
        state.to_vec()
    } else {
        update
    })
}

/// [`cell_step`]'s update from the `features` inputs, lengths checked.
fn cell_update(
    spec: &CellSpec,
    gate: &Act,
    act: &Act,
    x: &[i64],
    state: &[i64],
    weights: &Weights,
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    let ds = spec.denses();
    let parts = split_parts(spec.linear_parts(), &weights.w, &weights.b, Op::weight_lens)
        .ok_or_else(|| NativeError::Shape("recurrent cell weights".into()))?;
    let run =
        |k: usize, input: &[i64]| dense(&ds[k], input, parts[k].1, parts[k].2, fp).map(|l| l.q);
    let apply = |a: &Act, v: &[i64]| -> Result<Vec<i64>, NativeError> {
        v.iter()
            .enumerate()
            .map(|(i, &q)| activation(a, q, fp, i).map(|o| o.y))
            .collect()
    };
    let pair = |m: Merge, a: &[i64], b: &[i64]| -> Result<Vec<i64>, NativeError> {
        merge(m, false, a, b, fp)
    };
    let u = spec.units;
    let h = &state[..u];
    let next_h_gru = |z: &[i64], n: &[i64]| {
        let d = pair(Merge::Subtract, h, n)?;
        pair(Merge::Add, n, &pair(Merge::Multiply, z, &d)?)
    };
    match spec.kind {
        CellKind::Simple => apply(act, &run(0, &[x, h].concat())?),
        CellKind::Lstm => {
            let c = &state[u..];
            let q = run(0, &[x, h].concat())?;
            let (i, f) = (apply(gate, &q[..u])?, apply(gate, &q[u..2 * u])?);
            let (g, o) = (apply(act, &q[2 * u..3 * u])?, apply(gate, &q[3 * u..])?);
            let c2 = pair(
                Merge::Add,
                &pair(Merge::Multiply, &f, c)?,
                &pair(Merge::Multiply, &i, &g)?,
            )?;
            let h2 = pair(Merge::Multiply, &o, &apply(act, &c2)?)?;
            Ok([h2, c2].concat())
        }
        CellKind::Gru { reset_after: true } => {
            let (qx, qh) = (run(0, x)?, run(1, h)?);
            let z = apply(gate, &pair(Merge::Add, &qx[..u], &qh[..u])?)?;
            let r = apply(gate, &pair(Merge::Add, &qx[u..2 * u], &qh[u..2 * u])?)?;
            let rh = pair(Merge::Multiply, &r, &qh[2 * u..])?;
            let n = apply(act, &pair(Merge::Add, &qx[2 * u..], &rh)?)?;
            next_h_gru(&z, &n)
        }
        CellKind::Gru { reset_after: false } => {
            let q = run(0, &[x, h].concat())?;
            let (z, r) = (apply(gate, &q[..u])?, apply(gate, &q[u..])?);
            let rh = pair(Merge::Multiply, &r, h)?;
            let n = apply(act, &run(1, &[x, &rh].concat())?)?;
            next_h_gru(&z, &n)
        }
    }
}

/// A recurrent layer's integer form: [`cell_step`] over the timesteps of `x` (`timesteps`
/// rows of `cell.input_len()` values) from a zero state; `h` of every timestep (`return_sequences`) or of
/// the last. `act` is the layer's [`Act::Cell`].
pub fn recurrent(
    spec: &RecurrentSpec,
    act: &Act,
    x: &[i64],
    weights: &Weights,
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    let Act::Cell { gate, act } = act else {
        return Err(NativeError::InvalidParam(format!(
            "a recurrent layer takes its cell's two activations, not {}",
            act.name()
        )));
    };
    let cell = &spec.cell;
    check_len(
        "recurrent input",
        x.len(),
        spec.timesteps * cell.input_len(),
    )?;
    let mut state = vec![0; cell.state_len()];
    let mut out = Vec::with_capacity(Op::Recurrent(*spec).output_len());
    for xt in x.chunks(cell.input_len()) {
        state = cell_step(cell, gate, act, xt, &state, weights, fp)?;
        if spec.return_sequences {
            out.extend_from_slice(&state[..cell.units]);
        }
    }
    if !spec.return_sequences {
        out.extend_from_slice(&state[..cell.units]);
    }
    Ok(out)
}

/// Weights of one step: kernel (or affine scale) and bias (or affine offset), flat, in the layout
/// the op's spec documents.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Weights {
    /// Kernel (or affine scale), flat.
    pub w: Vec<i64>,
    /// Bias (or affine offset).
    pub b: Vec<i64>,
}

/// Everything one step computes: the op's result `q` before the activation, and the output `y`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOut {
    /// The op's result before the activation.
    pub q: Vec<i64>,
    /// The step's output.
    pub y: Vec<i64>,
}

/// Runs one step's op and activation on an input that has already been through the step's views.
/// `skip` is the saved tensor (needed by a merge only).
pub fn apply(
    op: &Op,
    act: &Act,
    x: &[i64],
    skip: Option<&[i64]>,
    weights: &Weights,
    fp: &FixedPoint,
) -> Result<StepOut, NativeError> {
    check_len("step input", x.len(), op.input_len())?;
    let q = match op {
        Op::Dense(s) => dense(s, x, &weights.w, &weights.b, fp)?.q,
        Op::Conv(s) => conv(s, x, &weights.w, &weights.b, fp)?.q,
        Op::Depthwise(s) => depthwise(s, x, &weights.w, &weights.b, fp)?.q,
        Op::Affine(s) => affine(s, x, &weights.w, &weights.b, fp)?.q,
        Op::MaxPool(s) => max_pool(s, x)?,
        Op::AvgPool(s) => avg_pool(s, x, fp)?.q,
        Op::Merge {
            merge: m,
            saved_first,
            ..
        } => {
            let s =
                skip.ok_or_else(|| NativeError::Shape("merge without a saved tensor".into()))?;
            merge(*m, *saved_first, x, s, fp)?
        }
        Op::Concat(c) => {
            let s = skip
                .ok_or_else(|| NativeError::Shape("concatenate without a saved tensor".into()))?;
            concat(c, x, s, fp)?
        }
        Op::OneHot { vocab, .. } => one_hot(x, *vocab, fp)?,
        Op::LayerNorm(l) => layer_norm(l, x, fp)?.q,
        Op::Swap { saved, .. } => {
            let s = skip.ok_or_else(|| NativeError::Shape("swap without a saved tensor".into()))?;
            check_len("saved tensor", s.len(), *saved)?;
            for (i, &v) in s.iter().enumerate() {
                range_check(fp, i, v as i128)?;
            }
            s.to_vec()
        }
        Op::Identity { .. } | Op::ArgMax { .. } => {
            for (i, &v) in x.iter().enumerate() {
                range_check(fp, i, v as i128)?;
            }
            x.to_vec()
        }
        // the cell applies its activations itself
        Op::Recurrent(r) => {
            let y = recurrent(r, act, x, weights, fp)?;
            return Ok(StepOut { q: y.clone(), y });
        }
    };
    let y = q
        .iter()
        .enumerate()
        .map(|(i, &v)| activation(act, v, fp, i).map(|a| a.y))
        .collect::<Result<_, _>>()?;
    Ok(StepOut { q, y })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Padding, Shape3, Window};

    const FP: FixedPoint = FixedPoint {
        fa: 4,
        fw: 4,
        bits: 12,
        guard: 1,
    };

    #[test]
    fn requantize_is_half_up_floor() {
        assert_eq!(requantize(8, 4), (1, 0)); // 0.5 rounds up
        assert_eq!(requantize(7, 4), (0, 15));
        assert_eq!(requantize(-8, 4), (0, 0)); // -0.5 rounds up to 0
        assert_eq!(requantize(-9, 4), (-1, 15));
        for acc in -1000i128..1000 {
            let (q, r) = requantize(acc, 5);
            assert_eq!(acc + 16, q * 32 + r as i128);
            assert!((0..32).contains(&r));
        }
    }

    #[test]
    fn dense_matches_hand_computation() {
        let spec = DenseSpec { n_in: 2, n_out: 2 };
        // w = [[1, 2], [3, 4]] (row i = input i), b = [16, -16]
        let out = dense(&spec, &[16, 32], &[1, 2, 3, 4], &[16, -16], &FP).unwrap();
        assert_eq!(out.acc, vec![16 + 96 + 16, 32 + 128 - 16]);
        assert_eq!(out.q, vec![8, 9]);
    }

    #[test]
    fn out_of_range_is_an_error() {
        let spec = DenseSpec { n_in: 1, n_out: 1 };
        let err = dense(&spec, &[2047], &[1 << 5], &[0], &FP).unwrap_err();
        assert!(matches!(err, NativeError::OutOfRange { index: 0, .. }));
    }

    #[test]
    fn same_padding_max_pool_ignores_padding() {
        let input = Shape3::new(3, 3, 1);
        let window = Window::keras(input, (2, 2), (2, 2), (1, 1), Padding::Same).unwrap();
        assert_eq!((window.out_h, window.out_w, window.pad_top), (2, 2, 0));
        let x = [-5, -6, -7, -8, -9, -10, -11, -12, -13];
        let m = max_pool(&PoolSpec { window }, &x).unwrap();
        // bottom-right window holds only -13: padding must not contribute a 0
        assert_eq!(m, vec![-5, -7, -11, -13]);
        let a = avg_pool(&PoolSpec { window }, &x, &FP).unwrap();
        assert_eq!(a.count, vec![4, 2, 2, 1]);
        assert_eq!(a.q, vec![(-5 - 6 - 8 - 9i64).div_euclid(4), -9, -12, -13]);
    }

    #[test]
    fn activations() {
        assert_eq!(activation(&Act::Relu, -3, &FP, 0).unwrap().y, 0);
        assert_eq!(
            activation(&Act::Clip { hi: 96 }, 100, &FP, 0).unwrap().y,
            96
        );
        // alpha = 1/8: -17/8 = -2.125 -> half-up -2
        assert_eq!(
            activation(&Act::Leaky { k: 1, m: 3 }, -17, &FP, 0)
                .unwrap()
                .y,
            -2
        );
        // x = 1.0 (16): x^2 + 0.5x = 1.5 -> 24
        assert_eq!(activation(&Act::Poly { c: 8 }, 16, &FP, 0).unwrap().y, 24);
        assert_eq!(argmax(&[1, 5, 5, 2]), 1);
        // one logit: a binary classifier's class [x > 0]
        assert_eq!((argmax(&[3]), argmax(&[0]), argmax(&[-3])), (1, 0, 0));
    }

    #[test]
    fn invalid_activation_parameters_are_errors_not_panics() {
        for act in [
            Act::Clip { hi: -1 },
            Act::Leaky { k: 1, m: 0 },
            Act::Leaky { k: 1, m: 63 },
        ] {
            assert!(matches!(
                activation(&act, -5, &FP, 0),
                Err(NativeError::InvalidParam(_))
            ));
        }
        let fa0 = FixedPoint { fa: 0, ..FP };
        assert!(activation(&Act::Poly { c: 1 }, 3, &fa0, 0).is_err());
    }
}
