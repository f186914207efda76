//! The imported Keras model: a graph of layers with float weights and static shapes.
//!
//! Shapes never include the batch axis: `[h, w, c]` for images, `[len, c]` for 1-D sequences,
//! `[n]` for vectors. Tensors are flat, row-major over that shape (channels last, as Keras).

pub use kerafold_step_circuits::spec::Merge;
use serde::{Deserialize, Serialize};

/// Keras padding mode of convolutions and pooling.
pub use kerafold_step_circuits::spec::Padding;

/// An activation function, as a layer or fused into Dense/Conv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// The identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// ReLU capped at `max` (ReLU6: `max = 6`).
    ReluMax(f32),
    /// `x` for `x ≥ 0`, `alpha·x` otherwise.
    LeakyRelu(f32),
    /// Softmax over the last axis (only as the model's last operation).
    Softmax,
    /// The logarithm of the softmax over the last axis (only as the model's last operation).
    LogSoftmax,
    /// The polynomial activation `x² + c·x` (keras2circom's zk-friendly activation), from the
    /// registered custom layer `PolyAct`.
    Poly(f32),
    /// A smooth function, proven as a piecewise-linear approximation (`model::pwl`).
    Smooth(Smooth),
}

impl Activation {
    /// Whether the activation maps 0 to 0, so that it commutes with zero padding.
    pub fn fixes_zero(&self) -> bool {
        match self {
            Activation::Smooth(f) => f.eval(0.0) == 0.0,
            _ => true,
        }
    }
}

