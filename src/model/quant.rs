//! Quantization: a float step [`Program`] becomes an exact integer [`QuantizedModel`]
//! (docs/DESIGN.md §3), and the integer reference inference that produces every witness value.
//!
//! Binary fixed point with one activation scale `2^fa`, one weight scale `2^fw` and one
//! activation range of `bits` bits per model; every linear step requantizes back to `2^fa`.
//! [`calibrate`] picks the three numbers from calibration inputs.

use super::graph::Activation;
use super::keras::MAX_ELEMS;
use super::lower::{FloatStep, Program};
use crate::{Error, Result};
use kerafold_step_circuits::native::{self, NativeError, Weights};
use kerafold_step_circuits::saved::SavedStack;
use kerafold_step_circuits::spec::{compose_views, Act, FixedPoint, Merge, NormSpec, Op, ViewOp};
use kerafold_step_circuits::wellformed;
use serde::{Deserialize, Serialize};

/// One integer step: what one fold proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QStep {
    /// Keras layers covered, joined with `+` (`conv1+bn1+relu1`), or `argmax`.
    pub name: String,
    /// Relabellings applied to the input before the op.
    pub views: Vec<ViewOp>,
    /// The integer operation.
    pub op: Op,
    /// Activation applied to the op's result.
    pub act: Act,
    /// Save this step's input as the residual tensor for a later merge.
    pub save_input: bool,
    /// How many saved tensors, merged before this one, stay above it when it is saved
    /// (crossed skips; 0: on top).
    #[serde(default, skip_serializing_if = "kerafold_step_circuits::saved::on_top")]
    pub save_depth: usize,
    /// Kernel at scale `2^fw` and bias at scale `2^(fa+fw)`, in the op's layout.
    pub weights: Weights,
    /// Output shape as Keras sees it.
    pub output_shape: Vec<usize>,
}

impl QStep {
    /// Where the step saves its input: `Some(depth)` under the top, `None` if it does not.
    pub fn save(&self) -> Option<usize> {
        self.save_input.then_some(self.save_depth)
    }

    /// Number of values this step reads (before its views).
    pub fn raw_input_len(&self) -> usize {
        match self.views.first() {
            Some(v) => v.input_len(),
            None => self.op.input_len(),
        }
    }
}

/// An exact integer model: the statement the proof is about.
///
/// Deserializing one (from a model opening, a ciphertext file's skeleton, a proof file) checks
/// it with [`QuantizedModel::validate`], so that a model read from a file is as consistent as
/// one [`quantize`] made: the code that proves, commits to or runs it may index by its shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedModel")]
pub struct QuantizedModel {
    /// The Keras model's name.
    pub name: String,
    /// Fixed-point parameters.
    pub fp: FixedPoint,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// Shape of the logits.
    pub output_shape: Vec<usize>,
    /// The Keras model ends in a Softmax (applied to the logits outside the proof).
    pub softmax: bool,
    /// That final Softmax is a log_softmax (its logarithm taken too, outside the proof).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_softmax: bool,
    /// The Keras model ends in a sigmoid on one unit (applied to the logit outside the proof;
    /// the class is `[logit > 0]`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sigmoid: bool,
    /// The compute steps, ending with an `ArgMax` step over the logits.
    pub steps: Vec<QStep>,
}

/// The fields of a [`QuantizedModel`] as read, before [`QuantizedModel::validate`].
#[derive(Deserialize)]
struct UncheckedModel {
    name: String,
    fp: FixedPoint,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
    softmax: bool,
    #[serde(default)]
    log_softmax: bool,
    #[serde(default)]
    sigmoid: bool,
    steps: Vec<QStep>,
}

impl TryFrom<UncheckedModel> for QuantizedModel {
    type Error = String;
    fn try_from(u: UncheckedModel) -> Result<Self, String> {
        let m = QuantizedModel {
            name: u.name,
            fp: u.fp,
            input_shape: u.input_shape,
            output_shape: u.output_shape,
            softmax: u.softmax,
            log_softmax: u.log_softmax,
            sigmoid: u.sigmoid,
            steps: u.steps,
        };
        m.validate()
            .map_err(|e| format!("inconsistent quantized model: {e}"))?;
        Ok(m)
    }
}

/// `a·b·...` if it stays within [`MAX_ELEMS`].
fn bounded_product(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMS)
}

fn round_i64(v: f64, what: &str, layer: &str) -> Result<i64> {
    if !v.is_finite() {
        return Err(Error::Overflow {
            layer: layer.into(),
            sample: None,
            msg: format!("{what} is not finite ({v})"),
        });
    }
    let r = v.round();
    if r.abs() >= (1u64 << 52) as f64 {
        return Err(Error::Overflow {
            layer: layer.into(),
            sample: None,
            msg: format!("{what} {v} is too large for the fixed-point scale"),
        });
    }
    Ok(r as i64)
}

