//! The integer layer IR: exact shapes and parameters of every operation that the native twins
//! compute and the gadgets constrain (docs/DESIGN.md §3).
//!
//! Tensors are flat `Vec<i64>` in row-major HWC order (channels last, as Keras). A vector of `n`
//! values is the shape `1 × 1 × n`; 1-D layers (Conv1D, pooling 1D) use `h = 1`.

use serde::{Deserialize, Serialize};

/// Fixed-point parameters shared by one quantized model.
///
/// A real activation `a` is carried as the integer `round(a · 2^fa)`, a weight `w` as
/// `round(w · 2^fw)`, a bias `b` as `round(b · 2^(fa+fw))`. Every activation lies in the signed
/// `bits`-bit range `[-2^(bits-1), 2^(bits-1))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FixedPoint {
    /// Fractional bits of activations.
    pub fa: u32,
    /// Fractional bits of weights; every linear layer requantizes by `2^fw`.
    pub fw: u32,
    /// Activation range in bits (signed), `B` in docs/DESIGN.md.
    pub bits: u32,
    /// Guard bits between the lanes of a packed linear-layer accumulator (at least 1).
    ///
    /// A lane holds `acc + 2^(fw−1) + 2^(fw+bits−1)`; its `fw + bits` low bits are decomposed into
    /// remainder and quotient and the guard bits are forced to zero. As long as every lane value
    /// the weights allow (for any in-range input) is below `2^(lane_bits−1)` in magnitude, a lane
    /// that leaves `[0, 2^(fw+bits))` (an overflowing activation) has no decomposition at all:
    /// balanced base-`2^lane_bits` digits are unique, so it cannot borrow from or carry into its
    /// neighbour. The quantizer sizes the guard from the weights.
    pub guard: u32,
}

impl FixedPoint {
    /// Smallest representable activation, `-2^(bits-1)`.
    pub fn min(&self) -> i64 {
        -(1i64 << (self.bits - 1))
    }
    /// Largest representable activation, `2^(bits-1) - 1`.
    pub fn max(&self) -> i64 {
        (1i64 << (self.bits - 1)) - 1
    }
    /// Whether `x` is a valid activation.
    pub fn in_range(&self, x: i64) -> bool {
        x >= self.min() && x <= self.max()
    }
    /// Bit width of one lane of a packed linear-layer accumulator: remainder (`fw` bits), offset
    /// quotient (`bits` bits) and guard bits.
    pub fn lane_bits(&self) -> u32 {
        self.fw + self.bits + self.guard
    }
    /// Checks the parameters are usable in a field with `capacity` bits.
    pub fn validate(&self, capacity: u32) -> Result<(), String> {
        if !(2..=40).contains(&self.bits) {
            return Err(format!("activation bits {} outside 2..=40", self.bits));
        }
        if self.fw == 0 || self.fw > 40 {
            return Err(format!("weight fractional bits {} outside 1..=40", self.fw));
        }
        if self.fa == 0 || self.fa >= self.bits {
            return Err(format!(
                "activation fractional bits {} must be in 1..{}",
                self.fa, self.bits
            ));
        }
        if self.guard == 0 {
            return Err("at least one guard bit between lanes is required for soundness".into());
        }
        if self.lane_bits() > capacity.min(120) {
            return Err(format!(
                "fw + bits + guard = {} exceeds the usable lane width {}",
                self.lane_bits(),
                capacity.min(120)
            ));
        }
        Ok(())
    }
}

/// Height × width × channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape3 {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape3 {
    /// `h × w × c`.
    pub const fn new(h: usize, w: usize, c: usize) -> Self {
        Self { h, w, c }
    }
    /// A vector of `n` values.
    pub const fn vector(n: usize) -> Self {
        Self { h: 1, w: 1, c: n }
    }
    /// Number of values.
    pub const fn len(&self) -> usize {
        self.h * self.w * self.c
    }
    /// Whether the shape holds no value.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Flat index of `(y, x, ch)`.
    pub const fn index(&self, y: usize, x: usize, ch: usize) -> usize {
        (y * self.w + x) * self.c + ch
    }
}

/// A sliding window over an HWC input: kernel, strides, dilation and explicit padding.
///
/// Output position `(oy, ox)` with kernel tap `(ky, kx)` reads input row
/// `oy·sh + ky·dh − pad_top` and column `ox·sw + kx·dw − pad_left`; a tap outside the input is
/// padding (zero for convolutions, skipped for pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// Input shape.
    pub input: Shape3,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Vertical dilation.
    pub dh: usize,
    /// Horizontal dilation.
    pub dw: usize,
    /// Rows of padding above the input.
    pub pad_top: usize,
    /// Columns of padding left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

/// Keras padding modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Padding {
    /// No padding: only windows that fit the input.
    Valid,
    /// TensorFlow "same": total padding `max((out−1)·s + (k−1)·d + 1 − in, 0)`, the larger half at
    /// the bottom/right.
    Same,
    /// Keras' "causal" (Conv1D): `(k−1)·d` zeros before the input and none after, so output `i`
    /// reads no input after `i·s`.
    Causal,
}

impl Window {
    /// Builds a window with Keras' padding rule for each spatial axis.
    #[allow(clippy::too_many_arguments)]
    pub fn keras(
        input: Shape3,
        kernel: (usize, usize),
        strides: (usize, usize),
        dilation: (usize, usize),
        padding: Padding,
    ) -> Result<Self, String> {
        Self::per_axis(input, kernel, strides, dilation, (padding, padding))
    }

