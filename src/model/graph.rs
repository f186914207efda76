//! The imported Keras model: a graph of layers with float weights and static shapes.
//!
//! Shapes never include the batch axis: `[h, w, c]` for images, `[len, c]` for 1-D sequences,
//! `[n]` for vectors. Tensors are flat, row-major over that shape (channels last, as Keras).

use serde::{Deserialize, Serialize};

/// Keras padding mode of convolutions and pooling.
pub use kerafold_step_circuits::spec::Padding;

/// An activation function, as a layer or fused into Dense/Conv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    Linear,
    Relu,
    /// ReLU capped at `max` (ReLU6: `max = 6`).
    ReluMax(f32),
    /// `x` for `x ≥ 0`, `alpha·x` otherwise.
    LeakyRelu(f32),
    /// Softmax over the last axis (only as the model's last operation).
    Softmax,
    /// The polynomial activation `x² + c·x` (keras2circom's zk-friendly activation), from the
    /// registered custom layer `PolyAct`.
    Poly(f32),
}

/// One layer with its float weights. Kernels keep Keras' layout (noted per variant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerKind {
    /// `kernel` `[in][units]`, `bias` `[units]` (zeros without `use_bias`). Applies to the last
    /// axis of its input.
    Dense {
        units: usize,
        kernel: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    /// Conv1D (`rank = 1`, sizes `(1, k)`) or Conv2D. `kernel` `[kh][kw][c_in][filters]`.
    Conv {
        rank: usize,
        filters: usize,
        kernel_size: (usize, usize),
        strides: (usize, usize),
        dilation: (usize, usize),
        padding: Padding,
        kernel: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    /// `kernel` `[kh][kw][c][depth_multiplier]`, `bias` `[c·depth_multiplier]`.
    DepthwiseConv2D {
        kernel_size: (usize, usize),
        strides: (usize, usize),
        dilation: (usize, usize),
        padding: Padding,
        depth_multiplier: usize,
        kernel: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    /// `depthwise` `[kh][kw][c][depth_multiplier]`, `pointwise` `[c·depth_multiplier][filters]`,
    /// `bias` `[filters]`.
    SeparableConv2D {
        kernel_size: (usize, usize),
        strides: (usize, usize),
        dilation: (usize, usize),
        padding: Padding,
        depth_multiplier: usize,
        filters: usize,
        depthwise: Vec<f32>,
        pointwise: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    /// Inference-mode batch normalization over the last axis: `γ·(x−μ)/√(σ²+ε) + β`
    /// (`gamma` all ones without `scale`, `beta` zeros without `center`).
    BatchNorm {
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
        epsilon: f32,
    },
    /// MaxPooling / AveragePooling, 1D (`rank = 1`, sizes `(1, k)`) or 2D.
    Pool {
        max: bool,
        rank: usize,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    },
    /// GlobalMax / GlobalAveragePooling 1D or 2D (output `[c]`, or `[1, 1, c]`/`[1, c]` with
    /// `keepdims`).
    GlobalPool {
        max: bool,
        rank: usize,
    },
    Flatten,
    Reshape {
        target: Vec<usize>,
    },
    /// Nearest-neighbour UpSampling2D.
    UpSampling2D {
        size: (usize, usize),
    },
    /// ZeroPadding2D.
    ZeroPadding2D {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
    /// Dropout: the identity at inference.
    Dropout,
    /// Activation / ReLU / LeakyReLU / Softmax layers, and the PolyAct custom layer.
    Activation(Activation),
    /// Element-wise sum of its inputs.
    Add,
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
    pub kind: LayerKind,
    /// Inputs, in Keras' order (two or more for `Add`).
    pub inputs: Vec<Src>,
    /// Output shape without the batch axis.
    pub output_shape: Vec<usize>,
}

/// A Keras model with one input and one output. `nodes` are in a topological order (every
/// input of a node comes before it) and the last node is the output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub name: String,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
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