/// The integer form of an activation at scale `2^fa`.
pub(crate) fn quantize_act(act: &Activation, fp: &FixedPoint, layer: &str) -> Result<Act> {
    Ok(match act {
        Activation::Linear => Act::Linear,
        Activation::Relu => Act::Relu,
        Activation::ReluMax(hi) => Act::Clip {
            hi: round_i64(*hi as f64 * (1u64 << fp.fa) as f64, "ReLU max_value", layer)?,
        },
        Activation::LeakyRelu(alpha) => {
            let alpha = *alpha as f64;
            if !(0.0..1.0).contains(&alpha) {
                return Err(Error::Unsupported {
                    layer: layer.into(),
                    class: "LeakyReLU".into(),
                    msg: format!("negative slope {alpha} must be in [0, 1)"),
                });
            }
            // slope k / 2^m with m = 16 (exact for slopes with ≤ 16 fractional bits)
            let m = 16u32;
            let mut k = round_i64(alpha * (1u64 << m) as f64, "LeakyReLU slope", layer)?;
            let mut m = m;
            while k > 0 && k % 2 == 0 && m > 1 {
                k /= 2;
                m -= 1;
            }
            if k == 0 {
                Act::Relu
            } else {
                Act::Leaky { k, m }
            }
        }
        Activation::Poly(c) => Act::Poly {
            c: round_i64(
                *c as f64 * (1u64 << fp.fa) as f64,
                "polynomial coefficient",
                layer,
            )?,
        },
        Activation::Smooth(f) => super::pwl::fit(*f, fp),
        Activation::Softmax | Activation::LogSoftmax => unreachable!("lowering removes softmax"),
    })
}

/// A linear map's kernel at scale `2^fw` and its bias at `2^(fa+fw)`, rounded to the nearest.
pub(crate) fn quantize_weights(
    w: impl IntoIterator<Item = f64>,
    b: impl IntoIterator<Item = f64>,
    fp: &FixedPoint,
    layer: &str,
) -> Result<Weights> {
    let (sw, sb) = ((1u64 << fp.fw) as f64, (1u128 << (fp.fa + fp.fw)) as f64);
    Ok(Weights {
        w: w.into_iter()
            .map(|v| round_i64(v * sw, "weight", layer))
            .collect::<Result<_>>()?,
        b: b.into_iter()
            .map(|v| round_i64(v * sb, "bias", layer))
            .collect::<Result<_>>()?,
    })
}

/// Quantizes a lowered program with the given fixed-point parameters. `fp.guard` is a minimum:
/// the lanes get at least the guard the weights need ([`required_guard`]).
pub fn quantize(program: &Program, fp: FixedPoint) -> Result<QuantizedModel> {
    fp.validate(kerafold_step_circuits::field::PACK_CAPACITY)
        .map_err(|e| Error::Usage(format!("fixed-point parameters: {e}")))?;
    let steps = program
        .steps
        .iter()
        .map(|s| quantize_step(s, &fp))
        .collect::<Result<Vec<_>>>()?;
    let mut steps = steps;
    // the guard the weights need; a larger one given by the caller (an architecture fixed in
    // advance, e.g. by a bounty) is kept
    let fp = FixedPoint {
        guard: required_guard(&steps, &fp).max(fp.guard),
        ..fp
    };
    fp.validate(kerafold_step_circuits::field::PACK_CAPACITY)
        .map_err(|e| Error::Overflow {
            layer: "model".into(),
            sample: None,
            msg: format!("weights too large for packed lanes: {e}"),
        })?;
    let n_out: usize = program.output_shape.iter().product();
    steps.push(QStep {
        name: "argmax".into(),
        views: vec![],
        op: Op::ArgMax { n: n_out },
        act: Act::Linear,
        save_input: false,
        save_depth: 0,
        weights: Weights::default(),
        output_shape: program.output_shape.clone(),
    });
    Ok(QuantizedModel {
        name: program.name.clone(),
        fp,
        input_shape: program.input_shape.clone(),
        output_shape: program.output_shape.clone(),
        softmax: program.softmax,
        log_softmax: program.log_softmax,
        sigmoid: program.sigmoid,
        steps,
    })
}

/// One float step in integers: its activation (a recurrent step's two, as [`Act::Cell`]) and its
/// weights at `fp`'s scales (the guard is the model's, [`required_guard`]).
pub(crate) fn quantize_step(s: &FloatStep, fp: &FixedPoint) -> Result<QStep> {
    let name = s.name();
    let act = match &s.gate {
        Some(gate) => Act::Cell {
            gate: Box::new(quantize_act(gate, fp, &name)?),
            act: Box::new(quantize_act(&s.act, fp, &name)?),
        },
        None => quantize_act(&s.act, fp, &name)?,
    };
    Ok(QStep {
        views: s.views.clone(),
        op: s.op,
        act,
        save_input: s.save_input,
        save_depth: s.save_depth,
        weights: quantize_weights(s.w.iter().copied(), s.b.iter().copied(), fp, &name)?,
        output_shape: s.output_shape.clone(),
        name,
    })
}