    /// Builds a window with Keras' rule for a padding mode per axis (height, width): Keras
    /// windows use one mode for both; a row band of a "same" window is "valid" along its height
    /// (`crate::band`).
    #[allow(clippy::too_many_arguments)]
    pub fn per_axis(
        input: Shape3,
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (dh, dw): (usize, usize),
        (pad_h, pad_w): (Padding, Padding),
    ) -> Result<Self, String> {
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            return Err("kernel, stride and dilation must be positive".into());
        }
        let axis =
            |n: usize, k: usize, s: usize, d: usize, padding: Padding| -> Result<_, String> {
                let eff = (k - 1) * d + 1;
                match padding {
                    Padding::Valid => {
                        if n < eff {
                            return Err(format!("window {eff} larger than input {n}"));
                        }
                        Ok(((n - eff) / s + 1, 0))
                    }
                    Padding::Same => {
                        let out = n.div_ceil(s);
                        let total = ((out - 1) * s + eff).saturating_sub(n);
                        Ok((out, total / 2))
                    }
                    Padding::Causal => Ok((n.saturating_sub(1) / s + 1, eff - 1)),
                }
            };
        let (out_h, pad_top) = axis(input.h, kh, sh, dh, pad_h)?;
        let (out_w, pad_left) = axis(input.w, kw, sw, dw, pad_w)?;
        Ok(Self {
            input,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    /// The input position read by output `(oy, ox)` at tap `(ky, kx)`, or `None` in the padding.
    pub fn tap(&self, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let y = (oy * self.sh + ky * self.dh) as isize - self.pad_top as isize;
        let x = (ox * self.sw + kx * self.dw) as isize - self.pad_left as isize;
        if y < 0 || x < 0 || y as usize >= self.input.h || x as usize >= self.input.w {
            None
        } else {
            Some((y as usize, x as usize))
        }
    }
}

/// The largest tensor length, and the largest value of any one dimension, that a deserialized
/// layer description may declare (16M values): enough for any model kerafold proves, and small
/// enough that no product of dimensions overflows.
pub const MAX_LEN: usize = 1 << 24;

/// `a·b`, if it is at most [`MAX_LEN`].
fn bounded_mul(a: usize, b: usize) -> Result<usize, String> {
    a.checked_mul(b)
        .filter(|&n| n <= MAX_LEN)
        .ok_or_else(|| format!("{a}·{b} values exceed the limit of {MAX_LEN}"))
}

impl Shape3 {
    /// Checks every dimension is positive and the length is at most [`MAX_LEN`].
    pub fn validate(&self) -> Result<(), String> {
        if self.h == 0 || self.w == 0 || self.c == 0 {
            return Err(format!(
                "shape {}×{}×{} has an empty axis",
                self.h, self.w, self.c
            ));
        }
        bounded_mul(bounded_mul(self.h, self.w)?, self.c).map(|_| ())
    }
}

impl Window {
    /// Checks the window is one [`Window::per_axis`] builds (`Valid` or `Same` on each axis, or
    /// a 1-D causal one: `Causal` along the row) over a valid input: what the gadgets' index arithmetic and pooling's tap counts rely on.
    pub fn validate(&self) -> Result<(), String> {
        self.input.validate()?;
        for v in [self.kh, self.kw, self.sh, self.sw, self.dh, self.dw] {
            if v == 0 || v > MAX_LEN {
                return Err("kernel, stride and dilation must be in 1..=2^24".into());
            }
        }
        let k = (self.kh, self.kw);
        let st = (self.sh, self.sw);
        let d = (self.dh, self.dw);
        use Padding::{Causal, Same, Valid};
        let built = [
            (Valid, Valid),
            (Valid, Same),
            (Same, Valid),
            (Same, Same),
            (Valid, Causal),
        ]
        .into_iter()
        .filter_map(|p| Window::per_axis(self.input, k, st, d, p).ok());
        if !built.into_iter().any(|w| w == *self) {
            return Err(
                "the window is not valid, same or causal (per axis, as Keras builds them) over its input"
                    .into(),
            );
        }
        bounded_mul(
            bounded_mul(self.out_h, self.out_w)?,
            bounded_mul(self.kh, self.kw)?,
        )
        .map(|_| ())
    }
}

/// Fully connected layer on a vector: `y[o] = Σ_i x[i]·W[i][o] + b[o]`.
/// Weights: `W` row-major `[n_in][n_out]`, `b` `[n_out]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DenseSpec {
    /// Input length.
    pub n_in: usize,
    /// Output length.
    pub n_out: usize,
}

/// Convolution (Conv2D; Conv1D with `h = 1`; pointwise with a 1×1 kernel).
/// Weights: `W` `[kh][kw][c_in][c_out]`, `b` `[c_out]`. Output shape `out_h × out_w × c_out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Sliding window over the input.
    pub window: Window,
    /// Output channels (filters).
    pub c_out: usize,
}

/// Depthwise convolution. Weights: `W` `[kh][kw][c][mult]`, `b` `[c·mult]`; output channel
/// `ch·mult + m` reads input channel `ch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DepthwiseSpec {
    /// Sliding window over the input.
    pub window: Window,
    /// Depth multiplier: output channels per input channel.
    pub mult: usize,
}

/// Per-channel affine map (a BatchNormalization that does not follow a linear layer):
/// `y[j] = a[j mod channels]·x[j] + b[j mod channels]`, then requantized by `2^fw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AffineSpec {
    /// Number of values.
    pub n: usize,
    /// Channels (the scale and offset repeat with period `channels`).
    pub channels: usize,
}

/// Layer normalization without its scale and offset (Keras' LayerNormalization over the last
/// axis; `γ`, `β` follow as a per-channel [`AffineSpec`] step): each of `groups` runs of `n`
/// consecutive values becomes `(x − mean) / √(variance + ε)` at activation scale, or one of the
/// uncentered forms of [`NormKind`].
///
/// Integer form (docs/DESIGN.md §3): with `S = Σ x`, `D_i = n·x_i − S = n·(x_i − mean)` and
/// `V = n·Σ D_i² + E` (`E` = [`NormSpec::epsilon_term`], `ε` at the same scale), the output is
/// `D_i·n / √V`: `r = ⌊2^k / √V⌋` (the largest `r` with `r²·V ≤ 2^(2k)`, `k` =
/// [`NormSpec::shift`]) and `y_i = round(D_i·n·r / 2^(k − fa))`, half up. An uncentered form
/// takes `n·x_i` instead of `D_i` where it does not subtract the mean: in `V`
/// ([`NormKind::centers_variance`]) and in the output ([`NormKind::centers_output`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NormSpec {
    /// Number of groups (positions of the tensor).
    pub groups: usize,
    /// Values per group (the last axis).
    pub n: usize,
    /// `ε` at scale `2^EPS_BITS`, rounded (exact in JSON, unlike a float).
    pub eps: u64,
    /// What the normalization centers (absent in JSON: the standard form, so the specs, and the
    /// architecture digests, of standard normalizations are as before the other forms).
    #[serde(default, skip_serializing_if = "NormKind::is_standard")]
    pub kind: NormKind,
}

/// Which of Keras' normalizations a [`NormSpec`] computes, by what it centers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NormKind {
    /// `(x − mean) / √(variance + ε)`: LayerNormalization, GroupNormalization.
    #[default]
    Standard,
    /// `x / √(variance + ε)`, the variance still about the mean: LayerNormalization with
    /// `rms_scaling=True`, as Keras computes it.
    RmsScaling,
    /// `x / √(mean(x²) + ε)`: RMSNormalization.
    Rms,
}

