//! Deterministic synthetic models, built directly as [`QuantizedModel`]s.
//!
//! Layer `i` of a model draws its weights from a generator seeded by `(seed, kind, i)`, so the
//! model of depth `d` is a prefix of the model of depth `d + 1` (up to the final ArgMax step):
//! what changes between the rows of a benchmark is the number of layers, nothing else.
//!
//! Every activation stays in range at every depth by construction for `dense` and `conv`
//! (each output's weights have `Σ|w| ≤ 0.95·2^fw`, so a layer never expands the largest
//! activation by more than its small bias) and by a mean-reverting residual branch for
//! `cnn-block` (checked up to depth 64 by the tests).

use crate::model::{QStep, QuantizedModel};
use crate::{Error, Result};
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::spec::{
    Act, ConvSpec, DenseSpec, FixedPoint, Merge, Op, Padding, Shape3, Window,
};
use kerafold_step_circuits::Field;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Fixed point of every synthetic model: activations and weights at `2^-8`, 16-bit activations
/// (±128.0); the guard bits are set from the weights with [`crate::model::quant::required_guard`].
pub const BENCH_FP: FixedPoint = FixedPoint {
    fa: 8,
    fw: 8,
    bits: 16,
    guard: 1,
};

/// The default seed of `kerafold bench`.
pub const DEFAULT_SEED: u64 = 0x6b65_7261_666f_6c64; // "kerafold"

/// Logits of the classifier kind's head.
pub const CLASSES: usize = 10;

/// Which synthetic network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `depth` × Dense(width → width, ReLU) on a vector of `width` values.
    Dense,
    /// `depth` × Conv2D(3×3, same padding, `width` filters, ReLU) on `size × size × width`.
    Conv,
    /// `depth` residual blocks on `size × size × width`: Conv2D 3×3 + ReLU, Conv2D 3×3, Add with
    /// the block's input, ReLU (three folds per block).
    CnnBlock,
    /// `depth` × Dense(width → width, ReLU), then Dense(width → 10) and the ArgMax of ten
    /// logits: nothing but the Dense layers is as wide as the network, so in tiles
    /// (`--step-size`) no step is (the width benchmark, docs/DESIGN.md §7.1).
    Classifier,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Dense, Kind::Conv, Kind::CnnBlock, Kind::Classifier];

    /// The name on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Dense => "dense",
            Kind::Conv => "conv",
            Kind::CnnBlock => "cnn-block",
            Kind::Classifier => "classifier",
        }
    }

    /// Folds per unit of depth (a residual block is three steps).
    pub fn steps_per_depth(&self) -> usize {
        match self {
            Kind::CnnBlock => 3,
            _ => 1,
        }
    }

    /// `--width` when none is given: Dense units, or channels of the convolutional kinds.
    pub fn default_width(&self) -> usize {
        match self {
            Kind::Dense | Kind::Classifier => 16,
            _ => 4,
        }
    }

    fn tag(&self) -> u64 {
        match self {
            Kind::Dense => 1,
            Kind::Conv => 2,
            Kind::CnnBlock => 3,
            Kind::Classifier => 4,
        }
    }

    /// Dense units on a vector, not channels on an image.
    pub fn is_dense(&self) -> bool {
        matches!(self, Kind::Dense | Kind::Classifier)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind '{s}' (dense, conv, cnn-block, classifier)"))
    }
}

/// A small deterministic generator (SplitMix64): reproducible across platforms and releases,
/// which is all a benchmark needs (not for anything secret).
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for one purpose, derived from a seed and a few labels.
    pub fn derive(seed: u64, labels: &[u64]) -> Self {
        let mut g = Self::new(seed);
        for &l in labels {
            let x = g.next_u64() ^ l.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            g = Self::new(x);
            g.next_u64();
        }
        g
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// A uniform `bits`-bit value with its top bit set (`bits` in 1..=64), or 0 for 0 bits.
    pub fn bits(&mut self, bits: u32) -> u64 {
        match bits {
            0 => 0,
            64 => self.next_u64() | (1 << 63),
            b => (self.next_u64() & ((1u64 << b) - 1)) | (1 << (b - 1)),
        }
    }

    /// A field element spread over the whole field.
    pub fn field<F: Field>(&mut self) -> F {
        let a = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        let b = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        F::from_u128(a) * F::from_u128(b) + F::from_u128(a ^ b)
    }
}