/// The guard bits the packed lanes need (see [`FixedPoint::guard`]): a lane holds
/// `acc + 2^(fw−1) + 2^(fw+B−1)` with `|acc| ≤ Σ|w|·2^(B−1) + |b|` for any in-range input, and must
/// stay below `2^(lane_bits−1)` in magnitude. At least one bit.
pub fn required_guard(steps: &[QStep], fp: &FixedPoint) -> u32 {
    let off = (1u128 << (fp.fw - 1)) + (1u128 << (fp.fw + fp.bits - 1));
    let bound = steps
        .iter()
        .flat_map(|s| wellformed::output_bounds(&s.op, &s.weights, fp))
        .fold(off, u128::max);
    // |v| ≤ bound < 2^(lane_bits − 1)  ⇐  lane_bits = bitlen(bound) + 1
    let lane = (128 - bound.leading_zeros()) + 1;
    lane.saturating_sub(fp.fw + fp.bits).max(1)
}

/// What one integer step saw and produced: the witness of one fold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTrace {
    /// The step's input as committed (before views): the previous step's output.
    pub input: Vec<i64>,
    /// The last saved tensor before this step (if any): what a merge reads.
    pub skip: Option<Vec<i64>>,
    /// The op's result before the activation.
    pub q: Vec<i64>,
    /// The step's output.
    pub y: Vec<i64>,
}

/// The full integer inference of one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The quantized input (fixed point at scale `2^fa`).
    pub input: Vec<i64>,
    /// One trace per step, in order.
    pub steps: Vec<StepTrace>,
    /// The logits (the output of the last step before ArgMax).
    pub logits: Vec<i64>,
    /// First index of the largest logit.
    pub class: usize,
}

impl QuantizedModel {
    /// Number of input values.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Checks what [`quantize`] guarantees and the rest of kerafold relies on: usable fixed-point
    /// parameters; shapes that are non-empty and at most 2^24 values; each step's views and op
    /// reading what the previous step produced (a merge a tensor of its length saved before);
    /// weights of the lengths the op takes (or none, as in a ciphertext file's skeleton) that fit
    /// the packed lanes; valid activation parameters. `Err` says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.fp
            .validate(kerafold_step_circuits::field::PACK_CAPACITY)
            .map_err(|e| format!("fixed point: {e}"))?;
        for (shape, what) in [(&self.input_shape, "input"), (&self.output_shape, "output")] {
            if shape.is_empty() || shape.len() > 3 || shape.contains(&0) {
                return Err(format!("{what} shape {shape:?}"));
            }
            bounded_product(shape).ok_or_else(|| format!("{what} shape {shape:?} is too large"))?;
        }
        if self.steps.is_empty() {
            return Err("no steps".into());
        }
        if self.log_softmax && !self.softmax {
            return Err("a log_softmax head without its softmax".into());
        }
        let mut cur = self.input_len();
        // lengths of the saved tensors
        let mut saved: SavedStack<usize> = SavedStack::new();
        // Weights on every linear step (a model) or on none (a skeleton).
        let mut weighted: Option<bool> = None;
        for (i, s) in self.steps.iter().enumerate() {
            let err = |m: String| format!("step {i} '{}': {m}", s.name);
            let mut len = cur;
            for v in &s.views {
                v.validate().map_err(err)?;
                if v.input_len() != len {
                    return Err(err(format!(
                        "a view of {} values reads {len}",
                        v.input_len()
                    )));
                }
                len = v.output_shape().len();
            }
            s.op.validate().map_err(err)?;
            let in_len = s.op.input_len();
            if in_len != len || in_len == 0 {
                return Err(err(format!(
                    "the op reads {in_len} values, its input has {len}"
                )));
            }
            if let Some(n) = s.op.saved_len() {
                if saved.top() != Some(&n) {
                    return Err(err(format!(
                        "merges a saved tensor of {n} values, the last saved one has {:?}",
                        saved.top()
                    )));
                }
            }
            let w = &s.weights;
            let has = !(w.w.is_empty() && w.b.is_empty());
            if has && (w.w.len(), w.b.len()) != s.op.weight_lens() {
                return Err(err(format!(
                    "{} weights and {} biases, the op takes {:?}",
                    w.w.len(),
                    w.b.len(),
                    s.op.weight_lens()
                )));
            }
            if s.op.has_weights() && *weighted.get_or_insert(has) != has {
                return Err(err(
                    "weights on some weighted steps but not on others".into()
                ));
            }
            s.act.validate(&self.fp).map_err(err)?;
            saved
                .check_step(&s.op, s.save_input, s.save_depth)
                .map_err(err)?;
            saved.step(&s.op, s.save_input, s.save_depth, || cur);
            cur = s.op.output_len();
        }
        if !saved.is_empty() {
            return Err(format!("{} saved tensor(s) never merged", saved.len()));
        }
        if bounded_product(&self.output_shape) != Some(cur) {
            return Err(format!(
                "output shape {:?}, the last step gives {cur} values",
                self.output_shape
            ));
        }
        if weighted == Some(true) && required_guard(&self.steps, &self.fp) > self.fp.guard {
            return Err("weights too large for the packed lanes' guard bits".into());
        }
        Ok(())
    }

    /// Quantizes a float input to `round(x·2^fa)`, range-checked.
    pub fn quantize_input(&self, x: &[f32], sample: Option<usize>) -> Result<Vec<i64>> {
        if x.len() != self.input_len() {
            return Err(Error::Shape {
                context: "input".into(),
                msg: format!(
                    "{} values, the model takes {:?} = {}",
                    x.len(),
                    self.input_shape,
                    self.input_len()
                ),
            });
        }
        let s = (1u64 << self.fp.fa) as f64;
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                let q = (v as f64 * s).round();
                if !q.is_finite() || q < self.fp.min() as f64 || q > self.fp.max() as f64 {
                    Err(Error::Overflow {
                        layer: "input".into(),
                        sample,
                        msg: format!(
                            "value {i} = {v} is outside the {}-bit fixed-point range at scale 2^{} (±{})",
                            self.fp.bits,
                            self.fp.fa,
                            self.fp.max() as f64 / s
                        ),
                    })
                } else {
                    Ok(q as i64)
                }
            })
            .collect()
    }

    /// Real value of an activation integer.
    pub fn dequantize(&self, v: i64) -> f64 {
        v as f64 / (1u64 << self.fp.fa) as f64
    }

    /// The Keras model's output from the integer logits: dequantized, through the final
    /// Softmax or log_softmax (over the last axis) or sigmoid the proof leaves outside.
    pub fn output(&self, logits: &[i64]) -> Vec<f64> {
        let real: Vec<f64> = logits.iter().map(|&v| self.dequantize(v)).collect();
        let last_dim = self.output_shape.last().copied().unwrap_or(1);
        if self.log_softmax {
            super::float::log_softmax(&real, last_dim)
        } else if self.softmax {
            super::float::softmax(&real, last_dim)
        } else if self.sigmoid {
            let sigmoid = super::graph::Smooth::Sigmoid;
            real.iter().map(|&z| sigmoid.eval(z)).collect()
        } else {
            real
        }
    }

    /// Runs the integer model on a quantized input, keeping every step's witness.
    pub fn trace(&self, input: &[i64], sample: Option<usize>) -> Result<Trace> {
        if input.len() != self.input_len() {
            return Err(Error::Shape {
                context: "input".into(),
                msg: format!("{} values, expected {}", input.len(), self.input_len()),
            });
        }
        let mut cur = input.to_vec();
        let mut saved: SavedStack<Vec<i64>> = SavedStack::new();
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut class = 0;
        for (i, s) in self.steps.iter().enumerate() {
            let err = |e| {
                native_error(
                    e,
                    &format!("step {i} '{}'", s.name),
                    &s.name,
                    sample,
                    &self.fp,
                )
            };
            let x = apply_views(&s.views, &cur);
            let skip_before = saved.top().cloned();
            let out = native::apply(
                &s.op,
                &s.act,
                &x,
                saved.top().map(|v| &v[..]),
                &s.weights,
                &self.fp,
            )
            .map_err(err)?;
            if let Op::ArgMax { .. } = s.op {
                class = native::argmax(&x);
            }
            saved.step(&s.op, s.save_input, s.save_depth, || cur.clone());
            steps.push(StepTrace {
                input: cur,
                skip: skip_before,
                q: out.q,
                y: out.y.clone(),
            });
            cur = out.y;
        }
        Ok(Trace {
            input: input.to_vec(),
            logits: cur,
            steps,
            class,
        })
    }
}