impl NormKind {
    /// The standard form (serde's test for leaving the field out).
    pub fn is_standard(&self) -> bool {
        *self == NormKind::Standard
    }

    /// Whether `V` sums squares about the mean.
    pub fn centers_variance(self) -> bool {
        self != NormKind::Rms
    }

    /// Whether the output is taken about the mean.
    pub fn centers_output(self) -> bool {
        self == NormKind::Standard
    }
}

impl NormSpec {
    /// Fractional bits of [`NormSpec::eps`].
    pub const EPS_BITS: u32 = 48;

    /// `ε` as the spec stores it.
    pub fn eps_fixed(epsilon: f64) -> Result<u64, String> {
        let e = (epsilon * f64::from(1u32 << 24) * f64::from(1u32 << 24)).round();
        if !(0.0..1.8e19).contains(&e) {
            return Err(format!(
                "layer normalization epsilon {epsilon} outside [0, 65536)"
            ));
        }
        Ok(e as u64)
    }

    /// `L = ⌈log2 n⌉`.
    fn log_n(&self) -> u32 {
        usize::BITS - (self.n.max(1) - 1).leading_zeros()
    }

    /// `E = max(1, round(ε·n⁴·2^(2·fa)))`: `ε` at the scale of `V`, at least 1 so that `V > 0`.
    pub fn epsilon_term(&self, fp: &FixedPoint) -> Result<u128, String> {
        self.shift(fp)?; // bounds L and B, so the shifts below stay within 128 bits
        let too_big = || {
            format!(
                "layer normalization: epsilon term of {} values overflows",
                self.n
            )
        };
        let n = self.n as u128;
        let base = (self.eps as u128)
            .checked_mul(
                n.checked_mul(n)
                    .and_then(|n2| n2.checked_mul(n2))
                    .ok_or_else(too_big)?,
            )
            .ok_or_else(too_big)?;
        let up = 2 * fp.fa;
        let e = if up >= Self::EPS_BITS {
            base.checked_shl(up - Self::EPS_BITS)
                .filter(|v| v >> (up - Self::EPS_BITS) == base)
                .ok_or_else(too_big)?
        } else {
            let down = Self::EPS_BITS - up;
            (base + (1u128 << (down - 1))) >> down
        };
        let bound = 1u128 << (4 * self.log_n() + 2 * fp.bits);
        if e > bound {
            return Err(format!(
                "layer normalization: epsilon {} is too large for {}-bit activations",
                self.eps as f64 / 2f64.powi(Self::EPS_BITS as i32),
                fp.bits
            ));
        }
        Ok(e.max(1))
    }

    /// `k = 2L + B + 1 + fa + ⌈L/2⌉ + 2`: `√V < 2^(2L + B + 1)` for any `B`-bit inputs and
    /// `|D_i|·n ≤ √(n·V)`, so truncating `r` moves an output by at most a quarter unit (and
    /// rounding by half of one).
    pub fn shift(&self, fp: &FixedPoint) -> Result<u32, String> {
        let l = self.log_n();
        let k = 2 * l + fp.bits + 1 + fp.fa + l.div_ceil(2) + 2;
        if k > Self::MAX_SHIFT {
            return Err(format!(
                "layer normalization over {} values at {} bits needs 2^{k}; at most 2^{} \
                 (use fewer activation bits or a shorter last axis)",
                self.n,
                fp.bits,
                Self::MAX_SHIFT
            ));
        }
        Ok(k)
    }

    /// Largest [`NormSpec::shift`]: `2^(2k+2)` must fit the 128-bit native twin.
    pub const MAX_SHIFT: u32 = 62;
}

/// Pooling window (no dilation). Max pooling skips padded taps (Keras pads with −∞); average
/// pooling divides by the number of valid taps (TensorFlow excludes padding from the count) with
/// floor division. Global pooling is a window covering the whole input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolSpec {
    /// The pooling window.
    pub window: Window,
}

/// A relabelling applied to a step's input before its operation (free in the circuit: constant
/// wiring). Reshape and Flatten are identities on the flat HWC vector and need no view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViewOp {
    /// Nearest-neighbour upsampling of `input` by `(sy, sx)`.
    UpSample {
        /// Input shape.
        input: Shape3,
        /// Vertical factor.
        sy: usize,
        /// Horizontal factor.
        sx: usize,
    },
    /// Zero padding of `input` (ZeroPadding2D).
    ZeroPad {
        /// Input shape.
        input: Shape3,
        /// Rows added above.
        top: usize,
        /// Rows added below.
        bottom: usize,
        /// Columns added left.
        left: usize,
        /// Columns added right.
        right: usize,
    },
    /// Cropping of `input` (Cropping1D/2D, CenterCrop): the rows and columns removed at each
    /// edge.
    Crop {
        /// Input shape.
        input: Shape3,
        /// Rows removed above.
        top: usize,
        /// Rows removed below.
        bottom: usize,
        /// Columns removed left.
        left: usize,
        /// Columns removed right.
        right: usize,
    },
    /// A permutation of `input`'s axes (Permute): output axis `k` is input axis `axes[k]`
    /// (0 rows, 1 columns, 2 channels; a sequence `[length, channels]` is one row).
    Permute {
        /// Input shape.
        input: Shape3,
        /// The input axis of each output axis.
        axes: [usize; 3],
    },
    /// Nearest-neighbour resizing of `input` to `out_h × out_w` (Resizing, `nearest`): output row
    /// `y` copies input row [`nearest_source`]`(y, h, out_h)`, and columns likewise.
    Resize {
        /// Input shape.
        input: Shape3,
        /// Output rows.
        out_h: usize,
        /// Output columns.
        out_w: usize,
    },
    /// The columns of `input` in reverse order: a sequence `[length, channels]` (one row) read
    /// from its last timestep to its first (the backward layer of a Bidirectional wrapper).
    Reverse {
        /// Input shape.
        input: Shape3,
    },
    /// Zeros inserted between the rows and columns of `input` (`sy − 1` between rows, `sx − 1`
    /// between columns): the input of a transposed convolution (Conv2DTranspose) as a convolution.
    Dilate {
        /// Input shape.
        input: Shape3,
        /// Vertical stride.
        sy: usize,
        /// Horizontal stride.
        sx: usize,
    },
}