/// One synthetic network: kind, size, depth and seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthSpec {
    /// Which network.
    pub kind: Kind,
    /// Dense units, or channels of the convolutional kinds.
    pub width: usize,
    /// Height and width of the convolutional kinds' input (ignored for `dense`).
    pub size: usize,
    /// Layers (`dense`, `conv`) or residual blocks (`cnn-block`).
    pub depth: usize,
    /// Seed of the weights and the input.
    pub seed: u64,
}

impl SynthSpec {
    /// A spec with the default seed.
    pub fn new(kind: Kind, width: usize, size: usize, depth: usize) -> Self {
        Self {
            kind,
            width,
            size,
            depth,
            seed: DEFAULT_SEED,
        }
    }

    /// The model's name: `bench-KIND-wWIDTH[-sSIZE]-dDEPTH`.
    pub fn name(&self) -> String {
        match self.kind {
            Kind::Dense | Kind::Classifier => {
                format!("bench-{}-w{}-d{}", self.kind, self.width, self.depth)
            }
            k => format!("bench-{k}-w{}-s{}-d{}", self.width, self.size, self.depth),
        }
    }

    /// Shape of the input (and of every activation).
    pub fn input_shape(&self) -> Vec<usize> {
        if self.kind.is_dense() {
            vec![self.width]
        } else {
            vec![self.size, self.size, self.width]
        }
    }

    /// Number of steps: compute steps (and a classifier's head) plus the final ArgMax.
    pub fn steps(&self) -> usize {
        self.depth * self.kind.steps_per_depth() + 1 + usize::from(self.kind == Kind::Classifier)
    }

    fn check(&self) -> Result<()> {
        if self.depth == 0 {
            return Err(Error::Usage("depth must be at least 1".into()));
        }
        if self.width == 0 || self.width > 4096 {
            return Err(Error::Usage(format!(
                "width {} outside 1..=4096",
                self.width
            )));
        }
        if !self.kind.is_dense() && !(1..=64).contains(&self.size) {
            return Err(Error::Usage(format!("size {} outside 1..=64", self.size)));
        }
        Ok(())
    }