/// The crate's error for an integer twin's error in layer `layer` (`context` says where, e.g.
/// `step 3 'dense1'`), on sample `sample` if known.
pub(crate) fn native_error(
    e: NativeError,
    context: &str,
    layer: &str,
    sample: Option<usize>,
    fp: &FixedPoint,
) -> Error {
    let value = |v: f64| v / (1u64 << fp.fa) as f64;
    match e {
        NativeError::OutOfRange { index, value: v, .. } => Error::Overflow {
            layer: layer.into(),
            sample,
            msg: format!(
                "output {index} = {} leaves the {}-bit range (±{}); use more activation bits (bits) or fewer fractional bits (fa)",
                value(v as f64),
                fp.bits,
                value(fp.max() as f64)
            ),
        },
        NativeError::InvalidParam(msg) => Error::Usage(format!("step '{layer}': {msg}")),
        NativeError::NotAToken {
            index,
            value: v,
            vocab,
            ..
        } => Error::Shape {
            context: format!(
                "layer '{layer}'{}",
                sample.map(|k| format!(", sample {k}")).unwrap_or_default()
            ),
            msg: format!(
                "token {index} = {} is not an integer id in 0..{vocab} (an Embedding reads token ids)",
                value(v as f64)
            ),
        },
        NativeError::Shape(msg) => Error::Shape {
            context: context.into(),
            msg,
        },
    }
}

/// Applies a chain of views to a tensor (zeros for padding).
pub(crate) fn apply_views(views: &[ViewOp], x: &[i64]) -> Vec<i64> {
    if views.is_empty() {
        return x.to_vec();
    }
    compose_views(views, x.len())
        .into_iter()
        .map(|s| s.map_or(0, |i| x[i]))
        .collect()
}