impl ViewOp {
    /// Checks the view's input and output shapes are valid (positive, bounded).
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            ViewOp::UpSample { input, sy, sx } => {
                input.validate()?;
                if sy == 0 || sx == 0 {
                    return Err("upsampling factors must be positive".into());
                }
                bounded_mul(input.h, sy)?;
                bounded_mul(input.w, sx)?;
            }
            ViewOp::ZeroPad {
                input,
                top,
                bottom,
                left,
                right,
            } => {
                input.validate()?;
                for v in [top, bottom, left, right] {
                    if v > MAX_LEN {
                        return Err("padding exceeds 2^24".into());
                    }
                }
            }
            ViewOp::Crop {
                input,
                top,
                bottom,
                left,
                right,
            } => {
                input.validate()?;
                if top.saturating_add(bottom) >= input.h || left.saturating_add(right) >= input.w {
                    return Err("cropping leaves nothing".into());
                }
            }
            ViewOp::Permute { input, axes } => {
                input.validate()?;
                let mut sorted = axes;
                sorted.sort_unstable();
                if sorted != [0, 1, 2] {
                    return Err(format!("axes {axes:?} are not a permutation of 0, 1, 2"));
                }
            }
            ViewOp::Resize {
                input,
                out_h,
                out_w,
            } => {
                input.validate()?;
                if out_h == 0 || out_w == 0 || out_h > MAX_LEN || out_w > MAX_LEN {
                    return Err(format!("resizing to {out_h}×{out_w} is empty or too large"));
                }
            }
            ViewOp::Reverse { input } => input.validate()?,
            ViewOp::Dilate { input, sy, sx } => {
                input.validate()?;
                if sy == 0 || sx == 0 {
                    return Err("dilation strides must be positive".into());
                }
                bounded_mul(input.h, sy)?;
                bounded_mul(input.w, sx)?;
            }
        }
        self.output_shape().validate()
    }

    /// Number of input values.
    pub fn input_len(&self) -> usize {
        match self {
            ViewOp::UpSample { input, .. }
            | ViewOp::ZeroPad { input, .. }
            | ViewOp::Crop { input, .. }
            | ViewOp::Permute { input, .. }
            | ViewOp::Resize { input, .. }
            | ViewOp::Reverse { input }
            | ViewOp::Dilate { input, .. } => input.len(),
        }
    }
    /// Shape of the output.
    pub fn output_shape(&self) -> Shape3 {
        match *self {
            ViewOp::UpSample { input, sy, sx } => Shape3::new(input.h * sy, input.w * sx, input.c),
            ViewOp::ZeroPad {
                input,
                top,
                bottom,
                left,
                right,
            } => Shape3::new(input.h + top + bottom, input.w + left + right, input.c),
            ViewOp::Crop {
                input,
                top,
                bottom,
                left,
                right,
            } => Shape3::new(
                input.h.saturating_sub(top + bottom),
                input.w.saturating_sub(left + right),
                input.c,
            ),
            ViewOp::Permute { input, axes } => {
                let dims = [input.h, input.w, input.c];
                // out of range only in an invalid view (`validate`): an empty shape, never a panic
                let d = |k: usize| dims.get(axes[k]).copied().unwrap_or(0);
                Shape3::new(d(0), d(1), d(2))
            }
            ViewOp::Resize {
                input,
                out_h,
                out_w,
            } => Shape3::new(out_h, out_w, input.c),
            ViewOp::Reverse { input } => input,
            ViewOp::Dilate { input, sy, sx } => Shape3::new(
                input.h.saturating_sub(1) * sy + 1,
                input.w.saturating_sub(1) * sx + 1,
                input.c,
            ),
        }
    }
    /// For each output element, the input element it copies (`None`: a zero).
    pub fn gather(&self) -> Vec<Option<usize>> {
        let out = self.output_shape();
        let mut g = Vec::with_capacity(out.len());
        for y in 0..out.h {
            for x in 0..out.w {
                for ch in 0..out.c {
                    g.push(match *self {
                        ViewOp::UpSample { input, sy, sx } => Some(input.index(y / sy, x / sx, ch)),
                        ViewOp::ZeroPad {
                            input, top, left, ..
                        } => {
                            if y < top || x < left || y - top >= input.h || x - left >= input.w {
                                None
                            } else {
                                Some(input.index(y - top, x - left, ch))
                            }
                        }
                        ViewOp::Crop {
                            input, top, left, ..
                        } => Some(input.index(y + top, x + left, ch)),
                        ViewOp::Permute { input, axes } => {
                            let mut at = [0; 3];
                            for (k, v) in [y, x, ch].into_iter().enumerate() {
                                at[axes[k]] = v;
                            }
                            Some(input.index(at[0], at[1], at[2]))
                        }
                        ViewOp::Resize {
                            input,
                            out_h,
                            out_w,
                        } => Some(input.index(
                            nearest_source(y, input.h, out_h),
                            nearest_source(x, input.w, out_w),
                            ch,
                        )),
                        ViewOp::Reverse { input } => Some(input.index(y, input.w - 1 - x, ch)),
                        ViewOp::Dilate { input, sy, sx } => {
                            (y % sy == 0 && x % sx == 0).then(|| input.index(y / sy, x / sx, ch))
                        }
                    });
                }
            }
        }
        g
    }
}

/// The input index output `dst` of a nearest-neighbour resize from `n_in` to `n_out` values
/// copies: TensorFlow's rule with half-pixel centres, `min(⌊(dst + ½)·(n_in / n_out)⌋, n_in − 1)`,
/// in `f32` as TensorFlow computes it (IEEE arithmetic, the same on every machine).
pub fn nearest_source(dst: usize, n_in: usize, n_out: usize) -> usize {
    let scale = n_in as f32 / n_out as f32;
    (((dst as f32 + 0.5) * scale).floor() as usize).min(n_in.saturating_sub(1))
}

/// Composes a chain of views into one gather map over the chain's input (`None`: a zero).
pub fn compose_views(views: &[ViewOp], input_len: usize) -> Vec<Option<usize>> {
    let mut map: Vec<Option<usize>> = (0..input_len).map(Some).collect();
    for v in views {
        map = v
            .gather()
            .into_iter()
            .map(|src| src.and_then(|s| map[s]))
            .collect();
    }
    map
}

/// How a merge combines its two operands `a` (first, in Keras' order) and `b`, all at activation
/// scale `2^fa`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Merge {
    /// `a + b`.
    Add,
    /// `a − b`.
    Subtract,
    /// `floor((a·b + 2^(fa−1)) / 2^fa)`: the product requantized half-up.
    Multiply,
    /// `floor((a + b) / 2)`, as average pooling floors.
    Average,
    /// `max(a, b)`.
    Maximum,
    /// `min(a, b)`.
    Minimum,
}