    /// The integer model: the layers, then the ArgMax step as [`crate::model::quantize`] makes
    /// it, with `fp.guard` from [`crate::model::quant::required_guard`].
    pub fn model(&self) -> Result<QuantizedModel> {
        self.check()?;
        let shape = self.input_shape();
        let n: usize = shape.iter().product();
        let mut steps = Vec::with_capacity(self.steps());
        let mut out_shape = shape.clone();
        match self.kind {
            Kind::Dense | Kind::Classifier => {
                for i in 0..self.depth {
                    let mut g = self.rng(i as u64, 0);
                    let w = LinearInit {
                        gain: 0.95,
                        positive: 0.7,
                        bias: (0.25, 1.0),
                    };
                    steps.push(QStep {
                        name: format!("dense{i}+relu"),
                        views: vec![],
                        op: Op::Dense(DenseSpec { n_in: n, n_out: n }),
                        act: Act::Relu,
                        save_input: false,
                        save_depth: 0,
                        weights: w.weights(&mut g, n, n),
                        output_shape: shape.clone(),
                    });
                }
                if self.kind == Kind::Classifier {
                    let head = LinearInit {
                        gain: 0.95,
                        positive: 0.5,
                        bias: (-0.5, 1.0),
                    };
                    out_shape = vec![CLASSES];
                    steps.push(QStep {
                        name: "head".into(),
                        views: vec![],
                        op: Op::Dense(DenseSpec {
                            n_in: n,
                            n_out: CLASSES,
                        }),
                        act: Act::Linear,
                        save_input: false,
                        save_depth: 0,
                        weights: head.weights(&mut self.rng(self.depth as u64, 0), n, CLASSES),
                        output_shape: out_shape.clone(),
                    });
                }
            }
            Kind::Conv => {
                let op = self.conv_op()?;
                for i in 0..self.depth {
                    let mut g = self.rng(i as u64, 0);
                    let w = LinearInit {
                        gain: 0.95,
                        positive: 0.7,
                        bias: (0.25, 1.0),
                    };
                    steps.push(QStep {
                        name: format!("conv{i}+relu"),
                        views: vec![],
                        op,
                        act: Act::Relu,
                        save_input: false,
                        save_depth: 0,
                        weights: w.weights(&mut g, 9 * self.width, self.width),
                        output_shape: shape.clone(),
                    });
                }
            }
            Kind::CnnBlock => {
                let op = self.conv_op()?;
                let fan_in = 9 * self.width;
                for i in 0..self.depth {
                    // branch: h = relu(conv_a(x)) ≈ a local average of x; conv_b mostly negative,
                    // so x + conv_b(h) pulls large activations back (mean reversion)
                    let a = LinearInit {
                        gain: 0.9,
                        positive: 0.7,
                        bias: (0.25, 1.0),
                    };
                    let b = LinearInit {
                        gain: 0.5,
                        positive: 0.4,
                        bias: (-0.1, 0.2),
                    };
                    steps.push(QStep {
                        name: format!("block{i}_conv_a+relu"),
                        views: vec![],
                        op,
                        act: Act::Relu,
                        save_input: true,
                        save_depth: 0,
                        weights: a.weights(&mut self.rng(i as u64, 0), fan_in, self.width),
                        output_shape: shape.clone(),
                    });
                    steps.push(QStep {
                        name: format!("block{i}_conv_b"),
                        views: vec![],
                        op,
                        act: Act::Linear,
                        save_input: false,
                        save_depth: 0,
                        weights: b.weights(&mut self.rng(i as u64, 1), fan_in, self.width),
                        output_shape: shape.clone(),
                    });
                    steps.push(QStep {
                        name: format!("block{i}_add+relu"),
                        views: vec![],
                        op: Op::merge(Merge::Add, n),
                        act: Act::Relu,
                        save_input: false,
                        save_depth: 0,
                        weights: Weights::default(),
                        output_shape: shape.clone(),
                    });
                }
            }
        }
        let fp = FixedPoint {
            guard: crate::model::quant::required_guard(&steps, &BENCH_FP),
            ..BENCH_FP
        };
        fp.validate(kerafold_step_circuits::field::PACK_CAPACITY)
            .map_err(|e| Error::Usage(format!("synthetic fixed point: {e}")))?;
        steps.push(QStep {
            name: "argmax".into(),
            views: vec![],
            op: Op::ArgMax {
                n: out_shape.iter().product(),
            },
            act: Act::Linear,
            save_input: false,
            save_depth: 0,
            weights: Weights::default(),
            output_shape: out_shape.clone(),
        });
        Ok(QuantizedModel {
            name: self.name(),
            fp,
            input_shape: shape,
            output_shape: out_shape,
            softmax: false,
            log_softmax: false,
            sigmoid: false,
            steps,
        })
    }

    /// The quantized input: uniform in `[-1, 1)` at scale `2^fa` (the same for every depth).
    pub fn input(&self) -> Vec<i64> {
        let n: usize = self.input_shape().iter().product();
        let mut g = self.rng(u64::MAX, 0);
        let s = (1u64 << BENCH_FP.fa) as f64;
        (0..n)
            .map(|_| (g.range(-1.0, 1.0) * s).round() as i64)
            .collect()
    }