/// Float execution of a program, step by step (the real-valued counterpart of
/// [`QuantizedModel::trace`]): per step, the op's result before and after the activation (for a
/// recurrent step, every value its cell holds before an activation, and its outputs).
pub fn run_float(program: &Program, input: &[f64]) -> Result<Vec<(Vec<f64>, Vec<f64>)>> {
    let mut cur = input.to_vec();
    let mut saved: SavedStack<Vec<f64>> = SavedStack::new();
    let mut out = Vec::with_capacity(program.steps.len());
    for s in &program.steps {
        let x: Vec<f64> = if s.views.is_empty() {
            cur.clone()
        } else {
            compose_views(&s.views, cur.len())
                .into_iter()
                .map(|i| i.map_or(0.0, |i| cur[i]))
                .collect()
        };
        let (q, y) = match (&s.op, &s.gate) {
            // a recurrent step's activations apply inside its cell: what it holds before them
            // is every gate sum, merge and product of its timesteps
            (Op::Recurrent(r), Some(gate)) => {
                let run = super::recurrent::run_float(
                    r,
                    &|v| float_act(gate, v),
                    &|v| float_act(&s.act, v),
                    &x,
                    &s.w,
                    &s.b,
                );
                (run.held, run.out)
            }
            _ => {
                let q = float_op(s, &x, saved.top().map(|v| &v[..]))?;
                let y = q.iter().map(|&v| float_act(&s.act, v)).collect::<Vec<_>>();
                (q, y)
            }
        };
        saved.step(&s.op, s.save_input, s.save_depth, || cur.clone());
        cur = y.clone();
        out.push((q, y));
    }
    Ok(out)
}

fn float_act(act: &Activation, v: f64) -> f64 {
    match act {
        Activation::Linear | Activation::Softmax | Activation::LogSoftmax => v,
        Activation::Relu => v.max(0.0),
        Activation::ReluMax(hi) => v.max(0.0).min(*hi as f64),
        Activation::LeakyRelu(a) => {
            if v >= 0.0 {
                v
            } else {
                *a as f64 * v
            }
        }
        Activation::Poly(c) => v * v + *c as f64 * v,
        Activation::Smooth(f) => f.eval(v),
    }
}

fn float_op(s: &FloatStep, x: &[f64], skip: Option<&[f64]>) -> Result<Vec<f64>> {
    let (w, b) = (&s.w, &s.b);
    Ok(match &s.op {
        Op::Recurrent(_) => {
            return Err(Error::Shape {
                context: s.name(),
                msg: "a recurrent step without its gate activation".into(),
            })
        }
        Op::Dense(d) => (0..d.n_out)
            .map(|o| b[o] + (0..d.n_in).map(|i| x[i] * w[i * d.n_out + o]).sum::<f64>())
            .collect(),
        Op::Conv(c) => {
            let win = &c.window;
            let (cin, cout) = (win.input.c, c.c_out);
            let mut acc = Vec::with_capacity(win.out_h * win.out_w * cout);
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    for co in 0..cout {
                        let mut a = b[co];
                        for ky in 0..win.kh {
                            for kx in 0..win.kw {
                                if let Some((iy, ix)) = win.tap(oy, ox, ky, kx) {
                                    for ci in 0..cin {
                                        a += x[win.input.index(iy, ix, ci)]
                                            * w[((ky * win.kw + kx) * cin + ci) * cout + co];
                                    }
                                }
                            }
                        }
                        acc.push(a);
                    }
                }
            }
            acc
        }
        Op::Depthwise(d) => {
            let win = &d.window;
            let (c, mult) = (win.input.c, d.mult);
            let mut acc = Vec::new();
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    for ch in 0..c {
                        for m in 0..mult {
                            let mut a = b[ch * mult + m];
                            for ky in 0..win.kh {
                                for kx in 0..win.kw {
                                    if let Some((iy, ix)) = win.tap(oy, ox, ky, kx) {
                                        a += x[win.input.index(iy, ix, ch)]
                                            * w[((ky * win.kw + kx) * c + ch) * mult + m];
                                    }
                                }
                            }
                            acc.push(a);
                        }
                    }
                }
            }
            acc
        }
        Op::Affine(a) => x
            .iter()
            .enumerate()
            .map(|(j, &v)| w[j % a.channels] * v + b[j % a.channels])
            .collect(),
        Op::MaxPool(p) | Op::AvgPool(p) => {
            let is_max = matches!(s.op, Op::MaxPool(_));
            let win = &p.window;
            let mut out = Vec::new();
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    let taps: Vec<_> = native::pool_taps(p, oy, ox).collect();
                    for ch in 0..win.input.c {
                        let vals = taps.iter().map(|&(iy, ix)| x[win.input.index(iy, ix, ch)]);
                        out.push(if is_max {
                            vals.fold(f64::NEG_INFINITY, f64::max)
                        } else {
                            vals.sum::<f64>() / taps.len() as f64
                        });
                    }
                }
            }
            out
        }
        Op::Merge {
            merge, saved_first, ..
        } => {
            let sk = skip.ok_or_else(|| Error::Shape {
                context: s.name(),
                msg: "a merge without a saved tensor".into(),
            })?;
            x.iter()
                .zip(sk)
                .map(|(&x, &s)| {
                    let (a, b) = if *saved_first { (s, x) } else { (x, s) };
                    match merge {
                        Merge::Add => a + b,
                        Merge::Subtract => a - b,
                        Merge::Multiply => a * b,
                        Merge::Average => (a + b) / 2.0,
                        Merge::Maximum => a.max(b),
                        Merge::Minimum => a.min(b),
                    }
                })
                .collect()
        }
        Op::Concat(c) => {
            let sk = skip.ok_or_else(|| Error::Shape {
                context: s.name(),
                msg: "a concatenation without a saved tensor".into(),
            })?;
            c.gather(x, sk)
        }
        Op::OneHot { vocab, .. } => {
            let mut out = vec![0.0; x.len() * vocab];
            for (j, &v) in x.iter().enumerate() {
                let id = super::float::token_id(j, v, *vocab).map_err(|msg| Error::Shape {
                    context: format!("layer '{}'", s.name()),
                    msg: format!("{msg} (an Embedding reads token ids)"),
                })?;
                out[j * vocab + id] = 1.0;
            }
            out
        }
        Op::LayerNorm(l) => crate::model::float::layer_norm(
            x,
            l.n,
            l.eps as f64 / 2f64.powi(NormSpec::EPS_BITS as i32),
            l.kind,
        ),
        Op::Swap { .. } => skip
            .ok_or_else(|| Error::Shape {
                context: s.name(),
                msg: "a swap without a saved tensor".into(),
            })?
            .to_vec(),
        Op::Identity { .. } | Op::ArgMax { .. } => x.to_vec(),
    })
}