impl Merge {
    /// Every merge.
    pub const ALL: [Merge; 6] = [
        Merge::Add,
        Merge::Subtract,
        Merge::Multiply,
        Merge::Average,
        Merge::Maximum,
        Merge::Minimum,
    ];
    /// Whether the operands' order matters.
    pub fn ordered(self) -> bool {
        self == Merge::Subtract
    }
    /// Keras' layer name for it.
    pub fn keras_name(self) -> &'static str {
        match self {
            Merge::Add => "Add",
            Merge::Subtract => "Subtract",
            Merge::Multiply => "Multiply",
            Merge::Average => "Average",
            Merge::Maximum => "Maximum",
            Merge::Minimum => "Minimum",
        }
    }
}

/// Keras' Concatenate of the step's input `x` and the saved tensor `s` along one axis of their
/// height × width × channels layout: the operands in Keras' order are `(x, s)`, or `(s, x)` if
/// `saved_first`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConcatSpec {
    /// Shape of the step's input.
    pub x: Shape3,
    /// Shape of the saved tensor.
    pub saved: Shape3,
    /// The axis: 0 height, 1 width, 2 channels.
    pub axis: usize,
    /// The saved tensor is the first operand.
    pub saved_first: bool,
    /// The saved tensor stays saved for a later reader (see [`Op::pops_saved`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
}

impl ConcatSpec {
    /// The operands' shapes in Keras' order.
    pub fn operands(&self) -> (Shape3, Shape3) {
        if self.saved_first {
            (self.saved, self.x)
        } else {
            (self.x, self.saved)
        }
    }
    fn dims(s: Shape3) -> [usize; 3] {
        [s.h, s.w, s.c]
    }
    /// Checks the operands agree on every axis but the concatenated one.
    pub fn validate(&self) -> Result<(), String> {
        if self.axis > 2 {
            return Err(format!("concatenate: axis {} outside 0..=2", self.axis));
        }
        self.x.validate()?;
        self.saved.validate()?;
        let (a, b) = (Self::dims(self.x), Self::dims(self.saved));
        for k in (0..3).filter(|&k| k != self.axis) {
            if a[k] != b[k] {
                return Err(format!(
                    "concatenate: shapes {:?} and {:?} differ off axis {}",
                    self.x, self.saved, self.axis
                ));
            }
        }
        Ok(())
    }
    /// The output shape.
    pub fn output_shape(&self) -> Shape3 {
        let (a, b) = (Self::dims(self.x), Self::dims(self.saved));
        let mut o = a;
        o[self.axis] = a[self.axis] + b[self.axis];
        Shape3::new(o[0], o[1], o[2])
    }
    /// The concatenation of the step's input `x` and the saved tensor `saved` (values of any
    /// kind: integers, wires, reals), in the output's order.
    pub fn gather<T: Clone>(&self, x: &[T], saved: &[T]) -> Vec<T> {
        let (first, second) = if self.saved_first {
            (saved, x)
        } else {
            (x, saved)
        };
        self.sources()
            .into_iter()
            .map(|(from_second, j)| {
                if from_second {
                    second[j].clone()
                } else {
                    first[j].clone()
                }
            })
            .collect()
    }
    /// For each output, where it comes from: `(false, i)` the first operand's value `i`, `(true,
    /// i)` the second's.
    pub fn sources(&self) -> Vec<(bool, usize)> {
        let (first, second) = self.operands();
        let split = Self::dims(first)[self.axis];
        let o = self.output_shape();
        let mut out = Vec::with_capacity(o.len());
        for y in 0..o.h {
            for x in 0..o.w {
                for c in 0..o.c {
                    let mut p = [y, x, c];
                    out.push(if p[self.axis] < split {
                        (false, first.index(p[0], p[1], p[2]))
                    } else {
                        p[self.axis] -= split;
                        (true, second.index(p[0], p[1], p[2]))
                    });
                }
            }
        }
        out
    }
}

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellKind {
    /// Keras' SimpleRNN.
    Simple,
    /// Keras' GRU; `reset_after` applies the reset gate after the recurrent matrix product.
    Gru {
        /// Keras' `reset_after`.
        reset_after: bool,
    },
    /// Keras' LSTM.
    Lstm,
}

/// One timestep of a recurrent cell of `units` units over `features` input values
/// ([`crate::recurrent`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellSpec {
    /// The cell.
    pub kind: CellKind,
    /// Input values per timestep the cell's maps read.
    pub features: usize,
    /// Units (the length of `h`, and of the LSTM's `c`).
    pub units: usize,
    /// Keras' mask of an `Embedding(mask_zero=True)`: each timestep's input ends with its token
    /// id (after the `features` values), and a timestep whose token is 0 keeps the state as it
    /// was. Absent from an unmasked cell's serialized spec, so its architecture digest is as
    /// before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

impl CellSpec {
    /// Input values per timestep: the features, then the token id of a masked cell.
    pub fn input_len(&self) -> usize {
        self.features + usize::from(self.masked)
    }

    /// The state carried from one timestep to the next: `h`, then the LSTM's `c`.
    pub fn state_len(&self) -> usize {
        match self.kind {
            CellKind::Lstm => 2 * self.units,
            _ => self.units,
        }
    }

    /// The cell's linear maps in order; the cell's weights are theirs, one after the other
    /// (kernels in `Weights::w`, biases in `Weights::b`, each in a Dense's layout).
    /// - SimpleRNN, LSTM: `[x; h] → g·U`, Keras' kernel above its recurrent kernel.
    /// - GRU `reset_after`: `x → 3U` (kernel, input bias), `h → 3U` (recurrent kernel and bias).
    /// - GRU reset before: `[x; h] → 2U` (the z and r columns), `[x; r⊙h] → U` (the n columns).
    pub fn denses(&self) -> Vec<DenseSpec> {
        let (f, u) = (self.features, self.units);
        let dense = |n_in, n_out| DenseSpec { n_in, n_out };
        match self.kind {
            CellKind::Simple => vec![dense(f + u, u)],
            CellKind::Lstm => vec![dense(f + u, 4 * u)],
            CellKind::Gru { reset_after: true } => vec![dense(f, 3 * u), dense(u, 3 * u)],
            CellKind::Gru { reset_after: false } => vec![dense(f + u, 2 * u), dense(f + u, u)],
        }
    }

    /// [`CellSpec::denses`] as ops: the cell's weights are theirs ([`Op::linear_parts`]).
    pub fn linear_parts(&self) -> Vec<Op> {
        self.denses().into_iter().map(Op::Dense).collect()
    }

    /// Kernel and bias lengths of the cell's weights.
    pub fn weight_lens(&self) -> (usize, usize) {
        self.denses().iter().fold((0, 0), |(w, b), d| {
            let (dw, db) = Op::Dense(*d).weight_lens();
            (w + dw, b + db)
        })
    }