    fn rng(&self, layer: u64, part: u64) -> SplitMix64 {
        SplitMix64::derive(
            self.seed,
            &[self.kind.tag(), self.width as u64, layer, part],
        )
    }

    fn conv_op(&self) -> Result<Op> {
        let window = Window::keras(
            Shape3::new(self.size, self.size, self.width),
            (3, 3),
            (1, 1),
            (1, 1),
            Padding::Same,
        )
        .map_err(Error::Usage)?;
        Ok(Op::Conv(ConvSpec {
            window,
            c_out: self.width,
        }))
    }
}

/// How one linear layer's weights are drawn.
struct LinearInit {
    /// `Σ_i |w[i][o]| ≤ gain` for every output `o` (real values).
    gain: f64,
    /// Probability that a weight is positive.
    positive: f64,
    /// Bias range (real values).
    bias: (f64, f64),
}

impl LinearInit {
    /// Weights laid out `[fan_in][n_out]` (the Dense and Conv layouts: output channel last) and
    /// biases at scale `2^(fa+fw)`.
    fn weights(&self, g: &mut SplitMix64, fan_in: usize, n_out: usize) -> Weights {
        let sw = (1u64 << BENCH_FP.fw) as f64;
        let mut w = vec![0i64; fan_in * n_out];
        for o in 0..n_out {
            let mags: Vec<f64> = (0..fan_in).map(|_| 0.1 + g.unit()).collect();
            let total: f64 = mags.iter().sum();
            for (i, m) in mags.iter().enumerate() {
                let v = (m / total * self.gain * sw).floor() as i64;
                w[i * n_out + o] = if g.unit() < self.positive { v } else { -v };
            }
        }
        let sb = (1u64 << (BENCH_FP.fa + BENCH_FP.fw)) as f64;
        let b = (0..n_out)
            .map(|_| (g.range(self.bias.0, self.bias.1) * sb).round() as i64)
            .collect();
        Weights { w, b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant::required_guard;

    #[test]
    fn shapes_and_steps() {
        for (kind, width, size) in [
            (Kind::Dense, 16, 0),
            (Kind::Conv, 3, 5),
            (Kind::CnnBlock, 2, 4),
        ] {
            for depth in [1, 2, 5] {
                let spec = SynthSpec::new(kind, width, size, depth);
                let m = spec.model().unwrap();
                assert_eq!(m.steps.len(), spec.steps());
                assert_eq!(m.input_shape, spec.input_shape());
                assert_eq!(m.output_shape, spec.input_shape());
                assert_eq!(spec.input().len(), m.input_len());
                let n = m.input_len();
                for s in &m.steps {
                    assert_eq!(s.op.input_len(), n, "{}", s.name);
                    assert_eq!(s.op.output_len(), n, "{}", s.name);
                    let (wl, bl) = s.op.weight_lens();
                    assert_eq!(
                        (s.weights.w.len(), s.weights.b.len()),
                        (wl, bl),
                        "{}",
                        s.name
                    );
                }
                let last = m.steps.last().unwrap();
                assert_eq!(last.op, Op::ArgMax { n });
                assert_eq!(last.name, "argmax");
                assert_eq!(m.fp.guard, required_guard(&m.steps, &m.fp));
                m.fp.validate(kerafold_step_circuits::field::PACK_CAPACITY)
                    .unwrap();
                if kind == Kind::CnnBlock {
                    // conv-ReLU saving its input, conv, Add + ReLU: as lowering makes a block
                    let kinds: Vec<_> = m.steps[..3]
                        .iter()
                        .map(|s| (s.op.kind(), s.act.clone(), s.save_input))
                        .collect();
                    assert_eq!(
                        kinds,
                        [
                            ("conv", Act::Relu, true),
                            ("conv", Act::Linear, false),
                            ("add", Act::Relu, false)
                        ]
                    );
                }
            }
        }
    }

    /// The classifier kind ends in ten narrow logits: in tiles, nothing is as wide as its Dense
    /// layers, so the bus (and the step) is set by the step size alone.
    #[test]
    fn a_classifier_in_tiles_has_a_bus_of_the_step_size() {
        let spec = SynthSpec::new(Kind::Classifier, 300, 0, 2);
        let m = spec.model().unwrap();
        assert_eq!(m.steps.len(), spec.steps());
        assert_eq!(spec.steps(), 4);
        assert_eq!(m.output_shape, [CLASSES]);
        assert_eq!(m.steps[2].op.output_len(), CLASSES);
        assert_eq!(m.steps[3].op, Op::ArgMax { n: CLASSES });
        let t = m.trace(&spec.input(), None).unwrap();
        let logits = &t.steps[2].y;
        assert!(logits.iter().any(|&v| v != logits[0]), "{logits:?}");
        let tiling = crate::fold::Tiling::square(60, &m.fp).unwrap();
        let whole = crate::fold::Architecture::compile(&m).unwrap();
        let tiled = crate::fold::Architecture::compile_tiled(&m, Some(tiling)).unwrap();
        assert_eq!(whole.width, 300);
        assert_eq!(tiled.width, 60);
        assert_eq!(spec.name(), "bench-classifier-w300-d2");
    }

    #[test]
    fn activations_stay_in_range_and_alive_at_every_depth() {
        for (kind, width, depth) in [
            (Kind::Dense, 64, 256),
            (Kind::Dense, 16, 256),
            (Kind::Classifier, 64, 16),
            (Kind::Conv, 4, 64),
            (Kind::CnnBlock, 4, 64),
        ] {
            let spec = SynthSpec::new(kind, width, 8, depth);
            let m = spec.model().unwrap();
            // trace fails on any out-of-range activation
            let t = m.trace(&spec.input(), None).unwrap();
            for (i, st) in t.steps.iter().enumerate() {
                let nonzero = st.y.iter().filter(|&&v| v != 0).count();
                assert!(
                    nonzero * 4 >= st.y.len(),
                    "{kind} step {i}: only {nonzero}/{} activations are non-zero",
                    st.y.len()
                );
                assert!(st.y.iter().all(|&v| m.fp.in_range(v)));
            }
            let max = t
                .steps
                .iter()
                .flat_map(|s| &s.y)
                .map(|v| v.abs())
                .max()
                .unwrap();
            assert!(max < m.fp.max() / 4, "{kind}: largest activation {max}");
        }
    }

    #[test]
    fn deterministic_and_prefix_stable() {
        let a = SynthSpec::new(Kind::CnnBlock, 3, 4, 3);
        assert_eq!(a.model().unwrap(), a.model().unwrap());
        assert_eq!(a.input(), a.input());
        let other = SynthSpec { seed: 7, ..a };
        assert_ne!(
            a.model().unwrap().steps[0].weights,
            other.model().unwrap().steps[0].weights
        );
        assert_ne!(a.input(), other.input());
        // a deeper model starts with the same layers and reads the same input
        let deep = SynthSpec { depth: 5, ..a };
        let (m, d) = (a.model().unwrap(), deep.model().unwrap());
        assert_eq!(m.steps[..9], d.steps[..9]);
        assert_eq!(a.input(), deep.input());
        // fixed values: the generator must not change silently between releases
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(SynthSpec::new(Kind::Dense, 16, 0, 0).model().is_err());
        assert!(SynthSpec::new(Kind::Dense, 0, 0, 1).model().is_err());
        assert!(SynthSpec::new(Kind::Conv, 4, 0, 1).model().is_err());
        assert_eq!("cnn-block".parse::<Kind>().unwrap(), Kind::CnnBlock);
        assert!("mlp".parse::<Kind>().is_err());
    }
}