/// How calibration chose the fixed-point parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    /// The chosen fixed-point parameters.
    pub fp: FixedPoint,
    /// Largest magnitude of any real activation on the calibration inputs.
    pub max_activation: f64,
    /// Top-1 agreement of the integer model with the float program on the calibration inputs.
    pub top1_agreement: f64,
    /// Largest absolute logit error, relative to the largest float logit magnitude.
    pub relative_error: f64,
    /// Number of calibration inputs.
    pub samples: usize,
}

/// Largest real activation (before and after every activation) over `inputs`.
pub(crate) fn max_activation(program: &Program, inputs: &[Vec<f32>]) -> Result<f64> {
    // every id of an Embedding's vocabulary must fit, not only those the inputs happen to hold
    let mut m = program
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::OneHot { vocab, .. } => Some(vocab.saturating_sub(1) as f64),
            _ => None,
        })
        .fold(0f64, f64::max);
    for x in inputs {
        let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        m = xf.iter().fold(m, |a, v| a.max(v.abs()));
        for (q, y) in run_float(program, &xf)? {
            m = q.iter().chain(&y).fold(m, |a, v| a.max(v.abs()));
        }
    }
    Ok(m)
}

/// Fidelity of an integer model against the float program on `inputs`:
/// `(top-1 agreement, max |Δlogit| / max |float logit|)`.
pub fn fidelity(
    program: &Program,
    model: &QuantizedModel,
    inputs: &[Vec<f32>],
) -> Result<(f64, f64)> {
    let mut agree = 0usize;
    let (mut err, mut mag) = (0f64, 0f64);
    for (i, x) in inputs.iter().enumerate() {
        let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let fl = run_float(program, &xf)?
            .last()
            .map(|(_, y)| y.clone())
            .unwrap_or(xf);
        let t = model.trace(&model.quantize_input(x, Some(i))?, Some(i))?;
        let il: Vec<f64> = t.logits.iter().map(|&v| model.dequantize(v)).collect();
        if argmax_f(&fl) == t.class {
            agree += 1;
        }
        for (a, b) in fl.iter().zip(&il) {
            err = err.max((a - b).abs());
            mag = mag.max(a.abs());
        }
    }
    let n = inputs.len().max(1) as f64;
    Ok((agree as f64 / n, if mag > 0.0 { err / mag } else { err }))
}