    /// Checks the spec's sizes.
    pub fn validate(&self) -> Result<(), String> {
        if self.features == 0 || self.units == 0 {
            return Err(format!(
                "a recurrent cell needs features and units, not {} and {}",
                self.features, self.units
            ));
        }
        for d in self.denses() {
            Op::Dense(d).validate()?;
        }
        Ok(())
    }
}

/// A recurrent layer: its cell run over `timesteps` timesteps of `cell.input_len()` values from a
/// zero state, outputting `h` at every timestep (`return_sequences`) or at the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecurrentSpec {
    /// The cell.
    pub cell: CellSpec,
    /// Timesteps of the input sequence.
    pub timesteps: usize,
    /// Output `h` at every timestep, or at the last only.
    pub return_sequences: bool,
}

/// The operation of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// Fully connected layer.
    Dense(DenseSpec),
    /// Convolution.
    Conv(ConvSpec),
    /// Depthwise convolution.
    Depthwise(DepthwiseSpec),
    /// Per-channel affine map.
    Affine(AffineSpec),
    /// Max pooling.
    MaxPool(PoolSpec),
    /// Average pooling.
    AvgPool(PoolSpec),
    /// An element-wise merge of the step's input `x` with the saved tensor `s` over `n` values
    /// (Keras' Add, Subtract, Multiply, Average, Maximum, Minimum of two tensors), range-checked.
    Merge {
        /// How the two are combined.
        merge: Merge,
        /// Number of values.
        n: usize,
        /// The saved tensor is the first operand (`s − x`); only a Subtract has an order.
        saved_first: bool,
        /// The saved tensor stays saved for a later reader: the stack after the step is the
        /// stack before it (see [`Op::pops_saved`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    /// Concatenation of the step's input with the saved tensor (no constraint of its own).
    Concat(ConcatSpec),
    /// One-hot rows of `n` token ids over a vocabulary of `vocab` (an Embedding's lookup; its
    /// table follows as a 1×1 convolution). The input is `id·2^fa`; the output `n × vocab`.
    OneHot {
        /// Number of tokens.
        n: usize,
        /// Vocabulary size.
        vocab: usize,
    },
    /// Layer normalization of groups of values over the last axis (its scale and offset follow
    /// as an affine step).
    LayerNorm(NormSpec),
    /// A branch point: the step's input (`n` values) is set aside — pushed onto the saved
    /// tensors — and the saved tensor on top (`saved` values) is popped as the output, so the
    /// next step runs the other branch of a fork (no constraint of its own).
    Swap {
        /// Values of the input, the tensor set aside.
        n: usize,
        /// Values of the saved tensor resumed (the output).
        saved: usize,
        /// The resumed tensor stays saved, under the input pushed above it: a later merge reads
        /// it again after the merge that joins the branches (see [`Op::pops_saved`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    /// `y = x` (used when an activation or a view has no operation to fuse into).
    Identity {
        /// Number of values.
        n: usize,
    },
    /// First index of the maximum of `n` values; the values pass through unchanged.
    ArgMax {
        /// Number of values.
        n: usize,
    },
    /// A recurrent layer (Keras' SimpleRNN, GRU, LSTM), its cell unrolled over the timesteps
    /// ([`crate::recurrent`]); its activation is [`Act::Cell`], applied inside the cell.
    Recurrent(RecurrentSpec),
}

impl Op {
    /// Checks the op's dimensions are positive, bounded and consistent (windows as Keras builds
    /// them, Affine channels dividing its length): what its gadget and native twin rely on.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |n: usize, what: &str| {
            if n == 0 || n > MAX_LEN {
                Err(format!("{}: {what} {n} outside 1..=2^24", self.kind()))
            } else {
                Ok(())
            }
        };
        match self {
            Op::Dense(d) => {
                positive(d.n_in, "inputs")?;
                positive(d.n_out, "outputs")?;
                bounded_mul(d.n_in, d.n_out)?;
            }
            Op::Conv(c) => {
                c.window.validate()?;
                positive(c.c_out, "filters")?;
                bounded_mul(
                    bounded_mul(c.window.kh * c.window.kw, c.window.input.c)?,
                    c.c_out,
                )?;
            }
            Op::Depthwise(d) => {
                d.window.validate()?;
                positive(d.mult, "depth multiplier")?;
                bounded_mul(
                    bounded_mul(d.window.kh * d.window.kw, d.window.input.c)?,
                    d.mult,
                )?;
            }
            Op::Affine(a) => {
                positive(a.n, "values")?;
                positive(a.channels, "channels")?;
                if a.n % a.channels != 0 {
                    return Err(format!(
                        "affine: {} values do not split into {} channels",
                        a.n, a.channels
                    ));
                }
            }
            Op::MaxPool(p) | Op::AvgPool(p) => p.window.validate()?,
            Op::Merge {
                merge, saved_first, ..
            } if *saved_first && !merge.ordered() => {
                return Err(format!(
                    "{}: operand order given for an unordered merge",
                    self.kind()
                ))
            }
            Op::Concat(c) => c.validate()?,
            Op::OneHot { n, vocab } => {
                positive(*n, "tokens")?;
                positive(*vocab, "vocabulary")?;
                bounded_mul(*n, *vocab)?;
            }
            Op::LayerNorm(l) => {
                positive(l.groups, "groups")?;
                positive(l.n, "values a group")?;
                bounded_mul(l.groups, l.n)?;
            }
            Op::Swap { n, saved, .. } => {
                positive(*n, "values")?;
                positive(*saved, "saved values")?;
            }
            Op::Merge { n, .. } | Op::Identity { n } | Op::ArgMax { n } => positive(*n, "values")?,
            Op::Recurrent(r) => {
                r.cell.validate()?;
                positive(r.timesteps, "timesteps")?;
                bounded_mul(r.timesteps, r.cell.input_len())?;
                bounded_mul(r.timesteps, r.cell.units)?;
            }
        }
        self.output_shape().validate()
    }

    /// Number of input values (after the step's views).
    pub fn input_len(&self) -> usize {
        match self {
            Op::Dense(d) => d.n_in,
            Op::Conv(c) => c.window.input.len(),
            Op::Depthwise(d) => d.window.input.len(),
            Op::Affine(a) => a.n,
            Op::MaxPool(p) | Op::AvgPool(p) => p.window.input.len(),
            Op::Concat(c) => c.x.len(),
            Op::Swap { n, .. } | Op::OneHot { n, .. } => *n,
            Op::LayerNorm(l) => l.groups * l.n,
            Op::Merge { n, .. } | Op::Identity { n } | Op::ArgMax { n } => *n,
            Op::Recurrent(r) => r.timesteps * r.cell.input_len(),
        }
    }
    /// Shape of the output.
    pub fn output_shape(&self) -> Shape3 {
        match self {
            Op::Dense(d) => Shape3::vector(d.n_out),
            Op::Conv(c) => Shape3::new(c.window.out_h, c.window.out_w, c.c_out),
            Op::Depthwise(d) => {
                Shape3::new(d.window.out_h, d.window.out_w, d.window.input.c * d.mult)
            }
            Op::Affine(a) => Shape3::vector(a.n),
            Op::MaxPool(p) | Op::AvgPool(p) => {
                Shape3::new(p.window.out_h, p.window.out_w, p.window.input.c)
            }
            Op::Concat(c) => c.output_shape(),
            Op::Swap { saved, .. } => Shape3::vector(*saved),
            Op::OneHot { n, vocab } => Shape3::new(1, *n, *vocab),
            Op::LayerNorm(l) => Shape3::new(1, l.groups, l.n),
            Op::Merge { n, .. } | Op::Identity { n } | Op::ArgMax { n } => Shape3::vector(*n),
            Op::Recurrent(r) if r.return_sequences => Shape3::new(1, r.timesteps, r.cell.units),
            Op::Recurrent(r) => Shape3::vector(r.cell.units),
        }
    }
    /// Number of output values.
    pub fn output_len(&self) -> usize {
        self.output_shape().len()
    }
    /// Multiply-accumulate count.
    pub fn macs(&self) -> usize {
        match self {
            Op::Dense(d) => d.n_in * d.n_out,
            Op::Conv(c) => {
                c.window.out_h
                    * c.window.out_w
                    * c.window.kh
                    * c.window.kw
                    * c.window.input.c
                    * c.c_out
            }
            Op::Depthwise(d) => {
                d.window.out_h
                    * d.window.out_w
                    * d.window.kh
                    * d.window.kw
                    * d.window.input.c
                    * d.mult
            }
            Op::Affine(a) => a.n,
            Op::Recurrent(r) => {
                r.timesteps
                    * r.cell
                        .denses()
                        .iter()
                        .map(|d| d.n_in * d.n_out)
                        .sum::<usize>()
            }
            _ => 0,
        }
    }
    /// The merge `x ∘ s` of `n` values with the saved tensor as the second operand.
    pub fn merge(merge: Merge, n: usize) -> Op {
        Op::Merge {
            merge,
            n,
            saved_first: false,
            keep: false,
        }
    }
    /// Whether the op reads the saved tensor on top of the stack (a merge, a concatenation, a
    /// swap).
    pub fn reads_saved(&self) -> bool {
        self.saved_len().is_some()
    }
    /// Whether the op takes the saved tensor it reads off the stack: every reader but a merge,
    /// concatenation or swap that keeps it for a later layer (then a merge leaves the stack as
    /// it was, and a swap pushes its input above it).
    pub fn pops_saved(&self) -> bool {
        match self {
            Op::Merge { keep, .. } => !keep,
            Op::Concat(c) => !c.keep,
            Op::Swap { keep, .. } => !keep,
            _ => false,
        }
    }
    /// Whether the op reads the saved tensor and leaves it saved.
    pub fn keeps_saved(&self) -> bool {
        self.reads_saved() && !self.pops_saved()
    }
    /// How many values of the saved tensor the op reads, if it reads it.
    pub fn saved_len(&self) -> Option<usize> {
        match self {
            Op::Merge { n, .. } => Some(*n),
            Op::Concat(c) => Some(c.saved.len()),
            Op::Swap { saved, .. } => Some(*saved),
            _ => None,
        }
    }
    /// Whether the op multiplies by weights and requantizes by `2^fw`.
    pub fn is_linear(&self) -> bool {
        matches!(
            self,
            Op::Dense(_) | Op::Conv(_) | Op::Depthwise(_) | Op::Affine(_)
        )
    }
    /// Whether the op takes weights: a linear op, or a recurrent layer (its cell's linear maps).
    pub fn has_weights(&self) -> bool {
        self.is_linear() || matches!(self, Op::Recurrent(_))
    }
    /// Lengths of the weight and bias vectors the op takes.
    pub fn weight_lens(&self) -> (usize, usize) {
        match self {
            Op::Dense(d) => (d.n_in * d.n_out, d.n_out),
            Op::Conv(c) => (
                c.window.kh * c.window.kw * c.window.input.c * c.c_out,
                c.c_out,
            ),
            Op::Depthwise(d) => (
                d.window.kh * d.window.kw * d.window.input.c * d.mult,
                d.window.input.c * d.mult,
            ),
            Op::Affine(a) => (a.channels, a.channels),
            Op::Recurrent(r) => r.cell.weight_lens(),
            _ => (0, 0),
        }
    }
    /// The linear maps whose weights are the op's, in order: the op itself for a linear op, a
    /// recurrent cell's Dense maps ([`CellSpec::denses`]), none for an op without weights. The
    /// op's weights, packed weights and weight bounds are theirs, one after the other.
    pub fn linear_parts(&self) -> Vec<Op> {
        match self {
            Op::Recurrent(r) => r.cell.linear_parts(),
            op if op.is_linear() => vec![*op],
            _ => vec![],
        }
    }
    /// Short kind name, as `kerafold inspect` prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense(_) => "dense",
            Op::Conv(_) => "conv",
            Op::Depthwise(_) => "depthwise",
            Op::Affine(_) => "affine",
            Op::MaxPool(_) => "maxpool",
            Op::AvgPool(_) => "avgpool",
            Op::Merge { merge, .. } => match merge {
                Merge::Add => "add",
                Merge::Subtract => "subtract",
                Merge::Multiply => "multiply",
                Merge::Average => "average",
                Merge::Maximum => "maximum",
                Merge::Minimum => "minimum",
            },
            Op::Concat(_) => "concatenate",
            Op::Swap { .. } => "swap",
            Op::OneHot { .. } => "one_hot",
            Op::LayerNorm(l) => match l.kind {
                NormKind::Standard => "layer_norm",
                NormKind::RmsScaling => "layer_norm_rms_scaling",
                NormKind::Rms => "rms_norm",
            },
            Op::Identity { .. } => "identity",
            Op::ArgMax { .. } => "argmax",
            Op::Recurrent(r) => match r.cell.kind {
                CellKind::Simple => "simple_rnn",
                CellKind::Gru { .. } => "gru",
                CellKind::Lstm => "lstm",
            },
        }
    }
}