/// The smooth activations, with Keras 3's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Smooth {
    /// `1 / (1 + e^−x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `x · hard_sigmoid(x)` (hard swish).
    HardSilu,
    /// `x · sigmoid(x)` (swish).
    Silu,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x` for `x > 0`, `alpha·(e^x − 1)` otherwise.
    Elu(f32),
    /// `scale · elu(x, alpha)` with Keras' fixed `alpha` and `scale`.
    Selu,
    /// `x · Φ(x)` with the exact normal CDF `Φ` (Keras' default `approximate=False`).
    Gelu,
    /// `e^x` (bounded by the activation range: larger results overflow).
    Exponential,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `ln sigmoid(x) = −softplus(−x)`.
    LogSigmoid,
    /// `x − tanh x`.
    TanhShrink,
    /// `(x + √(x² + 4)) / 2` (Keras' default `b = 4`).
    Squareplus,
    /// `0` below −1, `(x + 1)² / 4` on `[−1, 1)`, `x` from 1.
    SparsePlus,
    /// `0` below −1, `(x + 1) / 2` on `(−1, 1)`, `1` from 1.
    SparseSigmoid,
    /// `x` clipped to `[−1, 1]`.
    HardTanh,
    /// `x` where `|x| > 0.5` (Keras' default threshold), else 0.
    HardShrink,
    /// `x ∓ 0.5` where `|x| > 0.5` (Keras' default threshold), else 0.
    SoftShrink,
}

impl Smooth {
    /// Keras' name of the function.
    pub fn name(&self) -> &'static str {
        match self {
            Smooth::Sigmoid => "sigmoid",
            Smooth::Tanh => "tanh",
            Smooth::HardSigmoid => "hard_sigmoid",
            Smooth::HardSilu => "hard_silu",
            Smooth::Silu => "silu",
            Smooth::Softplus => "softplus",
            Smooth::Softsign => "softsign",
            Smooth::Elu(_) => "elu",
            Smooth::Selu => "selu",
            Smooth::Gelu => "gelu",
            Smooth::Exponential => "exponential",
            Smooth::Mish => "mish",
            Smooth::LogSigmoid => "log_sigmoid",
            Smooth::TanhShrink => "tanh_shrink",
            Smooth::Squareplus => "squareplus",
            Smooth::SparsePlus => "sparse_plus",
            Smooth::SparseSigmoid => "sparse_sigmoid",
            Smooth::HardTanh => "hard_tanh",
            Smooth::HardShrink => "hard_shrink",
            Smooth::SoftShrink => "soft_shrink",
        }
    }

    /// The function at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let hard_sigmoid = |x: f64| ((x + 3.0) / 6.0).clamp(0.0, 1.0);
        let elu = |x: f64, a: f64| if x > 0.0 { x } else { a * x.exp_m1() };
        // ln(1 + e^x) = max(x, 0) + ln(1 + e^−|x|), without overflow
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        match *self {
            Smooth::Sigmoid => sigmoid(x),
            Smooth::Tanh => x.tanh(),
            Smooth::HardSigmoid => hard_sigmoid(x),
            Smooth::HardSilu => x * hard_sigmoid(x),
            Smooth::Silu => x * sigmoid(x),
            Smooth::Softplus => softplus(x),
            Smooth::Softsign => x / (1.0 + x.abs()),
            Smooth::Elu(a) => elu(x, f64::from(a)),
            Smooth::Selu => 1.050_700_987_355_480_5 * elu(x, 1.673_263_242_354_377_3),
            Smooth::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            Smooth::Exponential => x.exp(),
            Smooth::Mish => x * softplus(x).tanh(),
            Smooth::LogSigmoid => -softplus(-x),
            Smooth::TanhShrink => x - x.tanh(),
            Smooth::Squareplus => (x + (x * x + 4.0).sqrt()) / 2.0,
            Smooth::SparsePlus if x <= -1.0 => 0.0,
            Smooth::SparsePlus if x < 1.0 => (x + 1.0) * (x + 1.0) / 4.0,
            Smooth::SparsePlus => x,
            Smooth::SparseSigmoid => ((x + 1.0) / 2.0).clamp(0.0, 1.0),
            Smooth::HardTanh => x.clamp(-1.0, 1.0),
            Smooth::HardShrink if x.abs() > 0.5 => x,
            Smooth::HardShrink => 0.0,
            Smooth::SoftShrink => x - x.clamp(-0.5, 0.5),
        }
    }
}

/// One layer with its float weights. Kernels keep Keras' layout (noted per variant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerKind {
    /// `kernel` `[in][units]`, `bias` `[units]` (zeros without `use_bias`). Applies to the last
    /// axis of its input.
    Dense {
        /// Output width.
        units: usize,
        /// Weights `[in][units]`.
        kernel: Vec<f32>,
        /// Bias `[units]`.
        bias: Vec<f32>,
        /// Fused activation applied after the bias.
        activation: Activation,
    },
    /// Conv1D (`rank = 1`, sizes `(1, k)`) or Conv2D. `kernel` `[kh][kw][c_in][filters]`.
    Conv {
        /// Spatial rank: 1 (Conv1D) or 2 (Conv2D).
        rank: usize,
        /// Output channels.
        filters: usize,
        /// Window `(kh, kw)`; `(1, k)` for Conv1D.
        kernel_size: (usize, usize),
        /// Strides `(sy, sx)`.
        strides: (usize, usize),
        /// Dilation rates `(dy, dx)`.
        dilation: (usize, usize),
        /// Keras padding mode.
        padding: Padding,
        /// Weights `[kh][kw][c_in][filters]`.
        kernel: Vec<f32>,
        /// Bias `[filters]`.
        bias: Vec<f32>,
        /// Fused activation applied after the bias.
        activation: Activation,
    },
    /// `kernel` `[kh][kw][c][depth_multiplier]`, `bias` `[c·depth_multiplier]`. Also
    /// DepthwiseConv1D: a sequence is one row (`kh` 1).
    DepthwiseConv2D {
        /// Window `(kh, kw)`.
        kernel_size: (usize, usize),
        /// Strides `(sy, sx)`.
        strides: (usize, usize),
        /// Dilation rates `(dy, dx)`.
        dilation: (usize, usize),
        /// Keras padding mode.
        padding: Padding,
        /// Output channels per input channel.
        depth_multiplier: usize,
        /// Weights `[kh][kw][c][depth_multiplier]`.
        kernel: Vec<f32>,
        /// Bias `[c·depth_multiplier]`.
        bias: Vec<f32>,
        /// Fused activation applied after the bias.
        activation: Activation,
    },
    /// Conv2DTranspose. `kernel` `[kh][kw][filters][c_in]` (Keras' layout: output channels
    /// before input channels). Each input value is scattered, times the kernel, into the output
    /// window at `stride ×` its position ([`transpose_geometry`]).
    ConvTranspose {
        /// Output channels.
        filters: usize,
        /// Window `(kh, kw)`.
        kernel_size: (usize, usize),
        /// Strides `(sy, sx)`.
        strides: (usize, usize),
        /// Keras padding mode (`valid` or `same`).
        padding: Padding,
        /// Weights `[kh][kw][filters][c_in]`.
        kernel: Vec<f32>,
        /// Bias `[filters]`.
        bias: Vec<f32>,
        /// Fused activation applied after the bias.
        activation: Activation,
    },
    /// `depthwise` `[kh][kw][c][depth_multiplier]`, `pointwise` `[c·depth_multiplier][filters]`,
    /// `bias` `[filters]`. Also SeparableConv1D: a sequence is one row (`kh` 1).
    SeparableConv2D {
        /// Depthwise window `(kh, kw)`.
        kernel_size: (usize, usize),
        /// Strides `(sy, sx)`.
        strides: (usize, usize),
        /// Dilation rates `(dy, dx)`.
        dilation: (usize, usize),
        /// Keras padding mode.
        padding: Padding,
        /// Depthwise output channels per input channel.
        depth_multiplier: usize,
        /// Output channels of the pointwise step.
        filters: usize,
        /// Depthwise weights `[kh][kw][c][depth_multiplier]`.
        depthwise: Vec<f32>,
        /// Pointwise (1×1) weights `[c·depth_multiplier][filters]`.
        pointwise: Vec<f32>,
        /// Bias `[filters]`, added after the pointwise step.
        bias: Vec<f32>,
        /// Fused activation applied after the bias.
        activation: Activation,
    },
    /// Inference-mode batch normalization over the last axis: `γ·(x−μ)/√(σ²+ε) + β`
    /// (`gamma` all ones without `scale`, `beta` zeros without `center`).
    BatchNorm {
        /// Scale `γ` per channel.
        gamma: Vec<f32>,
        /// Offset `β` per channel.
        beta: Vec<f32>,
        /// Moving mean `μ` per channel.
        mean: Vec<f32>,
        /// Moving variance `σ²` per channel.
        var: Vec<f32>,
        /// `ε` added to the variance.
        epsilon: f32,
    },
    /// Layer normalization over the last axis: `γ·(x − mean)/√(variance + ε) + β`, the mean and
    /// variance of each position's last-axis values (`gamma` all ones without `scale`, `beta`
    /// zeros without `center`); or an uncentered form (`kind`: Keras' `rms_scaling`,
    /// RMSNormalization), `β` zeros.
    LayerNorm {
        /// Scale `γ` per channel.
        gamma: Vec<f32>,
        /// Offset `β` per channel.
        beta: Vec<f32>,
        /// `ε` added to the variance (or mean square).
        epsilon: f32,
        /// What the normalization centers.
        kind: kerafold_step_circuits::spec::NormKind,
    },
    /// Group normalization over the last axis: its channels in `groups` runs of equal size,
    /// each normalized over every position and its channels, `γ·(x − mean)/√(variance + ε) + β`
    /// (`gamma` all ones without `scale`, `beta` zeros without `center`).
    GroupNorm {
        /// Number of channel groups (a divisor of the channels).
        groups: usize,
        /// Scale `γ` per channel.
        gamma: Vec<f32>,
        /// Offset `β` per channel.
        beta: Vec<f32>,
        /// `ε` added to the variance.
        epsilon: f32,
    },
    /// MaxPooling / AveragePooling, 1D (`rank = 1`, sizes `(1, k)`) or 2D.
    Pool {
        /// Max pooling if true, average pooling otherwise.
        max: bool,
        /// Spatial rank: 1 or 2.
        rank: usize,
        /// Window `(ph, pw)`; `(1, k)` in 1D.
        pool: (usize, usize),
        /// Strides `(sy, sx)`.
        strides: (usize, usize),
        /// Keras padding mode (average pooling divides by the in-bounds taps).
        padding: Padding,
    },
    /// GlobalMax / GlobalAveragePooling 1D or 2D (output `[c]`, or `[1, 1, c]`/`[1, c]` with
    /// `keepdims`).
    GlobalPool {
        /// Max pooling if true, average pooling otherwise.
        max: bool,
        /// Spatial rank: 1 or 2.
        rank: usize,
    },
    /// Flatten to `[n]`: the identity on the flat tensor.
    Flatten,
    /// Reshape: the identity on the flat tensor.
    Reshape {
        /// Output shape without the batch axis (`-1` resolved).
        target: Vec<usize>,
    },
    /// Nearest-neighbour repetition (UpSampling2D, UpSampling1D, RepeatVector) of the input as
    /// an image: a sequence `[length, channels]` is one row, a vector `[n]` one pixel.
    UpSampling {
        /// Repeat factors `(sy, sx)` for rows and columns.
        size: (usize, usize),
    },
    /// A sequence `[length, channels]` in reverse order of its timesteps (the backward layer of
    /// a Bidirectional wrapper reads its input so, and its sequence output is put back so).
    Reverse,
    /// Permute: output axis `k` is input axis `dims[k] - 1` (Keras' 1-based `dims`, the batch
    /// axis excluded); inputs of rank 2 or 3.
    Permute {
        /// The input axis (1-based) of each output axis.
        dims: Vec<usize>,
    },
    /// ZeroPadding1D (rows 0) and ZeroPadding2D.
    ZeroPadding2D {
        /// Zero rows added above.
        top: usize,
        /// Zero rows added below.
        bottom: usize,
        /// Zero columns added on the left.
        left: usize,
        /// Zero columns added on the right.
        right: usize,
    },
    /// Cropping1D (rows 0), Cropping2D and CenterCrop: rows and columns removed at each edge.
    Cropping {
        /// Rows removed above.
        top: usize,
        /// Rows removed below.
        bottom: usize,
        /// Columns removed on the left.
        left: usize,
        /// Columns removed on the right.
        right: usize,
    },
    /// Resizing with `nearest` interpolation to `height × width` (a view).
    Resize {
        /// Output rows.
        height: usize,
        /// Output columns.
        width: usize,
    },
    /// Dropout: the identity at inference.
    Dropout,
    /// Activation / ReLU / LeakyReLU / Softmax layers, and the PolyAct custom layer.
    Activation(Activation),
    /// An element-wise merge of its inputs (Add, Subtract, Multiply, Average, Maximum, Minimum).
    Merge(Merge),
    /// Concatenation of its inputs along `axis` of a sample's shape (0-based, no batch axis).
    Concatenate {
        /// The axis.
        axis: usize,
    },
    /// Token ids (integers below `vocab`) to rows of `table` `[vocab][dim]`: a sequence of `n`
    /// ids becomes `[n, dim]`.
    Embedding {
        /// Vocabulary size (Keras' `input_dim`).
        vocab: usize,
        /// Row width (Keras' `output_dim`).
        dim: usize,
        /// The rows, `[vocab][dim]`.
        table: Vec<f32>,
    },
    /// SimpleRNN, GRU or LSTM over a sequence `[timesteps, features]`, from a zero state:
    /// `[timesteps, units]` with `return_sequences`, else the last state `[units]`.
    Recurrent(Recurrent),
}

/// The cell of a recurrent layer: its gates and their activation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecurrentCell {
    /// `h = act(x·W + h·U + b)`.
    SimpleRnn,
    /// Gates `z` (update), `r` (reset), `h` (candidate), in Keras' order.
    Gru {
        /// The activation of `z` and `r`.
        recurrent_activation: Activation,
        /// Keras' default `true`: the reset gate multiplies `h·U_h + b_h^rec` (cuDNN's
        /// variant, with a second, recurrent bias); `false`: it multiplies `h` before `U_h`.
        reset_after: bool,
    },
    /// Gates `i` (input), `f` (forget), `c` (cell candidate), `o` (output), in Keras' order.
    Lstm {
        /// The activation of `i`, `f` and `o`.
        recurrent_activation: Activation,
    },
}

impl RecurrentCell {
    /// The number of gate blocks of `units` columns in the kernels and the bias.
    pub fn gates(&self) -> usize {
        match self {
            RecurrentCell::SimpleRnn => 1,
            RecurrentCell::Gru { .. } => 3,
            RecurrentCell::Lstm { .. } => 4,
        }
    }

    /// The rows of the bias: 2 for a GRU with `reset_after` (input bias, then recurrent
    /// bias), else 1.
    pub fn bias_rows(&self) -> usize {
        match self {
            RecurrentCell::Gru {
                reset_after: true, ..
            } => 2,
            _ => 1,
        }
    }
}

/// A recurrent layer's configuration and weights, in Keras' layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recurrent {
    /// The cell: SimpleRNN, GRU or LSTM.
    pub cell: RecurrentCell,
    /// Width of the state `h` (and of the LSTM's cell state `c`).
    pub units: usize,
    /// The activation of the state update (the candidate of a GRU, `c` and `h` of an LSTM).
    pub activation: Activation,
    /// Output the state at every timestep (`[timesteps, units]`), or only the last (`[units]`).
    pub return_sequences: bool,
    /// Input weights `[features][gates·units]`.
    pub kernel: Vec<f32>,
    /// State weights `[units][gates·units]`.
    pub recurrent_kernel: Vec<f32>,
    /// Bias `[bias_rows][gates·units]` (zeros without `use_bias`).
    pub bias: Vec<f32>,
    /// Masked by an `Embedding(mask_zero=True)` or a `Masking` layer: each timestep's input ends
    /// with a column (the token id; the distance from the mask value), and a timestep where it is
    /// 0 keeps the state (Keras' masking).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

/// Where a layer's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Src {
    /// The model input.
    Input,
    /// The output of `nodes[i]`.
    Node(usize),
}

/// One layer of the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The user's layer name (`conv1`).
    pub name: String,
    /// Keras class name (`Conv2D`).
    pub class_name: String,
    /// Layer type and weights.
    pub kind: LayerKind,
    /// Inputs, in Keras' order (two or more for a merge or a concatenation).
    pub inputs: Vec<Src>,
    /// Output shape without the batch axis.
    pub output_shape: Vec<usize>,
}

/// A Keras model with one input and one output. `nodes` are in a topological order (every
/// input of a node comes before it) and the last node is the output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Keras model name.
    pub name: String,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// Layers in topological order; the last is the output.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// Number of input values.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }
    /// Output shape of the model.
    pub fn output_shape(&self) -> &[usize] {
        self.nodes
            .last()
            .map(|n| n.output_shape.as_slice())
            .unwrap_or(&self.input_shape)
    }
    /// Shape of a source tensor.
    pub fn shape_of(&self, src: Src) -> &[usize] {
        match src {
            Src::Input => &self.input_shape,
            Src::Node(i) => &self.nodes[i].output_shape,
        }
    }
}

/// One axis of a transposed convolution over `n` inputs with window `k` and stride `s`: the
/// output length and the rows cut before it (`pad_before`), as Keras computes them: `valid` gives
/// `(n − 1)·s + max(k, s)`, `same` gives `n·s` and cuts `⌊max(k − s, 0) / 2⌋`. Input `i` lands at
/// output `i·s + t − pad_before` for kernel tap `t`. `None` for an unsupported padding or a
/// length past `usize`.
pub fn transpose_geometry(
    n: usize,
    k: usize,
    s: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    match padding {
        Padding::Valid => Some((
            (n.checked_sub(1)?).checked_mul(s)?.checked_add(k.max(s))?,
            0,
        )),
        Padding::Same => Some((n.checked_mul(s)?, k.saturating_sub(s) / 2)),
        _ => None,
    }
}