/// First index of the largest value; of one logit, `[x > 0]` (as `native::argmax`).
pub fn argmax_f(v: &[f64]) -> usize {
    if let [logit] = v {
        return (*logit > 0.0) as usize;
    }
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Relative logit error calibration aims for.
pub const TARGET_RELATIVE_ERROR: f64 = 0.005;

/// What proving a model costs at its fixed point, in constraints: every step's gadget (counted by
/// synthesizing its shape) and the range checks of its opened input. The fixed point drives
/// most of it: requantization and range checks pay about `fw + bits` per value, and the weight
/// lanes' width sets how many weights share a packed element.
pub fn constraint_cost(model: &QuantizedModel) -> Result<usize> {
    model.steps.iter().try_fold(0usize, |acc, s| {
        let gadget = kerafold_step_circuits::count_constraints(&s.op, &s.act, &s.views, &model.fp)
            .map_err(|e| Error::synthesis(format!("counting step '{}'", s.name), e))?;
        Ok(acc + gadget + model.fp.bits as usize * s.raw_input_len())
    })
}

/// Chooses `fa`, `fw` and `bits` from calibration inputs: among the parameters whose integer model
/// agrees with the float program on every calibration input's top-1 class and stays within 0.5%
/// relative logit error, the one that costs the fewest constraints ([`constraint_cost`]); failing
/// that, the most faithful candidate. `bits` leaves a 25% margin over the largest activation seen.
pub fn calibrate(program: &Program, inputs: &[Vec<f32>]) -> Result<(QuantizedModel, Calibration)> {
    if inputs.is_empty() {
        return Err(Error::Usage("calibration needs at least one input".into()));
    }
    let max_act = max_activation(program, inputs)?;
    let int_bits = (max_act * 1.25).max(1.0).log2().ceil() as u32;
    let mut best: Option<(QuantizedModel, Calibration, (f64, f64, usize))> = None;
    for fa in [6u32, 8, 10, 12, 14] {
        for fw in [6u32, 8, 10, 12, 14] {
            let bits = (fa + int_bits + 1).max(8);
            if bits > 40 {
                continue;
            }
            let fp = FixedPoint {
                fa,
                fw,
                bits,
                guard: 1,
            };
            let Ok(model) = quantize(program, fp) else {
                continue;
            };
            let Ok((agree, rel)) = fidelity(program, &model, inputs) else {
                continue;
            };
            let good = agree >= 1.0 && rel <= TARGET_RELATIVE_ERROR;
            // counting synthesizes every step: only the faithful candidates are ranked by it
            let cost = if good {
                let Ok(c) = constraint_cost(&model) else {
                    continue;
                };
                c
            } else {
                0
            };
            // rank: good first, then cheapest; otherwise best agreement then lowest error
            let key = if good {
                (0.0, cost as f64, cost)
            } else {
                (1.0 + (1.0 - agree), rel, cost)
            };
            let better = best
                .as_ref()
                .is_none_or(|(_, _, k)| (key.0, key.1, key.2) < (k.0, k.1, k.2));
            if better {
                // the model's own fixed point: quantize may raise the guard above 1
                let cal = Calibration {
                    fp: model.fp,
                    max_activation: max_act,
                    top1_agreement: agree,
                    relative_error: rel,
                    samples: inputs.len(),
                };
                best = Some((model, cal, key));
            }
        }
    }
    let (model, cal, _) = best.ok_or_else(|| Error::Overflow {
        layer: "model".into(),
        sample: None,
        msg: format!(
            "no fixed-point parameters fit the activation range (largest activation {max_act:.3e})"
        ),
    })?;
    Ok((model, cal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(name: &str) -> (Program, Vec<Vec<f32>>) {
        let (graph, inputs) = crate::model::test_fixture(name);
        (crate::model::lower(&graph).unwrap(), inputs)
    }

    /// Calibration sizes the range for every id of an Embedding's vocabulary, not only for the
    /// ids its inputs hold: calibrated on ids 0..=2 of 300 with small activations, the model
    /// still reads id 299.
    #[test]
    fn an_embedding_calibrates_for_its_whole_vocabulary() {
        use crate::model::graph::{Activation, Graph, LayerKind, Node, Src};
        let node = |name: &str, kind, inputs, output_shape| Node {
            name: name.into(),
            class_name: name.into(),
            kind,
            inputs,
            output_shape,
        };
        let graph = Graph {
            name: "tokens".into(),
            input_shape: vec![3],
            nodes: vec![
                node(
                    "Embedding",
                    LayerKind::Embedding {
                        vocab: 300,
                        dim: 2,
                        table: (0..600).map(|i| (i % 7) as f32 / 16.0 - 0.2).collect(),
                    },
                    vec![Src::Input],
                    vec![3, 2],
                ),
                node("Flatten", LayerKind::Flatten, vec![Src::Node(0)], vec![6]),
                node(
                    "Dense",
                    LayerKind::Dense {
                        units: 2,
                        kernel: vec![
                            0.25, -0.5, 0.125, 0.5, -0.25, 0.375, 0.5, 0.25, -0.125, 0.0, 0.25,
                            -0.5,
                        ],
                        bias: vec![0.0, 0.1],
                        activation: Activation::Linear,
                    },
                    vec![Src::Node(1)],
                    vec![2],
                ),
            ],
        };
        let program = crate::model::lower(&graph).unwrap();
        let low = vec![vec![0.0, 1.0, 2.0], vec![2.0, 2.0, 1.0]];
        let q = calibrate(&program, &low).unwrap().0;
        assert!(299i64 << q.fp.fa <= q.fp.max(), "{:?}", q.fp);
        let x = q.quantize_input(&[299.0, 0.0, 150.0], Some(0)).unwrap();
        q.trace(&x, Some(0)).unwrap();
    }

    /// A Softmax over the last axis of a 2-D output (per position, as Keras applies it) is
    /// applied per row to the integer model's logits, equal to the float graph's output.
    #[test]
    fn the_output_applies_a_final_softmax_or_log_softmax_per_row() {
        use crate::model::graph::Activation;
        for head in [Activation::Softmax, Activation::LogSoftmax] {
            let log = head == Activation::LogSoftmax;
            let got = rows_output(head.clone());
            for row in got.chunks(3) {
                let sum: f64 = row.iter().map(|&p| if log { p.exp() } else { p }).sum();
                assert!((sum - 1.0).abs() < 1e-9, "{head:?}: {got:?}");
            }
        }
    }

    /// A Dense on the last axis of a 2×3 input ending in `head`: the integer model's output
    /// (through [`QuantizedModel::output`]), checked against the float reference's.
    fn rows_output(head: crate::model::graph::Activation) -> Vec<f64> {
        use crate::model::graph::{Graph, LayerKind, Node, Src};
        let graph = Graph {
            name: "rows".into(),
            input_shape: vec![2, 3],
            nodes: vec![Node {
                name: "dense".into(),
                class_name: "Dense".into(),
                kind: LayerKind::Dense {
                    units: 3,
                    kernel: vec![0.5, -0.25, 0.125, 0.25, 0.75, -0.5, -0.125, 0.5, 1.0],
                    bias: vec![0.0, 0.25, -0.25],
                    activation: head,
                },
                inputs: vec![Src::Input],
                output_shape: vec![2, 3],
            }],
        };
        let program = crate::model::lower(&graph).unwrap();
        let x = [0.5f32, -1.0, 1.5, 2.0, 0.25, -0.75];
        let q = calibrate(&program, &[x.to_vec()]).unwrap().0;
        let t = q
            .trace(&q.quantize_input(&x, Some(0)).unwrap(), Some(0))
            .unwrap();
        let got = q.output(&t.logits);
        let want = crate::model::float::forward(&graph, &x).unwrap().output;
        assert_eq!(got.len(), 6);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 0.02, "{got:?} vs {want:?}");
        }
        got
    }

    /// Calibration reports the fixed point of the model it returns (guard included), and that
    /// model's integer trace picks the float program's class on the calibration inputs.
    #[test]
    fn calibration_returns_a_faithful_model_and_its_own_fixed_point() {
        let (program, inputs) = program("mlp");
        let (q, cal) = calibrate(&program, &inputs).unwrap();
        assert_eq!(cal.fp, q.fp);
        assert!(q.fp.guard >= required_guard(&q.steps, &q.fp));
        let (agree, _) = fidelity(&program, &q, &inputs).unwrap();
        assert_eq!(agree, cal.top1_agreement);
        assert!(agree >= 0.9, "top-1 agreement {agree}");
    }

    /// Calibration's cost is the constraints the fixed point makes every step pay: wider
    /// requantization and range checks cost more, and the chosen model is the cheapest
    /// faithful one among what calibration tries.
    #[test]
    fn cost_counts_the_constraints_the_fixed_point_drives() {
        let (program, inputs) = program("mlp");
        let at = |fw, bits| {
            let fp = FixedPoint {
                fa: 6,
                fw,
                bits,
                guard: 1,
            };
            constraint_cost(&quantize(&program, fp).unwrap()).unwrap()
        };
        assert!(at(8, 12) < at(8, 16) && at(8, 12) < at(12, 12));
        let (q, cal) = calibrate(&program, &inputs).unwrap();
        if cal.top1_agreement >= 1.0 && cal.relative_error <= TARGET_RELATIVE_ERROR {
            let cheaper = quantize(
                &program,
                FixedPoint {
                    fw: q.fp.fw - 2,
                    ..q.fp
                },
            )
            .unwrap();
            let (agree, rel) = fidelity(&program, &cheaper, &inputs).unwrap();
            assert!(
                constraint_cost(&cheaper).unwrap() < constraint_cost(&q).unwrap()
                    && (agree < 1.0 || rel > TARGET_RELATIVE_ERROR),
                "fw {} is cheaper and still faithful",
                q.fp.fw - 2
            );
        }
    }

    /// Weights are rounded to the nearest value at scale `2^fw`; biases at `2^(fa+fw)`.
    #[test]
    fn weights_round_to_the_nearest_fixed_point_value() {
        let (program, _) = program("mlp");
        let fp = FixedPoint {
            fa: 8,
            fw: 6,
            bits: 16,
            guard: 1,
        };
        let q = quantize(&program, fp).unwrap();
        let (fs, qs) = (&program.steps[0], &q.steps[0]);
        let Weights { w, b } = &qs.weights;
        assert_eq!((w.len(), b.len()), (fs.w.len(), fs.b.len()));
        for (x, &i) in fs.w.iter().zip(w) {
            assert_eq!(i, (x * 64.0).round() as i64, "weight {x}");
        }
        for (x, &i) in fs.b.iter().zip(b) {
            assert_eq!(i, (x * 16384.0).round() as i64, "bias {x}");
        }
    }

    /// Too few activation bits is an overflow naming the step and the sample, not a wrap.
    #[test]
    fn an_activation_out_of_range_names_its_step_and_sample() {
        let (program, inputs) = program("mlp");
        let fp = FixedPoint {
            fa: 12,
            fw: 8,
            bits: 13,
            guard: 1,
        };
        let q = quantize(&program, fp).unwrap();
        let err = inputs
            .iter()
            .enumerate()
            .find_map(|(i, x)| {
                let xq = q.quantize_input(x, Some(i)).ok()?;
                q.trace(&xq, Some(i)).err()
            })
            .expect("a 13-bit range at 2^-12 overflows somewhere");
        let msg = err.to_string();
        assert!(matches!(err, Error::Overflow { .. }), "{msg}");
        assert!(msg.contains("sample") && msg.contains("range"), "{msg}");
    }
}