/// Activation applied to an op's integer result `q` (already in the `bits` range).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Act {
    /// `q` unchanged.
    Linear,
    /// `max(q, 0)`.
    Relu,
    /// `min(max(q, 0), hi)`; ReLU6 has `hi = 6·2^fa`.
    Clip {
        /// Upper bound (at activation scale), `≥ 0`.
        hi: i64,
    },
    /// `q` if `q ≥ 0`, else `floor((k·q + 2^(m−1)) / 2^m)`: slope `α = k / 2^m`, `0 < k < 2^m`.
    Leaky {
        /// Slope numerator.
        k: i64,
        /// Slope shift: `α = k / 2^m`.
        m: u32,
    },
    /// `floor((q² + c·q + 2^(fa−1)) / 2^fa)`: the real map `x² + (c/2^fa)·x` (keras2circom's
    /// polynomial activation), range-checked.
    Poly {
        /// Coefficient of `x`, at scale `2^fa`.
        c: i64,
    },
    /// A piecewise-linear map on range-checked segments (the approximation of a smooth
    /// activation: sigmoid, tanh, GELU, …), [`Pwl`].
    Pwl(Pwl),
    /// The two activations of a recurrent cell ([`Op::Recurrent`] only), applied inside the
    /// cell, not to its output: σ on the gates, φ on the candidate and the state.
    Cell {
        /// The gates' activation σ (`Linear` for a SimpleRNN, which has no gate).
        gate: Box<Act>,
        /// The state's activation φ.
        act: Box<Act>,
    },
}

/// Most segments a [`Pwl`] may have (each costs one selector bit per output).
pub const PWL_MAX_SEGMENTS: usize = 64;

/// A piecewise-linear integer map: segment `i` covers `[from_i, from_{i+1} − 1]` (the last one up
/// to the top of the activation range) and maps `q` to
/// `floor((offset_i + slope_i·q + 2^(shift−1)) / 2^shift)`, range-checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pwl {
    /// The function it approximates (`sigmoid`, `tanh`, …), for reports only.
    pub label: String,
    /// Fractional bits of slopes and offsets.
    pub shift: u32,
    /// The segments in increasing order; the first starts at the bottom of the range.
    pub segments: Vec<Segment>,
}

/// One segment of a [`Pwl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    /// Smallest input of the segment.
    pub from: i64,
    /// Slope at scale `2^shift`.
    pub slope: i64,
    /// Offset at scale `2^shift` (activation units).
    pub offset: i64,
}

impl Pwl {
    /// Checks what the gadget assumes: 1 to [`PWL_MAX_SEGMENTS`] segments, the first starting at
    /// the bottom of the range and the others strictly increasing inside it, a shift in
    /// `1..=40`, slopes below `2^40` and offsets below `2^62` in magnitude (so that no sum wraps).
    pub fn validate(&self, fp: &FixedPoint) -> Result<(), String> {
        let n = self.segments.len();
        if !(1..=PWL_MAX_SEGMENTS).contains(&n) {
            return Err(format!(
                "{}: {n} segments, expected 1..={PWL_MAX_SEGMENTS}",
                self.label
            ));
        }
        if !(1..=40).contains(&self.shift) {
            return Err(format!(
                "{}: shift {} outside 1..=40",
                self.label, self.shift
            ));
        }
        if self.segments[0].from != fp.min() {
            return Err(format!(
                "{}: the first segment starts at {}, not at the bottom of the range {}",
                self.label,
                self.segments[0].from,
                fp.min()
            ));
        }
        for w in self.segments.windows(2) {
            if w[1].from <= w[0].from || w[1].from > fp.max() {
                return Err(format!(
                    "{}: segment start {} does not follow {} inside the range",
                    self.label, w[1].from, w[0].from
                ));
            }
        }
        for s in &self.segments {
            if s.slope.unsigned_abs() >= 1 << 40 || s.offset.unsigned_abs() >= 1 << 62 {
                return Err(format!(
                    "{}: segment at {} has slope {} or offset {} too large",
                    self.label, s.from, s.slope, s.offset
                ));
            }
        }
        Ok(())
    }

    /// The index of the segment holding `q` (the last whose start is `≤ q`; `0` below the range).
    pub fn segment(&self, q: i64) -> usize {
        self.segments
            .partition_point(|s| s.from <= q)
            .saturating_sub(1)
    }

    /// The last input of segment `i`.
    pub fn last(&self, i: usize, fp: &FixedPoint) -> i64 {
        self.segments.get(i + 1).map_or(fp.max(), |s| s.from - 1)
    }

    /// `offset + slope·q` of the segment holding `q`, before the shift.
    pub fn line(&self, q: i64) -> i128 {
        let s = &self.segments[self.segment(q)];
        s.offset as i128 + s.slope as i128 * q as i128
    }
}

impl Act {
    /// Checks the activation's parameters (what its gadget's decompositions assume): `Clip`
    /// needs `hi ≥ 0`, `Leaky` a shift `1 ≤ m ≤ 62`, `Poly` a coefficient below `2^40` and
    /// `fa > 0`, `Pwl` what [`Pwl::validate`] says.
    pub fn validate(&self, fp: &FixedPoint) -> Result<(), String> {
        match self {
            &Act::Clip { hi } if hi < 0 => Err(format!("clip: negative upper bound {hi}")),
            &Act::Leaky { m, .. } if !(1..=62).contains(&m) => {
                Err(format!("leaky relu: shift {m} outside 1..=62"))
            }
            Act::Leaky { k, .. } if k.unsigned_abs() >= 1 << 62 => {
                Err(format!("leaky relu: slope numerator {k} too large"))
            }
            &Act::Poly { c } if c.unsigned_abs() >= 1 << 40 => {
                Err(format!("poly: coefficient {c} too large"))
            }
            Act::Poly { .. } if fp.fa == 0 => Err("poly: fa must be positive".into()),
            Act::Pwl(p) => p.validate(fp),
            Act::Cell { gate, act } => {
                for a in [gate, act] {
                    if let Act::Cell { .. } = **a {
                        return Err("a recurrent cell's activation is itself a cell's".into());
                    }
                    a.validate(fp)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Short name.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Linear => "linear",
            Act::Relu => "relu",
            Act::Clip { .. } => "clip",
            Act::Leaky { .. } => "leaky_relu",
            Act::Poly { .. } => "poly",
            Act::Pwl(_) => "pwl",
            Act::Cell { .. } => "cell",
        }
    }
}
